#include "keystore/keystore_internal.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>

#include <sodium.h>

/*
 * Transactions, records and iteration. A write txn that had a failed step is
 * poisoned (LMDB's MDB_TXN_ERROR): later steps and commit refuse with
 * ERR_TXN_POISONED, leaving abort. Lookups that answer "no such record"
 * (ERR_NOT_FOUND from get, del, or the end of an iteration) are answers,
 * not failures, and leave the txn usable.
 */

_Thread_local unsigned ks_tls_write_depth;

struct keystore_iter {
    struct keystore_txn *txn;
    struct ks_biter *bit; /* the backend's iterator */
    uint8_t prefix[KEYSTORE_MAX_TABLE_BYTES + 1]; /* table NUL */
    size_t prefix_len;
    bool at_end;
    uint8_t id[KEYSTORE_MAX_ID_BYTES];
};

static core_result poison_on_fail(struct keystore_txn *txn, core_result r, bool not_found_is_answer)
{
    if (!core_ok(r) && txn->write && !(not_found_is_answer && r.err == ERR_NOT_FOUND)) txn->poisoned = true;
    return r;
}

/*
 * One ended txn struct is kept per thread for its next begin (issue 14: calloc and free were 300
 * instructions a request). A txn may end on another thread than the one that began it; the struct
 * is plain memory, kept by whichever thread frees it. The key's destructor frees a thread's spare.
 */
static _Thread_local struct keystore_txn *spare;
static _Thread_local bool spare_registered;
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static bool spare_key_ok;

static void spare_free(void *p)
{
    struct keystore_txn **s = p;
    free(*s);
    *s = NULL;
}

static void spare_key_create(void) { spare_key_ok = pthread_key_create(&spare_key, spare_free) == 0; }

static struct keystore_txn *txn_alloc(void)
{
    struct keystore_txn *t = spare;
    if (t == NULL) return calloc(1, sizeof *t);
    spare = NULL;
    *t = (struct keystore_txn){0};
    return t;
}

static void txn_release(struct keystore_txn *t)
{
    if (spare == NULL && !spare_registered) { /* once per thread: the key holds the slot's address */
        pthread_once(&spare_once, spare_key_create);
        spare_registered = spare_key_ok && pthread_setspecific(spare_key, &spare) == 0;
    }
    if (spare == NULL && spare_registered) {
        spare = t;
        return;
    }
    free(t);
}

core_result keystore_txn_begin(struct keystore *ks, bool write, struct keystore_txn **out)
{
    ENSURE_REF(ks);
    ENSURE_REF(out);
    *out = NULL;
    /* LMDB's writer lock is not recursive: this thread would wait for itself.
     * (An optimistic backend's write txns hold no lock.) */
    assert(!(write && ks->be->nests && ks_tls_write_depth > 0) && "this thread already holds a keystore write txn");
    /* A compaction postponed earlier (another process had the keystore open)
     * is retried here too, so an idle kmsd's ticker finishes it. */
    ks->be->maintain(ks, false);
    struct keystore_txn *t = txn_alloc();
    ENSURE(t != NULL, ERR_NOMEM);
    ks_gate_enter(ks); /* held until the txn ends: a compaction waits for it */
    core_result r = ks->be->txn_begin(ks, NULL, write, &t->bt);
    if (!core_ok(r)) {
        ks_gate_leave(ks);
        txn_release(t);
        return r;
    }
    t->ks = ks;
    t->write = write;
    if (write) ks_tls_write_depth++;
    *out = t;
    CORE_OK;
}

/* Ends the backend txn of t (a read txn through txn_end_read when the backend has one). */
static void txn_end(struct keystore_txn *t)
{
    if (!t->write && t->ks->be->txn_end_read) t->ks->be->txn_end_read(t->bt);
    else t->ks->be->txn_abort(t->bt);
}

static void txn_free(struct keystore_txn *t)
{
    assert(t->iters == 0 && "keystore_iter_end() every iterator before its txn ends");
    if (t->write) ks_tls_write_depth--;
    ks_gate_leave(t->ks);
    txn_release(t);
}

keystore_commit_hook_fn ks_commit_hook;
void keystore_set_commit_hook(keystore_commit_hook_fn fn) { ks_commit_hook = fn; }

core_result keystore_txn_commit(struct keystore_txn *txn)
{
    ENSURE_REF(txn);
    assert(!txn->nested && "keystore_write() commits its own txn");
    if (txn->poisoned || !txn->write) {
        bool poisoned = txn->poisoned;
        txn_end(txn);
        txn_free(txn);
        ENSURE(!poisoned, ERR_TXN_POISONED);
        CORE_OK;
    }
    struct keystore *ks = txn->ks;
    bool destroys = txn->destroys;
    uint64_t t0 = ks_commit_hook ? core_clock_mono_ns() : 0;
    core_result r = ks->be->txn_commit(txn->bt); /* frees the backend txn also on failure */
    if (ks_commit_hook && core_ok(r)) ks_commit_hook(core_clock_mono_ns() - t0);
    txn_free(txn);
    GUARD(r);
    /* Durable now; make the destruction real before returning (or leave it
     * pending, committed, for a retry: keystore_scrub.c). */
    ks->be->maintain(ks, destroys);
    CORE_OK;
}

