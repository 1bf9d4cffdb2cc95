/*
 * config: the option table, loading of the INI file (inih) with file:line
 * errors, defaults for every option, and cross-field validation. After
 * startup everyone sees a const struct sp_config; only config.c writes it.
 */
#ifndef SP_CONFIG_H
#define SP_CONFIG_H

#include <stdbool.h>

#include "sp/err.h"

struct sp_buf;

#define SP_MAX_ATTR_SERVICES 8 /* AttributeConsumingService entries */
#define SP_MAX_REQ_ATTRS 24    /* RequestedAttribute per service */

#define SP_MAX_SERVICES 64    /* [service.ID] sections */
#define SP_MAX_SERVICE_TAGS 8 /* profiles / roles per service */

enum sp_binding { SP_BINDING_AUTO, SP_BINDING_REDIRECT, SP_BINDING_POST };
enum sp_org_kind { SP_ORG_PUBLIC, SP_ORG_PRIVATE };

/* One AttributeConsumingService: index -> requested attribute names. */
struct sp_attr_service {
    unsigned index;
    char *name; /* ServiceName (xml:lang="it") */
    char *attrs[SP_MAX_REQ_ATTRS];
    unsigned nattrs;
};

/* Who a service is for (design.md "Authorization"). */
enum sp_audience { SP_AUD_CITIZEN, SP_AUD_INTERMEDIARY, SP_AUD_ENTERPRISE, SP_AUD_PUBLIC_BODY };
/* Credential strength a service needs (domain.md §5.4). */
enum sp_strength { SP_STRENGTH_CONSULTATION, SP_STRENGTH_DISPOSITIVE };

/* One entry of the services catalogue: [service.ID]. */
struct sp_service {
    char *id;     /* [a-z0-9_-], 1-32 characters */
    char *name;   /* shown to people */
    char *path;   /* URL path prefix on the protected site, starts with "/" */
    char *family; /* service family for delegation scopes (default: the id) */
    enum sp_audience audience;
    enum sp_strength strength;
    bool deferrable; /* an application: admitted as deferred with a PIN ordinario */
    char *profiles[SP_MAX_SERVICE_TAGS]; /* "pensioner", "worker:public", ... */
    unsigned n_profiles;
    char *roles[SP_MAX_SERVICE_TAGS]; /* intermediary audience: roles allowed (none: any) */
    unsigned n_roles;
};

struct sp_config {
    char *source; /* file the configuration came from, or "(defaults)" */

    /* [sp] */
    char *entity_id;
    char *base_url; /* public URL of this SP, no trailing slash */
    char *listen;
    unsigned port;
    char *data_dir;
    char *key_file;                /* default <data_dir>/sp-key.pem */
    char *cert_file;               /* default <data_dir>/sp-cert.pem */
    char *idp_metadata;            /* space-separated files and directories */
    unsigned default_level;        /* 1..3 */
    enum sp_binding binding;       /* AUTO = Redirect if the IdP offers it */
    unsigned attr_service_index;   /* default AttributeConsumingServiceIndex */
    unsigned session_idle_sec;     /* idle timeout, default 1800 */
    unsigned session_lifetime_sec; /* absolute lifetime, default 8 h */
    unsigned clock_skew_sec;       /* tolerance for SAML instants */
    unsigned request_ttl_sec;      /* lifetime of a pending AuthnRequest */
    unsigned threads;              /* HTTP worker threads; 0 = one per core */
    char *log_level;
    bool test_hooks;       /* compiled in, off unless set: test-only endpoints */
    char *trusted_proxies; /* space-separated IP addresses whose X-Forwarded-For is believed */

    /* [organization] (Avviso 29 v3; must match the certificate subject) */
    char *org_name;         /* OrganizationName = certificate O */
    char *org_display_name; /* OrganizationDisplayName = certificate CN */
    char *org_url;
    char *org_locality; /* certificate L */
    char *org_country;  /* certificate C, ISO 3166 alpha-2 */

    /* [contact] ContactPerson contactType="other" */
    enum sp_org_kind org_kind;
    char *ipa_code;    /* public SPs */
    char *vat_number;  /* "IT" + 11 digits */
    char *fiscal_code; /* the SP's codice fiscale */
    char *contact_email;
    char *contact_phone;
    char *contact_company;

