/*
 * web_pin: the legacy PIN over HTTP (domain.md §1): request (/pin/request),
 * login and the forced change of the initial or expired PIN (/pin/login,
 * /pin/change), recovery (/pin/recover) and revocation (/pin/revoke).
 *
 * Forms are protected by a double-submit token (a random cookie repeated in
 * a hidden field, compared in constant time). Request, login and recovery
 * answer the same way whether or not the codice fiscale is known. PIN halves
 * leave only through the outbox, in the transaction that issues them.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sp/app.h"
#include "sp/audit.h"
#include "sp/authz.h"
#include "sp/buf.h"
#include "sp/cf.h"
#include "sp/clock.h"
#include "sp/db.h"
#include "sp/http.h"
#include "sp/log.h"
#include "sp/metrics.h"
#include "sp/mem.h"
#include "sp/outbox.h"
#include "sp/pin.h"
#include "sp/rand.h"
#include "sp/redirect.h"
#include "sp/roles.h"
#include "sp/session.h"
#include "sp/str.h"
#include "sp/tmpl.h"
#include "sp/users.h"
#include "sp/web.h"

/* --- form tokens ------------------------------------------------------------ */

/* The form token of this browser (set when missing) into out. */
void sp_web_form_token(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                       char out[SP_RAND_TOKEN_LEN + 1])
{
    const char *c = sp_req_cookie(req, SP_FORM_COOKIE);
    if (c != NULL && strlen(c) == SP_RAND_TOKEN_LEN) {
        sp_strlcpy(out, c, SP_RAND_TOKEN_LEN + 1);
        return;
    }
    sp_rand_token(out);
    sp_resp_cookie(resp, SP_FORM_COOKIE, out, -1,
                   app->session_cookie_flags | SP_COOKIE_SAMESITE_STRICT);
}

static bool form_ok(struct sp_req *req, struct sp_resp *resp)
{
    const char *c = sp_req_cookie(req, SP_FORM_COOKIE);
    const char *f = sp_req_form(req, "csrf");
    if (!sp_req_form_bad(req) && c != NULL && f != NULL && strlen(c) == SP_RAND_TOKEN_LEN &&
        sp_str_eq_ct(c, f))
        return true;
    sp_info("PIN form refused: bad or missing form token");
    sp_tmpl_error_page(resp, 403, "Modulo scaduto",
                       "Il modulo è scaduto o non proviene da questo sito: ricaricare la pagina "
                       "e riprovare.");
    return false;
}

static void pin_audit(struct sp_app *app, const struct sp_req *req, const char *event,
                      const char *actor, const char *outcome, const char *reason,
                      const char *session)
{
    struct sp_audit_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.event = event;
    ev.actor = actor;
    ev.session = session;
    ev.source_ip = req->client_ip;
    ev.outcome = outcome;
    ev.reason = reason;
    ev.details = "{\"method\":\"pin\"}";
    if (sp_audit_append(app->db, &ev, sp_clock_now_ms()) != SP_OK)
        sp_warn("could not write the audit entry for %s", event);
}

/* Render a PIN page with the form token and a message. */
static void pin_page(struct sp_app *app, struct sp_req *req, struct sp_resp *resp, int status,
                     const char *title, const char *tmpl, const char *message, const char *cf)
{
    char tok[SP_RAND_TOKEN_LEN + 1];
    const char *next = sp_req_query(req, "next");
    if (next == NULL)
        next = sp_req_form(req, "next");
    if (next == NULL || !sp_redirect_is_local(next))
        next = "/services";
    sp_web_form_token(app, req, resp, tok);
    {
        struct sp_tmpl_var vars[] = {{"csrf", tok},
                                     {"message", message ? message : ""},
                                     {"cf", cf ? cf : ""},
                                     {"next", next}};
        sp_tmpl_page(resp, status, title, tmpl, vars, 4);
    }
}

static bool pin_disabled(struct sp_resp *resp, const struct sp_app *app)
{
    if (app->cfg->pin_enabled)
        return false;
    sp_tmpl_error_page(resp, 404, "Servizio non disponibile", "L'accesso con PIN non è attivo.");
    return true;
}

