/*
 * Cache of derived signing keys. Deriving kSigning costs four HMACs; a
 * client reuses one (secret, date, region, service) for a whole day, so the
 * hot path is a lookup. Each entry holds the key prepared for HMAC
 * (struct sigv4_hmac_key: its padded blocks already hashed).
 *
 * Entries are named by a keyed BLAKE2b of the tuple (the key is random per
 * cache), so the table holds no secret in comparable form. The entries live
 * in the thread-local cache (core_tlcache): each thread keeps its own
 * SIGV4_CACHE_WAYS most recently used keys in guarded memory (guard pages,
 * mlock), compares names with core_ct_equal, wipes an evicted key, and
 * sigv4_key_cache_free wipes the cache's keys in every thread. No lock is
 * shared between threads on the hot path.
 */
#include "sigv4/sigv4_stages.h"

#include <stdatomic.h>

#include <sodium.h>

#define SIGV4_CACHE_WAYS 32u

static struct core_tlcache_def signing_keys = {
    .name = "signing keys", .ways = SIGV4_CACHE_WAYS, .key_max = 32, .value_max = sizeof(struct sigv4_hmac_key)};

struct sigv4_key_cache {
    struct core_secret self; /* this allocation, kept to free it */
    uint64_t scope;          /* names this cache's entries in the thread-local tables */
    uint8_t name_key[crypto_generichash_KEYBYTES];
    _Atomic uint64_t hits, misses;
};

core_result sigv4_key_cache_new(size_t capacity, struct sigv4_key_cache **out)
{
    ENSURE_REF(out);
    ENSURE(capacity > 0 && capacity <= (1u << 20), ERR_INVALID_ARG);
    *out = NULL;
    /* sodium_malloc aligns only allocations whose size is a multiple of the alignment. */
    size_t self_size = (sizeof(struct sigv4_key_cache) + 63u) & ~(size_t)63u;
    struct core_secret self;
    GUARD(core_secret_alloc(&self, self_size));
    struct sigv4_key_cache *c = (struct sigv4_key_cache *)(void *)self.ptr;
    c->self = self;
    c->scope = core_tlcache_new_scope();
    atomic_init(&c->hits, 0);
    atomic_init(&c->misses, 0);
    crypto_generichash_keygen(c->name_key);
    *out = c;
    CORE_OK;
}

void sigv4_key_cache_free(struct sigv4_key_cache *cache)
{
    if (cache == NULL) return;
    core_tlcache_purge(&signing_keys, cache->scope); /* wipes every thread's keys of this cache */
    struct core_secret self = cache->self;
    core_secret_free(&self); /* wipes the name key */
}

static void name_part(crypto_generichash_state *st, struct core_cursor part)
{
    /* Length-prefixed, so ("ab","c") and ("a","bc") name different entries. */
    uint8_t len[8];
    for (size_t i = 0; i < 8; i++) len[i] = (uint8_t)((uint64_t)part.len >> (8 * i));
    crypto_generichash_update(st, len, sizeof len);
    crypto_generichash_update(st, part.ptr, part.len);
}

core_result sigv4_key_cache_get_hmac(struct sigv4_key_cache *cache, struct core_cursor secret,
                                     struct core_cursor date, struct core_cursor region, struct core_cursor service,
                                     struct sigv4_hmac_key *hk)
{
    uint8_t key[SIGV4_KEY_BYTES];
    if (cache == NULL) {
        GUARD(sigv4_signing_key(secret, date, region, service, key));
        sigv4_hmac_key_prepare(key, hk);
        sodium_memzero(key, sizeof key);
        CORE_OK;
    }
    ENSURE(secret.len <= CORE_MAX_SECRET_KEY_BYTES, ERR_INVALID_ARG);

    uint8_t name[32];
    crypto_generichash_state st;
    crypto_generichash_init(&st, cache->name_key, sizeof cache->name_key, sizeof name);
    name_part(&st, secret);
    name_part(&st, date);
    name_part(&st, region);
    name_part(&st, service);
    crypto_generichash_final(&st, name, sizeof name);
    sodium_memzero(&st, sizeof st);

    struct core_cursor hit;
    if (core_tlcache_get(&signing_keys, cache->scope, 0, core_cursor_from(name, sizeof name), &hit) &&
        hit.len == sizeof *hk) {
        memcpy(hk, hit.ptr, sizeof *hk);
        atomic_fetch_add_explicit(&cache->hits, 1, memory_order_relaxed);
        CORE_OK;
    }
    atomic_fetch_add_explicit(&cache->misses, 1, memory_order_relaxed);
    GUARD(sigv4_signing_key(secret, date, region, service, key));
    sigv4_hmac_key_prepare(key, hk);
    sodium_memzero(key, sizeof key);
    core_tlcache_put(&signing_keys, cache->scope, 0, core_cursor_from(name, sizeof name),
                     core_cursor_from(hk, sizeof *hk), NULL);
    CORE_OK;
}

core_result sigv4_key_cache_get(struct sigv4_key_cache *cache, struct core_cursor secret, struct core_cursor date,
                                struct core_cursor region, struct core_cursor service,
                                uint8_t key[SIGV4_KEY_BYTES])
{
    struct sigv4_hmac_key hk;
    core_result r = sigv4_key_cache_get_hmac(cache, secret, date, region, service, &hk);
    if (core_ok(r)) memcpy(key, hk.key, SIGV4_KEY_BYTES);
    sodium_memzero(&hk, sizeof hk);
    return r;
}

void sigv4_key_cache_stats(struct sigv4_key_cache *cache, uint64_t *hits, uint64_t *misses)
{
    if (hits) *hits = cache ? atomic_load(&cache->hits) : 0;
    if (misses) *misses = cache ? atomic_load(&cache->misses) : 0;
}
