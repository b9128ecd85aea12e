#ifndef IAM_SEED_H
#define IAM_SEED_H

/*
 * Writing IAM entities from a seed file (seed/) in the caller's write
 * transaction: the same records the IAM API writes (CreateUser, CreateRole,
 * PutUserPolicy, CreateOpenIDConnectProvider), plus access keys with a
 * fixed id and secret. Every function leaves an existing entity as it is
 * and reports *created false, so a seed can be applied at every start.
 * Policy documents are validated by the caller (seed/) before they get here.
 */

#include "core/core.h"
#include "keystore/keystore.h"

#define IAM_SEED_MAX_POLICIES 20u

struct iam_seed_policy {
    struct core_cursor name, document;
};

struct iam_seed_entity {
    const char *account;
    struct core_cursor name, path; /* path "" : "/" */
    struct core_cursor description;  /* roles */
    struct core_cursor trust;        /* roles: AssumeRolePolicyDocument */
    int64_t max_session;             /* roles: 0 means 3600 */
    const struct iam_seed_policy *policies; /* inline */
    size_t n_policies;
    int64_t now;
};

/** Errors: ERR_INVALID_ARG, keystore errors. */
CORE_RESULT iam_seed_user(struct keystore_txn *txn, const struct iam_seed_entity *u, bool *created);
/** Errors: ERR_INVALID_ARG, keystore errors. */
CORE_RESULT iam_seed_role(struct keystore_txn *txn, const struct iam_seed_entity *r, bool *created);
/**
 * A long-term access key with a fixed id and secret for user `user` of
 * account (which must exist). An existing key id is left alone when it
 * belongs to that user, and refused (ERR_EXISTS) when it belongs to anyone
 * else. Errors: ERR_NOT_FOUND (no such user), ERR_EXISTS, keystore errors.
 */
CORE_RESULT iam_seed_access_key(struct keystore_txn *txn, const char *account, struct core_cursor user,
                                struct core_cursor key_id, struct core_cursor secret, int64_t now, bool *created);
/**
 * An OIDC provider for url (with "https://") and, when jwks is not empty,
 * its signing keys. Errors: ERR_INVALID_ARG, ERR_PARSE (bad JWKS), keystore errors.
 */
CORE_RESULT iam_seed_oidc(struct keystore_txn *txn, const char *account, struct core_cursor url,
                          const struct core_cursor *clients, size_t n_clients, const struct core_cursor *thumbs,
                          size_t n_thumbs, struct core_cursor jwks, int64_t now, bool *created);

#endif
