/*
 * audit: the append-only, hash-chained audit trail (the chain is defined in
 * include/sp/audit.h).
 *
 * Invariants kept here:
 *  - an entry and the head row are written in one transaction, so the head
 *    always names the newest entry that committed;
 *  - details are stored exactly as canonicalised (compact JSON, keys sorted,
 *    duplicate keys refused) and canonical() embeds that stored text byte for
 *    byte, so verify hashes the bytes that are in the table: any change shows;
 *  - append never repairs the chain: a missing head over a non-empty table is
 *    refused (SP_ERR_INTEGRITY), a removed tail stays a gap that verify
 *    reports, a row added behind the head makes the next INSERT collide.
 *
 * THREAD SAFETY NOTES: appends serialise on the database write lock
 * (sp_db_begin: BEGIN IMMEDIATE under the process mutex, SQLite's busy
 * timeout between processes), so reading the head and writing the next entry
 * cannot interleave with another append, in this process or another. verify
 * reads inside one read transaction, so a daemon appending meanwhile cannot
 * make the head look out of step with the entries. Callbacks run while a
 * statement of this module is active: they must not call sp_audit_* again,
 * and verify's callback must not write to the database.
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/audit.h"
#include "sp/clock.h"
#include "sp/db.h"
#include "sp/digest.h"
#include "sp/log.h"
#include "sp/mem.h"

#define SP_AUDIT_MAX_DETAILS 65536u /* bytes of details JSON in one entry */
#define SP_AUDIT_MAX_PROBLEMS 100   /* verify reports at most this many */

/* hash_0: the prev_hash of entry 1 */
static const char audit_genesis[SP_SHA256_HEX_LEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* Every SELECT of entries returns these columns in this order (audit_row). */
#define AUDIT_COLUMNS                                                                              \
    "seq, at_ms, event, actor, acting_for, session, source_ip, outcome, reason, details,"          \
    " prev_hash, hash"

/* ------------------------------------------------------------------ canonical form */

static json_t *audit_jstr(const char *s)
{
    return s != NULL ? json_string(s) : json_null(); /* NULL: not valid UTF-8 */
}

/*
 * canonical(e): the compact JSON array [seq, at_ms, event, actor, acting_for,
 * session, source_ip, outcome, reason, details], details spliced in as stored
 * (already compact JSON, or null). Returns a string to free(), or NULL when a
 * text field is not valid UTF-8.
 */
static char *audit_canonical(const struct sp_audit_entry *e)
{
    const char *const text[] = {e->event,     e->actor,   e->acting_for, e->session,
                                e->source_ip, e->outcome, e->reason};
    const char *details = e->details != NULL ? e->details : "null";
    json_t *a = json_array();
    char *head = NULL, *out;
    size_t hl, dl;
    int bad = 0;

    bad |= json_array_append_new(a, json_integer(e->seq));
    bad |= json_array_append_new(a, json_integer(e->at_ms));
    for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
        bad |= json_array_append_new(a, audit_jstr(text[i]));
    if (bad == 0)
        head = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    if (head == NULL)
        return NULL;
    /* head is "[...]" with nine members: its ']' becomes ",<details>]" */
    hl = strlen(head);
    dl = strlen(details);
    out = sp_xmalloc(hl + dl + 2);
    memcpy(out, head, hl - 1);
    out[hl - 1] = ',';
    memcpy(out + hl, details, dl);
    out[hl + dl] = ']';
    out[hl + dl + 1] = '\0';
    free(head);
    return out;
}

/* hash = SHA-256(prev || "\n" || canonical), lower-case hex */
static void audit_hash(const char *prev, const char *canon, char out[SP_SHA256_HEX_LEN + 1])
{
    size_t pl = strlen(prev), cl = strlen(canon);
    char *m = sp_xmalloc(pl + 1 + cl);

    memcpy(m, prev, pl);
    m[pl] = '\n';
    memcpy(m + pl + 1, canon, cl);
    sp_sha256_hex(m, pl + 1 + cl, out);
    free(m);
}

/*
 * details as stored: NULL stays NULL; otherwise it must parse as one JSON
 * object (no duplicate keys, at most SP_AUDIT_MAX_DETAILS bytes) and is
 * re-serialised compact with sorted keys into *out (free()).
 */
static enum sp_err audit_details_canonical(const char *details, char **out)
{
    json_error_t jerr;
    json_t *j;

    *out = NULL;
    if (details == NULL)
        return SP_OK;
    if (strlen(details) > SP_AUDIT_MAX_DETAILS) {
        sp_warnx("audit: details refused: more than %u bytes", SP_AUDIT_MAX_DETAILS);
        return SP_ERR_INVALID;
    }
    j = json_loads(details, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL || !json_is_object(j)) {
        sp_warnx("audit: details refused: not a JSON object (%s)",
                 j == NULL ? jerr.text : "another JSON type");
        json_decref(j);
        return SP_ERR_INVALID;
    }
    *out = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    return *out != NULL ? SP_OK : SP_ERR_INVALID;
}

/* The text fields must be valid UTF-8 (JSON strings): checked before any write. */
static enum sp_err audit_check_event(const struct sp_audit_event *ev)
{
    const char *const text[] = {ev->event,     ev->actor,   ev->acting_for, ev->session,
                                ev->source_ip, ev->outcome, ev->reason};

    if (ev->event == NULL || ev->event[0] == '\0' || ev->outcome == NULL ||
        ev->outcome[0] == '\0') {
        sp_warnx("audit: entry refused: event and outcome are required");
        return SP_ERR_INVALID;
    }
    for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
        json_t *s = text[i] != NULL ? json_string(text[i]) : NULL;
        if (text[i] != NULL && s == NULL) {
            sp_warnx("audit: entry refused: a text field is not valid UTF-8");
            return SP_ERR_INVALID;
        }
        json_decref(s);
    }
    return SP_OK;
}

