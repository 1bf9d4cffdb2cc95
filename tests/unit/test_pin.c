/*
 * test_pin: the legacy INPS-style PIN (pin.h, domain.md §1 and §7). The pure
 * rules (generation, normalisation, the choice rules, scrypt, the lock and
 * renewal arithmetic) and the state machine in SQLite, driven by an
 * injectable clock: every store call takes now, fixed at T0 plus days.
 * Issue -> first login with 16 characters -> personal PIN -> expiry and
 * renewal, history, lockout (also under concurrency), inactivity, recovery,
 * revocation, contacts. scrypt runs with N = 2^10 to keep the tests fast,
 * except one check of the default 2^14.
 */
#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sp/buf.h"
#include "sp/config.h"
#include "sp/db.h"
#include "sp/log.h"
#include "sp/pin.h"
#include "sp_test_db.h"

#define T0 ((int64_t)1700000000)
#define DAY ((int64_t)86400)
#define MINUTE ((int64_t)60)
#define CF "RSSMRA80A01H501U"
#define CF2 "VRDGPP85M41F205X"
#define NAME "Mario"
#define SURNAME "Rossi"
#define GOOD "XK7Q2M9P"
#define GOOD2 "QW3RT9ZP"
#define WRONG "XK7Q2M9Q"

/* The §7 defaults with a cheap scrypt. */
static struct sp_pin_params fast_params(void)
{
    struct sp_pin_params p = SP_PIN_PARAMS_DEFAULT;
    p.scrypt_log2_n = 10;
    return p;
}

static void exec_sql(struct sp_db *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(sp_db_conn(db), sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fprintf(stderr, "sql: %s\n", msg ? msg : "?");
    sqlite3_free(msg);
    assert_int_equal(rc, SQLITE_OK);
}

/* The person must exist before a PIN can be issued. */
static void add_person(struct sp_db *db, const char *cf)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "INSERT INTO users (cf, created_at, updated_at) VALUES ('%s', %lld, %lld)", cf,
             (long long)T0, (long long)T0);
    exec_sql(db, sql);
}

/* One text value from SQL with one text parameter; "" when NULL, "<none>" when no row. */
static void query_text(struct sp_db *db, const char *sql, const char *arg, char *out, size_t n)
{
    sqlite3_stmt *st = NULL;

    assert_int_equal(sqlite3_prepare_v2(sp_db_conn(db), sql, -1, &st, NULL), SQLITE_OK);
    if (arg != NULL)
        sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        snprintf(out, n, "%s", t ? (const char *)t : "");
    } else {
        snprintf(out, n, "<none>");
    }
    sqlite3_finalize(st);
}

static bool is_upper_hex(const char *s, size_t n)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
            return false;
    return true;
}

/* sp_pin_check that must not fail as a call; the outcome is returned. The
 * detail is always set and never repeats what was typed. */
static enum sp_pin_outcome check(struct sp_db *db, const char *cf, const char *pin,
                                 bool intermediary, int64_t now, const struct sp_pin_params *p,
                                 struct sp_pin_login *out)
{
    assert_int_equal(sp_pin_check(db, cf, pin, intermediary, now, p, out), SP_OK);
    assert_non_null(out->detail);
    if (pin != NULL && strlen(pin) >= 4)
        assert_null(strstr(out->detail, pin));
    assert_int_equal(out->intermediary, intermediary);
    return out->outcome;
}

static void issue(struct sp_db *db, const char *cf, const char *channel, bool dispositive,
                  int64_t now, const struct sp_pin_params *p, char value[SP_PIN_INITIAL_LEN + 1])
{
    assert_int_equal(sp_pin_issue(db, cf, channel, dispositive, now, p, value), SP_OK);
    assert_true(is_upper_hex(value, SP_PIN_INITIAL_LEN));
}

/* Issue an online PIN at now and choose pin8 at once: an ACTIVE PIN changed at now. */
static void activate(struct sp_db *db, const char *cf, const char *pin8, int64_t now,
                     const struct sp_pin_params *p)
{
    char value[SP_PIN_INITIAL_LEN + 1];
    struct sp_pin_login out;
    const char *why = NULL;

    issue(db, cf, "online", false, now, p, value);
    assert_int_equal(sp_pin_change(db, cf, value, pin8, false, NAME, SURNAME, now, p, &out, &why),
                     SP_OK);
    assert_int_equal(out.outcome, SP_PIN_OK);
    assert_null(why);
}

static enum sp_err change(struct sp_db *db, const char *cf, const char *current, const char *fresh,
                          int64_t now, const struct sp_pin_params *p, struct sp_pin_login *out,
                          const char **why)
{
    return sp_pin_change(db, cf, current, fresh, false, NAME, SURNAME, now, p, out, why);
}

/* --- pure: generation and normalisation ------------------------------------ */

static void test_half(void **state)
{
    char halves[64][SP_PIN_HALF_LEN + 1];
    bool seen[16] = {false};
    (void)state;

    for (int i = 0; i < 64; i++) {
        memset(halves[i], 'x', sizeof(halves[i]));
        sp_pin_half(halves[i]);
        assert_int_equal(halves[i][SP_PIN_HALF_LEN], '\0');
        assert_true(is_upper_hex(halves[i], SP_PIN_HALF_LEN));
        for (int k = 0; k < SP_PIN_HALF_LEN; k++) {
            char c = halves[i][k];
            seen[c <= '9' ? c - '0' : c - 'A' + 10] = true;
        }
        for (int j = 0; j < i; j++)
            assert_string_not_equal(halves[i], halves[j]);
    }
    /* 512 draws: every hexadecimal symbol appears (never the letter O) */
    for (int k = 0; k < 16; k++)
        assert_true(seen[k]);
}

static void test_normalize(void **state)
{
    char out[SP_PIN_INITIAL_LEN + 1];
    (void)state;

    assert_int_equal(sp_pin_normalize("abcd1234", out), SP_OK);
    assert_string_equal(out, "ABCD1234");
    assert_int_equal(sp_pin_normalize("  xK7q2M9p \t", out), SP_OK);
    assert_string_equal(out, "XK7Q2M9P");
    assert_int_equal(sp_pin_normalize("\tabcdef0123456789\r\n", out), SP_OK);
    assert_string_equal(out, "ABCDEF0123456789");
    assert_int_equal(sp_pin_normalize("Z", out), SP_OK);
    assert_string_equal(out, "Z");

    /* refused: too long, not alphanumeric, not ASCII, empty, inner spaces */
    assert_int_equal(sp_pin_normalize("ABCDEF01234567890", out), SP_ERR_INVALID);
    assert_string_equal(out, "");
    assert_int_equal(sp_pin_normalize("ABCD-123", out), SP_ERR_INVALID);
    assert_string_equal(out, "");
    assert_int_equal(sp_pin_normalize("ABCD_123", out), SP_ERR_INVALID);
    assert_int_equal(sp_pin_normalize("ABCD.123", out), SP_ERR_INVALID);
    assert_int_equal(sp_pin_normalize("ABC\xc3\xa8"
                                      "123",
                                      out),
                     SP_ERR_INVALID); /* è */
    assert_string_equal(out, "");
    assert_int_equal(sp_pin_normalize("\xc3\x80"
                                      "BCD1234",
                                      out),
                     SP_ERR_INVALID); /* À */
    assert_int_equal(sp_pin_normalize("ABCD1234\xff", out), SP_ERR_INVALID);
    assert_int_equal(sp_pin_normalize("", out), SP_ERR_INVALID);
    assert_int_equal(sp_pin_normalize("   ", out), SP_ERR_INVALID);
    assert_int_equal(sp_pin_normalize("ABCD 1234", out), SP_ERR_INVALID);
    assert_string_equal(out, "");
    assert_int_equal(sp_pin_normalize(NULL, out), SP_ERR_INVALID);
    assert_string_equal(out, "");
}

/* --- pure: the rules for a chosen PIN (§1.6) ------------------------------- */

static void assert_refused(const char *pin, const char *cf, const char *name, const char *surname)
{
    const char *why = NULL;
    enum sp_err rc = sp_pin_rules_check(pin, cf, name, surname, &why);
    if (rc != SP_ERR_INVALID)
        fprintf(stderr, "rules: \"%s\" accepted\n", pin);
    assert_int_equal(rc, SP_ERR_INVALID);
    assert_non_null(why);
    assert_true(strlen(why) > 0);
}

static void assert_accepted(const char *pin, const char *cf, const char *name, const char *surname)
{
    const char *why = "unset";
    enum sp_err rc = sp_pin_rules_check(pin, cf, name, surname, &why);
    if (rc != SP_OK)
        fprintf(stderr, "rules: \"%s\" refused: %s\n", pin, why ? why : "(null)");
    assert_int_equal(rc, SP_OK);
    assert_null(why);
}

static void test_rules_length_charset(void **state)
{
    (void)state;
    assert_accepted(GOOD, CF, NAME, SURNAME);
    assert_accepted("xk7q2m9p", CF, NAME, SURNAME);
    assert_accepted(" xk7Q2m9P ", CF, NAME, SURNAME);
    assert_accepted("94718263", CF, NAME, SURNAME); /* digits only is fine */
    assert_accepted("QWERTZUI", NULL, NULL, NULL);

    assert_refused("XK7Q2M9", CF, NAME, SURNAME);   /* 7 */
    assert_refused("XK7Q2M9PA", CF, NAME, SURNAME); /* 9 */
    assert_refused("XK7Q2M9P0123456", CF, NAME, SURNAME);
    assert_refused("XK7Q-M9P", CF, NAME, SURNAME);
    assert_refused("XK7Q M9P", CF, NAME, SURNAME);
    assert_refused("XK7Q\xc3\xa8M9", CF, NAME, SURNAME);
    assert_refused("", CF, NAME, SURNAME);
    assert_refused(NULL, CF, NAME, SURNAME);
}

