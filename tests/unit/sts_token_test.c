/*
 * Session tokens in memory: round trip, a flipped byte, a token for another
 * key id, one second past expiry, rotation keeping old tokens valid, and the
 * sorted action table.
 */
#include <stdlib.h>
#include <string.h>

#include "keystore/keystore_testutil.h"
#include "sts/sts_internal.h"
#include "tests/test.h"

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

static void issue(struct sts_env *env, int64_t now, int64_t ttl, char *akid, char *token)
{
    struct core_reply reply;
    EXPECT_OK(core_reply_init(&reply));
    struct sts_call call = {.request_id = "t", .now = now};
    struct sts_ctx ctx = {.env = env, .call = &call, .out = &reply};
    struct core_cursor arns[1] = {core_cursor_str("arn:aws:iam::aws:policy/ReadOnlyAccess")};
    struct sts_tag tags[1] = {{core_cursor_str("team"), core_cursor_str("kms")}};
    struct sts_issue in = {.type = CORE_PRINCIPAL_ASSUMED_ROLE, .account = "111122223333",
                           .arn = "arn:aws:sts::111122223333:assumed-role/ops/s", .user_id = "AROAEXAMPLE:s",
                           .role_arn = "arn:aws:iam::111122223333:role/ops", .issued = now, .expires = now + ttl,
                           .chained = true, .source_identity = core_cursor_str("alice"),
                           .policy = core_cursor_str("{\"Version\":\"2012-10-17\"}"), .policy_arns = arns,
                           .n_policy_arns = 1, .tags = tags, .n_tags = 1, .transitive = &tags[0].key,
                           .n_transitive = 1, .has_session_policies = true};
    EXPECT_OK(sts_issue_credentials(&ctx, &in));
    EXPECT_TRUE(extract(&reply.body, "AccessKeyId", akid, 64));
    EXPECT_TRUE(extract(&reply.body, "SessionToken", token, CORE_MAX_SESSION_TOKEN_BYTES));
    EXPECT_TRUE(strlen(token) < CORE_MAX_SESSION_TOKEN_BYTES);
    core_reply_free(&reply);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    for (size_t i = 1; i < sts_actions_count; i++)
        EXPECT_TRUE(strcmp(sts_actions[i - 1].row.name, sts_actions[i].row.name) < 0);

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

    static char akid[64], token[CORE_MAX_SESSION_TOKEN_BYTES + 1];
    const int64_t now = 1800000000;
    issue(env, now, 900, akid, token);
    EXPECT_TRUE(strncmp(akid, "ASIA", 4) == 0);

    struct sts_session s;
    EXPECT_OK(sts_session_open(env, core_cursor_str(token), core_cursor_str(akid), now + 899, &s));
    EXPECT_STR_EQ(s.principal.arn, "arn:aws:sts::111122223333:assumed-role/ops/s");
    EXPECT_TRUE(s.principal.temporary && s.principal.type == CORE_PRINCIPAL_ASSUMED_ROLE);
    EXPECT_TRUE(s.chained && s.has_session_policies && s.n_tags == 1 && s.n_transitive == 1 && s.n_policy_arns == 1);
    EXPECT_TRUE(core_cursor_eq_str(s.source_identity, "alice"));
    EXPECT_TRUE(core_cursor_eq_str(s.role_arn, "arn:aws:iam::111122223333:role/ops"));
    EXPECT_TRUE(s.secret.len == 40);
    EXPECT_TRUE(s.principal.token_expires == now + 900 && s.principal.token_issued == now);
    sts_session_free(&s);

    /* one second past expiry (and exactly at it) */
    EXPECT_ERR(sts_session_open(env, core_cursor_str(token), core_cursor_str(akid), now + 900, &s),
               ERR_AUTH_EXPIRED_TOKEN);
    sts_session_free(&s);
    EXPECT_ERR(sts_session_open(env, core_cursor_str(token), core_cursor_str(akid), now + 901, &s),
               ERR_AUTH_EXPIRED_TOKEN);
    sts_session_free(&s);
    /* another access key id */
    EXPECT_ERR(sts_session_open(env, core_cursor_str(token), core_cursor_str("ASIAAAAAAAAAAAAAAAAA"), now, &s),
               ERR_AUTH_BAD_TOKEN);
    sts_session_free(&s);
    /* every single-character change of the token is refused */
    size_t n = strlen(token);
    static char bad[CORE_MAX_SESSION_TOKEN_BYTES + 1];
    int accepted = 0;
    for (size_t i = 0; i + 4 < n; i += 7) {
        memcpy(bad, token, n + 1);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        core_result r = sts_session_open(env, core_cursor_str(bad), core_cursor_str(akid), now, &s);
        sts_session_free(&s);
        accepted += core_ok(r);
        EXPECT_TRUE(r.err == ERR_AUTH_BAD_TOKEN);
    }
    EXPECT_TRUE(accepted == 0);
    EXPECT_ERR(sts_session_open(env, core_cursor_str("!!!"), core_cursor_str(akid), now, &s), ERR_AUTH_BAD_TOKEN);
    sts_session_free(&s);
    /* a sealed authorization message is not a session token */
    struct core_buf msg;
    EXPECT_OK(core_buf_init(&msg, 256, 8192));
    EXPECT_OK(sts_authz_message_encode(env, core_cursor_str("{\"allowed\":false}"), &msg));
    EXPECT_OK(core_buf_terminate(&msg));
    EXPECT_ERR(sts_session_open(env, core_buf_cursor(&msg), core_cursor_str(akid), now, &s), ERR_AUTH_BAD_TOKEN);
    sts_session_free(&s);
    core_buf_free(&msg);

    /* rotation: old tokens still open, new ones use the new key */
    uint32_t id = 0;
    EXPECT_OK(sts_token_key_rotate(ks, &id));
    EXPECT_TRUE(id == 2);
    static char akid2[64], token2[CORE_MAX_SESSION_TOKEN_BYTES + 1];
    issue(env, now, 900, akid2, token2);
    EXPECT_OK(sts_session_open(env, core_cursor_str(token), core_cursor_str(akid), now, &s));
    sts_session_free(&s);
    EXPECT_OK(sts_session_open(env, core_cursor_str(token2), core_cursor_str(akid2), now, &s));
    EXPECT_TRUE(s.key_id == 2);
    sts_session_free(&s);

    sts_env_free(env);
    keystore_close(ks);
    kst_rmrf(root);
    TEST_MAIN_END();
}