/* ------------------------------------------------------------------ reading rows */

static const char *audit_col(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* Borrow the current row of a SELECT AUDIT_COLUMNS (valid until the next step). */
static void audit_row(sqlite3_stmt *st, struct sp_audit_entry *e)
{
    e->seq = sqlite3_column_int64(st, 0);
    e->at_ms = sqlite3_column_int64(st, 1);
    e->event = audit_col(st, 2);
    e->actor = audit_col(st, 3);
    e->acting_for = audit_col(st, 4);
    e->session = audit_col(st, 5);
    e->source_ip = audit_col(st, 6);
    e->outcome = audit_col(st, 7);
    e->reason = audit_col(st, 8);
    e->details = audit_col(st, 9);
    e->prev_hash = audit_col(st, 10);
    e->hash = audit_col(st, 11);
}

/* The head row: *found = 0 when absent; *hash a copy to free(). */
static enum sp_err audit_read_head(struct sp_db *db, int *found, int64_t *seq, char **hash)
{
    static const char sql[] = "SELECT seq, hash FROM audit_head WHERE one = 1";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    enum sp_err rc = SP_OK;
    int r;

    *found = 0;
    *seq = 0;
    *hash = NULL;
    if (st == NULL)
        return SP_ERR_DB;
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *found = 1;
        *seq = sqlite3_column_int64(st, 0);
        *hash = sp_db_column_dup(st, 1);
        if (*hash == NULL)
            *hash = sp_xstrdup("");
    } else if (r != SQLITE_DONE) {
        rc = sp_db_fail(db, "audit head");
    }
    sp_db_done(st);
    return rc;
}

/* SP_OK with *empty set, or SP_ERR_DB. */
static enum sp_err audit_table_empty(struct sp_db *db, int *empty)
{
    static const char sql[] = "SELECT EXISTS (SELECT 1 FROM audit)";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    enum sp_err rc = SP_OK;

    if (st == NULL)
        return SP_ERR_DB;
    if (sqlite3_step(st) == SQLITE_ROW)
        *empty = sqlite3_column_int(st, 0) == 0;
    else
        rc = sp_db_fail(db, "audit count");
    sp_db_done(st);
    return rc;
}

/* ------------------------------------------------------------------ append */

enum sp_err sp_audit_append(struct sp_db *db, const struct sp_audit_event *ev, int64_t now_ms)
{
    static const char ins[] = "INSERT INTO audit (" AUDIT_COLUMNS ")"
                              " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
    static const char head_up[] = "INSERT INTO audit_head (one, seq, hash) VALUES (1, ?1, ?2)"
                                  " ON CONFLICT(one) DO UPDATE SET seq = excluded.seq,"
                                  " hash = excluded.hash";
    struct sp_audit_entry e;
    char hash[SP_SHA256_HEX_LEN + 1];
    char *details = NULL, *canon = NULL, *prev = NULL;
    sqlite3_stmt *st;
    int64_t prev_seq;
    int in_txn = 0, found, empty = 0;
    enum sp_err rc;

