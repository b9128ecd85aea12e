#include "kms/kms_asym.h"

/*
 * Encrypt: up to 4096 bytes under the key's newest material, with the
 * encryption context bound as associated data; with an RSA or SM2
 * ENCRYPT_DECRYPT key, RSAES-OAEP or SM2PKE under its public key
 * (kms_asym_crypt.c).
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_Encrypt.html
 */
core_result kms_encrypt(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id, have_pt, have_alg, dry;
    size_t alg;
    const json_t *ec;
    DEFER_CLEANUP(struct core_buf pt = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&pt, KMS_MAX_PLAINTEXT_BYTES));
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_blob(ctx, in, "Plaintext", 1, KMS_MAX_PLAINTEXT_BYTES, true, &pt, &have_pt));
    GUARD(kms_param_ec(ctx, in, "EncryptionContext", &ec));
    GUARD(kms_param_grant_tokens(ctx, in));
    GUARD(kms_param_enc_alg(ctx, in, "EncryptionAlgorithm", &alg, &have_alg));
    GUARD(kms_dry_run(ctx, in, &dry));
    GUARD(kms_params_done(ctx));

    DEFER_CLEANUP(struct core_buf aad = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&aad, 64, KMS_MAX_EC_BYTES + 2));
    if (!core_ok(kms_ec_canonical(ec, &aad)))
        return kms_fail(ctx, KMS_E_VALIDATION, "%s", "The encryption context exceeds the size limit.");

    DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
    GUARD(kms_key_init(&k));
    struct keystore_txn *txn = NULL;
    GUARD(kms_key_open(ctx, id, KMS_RULE_CRYPTO, &txn, &k));
    core_result r = kms_enc_alg_check(ctx, &k, alg, have_alg, ec);
    if (!core_ok(r)) {
        keystore_txn_abort(txn);
        return r;
    }
    if (dry) {
        keystore_txn_abort(txn);
        return kms_fail(ctx, KMS_E_DRY_RUN, "%s",
                        "The request would have succeeded, but the DryRun option is set.");
    }
    DEFER_CLEANUP(struct core_buf blob = {0}, core_buf_cleanup);
    r = core_buf_init(&blob, 256, KMS_MAX_CIPHERTEXT_BYTES);
    if (core_ok(r) && alg != KMS_ENC_SYMMETRIC_DEFAULT)
        r = kms_asym_encrypt(ctx, txn, &k, alg, core_buf_cursor(&pt), &blob);
    else if (core_ok(r))
        r = kms_encrypt_with_key(ctx, txn, &k, core_buf_cursor(&aad), core_buf_cursor(&pt), &blob);
    keystore_txn_abort(txn);
    GUARD(r);

    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    GUARD(core_jw_object_begin(&w, NULL));
    GUARD(core_jw_base64_public(&w, "CiphertextBlob", core_buf_cursor(&blob)));
    GUARD(core_jw_cstr(&w, "KeyId", k.arn));
    GUARD(core_jw_cstr(&w, "EncryptionAlgorithm", kms_enc_alg_names[alg]));
    return core_jw_object_end(&w);
}

/* https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html: Encrypt sets
 * kms:EncryptionContext:*, kms:EncryptionContextKeys and kms:EncryptionAlgorithm. */
core_result kms_encrypt_conditions(struct kms_ctx *ctx, struct kms_cond *c)
{
    GUARD(kms_cond_ec(ctx, c, "EncryptionContext"));
    return kms_cond_algorithm(ctx, c, "EncryptionAlgorithm");
}
