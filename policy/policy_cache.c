/* The reference-counted compiled-policy cache (policy.h, "policy_cache"). */
#include <stdio.h>
#include <string.h>

#include "core/core_clock.h"
#include "policy/policy.h"

/* The bucket hash of a key: eight bytes per multiply (every KMS and IAM request hashes a record id or a
 * principal ARN of 50-100 bytes; FNV-1a's byte loop cost some 300 instructions). Collisions cost a
 * strcmp, never a wrong hit. */
static uint32_t key_hash(const char *s)
{
    const uint64_t m = 0xff51afd7ed558ccdull;
    size_t n = strlen(s);
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n, w;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * m;
        h ^= h >> 32;
    }
    w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * m;
    h ^= h >> 29;
    return (uint32_t)h;
}

core_result policy_cache_init(struct policy_cache *c, size_t max, void (*free_item)(struct policy_cache_item *))
{
    *c = (struct policy_cache){.max = max, .free_item = free_item};
    ENSURE(pthread_mutex_init(&c->lock, NULL) == 0, ERR_NOMEM);
    CORE_OK;
}

void policy_cache_destroy(struct policy_cache *c)
{
    for (size_t b = 0; b < POLICY_CACHE_BUCKETS; b++) {
        struct policy_cache_item *it = c->buckets[b];
        while (it) {
            struct policy_cache_item *n = it->next;
            c->free_item(it);
            it = n;
        }
        c->buckets[b] = NULL;
    }
    c->count = 0;
    pthread_mutex_destroy(&c->lock);
}

/* Lock held. */
static void unlink_item(struct policy_cache *c, struct policy_cache_item *it)
{
    struct policy_cache_item **pp = &c->buckets[it->hash % POLICY_CACHE_BUCKETS];
    while (*pp && *pp != it) pp = &(*pp)->next;
    if (*pp) *pp = it->next;
    it->linked = false;
    c->count--;
    if (it->refs == 0) c->free_item(it);
}

struct policy_cache_item *policy_cache_acquire(struct policy_cache *c, const char *key, uint64_t generation,
                                               uint64_t max_age_ns)
{
    uint32_t h = key_hash(key);
    uint64_t now = max_age_ns ? core_clock_mono_ns() : 0;
    struct policy_cache_item *found = NULL;
    pthread_mutex_lock(&c->lock);
    for (struct policy_cache_item *it = c->buckets[h % POLICY_CACHE_BUCKETS]; it; it = it->next) {
        if (it->hash != h || strcmp(it->key, key) != 0) continue;
        if (it->generation == generation && (max_age_ns == 0 || now - it->built_ns < max_age_ns)) {
            it->refs++;
            found = it;
        } else {
            unlink_item(c, it); /* a newer version is about to be built */
        }
        break;
    }
    pthread_mutex_unlock(&c->lock);
    return found;
}

void policy_cache_insert(struct policy_cache *c, struct policy_cache_item *it, const char *key, uint64_t generation,
                         uint64_t built_ns)
{
    snprintf(it->key, sizeof it->key, "%s", key);
    it->hash = key_hash(it->key);
    it->generation = generation;
    it->built_ns = built_ns ? built_ns : core_clock_mono_ns();
    it->refs = 1;
    pthread_mutex_lock(&c->lock);
    it->next = c->buckets[it->hash % POLICY_CACHE_BUCKETS];
    c->buckets[it->hash % POLICY_CACHE_BUCKETS] = it;
    it->linked = true;
    c->count++;
    if (c->count > c->max) /* drop the idle ones */
        for (size_t b = 0; b < POLICY_CACHE_BUCKETS; b++)
            for (struct policy_cache_item *x = c->buckets[b], *n; x; x = n) {
                n = x->next;
                if (x->refs == 0) unlink_item(c, x);
            }
    pthread_mutex_unlock(&c->lock);
}

void policy_cache_release(struct policy_cache *c, struct policy_cache_item *it)
{
    if (!it) return;
    pthread_mutex_lock(&c->lock);
    it->refs--;
    if (!it->linked && it->refs == 0) c->free_item(it);
    pthread_mutex_unlock(&c->lock);
}
