/*
 * The header index (issue 14, round 4): the request's headers sorted once by
 * lowercase name, so every lookup of a stage (the Authorization header, the
 * date, each signed header's presence and its values for the canonical
 * request, x-amz-content-sha256) is a binary search instead of a scan of
 * every header with a case-insensitive compare.
 *
 * Names compare as ASCII-lowercased bytes in memcmp order, shorter first on a
 * tie: the order of a valid SignedHeaders list. Two names are equal exactly
 * when core_cursor_eq_icase says so (same length, same bytes but for ASCII
 * case). The sort is stable, so headers of one name stay in arrival order, the
 * order their values are joined in the canonical request.
 */
#include "sigv4/sigv4.h"

#include <assert.h>

static uint8_t lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c; }

/* ASCII 'A'-'Z' to lowercase in each byte of a word (as core_bytes_eq_icase). */
static uint64_t lower8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull;
    uint64_t low7 = x & (0x7f * ones);
    uint64_t ge_a = low7 + (0x80 - 'A') * ones;
    uint64_t gt_z = low7 + (0x7f - 'Z') * ones;
    uint64_t upper = (ge_a ^ gt_z) & ~x & (0x80 * ones);
    return x | (upper >> 2);
}

/* The first eight bytes of the lowercase name, big-endian, zero-padded: compares as memcmp does. */
static uint64_t name_key(struct core_cursor n)
{
    uint64_t k = 0;
    if (n.len >= 8) {
        uint64_t x;
        memcpy(&x, n.ptr, 8);
        x = lower8(x);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        return __builtin_bswap64(x);
#else
        const uint8_t *b = (const uint8_t *)&x;
        for (size_t i = 0; i < 8; i++) k = k << 8 | b[i];
        return k;
#endif
    }
    if (n.len == 0) return 0;
    for (size_t i = 0; i < n.len; i++) k = k << 8 | lower(n.ptr[i]);
    return k << (8 * (8 - n.len));
}

/* Whether a and b (len > 8 bytes each) agree past their first eight bytes, ASCII case ignored: whole
 * words, the last one overlapping the one before (equality only, so the overlap is harmless). */
static inline bool tail_eq(const uint8_t *a, const uint8_t *b, size_t len)
{
    uint64_t x, y;
    size_t i = 8;
    for (; i + 8 <= len; i += 8) {
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (lower8(x) != lower8(y)) return false;
    }
    if (i == len) return true;
    memcpy(&x, a + len - 8, 8);
    memcpy(&y, b + len - 8, 8);
    return lower8(x) == lower8(y);
}

/*
 * Index order: the key, then the length, then the lowercase bytes past the
 * eighth. Names equal but for ASCII case compare equal, so they sit together;
 * any other order would do as well, since no stage reads the index in order
 * except to visit each distinct name once.
 */
static int entry_cmp(uint64_t ka, struct core_cursor a, uint64_t kb, struct core_cursor b)
{
    if (ka != kb) return ka < kb ? -1 : 1;
    if (a.len != b.len) return a.len < b.len ? -1 : 1;
    for (size_t i = 8; i < a.len; i++) {
        uint8_t x = lower(a.ptr[i]), y = lower(b.ptr[i]);
        if (x != y) return x < y ? -1 : 1;
    }
    return 0;
}

/*
 * The names looked up on every request, found while the index is built so
 * that their lookups are a comparison with a constant instead of a search.
 */
#define K8(a, b, c, d, e, f, g, h)                                                                             \
    ((uint64_t)(a) << 56 | (uint64_t)(b) << 48 | (uint64_t)(c) << 40 | (uint64_t)(d) << 32 |                   \
     (uint64_t)(e) << 24 | (uint64_t)(f) << 16 | (uint64_t)(g) << 8 | (uint64_t)(h))
