/*
 * Issue 16, item 5: a Deny naming an IAM user reaches the federated user
 * sessions that user created with GetFederationToken: "specifying the ARN
 * of IAM user token-app in the policy will result in denying access to all
 * federated users created by token-app, not only the federated user named
 * Bob" -- IAM User Guide, "Disabling permissions for temporary security
 * credentials", Denying access to federated users,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_disable-perms.html
 *
 * Constructed contexts only: core_principal.issuer_arn carries the ARN of
 * the IAM user (or root) that called GetFederationToken and issuer_id its
 * unique id, as the STS layer fills them from the session token. A saved key
 * policy names that user by its unique id (docs/authorization.md, "Principal
 * unique ids"), so the Deny must reach the session in that form too.
 */
#include "policy/policy.h"
#include "tests/test.h"

#define ACCT "111122223333"
#define KEY "arn:aws:kms:us-east-1:" ACCT ":key/k1"

static struct policy *parse(enum policy_kind kind, const char *doc)
{
    struct policy *p = NULL;
    struct policy_parse_opts o = {.kind = kind};
    EXPECT_OK(policy_parse(&o, core_cursor_str(doc), &p, NULL, NULL));
    return p;
}

#define TOKEN_APP_ID "AIDAEXAMPLETOKENAPP01"  /* token-app's unique id */
#define NEW_TOKEN_APP_ID "AIDAEXAMPLETOKENAPP02" /* token-app deleted and created again */
#define OTHER_APP_ID "AIDAEXAMPLEOTHERAPP01"

static void fed_ctx_id(struct policy_ctx *ctx, const char *name, const char *issuer, const char *issuer_id)
{
    struct core_principal p = {.type = CORE_PRINCIPAL_FEDERATED, .temporary = true, .token_issued = 1700000000};
    snprintf(p.account, sizeof p.account, ACCT);
    snprintf(p.arn, sizeof p.arn, "arn:aws:sts::" ACCT ":federated-user/%s", name);
    snprintf(p.user_id, sizeof p.user_id, ACCT ":%s", name);
    snprintf(p.issuer_arn, sizeof p.issuer_arn, "%s", issuer);
    snprintf(p.issuer_id, sizeof p.issuer_id, "%s", issuer_id);
    policy_ctx_init(ctx);
    EXPECT_OK(policy_ctx_set_action(ctx, core_cursor_str("kms:Decrypt")));
    policy_ctx_set_resource(ctx, core_cursor_str(KEY));
    EXPECT_OK(policy_ctx_set_principal(ctx, &p, core_cursor_str("")));
}

static void fed_ctx(struct policy_ctx *ctx, const char *name, const char *issuer)
{
    fed_ctx_id(ctx, name, issuer, "");
}

static const char *allow_all = "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\","
                               "\"Resource\":\"*\"}}";

static bool decide(const struct policy *key_policy, const struct policy_ctx *ctx, enum policy_reason *why)
{
    struct policy *ident = parse(POLICY_KIND_IDENTITY, allow_all);
    struct policy *sess = parse(POLICY_KIND_IDENTITY, allow_all);
    const struct policy *ids[1] = {ident}, *ss[1] = {sess};
    struct policy_set set = {.mode = POLICY_MODE_KMS, .resource = key_policy, .identity = ids,
                             .identity_count = 1, .session = ss, .session_count = 1,
                             .has_session_policies = true, .same_account = true};
    struct policy_verdict v = {0};
    EXPECT_OK(policy_authorize(&set, ctx, &v));
    policy_free(ident);
    policy_free(sess);
    *why = v.reason;
    return v.allowed;
}

static void test_deny_on_issuer_reaches_session(void)
{
    struct policy *kp = parse(POLICY_KIND_RESOURCE,
                              "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":"
                              "{\"AWS\":\"arn:aws:iam::" ACCT ":root\"},\"Action\":\"kms:*\",\"Resource\":\"*\"},"
                              "{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"arn:aws:iam::" ACCT
                              ":user/token-app\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}");
    if (!kp) return;
    struct policy_ctx ctx;
    enum policy_reason why;
    fed_ctx(&ctx, "Bob", "arn:aws:iam::" ACCT ":user/token-app");
    EXPECT_TRUE(!decide(kp, &ctx, &why));
    EXPECT_TRUE(why == POLICY_REASON_DENY_RESOURCE);
    /* Another user's federated session is not covered. */
    fed_ctx(&ctx, "Bob", "arn:aws:iam::" ACCT ":user/other-app");
    EXPECT_TRUE(decide(kp, &ctx, &why));
    /* A path is part of the user ARN: user/ops/token-app is another user. */
    fed_ctx(&ctx, "Bob", "arn:aws:iam::" ACCT ":user/ops/token-app");
    EXPECT_TRUE(decide(kp, &ctx, &why));
    /* Look-alike issuer: Cyrillic 'а' in "token-аpp" is not token-app. */
    fed_ctx(&ctx, "Bob", "arn:aws:iam::" ACCT ":user/token-\xd0\xb0pp");
    EXPECT_TRUE(decide(kp, &ctx, &why));
    policy_free(kp);
}

