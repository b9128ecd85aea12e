/*
 * Issue 14, round 4: the header index (sigv4_index.c) replaced the scans of
 * every header in sigv4_parse_authorization and sigv4_canonical_request. The
 * code it replaced is kept here, verbatim, as the reference
 * (sigv4_parse_ref_perf3.inc and sigv4_canonical_ref_perf3.inc, the files as
 * of commit 7e33036, their public names renamed ref_*), and both are run on
 * the same requests: random header sets with names repeated, differing only
 * in case, sharing their first eight bytes, absent from the signed list,
 * signed but absent, and unsorted or uppercase signed lists. Every outcome
 * must agree: the error, AWS's message, every parsed field, and the canonical
 * request byte for byte (with the index supplied by the caller, and built by
 * each stage itself).
 */
#include "sigv4/sigv4_stages.h"
#include "tests/test.h"

#define sigv4_split_list ref_split_list
#define sigv4_parse_authorization ref_parse_authorization
#define sigv4_check_time ref_check_time
#define sigv4_parse ref_parse
#define sigv4_auth_security_token ref_auth_security_token
#define unhex ref_parse_unhex
#include "tests/unit/sigv4_parse_ref_perf3.inc"
#undef unhex
#define sigv4_canonical_uri ref_canonical_uri
#define sigv4_canonical_query ref_canonical_query
#define sigv4_canonical_request ref_canonical_request
#include "tests/unit/sigv4_canonical_ref_perf3.inc"
#undef sigv4_split_list
#undef sigv4_parse_authorization
#undef sigv4_check_time
#undef sigv4_parse
#undef sigv4_auth_security_token
#undef sigv4_canonical_uri
#undef sigv4_canonical_query
#undef sigv4_canonical_request

#define T0 1440938160 /* 2015-08-30T12:36:00Z */
#define HASH "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

/* Names that collide in the ways an index can get wrong: same first eight bytes, prefixes of one another,
 * bytes next to the letters ('@' '[' '`' '{'), bytes past ASCII, the empty name. */
static const char *const pool[] = {
    "host", "Host", "HOST", "x-amz-date", "X-Amz-Date", "X-AMZ-DATE", "date", "Date", "authorization",
    "content-type", "Content-Type", "x-amz-target", "X-Amz-Target", "x-amz-content-sha256",
    "X-Amz-Content-SHA256", "x-amz-content-sha25", "x-amz-content-sha2567", "x-amz-security-token",
    "x-amz-da", "x-amz-dat", "x-amz-datex", "x-amz-", "x", "X", "@ost", "`ost", "[b", "{b", "\xc1" "b", "\xe1" "b",
    "", "user-agent", "x-amz-meta-Abc", "x-amz-meta-abc", "x-amz-meta-abcdefghijklmnop",
    "x-amz-meta-abcdefghijklmnoP", "x-amz-meta-abcdefghijklmnoq", "accept",
};
#define NPOOL (sizeof pool / sizeof pool[0])
static const char *const values[] = {"v", " a  b ", "20150830T123600Z", "Sun, 30 Aug 2015 12:36:00 GMT", "",
                                     "example.amazonaws.com", "\tx\t", HASH, "UNSIGNED-PAYLOAD"};
#define NVALUES (sizeof values / sizeof values[0])

static bool cursor_same(struct core_cursor a, struct core_cursor b)
{
    return a.len == b.len && a.ptr == b.ptr;
}

static unsigned known_checked;

/* The index's answer against a scan of every header, for one name. */
static void check_find(const struct sigv4_header *h, size_t n, const struct sigv4_header_index *idx,
                       struct core_cursor name)
{
    size_t at = 0, got = sigv4_header_index_find(idx, h, name, &at), k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!core_cursor_eq_icase(h[i].name, name)) continue;
        /* the k-th match in arrival order is the k-th entry from at */
        if (k >= got || idx->pos[at + k] != i) TEST_FAIL("find '%.*s': match %zu at header %zu", (int)name.len, name.ptr, k, i);
        k++;
    }
    if (k != got) TEST_FAIL("find '%.*s': %zu found, %zu present", (int)name.len, name.ptr, got, k);
    /* A known name's direct lookup (round 5) answers as the search does. */
    static const char *const known[] = {[SIGV4_H_HOST] = "host",
                                        [SIGV4_H_DATE] = "date",
                                        [SIGV4_H_X_AMZ_DATE] = "x-amz-date",
                                        [SIGV4_H_AUTHORIZATION] = "authorization",
                                        [SIGV4_H_CONTENT_TYPE] = "content-type",
                                        [SIGV4_H_X_AMZ_TARGET] = "x-amz-target",
                                        [SIGV4_H_X_AMZ_CONTENT_SHA256] = "x-amz-content-sha256",
                                        [SIGV4_H_X_AMZ_SECURITY_TOKEN] = "x-amz-security-token"};
    for (size_t w = 0; w < sizeof known / sizeof known[0]; w++) {
        if (!core_cursor_eq_icase(name, core_cursor_str(known[w]))) continue;
        size_t kat = 0, kn = sigv4_header_index_known(idx, (enum sigv4_known)w, &kat);
        if (kn != got || kat != at) TEST_FAIL("known '%s': %zu at %zu, find: %zu at %zu", known[w], kn, kat, got, at);
        known_checked++;
    }
}