static const struct {
    uint64_t key;
    size_t len;
    const char *name;
} known[SIGV4_KNOWN_HEADERS] = {
    [SIGV4_H_HOST] = {K8('h', 'o', 's', 't', 0, 0, 0, 0), 4, "host"},
    [SIGV4_H_DATE] = {K8('d', 'a', 't', 'e', 0, 0, 0, 0), 4, "date"},
    [SIGV4_H_X_AMZ_DATE] = {K8('x', '-', 'a', 'm', 'z', '-', 'd', 'a'), 10, "x-amz-date"},
    [SIGV4_H_AUTHORIZATION] = {K8('a', 'u', 't', 'h', 'o', 'r', 'i', 'z'), 13, "authorization"},
    [SIGV4_H_CONTENT_TYPE] = {K8('c', 'o', 'n', 't', 'e', 'n', 't', '-'), 12, "content-type"},
    [SIGV4_H_X_AMZ_TARGET] = {K8('x', '-', 'a', 'm', 'z', '-', 't', 'a'), 12, "x-amz-target"},
    [SIGV4_H_X_AMZ_CONTENT_SHA256] = {K8('x', '-', 'a', 'm', 'z', '-', 'c', 'o'), 20, "x-amz-content-sha256"},
    [SIGV4_H_X_AMZ_SECURITY_TOKEN] = {K8('x', '-', 'a', 'm', 'z', '-', 's', 'e'), 20, "x-amz-security-token"},
};

/* Which known name (key k, any case) is, or SIGV4_KNOWN_HEADERS. */
static size_t known_of(uint64_t k, struct core_cursor name)
{
    for (size_t j = 0; j < SIGV4_KNOWN_HEADERS; j++)
        if (known[j].key == k && known[j].len == name.len &&
            (name.len <= 8 || tail_eq(name.ptr, (const uint8_t *)known[j].name, name.len)))
            return j;
    return SIGV4_KNOWN_HEADERS;
}

void sigv4_header_index_build(const struct sigv4_header *headers, size_t n, struct sigv4_header_index *idx)
{
    /* Callers bound n first (sigv4_parse_authorization and sigv4_canonical_request refuse more). */
    assert(n <= CORE_MAX_HEADERS);
    idx->n = n;
    for (size_t i = 0; i < n; i++) {
        uint64_t k = name_key(headers[i].name);
        size_t j = i;
        /* Insertion sort, stable: shift only entries strictly greater. */
        while (j > 0 && entry_cmp(idx->key[j - 1], headers[idx->pos[j - 1]].name, k, headers[i].name) > 0) {
            idx->key[j] = idx->key[j - 1];
            idx->pos[j] = idx->pos[j - 1];
            j--;
        }
        idx->key[j] = k;
        idx->pos[j] = (uint8_t)i;
    }
    memset(idx->known_n, 0, sizeof idx->known_n);
    memset(idx->known_at, 0, sizeof idx->known_at);
    for (size_t j = 0; j < n; j++) { /* equal names are adjacent, in arrival order */
        size_t w = known_of(idx->key[j], headers[idx->pos[j]].name);
        if (w == SIGV4_KNOWN_HEADERS) continue;
        if (idx->known_n[w]++ == 0) idx->known_at[w] = (uint8_t)j;
    }
}

size_t sigv4_header_index_find(const struct sigv4_header_index *idx, const struct sigv4_header *headers,
                               struct core_cursor name, size_t *at)
{
    uint64_t k = name_key(name);
    size_t w = known_of(k, name);
    if (w < SIGV4_KNOWN_HEADERS) {
        if (at) *at = idx->known_n[w] ? idx->known_at[w] : idx->n;
        return idx->known_n[w];
    }
    size_t lo = 0, hi = idx->n;
    while (lo < hi) { /* first entry of (key, length) not below name's */
        size_t mid = lo + (hi - lo) / 2;
        uint64_t km = idx->key[mid];
        if (km < k || (km == k && headers[idx->pos[mid]].name.len < name.len))
            lo = mid + 1;
        else
            hi = mid;
    }
    /* Among the entries of the same key and length (usually one name, perhaps repeated), the run equal to name. */
    size_t first = idx->n, count = 0;
    for (size_t j = lo; j < idx->n && idx->key[j] == k; j++) {
        struct core_cursor h = headers[idx->pos[j]].name;
        if (h.len != name.len) break;
        bool eq = h.len <= 8 || tail_eq(h.ptr, name.ptr, h.len);
        if (eq) {
            if (count++ == 0) first = j;
        } else if (count) {
            break;
        }
    }
    if (at) *at = first;
    return count;
}

const struct sigv4_header_index *sigv4_header_index_of(const struct sigv4_request *req,
                                                       struct sigv4_header_index *local)
{
    if (req->index) return req->index;
    sigv4_header_index_build(req->headers, req->n_headers, local);
    return local;
}
