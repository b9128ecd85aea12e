/*
 * Both base64 coders (the constant-time one for secrets,
 * core_buf_append_base64/_unbase64, and the table one for public bytes,
 * _public) against libsodium's VARIANT_ORIGINAL coders: the same output for
 * every input length, and the same accept/refuse decision and output on
 * random and damaged text (bad characters, padding in the wrong place,
 * non-canonical trailing bits, lengths not a multiple of 4, every byte value
 * in every lane of the eight-character words), except bytes
 * from 0x80 up, which libsodium 1.0.18 alone accepts (as '/').
 */
#include <sodium.h>

#include "tests/test.h"

static uint64_t rng = 0x243F6A8885A308D3ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_encode(void)
{
    uint8_t in[300];
    for (size_t i = 0; i < sizeof in; i++) in[i] = (uint8_t)next();
    for (size_t len = 0; len <= sizeof in; len++) {
        struct core_buf a, b;
        char ref[512];
        sodium_bin2base64(ref, sizeof ref, in, len, sodium_base64_VARIANT_ORIGINAL);
        EXPECT_OK(core_buf_init(&a, 0, 1024));
        EXPECT_OK(core_buf_init(&b, 0, 1024));
        EXPECT_OK(core_buf_append_base64(&a, core_cursor_from(in, len)));
        EXPECT_OK(core_buf_append_base64_public(&b, core_cursor_from(in, len)));
        EXPECT_BYTES_EQ(a.data, a.len, ref, strlen(ref));
        EXPECT_BYTES_EQ(a.data, a.len, b.data, b.len);
        core_buf_free(&a);
        core_buf_free(&b);
    }
}

/* The table encoder looks up 12 bits at a time: every 12-bit value in both halves of a 3-byte group. */
static void test_encode_every_pair(void)
{
    enum { N = 4096 * 3 };
    static uint8_t in[N];
    static char ref[N / 3 * 4 + 1];
    for (unsigned v = 0; v < 4096; v++) {
        uint32_t w = (uint32_t)v << 12 | (4095u - v);
        in[3 * v] = (uint8_t)(w >> 16);
        in[3 * v + 1] = (uint8_t)(w >> 8);
        in[3 * v + 2] = (uint8_t)w;
    }
    sodium_bin2base64(ref, sizeof ref, in, N, sodium_base64_VARIANT_ORIGINAL);
    struct core_buf b;
    EXPECT_OK(core_buf_init(&b, 0, sizeof ref));
    EXPECT_OK(core_buf_append_base64_public(&b, core_cursor_from(in, N)));
    EXPECT_BYTES_EQ(b.data, b.len, ref, strlen(ref));
    core_buf_free(&b);
}

static void decode_both(const uint8_t *text, size_t len)
{
    struct core_buf a, b;
    EXPECT_OK(core_buf_init(&a, 0, 1024));
    EXPECT_OK(core_buf_init(&b, 0, 1024));
    core_result ra = core_buf_append_unbase64(&a, core_cursor_from(text, len));
    core_result rb = core_buf_append_unbase64_public(&b, core_cursor_from(text, len));
    /* libsodium, for text without high bytes */
    bool high = false;
    for (size_t i = 0; i < len; i++) high |= text[i] >= 0x80;
    uint8_t ref[64];
    size_t got = 0;
    const char *end = NULL;
    bool sodium_ok = sodium_base642bin(ref, sizeof ref, (const char *)text, len, NULL, &got, &end,
                                       sodium_base64_VARIANT_ORIGINAL) == 0 &&
                     end == (const char *)text + len;
    if (!high && sodium_ok != core_ok(ra))
        TEST_FAIL("'%.*s': sodium %d, constant-time %s", (int)len, (const char *)text, sodium_ok, core_err_name(ra.err));
    else if (!high && sodium_ok)
        EXPECT_BYTES_EQ(a.data, a.len, ref, got);
    if (ra.err != rb.err)
        TEST_FAIL("'%.*s': constant-time %s, table %s", (int)len, (const char *)text, core_err_name(ra.err),
                  core_err_name(rb.err));
    else if (core_ok(ra))
        EXPECT_BYTES_EQ(a.data, a.len, b.data, b.len);
    core_buf_free(&a);
    core_buf_free(&b);
}

static void test_decode(void)
{
    static const char *fixed[] = {"", "QQ==", "QR==", "QUE=", "QUF=", "QUFB", "Q===", "====", "QQ=A", "QQ", "QQ=",
                                  "Q Q=", "QQ==QQ==", "-_8=", "AA\n=", "AAA\0"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        decode_both((const uint8_t *)fixed[i], i == sizeof fixed / sizeof fixed[0] - 1 ? 4 : strlen(fixed[i]));
    /* Bytes from 0x80 up are not base64 (libsodium 1.0.18 alone reads them as '/'). */
    struct core_buf h;
    EXPECT_OK(core_buf_init(&h, 0, 64));
    EXPECT_ERR(core_buf_append_unbase64(&h, core_cursor_str("QQQ\xc3")), ERR_PARSE);
    EXPECT_ERR(core_buf_append_unbase64(&h, core_cursor_str("\xff\xffQ=")), ERR_PARSE);
    EXPECT_ERR(core_buf_append_unbase64_public(&h, core_cursor_str("QQQ\xc3")), ERR_PARSE);
    core_buf_free(&h);
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned accepted = 0;
    for (unsigned round = 0; round < 50000; round++) {
        uint8_t text[64];
        size_t len = (size_t)(next() % 24);
        for (size_t i = 0; i < len; i++) text[i] = (uint8_t)alphabet[next() % 64];
        /* Mostly well-formed (padded), then damaged now and then. */
        if (len && next() % 2) text[len - 1] = '=';
        if (len > 1 && next() % 3 == 0) text[len - 2] = '=';
        if (len && next() % 5 == 0) text[next() % len] = (uint8_t)next();
        struct core_buf a;
        EXPECT_OK(core_buf_init(&a, 0, 1024));
        accepted += core_ok(core_buf_append_unbase64(&a, core_cursor_from(text, len)));
        core_buf_free(&a);
        decode_both(text, len);
    }
    EXPECT_TRUE(accepted > 5000);
    /* The constant-time decoder reads eight characters per word (issue 14, round 5): every byte value in
     * every lane of the words of a 24-character text, unpadded and padded, against the table decoder
     * and libsodium. */
    for (int padded = 0; padded < 2; padded++) {
        for (size_t at = 0; at < 24; at++) {
            for (unsigned c = 0; c < 256; c++) {
                uint8_t text[24];
                for (size_t i = 0; i < sizeof text; i++) text[i] = (uint8_t)alphabet[next() % 64];
                if (padded) text[23] = '=';
                text[at] = (uint8_t)c;
                decode_both(text, sizeof text);
            }
        }
    }
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    test_encode();
    test_encode_every_pair();
    test_decode();
    TEST_MAIN_END();
}
