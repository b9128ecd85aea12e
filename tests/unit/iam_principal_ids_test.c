/*
 * iam_policy_principals_store / _show: user and role ARNs in Principal and
 * NotPrincipal "AWS" entries become unique ids and back; nothing else
 * changes; an ARN or id naming no user or role is refused, however the
 * document spells the keys (escapes included).
 */
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iam/iam_internal.h"
#include "tests/test.h"

#define ACCT "111122223333"
#define UID "AIDAALICE000000000000"
#define RID "AROAAPP00000000000000"

static struct keystore *ks;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static core_result seed(struct keystore_txn *txn, void *arg)
{
    (void)arg;
    json_t *u = json_pack("{s:s,s:s,s:s,s:s}", "name", "alice", "account", ACCT, "path", "/eng/", "user_id", UID);
    json_t *r = json_pack("{s:s,s:s,s:s,s:s}", "name", "app", "account", ACCT, "path", "/", "role_id", RID);
    core_result res = iam_rec_put(txn, IAM_T_USER, ACCT, core_cursor_str("alice"), u, 0);
    if (core_ok(res)) res = iam_rec_put(txn, IAM_T_ROLE, ACCT, core_cursor_str("app"), r, 0);
    if (core_ok(res)) res = iam_uid_put(txn, UID, "user", ACCT, "alice");
    if (core_ok(res)) res = iam_uid_put(txn, RID, "role", ACCT, "app");
    json_decref(u);
    json_decref(r);
    return res;
}

/* Runs store (or show) on doc; returns the result text (static) or NULL on error, *err set. */
static const char *run(bool store, const char *doc, enum core_err *err, char *bad)
{
    static char text[4096];
    struct core_buf out = {0};
    if (!core_ok(core_buf_init(&out, 256, 8192))) return NULL;
    core_result r = iam_policy_principals_ks(ks, store, core_cursor_str(doc), &out, bad, bad ? 600 : 0);
    *err = r.err;
    const char *res = NULL;
    if (core_ok(r) && out.len < sizeof text) {
        memcpy(text, out.data, out.len);
        text[out.len] = 0;
        res = text;
    }
    core_buf_free(&out);
    return res;
}

