/*
 * register: the SPID transaction register (format, chain and crash rules in
 * include/sp/register.h).
 *
 * Invariants kept here:
 *  - under the register lock, the newest segment file is at least as long as
 *    its index row says (bytes), and every older one exactly as long: a batch
 *    writes its frames, fdatasyncs, then commits the rows and syncs that;
 *    a failed batch cuts its frames away again, and bytes found past the
 *    newest row (a batch interrupted by a crash, never acknowledged) are cut
 *    by the next batch, as are segment files of days after the newest row;
 *  - a record is filed in the segment of max(its UTC day, newest indexed
 *    day, the previous record's day), so segment days never go back and the
 *    chain runs in day order;
 *  - the frame format and the preset dictionary are format 1 ("SPR1"):
 *    changing either needs a new magic, or old segments stop decoding. The
 *    splice of prepared records (SPLICE NOTES) writes ordinary format-1
 *    frames: readers do not know about it;
 *  - the database holds one row per day, never one per message, and the
 *    anchor (the last pruned record) so a pruned chain still verifies.
 *
 * THREAD SAFETY NOTES: batches and prune take the register lock: the
 * in-process mutex, then flock(LOCK_EX) on <dir>/.lock (flock excludes other
 * processes, not other threads sharing the descriptor, hence the mutex).
 * sp_register_prepare takes no lock: compression runs on the callers'
 * threads in parallel; only numbering, the chain hash, the write and the
 * syncs are serialized. verify and export hold the lock only while they
 * snapshot the index and the file sizes, then read each segment up to its
 * snapshot size, so a daemon appending meanwhile is neither blocked for long
 * nor seen half-written (a batch holds the lock from its first write to its
 * index commit). Callbacks run without the lock held but must not call
 * sp_register_*.
 *
 * Files: register.c the format, the chain, the index, open/close and prune;
 * register_append.c the write path (segments, crash recovery, batches);
 * register_read.c verify and export; register_commit.c the group commit.
 */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "sp/b64.h"
#include "sp/buf.h"
#include "sp/clock.h"
#include "sp/db.h"
#include "sp/digest.h"
#include "sp/file.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/register.h"
#include "register_priv.h"

#define REG_MAGIC "SPR1"
#define REG_ZLIB_LEVEL 6  /* zlib's default: level 9 gains ~1% here */
#define REG_HZ_WBITS 9    /* the Huffman coder of header chain parts: no matching, */
#define REG_HZ_MEMLEVEL 3 /* so the smallest window and a 512-symbol block */

static const char reg_genesis[SP_SHA256_HEX_LEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/*
 * Preset dictionary of format 1: the boilerplate of SPID messages, so that
 * a frame of a few KB compresses as if it followed other SAML. zlib looks
 * back from the end, so the most common strings come last. NEVER CHANGE IT:
 * every segment written with "SPR1" needs these exact bytes to decode.
 */
static const char reg_dict[] =
    "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
    "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
    "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
    "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
    "urn:oasis:names:tc:SAML:2.0:cm:bearer"
    "urn:oasis:names:tc:SAML:2.0:status:Requester"
    "urn:oasis:names:tc:SAML:2.0:status:Responder"
    "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"
    "urn:oasis:names:tc:SAML:2.0:logout:user"
    "<samlp:LogoutRequest <samlp:LogoutResponse <saml:SessionIndex>"
    "https://www.spid.gov.it/SpidL1https://www.spid.gov.it/SpidL2https://www.spid.gov.it/SpidL3"
    "<samlp:RequestedAuthnContext Comparison=\"minimum\"><saml:AuthnContextClassRef>"
    "<samlp:NameIDPolicy Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:transient\"/>"
    " AttributeConsumingServiceIndex=\"0\" AssertionConsumerServiceURL=\"https://"
    "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "
    "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_\" Version=\"2.0\" "
    "IssueInstant=\"\" Destination=\"https://\" ForceAuthn=\"true\">"
    "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo>"
    "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>"
    "<ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>"
    "<ds:Reference URI=\"#_\"><ds:Transforms>"
    "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>"
    "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms>"
    "<ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>"
    "<ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>"
    "</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>"
    "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>"
    "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "
    "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_\" InResponseTo=\"_\" "
    "<saml:Issuer Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:entity\" NameQualifier=\""
    "<samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/>"
    "</samlp:Status><saml:Assertion ID=\"_\" Version=\"2.0\" IssueInstant=\"\"><saml:Subject>"
    "<saml:NameID Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:transient\" "
    "NameQualifier=\"\"></saml:NameID><saml:SubjectConfirmation "
    "Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\"><saml:SubjectConfirmationData "
    "InResponseTo=\"_\" NotOnOrAfter=\"\" Recipient=\"https://\"/></saml:SubjectConfirmation>"
    "</saml:Subject><saml:Conditions NotBefore=\"\" NotOnOrAfter=\"\">"
    "<saml:AudienceRestriction><saml:Audience></saml:Audience></saml:AudienceRestriction>"
    "</saml:Conditions><saml:AuthnStatement AuthnInstant=\"\" SessionIndex=\"_\">"
    "<saml:AuthnContext><saml:AuthnContextClassRef></saml:AuthnContextClassRef>"
    "</saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement>"
    "<saml:Attribute Name=\"spidCode\"><saml:Attribute Name=\"name\">"
    "<saml:Attribute Name=\"familyName\"><saml:Attribute Name=\"email\">"
    "<saml:Attribute Name=\"dateOfBirth\"><saml:Attribute Name=\"mobilePhone\">"
    "<saml:Attribute Name=\"fiscalNumber\"><saml:AttributeValue xsi:type=\"xs:string\" "
    "xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" "
    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">TINIT-</saml:AttributeValue>"
    "</saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>"
    "{\"v\":1,\"seq\":,\"time\":,\"kind\":\"authn_request\",\"kind\":\"response\",\"dir\":\"out\","
    "\"dir\":\"in\",\"id\":\"_\",\"irt\":null,\"irt\":\"_\",\"idp\":\"https://\",\"cf\":null,"
    "\"cf\":\"TINIT-\",\"len\":,\"sha256\":\"\",\"prev\":\"\",\"hash\":\"\"}\n";

/* ------------------------------------------------------------------ days and paths */

/* "YYYY-MM-DD" (years past 9999 wrap: not reached by any real clock). */
static void reg_day_fmt(int y, int m, int d, char day[REG_DAY_LEN + 1])
{
    char tmp[48];

    snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d", y % 10000, m % 100, d % 100);
    memcpy(day, tmp, REG_DAY_LEN);
    day[REG_DAY_LEN] = '\0';
}

/* "YYYY-MM-DD" of the UTC day holding ms (ms >= 0). */
void reg_day_of(int64_t ms, char day[REG_DAY_LEN + 1])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    reg_day_fmt(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, day);
}

