/*
 * config: one table describes every option (section, name, type, default,
 * bounds, offset into struct sp_config). The file is parsed with inih through
 * a line-counting reader so every error names file:line. Loading builds a new
 * struct on the side; the caller gets it only when everything validated.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/buf.h"
#include "sp/config.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/str.h"

enum opt_type { OPT_STR, OPT_UINT, OPT_BOOL, OPT_BINDING, OPT_ORG_KIND };

struct opt {
    const char *section;
    const char *name;
    enum opt_type type;
    const char *def; /* default as text, NULL = unset */
    unsigned min, max;
    size_t off;
};

#define S(sec, nm, field, def)                                                                     \
    {                                                                                              \
        sec, nm, OPT_STR, def, 0, 0, offsetof(struct sp_config, field)                             \
    }
#define U(sec, nm, field, def, lo, hi)                                                             \
    {                                                                                              \
        sec, nm, OPT_UINT, def, lo, hi, offsetof(struct sp_config, field)                          \
    }
#define B(sec, nm, field, def)                                                                     \
    {                                                                                              \
        sec, nm, OPT_BOOL, def, 0, 0, offsetof(struct sp_config, field)                            \
    }

static const struct opt options[] = {
    S("sp", "entity_id", entity_id, "http://127.0.0.1:8080/metadata"),
    S("sp", "base_url", base_url, "http://127.0.0.1:8080"),
    S("sp", "listen", listen, "127.0.0.1"),
    U("sp", "port", port, "8080", 1, 65535),
    S("sp", "data_dir", data_dir, "./data"),
    S("sp", "key_file", key_file, NULL),
    S("sp", "cert_file", cert_file, NULL),
    S("sp", "idp_metadata", idp_metadata, NULL),
    U("sp", "default_level", default_level, "2", 1, 3),
    {"sp", "binding", OPT_BINDING, "auto", 0, 0, offsetof(struct sp_config, binding)},
    U("sp", "attribute_service", attr_service_index, "0", 0, 65535),
    U("sp", "session_idle", session_idle_sec, "1800", 60, 86400),
    U("sp", "session_lifetime", session_lifetime_sec, "28800", 300, 604800),
    U("sp", "clock_skew", clock_skew_sec, "120", 0, 600),
    U("sp", "request_ttl", request_ttl_sec, "900", 60, 86400),
    U("sp", "threads", threads, "0", 0, 256),
    S("sp", "log_level", log_level, "info"),
    B("sp", "test_hooks", test_hooks, "false"),
    S("sp", "trusted_proxies", trusted_proxies, ""),

    S("organization", "name", org_name, "Istituto Dimostrativo di Previdenza"),
    S("organization", "display_name", org_display_name, "IDP Demo"),
    S("organization", "url", org_url, "http://127.0.0.1:8080/"),
    S("organization", "locality", org_locality, "Roma"),
    S("organization", "country", org_country, "IT"),

    {"contact", "kind", OPT_ORG_KIND, "public", 0, 0, offsetof(struct sp_config, org_kind)},
    S("contact", "ipa_code", ipa_code, "c_h501"),
    S("contact", "vat_number", vat_number, NULL),
    S("contact", "fiscal_code", fiscal_code, NULL),
    S("contact", "email", contact_email, "spid@example.gov.it"),
    S("contact", "phone", contact_phone, NULL),
    S("contact", "company", contact_company, NULL),

    S("billing", "vat_country", billing_vat_country, NULL),
    S("billing", "vat_code", billing_vat_code, NULL),
    S("billing", "fiscal_code", billing_fiscal_code, NULL),
    S("billing", "name", billing_name, NULL),
    S("billing", "address", billing_address, NULL),
    S("billing", "number", billing_number, NULL),
    S("billing", "cap", billing_cap, NULL),
    S("billing", "city", billing_city, NULL),
    S("billing", "province", billing_province, NULL),
    S("billing", "country", billing_country, "IT"),
    S("billing", "email", billing_email, NULL),
    S("billing", "company", billing_company, NULL),

    B("pin", "enabled", pin_enabled, "true"),
    U("pin", "activation_days", pin_activation_days, "90", 1, 3650),
    U("pin", "expiry_citizen_days", pin_expiry_citizen_days, "180", 1, 3650),
    U("pin", "expiry_intermediary_days", pin_expiry_intermediary_days, "90", 1, 3650),
    U("pin", "history", pin_history, "5", 0, 24),
    U("pin", "inactivity_days", pin_inactivity_days, "180", 1, 3650),
    U("pin", "lock_threshold", pin_lock_threshold, "10", 1, 1000),
    U("pin", "lock_base_minutes", pin_lock_base_minutes, "5", 1, 1440),
    U("pin", "lock_step_minutes", pin_lock_step_minutes, "5", 0, 1440),
    U("pin", "lock_max_minutes", pin_lock_max_minutes, "60", 1, 10080),
    U("pin", "scrypt_log2_n", pin_scrypt_log2_n, "14", 10, 20),
    S("pin", "upload_dir", pin_upload_dir, NULL),
    U("pin", "upload_max_bytes", pin_upload_max, "5242880", 1024, 52428800),

    S("notify", "smtp_url", smtp_url, ""),
    S("notify", "smtp_from", smtp_from, "noreply@example.gov.it"),
    S("notify", "smtp_user", smtp_user, ""),
    S("notify", "smtp_password", smtp_password, ""),
    S("notify", "sms_url", sms_url, ""),
    S("notify", "sms_token", sms_token, ""),
    S("notify", "postal_spool_dir", postal_spool_dir, NULL),
    U("notify", "timeout", notify_timeout_sec, "10", 1, 300),
    U("notify", "retry_base", notify_retry_base_sec, "30", 1, 86400),
    U("notify", "retry_max", notify_retry_max_sec, "3600", 1, 604800),
    U("notify", "max_attempts", notify_max_attempts, "20", 1, 1000),
    U("notify", "poll_ms", notify_poll_ms, "1000", 50, 600000),

    S("cns", "ca_dir", cns_ca_dir, ""),
    S("cns", "policies", cns_policies, "1.3.76.16.2.1 1.3.159.6.1.3.2.10 1.3.76.12.1.1.10.2.2.10"),
    B("cns", "soft_fail", cns_soft_fail, "false"),
    U("cns", "crl_max_age_hours", cns_crl_max_age_hours, "24", 1, 720),
    U("cns", "timeout", cns_timeout_sec, "5", 1, 60),
    U("cns", "tls_port", cns_tls_port, "0", 0, 65535),
    S("cns", "tls_cert_file", cns_tls_cert_file, NULL),
    S("cns", "tls_key_file", cns_tls_key_file, NULL),
    S("cns", "proxy_header", cns_proxy_header, "X-SSL-Client-Cert"),

    U("delegation", "max_per_delegate", deleg_max_per_delegate, "3", 1, 100),
    U("delegation", "online_min_days", deleg_online_min_days, "30", 0, 365),
    U("delegation", "evidence_years", deleg_evidence_years, "5", 1, 50),

    S("registry", "url", registry_url, ""),
    S("registry", "cert_file", registry_cert_file, ""),
    U("registry", "refresh", registry_refresh_sec, "3600", 1, 86400),
    U("registry", "timeout", registry_timeout_sec, "20", 1, 300),
    S("registry", "ca_file", registry_ca_file, ""),
    S("registry", "name", registry_name, ""),
    U("registry", "cert_warn_days", registry_cert_warn_days, "30", 0, 3650),
    B("registry", "require_valid_until", registry_require_valid_until, "true"),
};

