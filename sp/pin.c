/*
 * pin: the pure half of pin.h: generation, normalisation, the rules for a
 * chosen PIN, scrypt hashing, the lock and renewal arithmetic. The SQL and
 * the state machine are in pin_store.c.
 */
#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sp/b64.h"
#include "sp/buf.h"
#include "sp/config.h"
#include "sp/mem.h"
#include "sp/pin.h"
#include "sp/rand.h"
#include "sp/str.h"

#define PIN_SALT_LEN 16
#define PIN_KEY_LEN 32
#define PIN_SCRYPT_R 8
#define PIN_SCRYPT_P 1
#define PIN_SCRYPT_MAXMEM (256u * 1024 * 1024)
/* scrypt holds 128 * N * r bytes while it runs: at most this many at once,
 * so a burst of logins cannot take the memory budget (design.md: 64 MiB) */
#define PIN_HASH_CONCURRENCY 2

static sem_t pin_sem;
static pthread_once_t pin_sem_once = PTHREAD_ONCE_INIT;

static void pin_sem_init(void)
{
    sem_init(&pin_sem, 0, PIN_HASH_CONCURRENCY);
}

void sp_pin_half(char out[SP_PIN_HALF_LEN + 1])
{
    static const char hex[] = "0123456789ABCDEF";
    unsigned char r[SP_PIN_HALF_LEN];

    sp_rand_bytes(r, sizeof(r));
    for (int i = 0; i < SP_PIN_HALF_LEN; i++)
        out[i] = hex[r[i] & 0x0f];
    out[SP_PIN_HALF_LEN] = '\0';
    sp_wipe(r, sizeof(r));
}

enum sp_err sp_pin_normalize(const char *in, char out[SP_PIN_INITIAL_LEN + 1])
{
    size_t n = 0;

    out[0] = '\0';
    if (in == NULL)
        return SP_ERR_INVALID;
    while (*in == ' ' || *in == '\t')
        in++;
    for (; *in && *in != ' ' && *in != '\t' && *in != '\r' && *in != '\n'; in++) {
        if (!isalnum((unsigned char)*in) || (unsigned char)*in > 0x7f || n == SP_PIN_INITIAL_LEN)
            goto bad;
        out[n++] = (char)toupper((unsigned char)*in);
    }
    while (*in == ' ' || *in == '\t' || *in == '\r' || *in == '\n')
        in++;
    if (*in != '\0' || n == 0)
        goto bad;
    out[n] = '\0';
    return SP_OK;
bad:
    sp_wipe(out, SP_PIN_INITIAL_LEN + 1);
    return SP_ERR_INVALID;
}

/* Letters of a name, upper case, no accents or spaces (enough for a substring test). */
static void name_letters(const char *s, char *out, size_t n)
{
    size_t k = 0;
    for (; s && *s && k + 1 < n; s++)
        if (isalpha((unsigned char)*s))
            out[k++] = (char)toupper((unsigned char)*s);
    out[k] = '\0';
}

/* Does pin contain one of the words (>= 3 letters) of name? */
static bool contains_name(const char *pin, const char *name)
{
    char word[64];
    const char *p = name;

    while (p && *p) {
        size_t n = strcspn(p, " '-");
        char raw[64];
        snprintf(raw, sizeof(raw), "%.*s", (int)(n < sizeof(raw) ? n : sizeof(raw) - 1), p);
        name_letters(raw, word, sizeof(word));
        if (strlen(word) >= 3 && strstr(pin, word) != NULL)
            return true;
        p += n;
        while (*p == ' ' || *p == '\'' || *p == '-')
            p++;
    }
    return false;
}

static bool is_run(const char *pin)
{
    bool same = true, up = true, down = true;
    for (int i = 1; i < SP_PIN_LEN; i++) {
        same = same && pin[i] == pin[0];
        up = up && pin[i] == pin[i - 1] + 1;
        down = down && pin[i] == pin[i - 1] - 1;
    }
    return same || up || down;
}

enum sp_err sp_pin_rules_check(const char *pin, const char *cf, const char *name,
                               const char *surname, const char **why)
{
    char p[SP_PIN_INITIAL_LEN + 1];
    enum sp_err rc = SP_ERR_INVALID;

    *why = NULL;
    if (sp_pin_normalize(pin, p) != SP_OK || strlen(p) != SP_PIN_LEN) {
        *why = "Il PIN deve essere di 8 caratteri, solo lettere e cifre.";
        goto out;
    }
    for (size_t i = 0; cf && i + SP_PIN_LEN <= strlen(cf); i++)
        if (strncasecmp(cf + i, p, SP_PIN_LEN) == 0) {
            *why = "Il PIN non può contenere 8 caratteri consecutivi del codice fiscale.";
            goto out;
        }
    if (is_run(p)) {
        *why = "Il PIN non può essere un carattere ripetuto o una sequenza (12345678, ABCDEFGH).";
        goto out;
    }
    if (contains_name(p, name) || contains_name(p, surname)) {
        *why = "Il PIN non può contenere il nome o il cognome.";
        goto out;
    }
    rc = SP_OK;
out:
    sp_wipe(p, sizeof(p));
    return rc;
}

