#include <stdio.h>

#include "kms/kms_asym.h"
#include "kms/kms_internal.h"

/*
 * The access layer: every operation reaches a key through here. A read
 * opens it (kms_key_open), a change mutates it in a group-committed write
 * (kms_key_mutate), a ciphertext opens the key it names (kms_open_blob);
 * each resolves the identifier (kms_resolve.c), authorizes (kms_authz.c)
 * and applies the key-state table (kms_state_check) before anything else.
 */

/* ---- key states ------------------------------------------------------------- */

/*
 * The key states table (developer guide, "Key states of AWS KMS keys"):
 *   [1] DisabledException: <key ARN> is disabled.
 *   [3] KMSInvalidStateException: <key ARN> is pending deletion.
 *   [4] KMSInvalidStateException: <key ARN> is not pending deletion.
 *   [5] KMSInvalidStateException: <key ARN> is pending import.
 *   [6],[7] UnsupportedOperationException: imported material, custom key store.
 *   [11] KeyUnavailableException: <key ARN> is unavailable.
 * PendingReplicaDeletion (a multi-Region primary scheduled for deletion
 * while replicas remain) refuses what PendingDeletion refuses: the key
 * "cannot be replicated or used in cryptographic operations"
 * (API_ScheduleKeyDeletion.html). AWS's text is not published; the message
 * names the state as AWS's other state messages do.
 */
core_result kms_state_check(struct kms_ctx *ctx, const struct kms_key *key, enum kms_state_rule rule)
{
    const char *arn = key->arn;
    uint8_t s = key->state;
    switch (rule) {
    case KMS_RULE_ANY:
        CORE_OK;
    case KMS_RULE_CRYPTO:
        if (s == KMS_STATE_ENABLED) CORE_OK;
        if (s == KMS_STATE_DISABLED) return kms_fail(ctx, KMS_E_DISABLED, "%s is disabled.", arn);
        if (s == KMS_STATE_PENDING_DELETION)
            return kms_fail(ctx, KMS_E_INVALID_STATE, "%s is pending deletion.", arn);
        if (s == KMS_STATE_PENDING_IMPORT)
            return kms_fail(ctx, KMS_E_INVALID_STATE, "%s is pending import.", arn);
        if (s == KMS_STATE_PENDING_REPLICA_DELETION)
            return kms_fail(ctx, KMS_E_INVALID_STATE, "%s is pending replica deletion.", arn);
        return kms_fail(ctx, KMS_E_KEY_UNAVAILABLE, "%s is unavailable.", arn);
    case KMS_RULE_MANAGE:
        if (s == KMS_STATE_PENDING_DELETION)
            return kms_fail(ctx, KMS_E_INVALID_STATE, "%s is pending deletion.", arn);
        if (s == KMS_STATE_PENDING_REPLICA_DELETION)
            return kms_fail(ctx, KMS_E_INVALID_STATE, "%s is pending replica deletion.", arn);
        CORE_OK;
    case KMS_RULE_ENABLE_DISABLE:
        if (s == KMS_STATE_PENDING_DELETION)
            return kms_fail(ctx, KMS_E_INVALID_STATE, "%s is pending deletion.", arn);
        if (s == KMS_STATE_PENDING_REPLICA_DELETION)
            return kms_fail(ctx, KMS_E_INVALID_STATE, "%s is pending replica deletion.", arn);
        if (s == KMS_STATE_PENDING_IMPORT)
            return kms_fail(ctx, KMS_E_INVALID_STATE, "%s is pending import.", arn);
        CORE_OK;
    case KMS_RULE_CANCEL_DELETION:
        if (s == KMS_STATE_PENDING_DELETION || s == KMS_STATE_PENDING_REPLICA_DELETION) CORE_OK;
        return kms_fail(ctx, KMS_E_INVALID_STATE, "%s is not pending deletion.", arn);
    case KMS_RULE_ROTATION:
    case KMS_RULE_ROTATION_READ:
        /* "Automatic key rotation is supported only on symmetric encryption
         * KMS keys" (rotate-keys.html); asymmetric and HMAC keys get
         * UnsupportedOperationException, worded like AWS's key-usage errors. */
        if (key->spec != KMS_SPEC_SYMMETRIC_DEFAULT)
            return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION, "%s key usage is %s which is not valid for %s.", arn,
                            kms_usage_name(key->usage), ctx->action->row.name);
        /* [6]: keys with imported key material are not rotated here (ListKeyRotations lists their
         * material; it does not use this rule for them). */
        if (key->external)
            return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION,
                            "%s origin is EXTERNAL which is not valid for this operation.", arn);
        if (s == KMS_STATE_UNAVAILABLE)
            return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION,
                            "%s origin is AWS_CLOUDHSM which is not valid for this operation.", arn);
        if (rule == KMS_RULE_ROTATION_READ) CORE_OK;
        /* "automatic key rotation" is a shared property whose source is the primary key
         * (API_UpdatePrimaryRegion.html): a replica's rotation is managed on its primary.
         * AWS publishes no wording for the refusal. */
        if (kms_mrk_is_replica(key))
            return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION,
                            "%s is a multi-Region replica key. Manage the rotation of its primary key in %s.", arn,
                            key->mrk.primary);
        if (s == KMS_STATE_DISABLED) return kms_fail(ctx, KMS_E_DISABLED, "%s is disabled.", arn);
        if (s == KMS_STATE_PENDING_DELETION)
            return kms_fail(ctx, KMS_E_INVALID_STATE, "%s is pending deletion.", arn);
        if (s == KMS_STATE_PENDING_REPLICA_DELETION)
            return kms_fail(ctx, KMS_E_INVALID_STATE, "%s is pending replica deletion.", arn);
        CORE_OK;
    }
    CORE_OK;
}
/* ---- the two shapes every key operation takes ------------------------------- */

