/*
 * A key's ARN is built once, by kms_key_set_arn(); its record id is built
 * from the key's fields whenever it is needed (the key record, the
 * compiled-policy cache and the material records), so it cannot go stale. Against snprintf
 * references of the formats they replaced, in every partition and at the
 * longest field lengths; stored records whose ids another writer made
 * (kms_seed.c keeps its own snprintf) still read back; and two keys whose
 * policies sit at the same generation never share a compiled policy.
 * Loading a key resets what the struct held before, however little the
 * load writes (a single-Region key clears only the multi-Region header),
 * and kms_key_init() clears every byte but the replica Regions.
 */
#include <stddef.h>

#include "kms/kms_asym.h"
#include "kms/kms_internal.h"
#include "tests/unit/kms_testutil.h"

static const char *const regions[] = {
    "us-east-1", "cn-north-1", "us-gov-west-1", "us-iso-east-1", "us-isob-east-1", "eu-isoe-west-1",
    "us-isof-south-1", "eusc-de-east-1", "x", "abcdefghijklmnopqrstuvwxyz-1234" /* 31: the longest */};
static const char *const key_ids[] = {"1234abcd-12ab-34cd-56ef-1234567890ab", "mrk-1234abcd12ab34cd56ef1234567890ab"};
static const char *const accounts[] = {"111122223333", "000000000000"};

static void test_ids_match_reference(void)
{
    for (size_t r = 0; r < sizeof regions / sizeof regions[0]; r++)
        for (size_t i = 0; i < sizeof key_ids / sizeof key_ids[0]; i++)
            for (size_t a = 0; a < sizeof accounts / sizeof accounts[0]; a++) {
                struct kms_key k = {0};
                EXPECT_OK(kms_key_init(&k));
                snprintf(k.account, sizeof k.account, "%s", accounts[a]);
                snprintf(k.region, sizeof k.region, "%s", regions[r]);
                snprintf(k.key_id, sizeof k.key_id, "%s", key_ids[i]);
                memset(k.arn, 'z', sizeof k.arn);
                kms_key_set_arn(&k);
                char want_rid[KMS_MAX_RID], want_arn[KMS_MAX_ARN];
                snprintf(want_rid, sizeof want_rid, "%s/%s/%s", accounts[a], regions[r], key_ids[i]);
                snprintf(want_arn, sizeof want_arn, "arn:%s:kms:%s:%s:key/%s", core_partition_of(regions[r]),
                         regions[r], accounts[a], key_ids[i]);
                char rid[KMS_MAX_RID];
                memset(rid, 'z', sizeof rid);
                EXPECT_TRUE(kms_key_rid(&k, rid) == strlen(want_rid));
                EXPECT_STR_EQ(rid, want_rid);
                EXPECT_STR_EQ(k.arn, want_arn);
                memset(rid, 'z', sizeof rid);
                EXPECT_TRUE(kms_key_record_id(accounts[a], regions[r], key_ids[i], rid) == strlen(want_rid));
                EXPECT_STR_EQ(rid, want_rid);
                /* kms_arn() (aliases, messages) agrees with the key's own ARN. */
                char res[64], arn[KMS_MAX_ARN];
                snprintf(res, sizeof res, "key/%s", key_ids[i]);
                kms_arn(arn, sizeof arn, regions[r], accounts[a], res);
                EXPECT_STR_EQ(arn, want_arn);
                kms_key_free(&k);
            }
}

/* Material written under the id format of another writer (kms_seed.c: "%s/%s/%s/%08x") is found, and
 * material this module writes sits under that id. */
