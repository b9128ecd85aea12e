/*
 * Stage 2: the canonical request.
 *   CanonicalRequest = HTTPMethod + '\n' + CanonicalURI + '\n' + CanonicalQueryString + '\n'
 *                      + CanonicalHeaders + '\n' + SignedHeaders + '\n' + HashedPayload
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html#create-canonical-request
 *
 * Where the spec is loose, this matches what botocore (auth.py, SigV4Auth)
 * actually signs, since real clients are the reference:
 *  - URI: quote(remove_dot_segments(raw_path), safe='/~'); remove_dot_segments
 *    also drops empty segments ("AWS services require consecutive slashes to
 *    be removed"), and quoting the raw, already-encoded path is the "double
 *    encoding" of non-S3 services. S3 (no_normalize_path) signs the raw path.
 *  - Query: "&"-split, "="-partitioned (a bare key is "key="), sorted by
 *    encoded key then value. botocore sorts the raw pairs of a URL it encoded
 *    itself; decoding and re-encoding here yields the same bytes for any
 *    client that encodes as AWS specifies, and the same canonical form as AWS
 *    for one that does not.
 *  - Header values: ' '.join(value.split()), so obs-fold CRLF+SP and runs of
 *    whitespace collapse to one space; repeated headers are joined with ','.
 */
#include "sigv4/sigv4_stages.h"

