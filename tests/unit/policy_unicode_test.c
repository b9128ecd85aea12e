/*
 * Issue 16, item 10, and issue 10's "unicode-confusable inputs" habit:
 * wildcards and IgnoreCase work on characters (UTF-8 code points), with
 * Unicode simple case folding (docs/policy.md, "Characters and case").
 *
 * "StringLike: Case-sensitive matching. The values can include multi-
 * character match wildcards (*) and single-character match wildcards (?)"
 * and "StringEqualsIgnoreCase: Exact matching, ignoring case"
 *   -- IAM User Guide, "IAM JSON policy elements: Condition operators",
 *      https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
 */
#include "policy/policy.h"
#include "policy/policy_compiled.h"
#include "tests/test.h"

/* One Allow-everything statement with Condition {op: {"aws:PrincipalTag/x": value}}. */
static bool cond_matches(const char *op, const char *value, const char *request, const char *tag_t)
{
    char doc[1024];
    snprintf(doc, sizeof doc,
             "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\","
             "\"Condition\":{\"%s\":{\"aws:PrincipalTag/x\":\"%s\"}}}}",
             op, value);
    struct policy *p = NULL;
    struct policy_parse_opts o = {.kind = POLICY_KIND_IDENTITY};
    core_result r = policy_parse(&o, core_cursor_str(doc), &p, NULL, NULL);
    if (!core_ok(r)) {
        TEST_FAIL("parse %s %s -> %s", op, value, core_err_name(r.err));
        return false;
    }
    struct policy_ctx ctx;
    policy_ctx_init(&ctx);
    EXPECT_OK(policy_ctx_set_action(&ctx, core_cursor_str("kms:Decrypt")));
    EXPECT_OK(policy_ctx_add_principal_tag(&ctx, core_cursor_str("x"), core_cursor_str(request)));
    if (tag_t) EXPECT_OK(policy_ctx_add_principal_tag(&ctx, core_cursor_str("t"), core_cursor_str(tag_t)));
    struct policy_result res;
    EXPECT_OK(policy_evaluate(p, &ctx, &res));
    policy_free(p);
    return res.decision == POLICY_ALLOW;
}

#define MATCH(op, v, req) EXPECT_TRUE(cond_matches(op, v, req, NULL))
#define NO_MATCH(op, v, req) EXPECT_TRUE(!cond_matches(op, v, req, NULL))

static void test_question_mark_is_one_character(void)
{
    MATCH("StringLike", "a?c", "a\xc3\xa9" "c");          /* é: 2 bytes */
    NO_MATCH("StringLike", "a??c", "a\xc3\xa9" "c");      /* ...but one character */
    MATCH("StringLike", "?", "\xe2\x82\xac");             /* €: 3 bytes */
    MATCH("StringLike", "?", "\xf0\x9f\x98\x80");         /* 😀: 4 bytes */
    NO_MATCH("StringLike", "??", "\xf0\x9f\x98\x80");
    NO_MATCH("StringLike", "????", "\xf0\x9f\x98\x80");
    MATCH("StringLike", "*?", "\xf0\x9f\x98\x80");
    NO_MATCH("StringLike", "*??", "\xf0\x9f\x98\x80");
    MATCH("StringLike", "*?x", "\xc3\xa9\xc3\xa9x");
    NO_MATCH("StringLike", "a*??", "a\xc3\xa9");
    MATCH("StringLike", "?*?", "\xc3\xa9\xe2\x82\xac");
    NO_MATCH("StringLike", "?*??", "\xc3\xa9\xe2\x82\xac");
    MATCH("StringNotLike", "a??c", "a\xc3\xa9" "c");
    MATCH("ArnLike", "arn:aws:iam::111122223333:user/?ob", "arn:aws:iam::111122223333:user/\xc3\xa9ob");
    NO_MATCH("ArnLike", "arn:aws:iam::111122223333:user/??ob", "arn:aws:iam::111122223333:user/\xc3\xa9ob");
}