static void test_material_ids(void)
{
    struct kmst t = {0};
    EXPECT_TRUE(kmst_open(&t, "kms_key_ids"));
    struct kms_key k = {0};
    EXPECT_OK(kms_key_init(&k));
    snprintf(k.account, sizeof k.account, "%s", KMST_ACCOUNT);
    snprintf(k.region, sizeof k.region, "%s", "us-isob-east-1");
    snprintf(k.key_id, sizeof k.key_id, "%s", key_ids[0]);
    kms_key_set_arn(&k);
    uint8_t m1[KMS_MATERIAL_BYTES], m2[KMS_MATERIAL_BYTES], id2[KMS_MATERIAL_ID_BYTES] = {0};
    memset(m1, 0x11, sizeof m1);
    memset(m2, 0x22, sizeof m2);
    char mid[192];
    struct keystore_txn *txn = NULL;
    EXPECT_OK(keystore_txn_begin(t.ks, true, &txn));
    snprintf(mid, sizeof mid, "%s/%s/%s/%08x", k.account, k.region, k.key_id, 1u);
    EXPECT_OK(keystore_put(txn, "kms_material", core_cursor_str(mid), core_cursor_from(m1, sizeof m1), 0));
    k.n_versions = 1;
    EXPECT_OK(kms_key_add_material(txn, &k, t.now, KMS_ROT_ON_DEMAND, core_cursor_from(m2, sizeof m2), id2));
    EXPECT_OK(keystore_txn_commit(txn));

    EXPECT_OK(keystore_txn_begin(t.ks, false, &txn));
    struct core_buf out = {0};
    EXPECT_OK(core_buf_init(&out, 64, 64));
    EXPECT_OK(kms_material_get(txn, &k, 1, &out));
    EXPECT_BYTES_EQ(out.data, out.len, m1, sizeof m1);
    EXPECT_OK(kms_material_get(txn, &k, 2, &out));
    EXPECT_BYTES_EQ(out.data, out.len, m2, sizeof m2);
    snprintf(mid, sizeof mid, "%s/%s/%s/%08x", k.account, k.region, k.key_id, 2u);
    EXPECT_OK(keystore_get(txn, "kms_material", core_cursor_str(mid), &out));
    EXPECT_BYTES_EQ(out.data, out.len, m2, sizeof m2);
    /* Another key's id reads nothing: with its rid made, and with the first key's rid left stale. */
    snprintf(k.key_id, sizeof k.key_id, "%s", "1234abcd-12ab-34cd-56ef-1234567890ac");
    EXPECT_ERR(kms_material_get(txn, &k, 1, &out), ERR_NOT_FOUND);
    kms_key_set_arn(&k);
    EXPECT_ERR(kms_material_get(txn, &k, 1, &out), ERR_NOT_FOUND);
    keystore_txn_abort(txn);
    core_buf_free(&out);
    kms_key_free(&k);
    kmst_close(&t);
}

/* kms_key_rid() answers the id of the fields as they are now: never made by kms_key_set_arn(), or with a
 * field changed after it (a stale id would key another key's compiled policy and name another key's
 * material). */
static void expect_rid(const struct kms_key *k)
{
    char got[KMS_MAX_RID], want[KMS_MAX_RID];
    memset(got, 'z', sizeof got);
    size_t n = kms_key_rid(k, got);
    snprintf(want, sizeof want, "%s/%s/%s", k->account, k->region, k->key_id);
    EXPECT_STR_EQ(got, want);
    EXPECT_TRUE(n == strlen(want));
}

static void test_rid_checked(void)
{
    struct kms_key k = {0};
    EXPECT_OK(kms_key_init(&k));
    snprintf(k.account, sizeof k.account, "%s", accounts[0]);
    snprintf(k.region, sizeof k.region, "%s", "us-east-1");
    snprintf(k.key_id, sizeof k.key_id, "%s", key_ids[0]);
    expect_rid(&k); /* kms_key_set_arn() never ran */
    kms_key_set_arn(&k);
    expect_rid(&k);
    struct kms_key m = k;
    m.key_id[35] = 'c'; /* one byte of the key id */
    expect_rid(&m);
    m = k;
    snprintf(m.region, sizeof m.region, "%s", "us-east-12"); /* a longer Region */
    expect_rid(&m);
    m = k;
    snprintf(m.region, sizeof m.region, "%s", "us-east-"); /* a shorter one */
    expect_rid(&m);
    m = k;
    m.account[0] = '2';
    expect_rid(&m);
    m = k;
    snprintf(m.key_id, sizeof m.key_id, "%s", key_ids[1]); /* a longer key id (mrk-) */
    expect_rid(&m);
    kms_key_free(&k);
}

