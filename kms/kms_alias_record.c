#include <stdio.h>

#include "kms/kms_record.h"

/*
 * Alias records: table "kms_alias" under "<account>/<region>/alias/<name>",
 * value = target key id (36) | be64 created | be64 last updated. Record
 * layer: no requests, no replies.
 */

static const char tbl_alias[] = "kms_alias";

void kms_alias_record_id(const char *account, const char *region, struct core_cursor name, struct core_buf *out)
{
    core_buf_reset(out);
    core_result_ignore(core_buf_printf(out, "%s/%s/", account, region));
    core_result_ignore(core_buf_append_cursor(out, name));
}

core_result kms_alias_get(struct keystore_txn *txn, const char *account, const char *region, struct core_cursor name,
                          struct kms_alias *out)
{
    DEFER_CLEANUP(struct core_buf id = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_buf val = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&id, 128, 512));
    GUARD(core_buf_init(&val, 64, 256));
    kms_alias_record_id(account, region, name, &id);
    GUARD(keystore_get(txn, tbl_alias, core_buf_cursor(&id), &val));
    struct core_cursor c = core_buf_cursor(&val), t;
    uint64_t cr, up;
    GUARD(core_cursor_advance(&c, KMS_KEY_ID_LEN, &t));
    GUARD(core_cursor_read_be64(&c, &cr));
    GUARD(core_cursor_read_be64(&c, &up));
    memcpy(out->target, t.ptr, KMS_KEY_ID_LEN);
    out->target[KMS_KEY_ID_LEN] = 0;
    out->created = (int64_t)cr;
    out->updated = (int64_t)up;
    CORE_OK;
}

core_result kms_alias_put(struct keystore_txn *txn, const char *account, const char *region, struct core_cursor name,
                          const struct kms_alias *a, unsigned flags)
{
    DEFER_CLEANUP(struct core_buf id = {0}, core_buf_cleanup);
    uint8_t v[KMS_KEY_ID_LEN + 16];
    GUARD(core_buf_init(&id, 128, 512));
    kms_alias_record_id(account, region, name, &id);
    memcpy(v, a->target, KMS_KEY_ID_LEN);
    for (int i = 0; i < 8; i++) {
        v[KMS_KEY_ID_LEN + i] = (uint8_t)((uint64_t)a->created >> (56 - 8 * i));
        v[KMS_KEY_ID_LEN + 8 + i] = (uint8_t)((uint64_t)a->updated >> (56 - 8 * i));
    }
    return keystore_put(txn, tbl_alias, core_buf_cursor(&id), core_cursor_from(v, sizeof v), flags);
}

core_result kms_key_aliases(struct keystore_txn *txn, const struct kms_key *key, struct core_buf *names,
                            struct core_cursor *out, size_t max, size_t *n)
{
    *n = 0;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s/%s/", key->account, key->region);
    size_t plen = strlen(prefix);
    DEFER_CLEANUP(struct core_buf val = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&val, 64, 1024));
    struct keystore_iter *it = NULL;
    GUARD(keystore_iter_begin(txn, tbl_alias, core_cursor_str(prefix), &it));
    struct core_cursor id;
    core_result r;
    while (core_ok(r = keystore_iter_next(it, &id, &val))) {
        if (!core_cursor_starts_with(id, prefix)) break;
        if (val.len < KMS_KEY_ID_LEN || !core_cursor_eq_str(core_cursor_from(val.data, KMS_KEY_ID_LEN), key->key_id))
            continue;
        if (*n == max) {
            r = (core_result){ERR_LIMIT};
            break;
        }
        /* names has a fixed capacity (never reallocated), so earlier cursors stay valid. */
        size_t at = names->len;
        r = core_buf_append(names, id.ptr + plen, id.len - plen);
        if (!core_ok(r)) break;
        out[(*n)++] = core_cursor_from(names->data + at, id.len - plen);
    }
    keystore_iter_end(it);
    return r.err == ERR_NOT_FOUND ? (core_result){ERR_OK} : r;
}
