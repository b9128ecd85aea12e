#include "kms/kms_asym.h"

/*
 * VerifyMac: recomputes the HMAC and compares it in constant time; a
 * mismatch is KMSInvalidMacException, never MacValid false.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_VerifyMac.html
 */
core_result kms_verify_mac(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id, have_msg, have_alg, have_mac, dry;
    size_t alg = 0;
    DEFER_CLEANUP(struct core_buf msg = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_buf given = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&msg, KMS_MAX_PLAINTEXT_BYTES));
    GUARD(core_buf_init(&given, 0, KMS_MAX_CIPHERTEXT_BYTES));
    GUARD(kms_param_blob(ctx, in, "Message", 1, KMS_MAX_PLAINTEXT_BYTES, true, &msg, &have_msg));
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_enum(ctx, in, "MacAlgorithm", kms_mac_alg_names, true, &alg, &have_alg));
    GUARD(kms_param_blob(ctx, in, "Mac", 1, KMS_MAX_CIPHERTEXT_BYTES, true, &given, &have_mac));
    GUARD(kms_param_grant_tokens(ctx, in));
    GUARD(kms_dry_run(ctx, in, &dry));
    GUARD(kms_params_done(ctx));

    DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
    GUARD(kms_key_init(&k));
    struct keystore_txn *txn = NULL;
    GUARD(kms_key_open(ctx, id, KMS_RULE_CRYPTO, &txn, &k));
    uint8_t mac[KMS_MAX_MAC];
    size_t mac_len = 0;
    core_result r = kms_mac_compute(ctx, txn, &k, (unsigned)alg, core_buf_cursor(&msg), mac, &mac_len);
    keystore_txn_abort(txn);
    GUARD(r);
    bool valid = core_ct_equal_cursor(core_cursor_from(mac, mac_len), core_buf_cursor(&given));
    core_wipe(mac, sizeof mac);
    if (dry && valid)
        return kms_dry_run_refuse(ctx);
    /* KMSInvalidMacException: "The request was rejected because the HMAC
     * verification failed." (API_VerifyMac.html, Errors) */
    if (!valid) return kms_fail(ctx, KMS_E_KMS_INVALID_MAC, "%s", "MAC verification failed.");

    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    GUARD(core_jw_object_begin(&w, NULL));
    GUARD(core_jw_cstr(&w, "KeyId", k.arn));
    GUARD(core_jw_bool(&w, "MacValid", true));
    GUARD(core_jw_cstr(&w, "MacAlgorithm", kms_mac_alg_names[alg]));
    return core_jw_object_end(&w);
}
