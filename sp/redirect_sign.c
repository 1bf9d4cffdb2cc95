/*
 * redirect_sign: HTTP-Redirect binding encoding and signing.
 *
 * THREAD SAFETY NOTES: the EVP_PKEY is shared read-only. OpenSSL 3 looks
 * algorithms up under global locks whenever a signing context is
 * initialised, so each thread initialises one context per signer once
 * (pthread key, freed at thread exit) and signs with a copy of it.
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "sp/b64.h"
#include "sp/buf.h"
#include "sp/log.h"
#include "sp/mem.h"
#include "sp/redirect_sign.h"
#include "sp/str.h"

#define SP_SIGALG_RSA_SHA256 "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
#define SP_DEFLATE_WINDOW_BITS 12 /* messages are a few KiB: a small window suffices */
#define SP_DEFLATE_MEM_LEVEL 4
#define SP_MAX_REDIRECT_XML (64u * 1024u)

struct sp_signer {
    EVP_PKEY *key;
    uint64_t id; /* unique for the process' lifetime (no reuse, unlike addresses) */
};

/*
 * Each thread keeps the initialised EVP_MD_CTX of the last signer it used.
 * Signers come and go with refreshed IdP sets, so the cache is one slot per
 * thread under one process-wide key (pthread_key_delete would not free other
 * threads' values): a slot for an older signer is replaced on the next
 * signature, or freed when its thread exits. A context holds its own
 * reference to the key, so it never outlives what it points to.
 */
struct signer_slot {
    uint64_t id;
    EVP_MD_CTX *ctx;
};

static pthread_key_t slot_key;
static pthread_once_t slot_once = PTHREAD_ONCE_INIT;
static uint64_t signer_ids;

static void slot_free(void *p)
{
    struct signer_slot *slot = p;
    if (slot != NULL)
        EVP_MD_CTX_free(slot->ctx);
    free(slot);
}

static void slot_key_create(void)
{
    SP_ASSERT(pthread_key_create(&slot_key, slot_free) == 0);
}

struct sp_signer *sp_signer_new(const char *key_pem)
{
    struct sp_signer *s;
    BIO *bio = BIO_new_mem_buf(key_pem, -1);
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;

    BIO_free(bio);
    if (key == NULL) {
        sp_errorx("cannot decode the signing key");
        return NULL;
    }
    pthread_once(&slot_once, slot_key_create);
    s = sp_xcalloc(1, sizeof(*s));
    s->key = key;
    s->id = __atomic_add_fetch(&signer_ids, 1, __ATOMIC_RELAXED);
    return s;
}

void sp_signer_free(struct sp_signer **sp)
{
    struct sp_signer *s = sp ? *sp : NULL;
    struct signer_slot *slot;

    if (s == NULL)
        return;
    /* this thread's context for s goes now (others' on their next use or exit) */
    slot = pthread_getspecific(slot_key);
    if (slot != NULL && slot->id == s->id) {
        EVP_MD_CTX_free(slot->ctx);
        slot->ctx = NULL;
        slot->id = 0;
    }
    EVP_PKEY_free(s->key);
    free(s);
    *sp = NULL;
}

static EVP_MD_CTX *signer_template(const struct sp_signer *s)
{
    struct signer_slot *slot = pthread_getspecific(slot_key);

    if (slot == NULL) {
        slot = sp_xcalloc(1, sizeof(*slot));
        pthread_setspecific(slot_key, slot);
    }
    if (slot->ctx != NULL && slot->id == s->id)
        return slot->ctx;
    EVP_MD_CTX_free(slot->ctx);
    slot->id = 0;
    slot->ctx = EVP_MD_CTX_new();
    if (slot->ctx == NULL || EVP_DigestSignInit(slot->ctx, NULL, EVP_sha256(), NULL, s->key) != 1) {
        EVP_MD_CTX_free(slot->ctx);
        slot->ctx = NULL;
        return NULL;
    }
    slot->id = s->id;
    return slot->ctx;
}

