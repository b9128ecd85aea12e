#include <openssl/err.h>
#include <openssl/rsa.h>

#include "kms/kms_asym.h"

/*
 * Encryption with asymmetric KMS keys (Encrypt, Decrypt, ReEncrypt): RSA
 * ENCRYPT_DECRYPT keys with RSAES-OAEP (SHA-1 or SHA-256, MGF1 with the
 * same hash, empty label) and SM2 keys with SM2PKE. The ciphertext is the
 * algorithm's raw output, not kmsd's envelope: it does not name its key, so
 * Decrypt needs KeyId and EncryptionAlgorithm, and a ciphertext made
 * outside with GetPublicKey's key decrypts too, as on AWS.
 * https://docs.aws.amazon.com/kms/latest/developerguide/symmetric-asymmetric.html
 * docs/ciphertext.md describes the forms.
 */

const char *const kms_enc_alg_names[] = {"SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE",
                                         NULL};

core_result kms_param_enc_alg(struct kms_ctx *ctx, const json_t *in, const char *member, size_t *alg, bool *present)
{
    *alg = KMS_ENC_SYMMETRIC_DEFAULT;
    return kms_param_enum(ctx, in, member, kms_enc_alg_names, false, alg, present);
}

/*
 * "RSAES_OAEP_SHA_1: RSA_2048 214 bytes, RSA_3072 342, RSA_4096 470;
 * RSAES_OAEP_SHA_256: 190, 318, 446" (k - 2 hLen - 2, RFC 8017 7.1.1) and
 * "SM2PKE: 1024 bytes" (API_Encrypt.html, Plaintext).
 */
size_t kms_enc_max_plaintext(uint8_t spec, size_t alg)
{
    if (alg == KMS_ENC_SM2PKE) return 1024;
    size_t k = spec == KMS_SPEC_RSA_2048 ? 256 : spec == KMS_SPEC_RSA_3072 ? 384 : 512;
    size_t h = alg == KMS_ENC_RSAES_OAEP_SHA_1 ? 20 : 32;
    return k - 2 * h - 2;
}

core_result kms_enc_alg_check(struct kms_ctx *ctx, const struct kms_key *key, size_t alg, bool have_alg,
                              const json_t *ec)
{
    GUARD(kms_asym_usage_check(ctx, key, KMS_USAGE_ENCRYPT_DECRYPT));
    bool fits = key->spec == KMS_SPEC_SYMMETRIC_DEFAULT ? alg == KMS_ENC_SYMMETRIC_DEFAULT
                : key->spec == KMS_SPEC_SM2             ? alg == KMS_ENC_SM2PKE
                                                        : alg == KMS_ENC_RSAES_OAEP_SHA_1 || alg == KMS_ENC_RSAES_OAEP_SHA_256;
    /* "If you specify an asymmetric KMS key, you must also specify the
     * encryption algorithm": absent, it is SYMMETRIC_DEFAULT, which does not
     * fit the key (API_Encrypt.html, EncryptionAlgorithm). */
    (void)have_alg;
    if (!fits) return kms_asym_alg_mismatch(ctx, kms_enc_alg_names[alg], key);
    /* "An encryption context is valid only for cryptographic operations with
     * a symmetric encryption KMS key. The standard asymmetric encryption
     * algorithms and HMAC algorithms that KMS uses do not support an
     * encryption context." (API_Encrypt.html; AWS publishes no wording for
     * the refusal.) */
    if (key->spec != KMS_SPEC_SYMMETRIC_DEFAULT && ec != NULL && json_object_size(ec) > 0)
        return kms_fail(ctx, KMS_E_VALIDATION, "EncryptionContext is not supported with algorithm %s.",
                        kms_enc_alg_names[alg]);
    CORE_OK;
}

static void pctx_free(EVP_PKEY_CTX **p) { EVP_PKEY_CTX_free(*p); }

static core_result oaep_params(EVP_PKEY_CTX *p, size_t alg)
{
    if (alg == KMS_ENC_SM2PKE) CORE_OK;
    const EVP_MD *md = alg == KMS_ENC_RSAES_OAEP_SHA_1 ? EVP_sha1() : EVP_sha256();
    GUARD_OSSL(EVP_PKEY_CTX_set_rsa_padding(p, RSA_PKCS1_OAEP_PADDING), ERR_CRYPTO);
    GUARD_OSSL(EVP_PKEY_CTX_set_rsa_oaep_md(p, md), ERR_CRYPTO);
    GUARD_OSSL(EVP_PKEY_CTX_set_rsa_mgf1_md(p, md), ERR_CRYPTO);
    CORE_OK;
}

