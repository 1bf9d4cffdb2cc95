/*
 * register: the SPID transaction register (format and chain in
 * include/sp/register.h).
 *
 * Invariants kept here:
 *  - under the register lock, every segment file is exactly as long as its
 *    index row says (bytes): append writes the frame, fdatasyncs, then
 *    updates the row; a failed row update truncates the frame away again, and
 *    bytes found past the row (an append interrupted by a crash, never
 *    acknowledged) are truncated by the next append;
 *  - a record is filed in the segment of max(its UTC day, newest indexed
 *    day), so segment days never go back and the chain runs in day order;
 *  - the frame format and the preset dictionary are format 1 ("SPR1"):
 *    changing either needs a new magic, or old segments stop decoding;
 *  - the database holds one row per day, never one per message, and the
 *    anchor (the last pruned record) so a pruned chain still verifies.
 *
 * THREAD SAFETY NOTES: append and prune take the register lock: the
 * in-process mutex, then flock(LOCK_EX) on <dir>/.lock (flock excludes other
 * processes, not other threads sharing the descriptor, hence the mutex).
 * verify and export hold the lock only while they snapshot the index and the
 * file sizes, then read each segment up to its snapshot size, so a daemon
 * appending meanwhile is neither blocked for long nor seen half-written.
 * Callbacks run without the lock held but must not call sp_register_*.
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

#define REG_MAGIC "SPR1"
#define REG_FRAME_HEAD 12u           /* magic, be32 compressed, be32 plain */
#define REG_MAX_HEADER (64u * 1024u) /* bytes of one header line */
#define REG_MAX_PLAIN (SP_REGISTER_MAX_MESSAGE + REG_MAX_HEADER)
#define REG_ZLIB_LEVEL 6     /* zlib's default: level 9 gains ~1% here */
#define REG_MAX_PROBLEMS 100 /* verify reports at most this many */
#define REG_DAY_LEN 10       /* "YYYY-MM-DD" */
#define REG_DIR_MODE 0700
#define REG_FILE_MODE 0600

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

/* The register's state; see the THREAD SAFETY NOTES above. */
struct sp_register {
    char *dir;
    struct sp_db *db;   /* borrowed */
    pthread_mutex_t mu; /* appends and prunes of this process */
    int lock_fd;        /* <dir>/.lock, flock()ed between processes */
    int seg_fd;         /* the open segment, or -1 */
    char seg_day[REG_DAY_LEN + 1];
};

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
static void reg_day_of(int64_t ms, char day[REG_DAY_LEN + 1])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    reg_day_fmt(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, day);
}

/* <dir>/YYYY/MM/DD.spr (dir_only: <dir>/YYYY/MM) into out. */
static void reg_day_path(const struct sp_register *r, const char *day, int dir_only,
                         struct sp_buf *out)
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

/* Compress plain into one whole frame appended to out. */
static enum sp_err reg_frame_encode(const void *plain, size_t len, struct sp_buf *out)
{
    z_stream zs;
    unsigned char head[REG_FRAME_HEAD];
    size_t bound, at;
    enum sp_err rc = SP_ERR_INTERNAL;

    memset(&zs, 0, sizeof(zs));
    if (deflateInit(&zs, REG_ZLIB_LEVEL) != Z_OK)
        return SP_ERR_INTERNAL;
    if (deflateSetDictionary(&zs, (const Bytef *)reg_dict, (uInt)(sizeof(reg_dict) - 1)) != Z_OK)
        goto out;
    bound = deflateBound(&zs, (uLong)len);
    at = out->len;
    memcpy(head, REG_MAGIC, 4);
    if (sp_buf_add(out, head, sizeof(head)) != SP_OK || sp_buf_reserve(out, bound) != SP_OK) {
        rc = SP_ERR_TOO_LARGE;
        goto out;
    }
    zs.next_in = (Bytef *)(uintptr_t)plain;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)out->data + out->len;
    zs.avail_out = (uInt)bound;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        goto out;
    out->len += zs.total_out;
    out->data[out->len] = '\0';
    reg_put32((unsigned char *)out->data + at + 4, (uint32_t)zs.total_out);
    reg_put32((unsigned char *)out->data + at + 8, (uint32_t)len);
    rc = SP_OK;
