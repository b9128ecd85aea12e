/*
 * Negative and edge tests for the SigV4 stages: every missing Authorization
 * part, bad algorithm, one changed signature character, scope and clock
 * errors, presigned expiry, signed-header rules, bounds, message escaping,
 * and the signing-key cache (hits, misses, eviction, threads).
 */
#include <pthread.h>

#include "sigv4/sigv4_stages.h"
#include "tests/test.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define T0 1440938160 /* 2015-08-30T12:36:00Z */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct fixture {
    struct sigv4_header h[CORE_MAX_HEADERS + 2];
    struct sigv4_request req;
    char authz[1024];
    struct sigv4_diag diag;
};

static struct sigv4_header hdr(const char *n, const char *v)
{
    return (struct sigv4_header){core_cursor_str(n), core_cursor_str(v)};
}

/* A GET signed with sigv4_sign; Authorization is h[2] and can be replaced. */
static void fixture_init(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    f->h[0] = hdr("Host", "example.amazonaws.com");
    f->h[1] = hdr("X-Amz-Date", "20150830T123600Z");
    f->req = (struct sigv4_request){.method = core_cursor_str("GET"), .path = core_cursor_str("/"),
                                    .query = core_cursor_str(""), .headers = f->h, .n_headers = 2,
                                    .payload_hash = core_cursor_str(EMPTY_SHA256), .now = T0};
    struct core_buf a;
    EXPECT_OK(core_buf_init(&a, 0, 1000));
    struct sigv4_credentials c = {core_cursor_str("AKIDEXAMPLE"), core_cursor_str(SECRET), {0}};
    EXPECT_OK(sigv4_sign(&f->req, &c, core_cursor_str("us-east-1"), core_cursor_str("service"),
                         core_cursor_str("20150830T123600Z"), NULL, &a));
    snprintf(f->authz, sizeof f->authz, "%.*s", (int)a.len, (const char *)a.data);
    core_buf_free(&a);
    f->h[2] = hdr("Authorization", f->authz);
    f->req.n_headers = 3;
    EXPECT_OK(core_buf_init(&f->diag.message, 0, 64 * 1024));
}

static void fixture_free(struct fixture *f) { core_buf_free(&f->diag.message); }

static bool msg_is(struct fixture *f, const char *want)
{
    bool ok = core_cursor_eq_str(core_buf_cursor(&f->diag.message), want);
    if (!ok)
        fprintf(stderr, "message: \"%.*s\"\nwanted:  \"%s\"\n", (int)f->diag.message.len,
                (const char *)f->diag.message.data, want);
    return ok;
}

static bool msg_has(struct fixture *f, const char *want)
{
    struct core_cursor m = core_buf_cursor(&f->diag.message);
    size_t n = strlen(want);
    for (size_t i = 0; i + n <= m.len; i++)
        if (memcmp(m.ptr + i, want, n) == 0) return true;
    fprintf(stderr, "message \"%.*s\" lacks \"%s\"\n", (int)m.len, (const char *)m.ptr, want);
    return false;
}

/* Parse (with clock) then verify. */
static core_result check(struct fixture *f, const char *secret, struct sigv4_key_cache *cache)
{
    struct sigv4_auth auth;
    core_buf_reset(&f->diag.message);
    GUARD(sigv4_parse(&f->req, &auth, &f->diag));
    return sigv4_verify(&f->req, &auth, core_cursor_str(secret), cache, &f->diag);
}

static void with_authz(struct fixture *f, const char *v)
{
    snprintf(f->authz, sizeof f->authz, "%s", v);
    f->h[2] = hdr("Authorization", f->authz);
}

static void test_valid_and_signature_chars(void)
{
    struct fixture f;
    fixture_init(&f);
    EXPECT_OK(check(&f, SECRET, NULL));
    /* One changed signature character. */
    char *sig = strstr(f.authz, "Signature=") + 10;
    sig[20] = sig[20] == 'a' ? 'b' : 'a';
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_BAD_SIGNATURE);
    EXPECT_TRUE(msg_has(&f, "The request signature we calculated does not match the signature you provided. "
                            "Check your AWS Secret Access Key and signing method. Consult the service "
                            "documentation for details.\n\nThe Canonical String for this request should have been\n"
                            "'GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
                            EMPTY_SHA256 "'\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n"
                            "20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"));
    fixture_free(&f);

    /* Uppercase hex, truncated and over-long signatures are mismatches, not crashes. */
    fixture_init(&f);
    sig = strstr(f.authz, "Signature=") + 10;
    for (char *p = sig; *p; p++)
        if (*p >= 'a' && *p <= 'f') *p = (char)(*p - 32);
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_BAD_SIGNATURE);
    fixture_free(&f);
    fixture_init(&f);
    char copy[1100];
    snprintf(copy, sizeof copy, "%s", f.authz);
    strstr(copy, "Signature=")[10 + 63] = 0;
    with_authz(&f, copy);
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_BAD_SIGNATURE);
    fixture_free(&f);
    fixture_init(&f);
    snprintf(copy, sizeof copy, "%s00", f.authz);
    with_authz(&f, copy);
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_BAD_SIGNATURE);
    EXPECT_ERR(check(&f, SECRET "x", NULL), ERR_AUTH_BAD_SIGNATURE);
    fixture_free(&f);
}

