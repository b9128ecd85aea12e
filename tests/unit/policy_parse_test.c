/*
 * Direct tests of the policy module's edges that the table-driven vectors do
 * not reach: size and count caps, argument checks, arena growth, context
 * capacity, variable resolution past the stack buffer, fail-closed errors,
 * message rendering, and a byte-flip robustness loop.
 */

#include "policy/policy.h"
#include "tests/test.h"

#define KEY_ARN "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

static const char *KEY_POLICY =
    "{\"Version\":\"2012-10-17\",\"Id\":\"key-default-1\",\"Statement\":["
    "{\"Sid\":\"Enable IAM User Permissions\",\"Effect\":\"Allow\","
    "\"Principal\":{\"AWS\":\"arn:aws:iam::111122223333:root\"},\"Action\":\"kms:*\",\"Resource\":\"*\"},"
    "{\"Sid\":\"Allow use of the key\",\"Effect\":\"Allow\","
    "\"Principal\":{\"AWS\":\"arn:aws:iam::111122223333:role/App\"},"
    "\"Action\":[\"kms:Encrypt\",\"kms:Decrypt\",\"kms:ReEncrypt*\",\"kms:GenerateDataKey*\"],\"Resource\":\"*\","
    "\"Condition\":{\"StringEquals\":{\"kms:EncryptionContext:Department\":\"IT\"}}},"
    "{\"Sid\":\"Deny outside VPC\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"kms:Decrypt\","
    "\"Resource\":\"*\",\"Condition\":{\"StringNotEqualsIfExists\":{\"aws:SourceVpc\":\"vpc-1a2b3c4d\"}}}]}";

static struct policy *parse_ok(enum policy_kind kind, const char *text)
{
    struct policy_parse_opts o = {.kind = kind, .max_bytes = 1u << 19};
    struct policy *p = NULL;
    struct core_buf reason;
    if (!core_ok(core_buf_init(&reason, 128, 1024))) return NULL;
    core_result r = policy_parse(&o, core_cursor_str(text), &p, &reason, NULL);
    if (!core_ok(r)) {
        core_result_ignore(core_buf_terminate(&reason));
        TEST_FAIL("parse -> %s: %s", core_err_name(r.err), reason.data ? (char *)reason.data : "");
    }
    core_buf_free(&reason);
    return p;
}

static void user_ctx(struct policy_ctx *ctx, const char *arn, const char *action)
{
    struct core_principal pr = {.type = CORE_PRINCIPAL_USER};
    snprintf(pr.account, sizeof pr.account, "111122223333");
    snprintf(pr.arn, sizeof pr.arn, "%s", arn);
    snprintf(pr.user_id, sizeof pr.user_id, "AIDAEXAMPLE");
    policy_ctx_init(ctx);
    EXPECT_OK(policy_ctx_set_action(ctx, core_cursor_str(action)));
    policy_ctx_set_resource(ctx, core_cursor_str(KEY_ARN));
    EXPECT_OK(policy_ctx_set_principal(ctx, &pr, core_cursor_str("")));
}

static void test_size_limits(void)
{
    const char *doc = "{ \"Version\" : \"2012-10-17\" ,\n  \"Statement\" : { \"Effect\" : \"Allow\" , "
                      "\"Action\" : \"kms:*\" , \"Resource\" : \"*\" } }";
    size_t len = strlen(doc);
    struct policy *p = NULL;
    struct core_buf reason;
    EXPECT_OK(core_buf_init(&reason, 64, 1024));
    enum policy_problem prob;

    struct policy_parse_opts exact = {.kind = POLICY_KIND_IDENTITY, .max_bytes = len};
    EXPECT_OK(policy_parse(&exact, core_cursor_str(doc), &p, &reason, &prob));
    policy_free(p);

    struct policy_parse_opts over = {.kind = POLICY_KIND_IDENTITY, .max_bytes = len - 1};
    EXPECT_ERR(policy_parse(&over, core_cursor_str(doc), &p, &reason, &prob), ERR_LIMIT);
    EXPECT_TRUE(p == NULL);
    EXPECT_TRUE(prob == POLICY_PROBLEM_SIZE);
    EXPECT_OK(core_buf_terminate(&reason));
    EXPECT_TRUE(strstr((char *)reason.data, "Cannot exceed quota for PolicySize") != NULL);

    /* IAM counts without whitespace: the same cap now fits. */
    over.ignore_whitespace = true;
    EXPECT_OK(policy_parse(&over, core_cursor_str(doc), &p, &reason, &prob));
    policy_free(p);
    p = NULL;

    /* Whitespace inside strings still counts. */
    struct policy_parse_opts tiny = {.kind = POLICY_KIND_IDENTITY, .max_bytes = 20, .ignore_whitespace = true};
    EXPECT_ERR(policy_parse(&tiny, core_cursor_str(doc), &p, &reason, NULL), ERR_LIMIT);

    /* 0 means the KMS key policy cap. */
    struct policy_parse_opts dflt = {.kind = POLICY_KIND_IDENTITY};
    EXPECT_OK(policy_parse(&dflt, core_cursor_str(doc), &p, NULL, NULL));
    policy_free(p);
    core_buf_free(&reason);
}