static void check_auth_same(const struct sigv4_auth *a, const struct sigv4_auth *b)
{
    EXPECT_TRUE(a->form == b->form);
    EXPECT_TRUE(cursor_same(a->access_key_id, b->access_key_id));
    EXPECT_TRUE(cursor_same(a->scope_date, b->scope_date));
    EXPECT_TRUE(cursor_same(a->region, b->region));
    EXPECT_TRUE(cursor_same(a->service, b->service));
    EXPECT_TRUE(cursor_same(a->signed_headers, b->signed_headers));
    EXPECT_TRUE(cursor_same(a->signature, b->signature));
    EXPECT_TRUE(cursor_same(a->amz_date, b->amz_date));
    EXPECT_TRUE(cursor_same(a->security_token, b->security_token));
    EXPECT_TRUE(a->request_time == b->request_time && a->expires == b->expires);
}

/* Runs the reference and the new stages (index given, and index built inside) on req. */
static void differential(struct sigv4_request *req, const char *what)
{
    struct sigv4_diag d_ref, d_new, d_own;
    EXPECT_OK(core_buf_init(&d_ref.message, 0, 64 * 1024));
    EXPECT_OK(core_buf_init(&d_new.message, 0, 64 * 1024));
    EXPECT_OK(core_buf_init(&d_own.message, 0, 64 * 1024));
    struct sigv4_auth a_ref, a_new, a_own;
    req->index = NULL;
    core_result r_ref = ref_parse(req, &a_ref, &d_ref);
    core_result r_own = sigv4_parse(req, &a_own, &d_own);
    struct sigv4_header_index idx;
    sigv4_header_index_build(req->headers, req->n_headers, &idx);
    req->index = &idx;
    core_result r_new = sigv4_parse(req, &a_new, &d_new);
    if (r_ref.err != r_new.err || r_ref.err != r_own.err)
        TEST_FAIL("%s: parse %s (reference) vs %s / %s", what, core_err_name(r_ref.err), core_err_name(r_new.err),
                  core_err_name(r_own.err));
    if (!core_cursor_eq(core_buf_cursor(&d_ref.message), core_buf_cursor(&d_new.message)) ||
        !core_cursor_eq(core_buf_cursor(&d_ref.message), core_buf_cursor(&d_own.message)))
        TEST_FAIL("%s: messages differ:\n  ref '%.*s'\n  new '%.*s'", what, (int)d_ref.message.len,
                  (const char *)d_ref.message.data, (int)d_new.message.len, (const char *)d_new.message.data);
    if (core_ok(r_ref) && core_ok(r_new) && core_ok(r_own)) {
        check_auth_same(&a_ref, &a_new);
        check_auth_same(&a_ref, &a_own);
    }
    /* The canonical request, also when parsing refused (the stage is public): from the reference's auth when
     * it has one, else from a hand-made one naming every pool header. */
    struct sigv4_auth a = a_ref;
    if (!core_ok(r_ref)) {
        a = (struct sigv4_auth){.form = rnd(4) ? SIGV4_FORM_HEADER : SIGV4_FORM_PRESIGNED};
        a.signed_headers = core_cursor_str(rnd(2) ? "content-type;host;x-amz-date" : "Host;x-amz-date;X-Amz-Target");
    }
    struct core_buf c_ref, c_new, c_own;
    EXPECT_OK(core_buf_init(&c_ref, 0, SIGV4_MAX_CANONICAL_REQUEST_BYTES));
    EXPECT_OK(core_buf_init(&c_new, 0, SIGV4_MAX_CANONICAL_REQUEST_BYTES));
    EXPECT_OK(core_buf_init(&c_own, 0, SIGV4_MAX_CANONICAL_REQUEST_BYTES));
    core_buf_reset(&d_ref.message);
    core_buf_reset(&d_new.message);
    req->index = NULL;
    r_ref = ref_canonical_request(req, &a, &c_ref, &d_ref);
    r_own = sigv4_canonical_request(req, &a, &c_own, NULL);
    req->index = &idx;
    r_new = sigv4_canonical_request(req, &a, &c_new, &d_new);
    if (r_ref.err != r_new.err || r_ref.err != r_own.err)
        TEST_FAIL("%s: canonical %s (reference) vs %s / %s", what, core_err_name(r_ref.err), core_err_name(r_new.err),
                  core_err_name(r_own.err));
    if (core_ok(r_ref) && (!core_cursor_eq(core_buf_cursor(&c_ref), core_buf_cursor(&c_new)) ||
                           !core_cursor_eq(core_buf_cursor(&c_ref), core_buf_cursor(&c_own))))
        TEST_FAIL("%s: canonical requests differ:\n--ref\n%.*s\n--new\n%.*s", what, (int)c_ref.len,
                  (const char *)c_ref.data, (int)c_new.len, (const char *)c_new.data);
    if (!core_cursor_eq(core_buf_cursor(&d_ref.message), core_buf_cursor(&d_new.message)))
        TEST_FAIL("%s: canonical messages differ", what);
    req->index = NULL;
    core_buf_free(&c_ref);
    core_buf_free(&c_new);
    core_buf_free(&c_own);
    core_buf_free(&d_ref.message);
    core_buf_free(&d_new.message);
    core_buf_free(&d_own.message);
}