static void test_missing_parts(void)
{
    struct fixture f;
    fixture_init(&f);
    with_authz(&f, "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=abc");
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_INCOMPLETE);
    EXPECT_TRUE(msg_is(&f, "Authorization header requires 'Credential' parameter. Authorization=AWS4-HMAC-SHA256 "
                           "SignedHeaders=host;x-amz-date, Signature=abc"));
    with_authz(&f, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                   "SignedHeaders=host;x-amz-date");
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_INCOMPLETE);
    EXPECT_TRUE(msg_has(&f, "Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 "));
    with_authz(&f, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, Signature=ab");
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_INCOMPLETE);
    EXPECT_TRUE(msg_has(&f, "Authorization header requires 'SignedHeaders' parameter. "));
    /* Everything missing, and no date either: AWS's full message. */
    f.h[1] = hdr("X-Other", "1");
    with_authz(&f, "AWS4-HMAC-SHA256");
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_INCOMPLETE);
    EXPECT_TRUE(msg_is(&f, "Authorization header requires 'Credential' parameter. Authorization header requires "
                           "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "
                           "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
                           "Authorization=AWS4-HMAC-SHA256"));
    /* Not SigV4 at all. */
    with_authz(&f, "Basic dXNlcjpwYXNz");
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_INCOMPLETE);
    EXPECT_TRUE(msg_has(&f, "Authorization header requires 'Credential' parameter. "));
    EXPECT_TRUE(msg_has(&f, "Authorization=Basic dXNlcjpwYXNz"));
    fixture_free(&f);

    fixture_init(&f);
    with_authz(&f, "AWS4-HMAC-SHA256 Credential= AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                   "SignedHeaders=host;x-amz-date, Signature=ab");
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_INCOMPLETE);
    EXPECT_TRUE(msg_is(&f, "'AKIDEXAMPLE/20150830/us-east-1/service/aws4_request' not a valid key=value pair "
                           "(missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 Credential= "
                           "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
                           "Signature=ab'."));
    with_authz(&f, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/aws4_request, "
                   "SignedHeaders=host;x-amz-date, Signature=ab");
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_INCOMPLETE);
    EXPECT_TRUE(msg_has(&f, "the Credential is mal-formed"));
    with_authz(&f, "AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/service/aws4_request, Credential=B, "
                   "SignedHeaders=host;x-amz-date, Signature=ab");
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_INCOMPLETE);
    /* Bad algorithm with otherwise complete parameters. */
    with_authz(&f, "AWS4-HMAC-SHA1 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                   "SignedHeaders=host;x-amz-date, Signature=ab");
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_INCOMPLETE);
    /* No authentication at all. */
    f.req.n_headers = 2;
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_MISSING);
    EXPECT_TRUE(msg_is(&f, "Missing Authentication Token"));
    /* Two Authorization headers. */
    fixture_free(&f);
    fixture_init(&f);
    f.h[3] = f.h[2];
    f.req.n_headers = 4;
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_INCOMPLETE);
    fixture_free(&f);
}

static void test_scope_and_dates(void)
{
    struct fixture f;
    fixture_init(&f);
    char *p = strstr(f.authz, "/20150830/");
    p[8] = '1'; /* 20150831 */
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_BAD_SIGNATURE);
    EXPECT_TRUE(msg_is(&f, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
                           "HTTP: '20150831' != '20150830', from '20150830T123600Z'."));
    fixture_free(&f);
    fixture_init(&f);
    memcpy(strstr(f.authz, "aws4_request"), "aws4_reqxest", 12);
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_BAD_SIGNATURE);
    EXPECT_TRUE(msg_is(&f, "Credential should be scoped with a valid terminator: 'aws4_request', not "
                           "'aws4_reqxest'."));
    fixture_free(&f);

    fixture_init(&f);
    f.h[1] = hdr("X-Amz-Date", "2015-08-30T12:36:00Z");
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_INCOMPLETE);
    EXPECT_TRUE(msg_has(&f, "Date must be in ISO-8601 'basic format'. Got '2015-08-30T12:36:00Z'."));
    fixture_free(&f);

    /* Skew: 900 s either way is fine, 901 is not; judged against req.now, never time(). */
    fixture_init(&f);
    f.req.now = T0 + 900;
    EXPECT_OK(check(&f, SECRET, NULL));
    f.req.now = T0 - 900;
    EXPECT_OK(check(&f, SECRET, NULL));
    f.req.now = T0 + 901;
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_EXPIRED);
    EXPECT_TRUE(msg_is(&f, "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z "
                           "(20150830T125101Z - 15 min.)"));
    f.req.now = T0 - 901;
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_EXPIRED);
    EXPECT_TRUE(msg_is(&f, "Signature not yet current: 20150830T123600Z is still later than 20150830T123559Z "
                           "(20150830T122059Z + 15 min.)"));
    fixture_free(&f);

    /* Region/service checks for the server. */
    fixture_init(&f);
    struct sigv4_auth auth;
    EXPECT_OK(sigv4_parse(&f.req, &auth, NULL));
    EXPECT_OK(sigv4_check_scope(&auth, core_cursor_str("us-east-1"), core_cursor_str("service"), NULL));
    EXPECT_ERR(sigv4_check_scope(&auth, core_cursor_str("eu-west-1"), core_cursor_str("service"), &f.diag),
               ERR_AUTH_BAD_SIGNATURE);
    EXPECT_TRUE(msg_is(&f, "Credential should be scoped to a valid region, not 'us-east-1'."));
    core_buf_reset(&f.diag.message);
    EXPECT_ERR(sigv4_check_scope(&auth, core_cursor_str("us-east-1"), core_cursor_str("kms"), &f.diag),
               ERR_AUTH_BAD_SIGNATURE);
    EXPECT_TRUE(msg_is(&f, "Credential should be scoped to correct service: 'kms'."));
    fixture_free(&f);
}

