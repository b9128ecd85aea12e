#ifndef CORE_BUF_H
#define CORE_BUF_H

/*
 * Borrowed views and owned, bounded buffers (aws-c-common's byte_cursor and
 * byte_buf, s2n's blob/stuffer). A core_buf's max is fixed at init: growth
 * past it fails with ERR_LIMIT instead of allocating without bound. A secret
 * buf lives in sodium_malloc'd memory, is never realloc'ed (allocate, copy,
 * wipe) and is wiped on free.
 */

#include <stdint.h>
#include <string.h>

#include "core/core_result.h"

struct core_cursor {
    const uint8_t *ptr;
    size_t len;
};

struct core_buf {
    uint8_t *data;
    size_t len, cap, max;
    unsigned secret : 1;
    unsigned wipe : 1; /* ordinary memory that may hold secrets: grown by allocate-copy-wipe, wiped on free */
};

static inline struct core_cursor core_cursor_from(const void *p, size_t len)
{
    return (struct core_cursor){(const uint8_t *)p, len};
}
static inline struct core_cursor core_cursor_str(const char *s)
{
    return (struct core_cursor){(const uint8_t *)s, s ? strlen(s) : 0};
}
static inline struct core_cursor core_buf_cursor(const struct core_buf *b)
{
    return (struct core_cursor){b->data, b->len};
}

/** True when the two views hold the same bytes. NOT CONSTANT TIME. */
bool core_cursor_eq(struct core_cursor a, struct core_cursor b);
/** Same as core_cursor_eq, ignoring ASCII case. NOT CONSTANT TIME. */
bool core_bytes_eq_icase(const uint8_t *a, const uint8_t *b, size_t len);
/* Inline so the common mismatches (another length, another first byte but for ASCII case: equal names
 * agree in bit-or 0x20 of it) cost no call: header lookups compare each wanted name with every header. */
static inline bool core_cursor_eq_icase(struct core_cursor a, struct core_cursor b)
{
    return a.len == b.len && (a.len == 0 || ((a.ptr[0] | 0x20) == (b.ptr[0] | 0x20) &&
                                             core_bytes_eq_icase(a.ptr, b.ptr, a.len)));
}
/** True when a equals the C string s. NOT CONSTANT TIME. Inline so that with a literal s the length is a
 * constant and another length costs no call (issue 14: several compares per request). */
static inline bool core_cursor_eq_str(struct core_cursor a, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return a.len == n && core_cursor_eq(a, (struct core_cursor){(const uint8_t *)s, n});
}
/** Byte-wise ordering (memcmp order, shorter first on a tie). NOT CONSTANT TIME. */
int core_cursor_cmp(struct core_cursor a, struct core_cursor b);
bool core_cursor_starts_with(struct core_cursor a, const char *prefix);
/**
 * Splits *cur at the first sep: *tok receives the part before it, *cur the
 * part after. Without sep, *tok is all of *cur and *cur becomes empty.
 * Returns false only when *cur was already empty (and not just emptied).
 */
bool core_cursor_split(struct core_cursor *cur, uint8_t sep, struct core_cursor *tok);
/** Drops leading and trailing spaces and tabs. */
struct core_cursor core_cursor_trim(struct core_cursor c);
/** Advances past n bytes; ERR_PARSE when fewer remain. out may be NULL. */
CORE_RESULT core_cursor_advance(struct core_cursor *c, size_t n, struct core_cursor *out);
CORE_RESULT core_cursor_read_u8(struct core_cursor *c, uint8_t *v);
CORE_RESULT core_cursor_read_be16(struct core_cursor *c, uint16_t *v);
CORE_RESULT core_cursor_read_be32(struct core_cursor *c, uint32_t *v);
CORE_RESULT core_cursor_read_be64(struct core_cursor *c, uint64_t *v);
/** Parses an unsigned decimal of at most max; ERR_PARSE otherwise. */
CORE_RESULT core_cursor_to_u64(struct core_cursor c, uint64_t max, uint64_t *v);

/**
 * Initialises an empty buffer that may grow to max bytes. A secret buffer
 * allocates its initial capacity at once from guarded memory and can never
 * grow past it (cap == max).
 * Errors: ERR_NOMEM.
 */
CORE_RESULT core_buf_init(struct core_buf *b, size_t initial, size_t max);
CORE_RESULT core_buf_init_secret(struct core_buf *b, size_t max);
/**
 * Like core_buf_init, for buffers that may hold plaintext or secrets but
 * must grow (request and reply bodies): growth allocates, copies and wipes
 * the old block instead of realloc'ing (which may leave a copy behind), and
 * reset and free wipe. Errors: ERR_NOMEM.
 */
