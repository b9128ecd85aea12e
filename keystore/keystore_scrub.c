#include "keystore/keystore_internal.h"

#include "core/core_tlcache.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*
 * Destruction (docs/keystore.md, "Destruction"). LMDB is copy-on-write: a
 * deleted or replaced value is not overwritten but left on a page that goes
 * to the free list, readable in data.mdb until that page is reused, and
 * every commit that touches a leaf page leaves one more stale copy of all
 * the values on it; live pages carry stale bytes too (write_copy() says
 * where). To destroy a value for good, the live records are copied one by
 * one into a new environment in a fresh file, the copy is made durable and
 * renamed over data.mdb, and the old file's bytes are overwritten with
 * zeros before it is closed.
 *
 * Why the keystore must be quiet for the swap. LMDB keeps its reader table
 * and transaction counter in lock.mdb, shared by every MDB_env on the
 * directory; two environments on one directory in one process corrupt each
 * other's reader slots (lmdb.h, "Caveats"), and the compacted copy restarts
 * the transaction counter. So readers cannot stay on the old file while new
 * ones use the new one: instead
 *   - no other process may have the keystore open: the keystore.lock flock
 *     is taken exclusively (kmsd and kmsctl hold it shared while open);
 *   - in this process, a gate holds new transactions back and waits for the
 *     running ones to end (requests end theirs in milliseconds); a thread
 *     that already holds a txn passes the gate, so it cannot wait for
 *     itself, and the wait is bounded, so a reader that waits for something
 *     the compacting thread holds (a keystore_write() follower holding a
 *     read txn) only postpones the compaction.
 * When either fails, the obligation stays: the "scrub" meta record, written
 * in the same txn as the destroying delete, survives crashes, and the next
 * commit (rate-limited) or open tries again. A compaction takes the time of
 * one sequential copy of the live data (about a millisecond for a thousand
 * records), during which this process's keystore calls wait.
 */

#define GATE_DRAIN_MS 1000
#define RETRY_MS 1000
#define SHRED_CHUNK (1u << 20)

static _Thread_local int tls_gate; /* gate holds of this thread (may go negative if txns move) */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void gate_wake(struct keystore *ks)
{
    pthread_mutex_lock(&ks->gate_mu);
    pthread_cond_broadcast(&ks->gate_cv);
    pthread_mutex_unlock(&ks->gate_mu);
}

/*
 * Enter, then check: with sequentially consistent atomics either the
 * entering thread sees the gate closed, or the closer sees it in gate_active
 * (the Dekker pattern), so nobody slips past a closed gate unseen.
 */
void ks_gate_enter(struct keystore *ks)
{
    for (;;) {
        atomic_fetch_add(&ks->gate_active, 1);
        if (tls_gate > 0 || !atomic_load(&ks->gate_closed)) break;
        if (atomic_fetch_sub(&ks->gate_active, 1) == 1) gate_wake(ks);
        pthread_mutex_lock(&ks->gate_mu);
        while (atomic_load(&ks->gate_closed)) pthread_cond_wait(&ks->gate_cv, &ks->gate_mu);
        pthread_mutex_unlock(&ks->gate_mu);
    }
    tls_gate++;
}

void ks_gate_leave(struct keystore *ks)
{
    tls_gate--;
    if (atomic_fetch_sub(&ks->gate_active, 1) == 1 && atomic_load(&ks->gate_closed)) gate_wake(ks);
}

/* Closes the gate and waits until nothing holds it; false (gate open again) on timeout. */
static bool gate_close(struct keystore *ks)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += GATE_DRAIN_MS / 1000;
    pthread_mutex_lock(&ks->gate_mu);
    bool ok = !atomic_load(&ks->gate_closed); /* one compaction at a time */
    if (ok) {
        atomic_store(&ks->gate_closed, true);
        while (atomic_load(&ks->gate_active) > 0) {
            if (pthread_cond_timedwait(&ks->gate_cv, &ks->gate_mu, &deadline) == ETIMEDOUT &&
                atomic_load(&ks->gate_active) > 0) {
                atomic_store(&ks->gate_closed, false);
                pthread_cond_broadcast(&ks->gate_cv);
                ok = false;
                break;
            }
        }
    }
    pthread_mutex_unlock(&ks->gate_mu);
    return ok;
}

static void gate_open(struct keystore *ks)
{
    pthread_mutex_lock(&ks->gate_mu);
    atomic_store(&ks->gate_closed, false);
    pthread_cond_broadcast(&ks->gate_cv);
    pthread_mutex_unlock(&ks->gate_mu);
}

core_result ks_scrub_mark(struct keystore *ks, MDB_txn *txn)
{
    MDB_val k = {strlen(KS_META_SCRUB), (void *)(uintptr_t)KS_META_SCRUB}, v = {1, (void *)(uintptr_t) "1"};
    GUARD_MDB(mdb_put(txn, ks->meta_dbi, &k, &v, 0));
    CORE_OK;
}

/* Overwrites the replaced file's bytes (best effort: see docs/keystore.md on
 * copy-on-write filesystems and SSDs). */