out:
    deflateEnd(&zs);
    return rc;
}

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
static enum sp_err reg_frame_read(FILE *fp, int64_t limit, struct sp_buf *zbuf,
                                  struct sp_buf *plain, int64_t *size)
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

/* A record as stored (strings borrowed from the parsed header or the caller). */
struct reg_entry {
    int64_t seq, time_ms, len;
    const char *kind, *dir, *id, *irt, *idp, *cf, *sha256, *prev, *hash;
    const unsigned char *msg;
    size_t msg_len;
};

static json_t *reg_jstr(const char *s)
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
static enum sp_err reg_hash(const struct reg_entry *e, const char *prev,
                            char out[SP_SHA256_HEX_LEN + 1])
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

/* The header line of e (with prev and hash) into out, as compact JSON. */
static enum sp_err reg_header(const struct reg_entry *e, struct sp_buf *out)
{
    json_t *o = json_object();
    char *s;
    enum sp_err rc;

    json_object_set_new(o, "v", json_integer(1));
    json_object_set_new(o, "seq", json_integer(e->seq));
    json_object_set_new(o, "time", json_integer(e->time_ms));
    json_object_set_new(o, "kind", reg_jstr(e->kind));
    json_object_set_new(o, "dir", reg_jstr(e->dir));
    json_object_set_new(o, "id", reg_jstr(e->id));
    json_object_set_new(o, "irt", reg_jstr(e->irt));
    json_object_set_new(o, "idp", reg_jstr(e->idp));
    json_object_set_new(o, "cf", reg_jstr(e->cf));
    json_object_set_new(o, "len", json_integer(e->len));
    json_object_set_new(o, "sha256", reg_jstr(e->sha256));
    json_object_set_new(o, "prev", reg_jstr(e->prev));
    json_object_set_new(o, "hash", reg_jstr(e->hash));
    s = json_dumps(o, JSON_COMPACT); /* one line: strings escape their newlines */
    json_decref(o);
    if (s == NULL)
        return SP_ERR_INVALID;
    rc = sp_buf_adds(out, s);
    if (rc == SP_OK)
        rc = sp_buf_addc(out, '\n');
    free(s);
    return rc;
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
static enum sp_err reg_parse(const struct sp_buf *plain, struct reg_entry *e, json_t **hdr)
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

/* One day's index row. */
struct reg_day {
    char day[REG_DAY_LEN + 1];
    int64_t first_seq, last_seq, records, bytes;
    char last_hash[SP_SHA256_HEX_LEN + 1];
    int indexed;  /* a row exists */
    int on_disk;  /* a file exists (snapshot) */
    int64_t size; /* its size at the snapshot */
};

/* The chain's start: genesis, or what the last prune left. */
struct reg_anchor {
    int64_t seq;
    char hash[SP_SHA256_HEX_LEN + 1];
    char first_day[REG_DAY_LEN + 1]; /* "" when never pruned */
};

static void reg_copy_col(sqlite3_stmt *st, int i, char *out, size_t n)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(out, n, "%s", t != NULL ? (const char *)t : "");
}

static enum sp_err reg_read_anchor(struct sp_register *r, struct reg_anchor *a)
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
static enum sp_err reg_read_newest(struct sp_register *r, struct reg_day *d, int *found)
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

static enum sp_err reg_lock(struct sp_register *r)
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

static void reg_unlock(struct sp_register *r)
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
    pthread_mutex_init(&r->mu, NULL);
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
    pthread_mutex_destroy(&r->mu);
    free(r->dir);
    free(r);
    *rp = NULL;
}

/* ------------------------------------------------------------------ append */

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

/* The segment of day open for appending in r->seg_fd (reopened if replaced or removed). */
static enum sp_err reg_open_segment(struct sp_register *r, const char *day, int *created)
{
    struct sp_buf p;
    struct stat st;
    enum sp_err rc = SP_OK;