static void test_date_header(void)
{
    struct fixture f;
    fixture_init(&f);
    /* Sign with Date instead of X-Amz-Date: the string to sign still uses the ISO basic form. */
    struct sigv4_header h[3] = {hdr("Host", "example.amazonaws.com"), hdr("Date", "Sun, 30 Aug 2015 12:36:00 GMT")};
    struct sigv4_request req = f.req;
    req.headers = h;
    req.n_headers = 3;
    h[2] = hdr("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                                "SignedHeaders=date;host, Signature=00");
    struct sigv4_auth auth;
    EXPECT_OK(sigv4_parse(&req, &auth, NULL));
    EXPECT_TRUE(auth.request_time == T0);
    h[1] = hdr("Date", "30 Aug 2015 12:36:00 +0000");
    EXPECT_OK(sigv4_parse(&req, &auth, NULL));
    EXPECT_TRUE(auth.request_time == T0);
    h[1] = hdr("Date", "Sun, 30 Aug 2015 12:36:00 +0200");
    EXPECT_ERR(sigv4_parse(&req, &auth, NULL), ERR_AUTH_INCOMPLETE);
    h[1] = hdr("Date", "Sun, 30 Foo 2015 12:36:00 GMT");
    EXPECT_ERR(sigv4_parse(&req, &auth, NULL), ERR_AUTH_INCOMPLETE);
    fixture_free(&f);
}

static void test_signed_headers(void)
{
    struct fixture f;
    fixture_init(&f);
    const char *cred = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ";
    char buf[512];
    snprintf(buf, sizeof buf, "%sSignedHeaders=x-amz-date, Signature=00", cred);
    with_authz(&f, buf);
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_INCOMPLETE);
    EXPECT_TRUE(msg_is(&f, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."));
    snprintf(buf, sizeof buf, "%sSignedHeaders=x-amz-date;host, Signature=00", cred);
    with_authz(&f, buf);
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_INCOMPLETE); /* unsorted */
    snprintf(buf, sizeof buf, "%sSignedHeaders=Host;x-amz-date, Signature=00", cred);
    with_authz(&f, buf);
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_INCOMPLETE); /* not lowercase */
    snprintf(buf, sizeof buf, "%sSignedHeaders=host;host;x-amz-date, Signature=00", cred);
    with_authz(&f, buf);
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_INCOMPLETE); /* duplicate */
    snprintf(buf, sizeof buf, "%sSignedHeaders=content-type;host;x-amz-date, Signature=00", cred);
    with_authz(&f, buf);
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_INCOMPLETE); /* named but absent */
    EXPECT_TRUE(msg_has(&f, "'content-type' is named in SignedHeaders but is not present"));
    snprintf(buf, sizeof buf, "%sSignedHeaders=, Signature=00", cred);
    with_authz(&f, buf);
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_INCOMPLETE);

    /* More than CORE_SIGV4_MAX_SIGNED_HEADERS names. */
    char big[1024] = "";
    size_t off = (size_t)snprintf(big, sizeof big, "%sSignedHeaders=", cred);
    for (unsigned i = 0; i <= CORE_SIGV4_MAX_SIGNED_HEADERS; i++)
        off += (size_t)snprintf(big + off, sizeof big - off, "%sh%02u", i ? ";" : "", i);
    snprintf(big + off, sizeof big - off, ", Signature=00");
    snprintf(f.authz, sizeof f.authz, "%s", big);
    f.h[2] = hdr("Authorization", f.authz);
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_LIMIT);

    /* More headers than CORE_MAX_HEADERS. */
    fixture_free(&f);
    fixture_init(&f);
    for (size_t i = 3; i < CORE_MAX_HEADERS + 1; i++) f.h[i] = hdr("X-Pad", "1");
    f.req.n_headers = CORE_MAX_HEADERS + 1;
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_LIMIT);
    fixture_free(&f);
}

/* Signs h[0..n) again; Authorization becomes h[n]. */
static void resign(struct fixture *f, size_t n)
{
    f->req.n_headers = n;
    struct core_buf a;
    EXPECT_OK(core_buf_init(&a, 0, 1000));
    struct sigv4_credentials c = {core_cursor_str("AKIDEXAMPLE"), core_cursor_str(SECRET), {0}};
    EXPECT_OK(sigv4_sign(&f->req, &c, core_cursor_str("us-east-1"), core_cursor_str("service"),
                         core_cursor_str("20150830T123600Z"), NULL, &a));
    snprintf(f->authz, sizeof f->authz, "%.*s", (int)a.len, (const char *)a.data);
    core_buf_free(&a);
    f->h[n] = hdr("Authorization", f->authz);
    f->req.n_headers = n + 1;
}

static void test_payload_hash(void)
{
    struct fixture f;
    fixture_init(&f);
    /* Present but unsigned x-amz-content-sha256: every x-amz-* header must be signed. */
    f.h[3] = hdr("X-Amz-Content-Sha256", "0000000000000000000000000000000000000000000000000000000000000000");
    f.req.n_headers = 4;
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_INCOMPLETE);
    EXPECT_TRUE(msg_is(&f, "There were headers present in the request which were not signed. HeadersNotSigned: "
                           "x-amz-content-sha256"));
    /* Signed: the value is trimmed; a value that is not the body's hash is refused. */
    f.h[2] = hdr("X-Amz-Content-Sha256", " " EMPTY_SHA256 " ");
    resign(&f, 3);
    EXPECT_OK(check(&f, SECRET, NULL));
    f.h[2] = hdr("X-Amz-Content-Sha256", "0000000000000000000000000000000000000000000000000000000000000000");
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_BAD_SIGNATURE);
    EXPECT_TRUE(msg_is(&f, "The provided 'x-amz-content-sha256' header does not match what was computed."));

    /* UNSIGNED-PAYLOAD, signed: only S3's rules honour it; JSON and Query
     * services hash the body they received. */
    f.h[2] = hdr("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD");
    f.req.no_normalize_path = true;
    resign(&f, 3);
    EXPECT_OK(check(&f, SECRET, NULL));
    f.req.no_normalize_path = false;
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_BAD_SIGNATURE);
    EXPECT_TRUE(msg_is(&f, "The provided 'x-amz-content-sha256' header does not match what was computed."));
    fixture_free(&f);

    fixture_init(&f);
    f.req.payload_hash = (struct core_cursor){0};
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_INVALID_ARG);
    fixture_free(&f);
}

