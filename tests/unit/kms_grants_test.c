/*
 * Grants in memory: constraint matching (keys without case, values by
 * length, a NUL inside a value is data), the index by retiring principal
 * (built once for grants stored before it existed, kept in step by
 * retire/revoke and key deletion), and its cost measured against the number
 * of grants stored.
 */
#include <time.h>

#include "kms/kms_grant.h"
#include "tests/unit/kms_testutil.h"

static struct kmst kt;

/* Expects success and returns the parsed body (caller json_decref()s). */
static json_t *ok(const char *op, const char *body) { return kmst_ok(&kt, op, body); }

static json_t *parse(const char *text)
{
    json_t *j = NULL;
    if (!core_ok(core_json_parse(core_cursor_str(text), 8, &j))) TEST_FAIL("bad JSON in test: %s", text);
    return j;
}

static bool allows(const char *grant, const char *ec)
{
    json_t *g = parse(grant), *e = parse(ec);
    bool r = kms_grant_constraints_ok(g, e);
    json_decref(g);
    json_decref(e);
    return r;
}

static void test_constraint_matching(void)
{
    /* "the key in each key-value pair is not case sensitive, but the value is case sensitive" */
    EXPECT_TRUE(allows("{\"csub\":{\"Tenant\":\"acme\"}}", "{\"tenant\":\"acme\",\"x\":\"1\"}"));
    EXPECT_TRUE(allows("{\"csub\":{\"tenant\":\"acme\"}}", "{\"TENANT\":\"acme\"}"));
    EXPECT_TRUE(!allows("{\"csub\":{\"tenant\":\"acme\"}}", "{\"tenant\":\"ACME\"}"));
    EXPECT_TRUE(!allows("{\"csub\":{\"tenant\":\"acme\"}}", "{}"));
    EXPECT_TRUE(allows("{\"ceq\":{\"App\":\"g\"}}", "{\"app\":\"g\"}"));
    EXPECT_TRUE(!allows("{\"ceq\":{\"app\":\"g\"}}", "{\"app\":\"g\",\"b\":\"1\"}"));
    EXPECT_TRUE(!allows("{\"ceq\":{\"app\":\"g\"}}", "{}"));
    /* Equals both ways: {"a":"1","A":"2"} has two pairs; {"a":"1","b":"1"} is not it. */
    EXPECT_TRUE(!allows("{\"ceq\":{\"a\":\"1\",\"A\":\"2\"}}", "{\"a\":\"1\",\"b\":\"1\"}"));
    /* A NUL inside a value is data, never an end: "g\u0000EVIL" is not "g". */
    EXPECT_TRUE(!allows("{\"ceq\":{\"app\":\"g\"}}", "{\"app\":\"g\\u0000EVIL\"}"));
    EXPECT_TRUE(!allows("{\"csub\":{\"app\":\"g\"}}", "{\"app\":\"g\\u0000\"}"));
    EXPECT_TRUE(!allows("{\"csub\":{\"app\":\"g\\u0000x\"}}", "{\"app\":\"g\"}"));
    EXPECT_TRUE(allows("{\"csub\":{\"app\":\"g\\u0000x\"}}", "{\"app\":\"g\\u0000x\"}"));
    EXPECT_TRUE(allows("{}", "{}"));
    /* operation classes */
    EXPECT_TRUE(kms_grant_op_constrainable(core_cursor_str("DescribeKey")));
    EXPECT_TRUE(kms_grant_op_constrainable(core_cursor_str("CreateGrant")));
    EXPECT_TRUE(!kms_grant_op_constrainable(core_cursor_str("GetPublicKey")));
    EXPECT_TRUE(!kms_grant_op_fits_symmetric(core_cursor_str("Sign")));
    EXPECT_TRUE(kms_grant_op_fits_symmetric(core_cursor_str("GenerateDataKeyPair")));
    /* principals */
    struct core_cursor a;
    EXPECT_TRUE(kms_principal_arn_account(core_cursor_str("arn:aws:iam::111122223333:user/a/b"), &a) &&
                core_cursor_eq_str(a, "111122223333"));
    EXPECT_TRUE(kms_principal_arn_account(core_cursor_str("arn:aws:sts::111122223333:assumed-role/r/s"), NULL));
    EXPECT_TRUE(!kms_principal_arn_account(core_cursor_str("arn:aws:iam::111122223333:group/g"), NULL));
    EXPECT_TRUE(!kms_principal_arn_account(core_cursor_str("arn:aws:iam:us-east-1:111122223333:root"), NULL));
    EXPECT_TRUE(!kms_principal_arn_account(core_cursor_str("arn:aws:iam::11112222333:root"), NULL));
    EXPECT_TRUE(!kms_principal_arn_account(core_cursor_str("arn:aws:iam::111122223333:user/"), NULL));
    EXPECT_TRUE(!kms_principal_id_pattern_ok(core_cursor_str("*")));
    EXPECT_TRUE(!kms_principal_id_pattern_ok(core_cursor_from("a\0b", 3)));
}

