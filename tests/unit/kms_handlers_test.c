/*
 * KMS handlers in memory: a temporary keystore, a struct kms_call per
 * request, kms_handle() - no sockets. Covers what the API cannot reach
 * (PendingImport and Unavailable keys, the due index) and checks replies.
 */

#include "kms/kms_internal.h"
#include "tests/unit/kms_testutil.h"

static struct kmst kt;

/* Expects success and returns the parsed body (caller json_decref()s). */
static json_t *ok(const char *op, const char *body) { return kmst_ok(&kt, op, body); }

static void fails(const char *op, const char *body, const char *code, const char *msg_part)
{
    struct core_reply r = kmst_call(&kt, op, body);
    if (strcmp(r.error_code, code) != 0)
        TEST_FAIL("%s %s -> '%s' (%s), expected %s", op, body, r.error_code,
                  r.message.data ? (char *)r.message.data : "", code);
    else if (msg_part && (!r.message.data || !strstr((char *)r.message.data, msg_part)))
        TEST_FAIL("%s: message '%s' lacks '%s'", op, r.message.data ? (char *)r.message.data : "", msg_part);
    core_reply_free(&r);
}

static void create(char kid[64])
{
    json_t *j = ok("CreateKey", "{\"Description\":\"t\"}");
    snprintf(kid, 64, "%s", json_string_value(json_object_get(json_object_get(j, "KeyMetadata"), "KeyId")));
    json_decref(j);
}

/* Forces a stored key into a state no API call reaches. */
static core_result set_state_fn(struct keystore_txn *txn, void *arg)
{
    const char *kid = ((const char **)arg)[0];
    uint8_t state = (uint8_t)(uintptr_t)((const char **)arg)[1];
    struct kms_key k;
    GUARD(kms_key_init(&k));
    core_result r = kms_key_get(txn, kt.caller.account, kt.caller.region, kid, &k);
    if (core_ok(r)) {
        k.state = state;
        if (state == KMS_STATE_PENDING_IMPORT) k.external = true; /* only EXTERNAL keys await import */
        r = kms_key_save(txn, &k);
    }
    kms_key_free(&k);
    return r;
}

static void set_state(const char *kid, uint8_t state)
{
    const char *arg[2] = {kid, (const char *)(uintptr_t)state};
    EXPECT_OK(keystore_write(kt.ks, set_state_fn, arg));
}

static void test_roundtrip_and_tamper(void)
{
    char kid[64], body[2048];
    create(kid);
    snprintf(body, sizeof body, "{\"KeyId\":\"%s\",\"Plaintext\":\"aGVsbG8=\",\"EncryptionContext\":{\"b\":\"2\",\"a\":\"1\"}}",
             kid);
    json_t *e = ok("Encrypt", body);
    const char *blob = json_string_value(json_object_get(e, "CiphertextBlob"));
    snprintf(body, sizeof body, "{\"CiphertextBlob\":\"%s\",\"EncryptionContext\":{\"a\":\"1\",\"b\":\"2\"}}", blob);
    json_t *d = ok("Decrypt", body);
    EXPECT_STR_EQ(json_string_value(json_object_get(d, "Plaintext")), "aGVsbG8=");
    json_decref(d);
    snprintf(body, sizeof body, "{\"CiphertextBlob\":\"%s\",\"EncryptionContext\":{\"a\":\"1\"}}", blob);
    fails("Decrypt", body, "InvalidCiphertextException", NULL);
    snprintf(body, sizeof body, "{\"CiphertextBlob\":\"%s\"}", blob);
    fails("Decrypt", body, "InvalidCiphertextException", NULL);
    /* flip one base64 character in the middle of the ciphertext */
    char bad[1024];
    snprintf(bad, sizeof bad, "%s", blob);
    size_t n = strlen(bad);
    bad[n - 10] = bad[n - 10] == 'A' ? 'B' : 'A';
    snprintf(body, sizeof body, "{\"CiphertextBlob\":\"%s\",\"EncryptionContext\":{\"a\":\"1\",\"b\":\"2\"}}", bad);
    fails("Decrypt", body, "InvalidCiphertextException", NULL);
    json_decref(e);
}

