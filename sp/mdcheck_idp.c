/*
 * mdcheck_idp: what an SP needs from IdP metadata (spec §9.2, §10, BT-20,
 * BT-23): an entityID, one IDPSSODescriptor for SAML 2.0, SingleSignOnService
 * with HTTP-Redirect and/or HTTP-POST, SingleLogoutService endpoints, at least
 * one usable RSA signing certificate, and a validUntil still in the future.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sp/clock.h"
#include "mdcheck_priv.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t mdc_days_from_civil(int64_t y, unsigned mo, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= mo <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool mdc_digits(const char **p, int n, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (!isdigit((unsigned char)**p))
            return false;
        v = v * 10 + (unsigned)(**p - '0');
    }
    *out = v;
    return true;
}

/* xs:dateTime "YYYY-MM-DDThh:mm:ss[.f+][Z|+hh:mm|-hh:mm]" to seconds since the epoch (UTC). */
static bool mdc_parse_datetime(const char *s, int64_t *out)
{
    unsigned y, mo, d, h, mi, sec, oh = 0, om = 0;
    int64_t t;
    int sign = 0;

    if (!mdc_digits(&s, 4, &y) || *s++ != '-' || !mdc_digits(&s, 2, &mo) || *s++ != '-' ||
        !mdc_digits(&s, 2, &d) || *s++ != 'T' || !mdc_digits(&s, 2, &h) || *s++ != ':' ||
        !mdc_digits(&s, 2, &mi) || *s++ != ':' || !mdc_digits(&s, 2, &sec))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || sec > 60)
        return false;
    if (*s == '.') {
        s++;
        if (!isdigit((unsigned char)*s))
            return false;
        while (isdigit((unsigned char)*s))
            s++;
    }
    if (*s == 'Z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        sign = *s++ == '+' ? 1 : -1;
        if (!mdc_digits(&s, 2, &oh) || *s++ != ':' || !mdc_digits(&s, 2, &om) || oh > 14 || om > 59)
            return false;
    }
    if (*s != '\0')
        return false;
    t = mdc_days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec;
    *out = t - sign * ((int64_t)oh * 3600 + (int64_t)om * 60);
    return true;
}

static void mdc_idp_validuntil(struct mdc *m, const xmlNode *n)
{
    char *v = mdc_attr(n, "validUntil");
    int64_t t = 0;

    if (v == NULL)
        return;
    if (!mdc_parse_datetime(v, &t))
        mdc_fail(m, "IDP-validuntil", SP_SEV_ERROR, n, "validUntil \"%s\" is not an xs:dateTime",
                 v);
    else if (t <= (int64_t)sp_clock_now())
        mdc_fail(m, "IDP-validuntil", SP_SEV_ERROR, n,
                 "validUntil \"%s\" has passed: the metadata is stale", v);
    xmlFree(v);
}

static void mdc_idp_endpoints(struct mdc *m, const xmlNode *idp, const char *elem, const char *id)
{
    unsigned usable = 0;

    for (xmlNode *e = mdc_child(idp, MDC_NS_MD, elem, NULL); e != NULL;
         e = mdc_child(idp, MDC_NS_MD, elem, e)) {
        char *b = mdc_attr(e, "Binding");
        char *loc = mdc_attr(e, "Location");
        bool web =
            b != NULL && (strcmp(b, MDC_BINDING_POST) == 0 || strcmp(b, MDC_BINDING_REDIRECT) == 0);
        if (b == NULL)
            mdc_fail(m, id, SP_SEV_ERROR, e, "md:%s without Binding", elem);
        if (!mdc_url_is_http(loc))
            mdc_fail(m, id, SP_SEV_ERROR, e, "md:%s Location \"%s\" is not an http(s) URL", elem,
                     loc ? loc : "(missing)");
        else if (web)
            usable++;
        xmlFree(b);
        xmlFree(loc);
    }
    if (usable == 0)
        mdc_fail(m, id, SP_SEV_ERROR, idp,
                 "no md:%s with the HTTP-Redirect or HTTP-POST binding and a Location", elem);
}

void mdc_check_idp(struct mdc *m)
{
    xmlNode *idp = mdc_child(m->root, MDC_NS_MD, "IDPSSODescriptor", NULL);
    char *eid = mdc_attr(m->root, "entityID");
    char *proto;
    unsigned good = 0, nkeys = 0;

    mdc_ran(m);
    if (eid == NULL || eid[0] == '\0')
        mdc_fail(m, "IDP-entityid", SP_SEV_ERROR, m->root, "entityID is missing or empty");
    xmlFree(eid);
    mdc_ran(m);
    mdc_idp_validuntil(m, m->root);
    mdc_ran(m);
    if (mdc_count(m->root, MDC_NS_MD, "IDPSSODescriptor") != 1) {
        mdc_fail(m, "IDP-descriptor", SP_SEV_ERROR, idp ? idp : m->root,
                 "%u md:IDPSSODescriptor; exactly 1 is required",
                 mdc_count(m->root, MDC_NS_MD, "IDPSSODescriptor"));
        if (idp == NULL)
            return;
    }
    mdc_idp_validuntil(m, idp);
    mdc_ran(m);
    proto = mdc_attr(idp, "protocolSupportEnumeration");
    if (proto == NULL || strstr(proto, MDC_PROTOCOL) == NULL)
        mdc_fail(m, "IDP-protocol", SP_SEV_ERROR, idp,
                 "protocolSupportEnumeration does not list \"%s\"", MDC_PROTOCOL);
    xmlFree(proto);
    mdc_ran(m);
    mdc_idp_endpoints(m, idp, "SingleSignOnService", "IDP-sso");
    mdc_ran(m);
    mdc_idp_endpoints(m, idp, "SingleLogoutService", "IDP-slo");

    /* BT-23: any signing certificate may sign; at least one must be usable */
    for (xmlNode *kd = mdc_child(idp, MDC_NS_MD, "KeyDescriptor", NULL); kd != NULL;
         kd = mdc_child(idp, MDC_NS_MD, "KeyDescriptor", kd)) {
        char *use = mdc_attr(kd, "use");
        bool signing = use == NULL || strcmp(use, "signing") == 0;
        xmlFree(use);
        if (!signing)
            continue;
        for (xmlNode *xc = mdc_child(
                 mdc_child(mdc_child(kd, MDC_NS_DS, "KeyInfo", NULL), MDC_NS_DS, "X509Data", NULL),
                 MDC_NS_DS, "X509Certificate", NULL);
             xc != NULL; xc = mdc_child(xc->parent, MDC_NS_DS, "X509Certificate", xc)) {
            char *t = mdc_text(xc);
            unsigned before = m->r->n, errors = 0;
            bool usable = mdc_cert_check(m, xc, t, true);
            nkeys++;
            for (unsigned i = before; i < m->r->n; i++)
                errors += m->r->items[i].severity == SP_SEV_ERROR;
            if (usable && errors == 0)
                good++; /* an expiring-soon warning still leaves it usable */
            free(t);
        }
    }
    mdc_ran(m);
    if (good == 0)
        mdc_fail(m, "IDP-cert", SP_SEV_ERROR, idp,
                 nkeys == 0 ? "no KeyDescriptor use=\"signing\" with a certificate"
                            : "no usable signing certificate (RSA 2048+, not expired)");
}