static void shred(int fd)
{
    struct stat st;
    static const uint8_t zeros[65536];
    if (fstat(fd, &st) == 0) {
        for (off_t off = 0; off < st.st_size;) {
            size_t n = (size_t)(st.st_size - off) < sizeof zeros ? (size_t)(st.st_size - off) : sizeof zeros;
            ssize_t w = pwrite(fd, zeros, n, off);
            if (w <= 0) break;
            off += w;
        }
        if (fdatasync(fd) != 0) core_log(CORE_LOG_WARN, "keystore: could not flush the overwrite of the old data file");
    }
    close(fd);
}

/*
 * Every record of one database, in key order, into the same database of the
 * new environment (MDB_APPEND: pages filled in order, nothing split apart).
 */
static int copy_db(MDB_txn *from, MDB_dbi from_dbi, MDB_txn *to, const char *name)
{
    MDB_dbi to_dbi;
    int rc = mdb_dbi_open(to, name, MDB_CREATE, &to_dbi);
    if (rc != MDB_SUCCESS) return rc;
    MDB_cursor *c = NULL;
    if ((rc = mdb_cursor_open(from, from_dbi, &c)) != MDB_SUCCESS) return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        rc = mdb_put(to, to_dbi, &k, &v, MDB_APPEND);
        if (rc != MDB_SUCCESS) break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
}

/*
 * The live records, copied record by record into a new environment in tmp.
 * Not mdb_env_copyfd2(): even with MDB_CP_COMPACT it copies the live pages
 * whole, and a live page is not clean. LMDB writes a page from a buffer it
 * reuses from an earlier commit without clearing it, so the tail of an
 * overflow page past its value (a key policy, a key with many tags) and the
 * gap in the middle of a leaf keep bytes of pages written before, sealed
 * copies of since-destroyed material among them
 * (tests/unit/keystore_destroy_test.c, test_destroy_overflow_tails). A new
 * environment's buffers start zeroed (LMDB clears fresh pages unless
 * MDB_NOMEMINIT, which kmsd never sets) and are only ever given the records
 * copied here, so whatever a buffer holds over is a live record.
 */
static core_result write_copy(struct keystore *ks, const char *tmp)
{
    if (unlink(tmp) == 0) core_log(CORE_LOG_WARN, "keystore: removed a stale %s", tmp);
    /* Created here, O_EXCL and O_NOFOLLOW; LMDB opens the empty file and initializes it. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        core_log(CORE_LOG_ERROR, "keystore: cannot create %s: %s", tmp, strerror(errno));
        BAIL(ERR_IO);
    }
    close(fd);
    MDB_envinfo info;
    MDB_env *dst = NULL;
    MDB_txn *from = NULL, *to = NULL;
    int rc = mdb_env_info(ks->env, &info);
    if (rc == MDB_SUCCESS) rc = mdb_env_create(&dst);
    if (rc == MDB_SUCCESS) rc = mdb_env_set_mapsize(dst, info.me_mapsize);
    if (rc == MDB_SUCCESS) rc = mdb_env_set_maxdbs(dst, 2);
    /* Nobody else opens this file: no lock file; durability comes from the sync below. */
    if (rc == MDB_SUCCESS) rc = mdb_env_open(dst, tmp, MDB_NOSUBDIR | MDB_NOLOCK | MDB_NOSYNC, 0600);
    if (rc == MDB_SUCCESS) rc = mdb_txn_begin(ks->env, NULL, MDB_RDONLY, &from);
    if (rc == MDB_SUCCESS) rc = mdb_txn_begin(dst, NULL, 0, &to);
    if (rc == MDB_SUCCESS) rc = copy_db(from, ks->meta_dbi, to, KS_DB_META);
    if (rc == MDB_SUCCESS) rc = copy_db(from, ks->rec_dbi, to, KS_DB_RECORDS);
    if (rc == MDB_SUCCESS) {
        rc = mdb_txn_commit(to);
        to = NULL;
    }
    if (rc == MDB_SUCCESS) rc = mdb_env_sync(dst, 1);
    if (to) mdb_txn_abort(to);
    if (from) mdb_txn_abort(from);
    if (dst) mdb_env_close(dst);
    if (rc != MDB_SUCCESS) {
        unlink(tmp);
        return ks_mdb_fail(rc, __FILE__, __LINE__);
    }
    CORE_OK;
}

static core_result clear_mark(struct keystore *ks)
{
    MDB_txn *txn = NULL;
    GUARD_MDB(mdb_txn_begin(ks->env, NULL, 0, &txn));
    MDB_val k = {strlen(KS_META_SCRUB), (void *)(uintptr_t)KS_META_SCRUB};
    int rc = mdb_del(txn, ks->meta_dbi, &k, NULL);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return ks_mdb_fail(rc, __FILE__, __LINE__);
    }
    GUARD_MDB(mdb_txn_commit(txn));
    CORE_OK;
}

/*
 * The swap, with the gate closed and the flock exclusive. Until the rename
 * nothing but a temporary file changes; the rename is atomic and follows a
 * durable copy, so a crash leaves either file whole, and the meta flag
 * (copied along) makes the next open compact again if the flag was not yet
 * cleared.
 */
