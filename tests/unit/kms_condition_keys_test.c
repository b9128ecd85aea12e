/*
 * The KMS condition-key helpers in memory (issue 16 item 2, issue 18 items
 * 2 and 3): encryption-context keys differing only by case share one
 * multivalued condition key; a NUL inside a value is data; more pairs than
 * a context holds is ERR_LIMIT (the caller refuses), never a truncated list;
 * which policies read kms:ResourceAliases is read from the compiled
 * document, JSON escapes and case included.
 */
#include <jansson.h>

#include "kms/kms_internal.h"
#include "policy/policy.h"
#include "tests/test.h"

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *j = json_loadb(text, strlen(text), JSON_ALLOW_NUL, &e);
    if (!j) TEST_FAIL("bad JSON in test: %s", e.text);
    return j;
}

static const struct kms_action *row(const char *op) { return kms_action_find(core_cursor_str(op)); }

static void test_ec_case(void)
{
    json_t *in = load("{\"EncryptionContext\":{\"purpose\":\"ok\",\"PURPOSE\":\"bad\",\"other\":\"x\\u0000y\"}}");
    struct kms_ctx ctx = {.action = row("Encrypt"), .in = in};
    struct policy_ctx pc;
    policy_ctx_init(&pc);
    struct core_buf store = {0};
    EXPECT_OK(core_buf_init(&store, 4096, 4096));
    struct kms_cond c = {.pc = &pc, .store = &store};
    EXPECT_OK(kms_encrypt_conditions(&ctx, &c));
    const struct core_cursor *v = NULL;
    /* one key for both spellings, both values */
    EXPECT_TRUE(policy_ctx_get(&pc, core_cursor_str("kms:EncryptionContext:Purpose"), &v) == 2);
    bool ok = false, bad = false;
    for (int i = 0; i < 2; i++) {
        ok |= core_cursor_eq_str(v[i], "ok");
        bad |= core_cursor_eq_str(v[i], "bad");
    }
    EXPECT_TRUE(ok && bad);
    /* the keys as sent */
    EXPECT_TRUE(policy_ctx_get(&pc, core_cursor_str("kms:EncryptionContextKeys"), &v) == 3);
    /* a NUL in a value is kept: "x\0y" is not "x" */
    EXPECT_TRUE(policy_ctx_get(&pc, core_cursor_str("kms:EncryptionContext:other"), &v) == 1);
    EXPECT_TRUE(v[0].len == 3 && !core_cursor_eq_str(v[0], "x"));
    EXPECT_TRUE(policy_ctx_get(&pc, core_cursor_str("kms:EncryptionAlgorithm"), &v) == 1);
    core_buf_free(&store);
    json_decref(in);
}

static void test_too_many_values_fail_closed(void)
{
    json_t *ec = json_object(), *in = json_object();
    char k[16];
    for (int i = 0; i < 65; i++) {
        snprintf(k, sizeof k, "k%02d", i);
        json_object_set_new(ec, k, json_string("v"));
    }
    json_object_set_new(in, "EncryptionContext", ec);
    json_t *ops = json_array();
    for (int i = 0; i < 65; i++) json_array_append_new(ops, json_string("Encrypt"));
    json_object_set_new(in, "Operations", ops);
    struct policy_ctx pc;
    struct core_buf store = {0};
    EXPECT_OK(core_buf_init(&store, 8192, 8192));
    struct kms_cond c = {.pc = &pc, .store = &store};

    struct kms_ctx ctx = {.action = row("Decrypt"), .in = in};
    policy_ctx_init(&pc);
    EXPECT_ERR(kms_decrypt_conditions(&ctx, &c), ERR_LIMIT);
    /* grant operations are never cut at some count either */
    ctx.action = row("CreateGrant");
    policy_ctx_init(&pc);
    EXPECT_ERR(kms_create_grant_conditions(&ctx, &c), ERR_LIMIT);
    core_buf_free(&store);
    json_decref(in);
}

static void test_policy_reads_resource_aliases(void)
{
    static const char *const reads[] = {
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"kms:*\",\"Resource\":\"*\","
        "\"Condition\":{\"ForAnyValue:StringLike\":{\"kms:ResourceAliases\":\"alias/p*\"}}}]}",
        /* a JSON escape and another case spell the same key */
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"kms:*\",\"Resource\":\"*\","
        "\"Condition\":{\"ForAnyValue:StringLike\":{\"KMS:Resource\\u0041LIASES\":\"alias/p*\"}}}]}",
        NULL};
    static const char no[] = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"kms:*\","
                             "\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"kms:RequestAlias\":"
                             "\"kms:ResourceAliases\"}}}]}";
    struct policy_parse_opts o = {.kind = POLICY_KIND_IDENTITY};
    for (int i = 0; reads[i]; i++) {
        struct policy *p = NULL;
        EXPECT_OK(policy_parse(&o, core_cursor_str(reads[i]), &p, NULL, NULL));
        EXPECT_TRUE(policy_has_condition_key(p, core_cursor_str("kms:ResourceAliases")));
        policy_free(p);
    }
    struct policy *p = NULL;
    EXPECT_OK(policy_parse(&o, core_cursor_str(no), &p, NULL, NULL));
    EXPECT_TRUE(!policy_has_condition_key(p, core_cursor_str("kms:ResourceAliases")));
    policy_free(p);
    EXPECT_TRUE(!policy_has_condition_key(NULL, core_cursor_str("kms:ResourceAliases")));
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    test_ec_case();
    test_too_many_values_fail_closed();
    test_policy_reads_resource_aliases();
    TEST_MAIN_END();
}
