#include "keystore/keystore_internal.h"

#include <string.h>

/*
 * keystore_copy(): record by record through the backends, the sealed bytes
 * unchanged. A sealed value's associated data is its record key (table NUL
 * id), the same in every backend, so a value opens wherever it is copied to
 * under the same master key; it is never decrypted on the way.
 */

#define COPY_BATCH 100u

static core_result ensure_empty(struct keystore *ks)
{
    struct ks_btxn *r = NULL;
    GUARD(ks->be->txn_begin(ks, NULL, false, &r));
    struct ks_biter *it = NULL;
    core_result x = ks->be->iter_begin(r, core_cursor_from(NULL, 0), &it);
    if (core_ok(x)) {
        struct core_cursor k, v;
        x = ks->be->iter_next(it, &k, &v);
        ks->be->iter_end(it);
    }
    ks->be->txn_abort(r);
    if (core_ok(x)) {
        core_log(CORE_LOG_ERROR, "keystore: the destination already holds records; copy only into an empty keystore");
        BAIL(ERR_EXISTS);
    }
    return x.err == ERR_NOT_FOUND ? core_result_ok() : x;
}

core_result keystore_copy(struct keystore *from, struct keystore *to, size_t *count)
{
    ENSURE_REF(from);
    ENSURE_REF(to);
    ENSURE_REF(count);
    *count = 0;
    if (from->master.len != to->master.len || !core_ct_equal(from->master.ptr, to->master.ptr, from->master.len)) {
        core_log(CORE_LOG_ERROR, "keystore: source and destination are under different master keys");
        BAIL(ERR_WRONG_MASTER_KEY);
    }
    GUARD(ensure_empty(to));
    struct ks_btxn *rt = NULL;
    GUARD(from->be->txn_begin(from, NULL, false, &rt));
    struct ks_biter *it = NULL;
    core_result r = from->be->iter_begin(rt, core_cursor_from(NULL, 0), &it);
    struct ks_btxn *w = NULL;
    size_t n = 0;
    while (core_ok(r)) {
        struct core_cursor key, sealed;
        r = from->be->iter_next(it, &key, &sealed);
        if (r.err == ERR_NOT_FOUND) {
            r = core_result_ok();
            break;
        }
        if (!core_ok(r)) break;
        if (w == NULL && !core_ok(r = to->be->txn_begin(to, NULL, true, &w))) break;
        uint8_t *dst = NULL;
        r = to->be->put_reserve(w, key, sealed.len, true, &dst);
        if (!core_ok(r)) break;
        memcpy(dst, sealed.ptr, sealed.len); /* ciphertext, as stored */
        if (++n == COPY_BATCH) {
            r = to->be->txn_commit(w);
            w = NULL;
            if (core_ok(r)) *count += n;
            n = 0;
        }
    }
    if (core_ok(r) && w) {
        r = to->be->txn_commit(w);
        w = NULL;
        if (core_ok(r)) *count += n;
    }
    if (w) to->be->txn_abort(w);
    if (it) from->be->iter_end(it);
    from->be->txn_abort(rt);
    return r;
}
