/*
 * Parked read transactions (keystore_lmdb.c): a thread keeps the LMDB read
 * txn it ended, reset, and renews it at its next read. What must hold:
 *   - a renewed txn sees every commit made before it (never a stale snapshot);
 *   - a parked txn pins no page: writes while one is parked reuse pages as if
 *     none were (a held snapshot would grow the file with every write);
 *   - no parked txn outlives its environment: keystore_close and the
 *     compaction's swap close the env while other threads hold parked txns,
 *     and those threads then read again or exit (ASan turns a missed txn
 *     into a use after free);
 *   - one thread reading two keystores gets each one's own records.
 */
#include "keystore/keystore_testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "tests/test.h"

static struct keystore *open_ks(const char *dir)
{
    struct keystore_options o = kst_key_file_opts(dir);
    struct keystore *ks = NULL;
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    return ks;
}

static off_t data_size(const char *dir)
{
    char p[PATH_MAX];
    struct stat st;
    if (snprintf(p, sizeof p, "%s/data.mdb", dir) >= (int)sizeof p || stat(p, &st) != 0) return -1;
    return st.st_size;
}

/* ---- a renewed txn sees the latest commit ------------------------------ */

static void test_renew_sees_commits(const char *dir)
{
    struct keystore *ks = open_ks(dir);
    if (!ks) return;
    EXPECT_TRUE(!ks_lmdb_parked(ks));
    char v[32];
    for (int i = 0; i < 200; i++) {
        snprintf(v, sizeof v, "value %d", i);
        EXPECT_OK(kst_put(ks, "t", "k", v));
        EXPECT_TRUE(kst_has(ks, "t", "k", v));
        /* the read parked its txn; the next read renews it */
        EXPECT_TRUE(ks_lmdb_parked(ks));
    }
    /* A write txn is never parked, and a read txn ended while one is parked is aborted. */
    struct keystore_txn *a = NULL, *b = NULL;
    EXPECT_OK(keystore_txn_begin(ks, false, &a)); /* takes the parked one */
    EXPECT_TRUE(!ks_lmdb_parked(ks));
    EXPECT_OK(keystore_txn_begin(ks, false, &b)); /* a new one */
    keystore_txn_abort(a);
    EXPECT_TRUE(ks_lmdb_parked(ks));
    keystore_txn_abort(b);
    EXPECT_TRUE(ks_lmdb_parked(ks));
    /* A read txn that began before a commit keeps its snapshot; the next one sees the commit. */
    EXPECT_OK(keystore_txn_begin(ks, false, &a));
    EXPECT_OK(kst_put(ks, "t", "k", "after"));
    struct core_buf got = {0};
    EXPECT_OK(core_buf_init(&got, 64, 1024));
    EXPECT_OK(keystore_get(a, "t", core_cursor_str("k"), &got));
    EXPECT_TRUE(core_cursor_eq_str(core_buf_cursor(&got), v));
    EXPECT_OK(keystore_txn_commit(a)); /* a read txn's commit ends it the same way */
    EXPECT_TRUE(kst_has(ks, "t", "k", "after"));
    core_buf_free(&got);
    keystore_close(ks);
}

/* ---- a parked txn pins no page ----------------------------------------- */

static off_t grow_by_overwrites(const char *dir, struct keystore *ks)
{
    char big[3000];
    off_t before = data_size(dir);
    for (int i = 0; i < 600; i++) {
        memset(big, 'a' + i % 26, sizeof big - 1);
        big[sizeof big - 1] = 0;
        EXPECT_OK(kst_put(ks, "t", "big", big));
    }
    return data_size(dir) - before;
}

static void test_parked_pins_nothing(const char *dir)
{
    struct keystore *ks = open_ks(dir);
    if (!ks) return;
    EXPECT_OK(kst_put(ks, "t", "big", "x"));
    EXPECT_TRUE(kst_has(ks, "t", "big", "x"));
    EXPECT_TRUE(ks_lmdb_parked(ks));
    off_t parked = grow_by_overwrites(dir, ks);
    /* The control: a read txn really held open pins its snapshot, and the same writes grow the file. */
    struct keystore_txn *held = NULL;
    EXPECT_OK(keystore_txn_begin(ks, false, &held));
    off_t pinned = grow_by_overwrites(dir, ks);
    keystore_txn_abort(held);
    fprintf(stderr, "600 overwrites of 3,000 bytes: file grew %lld bytes with a txn parked, %lld with one held\n",
            (long long)parked, (long long)pinned);
    EXPECT_TRUE(parked >= 0 && parked < 256 * 1024);
    EXPECT_TRUE(pinned > 1024 * 1024);
    keystore_close(ks);
}

/* ---- environments closed while other threads hold parked txns ---------- */

struct parker {
    struct keystore *ks;
    pthread_barrier_t *bar;
    atomic_int failures;
};

static void parker_read(struct parker *p, const char *want)
{
    if (!kst_has(p->ks, "t", "k", want) || !ks_lmdb_parked(p->ks)) atomic_fetch_add(&p->failures, 1);
}

