#include "core/core_secmem.h"

#include <pthread.h>
#include <stdatomic.h>

#include <openssl/crypto.h>
#include <limits.h>

#include <openssl/err.h>
#include <sodium.h>

core_result core_crypto_init(void)
{
    ENSURE(sodium_init() >= 0, ERR_CRYPTO);
    ENSURE(OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL) == 1, ERR_CRYPTO);
    CORE_OK;
}

#if defined(__SANITIZE_ADDRESS__)
#define SECMEM_ARENA 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SECMEM_ARENA 0
#endif
#endif
#ifndef SECMEM_ARENA
#define SECMEM_ARENA 1
#endif

#define ARENA_BYTES (256u * 1024u)
#define ARENA_SLOTS 128u
#define ARENA_MAX 512u
#define ARENA_ALIGN 16u

/*
 * One thread's arena. Blocks are pushed on a stack; freeing marks a block
 * dead and pops dead blocks off the top. Another thread may free a block
 * (a secret handed across threads), hence the lock, uncontended in practice.
 */
struct arena {
    pthread_mutex_t lock;
    uint8_t *base;
    size_t top;
    unsigned n;
    uint32_t off[ARENA_SLOTS];
    uint32_t len[ARENA_SLOTS];
    bool live[ARENA_SLOTS];
};

static struct arena *arenas[ARENA_MAX];
static atomic_uint n_arenas;
static _Thread_local struct arena *my_arena;
static _Thread_local bool my_arena_wanted;

void core_secmem_thread_arena(void)
{
    my_arena_wanted = SECMEM_ARENA != 0;
}

static struct arena *arena_get(void)
{
    if (my_arena || !my_arena_wanted) return my_arena;
    unsigned idx = atomic_fetch_add(&n_arenas, 1);
    if (idx >= ARENA_MAX) {
        atomic_fetch_sub(&n_arenas, 1);
        my_arena_wanted = false;
        return NULL;
    }
    struct arena *a = sodium_malloc(sizeof *a);
    uint8_t *base = sodium_malloc(ARENA_BYTES);
    if (!a || !base) {
        if (a) sodium_free(a);
        if (base) sodium_free(base);
        arenas[idx] = NULL;
        my_arena_wanted = false;
        return NULL;
    }
    memset(a, 0, sizeof *a);
    sodium_memzero(base, ARENA_BYTES);
    pthread_mutex_init(&a->lock, NULL);
    a->base = base;
    /* Published after initialisation; arenas live as long as the process. */
    atomic_thread_fence(memory_order_release);
    arenas[idx] = a;
    my_arena = a;
    return a;
}

void *core_secmem_alloc(size_t len)
{
    size_t need = (len + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need == 0) need = ARENA_ALIGN;
    struct arena *a = need <= ARENA_BYTES / 4 ? arena_get() : NULL;
    if (a) {
        pthread_mutex_lock(&a->lock);
        if (a->n < ARENA_SLOTS && a->top + need <= ARENA_BYTES) {
            uint8_t *p = a->base + a->top;
            a->off[a->n] = (uint32_t)a->top;
            a->len[a->n] = (uint32_t)need;
            a->live[a->n] = true;
            a->n++;
            a->top += need;
            pthread_mutex_unlock(&a->lock);
            return p; /* zero: the arena is wiped as blocks are freed */
        }
        pthread_mutex_unlock(&a->lock);
    }
    void *p = sodium_malloc(len ? len : 1);
    if (p) sodium_memzero(p, len ? len : 1);
    return p;
}

static struct arena *arena_owning(const uint8_t *p)
{
    unsigned n = atomic_load(&n_arenas);
    if (n > ARENA_MAX) n = ARENA_MAX;
    atomic_thread_fence(memory_order_acquire);
    for (unsigned i = 0; i < n; i++) {
        struct arena *a = arenas[i];
        if (a && p >= a->base && p < a->base + ARENA_BYTES) return a;
    }
    return NULL;
}

