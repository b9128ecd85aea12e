#ifndef KMS_RECORD_H
#define KMS_RECORD_H

/*
 * The record layer: keys, their material, tags and due index (kms_key.c),
 * the import record of EXTERNAL keys (kms_import.c), aliases
 * (kms_alias_record.c) and grants (kms_grant.h). It knows nothing of
 * requests or replies: no kms_ctx, no AWS errors, no JSON rendering. The
 * access layer above it (kms_access.c, kms_resolve.c) turns its results
 * into AWS errors.
 */

#include <stdbool.h>
#include <stdint.h>

#include "core/core.h"
#include "keystore/keystore.h"

/* ---- limits from the KMS API model and developer guide ------------------ */

#define KMS_MAX_PLAINTEXT_BYTES 4096u
#define KMS_MAX_CIPHERTEXT_BYTES 6144u
#define KMS_MAX_DESCRIPTION 8192u
#define KMS_MAX_POLICY 32768u       /* "Key policy document size: 32 KB" */
#define KMS_MAX_TAGS 50u            /* "Tags per KMS key: 50" */
/* "Aliases per KMS key: 50" (resource quotas, resource-limits.html#aliases-per-key) */
#define KMS_MAX_ALIASES_PER_KEY 50u
#define KMS_MAX_TAG_KEY 128u
#define KMS_MAX_TAG_VALUE 256u
#define KMS_MAX_GRANT_TOKENS 10u
#define KMS_MAX_GRANTS_PER_KEY 2000u /* AWS allows 50,000; scans stay short here */
#define KMS_GRANT_ID_LEN 64u         /* hex */
#define KMS_MAX_EC_BYTES 16384u     /* canonical encryption context */
#define KMS_MAX_EC_PAIRS 512u
#define KMS_MATERIAL_BYTES 32u
#define KMS_MATERIAL_ID_BYTES 32u   /* KeyMaterialId: 64 lowercase hex */
#define KMS_MAX_ON_DEMAND_ROTATIONS 25u
#define KMS_DEFAULT_ROTATION_DAYS 365u
#define KMS_KEY_ID_LEN 36u          /* lowercase UUID */
#define KMS_MAX_ARN 160u
#define KMS_MAX_RID 128u             /* "<account>/<region>/<key-id>" */
#define KMS_DAY 86400

/* ---- key records --------------------------------------------------------- */

/* Stored values: never renumber. */
enum kms_key_state {
    KMS_STATE_ENABLED = 1,
    KMS_STATE_DISABLED = 2,
    KMS_STATE_PENDING_DELETION = 3,
    KMS_STATE_PENDING_IMPORT = 4,
    KMS_STATE_UNAVAILABLE = 5,
    KMS_STATE_PENDING_REPLICA_DELETION = 6, /* a multi-Region primary scheduled for deletion with replicas left */
};

enum kms_rotation_type { KMS_ROT_INITIAL = 0, KMS_ROT_AUTOMATIC = 1, KMS_ROT_ON_DEMAND = 2 };

/* One generation of key material: public facts only (the 32 bytes live in
 * table kms_material). */
struct kms_key_version {
    uint32_t n;       /* 1-based, as in the ciphertext header */
    int64_t created;  /* service time */
    uint8_t type;     /* enum kms_rotation_type */
    uint8_t material_id[KMS_MATERIAL_ID_BYTES];
};

#include "kms/kms_multi_region.h" /* struct kms_mrk */

/*
 * A KMS key's metadata as stored in table "kms_key" under
 * "<account>/<region>/<key-id>". Variable parts are owned buffers;
 * kms_key_free() releases them.
 */
