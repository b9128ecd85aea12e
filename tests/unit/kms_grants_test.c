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

/*
 * Rewrites, behind kmsd's back, every stored grant whose retiring principal
 * is `from` so that it names `to`, leaving the retiring index as it was:
 * what a listing that scans the grants would count differs from what one
 * that reads the index counts. Returns the grants rewritten.
 */
static int retarget_grants(const char *from, const char *to)
{
    struct keystore_txn *txn = NULL;
    EXPECT_OK(keystore_txn_begin(kt.ks, true, &txn));
    if (!txn) return 0;
    struct keystore_iter *it = NULL;
    EXPECT_OK(keystore_iter_begin(txn, KMS_T_GRANT, core_cursor_str(""), &it));
    char ids[512][160];
    int n = 0;
    struct core_buf v = {0};
    EXPECT_OK(core_buf_init(&v, 1024, 1 << 20));
    struct core_cursor id;
    while (it && n < 512 && core_ok(keystore_iter_next(it, &id, &v))) {
        json_t *g = json_loadb((const char *)v.data, v.len, 0, NULL);
        const char *ret = json_string_value(json_object_get(g, "retiring"));
        if (ret && strcmp(ret, from) == 0 && id.len < sizeof ids[0]) {
            memcpy(ids[n], id.ptr, id.len);
            ids[n++][id.len] = 0;
        }
        json_decref(g);
    }
    if (it) keystore_iter_end(it);
    for (int i = 0; i < n; i++) {
        EXPECT_OK(keystore_get(txn, KMS_T_GRANT, core_cursor_str(ids[i]), &v));
        json_t *g = json_loadb((const char *)v.data, v.len, 0, NULL);
        json_object_set_new(g, "retiring", json_string(to));
        core_buf_reset(&v);
        EXPECT_OK(core_json_dump(g, &v));
        EXPECT_OK(keystore_put(txn, KMS_T_GRANT, core_cursor_str(ids[i]), core_buf_cursor(&v), 0));
        json_decref(g);
    }
    core_buf_free(&v);
    EXPECT_OK(keystore_txn_commit(txn));
    return n;
}

/*
 * The listing reads the retiring index, not every grant stored (issue
 * 10.3): 400 grants retired by another principal are rewritten to name
 * "one" without their index rows; a scan of the grants would now list 401,
 * the index lists the one grant indexed under "one".
 */
static void test_listing_reads_the_index(void)
{
    json_t *k = ok("CreateKey", "{}");
    const char *kid = json_string_value(json_object_get(json_object_get(k, "KeyMetadata"), "KeyId"));
    char body[512];
    snprintf(body, sizeof body,
             "{\"KeyId\":\"%s\",\"GranteePrincipal\":\"arn:aws:iam::111122223333:user/g\","
             "\"RetiringPrincipal\":\"arn:aws:iam::111122223333:user/one\",\"Operations\":[\"Decrypt\"]}",
             kid);
    json_decref(ok("CreateGrant", body));
    for (int i = 0; i < 400; i++) {
        snprintf(body, sizeof body,
                 "{\"KeyId\":\"%s\",\"GranteePrincipal\":\"arn:aws:iam::111122223333:user/g\","
                 "\"RetiringPrincipal\":\"arn:aws:iam::111122223333:user/many\",\"Operations\":[\"Decrypt\"]}",
                 kid);
        json_decref(ok("CreateGrant", body));
    }
    EXPECT_TRUE(count_retirable("arn:aws:iam::111122223333:user/one") == 1);
    EXPECT_TRUE(count_retirable("arn:aws:iam::111122223333:user/many") == 100); /* a full page of Limit 100 */
    EXPECT_TRUE(retarget_grants("arn:aws:iam::111122223333:user/many", "arn:aws:iam::111122223333:user/one") == 400);
    /* The rewritten grants are whole: ListGrants, which reads the key's grants, sees 401 retired by "one". */
    size_t by_one = 0;
    char marker[600] = "", lb[1400];
    for (int page = 0; page < 10; page++) {
        snprintf(lb, sizeof lb, "{\"KeyId\":\"%s\",\"Limit\":100%s%s%s}", kid, marker[0] ? ",\"Marker\":\"" : "",
                 marker, marker[0] ? "\"" : "");
        json_t *l = ok("ListGrants", lb);
        size_t i;
        json_t *g;
        json_array_foreach(json_object_get(l, "Grants"), i, g) {
            const char *ret = json_string_value(json_object_get(g, "RetiringPrincipal"));
            by_one += ret && strcmp(ret, "arn:aws:iam::111122223333:user/one") == 0;
        }
        const char *next = json_string_value(json_object_get(l, "NextMarker"));
        snprintf(marker, sizeof marker, "%s", next ? next : "");
        json_decref(l);
        if (!next) break;
    }
    EXPECT_TRUE(by_one == 401);
    EXPECT_TRUE(count_retirable("arn:aws:iam::111122223333:user/one") == 1);
    json_decref(k);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    if (!kmst_open(&kt, "kms-grants-test")) return 2;
    test_constraint_matching();
    if (kt.ks && kt.env) {
        test_index_built_for_old_grants();
        test_listing_reads_the_index();
    }
    kmst_close(&kt);
    TEST_MAIN_END();
}