/* Every pool name and every header's own name looked up in random header sets. */
static void test_find_random(void)
{
    struct sigv4_header h[CORE_MAX_HEADERS];
    for (int round = 0; round < 3000; round++) {
        size_t n = rnd(round % 50 == 0 ? CORE_MAX_HEADERS + 1 : 12);
        for (size_t i = 0; i < n; i++)
            h[i] = (struct sigv4_header){core_cursor_str(pool[rnd(NPOOL)]), core_cursor_str(values[rnd(NVALUES)])};
        struct sigv4_header_index idx;
        sigv4_header_index_build(h, n, &idx);
        EXPECT_TRUE(idx.n == n);
        for (size_t k = 0; k < NPOOL; k++) check_find(h, n, &idx, core_cursor_str(pool[k]));
        for (size_t i = 0; i < n; i++) check_find(h, n, &idx, h[i].name);
        check_find(h, n, &idx, core_cursor_str("absent-header-name"));
    }
}

/* A signed list from the request's own names (lowercased, sorted, deduplicated), then perturbed. */
static void make_signed_list(const struct sigv4_header *h, size_t n, char *out, size_t cap)
{
    char names[CORE_MAX_HEADERS][64];
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (h[i].name.len == 0 || h[i].name.len >= 64 || rnd(5) == 0) continue;
        char low[64];
        for (size_t j = 0; j < h[i].name.len; j++) {
            uint8_t c = h[i].name.ptr[j];
            low[j] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        low[h[i].name.len] = 0;
        bool dup = false;
        for (size_t k = 0; k < m; k++) dup = dup || strcmp(names[k], low) == 0;
        if (!dup) memcpy(names[m++], low, sizeof low);
    }
    if (rnd(6) == 0) memcpy(names[m++], "x-amz-absent", 13); /* signed, not present */
    for (size_t i = 1; i < m; i++) /* sort, most of the time */
        for (size_t j = i; j > 0 && (rnd(10) != 0) && strcmp(names[j - 1], names[j]) > 0; j--) {
            char t[64];
            memcpy(t, names[j], 64);
            memcpy(names[j], names[j - 1], 64);
            memcpy(names[j - 1], t, 64);
        }
    if (m && rnd(10) == 0) names[rnd((uint32_t)m)][0] = 'H'; /* an uppercase entry */
    size_t len = 0;
    out[0] = 0;
    for (size_t k = 0; k < m && len + 70 < cap; k++) len += (size_t)snprintf(out + len, cap - len, "%s%s", k ? ";" : "", names[k]);
}