/* Reads (parking a txn), waits while the lead closes the keystore, then exits with the slot still registered. */
static void *park_then_exit(void *arg)
{
    struct parker *p = arg;
    parker_read(p, "v");
    pthread_barrier_wait(p->bar); /* parked */
    pthread_barrier_wait(p->bar); /* the keystore is closed */
    return NULL;                  /* the slot's destructor runs now */
}

static void test_close_with_parked_threads(const char *dir)
{
    struct keystore *ks = open_ks(dir);
    if (!ks) return;
    EXPECT_OK(kst_put(ks, "t", "k", "v"));
    enum { N = 4 };
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, N + 1);
    struct parker p = {.ks = ks, .bar = &bar};
    pthread_t th[N];
    for (int i = 0; i < N; i++) EXPECT_TRUE(pthread_create(&th[i], NULL, park_then_exit, &p) == 0);
    pthread_barrier_wait(&bar);
    keystore_close(ks); /* must abort the four parked txns before closing the env */
    pthread_barrier_wait(&bar);
    for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
    EXPECT_TRUE(atomic_load(&p.failures) == 0);
    pthread_barrier_destroy(&bar);
    /* The same directory again: the new env may land at the old one's address. */
    ks = open_ks(dir);
    if (!ks) return;
    EXPECT_TRUE(!ks_lmdb_parked(ks));
    EXPECT_TRUE(kst_has(ks, "t", "k", "v"));
    keystore_close(ks);
}

/* Reads, waits while the lead destroys a record (the compaction swaps the env), reads again. */
static void *park_across_swap(void *arg)
{
    struct parker *p = arg;
    parker_read(p, "v");
    pthread_barrier_wait(p->bar); /* parked */
    pthread_barrier_wait(p->bar); /* compacted */
    for (int i = 0; i < 20; i++) parker_read(p, "v");
    return NULL;
}

static void test_swap_with_parked_threads(const char *dir)
{
    struct keystore *ks = open_ks(dir);
    if (!ks) return;
    EXPECT_OK(kst_put(ks, "t", "k", "v"));
    EXPECT_OK(kst_put(ks, "t", "gone", "destroyed"));
    enum { N = 4 };
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, N + 1);
    struct parker p = {.ks = ks, .bar = &bar};
    pthread_t th[N];
    for (int i = 0; i < N; i++) EXPECT_TRUE(pthread_create(&th[i], NULL, park_across_swap, &p) == 0);
    pthread_barrier_wait(&bar);
    uint64_t epoch = atomic_load(&ks->epoch);
    struct keystore_txn *w = NULL;
    EXPECT_OK(keystore_txn_begin(ks, true, &w));
    EXPECT_OK(keystore_destroy(w, "t", core_cursor_str("gone")));
    EXPECT_OK(keystore_txn_commit(w)); /* compacts: closes the env the parked txns belong to */
    EXPECT_TRUE(atomic_load(&ks->epoch) == epoch + 1);
    pthread_barrier_wait(&bar);
    for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
    EXPECT_TRUE(atomic_load(&p.failures) == 0);
    pthread_barrier_destroy(&bar);
    struct core_buf b = {0};
    EXPECT_OK(core_buf_init(&b, 64, 1024));
    EXPECT_ERR(kst_get(ks, "t", "gone", &b), ERR_NOT_FOUND);
    core_buf_free(&b);
    keystore_close(ks);
}

/* ---- one thread, two keystores ----------------------------------------- */

static void test_two_keystores(const char *dir)
{
    char root2[PATH_MAX], dir2[PATH_MAX];
    kst_mkdtemp(root2, dir2);
    struct keystore *a = open_ks(dir), *b = open_ks(dir2);
    if (a && b) {
        EXPECT_OK(kst_put(a, "t", "k", "from a"));
        EXPECT_OK(kst_put(b, "t", "k", "from b"));
        for (int i = 0; i < 50; i++) {
            EXPECT_TRUE(kst_has(a, "t", "k", "from a"));
            EXPECT_TRUE(kst_has(b, "t", "k", "from b"));
        }
        /* The slot keeps a's txn (parked first); b's reads begin new txns and abort them. Closing a
         * empties the slot, and b's next read parks. */
        EXPECT_TRUE(ks_lmdb_parked(a) && !ks_lmdb_parked(b));
        keystore_close(a);
        a = NULL;
        EXPECT_TRUE(kst_has(b, "t", "k", "from b"));
        EXPECT_TRUE(ks_lmdb_parked(b));
    }
    if (a) keystore_close(a);
    if (b) keystore_close(b);
    kst_rmrf(root2);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    void (*const tests[])(const char *) = {test_renew_sees_commits, test_parked_pins_nothing,
                                           test_close_with_parked_threads, test_swap_with_parked_threads,
                                           test_two_keystores};
    kst_each_fresh(tests, sizeof tests / sizeof tests[0]);
    TEST_MAIN_END();
}
