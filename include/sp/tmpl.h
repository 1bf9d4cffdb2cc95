/*
 * tmpl: rendering of the HTML templates in templates/ (embedded). Every
 * {{name}} is HTML-escaped; {{&name}} inserts raw HTML and is used only for
 * fragments we rendered ourselves. Unknown names render as empty.
 */
#ifndef SP_TMPL_H
#define SP_TMPL_H

#include <stddef.h>

#include "sp/err.h"

struct sp_buf;
struct sp_resp;

struct sp_tmpl_var {
    const char *name;
    const char *value; /* NULL renders as empty */
};

/* Render text (len bytes) with vars into out. SP_ERR_INVALID on an unclosed tag. */
enum sp_err sp_tmpl_render_text(const char *text, size_t len, const struct sp_tmpl_var *vars,
                                size_t nvars, struct sp_buf *out);

/* Render the embedded template called name. SP_ERR_NOT_FOUND if there is none. */
enum sp_err sp_tmpl_render(const char *name, const struct sp_tmpl_var *vars, size_t nvars,
                           struct sp_buf *out);

/*
 * A full HTML page: template name rendered with vars, wrapped in base.html
 * with the title; sets status and content type on resp.
 */
void sp_tmpl_page(struct sp_resp *resp, int status, const char *title, const char *name,
                  const struct sp_tmpl_var *vars, size_t nvars);

/* An error page in Italian: title, message, and a link back to the login page. */
void sp_tmpl_error_page(struct sp_resp *resp, int status, const char *title, const char *message);

#endif /* SP_TMPL_H */