/* Issue 10 item 6: headers that decide what a request does must be signed. */
static void test_required_signed_headers(void)
{
    struct fixture f;
    fixture_init(&f); /* signs host;x-amz-date */
    static const struct {
        const char *name, *value, *msg;
    } cases[] = {
        {"X-Amz-Target", "TrentService.ListAliases", "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."},
        {"Content-Type", "application/x-amz-json-1.1", "'Content-Type' must be a 'SignedHeader' in the AWS Authorization."},
        {"X-Amz-Security-Token", "tok", "There were headers present in the request which were not signed. "
                                        "HeadersNotSigned: x-amz-security-token"},
        {"x-amz-user-agent", "x", "There were headers present in the request which were not signed. "
                                  "HeadersNotSigned: x-amz-user-agent"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        f.h[3] = hdr(cases[i].name, cases[i].value);
        f.req.n_headers = 4;
        EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_INCOMPLETE);
        EXPECT_TRUE(msg_is(&f, cases[i].msg));
    }
    /* Two unsigned, one repeated: each named once. */
    f.h[3] = hdr("X-Amz-Foo", "1");
    f.h[4] = hdr("x-amz-bar", "2");
    f.h[5] = hdr("X-AMZ-FOO", "3");
    f.req.n_headers = 6;
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_INCOMPLETE);
    EXPECT_TRUE(msg_is(&f, "There were headers present in the request which were not signed. HeadersNotSigned: "
                           "x-amz-foo, x-amz-bar"));
    /* Headers that are not x-amz-* may go unsigned (User-Agent, X-Amzn-Trace-Id, ...). */
    f.h[3] = hdr("User-Agent", "x");
    f.h[4] = hdr("X-Amzn-Trace-Id", "Root=1");
    f.req.n_headers = 5;
    EXPECT_OK(check(&f, SECRET, NULL));
    /* S3's rules: Content-Type may go unsigned, x-amz-* may not. */
    fixture_free(&f);
    fixture_init(&f);
    f.req.no_normalize_path = true;
    resign(&f, 2);
    f.h[3] = hdr("Content-Type", "text/plain");
    f.req.n_headers = 4;
    EXPECT_OK(check(&f, SECRET, NULL));
    f.h[3] = hdr("X-Amz-Meta-A", "b");
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_INCOMPLETE);
    fixture_free(&f);
}

/* Which unsigned names are x-amz-* or Date is decided byte by byte (issue 14, round 5): any case of
 * each letter counts, a neighbour of any byte does not. */
static void test_required_names_each_byte(void)
{
    struct fixture f;
    fixture_init(&f); /* signs host;x-amz-date */
    static const struct {
        const char *name;
        bool required;
    } amz[] = {{"X-aMz-Q", true},  {"x-AMZ-q", true},  {"x-amz-q", true},  {"x-amz-", false}, {"x-amz_q", false},
               {"x_amz-q", false}, {"x-amy-q", false}, {"y-amz-q", false}, {"x-anz-q", false}, {"x-bmz-q", false},
               {"x-am{-q", false}, {"X-AM\x5a-Q", true}, {"\x58-amz-q", true}, {"\xd8-amz-q", false}, {"x-amz\x0d-q", false}};
    for (size_t i = 0; i < sizeof amz / sizeof amz[0]; i++) {
        f.h[3] = hdr(amz[i].name, "v");
        f.req.n_headers = 4;
        core_result r = check(&f, SECRET, NULL);
        if (amz[i].required ? r.err != ERR_AUTH_INCOMPLETE : !core_ok(r)) TEST_FAIL("unsigned '%s': %s", amz[i].name, core_err_name(r.err));
    }
    fixture_free(&f);
    /* Date must be signed when it gives the time (no X-Amz-Date): any case of "date" is that header (a
     * second one, refused), any other name an unsigned header that may stay unsigned. */
    static const struct {
        const char *name;
        bool date;
    } dates[] = {{"Date", true}, {"dAtE", true}, {"DATE", true}, {"datf", false}, {"eate", false},
                 {"dbte", false}, {"dase", false}, {"Dates", false}, {"dat", false}, {"\xc4\xe1te", false}};
    for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
        struct sigv4_header h[4] = {hdr("Host", "example.amazonaws.com"), hdr("Date", "Sun, 30 Aug 2015 12:36:00 GMT"),
                                    hdr(dates[i].name, "v"),
                                    hdr("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/"
                                                         "service/aws4_request, SignedHeaders=date;host, Signature=00")};
        struct sigv4_request req = {.method = core_cursor_str("GET"), .path = core_cursor_str("/"),
                                    .query = core_cursor_str(""), .headers = h, .n_headers = 4,
                                    .payload_hash = core_cursor_str(EMPTY_SHA256), .now = T0};
        struct sigv4_auth auth;
        core_result r = sigv4_parse(&req, &auth, NULL);
        if (core_ok(r) == dates[i].date) TEST_FAIL("extra header '%s': %s", dates[i].name, core_err_name(r.err));
    }
}

/* The credential's parts are checked eight bytes at a time (round 5): every byte value at every position
 * of a 20-byte access key id and a 9-byte region; only printable ASCII other than '%' and '/' passes
 * ('/' splits the credential, so it makes six parts). */