static void test_allow_on_issuer_grants_session_nothing(void)
{
    /* "If that policy specifically references the federated user session in
     * the Principal element of the policy, the session has the permissions
     * allowed by the policy" -- an Allow naming the issuing user is not such
     * a reference (STS API Reference, GetFederationToken, Permissions). */
    struct policy *kp = parse(POLICY_KIND_RESOURCE,
                              "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":"
                              "{\"AWS\":\"arn:aws:iam::" ACCT ":user/token-app\"},\"Action\":\"kms:*\","
                              "\"Resource\":\"*\"}}");
    if (!kp) return;
    struct policy_ctx ctx;
    fed_ctx(&ctx, "Bob", "arn:aws:iam::" ACCT ":user/token-app");
    struct policy_result r;
    EXPECT_OK(policy_evaluate(kp, &ctx, &r));
    EXPECT_TRUE(r.decision == POLICY_NO_MATCH);
    enum policy_reason why;
    EXPECT_TRUE(!decide(kp, &ctx, &why));
    EXPECT_TRUE(why == POLICY_REASON_NO_RESOURCE);
    policy_free(kp);
}

static void test_notprincipal_lists_session(void)
{
    /* Deny+NotPrincipal listing the session and the account excludes the
     * session; the issuer link is not required in the list. */
    struct policy *kp = parse(POLICY_KIND_RESOURCE,
                              "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":"
                              "\"*\",\"Action\":\"kms:*\",\"Resource\":\"*\"},{\"Effect\":\"Deny\",\"NotPrincipal\":"
                              "{\"AWS\":[\"arn:aws:sts::" ACCT ":federated-user/Bob\",\"" ACCT "\"]},\"Action\":"
                              "\"kms:*\",\"Resource\":\"*\"}]}");
    if (!kp) return;
    struct policy_ctx ctx;
    struct policy_result r;
    fed_ctx(&ctx, "Bob", "arn:aws:iam::" ACCT ":user/token-app");
    EXPECT_OK(policy_evaluate(kp, &ctx, &r));
    EXPECT_TRUE(r.decision == POLICY_ALLOW);
    fed_ctx(&ctx, "Eve", "arn:aws:iam::" ACCT ":user/token-app");
    EXPECT_OK(policy_evaluate(kp, &ctx, &r));
    EXPECT_TRUE(r.decision == POLICY_EXPLICIT_DENY);
    policy_free(kp);
}

static void test_bad_issuer_refused(void)
{
    /* An issuer that is not an IAM user or root ARN of the session's own
     * account is a bug upstream: refuse the context (fail closed). */
    struct core_principal p = {.type = CORE_PRINCIPAL_FEDERATED, .temporary = true};
    snprintf(p.account, sizeof p.account, ACCT);
    snprintf(p.arn, sizeof p.arn, "arn:aws:sts::" ACCT ":federated-user/Bob");
    snprintf(p.issuer_arn, sizeof p.issuer_arn, "arn:aws:iam::444455556666:user/token-app");
    struct policy_ctx ctx;
    policy_ctx_init(&ctx);
    EXPECT_ERR(policy_ctx_set_principal(&ctx, &p, core_cursor_str("")), ERR_PARSE);
}