void core_secmem_free(void *vp, size_t len)
{
    (void)len;
    uint8_t *p = vp;
    if (p == NULL) return;
    struct arena *a = SECMEM_ARENA ? arena_owning(p) : NULL;
    if (a == NULL) {
        sodium_free(p); /* wipes */
        return;
    }
    pthread_mutex_lock(&a->lock);
    uint32_t off = (uint32_t)(p - a->base);
    for (unsigned i = a->n; i-- > 0;) {
        if (a->off[i] == off && a->live[i]) {
            sodium_memzero(p, a->len[i]);
            a->live[i] = false;
            break;
        }
    }
    while (a->n > 0 && !a->live[a->n - 1]) {
        a->n--;
        a->top = a->off[a->n];
    }
    pthread_mutex_unlock(&a->lock);
}

core_result core_secret_alloc(struct core_secret *s, size_t len)
{
    *s = (struct core_secret){0};
    s->ptr = core_secmem_alloc(len);
    ENSURE(s->ptr != NULL, ERR_NOMEM);
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
    core_random(s->ptr, len);
    CORE_OK;
}

void core_secret_free(struct core_secret *s)
{
    if (s->ptr) core_secmem_free(s->ptr, s->len);
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

/*
 * The per-thread CSPRNG behind core_random: fast-key-erasure ChaCha20
 * (libsodium's randombytes_buf_deterministic keyed by a 32-byte secret),
 * seeded from the OS, reseeded from the OS every RNG_RESEED_BYTES, and
 * rekeyed from its own output at every refill so earlier output cannot be
 * recomputed. Request ids and nonces then cost no syscall; libsodium's
 * randombytes_buf is a getrandom() per call. State lives in guarded memory
 * and is discarded in a forked child (pthread_atfork), so parent and child
 * never share a stream.
 */
#define RNG_BLOCK 512u
#define RNG_RESEED_BYTES (1u << 20)

struct rng {
    uint8_t key[randombytes_SEEDBYTES];
    uint8_t buf[RNG_BLOCK];
    size_t pos;          /* next unread byte of buf; RNG_BLOCK when empty */
    size_t since_reseed;
    unsigned fork_gen;
};

static _Thread_local struct rng *tls_rng;
static atomic_uint rng_fork_gen;
static pthread_once_t rng_once = PTHREAD_ONCE_INIT;

static void rng_on_fork_child(void) { atomic_fetch_add(&rng_fork_gen, 1); }
static void rng_init_once(void) { pthread_atfork(NULL, NULL, rng_on_fork_child); }

static void rng_refill(struct rng *g)
{
    uint8_t out[randombytes_SEEDBYTES + RNG_BLOCK];
    if (g->since_reseed >= RNG_RESEED_BYTES) {
        uint8_t fresh[randombytes_SEEDBYTES];
        randombytes_buf(fresh, sizeof fresh);
        for (size_t i = 0; i < sizeof fresh; i++) g->key[i] ^= fresh[i];
        sodium_memzero(fresh, sizeof fresh);
        g->since_reseed = 0;
    }
    randombytes_buf_deterministic(out, sizeof out, g->key);
    memcpy(g->key, out, sizeof g->key);
    memcpy(g->buf, out + sizeof g->key, RNG_BLOCK);
    sodium_memzero(out, sizeof out);
    g->pos = 0;
    g->since_reseed += RNG_BLOCK;
}

static struct rng *rng_get(void)
{
    pthread_once(&rng_once, rng_init_once);
    unsigned gen = atomic_load(&rng_fork_gen);
    struct rng *g = tls_rng;
    if (g == NULL) {
        g = sodium_malloc(sizeof *g);
        if (g == NULL) return NULL;
        tls_rng = g;
        g->fork_gen = gen - 1; /* force seeding below */
    }
    if (g->fork_gen != gen) {
        randombytes_buf(g->key, sizeof g->key);
        g->pos = RNG_BLOCK;
        g->since_reseed = 0;
        g->fork_gen = gen;
    }
    return g;
}

void core_random(void *p, size_t len)
{
    struct rng *g = len <= RNG_BLOCK ? rng_get() : NULL;
    if (g == NULL) {
        randombytes_buf(p, len);
        return;
    }
    uint8_t *out = p;
    while (len) {
        if (g->pos == RNG_BLOCK) rng_refill(g);
        size_t n = RNG_BLOCK - g->pos < len ? RNG_BLOCK - g->pos : len;
        memcpy(out, g->buf + g->pos, n);
        sodium_memzero(g->buf + g->pos, n); /* used output is not kept */
        g->pos += n;
        out += n;
        len -= n;
    }
}
