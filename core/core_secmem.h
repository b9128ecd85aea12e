#ifndef CORE_SECMEM_H
#define CORE_SECMEM_H

/*
 * Secret memory. Long-lived secrets (master key, signing-key cache, unsealed
 * key material) live in sodium_malloc'd pages: guard pages, canary, mlock,
 * wiped on free. Comparisons of MACs, signatures and tokens go through
 * core_ct_equal only.
 */

#include <stdint.h>

#include "core/core_buf.h"

struct core_secret {
    uint8_t *ptr; /* sodium_malloc'd, or NULL */
    size_t len;
};

/** Initialises libsodium and OpenSSL; call once before anything else. */
CORE_RESULT core_crypto_init(void);

/*
 * Per-request secrets on server threads come from a per-thread secure arena:
 * one sodium_malloc'd region (guard pages, canary, mlock) per thread, carved
 * as a stack, every block wiped when freed. A request's secrets are freed by
 * the end of the request, so the stack empties and the region is reused,
 * instead of paying sodium_malloc's mmap/mprotect/mlock syscalls per buffer
 * (h2o's per-request pool plus s2n's wipe-on-free). Threads that never call
 * core_secmem_thread_arena() (main, tools) keep one sodium_malloc per
 * secret; so do allocations too large for the arena or past its capacity.
 * Sanitizer builds skip the arena so ASan still bounds every buffer.
 */
/** Enables the arena for the calling thread (idempotent, cheap). */
void core_secmem_thread_arena(void);

/** Allocates len bytes of guarded memory, zeroed. Errors: ERR_NOMEM. */
CORE_RESULT core_secret_alloc(struct core_secret *s, size_t len);
/** Allocates and copies src. Errors: ERR_NOMEM. */
CORE_RESULT core_secret_copy(struct core_secret *s, const void *src, size_t len);
/** Allocates and fills with CSPRNG output. Errors: ERR_NOMEM. */
CORE_RESULT core_secret_random(struct core_secret *s, size_t len);
/** Wipes and frees; safe on a zeroed struct. */
void core_secret_free(struct core_secret *s);
void core_secret_cleanup(struct core_secret *s);
static inline struct core_cursor core_secret_cursor(const struct core_secret *s)
{
    return core_cursor_from(s->ptr, s->len);
}

/**
 * Low-level guarded allocation behind core_secret and secret core_bufs:
 * from the thread's arena when enabled and it fits, else sodium_malloc.
 * core_secmem_free wipes len bytes (arena) or the whole block (sodium_free).
 * NULL on failure; core_secmem_free(NULL, n) is a no-op.
 */
void *core_secmem_alloc(size_t len);
void core_secmem_free(void *p, size_t len);

/** Constant-time equality; false when lengths differ (lengths are public). */
bool core_ct_equal(const void *a, const void *b, size_t len);
bool core_ct_equal_cursor(struct core_cursor a, struct core_cursor b);
/** Wipes memory so the compiler cannot elide it. */
void core_wipe(void *p, size_t len);
/** Fills with CSPRNG output. */
void core_random(void *p, size_t len);

#endif
