/*
 * sts_jwt_decode on hostile input (issue 16 items 8 and 11): a header with
 * "crit" (RFC 7515 section 4.1.11) and a NUL inside any header or claim
 * string are refused; the same tokens without them decode. Signatures are
 * not involved: decoding comes first and refuses before any key is looked at.
 */
#include <string.h>

#include "sts/sts_internal.h"
#include "tests/test.h"

/* base64url(header) "." base64url(claims) ".c2ln" */
static core_result decode(const char *header, size_t hlen, const char *claims, size_t clen, json_t **h, json_t **c)
{
    static char token[4096];
    struct core_buf b;
    GUARD(core_buf_init(&b, 1024, 4096));
    struct core_buf tmp;
    core_result r = core_buf_init(&tmp, 1024, 4096);
    if (core_ok(r)) r = core_buf_append_base64(&tmp, core_cursor_from(header, hlen));
    if (core_ok(r)) r = core_buf_append_cursor(&b, core_buf_cursor(&tmp));
    if (core_ok(r)) r = core_buf_append_u8(&b, '.');
    core_buf_reset(&tmp);
    if (core_ok(r)) r = core_buf_append_base64(&tmp, core_cursor_from(claims, clen));
    if (core_ok(r)) r = core_buf_append_cursor(&b, core_buf_cursor(&tmp));
    if (core_ok(r)) r = core_buf_append_str(&b, ".c2ln");
    /* base64 to base64url, no padding */
    size_t n = 0;
    for (size_t i = 0; core_ok(r) && i < b.len; i++) {
        char ch = (char)b.data[i];
        if (ch == '=') continue;
        token[n++] = ch == '+' ? '-' : ch == '/' ? '_' : ch;
    }
    core_buf_free(&tmp);
    core_buf_free(&b);
    GUARD(r);
    return sts_jwt_decode(core_cursor_from(token, n), h, c);
}

#define S(x) x, sizeof(x) - 1

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    json_t *h = NULL, *c = NULL;
    const char ok_h[] = "{\"alg\":\"RS256\",\"kid\":\"r1\"}";
    const char ok_c[] = "{\"iss\":\"https://i.test\",\"sub\":\"alice\",\"aud\":\"a\",\"exp\":2000000000}";
    EXPECT_OK(decode(S(ok_h), S(ok_c), &h, &c));
    EXPECT_TRUE(h && c && strcmp(json_string_value(json_object_get(c, "sub")), "alice") == 0);
    json_decref(h);
    json_decref(c);

    /* crit, in any form, is refused; nothing is handed out */
    static const char *const crit[] = {"{\"alg\":\"RS256\",\"crit\":[\"exp\"],\"exp\":1}", "{\"alg\":\"RS256\",\"crit\":[]}",
                                       "{\"alg\":\"RS256\",\"crit\":null}", "{\"alg\":\"RS256\",\"crit\":\"b64\"}"};
    for (size_t i = 0; i < sizeof crit / sizeof crit[0]; i++) {
        h = c = (json_t *)1;
        EXPECT_ERR(decode(crit[i], strlen(crit[i]), S(ok_c), &h, &c), ERR_PARSE);
        EXPECT_TRUE(h == NULL && c == NULL);
    }

    /* a NUL inside a string anywhere: sub, aud array, nested tag claim, header kid */
    static const char nul_sub[] = "{\"iss\":\"https://i.test\",\"sub\":\"alice\\u0000-impersonated\",\"exp\":1}";
    static const char nul_aud[] = "{\"iss\":\"https://i.test\",\"sub\":\"alice\",\"aud\":[\"x\",\"a\\u0000b\"]}";
    static const char nul_deep[] = "{\"sub\":\"a\",\"https://aws.amazon.com/tags\":{\"principal_tags\":{\"t\":[\"v\\u0000\"]}}}";
    static const char nul_iss[] = "{\"iss\":\"https://i.test\\u0000.evil\",\"sub\":\"alice\"}";
    const char *const nul_claims[] = {nul_sub, nul_aud, nul_deep, nul_iss};
    for (size_t i = 0; i < sizeof nul_claims / sizeof nul_claims[0]; i++) {
        EXPECT_ERR(decode(S(ok_h), nul_claims[i], strlen(nul_claims[i]), &h, &c), ERR_PARSE);
        EXPECT_TRUE(h == NULL && c == NULL);
    }
    static const char nul_kid[] = "{\"alg\":\"RS256\",\"kid\":\"r1\\u0000x\"}";
    EXPECT_ERR(decode(S(nul_kid), S(ok_c), &h, &c), ERR_PARSE);
    /* a raw NUL byte in the JSON text is not JSON at all */
    static const char raw_nul[] = "{\"sub\":\"al\0ice\"}";
    EXPECT_ERR(decode(S(ok_h), raw_nul, sizeof raw_nul - 1, &h, &c), ERR_PARSE);
    /* the escape of a backslash followed by u0000 is data, not a NUL */
    static const char not_nul[] = "{\"sub\":\"alice\\\\u0000\"}";
    EXPECT_OK(decode(S(ok_h), S(not_nul), &h, &c));
    EXPECT_TRUE(c && strcmp(json_string_value(json_object_get(c, "sub")), "alice\\u0000") == 0);
    json_decref(h);
    json_decref(c);
    TEST_MAIN_END();
}