/* --- request ------------------------------------------------------------------ */

void sp_web_pin_request_form(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                             const struct sp_session *s)
{
    (void)s;
    if (!pin_disabled(resp, app))
        pin_page(app, req, resp, 200, "Richiesta del PIN", "pin_request.html", NULL, NULL);
}

static const char *field(struct sp_req *req, const char *name)
{
    const char *v = sp_req_form(req, name);
    return v && v[0] ? v : NULL;
}

static bool email_ok(const char *e)
{
    const char *at = e ? strchr(e, '@') : NULL;
    return at && at != e && strchr(at + 1, '@') == NULL && strchr(at, '.') &&
           strpbrk(e, " \t\r\n<>,;\"") == NULL && strlen(e) <= 254;
}

/* "+39..." or national digits; out gets +E.164 ("+39" added when missing). */
static bool phone_ok(const char *in, char out[24])
{
    char d[17];
    size_t n = 0;
    bool plus = false;
    for (const char *p = in; p && *p; p++) {
        if (*p == '+' && n == 0 && !plus)
            plus = true;
        else if (*p >= '0' && *p <= '9' && n < 16)
            d[n++] = *p;
        else if (*p != ' ' && *p != '-' && *p != '.' && *p != '/')
            return false;
    }
    d[n] = '\0';
    if (n < 6 || n > 15)
        return false;
    snprintf(out, 24, "%s%s", plus ? "+" : "+39", d);
    return true;
}

struct pin_request {
    char cf[SP_CF_MAX + 1];
    const char *name, *surname, *sex, *birth_date, *birth_place, *street, *cap, *city, *province,
        *email, *pec, *channel;
    char mobile[24], phone[24];
};

static const char *request_parse(struct sp_req *req, struct pin_request *r)
{
    const char *why = NULL;
    unsigned mismatch = 0;

    memset(r, 0, sizeof(*r));
    if (field(req, "cf") == NULL || sp_cf_normalize(field(req, "cf"), r->cf, NULL, &why) != SP_OK)
        return "Il codice fiscale non è valido.";
    r->name = field(req, "name");
    r->surname = field(req, "surname");
    r->sex = field(req, "sex");
    r->birth_date = field(req, "birth_date");
    r->birth_place = field(req, "birth_place");
    r->street = field(req, "street");
    r->cap = field(req, "cap");
    r->city = field(req, "city");
    r->province = field(req, "province");
    r->email = field(req, "email");
    r->pec = field(req, "pec");
    r->channel = field(req, "channel");
    if (!r->name || !r->surname || !r->sex || !r->birth_date || !r->birth_place)
        return "Nome, cognome, sesso, data e luogo di nascita sono obbligatori.";
    if (strcmp(r->sex, "M") != 0 && strcmp(r->sex, "F") != 0)
        return "Il sesso è M o F.";
    if (sp_cf_matches_person(r->cf, r->surname, r->name, r->birth_date, r->sex[0], &mismatch,
                             &why) != SP_OK)
        return "La data di nascita deve essere nel formato AAAA-MM-GG.";
    if (mismatch != 0)
        return "Il codice fiscale non corrisponde a nome, cognome, data di nascita o sesso.";
    if (!r->street || !r->cap || !r->city || !r->province)
        return "L'indirizzo di residenza è obbligatorio (via, CAP, comune, provincia).";
    if (!r->email || !email_ok(r->email))
        return "Un indirizzo e-mail valido è obbligatorio.";
    if (r->pec && !email_ok(r->pec))
        return "L'indirizzo PEC non è valido.";
    if (field(req, "mobile") && !phone_ok(field(req, "mobile"), r->mobile))
        return "Il numero di cellulare non è valido.";
    if (field(req, "phone") && !phone_ok(field(req, "phone"), r->phone))
        return "Il numero di telefono non è valido.";
    if (!r->mobile[0] && !r->phone[0])
        return "Almeno un numero di telefono è obbligatorio.";
    if (r->channel == NULL)
        r->channel = r->mobile[0] ? "sms" : "email";
    if (strcmp(r->channel, "sms") != 0 && strcmp(r->channel, "email") != 0 &&
        strcmp(r->channel, "pec") != 0)
        return "Canale di invio non valido.";
    if ((strcmp(r->channel, "sms") == 0 && !r->mobile[0]) ||
        (strcmp(r->channel, "pec") == 0 && !r->pec))
        return "Il canale scelto per la prima metà del PIN richiede il recapito corrispondente.";
    return NULL;
}

