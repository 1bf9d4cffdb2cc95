/*
 * fuzz_logout: the Single Logout receiving path of saml_logout.c on untrusted
 * input. The first byte picks the entry: 0 an HTTP-Redirect query
 * (decode_redirect: split, URL-decode, base64, bounded raw inflate), 1 and 2
 * an HTTP-POST SAMLRequest / SAMLResponse field (base64), 3 a decoded message
 * (as HTTP-POST). Then parse, both field checks, the signature with a fixed
 * key (the seed corpus is signed with it, so xmlsec and the detached RSA
 * verification run on mutated input), and the outcome.
 * Invariants: parse fails exactly when it returns NULL; every step returns
 * the code it stores; an accepted LogoutRequest has a non-empty NameID and
 * at most SP_LOGOUT_MAX_SESSION_INDEX indexes; an accepted LogoutResponse
 * answers the expected ID with a status.
 */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sp/clock.h"
#include "sp/log.h"
#include "sp/saml.h"
#include "sp/saml_logout.h"
#include "sp/str.h"
#include "sp/xmlsig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The certificate whose key signed the seed corpus (a throwaway, test only). */
static const char fuzz_logout_cert[] =
    "MIIDHzCCAgegAwIBAgIUaxVGDIwbwFLG/Kx6OSFRYRGcNOAwDQYJKoZIhvcNAQELBQAwHjEcMBoGA1UEAwwTc3Bp"
    "ZC1zcCBmdXp6X2xvZ291dDAgFw0yNjExMjIxMjAwNTlaGA8yMTI2MTAyOTEyMDA1OVowHjEcMBoGA1UEAwwTc3Bp"
    "ZC1zcCBmdXp6X2xvZ291dDCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBANtdSiA+5hm/iG1iP+Tks7AG"
    "/ZPGLBNA8/pljfD52OBlexdjCmQsuoopxFoGRZ4t4Z28Zn4d3PYzpT4P+v8zPolo/Of9mJmUJ8qIG1+01tQWK7rM"
    "RCmfWtu56eyQqnY/KzlfKsxfzgEwEM3Sep8YfrcpKq/aLvqhT62a9LFlYDoo9IA7wp2C4Zgm4CAcstcAGCLs17+8"
    "cO2Wk+o315muozSwGzJeZaoVoNjiEDYjSzIiM6cviDVFBAn8r5B375TGlIPceZKFej6hoYZuM+NeIvpNiEN8rPva"
    "6xRGiNmAHg5e+efGlJUdQDrW/w6haSQxDFu4keDhkzYh7sZDvCbxpk8CAwEAAaNTMFEwHQYDVR0OBBYEFF9Bh1A2"
    "sAdFASLU/jLhy+BnzVRCMB8GA1UdIwQYMBaAFF9Bh1A2sAdFASLU/jLhy+BnzVRCMA8GA1UdEwEB/wQFMAMBAf8w"
    "DQYJKoZIhvcNAQELBQADggEBAJvNOhfOfUKVVTsWyMnwFY3KntVtLWGIJp6UV6j4zhBdOttOswgoe8Prmc/bjHNQ"
    "fPro0yAewjyehgoYD8rwsFRQGPwqgf6FT0QZb16eXPGJg8RZ0enmtrqr1q2IPUALUZNB3Vaqsv99bFY/ZlZubHUE"
    "15irl/+610YNZFc6q1FbhtLr0G4uEnFtd2dey6jdc0eHBidEMvl2u9vHoFx0rHzBY5ONQJmcYko/W8hxhgZjWPrX"
    "xINmw5EGOqjLBKxm3bURtDNcRV12BZW+rUP8nSkwmgRN55IR666Fdkno52C4PwjpIJoGOlzRP7tne2yLugy6nwEK"
    "qK2pPYvMDnyZi04=";

static struct sp_xmlsig_keys *keys;
static struct sp_logout_expect exp_request, exp_response;

static void fuzz_logout_init(void)
{
    static int ready;

    if (ready)
        return;
    ready = 1;
    sp_log_set_level(SP_LOG_ERROR);
    if (sp_saml_global_init() != SP_OK)
        abort();
    keys = sp_xmlsig_keys_from_cert_b64(fuzz_logout_cert);
    if (keys == NULL)
        abort();
    memset(&exp_request, 0, sizeof(exp_request));
    exp_request.kind = SP_LOGOUT_KIND_REQUEST;
    exp_request.issuer = "https://idp.example.it";
    exp_request.destination = "https://sp.example.it/spid/slo";
    exp_request.skew_sec = 60;
    exp_request.max_age_sec = 900;
    if (sp_time_parse("2024-05-01T10:00:00Z", &exp_request.request_issue_ms) != SP_OK ||
        sp_time_parse("2024-05-01T10:00:02Z", &exp_request.now_ms) != SP_OK)
        abort();
    exp_response = exp_request;
    exp_response.kind = SP_LOGOUT_KIND_RESPONSE;
    exp_response.in_response_to = "_req1";
}

static void fuzz_logout_message(const struct sp_logout_in *in)
{
    struct sp_logout_result r;
    struct sp_logout_msg *m = sp_logout_parse(in->xml.data, in->xml.len, &r);
    const struct sp_logout_fields *f;
    enum sp_logout_check c;

    if ((m == NULL) != (r.code != SP_LOGOUT_OK))
        abort();
    if (m == NULL)
        return;
    f = sp_logout_msg_fields(m);
    if (f->kind != SP_LOGOUT_KIND_REQUEST && f->kind != SP_LOGOUT_KIND_RESPONSE)
        abort();
    c = sp_logout_check(m, &exp_request, &r);
    if (c != r.code || sp_logout_check_status(c) < 200 || sp_logout_check_message(c) == NULL)
        abort();
    if (c == SP_LOGOUT_OK) {
        char *nid = sp_str_trim_dup(f->name_id ? f->name_id : "");
        if (f->kind != SP_LOGOUT_KIND_REQUEST || nid[0] == '\0' ||
            f->n_session_index > SP_LOGOUT_MAX_SESSION_INDEX)
            abort();
        free(nid);
    }
    c = sp_logout_check(m, &exp_response, &r);
    if (c != r.code)
        abort();
    if (c == SP_LOGOUT_OK && (f->kind != SP_LOGOUT_KIND_RESPONSE ||
                              !sp_str_eq(f->in_response_to, "_req1") || f->status == NULL))
        abort();
    c = sp_logout_verify(m, in, keys, &r);
    if (c != r.code)
        abort();
    (void)sp_logout_outcome_of(m);
    sp_logout_msg_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_logout_in in;
    struct sp_logout_result r;
    char *text;
    unsigned mode;

    fuzz_logout_init();
    if (size == 0)
        return 0;
    mode = data[0] & 3u;
    text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0'; /* query strings and form fields are C strings */
    sp_logout_in_init(&in);
    switch (mode) {
    case 0:
        sp_logout_decode_redirect(text, &in, &r);
        break;
    case 1:
        sp_logout_decode_post(text, NULL, "relay", &in, &r);
        break;
    case 2:
        sp_logout_decode_post(NULL, text, NULL, &in, &r);
        break;
    default:
        in.post = true;
        in.kind = SP_LOGOUT_KIND_REQUEST;
        r.code =
            sp_buf_add(&in.xml, data + 1, size - 1) == SP_OK ? SP_LOGOUT_OK : SP_LOGOUT_TOO_LARGE;
        break;
    }
    if (r.code == SP_LOGOUT_OK)
        fuzz_logout_message(&in);
    sp_logout_in_cleanup(&in);
    free(text);
    return 0;
}
