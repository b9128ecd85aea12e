/*
 * Group commit: 16 threads write through keystore_write() at once, some of
 * their fns failing on purpose, while readers iterate. Every write that
 * returned success must be there afterwards, and no failed fn may leave a
 * trace. The throughput is printed for information only.
 */
#include "keystore/keystore_testutil.h"

#include <pthread.h>
#include <time.h>

#include "tests/test.h"

enum { THREADS = 16, PER_THREAD = 250 };

struct job {
    int thread, seq;
    enum { WRITE_OK, FAIL_AFTER_PUT, IGNORE_FAILURE } kind;
};

static void ids_of(const struct job *j, char id[32], char val[48])
{
    snprintf(id, 32, "t%02d-%05d", j->thread, j->seq);
    snprintf(val, 48, "value of t%02d-%05d", j->thread, j->seq);
}

static core_result write_fn(struct keystore_txn *txn, void *arg)
{
    const struct job *j = arg;
    char id[32], val[48];
    ids_of(j, id, val);
    GUARD(keystore_put(txn, "kms_key", core_cursor_str(id), core_cursor_str(val), KEYSTORE_NO_OVERWRITE));
    GUARD(keystore_put(txn, "alias", core_cursor_str(id), core_cursor_str(id), 0));
    if (j->kind == FAIL_AFTER_PUT) {
        /* Fails after writing: this fn's puts must roll back alone. */
        GUARD(keystore_put(txn, "kms_key", core_cursor_str("shared"), core_cursor_str("x"), KEYSTORE_NO_OVERWRITE));
    }
    if (j->kind == IGNORE_FAILURE) {
        core_result_ignore(keystore_put(txn, "kms_key", core_cursor_str("shared"), core_cursor_str("x"),
                                        KEYSTORE_NO_OVERWRITE));
    }
    CORE_OK;
}

struct worker {
    struct keystore *ks;
    int thread;
    core_result results[PER_THREAD];
    struct job jobs[PER_THREAD];
};

static void *writer(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        struct job *j = &w->jobs[i];
        *j = (struct job){.thread = w->thread, .seq = i, .kind = WRITE_OK};
        if (i % 37 == 5) j->kind = FAIL_AFTER_PUT;
        if (i % 53 == 7) j->kind = IGNORE_FAILURE;
        w->results[i] = keystore_write(w->ks, write_fn, j);
    }
    return NULL;
}

static volatile int stop_readers;

static void *reader(void *arg)
{
    struct keystore *ks = arg;
    struct core_buf v = {0};
    if (!core_ok(core_buf_init(&v, 64, 256))) return (void *)1;
    long bad = 0;
    while (!__atomic_load_n(&stop_readers, __ATOMIC_ACQUIRE)) {
        struct keystore_txn *txn = NULL;
        struct keystore_iter *it = NULL;
        struct core_cursor id;
        if (!core_ok(keystore_txn_begin(ks, false, &txn))) {
            bad++;
            continue;
        }
        if (core_ok(keystore_iter_begin(txn, "kms_key", core_cursor_str("t08"), &it))) {
            for (int i = 0; i < 20; i++) {
                core_result r = keystore_iter_next(it, &id, &v);
                if (r.err == ERR_NOT_FOUND) break;
                if (!core_ok(r)) bad++;
            }
            keystore_iter_end(it);
        } else {
            bad++;
        }
        keystore_txn_abort(txn);
        /* Readers check isolation; they should not eat the writers' CPU. */
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    }
    core_buf_free(&v);
    return (void *)bad;
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    char root[PATH_MAX], dir[PATH_MAX];
    kst_mkdtemp(root, dir);
    struct keystore_options o = kst_key_file_opts(dir);
    struct keystore *ks = NULL;
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    if (!ks) return 1;
    EXPECT_OK(kst_put(ks, "kms_key", "shared", "exists"));

    static struct worker workers[THREADS];
    pthread_t tw[THREADS], tr[2];
    for (int i = 0; i < 2; i++) pthread_create(&tr[i], NULL, reader, ks);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < THREADS; i++) {
        workers[i].ks = ks;
        workers[i].thread = i;
        pthread_create(&tw[i], NULL, writer, &workers[i]);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(tw[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    __atomic_store_n(&stop_readers, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 2; i++) {
        void *bad = NULL;
        pthread_join(tr[i], &bad);
        EXPECT_TRUE(bad == NULL);
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("group commit: %d durable keystore_write() calls from %d threads in %.2f s = %.0f/s\n",
           THREADS * PER_THREAD, THREADS, secs, THREADS * PER_THREAD / secs);

    /* Reopen, so the check reads what reached the disk's view of LMDB. */
    keystore_close(ks);
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    if (!ks) return 1;
    int ok = 0, failed = 0;
    struct core_buf v = {0};
    EXPECT_OK(core_buf_init(&v, 64, 256));
    for (int t = 0; t < THREADS; t++) {
        for (int i = 0; i < PER_THREAD; i++) {
            const struct job *j = &workers[t].jobs[i];
            core_result r = workers[t].results[i];
            char id[32], val[48];
            ids_of(j, id, val);
            if (j->kind == WRITE_OK) {
                EXPECT_OK(r);
                EXPECT_TRUE(kst_has(ks, "kms_key", id, val));
                EXPECT_TRUE(kst_has(ks, "alias", id, id));
                ok++;
            } else {
                EXPECT_ERR(r, j->kind == FAIL_AFTER_PUT ? ERR_EXISTS : ERR_TXN_POISONED);
                EXPECT_ERR(kst_get(ks, "kms_key", id, &v), ERR_NOT_FOUND);
                EXPECT_ERR(kst_get(ks, "alias", id, &v), ERR_NOT_FOUND);
                failed++;
            }
        }
    }
    EXPECT_TRUE(kst_has(ks, "kms_key", "shared", "exists"));
    /* Count by iteration too: exactly the successful writes plus "shared". */
    struct keystore_txn *txn = NULL;
    struct keystore_iter *it = NULL;
    struct core_cursor id;
    int n = 0;
    EXPECT_OK(keystore_txn_begin(ks, false, &txn));
    EXPECT_OK(keystore_iter_begin(txn, "kms_key", core_cursor_from("", 0), &it));
    while (core_ok(keystore_iter_next(it, &id, NULL))) n++;
    keystore_iter_end(it);
    keystore_txn_abort(txn);
    EXPECT_TRUE(n == ok + 1);
    printf("%d writes kept, %d failed fns rolled back\n", ok, failed);
    core_buf_free(&v);
    keystore_close(ks);
    kst_rmrf(root);
    TEST_MAIN_END();
}
