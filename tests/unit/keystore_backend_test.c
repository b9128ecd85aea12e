/*
 * The storage backend interface (keystore/keystore_backend.h): its contract
 * (atomicity, isolation, durability, iteration order, generation), checked
 * through the interface on the LMDB backend, and that the keystore's record
 * path (get/put/del/destroy/iteration/keystore_write) reaches the store only
 * through it and hands it ciphertext only.
 */
#include "keystore/keystore_testutil.h"

#include <string.h>

#include "tests/test.h"

static struct core_cursor K(const char *s) { return core_cursor_str(s); }

static core_result raw_put(struct keystore *ks, struct ks_btxn *t, struct core_cursor key, const char *val)
{
    uint8_t *dst = NULL;
    GUARD(ks->be->put_reserve(t, key, strlen(val), false, &dst));
    memcpy(dst, val, strlen(val));
    CORE_OK;
}

static bool raw_has(struct keystore *ks, struct ks_btxn *t, struct core_cursor key, const char *want)
{
    struct core_cursor v;
    if (!core_ok(ks->be->get(t, key, &v))) return false;
    return want && core_cursor_eq_str(v, want);
}

/* Atomicity: an aborted txn leaves nothing; a committed one everything. */
static void test_atomicity(struct keystore *ks)
{
    const struct ks_backend *be = ks->be;
    struct ks_btxn *w = NULL, *r = NULL;
    EXPECT_OK(be->txn_begin(ks, NULL, true, &w));
    EXPECT_OK(raw_put(ks, w, K("a1"), "x"));
    EXPECT_OK(raw_put(ks, w, K("a2"), "y"));
    be->txn_abort(w);
    EXPECT_OK(be->txn_begin(ks, NULL, false, &r));
    EXPECT_ERR(be->get(r, K("a1"), &(struct core_cursor){0}), ERR_NOT_FOUND);
    EXPECT_ERR(be->get(r, K("a2"), &(struct core_cursor){0}), ERR_NOT_FOUND);
    be->txn_abort(r);

    EXPECT_OK(be->txn_begin(ks, NULL, true, &w));
    EXPECT_OK(raw_put(ks, w, K("a1"), "x"));
    EXPECT_OK(raw_put(ks, w, K("a2"), "y"));
    EXPECT_OK(be->txn_commit(w));
    EXPECT_OK(be->txn_begin(ks, NULL, false, &r));
    EXPECT_TRUE(raw_has(ks, r, K("a1"), "x"));
    EXPECT_TRUE(raw_has(ks, r, K("a2"), "y"));
    be->txn_abort(r);

    /* Nested: a child's abort drops only its writes; its commit merges. */
    if (be->nests) {
        struct ks_btxn *c = NULL;
        EXPECT_OK(be->txn_begin(ks, NULL, true, &w));
        EXPECT_OK(be->txn_begin(ks, w, true, &c));
        EXPECT_OK(raw_put(ks, c, K("n1"), "dropped"));
        be->txn_abort(c);
        EXPECT_OK(be->txn_begin(ks, w, true, &c));
        EXPECT_OK(raw_put(ks, c, K("n2"), "kept"));
        EXPECT_OK(be->txn_commit(c));
        EXPECT_OK(be->txn_commit(w));
        EXPECT_OK(be->txn_begin(ks, NULL, false, &r));
        EXPECT_ERR(be->get(r, K("n1"), &(struct core_cursor){0}), ERR_NOT_FOUND);
        EXPECT_TRUE(raw_has(ks, r, K("n2"), "kept"));
        be->txn_abort(r);
    }
}

/* Isolation: a read txn keeps its snapshot across a concurrent commit; a
 * write txn sees its own writes; NO_OVERWRITE refuses. */
