/*
 * Long-term credential cache. Every signed request needs its access key's
 * secret and owner; reading them is a keystore transaction, an AEAD open
 * and a JSON parse. Each worker thread keeps a few recently used keys in its
 * own guarded (sodium_malloc) table, valid while the keystore generation
 * (LMDB's last transaction id, bumped by any process's write) is unchanged:
 * a deleted, deactivated or re-keyed access key is never served stale. No
 * lock: the table is the thread's own.
 */
#include <sodium.h>

#include "server/server_internal.h"

#define CACHE_WAYS 16u

struct cred_entry {
    uint64_t generation; /* 0: empty */
    uint64_t last_used;
    char id[132];
    struct core_principal owner;
    bool active;
    size_t secret_len;
    uint8_t secret[CORE_MAX_SECRET_KEY_BYTES];
};

struct cred_cache {
    uint64_t clock;
    struct cred_entry e[CACHE_WAYS];
};

static _Thread_local struct cred_cache *tls_cache;
static _Atomic uint64_t cred_hits, cred_misses; /* for /metrics */

void server_cred_cache_stats(uint64_t *hits, uint64_t *misses)
{
    *hits = cred_hits;
    *misses = cred_misses;
}

static struct cred_cache *cache_get(void)
{
    if (tls_cache == NULL) {
        /* Guarded and never freed: worker threads live as long as the server. */
        struct cred_cache *c = sodium_malloc(sizeof *c);
        if (c == NULL) return NULL;
        sodium_memzero(c, sizeof *c);
        tls_cache = c;
    }
    return tls_cache;
}

core_result server_cred_lookup(struct keystore *ks, struct core_cursor id, struct core_principal *owner,
                               bool *active, struct core_cursor *secret)
{
    ENSURE(id.len > 0 && id.len < sizeof(((struct cred_entry *)0)->id), ERR_NOT_FOUND);
    /* Read before the lookup: a write racing with it leaves the entry
     * tagged older than the data, which only costs one more lookup. */
    uint64_t gen = keystore_generation(ks);
    struct cred_cache *c = gen != UINT64_MAX ? cache_get() : NULL;
    struct cred_entry *slot = NULL;
    if (c) {
        c->clock++;
        for (unsigned i = 0; i < CACHE_WAYS; i++) {
            struct cred_entry *e = &c->e[i];
            if (e->generation == gen && core_cursor_eq_str(id, e->id)) {
                e->last_used = c->clock;
                *owner = e->owner;
                *active = e->active;
                *secret = core_cursor_from(e->secret, e->secret_len);
                cred_hits++;
                CORE_OK;
            }
            if (slot == NULL || e->last_used < slot->last_used) slot = e;
        }
    }
    cred_misses++;
    struct iam_access_key key = {0};
    struct keystore_txn *txn = NULL;
    core_result r = keystore_txn_begin(ks, false, &txn);
    if (core_ok(r)) {
        r = iam_access_key_get(txn, id, &key);
        keystore_txn_abort(txn);
    }
    if (!core_ok(r)) {
        iam_access_key_free(&key);
        return r;
    }
    if (slot == NULL || key.secret.len > sizeof slot->secret) {
        /* No cache on this thread: hand out a copy that lives until the next lookup. */
        iam_access_key_free(&key);
        BAIL(ERR_NOMEM);
    }
    sodium_memzero(slot, sizeof *slot);
    memcpy(slot->id, id.ptr, id.len);
    slot->owner = key.owner;
    slot->active = key.active;
    slot->secret_len = key.secret.len;
    memcpy(slot->secret, key.secret.ptr, key.secret.len);
    slot->generation = gen;
    slot->last_used = c->clock;
    iam_access_key_free(&key);
    *owner = slot->owner;
    *active = slot->active;
    *secret = core_cursor_from(slot->secret, slot->secret_len);
    CORE_OK;
}