#undef S
#undef U
#undef B

static const char *const spid_attributes[] = {
    "spidCode",
    "name",
    "familyName",
    "placeOfBirth",
    "countyOfBirth",
    "dateOfBirth",
    "gender",
    "fiscalNumber",
    "ivaCode",
    "companyName",
    "companyFiscalNumber",
    "registeredOffice",
    "idCard",
    "expirationDate",
    "mobilePhone",
    "email",
    "digitalAddress",
    "address",
    "domicileStreetAddress",
    "domicilePostalCode",
    "domicileMunicipality",
    "domicileProvince",
    "domicileNation",
};

static const char *const default_attrs[] = {"spidCode",     "fiscalNumber", "name",
                                            "familyName",   "dateOfBirth",  "gender",
                                            "placeOfBirth", "email",        "mobilePhone"};

struct load_state {
    struct sp_config *cfg;
    const char *file;
    FILE *fp;
    unsigned line;
    unsigned err_line;
    struct sp_buf *err;
    /* the line where each option was set (file:line for cross-field errors); 0 = unset */
    unsigned seen[sizeof(options) / sizeof(options[0])];
    unsigned service_line[SP_MAX_SERVICES]; /* first line of each [service.ID] */
};

bool sp_config_is_spid_attribute(const char *name)
{
    for (size_t i = 0; i < sizeof(spid_attributes) / sizeof(spid_attributes[0]); i++)
        if (strcmp(name, spid_attributes[i]) == 0)
            return true;
    return false;
}

static void config_error(struct load_state *st, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void config_error(struct load_state *st, unsigned line, const char *fmt, ...)
{
    va_list ap;
    if (st->err_line != 0 || (st->err != NULL && st->err->len > 0))
        return; /* keep the first error */
    st->err_line = line ? line : 1;
    if (st->err == NULL)
        return;
    sp_buf_addf(st->err, "%s:%u: ", st->file, line);
    va_start(ap, fmt);
    sp_buf_vaddf(st->err, fmt, ap);
    va_end(ap);
}

static bool parse_bool(const char *value, bool *out)
{
    if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 || strcmp(value, "1") == 0)
        *out = true;
    else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0 || strcmp(value, "0") == 0)
        *out = false;
    else
        return false;
    return true;
}