static void test_isolation(struct keystore *ks)
{
    const struct ks_backend *be = ks->be;
    struct ks_btxn *w = NULL, *r = NULL, *r2 = NULL;
    EXPECT_OK(be->txn_begin(ks, NULL, true, &w));
    EXPECT_OK(raw_put(ks, w, K("i1"), "old"));
    EXPECT_OK(be->txn_commit(w));

    EXPECT_OK(be->txn_begin(ks, NULL, false, &r));
    uint64_t snap = be->txn_snapshot(r);
    uint64_t gen = be->generation(ks);
    EXPECT_TRUE(raw_has(ks, r, K("i1"), "old"));

    EXPECT_OK(be->txn_begin(ks, NULL, true, &w));
    EXPECT_OK(raw_put(ks, w, K("i1"), "new"));
    EXPECT_TRUE(raw_has(ks, w, K("i1"), "new"));
    uint8_t *dst = NULL;
    EXPECT_ERR(be->put_reserve(w, K("i1"), 3, true, &dst), ERR_EXISTS);
    EXPECT_OK(be->del(w, K("a1")));
    EXPECT_ERR(be->del(w, K("a1")), ERR_NOT_FOUND);
    EXPECT_OK(be->txn_commit(w));

    /* The old snapshot still answers "old" and still has a1. */
    EXPECT_TRUE(raw_has(ks, r, K("i1"), "old"));
    EXPECT_TRUE(raw_has(ks, r, K("a1"), "x"));
    EXPECT_TRUE(be->txn_snapshot(r) == snap);
    EXPECT_OK(be->txn_begin(ks, NULL, false, &r2));
    EXPECT_TRUE(raw_has(ks, r2, K("i1"), "new"));
    EXPECT_ERR(be->get(r2, K("a1"), &(struct core_cursor){0}), ERR_NOT_FOUND);
    EXPECT_TRUE(be->txn_snapshot(r2) != snap);
    be->txn_abort(r2);
    be->txn_abort(r);
    /* Generation moved with the commit. */
    EXPECT_TRUE(be->generation(ks) != gen);
    EXPECT_TRUE(be->generation(ks) != UINT64_MAX);
}

/* Iteration: unsigned byte order from the first key >= from, own writes
 * included, to the end of from's table. */
static void test_order(struct keystore *ks)
{
    const struct ks_backend *be = ks->be;
    static const uint8_t k0[] = {'o', 0}, k00[] = {'o', 0, 0x00}, k01[] = {'o', 0, 0x01}, k7f[] = {'o', 0, 0x7f},
                         k80[] = {'o', 0, 0x80}, kff[] = {'o', 0, 0xff}, kff00[] = {'o', 0, 0xff, 0x00},
                         kp[] = {'o', '_', 0, 'x'}, kq[] = {'p', 0, 'x'};
    const struct core_cursor want[] = {
        {k0, 2}, {k00, 3}, {k01, 3}, {k7f, 3}, {k80, 3}, {kff, 3}, {kff00, 4},
    };
    const size_t n = sizeof want / sizeof want[0];
    struct ks_btxn *w = NULL;
    EXPECT_OK(be->txn_begin(ks, NULL, true, &w));
    EXPECT_OK(raw_put(ks, w, core_cursor_from(kq, sizeof kq), "other table"));
    EXPECT_OK(raw_put(ks, w, core_cursor_from(kp, sizeof kp), "other table"));
    EXPECT_OK(be->txn_commit(w));
    EXPECT_OK(be->txn_begin(ks, NULL, true, &w));
    /* Inserted out of order; all but two are committed first, those two
     * are only in the iterating write txn. */
    const size_t order[] = {4, 0, 3, 1, 6, 2, 5};
    for (size_t i = 0; i < 5; i++) EXPECT_OK(raw_put(ks, w, want[order[i]], "v"));
    EXPECT_OK(be->txn_commit(w));
    EXPECT_OK(be->txn_begin(ks, NULL, true, &w));
    for (size_t i = 5; i < n; i++) EXPECT_OK(raw_put(ks, w, want[order[i]], "v"));
    struct ks_biter *it = NULL;
    EXPECT_OK(be->iter_begin(w, want[0], &it));
    struct core_cursor key, val;
    size_t got = 0;
    while (core_ok(be->iter_next(it, &key, &val))) {
        if (key.len < 2 || key.ptr[0] != 'o' || key.ptr[1] != 0) break; /* past the table */
        if (got < n) EXPECT_TRUE(core_cursor_eq(key, want[got]));
        EXPECT_TRUE(core_cursor_eq_str(val, "v"));
        got++;
    }
    be->iter_end(it);
    EXPECT_TRUE(got == n);
    EXPECT_OK(be->txn_commit(w));

    /* Seek into the middle: the first key >= o NUL 7f 00 is o NUL 80. */
    static const uint8_t mid[] = {'o', 0, 0x7f, 0x00};
    struct ks_btxn *r = NULL;
    EXPECT_OK(be->txn_begin(ks, NULL, false, &r));
    EXPECT_OK(be->iter_begin(r, core_cursor_from(mid, sizeof mid), &it));
    EXPECT_OK(be->iter_next(it, &key, &val));
    EXPECT_TRUE(core_cursor_eq(key, want[4]));
    be->iter_end(it);
    /* Past the table's last key: nothing more of the table. */
    static const uint8_t last[] = {'o', 0, 0xff, 0x01};
    EXPECT_OK(be->iter_begin(r, core_cursor_from(last, sizeof last), &it));
    core_result nr = be->iter_next(it, &key, &val);
    EXPECT_TRUE(nr.err == ERR_NOT_FOUND || (core_ok(nr) && !(key.len >= 2 && key.ptr[0] == 'o' && key.ptr[1] == 0)));
    be->iter_end(it);
    be->txn_abort(r);
}

