#include "core/core_buf.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "core/core_secmem.h"

bool core_cursor_eq(struct core_cursor a, struct core_cursor b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static uint8_t lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c; }

/* ASCII 'A'-'Z' to lowercase in each byte of a word; other bytes unchanged. */
static uint64_t lower8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull;
    uint64_t low7 = x & (0x7f * ones);
    uint64_t ge_a = low7 + (0x80 - 'A') * ones; /* bit 7 set where low7 >= 'A' */
    uint64_t gt_z = low7 + (0x7f - 'Z') * ones; /* bit 7 set where low7 > 'Z' */
    uint64_t upper = (ge_a ^ gt_z) & ~x & (0x80 * ones);
    return x | (upper >> 2);
}

/* Header names on every request: eight bytes at a time. */
bool core_bytes_eq_icase(const uint8_t *a, const uint8_t *b, size_t len)
{
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (lower8(x) != lower8(y)) return false;
    }
    if (i < len && len >= 8) { /* the last eight bytes, overlapping ones already found equal */
        uint64_t x, y;
        memcpy(&x, a + len - 8, 8);
        memcpy(&y, b + len - 8, 8);
        return lower8(x) == lower8(y);
    }
    for (; i < len; i++)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

int core_cursor_cmp(struct core_cursor a, struct core_cursor b)
{
    size_t m = a.len < b.len ? a.len : b.len;
    int c = m ? memcmp(a.ptr, b.ptr, m) : 0;
    if (c != 0) return c;
    return a.len < b.len ? -1 : a.len > b.len ? 1 : 0;
}

bool core_cursor_starts_with(struct core_cursor a, const char *prefix)
{
    size_t n = strlen(prefix);
    return a.len >= n && memcmp(a.ptr, prefix, n) == 0;
}

bool core_cursor_split(struct core_cursor *cur, uint8_t sep, struct core_cursor *tok)
{
    if (cur->ptr == NULL) return false;
    const uint8_t *hit = cur->len ? memchr(cur->ptr, sep, cur->len) : NULL;
    if (hit == NULL) {
        *tok = *cur;
        cur->ptr = NULL; /* exhausted: next call returns false */
        cur->len = 0;
        return true;
    }
    tok->ptr = cur->ptr;
    tok->len = (size_t)(hit - cur->ptr);
    cur->len -= tok->len + 1;
    cur->ptr = hit + 1;
    return true;
}

struct core_cursor core_cursor_trim(struct core_cursor c)
{
    while (c.len && (c.ptr[0] == ' ' || c.ptr[0] == '\t')) {
        c.ptr++;
        c.len--;
    }
    while (c.len && (c.ptr[c.len - 1] == ' ' || c.ptr[c.len - 1] == '\t')) c.len--;
    return c;
}

core_result core_cursor_advance(struct core_cursor *c, size_t n, struct core_cursor *out)
{
    ENSURE(c->len >= n, ERR_PARSE);
    if (out) *out = (struct core_cursor){c->ptr, n};
    c->ptr += n;
    c->len -= n;
    CORE_OK;
}

core_result core_cursor_read_u8(struct core_cursor *c, uint8_t *v)
{
    struct core_cursor t = {0};
    GUARD(core_cursor_advance(c, 1, &t));
    *v = t.ptr[0];
    CORE_OK;
}

core_result core_cursor_read_be16(struct core_cursor *c, uint16_t *v)
{
    struct core_cursor t = {0};
    GUARD(core_cursor_advance(c, 2, &t));
    *v = (uint16_t)((t.ptr[0] << 8) | t.ptr[1]);
    CORE_OK;
}

core_result core_cursor_read_be32(struct core_cursor *c, uint32_t *v)
{
    struct core_cursor t = {0};
    GUARD(core_cursor_advance(c, 4, &t));
    *v = ((uint32_t)t.ptr[0] << 24) | ((uint32_t)t.ptr[1] << 16) | ((uint32_t)t.ptr[2] << 8) | t.ptr[3];
    CORE_OK;
}

