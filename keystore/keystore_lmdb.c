#include "keystore/keystore_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

/*
 * The embedded backend: the "records" database of the LMDB environment that
 * keystore_open.c opens (docs/keystore.md). A struct ks_btxn is an MDB_txn;
 * an iterator is an MDB_cursor plus the "positioned" flag of a seek that has
 * not been returned yet. LMDB serialises writers (one write txn at a time,
 * nested txns for group commit), so a write txn can never conflict; read
 * txns are MVCC snapshots named by LMDB's txn id. Destruction is the
 * compaction of keystore_scrub.c.
 */

static MDB_txn *mtxn(struct ks_btxn *t) { return (MDB_txn *)(void *)t; }
static struct keystore *txn_ks(MDB_txn *t) { return mdb_env_get_userctx(mdb_txn_env(t)); }

struct ks_biter {
    MDB_cursor *cur;
    bool positioned;
    bool at_end;
};

/*
 * Parked read transactions. Beginning an LMDB read txn allocates it and claims
 * a reader slot under the reader table's lock; aborting it gives both back. A
 * thread instead parks the read txn it ends (mdb_txn_reset: the snapshot is
 * released, so a parked txn pins no page, but the object and its reader slot
 * are kept) and renews it at its next read (mdb_txn_renew: a fresh snapshot,
 * exactly as a new txn would see). One parked txn per thread, for the env it
 * was last used with.
 *
 * A parked txn must not outlive its env, which mdb_env_close frees: every
 * close (ks_free, the compaction's swap) first calls ks_lmdb_unpark_all(),
 * which aborts that env's parked txns in every thread. Parking happens inside
 * the keystore's gate (keystore_txn.c ends the backend txn before leaving it)
 * and the swap closes the env with the gate closed and drained, so no thread
 * parks or renews a txn of an env being closed. A slot's txn moves only by
 * atomic exchange, so each parked txn has one owner: the thread renewing it,
 * the sweep, or the slot's thread-exit destructor, which runs under the
 * registry lock as the sweep does (neither aborts against an env the other
 * let close). Only the slot's own thread stores into it, and it sets env
 * while txn is NULL, so a txn found after env matched belongs to that env.
 */
struct lm_slot {
    _Atomic(MDB_env *) env;
    _Atomic(MDB_txn *) txn;
    struct lm_slot *next, *prev; /* the registry, under slots_mu */
};

static pthread_mutex_t slots_mu = PTHREAD_MUTEX_INITIALIZER;
static struct lm_slot *slots;
static pthread_key_t slot_key;
static pthread_once_t slot_once = PTHREAD_ONCE_INIT;
static bool slot_key_ok;
static _Thread_local struct lm_slot *my_slot;

static void slot_exit(void *p)
{
    struct lm_slot *s = p;
    pthread_mutex_lock(&slots_mu);
    MDB_txn *t = atomic_exchange(&s->txn, NULL);
    if (t) mdb_txn_abort(t);
    if (s->prev) s->prev->next = s->next;
    else slots = s->next;
    if (s->next) s->next->prev = s->prev;
    pthread_mutex_unlock(&slots_mu);
    free(s);
}

static void slot_key_create(void) { slot_key_ok = pthread_key_create(&slot_key, slot_exit) == 0; }

/* The calling thread's slot, registered on first use; NULL when it cannot be (then nothing is parked). */
static struct lm_slot *slot_get(void)
{
    if (my_slot) return my_slot;
    pthread_once(&slot_once, slot_key_create);
    if (!slot_key_ok) return NULL;
    struct lm_slot *s = calloc(1, sizeof *s);
    if (s == NULL) return NULL;
    if (pthread_setspecific(slot_key, s) != 0) {
        free(s);
        return NULL;
    }
    pthread_mutex_lock(&slots_mu);
    s->next = slots;
    if (slots) slots->prev = s;
    slots = s;
    pthread_mutex_unlock(&slots_mu);
    my_slot = s;
    return s;
}

void ks_lmdb_unpark_all(MDB_env *env)
{
    pthread_mutex_lock(&slots_mu);
    for (struct lm_slot *s = slots; s; s = s->next) {
        if (atomic_load(&s->env) != env) continue;
        MDB_txn *t = atomic_exchange(&s->txn, NULL);
        if (t) mdb_txn_abort(t);
    }
    pthread_mutex_unlock(&slots_mu);
}

bool ks_lmdb_parked(const struct keystore *ks)
{
    return my_slot && ks->env && atomic_load(&my_slot->env) == ks->env && atomic_load(&my_slot->txn) != NULL;
}

static core_result lm_txn_begin(struct keystore *ks, struct ks_btxn *parent, bool write, struct ks_btxn **out)
{
    MDB_txn *t = NULL;
    if (!write && parent == NULL && ks->env && my_slot && atomic_load(&my_slot->env) == ks->env &&
        (t = atomic_exchange(&my_slot->txn, NULL)) != NULL) {
        if (mdb_txn_renew(t) == MDB_SUCCESS) {
            *out = (struct ks_btxn *)(void *)t;
            CORE_OK;
        }
        mdb_txn_abort(t); /* then a new one, as if nothing had been parked */
        t = NULL;
    }
    int rc = ks->env ? mdb_txn_begin(ks->env, parent ? mtxn(parent) : NULL, write ? 0 : MDB_RDONLY, &t) : EIO;
    if (rc != MDB_SUCCESS) return ks_mdb_fail(rc, __FILE__, __LINE__);
    *out = (struct ks_btxn *)(void *)t;
    CORE_OK;
}

static core_result lm_txn_commit(struct ks_btxn *t)
{
    GUARD_MDB(mdb_txn_commit(mtxn(t))); /* frees the MDB_txn also on failure */
    CORE_OK;
}

