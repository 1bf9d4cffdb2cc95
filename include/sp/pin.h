/*
 * pin: the legacy INPS-style PIN (domain.md §1, parameters §7), on the same
 * person record as SPID logins.
 *
 * Life of a PIN: issued as 16 hexadecimal characters (two halves of 8, sent
 * by two channels) -> the first login with all 16 forces the choice of a
 * personal 8-character PIN (ACTIVE) -> it expires every 6 months for
 * citizens, 3 for intermediaries and professionals, and the next login leads
 * to the renewal -> 10 consecutive wrong PINs lock it for 5 minutes, each
 * further one adds 5 (up to 60); while locked the PIN is not even checked ->
 * 180 days unused disable it (recovery needed) -> recovery issues a new
 * 16-character value (the dispositivo flag is kept); revocation ends it.
 * An unactivated PIN lapses after 90 days. Ordinario allows consultation
 * only; dispositivo (issued at an office, or converted) allows everything.
 *
 * Only slow salted hashes are stored (scrypt through OpenSSL: "scrypt$N$r$p$
 * salt$hash", base64), compared in constant time. Answers never tell whether
 * a codice fiscale has a PIN: an unknown CF costs the same hash as a wrong
 * PIN.
 */
#ifndef SP_PIN_H
#define SP_PIN_H

#include <stdbool.h>
#include <stdint.h>

#include "sp/err.h"

struct sp_buf;
struct sp_db;

#define SP_PIN_INITIAL_LEN 16
#define SP_PIN_HALF_LEN 8
#define SP_PIN_LEN 8
#define SP_PIN_HASH_MAX 192

struct sp_pin_params {
    unsigned activation_days;          /* 90 */
    unsigned expiry_citizen_days;      /* 180 */
    unsigned expiry_intermediary_days; /* 90 */
    unsigned history;                  /* 5 previous PINs refused */
    unsigned inactivity_days;          /* 180 */
    unsigned lock_threshold;           /* 10 */
    unsigned lock_base_minutes;        /* 5 */
    unsigned lock_step_minutes;        /* 5 */
    unsigned lock_max_minutes;         /* 60 */
    unsigned scrypt_log2_n;            /* 14: N = 16384, r = 8, p = 1 (16 MiB) */
};
#define SP_PIN_PARAMS_DEFAULT                                                                      \
    {                                                                                              \
        90, 180, 90, 5, 180, 10, 5, 5, 60, 14                                                      \
    }

struct sp_config;
/* The [pin] section of the configuration as parameters. */
void sp_pin_params_of(const struct sp_config *cfg, struct sp_pin_params *p);

/* --- pure rules ----------------------------------------------------------- */

/* A half of an initial PIN: 8 characters 0-9A-F from the CSPRNG. */
void sp_pin_half(char out[SP_PIN_HALF_LEN + 1]);

/* Upper-case copy of a typed PIN without surrounding spaces; SP_ERR_INVALID
 * when longer than 16 or not alphanumeric. */
enum sp_err sp_pin_normalize(const char *in, char out[SP_PIN_INITIAL_LEN + 1]);

/*
 * The rules for a chosen PIN (§1.6): exactly 8 letters or digits (case
 * ignored); not 8 consecutive characters of the holder's codice fiscale; not
 * one repeated character nor an ascending or descending run (12345678,
 * ABCDEFGH, 87654321); not containing the surname or a given name of 3 or
 * more letters. name/surname may be NULL. *why gets an Italian sentence.
 */
enum sp_err sp_pin_rules_check(const char *pin, const char *cf, const char *name,
                               const char *surname, const char **why);

/* scrypt hash of a normalised PIN into out ("scrypt$..."). */
enum sp_err sp_pin_hash(const char *pin, unsigned log2_n, char out[SP_PIN_HASH_MAX]);
/* True when pin matches stored (constant-time comparison of the derived keys). */
bool sp_pin_hash_verify(const char *pin, const char *stored);

/* The lock after failures consecutive failures at now: 0 below the threshold. */
int64_t sp_pin_lock_until(unsigned failures, int64_t now, const struct sp_pin_params *p);

/* Renewal period in seconds for a citizen or an intermediary/professional. */
int64_t sp_pin_period(bool intermediary, const struct sp_pin_params *p);

/* --- store ----------------------------------------------------------------- */

enum sp_pin_state {
    SP_PIN_NONE,     /* no live PIN */
    SP_PIN_ISSUED,   /* 16-character value valid, not yet activated */
    SP_PIN_ACTIVE,   /* personal 8-character PIN set */
    SP_PIN_DISABLED, /* unused too long: recovery needed */
};

