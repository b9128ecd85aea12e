#ifndef KEYSTORE_H
#define KEYSTORE_H

/*
 * The encrypted keystore: an LMDB environment in the data directory, every
 * value sealed with an AEAD under the master key, with the record's table and
 * id as associated data, so a value copied onto another record or a flipped
 * byte is refused (ERR_TAMPERED), never silently used. This is the only
 * module that touches the disk or includes lmdb.h.
 *
 * Records are addressed by (table, id): table is a short lowercase name
 * ("access_key", "kms_key"), id any bytes. Within a table, ids iterate in
 * byte order.
 *
 * Commits are durable: when keystore_txn_commit() or keystore_write()
 * returns success, the data survives kill -9 and power loss.
 *
 * Threads: one struct keystore per data directory per process, shared by all
 * threads. Transactions are not thread-safe objects: use each from one thread
 * at a time. A read txn may move between threads; a write txn must end on the
 * thread that began it, and that thread must not call keystore_write() or
 * begin another write txn meanwhile (it would wait for itself). Layout,
 * sealing format and crash behaviour: docs/keystore.md.
 */

#include <stdbool.h>

#include "core/core.h"

/* Record addressing limits (LMDB keys are at most 511 bytes). */
#define KEYSTORE_MAX_TABLE_BYTES 64u /* [a-z0-9_]+ */
#define KEYSTORE_MAX_ID_BYTES 400u

struct keystore;
struct keystore_txn;
struct keystore_iter;

enum keystore_master_source {
    KEYSTORE_MASTER_KEY_FILE,   /* 32 random bytes in a 0600 file (default) */
    KEYSTORE_MASTER_PASSPHRASE, /* Argon2id-stretched passphrase */
};

struct keystore_options {
    const char *dir;                      /* data directory, created 0700 if missing */
    enum keystore_master_source source;
    const char *key_file;                 /* NULL: <dir>/master.key */
    struct core_cursor passphrase;        /* for KEYSTORE_MASTER_PASSPHRASE */
    size_t map_size;                      /* 0: a default that fits 1M keys */
    /* Argon2id cost for a new passphrase (creation and rekey); an existing
     * keystore uses the parameters stored in it. 0: libsodium's MODERATE. */
    unsigned long long pwhash_opslimit;
    size_t pwhash_memlimit;
    /* Where records live: NULL or "" for LMDB in dir; "etcd://HOST:PORT[,HOST:PORT...]"
     * for an etcd v3 cluster (docs/scale-out.md), dir then holding only the
     * master key file. The etcd_* options apply to etcd only. */
    const char *store;
    const char *etcd_prefix;               /* NULL: "kmsd"; keys are <prefix>/<table>/<id> */
    const char *etcd_cacert;               /* any of the three set: https */
    const char *etcd_cert, *etcd_key;      /* client certificate */
    const char *etcd_user;                 /* etcd authentication (NULL: none) */
    struct core_cursor etcd_password;
};

/*
 * The options that say where records live, parsed one way by kmsd and by
 * every kmsctl subcommand that opens a keystore (keystore/keystore_args.c),
 * so a tool reaches the same keystore as the server it sits beside.
 */
struct keystore_store_args {
    char store[1024];                  /* "" or "lmdb": LMDB in the data dir; etcd://HOST:PORT[,...] */
    char etcd_prefix[129];             /* "": kmsd; at most 128 bytes, no / */
    char etcd_cacert[1024], etcd_cert[1024], etcd_key[1024];
    char etcd_user[128];
    char etcd_password_env[128];       /* the etcd password from this environment variable */
    char etcd_password_file[1024];     /* ... or from this file (never from argv: ps shows argv) */
};

/* Help text for the options keystore_store_arg() takes, one per line. */
#define KEYSTORE_STORE_USAGE                                                                                     \
    "  --store lmdb|etcd://HOST:PORT[,HOST:PORT...]\n"                                                         \
    "                            where records live (default lmdb, in DIR); with etcd, DIR holds\n"          \
    "                            the master key file, shared by every node (docs/scale-out.md)\n"            \
    "  --etcd-prefix P           key prefix in etcd (default kmsd)\n"                                         \
    "  --etcd-cacert F, --etcd-cert F, --etcd-key F   TLS to etcd (https): server CA, client certificate\n"   \
    "  --etcd-user U              etcd authentication, with the password from\n"                              \
    "  --etcd-password-file F | --etcd-password-env VAR   (one trailing newline dropped)\n"

/**
 * Takes one store option (opt with its value val) into a.
 * @return 1 taken; 0 opt is not a store option (a untouched); -1 val is not
 * valid for opt (the reason printed to stderr, prefixed with who).
 */
int keystore_store_arg(struct keystore_store_args *a, const char *who, const char *opt, const char *val);

/**
 * Checks the combination (keystore_store_options() does too): etcd options
 * need an etcd store, a user needs exactly one password source and the
 * reverse, a client certificate needs its key. Prints the reason to stderr,
 * prefixed with who.
 */
bool keystore_store_args_valid(const struct keystore_store_args *a, const char *who);

