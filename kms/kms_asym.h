#ifndef KMS_ASYM_H
#define KMS_ASYM_H

/*
 * Asymmetric and HMAC KMS keys: key specs and usages, their algorithm
 * lists, private-key material and the cached parsed keys. Shared by
 * CreateKey, the metadata views and the operations on these keys
 * (Sign, Verify, GetPublicKey, GenerateMac, VerifyMac). Not public.
 * https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html
 */

#include <openssl/evp.h>

#include "kms/kms_internal.h"

/* KeySpec values, in the KMS API model's enum order. Stored in key records: never renumber. */
enum kms_spec {
    KMS_SPEC_RSA_2048 = 0,
    KMS_SPEC_RSA_3072 = 1,
    KMS_SPEC_RSA_4096 = 2,
    KMS_SPEC_ECC_NIST_P256 = 3,
    KMS_SPEC_ECC_NIST_P384 = 4,
    KMS_SPEC_ECC_NIST_P521 = 5,
    KMS_SPEC_ECC_SECG_P256K1 = 6,
    KMS_SPEC_SYMMETRIC_DEFAULT = 7,
    KMS_SPEC_HMAC_224 = 8,
    KMS_SPEC_HMAC_256 = 9,
    KMS_SPEC_HMAC_384 = 10,
    KMS_SPEC_HMAC_512 = 11,
    KMS_SPEC_SM2 = 12,
    KMS_SPEC_ML_DSA_44 = 13,
    KMS_SPEC_ML_DSA_65 = 14,
    KMS_SPEC_ML_DSA_87 = 15,
    KMS_SPEC_ECC_NIST_EDWARDS25519 = 16,
    KMS_SPEC_COUNT = 17,
};

/* KeyUsageType values, in the model's enum order. Stored: never renumber. */
enum kms_usage {
    KMS_USAGE_SIGN_VERIFY = 0,
    KMS_USAGE_ENCRYPT_DECRYPT = 1,
    KMS_USAGE_GENERATE_VERIFY_MAC = 2,
    KMS_USAGE_KEY_AGREEMENT = 3,
    KMS_USAGE_COUNT = 4,
};

/* SigningAlgorithmSpec, in the model's enum order. */
enum kms_sig_alg {
    KMS_SIG_RSASSA_PSS_SHA_256 = 0,
    KMS_SIG_RSASSA_PSS_SHA_384,
    KMS_SIG_RSASSA_PSS_SHA_512,
    KMS_SIG_RSASSA_PKCS1_V1_5_SHA_256,
    KMS_SIG_RSASSA_PKCS1_V1_5_SHA_384,
    KMS_SIG_RSASSA_PKCS1_V1_5_SHA_512,
    KMS_SIG_ECDSA_SHA_256,
    KMS_SIG_ECDSA_SHA_384,
    KMS_SIG_ECDSA_SHA_512,
    KMS_SIG_SM2DSA,
    KMS_SIG_ML_DSA_SHAKE_256,
    KMS_SIG_ED25519_SHA_512,
    KMS_SIG_ED25519_PH_SHA_512,
};
extern const char *const kms_sig_alg_names[];   /* NULL-terminated, model order */
extern const char *const kms_mac_alg_names[];   /* HMAC_SHA_224 .. HMAC_SHA_512 */
extern const char *const kms_message_types[];   /* RAW, DIGEST, EXTERNAL_MU */
extern const char *const kms_key_spec_names[];  /* KeySpec enum, model order */
extern const char *const kms_key_usage_names[]; /* KeyUsageType enum, model order */

/* Limits: RSA-4096 PKCS#8 DER is about 2.4 KB; HMAC keys are at most 64 bytes. */
#define KMS_MAX_PRIVATE_DER 4096u
#define KMS_MAX_PUBLIC_DER 1024u
#define KMS_MAX_SIGNATURE 1024u
#define KMS_MAX_MAC 64u
#define KMS_MAX_PEER_PUBLIC_KEY 8192u /* PublicKeyType max */

const char *kms_spec_name(uint8_t spec);
const char *kms_usage_name(uint8_t usage);
bool kms_spec_is_hmac(uint8_t spec);
bool kms_spec_is_rsa(uint8_t spec);
/** True when spec takes usage (the CreateKey compatibility rules). */
bool kms_usage_fits(uint8_t spec, uint8_t usage);
/** HMAC key length in bytes of an HMAC_* spec (28/32/48/64). */
size_t kms_hmac_key_bytes(uint8_t spec);

/**
 * Whether this server can make keys of spec now: ML-DSA needs an OpenSSL
 * that offers it (probed with EVP_PKEY_CTX_new_from_name). When not,
 * *why names the reason.
 */
