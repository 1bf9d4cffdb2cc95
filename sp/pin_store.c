/*
 * pin_store: the SQL and the state machine of pin.h.
 *
 * Brute force under concurrency: before a PIN is checked, one attempt is
 * reserved with a single UPDATE (failures + 1, and the lock it would cause
 * set at once) that only succeeds while the PIN is not locked; a right PIN
 * then clears both. So however many requests arrive at the same time, no
 * more than the threshold of checks happen before the lock holds. The
 * scrypt computation runs outside any transaction.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/db.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/pin.h"

#define DAY 86400

/* A hash of a random value, computed once: unknown CFs and unusable PINs are
 * checked against it so that every answer costs one scrypt. */
static char dummy_hash[SP_PIN_HASH_MAX];
static unsigned dummy_log2_n;
static pthread_mutex_t dummy_lock = PTHREAD_MUTEX_INITIALIZER;

static void pin_dummy_verify(const char *pin, unsigned log2_n)
{
    char half[SP_PIN_HALF_LEN + 1];
    pthread_mutex_lock(&dummy_lock);
    if (dummy_log2_n != log2_n) {
        sp_pin_half(half);
        if (sp_pin_hash(half, log2_n, dummy_hash) == SP_OK)
            dummy_log2_n = log2_n;
        sp_wipe(half, sizeof(half));
    }
    pthread_mutex_unlock(&dummy_lock);
    (void)sp_pin_hash_verify(pin, dummy_hash);
}

struct pin_row {
    int64_t id;
    char state[16];
    bool dispositive;
    char *hash;
    bool initial;
    char channel[16];
    int64_t issued_at, activate_by, changed_at, last_used_at, locked_until;
    unsigned failures;
};

static void row_cleanup(struct pin_row *r)
{
    if (r->hash)
        sp_wipe(r->hash, strlen(r->hash));
    free(r->hash);
    memset(r, 0, sizeof(*r));
}

static void copy_text(char *dst, size_t n, const unsigned char *src)
{
    snprintf(dst, n, "%s", src ? (const char *)src : "");
}

/* The live PIN of cf: SP_OK, SP_ERR_NOT_FOUND or SP_ERR_DB. */
static enum sp_err row_load(struct sp_db *db, const char *cf, struct pin_row *r)
{
    static const char sql[] =
        "SELECT id, state, dispositive, hash, initial, channel, coalesce(issued_at, 0),"
        " coalesce(activate_by, 0), coalesce(changed_at, 0), coalesce(last_used_at, 0),"
        " coalesce(locked_until, 0), failures FROM pins WHERE user_cf = ?1 AND ended_at IS NULL";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    enum sp_err rc = SP_ERR_NOT_FOUND;
    int s;

    memset(r, 0, sizeof(*r));
    if (st == NULL)
        return SP_ERR_DB;
    sqlite3_bind_text(st, 1, cf, -1, SQLITE_TRANSIENT);
    s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        r->id = sqlite3_column_int64(st, 0);
        copy_text(r->state, sizeof(r->state), sqlite3_column_text(st, 1));
        r->dispositive = sqlite3_column_int(st, 2) != 0;
        r->hash = sp_db_column_dup(st, 3);
        r->initial = sqlite3_column_int(st, 4) != 0;
        copy_text(r->channel, sizeof(r->channel), sqlite3_column_text(st, 5));
        r->issued_at = sqlite3_column_int64(st, 6);
        r->activate_by = sqlite3_column_int64(st, 7);
        r->changed_at = sqlite3_column_int64(st, 8);
        r->last_used_at = sqlite3_column_int64(st, 9);
        r->locked_until = sqlite3_column_int64(st, 10);
        r->failures = (unsigned)sqlite3_column_int(st, 11);
        rc = SP_OK;
    } else if (s != SQLITE_DONE) {
        rc = sp_db_fail(db, "pin load");
    }
    sp_db_done(st);
    return rc;
}

static const char *channel_static(const char *c)
{
    if (strcmp(c, "office") == 0)
        return "office";
    if (strcmp(c, "recovery") == 0)
        return "recovery";
    return "online";
}

