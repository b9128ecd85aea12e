#include "tests/test.h"

static void test_split_and_trim(void)
{
    struct core_cursor c = core_cursor_str("a,b,,c"), t;
    const char *want[] = {"a", "b", "", "c"};
    size_t n = 0;
    while (core_cursor_split(&c, ',', &t)) {
        EXPECT_TRUE(n < 4);
        if (n < 4) EXPECT_TRUE(core_cursor_eq_str(t, want[n]));
        n++;
    }
    EXPECT_TRUE(n == 4);
    EXPECT_TRUE(core_cursor_eq_str(core_cursor_trim(core_cursor_str(" \tx y \t")), "x y"));
}

static void test_limits(void)
{
    struct core_buf b;
    EXPECT_OK(core_buf_init(&b, 4, 8));
    EXPECT_OK(core_buf_append_str(&b, "12345678"));
    EXPECT_ERR(core_buf_append_u8(&b, '9'), ERR_LIMIT);
    EXPECT_TRUE(b.len == 8);
    EXPECT_OK(core_buf_terminate(&b));
    EXPECT_STR_EQ((const char *)b.data, "12345678");
    core_buf_free(&b);

    struct core_buf s;
    EXPECT_OK(core_buf_init_secret(&s, 4));
    EXPECT_OK(core_buf_append_str(&s, "abcd"));
    EXPECT_ERR(core_buf_append_u8(&s, 'e'), ERR_LIMIT);
    core_buf_free(&s);
}

static void test_base64(void)
{
    struct core_buf b;
    EXPECT_OK(core_buf_init(&b, 0, 64));
    EXPECT_OK(core_buf_append_base64(&b, core_cursor_str("hello!?")));
    EXPECT_TRUE(core_cursor_eq_str(core_buf_cursor(&b), "aGVsbG8hPw=="));
    struct core_buf d;
    EXPECT_OK(core_buf_init(&d, 0, 7));
    EXPECT_OK(core_buf_append_unbase64(&d, core_buf_cursor(&b)));
    EXPECT_TRUE(core_cursor_eq_str(core_buf_cursor(&d), "hello!?"));
    core_buf_reset(&d);
    EXPECT_ERR(core_buf_append_unbase64(&d, core_cursor_str("aGVsbG8hPw=")), ERR_PARSE);
    EXPECT_ERR(core_buf_append_unbase64(&d, core_cursor_str("a$==")), ERR_PARSE);
    core_buf_reset(&d);
    EXPECT_ERR(core_buf_append_unbase64(&d, core_cursor_str("aGVsbG8hPyEh")), ERR_LIMIT);
    core_buf_free(&b);
    core_buf_free(&d);
}

static void test_numbers_and_time(void)
{
    uint64_t v;
    EXPECT_OK(core_cursor_to_u64(core_cursor_str("1024"), 1024, &v));
    EXPECT_TRUE(v == 1024);
    EXPECT_ERR(core_cursor_to_u64(core_cursor_str("1025"), 1024, &v), ERR_PARSE);
    EXPECT_ERR(core_cursor_to_u64(core_cursor_str("18446744073709551616"), UINT64_MAX, &v), ERR_PARSE);
    EXPECT_ERR(core_cursor_to_u64(core_cursor_str("-1"), 10, &v), ERR_PARSE);
    int64_t t;
    EXPECT_OK(core_time_parse_amz("20150830T123600Z", 16, &t));
    EXPECT_TRUE(t == 1440938160);
    char s[32];
    core_time_iso8601(t, s);
    EXPECT_STR_EQ(s, "2015-08-30T12:36:00Z");
    EXPECT_OK(core_time_parse_iso8601("2015-08-30T12:36:00.123Z", 24, &t));
    EXPECT_TRUE(t == 1440938160);
    EXPECT_ERR(core_time_parse_amz("20150230T123600Z", 16, &t), ERR_PARSE);
    EXPECT_ERR(core_time_parse_iso8601("2015-08-30 12:36:00Z", 20, &t), ERR_PARSE);
}