core_result kms_key_load_authorized(struct kms_ctx *ctx, struct keystore_txn *txn, struct core_cursor id,
                                    bool *managed_missing, struct kms_key *key)
{
    struct kms_key_ref ref;
    GUARD(kms_resolve(ctx, txn, id, ctx->action->key_forms, &ref, managed_missing));
    if (managed_missing && *managed_missing) CORE_OK;
    GUARD(kms_key_load(ctx, txn, &ref, key));
    return kms_authorize(ctx, txn, key);
}

static core_result open_once(struct kms_ctx *ctx, struct core_cursor id, enum kms_state_rule rule,
                             struct keystore_txn *txn, struct kms_key *key, bool *managed_missing)
{
    GUARD(kms_key_load_authorized(ctx, txn, id, managed_missing, key));
    if (*managed_missing) CORE_OK;
    return kms_state_check(ctx, key, rule);
}

core_result kms_key_open(struct kms_ctx *ctx, struct core_cursor id, enum kms_state_rule rule, struct keystore_txn **txn,
                         struct kms_key *key)
{
    *txn = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        struct keystore_txn *t = NULL;
        GUARD(keystore_txn_begin(ctx->env->ks, false, &t));
        bool missing = false;
        core_result r = open_once(ctx, id, rule, t, key, &missing);
        if (core_ok(r) && !missing) {
            *txn = t;
            CORE_OK;
        }
        keystore_txn_abort(t);
        if (!core_ok(r)) return r;
        /* First use of alias/aws/<service> (or its ARN): create the AWS managed key, then look again. */
        struct core_cursor name = id;
        if (core_cursor_starts_with(id, "arn:")) {
            struct core_cursor rest = id, tok;
            for (int i = 0; i < 5; i++) core_cursor_split(&rest, ':', &tok);
            name = rest;
        }
        GUARD(kms_managed_key_ensure(ctx, name));
    }
    BAIL(ERR_NOT_FOUND);
}

core_result kms_key_read(struct kms_ctx *ctx, struct core_cursor id, enum kms_state_rule rule, struct kms_key *key)
{
    GUARD(kms_key_init(key));
    struct keystore_txn *txn = NULL;
    GUARD(kms_key_open(ctx, id, rule, &txn, key));
    keystore_txn_abort(txn);
    CORE_OK;
}

static core_result mutate_fn(struct keystore_txn *txn, void *argp)
{
    struct kms_mutation *m = argp;
    GUARD(kms_key_load_authorized(m->ctx, txn, m->id, NULL, &m->key));
    GUARD(kms_state_check(m->ctx, &m->key, m->rule));
    if (m->apply) {
        GUARD(m->apply(m, txn));
        GUARD(kms_key_save(txn, &m->key));
    }
    CORE_OK;
}

core_result kms_key_mutate(struct kms_mutation *m)
{
    GUARD(kms_key_init(&m->key));
    return keystore_write(m->ctx->env->ks, mutate_fn, m);
}

core_result kms_key_mutate_reply(struct kms_mutation *m, const char *what, kms_reply_fn more)
{
    struct kms_ctx *ctx = m->ctx;
    core_result r = kms_key_mutate(m);
    if (!core_ok(r)) {
        kms_key_free(&m->key);
        return kms_internal(ctx, r, what);
    }
    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    r = core_jw_object_begin(&w, NULL);
    if (core_ok(r)) r = core_jw_cstr(&w, "KeyId", m->key.arn);
    if (core_ok(r) && more) r = more(&w, m);
    if (core_ok(r)) r = core_jw_object_end(&w);
    kms_key_free(&m->key);
    return r;
}