static void append_statements(struct core_buf *b, size_t n, bool with_conditions)
{
    EXPECT_OK(core_buf_append_str(b, "{\"Version\":\"2012-10-17\",\"Statement\":["));
    for (size_t i = 0; i < n; i++) {
        EXPECT_OK(core_buf_printf(b, "%s{\"Sid\":\"S%zu\",\"Effect\":\"Allow\",\"Action\":\"kms:Op%zu\",\"Resource\":\"*\"",
                                  i ? "," : "", i, i));
        if (with_conditions)
            EXPECT_OK(core_buf_printf(b, ",\"Condition\":{\"StringEquals\":{\"aws:k%zu\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]}}", i));
        EXPECT_OK(core_buf_append_str(b, "}"));
    }
    EXPECT_OK(core_buf_append_str(b, "]}"));
}

static void test_count_limits_and_arena(void)
{
    struct policy_parse_opts o = {.kind = POLICY_KIND_IDENTITY, .max_bytes = 1u << 19};
    struct core_buf b;
    EXPECT_OK(core_buf_init(&b, 1u << 16, 1u << 20));
    struct policy *p = NULL;

    append_statements(&b, POLICY_MAX_STATEMENTS, false);
    EXPECT_OK(policy_parse(&o, core_buf_cursor(&b), &p, NULL, NULL));
    EXPECT_TRUE(policy_statement_count(p) == POLICY_MAX_STATEMENTS);
    EXPECT_TRUE(core_cursor_eq_str(policy_statement_sid(p, 511), "S511"));
    EXPECT_TRUE(policy_statement_sid(p, 512).len == 0);
    EXPECT_TRUE(policy_version_2012(p));
    EXPECT_TRUE(policy_compiled_bytes(p) > 4096); /* spans several chunks */
    /* Spot-check the last statement still matches after arena growth. */
    struct policy_ctx ctx;
    user_ctx(&ctx, "arn:aws:iam::111122223333:user/alice", "kms:op511");
    struct policy_result res;
    EXPECT_OK(policy_evaluate(p, &ctx, &res));
    EXPECT_TRUE(res.decision == POLICY_ALLOW && res.statement == 511);
    policy_free(p);
    p = NULL;

    core_buf_reset(&b);
    append_statements(&b, POLICY_MAX_STATEMENTS + 1, false);
    EXPECT_ERR(policy_parse(&o, core_buf_cursor(&b), &p, NULL, NULL), ERR_LIMIT);

    /* 9 values x 456 statements > POLICY_MAX_CONDITION_VALUES. */
    core_buf_reset(&b);
    append_statements(&b, POLICY_MAX_CONDITION_VALUES / 9 + 1, true);
    enum policy_problem prob = POLICY_PROBLEM_NONE;
    EXPECT_ERR(policy_parse(&o, core_buf_cursor(&b), &p, NULL, &prob), ERR_LIMIT);
    EXPECT_TRUE(prob == POLICY_PROBLEM_SIZE);
    core_buf_free(&b);
}