static bool unreserved(uint8_t c)
{
    /* "URI encode every byte except the unreserved characters: 'A'-'Z', 'a'-'z', '0'-'9', '-', '.', '_', and '~'." */
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

static core_result append_encoded_byte(struct core_buf *out, uint8_t c)
{
    static const char hx[] = "0123456789ABCDEF";
    if (unreserved(c)) return core_buf_append_u8(out, c);
    uint8_t e[3] = {'%', (uint8_t)hx[c >> 4], (uint8_t)hx[c & 15]};
    return core_buf_append(out, e, 3);
}

static int unhex(uint8_t c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes %XX (a '%' not followed by two hex digits stays literal; '+' stays '+') and re-encodes. */
static core_result append_reencoded(struct core_buf *out, struct core_cursor raw)
{
    GUARD(core_buf_reserve(out, raw.len)); /* the common case needs no more */
    for (size_t i = 0; i < raw.len; i++) {
        uint8_t c = raw.ptr[i];
        int hi, lo;
        if (c == '%' && raw.len - i >= 3 && (hi = unhex(raw.ptr[i + 1])) >= 0 && (lo = unhex(raw.ptr[i + 2])) >= 0) {
            c = (uint8_t)(hi << 4 | lo);
            i += 2;
        }
        GUARD(append_encoded_byte(out, c));
    }
    CORE_OK;
}

core_result sigv4_canonical_uri(struct core_cursor path, bool normalize, struct core_buf *out)
{
    ENSURE(path.len <= CORE_MAX_PATH_BYTES, ERR_LIMIT);
    if (path.len == 0) return core_buf_append_u8(out, '/');
    if (!normalize) return core_buf_append_cursor(out, path);

    /* botocore.utils.remove_dot_segments, then quote(..., safe='/~'). */
    const size_t base = out->len;
    if (path.ptr[0] == '/') GUARD(core_buf_append_u8(out, '/'));
    const size_t list_base = out->len;
    size_t nseg = 0;
    struct core_cursor rest = path, seg;
    while (core_cursor_split(&rest, '/', &seg)) {
        if (seg.len == 0 || core_cursor_eq_str(seg, ".")) continue;
        if (core_cursor_eq_str(seg, "..")) {
            if (nseg == 0) continue;
            size_t p = out->len;
            while (p > list_base && out->data[p - 1] != '/') p--;
            out->len = p > list_base ? p - 1 : list_base;
            nseg--;
            continue;
        }
        if (nseg++) GUARD(core_buf_append_u8(out, '/'));
        for (size_t i = 0; i < seg.len; i++) GUARD(append_encoded_byte(out, seg.ptr[i]));
    }
    if (path.ptr[path.len - 1] == '/' && nseg) GUARD(core_buf_append_u8(out, '/'));
    if (out->len == base) GUARD(core_buf_append_u8(out, '/'));
    CORE_OK;
}

struct qpair {
    uint32_t ko, kl, vo, vl; /* offsets into scratch */
};

static int qpair_cmp(const uint8_t *s, const struct qpair *a, const struct qpair *b)
{
    int c = core_cursor_cmp(core_cursor_from(s + a->ko, a->kl), core_cursor_from(s + b->ko, b->kl));
    return c ? c : core_cursor_cmp(core_cursor_from(s + a->vo, a->vl), core_cursor_from(s + b->vo, b->vl));
}

core_result sigv4_canonical_query(struct core_cursor query, bool exclude_signature, struct core_buf *out,
                                  struct core_buf *scratch)
{
    ENSURE(query.len <= SIGV4_MAX_QUERY_BYTES, ERR_LIMIT);
    sigv4_scratch_clear(scratch);
    struct qpair pairs[CORE_MAX_QUERY_PARAMS];
    size_t n = 0;
    struct core_cursor rest = query, pair;
    while (rest.len && core_cursor_split(&rest, '&', &pair)) {
        if (pair.len == 0) continue;
        struct core_cursor key;
        core_cursor_split(&pair, '=', &key);
        if (exclude_signature && core_cursor_eq_str(key, "X-Amz-Signature")) continue;
        ENSURE(n < CORE_MAX_QUERY_PARAMS, ERR_LIMIT);
        struct qpair *q = &pairs[n++];
        q->ko = (uint32_t)scratch->len;
        GUARD(append_reencoded(scratch, key));
        q->kl = (uint32_t)(scratch->len - q->ko);
        q->vo = (uint32_t)scratch->len;
        GUARD(append_reencoded(scratch, pair));
        q->vl = (uint32_t)(scratch->len - q->vo);
    }
    /* Insertion sort: n <= CORE_MAX_QUERY_PARAMS, usually a handful, often already sorted. */
    for (size_t i = 1; i < n; i++) {
        struct qpair t = pairs[i];
        size_t j = i;
        while (j > 0 && qpair_cmp(scratch->data, &pairs[j - 1], &t) > 0) {
            pairs[j] = pairs[j - 1];
            j--;
        }
        pairs[j] = t;
    }
    for (size_t i = 0; i < n; i++) {
        if (i) GUARD(core_buf_append_u8(out, '&'));
        GUARD(core_buf_append(out, scratch->data + pairs[i].ko, pairs[i].kl));
        GUARD(core_buf_append_u8(out, '='));
        GUARD(core_buf_append(out, scratch->data + pairs[i].vo, pairs[i].vl));
    }
    CORE_OK;
}

static bool ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

/* One byte of trimall: white space only marks a space as pending (if anything came before it). */
static inline uint8_t *trim_byte(uint8_t *dst, uint8_t c, bool *pending, bool *any)
{
    if (ws(c)) {
        *pending = *any;
        return dst;
    }
    if (*pending) *dst++ = ' ';
    *pending = false;
    *any = true;
    *dst++ = c;
    return dst;
}

/* Trimall: "removes excess white space before and after values, and converts sequential spaces to a single space."
 * Writes v trimmed at dst, which has room for v.len bytes; returns the end. */
static uint8_t *put_trimall(uint8_t *dst, struct core_cursor v)
{
    bool pending = false, any = false;
    size_t i = 0;
    /* Eight bytes at a time while a word holds no white space (issue 14, round 5: most values have
     * none): a lane equal to ' ' (the "has zero byte" test, which may also flag a lane after a flagged
     * one, never miss one) or in '\t'..'\r' (an exact lane-wise range test, bytes from 0x80 excluded)
     * sets its top bit in flag; from a word with a flag, one byte goes through trim_byte. The output
     * never outgrows the input: a pending space stands for at least one white-space byte read. */
    const uint64_t ones = 0x0101010101010101ull, tops = 0x8080808080808080ull;
    while (v.len - i >= 8) {
        uint64_t x, q, h;
        memcpy(&x, v.ptr + i, 8);
        q = x ^ (ones * ' ');
        h = (x & ~tops) | tops;
        uint64_t flag = ((q - ones) & ~q) | ((h - ones * '\t') & ~(h - ones * ('\r' + 1)) & ~x);
        if (flag & tops) {
            dst = trim_byte(dst, v.ptr[i++], &pending, &any);
            continue;
        }
        if (pending) *dst++ = ' ';
        pending = false;
        any = true;
        memcpy(dst, v.ptr + i, 8);
        dst += 8;
        i += 8;
    }
    for (; i < v.len; i++) dst = trim_byte(dst, v.ptr[i], &pending, &any);
    return dst;
}

static core_result append_trimall(struct core_buf *out, struct core_cursor v)
{
    /* The result is never longer than v: write it in place after one reserve. */
    GUARD(core_buf_reserve(out, v.len));
    out->len = (size_t)(put_trimall(out->data + out->len, v) - out->data);
    CORE_OK;
}

/* Appends "name:v1,v2\n" for every header called name (arrival order); false when there is none. */
static core_result append_header(const struct sigv4_request *req, const struct sigv4_header_index *idx,
                                 struct core_cursor name, struct core_buf *out, bool *found)
{
    size_t at;
    size_t n = sigv4_header_index_find(idx, req->headers, name, &at);
    *found = n > 0;
    if (n == 0) CORE_OK;
    /* One reservation for the line, written in place: the trimmed values are never longer than sent. */
    size_t room = name.len + 1 + n; /* ':', the commas and '\n' */
    for (size_t k = 0; k < n; k++) room += req->headers[idx->pos[at + k]].value.len;
    if (core_ok(core_buf_reserve(out, room))) {
        uint8_t *dst = out->data + out->len;
        if (name.len) memcpy(dst, name.ptr, name.len);
        dst += name.len;
        *dst++ = ':';
        for (size_t k = 0; k < n; k++) {
            if (k) *dst++ = ',';
            dst = put_trimall(dst, req->headers[idx->pos[at + k]].value);
        }
        *dst++ = '\n';
        out->len = (size_t)(dst - out->data);
        CORE_OK;
    }
    /* Near the buffer's bound: append piece by piece, failing exactly where that would. */
    GUARD(core_buf_append_cursor(out, name));
    GUARD(core_buf_append_u8(out, ':'));
    for (size_t k = 0; k < n; k++) {
        if (k) GUARD(core_buf_append_u8(out, ','));
        GUARD(append_trimall(out, req->headers[idx->pos[at + k]].value));
    }
    return core_buf_append_u8(out, '\n');
}

/*
 * The hashed payload: x-amz-content-sha256 when sent, else the body hash the
 * caller computed. Only S3 lets a client leave the payload unsigned ("You
 * include the literal string UNSIGNED-PAYLOAD when constructing a canonical
 * request, and set the same value as the x-amz-content-sha256 header value
 * when sending the request to Amazon S3",
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html);
 * the JSON and Query services hash the body they received, so under their
 * rules UNSIGNED-PAYLOAD is just a value that does not match it.
 */
static core_result payload_hash(const struct sigv4_request *req, const struct sigv4_header_index *idx,
                                const struct sigv4_auth *auth, struct core_cursor *out, struct sigv4_diag *diag)
{
    size_t at;
    if (sigv4_header_index_known(idx, SIGV4_H_X_AMZ_CONTENT_SHA256, &at)) {
        struct core_cursor v = core_cursor_trim(req->headers[idx->pos[at]].value);
        if (req->no_normalize_path && core_cursor_eq_str(v, SIGV4_UNSIGNED_PAYLOAD)) {
            *out = v;
            CORE_OK;
        }
        if (req->payload_hash.len && !core_cursor_eq(v, req->payload_hash)) {
            sigv4_diag_str(diag, "The provided 'x-amz-content-sha256' header does not match what was computed.");
            BAIL(ERR_AUTH_BAD_SIGNATURE);
        }
        *out = v;
        CORE_OK;
    }
    if (req->payload_hash.len) {
        *out = req->payload_hash;
        CORE_OK;
    }
    /* S3 presigned URLs sign no payload. */
    ENSURE(auth->form == SIGV4_FORM_PRESIGNED && req->no_normalize_path, ERR_INVALID_ARG);
    *out = core_cursor_str(SIGV4_UNSIGNED_PAYLOAD);
    CORE_OK;
}

core_result sigv4_canonical_request(const struct sigv4_request *req, const struct sigv4_auth *auth,
                                    struct core_buf *out, struct sigv4_diag *diag)
{
    ENSURE_REF(req);
    ENSURE_REF(auth);
    ENSURE(req->n_headers <= CORE_MAX_HEADERS, ERR_LIMIT);
    struct sigv4_header_index local;
    const struct sigv4_header_index *idx = sigv4_header_index_of(req, &local);
    struct core_cursor hash;
    GUARD(payload_hash(req, idx, auth, &hash, diag));

    GUARD(core_buf_append_cursor(out, req->method));
    GUARD(core_buf_append_u8(out, '\n'));
    GUARD(sigv4_canonical_uri(req->path, !req->no_normalize_path, out));
    GUARD(core_buf_append_u8(out, '\n'));
    struct sigv4_scratch *scratch;
    GUARD(sigv4_scratch_get(&scratch));
    GUARD(sigv4_canonical_query(req->query, auth->form == SIGV4_FORM_PRESIGNED, out, &scratch->query));
    GUARD(core_buf_append_u8(out, '\n'));

    const char *enc = auth->form == SIGV4_FORM_PRESIGNED ? "3B" : NULL;
    struct core_cursor list = auth->signed_headers, name;
    size_t n = 0;
    while (sigv4_split_list(&list, ';', enc, &name)) {
        ENSURE(++n <= CORE_SIGV4_MAX_SIGNED_HEADERS, ERR_LIMIT);
        bool found;
        GUARD(append_header(req, idx, name, out, &found));
        if (!found) {
            sigv4_diag_str(diag, "Header '");
            sigv4_diag_echo(diag, name, SIGV4_MAX_ECHO_BYTES, false);
            sigv4_diag_str(diag, "' is named in SignedHeaders but is not present in the request.");
            BAIL(ERR_AUTH_INCOMPLETE);
        }
    }
    GUARD(core_buf_append_u8(out, '\n'));
    /* Split at ';' and joined with ';', a header-form list is itself. */
    if (enc == NULL) {
        GUARD(core_buf_append_cursor(out, auth->signed_headers));
        GUARD(core_buf_append_u8(out, '\n'));
        return core_buf_append_cursor(out, hash);
    }
    list = auth->signed_headers;
    n = 0;
    while (sigv4_split_list(&list, ';', enc, &name)) {
        if (n++) GUARD(core_buf_append_u8(out, ';'));
        GUARD(core_buf_append_cursor(out, name));
    }
    GUARD(core_buf_append_u8(out, '\n'));
    return core_buf_append_cursor(out, hash);
}