static enum sp_err opt_set(struct sp_config *cfg, const struct opt *o, const char *value,
                           const char **why)
{
    char *base = (char *)cfg + o->off;
    uint64_t u;

    switch (o->type) {
    case OPT_STR: {
        char **p = (char **)(void *)base;
        free(*p);
        *p = sp_xstrdup(value);
        return SP_OK;
    }
    case OPT_UINT:
        if (sp_parse_uint(value, o->min, o->max, &u) != SP_OK) {
            *why = "expected a whole number in range";
            return SP_ERR_INVALID;
        }
        *(unsigned *)(void *)base = (unsigned)u;
        return SP_OK;
    case OPT_BOOL:
        if (!parse_bool(value, (bool *)(void *)base)) {
            *why = "expected true or false";
            return SP_ERR_INVALID;
        }
        return SP_OK;
    case OPT_BINDING:
        if (strcmp(value, "auto") == 0)
            *(enum sp_binding *)(void *)base = SP_BINDING_AUTO;
        else if (strcmp(value, "redirect") == 0)
            *(enum sp_binding *)(void *)base = SP_BINDING_REDIRECT;
        else if (strcmp(value, "post") == 0)
            *(enum sp_binding *)(void *)base = SP_BINDING_POST;
        else {
            *why = "expected auto, redirect or post";
            return SP_ERR_INVALID;
        }
        return SP_OK;
    case OPT_ORG_KIND:
        if (strcmp(value, "public") == 0)
            *(enum sp_org_kind *)(void *)base = SP_ORG_PUBLIC;
        else if (strcmp(value, "private") == 0)
            *(enum sp_org_kind *)(void *)base = SP_ORG_PRIVATE;
        else {
            *why = "expected public or private";
            return SP_ERR_INVALID;
        }
        return SP_OK;
    }
    *why = "internal: unknown option type";
    return SP_ERR_INTERNAL;
}

/* [attributes.N]: name = ..., attributes = a b c */
static int attr_section(struct load_state *st, const char *section, const char *name,
                        const char *value)
{
    uint64_t idx;
    struct sp_attr_service *svc = NULL;
    struct sp_config *cfg = st->cfg;

    if (sp_parse_uint(section + strlen("attributes."), 0, 65535, &idx) != SP_OK) {
        config_error(st, st->line, "section [%s]: index must be a number 0-65535", section);
        return 0;
    }
    for (unsigned i = 0; i < cfg->n_attr_services; i++)
        if (cfg->attr_services[i].index == idx)
            svc = &cfg->attr_services[i];
    if (svc == NULL) {
        if (cfg->n_attr_services == SP_MAX_ATTR_SERVICES) {
            config_error(st, st->line, "too many [attributes.N] sections (max %d)",
                         SP_MAX_ATTR_SERVICES);
            return 0;
        }
        svc = &cfg->attr_services[cfg->n_attr_services++];
        svc->index = (unsigned)idx;
    }
    if (strcmp(name, "name") == 0) {
        free(svc->name);
        svc->name = sp_xstrdup(value);
        return 1;
    }
    if (strcmp(name, "attributes") != 0) {
        config_error(st, st->line, "unknown option \"%s\" in [%s]", name, section);
        return 0;
    }
    /* repeated "attributes =" lines append: inih lines are at most 198 bytes */
    for (const char *p = value; *p;) {
        size_t n;
        char *a;
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        n = strcspn(p, " ,\t");
        if (n == 0)
            break;
        a = sp_xstrndup(p, n);
        p += n;
        if (!sp_config_is_spid_attribute(a)) {
            config_error(st, st->line, "\"%s\" is not a SPID attribute name", a);
            free(a);
            return 0;
        }
        for (unsigned i = 0; i < svc->nattrs; i++)
            if (strcmp(svc->attrs[i], a) == 0) {
                config_error(st, st->line, "attribute \"%s\" listed twice", a);
                free(a);
                return 0;
            }
        if (svc->nattrs == SP_MAX_REQ_ATTRS) {
            config_error(st, st->line, "too many attributes (max %d)", SP_MAX_REQ_ATTRS);
            free(a);
            return 0;
        }
        svc->attrs[svc->nattrs++] = a;
    }
    return 1;
}

/* --- [service.ID]: the services catalogue ------------------------------ */

/* Vocabularies; tests/unit/test_config.c checks them against roles.c. */
static const char *const service_profiles[] = {"pensioner", "worker"};
static const char *const service_schemes[] = {"private", "public"};
static const char *const intermediary_roles[] = {"patronato_operator", "caf_operator",
                                                 "labour_consultant", "accountant",
                                                 "association_operator"};