/* Durability: what commit acknowledged is there after close and reopen. */
static void test_durability(const char *dir)
{
    struct keystore *ks = NULL;
    struct keystore_options o = kst_key_file_opts(dir);
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    if (!ks) return;
    struct ks_btxn *w = NULL;
    EXPECT_OK(ks->be->txn_begin(ks, NULL, true, &w));
    EXPECT_OK(raw_put(ks, w, K("d1"), "durable"));
    EXPECT_OK(ks->be->txn_commit(w));
    keystore_close(ks);
    ks = NULL;
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    if (!ks) return;
    struct ks_btxn *r = NULL;
    EXPECT_OK(ks->be->txn_begin(ks, NULL, false, &r));
    EXPECT_TRUE(raw_has(ks, r, K("d1"), "durable"));
    ks->be->txn_abort(r);
    keystore_close(ks);
}

/* ---- a backend that wraps LMDB and watches what reaches it ----------- */

static const struct ks_backend *real;
static unsigned n_get, n_put, n_del, n_destroy, n_iter, n_commit;
static bool saw_plaintext;
static const char *secret = "plaintext-that-must-not-reach-the-store";

static core_result w_get(struct ks_btxn *t, struct core_cursor k, struct core_cursor *v)
{
    n_get++;
    return real->get(t, k, v);
}
/* The keystore seals into dst after put_reserve returns: check the previous
 * reservation's bytes at the next call and at commit. */
static uint8_t *last_dst;
static size_t last_len;
static void check_last(void)
{
    size_t sl = strlen(secret);
    for (size_t i = 0; last_dst && last_len >= sl && i + sl <= last_len; i++)
        if (memcmp(last_dst + i, secret, sl) == 0) saw_plaintext = true;
    last_dst = NULL;
}
static core_result w_put(struct ks_btxn *t, struct core_cursor k, size_t len, bool no, uint8_t **dst)
{
    check_last();
    n_put++;
    GUARD(real->put_reserve(t, k, len, no, dst));
    last_dst = *dst;
    last_len = len;
    CORE_OK;
}
static core_result w_del(struct ks_btxn *t, struct core_cursor k)
{
    check_last();
    n_del++;
    return real->del(t, k);
}
static core_result w_mark(struct ks_btxn *t)
{
    check_last();
    n_destroy++;
    return real->mark_destroy(t);
}
static core_result w_commit(struct ks_btxn *t)
{
    check_last();
    n_commit++;
    return real->txn_commit(t);
}
static core_result w_iter_begin(struct ks_btxn *t, struct core_cursor from, struct ks_biter **out)
{
    check_last();
    n_iter++;
    return real->iter_begin(t, from, out);
}

