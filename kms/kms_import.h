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

/**
 * The due sweeper's step at ValidTo: deletes each material of k whose
 * ValidTo passed on the service clock (the version list and its
 * KeyMaterialIds stay, so a re-import is checked against them) and moves the
 * key to PendingImport (a key pending deletion stays so).
 */
CORE_RESULT kms_import_material_delete(struct keystore_txn *txn, struct kms_key *k);

/* What kmsd keeps of each imported key material (table kms_import_mat). */
struct kms_import_mat {
    bool imported;  /* ImportState IMPORTED (its bytes are present) */
    uint8_t model;  /* enum kms_expiration */
    int64_t valid_to;
    int64_t created; /* pending material: when it was imported */
    uint8_t material_id[KMS_MATERIAL_ID_BYTES]; /* pending material's id (versions keep theirs in the key) */
    char description[257]; /* KeyMaterialDescription */
};
/* The "version" of material imported for on-demand rotation (PENDING_ROTATION). */
#define KMS_IMPORT_PENDING 0u

/** Material n's record (KMS_IMPORT_PENDING: the pending one). Errors: ERR_NOT_FOUND (no pending material). */
CORE_RESULT kms_import_mat_get(struct keystore_txn *txn, const struct kms_key *k, uint32_t n, struct kms_import_mat *m);
CORE_RESULT kms_import_mat_put(struct keystore_txn *txn, const struct kms_key *k, uint32_t n,
                               const struct kms_import_mat *m);
/** Imported and not past its ValidTo at now. */
bool kms_import_mat_live(const struct kms_import_mat *m, int64_t now);
/** The pending material's 32 bytes: stored, read (out a secret buffer), or dropped with its record. */
CORE_RESULT kms_import_pending_put(struct keystore_txn *txn, const struct kms_key *k, struct core_cursor material);
CORE_RESULT kms_import_pending_get(struct keystore_txn *txn, const struct kms_key *k, struct core_buf *out);
CORE_RESULT kms_import_pending_drop(struct keystore_txn *txn, const struct kms_key *k);
/**
 * Recomputes k's key-level import fields from its materials: imported when
 * every version's material is present and unexpired at now, ValidTo the
 * earliest expiry, and the state (PendingImport <-> Enabled).
 */
CORE_RESULT kms_import_summary(struct keystore_txn *txn, struct kms_key *k, int64_t now);
/** Deletes the material of version n (DeleteImportedKeyMaterial); the key goes to PendingImport. */
CORE_RESULT kms_import_delete_version(struct keystore_txn *txn, struct kms_key *k, uint32_t n, int64_t now);
/**
 * RotateKeyOnDemand for a key with imported material: the pending material
 * becomes the current version. Errors: ERR_NOT_FOUND when there is none
 * (or it expired or was deleted).
 */
CORE_RESULT kms_import_rotate(struct keystore_txn *txn, struct kms_key *k, int64_t now);

/**
 * The refusals GetParametersForImport, ImportKeyMaterial and
 * DeleteImportedKeyMaterial share, in this order: a key whose origin is not
 * EXTERNAL (UnsupportedOperationException), then the key-state table's
 * KMS_RULE_MANAGE (PendingDeletion, PendingReplicaDeletion). Errors: as
 * kms_fail().
 */
CORE_RESULT kms_import_key_check(struct kms_ctx *ctx, const struct kms_key *k);

/** KeyMaterialDescription (0..256 characters of ^[a-zA-Z0-9:/_\s.-]+$), violations recorded as validation errors. */
CORE_RESULT kms_import_param_description(struct kms_ctx *ctx, const json_t *in, struct core_cursor *out,
                                         bool *present);
/** KeyMaterialId (BackingKeyIdType: 64 characters of ^[a-f0-9]+$). */
CORE_RESULT kms_import_param_material_id(struct kms_ctx *ctx, const json_t *in, struct core_cursor *out,
                                         bool *present);

#endif