static void test_json(void)
{
    json_t *v = NULL;
    EXPECT_OK(core_json_parse(core_cursor_str("{\"a\":[1,{\"b\":2}]}"), 3, &v));
    json_decref(v);
    EXPECT_ERR(core_json_parse(core_cursor_str("{\"a\":[1,{\"b\":2}]}"), 2, &v), ERR_LIMIT);
    EXPECT_ERR(core_json_parse(core_cursor_str("{\"a\":1,\"a\":2}"), 4, &v), ERR_PARSE);
    EXPECT_ERR(core_json_parse(core_cursor_str("{\"a\":1} x"), 4, &v), ERR_PARSE);
    /* brackets inside strings do not count as nesting */
    EXPECT_OK(core_json_parse(core_cursor_str("{\"a\":\"[[[[[\\\"[[\"}"), 1, &v));
    json_decref(v);
}

static void test_ct_equal(void)
{
    EXPECT_TRUE(core_ct_equal_cursor(core_cursor_str("abc"), core_cursor_str("abc")));
    EXPECT_TRUE(!core_ct_equal_cursor(core_cursor_str("abc"), core_cursor_str("abd")));
    EXPECT_TRUE(!core_ct_equal_cursor(core_cursor_str("abc"), core_cursor_str("ab")));
}

/* core_hex_lower (sixteen bytes per step with SSE2, then four, then one at a time) against snprintf,
 * for every byte value at every position of every length up to 37 (two sixteen-byte steps, a
 * four-byte step and a tail), and through core_buf_append_hex. */
static void test_hex(void)
{
    for (size_t len = 0; len <= 37; len++) {
        for (size_t at = 0; at < (len ? len : 1); at++) {
            for (unsigned v = 0; v < 256; v++) {
                uint8_t in[37];
                char got[75], want[75];
                for (size_t i = 0; i < len; i++) in[i] = (uint8_t)(0x5a + 37 * i);
                if (len) in[at] = (uint8_t)v;
                memset(got, '#', sizeof got);
                core_hex_lower(in, len, got);
                for (size_t i = 0; i < len; i++) snprintf(want + 2 * i, 3, "%02x", in[i]);
                EXPECT_BYTES_EQ(got, 2 * len, want, 2 * len);
                EXPECT_TRUE(got[2 * len] == '#'); /* nothing written past the digits */
                struct core_buf b;
                EXPECT_OK(core_buf_init(&b, 0, 128));
                EXPECT_OK(core_buf_append_hex(&b, core_cursor_from(in, len)));
                EXPECT_BYTES_EQ(b.data, b.len, want, 2 * len);
                core_buf_free(&b);
            }
        }
    }
}

/* CORE_STR_APPEND_LIT is core_str_append with the length known: the same bytes, the same truncation
 * and terminator, for every capacity and starting length. */
static void test_str_append_lit(void)
{
    for (size_t cap = 1; cap <= 12; cap++) {
        for (size_t start = 0; start < cap; start++) {
            char a[16], b[16];
            memset(a, '#', sizeof a);
            memset(b, '#', sizeof b);
            memset(a, 'x', start);
            memset(b, 'x', start);
            a[start] = b[start] = 0;
            size_t na = start, nb = start;
            core_str_append(a, cap, &na, "arn:kms");
            CORE_STR_APPEND_LIT(b, cap, &nb, "arn:kms");
            EXPECT_TRUE(na == nb);
            EXPECT_BYTES_EQ(a, sizeof a, b, sizeof b);
            EXPECT_TRUE(na < cap && a[na] == 0);
        }
    }
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    test_split_and_trim();
    test_limits();
    test_base64();
    test_hex();
    test_str_append_lit();
    test_numbers_and_time();
    test_json();
    test_ct_equal();
    TEST_MAIN_END();
}