static void lm_txn_abort(struct ks_btxn *t) { mdb_txn_abort(mtxn(t)); }

static void lm_txn_end_read(struct ks_btxn *bt)
{
    MDB_txn *t = mtxn(bt);
    struct lm_slot *s = slot_get();
    if (s && atomic_load(&s->txn) == NULL) {
        mdb_txn_reset(t);
        atomic_store(&s->env, mdb_txn_env(t));
        atomic_store(&s->txn, t);
        return;
    }
    mdb_txn_abort(t);
}

static uint64_t lm_txn_snapshot(struct ks_btxn *t) { return (uint64_t)mdb_txn_id(mtxn(t)); }

static core_result lm_get(struct ks_btxn *t, struct core_cursor key, struct core_cursor *sealed)
{
    MDB_val k = {key.len, (void *)(uintptr_t)key.ptr}, v;
    GUARD_MDB(mdb_get(mtxn(t), txn_ks(mtxn(t))->rec_dbi, &k, &v));
    *sealed = core_cursor_from(v.mv_data, v.mv_size);
    CORE_OK;
}

static core_result lm_put_reserve(struct ks_btxn *t, struct core_cursor key, size_t len, bool no_overwrite,
                                  uint8_t **dst)
{
    /* MDB_RESERVE: the caller seals straight into the page, so only
     * ciphertext is ever written to LMDB's pages. */
    MDB_val k = {key.len, (void *)(uintptr_t)key.ptr}, v = {len, NULL};
    GUARD_MDB(mdb_put(mtxn(t), txn_ks(mtxn(t))->rec_dbi, &k, &v, MDB_RESERVE | (no_overwrite ? MDB_NOOVERWRITE : 0)));
    *dst = v.mv_data;
    CORE_OK;
}

static core_result lm_del(struct ks_btxn *t, struct core_cursor key)
{
    MDB_val k = {key.len, (void *)(uintptr_t)key.ptr};
    GUARD_MDB(mdb_del(mtxn(t), txn_ks(mtxn(t))->rec_dbi, &k, NULL));
    CORE_OK;
}

static core_result lm_mark_destroy(struct ks_btxn *t) { return ks_scrub_mark(txn_ks(mtxn(t)), mtxn(t)); }

static void lm_maintain(struct keystore *ks, bool destroyed)
{
    if (destroyed) ks_scrub(ks, false);
    else ks_scrub_retry(ks);
}

static core_result lm_iter_begin(struct ks_btxn *t, struct core_cursor from, struct ks_biter **out)
{
    struct ks_biter *it = calloc(1, sizeof *it);
    ENSURE(it != NULL, ERR_NOMEM);
    int rc = mdb_cursor_open(mtxn(t), txn_ks(mtxn(t))->rec_dbi, &it->cur);
    if (rc == MDB_SUCCESS) {
        /* A B-tree seek: cost depends on the page asked for, not the table size. */
        MDB_val k = {from.len, (void *)(uintptr_t)from.ptr}, v;
        rc = mdb_cursor_get(it->cur, &k, &v, from.len ? MDB_SET_RANGE : MDB_FIRST); /* empty: every record */
        if (rc == MDB_SUCCESS) it->positioned = true;
        if (rc == MDB_NOTFOUND) it->at_end = true;
        if (rc == MDB_NOTFOUND) rc = MDB_SUCCESS;
        if (rc != MDB_SUCCESS) mdb_cursor_close(it->cur);
    }
    if (rc != MDB_SUCCESS) {
        free(it);
        return ks_mdb_fail(rc, __FILE__, __LINE__);
    }
    *out = it;
    CORE_OK;
}

static core_result lm_iter_next(struct ks_biter *it, struct core_cursor *key, struct core_cursor *sealed)
{
    ENSURE(!it->at_end, ERR_NOT_FOUND);
    MDB_val k, v;
    int rc = mdb_cursor_get(it->cur, &k, &v, it->positioned ? MDB_GET_CURRENT : MDB_NEXT);
    it->positioned = false;
    if (rc == MDB_NOTFOUND) it->at_end = true;
    GUARD_MDB(rc);
    *key = core_cursor_from(k.mv_data, k.mv_size);
    *sealed = core_cursor_from(v.mv_data, v.mv_size);
    CORE_OK;
}

static void lm_iter_end(struct ks_biter *it)
{
    if (it == NULL) return;
    mdb_cursor_close(it->cur);
    free(it);
}

static uint64_t lm_generation(struct keystore *ks)
{
    MDB_envinfo info;
    ks_gate_enter(ks);
    int rc = ks->env ? mdb_env_info(ks->env, &info) : EIO;
    uint64_t epoch = atomic_load(&ks->epoch);
    ks_gate_leave(ks);
    if (rc != MDB_SUCCESS) return UINT64_MAX;
    /* A compaction restarts LMDB's txn ids at 1; the epoch keeps the
     * number moving forward (txn ids stay far below 2^40). */
    return (epoch << 40) + (uint64_t)info.me_last_txnid;
}

const struct ks_backend ks_lmdb_backend = {
    .name = "lmdb",
    .nests = true,
    .txn_begin = lm_txn_begin,
    .txn_commit = lm_txn_commit,
    .txn_abort = lm_txn_abort,
    .txn_end_read = lm_txn_end_read,
    .txn_snapshot = lm_txn_snapshot,
    .get = lm_get,
    .put_reserve = lm_put_reserve,
    .del = lm_del,
    .mark_destroy = lm_mark_destroy,
    .maintain = lm_maintain,
    .iter_begin = lm_iter_begin,
    .iter_next = lm_iter_next,
    .iter_end = lm_iter_end,
    .generation = lm_generation,
};
