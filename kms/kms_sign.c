#include "kms/kms_asym.h"

/*
 * Sign: a signature over a RAW message (hashed by the algorithm) or a
 * DIGEST (signed as is; its length must be the algorithm's), with the
 * private key of a SIGN_VERIFY key.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html
 */

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
    EVP_PKEY *pkey = NULL;
    GUARD(kms_sig_key_open(ctx, id, (unsigned)alg, mtype, core_buf_cursor(&msg), dry, &k, &pkey));
    DEFER_CLEANUP(struct core_buf sig = {0}, core_buf_cleanup);
    core_result r = core_buf_init(&sig, 128, KMS_MAX_SIGNATURE);
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