static enum sp_err pin_scrypt(const char *pin, const unsigned char *salt, size_t salt_len,
                              unsigned log2_n, unsigned char key[PIN_KEY_LEN])
{
    int ok;
    pthread_once(&pin_sem_once, pin_sem_init);
    while (sem_wait(&pin_sem) != 0)
        ;
    ok = EVP_PBE_scrypt(pin, strlen(pin), salt, salt_len, (uint64_t)1 << log2_n, PIN_SCRYPT_R,
                        PIN_SCRYPT_P, PIN_SCRYPT_MAXMEM, key, PIN_KEY_LEN);
    sem_post(&pin_sem);
    return ok == 1 ? SP_OK : SP_ERR_CRYPTO;
}

enum sp_err sp_pin_hash(const char *pin, unsigned log2_n, char out[SP_PIN_HASH_MAX])
{
    unsigned char salt[PIN_SALT_LEN], key[PIN_KEY_LEN];
    struct sp_buf s, k;
    enum sp_err rc;

    if (log2_n < 10 || log2_n > 20)
        return SP_ERR_INVALID;
    sp_rand_bytes(salt, sizeof(salt));
    rc = pin_scrypt(pin, salt, sizeof(salt), log2_n, key);
    if (rc != SP_OK)
        return rc;
    sp_buf_init(&s, 64);
    sp_buf_init(&k, 64);
    sp_b64_encode(&s, salt, sizeof(salt));
    sp_b64_encode(&k, key, sizeof(key));
    snprintf(out, SP_PIN_HASH_MAX, "scrypt$%u$%d$%d$%s$%s", log2_n, PIN_SCRYPT_R, PIN_SCRYPT_P,
             sp_buf_str(&s), sp_buf_str(&k));
    sp_buf_cleanup(&s);
    sp_buf_cleanup(&k);
    sp_wipe(key, sizeof(key));
    return SP_OK;
}

bool sp_pin_hash_verify(const char *pin, const char *stored)
{
    unsigned log2_n, r, p;
    char salt64[64], key64[64];
    unsigned char key[PIN_KEY_LEN];
    struct sp_buf salt, want;
    bool ok = false;

    if (stored == NULL ||
        sscanf(stored, "scrypt$%u$%u$%u$%63[^$]$%63s", &log2_n, &r, &p, salt64, key64) != 5)
        return false;
    if (log2_n < 10 || log2_n > 20 || r != PIN_SCRYPT_R || p != PIN_SCRYPT_P)
        return false;
    sp_buf_init(&salt, 64);
    sp_buf_init(&want, 64);
    if (sp_b64_decode(&salt, salt64, strlen(salt64)) == SP_OK &&
        sp_b64_decode(&want, key64, strlen(key64)) == SP_OK && want.len == PIN_KEY_LEN &&
        pin_scrypt(pin, (const unsigned char *)salt.data, salt.len, log2_n, key) == SP_OK)
        ok = CRYPTO_memcmp(key, want.data, PIN_KEY_LEN) == 0;
    sp_wipe(key, sizeof(key));
    sp_buf_cleanup(&salt);
    sp_buf_cleanup(&want);
    return ok;
}

int64_t sp_pin_lock_until(unsigned failures, int64_t now, const struct sp_pin_params *p)
{
    int64_t minutes;
    if (failures < p->lock_threshold)
        return 0;
    minutes = (int64_t)p->lock_base_minutes +
              (int64_t)p->lock_step_minutes * (int64_t)(failures - p->lock_threshold);
    if (minutes > (int64_t)p->lock_max_minutes)
        minutes = p->lock_max_minutes;
    return now + minutes * 60;
}

int64_t sp_pin_period(bool intermediary, const struct sp_pin_params *p)
{
    return (int64_t)(intermediary ? p->expiry_intermediary_days : p->expiry_citizen_days) * 86400;
}

void sp_pin_params_of(const struct sp_config *cfg, struct sp_pin_params *p)
{
    p->activation_days = cfg->pin_activation_days;
    p->expiry_citizen_days = cfg->pin_expiry_citizen_days;
    p->expiry_intermediary_days = cfg->pin_expiry_intermediary_days;
    p->history = cfg->pin_history;
    p->inactivity_days = cfg->pin_inactivity_days;
    p->lock_threshold = cfg->pin_lock_threshold;
    p->lock_base_minutes = cfg->pin_lock_base_minutes;
    p->lock_step_minutes = cfg->pin_lock_step_minutes;
    p->lock_max_minutes = cfg->pin_lock_max_minutes;
    p->scrypt_log2_n = cfg->pin_scrypt_log2_n;
}