    *created = 0;
    if (r->seg_fd >= 0 && strcmp(r->seg_day, day) == 0 && fstat(r->seg_fd, &st) == 0 &&
        st.st_nlink > 0)
        return SP_OK;
    if (r->seg_fd >= 0)
        close(r->seg_fd);
    r->seg_fd = -1;
    sp_buf_init(&p, 8192);
    reg_day_path(r, day, 1, &p);
    if (sp_file_mkdirs(sp_buf_str(&p), REG_DIR_MODE) != SP_OK) {
        sp_warn("register: cannot create %s", sp_buf_str(&p));
        rc = SP_ERR_IO;
        goto out;
    }
    reg_day_path(r, day, 0, &p);
    r->seg_fd = open(sp_buf_str(&p), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (r->seg_fd < 0 && errno == ENOENT) {
        r->seg_fd = open(sp_buf_str(&p), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, REG_FILE_MODE);
        *created = 1;
    }
    if (r->seg_fd < 0) {
        sp_warn("register: cannot open %s", sp_buf_str(&p));
        rc = SP_ERR_IO;
        goto out;
    }
    snprintf(r->seg_day, sizeof(r->seg_day), "%s", day);
out:
    sp_buf_cleanup(&p);
    return rc;
}

/* fsync the directory of a new segment, so the file survives a crash. */
static void reg_sync_dir(const struct sp_register *r, const char *day)
{
    struct sp_buf p;
    int fd;

    sp_buf_init(&p, 8192);
    reg_day_path(r, day, 1, &p);
    fd = open(sp_buf_str(&p), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    sp_buf_cleanup(&p);
}

static enum sp_err reg_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return SP_ERR_IO;
        }
        p += w;
        n -= (size_t)w;
    }
    return SP_OK;
}

static enum sp_err reg_index_add(struct sp_register *r, const char *day, int64_t seq,
                                 const char *hash, int64_t bytes)
{
    static const char sql[] =
        "INSERT INTO register_days (day, first_seq, last_seq, last_hash, records, bytes)"
        " VALUES (?1, ?2, ?2, ?3, 1, ?4) ON CONFLICT(day) DO UPDATE SET"
        " last_seq = excluded.last_seq, last_hash = excluded.last_hash,"
        " records = records + 1, bytes = excluded.bytes";
    sqlite3_stmt *st = sp_db_stmt(r->db, sql);
    enum sp_err rc = SP_OK;

    if (st == NULL)
        return SP_ERR_DB;
    sp_db_bind_text(st, 1, day);
    sqlite3_bind_int64(st, 2, seq);
    sp_db_bind_text(st, 3, hash);
    sqlite3_bind_int64(st, 4, bytes);
    if (sp_db_step_write(r->db, st) != SQLITE_DONE)
        rc = sp_db_fail(r->db, "register index");
    sp_db_done(st);
    return rc;
}

/*
 * Under the lock: bring the segment of day to the length its index row says
 * (expected): cut an interrupted append, refuse a segment that lost bytes.
 */
static enum sp_err reg_segment_check(struct sp_register *r, const char *day, int64_t expected)
{
    struct stat st;

    if (fstat(r->seg_fd, &st) != 0)
        return SP_ERR_IO;
    if ((int64_t)st.st_size == expected)
        return SP_OK;
    if ((int64_t)st.st_size > expected) {
        sp_warnx("register: segment %s has %lld bytes past its index (an interrupted append): "
                 "cut",
                 day, (long long)((int64_t)st.st_size - expected));
        return ftruncate(r->seg_fd, (off_t)expected) == 0 ? SP_OK : SP_ERR_IO;
    }
    sp_errorx("register: segment %s is %lld bytes, its index says %lld: truncated or replaced; "
              "refusing to append (run spid-sp register verify)",
              day, (long long)st.st_size, (long long)expected);
    return SP_ERR_INTEGRITY;
}