struct kms_key {
    char account[16];
    char region[32];
    char key_id[KMS_KEY_ID_LEN + 1];
    char arn[KMS_MAX_ARN];    /* from account, region and key_id by kms_key_set_arn() (kms_key_get() calls it) */
    uint8_t state;            /* enum kms_key_state */
    bool aws_managed;         /* KeyManager AWS */
    bool rotation_enabled;
    int64_t created;
    int64_t deletion_date;    /* 0 unless PendingDeletion */
    uint32_t pending_window_days;
    uint32_t rotation_period_days; /* 0: never enabled */
    uint32_t policy_gen;      /* bumped by PutKeyPolicy: keys the compiled-policy cache */
    int64_t next_rotation;    /* 0 when rotation is off */
    int64_t on_demand_start;  /* 0 unless an on-demand rotation is in progress */
    uint32_t n_on_demand;
    uint8_t spec;             /* enum kms_spec (kms_asym.h): KeySpec, SYMMETRIC_DEFAULT unless set */
    uint8_t usage;            /* enum kms_usage: KeyUsage, ENCRYPT_DECRYPT unless set */
    struct core_buf description;
    struct core_buf policy;
    struct core_buf tags;     /* n_tags x (be16 klen | key | be16 vlen | value), sorted by key */
    uint32_t n_tags;
    struct core_buf versions; /* n_versions x KMS_VERSION_REC_BYTES */
    uint32_t n_versions;
    /* Origin EXTERNAL (kms_import.c keeps these in its own record). */
    bool external;
    bool imported;            /* key material present (imported, not deleted or expired) */
    uint8_t expiration_model; /* enum kms_expiration (kms_import.h) */
    int64_t valid_to;         /* KEY_MATERIAL_EXPIRES: when the material expires (service time) */
    char material_description[257];
    struct kms_mrk mrk;       /* multi-Region keys: the set, loaded with the key (kms_multi_region.c) */
    /* Due dates as loaded, so kms_key_save() can move the due-index rows. */
    int64_t loaded_next_rotation, loaded_deletion_date, loaded_expiry;
    bool loaded;
};

#define KMS_VERSION_REC_BYTES (4u + 8u + 1u + KMS_MATERIAL_ID_BYTES)

/**
 * Zeroes a key struct (all but mrk.replicas past n_replicas = 0, which nothing reads) and sets up its
 * buffers. k may hold garbage: it is cleared first, so on any return kms_key_free() may be called on it.
 * Errors: ERR_NOMEM.
 */
CORE_RESULT kms_key_init(struct kms_key *k);
void kms_key_free(struct kms_key *k);
/** "arn:<partition>:kms:<region>:<account>:<resource>" into out. */
void kms_arn(char *out, size_t cap, const char *region, const char *account, const char *resource);
/** Fills key->arn from account, region and key_id: call it after setting them. */
void kms_key_set_arn(struct kms_key *k);
/**
 * The record id of k's account, region and key_id as they are now, into out; returns its length. Built on
 * every call, never stored: it keys the compiled-policy cache and names the material records.
 */
size_t kms_key_rid(const struct kms_key *k, char out[KMS_MAX_RID]);
/** The record id "<account>/<region>/<key-id>"; returns its length. */
size_t kms_key_record_id(const char *account, const char *region, const char *key_id, char out[KMS_MAX_RID]);
/** Reads one key. Errors: ERR_NOT_FOUND, ERR_PARSE (corrupt record), keystore errors. */
/**
 * Deletes every record of table whose id starts with prefix and, when keep
 * is given, for which keep(arg, value) says false. Ids are collected first
 * and deleted after the iterator ends (LMDB cursors and deletes do not mix).
 * value_max bounds the records read.
 */
typedef bool (*kms_keep_fn)(void *arg, struct core_cursor value);
CORE_RESULT kms_delete_prefixed(struct keystore_txn *txn, const char *table, const char *prefix, size_t value_max,
                                kms_keep_fn keep, void *arg);
CORE_RESULT kms_key_get(struct keystore_txn *txn, const char *account, const char *region, const char *key_id,
                        struct kms_key *out);
/** Writes a key and keeps the due index (rotations, deletions) in step. */
CORE_RESULT kms_key_save(struct keystore_txn *txn, struct kms_key *k);
/** Version entry i (0-based) decoded. */
void kms_key_version_at(const struct kms_key *k, uint32_t i, struct kms_key_version *v);
/** Adds material version n+1 (random material and id) in txn. */
CORE_RESULT kms_key_add_version(struct keystore_txn *txn, struct kms_key *k, int64_t now, uint8_t type);
/** Adds material version n+1 with the given 32-byte material and id (imported material). */
CORE_RESULT kms_key_add_material(struct keystore_txn *txn, struct kms_key *k, int64_t now, uint8_t type,
                                 struct core_cursor material, const uint8_t id[KMS_MATERIAL_ID_BYTES]);