static void test_rules_cf(void **state)
{
    char sub[SP_PIN_LEN + 1], lower[SP_PIN_LEN + 1];
    (void)state;

    /* every 8 consecutive characters of the codice fiscale, in any case */
    for (size_t i = 0; i + SP_PIN_LEN <= strlen(CF); i++) {
        snprintf(sub, sizeof(sub), "%.8s", &CF[i]);
        for (int k = 0; k < SP_PIN_LEN; k++)
            lower[k] = (char)tolower((unsigned char)sub[k]);
        lower[SP_PIN_LEN] = '\0';
        assert_refused(sub, CF, NULL, NULL);
        assert_refused(lower, CF, NULL, NULL);
    }
    assert_refused("RSSMRA80", CF, NAME, SURNAME);
    assert_refused("A01H501U", CF, NAME, SURNAME);
    assert_refused("a01h501u", CF, NAME, SURNAME);
    assert_refused("rSsMrA80", "rssmra80a01h501u", NULL, NULL); /* CF given in lower case */

    /* 7 characters of the CF plus another one is not 8 consecutive ones */
    assert_accepted("RSSMRA81", CF, NULL, NULL);
    assert_accepted("A01H501X", CF, NULL, NULL);
    /* a CF substring is only refused for its holder */
    assert_accepted("RSSMRA80", CF2, NULL, NULL);
    assert_accepted("RSSMRA80", NULL, NULL, NULL);
}

static void test_rules_runs(void **state)
{
    (void)state;
    assert_refused("12345678", CF, NAME, SURNAME);
    assert_refused("23456789", CF, NAME, SURNAME);
    assert_refused("87654321", CF, NAME, SURNAME);
    assert_refused("98765432", CF, NAME, SURNAME);
    assert_refused("ABCDEFGH", CF, NAME, SURNAME);
    assert_refused("abcdefgh", CF, NAME, SURNAME);
    assert_refused("STUVWXYZ", CF, NAME, SURNAME);
    assert_refused("HGFEDCBA", CF, NAME, SURNAME);
    assert_refused("AAAAAAAA", CF, NAME, SURNAME);
    assert_refused("zzzzzzzz", CF, NAME, SURNAME);
    assert_refused("00000000", CF, NAME, SURNAME);
    assert_refused("77777777", CF, NAME, SURNAME);

    /* almost runs are not runs */
    assert_accepted("12345679", CF, NAME, SURNAME);
    assert_accepted("ABCDEFGX", CF, NAME, SURNAME);
    assert_accepted("AAAAAAAB", CF, NAME, SURNAME);
    assert_accepted("87654320", CF, NAME, SURNAME);
    assert_accepted("1234ABCD", CF, NAME, SURNAME);
}

static void test_rules_names(void **state)
{
    (void)state;
    /* the surname or a given name of 3 or more letters, anywhere, any case */
    assert_refused("ROSSI123", CF, NAME, SURNAME);
    assert_refused("12rossi3", CF, NAME, SURNAME);
    assert_refused("xmario12", CF, NAME, SURNAME);
    assert_refused("XMARIO12", CF, "mario", "rossi");
    assert_refused("ROSSI123", CF, NULL, SURNAME);
    assert_refused("xmario12", CF, NAME, NULL);
    /* several given names: each counts */
    assert_refused("XGRAZIA1", CF, "Maria Grazia", SURNAME);
    assert_refused("MARIA123", CF, "Maria Grazia", SURNAME);
    /* compound surnames: the words of 3 or more letters */
    assert_refused("ANGELO12", CF, NAME, "D'Angelo");
    assert_refused("LUCA1234", CF, NAME, "De Luca");
    assert_refused("DELUCA12", CF, NAME, "De Luca");
    /* 3 letters is enough, 2 is not */
    assert_refused("XEVA1234", CF, "Eva", SURNAME);
    assert_accepted("XLI12345", CF, "Li", "Bo");
    /* other people's names are not refused */
    assert_accepted("ROSSI123", CF, NAME, "Bianchi");
    assert_accepted("xmario12", CF, "Luigi", SURNAME);
    assert_accepted("ROSSI123", CF, NULL, NULL);
    assert_accepted(GOOD, CF, NAME, SURNAME);
}

/* --- pure: scrypt ----------------------------------------------------------- */

/* The default cost, once: the documented format and a round trip. */
static void test_hash_default_cost(void **state)
{
    struct sp_config *cfg = NULL;
    struct sp_buf err;
    struct sp_pin_params p;
    char h[SP_PIN_HASH_MAX];
    int dollars = 0;
    (void)state;

    sp_buf_init(&err, 1024);
    assert_int_equal(sp_config_load(NULL, &cfg, &err), SP_OK);
    sp_pin_params_of(cfg, &p);
    sp_config_free(&cfg);
    sp_buf_cleanup(&err);
    assert_int_equal(p.scrypt_log2_n, 14);

    assert_int_equal(sp_pin_hash("ABCD1234", p.scrypt_log2_n, h), SP_OK);
    assert_true(strncmp(h, "scrypt$14$8$1$", 14) == 0);
    for (const char *c = h; *c; c++)
        dollars += *c == '$';
    assert_int_equal(dollars, 5);
    assert_true(strlen(h) > 14 + 22 + 1 + 43);
    assert_null(strstr(h, "ABCD1234"));
    assert_true(sp_pin_hash_verify("ABCD1234", h));
    assert_false(sp_pin_hash_verify("ABCD1235", h));
    assert_false(sp_pin_hash_verify("", h));
}

/* The configuration's [pin] section gives the §7 defaults. */
static void test_params_of_defaults(void **state)
{
    struct sp_config *cfg = NULL;
    struct sp_buf err;
    struct sp_pin_params p;
    (void)state;

    sp_buf_init(&err, 1024);
    assert_int_equal(sp_config_load(NULL, &cfg, &err), SP_OK);
    memset(&p, 0xff, sizeof(p));
    sp_pin_params_of(cfg, &p);
    sp_config_free(&cfg);
    sp_buf_cleanup(&err);
    assert_int_equal(p.activation_days, 90);
    assert_int_equal(p.expiry_citizen_days, 180);
    assert_int_equal(p.expiry_intermediary_days, 90);
    assert_int_equal(p.history, 5);
    assert_int_equal(p.inactivity_days, 180);
    assert_int_equal(p.lock_threshold, 10);
    assert_int_equal(p.lock_base_minutes, 5);
    assert_int_equal(p.lock_step_minutes, 5);
    assert_int_equal(p.lock_max_minutes, 60);
}

static void test_hash_salts(void **state)
{
    char a[SP_PIN_HASH_MAX], b[SP_PIN_HASH_MAX];
    (void)state;

    assert_int_equal(sp_pin_hash(GOOD, 10, a), SP_OK);
    assert_int_equal(sp_pin_hash(GOOD, 10, b), SP_OK);
    assert_true(strncmp(a, "scrypt$10$8$1$", 14) == 0);
    assert_string_not_equal(a, b); /* fresh salt each time */
    /* the salts differ, not only the keys */
    assert_true(strncmp(a, b, (size_t)(strrchr(a, '$') - a)) != 0);
    assert_true(sp_pin_hash_verify(GOOD, a));
    assert_true(sp_pin_hash_verify(GOOD, b));
    assert_false(sp_pin_hash_verify(WRONG, a));
    assert_false(sp_pin_hash_verify(GOOD2, b));

    /* cost out of range */
    assert_int_equal(sp_pin_hash(GOOD, 9, a), SP_ERR_INVALID);
    assert_int_equal(sp_pin_hash(GOOD, 21, a), SP_ERR_INVALID);
}

/* The functions work on normalised values: the caller folds case first. */
static void test_hash_normalised(void **state)
{
    char h[SP_PIN_HASH_MAX], n1[SP_PIN_INITIAL_LEN + 1], n2[SP_PIN_INITIAL_LEN + 1];
    (void)state;

    assert_int_equal(sp_pin_normalize(" xk7q2m9p", n1), SP_OK);
    assert_int_equal(sp_pin_normalize("XK7Q2M9P ", n2), SP_OK);
    assert_int_equal(sp_pin_hash(n1, 10, h), SP_OK);
    assert_true(sp_pin_hash_verify(n2, h));
    assert_true(sp_pin_hash_verify(GOOD, h));
    /* the raw lower-case value is a different input */
    assert_false(sp_pin_hash_verify("xk7q2m9p", h));
}

/* Replace the character at i of src by another one of the base64 alphabet. */
static void tamper_at(char *dst, const char *src, size_t i)
{
    snprintf(dst, SP_PIN_HASH_MAX, "%s", src);
    dst[i] = dst[i] == 'A' ? 'B' : 'A';
}

