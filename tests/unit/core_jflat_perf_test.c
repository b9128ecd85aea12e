/*
 * The flat request reader (core_jflat_read) against jansson, the full
 * reader it stands in for: on every document it accepts, core_json_parse()
 * must accept too and hold the same members with the same values (strings
 * by length, integers by value). Hand-picked documents cover each thing it
 * must decline (nesting, escapes, "\u0000", duplicates, fractions, huge
 * numbers, trailing bytes, too many members); random mutations of request
 * bodies look for anything else.
 */
#include "core/core_jflat.h"
#include "core/core_json.h"
#include "tests/test.h"

/* Checks the subset property on one document; returns whether flat accepted it. */
static bool agree(const char *what, struct core_cursor text)
{
    struct core_jflat f;
    if (!core_jflat_read(text, &f)) return false;
    json_t *j = NULL;
    if (text.len == 0) {
        j = json_object();
    } else if (!core_ok(core_json_parse(text, CORE_MAX_JSON_DEPTH, &j)) || !json_is_object(j)) {
        TEST_FAIL("%s: flat reader accepted what jansson refuses: %.*s", what, (int)text.len, (const char *)text.ptr);
        json_decref(j);
        return true;
    }
    if (json_object_size(j) != f.n) TEST_FAIL("%s: %zu members vs jansson's %zu", what, f.n, json_object_size(j));
    for (size_t i = 0; i < f.n; i++) {
        const struct core_jflat_member *m = &f.m[i];
        char name[256];
        if (m->name.len >= sizeof name) {
            TEST_FAIL("%s: long name", what);
            continue;
        }
        memcpy(name, m->name.ptr, m->name.len);
        name[m->name.len] = 0;
        json_t *v = json_object_get(j, name);
        bool same = false;
        switch (m->type) {
        case CORE_JFLAT_STRING:
            same = json_is_string(v) && json_string_length(v) == m->value.len &&
                   memcmp(json_string_value(v), m->value.ptr, m->value.len) == 0;
            break;
        case CORE_JFLAT_INT: same = json_is_integer(v) && json_integer_value(v) == m->num; break;
        case CORE_JFLAT_TRUE: same = json_is_true(v); break;
        case CORE_JFLAT_FALSE: same = json_is_false(v); break;
        case CORE_JFLAT_NULL: same = json_is_null(v); break;
        }
        if (!same) TEST_FAIL("%s: member %s differs from jansson's", what, name);
    }
    json_decref(j);
    return true;
}

static bool agree_str(const char *s) { return agree(s, core_cursor_str(s)); }

static void test_accepts(void)
{
    const char *ok[] = {
        "",
        "{}",
        " { } \n",
        "{\"KeyId\":\"alias/x\",\"Plaintext\":\"AAAA\"}",
        "{\"KeyId\" : \"k\" , \"NumberOfBytes\" : 32 , \"DryRun\" : false}",
        "\t{\"A\":true,\"B\":null,\"C\":-0,\"D\":-12,\"E\":999999999999999999}\r\n",
        "{\"KeySpec\":\"AES_256\",\"GrantTokens\":null}",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!agree_str(ok[i])) TEST_FAIL("declined: %s", ok[i]);
    struct core_jflat f;
    EXPECT_TRUE(core_jflat_read(core_cursor_str("{\"N\":-12,\"S\":\"a b\",\"T\":true}"), &f));
    EXPECT_TRUE(f.n == 3 && f.m[0].num == -12 && f.m[1].value.len == 3 && f.m[2].type == CORE_JFLAT_TRUE);
    EXPECT_TRUE(core_jflat_get(&f, core_cursor_str("S")) == &f.m[1]);
    EXPECT_TRUE(core_jflat_get(&f, core_cursor_str("s")) == NULL);
    EXPECT_TRUE(core_jflat_get(&f, core_cursor_from("S\0", 2)) == NULL);
}