static void test_ignore_case_folds_unicode(void)
{
    MATCH("StringEqualsIgnoreCase", "\xc3\x89" "COLE", "\xc3\xa9" "cole");             /* ÉCOLE / école */
    MATCH("StringEqualsIgnoreCase", "\xc3\xa9" "cole", "\xc3\x89" "COLE");
    NO_MATCH("StringNotEqualsIgnoreCase", "\xc3\x89" "COLE", "\xc3\xa9" "cole");
    MATCH("StringEqualsIgnoreCase", "\xce\xa3\xce\x91\xce\xa3", "\xcf\x83\xce\xb1\xcf\x82"); /* ΣΑΣ / σας */
    MATCH("StringEqualsIgnoreCase", "\xd0\x9c\xd0\x9e\xd0\xa1\xd0\x9a\xd0\x92\xd0\x90",
          "\xd0\xbc\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0");                            /* МОСКВА / москва */
    MATCH("StringEqualsIgnoreCase", "\xe1\xba\x9e", "\xc3\x9f");                          /* ẞ / ß: simple folding */
    /* Simple, not full, folding: ß is one character, SS two. */
    NO_MATCH("StringEqualsIgnoreCase", "STRASSE", "stra\xc3\x9f" "e");
    NO_MATCH("StringEqualsIgnoreCase", "stra\xc3\x9f" "e", "STRASSE");
    /* Ⱥ (2 bytes) folds to ⱥ (3 bytes): lengths in bytes differ. */
    MATCH("StringEqualsIgnoreCase", "\xc8\xba", "\xe2\xb1\xa5");
    /* U+212A KELVIN SIGN folds to ASCII k (CaseFolding.txt, status C). */
    MATCH("StringEqualsIgnoreCase", "k", "\xe2\x84\xaa");
    /* StringEquals stays exact. */
    NO_MATCH("StringEquals", "\xc3\x89" "COLE", "\xc3\xa9" "cole");
}

static void test_confusables_do_not_match_ascii(void)
{
    /* Cyrillic а (U+0430), fullwidth ａ (U+FF41) and Ａ (U+FF21). */
    const char *cyr = "\xd0\xb0" "dmin", *fw = "\xef\xbd\x81\xef\xbd\x84\xef\xbd\x8d\xef\xbd\x89\xef\xbd\x8e";
    const char *fw_upper = "\xef\xbc\xa1\xef\xbc\xa4\xef\xbc\xad\xef\xbc\xa9\xef\xbc\xae";
    NO_MATCH("StringEquals", "admin", cyr);
    NO_MATCH("StringEqualsIgnoreCase", "admin", cyr);
    NO_MATCH("StringEqualsIgnoreCase", "ADMIN", cyr);
    NO_MATCH("StringEqualsIgnoreCase", "admin", fw);
    NO_MATCH("StringEqualsIgnoreCase", "admin", fw_upper);
    NO_MATCH("StringLike", "admin*", cyr);
    NO_MATCH("StringLike", "adm?n", "adm\xd1\x96\xd1\x96n"); /* two characters for one ? */
    MATCH("StringEqualsIgnoreCase", fw, fw_upper);             /* fullwidth folds among itself */
    MATCH("StringNotEqualsIgnoreCase", "admin", cyr);
    /* An ArnLike pattern naming an ASCII user does not take a look-alike. */
    NO_MATCH("ArnLike", "arn:aws:iam::111122223333:user/admin", "arn:aws:iam::111122223333:user/\xd0\xb0" "dmin");
    NO_MATCH("ArnEquals", "arn:aws:iam::111122223333:user/admin", "arn:aws:iam::111122223333:user/\xef\xbd\x81" "dmin");
}

static void test_variables_fold_too(void)
{
    EXPECT_TRUE(cond_matches("StringEqualsIgnoreCase", "${aws:PrincipalTag/t}", "\xc3\xa9quipe", "\xc3\x89QUIPE"));
    EXPECT_TRUE(!cond_matches("StringEqualsIgnoreCase", "${aws:PrincipalTag/t}", "equipe", "\xc3\x89QUIPE"));
    EXPECT_TRUE(cond_matches("StringLike", "${aws:PrincipalTag/t}-?", "\xc3\xa9-\xc3\xa9", "\xc3\xa9"));
}

