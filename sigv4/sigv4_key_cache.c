/*
 * Cache of derived signing keys. Deriving kSigning costs four HMACs; a
 * client reuses one (secret, date, region, service) for a whole day, so the
 * hot path is a lookup. Each entry holds the key prepared for HMAC
 * (struct sigv4_hmac_key: its padded blocks already hashed).
 *
 * Entries are named by a keyed 128-bit SipHash (libsodium's
 * crypto_shorthash_siphashx24, a PRF; the key is random per cache) of the
 * length-prefixed tuple, so the table holds no secret in comparable form.
 * (It was a keyed BLAKE2b: one compression of a 128-byte block, 2,000
 * instructions per request, for a name whose only job is to be unforgeable
 * without the key; a colliding name could only make a signature fail, never
 * pass, since the signature is still computed and compared in full.) The entries live
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
    uint8_t name_key[crypto_shorthash_siphashx24_KEYBYTES];
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
    randombytes_buf(c->name_key, sizeof c->name_key);
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

/* Length-prefixed, so ("ab","c") and ("a","bc") name different entries. */
static core_result name_part(uint8_t *buf, size_t cap, size_t *n, struct core_cursor part)
{
    ENSURE(*n <= cap - 8 && part.len <= cap - 8 - *n, ERR_INVALID_ARG);
    for (size_t i = 0; i < 8; i++) buf[(*n)++] = (uint8_t)((uint64_t)part.len >> (8 * i));
    if (part.len) memcpy(buf + *n, part.ptr, part.len);
    *n += part.len;
    CORE_OK;
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

    /* The tuple holds the secret: built in a stack buffer wiped right after hashing, with room for
     * the longest secret and three scope parts as sigv4_parse caps them. A longer tuple (a caller of
     * this stage that did not parse) is never truncated into a name: its key is derived uncached. */
    uint8_t tuple[4 * 8 + CORE_MAX_SECRET_KEY_BYTES + 3 * SIGV4_MAX_SCOPE_PART_BYTES];
    size_t tn = 0;
    core_result r = name_part(tuple, sizeof tuple, &tn, secret);
    if (core_ok(r)) r = name_part(tuple, sizeof tuple, &tn, date);
    if (core_ok(r)) r = name_part(tuple, sizeof tuple, &tn, region);
    if (core_ok(r)) r = name_part(tuple, sizeof tuple, &tn, service);
    uint8_t name[crypto_shorthash_siphashx24_BYTES];
    if (core_ok(r)) crypto_shorthash_siphashx24(name, tuple, tn, cache->name_key);
    sodium_memzero(tuple, sizeof tuple);
    if (!core_ok(r)) {
        GUARD(sigv4_signing_key(secret, date, region, service, key));
        sigv4_hmac_key_prepare(key, hk);
        sodium_memzero(key, sizeof key);
        CORE_OK;
    }

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