core_result core_cursor_read_be64(struct core_cursor *c, uint64_t *v)
{
    uint32_t hi, lo;
    GUARD(core_cursor_read_be32(c, &hi));
    GUARD(core_cursor_read_be32(c, &lo));
    *v = ((uint64_t)hi << 32) | lo;
    CORE_OK;
}

core_result core_cursor_to_u64(struct core_cursor c, uint64_t max, uint64_t *v)
{
    ENSURE(c.len > 0 && c.len <= 20, ERR_PARSE);
    uint64_t acc = 0;
    for (size_t i = 0; i < c.len; i++) {
        ENSURE(c.ptr[i] >= '0' && c.ptr[i] <= '9', ERR_PARSE);
        unsigned d = (unsigned)(c.ptr[i] - '0');
        ENSURE(acc <= (max - d) / 10, ERR_PARSE);
        acc = acc * 10 + d;
    }
    *v = acc;
    CORE_OK;
}

core_result core_buf_init(struct core_buf *b, size_t initial, size_t max)
{
    *b = (struct core_buf){.max = max};
    if (initial > max) initial = max;
    if (initial) {
        b->data = malloc(initial);
        ENSURE(b->data != NULL, ERR_NOMEM);
        b->cap = initial;
    }
    CORE_OK;
}

core_result core_buf_init_wiping(struct core_buf *b, size_t initial, size_t max)
{
    GUARD(core_buf_init(b, initial, max));
    b->wipe = 1;
    CORE_OK;
}

/* Moves b's bytes to a block of ncap bytes: realloc, or for a wiping buffer
 * allocate, copy, wipe and free (s2n_realloc's way), so no copy stays behind. */
static core_result buf_move(struct core_buf *b, size_t ncap)
{
    if (!b->wipe) {
        uint8_t *p = realloc(b->data, ncap);
        ENSURE(p != NULL, ERR_NOMEM);
        b->data = p;
        b->cap = ncap;
        CORE_OK;
    }
    uint8_t *p = malloc(ncap);
    ENSURE(p != NULL, ERR_NOMEM);
    if (b->data) {
        memcpy(p, b->data, b->len < ncap ? b->len : ncap);
        sodium_memzero(b->data, b->cap);
        free(b->data);
    }
    b->data = p;
    b->cap = ncap;
    CORE_OK;
}

core_result core_buf_init_secret(struct core_buf *b, size_t max)
{
    *b = (struct core_buf){.max = max, .secret = 1};
    /* sodium_malloc(0) is legal but pointless; keep one byte for terminate. */
    b->data = core_secmem_alloc(max + 1);
    ENSURE(b->data != NULL, ERR_NOMEM);
    b->cap = max + 1;
    CORE_OK;
}

void core_buf_free(struct core_buf *b)
{
    if (b->data) {
        if (b->secret) {
            core_secmem_free(b->data, b->cap); /* wipes */
        } else {
            if (b->wipe) sodium_memzero(b->data, b->cap);
            free(b->data);
        }
    }
    *b = (struct core_buf){0};
}

void core_buf_cleanup(struct core_buf *b) { core_buf_free(b); }

core_result core_buf_reserve(struct core_buf *b, size_t n)
{
    ENSURE(n <= b->max && b->len <= b->max - n, ERR_LIMIT);
    /* +1 keeps room for core_buf_terminate. */
    size_t need = b->len + n + 1;
    if (need <= b->cap) CORE_OK;
    ENSURE(!b->secret, ERR_LIMIT); /* secret bufs never move */
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need) ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > b->max + 1) ncap = b->max + 1;
    return buf_move(b, ncap);
}

core_result core_buf_append(struct core_buf *b, const void *p, size_t n)
{
    if (n == 0) CORE_OK;
    GUARD(core_buf_reserve(b, n));
    memcpy(b->data + b->len, p, n);
    b->len += n;
    CORE_OK;
}