/* ---- ciphertexts ------------------------------------------------------------ */

static core_result bad_ciphertext(struct kms_ctx *ctx, const char *why)
{
    core_log(CORE_LOG_INFO, "request %s: InvalidCiphertextException: %s",
             ctx->call->request_id ? ctx->call->request_id : "-", why);
    return kms_fail(ctx, KMS_E_INVALID_CIPHERTEXT, "%s", "");
}

static core_result open_in(struct kms_ctx *ctx, struct keystore_txn *txn, struct core_cursor blob,
                           const struct kms_ct_header *h, const struct core_cursor *key_id, struct core_cursor aad,
                           struct kms_key *key, struct core_buf *plaintext)
{
    struct kms_key_ref ref;
    /* The key that opens the blob here: the blob's own key, or for a multi-Region key (format 2) the
     * related key of this Region, which has the same key id and material: "you can use them
     * interchangeably to encrypt data in one AWS Region and decrypt it in a different AWS Region"
     * (multi-region-keys-overview.html). */
    const char *here = h->version == KMS_CT_VERSION_MRK ? ctx->region : h->region;
    if (key_id) {
        bool managed_missing = false;
        GUARD(kms_resolve(ctx, txn, *key_id, ctx->action->key_forms, &ref, &managed_missing));
        if (!managed_missing && (strcmp(ref.key_id, h->key_id) != 0 || strcmp(ref.account, h->account) != 0 ||
                                 strcmp(ref.region, here) != 0))
            GUARD(kms_key_load(ctx, txn, &ref, key)); /* a key that does not exist is NotFoundException */
        if (managed_missing || strcmp(ref.key_id, h->key_id) != 0 || strcmp(ref.account, h->account) != 0 ||
            strcmp(ref.region, here) != 0)
            return kms_fail(ctx, KMS_E_INCORRECT_KEY, "%s",
                            "The key ID in the request does not identify a CMK that can perform this operation.");
    }
    /* KMS keys are regional: a single-Region key's blob from another Region does not name a key here. */
    if (strcmp(here, ctx->region) != 0) return bad_ciphertext(ctx, "ciphertext from another region");
    core_str_copy(ref.account, sizeof ref.account, h->account);
    core_str_copy(ref.region, sizeof ref.region, here);
    core_str_copy(ref.key_id, sizeof ref.key_id, h->key_id);
    GUARD(kms_key_load(ctx, txn, &ref, key));
    GUARD(kms_authorize(ctx, txn, key));
    GUARD(kms_state_check(ctx, key, KMS_RULE_CRYPTO));
    GUARD(kms_symmetric_usage_check(ctx, key));
    DEFER_CLEANUP(struct core_buf mat = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&mat, KMS_MATERIAL_BYTES));
    core_result r = kms_material_get(txn, key, h->material_version, &mat);
    if (r.err == ERR_NOT_FOUND) return bad_ciphertext(ctx, "no such material version");
    if (!core_ok(r)) return kms_internal(ctx, r, "reading key material");
    r = kms_ct_open(ctx->env->aes_gcm, blob, h, core_buf_cursor(&mat), aad, plaintext);
    if (!core_ok(r)) return bad_ciphertext(ctx, "authentication failed (tag, context or header)");
    CORE_OK;
}

core_result kms_open_blob(struct kms_ctx *ctx, struct core_cursor blob, const struct core_cursor *key_id,
                          const json_t *ec, struct kms_key *key, uint32_t *version, struct core_buf *plaintext)
{
    /* kms:RequestAlias is the alias that names this key in the request, if any (set by kms_resolve). */
    ctx->request_alias[0] = 0;
    struct kms_ct_header h;
    if (!core_ok(kms_ct_parse(blob, &h))) return bad_ciphertext(ctx, "header does not parse");
    DEFER_CLEANUP(struct core_buf aad = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&aad, 64, KMS_MAX_EC_BYTES + 2));
    if (!core_ok(kms_ec_canonical(ec, &aad))) return bad_ciphertext(ctx, "encryption context too large");
    struct keystore_txn *txn = NULL;
    GUARD(keystore_txn_begin(ctx->env->ks, false, &txn));
    core_result r = open_in(ctx, txn, blob, &h, key_id, core_buf_cursor(&aad), key, plaintext);
    keystore_txn_abort(txn);
    *version = h.material_version;
    return r;
}

