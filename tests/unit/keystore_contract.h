#ifndef KEYSTORE_CONTRACT_H
#define KEYSTORE_CONTRACT_H

/*
 * The backend contract (keystore/keystore_backend.h), checked through the
 * interface on an open keystore, whatever its backend: included by
 * keystore_backend_test.c (LMDB) and keystore_etcd_test.c (etcd).
 */
#include <string.h>

#include "keystore/keystore_internal.h"
#include "tests/test.h"

/* The record key k NUL s (table "k", id s); a few stay valid at once. */
static struct core_cursor K(const char *s)
{
    static uint8_t ring[4][64];
    static unsigned next;
    uint8_t *b = ring[next++ % 4];
    size_t n = strlen(s);
    if (n > 60) abort();
    b[0] = 'k';
    b[1] = 0;
    memcpy(b + 2, s, n);
    return core_cursor_from(b, n + 2);
}

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

#endif