core_result core_buf_append_cursor(struct core_buf *b, struct core_cursor c)
{
    return core_buf_append(b, c.ptr, c.len);
}

core_result core_buf_append_str(struct core_buf *b, const char *s)
{
    return core_buf_append(b, s, strlen(s));
}

core_result core_buf_append_u8(struct core_buf *b, uint8_t v) { return core_buf_append(b, &v, 1); }

core_result core_buf_append_be16(struct core_buf *b, uint16_t v)
{
    uint8_t t[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    return core_buf_append(b, t, 2);
}

core_result core_buf_append_be32(struct core_buf *b, uint32_t v)
{
    uint8_t t[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return core_buf_append(b, t, 4);
}

core_result core_buf_append_be64(struct core_buf *b, uint64_t v)
{
    GUARD(core_buf_append_be32(b, (uint32_t)(v >> 32)));
    return core_buf_append_be32(b, (uint32_t)v);
}

core_result core_buf_printf(struct core_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    ENSURE(n >= 0, ERR_INVALID_ARG);
    GUARD(core_buf_reserve(b, (size_t)n));
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    CORE_OK;
}

core_result core_buf_terminate(struct core_buf *b)
{
    if (b->len + 1 > b->cap) {
        ENSURE(!b->secret, ERR_LIMIT);
        /* reserve() always leaves one spare byte beyond max. */
        GUARD(buf_move(b, b->len + 1));
    }
    b->data[b->len] = 0;
    CORE_OK;
}

void core_buf_reset(struct core_buf *b)
{
    if ((b->secret || b->wipe) && b->data) sodium_memzero(b->data, b->cap);
    b->len = 0;
}

/* The two characters of each byte of s's four 16-bit lanes (one input byte each): the high nibble
 * to the lane's first character, the low one to its second; a nibble n becomes '0' + n, plus 39
 * from 10 up ('a' - '0' - 10). No lane can carry into the next (n + 6 < 0x100, '0' + n + 39 < 0x100). */
static inline uint64_t hex_chars4(uint64_t s)
{
    const uint64_t ones = 0x0101010101010101ull;
    uint64_t c = ((s >> 4) & 0x000f000f000f000full) | ((s & 0x000f000f000f000full) << 8);
    uint64_t ten = ((c + 6 * ones) >> 4) & ones; /* 1 in each lane whose nibble is 10 or more */
    return c + '0' * ones + ten * 39;
}

void core_hex_lower(const uint8_t *in, size_t len, char *out)
{
    size_t i = 0;
#ifdef __SSE2__
    /* Sixteen bytes per step (issue 14, round 6: 190 instructions a digest in the word loop below):
     * the nibbles interleaved high first, then '0' + n, plus 39 where n > 9 (a lane-wise compare and
     * mask, no branch and no table index on a data byte: digests and signatures go through here). */
    const __m128i low4 = _mm_set1_epi8(0x0f), nine = _mm_set1_epi8(9), zero = _mm_set1_epi8('0'),
                  gap = _mm_set1_epi8('a' - '0' - 10);
    for (; i + 16 <= len; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(in + i));
        __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), low4), lo = _mm_and_si128(v, low4);
        __m128i a = _mm_unpacklo_epi8(hi, lo), b = _mm_unpackhi_epi8(hi, lo);
        a = _mm_add_epi8(_mm_add_epi8(a, zero), _mm_and_si128(_mm_cmpgt_epi8(a, nine), gap));
        b = _mm_add_epi8(_mm_add_epi8(b, zero), _mm_and_si128(_mm_cmpgt_epi8(b, nine), gap));
        _mm_storeu_si128((__m128i *)(void *)(out + 2 * i), a);
        _mm_storeu_si128((__m128i *)(void *)(out + 2 * i + 16), b);
    }