struct sp_pin_info {
    int64_t id;
    enum sp_pin_state state;
    bool dispositive;
    const char *channel; /* static: "online", "office", "recovery" */
    int64_t issued_at, activate_by, changed_at, last_used_at, locked_until;
    unsigned failures;
};

/* The live PIN of cf (state NONE when there is none). */
enum sp_err sp_pin_info(struct sp_db *db, const char *cf, int64_t now,
                        const struct sp_pin_params *p, struct sp_pin_info *out);

/*
 * Issue a new 16-character PIN for cf (the person must exist): any live PIN
 * ends ("replaced"); channel is "online", "office" or "recovery";
 * dispositive for office issuance (recovery keeps the old flag). value gets
 * the 16 characters for dispatch (the caller sends the halves and wipes it).
 * Runs inside the caller's transaction when there is one.
 */
enum sp_err sp_pin_issue(struct sp_db *db, const char *cf, const char *channel, bool dispositive,
                         int64_t now, const struct sp_pin_params *p,
                         char value[SP_PIN_INITIAL_LEN + 1]);

enum sp_pin_outcome {
    SP_PIN_OK,          /* logged in */
    SP_PIN_MUST_CHANGE, /* right initial PIN: choose the personal one now */
    SP_PIN_MUST_RENEW,  /* right PIN, expired: choose a new one now */
    SP_PIN_DENIED,      /* wrong PIN, unknown CF, no usable PIN (one answer for all) */
    SP_PIN_LOCKED,      /* locked: not checked (the answer to the user stays generic) */
};

struct sp_pin_login {
    enum sp_pin_outcome outcome;
    bool dispositive;
    bool intermediary; /* the 3-month period applied */
    bool disabled;     /* right PIN but disabled after inactivity: recovery needed */
    unsigned failures; /* after this attempt */
    int64_t locked_until;
    const char *detail; /* for the log and the audit trail: why, never the PIN */
};

/*
 * Check cf + pin at now. Counts failures and applies the lock (§1.8), lapses
 * an initial PIN past its deadline, disables one unused too long, tells when
 * a change is due. intermediary selects the renewal period (the caller knows
 * the person's roles).
 */
enum sp_err sp_pin_check(struct sp_db *db, const char *cf, const char *pin, bool intermediary,
                         int64_t now, const struct sp_pin_params *p, struct sp_pin_login *out);

/*
 * Set the personal PIN: current must be accepted by sp_pin_check (initial,
 * expired or active); fresh must pass sp_pin_rules_check and differ from the
 * current and the last p->history PINs. SP_ERR_DENIED (current wrong or
 * locked; *out says which), SP_ERR_INVALID (rules; *why says which).
 */
enum sp_err sp_pin_change(struct sp_db *db, const char *cf, const char *current, const char *fresh,
                          bool intermediary, const char *name, const char *surname, int64_t now,
                          const struct sp_pin_params *p, struct sp_pin_login *out,
                          const char **why);

/* End the live PIN ("revoked" or another reason). SP_ERR_NOT_FOUND when none. */
enum sp_err sp_pin_end(struct sp_db *db, const char *cf, const char *reason, int64_t now);

/* Mark the live PIN dispositivo (conversion approved). */
enum sp_err sp_pin_set_dispositive(struct sp_db *db, const char *cf, int64_t now);

/*
 * Conversion to dispositivo (§1.10): one pending request per person, with
 * the stored files (JSON array) and the identity document data (JSON
 * object). SP_ERR_EXISTS when one is already pending.
 */
enum sp_err sp_pin_conversion_add(struct sp_db *db, const char *cf, const char *files_json,
                                  const char *document_json, int64_t now, int64_t *id);
/* Decide the pending request of cf: approve (the PIN becomes dispositivo)
 * or reject. SP_ERR_NOT_FOUND when none is pending. */
enum sp_err sp_pin_conversion_decide(struct sp_db *db, const char *cf, bool approve, const char *by,
                                     const char *reason, int64_t now);
struct sp_pin_conversion {
    int64_t id;
    const char *cf, *state, *files, *document, *decided_by, *reason;
    int64_t created_at, decided_at;
};
typedef void (*sp_pin_conversion_fn)(void *ctx, const struct sp_pin_conversion *c);
/* Every request (all) or only pending ones, oldest first. */
enum sp_err sp_pin_conversions(struct sp_db *db, bool all, sp_pin_conversion_fn fn, void *ctx);

/* Registered contacts (kind "email", "pec", "mobile", "phone"). */
enum sp_err sp_pin_contact_set(struct sp_db *db, const char *cf, const char *kind,
                               const char *value, int64_t now);
/* The value of a contact, or NULL; free() it. */
char *sp_pin_contact_get(struct sp_db *db, const char *cf, const char *kind);

#endif /* SP_PIN_H */
