#ifndef KMS_IMPORT_H
#define KMS_IMPORT_H

/*
 * Imported key material (Origin EXTERNAL): the import token, unwrapping of
 * EncryptedKeyMaterial, the derived KeyMaterialId, and the per-key import
 * record (expiration model, ValidTo, description). Used by
 * GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial,
 * kms_key.c (load/save/render) and the due sweeper (expiry).
 * https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys.html
 */

#include "kms/kms_internal.h"

/* "The public key and import token from the same response ... are valid for 24 hours" (GetParametersForImport). */
#define KMS_IMPORT_TOKEN_TTL (24 * 3600)
#define KMS_IMPORT_TOKEN_MAX 6144u /* CiphertextType */

/* WrappingKeySpec and AlgorithmSpec, in the KMS model's order. */
enum kms_wrap_spec { KMS_WRAP_RSA_2048, KMS_WRAP_RSA_3072, KMS_WRAP_RSA_4096, KMS_WRAP_SM2 };
enum kms_wrap_alg {
    KMS_ALG_RSAES_PKCS1_V1_5,
    KMS_ALG_RSAES_OAEP_SHA_1,
    KMS_ALG_RSAES_OAEP_SHA_256,
    KMS_ALG_RSA_AES_KEY_WRAP_SHA_1,
    KMS_ALG_RSA_AES_KEY_WRAP_SHA_256,
    KMS_ALG_SM2PKE,
};
extern const char *const kms_wrap_spec_names[]; /* NULL-terminated */
extern const char *const kms_wrap_alg_names[];  /* NULL-terminated */


/* What an import token carries. The private key is secret: der is a secret buffer. */
struct kms_import_token {
    uint8_t spec;    /* enum kms_wrap_spec */
    uint8_t alg;     /* enum kms_wrap_alg */
    int64_t expires; /* service time */
    char rid[128];   /* "<account>/<region>/<key-id>" of the key it was issued for */
    struct core_buf der; /* PKCS#8 DER of the wrapping private key (secret) */
};

/** The token sealing key: HMAC-SHA256(grant-token key, label), 32 bytes into out (a secret). */
CORE_RESULT kms_import_token_key(const struct kms_env *env, struct core_secret *out);
/** Seals t under key into out (raw bytes, AES-256-GCM). Errors: ERR_LIMIT, ERR_CRYPTO. */
CORE_RESULT kms_import_token_seal(struct core_cursor key, const struct kms_import_token *t, struct core_buf *out);
/** Seals an already laid-out token plaintext (kms_import_token_seal's second half; the fuzzer's way in). */
CORE_RESULT kms_import_token_seal_raw(struct core_cursor key, struct core_cursor plaintext, struct core_buf *out);
/**
 * Opens a token. t->der must be initialised by the caller (secret, >= 4096 bytes max).
 * Errors: ERR_BAD_CIPHERTEXT for anything not sealed by key (forged, altered, truncated), ERR_NOMEM.
 * Expiry is not checked here: the caller compares t->expires with its clock.
 */
CORE_RESULT kms_import_token_open(struct core_cursor key, struct core_cursor blob, struct kms_import_token *t);

/** A new wrapping key pair for spec: PKCS#8 DER of the private key into priv (secret), SPKI DER into pub. */
CORE_RESULT kms_import_keypair(uint8_t spec, struct core_buf *priv, struct core_buf *pub);
/**
 * Unwraps EncryptedKeyMaterial with the token's private key and algorithm
 * into material (a secret buffer). Errors: ERR_BAD_CIPHERTEXT when it does
 * not decrypt, ERR_CRYPTO, ERR_LIMIT.
 */
CORE_RESULT kms_import_unwrap(const struct kms_import_token *t, struct core_cursor wrapped, struct core_buf *material);
/** "based on the KMS key ID and the imported key material": SHA-256(label | key id | material). */
CORE_RESULT kms_import_material_id(const char *key_id, struct core_cursor material, uint8_t out[KMS_MATERIAL_ID_BYTES]);

/* Runs m (ImportKeyMaterial, DeleteImportedKeyMaterial) and renders their
 * shared reply {KeyId: the key ARN, KeyMaterialId: material_id as the
 * mutation left it}; what names the operation in the log. */
CORE_RESULT kms_import_mutate_reply(struct kms_ctx *ctx, struct kms_mutation *m, const char *what,
                                    const char *material_id);
/**
 * Deletes k's key material (every version's record; the version list and
 * its KeyMaterialIds stay, so a re-import is checked against them) and
 * moves the key to PendingImport (a key pending deletion stays so).
 */
CORE_RESULT kms_import_material_delete(struct keystore_txn *txn, struct kms_key *k);

#endif