static core_result swap(struct keystore *ks, const char *tmp, int *replaced)
{
    char data[PATH_MAX];
    GUARD(ks_path_join(data, ks->dir, KS_DATA_FILE));
    int old = open(data, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    ks_lmdb_unpark_all(ks->env); /* the gate is drained: nothing parks into this env meanwhile */
    mdb_env_close(ks->env);
    ks->env = NULL;
    bool renamed = rename(tmp, data) == 0;
    if (!renamed) {
        core_log(CORE_LOG_ERROR, "keystore: cannot rename %s to %s: %s", tmp, data, strerror(errno));
        unlink(tmp);
    }
    core_result synced = renamed ? ks_fsync_parent(data) : core_result_ok();
    /* The replaced file is zeroed by the caller once the gate is open again. */
    if (renamed) *replaced = old;
    else if (old >= 0) close(old);
    /* Same instance number would let the read cache serve pre-swap entries
     * (LMDB's txn ids restart in the copy). */
    uint64_t old_instance = ks->instance;
    ks->instance = ks_new_instance();
    atomic_fetch_add(&ks->epoch, 1);
    /* Plaintext of destroyed records must not linger in worker threads' read
     * caches: wipe this keystore's entries in every thread now. */
    core_tlcache_purge(&ks_read_cache, old_instance);
    core_result r = ks_env_reopen(ks);
    if (!core_ok(r)) {
        core_log(CORE_LOG_ERROR, "keystore: cannot reopen %s after compaction; the keystore is unusable until "
                 "restarted", ks->dir);
        return r;
    }
    ENSURE(renamed, ERR_IO);
    GUARD(synced);
    return clear_mark(ks);
}

static uint64_t last_txnid(struct keystore *ks)
{
    MDB_envinfo info;
    return mdb_env_info(ks->env, &info) == MDB_SUCCESS ? (uint64_t)info.me_last_txnid : UINT64_MAX;
}

/*
 * With the exclusive lock held, only this process commits, and only this
 * compaction (it holds the upgrade lock) replaces env. The copy is first
 * made while everyone keeps working (LMDB copies a live environment from a
 * read snapshot); if no commit happened between its start and the moment
 * the gate has drained, it is the current state and the stall is only the
 * swap. Otherwise it is made again with the gate closed.
 */
static core_result compact(struct keystore *ks, int64_t *stall_ms)
{
    char tmp[PATH_MAX];
    GUARD(ks_path_join(tmp, ks->dir, KS_COMPACT_FILE));
    uint64_t before = last_txnid(ks);
    bool copied = core_ok(write_copy(ks, tmp));
    bool quiet = copied && last_txnid(ks) == before;
    if (!gate_close(ks)) {
        if (copied) unlink(tmp);
        core_log(CORE_LOG_WARN, "keystore: transactions in %s did not end within %d ms; compaction retried later",
                 ks->dir, GATE_DRAIN_MS);
        BAIL(ERR_IO);
    }
    int64_t t0 = mono_ms();
    core_result r = core_result_ok();
    int replaced = -1;
    if (!quiet || last_txnid(ks) != before) r = write_copy(ks, tmp);
    if (core_ok(r)) r = swap(ks, tmp, &replaced);
    gate_open(ks);
    *stall_ms = mono_ms() - t0;
    if (replaced >= 0) shred(replaced);
    return r;
}

void ks_scrub(struct keystore *ks, bool have_exclusive)
{
    atomic_store(&ks->scrub_pending, true);
    atomic_store(&ks->scrub_retry_ms, mono_ms() + RETRY_MS);
    if (tls_gate > 0) {
        core_log(CORE_LOG_INFO, "keystore: compaction postponed: this thread still holds a transaction");
        return;
    }
    if (!have_exclusive && !ks_lock_exclusive(ks)) {
        core_log(CORE_LOG_WARN, "keystore: another process has %s open: destroyed records stay in data.mdb's free "
                 "pages until it closes (compaction retried)", ks->dir);
        return;
    }
    int64_t t0 = mono_ms(), stall = 0;
    core_result r = ks->env ? compact(ks, &stall) : core_result_fail_at(ERR_IO, __FILE__, __LINE__);
    if (core_ok(r)) {
        atomic_store(&ks->scrub_pending, false);
        core_log(CORE_LOG_INFO, "keystore: compacted %s: no deleted or superseded value is left in the data file "
                 "(%lld ms, of which other calls waited %lld ms)", ks->dir, (long long)(mono_ms() - t0),
                 (long long)stall);
    } else {
        core_log(CORE_LOG_ERROR, "keystore: compaction of %s failed (%s); retried later", ks->dir,
                 core_err_name(r.err));
    }
    if (!have_exclusive) ks_lock_shared(ks);
}

void ks_scrub_retry(struct keystore *ks)
{
    if (!atomic_load(&ks->scrub_pending) || mono_ms() < atomic_load(&ks->scrub_retry_ms)) return;
    ks_scrub(ks, false);
}
