#ifndef KEYSTORE_INTERNAL_H
#define KEYSTORE_INTERNAL_H

/*
 * Private to keystore/ and its tests: the on-disk format and the handle
 * structs. docs/keystore.md draws the same layout.
 */

#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "keystore/keystore.h"
#include "keystore/keystore_backend.h"

/* ---- on-disk format ---------------------------------------------------- */

#define KS_FORMAT_VERSION 1u
#define KS_DB_META "meta"       /* unencrypted parameters, verifier */
#define KS_DB_RECORDS "records" /* key: table NUL id; value: sealed */
#define KS_META_FORMAT "format"
#define KS_META_MASTER "master"
#define KS_META_VERIFIER "verifier"
#define KS_META_SCRUB "scrub" /* present while destroyed values may remain in free pages */
#define KS_LOCK_FILE "keystore.lock"
#define KS_UPGRADE_LOCK_FILE "keystore.upgrade.lock" /* serialises shared-to-exclusive conversions */
#define KS_KEY_FILE "master.key"
#define KS_NEW_SUFFIX ".new"
#define KS_DATA_FILE "data.mdb"
#define KS_COMPACT_FILE "data.mdb.compact" /* exists only while a compaction writes it */

#define KS_KEY_BYTES 32u   /* crypto_aead_xchacha20poly1305_ietf_KEYBYTES */
#define KS_NONCE_BYTES 24u /* crypto_aead_xchacha20poly1305_ietf_NPUBBYTES */
#define KS_TAG_BYTES 16u   /* crypto_aead_xchacha20poly1305_ietf_ABYTES */
#define KS_SALT_BYTES 16u  /* crypto_pwhash_SALTBYTES */
/* sealed = version(1) | nonce(24) | ciphertext(n) | tag(16) */
#define KS_SEAL_OVERHEAD (1u + KS_NONCE_BYTES + KS_TAG_BYTES)
#define KS_MAX_RECKEY_BYTES (KEYSTORE_MAX_TABLE_BYTES + 1u + KEYSTORE_MAX_ID_BYTES)
/* AD = version(1) | record key, or version | NUL | "verifier" | master record */
#define KS_MAX_AD_BYTES (1u + KS_MAX_RECKEY_BYTES)
#define KS_VERIFIER_TEXT "kmsd keystore verifier v1"

/* meta "master": source(1) | generation(be64) [| alg(1) | ops(be64) | mem(be64) | salt(16)] */
#define KS_MASTER_REC_KEYFILE_BYTES 9u
#define KS_MASTER_REC_PASSPHRASE_BYTES (9u + 1u + 8u + 8u + KS_SALT_BYTES)
#define KS_MAX_MASTER_REC_BYTES KS_MASTER_REC_PASSPHRASE_BYTES

#define KS_DEFAULT_MAP_SIZE ((size_t)4 << 30) /* sparse; ~1M records of ~1 KiB */
#define KS_MAX_READERS 512u                   /* concurrent read txns, all processes */
#define KS_MAX_PWHASH_MEMLIMIT ((size_t)1 << 30)
#define KS_MAX_PWHASH_OPSLIMIT 64u

struct ks_master_rec {
    uint8_t source; /* enum keystore_master_source */
    uint64_t generation;
    uint8_t alg;
    uint64_t opslimit, memlimit;
    uint8_t salt[KS_SALT_BYTES];
};

/* ---- handles ------------------------------------------------------------ */

struct ks_waiter;

struct keystore {
    uint64_t instance; /* unique per keystore_open in this process: keys the read cache */
    const struct ks_backend *be; /* where records live (keystore_backend.h) */
    struct ks_etcd *etcd;        /* the etcd backend's state, or NULL */
    MDB_env *env; /* the LMDB backend's; its userctx is ks */
    MDB_dbi meta_dbi, rec_dbi;
    struct core_secret master; /* KS_KEY_BYTES, sodium_malloc'd */
    struct ks_master_rec rec;  /* as committed in meta */
    int lock_fd;
    int upgrade_fd; /* >= 0 while this handle holds keystore.lock exclusively */
    char dir[PATH_MAX];
    char key_path[PATH_MAX]; /* key file in use, "" for a passphrase */

