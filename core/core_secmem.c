#include "core/core_secmem.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <sodium.h>

core_result core_crypto_init(void)
{
    ENSURE(sodium_init() >= 0, ERR_CRYPTO);
    ENSURE(OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL) == 1, ERR_CRYPTO);
    CORE_OK;
}

core_result core_secret_alloc(struct core_secret *s, size_t len)
{
    *s = (struct core_secret){0};
    s->ptr = sodium_malloc(len ? len : 1);
    ENSURE(s->ptr != NULL, ERR_NOMEM);
    sodium_memzero(s->ptr, len ? len : 1);
    s->len = len;
    CORE_OK;
}

core_result core_secret_copy(struct core_secret *s, const void *src, size_t len)
{
    GUARD(core_secret_alloc(s, len));
    if (len) memcpy(s->ptr, src, len);
    CORE_OK;
}

core_result core_secret_random(struct core_secret *s, size_t len)
{
    GUARD(core_secret_alloc(s, len));
    randombytes_buf(s->ptr, len);
    CORE_OK;
}

void core_secret_free(struct core_secret *s)
{
    if (s->ptr) sodium_free(s->ptr);
    *s = (struct core_secret){0};
}

void core_secret_cleanup(struct core_secret *s) { core_secret_free(s); }

bool core_ct_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

bool core_ct_equal_cursor(struct core_cursor a, struct core_cursor b)
{
    if (a.len != b.len) return false;
    if (a.len == 0) return true;
    return CRYPTO_memcmp(a.ptr, b.ptr, a.len) == 0;
}

void core_wipe(void *p, size_t len)
{
    if (p && len) sodium_memzero(p, len);
}

void core_random(void *p, size_t len) { randombytes_buf(p, len); }