static enum sp_err enqueue(struct sp_db *db, enum sp_channel ch, const char *to,
                           const char *subject, const char *body, const char *cf,
                           const char *purpose, int64_t now)
{
    struct sp_message m = {ch, to, subject, body, cf, purpose};
    return sp_outbox_enqueue(db, &m, now, NULL);
}

/* The two halves: first by the chosen channel, second by post. */
static enum sp_err dispatch_halves(struct sp_app *app, const struct pin_request *r,
                                   const char value[SP_PIN_INITIAL_LEN + 1], int64_t now)
{
    struct sp_buf body, addr;
    enum sp_channel ch = strcmp(r->channel, "sms") == 0   ? SP_CHANNEL_SMS
                         : strcmp(r->channel, "pec") == 0 ? SP_CHANNEL_PEC
                                                          : SP_CHANNEL_EMAIL;
    const char *to = ch == SP_CHANNEL_SMS ? r->mobile : ch == SP_CHANNEL_PEC ? r->pec : r->email;
    enum sp_err rc;

    sp_buf_init(&body, 4096);
    sp_buf_init(&addr, 4096);
    sp_buf_addf(&body,
                "Prima parte del PIN: %.8s\nLa seconda parte arriva per posta all'indirizzo di "
                "residenza. Il PIN va attivato entro %u giorni.\n",
                value, app->cfg->pin_activation_days);
    rc =
        enqueue(app->db, ch, to, "Prima parte del PIN", sp_buf_str(&body), r->cf, "pin.half1", now);
    sp_wipe(body.data, body.len);
    sp_buf_reset(&body);
    sp_buf_addf(&addr, "%s %s\n%s\n%s %s (%s)", r->name, r->surname, r->street, r->cap, r->city,
                r->province);
    sp_buf_addf(&body,
                "Gentile %s %s,\nla seconda parte del suo PIN è: %.8s\nPer il primo accesso "
                "scriva le due parti di seguito (16 caratteri): le sarà chiesto di scegliere il "
                "PIN personale di 8 caratteri.\n",
                r->name, r->surname, value + SP_PIN_HALF_LEN);
    if (rc == SP_OK)
        rc = enqueue(app->db, SP_CHANNEL_POST, sp_buf_str(&addr), "Seconda parte del PIN",
                     sp_buf_str(&body), r->cf, "pin.half2", now);
    sp_wipe(body.data, body.len);
    sp_buf_cleanup(&body);
    sp_buf_cleanup(&addr);
    return rc;
}

static void record_request(struct sp_app *app, const struct pin_request *r, int64_t now,
                           enum sp_err *rc)
{
    char address[512];
    struct sp_user_attr attrs[8];
    unsigned n = 0;

    snprintf(address, sizeof(address), "%s %s %s %s", r->street, r->cap, r->city, r->province);
    attrs[n++] = (struct sp_user_attr){"name", r->name};
    attrs[n++] = (struct sp_user_attr){"familyName", r->surname};
    attrs[n++] = (struct sp_user_attr){"dateOfBirth", r->birth_date};
    attrs[n++] = (struct sp_user_attr){"gender", r->sex};
    attrs[n++] = (struct sp_user_attr){"placeOfBirth", r->birth_place};
    attrs[n++] = (struct sp_user_attr){"address", address};
    attrs[n++] = (struct sp_user_attr){"email", r->email};
    if (r->pec)
        attrs[n++] = (struct sp_user_attr){"digitalAddress", r->pec};
    *rc = sp_users_record_declared(app->db, r->cf, attrs, n, now);
    if (*rc == SP_OK)
        *rc = sp_pin_contact_set(app->db, r->cf, "email", r->email, now);
    if (*rc == SP_OK && r->pec)
        *rc = sp_pin_contact_set(app->db, r->cf, "pec", r->pec, now);
    if (*rc == SP_OK && r->mobile[0])
        *rc = sp_pin_contact_set(app->db, r->cf, "mobile", r->mobile, now);
    if (*rc == SP_OK && r->phone[0])
        *rc = sp_pin_contact_set(app->db, r->cf, "phone", r->phone, now);
}

