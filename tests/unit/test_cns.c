/*
 * test_cns: the CNS Common Name parser and Luhn check (domain.md §3.3) from
 * tables, then sp_cns_verify() against a PKI made at run time by
 * tests/fixtures/cns/make_pki.sh, with a python http.server serving the CRL
 * and an `openssl ocsp` responder, both on loopback ports chosen here and
 * stopped at teardown. One test per reason of include/sp/cns.h, plus
 * soft-fail, the CRL cache and its age cap, OCSP fallback to the CRL.
 */
#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "sp/buf.h"
#include "sp/cns.h"
#include "sp/file.h"

#define SYNTH_CN "RSSMRA80A01H501U/6120000000123457.zNN9OPTDkmrME9e/IPcidkaWvGQ="
#define SYNTH_DATA "SYNTHETIC-EF-DATI-PERSONALI-EXAMPLE"
#define DAY 86400

/* ------------------------------------------------------------------------ */
/* sp_cns_parse_cn / sp_cns_luhn_ok                                         */
/* ------------------------------------------------------------------------ */

struct cn_row {
    const char *cn;
    enum sp_cns_reason want;
    const char *cf, *card; /* when OK */
};

static const struct cn_row cn_rows[] = {
    {SYNTH_CN, SP_CNS_OK, "RSSMRA80A01H501U", "6120000000123457"},
    /* '+' and '/' in the hash: split at the first "/" only */
    {"BNCGLI92C65F205C/7430000000000005.++/+++/+++/+++/+++/+++/+++8=", SP_CNS_OK,
     "BNCGLI92C65F205C", "7430000000000005"},
    {"RSSMRA80A01H50MM/6120000000123457.zNN9OPTDkmrME9e/IPcidkaWvGQ=", SP_CNS_OK,
     "RSSMRA80A01H50MM", "6120000000123457"}, /* omocodic: a different person, kept as is */
    {"12345671510/6120000000123457.zNN9OPTDkmrME9e/IPcidkaWvGQ=", SP_CNS_OK, "12345671510",
     "6120000000123457"}, /* 11-digit provisional CF */
    /* card id */
    {"RSSMRA80A01H501U/6120000000123458.zNN9OPTDkmrME9e/IPcidkaWvGQ=", SP_CNS_BAD_CARD_ID, NULL,
     NULL},
    {"RSSMRA80A01H501U/612000000012345.zNN9OPTDkmrME9e/IPcidkaWvGQ=", SP_CNS_BAD_CARD_ID, NULL,
     NULL},
    {"RSSMRA80A01H501U/61200000001234570.zNN9OPTDkmrME9e/IPcidkaWvGQ=", SP_CNS_BAD_CARD_ID, NULL,
     NULL},
    {"RSSMRA80A01H501U/612000000012345A.zNN9OPTDkmrME9e/IPcidkaWvGQ=", SP_CNS_BAD_CARD_ID, NULL,
     NULL},
    {"RSSMRA80A01H501U/61200000.00123457.zNN9OPTDkmrME9e/IPcidkaWvGQ=", SP_CNS_BAD_CN, NULL, NULL},
    /* codice fiscale */
    {"RSSMRA80A01H501X/6120000000123457.zNN9OPTDkmrME9e/IPcidkaWvGQ=", SP_CNS_BAD_CF, NULL, NULL},
    {"rssmra80a01h501u/6120000000123457.zNN9OPTDkmrME9e/IPcidkaWvGQ=", SP_CNS_BAD_CF, NULL, NULL},
    {"RSSMRA80A01H501/6120000000123457.zNN9OPTDkmrME9e/IPcidkaWvGQ=", SP_CNS_BAD_CF, NULL, NULL},
    {" RSSMRA80A01H501U/6120000000123457.zNN9OPTDkmrME9e/IPcidkaWvGQ=", SP_CNS_BAD_CF, NULL, NULL},
    {"00159560366/6120000000123457.zNN9OPTDkmrME9e/IPcidkaWvGQ=", SP_CNS_BAD_CF, NULL,
     NULL}, /* company */
    /* missing parts */
    {"", SP_CNS_BAD_CN, NULL, NULL},
    {"RSSMRA80A01H501U", SP_CNS_BAD_CN, NULL, NULL},
    {"RSSMRA80A01H501U-6120000000123457", SP_CNS_BAD_CN, NULL, NULL},
    {"RSSMRA80A01H501U/6120000000123457", SP_CNS_BAD_CN, NULL, NULL},
    {"RSSMRA80A01H501U/6120000000123457.", SP_CNS_BAD_CN, NULL, NULL},
    {"/6120000000123457.zNN9OPTDkmrME9e/IPcidkaWvGQ=", SP_CNS_BAD_CN, NULL, NULL},
    {"RSSMRA80A01H501U/.zNN9OPTDkmrME9e/IPcidkaWvGQ=", SP_CNS_BAD_CN, NULL, NULL},
    /* hash not 20 bytes / not base64 */
    {"RSSMRA80A01H501U/6120000000123457.zNN9OPTDkmrME9e/IPcidkaWvGQ", SP_CNS_BAD_CN, NULL, NULL},
    {"RSSMRA80A01H501U/6120000000123457.zNN9OPTDkmrME9e/IPcidkaWvA==", SP_CNS_BAD_CN, NULL, NULL},
    {"RSSMRA80A01H501U/6120000000123457.zNN9OPTDkmrME9e/IPcidkaWvGQ=AAAA", SP_CNS_BAD_CN, NULL,
     NULL},
    {"RSSMRA80A01H501U/6120000000123457.zNN9OPTDkmrME9e.IPcidkaWvGQ=", SP_CNS_BAD_CN, NULL, NULL},
    {"RSSMRA80A01H501U/6120000000123457.zNN9OPTDkmrME9e IPcidkaWvGQ=", SP_CNS_BAD_CN, NULL, NULL},
    {"RSSMRA80A01H501U/6120000000123457.zNN9OPTDkmrME9e-IPcidkaWvGQ=", SP_CNS_BAD_CN, NULL, NULL},
    {"RSSMRA80A01H501U/6120000000123457.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", SP_CNS_BAD_CN, NULL,
     NULL},
};

