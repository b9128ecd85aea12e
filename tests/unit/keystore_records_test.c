/*
 * Records: put/get/del, NO_OVERWRITE, iteration order and seeking, limits,
 * secret output buffers, and write-txn poisoning.
 */
#include "keystore/keystore_testutil.h"

#include <sys/stat.h>
#include <time.h>

#include "tests/test.h"

static void test_put_get_del(struct keystore *ks)
{
    struct core_buf b = {0};
    EXPECT_OK(core_buf_init(&b, 16, 1024));

    EXPECT_ERR(kst_get(ks, "kms_key", "nope", &b), ERR_NOT_FOUND);
    EXPECT_OK(kst_put(ks, "kms_key", "k1", "value one"));
    EXPECT_OK(kst_get(ks, "kms_key", "k1", &b));
    EXPECT_BYTES_EQ(b.data, b.len, "value one", 9);
    /* Same id in another table is another record. */
    EXPECT_ERR(kst_get(ks, "alias", "k1", &b), ERR_NOT_FOUND);
    EXPECT_TRUE(b.len == 0);

    /* Overwrite, then NO_OVERWRITE refuses. */
    EXPECT_OK(kst_put(ks, "kms_key", "k1", "value two"));
    EXPECT_TRUE(kst_has(ks, "kms_key", "k1", "value two"));
    struct keystore_txn *txn = NULL;
    EXPECT_OK(keystore_txn_begin(ks, true, &txn));
    EXPECT_ERR(keystore_put(txn, "kms_key", core_cursor_str("k1"), core_cursor_str("x"), KEYSTORE_NO_OVERWRITE),
               ERR_EXISTS);
    keystore_txn_abort(txn);
    EXPECT_TRUE(kst_has(ks, "kms_key", "k1", "value two"));

    /* Empty value, binary id with a NUL. */
    static const uint8_t bin_id[] = {0, 1, 2, 0, 255};
    EXPECT_OK(keystore_txn_begin(ks, true, &txn));
    EXPECT_OK(keystore_put(txn, "kms_key", core_cursor_from(bin_id, sizeof bin_id), core_cursor_from("", 0),
                           KEYSTORE_NO_OVERWRITE));
    EXPECT_OK(keystore_txn_commit(txn));
    EXPECT_OK(keystore_txn_begin(ks, false, &txn));
    EXPECT_OK(keystore_get(txn, "kms_key", core_cursor_from(bin_id, sizeof bin_id), &b));
    EXPECT_TRUE(b.len == 0);
    keystore_txn_abort(txn);

    /* Delete. */
    EXPECT_OK(keystore_txn_begin(ks, true, &txn));
    EXPECT_OK(keystore_del(txn, "kms_key", core_cursor_str("k1")));
    EXPECT_ERR(keystore_del(txn, "kms_key", core_cursor_str("k1")), ERR_NOT_FOUND);
    EXPECT_ERR(keystore_get(txn, "kms_key", core_cursor_str("k1"), &b), ERR_NOT_FOUND);
    EXPECT_OK(keystore_txn_commit(txn)); /* NOT_FOUND does not poison */
    EXPECT_ERR(kst_get(ks, "kms_key", "k1", &b), ERR_NOT_FOUND);

    /* Aborted writes vanish. */
    EXPECT_OK(keystore_txn_begin(ks, true, &txn));
    EXPECT_OK(keystore_put(txn, "kms_key", core_cursor_str("gone"), core_cursor_str("v"), 0));
    keystore_txn_abort(txn);
    EXPECT_ERR(kst_get(ks, "kms_key", "gone", &b), ERR_NOT_FOUND);

    /* Read txns cannot write. */
    EXPECT_OK(keystore_txn_begin(ks, false, &txn));
    EXPECT_ERR(keystore_put(txn, "kms_key", core_cursor_str("r"), core_cursor_str("v"), 0), ERR_INVALID_ARG);
    EXPECT_ERR(keystore_del(txn, "kms_key", core_cursor_str("r")), ERR_INVALID_ARG);
    EXPECT_OK(keystore_txn_commit(txn));
    core_buf_free(&b);
}