static const char *const audience_names[] = {"citizen", "intermediary", "enterprise",
                                             "public_body"};
static const char *const strength_names[] = {"consultation", "dispositive"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *sp_audience_name(enum sp_audience a)
{
    return (size_t)a < COUNT(audience_names) ? audience_names[a] : "?";
}

const char *sp_strength_name(enum sp_strength s)
{
    return (size_t)s < COUNT(strength_names) ? strength_names[s] : "?";
}

static bool in_list(const char *const *list, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == len && strncmp(list[i], s, len) == 0)
            return true;
    return false;
}

/* "pensioner", "worker", "worker:public", ... */
static bool profile_token_ok(const char *t)
{
    const char *colon = strchr(t, ':');
    size_t n = colon ? (size_t)(colon - t) : strlen(t);
    if (!in_list(service_profiles, COUNT(service_profiles), t, n))
        return false;
    return colon == NULL ||
           in_list(service_schemes, COUNT(service_schemes), colon + 1, strlen(colon + 1));
}

static bool service_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') || id[i] == '_' ||
              id[i] == '-'))
            return false;
    return true;
}

static int service_tags(struct load_state *st, const char *value, char **tags, unsigned *n,
                        bool (*ok)(const char *), const char *what)
{
    for (const char *p = value; *p;) {
        size_t len;
        char *t;
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        len = strcspn(p, " ,\t");
        if (len == 0)
            break;
        t = sp_xstrndup(p, len);
        p += len;
        if (!ok(t)) {
            config_error(st, st->line, "\"%s\" is not a known %s", t, what);
            free(t);
            return 0;
        }
        if (*n == SP_MAX_SERVICE_TAGS) {
            config_error(st, st->line, "too many %ss (max %d)", what, SP_MAX_SERVICE_TAGS);
            free(t);
            return 0;
        }
        tags[(*n)++] = t;
    }
    return 1;
}

static bool intermediary_role_ok(const char *t)
{
    return in_list(intermediary_roles, COUNT(intermediary_roles), t, strlen(t));
}

static int service_enum(struct load_state *st, const char *value, const char *const *names,
                        size_t n, int *out, const char *option)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(value, names[i]) == 0) {
            *out = (int)i;
            return 1;
        }
    config_error(st, st->line, "%s = \"%s\": expected one of %s%s%s%s%s%s%s", option, value,
                 names[0], n > 1 ? ", " : "", n > 1 ? names[1] : "", n > 2 ? ", " : "",
                 n > 2 ? names[2] : "", n > 3 ? ", " : "", n > 3 ? names[3] : "");
    return 0;
}

static int service_section(struct load_state *st, const char *section, const char *name,
                           const char *value)
{
    const char *id = section + strlen("service.");
    struct sp_config *cfg = st->cfg;
    struct sp_service *svc = NULL;
    int e;

    if (!service_id_ok(id)) {
        config_error(st, st->line,
                     "section [%s]: a service id is 1-32 characters of a-z, 0-9, _ and -", section);
        return 0;
    }
    for (unsigned i = 0; i < cfg->n_services; i++)
        if (strcmp(cfg->services[i].id, id) == 0)
            svc = &cfg->services[i];
    if (svc == NULL) {
        if (cfg->n_services == SP_MAX_SERVICES) {
            config_error(st, st->line, "too many [service.ID] sections (max %d)", SP_MAX_SERVICES);
            return 0;
        }
        st->service_line[cfg->n_services] = st->line;
        svc = &cfg->services[cfg->n_services++];
        svc->id = sp_xstrdup(id);
    }
    if (strcmp(name, "name") == 0 || strcmp(name, "path") == 0 || strcmp(name, "family") == 0) {
        char **f = name[0] == 'n' ? &svc->name : name[0] == 'p' ? &svc->path : &svc->family;
        if (*f != NULL) {
            config_error(st, st->line, "option \"%s\" in [%s] set twice", name, section);
            return 0;
        }
        if (value[0] == '\0') {
            config_error(st, st->line, "%s must not be empty", name);
            return 0;
        }
        *f = sp_xstrdup(value);
        return 1;
    }
    if (strcmp(name, "audience") == 0) {
        if (!service_enum(st, value, audience_names, COUNT(audience_names), &e, name))
            return 0;
        svc->audience = (enum sp_audience)e;
        return 1;
    }
    if (strcmp(name, "strength") == 0) {
        if (!service_enum(st, value, strength_names, COUNT(strength_names), &e, name))
            return 0;
        svc->strength = (enum sp_strength)e;
        return 1;
    }
    if (strcmp(name, "deferrable") == 0) {
        if (!parse_bool(value, &svc->deferrable)) {
            config_error(st, st->line, "deferrable = \"%s\": expected true or false", value);
            return 0;
        }
        return 1;
    }
    if (strcmp(name, "profiles") == 0)
        return service_tags(st, value, svc->profiles, &svc->n_profiles, profile_token_ok,
                            "profile (pensioner or worker, optionally :private or :public)");
    if (strcmp(name, "roles") == 0)
        return service_tags(st, value, svc->roles, &svc->n_roles, intermediary_role_ok,
                            "intermediary role");
    config_error(st, st->line, "unknown option \"%s\" in [%s]", name, section);
    return 0;
}