/* The key policy as saved: the issuing user's ARN stored as its unique id. */
static void test_deny_on_issuer_id_reaches_session(void)
{
    struct policy *kp = parse(POLICY_KIND_RESOURCE,
                              "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":"
                              "{\"AWS\":\"arn:aws:iam::" ACCT ":root\"},\"Action\":\"kms:*\",\"Resource\":\"*\"},"
                              "{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"" TOKEN_APP_ID
                              "\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}");
    if (!kp) return;
    struct policy_ctx ctx;
    enum policy_reason why;
    fed_ctx_id(&ctx, "Bob", "arn:aws:iam::" ACCT ":user/token-app", TOKEN_APP_ID);
    EXPECT_TRUE(!decide(kp, &ctx, &why));
    EXPECT_TRUE(why == POLICY_REASON_DENY_RESOURCE);
    /* Every federated user the issuer creates, whatever its name. */
    fed_ctx_id(&ctx, "Eve", "arn:aws:iam::" ACCT ":user/apps/token-app", TOKEN_APP_ID);
    EXPECT_TRUE(!decide(kp, &ctx, &why));
    EXPECT_TRUE(why == POLICY_REASON_DENY_RESOURCE);
    /* Another user's federated session is not covered. */
    fed_ctx_id(&ctx, "Bob", "arn:aws:iam::" ACCT ":user/other-app", OTHER_APP_ID);
    EXPECT_TRUE(decide(kp, &ctx, &why));
    /* A token-app deleted and created again is another user: the saved id
     * does not name it ("if you delete the role or user, then the
     * relationship is broken" -- IAM User Guide, role trust policy
     * examples). */
    fed_ctx_id(&ctx, "Bob", "arn:aws:iam::" ACCT ":user/token-app", NEW_TOKEN_APP_ID);
    EXPECT_TRUE(decide(kp, &ctx, &why));
    /* The session's own aws:userid ("ACCT:Bob") is not the issuer's id. */
    fed_ctx_id(&ctx, "Bob", "arn:aws:iam::" ACCT ":user/token-app", "");
    EXPECT_TRUE(decide(kp, &ctx, &why));
    policy_free(kp);
}

static void test_allow_on_issuer_id_grants_session_nothing(void)
{
    struct policy *kp = parse(POLICY_KIND_RESOURCE,
                              "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":"
                              "{\"AWS\":\"" TOKEN_APP_ID "\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}}");
    if (!kp) return;
    struct policy_ctx ctx;
    fed_ctx_id(&ctx, "Bob", "arn:aws:iam::" ACCT ":user/token-app", TOKEN_APP_ID);
    struct policy_result r;
    EXPECT_OK(policy_evaluate(kp, &ctx, &r));
    EXPECT_TRUE(r.decision == POLICY_NO_MATCH);
    enum policy_reason why;
    EXPECT_TRUE(!decide(kp, &ctx, &why));
    EXPECT_TRUE(why == POLICY_REASON_NO_RESOURCE);
    policy_free(kp);
}

static void test_notprincipal_issuer_id_does_not_exclude(void)
{
    /* Deny+NotPrincipal listing the issuer's id (and the account) does not
     * exclude its federated session: the session ARN is what must be
     * listed. */
    struct policy *kp = parse(POLICY_KIND_RESOURCE,
                              "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":"
                              "\"*\",\"Action\":\"kms:*\",\"Resource\":\"*\"},{\"Effect\":\"Deny\",\"NotPrincipal\":"
                              "{\"AWS\":[\"" TOKEN_APP_ID "\",\"" ACCT "\"]},\"Action\":\"kms:*\","
                              "\"Resource\":\"*\"}]}");
    if (!kp) return;
    struct policy_ctx ctx;
    struct policy_result r;
    fed_ctx_id(&ctx, "Bob", "arn:aws:iam::" ACCT ":user/token-app", TOKEN_APP_ID);
    EXPECT_OK(policy_evaluate(kp, &ctx, &r));
    EXPECT_TRUE(r.decision == POLICY_EXPLICIT_DENY);
    policy_free(kp);
}

static void test_bad_issuer_id_refused(void)
{
    /* The issuer is an IAM user: its id must be a user's unique id. A
     * role's id, the account id or a look-alike is a bug upstream. */
    static const char *const bad[] = {"AROAEXAMPLETOKENAPP01", ACCT, "AIDAEXAMPLETOKENAPP0", "AIDAEXAMPLETOKENAPP0a",
                                      "AIDAEXAMPLETOKENAPP011"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct core_principal p = {.type = CORE_PRINCIPAL_FEDERATED, .temporary = true};
        snprintf(p.account, sizeof p.account, ACCT);
        snprintf(p.arn, sizeof p.arn, "arn:aws:sts::" ACCT ":federated-user/Bob");
        snprintf(p.issuer_arn, sizeof p.issuer_arn, "arn:aws:iam::" ACCT ":user/token-app");
        snprintf(p.issuer_id, sizeof p.issuer_id, "%s", bad[i]);
        struct policy_ctx ctx;
        policy_ctx_init(&ctx);
        EXPECT_ERR(policy_ctx_set_principal(&ctx, &p, core_cursor_str("")), ERR_PARSE);
    }
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    test_deny_on_issuer_reaches_session();
    test_allow_on_issuer_grants_session_nothing();
    test_notprincipal_lists_session();
    test_bad_issuer_refused();
    test_deny_on_issuer_id_reaches_session();
    test_allow_on_issuer_id_grants_session_nothing();
    test_notprincipal_issuer_id_does_not_exclude();
    test_bad_issuer_id_refused();
    TEST_MAIN_END();
}