#endif
    for (; i + 4 <= len; i += 4) { /* issue 14, round 5: a table loop cost 400 instructions a digest */
        uint64_t c = hex_chars4((uint64_t)in[i] | (uint64_t)in[i + 1] << 16 | (uint64_t)in[i + 2] << 32 |
                                (uint64_t)in[i + 3] << 48);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        memcpy(out + 2 * i, &c, 8);
#else
        for (size_t k = 0; k < 8; k++) out[2 * i + k] = (char)(uint8_t)(c >> (8 * k));
#endif
    }
    for (; i < len; i++) {
        uint64_t c = hex_chars4(in[i]);
        out[2 * i] = (char)(uint8_t)c;
        out[2 * i + 1] = (char)(uint8_t)(c >> 8);
    }
}

core_result core_buf_append_hex(struct core_buf *out, struct core_cursor in)
{
    ENSURE(in.len <= SIZE_MAX / 2, ERR_LIMIT);
    GUARD(core_buf_reserve(out, in.len * 2));
    core_hex_lower(in.ptr, in.len, (char *)out->data + out->len);
    out->len += in.len * 2;
    CORE_OK;
}

/*
 * Constant-time standard base64 for secrets (plaintexts, data keys): no
 * branch and no table index depends on a data byte, as in libsodium's
 * coders, but inline arithmetic instead of a function call per character
 * (libsodium's cost about 80 instructions a character). Masks are all ones
 * or zero; inputs are bytes, so every difference fits in 9 bits.
 */
static uint32_t ct_lt(uint32_t x, uint32_t y) { return 0u - ((x - y) >> 31); } /* x < y */
static uint32_t ct_ge(uint32_t x, uint32_t y) { return ~ct_lt(x, y); }
static uint32_t ct_in(uint32_t x, uint32_t lo, uint32_t hi) { return ct_ge(x, lo) & ct_ge(hi, x); }

/*
 * Eight characters at once (issue 14, round 5: ct_b64_value was an Encrypt's largest function of
 * our own after the hashing, ct_b64_char a Decrypt's and a GenerateDataKey's). Each byte lane of a
 * word is one character; every step is lane-wise arithmetic that cannot carry or borrow across
 * lanes, so the word gives the same result as ct_b64_value or ct_b64_char on each lane, still with
 * no branch and no table index on a data byte.
 */
#define SWAR_ONES 0x0101010101010101ull
#define SWAR_TOPS 0x8080808080808080ull

/* Top bit of each lane of x7 (lanes below 0x80) set when lo <= lane <= hi (hi < 0x7f): 0x80 + lane - k
 * stays within 1..0xff for every k up to 0x7f, so no lane borrows from the next. */
static inline uint64_t swar_in(uint64_t x7, uint64_t lo, uint64_t hi)
{
    return ((x7 | SWAR_TOPS) - lo * SWAR_ONES) & ~((x7 | SWAR_TOPS) - (hi + 1) * SWAR_ONES) & SWAR_TOPS;
}

/* A lane-wise mask (0xff where m's lane has its top bit) and the lane's offset from lo (its low 7 bits). */
static inline uint64_t swar_mask(uint64_t m) { return (m >> 7) * 0xffu; }
static inline uint64_t swar_sub(uint64_t x7, uint64_t lo) { return ((x7 | SWAR_TOPS) - lo * SWAR_ONES) & ~SWAR_TOPS; }

/* The 6-bit values of the eight characters in x (first character in the low lane); sets top bits
 * in *bad for every lane that is not in the alphabet (bytes from 0x80 up included). */
