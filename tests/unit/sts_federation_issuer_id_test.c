/*
 * A federated session's principal carries its issuing user's unique id from
 * the token (core_principal.issuer_id), so a saved key policy -- which holds
 * that user as its AIDA... id (docs/authorization.md, "Principal unique
 * ids") -- denies the session when its Deny names the user: "specifying the
 * ARN of IAM user token-app in the policy will result in denying access to
 * all federated users created by token-app" -- IAM User Guide, "Disabling
 * permissions for temporary security credentials".
 *
 * Tokens are issued with sts_issue_credentials and opened with
 * sts_session_open, in memory; the opened principal feeds the policy
 * context as the server does.
 */
#include <stdlib.h>
#include <string.h>

#include "keystore/keystore_testutil.h"
#include "policy/policy.h"
#include "sts/sts_internal.h"
#include "tests/test.h"

#define ACCT "111122223333"
#define ISSUER_ARN "arn:aws:iam::" ACCT ":user/apps/token-app"
#define ISSUER_ID "AIDAEXAMPLETOKENAPP01"
#define NOW 1800000000

static bool extract(const struct core_buf *xml, const char *tag, char *out, size_t cap)
{
    char open[64], close_[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close_, sizeof close_, "</%s>", tag);
    const char *s = memmem(xml->data, xml->len, open, strlen(open));
    if (!s) return false;
    s += strlen(open);
    const char *e = strstr(s, close_);
    if (!e || (size_t)(e - s) >= cap) return false;
    memcpy(out, s, (size_t)(e - s));
    out[e - s] = 0;
    return true;
}

static char akid[64], token[CORE_MAX_SESSION_TOKEN_BYTES + 1];

/* Issues a federation token for Bob naming issuer_arn / issuer_id (NULL: absent). */
static void issue_fed(struct sts_env *env, const char *issuer_arn, const char *issuer_id)
{
    struct core_reply reply;
    EXPECT_OK(core_reply_init(&reply));
    struct sts_call call = {.request_id = "t", .now = NOW};
    struct sts_ctx ctx = {.env = env, .call = &call, .out = &reply};
    struct sts_issue in = {.type = CORE_PRINCIPAL_FEDERATED, .account = ACCT,
                           .arn = "arn:aws:sts::" ACCT ":federated-user/Bob", .user_id = ACCT ":Bob",
                           .role_arn = issuer_arn, .issuer_arn = issuer_arn, .issuer_id = issuer_id,
                           .issued = NOW, .expires = NOW + 900, .has_session_policies = true,
                           .policy = core_cursor_str("{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":"
                                                     "\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}")};
    EXPECT_OK(sts_issue_credentials(&ctx, &in));
    EXPECT_TRUE(extract(&reply.body, "AccessKeyId", akid, sizeof akid));
    EXPECT_TRUE(extract(&reply.body, "SessionToken", token, sizeof token));
    core_reply_free(&reply);
}

/* The key policy's verdict for the opened session's Decrypt. */
static enum policy_decision key_policy_decision(const struct core_principal *p, const char *key_policy)
{
    struct policy *kp = NULL;
    struct policy_parse_opts o = {.kind = POLICY_KIND_RESOURCE};
    EXPECT_OK(policy_parse(&o, core_cursor_str(key_policy), &kp, NULL, NULL));
    if (!kp) return POLICY_NO_MATCH;
    struct policy_ctx ctx;
    policy_ctx_init(&ctx);
    EXPECT_OK(policy_ctx_set_action(&ctx, core_cursor_str("kms:Decrypt")));
    policy_ctx_set_resource(&ctx, core_cursor_str("arn:aws:kms:us-east-1:" ACCT ":key/k1"));
    EXPECT_OK(policy_ctx_set_principal(&ctx, p, core_cursor_str("")));
    struct policy_result r = {0};
    EXPECT_OK(policy_evaluate(kp, &ctx, &r));
    policy_free(kp);
    return r.decision;
}

#define KEY_POLICY(deny_principal)                                                                                 \
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::" ACCT \
    ":root\"},\"Action\":\"kms:*\",\"Resource\":\"*\"},{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"" deny_principal \
    "\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}"

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    char root[PATH_MAX], dir[PATH_MAX];
    kst_mkdtemp(root, dir);
    struct keystore_options ko = kst_key_file_opts(dir);
    struct keystore *ks = NULL;
    bool created;
    EXPECT_OK(keystore_open(&ko, &ks, &created));
    struct sts_env *env = NULL;
    struct sts_env_options so = {.ks = ks};
    EXPECT_OK(sts_env_new(&so, &env));
    if (!env) return 1;
    struct sts_session s;

    /* A user-issued session: the principal names the issuer by ARN and id. */
    issue_fed(env, ISSUER_ARN, ISSUER_ID);
    EXPECT_OK(sts_session_open(env, core_cursor_str(token), core_cursor_str(akid), NOW + 1, &s));
    EXPECT_STR_EQ(s.principal.issuer_arn, ISSUER_ARN);
    EXPECT_STR_EQ(s.principal.issuer_id, ISSUER_ID);
    /* The saved policy's Deny (the user's id) reaches the session; another
     * user's id, or token-app's once deleted and created again, does not. */
    EXPECT_TRUE(key_policy_decision(&s.principal, KEY_POLICY(ISSUER_ID)) == POLICY_EXPLICIT_DENY);
    EXPECT_TRUE(key_policy_decision(&s.principal, KEY_POLICY("AIDAEXAMPLETOKENAPP02")) == POLICY_ALLOW);
    /* The ARN form (a policy saved before unique ids) still does. */
    EXPECT_TRUE(key_policy_decision(&s.principal, KEY_POLICY(ISSUER_ARN)) == POLICY_EXPLICIT_DENY);
    sts_session_free(&s);

    /* A user issuer without its id could not be matched against a saved
     * Deny: such a token does not open (fail closed). */
    issue_fed(env, ISSUER_ARN, NULL);
    EXPECT_ERR(sts_session_open(env, core_cursor_str(token), core_cursor_str(akid), NOW + 1, &s), ERR_AUTH_BAD_TOKEN);
    sts_session_free(&s);

    /* A root-issued session: its "id" is the account id, not a user's; no
     * issuer id on the principal (a Deny naming the account covers it). */
    issue_fed(env, "arn:aws:iam::" ACCT ":root", ACCT);
    EXPECT_OK(sts_session_open(env, core_cursor_str(token), core_cursor_str(akid), NOW + 1, &s));
    EXPECT_STR_EQ(s.principal.issuer_arn, "arn:aws:iam::" ACCT ":root");
    EXPECT_STR_EQ(s.principal.issuer_id, "");
    EXPECT_TRUE(key_policy_decision(&s.principal, KEY_POLICY(ISSUER_ID)) == POLICY_ALLOW);
    EXPECT_TRUE(key_policy_decision(&s.principal, KEY_POLICY(ACCT)) == POLICY_EXPLICIT_DENY);
    sts_session_free(&s);

    sts_env_free(env);
    keystore_close(ks);
    kst_rmrf(root);
    TEST_MAIN_END();
}