static const char *key_id_of(json_t *created)
{
    return json_string_value(json_object_get(json_object_get(created, "KeyMetadata"), "KeyId"));
}

/* Two keys created with their policies (both at generation 0): each request is decided by its own key's
 * policy, in either order, however often the cache already holds the other's. */
static void test_policy_cache_per_key(void)
{
    struct kmst t = {0};
    EXPECT_TRUE(kmst_open(&t, "kms_key_ids_policy"));
    json_t *a = kmst_ok(&t, "CreateKey", "{}");
    char body[2048];
    snprintf(body, sizeof body,
             "{\"Policy\":\"{\\\"Version\\\":\\\"2012-10-17\\\",\\\"Statement\\\":["
             "{\\\"Effect\\\":\\\"Allow\\\",\\\"Principal\\\":{\\\"AWS\\\":\\\"arn:aws:iam::%s:root\\\"},"
             "\\\"Action\\\":\\\"kms:*\\\",\\\"Resource\\\":\\\"*\\\"},"
             "{\\\"Effect\\\":\\\"Deny\\\",\\\"Principal\\\":\\\"*\\\",\\\"Action\\\":\\\"kms:Encrypt\\\","
             "\\\"Resource\\\":\\\"*\\\"}]}\"}",
             KMST_ACCOUNT);
    json_t *b = kmst_ok(&t, "CreateKey", body);
    for (int round = 0; round < 3; round++)
        for (int which = 0; which < 2; which++) {
            snprintf(body, sizeof body, "{\"KeyId\":\"%s\",\"Plaintext\":\"aGk=\"}", key_id_of(which ? b : a));
            struct core_reply r = kmst_call(&t, "Encrypt", body);
            if (which) {
                EXPECT_TRUE(core_reply_failed(&r));
                EXPECT_STR_EQ(r.error_code, "AccessDeniedException");
            } else {
                EXPECT_TRUE(!core_reply_failed(&r));
            }
            core_reply_free(&r);
        }
    json_decref(a);
    json_decref(b);
    kmst_close(&t);
}

static void load(const struct kmst *t, const char *key_id, struct kms_key *k)
{
    struct keystore_txn *txn = NULL;
    EXPECT_OK(keystore_txn_begin(t->ks, false, &txn));
    EXPECT_OK(kms_key_get(txn, KMST_ACCOUNT, KMST_REGION, key_id, k));
    keystore_txn_abort(txn);
    char want_rid[KMS_MAX_RID], want_arn[KMS_MAX_ARN];
    snprintf(want_rid, sizeof want_rid, "%s/%s/%s", KMST_ACCOUNT, KMST_REGION, key_id);
    snprintf(want_arn, sizeof want_arn, "arn:aws:kms:%s:%s:key/%s", KMST_REGION, KMST_ACCOUNT, key_id);
    EXPECT_STR_EQ(k->account, KMST_ACCOUNT);
    EXPECT_STR_EQ(k->region, KMST_REGION);
    EXPECT_STR_EQ(k->key_id, key_id);
    char rid[KMS_MAX_RID];
    EXPECT_TRUE(kms_key_rid(k, rid) == strlen(want_rid));
    EXPECT_STR_EQ(rid, want_rid);
    EXPECT_STR_EQ(k->arn, want_arn);
}

/* One struct loaded with a multi-Region key with a description, tags and a replica, then with a plain key
 * with none of them: nothing of the first stays. */