/* <dir>/YYYY/MM/DD.spr (dir_only: <dir>/YYYY/MM) into out. */
void reg_day_path(const struct sp_register *r, const char *day, int dir_only, struct sp_buf *out)
{
    sp_buf_reset(out);
    if (dir_only)
        sp_buf_addf(out, "%s/%.4s/%.2s", r->dir, day, day + 5);
    else
        sp_buf_addf(out, "%s/%.4s/%.2s/%.2s.spr", r->dir, day, day + 5, day + 8);
}

static int reg_is_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static void reg_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t reg_get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* ------------------------------------------------------------------ frames */

/* Inflate one frame's data (clen bytes) into plain, which must come out ulen long. */
static enum sp_err reg_frame_inflate(const unsigned char *data, uint32_t clen, uint32_t ulen,
                                     struct sp_buf *plain)
{
    z_stream zs;
    enum sp_err rc = SP_ERR_INTEGRITY;
    int z;

    sp_buf_reset(plain);
    if (sp_buf_reserve(plain, ulen) != SP_OK)
        return SP_ERR_TOO_LARGE;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit(&zs) != Z_OK)
        return SP_ERR_INTERNAL;
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = clen;
    zs.next_out = (Bytef *)plain->data;
    zs.avail_out = ulen;
    z = inflate(&zs, Z_FINISH);
    if (z == Z_NEED_DICT) {
        if (inflateSetDictionary(&zs, (const Bytef *)reg_dict, (uInt)(sizeof(reg_dict) - 1)) !=
            Z_OK)
            goto out;
        z = inflate(&zs, Z_FINISH);
    }
    if (z == Z_STREAM_END && zs.total_out == ulen && zs.avail_in == 0) {
        plain->len = ulen;
        plain->data[ulen] = '\0';
        rc = SP_OK;
    }
out:
    inflateEnd(&zs);
    return rc;
}

/*
 * Read the frame at the current position of fp, at most limit bytes further
 * (the snapshot size). SP_ERR_NOT_FOUND at a clean end, SP_ERR_INTEGRITY for
 * a frame that is cut short, has a bad magic or does not inflate, SP_ERR_IO.
 * *size gets the frame's length in the file.
 */
enum sp_err reg_frame_read(FILE *fp, int64_t limit, struct sp_buf *zbuf, struct sp_buf *plain,
                           int64_t *size)
{
    unsigned char head[REG_FRAME_HEAD];
    uint32_t clen, ulen;
    size_t n;

    *size = 0;
    if (limit <= 0)
        return SP_ERR_NOT_FOUND;
    if (limit < (int64_t)REG_FRAME_HEAD)
        return SP_ERR_INTEGRITY;
    n = fread(head, 1, sizeof(head), fp);
    if (n != sizeof(head))
        return ferror(fp) ? SP_ERR_IO : SP_ERR_INTEGRITY;
    clen = reg_get32(head + 4);
    ulen = reg_get32(head + 8);
    if (memcmp(head, REG_MAGIC, 4) != 0 || ulen > REG_MAX_PLAIN ||
        clen > compressBound(REG_MAX_PLAIN) || (int64_t)clen > limit - (int64_t)REG_FRAME_HEAD)
        return SP_ERR_INTEGRITY;
    sp_buf_reset(zbuf);
    if (sp_buf_reserve(zbuf, clen) != SP_OK)
        return SP_ERR_TOO_LARGE;
    if (fread(zbuf->data, 1, clen, fp) != clen)
        return ferror(fp) ? SP_ERR_IO : SP_ERR_INTEGRITY;
    *size = (int64_t)REG_FRAME_HEAD + clen;
    return reg_frame_inflate((const unsigned char *)zbuf->data, clen, ulen, plain);
}

/* ------------------------------------------------------------------ records and the chain */

json_t *reg_jstr(const char *s)
{
    return s != NULL ? json_string(s) : json_null(); /* NULL: not UTF-8 */
}

/* The hashed form: [seq, time, kind, dir, id, irt, idp, cf, len, sha256]; free(). */
static char *reg_canonical(const struct reg_entry *e)
{
    const char *const text[] = {e->kind, e->dir, e->id, e->irt, e->idp, e->cf};
    json_t *a = json_array();
    char *s = NULL;
    int bad = 0;

    bad |= json_array_append_new(a, json_integer(e->seq));
    bad |= json_array_append_new(a, json_integer(e->time_ms));
    for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
        bad |= json_array_append_new(a, reg_jstr(text[i]));
    bad |= json_array_append_new(a, json_integer(e->len));
    bad |= json_array_append_new(a, reg_jstr(e->sha256));
    if (bad == 0)
        s = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return s;
}

/* hash = SHA-256(prev || "\n" || canonical); SP_ERR_INVALID when a text is not UTF-8. */
enum sp_err reg_hash(const struct reg_entry *e, const char *prev, char out[SP_SHA256_HEX_LEN + 1])
{
    char *canon = reg_canonical(e);
    struct sp_buf m;