void keystore_txn_abort(struct keystore_txn *txn)
{
    if (txn == NULL) return;
    assert(!txn->nested && "keystore_write() aborts its own txn");
    txn_end(txn);
    txn_free(txn);
}

/* Opens the sealed value v stored at reckey into out (emptied first). */
static core_result open_into(struct keystore *ks, struct core_cursor reckey, struct core_cursor v, struct core_buf *out)
{
    ENSURE(v.len >= KS_SEAL_OVERHEAD, ERR_TAMPERED);
    size_t n = v.len - KS_SEAL_OVERHEAD;
    GUARD(core_buf_reserve(out, n));
    uint8_t ad[KS_MAX_AD_BYTES];
    size_t adlen = ks_record_ad(reckey, ad);
    size_t got = 0;
    core_result r = ks_open(ks->master.ptr, core_cursor_from(ad, adlen), v, out->data, &got);
    if (!core_ok(r)) {
        /* The table name is ours; ids can be client-chosen, so only their length is logged. */
        core_log(CORE_LOG_ERROR, "keystore: record in table '%s' (id of %zu bytes) failed authentication: "
                 "damaged or tampered", (const char *)reckey.ptr, reckey.len - strlen((const char *)reckey.ptr) - 1);
        return r;
    }
    out->len = got;
    CORE_OK;
}

/*
 * Per-thread read cache. A read transaction sees one snapshot, named by
 * LMDB's transaction id; a record opened under snapshot S is therefore the
 * right answer for any later read of the same (table, id) under S, whatever
 * thread or transaction asks. Hot records (a key and its material under
 * Encrypt load, an access key) are then opened once per snapshot instead of
 * per request: no B-tree descent, no AEAD open. Any committed write moves
 * the snapshot on, so nothing stale is ever served. Write transactions
 * bypass the cache. Entries hold plaintext (key material, secrets): they live
 * in the thread-local cache (core_tlcache: guarded memory, wiped on
 * eviction, at thread end and when the keystore closes).
 */
struct core_tlcache_def ks_read_cache = {.name = "keystore reads", .ways = 16, .key_max = KS_MAX_RECKEY_BYTES,
                                         .value_max = 2048, .public_keys = true};

static core_result get_impl(struct keystore_txn *txn, const char *table, struct core_cursor id, struct core_buf *out)
{
    uint8_t kb[KS_MAX_RECKEY_BYTES];
    size_t kl = 0;
    GUARD(ks_record_key(table, id, kb, &kl));
    /* Write transactions bypass the cache. */
    bool cached = !txn->write;
    uint64_t snap = cached ? txn->ks->be->txn_snapshot(txn->bt) : 0;
    struct core_cursor hit;
    if (cached && core_tlcache_get(&ks_read_cache, txn->ks->instance, snap, core_cursor_from(kb, kl), &hit)) {
        GUARD(core_buf_reserve(out, hit.len));
        memcpy(out->data, hit.ptr, hit.len);
        out->len = hit.len;
        CORE_OK;
    }
    struct core_cursor v;
    GUARD(txn->ks->be->get(txn->bt, core_cursor_from(kb, kl), &v));
    GUARD(open_into(txn->ks, core_cursor_from(kb, kl), v, out));
    if (cached)
        core_tlcache_put(&ks_read_cache, txn->ks->instance, snap, core_cursor_from(kb, kl), core_buf_cursor(out),
                         NULL);
    CORE_OK;
}

core_result keystore_get(struct keystore_txn *txn, const char *table, struct core_cursor id, struct core_buf *out)
{
    ENSURE_REF(txn);
    ENSURE_REF(out);
    core_buf_reset(out);
    ENSURE(!txn->poisoned, ERR_TXN_POISONED);
    return poison_on_fail(txn, get_impl(txn, table, id, out), true);
}

static core_result put_impl(struct keystore_txn *txn, const char *table, struct core_cursor id,
                            struct core_cursor value, unsigned flags)
{
    ENSURE(txn->write, ERR_INVALID_ARG);
    ENSURE((flags & ~KEYSTORE_NO_OVERWRITE) == 0, ERR_INVALID_ARG);
    ENSURE(value.len <= CORE_MAX_RECORD_BYTES, ERR_LIMIT);
    ENSURE(value.len == 0 || value.ptr != NULL, ERR_INVALID_ARG);
    uint8_t kb[KS_MAX_RECKEY_BYTES];
    size_t kl = 0;
    GUARD(ks_record_key(table, id, kb, &kl));
    uint8_t ad[KS_MAX_AD_BYTES];
    size_t adlen = ks_record_ad(core_cursor_from(kb, kl), ad);
    uint8_t *dst = NULL;
    GUARD(txn->ks->be->put_reserve(txn->bt, core_cursor_from(kb, kl), value.len + KS_SEAL_OVERHEAD,
                                   (flags & KEYSTORE_NO_OVERWRITE) != 0, &dst));
    /* Seal straight into the reserved space: only ciphertext reaches the store. */
    ks_seal(txn->ks->master.ptr, core_cursor_from(ad, adlen), value, dst);
    CORE_OK;
}