static inline uint64_t ct_b64_values8(uint64_t x, uint64_t *bad)
{
    uint64_t x7 = x & ~SWAR_TOPS, m, ok = 0, v = 0;
    m = swar_in(x7, 'A', 'Z'), ok |= m, v |= swar_sub(x7, 'A') & swar_mask(m);
    m = swar_in(x7, 'a', 'z'), ok |= m, v |= (swar_sub(x7, 'a') + 26 * SWAR_ONES) & swar_mask(m);
    m = swar_in(x7, '0', '9'), ok |= m, v |= (swar_sub(x7, '0') + 52 * SWAR_ONES) & swar_mask(m);
    m = swar_in(x7, '+', '+'), ok |= m, v |= (62 * SWAR_ONES) & swar_mask(m);
    m = swar_in(x7, '/', '/'), ok |= m, v |= (63 * SWAR_ONES) & swar_mask(m);
    *bad |= (~ok | x) & SWAR_TOPS;
    return v;
}

static inline void store_le64(uint8_t *p, uint64_t x)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &x, 8);
#else
    for (size_t i = 0; i < 8; i++) p[i] = (uint8_t)(x >> (8 * i));
#endif
}

static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t x;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(&x, p, 8);
#else
    x = 0;
    for (size_t i = 0; i < 8; i++) x |= (uint64_t)p[i] << (8 * i);
#endif
    return x;
}

/* The characters of the eight 6-bit values in the lanes of x (first in the low lane), lane-wise:
 * 'A' + v, then +6 from 26 ('a' - 26), +3 at 63, -75 from 52 ('0' - 52) and -15 from 62 ('+'), the
 * additions first so that no lane goes past 0xff or below 0 (ct_b64_char's steps, reordered). */
static inline uint64_t ct_b64_chars8(uint64_t x)
{
    uint64_t hx = x | SWAR_TOPS;
    uint64_t m26 = swar_mask((hx - 26 * SWAR_ONES) & SWAR_TOPS), m52 = swar_mask((hx - 52 * SWAR_ONES) & SWAR_TOPS);
    uint64_t m62 = swar_mask((hx - 62 * SWAR_ONES) & SWAR_TOPS), m63 = swar_mask((hx - 63 * SWAR_ONES) & SWAR_TOPS);
    uint64_t r = x + 'A' * SWAR_ONES + (6 * SWAR_ONES & m26) + (3 * SWAR_ONES & m63);
    return r - (75 * SWAR_ONES & m52) - (15 * SWAR_ONES & m62);
}

/* The character of a 6-bit value (after S. Thomas's constant-time encoder). */
static uint8_t ct_b64_char(uint32_t v)
{
    uint32_t d = 'A';
    d += ct_lt(25, v) & 6u;          /* 26..51: 'a' - 26 */
    d -= ct_lt(51, v) & 75u;         /* 52..61: '0' - 52 */
    d -= ct_lt(61, v) & 15u;         /* 62: '+' */
    d += ct_lt(62, v) & 3u;          /* 63: '/' */
    return (uint8_t)(v + d);
}

/* The value of a character, or 0x100 when it is not in the alphabet. */
static uint32_t ct_b64_value(uint32_t c)
{
    uint32_t m, v = 0, ok = 0;
    m = ct_in(c, 'A', 'Z'), v |= m & (c - 'A'), ok |= m;
    m = ct_in(c, 'a', 'z'), v |= m & (c - 'a' + 26), ok |= m;
    m = ct_in(c, '0', '9'), v |= m & (c - '0' + 52), ok |= m;
    m = ct_in(c, '+', '+'), v |= m & 62u, ok |= m;
    m = ct_in(c, '/', '/'), v |= m & 63u, ok |= m;
    return (v & 63u) | (~ok & 0x100u);
}