static void test_hash_tampered(void **state)
{
    char h[SP_PIN_HASH_MAX], t[SP_PIN_HASH_MAX + 16];
    const char *salt, *key;
    (void)state;

    assert_int_equal(sp_pin_hash(GOOD, 10, h), SP_OK);
    assert_true(sp_pin_hash_verify(GOOD, h));
    salt = h + strlen("scrypt$10$8$1$");
    key = strrchr(h, '$') + 1;

    tamper_at(t, h, (size_t)(salt - h)); /* salt */
    assert_false(sp_pin_hash_verify(GOOD, t));
    tamper_at(t, h, (size_t)(key - h)); /* derived key */
    assert_false(sp_pin_hash_verify(GOOD, t));
    tamper_at(t, h, (size_t)(key - h) + 10);
    assert_false(sp_pin_hash_verify(GOOD, t));

    /* other parameters than the ones the key was made with */
    snprintf(t, sizeof(t), "scrypt$11$8$1$%s", salt);
    assert_false(sp_pin_hash_verify(GOOD, t));
    snprintf(t, sizeof(t), "scrypt$10$16$1$%s", salt);
    assert_false(sp_pin_hash_verify(GOOD, t));
    snprintf(t, sizeof(t), "scrypt$10$8$2$%s", salt);
    assert_false(sp_pin_hash_verify(GOOD, t));
    snprintf(t, sizeof(t), "scrypt$9$8$1$%s", salt); /* below the floor */
    assert_false(sp_pin_hash_verify(GOOD, t));
    snprintf(t, sizeof(t), "scrypt$40$8$1$%s", salt); /* absurd cost */
    assert_false(sp_pin_hash_verify(GOOD, t));
    snprintf(t, sizeof(t), "bcrypt$10$8$1$%s", salt);
    assert_false(sp_pin_hash_verify(GOOD, t));

    /* shape: truncated key, no key, extra field, empty, NULL */
    snprintf(t, sizeof(t), "%.*s", (int)strlen(h) - 4, h);
    assert_false(sp_pin_hash_verify(GOOD, t));
    snprintf(t, sizeof(t), "%.*s", (int)(key - h), h);
    assert_false(sp_pin_hash_verify(GOOD, t));
    snprintf(t, sizeof(t), "%.*s", (int)(key - h - 1), h);
    assert_false(sp_pin_hash_verify(GOOD, t));
    snprintf(t, sizeof(t), "%sAAAA", h);
    assert_false(sp_pin_hash_verify(GOOD, t));
    snprintf(t, sizeof(t), "%s$AAAA", h);
    assert_false(sp_pin_hash_verify(GOOD, t));
    assert_false(sp_pin_hash_verify(GOOD, ""));
    assert_false(sp_pin_hash_verify(GOOD, "scrypt$$$$$"));
    assert_false(sp_pin_hash_verify(GOOD, NULL));

    /* the original still verifies */
    assert_true(sp_pin_hash_verify(GOOD, h));
}

/* --- pure: lock and period arithmetic (§1.8, §1.7) ------------------------- */

static void test_lock_until(void **state)
{
    struct sp_pin_params p = SP_PIN_PARAMS_DEFAULT;
    const int64_t now = T0;
    (void)state;

    for (unsigned f = 0; f < 10; f++)
        assert_int_equal(sp_pin_lock_until(f, now, &p), 0);
    assert_int_equal(sp_pin_lock_until(10, now, &p), now + 5 * MINUTE);
    assert_int_equal(sp_pin_lock_until(11, now, &p), now + 10 * MINUTE);
    assert_int_equal(sp_pin_lock_until(12, now, &p), now + 15 * MINUTE);
    /* 5 min x (failures - 9), up to 60 */
    for (unsigned f = 10; f <= 21; f++)
        assert_int_equal(sp_pin_lock_until(f, now, &p), now + 5 * MINUTE * (int64_t)(f - 9));
    assert_int_equal(sp_pin_lock_until(22, now, &p), now + 60 * MINUTE);
    assert_int_equal(sp_pin_lock_until(100, now, &p), now + 60 * MINUTE);
    assert_int_equal(sp_pin_lock_until(4000000000u, now, &p), now + 60 * MINUTE);

    /* the 3-minute variant (base 3) */
    p.lock_base_minutes = 3;
    assert_int_equal(sp_pin_lock_until(9, now, &p), 0);
    assert_int_equal(sp_pin_lock_until(10, now, &p), now + 3 * MINUTE);
    assert_int_equal(sp_pin_lock_until(11, now, &p), now + 8 * MINUTE);
    /* a fixed lock (step 0), another threshold and cap */
    p.lock_step_minutes = 0;
    assert_int_equal(sp_pin_lock_until(15, now, &p), now + 3 * MINUTE);
    p.lock_threshold = 3;
    p.lock_base_minutes = 2;
    p.lock_step_minutes = 4;
    p.lock_max_minutes = 12;
    assert_int_equal(sp_pin_lock_until(2, now, &p), 0);
    assert_int_equal(sp_pin_lock_until(3, now, &p), now + 2 * MINUTE);
    assert_int_equal(sp_pin_lock_until(4, now, &p), now + 6 * MINUTE);
    assert_int_equal(sp_pin_lock_until(5, now, &p), now + 10 * MINUTE);
    assert_int_equal(sp_pin_lock_until(6, now, &p), now + 12 * MINUTE);
    assert_int_equal(sp_pin_lock_until(7, now + 1, &p), now + 1 + 12 * MINUTE);
}

static void test_period(void **state)
{
    struct sp_pin_params p = SP_PIN_PARAMS_DEFAULT;
    (void)state;

    assert_int_equal(sp_pin_period(false, &p), 180 * DAY);
    assert_int_equal(sp_pin_period(true, &p), 90 * DAY);
    p.expiry_citizen_days = 365;
    p.expiry_intermediary_days = 30;
    assert_int_equal(sp_pin_period(false, &p), 365 * DAY);
    assert_int_equal(sp_pin_period(true, &p), 30 * DAY);
}

/* --- store: issue and first login (§1.3-§1.5) ------------------------------ */

static void test_issue_info(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct sp_pin_info info;
    char value[SP_PIN_INITIAL_LEN + 1], sql[256];

    add_person(f->db, CF);
    assert_int_equal(sp_pin_info(f->db, CF, T0, &p, &info), SP_OK);
    assert_int_equal(info.state, SP_PIN_NONE);

    issue(f->db, CF, "online", false, T0, &p, value);
    assert_int_equal(sp_pin_info(f->db, CF, T0 + 1, &p, &info), SP_OK);
    assert_int_equal(info.state, SP_PIN_ISSUED);
    assert_true(info.id > 0);
    assert_false(info.dispositive);
    assert_string_equal(info.channel, "online");
    assert_int_equal(info.issued_at, T0);
    assert_int_equal(info.activate_by, T0 + 90 * DAY);
    assert_int_equal(info.failures, 0);
    assert_int_equal(info.locked_until, 0);
    assert_int_equal(info.changed_at, 0);

    /* only a slow hash is stored, never the value */
    assert_int_equal(
        query_int(f->db, "SELECT count(*) FROM pins WHERE hash LIKE 'scrypt$10$8$1$%'"), 1);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pins WHERE instr(hash, '%s') > 0", value);
    assert_int_equal(query_int(f->db, sql), 0);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pins WHERE instr(hash, '%.8s') > 0", value);
    assert_int_equal(query_int(f->db, sql), 0);

    /* another person has no PIN */
    add_person(f->db, CF2);
    assert_int_equal(sp_pin_info(f->db, CF2, T0, &p, &info), SP_OK);
    assert_int_equal(info.state, SP_PIN_NONE);

    /* a custom activation window */
    p.activation_days = 30;
    issue(f->db, CF2, "office", true, T0 + DAY, &p, value);
    assert_int_equal(sp_pin_info(f->db, CF2, T0 + DAY, &p, &info), SP_OK);
    assert_int_equal(info.state, SP_PIN_ISSUED);
    assert_int_equal(info.activate_by, T0 + 31 * DAY);
    assert_true(info.dispositive);
    assert_string_equal(info.channel, "office");
}

/* The person must exist: nothing is issued (and no value handed out) otherwise. */
static void test_issue_unknown_person(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    char value[SP_PIN_INITIAL_LEN + 1];

    memset(value, 'x', sizeof(value));
    assert_int_not_equal(sp_pin_issue(f->db, CF, "online", false, T0, &p, value), SP_OK);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM pins"), 0);
    assert_int_equal(value[0], '\0');
}

/* Issuance joins the caller's transaction: a rollback leaves no PIN. */
static void test_issue_in_transaction(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct sp_pin_info info;
    struct sp_pin_login out;
    char value[SP_PIN_INITIAL_LEN + 1];

    add_person(f->db, CF);
    assert_int_equal(sp_db_begin(f->db), SP_OK);
    issue(f->db, CF, "online", false, T0, &p, value);
    sp_db_rollback(f->db);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM pins"), 0);
    assert_int_equal(sp_pin_info(f->db, CF, T0, &p, &info), SP_OK);
    assert_int_equal(info.state, SP_PIN_NONE);
    assert_int_equal(check(f->db, CF, value, false, T0, &p, &out), SP_PIN_DENIED);

    assert_int_equal(sp_db_begin(f->db), SP_OK);
    issue(f->db, CF, "online", false, T0, &p, value);
    assert_int_equal(sp_db_commit(f->db), SP_OK);
    assert_int_equal(sp_pin_info(f->db, CF, T0, &p, &info), SP_OK);
    assert_int_equal(info.state, SP_PIN_ISSUED);
    assert_int_equal(check(f->db, CF, value, false, T0, &p, &out), SP_PIN_MUST_CHANGE);
}