static void test_limits(struct keystore *ks)
{
    struct keystore_txn *txn = NULL;
    struct core_buf b = {0};
    EXPECT_OK(core_buf_init(&b, 16, 4));
    EXPECT_OK(kst_put(ks, "limits", "big", "0123456789"));
    /* out too small: ERR_LIMIT, out left empty */
    EXPECT_ERR(kst_get(ks, "limits", "big", &b), ERR_LIMIT);
    EXPECT_TRUE(b.len == 0);
    core_buf_free(&b);

    EXPECT_OK(keystore_txn_begin(ks, true, &txn));
    EXPECT_ERR(keystore_put(txn, "Bad-Table", core_cursor_str("x"), core_cursor_str("v"), 0), ERR_INVALID_ARG);
    keystore_txn_abort(txn);
    EXPECT_OK(keystore_txn_begin(ks, true, &txn));
    EXPECT_ERR(keystore_put(txn, "", core_cursor_str("x"), core_cursor_str("v"), 0), ERR_INVALID_ARG);
    keystore_txn_abort(txn);

    static uint8_t long_id[KEYSTORE_MAX_ID_BYTES + 1];
    memset(long_id, 'a', sizeof long_id);
    EXPECT_OK(keystore_txn_begin(ks, true, &txn));
    EXPECT_OK(keystore_put(txn, "limits", core_cursor_from(long_id, KEYSTORE_MAX_ID_BYTES), core_cursor_str("v"), 0));
    EXPECT_OK(keystore_txn_commit(txn));
    EXPECT_OK(keystore_txn_begin(ks, true, &txn));
    EXPECT_ERR(keystore_put(txn, "limits", core_cursor_from(long_id, sizeof long_id), core_cursor_str("v"), 0),
               ERR_LIMIT);
    keystore_txn_abort(txn);

    /* The largest record, opened into a secret buffer. */
    struct core_buf big = {0}, sec = {0};
    EXPECT_OK(core_buf_init(&big, CORE_MAX_RECORD_BYTES, CORE_MAX_RECORD_BYTES + 1));
    for (size_t i = 0; i < CORE_MAX_RECORD_BYTES; i++) big.data[i] = (uint8_t)(i * 7);
    big.len = CORE_MAX_RECORD_BYTES;
    EXPECT_OK(keystore_txn_begin(ks, true, &txn));
    EXPECT_OK(keystore_put(txn, "limits", core_cursor_str("max"), core_buf_cursor(&big), 0));
    EXPECT_OK(keystore_txn_commit(txn));
    big.len = CORE_MAX_RECORD_BYTES + 1;
    EXPECT_OK(keystore_txn_begin(ks, true, &txn));
    EXPECT_ERR(keystore_put(txn, "limits", core_cursor_str("max1"), core_buf_cursor(&big), 0), ERR_LIMIT);
    keystore_txn_abort(txn);
    big.len = CORE_MAX_RECORD_BYTES;
    EXPECT_OK(core_buf_init_secret(&sec, CORE_MAX_RECORD_BYTES));
    EXPECT_OK(kst_get(ks, "limits", "max", &sec));
    EXPECT_BYTES_EQ(sec.data, sec.len, big.data, big.len);
    core_buf_free(&sec);
    core_buf_free(&big);
}