static void test_declines(void)
{
    const char *no[] = {
        "{\"EncryptionContext\":{\"a\":\"b\"}}",  /* nested: jansson's */
        "{\"GrantTokens\":[\"t\"]}",
        "{\"KeyId\":\"a\\u0000b\"}",               /* escape (a NUL): jansson's */
        "{\"KeyId\":\"a\\\"b\"}",
        "{\"K\\u0065yId\":\"a\"}",
        "{\"KeyId\":\"caf\xc3\xa9\"}",             /* non-ASCII */
        "{\"KeyId\":\"a\tb\"}",                    /* raw control character */
        "{\"KeyId\":\"a\",\"KeyId\":\"b\"}",       /* duplicate */
        "{\"N\":1.0}", "{\"N\":1e3}", "{\"N\":01}", "{\"N\":-}", "{\"N\":+1}",
        "{\"N\":1234567890123456789}",             /* 19 digits */
        "{\"T\":tru}", "{\"T\":truex}", "{\"T\":True}", "{\"T\":nul}",
        "{\"A\":1,}", "{,}", "{\"A\"}", "{\"A\":}", "{\"A\" 1}", "{\"A\":1 \"B\":2}",
        "{}x", "{}{}", "{} \0", "[]", "\"s\"", "1", " ", "{", "{\"A\":1",
        "{'A':1}", "{A:1}",
        ("{\"1\":1,\"2\":1,\"3\":1,\"4\":1,\"5\":1,\"6\":1,\"7\":1,\"8\":1,\"9\":1,\"10\":1,\"11\":1,\"12\":1,"
         "\"13\":1,\"14\":1,\"15\":1,\"16\":1,\"17\":1}"), /* 17 members */
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        size_t len = strlen(no[i]);
        if (strcmp(no[i], "{} ") == 0) len = 4; /* keeps the NUL */
        if (agree(no[i], core_cursor_from(no[i], len))) TEST_FAIL("accepted: %s", no[i]);
    }
    /* A NUL byte inside a string is not printable ASCII: declined, never cut short. */
    static const char nul_body[] = "{\"KeyId\":\"a\0b\"}";
    EXPECT_TRUE(!agree("raw NUL", core_cursor_from(nul_body, sizeof nul_body - 1)));
}

/* xorshift: reproducible mutations. */
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_mutations(void)
{
    static const char *seeds[] = {
        "{\"KeyId\":\"arn:aws:kms:us-east-1:111122223333:key/1234\",\"Plaintext\":\"c2VjcmV0\"}",
        "{\"CiphertextBlob\":\"AQID\",\"KeyId\":\"alias/a\",\"EncryptionAlgorithm\":\"SYMMETRIC_DEFAULT\",\"DryRun\":true}",
        "{\"KeyId\":\"k\",\"NumberOfBytes\":32,\"KeySpec\":null}",
    };
    static const char alphabet[] = "{}[]\":,\\ \t\n0123456789-+.eEtrufalsn\x01\x7f\xc3\xa9u";
    size_t accepted = 0;
    for (unsigned round = 0; round < 40000; round++) {
        const char *seed = seeds[round % 3];
        char doc[256];
        size_t len = strlen(seed);
        memcpy(doc, seed, len);
        unsigned edits = 1 + (unsigned)(next() % 3);
        for (unsigned e = 0; e < edits; e++) {
            size_t at = (size_t)(next() % (len ? len : 1));
            char c = alphabet[next() % (sizeof alphabet - 1)];
            switch (next() % 3) {
            case 0: doc[at] = c; break;
            case 1:
                if (len + 1 < sizeof doc) {
                    memmove(doc + at + 1, doc + at, len - at);
                    doc[at] = c;
                    len++;
                }
                break;
            default:
                if (len > 0) {
                    memmove(doc + at, doc + at + 1, len - at - 1);
                    len--;
                }
                break;
            }
        }
        accepted += agree("mutation", core_cursor_from(doc, len));
    }
    /* The mutations must also reach documents that are accepted. */
    EXPECT_TRUE(accepted > 1000);
}

/* Strings are read eight bytes at a time until a word holds a byte that ends or refuses them (issue 14,
 * round 5): every byte value at every position of strings of 0 to 40 bytes (so at every lane of
 * every word, and in the tail read byte by byte), as a member's value and as its name. A string is
 * taken exactly when every byte is printable ASCII other than '"' and '\\', and then whole. */
static void test_string_bytes(void)
{
    unsigned taken = 0;
    for (size_t len = 1; len <= 40; len++) {
        for (size_t at = 0; at < len; at++) {
            for (unsigned v = 0; v < 256; v++) {
                char doc[128], str[64];
                for (size_t i = 0; i < len; i++) str[i] = (char)('A' + (i * 7) % 26);
                str[at] = (char)v;
                bool want = v >= 0x20 && v <= 0x7e && v != '"' && v != '\\';
                for (int as_name = 0; as_name < 2; as_name++) {
                    size_t n = 0;
                    memcpy(doc + n, as_name ? "{\"" : "{\"k\":\"", as_name ? 2 : 6);
                    n += as_name ? 2 : 6;
                    memcpy(doc + n, str, len);
                    n += len;
                    memcpy(doc + n, as_name ? "\":1}" : "\"}", as_name ? 4 : 2);
                    n += as_name ? 4 : 2;
                    struct core_jflat f;
                    bool got = core_jflat_read(core_cursor_from(doc, n), &f);
                    if (got != want) TEST_FAIL("byte 0x%02x at %zu of %zu (%s): %d", v, at, len, as_name ? "name" : "value", got);
                    if (got && want) {
                        struct core_cursor c = as_name ? f.m[0].name : f.m[0].value;
                        EXPECT_BYTES_EQ(c.ptr, c.len, str, len);
                        taken++;
                    }
                }
            }
        }
    }
    EXPECT_TRUE(taken > 100000);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    test_string_bytes();
    test_accepts();
    test_declines();
    test_mutations();
    TEST_MAIN_END();
}