core_result core_buf_append_base64(struct core_buf *out, struct core_cursor in)
{
    ENSURE(in.len <= (SIZE_MAX - 2) / 4 * 3 - 3, ERR_LIMIT);
    size_t n = (in.len + 2) / 3 * 4;
    GUARD(core_buf_reserve(out, n));
    uint8_t *o = out->data + out->len;
    const uint8_t *p = in.ptr;
    size_t i = 0;
    for (; i + 6 <= in.len; i += 6) { /* six bytes, eight characters, per word */
        uint64_t a = (uint64_t)p[i] << 16 | (uint64_t)p[i + 1] << 8 | p[i + 2];
        uint64_t b = (uint64_t)p[i + 3] << 16 | (uint64_t)p[i + 4] << 8 | p[i + 5];
        uint64_t x = (a >> 18) | ((a >> 12) & 63) << 8 | ((a >> 6) & 63) << 16 | (a & 63) << 24 | (b >> 18) << 32 |
                     ((b >> 12) & 63) << 40 | ((b >> 6) & 63) << 48 | (b & 63) << 56;
        store_le64(o, ct_b64_chars8(x));
        o += 8;
    }
    for (; i + 3 <= in.len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = ct_b64_char(v >> 18);
        *o++ = ct_b64_char((v >> 12) & 63);
        *o++ = ct_b64_char((v >> 6) & 63);
        *o++ = ct_b64_char(v & 63);
    }
    if (i < in.len) { /* the length is public; the bytes are not */
        bool two = i + 1 < in.len;
        uint32_t v = (uint32_t)p[i] << 16 | (two ? (uint32_t)p[i + 1] << 8 : 0);
        *o++ = ct_b64_char(v >> 18);
        *o++ = ct_b64_char((v >> 12) & 63);
        *o++ = two ? ct_b64_char((v >> 6) & 63) : (uint8_t)'=';
        *o++ = '=';
    }
    out->len += n;
    CORE_OK;
}

/* Standard base64, padding required: what libsodium's VARIANT_ORIGINAL decoder
 * accepts, except bytes from 0x80 up, which libsodium 1.0.18 reads as '/'. */
static core_result ct_unbase64(struct core_buf *out, struct core_cursor in)
{
    ENSURE(in.len % 4 == 0, ERR_PARSE);
    size_t pad = 0;
    while (pad < 2 && pad < in.len && in.ptr[in.len - 1 - pad] == '=') pad++;
    size_t n = in.len / 4 * 3 - pad;
    ENSURE(n <= out->max - out->len, ERR_LIMIT);
    GUARD(core_buf_reserve(out, n));
    uint8_t *o = out->data + out->len;
    const uint8_t *p = in.ptr;
    uint32_t bad = 0;
    size_t full = pad ? in.len - 4 : in.len, i = 0;
    uint64_t bad8 = 0;
    for (; i + 8 <= full; i += 8) {
        uint64_t v = ct_b64_values8(load_le64(p + i), &bad8);
        /* Lanes v0..v7 to two 24-bit groups: v0v1 and v2v3 in 16-bit lanes, then v0v1v2v3 in 32-bit ones. */
        uint64_t t = ((v & 0x003f003f003f003full) << 6) | ((v >> 8) & 0x003f003f003f003full);
        uint64_t u = ((t & 0x00000fff00000fffull) << 12) | ((t >> 16) & 0x00000fff00000fffull);
        o[0] = (uint8_t)(u >> 16), o[1] = (uint8_t)(u >> 8), o[2] = (uint8_t)u;
        o[3] = (uint8_t)(u >> 48), o[4] = (uint8_t)(u >> 40), o[5] = (uint8_t)(u >> 32);
        o += 6;
    }
    bad |= bad8 != 0;
    for (; i < full; i += 4) {
        uint32_t a = ct_b64_value(p[i]), b = ct_b64_value(p[i + 1]), c = ct_b64_value(p[i + 2]),
                 d = ct_b64_value(p[i + 3]);
        bad |= (a | b | c | d) & 0x100u;
        uint32_t v = (a & 63u) << 18 | (b & 63u) << 12 | (c & 63u) << 6 | (d & 63u);
        *o++ = (uint8_t)(v >> 16);
        *o++ = (uint8_t)(v >> 8);
        *o++ = (uint8_t)v;
    }
    if (pad) {
        const uint8_t *q = p + in.len - 4;
        uint32_t a = ct_b64_value(q[0]), b = ct_b64_value(q[1]), c = pad == 1 ? ct_b64_value(q[2]) : 0;
        bad |= (a | b | c) & 0x100u;
        /* Canonical: the bits past the last byte are zero. */
        bad |= pad == 1 ? (c & 3u) : (b & 15u);
        uint32_t v = (a & 63u) << 18 | (b & 63u) << 12 | (c & 63u) << 6;
        *o++ = (uint8_t)(v >> 16);
        if (pad == 1) *o++ = (uint8_t)(v >> 8);
    }
    if (bad) {
        sodium_memzero(out->data + out->len, n); /* partial output of a refused secret */
        BAIL(ERR_PARSE);
    }
    out->len += n;
    CORE_OK;
}

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * Two output characters per lookup: b64_pairs[v] for a 12-bit v holds the
 * characters of its two 6-bit halves, in memory order. Built once; only for
 * public data (the index is the data).
 */
