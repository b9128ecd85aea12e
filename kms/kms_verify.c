#include "kms/kms_asym.h"

/*
 * Verify: checks a signature made with the private key of a SIGN_VERIFY
 * key (by Sign, or outside with the same key pair), the message given RAW
 * or as a DIGEST as in Sign. A signature that does not verify is
 * KMSInvalidSignatureException, never SignatureValid false.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_Verify.html
 */
core_result kms_verify(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id, have_msg, have_type, have_alg, have_sig, dry;
    size_t mtype = 0, alg = 0;
    DEFER_CLEANUP(struct core_buf msg = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_buf sig = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&msg, KMS_MAX_PLAINTEXT_BYTES));
    GUARD(core_buf_init(&sig, 0, KMS_MAX_CIPHERTEXT_BYTES));
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_blob(ctx, in, "Message", 1, KMS_MAX_PLAINTEXT_BYTES, true, &msg, &have_msg));
    GUARD(kms_param_enum(ctx, in, "MessageType", kms_message_types, false, &mtype, &have_type));
    GUARD(kms_param_blob(ctx, in, "Signature", 1, KMS_MAX_CIPHERTEXT_BYTES, true, &sig, &have_sig));
    GUARD(kms_param_enum(ctx, in, "SigningAlgorithm", kms_sig_alg_names, true, &alg, &have_alg));
    GUARD(kms_param_grant_tokens(ctx, in));
    GUARD(kms_dry_run(ctx, in, &dry));
    GUARD(kms_params_done(ctx));

    DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
    EVP_PKEY *pkey = NULL;
    GUARD(kms_sig_key_open(ctx, id, (unsigned)alg, mtype, core_buf_cursor(&msg), dry, &k, &pkey));
    bool valid = false;
    core_result r = kms_asym_verify(pkey, (unsigned)alg, mtype == 1, core_buf_cursor(&msg), core_buf_cursor(&sig), &valid);
    EVP_PKEY_free(pkey);
    if (!core_ok(r)) return kms_internal(ctx, r, "Verify");
    /* KMSInvalidSignatureException: "The request was rejected because the
     * signature verification failed." (API_Verify.html, Errors) */
    if (!valid) return kms_fail(ctx, KMS_E_KMS_INVALID_SIGNATURE, "%s", "Signature verification failed.");

    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    GUARD(core_jw_object_begin(&w, NULL));
    GUARD(core_jw_cstr(&w, "KeyId", k.arn));
    GUARD(core_jw_bool(&w, "SignatureValid", true));
    GUARD(core_jw_cstr(&w, "SigningAlgorithm", kms_sig_alg_names[alg]));
    return core_jw_object_end(&w);
}