void sp_web_pin_request(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                        const struct sp_session *s)
{
    struct pin_request r;
    struct sp_pin_params p;
    struct sp_pin_info info;
    char value[SP_PIN_INITIAL_LEN + 1] = "";
    const char *bad;
    int64_t now = sp_clock_now();
    enum sp_err rc;

    (void)s;
    if (pin_disabled(resp, app) || !form_ok(req, resp))
        return;
    bad = request_parse(req, &r);
    if (bad != NULL) {
        pin_page(app, req, resp, 400, "Richiesta del PIN", "pin_request.html", bad, NULL);
        return;
    }
    sp_pin_params_of(app->cfg, &p);
    rc = sp_pin_info(app->db, r.cf, now, &p, &info);
    if (rc == SP_OK && info.state != SP_PIN_NONE) {
        /* a live PIN already exists: same answer, nothing issued */
        pin_audit(app, req, "pin.request", r.cf, "denied", "a PIN is already live", NULL);
        goto answer;
    }
    rc = sp_db_begin(app->db);
    if (rc == SP_OK)
        record_request(app, &r, now, &rc);
    if (rc == SP_OK)
        rc = sp_pin_issue(app->db, r.cf, "online", false, now, &p, value);
    if (rc == SP_OK)
        rc = dispatch_halves(app, &r, value, now);
    if (rc == SP_OK)
        rc = sp_db_commit(app->db);
    else
        sp_db_rollback(app->db);
    sp_wipe(value, sizeof(value));
    if (rc != SP_OK) {
        sp_tmpl_error_page(resp, 500, "Errore interno", "Riprovare più tardi.");
        return;
    }
    sp_outbox_kick(app->outbox);
    pin_audit(app, req, "pin.request", r.cf, "ok", "PIN issued (ordinario), halves queued", NULL);
answer:
    pin_page(app, req, resp, 200, "Richiesta registrata", "pin_done.html",
             "Se i dati sono corretti riceverai la prima parte del PIN sul recapito scelto e la "
             "seconda per posta all'indirizzo di residenza. Al primo accesso scrivi le due parti "
             "di seguito: ti sarà chiesto di scegliere il PIN personale.",
             NULL);
}

/* --- login and change ------------------------------------------------------- */

static bool is_intermediary(struct sp_app *app, const char *cf)
{
    struct sp_authz_facts f;
    bool yes = false;
    if (sp_roles_facts(app->db, cf, &f) != SP_OK)
        return false;
    for (unsigned i = 0; i < f.roles.n; i++)
        if (sp_role_is_intermediary(f.roles.v[i].kind) &&
            sp_role_active(&f.roles.v[i], sp_clock_now()))
            yes = true;
    sp_authz_facts_cleanup(&f);
    return yes;
}

/* Open a PIN session and send the browser on. */
static void pin_open_session(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                             const char *cf, bool dispositive)
{
    struct sp_session s;
    char token[SP_RAND_TOKEN_LEN + 1], sid[SP_SESSION_ID_LEN + 1];
    const char *next = sp_req_form(req, "next");
    int64_t now = sp_clock_now();

    memset(&s, 0, sizeof(s));
    s.user_cf = (char *)cf;
    s.method = "pin";
    s.assurance = sp_authz_assurance("pin", 0, dispositive);
    if (sp_session_create(app->db, &s, now, app->cfg->session_lifetime_sec, token) != SP_OK) {
        sp_tmpl_error_page(resp, 500, "Errore interno", "Riprovare più tardi.");
        return;
    }
    sp_session_id(token, sid);
    pin_audit(app, req, SP_AUDIT_LOGIN, cf, "ok",
              dispositive ? "PIN dispositivo (A2)" : "PIN ordinario (A1)", sid);
    sp_resp_cookie(resp, SP_SESSION_COOKIE, token, -1, app->session_cookie_flags);
    sp_wipe(token, sizeof(token));
    if (next == NULL || !sp_redirect_is_local(next))
        next = "/services";
    sp_resp_redirect(resp, 303, next);
}