static void test_arguments(void)
{
    struct policy_parse_opts o = {.kind = POLICY_KIND_IDENTITY};
    struct policy *p = (struct policy *)&o; /* must be reset to NULL */
    EXPECT_ERR(policy_parse(NULL, core_cursor_str("{}"), &p, NULL, NULL), ERR_INVALID_ARG);
    EXPECT_TRUE(p == NULL);
    EXPECT_ERR(policy_parse(&o, core_cursor_str("{}"), NULL, NULL, NULL), ERR_INVALID_ARG);
    policy_free(NULL);
    struct policy *q = NULL;
    policy_cleanup(&q);

    /* Problem classes. */
    enum policy_problem prob;
    EXPECT_ERR(policy_parse(&o, core_cursor_str("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\","
                                                "\"Action\":\"*\",\"Resource\":\"*\"}}"),
                            &p, NULL, &prob),
               ERR_PARSE);
    EXPECT_TRUE(prob == POLICY_PROBLEM_PRINCIPAL);
    EXPECT_ERR(policy_parse(&o, core_cursor_str("nope"), &p, NULL, &prob), ERR_PARSE);
    EXPECT_TRUE(prob == POLICY_PROBLEM_SYNTAX);
    EXPECT_ERR(policy_parse(&o, core_cursor_str("{\"Version\":\"1\",\"Statement\":[]}"), &p, NULL, &prob), ERR_PARSE);
    EXPECT_TRUE(prob == POLICY_PROBLEM_VERSION);
}

static void test_context(void)
{
    struct policy_ctx ctx;
    policy_ctx_init(&ctx);
    EXPECT_ERR(policy_ctx_set_action(&ctx, core_cursor_str("")), ERR_INVALID_ARG);
    EXPECT_OK(policy_ctx_add_str(&ctx, "kms:CallerAccount", "111122223333"));
    EXPECT_ERR(policy_ctx_add_str(&ctx, "KMS:calleraccount", "x"), ERR_EXISTS);
    EXPECT_ERR(policy_ctx_add_str(&ctx, "", "x"), ERR_INVALID_ARG);
    const struct core_cursor *v;
    EXPECT_TRUE(policy_ctx_get(&ctx, core_cursor_str("Kms:CallerAccount"), &v) == 1);
    EXPECT_TRUE(core_cursor_eq_str(v[0], "111122223333"));
    EXPECT_TRUE(policy_ctx_get(&ctx, core_cursor_str("kms:ViaService"), &v) == -1);
    EXPECT_OK(policy_ctx_add_multi(&ctx, core_cursor_str("aws:TagKeys"), NULL, 0));
    EXPECT_TRUE(policy_ctx_get(&ctx, core_cursor_str("aws:tagkeys"), &v) == 0);
    EXPECT_OK(policy_ctx_add_prefixed(&ctx, "kms:EncryptionContext:", core_cursor_str("Department"),
                                      core_cursor_str("IT")));
    EXPECT_TRUE(policy_ctx_get(&ctx, core_cursor_str("kms:encryptioncontext:department"), &v) == 1);
    EXPECT_OK(policy_ctx_add_int(&ctx, core_cursor_str("kms:GrantCount"), -42));
    EXPECT_TRUE(policy_ctx_get(&ctx, core_cursor_str("kms:GrantCount"), &v) == 1 && core_cursor_eq_str(v[0], "-42"));
    EXPECT_OK(policy_ctx_set_time(&ctx, 1700000000));
    EXPECT_TRUE(policy_ctx_get(&ctx, core_cursor_str("aws:CurrentTime"), &v) == 1 &&
                core_cursor_eq_str(v[0], "2023-11-14T22:13:20Z"));

    /* Capacity: keys run out with ERR_LIMIT, never overflow. */
    char names[POLICY_CTX_MAX_KEYS + 8][24];
    core_result last = core_result_ok();
    for (size_t i = 0; i < POLICY_CTX_MAX_KEYS + 8 && core_ok(last); i++) {
        snprintf(names[i], sizeof names[i], "aws:k%zu", i);
        last = policy_ctx_add_str(&ctx, names[i], "v");
    }
    EXPECT_TRUE(last.err == ERR_LIMIT);

    /* Principal: derived keys, twice is an error, bad ARN is a parse error. */
    struct core_principal pr = {.type = CORE_PRINCIPAL_ASSUMED_ROLE, .temporary = true, .token_issued = 1700000000};
    snprintf(pr.account, sizeof pr.account, "111122223333");
    snprintf(pr.arn, sizeof pr.arn, "arn:aws:sts::111122223333:assumed-role/App/i-0abc");
    snprintf(pr.user_id, sizeof pr.user_id, "AROAEXAMPLE:i-0abc");
    policy_ctx_init(&ctx);
    EXPECT_OK(policy_ctx_set_principal(&ctx, &pr, core_cursor_str("")));
    EXPECT_TRUE(policy_ctx_get(&ctx, core_cursor_str("aws:PrincipalArn"), &v) == 1 &&
                core_cursor_eq_str(v[0], "arn:aws:iam::111122223333:role/App"));
    EXPECT_TRUE(policy_ctx_get(&ctx, core_cursor_str("aws:PrincipalType"), &v) == 1 &&
                core_cursor_eq_str(v[0], "AssumedRole"));
    EXPECT_TRUE(policy_ctx_get(&ctx, core_cursor_str("aws:username"), &v) == -1);
    EXPECT_TRUE(policy_ctx_get(&ctx, core_cursor_str("aws:MultiFactorAuthPresent"), &v) == 1 &&
                core_cursor_eq_str(v[0], "false"));
    EXPECT_TRUE(policy_ctx_get(&ctx, core_cursor_str("aws:TokenIssueTime"), &v) == 1);
    EXPECT_ERR(policy_ctx_set_principal(&ctx, &pr, core_cursor_str("")), ERR_INVALID_ARG);

    snprintf(pr.arn, sizeof pr.arn, "arn:aws:sts::111122223333:assumed-role/NoSession");
    policy_ctx_init(&ctx);
    EXPECT_ERR(policy_ctx_set_principal(&ctx, &pr, core_cursor_str("")), ERR_PARSE);
    pr.type = CORE_PRINCIPAL_USER;
    snprintf(pr.account, sizeof pr.account, "1111");
    policy_ctx_init(&ctx);
    EXPECT_ERR(policy_ctx_set_principal(&ctx, &pr, core_cursor_str("")), ERR_PARSE);

    /* Long-term user: username is the last path component; no MFA key. */
    struct core_principal u = {.type = CORE_PRINCIPAL_USER};
    snprintf(u.account, sizeof u.account, "111122223333");
    snprintf(u.arn, sizeof u.arn, "arn:aws:iam::111122223333:user/division/alice");
    policy_ctx_init(&ctx);
    EXPECT_OK(policy_ctx_set_principal(&ctx, &u, core_cursor_str("")));
    EXPECT_TRUE(policy_ctx_get(&ctx, core_cursor_str("aws:username"), &v) == 1 && core_cursor_eq_str(v[0], "alice"));
    EXPECT_TRUE(policy_ctx_get(&ctx, core_cursor_str("aws:MultiFactorAuthPresent"), &v) == -1);
}