static void test_poison(struct keystore *ks)
{
    struct keystore_txn *txn = NULL;
    struct core_buf small = {0};
    EXPECT_OK(core_buf_init(&small, 1, 1));
    EXPECT_OK(kst_put(ks, "poison", "exists", "yes"));

    /* A failed put poisons: later steps and commit refuse, nothing is written. */
    EXPECT_OK(keystore_txn_begin(ks, true, &txn));
    EXPECT_OK(keystore_put(txn, "poison", core_cursor_str("a"), core_cursor_str("1"), 0));
    EXPECT_ERR(keystore_put(txn, "poison", core_cursor_str("exists"), core_cursor_str("2"), KEYSTORE_NO_OVERWRITE),
               ERR_EXISTS);
    EXPECT_ERR(keystore_put(txn, "poison", core_cursor_str("b"), core_cursor_str("3"), 0), ERR_TXN_POISONED);
    EXPECT_ERR(keystore_get(txn, "poison", core_cursor_str("a"), &small), ERR_TXN_POISONED);
    EXPECT_ERR(keystore_txn_commit(txn), ERR_TXN_POISONED);
    EXPECT_ERR(kst_get(ks, "poison", "a", &small), ERR_NOT_FOUND);
    EXPECT_TRUE(kst_has(ks, "poison", "exists", "yes"));

    /* A failed get (out too small) poisons a write txn too. */
    EXPECT_OK(keystore_txn_begin(ks, true, &txn));
    EXPECT_OK(keystore_put(txn, "poison", core_cursor_str("c"), core_cursor_str("1"), 0));
    EXPECT_ERR(keystore_get(txn, "poison", core_cursor_str("exists"), &small), ERR_LIMIT);
    EXPECT_ERR(keystore_txn_commit(txn), ERR_TXN_POISONED);
    EXPECT_ERR(kst_get(ks, "poison", "c", &small), ERR_NOT_FOUND);

    /* ... but in a read txn it is just an answer. */
    EXPECT_OK(keystore_txn_begin(ks, false, &txn));
    EXPECT_ERR(keystore_get(txn, "poison", core_cursor_str("exists"), &small), ERR_LIMIT);
    EXPECT_ERR(keystore_get(txn, "poison", core_cursor_str("nope"), &small), ERR_NOT_FOUND);
    EXPECT_OK(keystore_txn_commit(txn));
    core_buf_free(&small);
}

static void test_iterate(struct keystore *ks)
{
    /* Neighbouring tables whose names are prefixes of each other. */
    EXPECT_OK(kst_put(ks, "it", "x", "other table"));
    EXPECT_OK(kst_put(ks, "it_b", "x", "other table"));
    const char *ids[] = {"a", "b", "b0", "c", "zz"};
    struct keystore_txn *txn = NULL;
    EXPECT_OK(keystore_txn_begin(ks, true, &txn));
    for (int i = 4; i >= 0; i--) /* out of order on purpose */
        EXPECT_OK(keystore_put(txn, "it_a", core_cursor_str(ids[i]), core_cursor_str(ids[i]), 0));
    EXPECT_OK(keystore_txn_commit(txn));

    struct core_buf v = {0};
    EXPECT_OK(core_buf_init(&v, 16, 64));
    struct keystore_iter *it = NULL;
    struct core_cursor id;
    EXPECT_OK(keystore_txn_begin(ks, false, &txn));
    EXPECT_OK(keystore_iter_begin(txn, "it_a", core_cursor_from("", 0), &it));
    for (int i = 0; i < 5; i++) {
        EXPECT_OK(keystore_iter_next(it, &id, &v));
        EXPECT_TRUE(core_cursor_eq_str(id, ids[i]));
        EXPECT_TRUE(core_cursor_eq_str(core_buf_cursor(&v), ids[i]));
    }
    EXPECT_ERR(keystore_iter_next(it, &id, &v), ERR_NOT_FOUND);
    EXPECT_ERR(keystore_iter_next(it, &id, &v), ERR_NOT_FOUND);
    keystore_iter_end(it);

    /* Seek: first id >= "b1" is "c"; value may be skipped. */
    EXPECT_OK(keystore_iter_begin(txn, "it_a", core_cursor_str("b1"), &it));
    EXPECT_OK(keystore_iter_next(it, &id, NULL));
    EXPECT_TRUE(core_cursor_eq_str(id, "c"));
    EXPECT_OK(keystore_iter_next(it, &id, NULL));
    EXPECT_TRUE(core_cursor_eq_str(id, "zz"));
    EXPECT_ERR(keystore_iter_next(it, &id, NULL), ERR_NOT_FOUND);
    keystore_iter_end(it);

    /* Past the end of the table, an empty table, the last table in the db. */
    EXPECT_OK(keystore_iter_begin(txn, "it_a", core_cursor_str("zzz"), &it));
    EXPECT_ERR(keystore_iter_next(it, &id, NULL), ERR_NOT_FOUND);
    keystore_iter_end(it);
    EXPECT_OK(keystore_iter_begin(txn, "empty", core_cursor_from("", 0), &it));
    EXPECT_ERR(keystore_iter_next(it, &id, NULL), ERR_NOT_FOUND);
    keystore_iter_end(it);
    EXPECT_OK(keystore_iter_begin(txn, "zzzz", core_cursor_from("", 0), &it));
    EXPECT_ERR(keystore_iter_next(it, &id, NULL), ERR_NOT_FOUND);
    keystore_iter_end(it);
    keystore_txn_abort(txn);
    core_buf_free(&v);
}