#define DOC(p) "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":" p ",\"Action\":\"kms:*\",\"Resource\":\"*\"}]}"

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    char root[PATH_MAX], dir[PATH_MAX + 16];
    const char *t = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/iam-pid-XXXXXX", t && t[0] ? t : "/tmp");
    if (!mkdtemp(root)) return 2;
    snprintf(dir, sizeof dir, "%s/data", root);
    struct keystore_options o = {.dir = dir, .source = KEYSTORE_MASTER_KEY_FILE};
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    EXPECT_OK(keystore_write(ks, seed, NULL));
    enum core_err e;
    char bad[600];
    const char *s;

    /* user's test: ARNs to ids, the rest byte for byte; and back */
    s = run(true, DOC("{\"AWS\": [\"arn:aws:iam::" ACCT ":user/eng/alice\", \"arn:aws:iam::" ACCT ":root\"]}"), &e, bad);
    EXPECT_TRUE(s != NULL);
    if (s) EXPECT_STR_EQ(s, DOC("{\"AWS\": [\"" UID "\", \"arn:aws:iam::" ACCT ":root\"]}"));
    s = run(false, DOC("{\"AWS\": [\"" UID "\", \"arn:aws:iam::" ACCT ":root\"]}"), &e, NULL);
    EXPECT_TRUE(s != NULL);
    if (s) EXPECT_STR_EQ(s, DOC("{\"AWS\": [\"arn:aws:iam::" ACCT ":user/eng/alice\", \"arn:aws:iam::" ACCT ":root\"]}"));
    s = run(true, DOC("{\"AWS\":\"arn:aws:iam::" ACCT ":role/app\"}"), &e, bad);
    if (s) EXPECT_STR_EQ(s, DOC("{\"AWS\":\"" RID "\"}"));
    /* nothing to rewrite: the text unchanged, formatting included */
    const char *plain = "{ \"Version\" : \"2012-10-17\",\n \"Statement\" : { \"Effect\":\"Allow\", \"Principal\":{\"Service\":"
                        "\"s3.amazonaws.com\"}, \"Action\":\"kms:*\", \"Resource\":\"*\", \"Condition\":{\"StringEquals\":"
                        "{\"aws:PrincipalArn\":\"arn:aws:iam::" ACCT ":user/ghost\"}}}}";
    s = run(true, plain, &e, bad);
    if (s) EXPECT_STR_EQ(s, plain);
    /* a condition value naming a user is not a principal: untouched */
    s = run(true, DOC("{\"AWS\":\"" ACCT "\"}"), &e, bad);
    if (s) EXPECT_STR_EQ(s, DOC("{\"AWS\":\"" ACCT "\"}"));
    /* ids of live principals are kept on save, shown as ARNs */
    s = run(true, DOC("{\"AWS\":\"" UID "\"}"), &e, bad);
    if (s) EXPECT_STR_EQ(s, DOC("{\"AWS\":\"" UID "\"}"));

    /* attacker's tests: every spelling of a ghost is refused */
    static const char *const ghosts[] = {
        DOC("{\"AWS\":\"arn:aws:iam::" ACCT ":user/ghost\"}"),
        DOC("{\"AWS\":\"arn:aws:iam::" ACCT ":user/alice\"}"),             /* wrong path */
        DOC("{\"AWS\":\"arn:aws:iam::222233334444:user/eng/alice\"}"),     /* other account */
        DOC("{\"AWS\":\"arn:aws-cn:iam::" ACCT ":user/eng/alice\"}"),     /* other partition */
        DOC("{\"AWS\":\"AIDAGHOST000000000000\"}"),
        DOC("{\"AWS\":\"AROAGHOST000000000000\"}"),
        DOC("{\"AWS\":\"arn:aws:iam::" ACCT ":role/ghost\"}"),
        /* escaped keys decode to Principal/AWS for the policy engine: they count here too */
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Princip\\u0061l\":{\"A\\u0057S\":"
        "\"arn:aws:iam::" ACCT ":user/ghost\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}",
        /* an escaped value */
        DOC("{\"AWS\":\"arn:aws:iam::" ACCT ":user\\/ghost\"}"),
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Deny\",\"NotPrincipal\":{\"AWS\":[\"" ACCT "\","
        "\"arn:aws:iam::" ACCT ":user/ghost\"]},\"Action\":\"kms:*\",\"Resource\":\"*\"}}",
    };
    for (size_t i = 0; i < sizeof ghosts / sizeof ghosts[0]; i++) {
        s = run(true, ghosts[i], &e, bad);
        if (e != ERR_PARSE) TEST_FAIL("ghost %zu accepted: %s", i, ghosts[i]);
        EXPECT_TRUE(strstr(bad, "ghost") != NULL || strstr(bad, "alice") != NULL || strstr(bad, "GHOST") != NULL);
    }
    /* an escaped user ARN of a live user is stored as its id */
    s = run(true, DOC("{\"AWS\":\"arn:aws:iam::" ACCT ":user\\/eng\\/alice\"}"), &e, bad);
    if (s) EXPECT_STR_EQ(s, DOC("{\"AWS\":\"" UID "\"}"));
    /* a deleted principal's id shows as the id */
    s = run(false, DOC("{\"AWS\":\"AIDAGHOST000000000000\"}"), &e, NULL);
    if (s) EXPECT_STR_EQ(s, DOC("{\"AWS\":\"AIDAGHOST000000000000\"}"));
    /* not JSON: copied as is (the policy engine refuses it) */
    s = run(true, "{\"Statement\":[{\"Principal\":{\"AWS\":\"arn", &e, bad);
    if (s) EXPECT_STR_EQ(s, "{\"Statement\":[{\"Principal\":{\"AWS\":\"arn");
    keystore_close(ks);
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    TEST_MAIN_END();
}