enum sp_err sp_pin_info(struct sp_db *db, const char *cf, int64_t now,
                        const struct sp_pin_params *p, struct sp_pin_info *out)
{
    struct pin_row r;
    enum sp_err rc = row_load(db, cf, &r);

    memset(out, 0, sizeof(*out));
    out->state = SP_PIN_NONE;
    if (rc == SP_ERR_NOT_FOUND)
        return SP_OK;
    if (rc != SP_OK)
        return rc;
    out->id = r.id;
    out->dispositive = r.dispositive;
    out->channel = channel_static(r.channel);
    out->issued_at = r.issued_at;
    out->activate_by = r.activate_by;
    out->changed_at = r.changed_at;
    out->last_used_at = r.last_used_at;
    out->locked_until = r.locked_until;
    out->failures = r.failures;
    if (strcmp(r.state, "issued") == 0)
        out->state = now < r.activate_by ? SP_PIN_ISSUED : SP_PIN_NONE;
    else if (strcmp(r.state, "active") == 0)
        out->state = r.last_used_at + (int64_t)p->inactivity_days * DAY < now ? SP_PIN_DISABLED
                                                                              : SP_PIN_ACTIVE;
    else
        out->state = SP_PIN_DISABLED;
    row_cleanup(&r);
    return SP_OK;
}

static enum sp_err exec_id(struct sp_db *db, const char *sql, int64_t id, int64_t a,
                           const char *text)
{
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    enum sp_err rc;
    if (st == NULL)
        return SP_ERR_DB;
    /* ?1 = id, ?2 = a, ?3 = text: bind what the statement uses */
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_bind_parameter_count(st) >= 2)
        sqlite3_bind_int64(st, 2, a);
    if (sqlite3_bind_parameter_count(st) >= 3)
        sp_db_bind_text(st, 3, text);
    rc = sp_db_step_write(db, st) == SQLITE_DONE ? SP_OK : sp_db_fail(db, "pin update");
    sp_db_done(st);
    return rc;
}

static enum sp_err row_end(struct sp_db *db, int64_t id, const char *reason, int64_t now)
{
    static const char sql[] = "UPDATE pins SET ended_at = ?2, end_reason = ?3, hash = NULL"
                              " WHERE id = ?1 AND ended_at IS NULL";
    return exec_id(db, sql, id, now, reason);
}

enum sp_err sp_pin_issue(struct sp_db *db, const char *cf, const char *channel, bool dispositive,
                         int64_t now, const struct sp_pin_params *p,
                         char value[SP_PIN_INITIAL_LEN + 1])
{
    static const char ins[] =
        "INSERT INTO pins (user_cf, state, dispositive, hash, initial, channel, issued_at,"
        " activate_by, created_at) VALUES (?1, 'issued', ?2, ?3, 1, ?4, ?5, ?6, ?5)";
    char h1[SP_PIN_HALF_LEN + 1], h2[SP_PIN_HALF_LEN + 1], hash[SP_PIN_HASH_MAX];
    struct pin_row old;
    sqlite3_stmt *st;
    enum sp_err rc;

    sp_pin_half(h1);
    sp_pin_half(h2);
    snprintf(value, SP_PIN_INITIAL_LEN + 1, "%s%s", h1, h2);
    sp_wipe(h1, sizeof(h1));
    sp_wipe(h2, sizeof(h2));
    rc = sp_pin_hash(value, p->scrypt_log2_n, hash); /* before the transaction: slow */
    if (rc != SP_OK)
        goto out;
    rc = sp_db_begin(db);
    if (rc != SP_OK)
        goto out;
    rc = row_load(db, cf, &old);
    if (rc == SP_OK) {
        if (strcmp(channel, "recovery") == 0)
            dispositive = dispositive || old.dispositive;
        rc = row_end(db, old.id, "replaced", now);
        row_cleanup(&old);
    } else if (rc == SP_ERR_NOT_FOUND) {
        rc = SP_OK;
    }
    st = rc == SP_OK ? sp_db_stmt(db, ins) : NULL;
    if (rc == SP_OK && st == NULL)
        rc = SP_ERR_DB;
    if (rc == SP_OK) {
        sqlite3_bind_text(st, 1, cf, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 2, dispositive);
        sqlite3_bind_text(st, 3, hash, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, channel_static(channel), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, now);
        sqlite3_bind_int64(st, 6, now + (int64_t)p->activation_days * DAY);
        rc = sp_db_step_write(db, st) == SQLITE_DONE ? SP_OK : sp_db_fail(db, "pin issue");
        sp_db_done(st);
    }
    if (rc == SP_OK)
        rc = sp_db_commit(db);
    else
        sp_db_rollback(db);
out:
    sp_wipe(hash, sizeof(hash));
    if (rc != SP_OK)
        sp_wipe(value, SP_PIN_INITIAL_LEN + 1);
    return rc;
}

