/*
 * Issue 16, item 7: NotPrincipal.
 *
 * "NotPrincipal must be used with "Effect":"Deny". Using it with
 * "Effect":"Allow" is not supported." and "You cannot use the NotPrincipal
 * element in an IAM identity-based policy nor in an IAM role trust policy."
 *   -- IAM User Guide, "AWS JSON policy elements: NotPrincipal",
 *      https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
 *
 * "The NotPrincipal element with a Deny effect will always deny any IAM
 * principal that has a permissions boundary policy attached, regardless of
 * the values specified in the NotPrincipal element."
 *   -- same page, "Key points", and "Permissions boundaries for IAM entities",
 *      https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
 */
#include "policy/policy.h"
#include "tests/test.h"

static core_result parse(enum policy_kind kind, const char *doc, struct policy **p, char *reason, size_t cap,
                         enum policy_problem *prob)
{
    struct core_buf r;
    core_result_ignore(core_buf_init(&r, 256, 2048));
    struct policy_parse_opts o = {.kind = kind};
    core_result res = policy_parse(&o, core_cursor_str(doc), p, &r, prob);
    snprintf(reason, cap, "%.*s", (int)r.len, r.data ? (const char *)r.data : "");
    core_buf_free(&r);
    return res;
}

static void user_ctx(struct policy_ctx *ctx, const char *arn, const char *action)
{
    struct core_principal p = {.type = CORE_PRINCIPAL_USER};
    snprintf(p.account, sizeof p.account, "111122223333");
    snprintf(p.arn, sizeof p.arn, "%s", arn);
    snprintf(p.user_id, sizeof p.user_id, "AIDAEXAMPLE");
    policy_ctx_init(ctx);
    EXPECT_OK(policy_ctx_set_action(ctx, core_cursor_str(action)));
    policy_ctx_set_resource(ctx, core_cursor_str("arn:aws:kms:us-east-1:111122223333:key/k1"));
    EXPECT_OK(policy_ctx_set_principal(ctx, &p, core_cursor_str("")));
}

static void test_allow_with_notprincipal_refused(void)
{
    /* The attack: everyone but bob may decrypt -- including anonymous callers. */
    const char *doc = "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"NotPrincipal\":{\"AWS\":"
                      "\"arn:aws:iam::111122223333:user/bob\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}}";
    struct policy *p = NULL;
    char reason[512];
    enum policy_problem prob = POLICY_PROBLEM_NONE;
    EXPECT_ERR(parse(POLICY_KIND_RESOURCE, doc, &p, reason, sizeof reason, &prob), ERR_PARSE);
    EXPECT_TRUE(prob == POLICY_PROBLEM_PRINCIPAL);
    EXPECT_TRUE(strstr(reason, "NotPrincipal") != NULL && strstr(reason, "Deny") != NULL);
    if (p) {
        /* Unfixed engine: show what the statement would have granted. */
        struct policy_ctx ctx;
        user_ctx(&ctx, "arn:aws:iam::111122223333:user/mallory", "kms:Decrypt");
        struct policy_result res;
        EXPECT_OK(policy_evaluate(p, &ctx, &res));
        TEST_FAIL("Allow+NotPrincipal parsed; mallory gets %s", policy_decision_name(res.decision));
        policy_free(p);
    }
    /* Same inside a longer policy, second statement. */
    const char *doc2 = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
                       "\"111122223333\"},\"Action\":\"kms:*\",\"Resource\":\"*\"},{\"Effect\":\"Allow\","
                       "\"NotPrincipal\":{\"AWS\":\"*\"},\"Action\":\"kms:Decrypt\",\"Resource\":\"*\"}]}";
    p = NULL;
    EXPECT_ERR(parse(POLICY_KIND_RESOURCE, doc2, &p, reason, sizeof reason, &prob), ERR_PARSE);
    policy_free(p);
}

