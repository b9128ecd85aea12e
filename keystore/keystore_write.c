#include "keystore/keystore_internal.h"

#include <assert.h>
#include <errno.h>
#include <time.h>

#include <sodium.h>

/*
 * Group commit. An LMDB commit costs two flushes (data pages, then the meta
 * page), and only one write txn runs at a time, so one commit per request
 * would cap writes at 1/(commit latency). Instead callers queue; whoever
 * finds no commit in progress becomes the leader, takes the whole queue, runs
 * every fn in its own nested txn inside one write txn and commits once. The
 * callers that arrived meanwhile form the next batch. This is the
 * leader/follower scheme of database group commit (e.g. InnoDB's binlog
 * group commit); a batch is as large as the number of callers that queued
 * during the previous commit.
 */

struct ks_waiter {
    keystore_write_fn fn;
    void *arg;
    core_result result;
    bool done;
    struct ks_waiter *next;
};

static void batch_fail(struct ks_waiter *batch, core_result r)
{
    for (struct ks_waiter *w = batch; w; w = w->next) w->result = r;
}

/* Runs one fn in a child txn of parent; true when its changes were kept. */
static bool run_one(struct keystore *ks, struct ks_btxn *parent, struct ks_waiter *w, bool *destroys)
{
    struct ks_btxn *child = NULL;
    core_result br = ks->be->txn_begin(ks, parent, true, &child);
    if (!core_ok(br)) {
        w->result = br;
        return false;
    }
    struct keystore_txn t = {.ks = ks, .bt = child, .write = true, .nested = true};
    core_result r = w->fn(&t, w->arg);
    assert(t.iters == 0 && "keystore_write fn must end its iterators");
    if (core_ok(r) && t.poisoned) {
        core_log(CORE_LOG_ERROR, "keystore: a keystore_write() fn ignored a failed step; its changes are dropped");
        r = core_result_fail_at(ERR_TXN_POISONED, __FILE__, __LINE__);
    }
    if (!core_ok(r)) {
        ks->be->txn_abort(child);
        w->result = r;
        return false;
    }
    w->result = ks->be->txn_commit(child); /* merges into parent, no I/O */
    if (core_ok(w->result) && t.destroys) *destroys = true;
    return core_ok(w->result);
}

/* Returns true when a committed fn destroyed records (keystore_destroy). */
static bool run_batch(struct keystore *ks, struct ks_waiter *batch, bool *committed)
{
    struct ks_btxn *parent = NULL;
    *committed = false;
    ks_gate_enter(ks);
    core_result br = ks->be->txn_begin(ks, NULL, true, &parent);
    if (!core_ok(br)) {
        ks_gate_leave(ks);
        batch_fail(batch, br);
        return false;
    }
    ks_tls_write_depth++; /* fn calling keystore_write() would wait for itself */
    bool any = false, destroys = false;
    for (struct ks_waiter *w = batch; w; w = w->next) any = run_one(ks, parent, w, &destroys) || any;
    if (!any) {
        ks->be->txn_abort(parent); /* nothing to make durable: skip the flushes */
    } else {
        uint64_t t0 = ks_commit_hook ? core_clock_mono_ns() : 0;
        core_result r = ks->be->txn_commit(parent);
        *committed = core_ok(r);
        if (ks_commit_hook && *committed) ks_commit_hook(core_clock_mono_ns() - t0);
        if (!*committed) {
            for (struct ks_waiter *w = batch; w; w = w->next)
                if (core_ok(w->result)) w->result = r;
        }
    }
    ks_tls_write_depth--;
    ks_gate_leave(ks);
    return *committed && destroys;
}

/*
 * Optimistic backends (etcd): fn runs in a txn of its own; a commit refused
 * because something fn read changed meanwhile (ERR_CONFLICT) runs fn again
 * on a fresh txn, up to KS_WRITE_RETRIES times with a short random backoff.
 * fn must therefore be safe to run again: it is handed a fresh txn and
 * decides again from what it reads.
 */
#define KS_WRITE_RETRIES 64u

static core_result write_optimistic(struct keystore *ks, keystore_write_fn fn, void *arg)
{
    core_result r = core_result_ok();
    for (unsigned attempt = 0; attempt < KS_WRITE_RETRIES; attempt++) {
        if (attempt) {
            struct timespec ts = {0, (long)(1 + randombytes_uniform(1000u * (attempt < 10 ? attempt : 10))) * 1000L};
            nanosleep(&ts, NULL);
        }
        ks_gate_enter(ks);
        struct ks_btxn *bt = NULL;
        r = ks->be->txn_begin(ks, NULL, true, &bt);
        if (!core_ok(r)) {
            ks_gate_leave(ks);
            return r;
        }
        ks_tls_write_depth++;
        struct keystore_txn t = {.ks = ks, .bt = bt, .write = true, .nested = true};
        r = fn(&t, arg);
        assert(t.iters == 0 && "keystore_write fn must end its iterators");
        ks_tls_write_depth--;
        if (core_ok(r) && t.poisoned) {
            core_log(CORE_LOG_ERROR, "keystore: a keystore_write() fn ignored a failed step; its changes are dropped");
            r = core_result_fail_at(ERR_TXN_POISONED, __FILE__, __LINE__);
        }
        if (!core_ok(r)) {
            ks->be->txn_abort(bt);
            ks_gate_leave(ks);
            return r;
        }
        uint64_t t0 = ks_commit_hook ? core_clock_mono_ns() : 0;
        r = ks->be->txn_commit(bt);
        ks_gate_leave(ks);
        if (core_ok(r)) {
            if (ks_commit_hook) ks_commit_hook(core_clock_mono_ns() - t0);
            ks->be->maintain(ks, t.destroys);
            return r;
        }
        if (r.err != ERR_CONFLICT) return r;
    }
    core_log(CORE_LOG_WARN, "keystore: a write conflicted %u times in a row; giving up", KS_WRITE_RETRIES);
    return r;
}

core_result keystore_write(struct keystore *ks, keystore_write_fn fn, void *arg)
{
    ENSURE_REF(ks);
    ENSURE_REF(fn);
    assert(ks_tls_write_depth == 0 && "keystore_write() while this thread holds a write txn");
    if (!ks->be->nests) return write_optimistic(ks, fn, arg);
    struct ks_waiter self = {.fn = fn, .arg = arg};

    pthread_mutex_lock(&ks->gc_mu);
    if (ks->gc_tail) ks->gc_tail->next = &self;
    else ks->gc_head = &self;
    ks->gc_tail = &self;
    while (!self.done) {
        if (ks->gc_leader) {
            pthread_cond_wait(&ks->gc_cv, &ks->gc_mu);
            continue;
        }
        ks->gc_leader = true;
        struct ks_waiter *batch = ks->gc_head;
        ks->gc_head = ks->gc_tail = NULL;
        pthread_mutex_unlock(&ks->gc_mu);

        bool committed = false;
        /* The batch's callers are released only after a destroying batch
         * has been compacted away (keystore_destroy()'s promise). */
        if (run_batch(ks, batch, &committed)) ks->be->maintain(ks, true);
        else if (committed) ks->be->maintain(ks, false);

        pthread_mutex_lock(&ks->gc_mu);
        /* A follower's waiter lives on its stack: read next before marking
         * done (it cannot return before we unlock, but say so in code). */
        for (struct ks_waiter *w = batch, *next; w; w = next) {
            next = w->next;
            w->done = true;
        }
        ks->gc_leader = false;
        pthread_cond_broadcast(&ks->gc_cv);
    }
    pthread_mutex_unlock(&ks->gc_mu);
    return self.result;
}