/*
 * Reserve one attempt: succeeds only while not locked; counts it as a
 * failure and sets the lock it would cause, both undone by a right PIN.
 * *reserved false: the PIN is locked (the attempt still counts and extends
 * the lock, §1.8). Returns the counts after the update.
 */
static enum sp_err attempt_reserve(struct sp_db *db, int64_t id, int64_t now,
                                   const struct sp_pin_params *p, bool *reserved,
                                   unsigned *failures, int64_t *locked_until)
{
    static const char reserve[] =
        "UPDATE pins SET failures = failures + 1,"
        " locked_until = CASE WHEN failures + 1 >= ?3 THEN ?2 + 60 * min(?6, ?4 + ?5 *"
        " (failures + 1 - ?3)) ELSE NULL END"
        " WHERE id = ?1 AND (locked_until IS NULL OR locked_until <= ?2)";
    static const char locked[] =
        "UPDATE pins SET failures = failures + 1,"
        " locked_until = max(locked_until, ?2 + 60 * min(?6, ?4 + ?5 * (failures + 1 - ?3)))"
        " WHERE id = ?1";
    static const char read[] = "SELECT failures, coalesce(locked_until, 0) FROM pins WHERE id = ?1";
    sqlite3_stmt *st;
    enum sp_err rc = sp_db_begin(db);

    if (rc != SP_OK)
        return rc;
    *reserved = false;
    for (int pass = 0; pass < 2 && rc == SP_OK; pass++) {
        st = sp_db_stmt(db, pass == 0 ? reserve : locked);
        if (st == NULL) {
            rc = SP_ERR_DB;
            break;
        }
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, now);
        sqlite3_bind_int(st, 3, (int)p->lock_threshold);
        sqlite3_bind_int(st, 4, (int)p->lock_base_minutes);
        sqlite3_bind_int(st, 5, (int)p->lock_step_minutes);
        sqlite3_bind_int(st, 6, (int)p->lock_max_minutes);
        rc = sp_db_step_write(db, st) == SQLITE_DONE ? SP_OK : sp_db_fail(db, "pin attempt");
        sp_db_done(st);
        if (rc == SP_OK && sqlite3_changes(sp_db_conn(db)) == 1 && pass == 0) {
            *reserved = true;
            break;
        }
    }
    st = rc == SP_OK ? sp_db_stmt(db, read) : NULL;
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            *failures = (unsigned)sqlite3_column_int(st, 0);
            *locked_until = sqlite3_column_int64(st, 1);
        }
        sp_db_done(st);
    }
    if (rc == SP_OK)
        rc = sp_db_commit(db);
    else
        sp_db_rollback(db);
    return rc;
}

static enum sp_err attempt_succeeded(struct sp_db *db, int64_t id, int64_t now)
{
    static const char sql[] = "UPDATE pins SET failures = 0, locked_until = NULL,"
                              " last_used_at = ?2 WHERE id = ?1";
    return exec_id(db, sql, id, now, NULL);
}

static void outcome(struct sp_pin_login *out, enum sp_pin_outcome o, const char *detail)
{
    out->outcome = o;
    out->detail = detail;
}