/**
 * Points o's store fields at a's strings (borrowed: a must outlive the
 * keystore_open() call) and reads the etcd password, from the environment
 * variable (its bytes wiped and the variable unset once read, so
 * /proc/PID/environ no longer shows it) or from the file, into pass (a
 * secret buffer of the caller's, empty; core_buf_free() it after
 * keystore_open()), once keystore_store_args_valid() passes. Reasons go to
 * stderr, prefixed with who, and never show the password.
 * Errors: ERR_INVALID_ARG, ERR_IO (the password file), ERR_LIMIT, ERR_NOMEM.
 */
CORE_RESULT keystore_store_options(const struct keystore_store_args *a, const char *who, struct keystore_options *o,
                                   struct core_buf *pass);

/**
 * Reads a secret from environment variable env (wiped in place and unset
 * once read) or, env NULL, from file (one trailing newline, CR LF too,
 * dropped) into out, a secret buffer: initialised here with room for max
 * bytes. Empty is an error. Reasons go to stderr prefixed with who (never
 * the secret). Errors: ERR_INVALID_ARG (unset or empty), ERR_IO, ERR_LIMIT.
 */
CORE_RESULT keystore_read_secret(const char *who, const char *env, const char *file, size_t max, struct core_buf *out);

/**
 * Opens (creating on first use) the keystore in opts->dir.
 * A new keystore gets a new master key file (mode 0600) or passphrase salt.
 * An existing one is checked against the master key before anything is
 * written. @param[out] out owned; keystore_close() it.
 * @param[out] created may be NULL; set true when the keystore was created now.
 * Errors: ERR_WRONG_MASTER_KEY (nothing written), ERR_IO, ERR_TAMPERED,
 * ERR_INVALID_ARG, ERR_NOMEM.
 */
CORE_RESULT keystore_open(const struct keystore_options *opts, struct keystore **out, bool *created);
void keystore_close(struct keystore *ks);

/**
 * Starts a transaction. Read transactions may run concurrently from any
 * thread; a write transaction excludes other writers.
 * @param[out] out owned until commit/abort.
 * Errors: ERR_IO, ERR_NOMEM.
 */
CORE_RESULT keystore_txn_begin(struct keystore *ks, bool write, struct keystore_txn **out);
/**
 * Commits durably and frees the txn (also on failure).
 * Errors: ERR_IO, ERR_TXN_POISONED (an earlier step failed; nothing written).
 */
CORE_RESULT keystore_txn_commit(struct keystore_txn *txn);
/** Discards and frees. */
void keystore_txn_abort(struct keystore_txn *txn);

/**
 * Reads and opens one record into out (which may be a secret buffer: the
 * plaintext is written only there). out's previous contents are discarded
 * (wiped if secret); on any failure out is left empty.
 * In a write txn every failure except ERR_NOT_FOUND poisons the txn.
 * Errors: ERR_NOT_FOUND, ERR_TAMPERED, ERR_LIMIT (out too small),
 * ERR_INVALID_ARG (bad table name), ERR_TXN_POISONED.
 */
CORE_RESULT keystore_get(struct keystore_txn *txn, const char *table, struct core_cursor id,
                         struct core_buf *out);

#define KEYSTORE_NO_OVERWRITE 1u
/**
 * Seals and stores value. With KEYSTORE_NO_OVERWRITE, an existing record is
 * ERR_EXISTS. Any failure poisons a write txn. value may come from a secret
 * buffer: only its ciphertext reaches LMDB.
 * Errors: ERR_EXISTS, ERR_LIMIT (value over CORE_MAX_RECORD_BYTES, id over
 * KEYSTORE_MAX_ID_BYTES, map full), ERR_IO, ERR_INVALID_ARG (read-only txn,
 * bad table name), ERR_TXN_POISONED.
 */
CORE_RESULT keystore_put(struct keystore_txn *txn, const char *table, struct core_cursor id,
                         struct core_cursor value, unsigned flags);
/**
 * Deletes one record. ERR_NOT_FOUND leaves a write txn usable; any other
 * failure poisons it.
 * Errors: ERR_NOT_FOUND, ERR_IO, ERR_INVALID_ARG (read-only txn), ERR_TXN_POISONED.
 */
CORE_RESULT keystore_del(struct keystore_txn *txn, const char *table, struct core_cursor id);

/**
 * Deletes one record and, once its txn commits, every copy of it that the
 * data file still holds. LMDB never overwrites a page in place: a deleted or
 * replaced value stays readable in the file's free pages until they happen
 * to be reused, so a plain keystore_del() hides a record but does not
 * destroy it. Use this for secrets whose destruction is promised (KMS key
 * material). The commit (keystore_txn_commit(), or the keystore_write()
 * that ran fn) returns only after the keystore has been compacted into a
 * fresh file holding live records only and swapped in crash-safely, the
 * old file overwritten with zeros before it is released.
 *
 * The compaction needs the keystore to itself for a moment: it waits (up to
 * a second) for this process's in-flight transactions to end and holds new
 * ones back meanwhile, and needs that no other process has the keystore
 * open. When it cannot run (another process has it open, or the committing
 * thread still holds a txn), the commit still succeeds and the obligation,
 * committed in the same txn as the delete, is carried out at this
 * process's first commit after that (at most once a second) or at the next
 * keystore_open(), whichever comes first (docs/keystore.md, "Destruction").
 * Errors: as keystore_del().
 */