    size_t map_size;

    /*
     * The compaction gate (keystore_scrub.c): every txn and
     * keystore_generation() holds it (gate_active) while it uses env; a
     * compaction closes it, waits for gate_active to reach 0 and then
     * replaces env.
     */
    pthread_mutex_t gate_mu;
    pthread_cond_t gate_cv;
    _Atomic unsigned gate_active;
    _Atomic bool gate_closed;
    _Atomic bool scrub_pending;      /* destroyed values may remain in data.mdb */
    _Atomic int64_t scrub_retry_ms;  /* monotonic ms before which no retry is made */
    _Atomic uint64_t epoch;          /* compactions so far (keystore_generation) */

    /* group commit (keystore_write.c) */
    pthread_mutex_t gc_mu;
    pthread_cond_t gc_cv;
    struct ks_waiter *gc_head, *gc_tail;
    bool gc_leader;
};

struct keystore_txn {
    struct keystore *ks;
    struct ks_btxn *bt; /* the backend's txn */
    bool write;
    bool poisoned;
    bool nested; /* owned by keystore_write(): fn must not end it */
    bool destroys; /* a keystore_destroy() succeeded in it */
    unsigned iters;
};

/* ---- helpers shared by the module's files ------------------------------ */

/* Maps an LMDB return code (never MDB_SUCCESS) and records the site. */
core_result ks_mdb_fail(int rc, const char *file, int line);
#define GUARD_MDB(call)                                                        \
    do {                                                                       \
        int mdb_rc_ = (call);                                                  \
        if (mdb_rc_ != MDB_SUCCESS) return ks_mdb_fail(mdb_rc_, __FILE__, __LINE__); \
    } while (0)

/* Writes table NUL id into out (KS_MAX_RECKEY_BYTES). Errors: ERR_INVALID_ARG, ERR_LIMIT. */
CORE_RESULT ks_record_key(const char *table, struct core_cursor id, uint8_t *out, size_t *len);

/* Seals pt under key with ad into out (pt.len + KS_SEAL_OVERHEAD bytes). */
void ks_seal(const uint8_t *key, struct core_cursor ad, struct core_cursor pt, uint8_t *out);
/*
 * Opens sealed into out (room for sealed.len - KS_SEAL_OVERHEAD bytes).
 * Errors: ERR_TAMPERED (out wiped).
 */
CORE_RESULT ks_open(const uint8_t *key, struct core_cursor ad, struct core_cursor sealed, uint8_t *out,
                    size_t *out_len);
/* AD of a record: version | record key. Returns its length. */
size_t ks_record_ad(struct core_cursor reckey, uint8_t ad[KS_MAX_AD_BYTES]);

/* Thread-local count of write txns this thread holds (deadlock assertions). */
extern _Thread_local unsigned ks_tls_write_depth;
/* The per-thread read cache of opened records (keystore_txn.c); keystore_close purges its entries. */
extern struct core_tlcache_def ks_read_cache;

/* keystore_scrub.c: the compaction gate and the compaction itself. */
void ks_gate_enter(struct keystore *ks);
void ks_gate_leave(struct keystore *ks);
/* Marks txn as destroying: the flag goes into meta with the txn. */
CORE_RESULT ks_scrub_mark(struct keystore *ks, MDB_txn *txn);
/*
 * Compacts now if it can (see keystore_destroy()); otherwise leaves
 * scrub_pending set. have_exclusive: the caller already holds the
 * keystore.lock flock exclusively (rekey). Never fails the caller: a
 * compaction that cannot run or fails is logged and retried.
 */
void ks_scrub(struct keystore *ks, bool have_exclusive);
/* After any successful write commit: retries a pending compaction (at most once a second). */
void ks_scrub_retry(struct keystore *ks);

/*
 * keystore_open.c: takes keystore.lock exclusively, which succeeds only when
 * no other process has the keystore open; false (shared lock kept) if one
 * does, or another process is converting. ks_lock_shared() converts back.
 * flock converts by unlocking first: without the upgrade lock two
 * processes converting at once could both lose their shared lock and one
 * end up exclusive while the other runs unlocked.
 */
