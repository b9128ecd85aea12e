/*
 * The thread-local cache (core_tlcache.h). A thread's table of one def is
 * one sodium_malloc allocation: a header, then `ways` fixed-size entries
 * (header, key bytes, value bytes). The table's mutex is only ever taken by
 * its own thread, except by core_tlcache_purge and at thread exit, so it is
 * uncontended on the request path. All tables are on one registry list so a
 * purge can reach other threads' entries.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/core_secmem.h"
#include "core/core_tlcache.h"

struct entry {
    uint64_t scope; /* 0: empty */
    uint64_t generation;
    uint64_t last_used;
    size_t key_len, value_len;
    /* then key_max bytes of key, then value_max bytes of value (16-aligned) */
};

struct table {
    struct table *next, *prev; /* the registry */
    struct core_tlcache_def *def;
    pthread_mutex_t mu;
    uint64_t clock;
    size_t entry_size, key_room;
    unsigned ways;
    _Alignas(16) uint8_t entries[];
};

struct thread_tables {
    struct table *t[CORE_TLCACHE_MAX_KINDS];
};

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct table *registry;
static unsigned kinds; /* guarded by registry_mu */
static _Atomic uint64_t scopes;

static pthread_key_t thread_key;
static pthread_once_t thread_once = PTHREAD_ONCE_INIT;
static _Thread_local struct thread_tables *mine;

static size_t round16(size_t n) { return (n + 15u) & ~(size_t)15u; }

static void free_table(struct table *t)
{
    pthread_mutex_lock(&registry_mu);
    if (t->prev) t->prev->next = t->next;
    else registry = t->next;
    if (t->next) t->next->prev = t->prev;
    pthread_mutex_unlock(&registry_mu);
    pthread_mutex_destroy(&t->mu);
    sodium_free(t); /* wipes the whole block */
}

static void thread_exit(void *p)
{
    struct thread_tables *tt = p;
    for (unsigned i = 0; i < CORE_TLCACHE_MAX_KINDS; i++)
        if (tt->t[i]) free_table(tt->t[i]);
    free(tt);
}

static void key_once(void)
{
    if (pthread_key_create(&thread_key, thread_exit) != 0) abort();
}

static unsigned kind_of(struct core_tlcache_def *def)
{
    unsigned k = atomic_load_explicit(&def->kind, memory_order_acquire);
    if (k) return k;
    /* First use of def in the process: numbered under the registry lock, so
     * threads racing here agree on one number and none is wasted. */
    pthread_mutex_lock(&registry_mu);
    k = atomic_load_explicit(&def->kind, memory_order_relaxed);
    if (k == 0) {
        k = ++kinds;
        if (k > CORE_TLCACHE_MAX_KINDS) abort(); /* a new def needs CORE_TLCACHE_MAX_KINDS raised */
        atomic_store_explicit(&def->kind, k, memory_order_release);
    }
    pthread_mutex_unlock(&registry_mu);
    return k;
}

static struct entry *entry_at(struct table *t, unsigned i)
{
    return (struct entry *)(void *)(t->entries + (size_t)i * t->entry_size);
}
static uint8_t *key_of(struct entry *e) { return (uint8_t *)e + round16(sizeof *e); }
static uint8_t *value_of(struct table *t, struct entry *e) { return key_of(e) + t->key_room; }