static void test_credential_bytes(void)
{
    for (int part = 0; part < 2; part++) {
        const char *base = part == 0 ? "AKIDEXAMPLE123456789" : "us-east-1";
        size_t len = strlen(base);
        for (size_t at = 0; at < len; at++) {
            for (unsigned v = 1; v < 256; v++) {
                if (v == ',' || v == ' ' || v == '\t') continue; /* they end the parameter: another message */
                char val[256], tok[32];
                memcpy(tok, base, len);
                tok[at] = (char)v;
                tok[len] = 0;
                if (part == 0)
                    snprintf(val, sizeof val, "AWS4-HMAC-SHA256 Credential=%s/20150830/us-east-1/service/aws4_request, "
                                              "SignedHeaders=host;x-amz-date, Signature=00", tok);
                else
                    snprintf(val, sizeof val, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/%s/service/aws4_request, "
                                              "SignedHeaders=host;x-amz-date, Signature=00", tok);
                struct sigv4_header h[3] = {hdr("Host", "example.amazonaws.com"), hdr("X-Amz-Date", "20150830T123600Z"),
                                            hdr("Authorization", val)};
                struct sigv4_request req = {.method = core_cursor_str("GET"), .path = core_cursor_str("/"),
                                            .query = core_cursor_str(""), .headers = h, .n_headers = 3,
                                            .payload_hash = core_cursor_str(EMPTY_SHA256), .now = T0};
                struct sigv4_auth auth;
                struct sigv4_diag d;
                EXPECT_OK(core_buf_init(&d.message, 0, 4096));
                core_result r = sigv4_parse(&req, &auth, &d);
                bool ok = v > 0x20 && v < 0x7f && v != '%' && v != '/';
                /* A valid byte leaves every part as it was; any other makes the Credential malformed. */
                bool malformed = core_cursor_eq_str(core_buf_cursor(&d.message),
                                                    "The authorization header is malformed; the Credential is "
                                                    "mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/"
                                                    "aws4_request\".");
                if (ok == malformed || (ok && !core_ok(r)))
                    TEST_FAIL("byte 0x%02x at %zu of part %d: %s '%.*s'", v, at, part, core_err_name(r.err),
                              (int)d.message.len, (const char *)d.message.data);
                core_buf_free(&d.message);
            }
        }
    }
}

/* Bytes the header form cannot carry in a Credential (they end the parameter) reach it in the query. */
static void test_credential_bytes_presigned(void)
{
    static const struct {
        char c;
        bool ok;
    } cases[] = {{' ', false}, {'\t', false}, {',', true}, {'!', true}, {'~', true}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (size_t at = 0; at < 20; at++) {
            char akid[21] = "AKIDEXAMPLE123456789", q[512];
            akid[at] = cases[i].c;
            snprintf(q, sizeof q, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%s%%2F20150830%%2Fus-east-1%%2F"
                                  "service%%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&"
                                  "X-Amz-SignedHeaders=host&X-Amz-Signature=00", akid);
            struct sigv4_header h[1] = {hdr("Host", "example.amazonaws.com")};
            struct sigv4_request req = {.method = core_cursor_str("GET"), .path = core_cursor_str("/"),
                                        .query = core_cursor_str(q), .headers = h, .n_headers = 1,
                                        .payload_hash = core_cursor_str(EMPTY_SHA256), .now = T0};
            struct sigv4_auth auth;
            core_result r = sigv4_parse(&req, &auth, NULL);
            if (core_ok(r) != cases[i].ok) TEST_FAIL("byte 0x%02x at %zu: %s", (unsigned)(uint8_t)cases[i].c, at, core_err_name(r.err));
        }
    }
}

/* Trimall reads values eight bytes at a time until a word holds white space (round 5): values of 0 to 24
 * bytes with every byte value at every position, and runs of white space at each offset, give the
 * canonical line a byte loop gives. */
static void ref_trimall(const uint8_t *v, size_t n, struct core_buf *out)
{
    bool pending = false, any = false;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = v[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f') {
            pending = any;
            continue;
        }
        if (pending) EXPECT_OK(core_buf_append_u8(out, ' '));
        pending = false;
        any = true;
        EXPECT_OK(core_buf_append_u8(out, c));
    }
}

static void trimall_case(const uint8_t *v, size_t n)
{
    struct sigv4_header h[2] = {hdr("Host", "h"), {core_cursor_str("X-V"), core_cursor_from(v, n)}};
    struct sigv4_request req = {.method = core_cursor_str("GET"), .path = core_cursor_str("/"),
                                .query = core_cursor_str(""), .headers = h, .n_headers = 2,
                                .payload_hash = core_cursor_str(EMPTY_SHA256), .now = T0};
    struct sigv4_auth auth = {.form = SIGV4_FORM_HEADER, .signed_headers = core_cursor_str("host;x-v")};
    struct core_buf cr, want;
    EXPECT_OK(core_buf_init(&cr, 0, 4096));
    EXPECT_OK(core_buf_init(&want, 0, 4096));
    EXPECT_OK(core_buf_append_str(&want, "GET\n/\n\nhost:h\nx-v:"));
    ref_trimall(v, n, &want);
    EXPECT_OK(core_buf_append_str(&want, "\n\nhost;x-v\n" EMPTY_SHA256));
    EXPECT_OK(sigv4_canonical_request(&req, &auth, &cr, NULL));
    if (!core_cursor_eq(core_buf_cursor(&cr), core_buf_cursor(&want)))
        TEST_FAIL("trimall of %zu bytes: '%.*s' vs '%.*s'", n, (int)cr.len, (const char *)cr.data, (int)want.len,
                  (const char *)want.data);
    core_buf_free(&cr);
    core_buf_free(&want);
}