/* ListKeys-style paging over a big table: each page is a seek plus a few
 * steps (timed for information only; no timing assertion). */
static void test_paging(struct keystore *ks)
{
    enum { N = 20000, PAGE = 50 };
    struct keystore_txn *txn = NULL;
    char id[32], val[32];
    for (int base = 0; base < N; base += 5000) {
        EXPECT_OK(keystore_txn_begin(ks, true, &txn));
        for (int i = base; i < base + 5000; i++) {
            snprintf(id, sizeof id, "key-%08d", i);
            snprintf(val, sizeof val, "v%d", i);
            EXPECT_OK(keystore_put(txn, "page", core_cursor_str(id), core_cursor_str(val), 0));
        }
        EXPECT_OK(keystore_txn_commit(txn));
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct core_buf v = {0};
    EXPECT_OK(core_buf_init(&v, 16, 64));
    for (int start = N - PAGE; start >= 0; start -= N / 10) {
        snprintf(id, sizeof id, "key-%08d", start);
        EXPECT_OK(keystore_txn_begin(ks, false, &txn));
        struct keystore_iter *it = NULL;
        EXPECT_OK(keystore_iter_begin(txn, "page", core_cursor_str(id), &it));
        for (int i = 0; i < PAGE; i++) {
            struct core_cursor got;
            EXPECT_OK(keystore_iter_next(it, &got, &v));
            snprintf(id, sizeof id, "key-%08d", start + i);
            snprintf(val, sizeof val, "v%d", start + i);
            EXPECT_TRUE(core_cursor_eq_str(got, id) && core_cursor_eq_str(core_buf_cursor(&v), val));
        }
        keystore_iter_end(it);
        keystore_txn_abort(txn);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("paging: 10 pages of %d over %d records in %.2f ms\n", PAGE, N,
           (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    core_buf_free(&v);
}

static void test_files(const char *root, const char *dir)
{
    struct stat st;
    EXPECT_TRUE(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
    char p[PATH_MAX];
    EXPECT_TRUE(snprintf(p, sizeof p, "%s/master.key", dir) < (int)sizeof p);
    EXPECT_TRUE(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == 32);
    EXPECT_TRUE(snprintf(p, sizeof p, "%s/data.mdb", dir) < (int)sizeof p);
    EXPECT_TRUE(stat(p, &st) == 0 && (st.st_mode & 0077) == 0);
    /* Sparse: the 4 GiB map is not allocated on disk. */
    EXPECT_TRUE(st.st_blocks * 512 < 256 * 1024 * 1024);
    (void)root;
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    char root[PATH_MAX], dir[PATH_MAX];
    kst_mkdtemp(root, dir);
    struct keystore_options o = kst_key_file_opts(dir);
    struct keystore *ks = NULL;
    bool created = false;
    EXPECT_OK(keystore_open(&o, &ks, &created));
    EXPECT_TRUE(created);
    if (ks) {
        test_put_get_del(ks);
        test_limits(ks);
        test_poison(ks);
        test_iterate(ks);
        test_paging(ks);
        keystore_close(ks);
        ks = NULL;
    }
    test_files(root, dir);
    /* Reopen: not created again, data still there. */
    EXPECT_OK(keystore_open(&o, &ks, &created));
    EXPECT_TRUE(!created);
    if (ks) {
        EXPECT_TRUE(kst_has(ks, "poison", "exists", "yes"));
        keystore_close(ks);
    }
    kst_rmrf(root);
    TEST_MAIN_END();
}