static void test_initial_check(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct sp_pin_login out;
    struct sp_pin_info info;
    char value[SP_PIN_INITIAL_LEN + 1], typed[64];
    int64_t t = T0 + DAY;

    add_person(f->db, CF);
    issue(f->db, CF, "online", false, T0, &p, value);

    assert_int_equal(check(f->db, CF, value, false, t, &p, &out), SP_PIN_MUST_CHANGE);
    assert_int_equal(out.failures, 0);
    assert_false(out.dispositive);
    assert_false(out.disabled);

    /* case and surrounding spaces do not matter */
    for (size_t i = 0; i < SP_PIN_INITIAL_LEN; i++)
        typed[i] = (char)tolower((unsigned char)value[i]);
    typed[SP_PIN_INITIAL_LEN] = '\0';
    assert_int_equal(check(f->db, CF, typed, false, t, &p, &out), SP_PIN_MUST_CHANGE);
    snprintf(typed, sizeof(typed), "  %s ", value);
    assert_int_equal(check(f->db, CF, typed, false, t, &p, &out), SP_PIN_MUST_CHANGE);

    /* a wrong 16, one half, the halves swapped, the halves with a space */
    snprintf(typed, sizeof(typed), "%s", value);
    typed[15] = typed[15] == '0' ? '1' : '0';
    assert_int_equal(check(f->db, CF, typed, false, t, &p, &out), SP_PIN_DENIED);
    assert_int_equal(out.failures, 1);
    snprintf(typed, sizeof(typed), "%.8s", value);
    assert_int_equal(check(f->db, CF, typed, false, t, &p, &out), SP_PIN_DENIED);
    assert_int_equal(out.failures, 2);
    snprintf(typed, sizeof(typed), "%s%.8s", value + 8, value);
    if (strcmp(typed, value) != 0) {
        assert_int_equal(check(f->db, CF, typed, false, t, &p, &out), SP_PIN_DENIED);
        assert_int_equal(out.failures, 3);
    }
    snprintf(typed, sizeof(typed), "%.8s %s", value, value + 8);
    assert_int_equal(check(f->db, CF, typed, false, t, &p, &out), SP_PIN_DENIED);
    assert_int_equal(check(f->db, CF, "", false, t, &p, &out), SP_PIN_DENIED);
    assert_int_equal(check(f->db, CF, NULL, false, t, &p, &out), SP_PIN_DENIED);
    assert_int_equal(sp_pin_info(f->db, CF, t, &p, &info), SP_OK);
    assert_true(info.failures >= 5);
    assert_int_equal(info.state, SP_PIN_ISSUED);

    /* the right one resets the count; the state stays ISSUED until the change */
    assert_int_equal(check(f->db, CF, value, false, t, &p, &out), SP_PIN_MUST_CHANGE);
    assert_int_equal(out.failures, 0);
    assert_int_equal(sp_pin_info(f->db, CF, t, &p, &info), SP_OK);
    assert_int_equal(info.state, SP_PIN_ISSUED);
    assert_int_equal(info.failures, 0);
    assert_int_equal(info.last_used_at, t);
}

/* An 8-character value is refused on an initial PIN, even the right first half. */
static void test_initial_eight_refused(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct sp_pin_login out;
    char value[SP_PIN_INITIAL_LEN + 1], half[SP_PIN_HALF_LEN + 1];

    add_person(f->db, CF);
    issue(f->db, CF, "online", false, T0, &p, value);
    snprintf(half, sizeof(half), "%.8s", value);
    assert_int_equal(check(f->db, CF, half, false, T0, &p, &out), SP_PIN_DENIED);
    assert_int_equal(check(f->db, CF, value + 8, false, T0, &p, &out), SP_PIN_DENIED);
    assert_int_equal(check(f->db, CF, GOOD, false, T0, &p, &out), SP_PIN_DENIED);
    assert_int_equal(out.failures, 3);
}

/* §1.4: the 16-character value lapses at the activation deadline. */
static void test_activation_deadline(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct sp_pin_login out;
    struct sp_pin_info info;
    const char *why = NULL;
    char value[SP_PIN_INITIAL_LEN + 1], reason[32];
    const int64_t deadline = T0 + 90 * DAY;

    add_person(f->db, CF);
    issue(f->db, CF, "online", false, T0, &p, value);

    assert_int_equal(sp_pin_info(f->db, CF, deadline - 1, &p, &info), SP_OK);
    assert_int_equal(info.state, SP_PIN_ISSUED);
    assert_int_equal(check(f->db, CF, value, false, deadline - 1, &p, &out), SP_PIN_MUST_CHANGE);
    assert_int_equal(sp_pin_info(f->db, CF, deadline, &p, &info), SP_OK);
    assert_int_equal(info.state, SP_PIN_NONE);

    /* the right value at the deadline: denied, and the PIN is void */
    assert_int_equal(check(f->db, CF, value, false, deadline, &p, &out), SP_PIN_DENIED);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM pins WHERE ended_at IS NULL"), 0);
    query_text(f->db, "SELECT end_reason FROM pins WHERE user_cf = ?1", CF, reason, sizeof(reason));
    assert_string_equal(reason, "void");
    assert_int_equal(query_int(f->db, "SELECT ended_at FROM pins"), deadline);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM pins WHERE hash IS NOT NULL"), 0);
    assert_int_equal(sp_pin_info(f->db, CF, deadline, &p, &info), SP_OK);
    assert_int_equal(info.state, SP_PIN_NONE);

    /* and stays so: no login, no change */
    assert_int_equal(check(f->db, CF, value, false, deadline + 2, &p, &out), SP_PIN_DENIED);
    assert_int_equal(change(f->db, CF, value, GOOD, deadline + 2, &p, &out, &why), SP_ERR_DENIED);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM pins"), 1);

    /* a new request works again */
    issue(f->db, CF, "online", false, deadline + 3, &p, value);
    assert_int_equal(check(f->db, CF, value, false, deadline + 3, &p, &out), SP_PIN_MUST_CHANGE);
}

/* --- store: choosing the personal PIN (§1.5, §1.6) ------------------------- */

static void test_change_rules(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct sp_pin_login out;
    struct sp_pin_info info;
    const char *why;
    char value[SP_PIN_INITIAL_LEN + 1], wrong[SP_PIN_INITIAL_LEN + 1];
    static const char *const bad[] = {"RSSMRA80", "a01h501u",  "12345678", "ABCDEFGH",
                                      "87654321", "AAAAAAAA",  "ROSSI123", "xmario12",
                                      "ABC1234",  "ABCD12345", "ABCD-123", ""};
    int64_t t = T0 + DAY;

    add_person(f->db, CF);
    issue(f->db, CF, "online", false, T0, &p, value);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        assert_int_equal(change(f->db, CF, value, bad[i], t, &p, &out, &why), SP_ERR_INVALID);
        assert_non_null(why);
    }
    assert_int_equal(sp_pin_info(f->db, CF, t, &p, &info), SP_OK);
    assert_int_equal(info.state, SP_PIN_ISSUED);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM pin_history"), 0);

    /* the wrong current PIN: denied, counted, nothing set */
    snprintf(wrong, sizeof(wrong), "%s", value);
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    assert_int_equal(change(f->db, CF, wrong, GOOD, t, &p, &out, &why), SP_ERR_DENIED);
    assert_int_equal(out.outcome, SP_PIN_DENIED);
    assert_int_equal(out.failures, 1);
    assert_int_equal(sp_pin_info(f->db, CF, t, &p, &info), SP_OK);
    assert_int_equal(info.state, SP_PIN_ISSUED);
    assert_int_equal(check(f->db, CF, GOOD, false, t, &p, &out), SP_PIN_DENIED);

    /* success, typed in lower case */
    why = "unset";
    assert_int_equal(change(f->db, CF, value, "xk7q2m9p", t + 10, &p, &out, &why), SP_OK);
    assert_null(why);
    assert_int_equal(out.outcome, SP_PIN_OK);
    assert_int_equal(sp_pin_info(f->db, CF, t + 10, &p, &info), SP_OK);
    assert_int_equal(info.state, SP_PIN_ACTIVE);
    assert_int_equal(info.changed_at, t + 10);
    assert_int_equal(info.last_used_at, t + 10);
    assert_int_equal(info.failures, 0);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM pin_history"), 1);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM pins WHERE initial = 0"), 1);

    /* the personal PIN works in any case; the 16 characters no longer */
    assert_int_equal(check(f->db, CF, GOOD, false, t + 20, &p, &out), SP_PIN_OK);
    assert_int_equal(out.failures, 0);
    assert_int_equal(check(f->db, CF, " xk7q2M9p ", false, t + 21, &p, &out), SP_PIN_OK);
    assert_int_equal(check(f->db, CF, value, false, t + 22, &p, &out), SP_PIN_DENIED);
    assert_int_equal(check(f->db, CF, WRONG, false, t + 23, &p, &out), SP_PIN_DENIED);
    assert_int_equal(check(f->db, CF, GOOD, false, t + 24, &p, &out), SP_PIN_OK);

    /* the same PIN again (any case) is not a change */
    why = NULL;
    assert_int_equal(change(f->db, CF, GOOD, "xk7q2m9p", t + 30, &p, &out, &why), SP_ERR_INVALID);
    assert_non_null(why);
    /* a voluntary change of an active PIN */
    assert_int_equal(change(f->db, CF, GOOD, GOOD2, t + 40, &p, &out, &why), SP_OK);
    assert_int_equal(check(f->db, CF, GOOD, false, t + 50, &p, &out), SP_PIN_DENIED);
    assert_int_equal(check(f->db, CF, GOOD2, false, t + 51, &p, &out), SP_PIN_OK);
    assert_int_equal(sp_pin_info(f->db, CF, t + 51, &p, &info), SP_OK);
    assert_int_equal(info.changed_at, t + 40);
}