static void test_parse_cn_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cn_rows) / sizeof(cn_rows[0]); i++) {
        const struct cn_row *row = &cn_rows[i];
        struct sp_cns_cn out;
        enum sp_cns_reason got = sp_cns_parse_cn(row->cn, &out);

        if (got != row->want)
            fail_msg("\"%s\": got %s, want %s", row->cn, sp_cns_reason_id(got),
                     sp_cns_reason_id(row->want));
        if (row->want == SP_CNS_OK) {
            assert_string_equal(out.cf, row->cf);
            assert_string_equal(out.card_id, row->card);
        } else {
            assert_string_equal(out.cf, "");
            assert_string_equal(out.card_id, "");
        }
    }
}

static void test_parse_cn_synthetic_hash(void **state)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    struct sp_cns_cn out;

    (void)state;
    assert_int_equal(sp_cns_parse_cn(SYNTH_CN, &out), SP_CNS_OK);
    assert_int_equal(EVP_Digest(SYNTH_DATA, strlen(SYNTH_DATA), md, &n, EVP_sha1(), NULL), 1);
    assert_int_equal(n, 20);
    assert_memory_equal(out.hash, md, 20);
}

static void test_parse_cn_null(void **state)
{
    struct sp_cns_cn out;

    (void)state;
    assert_int_equal(sp_cns_parse_cn(NULL, &out), SP_CNS_BAD_CN);
}

static void test_luhn(void **state)
{
    (void)state;
    assert_true(sp_cns_luhn_ok("6120000000123457"));
    assert_false(sp_cns_luhn_ok("6120000000123458"));
    assert_true(sp_cns_luhn_ok("7430000000000005"));
    assert_true(sp_cns_luhn_ok("79927398713"));
    assert_false(sp_cns_luhn_ok("79927398710"));
    assert_true(sp_cns_luhn_ok("0"));
    assert_false(sp_cns_luhn_ok(""));
    assert_false(sp_cns_luhn_ok(NULL));
    assert_false(sp_cns_luhn_ok("61200000001234 7"));
    assert_false(sp_cns_luhn_ok("a"));
}

