/*
 * The request path's replacements for libc formatting (issue 14 round 3)
 * must print exactly what libc prints:
 * - core_ipv4_text as inet_ntop(AF_INET): every value of each octet in
 *   every position, and random addresses;
 * - core_str_copy / core_str_append / core_str_append_hex32 as
 *   snprintf("%s") / "%s%s" / "%08x", truncation included, for every
 *   capacity from 1 to 40 and strings of 0 to 40 bytes;
 * - core_uuid_text as "%02x" x16 with the UUID dashes;
 * - core_json_append_string (now eight bytes at a time when nothing needs
 *   an escape) as a byte-by-byte escaper, for every byte value at every
 *   position of strings up to 40 bytes, and random strings.
 */
#include <arpa/inet.h>

#include "tests/test.h"

static void check(const uint8_t a[4])
{
    char got[16], want[INET_ADDRSTRLEN];
    memset(got, 'X', sizeof got);
    core_ipv4_text(a, got);
    if (inet_ntop(AF_INET, a, want, sizeof want) == NULL) {
        TEST_FAIL("inet_ntop failed");
        return;
    }
    if (memchr(got, 0, sizeof got) == NULL || strcmp(got, want) != 0)
        TEST_FAIL("%u.%u.%u.%u: got \"%.16s\", inet_ntop \"%s\"", a[0], a[1], a[2], a[3], got, want);
}

static void check_strings(void)
{
    char src[41], src2[41];
    for (size_t len = 0; len <= 40; len++) {
        for (size_t i = 0; i < len; i++) src[i] = (char)('a' + (i * 7 + len) % 26);
        src[len] = 0;
        for (size_t len2 = 0; len2 <= 12; len2 += 3) {
            for (size_t i = 0; i < len2; i++) src2[i] = (char)('A' + i);
            src2[len2] = 0;
            for (size_t cap = 1; cap <= 40; cap++) {
                char got[48], want[48];
                memset(got, 'X', sizeof got);
                size_t n = core_str_copy(got, cap, src);
                if (snprintf(want, cap, "%s", src) < 0) abort(); /* truncation is the point */
                if (strcmp(got, want) != 0 || n != strlen(want)) TEST_FAIL("copy %zu/%zu: \"%s\" vs \"%s\"", len, cap, got, want);
                core_str_append(got, cap, &n, src2);
                if (snprintf(want, cap, "%s%s", src, src2) < 0) abort();
                if (strcmp(got, want) != 0 || n != strlen(want)) TEST_FAIL("append %zu/%zu/%zu: \"%s\" vs \"%s\"", len, len2, cap, got, want);
                uint32_t v = (uint32_t)(len * 2654435761u + cap * 40503u);
                core_str_append_hex32(got, cap, &n, v);
                if (snprintf(want, cap, "%s%s%08x", src, src2, v) < 0) abort();
                if (strcmp(got, want) != 0 || n != strlen(want)) TEST_FAIL("hex32 %zu/%zu: \"%s\" vs \"%s\"", len, cap, got, want);
            }
        }
    }
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int k = 0; k < 20000; k++) {
        uint8_t b[16];
        for (size_t i = 0; i < 16; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            b[i] = (uint8_t)(k < 256 ? (i == (size_t)k % 16 ? (uint64_t)k : 0) : x);
        }
        char got[37], want[37];
        core_uuid_text(b, got);
        snprintf(want, sizeof want, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
        EXPECT_STR_EQ(got, want);
    }
}

static void ref_escape(const uint8_t *p, size_t n, char *out)
{
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\') out[o++] = '\\', out[o++] = (char)c;
        else if (c < 0x20) o += (size_t)sprintf(out + o, "\\u%04x", c);
        else out[o++] = (char)c;
    }
    out[o++] = '"';
    out[o] = 0;
}

static void check_json_one(const uint8_t *p, size_t n)
{
    char want[8 * 64];
    ref_escape(p, n, want);
    struct core_buf b;
    if (!core_ok(core_buf_init(&b, 0, 4096))) abort();
    EXPECT_OK(core_buf_append_str(&b, "x"));
    EXPECT_OK(core_json_append_string(&b, core_cursor_from(p, n)));
    if (b.len != 1 + strlen(want) || memcmp(b.data + 1, want, b.len - 1) != 0)
        TEST_FAIL("json escape of %zu bytes differs: %.*s vs %s", n, (int)b.len, (const char *)b.data, want);
    core_buf_free(&b);
}

static void check_json(void)
{
    uint8_t s[40];
    for (size_t n = 0; n <= sizeof s; n++) {
        for (size_t i = 0; i < n; i++) s[i] = (uint8_t)('a' + i % 26);
        check_json_one(s, n);
        for (size_t pos = 0; pos < n; pos++)
            for (unsigned v = 0; v < 256; v++) {
                uint8_t saved = s[pos];
                s[pos] = (uint8_t)v;
                check_json_one(s, n);
                s[pos] = saved;
            }
    }
    uint64_t x = 0x243F6A8885A308D3ull;
    for (int k = 0; k < 20000; k++) {
        size_t n = (size_t)(k % 41);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            s[i] = (uint8_t)(k % 3 ? 0x20 + x % 0x60 : x);
        }
        check_json_one(s, n);
    }
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    check_strings();
    check_json();
    for (unsigned pos = 0; pos < 4; pos++)
        for (unsigned v = 0; v < 256; v++) {
            uint8_t a[4] = {127, 0, 0, 1};
            a[pos] = (uint8_t)v;
            check(a);
            uint8_t b[4] = {255, 255, 255, 255};
            b[pos] = (uint8_t)v;
            check(b);
        }
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint8_t a[4] = {(uint8_t)x, (uint8_t)(x >> 8), (uint8_t)(x >> 16), (uint8_t)(x >> 24)};
        check(a);
    }
    TEST_MAIN_END();
}
