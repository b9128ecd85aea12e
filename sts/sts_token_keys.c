/*
 * Session-token keys: the AEAD keys that seal STS session tokens, kept
 * sealed in the keystore ("sts_token_key" table, the name it always had).
 * The current key seals new tokens; older keys stay for opening tokens
 * issued before a rotation. Owned by STS: nothing else reads them.
 */
#include <stdio.h>

#include "sts/sts_internal.h"

#define T_TOKEN_KEY "sts_token_key"

static void key_id_str(uint32_t id, char out[16]) { snprintf(out, 16, "%08x", id); }

core_result sts_token_key_current(struct keystore_txn *txn, uint32_t *id)
{
    DEFER_CLEANUP(struct core_buf v = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&v, 16, 64));
    GUARD(keystore_get(txn, T_TOKEN_KEY, core_cursor_str("current"), &v));
    uint32_t x;
    struct core_cursor c = core_buf_cursor(&v);
    GUARD(core_cursor_read_be32(&c, &x));
    *id = x;
    CORE_OK;
}

core_result sts_token_key_read(struct keystore_txn *txn, uint32_t id, struct core_secret *key)
{
    char ids[16];
    key_id_str(id, ids);
    DEFER_CLEANUP(struct core_buf v = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&v, 64));
    GUARD(keystore_get(txn, T_TOKEN_KEY, core_cursor_str(ids), &v));
    ENSURE(v.len == STS_TOKEN_KEY_BYTES, ERR_TAMPERED);
    return core_secret_copy(key, v.data, v.len);
}

core_result sts_token_key_create(struct keystore_txn *txn, uint32_t *new_id)
{
    uint32_t cur = 0;
    core_result r = sts_token_key_current(txn, &cur);
    ENSURE(core_ok(r) || r.err == ERR_NOT_FOUND, r.err);
    uint32_t id = cur + 1;
    DEFER_CLEANUP(struct core_secret key = {0}, core_secret_cleanup);
    GUARD(core_secret_random(&key, STS_TOKEN_KEY_BYTES));
    char ids[16];
    key_id_str(id, ids);
    GUARD(keystore_put(txn, T_TOKEN_KEY, core_cursor_str(ids), core_secret_cursor(&key), KEYSTORE_NO_OVERWRITE));
    uint8_t be[4] = {(uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id};
    GUARD(keystore_put(txn, T_TOKEN_KEY, core_cursor_str("current"), core_cursor_from(be, 4), 0));
    *new_id = id;
    CORE_OK;
}