enum sp_err sp_register_append(struct sp_register *r, const struct sp_register_record *rec,
                               int64_t *seq)
{
    char day[REG_DAY_LEN + 1], sha[SP_SHA256_HEX_LEN + 1], hash[SP_SHA256_HEX_LEN + 1];
    struct reg_anchor anchor;
    struct reg_day head;
    struct reg_entry e;
    struct sp_buf plain, frame;
    int64_t expected = 0;
    int found = 0, locked = 0, created = 0, written = 0;
    enum sp_err rc;

    memset(&anchor, 0, sizeof(anchor));
    memset(&head, 0, sizeof(head));
    day[0] = '\0';
    sp_buf_init(&plain, REG_MAX_PLAIN);
    sp_buf_init(&frame, compressBound(REG_MAX_PLAIN) + REG_FRAME_HEAD);
    rc = reg_check_record(rec);
    if (rc != SP_OK)
        goto out;
    sp_sha256_hex(rec->msg, rec->msg_len, sha);

    rc = reg_lock(r);
    if (rc != SP_OK)
        goto out;
    locked = 1;
    rc = reg_read_newest(r, &head, &found);
    if (rc == SP_OK && !found)
        rc = reg_read_anchor(r, &anchor);
    if (rc != SP_OK)
        goto out;

    e = (struct reg_entry){
        .seq = (found ? head.last_seq : anchor.seq) + 1,
        .time_ms = rec->time_ms,
        .kind = rec->kind,
        .dir = rec->direction,
        .id = rec->id,
        .irt = rec->in_response_to,
        .idp = rec->idp,
        .cf = rec->cf,
        .len = (int64_t)rec->msg_len,
        .sha256 = sha,
        .prev = found ? head.last_hash : anchor.hash,
    };
    rc = reg_hash(&e, e.prev, hash);
    if (rc != SP_OK) {
        sp_warnx("register: record refused: a text field is not valid UTF-8");
        goto out;
    }
    e.hash = hash;
    rc = reg_header(&e, &plain);
    if (rc == SP_OK)
        rc = sp_buf_add(&plain, rec->msg, rec->msg_len);
    if (rc == SP_OK)
        rc = reg_frame_encode(plain.data, plain.len, &frame);
    if (rc != SP_OK)
        goto out;

    /* never file behind the newest day: the chain runs in day order */
    reg_day_of(rec->time_ms, day);
    if (found && strcmp(day, head.day) < 0)
        memcpy(day, head.day, sizeof(day));
    if (found && strcmp(day, head.day) == 0)
        expected = head.bytes;
    rc = reg_open_segment(r, day, &created);
    if (rc == SP_OK)
        rc = reg_segment_check(r, day, expected);
    if (rc != SP_OK)
        goto out;

    written = 1;
    rc = reg_write_all(r->seg_fd, frame.data, frame.len);
    if (rc == SP_OK && fdatasync(r->seg_fd) != 0)
        rc = SP_ERR_IO;
    if (rc != SP_OK) {
        sp_warn("register: cannot write the segment of %s", day);
        goto out;
    }
    if (created)
        reg_sync_dir(r, day);
    rc = reg_index_add(r, day, e.seq, hash, expected + (int64_t)frame.len);
    if (rc == SP_OK && seq != NULL)
        *seq = e.seq;
out:
    if (rc != SP_OK && written && ftruncate(r->seg_fd, (off_t)expected) != 0)
        sp_warn("register: cannot cut a failed append from the segment of %s", day);
    if (locked)
        reg_unlock(r);
    sp_buf_cleanup(&plain);
    sp_buf_cleanup(&frame);
    return rc;
}

/* ------------------------------------------------------------------ snapshot of days */

struct reg_days {
    struct reg_day *v;
    size_t n, cap;
};

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
static void reg_scan_disk(struct sp_register *r, struct reg_days *ds)
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
 * Under the lock: the anchor, every index row and every file on disk with
 * its size, sorted by day. Files only grow after this, by whole frames.
 */
static enum sp_err reg_snapshot(struct sp_register *r, struct reg_anchor *a, struct reg_days *ds)
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
    return rc;
}

/* ------------------------------------------------------------------ reading segments */

/* Called for every record read; return non-zero to stop the segment. */
typedef int (*reg_record_fn)(void *ctx, const struct reg_day *d, const struct reg_entry *e);

/*
 * Read the segment of d up to its snapshot size, calling fn per record.
 * SP_OK, SP_ERR_INTEGRITY (a frame is cut short or damaged at *bad_off; the
 * records before it were delivered), SP_ERR_IO.
 */
