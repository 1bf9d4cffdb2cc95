/*
 * web_pin_convert: conversion of an ordinary PIN to dispositivo (domain.md
 * §1.10). The holder, logged in with the PIN, prints the pre-filled request
 * (/pin/convert/modulo), signs it, and uploads it with both sides of the
 * identity document (/pin/convert, multipart/form-data). Files are checked
 * by size and by content (PDF, PNG, JPEG, TIFF), stored outside anything the
 * service serves with mode 0600, and an operator approves or rejects the
 * request from the command line (`spid-sp pin approve|reject`).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sp/app.h"
#include "sp/audit.h"
#include "sp/buf.h"
#include "sp/clock.h"
#include "sp/digest.h"
#include "sp/file.h"
#include "sp/http.h"
#include "sp/log.h"
#include "sp/multipart.h"
#include "sp/outbox.h"
#include "sp/pin.h"
#include "sp/rand.h"
#include "sp/session.h"
#include "sp/str.h"
#include "sp/tmpl.h"
#include "sp/users.h"
#include "sp/web.h"

#define CONVERT_MAX_PARTS 12

static const char *const doc_types[] = {"carta_identita", "patente", "passaporto"};
static const char *const file_fields[] = {"modulo", "doc_front", "doc_back"};

/* The file type from its first bytes, and the extension it is stored with. */
static const char *sniff(const char *d, size_t n)
{
    if (n >= 5 && memcmp(d, "%PDF-", 5) == 0)
        return "pdf";
    if (n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "png";
    if (n >= 3 && memcmp(d, "\xff\xd8\xff", 3) == 0)
        return "jpg";
    if (n >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0))
        return "tif";
    return NULL;
}

/* Only an ordinary PIN session may ask; NULL when it may, else why not. */
static const char *convert_refusal(struct sp_app *app, const struct sp_session *s)
{
    struct sp_pin_params p;
    struct sp_pin_info info;
    if (strcmp(s->method, "pin") != 0)
        return "La conversione riguarda il PIN: accedere con il PIN.";
    sp_pin_params_of(app->cfg, &p);
    if (sp_pin_info(app->db, s->user_cf, sp_clock_now(), &p, &info) != SP_OK ||
        info.state == SP_PIN_NONE)
        return "Non risulta un PIN attivo.";
    if (info.dispositive)
        return "Il PIN è già dispositivo.";
    return NULL;
}

static void convert_page(struct sp_app *app, struct sp_req *req, struct sp_resp *resp, int status,
                         const char *message)
{
    char tok[SP_RAND_TOKEN_LEN + 1];
    char max[32];
    sp_web_form_token(app, req, resp, tok);
    snprintf(max, sizeof(max), "%u", app->cfg->pin_upload_max / (1024 * 1024));
    {
        struct sp_tmpl_var vars[] = {
            {"csrf", tok}, {"message", message ? message : ""}, {"max_mb", max}};
        sp_tmpl_page(resp, status, "Conversione del PIN in dispositivo", "pin_convert.html", vars,
                     3);
    }
}

void sp_web_pin_convert_form(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                             const struct sp_session *s)
{
    const char *no;
    if (s == NULL) {
        sp_resp_redirect(resp, 302, "/pin/login?next=%2Fpin%2Fconvert");
        return;
    }
    no = convert_refusal(app, s);
    if (no != NULL) {
        sp_tmpl_error_page(resp, 409, "Conversione non disponibile", no);
        return;
    }
    convert_page(app, req, resp, 200, NULL);
}

void sp_web_pin_convert_modulo(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                               const struct sp_session *s)
{
    struct sp_user u;
    char *name, *surname, *birth;
    (void)req;
    if (sp_users_get(app->db, s->user_cf, &u) != SP_OK) {
        sp_tmpl_error_page(resp, 404, "Dati non trovati", "Non risultano i tuoi dati.");
        return;
    }
    name = u.name ? NULL : sp_users_source_attr(app->db, s->user_cf, SP_USERS_DECLARED, "name");
    surname = u.family_name
                  ? NULL
                  : sp_users_source_attr(app->db, s->user_cf, SP_USERS_DECLARED, "familyName");
    birth = u.date_of_birth
                ? NULL
                : sp_users_source_attr(app->db, s->user_cf, SP_USERS_DECLARED, "dateOfBirth");
    {
        struct sp_tmpl_var vars[] = {
            {"cf", s->user_cf},
            {"name", u.name ? u.name
                     : name ? name
                            : ""},
            {"surname", u.family_name ? u.family_name
                        : surname     ? surname
                                      : ""},
            {"birth", u.date_of_birth ? u.date_of_birth
                      : birth         ? birth
                                      : ""},
        };
        sp_tmpl_page(resp, 200, "Modulo di richiesta del PIN dispositivo", "pin_modulo.html", vars,
                     4);
    }
    free(name);
    free(surname);
    free(birth);
    sp_user_cleanup(&u);
}