static void test_state_table(void)
{
    char kid[64], body[512];
    create(kid);
    snprintf(body, sizeof body, "{\"KeyId\":\"%s\",\"Plaintext\":\"eA==\"}", kid);
    set_state(kid, KMS_STATE_PENDING_IMPORT);
    fails("Encrypt", body, "KMSInvalidStateException", "is pending import.");
    snprintf(body, sizeof body, "{\"KeyId\":\"%s\"}", kid);
    fails("EnableKey", body, "KMSInvalidStateException", "is pending import.");
    fails("DisableKey", body, "KMSInvalidStateException", "is pending import.");
    fails("EnableKeyRotation", body, "UnsupportedOperationException", "origin is EXTERNAL");
    fails("GetKeyRotationStatus", body, "UnsupportedOperationException", NULL);
    json_decref(ok("DescribeKey", body));
    snprintf(body, sizeof body, "{\"KeyId\":\"%s\",\"Description\":\"x\"}", kid);
    json_decref(ok("UpdateKeyDescription", body));

    set_state(kid, KMS_STATE_UNAVAILABLE);
    snprintf(body, sizeof body, "{\"KeyId\":\"%s\",\"NumberOfBytes\":8}", kid);
    fails("GenerateDataKey", body, "KeyUnavailableException", "is unavailable.");
    snprintf(body, sizeof body, "{\"KeyId\":\"%s\"}", kid);
    json_decref(ok("DisableKey", body));
}

static void test_validation_and_garbage(void)
{
    fails("Encrypt", "{", "SerializationException", NULL);
    fails("Encrypt", "[]", "SerializationException", NULL);
    fails("Encrypt", "{\"KeyId\":1}", "SerializationException", NULL);
    fails("Encrypt", "{\"KeyId\":\"a\",\"KeyId\":\"b\"}", "SerializationException", NULL);
    fails("Encrypt", "{}", "ValidationException", "2 validation errors detected");
    fails("Decrypt", "{\"CiphertextBlob\":\"AAAA\"}", "InvalidCiphertextException", NULL);
    fails("CreateKey", "{\"Tags\":[{\"TagKey\":\"\",\"TagValue\":\"v\"}]}", "ValidationException",
          "'tags.1.member.tagKey'");
    fails("CreateKey", "{\"Tags\":[1]}", "SerializationException", NULL);
    fails("ListKeys", "{\"Marker\":\"%%%\"}", "InvalidMarkerException", NULL);
    fails("Nope", "{}", "UnknownOperationException", NULL);
    /* deep nesting is refused before jansson sees it */
    char deep[200];
    memset(deep, '[', 100);
    deep[100] = 0;
    fails("Encrypt", deep, "SerializationException", NULL);
}

static size_t count_versions(const char *kid)
{
    char body[256];
    snprintf(body, sizeof body, "{\"KeyId\":\"%s\",\"IncludeKeyMaterial\":\"ALL_KEY_MATERIAL\"}", kid);
    json_t *j = ok("ListKeyRotations", body);
    size_t n = json_array_size(json_object_get(j, "Rotations"));
    json_decref(j);
    return n;
}

static void test_run_due(void)
{
    char kid[64], gone[64], body[512];
    create(kid);
    create(gone);
    snprintf(body, sizeof body, "{\"KeyId\":\"%s\",\"RotationPeriodInDays\":90}", kid);
    json_decref(ok("EnableKeyRotation", body));
    snprintf(body, sizeof body, "{\"KeyId\":\"%s\",\"PendingWindowInDays\":7}", gone);
    json_decref(ok("ScheduleKeyDeletion", body));
    EXPECT_OK(kms_run_due(kt.env, kt.now + 89 * KMS_DAY));
    EXPECT_TRUE(count_versions(kid) == 1);
    EXPECT_OK(kms_run_due(kt.env, kt.now + 91 * KMS_DAY));
    EXPECT_TRUE(count_versions(kid) == 2);
    /* three missed periods at once: one rotation, as AWS does (issue 10.11) */
    EXPECT_OK(kms_run_due(kt.env, kt.now + 365 * KMS_DAY));
    EXPECT_TRUE(count_versions(kid) == 3);
    snprintf(body, sizeof body, "{\"KeyId\":\"%s\"}", gone);
    fails("DescribeKey", body, "NotFoundException", "does not exist");
    EXPECT_OK(kms_run_due(kt.env, kt.now + 400 * KMS_DAY)); /* idempotent, nothing stale left */
    EXPECT_TRUE(count_versions(kid) == 3);             /* the next date (day 450) is ahead */
    EXPECT_OK(kms_run_due(kt.env, kt.now + 451 * KMS_DAY));
    EXPECT_TRUE(count_versions(kid) == 4);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    if (!kmst_open(&kt, "kms-test")) return 2;
    if (kt.ks && kt.env) {
        test_roundtrip_and_tamper();
        test_state_table();
        test_validation_and_garbage();
        test_run_due();
    }
    kmst_close(&kt);
    TEST_MAIN_END();
}