static void test_fail_closed(void)
{
    struct policy *p = parse_ok(POLICY_KIND_RESOURCE, KEY_POLICY);
    if (p == NULL) return;
    struct policy_ctx ctx;
    policy_ctx_init(&ctx); /* no action */
    struct policy_result res = {POLICY_ALLOW, 0, POLICY_GRANT_DIRECT};
    EXPECT_ERR(policy_evaluate(p, &ctx, &res), ERR_INVALID_ARG);
    EXPECT_TRUE(res.decision == POLICY_EXPLICIT_DENY);
    struct policy_verdict v = {.allowed = true};
    struct policy_set set = {.mode = POLICY_MODE_KMS, .resource = p, .same_account = true};
    EXPECT_ERR(policy_authorize(&set, &ctx, &v), ERR_INVALID_ARG);
    EXPECT_TRUE(!v.allowed);
    policy_free(p);
}

static void test_key_policy_and_messages(void)
{
    struct policy *p = parse_ok(POLICY_KIND_RESOURCE, KEY_POLICY);
    if (p == NULL) return;
    EXPECT_TRUE(core_cursor_eq_str(policy_statement_sid(p, 0), "Enable IAM User Permissions"));

    struct core_principal pr = {.type = CORE_PRINCIPAL_ASSUMED_ROLE, .temporary = true};
    snprintf(pr.account, sizeof pr.account, "111122223333");
    snprintf(pr.arn, sizeof pr.arn, "arn:aws:sts::111122223333:assumed-role/App/i-0abc");
    struct policy_ctx ctx;
    policy_ctx_init(&ctx);
    EXPECT_OK(policy_ctx_set_action(&ctx, core_cursor_str("kms:Decrypt")));
    policy_ctx_set_resource(&ctx, core_cursor_str(KEY_ARN));
    EXPECT_OK(policy_ctx_set_principal(&ctx, &pr, core_cursor_str("")));
    EXPECT_OK(policy_ctx_add_prefixed(&ctx, "kms:EncryptionContext:", core_cursor_str("Department"),
                                      core_cursor_str("IT")));
    EXPECT_OK(policy_ctx_add_str(&ctx, "aws:SourceVpc", "vpc-1a2b3c4d"));

    EXPECT_TRUE(policy_statement_principal_match(p, 0, &ctx) == POLICY_GRANT_ACCOUNT);
    EXPECT_TRUE(policy_statement_principal_match(p, 1, &ctx) == POLICY_GRANT_ROLE);
    EXPECT_TRUE(policy_statement_principal_match(p, 2, &ctx) == POLICY_GRANT_DIRECT);
    EXPECT_TRUE(policy_statement_principal_match(p, 9, &ctx) == POLICY_GRANT_NONE);

    struct policy_result res;
    EXPECT_OK(policy_evaluate(p, &ctx, &res));
    EXPECT_TRUE(res.decision == POLICY_ALLOW && res.statement == 1 && res.grant == POLICY_GRANT_ROLE);

    struct policy_set set = {.mode = POLICY_MODE_KMS, .resource = p, .same_account = true};
    struct policy_verdict v;
    EXPECT_OK(policy_authorize(&set, &ctx, &v));
    EXPECT_TRUE(v.allowed && v.source == POLICY_SOURCE_RESOURCE && v.statement == 1);

    /* Outside the VPC: the Deny statement applies. */
    struct policy_ctx ctx2;
    policy_ctx_init(&ctx2);
    EXPECT_OK(policy_ctx_set_action(&ctx2, core_cursor_str("kms:Decrypt")));
    policy_ctx_set_resource(&ctx2, core_cursor_str(KEY_ARN));
    EXPECT_OK(policy_ctx_set_principal(&ctx2, &pr, core_cursor_str("")));
    EXPECT_OK(policy_ctx_add_str(&ctx2, "aws:SourceVpc", "vpc-other"));
    EXPECT_OK(policy_authorize(&set, &ctx2, &v));
    EXPECT_TRUE(!v.allowed && v.reason == POLICY_REASON_DENY_RESOURCE && v.statement == 2);
    struct core_buf m;
    EXPECT_OK(core_buf_init(&m, 256, 2048));
    EXPECT_OK(policy_denied_message(&m, &ctx2, &v));
    EXPECT_OK(core_buf_terminate(&m));
    EXPECT_STR_EQ((char *)m.data, "User: arn:aws:sts::111122223333:assumed-role/App/i-0abc is not authorized to "
                                  "perform: kms:Decrypt on resource: " KEY_ARN
                                  " with an explicit deny in a resource-based policy");
    core_buf_reset(&m);
    EXPECT_OK(policy_reason_append(&m, POLICY_REASON_NO_BOUNDARY, core_cursor_str("kms:Sign")));
    EXPECT_OK(core_buf_terminate(&m));
    EXPECT_STR_EQ((char *)m.data, "because no permissions boundary allows the kms:Sign action");
    core_buf_free(&m);
    policy_free(p);
}