static uint16_t b64_pairs[4096];
static pthread_once_t b64_pairs_once = PTHREAD_ONCE_INIT;

static void b64_pairs_build(void)
{
    for (unsigned v = 0; v < 4096; v++) {
        const uint8_t two[2] = {(uint8_t)b64_alphabet[v >> 6], (uint8_t)b64_alphabet[v & 63]};
        memcpy(&b64_pairs[v], two, 2);
    }
}

core_result core_buf_append_base64_public(struct core_buf *out, struct core_cursor in)
{
    ENSURE(in.len <= (SIZE_MAX - 2) / 4 * 3 - 3, ERR_LIMIT);
    size_t n = (in.len + 2) / 3 * 4;
    GUARD(core_buf_reserve(out, n));
    pthread_once(&b64_pairs_once, b64_pairs_build);
    uint8_t *o = out->data + out->len;
    const uint8_t *p = in.ptr;
    size_t i = 0;
    for (; i + 3 <= in.len; i += 3, o += 4) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        memcpy(o, &b64_pairs[v >> 12], 2);
        memcpy(o + 2, &b64_pairs[v & 4095], 2);
    }
    if (i < in.len) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < in.len ? (uint32_t)p[i + 1] << 8 : 0);
        *o++ = (uint8_t)b64_alphabet[v >> 18];
        *o++ = (uint8_t)b64_alphabet[(v >> 12) & 63];
        *o++ = i + 1 < in.len ? (uint8_t)b64_alphabet[(v >> 6) & 63] : (uint8_t)'=';
        *o++ = '=';
    }
    out->len += n;
    CORE_OK;
}

/* 0..63 for alphabet characters, 64 for every other byte. */
static const uint8_t b64_values[256] = {
#define B64_X64(x) x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
    B64_X64(64), B64_X64(64),
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 62, 64, 64, 64, 63, /* '+' 0x2b, '/' 0x2f */
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 64, 64, 64, 64, 64, 64, /* '0'-'9' */
    64, 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, /* 'A'-'O' */
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 64, 64, 64, 64, 64, /* 'P'-'Z' */
    64, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, /* 'a'-'o' */
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 64, 64, 64, 64, 64, /* 'p'-'z' */
    B64_X64(64), B64_X64(64), B64_X64(64), B64_X64(64), B64_X64(64), B64_X64(64), B64_X64(64), B64_X64(64),
#undef B64_X64
};