CORE_RESULT keystore_destroy(struct keystore_txn *txn, const char *table, struct core_cursor id);

/**
 * Iterates a table in id order, starting at the first id >= from (empty:
 * the start of the table).
 * @param[out] out owned until keystore_iter_end(); must end before its txn.
 */
CORE_RESULT keystore_iter_begin(struct keystore_txn *txn, const char *table, struct core_cursor from,
                                struct keystore_iter **out);
/**
 * Next record. *id is borrowed until the next call or keystore_iter_end().
 * value may be NULL to skip opening the value; otherwise as keystore_get().
 * Errors: ERR_NOT_FOUND at the end, ERR_TAMPERED, ERR_LIMIT.
 */
CORE_RESULT keystore_iter_next(struct keystore_iter *it, struct core_cursor *id, struct core_buf *value);
void keystore_iter_end(struct keystore_iter *it);

/**
 * A number that changes whenever any process commits a write to this
 * keystore (LMDB's last transaction id, plus a count of compactions, which
 * restart LMDB's count). Lets callers keep read caches
 * valid without a lookup: an entry filled at generation g is current while
 * keystore_generation() still returns g. Cheap: no transaction, no lock.
 */
uint64_t keystore_generation(struct keystore *ks);

/**
 * The size of the storage that holds the keystore, for the metrics: LMDB's
 * data file (its length, and the disk space it occupies); over etcd, the
 * database file of the member that answers (both numbers), which holds the
 * history and every other user of the cluster too. Does I/O over etcd.
 * Errors: ERR_IO.
 */
CORE_RESULT keystore_storage_bytes(struct keystore *ks, uint64_t *file_bytes, uint64_t *allocated_bytes);

/**
 * True when this process should run the background jobs (automatic
 * rotation, scheduled deletion): always over LMDB; over etcd, while this
 * node holds the leader key under its lease (one node at a time; a dead
 * leader is replaced within about 4 s). Cheap: no I/O.
 */
bool keystore_leads(struct keystore *ks);

/**
 * Group-committed write: runs fn(txn, arg) inside a write transaction that
 * may be shared with other threads' concurrent keystore_write() calls, each
 * in its own nested transaction (a failing fn rolls back only its own
 * changes). Returns when the shared commit is durable, with fn's result (or
 * the commit's failure). This is how request handlers write: many writers,
 * one fsync.
 *
 * fn may read and write through txn but must not commit or abort it, and
 * must end its iterators. A fn that returns success although one of its
 * steps failed (a poisoned txn) gets ERR_TXN_POISONED and its changes are
 * dropped. fn may run on another caller's thread (the batch leader): it must not
 * rely on thread-locals and must not call keystore_write() itself.
 */
typedef core_result (*keystore_write_fn)(struct keystore_txn *txn, void *arg);
CORE_RESULT keystore_write(struct keystore *ks, keystore_write_fn fn, void *arg);

/**
 * Observes the duration of every durable commit (keystore_txn_commit and
 * keystore_write's group commits), for metrics. Called on the committing
 * thread; must be fast and thread-safe. Set before any commit; NULL: none.
 */
typedef void (*keystore_commit_hook_fn)(uint64_t ns);
void keystore_set_commit_hook(keystore_commit_hook_fn fn);

/**
 * Copies every record of from into to, sealed as it is (kmsctl migrate:
 * LMDB to etcd and back). Both must be open under the same master key
 * (ERR_WRONG_MASTER_KEY otherwise) and to must hold no record yet
 * (ERR_EXISTS). Written in transactions of at most 100 records (etcd's
 * default --max-txn-ops is 128); nothing else may write to `to` meanwhile.
 * @param[out] count records copied.
 * Errors: ERR_WRONG_MASTER_KEY, ERR_EXISTS, ERR_IO, ERR_NOMEM, ERR_LIMIT.
 */
CORE_RESULT keystore_copy(struct keystore *from, struct keystore *to, size_t *count);

/**
 * Re-seals every record under a new master key in one transaction, then
 * installs the new key (file or passphrase salt) so that a crash at any
 * point leaves a keystore that opens with exactly one of the two keys.
 * Then compacts as keystore_destroy() does, so no value sealed under the
 * old key is left in the data file (if that cannot run now, the next open
 * does it).
 * new_opts->source, key_file (NULL: <dir>/master.key), passphrase and
 * pwhash_* are used; dir and map_size are ignored. Moving away from a key
 * file deletes the old key file once the new key is committed.
 * The handle must have no open txns and no concurrent keystore_write();
 * other processes must not have the keystore open (ERR_IO if they do).
 * On success ks continues under the new key.
 * Errors: ERR_IO, ERR_TAMPERED, ERR_NOMEM, ERR_INVALID_ARG.
 */
CORE_RESULT keystore_rekey(struct keystore *ks, const struct keystore_options *new_opts);

#endif
