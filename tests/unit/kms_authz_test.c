/*
 * KMS authorization decisions, table-driven from the vectors/authz JSON files: a key
 * (default or given key policy), the caller's IAM policy, grants, one request
 * -> allow or the AWS error (and a message fragment). In memory: a temporary
 * keystore, iam_env + kms_env, kms_handle().
 */
#include <dirent.h>

#include "iam/iam.h"
#include "kms/kms_internal.h"
#include "tests/unit/kms_testutil.h"

#define ACCT "111122223333"

static struct kmst kt;
static struct iam_env *iam;
static struct core_principal root_p, user_p;
static int cases_run;

static struct core_reply call(const struct core_principal *who, const char *op, const char *body)
{
    return kmst_call_as(&kt, who, op, body);
}

/* JSON text of j in plain heap memory (jansson's own allocator wipes; keep frees paired). */
static char *dump(const json_t *j)
{
    struct core_buf b;
    if (!core_ok(core_buf_init(&b, 256, 1 << 20)) || !core_ok(core_json_dump(j, &b))) abort();
    char *s = calloc(1, b.len + 1);
    memcpy(s, b.data, b.len);
    core_buf_free(&b);
    return s;
}

/* Replaces $KEYARN and $KEY in text. Caller frees. */
static char *expand(const char *text, const char *kid, const char *arn)
{
    size_t cap = strlen(text) * 4 + 256, n = 0;
    char *out = calloc(1, cap);
    for (const char *p = text; *p && n + 200 < cap;) {
        if (strncmp(p, "$KEYARN", 7) == 0) {
            n += (size_t)snprintf(out + n, cap - n, "%s", arn);
            p += 7;
        } else if (strncmp(p, "$KEY", 4) == 0) {
            n += (size_t)snprintf(out + n, cap - n, "%s", kid);
            p += 4;
        } else {
            out[n++] = *p++;
        }
    }
    return out;
}

/* One IAM Query call as root through the public API (name=value pairs, NULL-terminated). */
static unsigned iam_call(const char *const *kv)
{
    static struct core_form f;
    struct core_buf body;
    EXPECT_OK(core_buf_init(&body, 512, 1 << 20));
    for (size_t i = 0; kv[i]; i += 2) {
        if (i) EXPECT_OK(core_buf_append_u8(&body, '&'));
        EXPECT_OK(core_buf_append_str(&body, kv[i]));
        EXPECT_OK(core_buf_append_u8(&body, '='));
        for (const unsigned char *v = (const unsigned char *)kv[i + 1]; *v; v++) {
            if ((*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z') || (*v >= '0' && *v <= '9') || *v == '-' ||
                *v == '_' || *v == '.' || *v == '~')
                EXPECT_OK(core_buf_append_u8(&body, *v));
            else
                EXPECT_OK(core_buf_printf(&body, "%%%02X", *v));
        }
    }
    EXPECT_OK(core_form_parse(&f, core_buf_cursor(&body)));
    struct core_reply reply;
    EXPECT_OK(core_reply_init(&reply));
    struct iam_call c = {.caller = &root_p, .form = &f, .request_id = "t", .now = 1800000000};
    core_result_ignore(iam_handle(iam, &c, &reply));
    unsigned st = reply.status;
    if (st != 200)
        fprintf(stderr, "iam %s: %u %s %.*s\n", kv[1], st, reply.error_code, (int)reply.message.len,
                (const char *)reply.message.data);
    core_reply_free(&reply);
    core_form_free(&f);
    core_buf_free(&body);
    return st;
}

/* Sets user u's only inline policy "p" (NULL: none). */
static void set_user_policy(const char *policy)
{
    if (policy) {
        const char *kv[] = {"Action", "PutUserPolicy", "Version", IAM_API_VERSION, "UserName", "u",
                            "PolicyName", "p", "PolicyDocument", policy, NULL};
        EXPECT_TRUE(iam_call(kv) == 200);
    } else {
        const char *kv[] = {"Action", "DeleteUserPolicy", "Version", IAM_API_VERSION, "UserName", "u",
                            "PolicyName", "p", NULL};
        unsigned st = iam_call(kv);
        EXPECT_TRUE(st == 200 || st == 404); /* NoSuchEntity when it had none */
    }
    iam_identity_invalidate(iam);
}

static void create_user(const char *name)
{
    const char *kv[] = {"Action", "CreateUser", "Version", IAM_API_VERSION, "UserName", name, NULL};
    EXPECT_TRUE(iam_call(kv) == 200);
}

static void run_case(const json_t *c)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    /* the key, as root */
    json_t *ck = json_object();
    const json_t *kp = json_object_get(c, "key_policy");
    if (json_is_object(kp)) {
        char *t = dump(kp);
        json_object_set_new(ck, "Policy", json_string(t));
        json_object_set_new(ck, "BypassPolicyLockoutSafetyCheck", json_true());
        free(t);
    }
    char *ckt = dump(ck);
    json_decref(ck);
    struct core_reply r = call(&root_p, "CreateKey", ckt);
    free(ckt);
    if (core_reply_failed(&r)) {
        TEST_FAIL("%s: CreateKey: %s %s", name, r.error_code, (char *)r.message.data);
        core_reply_free(&r);
        return;
    }
    json_t *md = NULL;
    core_result_ignore(core_json_parse(core_buf_cursor(&r.body), 16, &md));
    core_reply_free(&r);
    char kid[64], arn[256];
    snprintf(kid, sizeof kid, "%s", json_string_value(json_object_get(json_object_get(md, "KeyMetadata"), "KeyId")));
    snprintf(arn, sizeof arn, "%s", json_string_value(json_object_get(json_object_get(md, "KeyMetadata"), "Arn")));
    json_decref(md);

    /* the caller's identity policy */
    const json_t *up = json_object_get(c, "user_policy");
    char *upt = json_is_object(up) ? dump(up) : NULL;
    char *upx = upt ? expand(upt, kid, arn) : NULL;
    set_user_policy(upx);
    free(upt);
    free(upx);

    /* grants, by root, for the caller */
    size_t i;
    const json_t *g;
    json_array_foreach(json_object_get(c, "grants"), i, g) {
        json_t *req = json_deep_copy(g);
        json_object_set_new(req, "KeyId", json_string(kid));
        json_object_set_new(req, "GranteePrincipal", json_string(user_p.arn));
        char *t = dump(req);
        json_decref(req);
        struct core_reply gr = call(&root_p, "CreateGrant", t);
        free(t);
        if (core_reply_failed(&gr)) TEST_FAIL("%s: CreateGrant: %s", name, gr.error_code);
        core_reply_free(&gr);
    }

    /* the request */
    char *rt = dump(json_object_get(c, "request"));
    char *rx = expand(rt, kid, arn);
    struct core_reply res = call(&user_p, json_string_value(json_object_get(c, "op")), rx);
    free(rt);
    free(rx);
    const char *expect = json_string_value(json_object_get(c, "expect"));
    const char *msg = json_string_value(json_object_get(c, "message"));
    if (strcmp(expect, "allow") == 0) {
        if (core_reply_failed(&res)) TEST_FAIL("%s: expected allow, got %s: %s", name, res.error_code,
                                               (char *)res.message.data);
    } else if (strcmp(res.error_code, expect) != 0) {
        TEST_FAIL("%s: expected %s, got '%s' %s", name, expect, res.error_code,
                  res.message.data ? (char *)res.message.data : "");
    } else if (msg && !strstr((char *)res.message.data, msg)) {
        TEST_FAIL("%s: message '%s' lacks '%s'", name, (char *)res.message.data, msg);
    }
    core_reply_free(&res);
    cases_run++;
}

