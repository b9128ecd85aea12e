#include "kms/kms_asym.h"

/*
 * Sign: a signature over a RAW message (hashed by the algorithm) or a
 * DIGEST (signed as is; its length must be the algorithm's), with the
 * private key of a SIGN_VERIFY key.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html
 */

core_result kms_sig_request(struct kms_ctx *ctx, const struct kms_key *k, unsigned alg, size_t mtype,
                            struct core_cursor msg)
{
    GUARD(kms_asym_usage_check(ctx, k, KMS_USAGE_SIGN_VERIFY));
    if (!kms_sig_alg_fits(k->spec, alg)) return kms_asym_alg_mismatch(ctx, kms_sig_alg_names[alg], k);
    /* EXTERNAL_MU: "the 64-byte representative mu used in ML-DSA signing" only. */
    if (mtype == 2 && alg != KMS_SIG_ML_DSA_SHAKE_256)
        return kms_fail(ctx, KMS_E_VALIDATION, "MessageType EXTERNAL_MU is not valid for algorithm %s.",
                        kms_sig_alg_names[alg]);
    if (mtype == 2)
        return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION, "%s",
                        "MessageType EXTERNAL_MU is not supported by this server.");
    /* Pure Ed25519 signs the whole message: "ED25519_SHA_512 ... supports only RAW". */
    if (mtype == 1 && (alg == KMS_SIG_ED25519_SHA_512 || alg == KMS_SIG_ML_DSA_SHAKE_256))
        return kms_fail(ctx, KMS_E_VALIDATION, "MessageType DIGEST is not valid for algorithm %s.",
                        kms_sig_alg_names[alg]);
    /* "When the value of MessageType is DIGEST, the length of the Message
     * value must match the length of hashed messages for the specified
     * signing algorithm." The wording is AWS's (as moto reproduces it). */
    if (mtype == 1 && msg.len != kms_sig_alg_digest_len(alg))
        return kms_fail(ctx, KMS_E_VALIDATION, "Digest is invalid length for algorithm %s.", kms_sig_alg_names[alg]);
    CORE_OK;
}

core_result kms_sign(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id, have_msg, have_type, have_alg, dry;
    size_t mtype = 0, alg = 0;
    DEFER_CLEANUP(struct core_buf msg = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&msg, KMS_MAX_PLAINTEXT_BYTES));
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_blob(ctx, in, "Message", 1, KMS_MAX_PLAINTEXT_BYTES, true, &msg, &have_msg));
    GUARD(kms_param_enum(ctx, in, "MessageType", kms_message_types, false, &mtype, &have_type));
    GUARD(kms_param_grant_tokens(ctx, in));
    GUARD(kms_param_enum(ctx, in, "SigningAlgorithm", kms_sig_alg_names, true, &alg, &have_alg));
    GUARD(kms_dry_run(ctx, in, &dry));
    GUARD(kms_params_done(ctx));

    DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
    GUARD(kms_key_init(&k));
    struct keystore_txn *txn = NULL;
    GUARD(kms_key_open(ctx, id, KMS_RULE_CRYPTO, &txn, &k));
    core_result r = kms_sig_request(ctx, &k, (unsigned)alg, mtype, core_buf_cursor(&msg));
    if (core_ok(r) && dry)
        r = kms_fail(ctx, KMS_E_DRY_RUN, "%s", "The request would have succeeded, but the DryRun option is set.");
    EVP_PKEY *pkey = NULL;
    if (core_ok(r)) r = kms_asym_pkey(ctx, txn, &k, &pkey);
    keystore_txn_abort(txn);
    GUARD(r);
    DEFER_CLEANUP(struct core_buf sig = {0}, core_buf_cleanup);
    r = core_buf_init(&sig, 128, KMS_MAX_SIGNATURE);
    if (core_ok(r)) r = kms_asym_sign(pkey, (unsigned)alg, mtype == 1, core_buf_cursor(&msg), &sig);
    EVP_PKEY_free(pkey);
    if (!core_ok(r)) return kms_internal(ctx, r, "Sign");

    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    GUARD(core_jw_object_begin(&w, NULL));
    GUARD(core_jw_cstr(&w, "KeyId", k.arn));
    GUARD(core_jw_base64(&w, "Signature", core_buf_cursor(&sig)));
    GUARD(core_jw_cstr(&w, "SigningAlgorithm", kms_sig_alg_names[alg]));
    return core_jw_object_end(&w);
}

/* https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html:
 * Sign and Verify set kms:SigningAlgorithm and kms:MessageType (RAW when absent). */
core_result kms_sign_conditions(struct kms_ctx *ctx, struct kms_cond *c)
{
    GUARD(kms_cond_string(ctx, c, "SigningAlgorithm", "kms:SigningAlgorithm", NULL));
    return kms_cond_string(ctx, c, "MessageType", "kms:MessageType", "RAW");
}