static void test_long_variable_values(void)
{
    /* A substituted value longer than the stack buffer takes the heap path. */
    struct policy *p = parse_ok(POLICY_KIND_IDENTITY,
                                "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\","
                                "\"Resource\":\"arn:aws:s3:::b/${aws:PrincipalTag/p}/*\"}}");
    if (p == NULL) return;
    static char tag[3000], res[3100];
    memset(tag, 'x', sizeof tag - 1);
    tag[sizeof tag - 1] = '\0';
    snprintf(res, sizeof res, "arn:aws:s3:::b/%s/obj", tag);
    struct policy_ctx ctx;
    user_ctx(&ctx, "arn:aws:iam::111122223333:user/alice", "s3:GetObject");
    policy_ctx_set_resource(&ctx, core_cursor_str(res));
    EXPECT_OK(policy_ctx_add_principal_tag(&ctx, core_cursor_str("p"), core_cursor_str(tag)));
    struct policy_result r;
    EXPECT_OK(policy_evaluate(p, &ctx, &r));
    EXPECT_TRUE(r.decision == POLICY_ALLOW);
    res[20] = 'y';
    EXPECT_OK(policy_evaluate(p, &ctx, &r));
    EXPECT_TRUE(r.decision == POLICY_NO_MATCH);
    policy_free(p);
}