static size_t count_retirable(const char *principal)
{
    char body[512];
    snprintf(body, sizeof body, "{\"RetiringPrincipal\":\"%s\",\"Limit\":100}", principal);
    json_t *j = ok("ListRetirableGrants", body);
    size_t n = json_array_size(json_object_get(j, "Grants"));
    json_decref(j);
    return n;
}

/* A grant written the way the server wrote them before the index existed. */
struct raw_grant {
    const char *rid, *json;
};

static core_result raw_put(struct keystore_txn *txn, void *arg)
{
    struct raw_grant *g = arg;
    GUARD(keystore_put(txn, KMS_T_GRANT, core_cursor_str(g->rid), core_cursor_str(g->json), 0));
    core_result r = keystore_del(txn, "kms_meta", core_cursor_str("grant-retiring-index-v1"));
    return r.err == ERR_NOT_FOUND ? core_result_ok() : r;
}

static void test_index_built_for_old_grants(void)
{
    json_t *k = ok("CreateKey", "{}");
    const char *kid = json_string_value(json_object_get(json_object_get(k, "KeyMetadata"), "KeyId"));
    char rid[256], doc[1024];
    snprintf(rid, sizeof rid, "111122223333/us-east-1/%s/%s", kid,
             "00000000000000000000000000000000000000000000000000000000000000aa");
    snprintf(doc, sizeof doc,
             "{\"grant_id\":\"%s\",\"key_arn\":\"arn:aws:kms:us-east-1:111122223333:key/%s\","
             "\"grantee\":\"arn:aws:iam::111122223333:user/g\",\"retiring\":\"arn:aws:iam::111122223333:user/old\","
             "\"issuing\":\"arn:aws:iam::111122223333:root\",\"created\":1,\"ops\":[\"Decrypt\"]}",
             "00000000000000000000000000000000000000000000000000000000000000aa", kid);
    struct raw_grant g = {rid, doc};
    EXPECT_OK(keystore_write(kt.ks, raw_put, &g));
    /* not indexed yet: invisible to the listing */
    EXPECT_TRUE(count_retirable("arn:aws:iam::111122223333:user/old") == 0);
    /* the next start builds the index once */
    kms_env_free(kt.env);
    kt.env = NULL;
    struct kms_env_options eo = {.ks = kt.ks, .default_region = "us-east-1"};
    EXPECT_OK(kms_env_new(&eo, &kt.env));
    EXPECT_TRUE(count_retirable("arn:aws:iam::111122223333:user/old") == 1);
    /* key deletion takes the index rows with the grants */
    char body[256];
    snprintf(body, sizeof body, "{\"KeyId\":\"%s\",\"PendingWindowInDays\":7}", kid);
    json_decref(ok("ScheduleKeyDeletion", body));
    kt.now += 8 * 86400;
    EXPECT_OK(kms_run_due(kt.env, kt.now));
    EXPECT_TRUE(count_retirable("arn:aws:iam::111122223333:user/old") == 0);
    json_decref(k);
}

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The listing's cost follows the grants listed, not the grants stored: measured, printed, bounded loosely. */
static void test_index_cost(void)
{
    json_t *k = ok("CreateKey", "{}");
    const char *kid = json_string_value(json_object_get(json_object_get(k, "KeyMetadata"), "KeyId"));
    char body[512];
    snprintf(body, sizeof body,
             "{\"KeyId\":\"%s\",\"GranteePrincipal\":\"arn:aws:iam::111122223333:user/g\","
             "\"RetiringPrincipal\":\"arn:aws:iam::111122223333:user/one\",\"Operations\":[\"Decrypt\"]}",
             kid);
    json_decref(ok("CreateGrant", body));
    double t0 = seconds();
    for (int i = 0; i < 200; i++) EXPECT_TRUE(count_retirable("arn:aws:iam::111122223333:user/one") == 1);
    double few = (seconds() - t0) / 200;
    for (int i = 0; i < 400; i++) {
        snprintf(body, sizeof body,
                 "{\"KeyId\":\"%s\",\"GranteePrincipal\":\"arn:aws:iam::111122223333:user/g\","
                 "\"RetiringPrincipal\":\"arn:aws:iam::111122223333:user/many\",\"Operations\":[\"Decrypt\"]}",
                 kid);
        json_decref(ok("CreateGrant", body));
    }
    t0 = seconds();
    for (int i = 0; i < 200; i++) EXPECT_TRUE(count_retirable("arn:aws:iam::111122223333:user/one") == 1);
    double many = (seconds() - t0) / 200;
    printf("ListRetirableGrants for one grant: %.1f us with 1 grant stored, %.1f us with 401 stored\n", few * 1e6,
           many * 1e6);
    /* A full scan would read 400 more records (about 400x the work); the index reads one. */
    EXPECT_TRUE(many < few * 5 + 0.002);
    json_decref(k);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    if (!kmst_open(&kt, "kms-grants-test")) return 2;
    test_constraint_matching();
    if (kt.ks && kt.env) {
        test_index_built_for_old_grants();
        test_index_cost();
    }
    kmst_close(&kt);
    TEST_MAIN_END();
}
