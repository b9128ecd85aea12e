#include "kms/kms_asym.h"

/*
 * GetPublicKey: the DER SubjectPublicKeyInfo of an asymmetric key, with its
 * KeySpec, KeyUsage and algorithm lists. Symmetric and HMAC keys have no
 * public key: UnsupportedOperationException.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_GetPublicKey.html
 */
core_result kms_get_public_key(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_grant_tokens(ctx, in));
    GUARD(kms_params_done(ctx));

    DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
    GUARD(kms_key_init(&k));
    struct keystore_txn *txn = NULL;
    GUARD(kms_key_open(ctx, id, KMS_RULE_CRYPTO, &txn, &k));
    core_result r = {ERR_OK};
    if (k.spec == KMS_SPEC_SYMMETRIC_DEFAULT || kms_spec_is_hmac(k.spec))
        r = kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION, "%s key usage is %s which is not valid for GetPublicKey.",
                     k.arn, kms_usage_name(k.usage));
    EVP_PKEY *pkey = NULL;
    if (core_ok(r)) r = kms_asym_pkey(ctx, txn, &k, &pkey);
    keystore_txn_abort(txn);
    GUARD(r);
    DEFER_CLEANUP(struct core_buf der = {0}, core_buf_cleanup);
    r = core_buf_init(&der, 512, KMS_MAX_PUBLIC_DER);
    if (core_ok(r)) r = kms_asym_public_der(pkey, &der);
    EVP_PKEY_free(pkey);
    if (!core_ok(r)) return kms_internal(ctx, r, "GetPublicKey");

    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    GUARD(core_jw_object_begin(&w, NULL));
    GUARD(core_jw_cstr(&w, "KeyId", k.arn));
    GUARD(core_jw_base64(&w, "PublicKey", core_buf_cursor(&der)));
    if (k.spec < KMS_SPEC_ML_DSA_44) GUARD(core_jw_cstr(&w, "CustomerMasterKeySpec", kms_spec_name(k.spec)));
    GUARD(core_jw_cstr(&w, "KeySpec", kms_spec_name(k.spec)));
    GUARD(core_jw_cstr(&w, "KeyUsage", kms_usage_name(k.usage)));
    GUARD(kms_asym_render_algorithms(&w, k.spec, k.usage, false));
    return core_jw_object_end(&w);
}