/* Whole requests: parse and canonical request, new against the reference. */
static void test_requests_random(void)
{
    static const char *const creds[] = {"AKIDEXAMPLE/20150830/us-east-1/kms/aws4_request",
                                        "AKIDEXAMPLE/20150831/us-east-1/kms/aws4_request",
                                        "AKIDEXAMPLE/20150830/us-east-1/kms/aws4_requesx", "AKID/bad"};
    for (int round = 0; round < 4000; round++) {
        struct sigv4_header h[16];
        size_t n = 0;
        /* the usual headers, in random case, sometimes missing or repeated */
        if (rnd(12)) h[n++] = (struct sigv4_header){core_cursor_str(rnd(2) ? "Host" : "host"), core_cursor_str("example.amazonaws.com")};
        if (rnd(8)) h[n++] = (struct sigv4_header){core_cursor_str(rnd(2) ? "X-Amz-Date" : "x-amz-date"), core_cursor_str("20150830T123600Z")};
        size_t extra = rnd(7);
        for (size_t i = 0; i < extra; i++)
            h[n++] = (struct sigv4_header){core_cursor_str(pool[rnd(NPOOL)]), core_cursor_str(values[rnd(NVALUES)])};
        for (size_t i = n; i > 1; i--) { /* shuffle */
            size_t j = rnd((uint32_t)i);
            struct sigv4_header t = h[i - 1];
            h[i - 1] = h[j];
            h[j] = t;
        }
        char list[1024], authz[2048];
        make_signed_list(h, n, list, sizeof list);
        snprintf(authz, sizeof authz, "AWS4-HMAC-SHA256 Credential=%s, SignedHeaders=%s, Signature=%s",
                 creds[rnd(8) == 0 ? 1 + rnd(3) : 0], list, HASH);
        size_t authz_at = rnd((uint32_t)n + 1);
        memmove(h + authz_at + 1, h + authz_at, (n - authz_at) * sizeof h[0]);
        h[authz_at] = (struct sigv4_header){core_cursor_str(rnd(2) ? "Authorization" : "authorization"), core_cursor_str(authz)};
        n++;
        if (rnd(30) == 0) h[n++] = h[authz_at]; /* two Authorization headers */
        struct sigv4_request req = {.method = core_cursor_str("POST"), .path = core_cursor_str("/"),
                                    .query = core_cursor_str(""), .headers = h, .n_headers = n,
                                    .payload_hash = core_cursor_str(rnd(10) ? HASH : ""), .now = T0,
                                    .no_normalize_path = rnd(5) == 0};
        char what[64];
        snprintf(what, sizeof what, "request %d", round);
        differential(&req, what);
    }
}

/* Presigned requests: the list's %3B separators and the canonical request's rejoined list. */
static void test_presigned(void)
{
    struct sigv4_header h[3] = {{core_cursor_str("Host"), core_cursor_str("example.amazonaws.com")},
                                {core_cursor_str("X-Amz-Target"), core_cursor_str("t")},
                                {core_cursor_str("x-amz-target"), core_cursor_str(" u  v ")}};
    static const char *const queries[] = {
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fkms%2Faws4_request"
        "&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-amz-target&X-Amz-Signature=" HASH,
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fkms%2Faws4_request"
        "&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3bx-amz-target;x&X-Amz-Signature=" HASH,
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fkms%2Faws4_request"
        "&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=" HASH,
    };
    for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
        struct sigv4_request req = {.method = core_cursor_str("GET"), .path = core_cursor_str("/"),
                                    .query = core_cursor_str(queries[q]), .headers = h, .n_headers = 3,
                                    .payload_hash = core_cursor_str(HASH), .now = T0};
        differential(&req, "presigned");
    }
}

