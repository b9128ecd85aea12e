/*
 * GetFederationToken in memory (issue 16 items 4 and 5): the session token
 * names its issuing IAM user (struct sts_session issuer_arn / issuer_id) so
 * policies naming that user reach its federated users; the session's tags
 * are the user's tags plus the passed ones, a passed tag overriding a user
 * tag with the same key regardless of case; passing Tags needs
 * sts:TagSession. Role sessions carry no issuer.
 */
#include <stdlib.h>
#include <string.h>

#include "keystore/keystore_testutil.h"
#include "sts/sts_internal.h"
#include "tests/test.h"

#define ACCT "111122223333"

static bool extract(const struct core_buf *xml, const char *tag, char *out, size_t cap)
{
    char open[64], close_[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close_, sizeof close_, "</%s>", tag);
    const char *s = memmem(xml->data, xml->len, open, strlen(open));
    if (!s) return false;
    s += strlen(open);
    const char *e = memmem(s, xml->len - (size_t)(s - (const char *)xml->data), close_, strlen(close_));
    if (!e || (size_t)(e - s) >= cap) return false;
    memcpy(out, s, (size_t)(e - s));
    out[e - s] = 0;
    return true;
}

/* Percent-encodes v onto b (form encoding). */
static void enc(struct core_buf *b, const char *v)
{
    for (const char *p = v; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.' || c == '~')
            EXPECT_OK(core_buf_append_u8(b, c));
        else
            EXPECT_OK(core_buf_printf(b, "%%%02X", c));
    }
}

/* name=value pairs, NULL-terminated; values are encoded. */
static void form(struct core_form *f, struct core_buf *body, const char *const *kv)
{
    core_buf_reset(body);
    for (size_t i = 0; kv[i]; i += 2) {
        if (i) EXPECT_OK(core_buf_append_u8(body, '&'));
        EXPECT_OK(core_buf_append_str(body, kv[i]));
        EXPECT_OK(core_buf_append_u8(body, '='));
        enc(body, kv[i + 1]);
    }
    EXPECT_OK(core_form_parse(f, core_buf_cursor(body)));
}

struct world {
    struct keystore *ks;
    struct iam_env *iam;
    struct sts_env *sts;
    struct core_principal root;
};

static unsigned iam_call(struct world *w, const char *const *kv)
{
    static struct core_form f;
    struct core_buf body;
    EXPECT_OK(core_buf_init(&body, 512, 16384));
    form(&f, &body, kv);
    struct core_reply reply;
    EXPECT_OK(core_reply_init(&reply));
    struct iam_call call = {.caller = &w->root, .form = &f, .request_id = "t", .now = 1800000000};
    core_result_ignore(iam_handle(w->iam, &call, &reply));
    unsigned st = reply.status;
    if (st != 200) fprintf(stderr, "iam: %u %s %.*s\n", st, reply.error_code, (int)reply.message.len,
                           (const char *)reply.message.data);
    core_reply_free(&reply);
    core_form_free(&f);
    core_buf_free(&body);
    return st;
}

/* GetFederationToken as user; on success opens the token into s. Returns the HTTP status. */
static unsigned federate(struct world *w, const char *user, const char *const *extra, struct sts_session *s,
                         char *error_code)
{
    struct core_principal p;
    struct keystore_txn *txn = NULL;
    EXPECT_OK(keystore_txn_begin(w->ks, false, &txn));
    EXPECT_OK(iam_user_principal(txn, ACCT, core_cursor_str(user), &p));
    keystore_txn_abort(txn);
    static const char policy[] =
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"kms:*\",\"Resource\":\"*\"}]}";
    const char *kv[32] = {"Action", "GetFederationToken", "Version", "2011-06-15", "Name", "bob", "Policy", policy};
    size_t n = 8;
    for (size_t i = 0; extra && extra[i] && n < 30; i++) kv[n++] = extra[i];
    kv[n] = NULL;
    static struct core_form f;
    struct core_buf body;
    EXPECT_OK(core_buf_init(&body, 512, 16384));
    form(&f, &body, kv);
    struct core_reply reply;
    EXPECT_OK(core_reply_init(&reply));
    const int64_t now = 1800000000;
    struct sts_call call = {.caller = &p, .form = &f, .request_id = "t", .now = now};
    core_result_ignore(sts_handle(w->sts, &call, &reply));
    unsigned st = reply.status;
    snprintf(error_code, 96, "%s", reply.error_code);
    if (st == 200) {
        static char akid[64], token[CORE_MAX_SESSION_TOKEN_BYTES + 1];
        EXPECT_TRUE(extract(&reply.body, "AccessKeyId", akid, sizeof akid));
        EXPECT_TRUE(extract(&reply.body, "SessionToken", token, sizeof token));
        EXPECT_OK(sts_session_open(w->sts, core_cursor_str(token), core_cursor_str(akid), now + 1, s));
    }
    core_reply_free(&reply);
    core_form_free(&f);
    core_buf_free(&body);
    return st;
}