/* The example catalogue used when the file defines no service. */
struct builtin_service {
    const char *id, *name, *path, *family;
    enum sp_audience audience;
    enum sp_strength strength;
    bool deferrable;
    const char *profiles, *roles;
};

static const struct builtin_service builtin_services[] = {
    {"estratto-conto", "Estratto conto contributivo", "/app/estratto-conto", "position",
     SP_AUD_CITIZEN, SP_STRENGTH_CONSULTATION, false, NULL, NULL},
    {"cu", "Certificazione Unica", "/app/cu", "tax", SP_AUD_CITIZEN, SP_STRENGTH_CONSULTATION,
     false, NULL, NULL},
    {"cedolino", "Cedolino della pensione", "/app/pensione/cedolino", "pension", SP_AUD_CITIZEN,
     SP_STRENGTH_CONSULTATION, false, "pensioner", NULL},
    {"obism", "ObisM - dati della pensione", "/app/pensione/obism", "pension", SP_AUD_CITIZEN,
     SP_STRENGTH_CONSULTATION, false, "pensioner", NULL},
    {"domanda-pensione", "Domanda di pensione", "/app/pensione/domanda", "pension", SP_AUD_CITIZEN,
     SP_STRENGTH_DISPOSITIVE, true, NULL, NULL},
    {"naspi", "Domanda NASpI", "/app/naspi", "income_support", SP_AUD_CITIZEN,
     SP_STRENGTH_DISPOSITIVE, true, "worker", NULL},
    {"isee", "DSU / ISEE", "/app/isee", "isee", SP_AUD_CITIZEN, SP_STRENGTH_DISPOSITIVE, true, NULL,
     NULL},
    {"iban", "Variazione dei dati di pagamento (IBAN)", "/app/iban", "payment_data", SP_AUD_CITIZEN,
     SP_STRENGTH_DISPOSITIVE, false, NULL, NULL},
    {"posizione-gdp", "Posizione assicurativa (dipendenti pubblici)", "/app/gdp/posizione",
     "position", SP_AUD_CITIZEN, SP_STRENGTH_CONSULTATION, false, "worker:public", NULL},
    {"prestiti-gdp", "Prestiti (dipendenti pubblici)", "/app/gdp/prestiti", "loans", SP_AUD_CITIZEN,
     SP_STRENGTH_DISPOSITIVE, true, "worker:public", NULL},
    {"mandati", "Gestione mandati (patronati e CAF)", "/app/intermediari/mandati", "mandates",
     SP_AUD_INTERMEDIARY, SP_STRENGTH_DISPOSITIVE, false, NULL, "patronato_operator caf_operator"},
    {"deleghe-aziende", "Deleghe delle aziende (L. 12/1979)", "/app/intermediari/deleghe",
     "delegations", SP_AUD_INTERMEDIARY, SP_STRENGTH_DISPOSITIVE, false, NULL,
     "labour_consultant accountant association_operator"},
    {"cassetto", "Cassetto previdenziale aziende", "/app/aziende/cassetto", "employer_contrib",
     SP_AUD_ENTERPRISE, SP_STRENGTH_CONSULTATION, false, NULL, NULL},
    {"uniemens", "UniEmens", "/app/aziende/uniemens", "employer_contrib", SP_AUD_ENTERPRISE,
     SP_STRENGTH_DISPOSITIVE, false, NULL, NULL},
    {"durc", "DURC online", "/app/aziende/durc", "durc", SP_AUD_ENTERPRISE, SP_STRENGTH_DISPOSITIVE,
     false, NULL, NULL},
    {"passweb", "Nuova Passweb", "/app/enti/passweb", "pa_positions", SP_AUD_PUBLIC_BODY,
     SP_STRENGTH_DISPOSITIVE, false, NULL, NULL},
};

static void split_builtin(const char *list, char **tags, unsigned *n)
{
    for (const char *p = list ? list : ""; *p;) {
        size_t len = strcspn(p, " ");
        if (len > 0)
            tags[(*n)++] = sp_xstrndup(p, len);
        p += len;
        while (*p == ' ')
            p++;
    }
}

