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
 */

#include <stdbool.h>

#include "core/core.h"

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
};

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
 * plaintext is written only there).
 * Errors: ERR_NOT_FOUND, ERR_TAMPERED, ERR_LIMIT (out too small).
 */
CORE_RESULT keystore_get(struct keystore_txn *txn, const char *table, struct core_cursor id,
                         struct core_buf *out);

#define KEYSTORE_NO_OVERWRITE 1u
/**
 * Seals and stores value. With KEYSTORE_NO_OVERWRITE, an existing record is
 * ERR_EXISTS. Any failure poisons a write txn.
 * Errors: ERR_EXISTS, ERR_LIMIT, ERR_IO, ERR_INVALID_ARG (read-only txn).
 */
CORE_RESULT keystore_put(struct keystore_txn *txn, const char *table, struct core_cursor id,
                         struct core_cursor value, unsigned flags);
/** Errors: ERR_NOT_FOUND, ERR_IO. */
CORE_RESULT keystore_del(struct keystore_txn *txn, const char *table, struct core_cursor id);

/**
 * Iterates a table in id order, starting at the first id >= from (empty:
 * the start of the table).
 * @param[out] out owned until keystore_iter_end(); must end before its txn.
 */
CORE_RESULT keystore_iter_begin(struct keystore_txn *txn, const char *table, struct core_cursor from,
                                struct keystore_iter **out);
/**
 * Next record. *id is borrowed until the next call or txn end. value may be
 * NULL to skip opening the value.
 * Errors: ERR_NOT_FOUND at the end, ERR_TAMPERED, ERR_LIMIT.
 */
CORE_RESULT keystore_iter_next(struct keystore_iter *it, struct core_cursor *id, struct core_buf *value);
void keystore_iter_end(struct keystore_iter *it);

/**
 * Group-committed write: runs fn(txn, arg) inside a write transaction that
 * may be shared with other threads' concurrent keystore_write() calls, each
 * in its own nested transaction (a failing fn rolls back only its own
 * changes). Returns when the shared commit is durable, with fn's result (or
 * the commit's failure). This is how request handlers write: many writers,
 * one fsync.
 */
typedef core_result (*keystore_write_fn)(struct keystore_txn *txn, void *arg);
CORE_RESULT keystore_write(struct keystore *ks, keystore_write_fn fn, void *arg);

/**
 * Re-seals every record under a new master key in one transaction, then
 * installs the new key (file or passphrase salt) so that a crash at any
 * point leaves a keystore that opens with exactly one of the two keys.
 * Errors: ERR_IO, ERR_TAMPERED, ERR_NOMEM.
 */
CORE_RESULT keystore_rekey(struct keystore *ks, const struct keystore_options *new_opts);

#endif
