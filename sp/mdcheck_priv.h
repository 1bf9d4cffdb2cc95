/*
 * mdcheck_priv: what the mdcheck*.c files share: the state of one run, the
 * element helpers and the reporting shortcut. Not a public header.
 */
#ifndef SP_MDCHECK_PRIV_H
#define SP_MDCHECK_PRIV_H

#include <libxml/tree.h>
#include <stdbool.h>
#include <stddef.h>

#include "sp/mdcheck.h"
#include "sp/report.h"

#define MDC_NS_MD "urn:oasis:names:tc:SAML:2.0:metadata"
#define MDC_NS_DS "http://www.w3.org/2000/09/xmldsig#"
#define MDC_NS_SPID "https://spid.gov.it/saml-extensions"
#define MDC_NS_FPA "https://spid.gov.it/invoicing-extensions"
#define MDC_NS_XML "http://www.w3.org/XML/1998/namespace"

#define MDC_BINDING_POST "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
#define MDC_BINDING_REDIRECT "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
#define MDC_BINDING_SOAP "urn:oasis:names:tc:SAML:2.0:bindings:SOAP"
#define MDC_PROTOCOL "urn:oasis:names:tc:SAML:2.0:protocol"

/* One run over one parsed document. */
struct mdc {
    xmlDoc *doc;
    xmlNode *root; /* the md:EntityDescriptor */
    struct sp_report *r;
    enum sp_md_role role;
    enum sp_md_profile profile;
};

/* ---- Elements (mdcheck.c) ---- */

bool mdc_is(const xmlNode *n, const char *ns, const char *name);
/* First element child of parent named ns:name after prev (NULL: from the start). */
xmlNode *mdc_child(const xmlNode *parent, const char *ns, const char *name, const xmlNode *prev);
unsigned mdc_count(const xmlNode *parent, const char *ns, const char *name);
/* Attribute value (xmlFree it) or NULL; text content trimmed-empty test. */
char *mdc_attr(const xmlNode *n, const char *name);
bool mdc_attr_is(const xmlNode *n, const char *name, const char *value);
/* Text content with surrounding whitespace removed; free() it. */
char *mdc_text(const xmlNode *n);

/* ---- Reporting (mdcheck.c) ---- */

/* Add a finding whose where is the element path of n (NULL: the document). */
void mdc_fail(struct mdc *m, const char *id, enum sp_severity sev, const xmlNode *n,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void mdc_ran(struct mdc *m);

/* ---- URLs (mdcheck.c) ---- */

bool mdc_url_is_http(const char *s); /* http:// or https:// with a host */
bool mdc_url_is_prod(const char *s); /* https:// and no explicit port */

/* ---- Certificates (mdcheck_cert.c) ---- */

/*
 * MD-15 on one base64 certificate (ids prefixed by idp ? "IDP-cert" : "MD-15"):
 * parsable, RSA >= 2048, not SHA-1, not expired (warning near expiry).
 * Returns true when it is usable for signature verification.
 */
bool mdc_cert_check(struct mdc *m, const xmlNode *where, const char *b64, bool idp);
/* Subject field of a base64 certificate by OID text ("2.5.4.10"); free() it; NULL if absent. */
char *mdc_cert_subject(const char *b64, const char *oid);
/* DER bytes of two base64 certificates are equal. */
bool mdc_cert_equal(const char *b64a, const char *b64b);

/* ---- Rule groups ---- */

void mdc_check_signature(struct mdc *m, const xmlNode *descriptor); /* mdcheck_sig.c */
void mdc_check_sp(struct mdc *m);                                   /* mdcheck_sp.c */
void mdc_check_idp(struct mdc *m);                                  /* mdcheck_idp.c */

#endif /* SP_MDCHECK_PRIV_H */
