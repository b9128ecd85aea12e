/*
 * The per-thread canonical-request buffer holds the X-Amz-Security-Token
 * while a signature is checked. It is wiped when sigv4_verify returns (good
 * or bad signature), not left until the next request, and signatures are
 * still verified in full: one changed character fails.
 */
#include "sigv4/sigv4_stages.h"
#include "tests/test.h"

static const char token[] = "FQoGZXIvYXdzEXAMPLE-SESSION-TOKEN-0123456789abcdef";

static bool scratch_holds_token(void)
{
    struct sigv4_scratch *s;
    if (!core_ok(sigv4_scratch_get(&s))) return true;
    for (size_t i = 0; s->canon.data && i + sizeof token - 1 <= s->canon.cap; i++)
        if (memcmp(s->canon.data + i, token, sizeof token - 1) == 0) return true;
    return false;
}

static void check(bool tamper)
{
    struct sigv4_key_cache *cache;
    EXPECT_OK(sigv4_key_cache_new(4, &cache));
    char hash[65];
    sigv4_sha256_hex(core_cursor_str(""), hash);
    struct sigv4_header h[4] = {
        {core_cursor_str("Host"), core_cursor_str("127.0.0.1:8080")},
        {core_cursor_str("X-Amz-Date"), core_cursor_str("20261202T063000Z")},
        {core_cursor_str("X-Amz-Security-Token"), core_cursor_str(token)},
    };
    struct sigv4_request req = {.method = core_cursor_str("POST"), .path = core_cursor_str("/"), .headers = h,
                                .n_headers = 3, .payload_hash = core_cursor_str(hash), .now = 1796193000};
    struct sigv4_credentials cr = {core_cursor_str("ASIAEXAMPLEEXAMPLE00"), core_cursor_str("secret-key-example"),
                                   core_cursor_str(token)};
    struct core_buf auth_value;
    EXPECT_OK(core_buf_init(&auth_value, 0, 4096));
    EXPECT_OK(sigv4_sign(&req, &cr, core_cursor_str("us-east-1"), core_cursor_str("kms"),
                         core_cursor_str("20261202T063000Z"), cache, &auth_value));
    if (tamper && auth_value.len) auth_value.data[auth_value.len - 1] ^= 1;
    h[3] = (struct sigv4_header){core_cursor_str("Authorization"), core_buf_cursor(&auth_value)};
    req.n_headers = 4;
    struct sigv4_auth auth;
    struct sigv4_diag diag;
    EXPECT_OK(core_buf_init(&diag.message, 0, 8192));
    EXPECT_OK(sigv4_parse(&req, &auth, &diag));
    core_result r = sigv4_verify(&req, &auth, core_cursor_str("secret-key-example"), cache, &diag);
    if (tamper) EXPECT_ERR(r, ERR_AUTH_BAD_SIGNATURE);
    else EXPECT_OK(r);
    EXPECT_TRUE(!scratch_holds_token());
    core_buf_free(&diag.message);
    core_buf_free(&auth_value);
    sigv4_key_cache_free(cache);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    check(false);
    check(true);
    check(false);
    TEST_MAIN_END();
}