    if (canon == NULL)
        return SP_ERR_INVALID;
    sp_buf_init(&m, (size_t)-1);
    sp_buf_adds(&m, prev);
    sp_buf_addc(&m, '\n');
    sp_buf_adds(&m, canon);
    sp_sha256_hex(m.data, m.len, out);
    sp_buf_cleanup(&m);
    free(canon);
    return SP_OK;
}

static const char *reg_jget_str(json_t *o, const char *key, int *bad)
{
    json_t *v = json_object_get(o, key);

    if (v == NULL || (!json_is_null(v) && !json_is_string(v)))
        *bad = 1;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int64_t reg_jget_int(json_t *o, const char *key, int *bad)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_integer(v))
        *bad = 1;
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/*
 * Split plain into header and message and parse the header into e (strings
 * borrowed from *hdr, which the caller json_decref()s). SP_ERR_INTEGRITY when
 * the header is not the expected JSON object.
 */
enum sp_err reg_parse(const struct sp_buf *plain, struct reg_entry *e, json_t **hdr)
{
    const char *nl = memchr(plain->data, '\n', plain->len);
    int bad = 0;
    json_t *o;

    *hdr = NULL;
    memset(e, 0, sizeof(*e));
    if (nl == NULL)
        return SP_ERR_INTEGRITY;
    o = json_loadb(plain->data, (size_t)(nl - plain->data), JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return SP_ERR_INTEGRITY;
    }
    e->seq = reg_jget_int(o, "seq", &bad);
    e->time_ms = reg_jget_int(o, "time", &bad);
    e->kind = reg_jget_str(o, "kind", &bad);
    e->dir = reg_jget_str(o, "dir", &bad);
    e->id = reg_jget_str(o, "id", &bad);
    e->irt = reg_jget_str(o, "irt", &bad);
    e->idp = reg_jget_str(o, "idp", &bad);
    e->cf = reg_jget_str(o, "cf", &bad);
    e->len = reg_jget_int(o, "len", &bad);
    e->sha256 = reg_jget_str(o, "sha256", &bad);
    e->prev = reg_jget_str(o, "prev", &bad);
    e->hash = reg_jget_str(o, "hash", &bad);
    e->msg = (const unsigned char *)nl + 1;
    e->msg_len = plain->len - (size_t)(nl + 1 - plain->data);
    if (bad || e->sha256 == NULL || e->prev == NULL || e->hash == NULL) {
        json_decref(o);
        return SP_ERR_INTEGRITY;
    }
    *hdr = o;
    return SP_OK;
}

/* ------------------------------------------------------------------ the index */

static void reg_copy_col(sqlite3_stmt *st, int i, char *out, size_t n)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(out, n, "%s", t != NULL ? (const char *)t : "");
}

enum sp_err reg_read_anchor(struct sp_register *r, struct reg_anchor *a)
{
    static const char sql[] = "SELECT seq, hash, first_day FROM register_anchor WHERE one = 1";
    sqlite3_stmt *st = sp_db_stmt(r->db, sql);
    enum sp_err rc = SP_OK;
    int z;

    a->seq = 0;
    memcpy(a->hash, reg_genesis, sizeof(reg_genesis));
    a->first_day[0] = '\0';
    if (st == NULL)
        return SP_ERR_DB;
    z = sqlite3_step(st);
    if (z == SQLITE_ROW) {
        a->seq = sqlite3_column_int64(st, 0);
        reg_copy_col(st, 1, a->hash, sizeof(a->hash));
        reg_copy_col(st, 2, a->first_day, sizeof(a->first_day));
    } else if (z != SQLITE_DONE) {
        rc = sp_db_fail(r->db, "register anchor");
    }
    sp_db_done(st);
    return rc;
}

static void reg_row(sqlite3_stmt *st, struct reg_day *d)
{
    memset(d, 0, sizeof(*d));
    reg_copy_col(st, 0, d->day, sizeof(d->day));
    d->first_seq = sqlite3_column_int64(st, 1);
    d->last_seq = sqlite3_column_int64(st, 2);
    reg_copy_col(st, 3, d->last_hash, sizeof(d->last_hash));
    d->records = sqlite3_column_int64(st, 4);
    d->bytes = sqlite3_column_int64(st, 5);
    d->indexed = 1;
}

/* The newest day row (*found 0 when there is none). */
enum sp_err reg_read_newest(struct sp_register *r, struct reg_day *d, int *found)
{
    static const char sql[] = "SELECT day, first_seq, last_seq, last_hash, records, bytes"
                              " FROM register_days ORDER BY day DESC LIMIT 1";
    sqlite3_stmt *st = sp_db_stmt(r->db, sql);
    enum sp_err rc = SP_OK;
    int z;

    *found = 0;
    if (st == NULL)
        return SP_ERR_DB;
    z = sqlite3_step(st);
    if (z == SQLITE_ROW) {
        reg_row(st, d);
        *found = 1;
    } else if (z != SQLITE_DONE) {
        rc = sp_db_fail(r->db, "register head");
    }
    sp_db_done(st);
    return rc;
}

/* ------------------------------------------------------------------ locking */

enum sp_err reg_lock(struct sp_register *r)
{
    pthread_mutex_lock(&r->mu);
    while (flock(r->lock_fd, LOCK_EX) != 0) {
        if (errno == EINTR)
            continue;
        sp_warn("register: cannot lock %s/.lock", r->dir);
        pthread_mutex_unlock(&r->mu);
        return SP_ERR_IO;
    }
    return SP_OK;
}

void reg_unlock(struct sp_register *r)
{
    flock(r->lock_fd, LOCK_UN);
    pthread_mutex_unlock(&r->mu);
}

/* ------------------------------------------------------------------ open and close */

struct sp_register *sp_register_open(const char *dir, struct sp_db *db, struct sp_buf *err)
{
    struct sp_register *r;
    struct sp_buf p;