static enum sp_err reg_read_segment(struct sp_register *r, const struct reg_day *d,
                                    reg_record_fn fn, void *ctx, int64_t *bad_off)
{
    struct sp_buf p, zbuf, plain;
    int64_t off = 0, size;
    enum sp_err rc = SP_OK;
    FILE *fp;

    *bad_off = -1;
    sp_buf_init(&p, 8192);
    sp_buf_init(&zbuf, compressBound(REG_MAX_PLAIN) + 1);
    sp_buf_init(&plain, REG_MAX_PLAIN + 1);
    reg_day_path(r, d->day, 0, &p);
    fp = fopen(sp_buf_str(&p), "rb");
    if (fp == NULL) {
        rc = errno == ENOENT ? SP_ERR_NOT_FOUND : SP_ERR_IO;
        goto out;
    }
    for (;;) {
        struct reg_entry e;
        json_t *hdr = NULL;
        int stop;

        rc = reg_frame_read(fp, d->size - off, &zbuf, &plain, &size);
        if (rc == SP_ERR_NOT_FOUND) {
            rc = SP_OK;
            break;
        }
        if (rc == SP_OK)
            rc = reg_parse(&plain, &e, &hdr);
        if (rc != SP_OK) {
            if (rc == SP_ERR_INTEGRITY || rc == SP_ERR_TOO_LARGE)
                rc = SP_ERR_INTEGRITY;
            *bad_off = off;
            break;
        }
        off += size;
        stop = fn(ctx, d, &e);
        json_decref(hdr);
        if (stop)
            break;
    }
    fclose(fp);
out:
    sp_buf_cleanup(&p);
    sp_buf_cleanup(&zbuf);
    sp_buf_cleanup(&plain);
    return rc;
}

/* ------------------------------------------------------------------ verify */

struct reg_verify {
    sp_register_problem_fn fn;
    void *ctx;
    int64_t problems, reported, records;
    int64_t seq; /* expected: the previous record's */
    char hash[SP_SHA256_HEX_LEN + 1];
    /* the current segment */
    int64_t first_seq, last_seq, count;
    char last_hash[SP_SHA256_HEX_LEN + 1];
};