static void test_reload_resets(void)
{
    struct kmst t = {0};
    EXPECT_TRUE(kmst_open(&t, "kms_key_ids_reload"));
    json_t *m = kmst_ok(&t, "CreateKey",
                        "{\"MultiRegion\":true,\"Description\":\"first\","
                        "\"Tags\":[{\"TagKey\":\"k\",\"TagValue\":\"v\"}]}");
    char body[256];
    snprintf(body, sizeof body, "{\"KeyId\":\"%s\",\"ReplicaRegion\":\"eu-west-1\"}", key_id_of(m));
    json_decref(kmst_ok(&t, "ReplicateKey", body));
    json_t *p = kmst_ok(&t, "CreateKey", "{}");
    struct kms_key k = {0};
    EXPECT_OK(kms_key_init(&k));
    load(&t, key_id_of(m), &k);
    EXPECT_TRUE(k.mrk.on && k.mrk.n_replicas == 1);
    EXPECT_STR_EQ(k.mrk.primary, KMST_REGION);
    EXPECT_STR_EQ(k.mrk.replicas[0], "eu-west-1");
    EXPECT_BYTES_EQ(k.description.data, k.description.len, "first", 5);
    EXPECT_TRUE(k.n_tags == 1 && k.tags.len > 0);
    k.mrk.gen_floor = 7; /* as a set whose replica was deleted */
    load(&t, key_id_of(p), &k);
    EXPECT_TRUE(!k.mrk.on && k.mrk.n_replicas == 0 && k.mrk.primary[0] == 0 && k.mrk.gen_floor == 0);
    EXPECT_TRUE(!kms_mrk_in_set(&k.mrk, "eu-west-1") && !kms_mrk_in_set(&k.mrk, KMST_REGION));
    EXPECT_TRUE(!kms_mrk_is_replica(&k) && !kms_mrk_is_primary(&k));
    EXPECT_TRUE(k.description.len == 0 && k.n_tags == 0 && k.tags.len == 0 && k.n_versions == 1);
    /* The plain key's reply renders the empty description. */
    snprintf(body, sizeof body, "{\"KeyId\":\"%s\"}", key_id_of(p));
    json_t *d = kmst_ok(&t, "DescribeKey", body);
    EXPECT_STR_EQ(json_string_value(json_object_get(json_object_get(d, "KeyMetadata"), "Description")), "");
    json_decref(d);
    kms_key_free(&k);
    json_decref(m);
    json_decref(p);
    kmst_close(&t);
}

/* kms_key_init() over a struct full of garbage leaves what it leaves over a zeroed one, every byte but
 * mrk.replicas (nothing reads past n_replicas = 0). */
static void test_init_clears(void)
{
    static struct kms_key dirty, clean;
    memset(&dirty, 0xa5, sizeof dirty);
    memset(&clean, 0, sizeof clean);
    EXPECT_OK(kms_key_init(&dirty));
    EXPECT_OK(kms_key_init(&clean));
    size_t skip = offsetof(struct kms_key, mrk.replicas), end = skip + sizeof dirty.mrk.replicas;
    EXPECT_BYTES_EQ((const uint8_t *)&dirty, skip, (const uint8_t *)&clean, skip);
    EXPECT_BYTES_EQ((const uint8_t *)&dirty + end, sizeof dirty - end, (const uint8_t *)&clean + end,
                    sizeof clean - end);
    EXPECT_TRUE(clean.spec == KMS_SPEC_SYMMETRIC_DEFAULT && clean.usage == KMS_USAGE_ENCRYPT_DECRYPT);
    EXPECT_TRUE(clean.policy.max == KMS_MAX_POLICY && clean.policy.data == NULL && !clean.mrk.on);
    kms_key_free(&dirty);
    kms_key_free(&clean);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    test_ids_match_reference();
    test_material_ids();
    test_rid_checked();
    test_policy_cache_per_key();
    test_reload_resets();
    test_init_clears();
    TEST_MAIN_END();
}
