#ifndef KMS_GRANT_H
#define KMS_GRANT_H

/* Grant records and tokens, shared by kms_grant.c and the grant operations. */

#include "kms/kms_internal.h"

#define KMS_T_GRANT "kms_grant"

/*
 * A grant record (JSON): grant_id, name, key_arn, grantee, retiring,
 * issuing, created, ops [..], ceq {..} (EncryptionContextEquals), csub {..}
 * (EncryptionContextSubset).
 */

/** String member or "" (borrowed). */
static inline const char *kms_js(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/** A JSON string as a cursor, its length included (empty when not a string; borrowed). */
static inline struct core_cursor kms_jcur(const json_t *s)
{
    return json_is_string(s) ? core_cursor_from(json_string_value(s), json_string_length(s)) : core_cursor_from("", 0);
}

/** String member as a cursor, length-aware (a NUL inside is data); empty when absent. */
static inline struct core_cursor kms_jc(const json_t *o, const char *key) { return kms_jcur(json_object_get(o, key)); }

/** One of the GrantOperation enum values. */
bool kms_grant_op_valid(struct core_cursor op);
/** Operations that accept an encryption context (the only ones constraints may apply to). */
bool kms_grant_op_takes_context(struct core_cursor op);
/** Operations a constrained grant may include (context-taking ones, DescribeKey, RetireGrant, CreateGrant). */
bool kms_grant_op_constrainable(struct core_cursor op);
/** False for operations a symmetric encryption key cannot perform (Sign, GenerateMac, ...). */
bool kms_grant_op_fits_symmetric(struct core_cursor op);
/** PrincipalIdType's pattern ^[\w+=,.@:/-]+$ (1..256 checked by the caller). */
bool kms_principal_id_pattern_ok(struct core_cursor p);
/**
 * True when p is the ARN of a principal a grant may name (account root, IAM
 * user or role, assumed-role session, federated user); *account (may be
 * NULL) gets its 12-digit account, borrowed from p.
 */
bool kms_principal_arn_account(struct core_cursor p, struct core_cursor *account);
/** True when the request's encryption context ec satisfies g's constraints. */
bool kms_grant_constraints_ok(const json_t *g, const json_t *ec);

/** "<account>/<region>/<key-id>/" */
void kms_grant_prefix(const struct kms_key *key, char out[128]);
/** Errors: ERR_NOT_FOUND, ERR_PARSE, keystore errors. @param[out] out new reference. */
CORE_RESULT kms_grant_get(struct keystore_txn *txn, const char *rid, json_t **out);
CORE_RESULT kms_grant_put(struct keystore_txn *txn, const char *rid, const json_t *g, unsigned flags);

/** Deletes grant rid and its index row. Errors: ERR_NOT_FOUND, keystore errors. */
CORE_RESULT kms_grant_delete(struct keystore_txn *txn, const char *rid);

typedef core_result (*kms_grant_visit_fn)(void *arg, struct core_cursor id, const json_t *g, bool *stop);
/** Visits the grants whose record id starts with prefix, from `from` (or the start). */
CORE_RESULT kms_grants_each(struct keystore_txn *txn, const char *prefix, struct core_cursor from,
                            kms_grant_visit_fn fn, void *arg);

/**
 * The index prefix of grants whose RetiringPrincipal is principal, on keys
 * in region: "<region>/<hex sha256(principal)>/" into out (reset first).
 */
CORE_RESULT kms_grant_ret_prefix(const char *region, struct core_cursor principal, struct core_buf *out);
/**
 * Visits the grants under an index prefix (from kms_grant_ret_prefix), from
 * index row `from` (or the start); fn gets the index row id and the grant.
 */
CORE_RESULT kms_grant_ret_each(struct keystore_txn *txn, struct core_cursor prefix, struct core_cursor from,
                               kms_grant_visit_fn fn, void *arg);

/** A new token naming grant record rid, base64, appended to out. */
CORE_RESULT kms_grant_token_make(const struct kms_env *env, const char *rid, struct core_buf *out);
/** Verifies a token and returns the grant record id it names. Errors: ERR_PARSE (not ours / altered). */
CORE_RESULT kms_grant_token_open(const struct kms_env *env, struct core_cursor token, char rid[256]);

/** Renders one GrantListEntry as an array element. */
CORE_RESULT kms_grant_render(struct core_jw *w, const json_t *g);

#endif