static const struct sp_part *part_named(const struct sp_part *parts, unsigned n, const char *name)
{
    const struct sp_part *found = NULL;
    for (unsigned i = 0; i < n; i++)
        if (strcmp(parts[i].name, name) == 0) {
            if (found != NULL)
                return NULL; /* twice: ambiguous */
            found = &parts[i];
        }
    return found;
}

/* A text field copied out of the body (bounded, printable). */
static bool text_field(const struct sp_part *parts, unsigned n, const char *name, char *out,
                       size_t outn)
{
    const struct sp_part *p = part_named(parts, n, name);
    if (p == NULL || p->filename[0] != '\0' || p->len == 0 || p->len >= outn)
        return false;
    for (size_t i = 0; i < p->len; i++)
        if ((unsigned char)p->data[i] < 0x20)
            return false;
    memcpy(out, p->data, p->len);
    out[p->len] = '\0';
    return true;
}

struct convert_doc {
    char type[32], number[64], issuer[128], expiry[16];
};

static const char *convert_parse(struct sp_app *app, const struct sp_part *parts, unsigned n,
                                 struct convert_doc *doc, const char *ext[3])
{
    bool known = false;
    if (!text_field(parts, n, "doc_type", doc->type, sizeof(doc->type)) ||
        !text_field(parts, n, "doc_number", doc->number, sizeof(doc->number)) ||
        !text_field(parts, n, "doc_issuer", doc->issuer, sizeof(doc->issuer)) ||
        !text_field(parts, n, "doc_expiry", doc->expiry, sizeof(doc->expiry)))
        return "Indicare tipo, numero, ente di rilascio e scadenza del documento.";
    for (size_t i = 0; i < sizeof(doc_types) / sizeof(doc_types[0]); i++)
        known = known || strcmp(doc->type, doc_types[i]) == 0;
    if (!known)
        return "Il documento è carta d'identità, patente o passaporto.";
    {
        int64_t ms;
        char iso[32];
        snprintf(iso, sizeof(iso), "%sT00:00:00Z", doc->expiry);
        if (strlen(doc->expiry) != 10 || sp_time_parse(iso, &ms) != SP_OK)
            return "La scadenza del documento va indicata come AAAA-MM-GG.";
        if (ms / 1000 < sp_clock_now())
            return "Il documento è scaduto.";
    }
    for (int i = 0; i < 3; i++) {
        const struct sp_part *f = part_named(parts, n, file_fields[i]);
        if (f == NULL || f->filename[0] == '\0' || f->len == 0)
            return "Allegare il modulo firmato e i due lati del documento.";
        if (f->len > app->cfg->pin_upload_max)
            return "Un file supera la dimensione massima consentita.";
        ext[i] = sniff(f->data, f->len);
        if (ext[i] == NULL)
            return "Formati accettati: PDF, PNG, JPEG, TIFF.";
    }
    return NULL;
}

/* Store the three files under <upload_dir>/<CF>/<request>/ (0700 / 0600). */
static enum sp_err convert_store(struct sp_app *app, const char *cf, const struct sp_part *parts,
                                 unsigned n, const char *ext[3], json_t *files)
{
    char dir[4096], path[4200], rnd[SP_RAND_TOKEN_LEN + 1], hex[SP_SHA256_HEX_LEN + 1];
    enum sp_err rc;

    sp_rand_token(rnd);
    snprintf(dir, sizeof(dir), "%s/%s/%lld-%.8s", app->cfg->pin_upload_dir, cf,
             (long long)sp_clock_now(), rnd);
    rc = sp_file_mkdirs(dir, 0700);
    for (int i = 0; rc == SP_OK && i < 3; i++) {
        const struct sp_part *f = part_named(parts, n, file_fields[i]);
        snprintf(path, sizeof(path), "%s/%s.%s", dir, file_fields[i], ext[i]);
        rc = sp_file_write_atomic(path, f->data, f->len, 0600);
        sp_sha256_hex(f->data, f->len, hex);
        json_array_append_new(files, json_pack("{s:s, s:s, s:I, s:s, s:s}", "role", file_fields[i],
                                               "path", path, "size", (json_int_t)f->len, "sha256",
                                               hex, "type", ext[i]));
    }
    return rc;
}

static void pending_seen(void *ctx, const struct sp_pin_conversion *c)
{
    struct {
        const char *cf;
        bool found;
    } *p = ctx;
    if (strcmp(c->cf, p->cf) == 0)
        p->found = true;
}

static bool convert_pending(struct sp_app *app, const char *cf)
{
    struct {
        const char *cf;
        bool found;
    } p = {cf, false};
    (void)sp_pin_conversions(app->db, false, pending_seen, &p);
    return p.found;
}

