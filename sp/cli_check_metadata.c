/*
 * cli_check_metadata: `spid-sp check-metadata FILE|URL [--as sp|idp]
 * [--profile public|private|ag] [--json]`. Reads the document (a file, or an
 * http(s) URL fetched with libcurl under timeouts and the size limit), runs
 * sp_mdcheck_run() and prints the report. Exit status: 0 no error findings,
 * 1 errors found, 2 usage, read or fetch failure.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "sp/buf.h"
#include "sp/cli.h"
#include "sp/file.h"
#include "sp/mdcheck.h"
#include "sp/report.h"
#include "sp/saml.h"

#define MDCLI_CONNECT_TIMEOUT_SEC 10L
#define MDCLI_TOTAL_TIMEOUT_SEC 30L
#define MDCLI_MAX_REDIRECTS 3L
#define MDCLI_EXIT_USAGE 2

static void mdcli_usage(void)
{
    fprintf(stderr, "usage: spid-sp check-metadata FILE|URL [--as sp|idp] "
                    "[--profile public|private|ag] [--json]\n");
}

static size_t mdcli_write(char *p, size_t size, size_t n, void *ud)
{
    struct sp_buf *b = ud;
    /* one byte past the limit is kept, so the checker reports XML-size */
    if (sp_buf_add(b, p, size * n) != SP_OK)
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    return size * n;
}

/* Fetch url into out; on failure a one-line reason in err. */
static enum sp_err mdcli_fetch(const char *url, struct sp_buf *out, struct sp_buf *err)
{
    CURL *c = curl_easy_init();
    char errbuf[CURL_ERROR_SIZE] = "";
    long status = 0;
    CURLcode rc;

    if (c == NULL) {
        sp_buf_adds(err, "libcurl initialisation failed");
        return SP_ERR_INTERNAL;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, MDCLI_MAX_REDIRECTS);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, MDCLI_CONNECT_TIMEOUT_SEC);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, MDCLI_TOTAL_TIMEOUT_SEC);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)SP_MDCHECK_MAX_BYTES);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "spid-sp check-metadata");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, mdcli_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (rc == CURLE_WRITE_ERROR || rc == CURLE_FILESIZE_EXCEEDED) {
        sp_buf_addf(err, "the document is larger than %u bytes", SP_MDCHECK_MAX_BYTES);
        return SP_ERR_TOO_LARGE;
    }
    if (rc != CURLE_OK) {
        sp_buf_addf(err, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
        return SP_ERR_IO;
    }
    if (status != 200) {
        sp_buf_addf(err, "HTTP status %ld", status);
        return SP_ERR_IO;
    }
    return SP_OK;
}

static int mdcli_is_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

int sp_cli_check_metadata(int argc, char **argv)
{
    const char *source = NULL;
    enum sp_md_role role = SP_MD_ROLE_AUTO;
    enum sp_md_profile profile = SP_MD_PROFILE_AUTO;
    int json = 0, status = MDCLI_EXIT_USAGE;
    struct sp_buf doc, err;
    struct sp_report rep;
    enum sp_err rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--as") == 0 && i + 1 < argc) {
            if (sp_mdcheck_parse_role(argv[++i], &role) != SP_OK) {
                fprintf(stderr, "spid-sp check-metadata: --as takes sp or idp\n");
                return MDCLI_EXIT_USAGE;
            }
        } else if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc) {
            if (sp_mdcheck_parse_profile(argv[++i], &profile) != SP_OK) {
                fprintf(stderr, "spid-sp check-metadata: --profile takes public, private or ag\n");
                return MDCLI_EXIT_USAGE;
            }
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            mdcli_usage();
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "spid-sp check-metadata: unknown option \"%s\"\n", argv[i]);
            mdcli_usage();
            return MDCLI_EXIT_USAGE;
        } else if (source == NULL) {
            source = argv[i];
        } else {
            mdcli_usage();
            return MDCLI_EXIT_USAGE;
        }
    }
    if (source == NULL) {
        mdcli_usage();
        return MDCLI_EXIT_USAGE;
    }
    if (sp_saml_global_init() != SP_OK) {
        fprintf(stderr, "spid-sp check-metadata: cannot initialise the XML libraries\n");
        return MDCLI_EXIT_USAGE;
    }
    sp_buf_init(&doc, SP_MDCHECK_MAX_BYTES + 1);
    sp_buf_init(&err, 1024);
    sp_report_init(&rep, "metadata", source);
    if (mdcli_is_url(source)) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        rc = mdcli_fetch(source, &doc, &err);
        curl_global_cleanup();
    } else {
        rc = sp_file_read(source, &doc);
        if (rc == SP_ERR_TOO_LARGE)
            sp_buf_addf(&err, "the file is larger than %u bytes", SP_MDCHECK_MAX_BYTES);
        else if (rc != SP_OK)
            sp_buf_addf(&err, "cannot read the file: %s", sp_strerror(rc));
    }
    if (rc != SP_OK) {
        sp_report_ran(&rep);
        sp_report_add(&rep, "FETCH", SP_SEV_ERROR, source, "%s", sp_buf_str(&err));
        status = MDCLI_EXIT_USAGE;
    } else {
        sp_mdcheck_run(doc.data ? doc.data : "", doc.len, role, profile, &rep);
        status = sp_report_count(&rep, SP_SEV_ERROR) > 0 ? 1 : 0;
    }
    if (json)
        sp_report_print_json(&rep, stdout);
    else
        sp_report_print_text(&rep, stdout);
    sp_report_cleanup(&rep);
    sp_buf_cleanup(&doc);
    sp_buf_cleanup(&err);
    sp_mdcheck_cleanup();
    sp_saml_global_cleanup();
    return status;
}