core_result keystore_put(struct keystore_txn *txn, const char *table, struct core_cursor id, struct core_cursor value,
                         unsigned flags)
{
    ENSURE_REF(txn);
    ENSURE(!txn->poisoned, ERR_TXN_POISONED);
    return poison_on_fail(txn, put_impl(txn, table, id, value, flags), false);
}

static core_result del_impl(struct keystore_txn *txn, const char *table, struct core_cursor id)
{
    ENSURE(txn->write, ERR_INVALID_ARG);
    uint8_t kb[KS_MAX_RECKEY_BYTES];
    size_t kl = 0;
    GUARD(ks_record_key(table, id, kb, &kl));
    return txn->ks->be->del(txn->bt, core_cursor_from(kb, kl));
}

core_result keystore_del(struct keystore_txn *txn, const char *table, struct core_cursor id)
{
    ENSURE_REF(txn);
    ENSURE(!txn->poisoned, ERR_TXN_POISONED);
    return poison_on_fail(txn, del_impl(txn, table, id), true);
}

static core_result destroy_impl(struct keystore_txn *txn, const char *table, struct core_cursor id)
{
    GUARD(del_impl(txn, table, id));
    /* In the same txn as the delete: a crash before the compaction leaves
     * the obligation on disk for the next open. */
    GUARD(txn->ks->be->mark_destroy(txn->bt));
    txn->destroys = true;
    CORE_OK;
}

core_result keystore_destroy(struct keystore_txn *txn, const char *table, struct core_cursor id)
{
    ENSURE_REF(txn);
    ENSURE(!txn->poisoned, ERR_TXN_POISONED);
    return poison_on_fail(txn, destroy_impl(txn, table, id), true);
}

static core_result iter_begin_impl(struct keystore_txn *txn, const char *table, struct core_cursor from,
                                   struct keystore_iter **out)
{
    uint8_t kb[KS_MAX_RECKEY_BYTES];
    size_t kl = 0;
    GUARD(ks_record_key(table, from, kb, &kl));
    struct keystore_iter *it = calloc(1, sizeof *it);
    ENSURE(it != NULL, ERR_NOMEM);
    it->txn = txn;
    it->prefix_len = strlen(table) + 1;
    memcpy(it->prefix, kb, it->prefix_len);
    core_result r = txn->ks->be->iter_begin(txn->bt, core_cursor_from(kb, kl), &it->bit);
    if (!core_ok(r)) {
        free(it);
        return r;
    }
    txn->iters++;
    *out = it;
    CORE_OK;
}

core_result keystore_iter_begin(struct keystore_txn *txn, const char *table, struct core_cursor from,
                                struct keystore_iter **out)
{
    ENSURE_REF(txn);
    ENSURE_REF(out);
    *out = NULL;
    ENSURE(!txn->poisoned, ERR_TXN_POISONED);
    return poison_on_fail(txn, iter_begin_impl(txn, table, from, out), false);
}

static core_result iter_next_impl(struct keystore_iter *it, struct core_cursor *id, struct core_buf *value)
{
    ENSURE(!it->at_end, ERR_NOT_FOUND);
    struct core_cursor key, v;
    core_result r = it->txn->ks->be->iter_next(it->bit, &key, &v);
    if (r.err == ERR_NOT_FOUND) it->at_end = true;
    GUARD(r);
    if (key.len < it->prefix_len ||
        !core_cursor_eq(core_cursor_from(key.ptr, it->prefix_len), core_cursor_from(it->prefix, it->prefix_len))) {
        it->at_end = true; /* past the table */
        BAIL(ERR_NOT_FOUND);
    }
    size_t idlen = key.len - it->prefix_len;
    ENSURE(idlen <= KEYSTORE_MAX_ID_BYTES, ERR_TAMPERED);
    memcpy(it->id, key.ptr + it->prefix_len, idlen);
    *id = core_cursor_from(it->id, idlen);
    if (value) GUARD(open_into(it->txn->ks, key, v, value));
    CORE_OK;
}

core_result keystore_iter_next(struct keystore_iter *it, struct core_cursor *id, struct core_buf *value)
{
    ENSURE_REF(it);
    ENSURE_REF(id);
    *id = (struct core_cursor){0};
    if (value) core_buf_reset(value);
    ENSURE(!it->txn->poisoned, ERR_TXN_POISONED);
    return poison_on_fail(it->txn, iter_next_impl(it, id, value), true);
}

void keystore_iter_end(struct keystore_iter *it)
{
    if (it == NULL) return;
    it->txn->ks->be->iter_end(it->bit);
    it->txn->iters--;
    free(it);
}

uint64_t keystore_generation(struct keystore *ks) { return ks->be->generation(ks); }

bool keystore_leads(struct keystore *ks) { return ks->etcd == NULL || ks_etcd_leads(ks); }