static void test_trust_policy_notprincipal_refused(void)
{
    struct policy *p = NULL;
    char reason[512];
    enum policy_problem prob = POLICY_PROBLEM_NONE;
    const char *deny = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
                       "\"111122223333\"},\"Action\":\"sts:AssumeRole\"},{\"Effect\":\"Deny\",\"NotPrincipal\":"
                       "{\"AWS\":\"arn:aws:iam::111122223333:user/alice\"},\"Action\":\"sts:AssumeRole\"}]}";
    EXPECT_ERR(parse(POLICY_KIND_TRUST, deny, &p, reason, sizeof reason, &prob), ERR_PARSE);
    EXPECT_STR_EQ(reason, "Has prohibited field NotPrincipal");
    EXPECT_TRUE(prob == POLICY_PROBLEM_PRINCIPAL);
    policy_free(p);
    p = NULL;
    const char *allow = "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"NotPrincipal\":"
                        "{\"AWS\":\"arn:aws:iam::111122223333:user/alice\"},\"Action\":\"sts:AssumeRole\"}}";
    EXPECT_ERR(parse(POLICY_KIND_TRUST, allow, &p, reason, sizeof reason, &prob), ERR_PARSE);
    EXPECT_STR_EQ(reason, "Has prohibited field NotPrincipal");
    policy_free(p);
}

static void test_deny_with_notprincipal_still_supported(void)
{
    const char *doc = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\","
                      "\"Action\":\"kms:*\",\"Resource\":\"*\"},{\"Effect\":\"Deny\",\"NotPrincipal\":{\"AWS\":"
                      "[\"arn:aws:iam::111122223333:user/alice\",\"111122223333\"]},\"Action\":\"kms:*\","
                      "\"Resource\":\"*\"}]}";
    struct policy *p = NULL;
    char reason[512];
    EXPECT_OK(parse(POLICY_KIND_RESOURCE, doc, &p, reason, sizeof reason, NULL));
    if (!p) return;
    struct policy_ctx ctx;
    struct policy_result res;
    user_ctx(&ctx, "arn:aws:iam::111122223333:user/alice", "kms:Decrypt");
    EXPECT_OK(policy_evaluate(p, &ctx, &res));
    EXPECT_TRUE(res.decision == POLICY_ALLOW);
    user_ctx(&ctx, "arn:aws:iam::111122223333:user/bob", "kms:Decrypt");
    EXPECT_OK(policy_evaluate(p, &ctx, &res));
    EXPECT_TRUE(res.decision == POLICY_EXPLICIT_DENY);

    /* alice with a permissions boundary: the Deny+NotPrincipal always
     * denies her, whatever NotPrincipal lists. */
    struct policy *boundary = NULL, *ident = NULL;
    const char *allow_all = "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\","
                            "\"Resource\":\"*\"}}";
    EXPECT_OK(parse(POLICY_KIND_IDENTITY, allow_all, &boundary, reason, sizeof reason, NULL));
    EXPECT_OK(parse(POLICY_KIND_IDENTITY, allow_all, &ident, reason, sizeof reason, NULL));
    const struct policy *ids[1] = {ident};
    struct policy_set set = {.mode = POLICY_MODE_KMS, .resource = p, .identity = ids, .identity_count = 1,
                             .same_account = true};
    struct policy_verdict v;
    user_ctx(&ctx, "arn:aws:iam::111122223333:user/alice", "kms:Decrypt");
    EXPECT_OK(policy_authorize(&set, &ctx, &v));
    EXPECT_TRUE(v.allowed);
    set.boundary = boundary;
    EXPECT_OK(policy_authorize(&set, &ctx, &v));
    EXPECT_TRUE(!v.allowed && v.reason == POLICY_REASON_DENY_RESOURCE);
    policy_free(boundary);
    policy_free(ident);
    policy_free(p);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    test_allow_with_notprincipal_refused();
    test_trust_policy_notprincipal_refused();
    test_deny_with_notprincipal_still_supported();
    TEST_MAIN_END();
}