bool kms_spec_available(uint8_t spec, const char **why);

/**
 * New private material for a key of spec: PKCS#8 DER for asymmetric specs
 * (RSA from the pre-generated pool when one is ready), random bytes for
 * HMAC specs. Errors: ERR_CRYPTO, ERR_NOMEM.
 */
CORE_RESULT kms_asym_generate(uint8_t spec, struct core_secret *out);
/** A fresh EVP_PKEY of a data key pair spec (RSA from the pool). Errors: ERR_CRYPTO. */
CORE_RESULT kms_asym_keygen(uint8_t spec, EVP_PKEY **out);
/** PKCS#8 DER of pkey into a secret. Errors: ERR_CRYPTO, ERR_NOMEM. */
CORE_RESULT kms_asym_private_der(EVP_PKEY *pkey, struct core_secret *out);
/**
 * The asymmetric KeySpec of a key pair: RSA of 2048/3072/4096 bits, the
 * NIST curves P-256/384/521, secp256k1, Ed25519, SM2.
 * Errors: ERR_INVALID_ARG for any other key (RSA-1024, other curves, ...).
 */
CORE_RESULT kms_asym_spec_of(EVP_PKEY *pkey, uint8_t *spec);
/** DER SubjectPublicKeyInfo of pkey into out. Errors: ERR_CRYPTO, ERR_LIMIT. */
CORE_RESULT kms_asym_public_der(EVP_PKEY *pkey, struct core_buf *out);

/**
 * The parsed private key of key's newest material, from the per-process
 * cache (parsed once per key version). *out is a new reference the caller
 * EVP_PKEY_free()s. Errors: keystore errors, ERR_TAMPERED.
 */
CORE_RESULT kms_asym_pkey(struct kms_ctx *ctx, struct keystore_txn *txn, const struct kms_key *key, EVP_PKEY **out);
/** HMAC key bytes of key's newest material into out (a secret buffer). */
CORE_RESULT kms_asym_hmac_key(struct keystore_txn *txn, const struct kms_key *key, struct core_buf *out);
/** RSA key pairs of spec ready in the background pool now (0 for other specs). */
size_t kms_asym_pool_ready(uint8_t spec);
/** RSA key pairs handed out from the pool so far (the rest were generated inline). */
uint64_t kms_asym_pool_hits(void);
/** Frees the parsed-key cache and the RSA pool (process exit, tests). */
void kms_asym_shutdown(void);

/** Renders the algorithm lists of key (SigningAlgorithms, EncryptionAlgorithms, ...) as AWS does. */
CORE_RESULT kms_asym_render_algorithms(struct core_jw *w, uint8_t spec, uint8_t usage, bool metadata);

/**
 * InvalidKeyUsageException when key's usage is not want: "<arn> key usage
 * is SIGN_VERIFY which is not valid for Encrypt." (AWS's wording, quoted in
 * github.com/jonathankeebler/jwt-kms/issues/4). Errors: ERR_API.
 */
CORE_RESULT kms_asym_usage_check(struct kms_ctx *ctx, const struct kms_key *key, uint8_t want);
/** InvalidKeyUsageException "Algorithm X is incompatible with key spec Y." */
CORE_RESULT kms_asym_alg_mismatch(struct kms_ctx *ctx, const char *alg, const struct kms_key *key);

/** True when signing algorithm alg applies to spec. */
bool kms_sig_alg_fits(uint8_t spec, unsigned alg);
/**
 * Sign/Verify's shared step: the message (RAW, or a DIGEST of the
 * algorithm's length) signed, or the signature checked. Verify sets
 * *valid. Errors: ERR_CRYPTO (a key of ours failing), ERR_INVALID_ARG.
 */
CORE_RESULT kms_asym_sign(EVP_PKEY *pkey, unsigned alg, bool digest, struct core_cursor msg, struct core_buf *sig);
CORE_RESULT kms_asym_verify(EVP_PKEY *pkey, unsigned alg, bool digest, struct core_cursor msg,
                            struct core_cursor sig, bool *valid);
/**
 * Sign and Verify's checks of a request on key k: SIGN_VERIFY usage, the
 * algorithm fits the key spec, the message type fits the algorithm and a
 * DIGEST has the algorithm's length. Errors: ERR_API (reply filled).
 */
CORE_RESULT kms_sig_request(struct kms_ctx *ctx, const struct kms_key *k, unsigned alg, size_t mtype,
                            struct core_cursor msg);
/**
 * Sign and Verify: opens key id for a signing request (state, authorization,
 * kms_sig_request's checks, DryRun) and loads its key pair into *pkey (the
 * caller frees it). Errors: ERR_API (reply filled), keystore errors.
 */