/* The cases the brief names, each spelled out. */
static void test_named_cases(void)
{
    const char *ok_authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/kms/aws4_request, "
                           "SignedHeaders=host;x-amz-date;x-amz-target, Signature=" HASH;
    const char *two_authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/kms/aws4_request, "
                            "SignedHeaders=host;x-amz-date, Signature=" HASH;
    struct {
        const char *what;
        struct sigv4_header h[6];
        size_t n;
    } cases[] = {
        {"headers differing only in case, both joined",
         {{core_cursor_str("Host"), core_cursor_str("h")}, {core_cursor_str("X-Amz-Date"), core_cursor_str("20150830T123600Z")},
          {core_cursor_str("X-Amz-Target"), core_cursor_str("a")}, {core_cursor_str("x-amz-TARGET"), core_cursor_str(" b ")},
          {core_cursor_str("Authorization"), core_cursor_str(ok_authz)}},
         5},
        {"duplicate x-amz-date",
         {{core_cursor_str("Host"), core_cursor_str("h")}, {core_cursor_str("X-Amz-Date"), core_cursor_str("20150830T123600Z")},
          {core_cursor_str("x-amz-date"), core_cursor_str("20150830T123600Z")}, {core_cursor_str("X-Amz-Target"), core_cursor_str("a")},
          {core_cursor_str("Authorization"), core_cursor_str(ok_authz)}},
         5},
        {"a signed header absent",
         {{core_cursor_str("Host"), core_cursor_str("h")}, {core_cursor_str("X-Amz-Date"), core_cursor_str("20150830T123600Z")},
          {core_cursor_str("Authorization"), core_cursor_str(ok_authz)}},
         3},
        {"unsigned x-amz headers, named once each in arrival order",
         {{core_cursor_str("Host"), core_cursor_str("h")}, {core_cursor_str("X-Amz-Zz"), core_cursor_str("1")},
          {core_cursor_str("X-Amz-Date"), core_cursor_str("20150830T123600Z")}, {core_cursor_str("x-amz-aa"), core_cursor_str("2")},
          {core_cursor_str("x-amz-ZZ"), core_cursor_str("3")}, {core_cursor_str("Authorization"), core_cursor_str(two_authz)}},
         6},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct sigv4_request req = {.method = core_cursor_str("POST"), .path = core_cursor_str("/"),
                                    .query = core_cursor_str(""), .headers = cases[c].h, .n_headers = cases[c].n,
                                    .payload_hash = core_cursor_str(HASH), .now = T0};
        differential(&req, cases[c].what);
    }
    /* The expected outcomes themselves, so the reference cannot be wrong in the same way. */
    struct sigv4_header_index idx;
    sigv4_header_index_build(cases[0].h, cases[0].n, &idx);
    size_t at;
    EXPECT_TRUE(sigv4_header_index_find(&idx, cases[0].h, core_cursor_str("x-amz-target"), &at) == 2);
    EXPECT_TRUE(idx.pos[at] == 2 && idx.pos[at + 1] == 3);
    EXPECT_TRUE(sigv4_header_index_find(&idx, cases[0].h, core_cursor_str("x-amz-security-token"), NULL) == 0);
    struct sigv4_request req = {.method = core_cursor_str("POST"), .path = core_cursor_str("/"),
                                .query = core_cursor_str(""), .headers = cases[0].h, .n_headers = 5,
                                .payload_hash = core_cursor_str(HASH), .now = T0, .index = &idx};
    struct sigv4_auth auth;
    EXPECT_OK(sigv4_parse_authorization(&req, &auth, NULL));
    struct core_buf c;
    EXPECT_OK(core_buf_init(&c, 0, 4096));
    EXPECT_OK(sigv4_canonical_request(&req, &auth, &c, NULL));
    const char *want = "POST\n/\n\nhost:h\nx-amz-date:20150830T123600Z\nx-amz-target:a,b\n\n"
                       "host;x-amz-date;x-amz-target\n" HASH;
    EXPECT_BYTES_EQ(c.data, c.len, want, strlen(want));
    core_buf_free(&c);
    struct sigv4_diag d;
    EXPECT_OK(core_buf_init(&d.message, 0, 4096));
    req.headers = cases[2].h;
    req.n_headers = 3;
    sigv4_header_index_build(cases[2].h, 3, &idx);
    EXPECT_ERR(sigv4_parse_authorization(&req, &auth, &d), ERR_AUTH_INCOMPLETE);
    EXPECT_TRUE(core_cursor_eq_str(core_buf_cursor(&d.message),
                                   "Header 'x-amz-target' is named in SignedHeaders but is not present in the request."));
    core_buf_reset(&d.message);
    req.headers = cases[3].h;
    req.n_headers = 6;
    sigv4_header_index_build(cases[3].h, 6, &idx);
    EXPECT_ERR(sigv4_parse_authorization(&req, &auth, &d), ERR_AUTH_INCOMPLETE);
    EXPECT_TRUE(core_cursor_eq_str(core_buf_cursor(&d.message), "There were headers present in the request which "
                                                                "were not signed. HeadersNotSigned: x-amz-zz, x-amz-aa"));
    core_buf_free(&d.message);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    test_find_random();
    test_named_cases();
    test_presigned();
    test_requests_random();
    EXPECT_TRUE(known_checked > 1000);
    TEST_MAIN_END();
}