/** Stores (again) the 32-byte material of existing version n (re-import). */
CORE_RESULT kms_material_put(struct keystore_txn *txn, const struct kms_key *k, uint32_t n,
                             struct core_cursor material);
/** Deletes the material of version n (absent is fine); the version entry stays. */
CORE_RESULT kms_material_del(struct keystore_txn *txn, const struct kms_key *k, uint32_t n);
/**
 * Adds material version n+1 holding the given private material (PKCS#8 DER
 * or an HMAC key: asymmetric and HMAC keys, kms_asym.c).
 */
CORE_RESULT kms_key_add_version_material(struct keystore_txn *txn, struct kms_key *k, int64_t now, uint8_t type,
                                         struct core_cursor material);
/** Reads material version n of any length into out (a secret buffer). Errors: ERR_NOT_FOUND, keystore errors. */
CORE_RESULT kms_material_get_any(struct keystore_txn *txn, const struct kms_key *k, uint32_t n, struct core_buf *out);
/**
 * Reads material version n into out (a secret buffer of at least 32 bytes).
 * Errors: ERR_NOT_FOUND, keystore errors.
 */
CORE_RESULT kms_material_get(struct keystore_txn *txn, const struct kms_key *k, uint32_t n, struct core_buf *out);
/** Deletes the key, its material, its aliases and due rows. */
CORE_RESULT kms_key_destroy(struct keystore_txn *txn, struct kms_key *k);
/** Creates a new random v4 UUID. */
void kms_new_uuid(char out[KMS_KEY_ID_LEN + 1]);
/** True when s is a lowercase-or-uppercase hex UUID (8-4-4-4-12). */
bool kms_is_uuid(struct core_cursor s);
/** True for a key id form: a UUID, or a multi-Region "mrk-" + 32 hex digits (36 chars either way). */
bool kms_is_key_id(struct core_cursor s);

/** Hex of a material id into out[65]. */
void kms_material_id_hex(const uint8_t id[KMS_MATERIAL_ID_BYTES], char out[65]);

/* Tag editing on the encoded list. */
CORE_RESULT kms_tags_set(struct kms_key *k, struct core_cursor key, struct core_cursor value);
void kms_tags_remove(struct kms_key *k, struct core_cursor key);
/** Iterates tags: *pos starts at 0; false at the end. */
bool kms_tags_next(const struct kms_key *k, size_t *pos, struct core_cursor *key, struct core_cursor *value);

/* ExpirationModel, stored: never renumber. */
enum kms_expiration { KMS_EXP_NONE = 0, KMS_EXP_EXPIRES = 1, KMS_EXP_DOES_NOT_EXPIRE = 2 };

/** Loads k's import record into k's import fields (EXTERNAL keys). ERR_NOT_FOUND leaves the defaults. */
CORE_RESULT kms_import_load(struct keystore_txn *txn, struct kms_key *k);
/** Stores k's import record. */
CORE_RESULT kms_import_save(struct keystore_txn *txn, const struct kms_key *k);
/** Deletes k's import record (key deletion); absent is fine. */
CORE_RESULT kms_import_destroy(struct keystore_txn *txn, const struct kms_key *k);

/** Deletes every grant record of key and their index rows (key deletion; kms_grant.c). */
CORE_RESULT kms_grants_destroy(struct keystore_txn *txn, const struct kms_key *key);

/* Alias records: table "kms_alias", id "<account>/<region>/alias/<name>". */
struct kms_alias {
    char target[KMS_KEY_ID_LEN + 1];
    int64_t created, updated;
};
void kms_alias_record_id(const char *account, const char *region, struct core_cursor name, struct core_buf *out);
CORE_RESULT kms_alias_get(struct keystore_txn *txn, const char *account, const char *region,
                          struct core_cursor name, struct kms_alias *out);
CORE_RESULT kms_alias_put(struct keystore_txn *txn, const char *account, const char *region,
                          struct core_cursor name, const struct kms_alias *a, unsigned flags);
/**
 * The alias names (without account/region) pointing at key, in name
 * order, into out[max] with their bytes in names (fixed capacity).
 * Errors: ERR_LIMIT when more than max aliases point at key (callers fail
 * closed), keystore errors.
 */
CORE_RESULT kms_key_aliases(struct keystore_txn *txn, const struct kms_key *key, struct core_buf *names,
                            struct core_cursor *out, size_t max, size_t *n);

#endif