static void services_builtin(struct sp_config *cfg)
{
    for (size_t i = 0; i < COUNT(builtin_services); i++) {
        const struct builtin_service *b = &builtin_services[i];
        struct sp_service *svc = &cfg->services[cfg->n_services++];
        svc->id = sp_xstrdup(b->id);
        svc->name = sp_xstrdup(b->name);
        svc->path = sp_xstrdup(b->path);
        svc->family = sp_xstrdup(b->family);
        svc->audience = b->audience;
        svc->strength = b->strength;
        svc->deferrable = b->deferrable;
        split_builtin(b->profiles, svc->profiles, &svc->n_profiles);
        split_builtin(b->roles, svc->roles, &svc->n_roles);
    }
    cfg->services_builtin = true;
}

static void services_validate(struct load_state *st)
{
    struct sp_config *cfg = st->cfg;

    if (cfg->n_services == 0)
        services_builtin(cfg);
    for (unsigned i = 0; i < cfg->n_services; i++) {
        struct sp_service *svc = &cfg->services[i];
        unsigned line = st->service_line[i];
        if (svc->name == NULL || svc->path == NULL) {
            config_error(st, line, "[service.%s] needs a name and a path", svc->id);
            return;
        }
        if (svc->path[0] != '/' || strpbrk(svc->path, "?# \t") != NULL) {
            config_error(st, line, "[service.%s] path must be a URL path starting with \"/\"",
                         svc->id);
            return;
        }
        if (svc->family == NULL)
            svc->family = sp_xstrdup(svc->id);
        if (svc->n_roles > 0 && svc->audience != SP_AUD_INTERMEDIARY)
            config_error(st, line, "[service.%s] roles apply only to audience = intermediary",
                         svc->id);
        if (svc->deferrable && svc->strength != SP_STRENGTH_DISPOSITIVE)
            config_error(st, line, "[service.%s] only a dispositive service can be deferrable",
                         svc->id);
        for (unsigned j = 0; j < i; j++)
            if (strcmp(cfg->services[j].path, svc->path) == 0)
                config_error(st, line, "[service.%s] and [service.%s] have the same path %s",
                             cfg->services[j].id, svc->id, svc->path);
    }
}

static void service_free(struct sp_service *svc)
{
    free(svc->id);
    free(svc->name);
    free(svc->path);
    free(svc->family);
    for (unsigned j = 0; j < svc->n_profiles; j++)
        free(svc->profiles[j]);
    for (unsigned j = 0; j < svc->n_roles; j++)
        free(svc->roles[j]);
}

static int config_handler(void *user, const char *section, const char *name, const char *value)
{
    struct load_state *st = user;
    const char *why = NULL;

    if (sp_str_has_prefix(section, "attributes."))
        return attr_section(st, section, name, value);
    if (sp_str_has_prefix(section, "service."))
        return service_section(st, section, name, value);
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        const struct opt *o = &options[i];
        if (strcmp(o->section, section) != 0 || strcmp(o->name, name) != 0)
            continue;
        if (st->seen[i]) {
            config_error(st, st->line, "option \"%s\" in [%s] set twice", name, section);
            return 0;
        }
        st->seen[i] = st->line ? st->line : 1;
        if (opt_set(st->cfg, o, value, &why) != SP_OK) {
            config_error(st, st->line, "%s.%s = \"%s\": %s", section, name, value, why);
            return 0;
        }
        return 1;
    }
    config_error(st, st->line, "unknown option \"%s\" in [%s]", name, section);
    return 0;
}

/*
 * inih reads through this function one line at a time (in chunks of its own
 * buffer size), so counting complete lines here gives every handler call its
 * line number. A line longer than inih's buffer is refused, not split.
 */
static char *config_reader(char *str, int num, void *stream)
{
    struct load_state *st = stream;
    char *r = fgets(str, num, st->fp);
    size_t n;

    if (r == NULL)
        return NULL;
    st->line++;
    n = strlen(r);
    if (n > 0 && r[n - 1] != '\n' && !feof(st->fp)) {
        int c;
        config_error(st, st->line,
                     "line longer than %d bytes (split long lists over several lines)", num - 2);
        while ((c = fgetc(st->fp)) != EOF && c != '\n')
            ;
        str[0] = '\0';
    }
    return r;
}

static size_t opt_index(const char *section, const char *name)
{
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
        if (strcmp(options[i].section, section) == 0 && strcmp(options[i].name, name) == 0)
            return i;
    sp_assert_fail("known option name", __FILE__, __LINE__);
}

static void config_defaults(struct sp_config *cfg)
{
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        const char *why = NULL;
        if (options[i].def != NULL)
            SP_ASSERT(opt_set(cfg, &options[i], options[i].def, &why) == SP_OK);
    }
}