/* The rules use the names the caller gives. */
static void test_change_names(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct sp_pin_login out;
    const char *why = NULL;
    char value[SP_PIN_INITIAL_LEN + 1];

    add_person(f->db, CF);
    issue(f->db, CF, "online", false, T0, &p, value);
    assert_int_equal(
        sp_pin_change(f->db, CF, value, "BIANCHI1", false, "Luigi", "Bianchi", T0, &p, &out, &why),
        SP_ERR_INVALID);
    assert_non_null(why);
    assert_int_equal(
        sp_pin_change(f->db, CF, value, "LUIGI123", false, "Luigi", "Bianchi", T0, &p, &out, &why),
        SP_ERR_INVALID);
    assert_int_equal(
        sp_pin_change(f->db, CF, value, "ROSSI123", false, "Luigi", "Bianchi", T0, &p, &out, &why),
        SP_OK);
    assert_int_equal(check(f->db, CF, "rossi123", false, T0 + 1, &p, &out), SP_PIN_OK);
}

/* --- store: expiry and renewal (§1.7) --------------------------------------- */

static void test_expiry_citizen(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct sp_pin_login out;
    const int64_t t1 = T0 + DAY;

    add_person(f->db, CF);
    activate(f->db, CF, GOOD, t1, &p);

    assert_int_equal(check(f->db, CF, GOOD, false, t1 + 180 * DAY - 1, &p, &out), SP_PIN_OK);
    assert_false(out.intermediary);
    assert_int_equal(check(f->db, CF, GOOD, false, t1 + 180 * DAY, &p, &out), SP_PIN_MUST_RENEW);
    /* renewal is due until it is done; a wrong PIN is still wrong */
    assert_int_equal(check(f->db, CF, GOOD, false, t1 + 181 * DAY, &p, &out), SP_PIN_MUST_RENEW);
    assert_int_equal(check(f->db, CF, WRONG, false, t1 + 181 * DAY, &p, &out), SP_PIN_DENIED);
    /* the 3-month period for an intermediary/professional */
    assert_int_equal(check(f->db, CF, GOOD, true, t1 + 181 * DAY, &p, &out), SP_PIN_MUST_RENEW);
    assert_true(out.intermediary);
}

static void test_expiry_intermediary(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct sp_pin_login out;
    const int64_t t1 = T0 + DAY;

    add_person(f->db, CF);
    activate(f->db, CF, GOOD, t1, &p);

    assert_int_equal(check(f->db, CF, GOOD, true, t1 + 90 * DAY - 1, &p, &out), SP_PIN_OK);
    assert_true(out.intermediary);
    assert_int_equal(check(f->db, CF, GOOD, true, t1 + 90 * DAY, &p, &out), SP_PIN_MUST_RENEW);
    assert_true(out.intermediary);
    /* the same PIN is still within the citizen period */
    assert_int_equal(check(f->db, CF, GOOD, false, t1 + 90 * DAY, &p, &out), SP_PIN_OK);

    /* custom periods (another person, activated at the same time) */
    p.expiry_intermediary_days = 30;
    p.expiry_citizen_days = 100;
    add_person(f->db, CF2);
    activate(f->db, CF2, GOOD, t1, &p);
    assert_int_equal(check(f->db, CF2, GOOD, true, t1 + 30 * DAY - 1, &p, &out), SP_PIN_OK);
    assert_int_equal(check(f->db, CF2, GOOD, true, t1 + 30 * DAY, &p, &out), SP_PIN_MUST_RENEW);
    assert_int_equal(check(f->db, CF2, GOOD, false, t1 + 100 * DAY - 1, &p, &out), SP_PIN_OK);
    assert_int_equal(check(f->db, CF2, GOOD, false, t1 + 100 * DAY, &p, &out), SP_PIN_MUST_RENEW);
}

static void test_renewal(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct sp_pin_login out;
    struct sp_pin_info info;
    const char *why = NULL;
    const int64_t t1 = T0 + DAY, t2 = t1 + 180 * DAY;

    add_person(f->db, CF);
    activate(f->db, CF, GOOD, t1, &p);
    assert_int_equal(check(f->db, CF, GOOD, false, t2, &p, &out), SP_PIN_MUST_RENEW);

    /* renewal: the expired PIN is accepted as the current one; rules apply */
    assert_int_equal(change(f->db, CF, GOOD, "RSSMRA80", t2 + 60, &p, &out, &why), SP_ERR_INVALID);
    assert_int_equal(change(f->db, CF, GOOD, GOOD, t2 + 60, &p, &out, &why), SP_ERR_INVALID);
    assert_int_equal(change(f->db, CF, WRONG, GOOD2, t2 + 60, &p, &out, &why), SP_ERR_DENIED);
    assert_int_equal(change(f->db, CF, GOOD, GOOD2, t2 + 60, &p, &out, &why), SP_OK);
    assert_int_equal(out.outcome, SP_PIN_OK);
    assert_int_equal(sp_pin_info(f->db, CF, t2 + 60, &p, &info), SP_OK);
    assert_int_equal(info.state, SP_PIN_ACTIVE);
    assert_int_equal(info.changed_at, t2 + 60);

    /* the old PIN no longer works, the new one does, with a fresh period */
    assert_int_equal(check(f->db, CF, GOOD, false, t2 + 120, &p, &out), SP_PIN_DENIED);
    assert_int_equal(check(f->db, CF, GOOD2, false, t2 + 121, &p, &out), SP_PIN_OK);
    assert_int_equal(check(f->db, CF, GOOD2, false, t2 + 100 * DAY, &p, &out), SP_PIN_OK);
    assert_int_equal(check(f->db, CF, GOOD2, false, t2 + 60 + 180 * DAY, &p, &out),
                     SP_PIN_MUST_RENEW);
}

/* §1.6 rule 5: not the current PIN nor one of the last history (5) previous ones. */
static void test_history(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct sp_pin_login out;
    const char *why = NULL;
    static const char *const pins[] = {"QW3RT9ZP", "HJ4KL8MN", "ZX5CV7BN", "PL9OK8IJ",
                                       "UY6TR5EW", "GF2DS4AQ", "MN8BV3CX"};
    int64_t t = T0;

    assert_int_equal(p.history, 5);
    add_person(f->db, CF);
    /* pins[0] .. pins[6] in turn, one a day: pins[6] is current, 6 previous ones */
    activate(f->db, CF, pins[0], t, &p);
    for (int i = 1; i < 7; i++) {
        t += DAY;
        why = NULL;
        assert_int_equal(change(f->db, CF, pins[i - 1], pins[i], t, &p, &out, &why), SP_OK);
    }
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM pin_history"), 7);
    t += DAY;

    /* the current one and the 5 before it are refused */
    for (int i = 6; i >= 1; i--) {
        enum sp_err rc;
        why = NULL;
        rc = change(f->db, CF, pins[6], pins[i], t, &p, &out, &why);
        if (rc != SP_ERR_INVALID)
            fprintf(stderr, "history: reuse of pins[%d] (%d changes ago) accepted\n", i, 6 - i);
        assert_int_equal(rc, SP_ERR_INVALID);
        assert_non_null(why);
        assert_int_equal(check(f->db, CF, pins[6], false, t, &p, &out), SP_PIN_OK);
    }
    /* the 6th previous one is allowed again */
    why = NULL;
    assert_int_equal(change(f->db, CF, pins[6], pins[0], t, &p, &out, &why), SP_OK);
    assert_int_equal(check(f->db, CF, pins[0], false, t + 1, &p, &out), SP_PIN_OK);
    assert_int_equal(check(f->db, CF, pins[6], false, t + 2, &p, &out), SP_PIN_DENIED);
}

/* A smaller history: history 1 refuses the current and the one before. */
static void test_history_param(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct sp_pin_login out;
    const char *why = NULL;

    p.history = 1;
    add_person(f->db, CF);
    activate(f->db, CF, GOOD, T0, &p);
    assert_int_equal(change(f->db, CF, GOOD, GOOD2, T0 + DAY, &p, &out, &why), SP_OK);
    assert_int_equal(change(f->db, CF, GOOD2, GOOD2, T0 + 2 * DAY, &p, &out, &why), SP_ERR_INVALID);
    assert_int_equal(change(f->db, CF, GOOD2, GOOD, T0 + 2 * DAY, &p, &out, &why), SP_ERR_INVALID);
    assert_int_equal(change(f->db, CF, GOOD2, "HJ4KL8MN", T0 + 3 * DAY, &p, &out, &why), SP_OK);
    assert_int_equal(change(f->db, CF, "HJ4KL8MN", GOOD, T0 + 4 * DAY, &p, &out, &why), SP_OK);
}

/* history 0: only the current PIN is refused. */
static void test_history_zero(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct sp_pin_login out;
    const char *why = NULL;

    p.history = 0;
    add_person(f->db, CF);
    activate(f->db, CF, GOOD, T0, &p);
    assert_int_equal(change(f->db, CF, GOOD, "xk7q2m9p", T0 + DAY, &p, &out, &why), SP_ERR_INVALID);
    assert_non_null(why);
    assert_int_equal(change(f->db, CF, GOOD, GOOD2, T0 + 2 * DAY, &p, &out, &why), SP_OK);
    assert_int_equal(change(f->db, CF, GOOD2, GOOD, T0 + 3 * DAY, &p, &out, &why), SP_OK);
    assert_int_equal(check(f->db, CF, GOOD, false, T0 + 4 * DAY, &p, &out), SP_PIN_OK);
}