static void test_trimall_bytes(void)
{
    for (size_t n = 0; n <= 24; n++) {
        uint8_t v[24];
        for (size_t at = 0; at < (n ? n : 1); at++) {
            for (unsigned c = 0; c < 256; c++) {
                for (size_t i = 0; i < n; i++) v[i] = (uint8_t)('a' + i);
                if (n) v[at] = (uint8_t)c;
                trimall_case(v, n);
            }
        }
        /* runs of white space of each length at each offset */
        for (size_t at = 0; at < n; at++) {
            for (size_t run = 1; at + run <= n; run++) {
                for (size_t i = 0; i < n; i++) v[i] = (uint8_t)('a' + i);
                for (size_t i = at; i < at + run; i++) v[i] = (uint8_t)(" \t\r\n\v\f"[i % 6]);
                trimall_case(v, n);
            }
        }
    }
}

static void test_escaping(void)
{
    struct fixture f;
    fixture_init(&f);
    char buf[1000];
    memset(buf, 'A', sizeof buf - 1);
    buf[sizeof buf - 1] = 0;
    memcpy(buf, "AWS4-HMAC-SHA256 \x01\r\nX-Evil: 1 \xff", 31);
    with_authz(&f, buf);
    EXPECT_ERR(check(&f, SECRET, NULL), ERR_AUTH_INCOMPLETE);
    struct core_cursor m = core_buf_cursor(&f.diag.message);
    for (size_t i = 0; i < m.len; i++) EXPECT_TRUE(m.ptr[i] >= 0x20 && m.ptr[i] < 0x7f);
    EXPECT_TRUE(m.len < 2 * SIGV4_MAX_ECHO_BYTES + 200);
    EXPECT_TRUE(msg_has(&f, "\\x01\\x0d\\x0aX-Evil:"));
    EXPECT_TRUE(msg_has(&f, "..."));
    fixture_free(&f);
}

static void test_canonical_pieces(void)
{
    static const struct {
        const char *in, *out;
        bool norm;
    } uris[] = {
        {"", "/", true},
        {"/", "/", true},
        {"/a/b/../c", "/a/c", true},
        {"/a/./b/", "/a/b/", true},
        {"/..", "/", true},
        {"/a/..", "/", true},
        {"/a/../..//b", "/b", true},
        {"//a//b//", "/a/b/", true},
        {"/a b/%2F~", "/a%20b/%252F~", true},
        {"/a/.", "/a", true},
        {"/a//b/../c%2F", "/a//b/../c%2F", false},
        {"", "/", false},
    };
    struct core_buf b, scratch;
    EXPECT_OK(core_buf_init(&b, 0, 1 << 16));
    EXPECT_OK(core_buf_init(&scratch, 0, 1 << 16));
    for (size_t i = 0; i < sizeof uris / sizeof uris[0]; i++) {
        core_buf_reset(&b);
        EXPECT_OK(sigv4_canonical_uri(core_cursor_str(uris[i].in), uris[i].norm, &b));
        if (!core_cursor_eq_str(core_buf_cursor(&b), uris[i].out))
            TEST_FAIL("uri %s -> %.*s, want %s", uris[i].in, (int)b.len, (const char *)b.data, uris[i].out);
    }
    static const struct {
        const char *in, *out;
    } qs[] = {
        {"", ""},
        {"b=2&a=1&a=0&c", "a=0&a=1&b=2&c="},
        {"a=b+c&%7e=%7E&x=%2f", "a=b%2Bc&x=%2F&~=~"},
        {"a=%zz&b=%4", "a=%25zz&b=%254"},
        {"&&a=1&", "a=1"},
        {"k=v=w", "k=v%3Dw"},
        {"X-Amz-Signature=abc&X-Amz-Date=1", "X-Amz-Date=1"},
    };
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        core_buf_reset(&b);
        EXPECT_OK(sigv4_canonical_query(core_cursor_str(qs[i].in), true, &b, &scratch));
        if (!core_cursor_eq_str(core_buf_cursor(&b), qs[i].out))
            TEST_FAIL("query %s -> %.*s, want %s", qs[i].in, (int)b.len, (const char *)b.data, qs[i].out);
    }
    char many[4096] = "";
    size_t off = 0;
    for (unsigned i = 0; i <= CORE_MAX_QUERY_PARAMS; i++) off += (size_t)snprintf(many + off, sizeof many - off, "a%u=&", i);
    core_buf_reset(&b);
    EXPECT_ERR(sigv4_canonical_query(core_cursor_str(many), false, &b, &scratch), ERR_LIMIT);
    char longpath[CORE_MAX_PATH_BYTES + 2];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[0] = '/';
    longpath[sizeof longpath - 1] = 0;
    EXPECT_ERR(sigv4_canonical_uri(core_cursor_str(longpath), true, &b), ERR_LIMIT);
    core_buf_free(&b);
    core_buf_free(&scratch);
}

static void test_signing_key_kat(void)
{
    /* AWS's worked example: secret above, 20120215/us-east-1/iam. */
    static const uint8_t want[32] = {0xf4, 0x78, 0x0e, 0x2d, 0x9f, 0x65, 0xfa, 0x89, 0x5f, 0x9c, 0x67,
                                     0xb3, 0x2c, 0xe1, 0xba, 0xf0, 0xb0, 0xd8, 0xa4, 0x35, 0x05, 0xa0,
                                     0x00, 0xa1, 0xa9, 0xe0, 0x90, 0xd4, 0x14, 0xdb, 0x40, 0x4d};
    uint8_t key[32];
    EXPECT_OK(sigv4_signing_key(core_cursor_str(SECRET), core_cursor_str("20120215"), core_cursor_str("us-east-1"),
                                core_cursor_str("iam"), key));
    EXPECT_BYTES_EQ(key, 32, want, 32);
    char big[CORE_MAX_SECRET_KEY_BYTES + 2];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = 0;
    EXPECT_ERR(sigv4_signing_key(core_cursor_str(big), core_cursor_str("20120215"), core_cursor_str("us-east-1"),
                                 core_cursor_str("iam"), key),
               ERR_INVALID_ARG);
}