/* The calling thread's table of def, created on first use (NULL when it cannot be). */
static struct table *table_of(struct core_tlcache_def *def)
{
    if (def->ways == 0 || def->ways > CORE_TLCACHE_MAX_WAYS) abort();
    unsigned k = kind_of(def) - 1;
    if (mine && mine->t[k]) return mine->t[k];
    pthread_once(&thread_once, key_once);
    if (mine == NULL) {
        struct thread_tables *tt = calloc(1, sizeof *tt);
        if (tt == NULL) return NULL;
        if (pthread_setspecific(thread_key, tt) != 0) {
            free(tt);
            return NULL;
        }
        mine = tt;
    }
    size_t key_room = round16(def->key_max);
    size_t entry_size = round16(sizeof(struct entry)) + key_room + round16(def->value_max);
    size_t size = sizeof(struct table) + entry_size * def->ways;
    /* sodium_malloc aligns only allocations whose size is a multiple of the alignment. */
    struct table *t = sodium_malloc(round16(size));
    if (t == NULL) return NULL;
    sodium_memzero(t, round16(size));
    t->def = def;
    t->entry_size = entry_size;
    t->key_room = key_room;
    t->ways = def->ways;
    pthread_mutex_init(&t->mu, NULL);
    pthread_mutex_lock(&registry_mu);
    t->next = registry;
    if (registry) registry->prev = t;
    registry = t;
    pthread_mutex_unlock(&registry_mu);
    mine->t[k] = t;
    return t;
}

static bool same_key(const struct core_tlcache_def *def, struct entry *e, struct core_cursor key)
{
    if (e->key_len != key.len) return false;
    if (def->public_keys) return core_cursor_eq(core_cursor_from(key_of(e), e->key_len), key);
    return core_ct_equal(key_of(e), key.ptr, key.len);
}

bool core_tlcache_get(struct core_tlcache_def *def, uint64_t scope, uint64_t generation, struct core_cursor key,
                      struct core_cursor *value)
{
    *value = (struct core_cursor){0};
    if (scope == 0 || key.len > def->key_max) return false;
    struct table *t = table_of(def);
    if (t == NULL) return false;
    bool hit = false;
    pthread_mutex_lock(&t->mu);
    t->clock++;
    for (unsigned i = 0; i < t->ways; i++) {
        struct entry *e = entry_at(t, i);
        if (e->scope == scope && e->generation == generation && same_key(def, e, key)) {
            e->last_used = t->clock;
            *value = core_cursor_from(value_of(t, e), e->value_len);
            hit = true;
            break;
        }
    }
    pthread_mutex_unlock(&t->mu);
    return hit;
}

bool core_tlcache_put(struct core_tlcache_def *def, uint64_t scope, uint64_t generation, struct core_cursor key,
                      struct core_cursor value, struct core_cursor *stored)
{
    if (stored) *stored = (struct core_cursor){0};
    if (scope == 0 || key.len > def->key_max || value.len > def->value_max) return false;
    struct table *t = table_of(def);
    if (t == NULL) return false;
    pthread_mutex_lock(&t->mu);
    struct entry *slot = NULL;
    for (unsigned i = 0; i < t->ways; i++) {
        struct entry *e = entry_at(t, i);
        if (e->scope == scope && same_key(def, e, key)) {
            slot = e; /* the same key under an older generation: replace it */
            break;
        }
        if (slot == NULL || e->last_used < slot->last_used) slot = e; /* least recently used, empty first */
    }
    sodium_memzero(slot, t->entry_size); /* wipe what it held */
    slot->scope = scope;
    slot->generation = generation;
    slot->last_used = ++t->clock;
    slot->key_len = key.len;
    slot->value_len = value.len;
    if (key.len) memcpy(key_of(slot), key.ptr, key.len);
    if (value.len) memcpy(value_of(t, slot), value.ptr, value.len);
    if (stored) *stored = core_cursor_from(value_of(t, slot), value.len);
    pthread_mutex_unlock(&t->mu);
    return true;
}

void core_tlcache_purge(struct core_tlcache_def *def, uint64_t scope)
{
    if (scope == 0) return;
    pthread_mutex_lock(&registry_mu);
    for (struct table *t = registry; t; t = t->next) {
        if (t->def != def) continue;
        pthread_mutex_lock(&t->mu);
        for (unsigned i = 0; i < t->ways; i++) {
            struct entry *e = entry_at(t, i);
            if (e->scope == scope) sodium_memzero(e, t->entry_size);
        }
        pthread_mutex_unlock(&t->mu);
    }
    pthread_mutex_unlock(&registry_mu);
}

uint64_t core_tlcache_new_scope(void) { return atomic_fetch_add(&scopes, 1) + 1; }
