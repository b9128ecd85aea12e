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

/** Constant-time equality; false when lengths differ (lengths are public). */
bool core_ct_equal(const void *a, const void *b, size_t len);
bool core_ct_equal_cursor(struct core_cursor a, struct core_cursor b);
/** Wipes memory so the compiler cannot elide it. */
void core_wipe(void *p, size_t len);
/** Fills with CSPRNG output. */
void core_random(void *p, size_t len);

#endif