static void test_fold_table_and_decoder(void)
{
    EXPECT_TRUE(pol_fold_cp('A') == 'a' && pol_fold_cp('a') == 'a' && pol_fold_cp('@') == '@');
    EXPECT_TRUE(pol_fold_cp(0x212A) == 'k');    /* KELVIN SIGN, C */
    EXPECT_TRUE(pol_fold_cp(0x017F) == 's');    /* LONG S, C */
    EXPECT_TRUE(pol_fold_cp(0x1E9E) == 0xDF);   /* CAPITAL SHARP S, S */
    EXPECT_TRUE(pol_fold_cp(0xDF) == 0xDF);     /* only F: no simple folding */
    EXPECT_TRUE(pol_fold_cp(0x130) == 0x130);   /* only F and T */
    EXPECT_TRUE(pol_fold_cp(0x3A3) == 0x3C3 && pol_fold_cp(0x3C2) == 0x3C3);
    EXPECT_TRUE(pol_fold_cp(0x1F88) == 0x1F80); /* S */
    EXPECT_TRUE(pol_fold_cp(0x10400) == 0x10428); /* Deseret, 4 bytes */
    EXPECT_TRUE(pol_fold_cp(0xFF21) == 0xFF41 && pol_fold_cp(0xFF41) == 0xFF41);
    EXPECT_TRUE(pol_fold_cp(0x0410) == 0x0430 && pol_fold_cp(0x0430) == 0x0430);
    EXPECT_TRUE(pol_fold_cp(0x10FFFF) == 0x10FFFF);
    uint32_t cp;
    size_t len;
    EXPECT_TRUE(!pol_utf8_decode((const uint8_t *)"\xc0\x80", 2, &cp, &len) && len == 1); /* overlong NUL */
    EXPECT_TRUE(!pol_utf8_decode((const uint8_t *)"\xed\xa0\x80", 3, &cp, &len) && len == 1); /* surrogate */
    EXPECT_TRUE(!pol_utf8_decode((const uint8_t *)"\xf4\x90\x80\x80", 4, &cp, &len)); /* > U+10FFFF */
    EXPECT_TRUE(!pol_utf8_decode((const uint8_t *)"\xe2\x82", 2, &cp, &len) && len == 1); /* truncated */
    EXPECT_TRUE(pol_utf8_decode((const uint8_t *)"\xf0\x9f\x98\x80", 4, &cp, &len) && len == 4 && cp == 0x1F600);
    /* A malformed byte is one character of its own for "?". */
    MATCH("StringLike", "a?c", "a\xff" "c");
    NO_MATCH("StringLike", "a?c", "a\xe2\x82" "c"); /* truncated 3-byte lead: two characters */
}

/* ---- property test: StringLike against a reference matcher over code points ---- */

static uint32_t rng_state = 0x9e3779b9u;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* Characters of 1..4 bytes, a few of them case pairs. */
static const uint32_t alphabet[] = {'a', 'b', 'A', 0xE9, 0xC9, 0x20AC, 0x1F600, 0x3A3, 0x3C2, 0x23A, 0x2C65, 0x212A, 'k'};

static size_t put_cp(uint32_t cp, char *o)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Reference: classic recursive glob over code points; '*' = 0, '?' = 1. */
static bool ref_glob(const uint32_t *p, size_t pn, const uint32_t *s, size_t sn)
{
    if (pn == 0) return sn == 0;
    if (p[0] == 0) {
        for (size_t k = 0; k <= sn; k++)
            if (ref_glob(p + 1, pn - 1, s + k, sn - k)) return true;
        return false;
    }
    if (sn == 0) return false;
    if (p[0] == 1 || p[0] == s[0]) return ref_glob(p + 1, pn - 1, s + 1, sn - 1);
    return false;
}

static void test_like_matches_reference(void)
{
    const size_t na = sizeof alphabet / sizeof alphabet[0];
    for (int iter = 0; iter < 3000; iter++) {
        uint32_t pat[6], sub[7];
        size_t pn = rnd() % 6, sn = rnd() % 7;
        char ptxt[64], stxt[64];
        size_t po = 0, so = 0;
        for (size_t i = 0; i < pn; i++) {
            uint32_t r = rnd() % (na + 4);
            pat[i] = r < na ? alphabet[r] : (r - na) % 2; /* wildcards twice as likely as any one letter */
            if (pat[i] == 0) ptxt[po++] = '*';
            else if (pat[i] == 1) ptxt[po++] = '?';
            else po += put_cp(pat[i], ptxt + po);
        }
        for (size_t i = 0; i < sn; i++) {
            sub[i] = alphabet[rnd() % na];
            so += put_cp(sub[i], stxt + so);
        }
        ptxt[po] = stxt[so] = 0;
        bool want = ref_glob(pat, pn, sub, sn);
        if (cond_matches("StringLike", ptxt, stxt, NULL) != want) {
            TEST_FAIL("StringLike \"%s\" vs \"%s\": expected %d", ptxt, stxt, want);
            return;
        }
        /* IgnoreCase against folding each code point. */
        if (pn == sn) {
            bool eq = true;
            for (size_t i = 0; i < pn && eq; i++)
                eq = pat[i] > 1 && pol_fold_cp(pat[i]) == pol_fold_cp(sub[i]);
            bool has_wild = false;
            for (size_t i = 0; i < pn; i++) has_wild = has_wild || pat[i] <= 1;
            if (!has_wild && cond_matches("StringEqualsIgnoreCase", ptxt, stxt, NULL) != eq) {
                TEST_FAIL("IgnoreCase \"%s\" vs \"%s\": expected %d", ptxt, stxt, eq);
                return;
            }
        }
    }
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    test_question_mark_is_one_character();
    test_ignore_case_folds_unicode();
    test_confusables_do_not_match_ascii();
    test_variables_fold_too();
    test_fold_table_and_decoder();
    test_like_matches_reference();
    TEST_MAIN_END();
}
