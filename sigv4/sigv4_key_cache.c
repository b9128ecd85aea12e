/*
 * Cache of derived signing keys. Deriving kSigning costs four HMACs; a
 * client reuses one (secret, date, region, service) for a whole day, so the
 * hot path is a lookup.
 *
 * Entries are named by a keyed BLAKE2b of the tuple (the key is random per
 * cache), so the table holds no secret in comparable form and a lookup
 * compares 32-byte names with core_ct_equal. The table is split into
 * stripes, each with its own mutex, chosen by the name: threads verifying
 * different clients rarely meet on a lock, and no lock covers the whole
 * cache. Everything, names and keys, lives in sodium_malloc'd memory (guard
 * pages, mlock); an evicted key is overwritten and sodium_free wipes the
 * rest on destroy.
 */
#include "sigv4/sigv4_stages.h"

#include <pthread.h>

#include <sodium.h>

#define SIGV4_CACHE_STRIPES 16u

struct cache_entry {
    uint8_t name[32];
    uint8_t key[SIGV4_KEY_BYTES];
    uint64_t last_use; /* stripe clock; 0 = empty */
};

struct cache_stripe {
    pthread_mutex_t mu;
    uint64_t clock, hits, misses;
    struct cache_entry *entries;
} __attribute__((aligned(64))); /* one cache line per lock: no false sharing */

struct sigv4_key_cache {
    struct core_secret self; /* this allocation, kept to free it */
    struct core_secret table;
    uint8_t name_key[crypto_generichash_KEYBYTES];
    size_t per_stripe;
    struct cache_stripe stripes[SIGV4_CACHE_STRIPES];
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
    c->per_stripe = (capacity + SIGV4_CACHE_STRIPES - 1) / SIGV4_CACHE_STRIPES;
    core_result r = core_secret_alloc(&c->table, c->per_stripe * SIGV4_CACHE_STRIPES * sizeof(struct cache_entry));
    if (!core_ok(r)) {
        core_secret_free(&self);
        return r;
    }
    crypto_generichash_keygen(c->name_key);
    for (size_t i = 0; i < SIGV4_CACHE_STRIPES; i++) {
        pthread_mutex_init(&c->stripes[i].mu, NULL);
        c->stripes[i].entries = (struct cache_entry *)(void *)c->table.ptr + i * c->per_stripe;
    }
    *out = c;
    CORE_OK;
}

void sigv4_key_cache_free(struct sigv4_key_cache *cache)
{
    if (cache == NULL) return;
    for (size_t i = 0; i < SIGV4_CACHE_STRIPES; i++) pthread_mutex_destroy(&cache->stripes[i].mu);
    core_secret_free(&cache->table); /* wipes every key */
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

core_result sigv4_key_cache_get(struct sigv4_key_cache *cache, struct core_cursor secret, struct core_cursor date,
                                struct core_cursor region, struct core_cursor service,
                                uint8_t key[SIGV4_KEY_BYTES])
{
    if (cache == NULL) return sigv4_signing_key(secret, date, region, service, key);
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

    struct cache_stripe *s = &cache->stripes[name[0] % SIGV4_CACHE_STRIPES];
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < cache->per_stripe; i++) {
        struct cache_entry *e = &s->entries[i];
        if (e->last_use && core_ct_equal(e->name, name, sizeof name)) {
            memcpy(key, e->key, SIGV4_KEY_BYTES);
            e->last_use = ++s->clock;
            s->hits++;
            pthread_mutex_unlock(&s->mu);
            CORE_OK;
        }
    }
    s->misses++;
    pthread_mutex_unlock(&s->mu);

    /* Derive outside the lock; two threads missing at once both derive the same key. */
    GUARD(sigv4_signing_key(secret, date, region, service, key));

    pthread_mutex_lock(&s->mu);
    struct cache_entry *victim = &s->entries[0];
    for (size_t i = 0; i < cache->per_stripe; i++) {
        struct cache_entry *e = &s->entries[i];
        if (e->last_use && core_ct_equal(e->name, name, sizeof name)) {
            victim = e; /* inserted meanwhile by another thread */
            break;
        }
        if (e->last_use < victim->last_use) victim = e; /* least recently used, empty first */
    }
    sodium_memzero(victim, sizeof *victim); /* wipe the evicted key */
    memcpy(victim->name, name, sizeof name);
    memcpy(victim->key, key, SIGV4_KEY_BYTES);
    victim->last_use = ++s->clock;
    pthread_mutex_unlock(&s->mu);
    CORE_OK;
}

void sigv4_key_cache_stats(struct sigv4_key_cache *cache, uint64_t *hits, uint64_t *misses)
{
    uint64_t h = 0, m = 0;
    for (size_t i = 0; cache && i < SIGV4_CACHE_STRIPES; i++) {
        pthread_mutex_lock(&cache->stripes[i].mu);
        h += cache->stripes[i].hits;
        m += cache->stripes[i].misses;
        pthread_mutex_unlock(&cache->stripes[i].mu);
    }
    if (hits) *hits = h;
    if (misses) *misses = m;
}
