#include <stdio.h>

#include "kms/kms_asym.h"

/*
 * Decrypt: the blob names its key (account, Region, key id) and material
 * version, so KeyId is optional; a KeyId naming another key is
 * IncorrectKeyException. "If you specify a KeyId value, the Decrypt
 * operation succeeds only if the specified KMS key was used to encrypt the
 * ciphertext." https://docs.aws.amazon.com/kms/latest/APIReference/API_Decrypt.html
 */

static core_result bad_ciphertext(struct kms_ctx *ctx, const char *why)
{
    core_log(CORE_LOG_INFO, "request %s: InvalidCiphertextException: %s",
             ctx->call->request_id ? ctx->call->request_id : "-", why);
    return kms_fail(ctx, KMS_E_INVALID_CIPHERTEXT, "%s", "");
}

core_result kms_render_material_id(struct core_jw *w, const char *name, const struct kms_key *key, uint32_t n)
{
    if (n < 1 || n > key->n_versions) CORE_OK;
    struct kms_key_version v;
    char hex[65];
    kms_key_version_at(key, n - 1, &v);
    kms_material_id_hex(v.material_id, hex);
    return core_jw_cstr(w, name, hex);
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
    snprintf(ref.account, sizeof ref.account, "%s", h->account);
    snprintf(ref.region, sizeof ref.region, "%s", here);
    snprintf(ref.key_id, sizeof ref.key_id, "%s", h->key_id);
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

core_result kms_decrypt(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id, have_blob, dry;
    const json_t *ec;
    DEFER_CLEANUP(struct core_buf blob = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&blob, 256, KMS_MAX_CIPHERTEXT_BYTES + 1));
    GUARD(kms_param_blob(ctx, in, "CiphertextBlob", 1, KMS_MAX_CIPHERTEXT_BYTES, true, &blob, &have_blob));
    GUARD(kms_param_ec(ctx, in, "EncryptionContext", &ec));
    GUARD(kms_param_grant_tokens(ctx, in));
    GUARD(kms_param_key_id(ctx, in, "KeyId", false, &id, &have_id));
    size_t alg;
    bool have_alg;
    GUARD(kms_param_enc_alg(ctx, in, "EncryptionAlgorithm", &alg, &have_alg));
    GUARD(kms_dry_run(ctx, in, &dry));
    GUARD(kms_params_done(ctx));
    const json_t *recipient = json_object_get(in, "Recipient");
    if (recipient && !json_is_null(recipient))
        return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION, "%s",
                        "Recipient attestation documents are not supported by this server.");

    DEFER_CLEANUP(struct core_buf pt = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&pt, KMS_MAX_PLAINTEXT_BYTES + 32));
    DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
    GUARD(kms_key_init(&k));
    uint32_t version = 0;
    if (alg != KMS_ENC_SYMMETRIC_DEFAULT)
        GUARD(kms_asym_open_blob(ctx, core_buf_cursor(&blob), have_id ? &id : NULL, alg, ec, &k, &pt));
    else
        GUARD(kms_open_blob(ctx, core_buf_cursor(&blob), have_id ? &id : NULL, ec, &k, &version, &pt));
    if (dry)
        return kms_fail(ctx, KMS_E_DRY_RUN, "%s",
                        "The request would have succeeded, but the DryRun option is set.");

    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    GUARD(core_jw_object_begin(&w, NULL));
    GUARD(core_jw_cstr(&w, "KeyId", k.arn));
    GUARD(core_jw_base64(&w, "Plaintext", core_buf_cursor(&pt)));
    GUARD(core_jw_cstr(&w, "EncryptionAlgorithm", kms_enc_alg_names[alg]));
    if (alg == KMS_ENC_SYMMETRIC_DEFAULT) GUARD(kms_render_material_id(&w, "KeyMaterialId", &k, version));
    return core_jw_object_end(&w);
}

/* https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html: Decrypt sets
 * kms:EncryptionContext:*, kms:EncryptionContextKeys and kms:EncryptionAlgorithm. */
core_result kms_decrypt_conditions(struct kms_ctx *ctx, struct kms_cond *c)
{
    GUARD(kms_cond_ec(ctx, c, "EncryptionContext"));
    return kms_cond_algorithm(ctx, c, "EncryptionAlgorithm");
}