static void test_reason_names(void **state)
{
    (void)state;
    assert_string_equal(sp_cns_reason_id(SP_CNS_EXPIRED), "expired");
    assert_string_equal(sp_cns_reason_id(SP_CNS_REVOCATION_UNKNOWN), "revocation_unknown");
    assert_string_equal(sp_cns_reason_id(SP_CNS__COUNT), "unknown");
    assert_true(strlen(sp_cns_reason_text(SP_CNS_SIGNATURE_CERT)) > 0);
}

/* ------------------------------------------------------------------------ */
/* The PKI and its servers                                                  */
/* ------------------------------------------------------------------------ */

static struct {
    char dir[256];
    char trust[300], trust_root[300];
    int crl_port, ocsp_port;
    pid_t http_pid, ocsp_pid;
} pki;

static int free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/*
 * Is something listening on port? Read from /proc rather than connecting: the
 * `openssl ocsp` responder hangs on a connection closed without a request.
 */
static int port_listening(int port)
{
    static const char *const files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    char line[512];
    size_t i;

    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        FILE *fp = fopen(files[i], "r");

        if (fp == NULL)
            continue;
        while (fgets(line, sizeof(line), fp) != NULL) {
            char local[128], remote[128], st[8];
            unsigned p;
            char *colon;

            if (sscanf(line, "%*s %127s %127s %7s", local, remote, st) != 3)
                continue;
            if ((colon = strrchr(local, ':')) == NULL || sscanf(colon + 1, "%x", &p) != 1)
                continue;
            if ((int)p == port && strcmp(st, "0A") == 0) {
                fclose(fp);
                return 1;
            }
        }
        fclose(fp);
    }
    return 0;
}