static const char pin_generic_denied[] =
    "Codice fiscale o PIN non validi, oppure PIN temporaneamente bloccato dopo troppi tentativi "
    "errati. Riprovare più tardi o usare il ripristino del PIN.";

static void pin_answer(struct sp_app *app, struct sp_req *req, struct sp_resp *resp, const char *cf,
                       const struct sp_pin_login *out)
{
    static const char *const outcomes[] = {"ok", "must_change", "must_renew", "denied", "locked"};
    sp_metrics_inc("spid_sp_pin_logins_total", "outcome", outcomes[out->outcome], NULL, NULL);
    switch (out->outcome) {
    case SP_PIN_OK:
        pin_open_session(app, req, resp, cf, out->dispositive);
        return;
    case SP_PIN_MUST_CHANGE:
        pin_page(app, req, resp, 200, "Scegli il tuo PIN", "pin_change.html",
                 "Primo accesso: scegli il PIN personale di 8 caratteri (lettere e cifre).", cf);
        return;
    case SP_PIN_MUST_RENEW:
        pin_page(app, req, resp, 200, "PIN scaduto", "pin_change.html",
                 "Il PIN è scaduto: per continuare scegli un nuovo PIN di 8 caratteri.", cf);
        return;
    case SP_PIN_DENIED:
    case SP_PIN_LOCKED:
        break;
    }
    pin_page(app, req, resp, 401, "Accesso con PIN", "pin_login.html",
             out->disabled ? "Il PIN è stato disattivato perché non usato da oltre 6 mesi: "
                             "usa il ripristino del PIN."
                           : pin_generic_denied,
             NULL);
}

void sp_web_pin_login_form(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                           const struct sp_session *s)
{
    (void)s;
    if (!pin_disabled(resp, app))
        pin_page(app, req, resp, 200, "Accesso con PIN", "pin_login.html", NULL, NULL);
}

static void pin_cf(struct sp_req *req, char cf[SP_CF_MAX + 1])
{
    const char *in = sp_req_form(req, "cf");
    if (in == NULL || sp_cf_normalize(in, cf, NULL, NULL) != SP_OK)
        cf[0] = '\0';
}

void sp_web_pin_login(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                      const struct sp_session *s)
{
    struct sp_pin_params p;
    struct sp_pin_login out;
    char cf[SP_CF_MAX + 1];

    (void)s;
    if (pin_disabled(resp, app) || !form_ok(req, resp))
        return;
    pin_cf(req, cf);
    sp_pin_params_of(app->cfg, &p);
    if (sp_pin_check(app->db, cf[0] ? cf : NULL, sp_req_form(req, "pin"),
                     cf[0] && is_intermediary(app, cf), sp_clock_now(), &p, &out) != SP_OK) {
        sp_tmpl_error_page(resp, 500, "Errore interno", "Riprovare più tardi.");
        return;
    }
    if (out.outcome == SP_PIN_DENIED || out.outcome == SP_PIN_LOCKED)
        pin_audit(app, req, SP_AUDIT_LOGIN_FAILED, cf[0] ? cf : NULL, "denied", out.detail, NULL);
    pin_answer(app, req, resp, cf, &out);
}