static void reg_problem(struct reg_verify *v, const char *day, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void reg_problem(struct reg_verify *v, const char *day, int64_t seq, const char *fmt, ...)
{
    char what[512];
    va_list ap;

    v->problems++;
    if (v->reported >= REG_MAX_PROBLEMS || v->fn == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    v->reported++;
    v->fn(v->ctx, day, seq, what);
}

static int reg_verify_record(void *ctx, const struct reg_day *d, const struct reg_entry *e)
{
    struct reg_verify *v = ctx;
    char hash[SP_SHA256_HEX_LEN + 1], sha[SP_SHA256_HEX_LEN + 1], rday[REG_DAY_LEN + 1] = "";

    v->records++;
    if (v->count++ == 0)
        v->first_seq = e->seq;
    if (e->seq != v->seq + 1) {
        if (e->seq > v->seq + 1)
            reg_problem(v, d->day, v->seq + 1,
                        "records %lld to %lld missing (removed): the chain continues at %lld",
                        (long long)(v->seq + 1), (long long)(e->seq - 1), (long long)e->seq);
        else
            reg_problem(v, d->day, e->seq,
                        "out of order: expected record %lld (reordered or duplicated)",
                        (long long)(v->seq + 1));
    } else if (strcmp(e->prev, v->hash) != 0) {
        reg_problem(v, d->day, e->seq,
                    "does not follow record %lld (prev_hash differs): a record was inserted, "
                    "replaced, removed or reordered",
                    (long long)v->seq);
    }
    if (reg_hash(e, e->prev, hash) != SP_OK || strcmp(hash, e->hash) != 0)
        reg_problem(v, d->day, e->seq, "content changed: the stored hash does not match");
    sp_sha256_hex(e->msg, e->msg_len, sha);
    if ((int64_t)e->msg_len != e->len || strcmp(sha, e->sha256) != 0)
        reg_problem(v, d->day, e->seq, "message changed: its SHA-256 or length does not match");
    if (e->time_ms >= 0)
        reg_day_of(e->time_ms, rday);
    if (e->time_ms < 0 || strcmp(rday, d->day) > 0)
        reg_problem(v, d->day, e->seq, "time is after its segment's day: moved between segments");
    v->seq = e->seq;
    snprintf(v->hash, sizeof(v->hash), "%s", e->hash);
    v->last_seq = e->seq;
    snprintf(v->last_hash, sizeof(v->last_hash), "%s", e->hash);
    return 0;
}

/* After a segment: its index row against what was read. */
static void reg_verify_row(struct reg_verify *v, const struct reg_day *d)
{
    if (!d->indexed) {
        reg_problem(v, d->day, v->count ? v->first_seq : 0,
                    "segment file not in the index: added outside the register");
        return;
    }
    if (d->size != d->bytes)
        reg_problem(v, d->day, 0, "segment is %lld bytes, the index says %lld: %s",
                    (long long)d->size, (long long)d->bytes,
                    d->size < d->bytes ? "truncated or records removed" : "bytes added");
    if (v->count != d->records || v->first_seq != d->first_seq || v->last_seq != d->last_seq)
        reg_problem(v, d->day, 0,
                    "segment holds %lld records (%lld to %lld), the index says %lld (%lld to %lld)",
                    (long long)v->count, (long long)v->first_seq, (long long)v->last_seq,
                    (long long)d->records, (long long)d->first_seq, (long long)d->last_seq);
    else if (strcmp(v->last_hash, d->last_hash) != 0)
        reg_problem(v, d->day, d->last_seq,
                    "last hash differs from the index: the newest record was replaced or the "
                    "index edited");
    /* continue the chain from the index, so one damaged day is reported once */
    v->seq = d->last_seq;
    snprintf(v->hash, sizeof(v->hash), "%s", d->last_hash);
}

enum sp_err sp_register_verify(struct sp_register *r, sp_register_problem_fn problem, void *ctx,
                               int64_t *records)
{
    struct reg_verify v;
    struct reg_anchor a;
    struct reg_days ds;
    enum sp_err rc;

    memset(&v, 0, sizeof(v));
    v.fn = problem;
    v.ctx = ctx;
    if (records != NULL)
        *records = 0;
    rc = reg_snapshot(r, &a, &ds);
    if (rc != SP_OK)
        goto out;
    v.seq = a.seq;
    memcpy(v.hash, a.hash, sizeof(v.hash));
    for (size_t i = 0; i < ds.n; i++) {
        const struct reg_day *d = &ds.v[i];
        int64_t bad_off;

        if (a.first_day[0] != '\0' && strcmp(d->day, a.first_day) < 0) {
            /* files there are leftovers of an interrupted prune: outside the chain */
            if (d->indexed)
                reg_problem(&v, d->day, 0,
                            "index row older than the pruning boundary %s: the anchor was moved",
                            a.first_day);
            continue;
        }
        if (!d->on_disk) {
            reg_problem(&v, d->day, d->first_seq, "segment file missing: records %lld to %lld lost",
                        (long long)d->first_seq, (long long)d->last_seq);
            v.seq = d->last_seq;
            snprintf(v.hash, sizeof(v.hash), "%s", d->last_hash);
            continue;
        }
        v.count = v.first_seq = v.last_seq = 0;
        v.last_hash[0] = '\0';
        rc = reg_read_segment(r, d, reg_verify_record, &v, &bad_off);
        if (rc == SP_ERR_INTEGRITY) {
            reg_problem(&v, d->day, v.last_seq + (v.count ? 1 : 0),
                        "damaged or cut short at byte %lld: the rest of the segment is unreadable",
                        (long long)bad_off);
            rc = SP_OK;
        } else if (rc == SP_ERR_NOT_FOUND) {
            reg_problem(&v, d->day, d->first_seq, "segment file removed during the check");
            rc = SP_OK;
        }
        if (rc != SP_OK)
            goto out;
        reg_verify_row(&v, d);
        if (!d->indexed && v.count > 0) {
            v.seq = v.last_seq;
            snprintf(v.hash, sizeof(v.hash), "%s", v.last_hash);
        }
    }
    if (v.problems > v.reported && problem != NULL) {
        char what[128];
        snprintf(what, sizeof(what), "%lld more problems found but not listed",
                 (long long)(v.problems - v.reported));
        problem(ctx, NULL, 0, what);
    }
    rc = v.problems > 0 ? SP_ERR_INTEGRITY : SP_OK;
out:
    if (records != NULL)
        *records = v.records;
    free(ds.v);
    return rc;
}

/* ------------------------------------------------------------------ export */

struct reg_export {
    FILE *out;
    int64_t from_ms, to_ms, count;
    enum sp_err rc;
};

static json_t *reg_export_str(const char *s)
{
    json_t *j = reg_jstr(s);
    return j != NULL ? j : json_null();
}

static int reg_export_record(void *ctx, const struct reg_day *d, const struct reg_entry *e)
{
    struct reg_export *x = ctx;
    char at[SP_TIME_ISO_LEN];
    json_t *o, *msg;
    char *line;

    (void)d;
    if (e->time_ms < x->from_ms || e->time_ms >= x->to_ms)
        return 0;
    o = json_object();
    sp_time_format(e->time_ms, 1, at);
    json_object_set_new(o, "seq", json_integer(e->seq));
    json_object_set_new(o, "time", json_string(at));
    json_object_set_new(o, "time_ms", json_integer(e->time_ms));
    json_object_set_new(o, "kind", reg_export_str(e->kind));
    json_object_set_new(o, "direction", reg_export_str(e->dir));
    json_object_set_new(o, "id", reg_export_str(e->id));
    json_object_set_new(o, "in_response_to", reg_export_str(e->irt));
    json_object_set_new(o, "idp", reg_export_str(e->idp));
    json_object_set_new(o, "cf", reg_export_str(e->cf));
    json_object_set_new(o, "sha256", reg_export_str(e->sha256));
    json_object_set_new(o, "prev_hash", reg_export_str(e->prev));
    json_object_set_new(o, "hash", reg_export_str(e->hash));
    msg = json_stringn((const char *)e->msg, e->msg_len); /* NULL: not UTF-8 */
    if (msg != NULL) {
        json_object_set_new(o, "message", msg);
    } else {
        struct sp_buf b;
        sp_buf_init(&b, (size_t)-1);
        sp_b64_encode(&b, e->msg, e->msg_len);
        json_object_set_new(o, "message_base64", json_string(sp_buf_str(&b)));
        sp_buf_cleanup(&b);
    }
    line = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (line == NULL || fputs(line, x->out) == EOF || fputc('\n', x->out) == EOF) {
        x->rc = SP_ERR_IO;
        free(line);
        return 1;
    }
    free(line);
    x->count++;
    return 0;
}

enum sp_err sp_register_export(struct sp_register *r, int64_t from_ms, int64_t to_ms, FILE *out,
                               int64_t *count)
{
    struct reg_export x = {out, from_ms, to_ms != 0 ? to_ms : INT64_MAX, 0, SP_OK};
    char first[REG_DAY_LEN + 1] = "", last[REG_DAY_LEN + 1] = "9999-99-99";
    struct reg_anchor a;
    struct reg_days ds;
    enum sp_err rc, damaged = SP_OK;

    if (count != NULL)
        *count = 0;
    if (from_ms > 0)
        reg_day_of(from_ms, first);
    if (to_ms > 0)
        reg_day_of(to_ms - 1, last);
    rc = reg_snapshot(r, &a, &ds);
    for (size_t i = 0; rc == SP_OK && i < ds.n; i++) {
        const struct reg_day *d = &ds.v[i];
        int64_t bad_off;

        /* a segment holds no record later than its day (it may hold earlier ones) */
        if (strcmp(d->day, first) < 0 || strcmp(d->day, last) > 0 || !d->on_disk)
            continue;
        if (a.first_day[0] != '\0' && strcmp(d->day, a.first_day) < 0)
            continue;
        rc = reg_read_segment(r, d, reg_export_record, &x, &bad_off);
        if (rc == SP_ERR_INTEGRITY || rc == SP_ERR_NOT_FOUND) {
            sp_warnx("register: export: segment %s is damaged at byte %lld (run spid-sp "
                     "register verify)",
                     d->day, (long long)bad_off);
            damaged = SP_ERR_INTEGRITY;
            rc = SP_OK;
        }
        if (rc == SP_OK)
            rc = x.rc;
    }
    if (rc == SP_OK && fflush(out) != 0)
        rc = SP_ERR_IO;
    if (count != NULL)
        *count = x.count;
    free(ds.v);
    return rc != SP_OK ? rc : damaged;
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
