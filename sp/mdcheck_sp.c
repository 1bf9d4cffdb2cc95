/*
 * mdcheck_sp: the MD- rules of spec §1 for an SP metadata document that can
 * be checked on the document alone: entity attributes and child order
 * (§1.1), the SPSSODescriptor and its endpoints (§1.3-§1.8), Organization
 * (§1.9), the ContactPersons with the spid:/fpa: extensions and the public,
 * private and aggregator profiles (§1.10). MD-06 (where the document is
 * published) and MD-64 (pertinence of the attributes) need a human or the
 * network and are not checked. Production-only rules (https, no port) are
 * warnings, since test metadata uses http.
 */
#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "sp/config.h"
#include "mdcheck_priv.h"

#define MDC_TRANSIENT "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
#define MDC_FMT_BASIC "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
#define MDC_FMT_URI "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
#define MDC_OID_O "2.5.4.10"
#define MDC_OID_CN "2.5.4.3"
#define MDC_OID_URI "2.5.4.83"
#define MDC_MAX_ITEMS 64 /* distinct indexes/languages/names we track per element */

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* One step of an expected child sequence: ns:name between min and max times. */
struct mdc_step {
    const char *ns, *name;
    unsigned min, max;
};

static bool mdc_step_is(const struct mdc_step *s, const xmlNode *n)
{
    return mdc_is(n, s->ns, s->name);
}

/* Check the element children of parent against steps; report the first problem only. */
static void mdc_order(struct mdc *m, const char *id, const xmlNode *parent,
                      const struct mdc_step *steps, size_t nsteps)
{
    size_t i = 0;
    unsigned seen = 0;

    mdc_ran(m);
    for (xmlNode *c = parent->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        while (i < nsteps && !mdc_step_is(&steps[i], c)) {
            if (seen < steps[i].min) {
                mdc_fail(m, id, SP_SEV_ERROR, c, "<%s:%s> is missing before <%s>",
                         strcmp(steps[i].ns, MDC_NS_DS) == 0 ? "ds" : "md", steps[i].name,
                         (const char *)c->name);
                return;
            }
            i++;
            seen = 0;
        }
        if (i == nsteps) {
            mdc_fail(m, id, SP_SEV_ERROR, c, "<%s> is not allowed here (wrong order or unknown)",
                     (const char *)c->name);
            return;
        }
        if (++seen > steps[i].max) {
            mdc_fail(m, id, SP_SEV_ERROR, c, "too many <%s> (at most %u)", (const char *)c->name,
                     steps[i].max);
            return;
        }
    }
    for (; i < nsteps; i++, seen = 0)
        if (seen < steps[i].min) {
            mdc_fail(m, id, SP_SEV_ERROR, parent, "<%s> is missing", steps[i].name);
            return;
        }
}

