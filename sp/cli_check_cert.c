/*
 * cli_check_cert: `spid-sp check-cert FILE [--profile public|private]
 * [--json]`: read the file, run sp_certcheck_run() and print the report.
 * Exit status: 0 without errors, 1 with errors, 2 on a usage error or a file
 * that cannot be read.
 */
#include <getopt.h>
#include <stdio.h>

#include "sp/buf.h"
#include "sp/certcheck.h"
#include "sp/cli.h"
#include "sp/clock.h"
#include "sp/file.h"
#include "sp/report.h"

int sp_cli_check_cert(int argc, char **argv)
{
    static const struct option opts[] = {
        {"profile", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char usage[] =
        "usage: spid-sp check-cert FILE [--profile public|private] [--json]\n";
    enum sp_cert_profile profile = SP_CERT_PROFILE_AUTO;
    int json = 0, c, status = 2;
    const char *path;
    struct sp_buf data;
    struct sp_report report;
    enum sp_err rc;

    sp_buf_init(&data, SP_CERTCHECK_MAX_INPUT);
    sp_report_init(&report, "certificate", "");
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (sp_certcheck_profile_parse(optarg, &profile) != SP_OK) {
                fprintf(stderr, "spid-sp check-cert: --profile must be public or private\n");
                goto out;
            }
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            fputs(usage, stdout);
            status = 0;
            goto out;
        default:
            fputs(usage, stderr);
            goto out;
        }
    }
    if (optind != argc - 1) {
        fputs(usage, stderr);
        goto out;
    }
    path = argv[optind];
    rc = sp_file_read(path, &data);
    if (rc != SP_OK) {
        fprintf(stderr, "spid-sp check-cert: %s: cannot read: %s\n", path, sp_strerror(rc));
        goto out;
    }
    sp_report_cleanup(&report);
    sp_report_init(&report, "certificate", path);
    (void)sp_certcheck_run(data.data ? data.data : "", data.len, profile, (int64_t)sp_clock_now(),
                           &report);
    if (json)
        sp_report_print_json(&report, stdout);
    else
        sp_report_print_text(&report, stdout);
    status = sp_report_count(&report, SP_SEV_ERROR) > 0 ? 1 : 0;
out:
    sp_report_cleanup(&report);
    sp_buf_cleanup(&data);
    return status;
}
