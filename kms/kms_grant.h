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

/** One of the GrantOperation enum values. */
bool kms_grant_op_valid(struct core_cursor op);
/** Operations that accept an encryption context (the only ones constraints may apply to). */
bool kms_grant_op_takes_context(struct core_cursor op);
/** True when the request's encryption context ec satisfies g's constraints. */
bool kms_grant_constraints_ok(const json_t *g, const json_t *ec);

/** "<account>/<region>/<key-id>/" */
void kms_grant_prefix(const struct kms_key *key, char out[128]);
/** Errors: ERR_NOT_FOUND, ERR_PARSE, keystore errors. @param[out] out new reference. */
CORE_RESULT kms_grant_get(struct keystore_txn *txn, const char *rid, json_t **out);
CORE_RESULT kms_grant_put(struct keystore_txn *txn, const char *rid, const json_t *g, unsigned flags);

typedef core_result (*kms_grant_visit_fn)(void *arg, struct core_cursor id, const json_t *g, bool *stop);
/** Visits the grants whose record id starts with prefix, from `from` (or the start). */
CORE_RESULT kms_grants_each(struct keystore_txn *txn, const char *prefix, struct core_cursor from,
                            kms_grant_visit_fn fn, void *arg);

/** A new token naming grant record rid, base64, appended to out. */
CORE_RESULT kms_grant_token_make(const struct kms_env *env, const char *rid, struct core_buf *out);
/** Verifies a token and returns the grant record id it names. Errors: ERR_PARSE (not ours / altered). */
CORE_RESULT kms_grant_token_open(const struct kms_env *env, struct core_cursor token, char rid[256]);

/** Renders one GrantListEntry as an array element. */
CORE_RESULT kms_grant_render(struct core_jw *w, const json_t *g);

#endif
