/*
 * tmpl: a small template renderer. {{name}} is replaced by the HTML-escaped
 * value, {{&name}} by the raw value (only for HTML we produced ourselves).
 * Templates are the embedded files of templates/ (assets.c).
 */
#include <string.h>

#include "sp/assets.h"
#include "sp/buf.h"
#include "sp/http.h"
#include "sp/str.h"
#include "sp/tmpl.h"

#define SP_TMPL_MAX_NAME 64
#define SP_PAGE_MAX_BYTES (4u << 20)

static const char *tmpl_lookup(const struct sp_tmpl_var *vars, size_t nvars, const char *name,
                               size_t len)
{
    for (size_t i = 0; i < nvars; i++)
        if (strlen(vars[i].name) == len && memcmp(vars[i].name, name, len) == 0)
            return vars[i].value ? vars[i].value : "";
    return "";
}

enum sp_err sp_tmpl_render_text(const char *text, size_t len, const struct sp_tmpl_var *vars,
                                size_t nvars, struct sp_buf *out)
{
    const char *p = text, *end = text + len;
    enum sp_err rc = SP_OK;

    while (p < end && rc == SP_OK) {
        const char *open = NULL, *close;
        bool raw = false;

        for (const char *s = p; s + 1 < end; s++)
            if (s[0] == '{' && s[1] == '{') {
                open = s;
                break;
            }
        if (open == NULL) {
            rc = sp_buf_add(out, p, (size_t)(end - p));
            break;
        }
        rc = sp_buf_add(out, p, (size_t)(open - p));
        if (rc != SP_OK)
            break;
        open += 2;
        if (open < end && *open == '&') {
            raw = true;
            open++;
        }
        close = NULL;
        for (const char *s = open; s + 1 < end && s - open <= SP_TMPL_MAX_NAME; s++)
            if (s[0] == '}' && s[1] == '}') {
                close = s;
                break;
            }
        if (close == NULL)
            return SP_ERR_INVALID;
        {
            const char *v = tmpl_lookup(vars, nvars, open, (size_t)(close - open));
            rc = raw ? sp_buf_adds(out, v) : sp_html_escape(out, v);
        }
        p = close + 2;
    }
    return rc;
}

enum sp_err sp_tmpl_render(const char *name, const struct sp_tmpl_var *vars, size_t nvars,
                           struct sp_buf *out)
{
    const struct sp_asset *a = sp_asset_find(name);
    if (a == NULL)
        return SP_ERR_NOT_FOUND;
    return sp_tmpl_render_text((const char *)a->data, a->len, vars, nvars, out);
}

void sp_tmpl_page(struct sp_resp *resp, int status, const char *title, const char *name,
                  const struct sp_tmpl_var *vars, size_t nvars)
{
    struct sp_buf content;
    enum sp_err rc;

    sp_buf_init(&content, SP_PAGE_MAX_BYTES);
    rc = sp_tmpl_render(name, vars, nvars, &content);
    sp_buf_reset(&resp->body);
    if (rc == SP_OK) {
        struct sp_tmpl_var page[] = {{"title", title}, {"content", sp_buf_str(&content)}};
        rc = sp_tmpl_render("base.html", page, 2, &resp->body);
    }
    sp_buf_cleanup(&content);
    if (rc != SP_OK) {
        sp_resp_text(resp, 500, "text/plain; charset=utf-8", "Errore interno.\n");
        return;
    }
    resp->status = status;
    resp->content_type = "text/html; charset=utf-8";
}

void sp_tmpl_error_page(struct sp_resp *resp, int status, const char *title, const char *message)
{
    struct sp_tmpl_var vars[] = {{"title", title}, {"message", message}};
    sp_tmpl_page(resp, status, title, "error.html", vars, 2);
}