core_result kms_asym_encrypt(struct kms_ctx *ctx, struct keystore_txn *txn, const struct kms_key *key, size_t alg,
                             struct core_cursor plaintext, struct core_buf *out)
{
    size_t max = kms_enc_max_plaintext(key->spec, alg);
    /* AWS publishes no wording for an over-long plaintext; ValidationException names the limit. */
    if (plaintext.len > max)
        return kms_fail(ctx, KMS_E_VALIDATION,
                        "Plaintext is too long for algorithm %s with key spec %s: at most %zu bytes.",
                        kms_enc_alg_names[alg], kms_spec_name(key->spec), max);
    EVP_PKEY *pkey = NULL;
    GUARD(kms_asym_pkey(ctx, txn, key, &pkey));
    DEFER_CLEANUP(EVP_PKEY_CTX *p = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL), pctx_free);
    EVP_PKEY_free(pkey); /* p holds its own reference */
    core_result r = {ERR_OK};
    size_t n = 0;
    if (p == NULL || EVP_PKEY_encrypt_init(p) != 1) r = (core_result){ERR_CRYPTO};
    if (core_ok(r)) r = oaep_params(p, alg);
    if (core_ok(r) && EVP_PKEY_encrypt(p, NULL, &n, plaintext.ptr, plaintext.len) != 1) r = (core_result){ERR_CRYPTO};
    if (core_ok(r)) r = core_buf_reserve(out, n);
    if (core_ok(r) && EVP_PKEY_encrypt(p, out->data + out->len, &n, plaintext.ptr, plaintext.len) != 1)
        r = (core_result){ERR_CRYPTO};
    ERR_clear_error();
    if (!core_ok(r)) return kms_internal(ctx, r, "asymmetric encryption");
    out->len += n;
    CORE_OK;
}

core_result kms_asym_decrypt(struct kms_ctx *ctx, struct keystore_txn *txn, const struct kms_key *key, size_t alg,
                             struct core_cursor blob, struct core_buf *plaintext)
{
    EVP_PKEY *pkey = NULL;
    GUARD(kms_asym_pkey(ctx, txn, key, &pkey));
    DEFER_CLEANUP(EVP_PKEY_CTX *p = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL), pctx_free);
    EVP_PKEY_free(pkey);
    ENSURE(p != NULL, ERR_NOMEM);
    core_result r = EVP_PKEY_decrypt_init(p) == 1 ? oaep_params(p, alg) : (core_result){ERR_CRYPTO};
    if (!core_ok(r)) {
        ERR_clear_error();
        return kms_internal(ctx, r, "asymmetric decryption set-up");
    }
    /* Into the secret buffer; a padding failure is InvalidCiphertextException, as AWS answers. */
    size_t n = plaintext->max - plaintext->len;
    r = core_buf_reserve(plaintext, n);
    int ok = core_ok(r) ? EVP_PKEY_decrypt(p, plaintext->data + plaintext->len, &n, blob.ptr, blob.len) : 0;
    ERR_clear_error();
    if (ok != 1) {
        core_wipe(plaintext->data, plaintext->len + n);
        return kms_fail(ctx, KMS_E_INVALID_CIPHERTEXT, "%s", "");
    }
    plaintext->len += n;
    CORE_OK;
}

core_result kms_asym_open_blob(struct kms_ctx *ctx, struct core_cursor blob, const struct core_cursor *key_id,
                               size_t alg, const json_t *ec, struct kms_key *key, struct core_buf *plaintext)
{
    /* The raw OAEP/SM2 output names no key: the request must. AWS publishes no wording for its absence. */
    if (key_id == NULL)
        return kms_fail(ctx, KMS_E_VALIDATION, "A KeyId is required to decrypt with algorithm %s.",
                        kms_enc_alg_names[alg]);
    struct keystore_txn *txn = NULL;
    GUARD(kms_key_open(ctx, *key_id, KMS_RULE_CRYPTO, &txn, key));
    core_result r = kms_enc_alg_check(ctx, key, alg, true, ec);
    if (core_ok(r)) r = kms_asym_decrypt(ctx, txn, key, alg, blob, plaintext);
    keystore_txn_abort(txn);
    return r;
}

/* What Encrypt and ReEncrypt share: the key opened for encryption, then its kind's encryption. */
core_result kms_encrypt_to(struct kms_ctx *ctx, struct core_cursor id, size_t alg, bool have_alg, const json_t *ec,
                           struct core_cursor aad, struct core_cursor pt, bool dry, struct kms_key *key,
                           struct core_buf *blob)
{
    struct keystore_txn *txn = NULL;
    GUARD(kms_key_open(ctx, id, KMS_RULE_CRYPTO, &txn, key));
    core_result r = kms_enc_alg_check(ctx, key, alg, have_alg, ec);
    if (core_ok(r) && dry) r = kms_dry_run_refuse(ctx);
    if (core_ok(r)) r = core_buf_init(blob, 256, KMS_MAX_CIPHERTEXT_BYTES);
    if (core_ok(r))
        r = alg != KMS_ENC_SYMMETRIC_DEFAULT ? kms_asym_encrypt(ctx, txn, key, alg, pt, blob)
                                             : kms_encrypt_with_key(ctx, txn, key, aad, pt, blob);
    keystore_txn_abort(txn);
    return r;
}