CORE_RESULT core_buf_init_wiping(struct core_buf *b, size_t initial, size_t max);
/** Frees (wiping first if secret) and zeroes the struct. Safe on zeroed bufs. */
void core_buf_free(struct core_buf *b);
/** DEFER_CLEANUP adaptor. */
void core_buf_cleanup(struct core_buf *b);
/** Ensures room for n more bytes. Errors: ERR_LIMIT, ERR_NOMEM. */
CORE_RESULT core_buf_reserve(struct core_buf *b, size_t n);
CORE_RESULT core_buf_append(struct core_buf *b, const void *p, size_t n);
CORE_RESULT core_buf_append_cursor(struct core_buf *b, struct core_cursor c);
CORE_RESULT core_buf_append_str(struct core_buf *b, const char *s);
CORE_RESULT core_buf_append_u8(struct core_buf *b, uint8_t v);
CORE_RESULT core_buf_append_be16(struct core_buf *b, uint16_t v);
CORE_RESULT core_buf_append_be32(struct core_buf *b, uint32_t v);
CORE_RESULT core_buf_append_be64(struct core_buf *b, uint64_t v);
CORE_RESULT core_buf_printf(struct core_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/** Appends a NUL without counting it in len, so data reads as a C string. */
CORE_RESULT core_buf_terminate(struct core_buf *b);
/** Empties the buffer (wiping if secret), keeping its allocation. */
void core_buf_reset(struct core_buf *b);

/** Lowercase hex of in, appended to out. */
CORE_RESULT core_buf_append_hex(struct core_buf *out, struct core_cursor in);
/**
 * Lowercase hex of in[0..len) into out[0..2*len) (no terminator), with no branch and no table index
 * on a data byte (sixteen bytes per step with SSE2, else four): digests, signatures, material ids.
 */
void core_hex_lower(const uint8_t *in, size_t len, char *out);
/** Standard base64 with padding, appended to out. */
CORE_RESULT core_buf_append_base64(struct core_buf *out, struct core_cursor in);
/**
 * Decodes standard base64 (padding required, no whitespace) and appends.
 * Errors: ERR_PARSE on any invalid input, ERR_LIMIT.
 */
CORE_RESULT core_buf_append_unbase64(struct core_buf *out, struct core_cursor in);
/*
 * The same two codings with table lookups, for public bytes only
 * (ciphertext blobs): about ten times fewer instructions than libsodium's
 * constant-time coders, whose memory accesses do not depend on the data.
 * Secrets (plaintexts, data keys, random bytes) keep the functions above.
 * The decoder accepts exactly what core_buf_append_unbase64 accepts
 * (padding required, canonical trailing bits, no whitespace).
 */
CORE_RESULT core_buf_append_base64_public(struct core_buf *out, struct core_cursor in);
CORE_RESULT core_buf_append_unbase64_public(struct core_buf *out, struct core_cursor in);
/** URL-safe base64 without padding (JWT), decoded and appended. */
CORE_RESULT core_buf_append_unbase64url(struct core_buf *out, struct core_cursor in);

/*
 * Fixed-size C-string fields (ids, ARNs, record names) built without
 * snprintf's format machinery, which cost a tenth of a request's own work
 * (issue 14). Both truncate exactly as snprintf(dst, cap, "%s", ...) does:
 * at most cap - 1 bytes, always NUL-terminated (cap > 0).
 */
/** Copies src into dst; returns the bytes copied. */
size_t core_str_copy(char *dst, size_t cap, const char *src);
/** Appends src at dst + *n (*n < cap), advancing *n. */
void core_str_append(char *dst, size_t cap, size_t *n, const char *src);
/** core_str_append of the len bytes at src (no NUL among them): no length to find. */
static inline void core_str_append_n(char *dst, size_t cap, size_t *n, const char *src, size_t len)
{
    size_t room = cap - 1 - *n;
    if (len > room) len = room;
    memcpy(dst + *n, src, len);
    *n += len;
    dst[*n] = 0;
}
/* core_str_append of a string literal, its length known at compile time (issue 14, round 5: ids and
 * ARNs are built on every request); "" lit "" refuses anything but a literal. */
#define CORE_STR_APPEND_LIT(dst, cap, n, lit) core_str_append_n((dst), (cap), (n), "" lit "", sizeof(lit) - 1)
/** Appends the 8 lowercase hex digits of v ("%08x") at dst + *n, advancing *n (truncating as above). */
void core_str_append_hex32(char *dst, size_t cap, size_t *n, uint32_t v);
/** The 36-character lowercase UUID text of 16 bytes ("%02x" x4 "-" ...), NUL-terminated (37 bytes). */
void core_uuid_text(const uint8_t b[16], char out[37]);

#endif