void sp_web_pin_change(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                       const struct sp_session *s)
{
    struct sp_pin_params p;
    struct sp_pin_login out;
    struct sp_user u;
    char cf[SP_CF_MAX + 1];
    const char *fresh = sp_req_form(req, "new"), *again = sp_req_form(req, "confirm");
    const char *why = NULL;
    enum sp_err rc;

    (void)s;
    if (pin_disabled(resp, app) || !form_ok(req, resp))
        return;
    pin_cf(req, cf);
    if (fresh == NULL || again == NULL || strcmp(fresh, again) != 0) {
        pin_page(app, req, resp, 400, "Scegli il tuo PIN", "pin_change.html",
                 "Il nuovo PIN e la conferma non coincidono.", cf);
        return;
    }
    memset(&u, 0, sizeof(u));
    if (cf[0] && sp_users_get(app->db, cf, &u) == SP_OK) {
        /* the names the PIN must not contain: verified, or as declared */
        if (u.name == NULL)
            u.name = sp_users_source_attr(app->db, cf, SP_USERS_DECLARED, "name");
        if (u.family_name == NULL)
            u.family_name = sp_users_source_attr(app->db, cf, SP_USERS_DECLARED, "familyName");
    }
    sp_pin_params_of(app->cfg, &p);
    rc = sp_pin_change(app->db, cf[0] ? cf : NULL, sp_req_form(req, "current"), fresh,
                       cf[0] && is_intermediary(app, cf), u.name, u.family_name, sp_clock_now(), &p,
                       &out, &why);
    sp_user_cleanup(&u);
    if (rc == SP_ERR_INVALID) {
        pin_page(app, req, resp, 400, "Scegli il tuo PIN", "pin_change.html", why, cf);
        return;
    }
    if (rc == SP_ERR_DENIED) {
        pin_audit(app, req, SP_AUDIT_LOGIN_FAILED, cf[0] ? cf : NULL, "denied", out.detail, NULL);
        pin_answer(app, req, resp, cf, &out);
        return;
    }
    if (rc != SP_OK) {
        sp_tmpl_error_page(resp, 500, "Errore interno", "Riprovare più tardi.");
        return;
    }
    pin_audit(app, req, "pin.change", cf, "ok", "personal PIN set", NULL);
    pin_open_session(app, req, resp, cf, out.dispositive);
}

/* --- recovery and revocation ------------------------------------------------ */

static bool same_email(const char *a, const char *b)
{
    return a && b && strlen(a) == strlen(b) && strcasecmp(a, b) == 0;
}

void sp_web_pin_recover_form(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                             const struct sp_session *s)
{
    (void)s;
    if (!pin_disabled(resp, app))
        pin_page(app, req, resp, 200, "Ripristino del PIN", "pin_recover.html", NULL, NULL);
}

/* Two of the registered contacts, typed again, prove control of them. */
static unsigned recover_matches(struct sp_app *app, struct sp_req *req, const char *cf,
                                char **email, char **pec, char **mobile)
{
    char typed_mobile[24];
    unsigned n = 0;

    *email = sp_pin_contact_get(app->db, cf, "email");
    *pec = sp_pin_contact_get(app->db, cf, "pec");
    *mobile = sp_pin_contact_get(app->db, cf, "mobile");
    if (same_email(field(req, "email"), *email))
        n++;
    if (same_email(field(req, "pec"), *pec))
        n++;
    if (field(req, "mobile") && phone_ok(field(req, "mobile"), typed_mobile) && *mobile &&
        strcmp(typed_mobile, *mobile) == 0)
        n++;
    return n;
}