static void test_presigned(void)
{
    struct sigv4_header h[1] = {hdr("Host", "sts.amazonaws.com")};
    char q[1024];
    const char *base = "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&"
                       "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fsts%2Faws4_request&"
                       "X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host";
    struct sigv4_request req = {.method = core_cursor_str("GET"), .path = core_cursor_str("/"), .headers = h,
                                .n_headers = 1, .payload_hash = core_cursor_str(EMPTY_SHA256), .now = T0};
    /* Signature over the canonical request, computed with the stages. */
    struct sigv4_auth auth;
    snprintf(q, sizeof q, "%s&X-Amz-Signature=00", base);
    req.query = core_cursor_str(q);
    EXPECT_OK(sigv4_parse_authorization(&req, &auth, NULL));
    EXPECT_TRUE(auth.form == SIGV4_FORM_PRESIGNED && auth.expires == 60);
    EXPECT_TRUE(core_cursor_eq_str(auth.access_key_id, "AKIDEXAMPLE") && core_cursor_eq_str(auth.service, "sts"));
    struct core_buf cr, sts;
    EXPECT_OK(core_buf_init(&cr, 0, 1 << 16));
    EXPECT_OK(core_buf_init(&sts, 0, 1024));
    EXPECT_OK(sigv4_canonical_request(&req, &auth, &cr, NULL));
    EXPECT_OK(sigv4_string_to_sign(&auth, core_buf_cursor(&cr), &sts));
    uint8_t key[32];
    char sig[65];
    EXPECT_OK(sigv4_signing_key(core_cursor_str(SECRET), auth.scope_date, auth.region, auth.service, key));
    sigv4_signature_hex(key, core_buf_cursor(&sts), sig);
    snprintf(q, sizeof q, "%s&X-Amz-Signature=%s", base, sig);
    req.query = core_cursor_str(q);

    struct sigv4_diag diag;
    EXPECT_OK(core_buf_init(&diag.message, 0, 4096));
    req.now = T0 + 60; /* last valid second */
    EXPECT_OK(sigv4_parse(&req, &auth, &diag));
    EXPECT_OK(sigv4_verify(&req, &auth, core_cursor_str(SECRET), NULL, &diag));
    req.now = T0 + 61; /* one second past expiry */
    EXPECT_ERR(sigv4_parse(&req, &auth, &diag), ERR_AUTH_EXPIRED);
    EXPECT_TRUE(core_cursor_eq_str(core_buf_cursor(&diag.message), "Request has expired"));
    req.now = T0 - 901; /* far future X-Amz-Date */
    EXPECT_ERR(sigv4_parse(&req, &auth, NULL), ERR_AUTH_EXPIRED);
    req.now = T0;

    /* Missing parameters, AWS's message. */
    core_buf_reset(&diag.message);
    req.query = core_cursor_str("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20150830T123600Z");
    EXPECT_ERR(sigv4_parse(&req, &auth, &diag), ERR_AUTH_INCOMPLETE);
    EXPECT_TRUE(core_cursor_eq_str(core_buf_cursor(&diag.message),
                                   "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string "
                                   "parameters must include 'X-Amz-Signature'. AWS query-string parameters must "
                                   "include 'X-Amz-SignedHeaders'. AWS query-string parameters must include "
                                   "'X-Amz-Expires'. Re-examine the query-string parameters."));
    /* Bad values. */
    snprintf(q, sizeof q, "%s&X-Amz-Signature=%s", base, sig);
    char *e = strstr(q, "X-Amz-Expires=60");
    memcpy(e, "X-Amz-Expires=6x", 16);
    req.query = core_cursor_str(q);
    EXPECT_ERR(sigv4_parse(&req, &auth, NULL), ERR_AUTH_INCOMPLETE);
    char q2[1100];
    snprintf(q2, sizeof q2, "%s&X-Amz-Signature=%s&X-Amz-Signature=%s", base, sig, sig);
    req.query = core_cursor_str(q2);
    EXPECT_ERR(sigv4_parse(&req, &auth, NULL), ERR_AUTH_INCOMPLETE); /* duplicate */
    snprintf(q2, sizeof q2, "%s&X-Amz-Signature=%s", base, sig);
    memcpy(strstr(q2, "AWS4-HMAC-SHA256"), "AWS4-HMAC-SHA512", 16);
    req.query = core_cursor_str(q2);
    EXPECT_ERR(sigv4_parse(&req, &auth, NULL), ERR_AUTH_INCOMPLETE);
    /* Query auth plus an Authorization header. */
    snprintf(q2, sizeof q2, "%s&X-Amz-Signature=%s", base, sig);
    req.query = core_cursor_str(q2);
    struct sigv4_header h2[2] = {h[0], hdr("Authorization", "AWS4-HMAC-SHA256 x=y")};
    req.headers = h2;
    req.n_headers = 2;
    EXPECT_ERR(sigv4_parse(&req, &auth, NULL), ERR_AUTH_INCOMPLETE);
    core_buf_free(&diag.message);
    core_buf_free(&cr);
    core_buf_free(&sts);
}

struct thread_arg {
    struct sigv4_key_cache *cache;
    int failures;
};

static void *verify_loop(void *p)
{
    struct thread_arg *a = p;
    struct fixture f;
    fixture_init(&f);
    for (int i = 0; i < 200; i++)
        if (!core_ok(check(&f, SECRET, a->cache))) a->failures++;
    fixture_free(&f);
    return NULL;
}