enum sp_err sp_signer_sign(const struct sp_signer *s, const void *data, size_t len,
                           struct sp_buf *sig)
{
    EVP_MD_CTX *t = signer_template(s), *ctx = NULL;
    unsigned char out[1024];
    size_t outlen = sizeof(out);
    enum sp_err rc = SP_ERR_CRYPTO;

    if (t == NULL)
        return SP_ERR_CRYPTO;
    ctx = EVP_MD_CTX_new();
    if (ctx != NULL && EVP_MD_CTX_copy_ex(ctx, t) == 1 &&
        EVP_DigestSign(ctx, out, &outlen, data, len) == 1)
        rc = sp_buf_add(sig, out, outlen);
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* Raw DEFLATE (RFC 1951, no zlib header) of xml into out. */
static enum sp_err redirect_deflate(const char *xml, size_t len, struct sp_buf *out)
{
    z_stream z;
    unsigned char chunk[4096];
    enum sp_err rc = SP_OK;
    int r;

    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -SP_DEFLATE_WINDOW_BITS,
                     SP_DEFLATE_MEM_LEVEL, Z_DEFAULT_STRATEGY) != Z_OK)
        return SP_ERR_INTERNAL;
    z.next_in = (unsigned char *)(uintptr_t)xml;
    z.avail_in = (unsigned)len;
    do {
        z.next_out = chunk;
        z.avail_out = sizeof(chunk);
        r = deflate(&z, Z_FINISH);
        if (r == Z_STREAM_ERROR) {
            rc = SP_ERR_INTERNAL;
            break;
        }
        rc = sp_buf_add(out, chunk, sizeof(chunk) - z.avail_out);
    } while (rc == SP_OK && r != Z_STREAM_END);
    deflateEnd(&z);
    return rc;
}

enum sp_err sp_redirect_sign(const struct sp_signer *s, const char *endpoint, const char *param,
                             const char *xml, size_t xml_len, const char *relay_state,
                             struct sp_buf *url)
{
    struct sp_buf raw, b64, signed_part, sig, sig64;
    enum sp_err rc;

    if (xml_len > SP_MAX_REDIRECT_XML)
        return SP_ERR_TOO_LARGE;
    sp_buf_init(&raw, SP_MAX_REDIRECT_XML);
    sp_buf_init(&b64, SP_MAX_REDIRECT_XML * 2);
    sp_buf_init(&signed_part, SP_MAX_REDIRECT_XML * 4);
    sp_buf_init(&sig, 1024);
    sp_buf_init(&sig64, 2048);
    rc = redirect_deflate(xml, xml_len, &raw);
    if (rc == SP_OK)
        rc = sp_b64_encode(&b64, raw.data, raw.len);
    /* AR-42: the signed octets, encoded exactly as they appear in the URL */
    if (rc == SP_OK)
        rc = sp_buf_addf(&signed_part, "%s=", param);
    if (rc == SP_OK)
        rc = sp_url_encode(&signed_part, b64.data, b64.len);
    if (rc == SP_OK && relay_state != NULL) {
        rc = sp_buf_adds(&signed_part, "&RelayState=");
        if (rc == SP_OK)
            rc = sp_url_encode(&signed_part, relay_state, strlen(relay_state));
    }
    if (rc == SP_OK)
        rc = sp_buf_adds(&signed_part, "&SigAlg=");
    if (rc == SP_OK)
        rc = sp_url_encode(&signed_part, SP_SIGALG_RSA_SHA256, strlen(SP_SIGALG_RSA_SHA256));
    if (rc == SP_OK)
        rc = sp_signer_sign(s, signed_part.data, signed_part.len, &sig);
    if (rc == SP_OK)
        rc = sp_b64_encode(&sig64, sig.data, sig.len);
    if (rc == SP_OK)
        rc = sp_buf_addf(url, "%s%c%s&Signature=", endpoint, strchr(endpoint, '?') ? '&' : '?',
                         sp_buf_str(&signed_part));
    if (rc == SP_OK)
        rc = sp_url_encode(url, sig64.data, sig64.len);
    sp_buf_cleanup(&raw);
    sp_buf_cleanup(&b64);
    sp_buf_cleanup(&signed_part);
    sp_buf_cleanup(&sig);
    sp_buf_cleanup(&sig64);
    return rc;
}