static pid_t spawn(char *const argv[], int port)
{
    pid_t pid = fork();
    int i;

    if (pid == 0) {
        int nul = open("/dev/null", O_RDWR);

        dup2(nul, 0);
        dup2(nul, 1);
        dup2(nul, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    for (i = 0; pid > 0 && i < 200 && !port_listening(port); i++)
        usleep(25 * 1000);
    return pid;
}

static void stop(pid_t *pid)
{
    if (*pid > 0) {
        kill(*pid, SIGTERM);
        waitpid(*pid, NULL, 0);
    }
    *pid = -1;
}

static void start_http(void)
{
    char port[16], dir[300];
    char *argv[] = {"/usr/bin/python3", "-m", "http.server", "--bind", "127.0.0.1", port,
                    "--directory",      dir,  NULL};

    snprintf(port, sizeof(port), "%d", pki.crl_port);
    snprintf(dir, sizeof(dir), "%s/crl", pki.dir);
    pki.http_pid = spawn(argv, pki.crl_port);
    assert_true(pki.http_pid > 0 && port_listening(pki.crl_port));
}

static void start_ocsp(void)
{
    char port[16], index[300], rsigner[300], rkey[300], ca[300];
    char *argv[] = {"openssl", "ocsp", "-index", index, "-port",  port, "-rsigner", rsigner,
                    "-rkey",   rkey,   "-CA",    ca,    "-ndays", "1",  NULL};

    snprintf(port, sizeof(port), "%d", pki.ocsp_port);
    snprintf(index, sizeof(index), "%s/ocsp/index.txt", pki.dir);
    snprintf(rsigner, sizeof(rsigner), "%s/ocsp.pem", pki.dir);
    snprintf(rkey, sizeof(rkey), "%s/ocsp.key", pki.dir);
    snprintf(ca, sizeof(ca), "%s/ca.pem", pki.dir);
    pki.ocsp_pid = spawn(argv, pki.ocsp_port);
    assert_true(pki.ocsp_pid > 0 && port_listening(pki.ocsp_port));
}

static int pki_setup(void **state)
{
    char cmd[1024];

    (void)state;
    pki.http_pid = pki.ocsp_pid = -1;
    snprintf(pki.dir, sizeof(pki.dir), "/tmp/sp-cns-XXXXXX");
    if (mkdtemp(pki.dir) == NULL)
        return -1;
    pki.crl_port = free_port();
    do
        pki.ocsp_port = free_port();
    while (pki.ocsp_port == pki.crl_port);
    snprintf(cmd, sizeof(cmd),
             "CNS_PKI_KEY=ec bash '%s/tests/fixtures/cns/make_pki.sh' '%s' %d %d >/dev/null",
             SP_SOURCE_DIR, pki.dir, pki.crl_port, pki.ocsp_port);
    if (system(cmd) != 0) {
        fprintf(stderr, "make_pki.sh failed: see %s/make_pki.log\n", pki.dir);
        return -1;
    }
    snprintf(pki.trust, sizeof(pki.trust), "%s/trust", pki.dir);
    snprintf(pki.trust_root, sizeof(pki.trust_root), "%s/trust-root", pki.dir);
    start_http();
    start_ocsp();
    return 0;
}

static int pki_teardown(void **state)
{
    char cmd[512];

    (void)state;
    stop(&pki.http_pid);
    stop(&pki.ocsp_pid);
    if (pki.dir[0] != '\0' && getenv("SP_KEEP_TMP") == NULL) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pki.dir);
        if (system(cmd) != 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static struct sp_cns *new_cns(const char *trust, bool soft_fail, unsigned max_age)
{
    struct sp_cns_settings s = {.ca_dir = trust,
                                .policies = NULL,
                                .soft_fail = soft_fail,
                                .crl_max_age_sec = max_age,
                                .timeout_sec = 2};
    struct sp_buf err;
    struct sp_cns *c;

    sp_buf_init(&err, 4096);
    c = sp_cns_new(&s, &err);
    if (c == NULL)
        fail_msg("sp_cns_new: %s", sp_buf_str(&err));
    sp_buf_cleanup(&err);
    return c;
}

static void read_pem(const char *name, struct sp_buf *b)
{
    char path[400];

    snprintf(path, sizeof(path), "%s/%s", pki.dir, name);
    sp_buf_init(b, 1 << 20);
    assert_int_equal(sp_file_read(path, b), SP_OK);
}

/* Verify NAME.pem at now; check the reason; returns the result. */
static struct sp_cns_result verify_at(struct sp_cns *c, const char *name, const char *chain,
                                      int64_t now, enum sp_cns_reason want)
{
    struct sp_cns_result r;
    struct sp_buf cert, ch;
    char file[64];

    snprintf(file, sizeof(file), "%s.pem", name);
    read_pem(file, &cert);
    if (chain != NULL)
        read_pem(chain, &ch);
    assert_int_equal(sp_cns_verify(c, cert.data, cert.len, chain ? ch.data : NULL, now, &r), SP_OK);
    if (r.reason != want)
        fail_msg("%s: got %s (%s), want %s", name, sp_cns_reason_id(r.reason), r.detail,
                 sp_cns_reason_id(want));
    sp_buf_cleanup(&cert);
    if (chain != NULL)
        sp_buf_cleanup(&ch);
    return r;
}

static struct sp_cns_result verify(const char *name, enum sp_cns_reason want)
{
    struct sp_cns *c = new_cns(pki.trust, false, 0);
    struct sp_cns_result r = verify_at(c, name, NULL, time(NULL), want);

    sp_cns_free(&c);
    assert_null(c);
    return r;
}

/* ------------------------------------------------------------------------ */
/* One test per reason                                                      */
/* ------------------------------------------------------------------------ */

static void test_ok_crl(void **state)
{
    struct sp_cns_result r = verify("valid", SP_CNS_OK);

    (void)state;
    assert_string_equal(r.cn.cf, "RSSMRA80A01H501U");
    assert_string_equal(r.cn.card_id, "6120000000123457");
    assert_string_equal(r.policy, "1.3.76.16.2.1");
    assert_string_equal(r.revocation, "crl");
    assert_string_equal(r.given_name, "Mario");
    assert_string_equal(r.surname, "Rossi");
    assert_non_null(strstr(r.issuer, "CN=Test CA per Autenticazione CNS"));
    assert_int_equal(strlen(r.fingerprint), 64);
    assert_true(strlen(r.serial) > 0);
    assert_string_equal(r.detail, "");
}

static void test_ok_ocsp(void **state)
{
    struct sp_cns_result r = verify("valid_ocsp", SP_CNS_OK); /* serialNumber IT:<same CF> */

    (void)state;
    assert_string_equal(r.revocation, "ocsp");
}

static void test_ok_der(void **state)
{
    struct sp_cns *c = new_cns(pki.trust, false, 0);
    unsigned char *der = NULL;
    struct sp_cns_result r;
    struct sp_buf pem;
    X509 *x;
    BIO *bio;
    int n;

    (void)state;
    read_pem("valid.pem", &pem);
    bio = BIO_new_mem_buf(pem.data, (int)pem.len);
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    assert_non_null(x);
    n = i2d_X509(x, &der);
    assert_true(n > 0);
    assert_int_equal(sp_cns_verify(c, der, (size_t)n, NULL, time(NULL), &r), SP_OK);
    assert_int_equal(r.reason, SP_CNS_OK);
    /* trailing bytes after the DER are refused */
    der = OPENSSL_realloc(der, (size_t)n + 1);
    der[n] = 0;
    assert_int_equal(sp_cns_verify(c, der, (size_t)n + 1, NULL, time(NULL), &r), SP_OK);
    assert_int_equal(r.reason, SP_CNS_UNREADABLE);
    OPENSSL_free(der);
    X509_free(x);
    BIO_free(bio);
    sp_buf_cleanup(&pem);
    sp_cns_free(&c);
}

static void test_chain_from_client(void **state)
{
    struct sp_cns *c = new_cns(pki.trust_root, false, 0);

    (void)state;
    verify_at(c, "valid", "ca.pem", time(NULL), SP_CNS_OK);
    verify_at(c, "valid", NULL, time(NULL), SP_CNS_UNKNOWN_ISSUER);
    sp_cns_free(&c);
}

static void test_unreadable(void **state)
{
    struct sp_cns *c = new_cns(pki.trust, false, 0);
    struct sp_cns_result r;
    static const char junk[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";

    (void)state;
    assert_int_equal(sp_cns_verify(c, junk, sizeof(junk) - 1, NULL, time(NULL), &r), SP_OK);
    assert_int_equal(r.reason, SP_CNS_UNREADABLE);
    assert_int_equal(sp_cns_verify(c, "\x30\x03\x02\x01", 4, NULL, time(NULL), &r), SP_OK);
    assert_int_equal(r.reason, SP_CNS_UNREADABLE);
    assert_int_equal(sp_cns_verify(c, "", 0, NULL, time(NULL), &r), SP_OK);
    assert_int_equal(r.reason, SP_CNS_UNREADABLE);
    sp_cns_free(&c);
}

static void test_unknown_issuer(void **state)
{
    struct sp_cns_result r = verify("other_issuer", SP_CNS_UNKNOWN_ISSUER);

    (void)state;
    assert_non_null(strstr(r.issuer, "CN=Other CA"));
}

static void test_expired(void **state)
{
    (void)state;
    verify("expired", SP_CNS_EXPIRED);
}

static void test_not_yet_valid(void **state)
{
    (void)state;
    verify("not_yet_valid", SP_CNS_NOT_YET_VALID);
}

/* now is the caller's: the dates follow it, the CRL's freshness too */
static void test_now_is_honoured(void **state)
{
    struct sp_cns *c = new_cns(pki.trust, false, 0);

    (void)state;
    verify_at(c, "valid", NULL, 2524608000 /* 2050-01-01 */, SP_CNS_EXPIRED);
    verify_at(c, "not_yet_valid", NULL, 1577836800 /* 2020-01-01 */, SP_CNS_NOT_YET_VALID);
    /* 2046: valid dates, but the CRL made today is stale by then */
    verify_at(c, "not_yet_valid", NULL, 2398291200, SP_CNS_REVOCATION_UNKNOWN);
    sp_cns_free(&c);
}

static void test_not_cns(void **state)
{
    (void)state;
    verify("wrong_policy", SP_CNS_NOT_CNS);
}

static void test_signature_cert(void **state)
{
    (void)state;
    verify("signature", SP_CNS_SIGNATURE_CERT);
}

static void test_key_usage(void **state)
{
    (void)state;
    verify("bad_key_usage", SP_CNS_KEY_USAGE);
}

static void test_no_client_auth(void **state)
{
    (void)state;
    verify("no_client_auth", SP_CNS_NO_CLIENT_AUTH);
}

static void test_bad_cn(void **state)
{
    (void)state;
    verify("bad_cn", SP_CNS_BAD_CN);
}

static void test_bad_card_id(void **state)
{
    (void)state;
    verify("bad_card_id", SP_CNS_BAD_CARD_ID);
}

static void test_bad_cf(void **state)
{
    (void)state;
    verify("bad_cf", SP_CNS_BAD_CF);
}

static void test_bad_cf_serial_mismatch(void **state)
{
    (void)state;
    verify("serial_mismatch", SP_CNS_BAD_CF);
}

static void test_revoked_crl(void **state)
{
    struct sp_cns_result r = verify("revoked", SP_CNS_REVOKED);

    (void)state;
    assert_string_equal(r.revocation, "crl");
}

static void test_revoked_ocsp(void **state)
{
    struct sp_cns_result r = verify("revoked_ocsp", SP_CNS_REVOKED);

    (void)state;
    assert_string_equal(r.revocation, "ocsp");
}

static void test_revocation_unknown(void **state)
{
    struct sp_cns *c = new_cns(pki.trust, true, 0);
    struct sp_cns_result r;

    (void)state;
    verify("no_revocation", SP_CNS_REVOCATION_UNKNOWN);
    r = verify_at(c, "no_revocation", NULL, time(NULL), SP_CNS_OK);
    assert_string_equal(r.revocation, "none (soft-fail)");
    sp_cns_free(&c);
}

/* ------------------------------------------------------------------------ */
/* Servers going away                                                       */
/* ------------------------------------------------------------------------ */

static void test_ocsp_down_falls_back_to_crl(void **state)
{
    struct sp_cns_result r;

    (void)state;
    stop(&pki.ocsp_pid);
    r = verify("valid_ocsp", SP_CNS_OK);
    assert_string_equal(r.revocation, "crl");
    verify("revoked", SP_CNS_REVOKED);
    start_ocsp();
}

static void test_soft_fail_unreachable_crl(void **state)
{
    struct sp_cns *soft = new_cns(pki.trust, true, 0);
    struct sp_cns_result r;

    (void)state;
    stop(&pki.http_pid);
    verify("valid", SP_CNS_REVOCATION_UNKNOWN);
    r = verify_at(soft, "valid", NULL, time(NULL), SP_CNS_OK);
    assert_string_equal(r.revocation, "none (soft-fail)");
    /* soft-fail never hides a failure of the certificate itself */
    verify_at(soft, "expired", NULL, time(NULL), SP_CNS_EXPIRED);
    sp_cns_free(&soft);
    start_http();
}

static void test_crl_cache(void **state)
{
    struct sp_cns *c = new_cns(pki.trust, false, 0);
    int64_t now = time(NULL);
    struct sp_cns_result r;

    (void)state;
    r = verify_at(c, "valid", NULL, now, SP_CNS_OK);
    assert_string_equal(r.revocation, "crl");
    stop(&pki.http_pid);
    r = verify_at(c, "valid", NULL, now + 3600, SP_CNS_OK); /* cached */
    assert_string_equal(r.revocation, "crl");
    verify_at(c, "revoked", NULL, now + 3600, SP_CNS_REVOKED); /* same URL, same CRL */
    /* past nextUpdate (1 day): the cache is stale and the server is gone */
    verify_at(c, "valid", NULL, now + DAY + 3600, SP_CNS_REVOCATION_UNKNOWN);
    sp_cns_free(&c);
    start_http();
}

static void test_crl_cache_max_age(void **state)
{
    struct sp_cns *c = new_cns(pki.trust, false, 60);
    int64_t now = time(NULL);

    (void)state;
    verify_at(c, "valid", NULL, now, SP_CNS_OK);
    stop(&pki.http_pid);
    verify_at(c, "valid", NULL, now + 30, SP_CNS_OK);
    verify_at(c, "valid", NULL, now + 90, SP_CNS_REVOCATION_UNKNOWN);
    start_http();
    verify_at(c, "valid", NULL, now + 90, SP_CNS_OK); /* fetched again */
    sp_cns_free(&c);
}

static void test_new_errors(void **state)
{
    struct sp_cns_settings s = {.ca_dir = "/nonexistent"};
    struct sp_buf err;

    (void)state;
    sp_buf_init(&err, 4096);
    assert_null(sp_cns_new(&s, &err));
    assert_true(err.len > 0);
    sp_buf_reset(&err);
    s.ca_dir = pki.trust;
    s.policies = "1.3.76.16.2.1 not-an-oid";
    assert_null(sp_cns_new(&s, &err));
    assert_non_null(strstr(sp_buf_str(&err), "not-an-oid"));
    sp_buf_cleanup(&err);
}

static void test_custom_policies(void **state)
{
    struct sp_cns_settings s = {.ca_dir = pki.trust, .policies = "1.3.6.1.4.1.99999.1.1"};
    struct sp_buf err;
    struct sp_cns *c;
    struct sp_cns_result r;

    (void)state;
    sp_buf_init(&err, 4096);
    c = sp_cns_new(&s, &err);
    assert_non_null(c);
    r = verify_at(c, "wrong_policy", NULL, time(NULL), SP_CNS_OK);
    assert_string_equal(r.policy, "1.3.6.1.4.1.99999.1.1");
    verify_at(c, "valid", NULL, time(NULL), SP_CNS_NOT_CNS);
    sp_cns_free(&c);
    sp_buf_cleanup(&err);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_parse_cn_table), cmocka_unit_test(test_parse_cn_synthetic_hash),
        cmocka_unit_test(test_parse_cn_null),  cmocka_unit_test(test_luhn),
        cmocka_unit_test(test_reason_names),
    };
    const struct CMUnitTest withpki[] = {
        cmocka_unit_test(test_ok_crl),
        cmocka_unit_test(test_ok_ocsp),
        cmocka_unit_test(test_ok_der),
        cmocka_unit_test(test_chain_from_client),
        cmocka_unit_test(test_unreadable),
        cmocka_unit_test(test_unknown_issuer),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_not_yet_valid),
        cmocka_unit_test(test_now_is_honoured),
        cmocka_unit_test(test_not_cns),
        cmocka_unit_test(test_signature_cert),
        cmocka_unit_test(test_key_usage),
        cmocka_unit_test(test_no_client_auth),
        cmocka_unit_test(test_bad_cn),
        cmocka_unit_test(test_bad_card_id),
        cmocka_unit_test(test_bad_cf),
        cmocka_unit_test(test_bad_cf_serial_mismatch),
        cmocka_unit_test(test_revoked_crl),
        cmocka_unit_test(test_revoked_ocsp),
        cmocka_unit_test(test_revocation_unknown),
        cmocka_unit_test(test_ocsp_down_falls_back_to_crl),
        cmocka_unit_test(test_soft_fail_unreachable_crl),
        cmocka_unit_test(test_crl_cache),
        cmocka_unit_test(test_crl_cache_max_age),
        cmocka_unit_test(test_new_errors),
        cmocka_unit_test(test_custom_policies),
    };
    int failed = cmocka_run_group_tests_name("cns_parse", pure, NULL, NULL);

    failed += cmocka_run_group_tests_name("cns_verify", withpki, pki_setup, pki_teardown);
    return failed;
}