enum sp_err sp_pin_check(struct sp_db *db, const char *cf, const char *pin, bool intermediary,
                         int64_t now, const struct sp_pin_params *p, struct sp_pin_login *out)
{
    char typed[SP_PIN_INITIAL_LEN + 1];
    struct pin_row r;
    bool reserved = false, right;
    size_t want;
    enum sp_err rc;

    memset(out, 0, sizeof(*out));
    out->intermediary = intermediary;
    if (sp_pin_normalize(pin, typed) != SP_OK)
        typed[0] = '\0';
    rc = cf ? row_load(db, cf, &r) : SP_ERR_NOT_FOUND;
    if (rc == SP_ERR_NOT_FOUND) {
        pin_dummy_verify(typed, p->scrypt_log2_n);
        outcome(out, SP_PIN_DENIED, "no PIN for this codice fiscale");
        rc = SP_OK;
        goto out;
    }
    if (rc != SP_OK)
        goto out;
    out->dispositive = r.dispositive;
    if (strcmp(r.state, "issued") == 0 && now >= r.activate_by) {
        rc = row_end(db, r.id, "void", now);
        pin_dummy_verify(typed, p->scrypt_log2_n);
        outcome(out, SP_PIN_DENIED, "initial PIN lapsed (activation deadline passed)");
        goto out_row;
    }
    rc = attempt_reserve(db, r.id, now, p, &reserved, &out->failures, &out->locked_until);
    if (rc != SP_OK)
        goto out_row;
    if (!reserved) {
        pin_dummy_verify(typed, p->scrypt_log2_n); /* same cost; the PIN is not checked */
        outcome(out, SP_PIN_LOCKED, "PIN locked: not checked");
        goto out_row;
    }
    want = r.initial ? SP_PIN_INITIAL_LEN : SP_PIN_LEN;
    right = sp_pin_hash_verify(strlen(typed) == want ? typed : "", r.hash) && typed[0] != '\0';
    if (!right) {
        outcome(out, SP_PIN_DENIED, "wrong PIN");
        goto out_row;
    }
    rc = attempt_succeeded(db, r.id, now);
    out->failures = 0;
    out->locked_until = 0;
    if (rc != SP_OK)
        goto out_row;
    if (strcmp(r.state, "disabled") == 0 ||
        (strcmp(r.state, "active") == 0 && r.last_used_at != 0 &&
         r.last_used_at + (int64_t)p->inactivity_days * DAY < now)) {
        static const char dis[] = "UPDATE pins SET state = 'disabled' WHERE id = ?1";
        rc = exec_id(db, dis, r.id, 0, NULL);
        outcome(out, SP_PIN_DENIED, "PIN disabled after inactivity: recovery needed");
        out->disabled = true;
    } else if (r.initial) {
        outcome(out, SP_PIN_MUST_CHANGE, "initial PIN: the personal PIN must be chosen");
    } else if (r.changed_at + sp_pin_period(intermediary, p) <= now) {
        outcome(out, SP_PIN_MUST_RENEW, "PIN expired: renewal");
    } else {
        outcome(out, SP_PIN_OK, "PIN accepted");
    }
out_row:
    row_cleanup(&r);
out:
    sp_wipe(typed, sizeof(typed));
    return rc;
}

/* Is fresh one of the last n PINs of cf? */
static bool pin_reused(struct sp_db *db, const char *cf, const char *fresh, unsigned n)
{
    static const char sql[] =
        "SELECT hash FROM pin_history WHERE user_cf = ?1 ORDER BY set_at DESC LIMIT ?2";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    char *hashes[32];
    unsigned k = 0;
    bool reused = false;

    if (st == NULL)
        return true; /* refuse rather than allow an unchecked reuse */
    sqlite3_bind_text(st, 1, cf, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, (int)(n < 32 ? n : 32));
    while (k < 32 && sqlite3_step(st) == SQLITE_ROW)
        hashes[k++] = sp_db_column_dup(st, 0);
    sp_db_done(st);
    for (unsigned i = 0; i < k; i++) {
        if (!reused && sp_pin_hash_verify(fresh, hashes[i]))
            reused = true;
        free(hashes[i]);
    }
    return reused;
}