    if (ev == NULL)
        return SP_ERR_INVALID;
    rc = audit_check_event(ev);
    if (rc == SP_OK)
        rc = audit_details_canonical(ev->details, &details);
    if (rc != SP_OK)
        goto out;

    rc = sp_db_begin(db);
    if (rc != SP_OK)
        goto out;
    in_txn = 1;
    rc = audit_read_head(db, &found, &prev_seq, &prev);
    if (rc == SP_OK && !found) {
        rc = audit_table_empty(db, &empty);
        if (rc == SP_OK && !empty) {
            sp_errorx("audit: the head row is missing but entries exist; refusing to append"
                      " (run spid-sp audit verify)");
            rc = SP_ERR_INTEGRITY;
        }
        if (rc == SP_OK)
            prev = sp_xstrdup(audit_genesis);
    }
    if (rc != SP_OK)
        goto out;

    e = (struct sp_audit_entry){
        .seq = prev_seq + 1,
        .at_ms = now_ms,
        .event = ev->event,
        .actor = ev->actor,
        .acting_for = ev->acting_for,
        .session = ev->session,
        .source_ip = ev->source_ip,
        .outcome = ev->outcome,
        .reason = ev->reason,
        .details = details,
        .prev_hash = prev,
    };
    canon = audit_canonical(&e);
    if (canon == NULL) {
        rc = SP_ERR_INVALID;
        goto out;
    }
    audit_hash(prev, canon, hash);

    st = sp_db_stmt(db, ins);
    if (st == NULL) {
        rc = SP_ERR_DB;
        goto out;
    }
    sqlite3_bind_int64(st, 1, e.seq);
    sqlite3_bind_int64(st, 2, e.at_ms);
    sp_db_bind_text(st, 3, e.event);
    sp_db_bind_text(st, 4, e.actor);
    sp_db_bind_text(st, 5, e.acting_for);
    sp_db_bind_text(st, 6, e.session);
    sp_db_bind_text(st, 7, e.source_ip);
    sp_db_bind_text(st, 8, e.outcome);
    sp_db_bind_text(st, 9, e.reason);
    sp_db_bind_text(st, 10, e.details);
    sp_db_bind_text(st, 11, prev);
    sp_db_bind_text(st, 12, hash);
    if (sp_db_step_write(db, st) != SQLITE_DONE)
        rc = sp_db_fail(db, "audit insert");
    sp_db_done(st);
    if (rc != SP_OK)
        goto out;

    st = sp_db_stmt(db, head_up);
    if (st == NULL) {
        rc = SP_ERR_DB;
        goto out;
    }
    sqlite3_bind_int64(st, 1, e.seq);
    sp_db_bind_text(st, 2, hash);
    if (sp_db_step_write(db, st) != SQLITE_DONE)
        rc = sp_db_fail(db, "audit head update");
    sp_db_done(st);
    if (rc != SP_OK)
        goto out;

    in_txn = 0; /* a failed commit has rolled back already */
    rc = sp_db_commit(db);
out:
    if (rc != SP_OK && in_txn)
        sp_db_rollback(db);
    free(details);
    free(canon);
    free(prev);
    return rc;
}

/* ------------------------------------------------------------------ verify */

struct audit_walk {
    sp_audit_problem_fn fn;
    void *ctx;
    int64_t problems; /* found */
    int64_t reported; /* passed to fn, at most SP_AUDIT_MAX_PROBLEMS */
};

