#include <stdio.h>

#include "kms/kms_asym.h"
#include "kms/kms_import.h"

/*
 * GetParametersForImport: a fresh wrapping key pair and an import token for
 * a key with Origin EXTERNAL. "The public key and import token from the same
 * response must be used together. They are valid for 24 hours"; the token
 * carries the private key, sealed by the server (kms_import.c).
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_GetParametersForImport.html
 */
core_result kms_get_parameters_for_import(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id, have_alg, have_spec;
    size_t alg = 0, spec = 0;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_enum(ctx, in, "WrappingAlgorithm", kms_wrap_alg_names, true, &alg, &have_alg));
    GUARD(kms_param_enum(ctx, in, "WrappingKeySpec", kms_wrap_spec_names, true, &spec, &have_spec));
    GUARD(kms_params_done(ctx));

    DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
    GUARD(kms_key_read(ctx, id, KMS_RULE_ANY, &k));
    GUARD(kms_import_key_check(ctx, &k));
    /* "RSAES_PKCS1_V1_5 (Deprecated) -- As of October 10, 2023, KMS does not support the RSAES_PKCS1_V1_5
     * wrapping algorithm." (API_GetParametersForImport, WrappingAlgorithm) */
    if (alg == KMS_ALG_RSAES_PKCS1_V1_5)
        return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION, "%s",
                        "The RSAES_PKCS1_V1_5 wrapping algorithm is not supported.");
    /* "SM2 (China Regions only)" for both the key spec and SM2PKE. */
    bool sm2_spec = spec == KMS_WRAP_SM2, sm2_alg = alg == KMS_ALG_SM2PKE;
    if ((sm2_spec || sm2_alg) && strcmp(core_partition_of(ctx->region), "aws-cn") != 0)
        return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION, "%s is supported only in China Regions.",
                        sm2_spec ? "WrappingKeySpec SM2" : "WrappingAlgorithm SM2PKE");
    if (sm2_spec != sm2_alg)
        return kms_fail(ctx, KMS_E_VALIDATION, "WrappingAlgorithm %s is not compatible with WrappingKeySpec %s.",
                        kms_wrap_alg_names[alg], kms_wrap_spec_names[spec]);

    /* Which wrapping algorithm can carry which key material (API_GetParametersForImport, WrappingAlgorithm and
     * WrappingKeySpec): "To import an RSA private key, you must use an RSA_AES wrapping algorithm" (its PKCS#8
     * DER is longer than RSAES_OAEP can carry), and "You cannot use an RSA_2048 public key to directly wrap an
     * ECC_NIST_P521 private key. Instead, use an RSA_AES wrapping algorithm or choose a longer RSA public key." */
    bool oaep = alg == KMS_ALG_RSAES_OAEP_SHA_1 || alg == KMS_ALG_RSAES_OAEP_SHA_256;
    if (oaep && kms_spec_is_rsa(k.spec))
        return kms_fail(ctx, KMS_E_VALIDATION,
                        "WrappingAlgorithm %s cannot wrap %s key material. To import an RSA private key, you must use "
                        "an RSA_AES wrapping algorithm (RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256).",
                        kms_wrap_alg_names[alg], kms_spec_name(k.spec));
    if (oaep && spec == KMS_WRAP_RSA_2048 && k.spec == KMS_SPEC_ECC_NIST_P521)
        return kms_fail(ctx, KMS_E_VALIDATION, "%s",
                        "You cannot use an RSA_2048 public key to directly wrap an ECC_NIST_P521 private key. Instead, "
                        "use an RSA_AES wrapping algorithm or choose a longer RSA public key.");

    struct kms_import_token t = {.spec = (uint8_t)spec, .alg = (uint8_t)alg,
                                 .expires = ctx->call->now + KMS_IMPORT_TOKEN_TTL};
    kms_key_record_id(k.account, k.region, k.key_id, t.rid);
    DEFER_CLEANUP(struct core_buf pub = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_buf tok = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_secret tkey = {0}, core_secret_cleanup);
    GUARD(core_buf_init_secret(&t.der, 4096));
    core_result r = core_buf_init(&pub, 1024, 4096);
    if (core_ok(r)) r = core_buf_init(&tok, 4096, KMS_IMPORT_TOKEN_MAX);
    if (core_ok(r)) r = kms_import_keypair(t.spec, &t.der, &pub);
    if (core_ok(r)) r = kms_import_token_key(ctx->env, &tkey);
    if (core_ok(r)) r = kms_import_token_seal(core_secret_cursor(&tkey), &t, &tok);
    core_buf_free(&t.der);
    if (!core_ok(r)) return kms_internal(ctx, r, "GetParametersForImport");

    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    GUARD(core_jw_object_begin(&w, NULL));
    GUARD(core_jw_cstr(&w, "KeyId", k.arn));
    GUARD(core_jw_base64(&w, "ImportToken", core_buf_cursor(&tok)));
    GUARD(core_jw_base64(&w, "PublicKey", core_buf_cursor(&pub)));
    GUARD(core_jw_time(&w, "ParametersValidTo", t.expires));
    return core_jw_object_end(&w);
}

/* kms:WrappingAlgorithm and kms:WrappingKeySpec (conditions-kms.html). Both members are required, so the
 * defaults below never stand in for a real request's values (validation refuses it first). */
core_result kms_get_parameters_for_import_conditions(struct kms_ctx *ctx, struct kms_cond *c)
{
    GUARD(kms_cond_string(ctx, c, "WrappingAlgorithm", "kms:WrappingAlgorithm", ""));
    return kms_cond_string(ctx, c, "WrappingKeySpec", "kms:WrappingKeySpec", "");
}