enum sp_err sp_pin_change(struct sp_db *db, const char *cf, const char *current, const char *fresh,
                          bool intermediary, const char *name, const char *surname, int64_t now,
                          const struct sp_pin_params *p, struct sp_pin_login *out, const char **why)
{
    static const char set[] = "UPDATE pins SET state = 'active', initial = 0, hash = ?3,"
                              " changed_at = ?2, last_used_at = ?2 WHERE id = ?1";
    static const char hist[] =
        "INSERT INTO pin_history (user_cf, hash, set_at) VALUES (?1, ?2, ?3)";
    char norm[SP_PIN_INITIAL_LEN + 1], cur[SP_PIN_INITIAL_LEN + 1], hash[SP_PIN_HASH_MAX];
    struct pin_row r;
    sqlite3_stmt *st;
    enum sp_err rc;

    *why = NULL;
    norm[0] = cur[0] = hash[0] = '\0';
    rc = sp_pin_check(db, cf, current, intermediary, now, p, out);
    if (rc != SP_OK)
        return rc;
    if (out->outcome != SP_PIN_OK && out->outcome != SP_PIN_MUST_CHANGE &&
        out->outcome != SP_PIN_MUST_RENEW)
        return SP_ERR_DENIED;
    if (sp_pin_rules_check(fresh, cf, name, surname, why) != SP_OK)
        return SP_ERR_INVALID;
    (void)sp_pin_normalize(fresh, norm);
    (void)sp_pin_normalize(current, cur);
    /* pin_history holds the current PIN too: the current plus p->history before it */
    if (strcmp(norm, cur) == 0 || pin_reused(db, cf, norm, p->history + 1)) {
        *why = "Il nuovo PIN deve essere diverso dall'attuale e dagli ultimi usati.";
        rc = SP_ERR_INVALID;
        goto out;
    }
    rc = sp_pin_hash(norm, p->scrypt_log2_n, hash);
    if (rc != SP_OK)
        goto out;
    rc = sp_db_begin(db);
    if (rc != SP_OK)
        goto out;
    rc = row_load(db, cf, &r);
    if (rc == SP_OK) {
        st = sp_db_stmt(db, set);
        rc = st ? SP_OK : SP_ERR_DB;
        if (st != NULL) {
            sqlite3_bind_int64(st, 1, r.id);
            sqlite3_bind_int64(st, 2, now);
            sqlite3_bind_text(st, 3, hash, -1, SQLITE_TRANSIENT);
            rc = sp_db_step_write(db, st) == SQLITE_DONE ? SP_OK : sp_db_fail(db, "pin set");
            sp_db_done(st);
        }
        row_cleanup(&r);
    }
    st = rc == SP_OK ? sp_db_stmt(db, hist) : NULL;
    if (rc == SP_OK && st == NULL)
        rc = SP_ERR_DB;
    if (rc == SP_OK) {
        sqlite3_bind_text(st, 1, cf, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, hash, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, now);
        rc = sp_db_step_write(db, st) == SQLITE_DONE ? SP_OK : sp_db_fail(db, "pin history");
        sp_db_done(st);
    }
    if (rc == SP_OK)
        rc = sp_db_commit(db);
    else
        sp_db_rollback(db);
    if (rc == SP_OK)
        outcome(out, SP_PIN_OK, "personal PIN set");
out:
    sp_wipe(norm, sizeof(norm));
    sp_wipe(cur, sizeof(cur));
    sp_wipe(hash, sizeof(hash));
    return rc;
}

enum sp_err sp_pin_end(struct sp_db *db, const char *cf, const char *reason, int64_t now)
{
    struct pin_row r;
    enum sp_err rc = row_load(db, cf, &r);
    if (rc != SP_OK)
        return rc;
    rc = row_end(db, r.id, reason, now);
    row_cleanup(&r);
    return rc;
}

enum sp_err sp_pin_set_dispositive(struct sp_db *db, const char *cf, int64_t now)
{
    static const char sql[] = "UPDATE pins SET dispositive = 1 WHERE id = ?1";
    struct pin_row r;
    enum sp_err rc = row_load(db, cf, &r);
    (void)now;
    if (rc != SP_OK)
        return rc;
    rc = exec_id(db, sql, r.id, 0, NULL);
    row_cleanup(&r);
    return rc;
}

enum sp_err sp_pin_contact_set(struct sp_db *db, const char *cf, const char *kind,
                               const char *value, int64_t now)
{
    static const char sql[] =
        "INSERT INTO pin_contacts (user_cf, kind, value, updated_at) VALUES (?1, ?2, ?3, ?4)"
        " ON CONFLICT(user_cf, kind) DO UPDATE SET value = excluded.value,"
        " updated_at = excluded.updated_at";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    enum sp_err rc;
    if (st == NULL)
        return SP_ERR_DB;
    sqlite3_bind_text(st, 1, cf, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, value, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, now);
    rc = sp_db_step_write(db, st) == SQLITE_DONE ? SP_OK : sp_db_fail(db, "pin contact");
    sp_db_done(st);
    return rc;
}