static bool mdc_match(const char *re, const char *s)
{
    regex_t r;
    bool ok;

    if (s == NULL || regcomp(&r, re, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    ok = regexec(&r, s, 0, NULL, 0) == 0;
    regfree(&r);
    return ok;
}

/* xs:unsignedInt / unsignedShort as text: digits only, at most max. */
static bool mdc_uint(const char *s, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;

    if (s == NULL || *s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        if (!isdigit((unsigned char)*s))
            return false;
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > max)
            return false;
    }
    *out = v;
    return true;
}

/* xml:lang on the element itself (xmlFree it), or NULL. */
static char *mdc_lang(const xmlNode *n)
{
    return (char *)xmlGetNsProp(n, BAD_CAST "lang", BAD_CAST MDC_NS_XML);
}

/* Text of the first child ns:name of parent with xml:lang="it" (free it), or NULL. */
static char *mdc_text_it(const xmlNode *parent, const char *name)
{
    for (xmlNode *c = mdc_child(parent, MDC_NS_MD, name, NULL); c != NULL;
         c = mdc_child(parent, MDC_NS_MD, name, c)) {
        char *lang = mdc_lang(c);
        bool it = lang != NULL && strcmp(lang, "it") == 0;
        xmlFree(lang);
        if (it)
            return mdc_text(c);
    }
    return NULL;
}

/* The first signing certificate of the SPSSODescriptor (free it), or NULL. */
static char *mdc_sp_cert(const xmlNode *sso)
{
    for (xmlNode *kd = mdc_child(sso, MDC_NS_MD, "KeyDescriptor", NULL); kd != NULL;
         kd = mdc_child(sso, MDC_NS_MD, "KeyDescriptor", kd)) {
        xmlNode *xc;
        if (!mdc_attr_is(kd, "use", "signing"))
            continue;
        xc = mdc_child(
            mdc_child(mdc_child(kd, MDC_NS_DS, "KeyInfo", NULL), MDC_NS_DS, "X509Data", NULL),
            MDC_NS_DS, "X509Certificate", NULL);
        if (xc != NULL)
            return mdc_text(xc);
    }
    return NULL;
}

/* A Location-like attribute: present, a URL, https without a port in production. */
static void mdc_endpoint_url(struct mdc *m, const char *id, const char *prod_id, const xmlNode *n,
                             const char *attr, bool required)
{
    char *v = mdc_attr(n, attr);

    if (v == NULL && !required)
        return;
    if (v == NULL || !mdc_url_is_http(v))
        mdc_fail(m, id, SP_SEV_ERROR, n, "%s \"%s\" is not an http(s) URL", attr,
                 v ? v : "(missing)");
    else if (!mdc_url_is_prod(v))
        mdc_fail(m, prod_id, SP_SEV_WARNING, n,
                 "%s \"%s\" is not https:// without a port (required in production)", attr, v);
    xmlFree(v);
}

/* ------------------------------------------------------------------------ */
/* §1.1 Document shape                                                      */
/* ------------------------------------------------------------------------ */

static void mdc_sp_entity(struct mdc *m, const char *cert)
{
    static const struct mdc_step order[] = {
        {MDC_NS_DS, "Signature", 0, 1},       {MDC_NS_MD, "Extensions", 0, 1},
        {MDC_NS_MD, "SPSSODescriptor", 1, 1}, {MDC_NS_MD, "Organization", 1, 1},
        {MDC_NS_MD, "ContactPerson", 1, 2},
    };
    char *eid = mdc_attr(m->root, "entityID");
    char *id = mdc_attr(m->root, "ID");

    mdc_ran(m);
    if (eid == NULL || eid[0] == '\0')
        mdc_fail(m, "MD-02", SP_SEV_ERROR, m->root, "entityID is missing or empty");
    mdc_ran(m);
    if (eid != NULL && eid[0] != '\0' && !mdc_url_is_prod(eid))
        mdc_fail(m, "MD-02-https", SP_SEV_WARNING, m->root,
                 "entityID \"%s\" is not https:// without a port (required in production)", eid);
    mdc_ran(m);
    if (eid != NULL && cert != NULL) {
        char *uri = mdc_cert_subject(cert, MDC_OID_URI);
        if (uri == NULL || strcmp(uri, eid) != 0)
            mdc_fail(m, "MD-02-cert", SP_SEV_ERROR, m->root,
                     "entityID \"%s\" differs from the certificate subject uri \"%s\"", eid,
                     uri ? uri : "(absent)");
        free(uri);
    }
    mdc_ran(m);
    if (id == NULL || !mdc_match("^[A-Za-z_][A-Za-z0-9_.-]*$", id))
        mdc_fail(m, "MD-03", SP_SEV_ERROR, m->root,
                 "the ID attribute is %s; an xs:ID (letter or '_' first) is needed for the "
                 "signature reference",
                 id ? "not an NCName" : "missing");
    mdc_order(m, "MD-04", m->root, order, sizeof(order) / sizeof(order[0]));
    xmlFree(eid);
    xmlFree(id);
}

/* ------------------------------------------------------------------------ */
/* §1.3-§1.6 SPSSODescriptor, KeyDescriptor, SingleLogoutService, NameID    */
/* ------------------------------------------------------------------------ */

static void mdc_sp_descriptor(struct mdc *m, const xmlNode *sso)
{
    static const struct mdc_step order[] = {
        {MDC_NS_MD, "Extensions", 0, 1},
        {MDC_NS_MD, "KeyDescriptor", 0, 1000},
        {MDC_NS_MD, "SingleLogoutService", 0, 1000},
        {MDC_NS_MD, "NameIDFormat", 0, 1000},
        {MDC_NS_MD, "AssertionConsumerService", 1, 1000},
        {MDC_NS_MD, "AttributeConsumingService", 0, 1000},
    };
    unsigned nsign = 0;
    xmlNode *slo;

    mdc_ran(m);
    if (!mdc_attr_is(sso, "protocolSupportEnumeration", MDC_PROTOCOL))
        mdc_fail(m, "MD-21", SP_SEV_ERROR, sso, "protocolSupportEnumeration must be exactly \"%s\"",
                 MDC_PROTOCOL);
    mdc_ran(m);
    if (!mdc_attr_is(sso, "AuthnRequestsSigned", "true"))
        mdc_fail(m, "MD-22", SP_SEV_ERROR, sso, "AuthnRequestsSigned must be \"true\"");
    mdc_ran(m);
    if (!mdc_attr_is(sso, "WantAssertionsSigned", "true"))
        mdc_fail(m, "MD-23", SP_SEV_ERROR, sso, "WantAssertionsSigned must be \"true\"");
    mdc_order(m, "MD-24", sso, order, sizeof(order) / sizeof(order[0]));

    /* MD-30, MD-31, MD-15 on each KeyDescriptor certificate */
    mdc_ran(m);
    mdc_ran(m);
    for (xmlNode *kd = mdc_child(sso, MDC_NS_MD, "KeyDescriptor", NULL); kd != NULL;
         kd = mdc_child(sso, MDC_NS_MD, "KeyDescriptor", kd)) {
        xmlNode *xc = mdc_child(
            mdc_child(mdc_child(kd, MDC_NS_DS, "KeyInfo", NULL), MDC_NS_DS, "X509Data", NULL),
            MDC_NS_DS, "X509Certificate", NULL);
        char *use = mdc_attr(kd, "use");
        char *text = xc ? mdc_text(xc) : NULL;
        bool has = text != NULL && text[0] != '\0';
        bool signing = use != NULL && strcmp(use, "signing") == 0;

        if (signing && has)
            nsign++;
        else if (signing)
            mdc_fail(
                m, "MD-30", SP_SEV_ERROR, kd,
                "KeyDescriptor use=\"signing\" has no ds:KeyInfo/ds:X509Data/ds:X509Certificate");
        else if (!has)
            mdc_fail(m, "MD-31", SP_SEV_ERROR, kd,
                     "KeyDescriptor use=\"%s\" has no ds:X509Certificate", use ? use : "");
        if (has)
            mdc_cert_check(m, xc, text, false);
        free(text);
        xmlFree(use);
    }
    if (nsign == 0)
        mdc_fail(m, "MD-30", SP_SEV_ERROR, sso,
                 "no KeyDescriptor use=\"signing\" with a certificate");

    /* §1.5 SingleLogoutService */
    mdc_ran(m);
    if (mdc_count(sso, MDC_NS_MD, "SingleLogoutService") == 0)
        mdc_fail(m, "MD-40", SP_SEV_ERROR, sso, "no md:SingleLogoutService");
    mdc_ran(m);
    mdc_ran(m);
    mdc_ran(m);
    for (slo = mdc_child(sso, MDC_NS_MD, "SingleLogoutService", NULL); slo != NULL;
         slo = mdc_child(sso, MDC_NS_MD, "SingleLogoutService", slo)) {
        char *b = mdc_attr(slo, "Binding");
        if (b == NULL || (strcmp(b, MDC_BINDING_POST) != 0 &&
                          strcmp(b, MDC_BINDING_REDIRECT) != 0 && strcmp(b, MDC_BINDING_SOAP) != 0))
            mdc_fail(m, "MD-41-binding", SP_SEV_ERROR, slo,
                     "Binding \"%s\" is not HTTP-POST, HTTP-Redirect or SOAP", b ? b : "(missing)");
        xmlFree(b);
        mdc_endpoint_url(m, "MD-41-location", "MD-41-https", slo, "Location", true);
        mdc_endpoint_url(m, "MD-41-location", "MD-41-https", slo, "ResponseLocation", false);
    }
    mdc_ran(m);
    slo = mdc_child(sso, MDC_NS_MD, "SingleLogoutService", NULL);
    if (slo != NULL && !mdc_attr_is(slo, "Binding", MDC_BINDING_REDIRECT))
        mdc_fail(m, "MD-42", SP_SEV_WARNING, slo,
                 "the first SingleLogoutService should use HTTP-Redirect (the SPID Validator "
                 "answers there)");

    /* §1.6 NameIDFormat */
    mdc_ran(m);
    for (xmlNode *f = mdc_child(sso, MDC_NS_MD, "NameIDFormat", NULL); f != NULL;
         f = mdc_child(sso, MDC_NS_MD, "NameIDFormat", f)) {
        char *t = mdc_text(f);
        if (strcmp(t, MDC_TRANSIENT) != 0)
            mdc_fail(m, "MD-45", SP_SEV_ERROR, f, "NameIDFormat \"%s\" is not transient", t);
        free(t);
    }
}

/* ------------------------------------------------------------------------ */
/* §1.7 AssertionConsumerService, §1.8 AttributeConsumingService            */
/* ------------------------------------------------------------------------ */

static void mdc_sp_acs(struct mdc *m, const xmlNode *sso)
{
    unsigned long seen[MDC_MAX_ITEMS];
    size_t nseen = 0;
    unsigned ndefault = 0;
    xmlNode *def = NULL;

    mdc_ran(m); /* MD-50 */
    mdc_ran(m); /* MD-50-index */
    mdc_ran(m); /* MD-51 */
    mdc_ran(m); /* MD-53 */
    if (mdc_child(sso, MDC_NS_MD, "AssertionConsumerService", NULL) == NULL)
        mdc_fail(m, "MD-50", SP_SEV_ERROR, sso, "no md:AssertionConsumerService");
    for (xmlNode *a = mdc_child(sso, MDC_NS_MD, "AssertionConsumerService", NULL); a != NULL;
         a = mdc_child(sso, MDC_NS_MD, "AssertionConsumerService", a)) {
        char *idx = mdc_attr(a, "index");
        char *b = mdc_attr(a, "Binding");
        char *isdef = mdc_attr(a, "isDefault");
        unsigned long v = 0;

        if (idx == NULL || b == NULL)
            mdc_fail(m, "MD-50", SP_SEV_ERROR, a, "AssertionConsumerService without %s",
                     idx == NULL ? "index" : "Binding");
        mdc_endpoint_url(m, "MD-50", "MD-53", a, "Location", true);
        if (idx != NULL && !mdc_uint(idx, 4294967295ul, &v)) {
            mdc_fail(m, "MD-50-index", SP_SEV_ERROR, a, "index \"%s\" is not an unsigned integer",
                     idx);
        } else if (idx != NULL) {
            for (size_t i = 0; i < nseen; i++)
                if (seen[i] == v)
                    mdc_fail(m, "MD-50-index", SP_SEV_ERROR, a, "index %lu is used twice", v);
            if (nseen < MDC_MAX_ITEMS)
                seen[nseen++] = v;
        }
        if (b != NULL && strcmp(b, MDC_BINDING_POST) != 0)
            mdc_fail(m, "MD-51", SP_SEV_ERROR, a, "Binding \"%s\" is not HTTP-POST", b);
        if (isdef != NULL && (strcmp(isdef, "true") == 0 || strcmp(isdef, "1") == 0)) {
            ndefault++;
            if (def == NULL)
                def = a;
        }
        xmlFree(idx);
        xmlFree(b);
        xmlFree(isdef);
    }
    mdc_ran(m);
    if (ndefault != 1)
        mdc_fail(m, "MD-52", SP_SEV_ERROR, sso,
                 "%u AssertionConsumerService have isDefault=\"true\"; exactly 1 is required",
                 ndefault);
    mdc_ran(m);
    if (def != NULL && !mdc_attr_is(def, "index", "0"))
        mdc_fail(m, "MD-52-index0", SP_SEV_ERROR, def,
                 "the default AssertionConsumerService must have index=\"0\"");
}

static void mdc_sp_attr_service(struct mdc *m, const xmlNode *svc)
{
    const char *names[MDC_MAX_ITEMS];
    size_t nnames = 0;
    unsigned nsn = 0;
    char *created[MDC_MAX_ITEMS];

    for (xmlNode *sn = mdc_child(svc, MDC_NS_MD, "ServiceName", NULL); sn != NULL;
         sn = mdc_child(svc, MDC_NS_MD, "ServiceName", sn)) {
        char *lang = mdc_lang(sn);
        char *t = mdc_text(sn);
        nsn++;
        if (lang == NULL || lang[0] == '\0' || t[0] == '\0')
            mdc_fail(m, "MD-61", SP_SEV_ERROR, sn, "ServiceName %s",
                     t[0] == '\0' ? "is empty" : "has no xml:lang");
        xmlFree(lang);
        free(t);
    }
    if (nsn == 0)
        mdc_fail(m, "MD-61", SP_SEV_ERROR, svc, "no md:ServiceName");
    if (mdc_child(svc, MDC_NS_MD, "RequestedAttribute", NULL) == NULL)
        mdc_fail(m, "MD-62", SP_SEV_ERROR, svc, "no md:RequestedAttribute");
    for (xmlNode *ra = mdc_child(svc, MDC_NS_MD, "RequestedAttribute", NULL); ra != NULL;
         ra = mdc_child(svc, MDC_NS_MD, "RequestedAttribute", ra)) {
        char *name = mdc_attr(ra, "Name");
        char *fmt = mdc_attr(ra, "NameFormat");
        if (name == NULL || name[0] == '\0') {
            mdc_fail(m, "MD-62", SP_SEV_ERROR, ra, "RequestedAttribute without Name");
        } else {
            if (!sp_config_is_spid_attribute(name))
                mdc_fail(m, "MD-62-name", SP_SEV_ERROR, ra, "\"%s\" is not a SPID attribute name",
                         name);
            for (size_t i = 0; i < nnames; i++)
                if (strcmp(names[i], name) == 0)
                    mdc_fail(m, "MD-62-dup", SP_SEV_ERROR, ra,
                             "\"%s\" is requested twice in this service", name);
            if (nnames < MDC_MAX_ITEMS) {
                created[nnames] = name;
                names[nnames++] = name;
                name = NULL;
            }
        }
        if (fmt != NULL && strcmp(fmt, MDC_FMT_BASIC) != 0 && strcmp(fmt, MDC_FMT_URI) != 0)
            mdc_fail(m, "MD-63", SP_SEV_ERROR, ra, "NameFormat \"%s\" is not basic or uri", fmt);
        xmlFree(name);
        xmlFree(fmt);
    }
    for (size_t i = 0; i < nnames; i++)
        xmlFree(created[i]);
}

static void mdc_sp_attrs(struct mdc *m, const xmlNode *sso)
{
    unsigned long seen[MDC_MAX_ITEMS];
    size_t nseen = 0;

    for (int i = 0; i < 7; i++)
        mdc_ran(m); /* MD-60, MD-61, MD-62, MD-62-name, MD-62-dup, MD-63, MD-65 */
    if (mdc_child(sso, MDC_NS_MD, "AttributeConsumingService", NULL) == NULL)
        mdc_fail(m, "MD-60", SP_SEV_ERROR, sso, "no md:AttributeConsumingService");
    for (xmlNode *s = mdc_child(sso, MDC_NS_MD, "AttributeConsumingService", NULL); s != NULL;
         s = mdc_child(sso, MDC_NS_MD, "AttributeConsumingService", s)) {
        char *idx = mdc_attr(s, "index");
        unsigned long v = 0;
        if (!mdc_uint(idx, 65535, &v)) {
            mdc_fail(m, "MD-60", SP_SEV_ERROR, s, "index \"%s\" is not an unsignedShort",
                     idx ? idx : "(missing)");
        } else {
            for (size_t i = 0; i < nseen; i++)
                if (seen[i] == v)
                    mdc_fail(m, "MD-60", SP_SEV_ERROR, s, "index %lu is used twice", v);
            if (nseen < MDC_MAX_ITEMS)
                seen[nseen++] = v;
            if (v == 77 || v == 99 || v == 100)
                mdc_fail(m, "MD-65", SP_SEV_WARNING, s,
                         "index %lu is reserved (eIDAS / signature service); avoid it for "
                         "ordinary services",
                         v);
        }
        xmlFree(idx);
        mdc_sp_attr_service(m, s);
    }
}

/* ------------------------------------------------------------------------ */
/* §1.9 Organization                                                        */
/* ------------------------------------------------------------------------ */

static void mdc_sp_org(struct mdc *m, const char *cert)
{
    static const char *const elems[] = {"OrganizationName", "OrganizationDisplayName",
                                        "OrganizationURL"};
    xmlNode *org = mdc_child(m->root, MDC_NS_MD, "Organization", NULL);
    char *langs[MDC_MAX_ITEMS];
    size_t nlangs = 0;

    mdc_ran(m);
    if (mdc_count(m->root, MDC_NS_MD, "Organization") != 1)
        mdc_fail(m, "MD-70", SP_SEV_ERROR, org ? org : m->root,
                 "%u md:Organization; exactly 1 is required",
                 mdc_count(m->root, MDC_NS_MD, "Organization"));
    if (org == NULL)
        return;
    for (int i = 0; i < 7; i++)
        mdc_ran(m); /* MD-71-missing/-lang/-empty, MD-72-it/-count, MD-73-url, MD-73-o/-cn */
    for (size_t e = 0; e < 3; e++) {
        bool it = false;
        if (mdc_child(org, MDC_NS_MD, elems[e], NULL) == NULL)
            mdc_fail(m, "MD-71-missing", SP_SEV_ERROR, org, "no md:%s", elems[e]);
        for (xmlNode *c = mdc_child(org, MDC_NS_MD, elems[e], NULL); c != NULL;
             c = mdc_child(org, MDC_NS_MD, elems[e], c)) {
            char *lang = mdc_lang(c);
            char *t = mdc_text(c);
            bool known = false;
            if (lang == NULL || lang[0] == '\0')
                mdc_fail(m, "MD-71-lang", SP_SEV_ERROR, c, "md:%s has no xml:lang", elems[e]);
            if (t[0] == '\0')
                mdc_fail(m, "MD-71-empty", SP_SEV_ERROR, c, "md:%s is empty", elems[e]);
            if (e == 2 && t[0] != '\0' && !mdc_url_is_http(t))
                mdc_fail(m, "MD-73-url", SP_SEV_ERROR, c, "OrganizationURL \"%s\" is not a URL", t);
            if (lang != NULL && strcmp(lang, "it") == 0)
                it = true;
            for (size_t k = 0; lang != NULL && k < nlangs; k++)
                known = known || strcmp(langs[k], lang) == 0;
            if (lang != NULL && !known && nlangs < MDC_MAX_ITEMS)
                langs[nlangs++] = lang;
            else
                xmlFree(lang);
            free(t);
        }
        if (!it && mdc_child(org, MDC_NS_MD, elems[e], NULL) != NULL)
            mdc_fail(m, "MD-72-it", SP_SEV_ERROR, org, "md:%s has no xml:lang=\"it\" occurrence",
                     elems[e]);
    }
    /* MD-72: each language once on each of the three elements */
    for (size_t k = 0; k < nlangs; k++) {
        for (size_t e = 0; e < 3; e++) {
            unsigned n = 0;
            for (xmlNode *c = mdc_child(org, MDC_NS_MD, elems[e], NULL); c != NULL;
                 c = mdc_child(org, MDC_NS_MD, elems[e], c)) {
                char *lang = mdc_lang(c);
                n += lang != NULL && strcmp(lang, langs[k]) == 0;
                xmlFree(lang);
            }
            if (n != 1)
                mdc_fail(m, "MD-72-count", SP_SEV_ERROR, org,
                         "language \"%s\" appears %u times on md:%s; once on each of the three "
                         "elements is required",
                         langs[k], n, elems[e]);
        }
        xmlFree(langs[k]);
    }
    /* MD-73: names equal to the certificate subject O and CN */
    if (cert != NULL) {
        static const struct {
            const char *elem, *oid, *id, *field;
        } pairs[] = {{"OrganizationName", MDC_OID_O, "MD-73-o", "organizationName (O)"},
                     {"OrganizationDisplayName", MDC_OID_CN, "MD-73-cn", "commonName (CN)"}};
        for (size_t i = 0; i < 2; i++) {
            char *want = mdc_cert_subject(cert, pairs[i].oid);
            char *got = mdc_text_it(org, pairs[i].elem);
            if (got != NULL && (want == NULL || strcmp(want, got) != 0))
                mdc_fail(m, pairs[i].id, SP_SEV_ERROR,
                         mdc_child(org, MDC_NS_MD, pairs[i].elem, NULL),
                         "%s \"%s\" differs from the certificate %s \"%s\"", pairs[i].elem, got,
                         pairs[i].field, want ? want : "(absent)");
            free(want);
            free(got);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* §1.10 ContactPerson and profiles                                         */
/* ------------------------------------------------------------------------ */

static void mdc_sp_contact_common(struct mdc *m, const xmlNode *cp, const char *org_name,
                                  bool other)
{
    static const struct mdc_step order[] = {
        {MDC_NS_MD, "Extensions", 1, 1},
        {MDC_NS_MD, "Company", 0, 1},
        {MDC_NS_MD, "EmailAddress", 1, 1},
        {MDC_NS_MD, "TelephoneNumber", 0, 1},
    };
    xmlNode *company = mdc_child(cp, MDC_NS_MD, "Company", NULL);
    xmlNode *mail = mdc_child(cp, MDC_NS_MD, "EmailAddress", NULL);
    xmlNode *tel = mdc_child(cp, MDC_NS_MD, "TelephoneNumber", NULL);

    mdc_order(m, "CP-order", cp, order, sizeof(order) / sizeof(order[0]));
    mdc_ran(m);
    if (other && company != NULL) {
        char *t = mdc_text(company);
        if (t[0] == '\0' || (org_name != NULL && strcmp(t, org_name) != 0))
            mdc_fail(m, "MD-82", SP_SEV_ERROR, company,
                     "Company \"%s\" must be non-empty and equal to OrganizationName \"%s\"", t,
                     org_name ? org_name : "");
        free(t);
    }
    mdc_ran(m);
    if (mail == NULL) {
        mdc_fail(m, "MD-83", SP_SEV_ERROR, cp, "no md:EmailAddress");
    } else {
        char *t = mdc_text(mail);
        const char *addr = strncmp(t, "mailto:", 7) == 0 ? t + 7 : t;
        if (!mdc_match("^[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+\\.[A-Za-z0-9_]{2,8}$", addr))
            mdc_fail(m, "MD-83", SP_SEV_ERROR, mail, "EmailAddress \"%s\" is not a valid address",
                     t);
        free(t);
    }
    mdc_ran(m);
    mdc_ran(m);
    if (tel != NULL) {
        char *t = mdc_text(tel);
        if (strpbrk(t, " \t") != NULL || t[0] == '\0')
            mdc_fail(m, "MD-84-spaces", SP_SEV_ERROR, tel,
                     "TelephoneNumber \"%s\" must be non-empty with no spaces", t);
        if (strncmp(t, "+39", 3) != 0)
            mdc_fail(m, "MD-84-39", SP_SEV_WARNING, tel,
                     "TelephoneNumber \"%s\" should start with +39", t);
        free(t);
    }
}

/* MD-81: spid:IPACode?, spid:VATNumber?, spid:FiscalCode?, then one Public|Private. */
static void mdc_sp_spid_ext(struct mdc *m, const xmlNode *cp, const xmlNode *ext)
{
    static const char *const ranked[] = {"IPACode", "VATNumber", "FiscalCode"};
    unsigned npub = mdc_count(ext, MDC_NS_SPID, "Public");
    unsigned npriv = mdc_count(ext, MDC_NS_SPID, "Private");
    int last = -1;

    mdc_ran(m);
    if (mdc_count(cp, MDC_NS_MD, "Extensions") != 1) {
        mdc_fail(m, "MD-81", SP_SEV_ERROR, cp,
                 "the \"other\" ContactPerson needs exactly one md:Extensions");
        return;
    }
    if (npub + npriv != 1)
        mdc_fail(m, "MD-81", SP_SEV_ERROR, ext,
                 "md:Extensions needs exactly one of spid:Public and spid:Private (found %u)",
                 npub + npriv);
    for (xmlNode *c = ext->children; c != NULL; c = c->next) {
        int rank = -1;
        if (c->type != XML_ELEMENT_NODE || c->ns == NULL ||
            !xmlStrEqual(c->ns->href, BAD_CAST MDC_NS_SPID))
            continue;
        for (int i = 0; i < 3; i++)
            if (xmlStrEqual(c->name, BAD_CAST ranked[i]))
                rank = i;
        if (xmlStrEqual(c->name, BAD_CAST "Public") || xmlStrEqual(c->name, BAD_CAST "Private"))
            rank = 3;
        if (rank < 0)
            continue;
        if (rank < last || (rank == last && rank < 3)) {
            mdc_fail(m, "MD-81", SP_SEV_ERROR, c,
                     "spid:%s out of order or repeated (IPACode, VATNumber, FiscalCode, then "
                     "Public or Private)",
                     (const char *)c->name);
            break;
        }
        last = rank;
    }
}

static void mdc_sp_public(struct mdc *m, const xmlNode *ext)
{
    xmlNode *ipa = mdc_child(ext, MDC_NS_SPID, "IPACode", NULL);
    char *t = ipa ? mdc_text(ipa) : NULL;

    mdc_ran(m);
    if (t == NULL || t[0] == '\0')
        mdc_fail(m, "MD-85", SP_SEV_ERROR, ipa ? ipa : ext,
                 "a public SP needs a non-empty spid:IPACode");
    free(t);
    mdc_ran(m);
    if (mdc_child(ext, MDC_NS_SPID, "Private", NULL) != NULL)
        mdc_fail(m, "MD-86", SP_SEV_ERROR, mdc_child(ext, MDC_NS_SPID, "Private", NULL),
                 "spid:Private in the metadata of a public SP");
}

static void mdc_sp_private(struct mdc *m, const xmlNode *ext)
{
    xmlNode *vat = mdc_child(ext, MDC_NS_SPID, "VATNumber", NULL);
    xmlNode *cf = mdc_child(ext, MDC_NS_SPID, "FiscalCode", NULL);

    mdc_ran(m);
    if (mdc_child(ext, MDC_NS_SPID, "IPACode", NULL) != NULL)
        mdc_fail(m, "MD-87", SP_SEV_ERROR, mdc_child(ext, MDC_NS_SPID, "IPACode", NULL),
                 "spid:IPACode in the metadata of a private SP");
    mdc_ran(m);
    if (vat != NULL) {
        char *t = mdc_text(vat);
        if (!mdc_match("^[A-Z]{2}[A-Za-z0-9]+$", t))
            mdc_fail(m, "MD-88-vat", SP_SEV_ERROR, vat,
                     "VATNumber \"%s\" must be an ISO 3166 country code then the number, no "
                     "spaces (IT12345678901)",
                     t);
        free(t);
    }
    mdc_ran(m);
    if (vat == NULL && cf == NULL)
        mdc_fail(m, "MD-88-cf", SP_SEV_ERROR, ext,
                 "a private SP without spid:VATNumber needs spid:FiscalCode");
    mdc_ran(m);
    if (mdc_count(ext, MDC_NS_SPID, "VATNumber") > 1 ||
        mdc_count(ext, MDC_NS_SPID, "FiscalCode") > 1)
        mdc_fail(m, "MD-88-dup", SP_SEV_ERROR, ext,
                 "at most one spid:VATNumber and one spid:FiscalCode");
}

static void mdc_sp_billing(struct mdc *m, const xmlNode *billing, unsigned nbilling)
{
    xmlNode *ext = mdc_child(billing, MDC_NS_MD, "Extensions", NULL);

    mdc_ran(m);
    if (nbilling != 1) {
        mdc_fail(m, "MD-89", SP_SEV_ERROR, billing ? billing : m->root,
                 "a private SP needs exactly one ContactPerson contactType=\"billing\" (found %u)",
                 nbilling);
        return;
    }
    mdc_ran(m);
    if (mdc_count(ext, MDC_NS_FPA, "CessionarioCommittente") != 1)
        mdc_fail(m, "MD-89-fpa", SP_SEV_ERROR, ext ? ext : billing,
                 "the billing contact needs md:Extensions with exactly one "
                 "fpa:CessionarioCommittente");
}

static void mdc_sp_aggregator(struct mdc *m)
{
    static const char *const codes[] = {"pub-ag-full", "pub-ag-lite", "pri-ag-full",
                                        "pri-ag-lite", "pub-op-full", "pub-op-lite"};
    char *eid = mdc_attr(m->root, "entityID");
    bool found = false;

    mdc_ran(m);
    for (size_t i = 0; eid != NULL && i < sizeof(codes) / sizeof(codes[0]); i++)
        found = found || strstr(eid, codes[i]) != NULL;
    if (!found)
        mdc_fail(m, "MD-90-entityid", SP_SEV_ERROR, m->root,
                 "an aggregator entityID must contain pub-ag-full, pub-ag-lite, pri-ag-full, "
                 "pri-ag-lite, pub-op-full or pub-op-lite");
    mdc_ran(m);
    if (eid != NULL && strchr(eid, '?') != NULL)
        mdc_fail(m, "MD-90-query", SP_SEV_ERROR, m->root,
                 "an aggregator entityID must not have a query string");
    xmlFree(eid);
}

/* MD-90: with --profile ag the document must carry an aggregator profile element. */
static void mdc_sp_ag_profile(struct mdc *m, const xmlNode *ext)
{
    static const char *const ag[] = {"PublicServicesFullAggregator",
                                     "PublicServicesLightAggregator",
                                     "PrivateServicesFullAggregator",
                                     "PrivateServicesLightAggregator",
                                     "PublicServicesFullOperator",
                                     "PublicServicesLightOperator",
                                     "PublicOperator"};
    bool found = false;

    mdc_ran(m);
    for (size_t i = 0; i < sizeof(ag) / sizeof(ag[0]); i++)
        found = found || mdc_child(ext, MDC_NS_SPID, ag[i], NULL) != NULL;
    if (!found)
        mdc_fail(m, "MD-90-profile", SP_SEV_ERROR, ext,
                 "no aggregator/operator profile element (spid:PublicServicesFullAggregator, ...)");
}

static void mdc_sp_contacts(struct mdc *m)
{
    xmlNode *org = mdc_child(m->root, MDC_NS_MD, "Organization", NULL);
    char *org_name = mdc_text_it(org, "OrganizationName");
    xmlNode *other = NULL, *billing = NULL, *ext = NULL;
    unsigned nother = 0, nbilling = 0;

    mdc_ran(m); /* MD-80-type */
    for (xmlNode *cp = mdc_child(m->root, MDC_NS_MD, "ContactPerson", NULL); cp != NULL;
         cp = mdc_child(m->root, MDC_NS_MD, "ContactPerson", cp)) {
        char *type = mdc_attr(cp, "contactType");
        bool is_other = type != NULL && strcmp(type, "other") == 0;
        if (is_other) {
            nother++;
            other = other ? other : cp;
        } else if (type != NULL && strcmp(type, "billing") == 0) {
            nbilling++;
            billing = billing ? billing : cp;
        } else {
            mdc_fail(m, "MD-80-type", SP_SEV_ERROR, cp,
                     "contactType \"%s\" is not allowed (only \"other\" and \"billing\")",
                     type ? type : "(missing)");
        }
        xmlFree(type);
        mdc_sp_contact_common(m, cp, org_name, is_other);
    }
    mdc_ran(m);
    if (nother != 1)
        mdc_fail(m, "MD-80", SP_SEV_ERROR, other ? other : m->root,
                 "%u ContactPerson contactType=\"other\"; exactly 1 is required", nother);
    if (other != NULL) {
        ext = mdc_child(other, MDC_NS_MD, "Extensions", NULL);
        mdc_sp_spid_ext(m, other, ext);
    }
    if (ext != NULL) {
        if (m->profile == SP_MD_PROFILE_PUBLIC)
            mdc_sp_public(m, ext);
        else if (m->profile == SP_MD_PROFILE_PRIVATE)
            mdc_sp_private(m, ext);
        else if (m->profile == SP_MD_PROFILE_AG)
            mdc_sp_ag_profile(m, ext);
    }
    if (m->profile == SP_MD_PROFILE_PRIVATE)
        mdc_sp_billing(m, billing, nbilling);
    if (m->profile == SP_MD_PROFILE_AG)
        mdc_sp_aggregator(m);
    free(org_name);
}

/* ------------------------------------------------------------------------ */
/* Entry                                                                    */
/* ------------------------------------------------------------------------ */

void mdc_check_sp(struct mdc *m)
{
    xmlNode *sso = mdc_child(m->root, MDC_NS_MD, "SPSSODescriptor", NULL);
    char *cert = mdc_sp_cert(sso);

    mdc_sp_entity(m, cert);
    mdc_ran(m);
    if (mdc_count(m->root, MDC_NS_MD, "SPSSODescriptor") != 1)
        mdc_fail(m, "MD-20", SP_SEV_ERROR, sso ? sso : m->root,
                 "%u md:SPSSODescriptor; exactly 1 is required",
                 mdc_count(m->root, MDC_NS_MD, "SPSSODescriptor"));
    if (sso != NULL) {
        mdc_sp_descriptor(m, sso);
        mdc_sp_acs(m, sso);
        mdc_sp_attrs(m, sso);
    }
    mdc_sp_org(m, cert);
    mdc_sp_contacts(m);
    free(cert);
}
