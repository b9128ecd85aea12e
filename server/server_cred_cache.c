/*
 * Long-term credential cache. Every signed request needs its access key's
 * secret and owner; reading them is a keystore transaction, an AEAD open
 * and a JSON parse. Each worker thread keeps a few recently used keys in the
 * thread-local cache (core_tlcache: guarded memory, wiped on eviction),
 * valid while the keystore generation (LMDB's last transaction id, bumped by
 * any process's write) is unchanged: a deleted, deactivated or re-keyed
 * access key is never served stale.
 */
#include <sodium.h>

#include "server/server_internal.h"

/* What one entry holds (the value bytes of a cache entry). */
struct cred_value {
    struct core_principal owner;
    bool active;
    size_t secret_len;
    uint8_t secret[CORE_MAX_SECRET_KEY_BYTES];
};

static struct core_tlcache_def cred_cache = {
    .name = "credentials", .ways = 16, .key_max = 131, .value_max = sizeof(struct cred_value), .public_keys = true};

static _Atomic uint64_t cred_hits, cred_misses; /* for /metrics */

void server_cred_cache_stats(uint64_t *hits, uint64_t *misses)
{
    *hits = cred_hits;
    *misses = cred_misses;
}

static void hand_out(const struct cred_value *v, struct core_principal *owner, bool *active,
                     struct core_cursor *secret)
{
    *owner = v->owner;
    *active = v->active;
    *secret = core_cursor_from(v->secret, v->secret_len);
}

core_result server_cred_lookup(struct keystore *ks, struct core_cursor id, struct core_principal *owner,
                               bool *active, struct core_cursor *secret)
{
    ENSURE(id.len > 0 && id.len <= cred_cache.key_max, ERR_NOT_FOUND);
    /* Read before the lookup: a write racing with it leaves the entry
     * tagged older than the data, which only costs one more lookup. */
    uint64_t gen = keystore_generation(ks);
    uint64_t scope = (uint64_t)(uintptr_t)ks;
    struct core_cursor hit;
    if (gen != UINT64_MAX && core_tlcache_get(&cred_cache, scope, gen, id, &hit)) {
        hand_out((const struct cred_value *)(const void *)hit.ptr, owner, active, secret);
        cred_hits++;
        CORE_OK;
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
    /* Built in guarded memory, stored (copied) into the cache, then wiped. */
    struct core_secret tmp = {0};
    r = key.secret.len <= CORE_MAX_SECRET_KEY_BYTES ? core_secret_alloc(&tmp, sizeof(struct cred_value))
                                                    : core_result_fail_at(ERR_NOMEM, __FILE__, __LINE__);
    struct core_cursor stored = {0};
    if (core_ok(r)) {
        struct cred_value *v = (struct cred_value *)(void *)tmp.ptr;
        v->owner = key.owner;
        v->active = key.active;
        v->secret_len = key.secret.len;
        memcpy(v->secret, key.secret.ptr, key.secret.len);
        if (gen == UINT64_MAX ||
            !core_tlcache_put(&cred_cache, scope, gen, id, core_cursor_from(tmp.ptr, tmp.len), &stored))
            r = core_result_fail_at(ERR_NOMEM, __FILE__, __LINE__); /* no cache on this thread */
    }
    core_secret_free(&tmp);
    iam_access_key_free(&key);
    GUARD(r);
    hand_out((const struct cred_value *)(const void *)stored.ptr, owner, active, secret);
    CORE_OK;
}

void server_cred_cache_purge(struct keystore *ks) { core_tlcache_purge(&cred_cache, (uint64_t)(uintptr_t)ks); }