CORE_RESULT kms_sig_key_open(struct kms_ctx *ctx, struct core_cursor id, unsigned alg, size_t mtype,
                             struct core_cursor msg, bool dry, struct kms_key *k, EVP_PKEY **pkey);
/** GenerateMac and VerifyMac: the HMAC of msg under key k into mac (secret-free output). */
CORE_RESULT kms_mac_compute(struct kms_ctx *ctx, struct keystore_txn *txn, const struct kms_key *k, unsigned alg,
                            struct core_cursor msg, uint8_t mac[KMS_MAX_MAC], size_t *mac_len);
/** HMAC with the given key (for the known-answer tests too). Errors: ERR_CRYPTO. */
CORE_RESULT kms_hmac(unsigned alg, struct core_cursor key, struct core_cursor msg, uint8_t mac[KMS_MAX_MAC],
                     size_t *mac_len);
/**
 * Whether grant operation op fits a key of spec and usage ("Grant
 * operations": the operations must be ones the key can perform, plus
 * DescribeKey, CreateGrant and RetireGrant on every key).
 */
bool kms_asym_grant_op_fits(struct core_cursor op, uint8_t spec, uint8_t usage);
/* EncryptionAlgorithmSpec, in the model's order (kms_asym_crypt.c). */
enum kms_enc_alg { KMS_ENC_SYMMETRIC_DEFAULT = 0, KMS_ENC_RSAES_OAEP_SHA_1, KMS_ENC_RSAES_OAEP_SHA_256, KMS_ENC_SM2PKE };
extern const char *const kms_enc_alg_names[];
/** An EncryptionAlgorithm member (any model value; SYMMETRIC_DEFAULT when absent). */
CORE_RESULT kms_param_enc_alg(struct kms_ctx *ctx, const json_t *in, const char *member, size_t *alg, bool *present);
/** AWS's plaintext limit of alg with a key of spec. */
size_t kms_enc_max_plaintext(uint8_t spec, size_t alg);
/**
 * Encrypt/Decrypt/ReEncrypt's checks on key: ENCRYPT_DECRYPT usage, alg
 * fits the key spec, no encryption context for an asymmetric key.
 */
CORE_RESULT kms_enc_alg_check(struct kms_ctx *ctx, const struct kms_key *key, size_t alg, bool have_alg,
                              const json_t *ec);
/** RSAES-OAEP / SM2PKE encryption of plaintext under key's public key, appended to out. */
CORE_RESULT kms_asym_encrypt(struct kms_ctx *ctx, struct keystore_txn *txn, const struct kms_key *key, size_t alg,
                             struct core_cursor plaintext, struct core_buf *out);
/**
 * Encrypt and ReEncrypt's destination: opens key id for encryption (state,
 * authorization, algorithm and context rules, DryRun) and encrypts pt with
 * it: kmsd's envelope under aad for symmetric keys, RSAES-OAEP/SM2 for
 * asymmetric ones. key was set up with kms_key_init(); blob is initialised
 * here. Errors: ERR_API (reply filled).
 */
CORE_RESULT kms_encrypt_to(struct kms_ctx *ctx, struct core_cursor id, size_t alg, bool have_alg, const json_t *ec,
                           struct core_cursor aad, struct core_cursor pt, bool dry, struct kms_key *key,
                           struct core_buf *blob);
/** The inverse into plaintext (secret); InvalidCiphertextException when it does not decrypt. */
CORE_RESULT kms_asym_decrypt(struct kms_ctx *ctx, struct keystore_txn *txn, const struct kms_key *key, size_t alg,
                             struct core_cursor blob, struct core_buf *plaintext);
/**
 * Decrypt's and ReEncrypt's source half for an asymmetric algorithm: opens
 * key_id (required) for the row's permission, checks it and decrypts blob.
 */
CORE_RESULT kms_asym_open_blob(struct kms_ctx *ctx, struct core_cursor blob, const struct core_cursor *key_id,
                               size_t alg, const json_t *ec, struct kms_key *key, struct core_buf *plaintext);
/** Ed25519ph (RFC 8032 5.1) from a SHA-512 prehash, for ED25519_PH_SHA_512 (kms_ed25519ph.c). */
CORE_RESULT kms_ed25519ph_sign(EVP_PKEY *pkey, const uint8_t ph[64], uint8_t sig[64]);
CORE_RESULT kms_ed25519ph_verify(EVP_PKEY *pkey, const uint8_t ph[64], const uint8_t sig[64], bool *valid);
/** Digest length of alg (for DIGEST messages); 0 when alg takes no digest. */
size_t kms_sig_alg_digest_len(unsigned alg);

#endif