void sp_web_pin_recover(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                        const struct sp_session *s)
{
    struct sp_pin_params p;
    struct sp_pin_info info;
    char cf[SP_CF_MAX + 1], value[SP_PIN_INITIAL_LEN + 1] = "";
    char *email = NULL, *pec = NULL, *mobile = NULL;
    int64_t now = sp_clock_now();
    enum sp_err rc = SP_OK;
    struct sp_buf b1, b2;

    (void)s;
    if (pin_disabled(resp, app) || !form_ok(req, resp))
        return;
    pin_cf(req, cf);
    sp_pin_params_of(app->cfg, &p);
    if (!cf[0] || sp_pin_info(app->db, cf, now, &p, &info) != SP_OK || info.state == SP_PIN_NONE ||
        recover_matches(app, req, cf, &email, &pec, &mobile) < 2) {
        pin_audit(app, req, "pin.recover", cf[0] ? cf : NULL, "denied",
                  "unknown CF, no live PIN, or fewer than two registered contacts matched", NULL);
        goto answer;
    }
    sp_buf_init(&b1, 2048);
    sp_buf_init(&b2, 2048);
    rc = sp_db_begin(app->db);
    if (rc == SP_OK)
        rc = sp_pin_issue(app->db, cf, "recovery", false, now, &p, value);
    if (rc == SP_OK) {
        /* two different channels: SMS + e-mail/PEC, or e-mail + PEC */
        enum sp_channel c1 = mobile ? SP_CHANNEL_SMS : SP_CHANNEL_EMAIL;
        const char *to1 = mobile ? mobile : email;
        enum sp_channel c2 = (mobile && email) ? SP_CHANNEL_EMAIL : SP_CHANNEL_PEC;
        const char *to2 = (mobile && email) ? email : pec;
        sp_buf_addf(&b1, "Ripristino del PIN, prima parte: %.8s\n", value);
        sp_buf_addf(&b2,
                    "Ripristino del PIN, seconda parte: %.8s\nAl prossimo accesso scrivi le due "
                    "parti di seguito e scegli un nuovo PIN personale.\n",
                    value + SP_PIN_HALF_LEN);
        rc = to1 && to2 ? SP_OK : SP_ERR_INVALID;
        if (rc == SP_OK)
            rc = enqueue(app->db, c1, to1, "Ripristino del PIN (1/2)", sp_buf_str(&b1), cf,
                         "pin.recovery1", now);
        if (rc == SP_OK)
            rc = enqueue(app->db, c2, to2, "Ripristino del PIN (2/2)", sp_buf_str(&b2), cf,
                         "pin.recovery2", now);
    }
    if (rc == SP_OK)
        rc = sp_db_commit(app->db);
    else
        sp_db_rollback(app->db);
    sp_wipe(value, sizeof(value));
    sp_wipe(b1.data, b1.len);
    sp_wipe(b2.data, b2.len);
    sp_buf_cleanup(&b1);
    sp_buf_cleanup(&b2);
    if (rc == SP_OK) {
        sp_outbox_kick(app->outbox);
        pin_audit(app, req, "pin.recover", cf, "ok", "new initial PIN issued, halves queued", NULL);
    } else {
        pin_audit(app, req, "pin.recover", cf, "error", "could not issue the recovery PIN", NULL);
    }
answer:
    free(email);
    free(pec);
    free(mobile);
    pin_page(app, req, resp, 200, "Ripristino del PIN", "pin_done.html",
             "Se i dati corrispondono a quelli registrati riceverai le due parti di un nuovo PIN "
             "su due dei tuoi recapiti. Al primo accesso ti sarà chiesto di scegliere il PIN "
             "personale.",
             NULL);
}

void sp_web_pin_revoke(struct sp_app *app, struct sp_req *req, struct sp_resp *resp,
                       const struct sp_session *s)
{
    int64_t now = sp_clock_now();
    enum sp_err rc;

    if (pin_disabled(resp, app) || !form_ok(req, resp))
        return;
    rc = sp_pin_end(app->db, s->user_cf, "revoked", now);
    if (rc == SP_ERR_NOT_FOUND) {
        sp_tmpl_error_page(resp, 404, "Nessun PIN", "Non risulta un PIN attivo da revocare.");
        return;
    }
    if (rc == SP_OK)
        rc = sp_session_end_user(app->db, s->user_cf, "pin", now);
    if (rc != SP_OK) {
        sp_tmpl_error_page(resp, 500, "Errore interno", "Riprovare più tardi.");
        return;
    }
    pin_audit(app, req, "pin.revoke", s->user_cf, "ok", "revoked by the holder", s->id);
    if (strcmp(s->method, "pin") == 0)
        sp_resp_cookie(resp, SP_SESSION_COOKIE, "", 0, app->session_cookie_flags);
    pin_page(app, req, resp, 200, "PIN revocato", "pin_done.html",
             "Il PIN è stato revocato e le sessioni aperte con il PIN sono state chiuse. Puoi "
             "richiederne uno nuovo.",
             NULL);
}