char *sp_pin_contact_get(struct sp_db *db, const char *cf, const char *kind)
{
    static const char sql[] = "SELECT value FROM pin_contacts WHERE user_cf = ?1 AND kind = ?2";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    char *v = NULL;
    if (st == NULL)
        return NULL;
    sqlite3_bind_text(st, 1, cf, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sp_db_column_dup(st, 0);
    sp_db_done(st);
    return v;
}

enum sp_err sp_pin_conversion_add(struct sp_db *db, const char *cf, const char *files_json,
                                  const char *document_json, int64_t now, int64_t *id)
{
    static const char pending[] =
        "SELECT count(*) FROM pin_conversions WHERE user_cf = ?1 AND state = 'pending'";
    static const char ins[] = "INSERT INTO pin_conversions (user_cf, state, files, document,"
                              " created_at) VALUES (?1, 'pending', ?2, ?3, ?4)";
    sqlite3_stmt *st;
    enum sp_err rc = sp_db_begin(db);
    int64_t n = -1;

    if (rc != SP_OK)
        return rc;
    st = sp_db_stmt(db, pending);
    if (st != NULL) {
        sqlite3_bind_text(st, 1, cf, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
        sp_db_done(st);
    }
    rc = n < 0 ? SP_ERR_DB : n > 0 ? SP_ERR_EXISTS : SP_OK;
    st = rc == SP_OK ? sp_db_stmt(db, ins) : NULL;
    if (rc == SP_OK && st == NULL)
        rc = SP_ERR_DB;
    if (rc == SP_OK) {
        sqlite3_bind_text(st, 1, cf, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, files_json, -1, SQLITE_TRANSIENT);
        sp_db_bind_text(st, 3, document_json);
        sqlite3_bind_int64(st, 4, now);
        rc = sp_db_step_write(db, st) == SQLITE_DONE ? SP_OK : sp_db_fail(db, "conversion add");
        sp_db_done(st);
        if (rc == SP_OK && id != NULL)
            *id = sqlite3_last_insert_rowid(sp_db_conn(db));
    }
    if (rc == SP_OK)
        rc = sp_db_commit(db);
    else
        sp_db_rollback(db);
    return rc;
}

enum sp_err sp_pin_conversion_decide(struct sp_db *db, const char *cf, bool approve, const char *by,
                                     const char *reason, int64_t now)
{
    static const char sql[] =
        "UPDATE pin_conversions SET state = ?2, decided_at = ?3, decided_by = ?4, reason = ?5"
        " WHERE user_cf = ?1 AND state = 'pending'";
    sqlite3_stmt *st;
    enum sp_err rc = sp_db_begin(db);

    if (rc != SP_OK)
        return rc;
    st = sp_db_stmt(db, sql);
    rc = st ? SP_OK : SP_ERR_DB;
    if (st != NULL) {
        sqlite3_bind_text(st, 1, cf, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, approve ? "approved" : "rejected", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now);
        sp_db_bind_text(st, 4, by);
        sp_db_bind_text(st, 5, reason);
        rc = sp_db_step_write(db, st) == SQLITE_DONE ? SP_OK : sp_db_fail(db, "conversion");
        if (rc == SP_OK && sqlite3_changes(sp_db_conn(db)) == 0)
            rc = SP_ERR_NOT_FOUND;
        sp_db_done(st);
    }
    if (rc == SP_OK && approve)
        rc = sp_pin_set_dispositive(db, cf, now);
    if (rc == SP_ERR_NOT_FOUND) {
        /* nothing changed: keep a caller's transaction alive */
        return sp_db_commit(db) == SP_OK ? SP_ERR_NOT_FOUND : SP_ERR_DB;
    }
    if (rc == SP_OK)
        rc = sp_db_commit(db);
    else
        sp_db_rollback(db);
    return rc;
}

enum sp_err sp_pin_conversions(struct sp_db *db, bool all, sp_pin_conversion_fn fn, void *ctx)
{
    static const char sql[] =
        "SELECT id, user_cf, state, files, document, decided_by, reason, created_at,"
        " coalesce(decided_at, 0) FROM pin_conversions WHERE ?1 OR state = 'pending' ORDER BY id";
    sqlite3_stmt *st = sp_db_stmt(db, sql);
    int r;

    if (st == NULL)
        return SP_ERR_DB;
    sqlite3_bind_int(st, 1, all);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct sp_pin_conversion c;
        c.id = sqlite3_column_int64(st, 0);
        c.cf = (const char *)sqlite3_column_text(st, 1);
        c.state = (const char *)sqlite3_column_text(st, 2);
        c.files = (const char *)sqlite3_column_text(st, 3);
        c.document = (const char *)sqlite3_column_text(st, 4);
        c.decided_by = (const char *)sqlite3_column_text(st, 5);
        c.reason = (const char *)sqlite3_column_text(st, 6);
        c.created_at = sqlite3_column_int64(st, 7);
        c.decided_at = sqlite3_column_int64(st, 8);
        fn(ctx, &c);
    }
    sp_db_done(st);
    return r == SQLITE_DONE ? SP_OK : sp_db_fail(db, "conversions");
}