static void test_record_path_uses_backend(const char *dir)
{
    struct keystore *ks = NULL;
    struct keystore_options o = kst_key_file_opts(dir);
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    if (!ks) return;
    real = ks->be;
    struct ks_backend wrapped = *real;
    wrapped.name = "watched";
    wrapped.get = w_get;
    wrapped.put_reserve = w_put;
    wrapped.del = w_del;
    wrapped.mark_destroy = w_mark;
    wrapped.txn_commit = w_commit;
    wrapped.iter_begin = w_iter_begin;
    ks->be = &wrapped;

    EXPECT_OK(kst_put(ks, "t", "a", secret));
    EXPECT_TRUE(n_put == 1 && n_commit == 1);
    EXPECT_TRUE(!saw_plaintext);
    EXPECT_TRUE(kst_has(ks, "t", "a", secret));
    EXPECT_TRUE(n_get == 1);

    struct keystore_txn *txn = NULL;
    EXPECT_OK(keystore_txn_begin(ks, false, &txn));
    struct keystore_iter *it = NULL;
    EXPECT_OK(keystore_iter_begin(txn, "t", core_cursor_from(NULL, 0), &it));
    struct core_cursor id;
    EXPECT_OK(keystore_iter_next(it, &id, NULL));
    EXPECT_TRUE(core_cursor_eq_str(id, "a"));
    EXPECT_ERR(keystore_iter_next(it, &id, NULL), ERR_NOT_FOUND);
    keystore_iter_end(it);
    keystore_txn_abort(txn);
    EXPECT_TRUE(n_iter == 1);

    EXPECT_OK(keystore_txn_begin(ks, true, &txn));
    EXPECT_OK(keystore_put(txn, "t", core_cursor_str("b"), core_cursor_str(secret), 0));
    EXPECT_OK(keystore_del(txn, "t", core_cursor_str("a")));
    EXPECT_OK(keystore_destroy(txn, "t", core_cursor_str("b")));
    EXPECT_OK(keystore_txn_commit(txn));
    EXPECT_TRUE(n_put == 2 && n_del == 2 && n_destroy == 1 && n_commit == 2);
    EXPECT_TRUE(!saw_plaintext);
    EXPECT_TRUE(!kst_has(ks, "t", "b", NULL));

    ks->be = real;
    keystore_close(ks);
}

static core_result put_c(struct keystore_txn *txn, void *arg)
{
    (void)arg;
    return keystore_put(txn, "t", core_cursor_str("c"), core_cursor_str(secret), 0);
}

static void test_write_uses_backend(const char *dir)
{
    struct keystore *ks = NULL;
    struct keystore_options o = kst_key_file_opts(dir);
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    if (!ks) return;
    real = ks->be;
    struct ks_backend wrapped = *real;
    wrapped.put_reserve = w_put;
    wrapped.txn_commit = w_commit;
    ks->be = &wrapped;
    n_put = n_commit = 0;
    saw_plaintext = false;
    EXPECT_OK(keystore_write(ks, put_c, NULL));
    EXPECT_TRUE(n_put == 1);
    EXPECT_TRUE(n_commit == 2); /* the fn's nested txn, then the batch */
    EXPECT_TRUE(!saw_plaintext);
    EXPECT_TRUE(kst_has(ks, "t", "c", secret));
    ks->be = real;
    keystore_close(ks);
}

static void with_open(const char *dir, void (*fn)(struct keystore *))
{
    struct keystore *ks = NULL;
    struct keystore_options o = kst_key_file_opts(dir);
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    if (!ks) return;
    fn(ks);
    keystore_close(ks);
}

static void contract(const char *dir)
{
    with_open(dir, test_atomicity);
    with_open(dir, test_isolation);
    with_open(dir, test_order);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    static void (*const tests[])(const char *) = {contract, test_durability, test_record_path_uses_backend,
                                                  test_write_uses_backend};
    kst_each_fresh(tests, sizeof tests / sizeof tests[0]);
    TEST_MAIN_END();
}
