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
#include "tests/unit/keystore_contract.h"

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