    /* [billing] ContactPerson contactType="billing" (private SPs) */
    char *billing_vat_country; /* fpa:IdPaese */
    char *billing_vat_code;    /* fpa:IdCodice */
    char *billing_fiscal_code; /* fpa:CodiceFiscale */
    char *billing_name;        /* fpa:Denominazione */
    char *billing_address;     /* fpa:Indirizzo */
    char *billing_number;      /* fpa:NumeroCivico */
    char *billing_cap;         /* fpa:CAP */
    char *billing_city;        /* fpa:Comune */
    char *billing_province;    /* fpa:Provincia */
    char *billing_country;     /* fpa:Nazione */
    char *billing_email;
    char *billing_company;

    /* [attributes.N] sections */
    struct sp_attr_service attr_services[SP_MAX_ATTR_SERVICES];
    unsigned n_attr_services;

    /* [service.ID] sections, in file order; the built-in example catalogue
     * when the file has none (services_builtin set) */
    struct sp_service services[SP_MAX_SERVICES];
    unsigned n_services;
    bool services_builtin;

    /* [pin] the legacy PIN (domain.md §1, §7) */
    bool pin_enabled;
    unsigned pin_activation_days, pin_expiry_citizen_days, pin_expiry_intermediary_days;
    unsigned pin_history, pin_inactivity_days;
    unsigned pin_lock_threshold, pin_lock_base_minutes, pin_lock_step_minutes, pin_lock_max_minutes;
    unsigned pin_scrypt_log2_n;
    char *pin_upload_dir;    /* conversion documents; default <data_dir>/pin-uploads */
    unsigned pin_upload_max; /* bytes per file */

    /* [notify] delivery of PIN halves and notices (outbox.h) */
    char *smtp_url, *smtp_from, *smtp_user, *smtp_password;
    char *sms_url, *sms_token;
    char *postal_spool_dir; /* default <data_dir>/postal-spool */
    unsigned notify_timeout_sec, notify_retry_base_sec, notify_retry_max_sec, notify_max_attempts,
        notify_poll_ms;

    /* [cns] smart-card login (domain.md §3) */
    char *cns_ca_dir;   /* PEM files of the CNS CAs; "" = CNS login disabled */
    char *cns_policies; /* accepted certificatePolicies OIDs */
    bool cns_soft_fail; /* accept when revocation cannot be determined */
    unsigned cns_crl_max_age_hours, cns_timeout_sec;
    unsigned cns_tls_port; /* dedicated TLS listener asking for the card; 0 = none */
    char *cns_tls_cert_file, *cns_tls_key_file; /* default: [sp] cert and key */
    char *cns_proxy_header; /* client certificate from a trusted proxy (URL-escaped PEM) */

    /* [delegation] limits (domain.md §7) */
    unsigned deleg_max_per_delegate; /* CITIZEN_IDENTITY delegations per delegate */
    unsigned deleg_online_min_days;  /* online registrations irrevocable online this long */
    unsigned deleg_evidence_years;   /* evidence kept validity + this many years */

    /* [registry] the SPID IdP registry's signed aggregate (registry.h) */
    char *registry_url;       /* "" = registry disabled; https (http only to loopback) */
    char *registry_cert_file; /* pinned signing certificate(s) / public key(s), PEM */
    char *registry_ca_file;   /* CA bundle for TLS to the registry; "" = system default */
    char *registry_name;      /* expected EntitiesDescriptor/@Name; "" = any */
    unsigned registry_refresh_sec, registry_timeout_sec, registry_cert_warn_days;
    bool registry_require_valid_until;
};

/*
 * Load path (NULL: embedded defaults only) into a new config, then validate.
 * On failure *out is untouched and err holds "file:line: message" (line 0 for
 * errors that are not tied to a line). IMPORTANT: all or nothing.
 */
enum sp_err sp_config_load(const char *path, struct sp_config **out, struct sp_buf *err);

/* Free a config and set *cfg to NULL. Accepts NULL. */
void sp_config_free(struct sp_config **cfg);

/* ACS URL, SLO URL and metadata URL derived from base_url; free() them. */
char *sp_config_acs_url(const struct sp_config *cfg);
char *sp_config_slo_url(const struct sp_config *cfg);

/* <data_dir>/spid-sp.db, the SQLite database; free() it. */
char *sp_config_db_path(const struct sp_config *cfg);

/* The service with that index, or NULL. */
const struct sp_attr_service *sp_config_attr_service(const struct sp_config *cfg, unsigned index);

const char *sp_audience_name(enum sp_audience a);
const char *sp_strength_name(enum sp_strength s);

/* True when a SPID attribute name is in the table of spec §5. */
bool sp_config_is_spid_attribute(const char *name);

#endif /* SP_CONFIG_H */