    if (dir == NULL || dir[0] == '\0' || db == NULL) {
        sp_buf_adds(err, "register: no directory or database");
        return NULL;
    }
    if (sp_file_mkdirs(dir, REG_DIR_MODE) != SP_OK) {
        sp_buf_addf(err, "register: cannot create %s: %s", dir, strerror(errno));
        return NULL;
    }
    r = sp_xcalloc(1, sizeof(*r));
    r->dir = sp_xstrdup(dir);
    r->db = db;
    r->seg_fd = -1;
    r->lock_fd = -1;
    pthread_mutex_init(&r->mu, NULL);
    pthread_mutex_init(&r->zpool_mu, NULL);
    reg_gc_init(&r->gc);
    r->dict_id =
        adler32(adler32(0L, Z_NULL, 0), (const Bytef *)reg_dict, (uInt)(sizeof(reg_dict) - 1));
    /* the chain part of a header is hex and digits: Huffman coding is all
     * that gains anything, and a tiny hash table keeps deflateReset cheap */
    if (deflateInit2(&r->hz, REG_ZLIB_LEVEL, Z_DEFLATED, -REG_HZ_WBITS, REG_HZ_MEMLEVEL,
                     Z_HUFFMAN_ONLY) != Z_OK) {
        sp_buf_adds(err, "register: cannot set up zlib");
        sp_register_free(&r);
        return NULL;
    }
    r->hz_ok = 1;
    sp_buf_init(&p, 8192);
    sp_buf_addf(&p, "%s/.lock", dir);
    r->lock_fd = open(sp_buf_str(&p), O_RDWR | O_CREAT | O_CLOEXEC, REG_FILE_MODE);
    if (r->lock_fd < 0) {
        sp_buf_addf(err, "register: cannot open %s: %s", sp_buf_str(&p), strerror(errno));
        sp_buf_cleanup(&p);
        sp_register_free(&r);
        return NULL;
    }
    sp_buf_cleanup(&p);
    return r;
}

void sp_register_free(struct sp_register **rp)
{
    struct sp_register *r = rp != NULL ? *rp : NULL;

    if (r == NULL)
        return;
    if (r->seg_fd >= 0)
        close(r->seg_fd);
    if (r->lock_fd >= 0)
        close(r->lock_fd);
    if (r->hz_ok)
        deflateEnd(&r->hz);
    while (r->zpool_n > 0) {
        z_stream *zs = r->zpool[--r->zpool_n];
        deflateEnd(zs);
        free(zs);
    }
    pthread_mutex_destroy(&r->zpool_mu);
    reg_gc_cleanup(&r->gc);
    pthread_mutex_destroy(&r->mu);
    free(r->dir);
    free(r);
    *rp = NULL;
}

/* ------------------------------------------------------------------ snapshot of days */

static struct reg_day *reg_days_find_or_add(struct reg_days *ds, const char *day)
{
    for (size_t i = 0; i < ds->n; i++)
        if (strcmp(ds->v[i].day, day) == 0)
            return &ds->v[i];
    if (ds->n == ds->cap) {
        ds->cap = ds->cap ? ds->cap * 2 : 64;
        ds->v = sp_xrealloc(ds->v, ds->cap * sizeof(*ds->v));
    }
    memset(&ds->v[ds->n], 0, sizeof(ds->v[0]));
    snprintf(ds->v[ds->n].day, sizeof(ds->v[0].day), "%s", day);
    return &ds->v[ds->n++];
}

static int reg_day_cmp(const void *a, const void *b)
{
    return strcmp(((const struct reg_day *)a)->day, ((const struct reg_day *)b)->day);
}

/* Names in dir made of n digits (plus suffix), sorted, into a NULL-terminated list. */
static char **reg_list(const char *dir, size_t n, const char *suffix)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **v = NULL;
    size_t k = 0, sl = strlen(suffix);

    if (d == NULL)
        return sp_xcalloc(1, sizeof(char *));
    while ((de = readdir(d)) != NULL) {
        if (strlen(de->d_name) != n + sl || strcmp(de->d_name + n, suffix) != 0)
            continue;
        if (!reg_is_digits(de->d_name, n))
            continue;
        v = sp_xrealloc(v, (k + 2) * sizeof(char *));
        v[k++] = sp_xstrndup(de->d_name, n);
        v[k] = NULL;
    }
    closedir(d);
    return v != NULL ? v : sp_xcalloc(1, sizeof(char *));
}