/* --- store: lockout (§1.8) --------------------------------------------------- */

static void test_lockout(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct sp_pin_login out;
    struct sp_pin_info info;
    const int64_t t = T0 + 1000;

    add_person(f->db, CF);
    activate(f->db, CF, GOOD, T0, &p);

    /* the count is of consecutive failures: a right PIN resets it */
    for (unsigned i = 1; i <= 5; i++) {
        assert_int_equal(check(f->db, CF, WRONG, false, t, &p, &out), SP_PIN_DENIED);
        assert_int_equal(out.failures, i);
    }
    assert_int_equal(check(f->db, CF, GOOD, false, t, &p, &out), SP_PIN_OK);
    assert_int_equal(out.failures, 0);

    /* 9 wrong: not locked */
    for (unsigned i = 1; i <= 9; i++) {
        assert_int_equal(check(f->db, CF, WRONG, false, t, &p, &out), SP_PIN_DENIED);
        assert_int_equal(out.failures, i);
        assert_int_equal(out.locked_until, 0);
    }
    assert_int_equal(sp_pin_info(f->db, CF, t, &p, &info), SP_OK);
    assert_int_equal(info.failures, 9);
    assert_int_equal(info.locked_until, 0);

    /* the 10th wrong one is checked and locks for 5 minutes */
    assert_int_equal(check(f->db, CF, WRONG, false, t, &p, &out), SP_PIN_DENIED);
    assert_int_equal(out.failures, 10);
    assert_int_equal(out.locked_until, t + 5 * MINUTE);
    assert_int_equal(sp_pin_info(f->db, CF, t, &p, &info), SP_OK);
    assert_int_equal(info.failures, 10);
    assert_int_equal(info.locked_until, t + 5 * MINUTE);
    assert_int_equal(info.state, SP_PIN_ACTIVE);

    /* the right PIN during the lock is not even checked; the attempt counts
     * and extends the lock: 5 min x (failures - 9) from now */
    assert_int_equal(check(f->db, CF, GOOD, false, t + 1, &p, &out), SP_PIN_LOCKED);
    assert_int_equal(out.failures, 11);
    assert_int_equal(out.locked_until, t + 1 + 10 * MINUTE);
    assert_int_equal(check(f->db, CF, WRONG, false, t + 2, &p, &out), SP_PIN_LOCKED);
    assert_int_equal(out.failures, 12);
    assert_int_equal(out.locked_until, t + 2 + 15 * MINUTE);
    assert_int_equal(check(f->db, CF, GOOD, false, t + 2 + 15 * MINUTE - 1, &p, &out),
                     SP_PIN_LOCKED);
    assert_int_equal(out.failures, 13);
    assert_int_equal(out.locked_until, t + 2 + 15 * MINUTE - 1 + 20 * MINUTE);
    assert_int_equal(sp_pin_info(f->db, CF, t + 3, &p, &info), SP_OK);
    assert_int_equal(info.failures, 13);
    assert_int_equal(info.locked_until, t + 1 + 35 * MINUTE);
    assert_int_equal(query_int(f->db, "SELECT failures FROM pins WHERE ended_at IS NULL"), 13);

    /* after the lock one attempt is checked; a wrong one locks again for
     * 5 min x (14 - 9) = 25 min */
    const int64_t t2 = t + 1 + 35 * MINUTE;
    assert_int_equal(check(f->db, CF, WRONG, false, t2, &p, &out), SP_PIN_DENIED);
    assert_int_equal(out.failures, 14);
    assert_int_equal(out.locked_until, t2 + 25 * MINUTE);
    assert_int_equal(check(f->db, CF, GOOD, false, t2 + 25 * MINUTE - 1, &p, &out), SP_PIN_LOCKED);
    assert_int_equal(out.failures, 15);
    assert_int_equal(out.locked_until, t2 + 25 * MINUTE - 1 + 30 * MINUTE);

    /* a right PIN after the lock: accepted, count and lock cleared */
    const int64_t t3 = t2 + 55 * MINUTE - 1;
    assert_int_equal(check(f->db, CF, GOOD, false, t3, &p, &out), SP_PIN_OK);
    assert_int_equal(out.failures, 0);
    assert_int_equal(out.locked_until, 0);
    assert_int_equal(sp_pin_info(f->db, CF, t3, &p, &info), SP_OK);
    assert_int_equal(info.failures, 0);
    assert_int_equal(info.locked_until, 0);
    assert_int_equal(info.last_used_at, t3);

    /* counting starts over: 9 wrong again do not lock */
    for (unsigned i = 1; i <= 9; i++)
        assert_int_equal(check(f->db, CF, WRONG, false, t3 + i, &p, &out), SP_PIN_DENIED);
    assert_int_equal(check(f->db, CF, GOOD, false, t3 + 10, &p, &out), SP_PIN_OK);
}

/* The lock is capped at 60 minutes however many attempts. */
static void test_lock_cap(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct sp_pin_login out;
    unsigned denied = 0, locked = 0;
    const int64_t t = T0 + 1000;

    add_person(f->db, CF);
    activate(f->db, CF, GOOD, T0, &p);
    for (int i = 0; i < 40; i++) {
        enum sp_pin_outcome o = check(f->db, CF, WRONG, false, t, &p, &out);
        denied += o == SP_PIN_DENIED;
        locked += o == SP_PIN_LOCKED;
    }
    assert_int_equal(denied, 10);
    assert_int_equal(locked, 30);
    assert_int_equal(out.failures, 40);
    assert_int_equal(out.locked_until, t + 60 * MINUTE);
    assert_int_equal(check(f->db, CF, GOOD, false, t + 60 * MINUTE - 1, &p, &out), SP_PIN_LOCKED);
    assert_int_equal(out.locked_until, t + 60 * MINUTE - 1 + 60 * MINUTE);
    assert_int_equal(check(f->db, CF, GOOD, false, t + 120 * MINUTE - 1, &p, &out), SP_PIN_OK);
}

/* The 3-minute variant, through the store. */
static void test_lock_custom(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct sp_pin_login out;
    const int64_t t = T0 + 1000;

    p.lock_threshold = 3;
    p.lock_base_minutes = 3;
    p.lock_step_minutes = 3;
    add_person(f->db, CF);
    activate(f->db, CF, GOOD, T0, &p);
    assert_int_equal(check(f->db, CF, WRONG, false, t, &p, &out), SP_PIN_DENIED);
    assert_int_equal(check(f->db, CF, WRONG, false, t, &p, &out), SP_PIN_DENIED);
    assert_int_equal(out.locked_until, 0);
    assert_int_equal(check(f->db, CF, WRONG, false, t, &p, &out), SP_PIN_DENIED);
    assert_int_equal(out.locked_until, t + 3 * MINUTE);
    assert_int_equal(check(f->db, CF, GOOD, false, t + 3 * MINUTE - 1, &p, &out), SP_PIN_LOCKED);
    assert_int_equal(out.locked_until, t + 3 * MINUTE - 1 + 6 * MINUTE);
    assert_int_equal(check(f->db, CF, GOOD, false, t + 9 * MINUTE - 1, &p, &out), SP_PIN_OK);
}

/* A locked PIN cannot be changed, even with the right current PIN. */
static void test_change_while_locked(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct sp_pin_login out;
    const char *why = NULL;
    const int64_t t = T0 + 1000;

    add_person(f->db, CF);
    activate(f->db, CF, GOOD, T0, &p);
    for (int i = 0; i < 10; i++)
        assert_int_equal(check(f->db, CF, WRONG, false, t, &p, &out), SP_PIN_DENIED);
    assert_int_equal(change(f->db, CF, GOOD, GOOD2, t + 1, &p, &out, &why), SP_ERR_DENIED);
    assert_int_equal(out.outcome, SP_PIN_LOCKED);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM pin_history"), 1);
    assert_int_equal(check(f->db, CF, GOOD, false, t + 60 * MINUTE, &p, &out), SP_PIN_OK);
    assert_int_equal(check(f->db, CF, GOOD2, false, t + 60 * MINUTE + 1, &p, &out), SP_PIN_DENIED);
}

/* --- store: concurrency ------------------------------------------------------ */

#define N_THREADS 8
#define PER_THREAD 5

struct brute {
    struct sp_db *db;
    const struct sp_pin_params *p;
    pthread_barrier_t *start;
    unsigned denied, locked, other, errors;
};

static void *brute_run(void *arg)
{
    struct brute *b = arg;
    struct sp_pin_login out;

    pthread_barrier_wait(b->start);
    for (int i = 0; i < PER_THREAD; i++) {
        if (sp_pin_check(b->db, CF, WRONG, false, T0 + 1000, b->p, &out) != SP_OK)
            b->errors++;
        else if (out.outcome == SP_PIN_DENIED)
            b->denied++;
        else if (out.outcome == SP_PIN_LOCKED)
            b->locked++;
        else
            b->other++;
    }
    return NULL;
}

/* 8 threads, 40 wrong attempts at the same instant: exactly the threshold
 * of them are checked, every one is counted. */