static char *path_join(const char *dir, const char *name)
{
    struct sp_buf b;
    sp_buf_init(&b, 8192);
    sp_buf_addf(&b, "%s/%s", dir, name);
    return sp_buf_detach(&b);
}

/*
 * registry.url: https, or http only to a loopback host (tests); no user
 * information, no whitespace or control characters.
 */
static bool registry_url_ok(const char *u)
{
    static const char *const loopback[] = {"127.0.0.1", "localhost", "[::1]"};
    bool https = sp_str_has_prefix(u, "https://");
    const char *host;
    size_t n;

    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return false;
    if (https)
        host = u + strlen("https://");
    else if (sp_str_has_prefix(u, "http://"))
        host = u + strlen("http://");
    else
        return false;
    n = strcspn(host, "/?#");
    if (n == 0 || memchr(host, '@', n) != NULL)
        return false;
    if (https)
        return true;
    for (size_t i = 0; i < COUNT(loopback); i++) {
        size_t l = strlen(loopback[i]);
        if (strncmp(host, loopback[i], l) == 0 && (host[l] == '\0' || strchr(":/?#", host[l])))
            return true;
    }
    return false;
}

static bool url_ok(const char *u)
{
    return sp_str_has_prefix(u, "https://") || sp_str_has_prefix(u, "http://");
}

/* Cross-field checks, after all lines have been read. */
static void config_validate(struct load_state *st)
{
    struct sp_config *cfg = st->cfg;
    size_t n;

    if (cfg->entity_id[0] == '\0')
        config_error(st, 0, "sp.entity_id must not be empty");
    n = strlen(cfg->base_url);
    while (n > 0 && cfg->base_url[n - 1] == '/')
        cfg->base_url[--n] = '\0';
    if (!url_ok(cfg->base_url))
        config_error(st, 0, "sp.base_url must start with http:// or https://");
    if (!url_ok(cfg->org_url))
        config_error(st, 0, "organization.url must start with http:// or https://");
    if (strlen(cfg->org_country) != 2)
        config_error(st, 0, "organization.country must be an ISO 3166 alpha-2 code");
    if (cfg->session_lifetime_sec < cfg->session_idle_sec)
        config_error(st, 0, "sp.session_lifetime must not be shorter than sp.session_idle");
    if (cfg->org_kind == SP_ORG_PUBLIC) {
        if (cfg->ipa_code == NULL || cfg->ipa_code[0] == '\0')
            config_error(st, 0, "contact.ipa_code is required for a public SP");
    } else {
        if (st->seen[opt_index("contact", "ipa_code")])
            config_error(st, 0, "contact.ipa_code must not be set for a private SP");
        free(cfg->ipa_code); /* the public default does not apply (MD-87) */
        cfg->ipa_code = NULL;
        if ((cfg->vat_number == NULL || !cfg->vat_number[0]) &&
            (cfg->fiscal_code == NULL || !cfg->fiscal_code[0]))
            config_error(st, 0, "a private SP needs contact.vat_number or contact.fiscal_code");
        if (cfg->billing_email == NULL || cfg->billing_name == NULL ||
            cfg->billing_address == NULL || cfg->billing_cap == NULL || cfg->billing_city == NULL)
            config_error(st, 0, "a private SP needs [billing] name, address, cap, city and email");
    }
    if (cfg->key_file == NULL)
        cfg->key_file = path_join(cfg->data_dir, "sp-key.pem");
    if (cfg->cert_file == NULL)
        cfg->cert_file = path_join(cfg->data_dir, "sp-cert.pem");
    if (cfg->idp_metadata == NULL)
        cfg->idp_metadata = path_join(cfg->data_dir, "idp-metadata");
    if (cfg->cns_tls_cert_file == NULL)
        cfg->cns_tls_cert_file = sp_xstrdup(cfg->cert_file);
    if (cfg->cns_tls_key_file == NULL)
        cfg->cns_tls_key_file = sp_xstrdup(cfg->key_file);
    if (cfg->cns_tls_port != 0 && cfg->cns_ca_dir[0] == '\0')
        config_error(st, 0, "cns.tls_port needs cns.ca_dir (the CNS certification authorities)");
    if (cfg->pin_upload_dir == NULL)
        cfg->pin_upload_dir = path_join(cfg->data_dir, "pin-uploads");
    if (cfg->postal_spool_dir == NULL)
        cfg->postal_spool_dir = path_join(cfg->data_dir, "postal-spool");
    if (cfg->notify_retry_max_sec < cfg->notify_retry_base_sec)
        config_error(st, 0, "notify.retry_max must not be shorter than notify.retry_base");
    if (cfg->registry_url[0] != '\0' && !registry_url_ok(cfg->registry_url))
        config_error(st, st->seen[opt_index("registry", "url")],
                     "registry.url = \"%s\": https:// required (http:// only to 127.0.0.1, "
                     "localhost or [::1])",
                     cfg->registry_url);
    else if (cfg->registry_url[0] != '\0' && cfg->registry_cert_file[0] == '\0')
        config_error(st, st->seen[opt_index("registry", "url")],
                     "registry.url needs registry.cert_file (the pinned registry signing "
                     "certificate or public key, PEM)");
    if (cfg->n_attr_services == 0) {
        struct sp_attr_service *svc = &cfg->attr_services[cfg->n_attr_services++];
        svc->index = 0;
        svc->name = sp_xstrdup("Servizi online");
        for (size_t i = 0; i < sizeof(default_attrs) / sizeof(default_attrs[0]); i++)
            svc->attrs[svc->nattrs++] = sp_xstrdup(default_attrs[i]);
    }
    for (unsigned i = 0; i < cfg->n_attr_services; i++) {
        struct sp_attr_service *svc = &cfg->attr_services[i];
        if (svc->name == NULL)
            svc->name = sp_xstrdup("Servizi online");
        if (svc->nattrs == 0)
            config_error(st, 0, "[attributes.%u] requests no attribute", svc->index);
    }
    if (sp_config_attr_service(cfg, cfg->attr_service_index) == NULL)
        config_error(st, 0, "sp.attribute_service = %u names no [attributes.N] section",
                     cfg->attr_service_index);
    if (sp_log_level_parse(cfg->log_level) < 0)
        config_error(st, 0, "sp.log_level must be debug, info, warn or error");
    services_validate(st);
    for (const char *p = cfg->trusted_proxies; *p;) {
        size_t len = strcspn(p, " ,\t");
        char ip[64];
        unsigned char addr[16];
        if (len > 0) {
            snprintf(ip, sizeof(ip), "%.*s", (int)(len < sizeof(ip) ? len : sizeof(ip) - 1), p);
            if (inet_pton(AF_INET, ip, addr) != 1 && inet_pton(AF_INET6, ip, addr) != 1)
                config_error(st, 0, "sp.trusted_proxies: \"%s\" is not an IP address", ip);
        }
        p += len;
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
    }
}

