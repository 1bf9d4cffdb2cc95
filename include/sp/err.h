/*
 * err: the project-wide error codes, one X-macro list, and sp_strerror().
 * A function that can fail returns enum sp_err (SP_OK == 0) and hands results
 * back through out-parameters. SP_ASSERT is for invariants, never for input.
 */
#ifndef SP_ERR_H
#define SP_ERR_H

/* name, text */
#define SP_ERR_MAP(X)                                                                              \
    X(OK, "success")                                                                               \
    X(INVALID, "invalid input")                                                                    \
    X(TOO_LARGE, "input too large")                                                                \
    X(NOT_FOUND, "not found")                                                                      \
    X(EXISTS, "already exists")                                                                    \
    X(IO, "input/output error")                                                                    \
    X(PERM, "insecure file permissions")                                                           \
    X(CONFIG, "configuration error")                                                               \
    X(DB, "database error")                                                                        \
    X(CRYPTO, "cryptographic error")                                                               \
    X(SAML, "SAML processing error")                                                               \
    X(SIGNATURE, "signature verification failed")                                                  \
    X(UNKNOWN_IDP, "unknown identity provider")                                                    \
    X(EXPIRED, "expired")                                                                          \
    X(REPLAY, "message already used")                                                              \
    X(DENIED, "access denied")                                                                     \
    X(UNAUTHENTICATED, "no valid session")                                                         \
    X(INTEGRITY, "integrity check failed")                                                         \
    X(INTERNAL, "internal error")

enum sp_err {
#define SP_ERR_ENUM(name, text) SP_ERR_##name,
    SP_ERR_MAP(SP_ERR_ENUM)
#undef SP_ERR_ENUM
        SP_ERR__COUNT
};

#define SP_OK SP_ERR_OK

/* Static text for an error code; never NULL. */
const char *sp_strerror(enum sp_err err);

/* Name of the code ("INVALID"); never NULL. */
const char *sp_errname(enum sp_err err);

/* Invariant check: stays on in release builds, logs file:line and aborts. */
#define SP_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond))                                                                               \
            sp_assert_fail(#cond, __FILE__, __LINE__);                                             \
    } while (0)

_Noreturn void sp_assert_fail(const char *expr, const char *file, int line);

#endif /* SP_ERR_H */
