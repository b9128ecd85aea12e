#ifndef CORE_TLCACHE_H
#define CORE_TLCACHE_H

/*
 * One thread-local cache for everything the request path re-derives: the
 * keystore's opened records, opened session tokens, access-key secrets and
 * SigV4 signing keys. Each kind of cache is a static struct core_tlcache_def
 * (ways, key and value capacity); each thread gets its own table of it on
 * first use, so a lookup takes no shared lock.
 *
 * - Entries live in guarded memory (sodium_malloc: guard pages, canary,
 *   mlock); a replaced entry is wiped before reuse, and a thread's tables
 *   are wiped and freed when the thread ends.
 * - Every entry carries (scope, generation): a lookup hits only an entry of
 *   the same scope (the owner: a keystore, an STS env, a signing-key cache;
 *   never 0) and generation (a snapshot id, a keystore write counter), so a
 *   stale answer is never served. core_tlcache_purge() wipes a scope's
 *   entries in every thread when its owner goes away.
 * - Keys are compared by length, then in constant time (core_ct_equal): a
 *   key may be a secret-derived name or a bearer token. A def whose keys
 *   are public names (record ids, access key ids) sets public_keys and is
 *   compared with core_cursor_eq.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core_buf.h"

#define CORE_TLCACHE_MAX_KINDS 8u /* distinct defs in one process */
#define CORE_TLCACHE_MAX_WAYS 64u

struct core_tlcache_def {
    const char *name;          /* for logs */
    unsigned ways;             /* entries per thread, 1..CORE_TLCACHE_MAX_WAYS */
    size_t key_max, value_max; /* bytes */
    bool public_keys;          /* keys are public names: no constant-time compare needed */
    _Atomic unsigned kind;     /* assigned at first use (1..); leave zero */
};

/**
 * Finds key in the calling thread's table of def.
 * @param[out] value a view of the cached bytes in guarded memory, valid
 *     until this thread's next core_tlcache_* call on def (or a purge of scope).
 * @return true on a hit.
 */
bool core_tlcache_get(struct core_tlcache_def *def, uint64_t scope, uint64_t generation, struct core_cursor key,
                      struct core_cursor *value);
/**
 * Stores value under key (replacing the same key, else the least recently
 * used entry, wiped first). Does nothing when the key or value exceeds the
 * def's capacity or the thread's table cannot be allocated: a cache miss
 * next time is the only consequence.
 * @param[out] stored the stored copy (as core_tlcache_get's view); may be
 *     NULL. Empty when nothing was stored.
 * @return true when stored.
 */
bool core_tlcache_put(struct core_tlcache_def *def, uint64_t scope, uint64_t generation, struct core_cursor key,
                      struct core_cursor value, struct core_cursor *stored);
/** Wipes every entry of scope in every thread's table of def (the owner is going away). */
void core_tlcache_purge(struct core_tlcache_def *def, uint64_t scope);
/** A process-unique, never-reused, non-zero scope id for a new owner. */
uint64_t core_tlcache_new_scope(void);

#endif
