#include "kms/kms_asym.h"

/*
 * GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext: a fresh key
 * pair of KeyPairSpec; the private key as PKCS#8 DER encrypted under a
 * symmetric encryption KMS key with the encryption context (kmsd's
 * envelope, like GenerateDataKey's), the public key as DER
 * SubjectPublicKeyInfo, and for GenerateDataKeyPair the private key in
 * plaintext too. RSA pairs come from the pre-generated pool (kms_asym.c).
 * The private key lives in guarded memory until it is in the reply body,
 * which the server wipes on free.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKeyPair.html
 */

static const char *const pair_specs[] = {"RSA_2048",        "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384",
                                         "ECC_NIST_P521", "ECC_SECG_P256K1", "SM2", "ECC_NIST_EDWARDS25519", NULL};
static const uint8_t pair_spec_key[] = {KMS_SPEC_RSA_2048,     KMS_SPEC_RSA_3072,     KMS_SPEC_RSA_4096,
                                        KMS_SPEC_ECC_NIST_P256, KMS_SPEC_ECC_NIST_P384, KMS_SPEC_ECC_NIST_P521,
                                        KMS_SPEC_ECC_SECG_P256K1, KMS_SPEC_SM2, KMS_SPEC_ECC_NIST_EDWARDS25519};

static void pkey_free(EVP_PKEY **p) { EVP_PKEY_free(*p); }

static core_result pair_common(struct kms_ctx *ctx, const json_t *in, bool with_plaintext)
{
    struct core_cursor id;
    bool have_id, have_spec, dry;
    size_t spec = 0;
    const json_t *ec;
    GUARD(kms_param_ec(ctx, in, "EncryptionContext", &ec));
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_enum(ctx, in, "KeyPairSpec", pair_specs, true, &spec, &have_spec));
    GUARD(kms_param_grant_tokens(ctx, in));
    GUARD(kms_dry_run(ctx, in, &dry));
    GUARD(kms_params_done(ctx));
    if (with_plaintext) {
        const json_t *recipient = json_object_get(in, "Recipient");
        if (recipient && !json_is_null(recipient))
            return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION, "%s",
                            "Recipient attestation documents are not supported by this server.");
    }
    uint8_t kspec = pair_spec_key[spec];
    /* "SM2 (China Regions only)" (DataKeyPairSpec, API_GenerateDataKeyPair.html). */
    if (kspec == KMS_SPEC_SM2 && strncmp(ctx->region, "cn-", 3) != 0)
        return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION,
                        "KeyPairSpec SM2 is supported only in the China Regions (cn-north-1, cn-northwest-1), not "
                        "in %s.",
                        ctx->region);

    DEFER_CLEANUP(struct core_buf aad = {0}, core_buf_cleanup);
    GUARD(kms_ec_aad(ctx, ec, &aad));

    DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
    GUARD(kms_key_init(&k));
    struct keystore_txn *txn = NULL;
    GUARD(kms_key_open(ctx, id, KMS_RULE_CRYPTO, &txn, &k));
    core_result r = kms_symmetric_usage_check(ctx, &k);
    if (core_ok(r) && dry)
        r = kms_dry_run_refuse(ctx);
    if (!core_ok(r)) {
        keystore_txn_abort(txn);
        return r;
    }
    DEFER_CLEANUP(EVP_PKEY *pkey = NULL, pkey_free);
    DEFER_CLEANUP(struct core_secret priv = {0}, core_secret_cleanup);
    DEFER_CLEANUP(struct core_buf pub = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_buf blob = {0}, core_buf_cleanup);
    r = kms_asym_keygen(kspec, &pkey);
    if (core_ok(r)) r = kms_asym_private_der(pkey, &priv);
    if (core_ok(r)) r = core_buf_init(&pub, 512, KMS_MAX_PUBLIC_DER);
    if (core_ok(r)) r = kms_asym_public_der(pkey, &pub);
    if (core_ok(r)) r = core_buf_init(&blob, 256, KMS_MAX_CIPHERTEXT_BYTES);
    if (!core_ok(r)) {
        keystore_txn_abort(txn);
        return kms_internal(ctx, r, "GenerateDataKeyPair key generation");
    }
    r = kms_encrypt_with_key(ctx, txn, &k, core_buf_cursor(&aad), core_secret_cursor(&priv), &blob);
    keystore_txn_abort(txn);
    GUARD(r);

    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    GUARD(core_jw_object_begin(&w, NULL));
    GUARD(core_jw_base64(&w, "PrivateKeyCiphertextBlob", core_buf_cursor(&blob)));
    if (with_plaintext) GUARD(core_jw_base64(&w, "PrivateKeyPlaintext", core_secret_cursor(&priv)));
    GUARD(core_jw_base64(&w, "PublicKey", core_buf_cursor(&pub)));
    GUARD(core_jw_cstr(&w, "KeyId", k.arn));
    GUARD(core_jw_cstr(&w, "KeyPairSpec", pair_specs[spec]));
    GUARD(kms_render_material_id(&w, "KeyMaterialId", &k, k.n_versions));
    return core_jw_object_end(&w);
}

core_result kms_generate_data_key_pair(struct kms_ctx *ctx, const json_t *in) { return pair_common(ctx, in, true); }

core_result kms_generate_data_key_pair_without_plaintext(struct kms_ctx *ctx, const json_t *in)
{
    return pair_common(ctx, in, false);
}

/*
 * GenerateDataKeyPair* set kms:EncryptionContext:*, kms:EncryptionContextKeys,
 * kms:EncryptionAlgorithm (SYMMETRIC_DEFAULT: the private key is encrypted
 * under a symmetric key) and kms:DataKeyPairSpec.
 * https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-data-key-spec
 */
core_result kms_generate_data_key_pair_conditions(struct kms_ctx *ctx, struct kms_cond *c)
{
    GUARD(kms_cond_ec(ctx, c, "EncryptionContext"));
    GUARD(kms_cond_algorithm(ctx, c, NULL));
    return kms_cond_string(ctx, c, "KeyPairSpec", "kms:DataKeyPairSpec", NULL);
}