static void audit_problem(struct audit_walk *w, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void audit_problem(struct audit_walk *w, int64_t seq, const char *fmt, ...)
{
    char what[512];
    va_list ap;

    w->problems++;
    if (w->reported >= SP_AUDIT_MAX_PROBLEMS || w->fn == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    w->reported++;
    w->fn(w->ctx, seq, what);
}

/* Entries first..last are absent: reported on the first of them. */
static void audit_missing(struct audit_walk *w, int64_t first, int64_t last, const char *why)
{
    if (first == last)
        audit_problem(w, first, "missing (removed): %s", why);
    else
        audit_problem(w, first, "entries %lld to %lld missing (removed): %s", (long long)first,
                      (long long)last, why);
}

/* One entry against its predecessor (prev_seq, expected prev_hash) and the head. */
static void audit_check_entry(struct audit_walk *w, const struct sp_audit_entry *e,
                              int64_t prev_seq, const char *expected, int head_found,
                              int64_t head_seq, const char *head_hash)
{
    char hash[SP_SHA256_HEX_LEN + 1], why[128];
    char *canon;

    if (e->seq != prev_seq + 1) {
        snprintf(why, sizeof(why), "the chain continues at entry %lld", (long long)e->seq);
        audit_missing(w, prev_seq + 1, e->seq - 1, why);
    } else if (e->prev_hash == NULL || strcmp(e->prev_hash, expected) != 0) {
        if (e->seq == 1)
            audit_problem(w, e->seq, "does not start from the genesis hash: forged or replaced");
        else
            audit_problem(w, e->seq,
                          "does not follow entry %lld (prev_hash differs): an entry was "
                          "inserted, replaced, removed or reordered",
                          (long long)prev_seq);
    }
    canon = audit_canonical(e);
    if (canon == NULL) {
        audit_problem(w, e->seq, "content changed: a text field is not valid UTF-8");
    } else {
        audit_hash(e->prev_hash != NULL ? e->prev_hash : "", canon, hash);
        if (e->hash == NULL || strcmp(e->hash, hash) != 0)
            audit_problem(w, e->seq, "content changed: the stored hash does not match the entry");
        free(canon);
    }
    if (head_found && e->seq == head_seq && (e->hash == NULL || strcmp(e->hash, head_hash) != 0))
        audit_problem(w, e->seq,
                      "hash differs from the one recorded in the head: the newest entry was "
                      "changed or replaced");
    if (head_found && e->seq > head_seq)
        audit_problem(w, e->seq,
                      "is after the newest entry recorded in the head (%lld): added outside the "
                      "audit trail",
                      (long long)head_seq);
}

static enum sp_err audit_walk(struct sp_db *db, struct audit_walk *w, int64_t *entries)
{
    static const char sql[] = "SELECT " AUDIT_COLUMNS " FROM audit ORDER BY seq";
    struct sp_audit_entry e;
    char *head_hash = NULL, *expected = sp_xstrdup(audit_genesis);
    int64_t head_seq, prev_seq = 0, n = 0;
    int head_found, r;
    sqlite3_stmt *st;
    enum sp_err rc;

    rc = audit_read_head(db, &head_found, &head_seq, &head_hash);
    if (rc != SP_OK)
        goto out;
    st = sp_db_stmt(db, sql);
    if (st == NULL) {
        rc = SP_ERR_DB;
        goto out;
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        audit_row(st, &e);
        n++;
        audit_check_entry(w, &e, prev_seq, expected, head_found, head_seq, head_hash);
        free(expected);
        expected = sp_xstrdup(e.hash != NULL ? e.hash : "");
        prev_seq = e.seq;
    }
    if (r != SQLITE_DONE)
        rc = sp_db_fail(db, "audit verify");
    sp_db_done(st);
    if (rc != SP_OK)
        goto out;

    if (!head_found && n > 0)
        audit_problem(w, prev_seq,
                      "the head row is missing: removal of the newest entries cannot be ruled "
                      "out");
    else if (head_found && head_seq > prev_seq)
        audit_missing(w, prev_seq + 1, head_seq,
                      n == 0 ? "the table is empty but the head records entries"
                             : "the head records a newer entry than the last one");
    else if (head_found && n == 0)
        audit_problem(w, 0, "the head row exists but the table is empty");
out:
    *entries = n;
    free(head_hash);
    free(expected);
    return rc;
}

/*
 * After SP_AUDIT_MAX_PROBLEMS reports, one more call with seq 0 says how many
 * further problems were found but not listed.
 */
enum sp_err sp_audit_verify(struct sp_db *db, sp_audit_problem_fn problem, void *ctx,
                            int64_t *entries)
{
    struct audit_walk w = {problem, ctx, 0, 0};
    sqlite3 *c = sp_db_conn(db);
    int own_txn;
    int64_t n = 0;
    enum sp_err rc;

    if (entries != NULL)
        *entries = 0;
    if (c == NULL)
        return SP_ERR_DB;
    /* one snapshot for the head and the entries; inside a caller's transaction use theirs */
    own_txn = sqlite3_get_autocommit(c);
    if (own_txn && sqlite3_exec(c, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return sp_db_fail(db, "audit verify begin");
    rc = audit_walk(db, &w, &n);
    if (own_txn && sqlite3_exec(c, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_exec(c, "ROLLBACK", NULL, NULL, NULL);
        if (rc == SP_OK)
            rc = SP_ERR_DB;
    }
    if (entries != NULL)
        *entries = n;
    if (rc != SP_OK)
        return rc;
    if (w.problems > w.reported && problem != NULL) {
        char what[128];
        snprintf(what, sizeof(what), "%lld more problems found but not listed",
                 (long long)(w.problems - w.reported));
        problem(ctx, 0, what);
    }
    return w.problems > 0 ? SP_ERR_INTEGRITY : SP_OK;
}

/* ------------------------------------------------------------------ export */

/* details as a JSON value: the stored object, or the raw text if it no longer parses */
static json_t *audit_details_value(const char *details)
{
    json_t *j;

    if (details == NULL)
        return json_null();
    j = json_loads(details, JSON_DECODE_ANY, NULL);
    if (j == NULL)
        j = json_string(details);
    return j != NULL ? j : json_null();
}

static json_t *audit_export_str(const char *s)
{
    json_t *j = audit_jstr(s);
    return j != NULL ? j : json_null(); /* not UTF-8: only after tampering */
}

static enum sp_err audit_export_one(FILE *out, const struct sp_audit_entry *e)
{
    char at[SP_TIME_ISO_LEN];
    json_t *o = json_object();
    char *line;
    int ok;

    sp_time_format(e->at_ms, 1, at);
    json_object_set_new(o, "seq", json_integer(e->seq));
    json_object_set_new(o, "at", json_string(at));
    json_object_set_new(o, "at_ms", json_integer(e->at_ms));
    json_object_set_new(o, "event", audit_export_str(e->event));
    json_object_set_new(o, "actor", audit_export_str(e->actor));
    json_object_set_new(o, "acting_for", audit_export_str(e->acting_for));
    json_object_set_new(o, "session", audit_export_str(e->session));
    json_object_set_new(o, "source_ip", audit_export_str(e->source_ip));
    json_object_set_new(o, "outcome", audit_export_str(e->outcome));
    json_object_set_new(o, "reason", audit_export_str(e->reason));
    json_object_set_new(o, "details", audit_details_value(e->details));
    json_object_set_new(o, "prev_hash", audit_export_str(e->prev_hash));
    json_object_set_new(o, "hash", audit_export_str(e->hash));
    line = json_dumps(o, JSON_COMPACT); /* one line: strings escape their newlines */
    json_decref(o);
    if (line == NULL)
        return SP_ERR_INTERNAL;
    ok = fputs(line, out) != EOF && fputc('\n', out) != EOF;
    free(line);
    return ok ? SP_OK : SP_ERR_IO;
}

enum sp_err sp_audit_export(struct sp_db *db, FILE *out, int64_t from_ms, int64_t to_ms,
                            int64_t *count)
{
    static const char sql[] =
        "SELECT " AUDIT_COLUMNS " FROM audit WHERE at_ms >= ?1 AND at_ms < ?2 ORDER BY seq";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    struct sp_audit_entry e;
    enum sp_err rc = SP_OK;
    int64_t n = 0;
    int r = SQLITE_DONE;

    if (count != NULL)
        *count = 0;
    if (st == NULL)
        return SP_ERR_DB;
    sqlite3_bind_int64(st, 1, from_ms != 0 ? from_ms : INT64_MIN);
    sqlite3_bind_int64(st, 2, to_ms != 0 ? to_ms : INT64_MAX);
    while (rc == SP_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
        audit_row(st, &e);
        rc = audit_export_one(out, &e);
        if (rc == SP_OK)
            n++;
    }
    if (rc == SP_OK && r != SQLITE_DONE)
        rc = sp_db_fail(db, "audit export");
    sp_db_done(st);
    if (rc == SP_OK && fflush(out) != 0)
        rc = SP_ERR_IO;
    if (count != NULL)
        *count = n;
    return rc;
}

/* ------------------------------------------------------------------ recent */

/* limit 0 calls fn for nothing. */
enum sp_err sp_audit_recent(struct sp_db *db, const char *party, unsigned limit,
                            sp_audit_entry_fn fn, void *ctx)
{
    static const char sql[] = "SELECT " AUDIT_COLUMNS " FROM audit"
                              " WHERE actor = ?1 OR acting_for = ?1 ORDER BY seq DESC LIMIT ?2";
    sqlite3_stmt *st;
    struct sp_audit_entry e;
    enum sp_err rc = SP_OK;
    int r;

    if (party == NULL || fn == NULL)
        return SP_ERR_INVALID;
    if (limit == 0)
        return SP_OK;
    st = sp_db_stmt(db, sql);
    if (st == NULL)
        return SP_ERR_DB;
    sp_db_bind_text(st, 1, party);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        audit_row(st, &e);
        fn(ctx, &e);
    }
    if (r != SQLITE_DONE)
        rc = sp_db_fail(db, "audit recent");
    sp_db_done(st);
    return rc;
}