static void run_file(const char *path)
{
    json_error_t e;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
    if (!doc) {
        TEST_FAIL("%s: %s", path, e.text);
        return;
    }
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(doc, "cases"), i, c) run_case(c);
    json_decref(doc);
}

/* The cache follows writes: a policy put after a decision changes the next one. */
static void test_cache_invalidation(void)
{
    set_user_policy(NULL);
    struct core_reply r = call(&user_p, "GenerateRandom", "{\"NumberOfBytes\":4}");
    EXPECT_TRUE(strcmp(r.error_code, "AccessDeniedException") == 0);
    core_reply_free(&r);
    set_user_policy("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                    "\"Action\":\"kms:GenerateRandom\",\"Resource\":\"*\"}]}");
    r = call(&user_p, "GenerateRandom", "{\"NumberOfBytes\":4}");
    EXPECT_TRUE(!core_reply_failed(&r));
    core_reply_free(&r);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    if (!kmst_keystore_open(&kt, "kms-authz")) return 2;
    kt.source_ip = "127.0.0.1";
    struct iam_env_options io = {.ks = kt.ks, .account = ACCT};
    EXPECT_OK(iam_env_new(&io, &iam));
    kmst_env_open(&kt, iam);
    iam_principal_root(&root_p, ACCT);
    snprintf(root_p.region, sizeof root_p.region, "us-east-1");
    if (kt.ks && kt.env && iam) {
        /* The users exist before any key policy names them: a policy naming no user is refused. */
        create_user("u");
        create_user("other"); /* the user the lockout vector's key policy names instead of the caller */
        struct keystore_txn *txn = NULL;
        EXPECT_OK(keystore_txn_begin(kt.ks, false, &txn));
        EXPECT_OK(iam_user_principal(txn, ACCT, core_cursor_str("u"), &user_p));
        keystore_txn_abort(txn);
        snprintf(user_p.region, sizeof user_p.region, "us-east-1");
        char vdir[PATH_MAX];
        snprintf(vdir, sizeof vdir, "%s/authz", test_vectors_dir);
        DIR *d = opendir(vdir);
        EXPECT_TRUE(d != NULL);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            size_t n = strlen(de->d_name);
            if (n < 5 || strcmp(de->d_name + n - 5, ".json") != 0) continue;
            char path[PATH_MAX + 300];
            snprintf(path, sizeof path, "%s/%s", vdir, de->d_name);
            run_file(path);
        }
        if (d) closedir(d);
        EXPECT_TRUE(cases_run >= 20);
        test_cache_invalidation();
    }
    fprintf(stderr, "kms authz vectors: %d cases\n", cases_run);
    kms_env_free(kt.env);
    kt.env = NULL;
    iam_env_free(iam);
    kmst_close(&kt);
    TEST_MAIN_END();
}