static void test_key_cache(void)
{
    struct sigv4_key_cache *cache;
    EXPECT_ERR(sigv4_key_cache_new(0, &cache), ERR_INVALID_ARG);
    EXPECT_OK(sigv4_key_cache_new(16, &cache));
    uint64_t hits, misses;
    struct fixture f;
    fixture_init(&f);
    EXPECT_OK(check(&f, SECRET, cache));
    sigv4_key_cache_stats(cache, &hits, &misses);
    EXPECT_TRUE(hits == 0 && misses == 1);
    EXPECT_OK(check(&f, SECRET, cache));
    sigv4_key_cache_stats(cache, &hits, &misses);
    EXPECT_TRUE(hits == 1 && misses == 1);
    /* Another secret is another entry, and does not verify. */
    EXPECT_ERR(check(&f, SECRET "x", cache), ERR_AUTH_BAD_SIGNATURE);
    sigv4_key_cache_stats(cache, &hits, &misses);
    EXPECT_TRUE(hits == 1 && misses == 2);
    EXPECT_ERR(check(&f, SECRET "x", cache), ERR_AUTH_BAD_SIGNATURE);
    sigv4_key_cache_stats(cache, &hits, &misses);
    EXPECT_TRUE(hits == 2 && misses == 2);

    /* Far more tuples than capacity: eviction never returns a wrong key. */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 100; i++) {
            char secret[32], region[16];
            snprintf(secret, sizeof secret, "secret-%d", i);
            snprintf(region, sizeof region, "region-%d", i % 7);
            uint8_t k1[32], k2[32];
            EXPECT_OK(sigv4_key_cache_get(cache, core_cursor_str(secret), core_cursor_str("20150830"),
                                          core_cursor_str(region), core_cursor_str("kms"), k1));
            EXPECT_OK(sigv4_signing_key(core_cursor_str(secret), core_cursor_str("20150830"), core_cursor_str(region),
                                        core_cursor_str("kms"), k2));
            EXPECT_BYTES_EQ(k1, 32, k2, 32);
        }
    }
    /* Length-prefixed names: ("ab","c") and ("a","bc") differ. */
    uint8_t a[32], b[32];
    EXPECT_OK(sigv4_key_cache_get(cache, core_cursor_str("s"), core_cursor_str("ab"), core_cursor_str("c"),
                                  core_cursor_str("x"), a));
    EXPECT_OK(sigv4_key_cache_get(cache, core_cursor_str("s"), core_cursor_str("a"), core_cursor_str("bc"),
                                  core_cursor_str("x"), b));
    EXPECT_TRUE(memcmp(a, b, 32) != 0);
    fixture_free(&f);

    /* Threads share one cache. */
    pthread_t t[4];
    struct thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct thread_arg){cache, 0};
        pthread_create(&t[i], NULL, verify_loop, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        EXPECT_TRUE(args[i].failures == 0);
    }
    sigv4_key_cache_free(cache);
    sigv4_key_cache_free(NULL);
}

static void test_sign_args(void)
{
    struct sigv4_header h[1] = {hdr("Host", "x")};
    struct sigv4_request req = {.method = core_cursor_str("GET"), .path = core_cursor_str("/"), .headers = h,
                                .n_headers = 1, .payload_hash = core_cursor_str(EMPTY_SHA256)};
    struct sigv4_credentials c = {core_cursor_str("AKID"), core_cursor_str(SECRET), {0}};
    struct core_buf out;
    EXPECT_OK(core_buf_init(&out, 0, 1024));
    EXPECT_ERR(sigv4_sign(&req, &c, core_cursor_str("us-east-1"), core_cursor_str("kms"),
                          core_cursor_str("20150830T123600Z"), NULL, &out),
               ERR_INVALID_ARG); /* no x-amz-date */
    core_buf_free(&out);
}

static void test_http_parse(void)
{
    const char *raw = "POST /p?a=1 HTTP/1.1\r\nHost: h\r\nX-Multi: a\r\n  b\r\nContent-Length: 3\r\n\r\nabcdef";
    struct sigv4_header h[8];
    struct sigv4_request req;
    struct core_cursor body;
    EXPECT_OK(sigv4_http_parse(core_cursor_str(raw), h, 8, &req, &body));
    EXPECT_TRUE(core_cursor_eq_str(req.method, "POST") && core_cursor_eq_str(req.path, "/p") &&
                core_cursor_eq_str(req.query, "a=1") && req.n_headers == 3);
    EXPECT_TRUE(core_cursor_eq_str(h[1].value, " a\r\n  b") && core_cursor_eq_str(body, "abc"));
    EXPECT_ERR(sigv4_http_parse(core_cursor_str(raw), h, 2, &req, &body), ERR_LIMIT);
    EXPECT_ERR(sigv4_http_parse(core_cursor_str("GET\r\n\r\n"), h, 8, &req, &body), ERR_PARSE);
    EXPECT_ERR(sigv4_http_parse(core_cursor_str("GET / HTTP/1.1\n  folded\n\n"), h, 8, &req, &body), ERR_PARSE);
    EXPECT_ERR(sigv4_http_parse(core_cursor_str("GET / HTTP/1.1\nContent-Length: 9\n\nab"), h, 8, &req, &body),
               ERR_PARSE);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    test_valid_and_signature_chars();
    test_missing_parts();
    test_scope_and_dates();
    test_date_header();
    test_signed_headers();
    test_payload_hash();
    test_required_signed_headers();
    test_required_names_each_byte();
    test_credential_bytes();
    test_credential_bytes_presigned();
    test_trimall_bytes();
    test_escaping();
    test_canonical_pieces();
    test_signing_key_kat();
    test_presigned();
    test_key_cache();
    test_sign_args();
    test_http_parse();
    TEST_MAIN_END();
}