core_result core_buf_append_unbase64_public(struct core_buf *out, struct core_cursor in)
{
    ENSURE(in.len % 4 == 0, ERR_PARSE);
    size_t pad = 0;
    while (pad < 2 && pad < in.len && in.ptr[in.len - 1 - pad] == '=') pad++;
    size_t n = in.len / 4 * 3 - pad;
    ENSURE(n <= out->max - out->len, ERR_LIMIT);
    GUARD(core_buf_reserve(out, n));
    uint8_t *o = out->data + out->len;
    const uint8_t *p = in.ptr;
    size_t full = pad ? in.len - 4 : in.len;
    for (size_t i = 0; i < full; i += 4) {
        uint32_t a = b64_values[p[i]], b = b64_values[p[i + 1]], c = b64_values[p[i + 2]], d = b64_values[p[i + 3]];
        ENSURE((a | b | c | d) < 64, ERR_PARSE);
        uint32_t v = a << 18 | b << 12 | c << 6 | d;
        *o++ = (uint8_t)(v >> 16);
        *o++ = (uint8_t)(v >> 8);
        *o++ = (uint8_t)v;
    }
    if (pad) {
        const uint8_t *q = p + in.len - 4;
        uint32_t a = b64_values[q[0]], b = b64_values[q[1]], c = pad == 1 ? b64_values[q[2]] : 0;
        ENSURE((a | b | c) < 64, ERR_PARSE);
        /* Canonical: the bits past the last byte are zero (libsodium refuses others too). */
        ENSURE(pad == 1 ? (c & 3) == 0 : (b & 15) == 0, ERR_PARSE);
        uint32_t v = a << 18 | b << 12 | c << 6;
        *o++ = (uint8_t)(v >> 16);
        if (pad == 1) *o++ = (uint8_t)(v >> 8);
    }
    out->len += n;
    CORE_OK;
}

static core_result unbase64(struct core_buf *out, struct core_cursor in, int variant)
{
    /* The exact decoded length, so an oversized input is ERR_LIMIT, not a parse error. */
    size_t n;
    if (variant == sodium_base64_VARIANT_ORIGINAL) {
        ENSURE(in.len % 4 == 0, ERR_PARSE);
        size_t pad = 0;
        while (pad < 2 && pad < in.len && in.ptr[in.len - 1 - pad] == '=') pad++;
        n = in.len / 4 * 3 - pad;
    } else {
        ENSURE(in.len % 4 != 1, ERR_PARSE);
        n = in.len / 4 * 3 + (in.len % 4 ? in.len % 4 - 1 : 0);
    }
    ENSURE(n <= out->max - out->len, ERR_LIMIT);
    /* libsodium 1.0.18's decoder reads every byte from 0x80 up as '/' (its
     * comparisons assume 7-bit input): refuse them first. The OR runs over
     * the whole input, so its time depends on the length only. */
    uint8_t high = 0;
    for (size_t i = 0; i < in.len; i++) high |= in.ptr[i];
    ENSURE((high & 0x80) == 0, ERR_PARSE);
    size_t room = n;
    GUARD(core_buf_reserve(out, room));
    size_t got = 0;
    const char *end = NULL;
    int rc = sodium_base642bin(out->data + out->len, room, (const char *)in.ptr, in.len, NULL, &got,
                               &end, variant);
    ENSURE(rc == 0 && end == (const char *)in.ptr + in.len, ERR_PARSE);
    out->len += got;
    CORE_OK;
}

core_result core_buf_append_unbase64(struct core_buf *out, struct core_cursor in) { return ct_unbase64(out, in); }

core_result core_buf_append_unbase64url(struct core_buf *out, struct core_cursor in)
{
    return unbase64(out, in, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

size_t core_str_copy(char *dst, size_t cap, const char *src)
{
    size_t n = 0;
    dst[0] = 0;
    core_str_append(dst, cap, &n, src);
    return n;
}

void core_str_append(char *dst, size_t cap, size_t *n, const char *src)
{
    core_str_append_n(dst, cap, n, src, strnlen(src, cap - 1 - *n));
}

void core_str_append_hex32(char *dst, size_t cap, size_t *n, uint32_t v)
{
    static const char hx[] = "0123456789abcdef";
    char t[9];
    for (int i = 0; i < 8; i++) t[i] = hx[(v >> (28 - 4 * i)) & 15];
    t[8] = 0;
    core_str_append(dst, cap, n, t);
}

void core_uuid_text(const uint8_t b[16], char out[37])
{
    static const char hx[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hx[b[i] >> 4];
        out[o++] = hx[b[i] & 15];
    }
    out[o] = 0;
}