static void reg_list_free(char **v)
{
    for (size_t i = 0; v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

/* Every segment file on disk, with its size, into ds. */
void reg_scan_disk(struct sp_register *r, struct reg_days *ds)
{
    struct sp_buf p;
    char **years = reg_list(r->dir, 4, "");

    sp_buf_init(&p, 8192);
    for (size_t y = 0; years[y] != NULL; y++) {
        sp_buf_reset(&p);
        sp_buf_addf(&p, "%s/%s", r->dir, years[y]);
        char **months = reg_list(sp_buf_str(&p), 2, "");
        for (size_t m = 0; months[m] != NULL; m++) {
            sp_buf_reset(&p);
            sp_buf_addf(&p, "%s/%s/%s", r->dir, years[y], months[m]);
            char **dd = reg_list(sp_buf_str(&p), 2, ".spr");
            for (size_t i = 0; dd[i] != NULL; i++) {
                char day[REG_DAY_LEN + 1];
                struct stat st;
                struct reg_day *d;

                snprintf(day, sizeof(day), "%s-%s-%s", years[y], months[m], dd[i]);
                reg_day_path(r, day, 0, &p);
                if (stat(sp_buf_str(&p), &st) != 0 || !S_ISREG(st.st_mode))
                    continue;
                d = reg_days_find_or_add(ds, day);
                d->on_disk = 1;
                d->size = (int64_t)st.st_size;
            }
            reg_list_free(dd);
        }
        reg_list_free(months);
    }
    reg_list_free(years);
    sp_buf_cleanup(&p);
}

/*
 * What verify and export read: the acknowledged bytes. The unacknowledged
 * tail of a batch a crash interrupted (see register.h, "Durability and
 * crashes") is marked and left out: bytes past the newest row, and files of
 * days after it, each no larger than one batch. Anything else past a row is
 * read, so verify reports it.
 */
static void reg_classify(struct reg_days *ds, const struct reg_anchor *a)
{
    const struct reg_day *newest = NULL;

    for (size_t i = 0; i < ds->n; i++)
        if (ds->v[i].indexed && strcmp(ds->v[i].day, a->first_day) >= 0)
            newest = &ds->v[i]; /* sorted by day */
    for (size_t i = 0; i < ds->n; i++) {
        struct reg_day *d = &ds->v[i];
        int64_t extra = d->size - (d->indexed ? d->bytes : 0);

        d->limit = d->size;
        d->tail = REG_TAIL_NONE;
        if (!d->on_disk || extra <= 0 || extra > (int64_t)SP_REGISTER_BATCH_MAX_BYTES)
            continue;
        if (d == newest) {
            d->tail = REG_TAIL_ROW;
            d->limit = d->bytes;
        } else if (!d->indexed && strcmp(d->day, a->first_day) >= 0 &&
                   (newest == NULL || strcmp(d->day, newest->day) > 0)) {
            d->tail = REG_TAIL_FILE;
            d->limit = 0;
        }
    }
}

/*
 * Under the lock: the anchor, every index row and every file on disk with
 * its size, sorted by day. Files only grow after this, by whole frames.
 */
enum sp_err reg_snapshot(struct sp_register *r, struct reg_anchor *a, struct reg_days *ds)
{
    static const char sql[] = "SELECT day, first_seq, last_seq, last_hash, records, bytes"
                              " FROM register_days ORDER BY day";
    sqlite3_stmt *st;
    enum sp_err rc;
    int z;

    memset(ds, 0, sizeof(*ds));
    rc = reg_lock(r);
    if (rc != SP_OK)
        return rc;
    rc = reg_read_anchor(r, a);
    st = rc == SP_OK ? sp_db_stmt(r->db, sql) : NULL;
    if (rc == SP_OK && st == NULL)
        rc = SP_ERR_DB;
    while (rc == SP_OK && (z = sqlite3_step(st)) != SQLITE_DONE) {
        struct reg_day row;
        if (z != SQLITE_ROW) {
            rc = sp_db_fail(r->db, "register index");
            break;
        }
        reg_row(st, &row);
        *reg_days_find_or_add(ds, row.day) = row;
    }
    if (st != NULL)
        sp_db_done(st);
    if (rc == SP_OK)
        reg_scan_disk(r, ds);
    reg_unlock(r);
    if (ds->n > 0)
        qsort(ds->v, ds->n, sizeof(ds->v[0]), reg_day_cmp);
    reg_classify(ds, a);
    return rc;
}

/* ------------------------------------------------------------------ records in */

static int reg_kind_ok(const char *k)
{
    return k != NULL &&
           (strcmp(k, SP_REGISTER_AUTHN_REQUEST) == 0 || strcmp(k, SP_REGISTER_RESPONSE) == 0 ||
            strcmp(k, SP_REGISTER_LOGOUT_REQUEST) == 0 ||
            strcmp(k, SP_REGISTER_LOGOUT_RESPONSE) == 0);
}

static enum sp_err reg_check_record(const struct sp_register_record *rec)
{
    if (rec == NULL || !reg_kind_ok(rec->kind) || rec->direction == NULL ||
        (strcmp(rec->direction, SP_REGISTER_OUT) != 0 &&
         strcmp(rec->direction, SP_REGISTER_IN) != 0) ||
        rec->id == NULL || rec->id[0] == '\0' || rec->msg == NULL || rec->msg_len == 0 ||
        rec->time_ms < 0) {
        sp_warnx("register: record refused: kind, direction, id, message or time missing or "
                 "unknown");
        return SP_ERR_INVALID;
    }
    if (rec->msg_len > SP_REGISTER_MAX_MESSAGE) {
        sp_warnx("register: record refused: message of %zu bytes (at most %u)", rec->msg_len,
                 SP_REGISTER_MAX_MESSAGE);
        return SP_ERR_TOO_LARGE;
    }
    return SP_OK;
}

/* ------------------------------------------------------------------ prepared records */

/*
 * SPLICE NOTES: how a record is compressed before its place in the chain is
 * known. The plain text of a frame is U || K || M, with
 *   U = {"seq":N,"prev":"<64 hex>","hash":"<64 hex>",   N padded with spaces
 *       to REG_SEQ_WIDTH, so U is always REG_U_LEN bytes;
 *   K = the other header fields and the closing brace and newline;
 *   M = the message.
 * Only U depends on the chain. sp_register_prepare compresses K||M on the
 * caller's thread as raw deflate ending with the final block, with the
 * preset dictionary reg_dict || U', where U' is U with every chain byte
 * (seq, prev, hash) replaced by a byte value p that occurs nowhere in K||M.
 * Under the lock the frame is assembled as: zlib header naming reg_dict ||
 * U Huffman-coded as non-final blocks ending on a byte boundary (sync
 * flush) || the prepared K||M blocks || Adler-32 of U||K||M (combined). It
 * inflates to the right bytes because every back-reference of the K||M
 * blocks copies bytes equal to K||M's, which hold no p: so it lands on
 * reg_dict or on the fixed text of U, both at the same distance in U' and
 * in U. When all 256 byte values occur in K||M, K||M is compressed without a
 * dictionary (no back-reference before its start). The result is an
 * ordinary format-1 frame.
 */
#define REG_SEQ_WIDTH 19                                 /* digits of the largest int64 */
#define REG_U_SEQ 7                                      /* {"seq": */
#define REG_U_PREV (REG_U_SEQ + REG_SEQ_WIDTH + 9)       /* ,"prev":" */
#define REG_U_HASH (REG_U_PREV + SP_SHA256_HEX_LEN + 10) /* ","hash":" */
#define REG_U_LEN (REG_U_HASH + SP_SHA256_HEX_LEN + 2)   /* ", */
#define REG_UZ_MAX 512         /* U Huffman-coded, with the sync flush marker */
#define REG_ZLIB_CMF 0x78      /* deflate, 32 KiB window */
#define REG_ZLIB_FLG_BASE 0xA0 /* default level, preset dictionary */
#define REG_ZLIB_FLG (REG_ZLIB_FLG_BASE + (31 - (REG_ZLIB_CMF * 256 + REG_ZLIB_FLG_BASE) % 31) % 31)
#define REG_ZLIB_HEAD 6  /* CMF, FLG, be32 DICTID */
#define REG_ZLIB_TRAIL 4 /* be32 Adler-32 */

static void reg_u(char u[REG_U_LEN], const char *seq, const char *prev, const char *hash)
{
    memcpy(u, "{\"seq\":", REG_U_SEQ);
    memcpy(u + REG_U_SEQ, seq, REG_SEQ_WIDTH);
    memcpy(u + REG_U_SEQ + REG_SEQ_WIDTH, ",\"prev\":\"", 9);
    memcpy(u + REG_U_PREV, prev, SP_SHA256_HEX_LEN);
    memcpy(u + REG_U_PREV + SP_SHA256_HEX_LEN, "\",\"hash\":\"", 10);
    memcpy(u + REG_U_HASH, hash, SP_SHA256_HEX_LEN);
    memcpy(u + REG_U_HASH + SP_SHA256_HEX_LEN, "\",", 2);
}

/* A byte value found nowhere in p[0..n) (0 when possible), or -1 when all 256 occur. */
static int reg_placeholder(const unsigned char *p, size_t n)
{
    unsigned char seen[256];

    if (memchr(p, 0, n) == NULL)
        return 0;
    memset(seen, 0, sizeof(seen));
    for (size_t i = 0; i < n; i++)
        seen[p[i]] = 1;
    for (int c = 1; c < 256; c++)
        if (!seen[c])
            return c;
    return -1;
}

/* K: every header field but seq, prev and hash, then "}\n" (U opens the object). */
static enum sp_err reg_header_rest(const struct reg_entry *e, struct sp_buf *out)
{
    json_t *o = json_object();
    char *s = NULL;
    int bad = 0;
    enum sp_err rc = SP_ERR_INVALID;

    bad |= json_object_set_new(o, "v", json_integer(1));
    bad |= json_object_set_new(o, "time", json_integer(e->time_ms));
    bad |= json_object_set_new(o, "kind", reg_jstr(e->kind));
    bad |= json_object_set_new(o, "dir", reg_jstr(e->dir));
    bad |= json_object_set_new(o, "id", reg_jstr(e->id));
    bad |= json_object_set_new(o, "irt", reg_jstr(e->irt));
    bad |= json_object_set_new(o, "idp", reg_jstr(e->idp));
    bad |= json_object_set_new(o, "cf", reg_jstr(e->cf));
    bad |= json_object_set_new(o, "len", json_integer(e->len));
    bad |= json_object_set_new(o, "sha256", reg_jstr(e->sha256));
    if (bad == 0)
        s = json_dumps(o, JSON_COMPACT); /* one line: strings escape their newlines */
    json_decref(o);
    if (s != NULL && s[0] == '{') {
        rc = sp_buf_adds(out, s + 1);
        if (rc == SP_OK)
            rc = sp_buf_addc(out, '\n');
    }
    free(s);
    return rc;
}

/*
 * Compressors for sp_register_prepare, kept between calls: a deflate state
 * is some 256 KiB, and allocating and freeing one per record made the
 * allocator give pages back and fault them in again under load. At most
 * REG_ZPOOL_MAX are kept; more concurrent callers get fresh ones.
 */
static z_stream *reg_zpool_get(struct sp_register *r)
{
    z_stream *zs = NULL;

    pthread_mutex_lock(&r->zpool_mu);
    if (r->zpool_n > 0)
        zs = r->zpool[--r->zpool_n];
    pthread_mutex_unlock(&r->zpool_mu);
    if (zs != NULL)
        return deflateReset(zs) == Z_OK ? zs : NULL;
    zs = sp_xcalloc(1, sizeof(*zs));
    if (deflateInit2(zs, REG_ZLIB_LEVEL, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(zs);
        return NULL;
    }
    return zs;
}

static void reg_zpool_put(struct sp_register *r, z_stream *zs)
{
    if (zs == NULL)
        return;
    pthread_mutex_lock(&r->zpool_mu);
    if (r->zpool_n < REG_ZPOOL_MAX) {
        r->zpool[r->zpool_n++] = zs;
        zs = NULL;
    }
    pthread_mutex_unlock(&r->zpool_mu);
    if (zs != NULL) {
        deflateEnd(zs);
        free(zs);
    }
}

enum sp_err sp_register_prepare(struct sp_register *r, const struct sp_register_record *rec,
                                struct sp_register_prepared **out)
{
    char sha[SP_SHA256_HEX_LEN + 1];
    unsigned char dict[sizeof(reg_dict) - 1 + REG_U_LEN];
    struct sp_register_prepared *pr = NULL;
    struct reg_entry e;
    struct sp_buf km;
    z_stream *zs = NULL;
    uLong bound;
    int ph;
    enum sp_err rc;

    *out = NULL;
    rc = reg_check_record(rec);
    if (rc != SP_OK)
        return rc;
    sp_buf_init(&km, REG_MAX_PLAIN);
    sp_sha256_hex(rec->msg, rec->msg_len, sha);
    e = (struct reg_entry){
        .seq = 0,
        .time_ms = rec->time_ms,
        .kind = rec->kind,
        .dir = rec->direction,
        .id = rec->id,
        .irt = rec->in_response_to,
        .idp = rec->idp,
        .cf = rec->cf,
        .len = (int64_t)rec->msg_len,
        .sha256 = sha,
    };
    pr = sp_xcalloc(1, sizeof(*pr));
    pr->time_ms = rec->time_ms;
    pr->canon = reg_canonical(&e);
    if (pr->canon == NULL || strncmp(pr->canon, "[0,", 3) != 0) {
        sp_warnx("register: record refused: a text field is not valid UTF-8");
        rc = SP_ERR_INVALID;
        goto out;
    }
    rc = reg_header_rest(&e, &km);
    if (rc == SP_OK && REG_U_LEN + km.len > REG_MAX_HEADER) {
        sp_warnx("register: record refused: header fields of %zu bytes", km.len);
        rc = SP_ERR_TOO_LARGE;
    }
    if (rc == SP_OK)
        rc = sp_buf_add(&km, rec->msg, rec->msg_len);
    if (rc != SP_OK)
        goto out;

    rc = SP_ERR_INTERNAL;
    zs = reg_zpool_get(r);
    if (zs == NULL)
        goto out;
    ph = reg_placeholder((const unsigned char *)km.data, km.len);
    if (ph >= 0) {
        char seq[REG_SEQ_WIDTH], fill[SP_SHA256_HEX_LEN];
        memset(seq, ph, sizeof(seq));
        memset(fill, ph, sizeof(fill));
        memcpy(dict, reg_dict, sizeof(reg_dict) - 1);
        reg_u((char *)dict + sizeof(reg_dict) - 1, seq, fill, fill);
        if (deflateSetDictionary(zs, dict, (uInt)sizeof(dict)) != Z_OK)
            goto out;
    }
    bound = deflateBound(zs, (uLong)km.len);
    pr->body = sp_xmalloc(bound);
    zs->next_in = (Bytef *)km.data;
    zs->avail_in = (uInt)km.len;
    zs->next_out = pr->body;
    zs->avail_out = (uInt)bound;
    if (deflate(zs, Z_FINISH) != Z_STREAM_END)
        goto out;
    pr->body_len = zs->total_out;
    pr->body_plain = km.len;
    pr->body_adler = adler32(adler32(0L, Z_NULL, 0), (const Bytef *)km.data, (uInt)km.len);
    rc = SP_OK;
out:
    reg_zpool_put(r, zs);
    sp_buf_cleanup(&km);
    if (rc == SP_OK)
        *out = pr;
    else
        sp_register_prepared_free(&pr);
    return rc;
}

void sp_register_prepared_free(struct sp_register_prepared **pp)
{
    struct sp_register_prepared *p = pp != NULL ? *pp : NULL;

    if (p == NULL)
        return;
    free(p->canon);
    free(p->body);
    free(p);
    *pp = NULL;
}

/*
 * Under the lock: the frame of pr as record seq following prev, appended to
 * out (see the SPLICE NOTES); its hash into hash. scratch is reused.
 */
enum sp_err reg_frame_splice(struct sp_register *r, const struct sp_register_prepared *pr,
                             int64_t seq, const char *prev, char hash[SP_SHA256_HEX_LEN + 1],
                             struct sp_buf *scratch, struct sp_buf *out)
{
    char seqtxt[32], u[REG_U_LEN];
    unsigned char head[REG_FRAME_HEAD + REG_ZLIB_HEAD], trail[REG_ZLIB_TRAIL], uz[REG_UZ_MAX];
    size_t uzlen, clen, ulen;
    uLong adler;
    enum sp_err rc;

    /* hash_n = SHA-256(prev "\n" [seq, ...]): the canonical form with this seq */
    sp_buf_reset(scratch);
    sp_buf_adds(scratch, prev);
    sp_buf_addf(scratch, "\n[%lld", (long long)seq);
    rc = sp_buf_adds(scratch, pr->canon + 2);
    if (rc != SP_OK)
        return rc;
    sp_sha256_hex(scratch->data, scratch->len, hash);

    snprintf(seqtxt, sizeof(seqtxt), "%-*lld", REG_SEQ_WIDTH, (long long)seq);
    reg_u(u, seqtxt, prev, hash);
    if (deflateReset(&r->hz) != Z_OK)
        return SP_ERR_INTERNAL;
    r->hz.next_in = (Bytef *)u;
    r->hz.avail_in = REG_U_LEN;
    r->hz.next_out = uz;
    r->hz.avail_out = sizeof(uz);
    if (deflate(&r->hz, Z_SYNC_FLUSH) != Z_OK || r->hz.avail_in != 0 || r->hz.avail_out == 0)
        return SP_ERR_INTERNAL;
    uzlen = sizeof(uz) - r->hz.avail_out;

    clen = REG_ZLIB_HEAD + uzlen + pr->body_len + REG_ZLIB_TRAIL;
    ulen = REG_U_LEN + pr->body_plain;
    if (ulen > REG_MAX_PLAIN || clen > compressBound(REG_MAX_PLAIN))
        return SP_ERR_TOO_LARGE;
    memcpy(head, REG_MAGIC, 4);
    reg_put32(head + 4, (uint32_t)clen);
    reg_put32(head + 8, (uint32_t)ulen);
    head[REG_FRAME_HEAD] = REG_ZLIB_CMF;
    head[REG_FRAME_HEAD + 1] = REG_ZLIB_FLG;
    reg_put32(head + REG_FRAME_HEAD + 2, (uint32_t)r->dict_id);
    adler = adler32(adler32(0L, Z_NULL, 0), (const Bytef *)u, REG_U_LEN);
    adler = adler32_combine(adler, pr->body_adler, (z_off_t)pr->body_plain);
    reg_put32(trail, (uint32_t)adler);
    rc = sp_buf_add(out, head, sizeof(head));
    if (rc == SP_OK)
        rc = sp_buf_add(out, uz, uzlen);
    if (rc == SP_OK)
        rc = sp_buf_add(out, pr->body, pr->body_len);
    if (rc == SP_OK)
        rc = sp_buf_add(out, trail, sizeof(trail));
    return rc;
}

/* ------------------------------------------------------------------ prune */

static int reg_days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

/* The first day kept: now's UTC day, keep_months earlier (clamped to the month's end). */
static void reg_cutoff(int64_t now_ms, unsigned keep_months, char out[REG_DAY_LEN + 1])
{
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    int64_t months;
    int y, m, d;

    gmtime_r(&t, &tm);
    months = (int64_t)(tm.tm_year + 1900) * 12 + tm.tm_mon - keep_months;
    y = (int)(months / 12);
    m = (int)(months % 12) + 1;
    d = tm.tm_mday;
    if (d > reg_days_in_month(y, m))
        d = reg_days_in_month(y, m);
    reg_day_fmt(y, m, d, out);
}

/* Under the lock, in one transaction: move the anchor past the rows before cutoff, drop them. */
static enum sp_err reg_prune_index(struct sp_register *r, const char *cutoff, int64_t now_ms,
                                   int64_t *rows)
{
    static const char sel[] = "SELECT day, first_seq, last_seq, last_hash, records, bytes"
                              " FROM register_days WHERE day < ?1 ORDER BY day DESC LIMIT 1";
    static const char cnt[] = "SELECT count(*) FROM register_days WHERE day < ?1";
    static const char anc[] =
        "INSERT INTO register_anchor (one, seq, hash, first_day, pruned_at)"
        " VALUES (1, ?1, ?2, ?3, ?4) ON CONFLICT(one) DO UPDATE SET seq = excluded.seq,"
        " hash = excluded.hash, first_day = excluded.first_day, pruned_at = excluded.pruned_at";
    static const char del[] = "DELETE FROM register_days WHERE day < ?1";
    struct reg_day last;
    sqlite3_stmt *st;
    enum sp_err rc;
    int found = 0, in_txn = 0;

    *rows = 0;
    rc = sp_db_begin(r->db);
    if (rc != SP_OK)
        return rc;
    in_txn = 1;
    st = sp_db_stmt(r->db, cnt);
    if (st == NULL) {
        rc = SP_ERR_DB;
        goto out;
    }
    sp_db_bind_text(st, 1, cutoff);
    if (sqlite3_step(st) == SQLITE_ROW)
        *rows = sqlite3_column_int64(st, 0);
    else
        rc = sp_db_fail(r->db, "register prune");
    sp_db_done(st);
    if (rc != SP_OK || *rows == 0)
        goto out;

    st = sp_db_stmt(r->db, sel);
    if (st == NULL) {
        rc = SP_ERR_DB;
        goto out;
    }
    sp_db_bind_text(st, 1, cutoff);
    if (sqlite3_step(st) == SQLITE_ROW) {
        reg_row(st, &last);
        found = 1;
    }
    sp_db_done(st);
    if (!found) {
        rc = sp_db_fail(r->db, "register prune");
        goto out;
    }

    st = sp_db_stmt(r->db, anc);
    if (st == NULL) {
        rc = SP_ERR_DB;
        goto out;
    }
    sqlite3_bind_int64(st, 1, last.last_seq);
    sp_db_bind_text(st, 2, last.last_hash);
    sp_db_bind_text(st, 3, cutoff);
    sqlite3_bind_int64(st, 4, now_ms);
    if (sp_db_step_write(r->db, st) != SQLITE_DONE)
        rc = sp_db_fail(r->db, "register anchor");
    sp_db_done(st);
    if (rc != SP_OK)
        goto out;

    st = sp_db_stmt(r->db, del);
    if (st == NULL) {
        rc = SP_ERR_DB;
        goto out;
    }
    sp_db_bind_text(st, 1, cutoff);
    if (sp_db_step_write(r->db, st) != SQLITE_DONE)
        rc = sp_db_fail(r->db, "register prune");
    sp_db_done(st);
out:
    if (in_txn) {
        if (rc == SP_OK)
            rc = sp_db_commit(r->db);
        else
            sp_db_rollback(r->db);
    }
    return rc;
}

enum sp_err sp_register_prune(struct sp_register *r, int64_t now_ms, unsigned keep_months,
                              int64_t *days)
{
    char cutoff[REG_DAY_LEN + 1];
    struct reg_days ds;
    struct sp_buf p;
    int64_t rows = 0, removed = 0;
    enum sp_err rc;

    if (days != NULL)
        *days = 0;
    if (keep_months == 0 || now_ms < 0)
        return SP_ERR_INVALID;
    reg_cutoff(now_ms, keep_months, cutoff);
    memset(&ds, 0, sizeof(ds));
    sp_buf_init(&p, 8192);
    rc = reg_lock(r);
    if (rc != SP_OK)
        goto out;
    rc = reg_prune_index(r, cutoff, now_ms, &rows);
    if (rc == SP_OK) {
        /* the index no longer names them: the files go after the commit */
        reg_scan_disk(r, &ds);
        for (size_t i = 0; i < ds.n; i++) {
            if (strcmp(ds.v[i].day, cutoff) >= 0)
                continue;
            if (r->seg_fd >= 0 && strcmp(r->seg_day, ds.v[i].day) == 0) {
                close(r->seg_fd);
                r->seg_fd = -1;
            }
            reg_day_path(r, ds.v[i].day, 0, &p);
            if (unlink(sp_buf_str(&p)) != 0) {
                sp_warn("register: prune: cannot remove %s", sp_buf_str(&p));
                rc = SP_ERR_IO;
                continue;
            }
            removed++;
            reg_day_path(r, ds.v[i].day, 1, &p);
            if (rmdir(sp_buf_str(&p)) == 0) { /* the month, once empty; then the year */
                sp_buf_reset(&p);
                sp_buf_addf(&p, "%s/%.4s", r->dir, ds.v[i].day);
                rmdir(sp_buf_str(&p));
            }
        }
    }
    reg_unlock(r);
    if (rc == SP_OK && removed > 0)
        sp_info("register: pruned %lld day segments before %s", (long long)removed, cutoff);
out:
    if (days != NULL)
        *days = removed;
    free(ds.v);
    sp_buf_cleanup(&p);
    return rc;
}