bool ks_lock_exclusive(struct keystore *ks);
void ks_lock_shared(struct keystore *ks);

/* keystore_open.c, for the compaction: opens ks->env on ks->dir and checks
 * that the master key still opens it. */
CORE_RESULT ks_env_reopen(struct keystore *ks);
/* Aborts the read txns of env that threads keep parked (keystore_lmdb.c): before every mdb_env_close. */
void ks_lmdb_unpark_all(MDB_env *env);
/* True when the calling thread holds a parked read txn of ks (for tests). */
bool ks_lmdb_parked(const struct keystore *ks);
uint64_t ks_new_instance(void);

/* keystore_etcd.c: the etcd backend. ks_etcd_open() connects and makes ks
 * use it; meta lives at <prefix>/.meta/<name>. */
extern const struct ks_backend ks_etcd_backend;
bool ks_store_is_etcd(const char *store);
CORE_RESULT ks_etcd_open(struct keystore *ks, const struct keystore_options *opts);
void ks_etcd_close(struct keystore *ks);
bool ks_etcd_leads(struct keystore *ks);
/* Errors: ERR_NOT_FOUND, ERR_IO. */
CORE_RESULT ks_etcd_meta_get(struct keystore *ks, const char *name, struct core_buf *out);
struct ks_etcd_meta {
    const char *name;
    struct core_cursor value;
};
/* Writes m[0..n) in one txn if m[0] does not exist yet; *raced otherwise. */
CORE_RESULT ks_etcd_meta_create(struct keystore *ks, const struct ks_etcd_meta *m, size_t n, bool *raced);
/*
 * keystore_rekey() over etcd: re-seals every record from ks->master to
 * new_key and writes meta[0..n) (the new master record and verifier) in
 * ONE etcd txn guarded by compares on everything read, retried on a
 * conflict; then compacts etcd's history past the old-key values. Refused
 * (ERR_IO) while another node holds the leader key: a running kmsd would
 * go on sealing under the old key. Errors: ERR_IO, ERR_TAMPERED, ERR_NOMEM.
 */
/* The database size of the member that answers. Errors: ERR_IO. */
CORE_RESULT ks_etcd_db_size(struct keystore *ks, uint64_t *bytes);
CORE_RESULT ks_etcd_rekey(struct keystore *ks, const uint8_t *new_key, const struct ks_etcd_meta *m, size_t n,
                          size_t *count);

/* keystore_master.c: master key sources and the verifier */
size_t ks_master_rec_encode(const struct ks_master_rec *r, uint8_t out[KS_MAX_MASTER_REC_BYTES]);
CORE_RESULT ks_master_rec_decode(struct core_cursor in, struct ks_master_rec *r);
/* Fresh parameters for a new key of opts' source (salt, cost). */
CORE_RESULT ks_master_rec_new(const struct keystore_options *opts, uint64_t generation,
                              struct ks_master_rec *r);
CORE_RESULT ks_derive_passphrase(const struct ks_master_rec *r, struct core_cursor pass,
                                 struct core_secret *key);
/* Sealed verifier for key under rec: out has KS_VERIFIER_SEALED_BYTES. */
#define KS_VERIFIER_SEALED_BYTES (sizeof(KS_VERIFIER_TEXT) - 1 + KS_SEAL_OVERHEAD)
void ks_verifier_seal(const uint8_t *key, const struct ks_master_rec *r, uint8_t *out);
bool ks_verifier_check(const uint8_t *key, const struct ks_master_rec *r, struct core_cursor sealed);
/* Key files: exactly KS_KEY_BYTES, no group/other access. */
CORE_RESULT ks_keyfile_read(const char *path, struct core_secret *key, bool *missing);
CORE_RESULT ks_keyfile_create(const char *path, const struct core_secret *key);
CORE_RESULT ks_fsync_parent(const char *path);
CORE_RESULT ks_path_join(char out[PATH_MAX], const char *a, const char *b);

/* keystore_set_commit_hook()'s observer (keystore_txn.c), NULL when none. */
extern keystore_commit_hook_fn ks_commit_hook;

#endif