static void test_byte_flips(void)
{
    /* Every single-byte corruption must either parse or fail cleanly. */
    size_t n = strlen(KEY_POLICY);
    static char buf[4096];
    struct policy_parse_opts o = {.kind = POLICY_KIND_RESOURCE};
    const char repl[] = {'"', '{', '}', '[', ']', ':', ',', '*', '$', 'x', '\\', '\0'};
    size_t parsed = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < sizeof repl; k++) {
            memcpy(buf, KEY_POLICY, n);
            buf[i] = repl[k];
            struct policy *p = NULL;
            core_result r = policy_parse(&o, core_cursor_from(buf, n), &p, NULL, NULL);
            if (core_ok(r)) {
                parsed++;
                struct policy_ctx ctx;
                user_ctx(&ctx, "arn:aws:iam::111122223333:user/alice", "kms:Decrypt");
                struct policy_result res;
                core_result_ignore(policy_evaluate(p, &ctx, &res));
                policy_free(p);
            } else {
                EXPECT_TRUE(r.err == ERR_PARSE || r.err == ERR_LIMIT);
                EXPECT_TRUE(p == NULL);
            }
        }
    }
    EXPECT_TRUE(parsed > 0);
}

static void test_throughput(void)
{
    /* Not a benchmark gate, a guard against accidental quadratic work: a
     * three-statement key policy with conditions must evaluate in well under
     * 20 microseconds even under sanitizers. */
    struct policy *p = parse_ok(POLICY_KIND_RESOURCE, KEY_POLICY);
    if (p == NULL) return;
    struct core_principal pr = {.type = CORE_PRINCIPAL_ASSUMED_ROLE, .temporary = true};
    snprintf(pr.account, sizeof pr.account, "111122223333");
    snprintf(pr.arn, sizeof pr.arn, "arn:aws:sts::111122223333:assumed-role/App/i-0abc");
    const int iters = 20000;
    uint64_t t0 = core_clock_mono_ns();
    int allowed = 0;
    for (int i = 0; i < iters; i++) {
        struct policy_ctx ctx;
        policy_ctx_init(&ctx);
        core_result_ignore(policy_ctx_set_action(&ctx, core_cursor_str("kms:Decrypt")));
        policy_ctx_set_resource(&ctx, core_cursor_str(KEY_ARN));
        core_result_ignore(policy_ctx_set_principal(&ctx, &pr, core_cursor_str("")));
        core_result_ignore(policy_ctx_add_prefixed(&ctx, "kms:EncryptionContext:", core_cursor_str("Department"),
                                                   core_cursor_str("IT")));
        core_result_ignore(policy_ctx_add_str(&ctx, "aws:SourceVpc", "vpc-1a2b3c4d"));
        struct policy_set set = {.mode = POLICY_MODE_KMS, .resource = p, .same_account = true};
        struct policy_verdict v;
        if (core_ok(policy_authorize(&set, &ctx, &v)) && v.allowed) allowed++;
    }
    /* Informational only: speed is measured with kmsbench, never asserted in a unit test. */
    uint64_t ns = (core_clock_mono_ns() - t0) / (uint64_t)iters;
    fprintf(stderr, "policy: context build + authorize: %llu ns/request\n", (unsigned long long)ns);
    EXPECT_TRUE(allowed == iters);
    policy_free(p);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    test_size_limits();
    test_count_limits_and_arena();
    test_arguments();
    test_context();
    test_fail_closed();
    test_key_policy_and_messages();
    test_long_variable_values();
    test_byte_flips();
    test_throughput();
    TEST_MAIN_END();
}