enum sp_err sp_config_load(const char *path, struct sp_config **out, struct sp_buf *err)
{
    struct load_state st;
    struct sp_config *cfg = sp_xcalloc(1, sizeof(*cfg));
    enum sp_err rc = SP_OK;

    memset(&st, 0, sizeof(st));
    st.cfg = cfg;
    st.err = err;
    st.file = path ? path : "(defaults)";
    cfg->source = sp_xstrdup(st.file);
    config_defaults(cfg);
    if (path != NULL) {
        int r;
        st.fp = fopen(path, "r");
        if (st.fp == NULL) {
            if (err != NULL)
                sp_buf_addf(err, "%s:0: cannot open: %s", path, strerror(errno));
            rc = SP_ERR_IO;
            goto out;
        }
        r = ini_parse_stream(config_reader, &st, config_handler, &st);
        fclose(st.fp);
        if (r != 0 && st.err_line == 0)
            config_error(&st, (unsigned)(r > 0 ? r : 0), "syntax error");
    }
    if (st.err_line == 0)
        config_validate(&st);
    if (st.err_line != 0)
        rc = SP_ERR_CONFIG;
out:
    if (rc != SP_OK) {
        sp_config_free(&cfg);
        return rc;
    }
    *out = cfg;
    return SP_OK;
}

void sp_config_free(struct sp_config **cfgp)
{
    struct sp_config *cfg = cfgp ? *cfgp : NULL;
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
        if (options[i].type == OPT_STR)
            free(*(char **)(void *)((char *)cfg + options[i].off));
    for (unsigned i = 0; i < cfg->n_attr_services; i++) {
        free(cfg->attr_services[i].name);
        for (unsigned j = 0; j < cfg->attr_services[i].nattrs; j++)
            free(cfg->attr_services[i].attrs[j]);
    }
    for (unsigned i = 0; i < cfg->n_services; i++)
        service_free(&cfg->services[i]);
    free(cfg->source);
    free(cfg);
    *cfgp = NULL;
}

char *sp_config_acs_url(const struct sp_config *cfg)
{
    return path_join(cfg->base_url, "spid/acs");
}

char *sp_config_db_path(const struct sp_config *cfg)
{
    return path_join(cfg->data_dir, "spid-sp.db");
}

char *sp_config_slo_url(const struct sp_config *cfg)
{
    return path_join(cfg->base_url, "spid/slo");
}

const struct sp_attr_service *sp_config_attr_service(const struct sp_config *cfg, unsigned index)
{
    for (unsigned i = 0; i < cfg->n_attr_services; i++)
        if (cfg->attr_services[i].index == index)
            return &cfg->attr_services[i];
    return NULL;
}
