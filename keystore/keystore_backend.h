#ifndef KEYSTORE_BACKEND_H
#define KEYSTORE_BACKEND_H

/*
 * The storage layer under the keystore (private to keystore/ and its tests).
 *
 * The keystore proper (keystore_txn.c, keystore_write.c) seals and opens
 * values, keeps the per-thread read cache and runs group commit; everything
 * it stores goes through one struct ks_backend, which sees only record keys
 * (table NUL id, see ks_record_key()) and sealed values, never plaintext
 * and never the master key. LMDB (keystore_lmdb.c) is the embedded default.
 *
 * Contract every backend keeps (docs/scale-out.md, "The backend interface",
 * says the same for readers of the design):
 *
 *  - Atomicity. The puts and deletes of a write txn become visible all
 *    together at commit, or not at all (abort, a failed commit, a crash).
 *    A nested txn (parent != NULL, only when nests is true) merges into its
 *    parent at its commit and is discarded whole at its abort.
 *  - Isolation. A read txn sees one committed snapshot from begin to end,
 *    whatever commits meanwhile. A write txn sees its own writes and, for
 *    everything else, a state that is still current when it commits: either
 *    writers are serialised (LMDB: one writer at a time), or the commit is
 *    refused when anything the txn read changed since (optimistic backends,
 *    nests false), and keystore_write() then runs the caller's fn again on a
 *    fresh txn. Never a lost update.
 *  - Durability. commit returns success only when the backend's durable
 *    storage holds the txn (LMDB: fsync'd; a replicated store: committed by
 *    its quorum).
 *  - Iteration order. iter_begin(from) positions at the first key >= from
 *    in unsigned byte order; iter_next returns keys in ascending byte order,
 *    at least to the end of from's table (the keys that share from's bytes
 *    up to and including its first NUL); a backend may stop there or go on
 *    (the keystore stops at the table's end itself). A write txn's
 *    iteration sees its own writes.
 *  - Generation. generation() changes whenever anything (this process or
 *    another, this node or another) has committed since it was last read,
 *    within the backend's documented bound; callers key caches on it.
 *  - Bytes returned are borrowed until the next call on the same txn or
 *    iterator, or its end; the keystore copies what it keeps.
 */

#include <stdbool.h>
#include <stdint.h>

#include "core/core.h"

struct keystore;
struct ks_btxn; /* a backend transaction (LMDB: an MDB_txn) */
struct ks_biter;

struct ks_backend {
    const char *name;
    /* true: txn_begin accepts a parent write txn (group commit nests each
     * keystore_write() fn in the batch's txn). Only nesting backends exist
     * today; an optimistic one (nests false) gets each keystore_write() fn
     * in its own txn, retried when its commit conflicts. */
    bool nests;
    /*
     * Begins a txn; parent is NULL or a write txn of this backend (nests).
     * Errors: ERR_IO, ERR_NOMEM.
     */
    core_result (*txn_begin)(struct keystore *ks, struct ks_btxn *parent, bool write, struct ks_btxn **out);
    /* Makes a write txn durable (or ends a read txn) and frees it, also on
     * failure. Errors: ERR_IO, ERR_LIMIT (store full). */
    core_result (*txn_commit)(struct ks_btxn *t);
    void (*txn_abort)(struct ks_btxn *t);
    /* Ends a read txn begun by txn_begin (optional: NULL means txn_abort).
     * The backend may keep what it needs to begin the next one cheaply. */
    void (*txn_end_read)(struct ks_btxn *t);
    /* Names the snapshot a read txn sees: two read txns with the same
     * number see the same data (keys the read cache). */
    uint64_t (*txn_snapshot)(struct ks_btxn *t);
    /* The sealed value at key. Errors: ERR_NOT_FOUND, ERR_IO. */
    core_result (*get)(struct ks_btxn *t, struct core_cursor key, struct core_cursor *sealed);
    /* Room for a sealed value of len bytes at key, for the caller to seal
     * into before its next call on t. Errors: ERR_EXISTS (no_overwrite),
     * ERR_LIMIT, ERR_IO, ERR_NOMEM. */
    core_result (*put_reserve)(struct ks_btxn *t, struct core_cursor key, size_t len, bool no_overwrite,
                               uint8_t **dst);
    /* Errors: ERR_NOT_FOUND, ERR_IO. */
    core_result (*del)(struct ks_btxn *t, struct core_cursor key);
    /* Records that t destroys a value: after t commits, maintain(ks, true)
     * removes every copy the store still holds. Errors: ERR_IO. */
    core_result (*mark_destroy)(struct ks_btxn *t);
    /* Called after every commit (destroyed: the txn had mark_destroy) and
     * before every txn begins (destroyed false); never fails the caller. */
    void (*maintain)(struct keystore *ks, bool destroyed);
    /* from empty: every record of the keystore. Errors: ERR_IO, ERR_NOMEM. */
    core_result (*iter_begin)(struct ks_btxn *t, struct core_cursor from, struct ks_biter **out);
    /* Errors: ERR_NOT_FOUND at the end of the keyspace, ERR_IO. */
    core_result (*iter_next)(struct ks_biter *it, struct core_cursor *key, struct core_cursor *sealed);
    void (*iter_end)(struct ks_biter *it);
    /* See the contract above; UINT64_MAX when the store cannot be asked. */
    uint64_t (*generation)(struct keystore *ks);
};

/* The embedded default (keystore_lmdb.c). */
extern const struct ks_backend ks_lmdb_backend;

#endif