static void convert_discard(json_t *files)
{
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f)
    {
        const char *path = json_string_value(json_object_get(f, "path"));
        if (path != NULL)
            unlink(path);
    }
}

void sp_web_pin_convert(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                        const struct sp_session *s)
{
    struct sp_part parts[CONVERT_MAX_PARTS];
    struct convert_doc doc;
    const char *ext[3] = {0}, *why = NULL, *no, *cookie;
    char boundary[71], csrf[SP_RAND_TOKEN_LEN + 1];
    unsigned n = 0;
    json_t *files = NULL;
    char *files_txt = NULL, *doc_txt = NULL, *email;
    int64_t now = sp_clock_now();
    enum sp_err rc;

    no = convert_refusal(app, s);
    if (no != NULL) {
        sp_tmpl_error_page(resp, 409, "Conversione non disponibile", no);
        return;
    }
    if (sp_multipart_boundary(sp_req_header(req, "Content-Type"), boundary) != SP_OK ||
        sp_multipart_parse(boundary, req->body, req->body_len, parts, CONVERT_MAX_PARTS, &n,
                           &why) != SP_OK) {
        sp_info("PIN conversion: malformed upload (%s)", why ? why : "not multipart/form-data");
        sp_tmpl_error_page(resp, 400, "Invio non valido",
                           "Il modulo inviato non è valido: riprovare dalla pagina di "
                           "conversione.");
        return;
    }
    cookie = sp_req_cookie(req, SP_FORM_COOKIE);
    if (!text_field(parts, n, "csrf", csrf, sizeof(csrf)) || cookie == NULL ||
        !sp_str_eq_ct(cookie, csrf)) {
        sp_tmpl_error_page(resp, 403, "Modulo scaduto",
                           "Il modulo è scaduto o non proviene da questo sito: ricaricare la "
                           "pagina e riprovare.");
        return;
    }
    memset(&doc, 0, sizeof(doc));
    no = convert_parse(app, parts, n, &doc, ext);
    if (no != NULL) {
        convert_page(app, req, resp, 400, no);
        return;
    }
    if (convert_pending(app, s->user_cf)) {
        sp_tmpl_error_page(resp, 409, "Richiesta già presente",
                           "Una richiesta di conversione è già in lavorazione.");
        return;
    }
    files = json_array();
    rc = convert_store(app, s->user_cf, parts, n, ext, files);
    if (rc == SP_OK) {
        json_t *d = json_pack("{s:s, s:s, s:s, s:s}", "type", doc.type, "number", doc.number,
                              "issuer", doc.issuer, "expiry", doc.expiry);
        files_txt = json_dumps(files, JSON_COMPACT);
        doc_txt = json_dumps(d, JSON_COMPACT);
        json_decref(d);
        rc = sp_pin_conversion_add(app->db, s->user_cf, files_txt, doc_txt, now, NULL);
    }
    if (rc != SP_OK)
        convert_discard(files); /* no request refers to them */
    json_decref(files);
    free(files_txt);
    free(doc_txt);
    if (rc == SP_ERR_EXISTS) {
        sp_tmpl_error_page(resp, 409, "Richiesta già presente",
                           "Una richiesta di conversione è già in lavorazione.");
        return;
    }
    if (rc != SP_OK) {
        sp_tmpl_error_page(resp, 500, "Errore interno", "Riprovare più tardi.");
        return;
    }
    email = sp_pin_contact_get(app->db, s->user_cf, "email");
    if (email != NULL) {
        struct sp_message m = {SP_CHANNEL_EMAIL,
                               email,
                               "Richiesta di PIN dispositivo ricevuta",
                               "Abbiamo ricevuto la richiesta di conversione del PIN in "
                               "dispositivo: riceverai l'esito dopo la verifica dei documenti.\n",
                               s->user_cf,
                               "pin.convert.received"};
        if (sp_outbox_enqueue(app->db, &m, now, NULL) == SP_OK)
            sp_outbox_kick(app->outbox);
        free(email);
    }
    {
        struct sp_audit_event ev;
        memset(&ev, 0, sizeof(ev));
        ev.event = "pin.convert.request";
        ev.actor = s->user_cf;
        ev.session = s->id;
        ev.source_ip = req->client_ip;
        ev.outcome = "ok";
        ev.reason = "signed form and identity document uploaded";
        if (sp_audit_append(app->db, &ev, sp_clock_now_ms()) != SP_OK)
            sp_warn("could not write the audit entry of a conversion request");
    }
    sp_tmpl_page(resp, 200, "Richiesta inviata", "pin_done.html",
                 (const struct sp_tmpl_var[]){
                     {"message", "Richiesta di conversione inviata: riceverai l'esito dopo la "
                                 "verifica dei documenti."}},
                 1);
}