static void test_concurrent_lock(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct brute b[N_THREADS];
    pthread_t th[N_THREADS];
    pthread_barrier_t start;
    unsigned denied = 0, locked = 0, other = 0, errors = 0;

    add_person(f->db, CF);
    activate(f->db, CF, GOOD, T0, &p);
    assert_int_equal(pthread_barrier_init(&start, NULL, N_THREADS), 0);
    for (int i = 0; i < N_THREADS; i++) {
        memset(&b[i], 0, sizeof(b[i]));
        b[i].db = f->db;
        b[i].p = &p;
        b[i].start = &start;
        assert_int_equal(pthread_create(&th[i], NULL, brute_run, &b[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        denied += b[i].denied;
        locked += b[i].locked;
        other += b[i].other;
        errors += b[i].errors;
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(errors, 0);
    assert_int_equal(other, 0);
    assert_int_equal(denied, 10);
    assert_int_equal(locked, N_THREADS * PER_THREAD - 10);
    assert_int_equal(query_int(f->db, "SELECT failures FROM pins WHERE ended_at IS NULL"),
                     N_THREADS * PER_THREAD);
    assert_int_equal(query_int(f->db, "SELECT locked_until FROM pins WHERE ended_at IS NULL"),
                     T0 + 1000 + 60 * MINUTE);
}

/* --- store: inactivity (§1.7) ------------------------------------------------ */

static void test_inactivity(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct sp_pin_login out;
    struct sp_pin_info info;
    const char *why = NULL;
    char value[SP_PIN_INITIAL_LEN + 1];
    const int64_t t1 = T0 + DAY, t2 = t1 + 181 * DAY;

    add_person(f->db, CF);
    activate(f->db, CF, GOOD, t1, &p);
    assert_int_equal(sp_pin_info(f->db, CF, t1 + 180 * DAY, &p, &info), SP_OK);
    assert_int_equal(info.state, SP_PIN_ACTIVE);
    assert_int_equal(sp_pin_info(f->db, CF, t2, &p, &info), SP_OK);
    assert_int_equal(info.state, SP_PIN_DISABLED);

    /* a wrong PIN says nothing more than denied */
    assert_int_equal(check(f->db, CF, WRONG, false, t2, &p, &out), SP_PIN_DENIED);
    assert_false(out.disabled);
    /* the right one: denied, recovery needed */
    assert_int_equal(check(f->db, CF, GOOD, false, t2, &p, &out), SP_PIN_DENIED);
    assert_true(out.disabled);
    assert_int_equal(sp_pin_info(f->db, CF, t2 + 1, &p, &info), SP_OK);
    assert_int_equal(info.state, SP_PIN_DISABLED);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM pins WHERE state = 'disabled'"), 1);
    /* using it does not revive it */
    assert_int_equal(check(f->db, CF, GOOD, false, t2 + 2, &p, &out), SP_PIN_DENIED);
    assert_true(out.disabled);
    assert_int_equal(change(f->db, CF, GOOD, GOOD2, t2 + 3, &p, &out, &why), SP_ERR_DENIED);
    assert_int_equal(sp_pin_info(f->db, CF, t2 + 4, &p, &info), SP_OK);
    assert_int_equal(info.state, SP_PIN_DISABLED);

    /* recovery gives a new initial value */
    issue(f->db, CF, "recovery", false, t2 + 5, &p, value);
    assert_int_equal(sp_pin_info(f->db, CF, t2 + 5, &p, &info), SP_OK);
    assert_int_equal(info.state, SP_PIN_ISSUED);
    assert_int_equal(check(f->db, CF, value, false, t2 + 6, &p, &out), SP_PIN_MUST_CHANGE);
    assert_false(out.disabled);
    assert_int_equal(change(f->db, CF, value, GOOD2, t2 + 7, &p, &out, &why), SP_OK);
    assert_int_equal(check(f->db, CF, GOOD2, false, t2 + 8, &p, &out), SP_PIN_OK);
}

/* Use keeps it alive: 180 days counted from the last use, not the change. */
static void test_inactivity_from_last_use(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct sp_pin_login out;
    struct sp_pin_info info;
    const int64_t t1 = T0 + DAY;

    add_person(f->db, CF);
    activate(f->db, CF, GOOD, t1, &p);
    assert_int_equal(check(f->db, CF, GOOD, false, t1 + 100 * DAY, &p, &out), SP_PIN_OK);
    /* 280 days after the change, 180 after the last use: expired, not disabled */
    assert_int_equal(sp_pin_info(f->db, CF, t1 + 280 * DAY, &p, &info), SP_OK);
    assert_int_equal(info.state, SP_PIN_ACTIVE);
    assert_int_equal(check(f->db, CF, GOOD, false, t1 + 280 * DAY, &p, &out), SP_PIN_MUST_RENEW);
    assert_false(out.disabled);
    /* wrong PINs are not a use */
    assert_int_equal(check(f->db, CF, WRONG, false, t1 + 400 * DAY, &p, &out), SP_PIN_DENIED);
    assert_int_equal(check(f->db, CF, GOOD, false, t1 + 461 * DAY, &p, &out), SP_PIN_DENIED);
    assert_true(out.disabled);
}

/* --- store: recovery, office, conversion, revocation (§1.10, §1.11) -------- */

static void test_recovery_keeps_dispositive(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct sp_pin_login out;
    struct sp_pin_info info;
    const char *why = NULL;
    char office[SP_PIN_INITIAL_LEN + 1], value[SP_PIN_INITIAL_LEN + 1], reason[32];
    const int64_t t = T0 + DAY;

    add_person(f->db, CF);
    issue(f->db, CF, "office", true, T0, &p, office);
    assert_int_equal(sp_pin_info(f->db, CF, T0, &p, &info), SP_OK);
    assert_true(info.dispositive);
    assert_string_equal(info.channel, "office");
    assert_int_equal(check(f->db, CF, office, false, T0, &p, &out), SP_PIN_MUST_CHANGE);
    assert_true(out.dispositive);
    assert_int_equal(change(f->db, CF, office, GOOD, T0, &p, &out, &why), SP_OK);
    assert_int_equal(check(f->db, CF, GOOD, false, T0 + 1, &p, &out), SP_PIN_OK);
    assert_true(out.dispositive);

    /* recovery, even asked as ordinary, keeps the flag */
    issue(f->db, CF, "recovery", false, t, &p, value);
    assert_int_equal(sp_pin_info(f->db, CF, t, &p, &info), SP_OK);
    assert_int_equal(info.state, SP_PIN_ISSUED);
    assert_true(info.dispositive);
    assert_string_equal(info.channel, "recovery");
    assert_int_equal(info.activate_by, t + 90 * DAY);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM pins WHERE ended_at IS NULL"), 1);
    query_text(f->db, "SELECT end_reason FROM pins WHERE ended_at IS NOT NULL", NULL, reason,
               sizeof(reason));
    assert_string_equal(reason, "replaced");

    /* the old PIN stops working, the new value needs the change */
    assert_int_equal(check(f->db, CF, GOOD, false, t + 1, &p, &out), SP_PIN_DENIED);
    assert_int_equal(check(f->db, CF, office, false, t + 1, &p, &out), SP_PIN_DENIED);
    assert_int_equal(check(f->db, CF, value, false, t + 2, &p, &out), SP_PIN_MUST_CHANGE);
    assert_true(out.dispositive);
    /* the history survives recovery */
    assert_int_equal(change(f->db, CF, value, GOOD, t + 3, &p, &out, &why), SP_ERR_INVALID);
    assert_non_null(why);
    assert_int_equal(change(f->db, CF, value, GOOD2, t + 3, &p, &out, &why), SP_OK);
    assert_int_equal(check(f->db, CF, GOOD2, false, t + 4, &p, &out), SP_PIN_OK);
    assert_true(out.dispositive);

    /* recovery of an ordinary PIN stays ordinary */
    add_person(f->db, CF2);
    issue(f->db, CF2, "online", false, T0, &p, value);
    issue(f->db, CF2, "recovery", false, t, &p, value);
    assert_int_equal(sp_pin_info(f->db, CF2, t, &p, &info), SP_OK);
    assert_false(info.dispositive);
    assert_int_equal(check(f->db, CF2, value, false, t, &p, &out), SP_PIN_MUST_CHANGE);
    assert_false(out.dispositive);
}

/* A new request (not a recovery) replaces the live PIN with its own flag. */
static void test_reissue_replaces(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct sp_pin_login out;
    struct sp_pin_info info;
    char first[SP_PIN_INITIAL_LEN + 1], second[SP_PIN_INITIAL_LEN + 1];

    add_person(f->db, CF);
    issue(f->db, CF, "office", true, T0, &p, first);
    issue(f->db, CF, "online", false, T0 + DAY, &p, second);
    assert_string_not_equal(first, second);
    assert_int_equal(sp_pin_info(f->db, CF, T0 + DAY, &p, &info), SP_OK);
    assert_false(info.dispositive);
    assert_string_equal(info.channel, "online");
    assert_int_equal(info.issued_at, T0 + DAY);
    assert_int_equal(check(f->db, CF, first, false, T0 + DAY, &p, &out), SP_PIN_DENIED);
    assert_int_equal(check(f->db, CF, second, false, T0 + DAY, &p, &out), SP_PIN_MUST_CHANGE);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM pins"), 2);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM pins WHERE ended_at IS NULL"), 1);
    assert_int_equal(
        query_int(f->db,
                  "SELECT count(*) FROM pins WHERE end_reason = 'replaced' AND hash IS NULL"),
        1);
}

static void test_set_dispositive(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct sp_pin_login out;
    struct sp_pin_info info;

    add_person(f->db, CF);
    assert_int_equal(sp_pin_set_dispositive(f->db, CF, T0), SP_ERR_NOT_FOUND);
    activate(f->db, CF, GOOD, T0, &p);
    assert_int_equal(check(f->db, CF, GOOD, false, T0 + 1, &p, &out), SP_PIN_OK);
    assert_false(out.dispositive);
    assert_int_equal(sp_pin_set_dispositive(f->db, CF, T0 + 2), SP_OK);
    assert_int_equal(sp_pin_info(f->db, CF, T0 + 2, &p, &info), SP_OK);
    assert_true(info.dispositive);
    assert_int_equal(info.state, SP_PIN_ACTIVE);
    /* the value does not change */
    assert_int_equal(check(f->db, CF, GOOD, false, T0 + 3, &p, &out), SP_PIN_OK);
    assert_true(out.dispositive);
}

static void test_end(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct sp_pin_login out;
    struct sp_pin_info info;
    const char *why = NULL;
    char reason[32], value[SP_PIN_INITIAL_LEN + 1];

    add_person(f->db, CF);
    assert_int_equal(sp_pin_end(f->db, CF, "revoked", T0), SP_ERR_NOT_FOUND);
    activate(f->db, CF, GOOD, T0, &p);
    assert_int_equal(sp_pin_end(f->db, CF, "revoked", T0 + DAY), SP_OK);
    assert_int_equal(sp_pin_info(f->db, CF, T0 + DAY, &p, &info), SP_OK);
    assert_int_equal(info.state, SP_PIN_NONE);
    assert_int_equal(check(f->db, CF, GOOD, false, T0 + DAY + 1, &p, &out), SP_PIN_DENIED);
    assert_int_equal(change(f->db, CF, GOOD, GOOD2, T0 + DAY + 1, &p, &out, &why), SP_ERR_DENIED);
    query_text(f->db, "SELECT end_reason FROM pins WHERE user_cf = ?1", CF, reason, sizeof(reason));
    assert_string_equal(reason, "revoked");
    assert_int_equal(query_int(f->db, "SELECT ended_at FROM pins"), T0 + DAY);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM pins WHERE hash IS NOT NULL"), 0);
    assert_int_equal(sp_pin_end(f->db, CF, "revoked", T0 + DAY + 2), SP_ERR_NOT_FOUND);
    assert_int_equal(sp_pin_set_dispositive(f->db, CF, T0 + DAY + 2), SP_ERR_NOT_FOUND);

    /* an issued (not yet active) PIN can be revoked too; a new request works */
    issue(f->db, CF, "online", false, T0 + 2 * DAY, &p, value);
    assert_int_equal(sp_pin_end(f->db, CF, "revoked", T0 + 2 * DAY + 1), SP_OK);
    assert_int_equal(check(f->db, CF, value, false, T0 + 2 * DAY + 2, &p, &out), SP_PIN_DENIED);
    issue(f->db, CF, "online", false, T0 + 3 * DAY, &p, value);
    assert_int_equal(check(f->db, CF, value, false, T0 + 3 * DAY, &p, &out), SP_PIN_MUST_CHANGE);
}

/* --- store: unknown codice fiscale ------------------------------------------- */

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_unknown_cf(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct sp_pin_login out;
    struct sp_pin_info info;
    const char *why = NULL;

    add_person(f->db, CF2); /* a person without a PIN */
    assert_int_equal(check(f->db, CF, GOOD, false, T0, &p, &out), SP_PIN_DENIED);
    assert_int_equal(out.failures, 0);
    assert_false(out.dispositive);
    assert_false(out.disabled);
    assert_int_equal(check(f->db, CF2, GOOD, true, T0, &p, &out), SP_PIN_DENIED);
    assert_int_equal(check(f->db, NULL, GOOD, false, T0, &p, &out), SP_PIN_DENIED);
    assert_int_equal(check(f->db, NULL, NULL, false, T0, &p, &out), SP_PIN_DENIED);
    assert_int_equal(check(f->db, "", "", false, T0, &p, &out), SP_PIN_DENIED);
    assert_int_equal(check(f->db, "'; DROP TABLE pins; --", GOOD, false, T0, &p, &out),
                     SP_PIN_DENIED);
    assert_int_equal(change(f->db, CF, GOOD, GOOD2, T0, &p, &out, &why), SP_ERR_DENIED);
    assert_int_equal(out.outcome, SP_PIN_DENIED);
    assert_int_equal(sp_pin_info(f->db, CF, T0, &p, &info), SP_OK);
    assert_int_equal(info.state, SP_PIN_NONE);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM pins"), 0);
}

/* An unknown CF costs the same scrypt as a wrong PIN (default cost, so that
 * the hash dominates): the fastest of a few runs of each, compared. */
static void test_unknown_cf_cost(void **state)
{
    struct fx *f = *state;
    struct sp_pin_params p = fast_params();
    struct sp_pin_login out;
    double unknown = 1e9, nullcf = 1e9, wrong = 1e9, t;

    p.scrypt_log2_n = 14;
    add_person(f->db, CF);
    activate(f->db, CF, GOOD, T0, &p);
    (void)check(f->db, CF2, WRONG, false, T0, &p, &out); /* warm-up */
    for (int i = 0; i < 3; i++) {
        t = now_sec();
        assert_int_equal(check(f->db, CF2, WRONG, false, T0, &p, &out), SP_PIN_DENIED);
        t = now_sec() - t;
        unknown = t < unknown ? t : unknown;
        t = now_sec();
        assert_int_equal(check(f->db, NULL, WRONG, false, T0, &p, &out), SP_PIN_DENIED);
        t = now_sec() - t;
        nullcf = t < nullcf ? t : nullcf;
        t = now_sec();
        assert_int_equal(check(f->db, CF, WRONG, false, T0, &p, &out), SP_PIN_DENIED);
        t = now_sec() - t;
        wrong = t < wrong ? t : wrong;
    }
    if (unknown < wrong / 3 || nullcf < wrong / 3)
        fprintf(stderr, "cost: unknown %.4fs, NULL %.4fs, wrong %.4fs\n", unknown, nullcf, wrong);
    assert_true(unknown >= wrong / 3);
    assert_true(nullcf >= wrong / 3);
}

/* --- store: contacts ------------------------------------------------------------ */

static void test_contacts(void **state)
{
    struct fx *f = *state;
    char *v;

    add_person(f->db, CF);
    assert_null(sp_pin_contact_get(f->db, CF, "email"));
    assert_int_equal(sp_pin_contact_set(f->db, CF, "email", "mario@example.it", T0), SP_OK);
    assert_int_equal(sp_pin_contact_set(f->db, CF, "mobile", "+393331234567", T0), SP_OK);
    v = sp_pin_contact_get(f->db, CF, "email");
    assert_non_null(v);
    assert_string_equal(v, "mario@example.it");
    free(v);
    v = sp_pin_contact_get(f->db, CF, "mobile");
    assert_non_null(v);
    assert_string_equal(v, "+393331234567");
    free(v);
    assert_null(sp_pin_contact_get(f->db, CF, "pec"));
    assert_null(sp_pin_contact_get(f->db, CF2, "email"));

    /* overwrite: one row per kind, the new value and time */
    assert_int_equal(sp_pin_contact_set(f->db, CF, "email", "m.rossi@example.org", T0 + DAY),
                     SP_OK);
    v = sp_pin_contact_get(f->db, CF, "email");
    assert_non_null(v);
    assert_string_equal(v, "m.rossi@example.org");
    free(v);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM pin_contacts"), 2);
    assert_int_equal(query_int(f->db, "SELECT updated_at FROM pin_contacts WHERE kind = 'email'"),
                     T0 + DAY);
    assert_int_equal(query_int(f->db, "SELECT updated_at FROM pin_contacts WHERE kind = 'mobile'"),
                     T0);

    /* contacts belong to a known person */
    assert_int_not_equal(sp_pin_contact_set(f->db, CF2, "email", "x@example.it", T0), SP_OK);
    assert_null(sp_pin_contact_get(f->db, CF2, "email"));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_half),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_rules_length_charset),
        cmocka_unit_test(test_rules_cf),
        cmocka_unit_test(test_rules_runs),
        cmocka_unit_test(test_rules_names),
        cmocka_unit_test(test_hash_default_cost),
        cmocka_unit_test(test_params_of_defaults),
        cmocka_unit_test(test_hash_salts),
        cmocka_unit_test(test_hash_normalised),
        cmocka_unit_test(test_hash_tampered),
        cmocka_unit_test(test_lock_until),
        cmocka_unit_test(test_period),
        T(test_issue_info),
        T(test_issue_unknown_person),
        T(test_issue_in_transaction),
        T(test_initial_check),
        T(test_initial_eight_refused),
        T(test_activation_deadline),
        T(test_change_rules),
        T(test_change_names),
        T(test_expiry_citizen),
        T(test_expiry_intermediary),
        T(test_renewal),
        T(test_history),
        T(test_history_param),
        T(test_history_zero),
        T(test_lockout),
        T(test_lock_cap),
        T(test_lock_custom),
        T(test_change_while_locked),
        T(test_concurrent_lock),
        T(test_inactivity),
        T(test_inactivity_from_last_use),
        T(test_recovery_keeps_dispositive),
        T(test_reissue_replaces),
        T(test_set_dispositive),
        T(test_end),
        T(test_unknown_cf),
        T(test_unknown_cf_cost),
        T(test_contacts),
    };
#undef T
    sp_log_set_level(SP_LOG_WARN);
    return cmocka_run_group_tests_name("pin", tests, NULL, NULL);
}