static const struct sts_tag *tag(const struct sts_session *s, const char *key)
{
    for (size_t i = 0; i < s->n_tags; i++)
        if (core_cursor_eq_str(s->tags[i].key, key)) return &s->tags[i];
    return NULL;
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    char root[PATH_MAX], dir[PATH_MAX];
    kst_mkdtemp(root, dir);
    struct keystore_options ko = kst_key_file_opts(dir);
    struct world w = {0};
    bool created;
    EXPECT_OK(keystore_open(&ko, &w.ks, &created));
    struct iam_env_options io = {.ks = w.ks, .account = ACCT};
    EXPECT_OK(iam_env_new(&io, &w.iam));
    struct sts_env_options so = {.ks = w.ks, .iam = w.iam};
    EXPECT_OK(sts_env_new(&so, &w.sts));
    if (!w.sts || !w.iam) return 1;
    iam_principal_root(&w.root, ACCT);

    static const char tok_policy[] = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":["
                                     "\"sts:GetFederationToken\",\"sts:TagSession\",\"kms:*\"],\"Resource\":\"*\"}]}";
    static const char mallory_policy[] = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                                         "\"Action\":[\"sts:GetFederationToken\",\"kms:*\"],\"Resource\":\"*\"}]}";
    const char *mk_tok[] = {"Action", "CreateUser", "Version", "2010-05-08", "UserName", "token-app", "Path",
                            "/apps/", "Tags.member.1.Key", "team", "Tags.member.1.Value", "red",
                            "Tags.member.2.Key", "env", "Tags.member.2.Value", "prod", NULL};
    EXPECT_TRUE(iam_call(&w, mk_tok) == 200);
    const char *pol_tok[] = {"Action", "PutUserPolicy", "Version", "2010-05-08", "UserName", "token-app",
                             "PolicyName", "p", "PolicyDocument", tok_policy, NULL};
    EXPECT_TRUE(iam_call(&w, pol_tok) == 200);
    const char *mk_m[] = {"Action", "CreateUser", "Version", "2010-05-08", "UserName", "mallory", NULL};
    EXPECT_TRUE(iam_call(&w, mk_m) == 200);
    const char *pol_m[] = {"Action", "PutUserPolicy", "Version", "2010-05-08", "UserName", "mallory", "PolicyName",
                           "p", "PolicyDocument", mallory_policy, NULL};
    EXPECT_TRUE(iam_call(&w, pol_m) == 200);

    struct core_principal tokp;
    struct keystore_txn *txn = NULL;
    EXPECT_OK(keystore_txn_begin(w.ks, false, &txn));
    EXPECT_OK(iam_user_principal(txn, ACCT, core_cursor_str("token-app"), &tokp));
    keystore_txn_abort(txn);
    EXPECT_STR_EQ(tokp.arn, "arn:aws:iam::" ACCT ":user/apps/token-app");
    EXPECT_TRUE(strncmp(tokp.user_id, "AIDA", 4) == 0);

    /* The issuer is in the token: ARN with path and unique id. */
    struct sts_session s = {0};
    char code[96];
    EXPECT_TRUE(federate(&w, "token-app", NULL, &s, code) == 200);
    EXPECT_STR_EQ(s.principal.arn, "arn:aws:sts::" ACCT ":federated-user/bob");
    EXPECT_TRUE(s.principal.type == CORE_PRINCIPAL_FEDERATED);
    EXPECT_TRUE(core_cursor_eq_str(s.issuer_arn, tokp.arn));
    EXPECT_TRUE(core_cursor_eq_str(s.issuer_id, tokp.user_id));
    EXPECT_TRUE(core_cursor_eq_str(s.role_arn, tokp.arn));
    /* the user's tags, although none were passed */
    EXPECT_TRUE(s.n_tags == 2 && tag(&s, "team") && core_cursor_eq_str(tag(&s, "team")->value, "red") &&
                tag(&s, "env") && core_cursor_eq_str(tag(&s, "env")->value, "prod"));
    sts_session_free(&s);

    /* A passed tag overrides the user's tag with the same key, regardless of case; the others stay. */
    const char *retag[] = {"Tags.member.1.Key", "Team", "Tags.member.1.Value", "blue", NULL};
    EXPECT_TRUE(federate(&w, "token-app", retag, &s, code) == 200);
    EXPECT_TRUE(s.n_tags == 2);
    EXPECT_TRUE(tag(&s, "team") == NULL);
    EXPECT_TRUE(tag(&s, "Team") && core_cursor_eq_str(tag(&s, "Team")->value, "blue"));
    EXPECT_TRUE(tag(&s, "env") && core_cursor_eq_str(tag(&s, "env")->value, "prod"));
    EXPECT_TRUE(s.n_transitive == 0);
    sts_session_free(&s);

    /* Tags without sts:TagSession: refused, nothing issued. */
    const char *spoof[] = {"Tags.member.1.Key", "clearance", "Tags.member.1.Value", "high", NULL};
    memset(&s, 0, sizeof s);
    EXPECT_TRUE(federate(&w, "mallory", spoof, &s, code) == 403);
    EXPECT_STR_EQ(code, "AccessDenied");
    EXPECT_TRUE(s.plain.data == NULL);
    /* ... and without tags it is served, with mallory as the issuer */
    EXPECT_TRUE(federate(&w, "mallory", NULL, &s, code) == 200);
    EXPECT_TRUE(core_cursor_eq_str(s.issuer_arn, "arn:aws:iam::" ACCT ":user/mallory"));
    EXPECT_TRUE(s.n_tags == 0);
    sts_session_free(&s);

    /* A role session has no issuer. */
    struct core_reply reply;
    EXPECT_OK(core_reply_init(&reply));
    struct sts_call call = {.request_id = "t", .now = 1800000000};
    struct sts_ctx ctx = {.env = w.sts, .call = &call, .out = &reply};
    struct sts_issue in = {.type = CORE_PRINCIPAL_ASSUMED_ROLE, .account = ACCT,
                           .arn = "arn:aws:sts::" ACCT ":assumed-role/ops/s", .user_id = "AROAEXAMPLE:s",
                           .role_arn = "arn:aws:iam::" ACCT ":role/ops", .issued = 1800000000,
                           .expires = 1800000900};
    EXPECT_OK(sts_issue_credentials(&ctx, &in));
    static char akid[64], token[CORE_MAX_SESSION_TOKEN_BYTES + 1];
    EXPECT_TRUE(extract(&reply.body, "AccessKeyId", akid, sizeof akid));
    EXPECT_TRUE(extract(&reply.body, "SessionToken", token, sizeof token));
    EXPECT_OK(sts_session_open(w.sts, core_cursor_str(token), core_cursor_str(akid), 1800000001, &s));
    EXPECT_TRUE(s.issuer_arn.len == 0 && s.issuer_id.len == 0);
    sts_session_free(&s);
    core_reply_free(&reply);

    sts_env_free(w.sts);
    iam_env_free(w.iam);
    keystore_close(w.ks);
    kst_rmrf(root);
    TEST_MAIN_END();
}
