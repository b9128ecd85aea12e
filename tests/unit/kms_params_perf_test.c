/*
 * The flat request path (kms_params_read) against the jansson path it
 * short-cuts: the same request is sent once as is (flat path) and once with
 * an extra unknown member ("Zz":0, which sends it to jansson, and which
 * every handler ignores), and the two replies must agree: the same error
 * code and message, or both successes with the same members. Also checks
 * that the flat path is really taken for the common shapes and not for the
 * others.
 */

#include "kms/kms_internal.h"
#include "tests/unit/kms_testutil.h"

static struct kmst kt;

static struct core_reply call(const char *op, const char *body) { return kmst_call(&kt, op, body); }

/* Whether the flat reader serves op with this body. */
static bool takes_flat(const char *op, const char *body)
{
    struct core_reply out;
    if (!core_ok(core_reply_init(&out))) abort();
    struct kms_ctx ctx = {.env = kt.env, .out = &out, .action = kms_action_find(core_cursor_str(op))};
    struct core_jflat flat;
    json_t *tree = NULL;
    core_result r = kms_params_read(&ctx, core_cursor_str(body), &flat, &tree);
    bool flat_used = core_ok(r) && ctx.flat != NULL;
    if (flat_used && (tree != NULL || ctx.in != NULL)) TEST_FAIL("%s: flat path built a tree", op);
    json_decref(tree);
    core_reply_free(&out);
    return flat_used;
}

/* Keys of a success body, as a sorted "a,b,c" list. */
static void keys_of(const struct core_reply *r, char *out, size_t cap)
{
    out[0] = 0;
    json_t *j = NULL;
    if (!core_ok(core_json_parse(core_buf_cursor(&r->body), 8, &j))) return;
    const char *names[32];
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) if (n < 32) names[n++] = k;
    for (size_t i = 1; i < n; i++)
        for (size_t m = i; m > 0 && strcmp(names[m - 1], names[m]) > 0; m--) {
            const char *t = names[m];
            names[m] = names[m - 1];
            names[m - 1] = t;
        }
    size_t at = 0;
    for (size_t i = 0; i < n && at < cap; i++) at += (size_t)snprintf(out + at, cap - at, "%s%s", i ? "," : "", names[i]);
    json_decref(j);
}

static void same_reply(const char *op, const char *body, bool expect_flat)
{
    char other[4096];
    size_t len = strlen(body);
    if (len == 0 || strcmp(body, "{}") == 0) snprintf(other, sizeof other, "{\"Zz\":0}");
    else snprintf(other, sizeof other, "%.*s,\"Zz\":0}", (int)(len - 1), body);
    if (takes_flat(op, body) != expect_flat) TEST_FAIL("%s %s: flat path %s", op, body, expect_flat ? "not taken" : "taken");
    if (takes_flat(op, other)) TEST_FAIL("%s %s: flat path taken with an unknown member", op, other);
    struct core_reply a = call(op, body), b = call(op, other);
    const char *am = a.message.data ? (const char *)a.message.data : "", *bm = b.message.data ? (const char *)b.message.data : "";
    if (core_reply_failed(&a) != core_reply_failed(&b) || strcmp(a.error_code, b.error_code) != 0 || strcmp(am, bm) != 0) {
        TEST_FAIL("%s %s: flat '%s' (%s) vs jansson '%s' (%s)", op, body, a.error_code, am, b.error_code, bm);
    } else if (!core_reply_failed(&a)) {
        char ka[512], kb[512];
        keys_of(&a, ka, sizeof ka);
        keys_of(&b, kb, sizeof kb);
        if (strcmp(ka, kb) != 0 || ka[0] == 0) TEST_FAIL("%s %s: members '%s' vs '%s'", op, body, ka, kb);
    }
    core_reply_free(&a);
    core_reply_free(&b);
}

/* tmpl with each "%s" replaced by v (the templates are data, not formats). */
static void fill(char *out, size_t cap, const char *tmpl, const char *v)
{
    size_t at = 0, vl = strlen(v);
    for (const char *p = tmpl; *p && at + 1 < cap; p++) {
        if (p[0] == '%' && p[1] == 's' && at + vl + 1 < cap) {
            memcpy(out + at, v, vl);
            at += vl;
            p++;
        } else {
            out[at++] = *p;
        }
    }
    out[at] = 0;
}

static void run(void)
{
    char kid[64] = "", ct[1024] = "", b[2048];
    struct core_reply r = call("CreateKey", "{}");
    json_t *j = NULL;
    if (core_reply_failed(&r) || !core_ok(core_json_parse(core_buf_cursor(&r.body), 8, &j))) {
        TEST_FAIL("CreateKey failed");
        core_reply_free(&r);
        return;
    }
    snprintf(kid, sizeof kid, "%s", json_string_value(json_object_get(json_object_get(j, "KeyMetadata"), "KeyId")));
    json_decref(j);
    core_reply_free(&r);
    snprintf(b, sizeof b, "{\"KeyId\":\"%s\",\"Plaintext\":\"c2VjcmV0\"}", kid);
    r = call("Encrypt", b);
    if (!core_reply_failed(&r) && core_ok(core_json_parse(core_buf_cursor(&r.body), 8, &j))) {
        snprintf(ct, sizeof ct, "%s", json_string_value(json_object_get(j, "CiphertextBlob")));
        json_decref(j);
    }
    core_reply_free(&r);
    EXPECT_TRUE(ct[0] != 0);

    const char *encrypt[] = {
        "{\"KeyId\":\"%s\",\"Plaintext\":\"c2VjcmV0\"}",
        "{\"KeyId\":\"%s\"}",
        "{\"KeyId\":\"%s\",\"Plaintext\":\"!!!\"}",
        "{\"KeyId\":\"%s\",\"Plaintext\":\"\"}",
        "{\"KeyId\":\"%s\",\"Plaintext\":7}",
        "{\"KeyId\":7,\"Plaintext\":\"c2VjcmV0\",\"X\":\"%s\"}",
        "{\"KeyId\":true,\"Plaintext\":\"c2VjcmV0\"}",
        "{\"KeyId\":\"\",\"Plaintext\":\"c2VjcmV0\"}",
        "{\"KeyId\":null,\"Plaintext\":\"c2VjcmV0\"}",
        "{\"KeyId\":\"%s\",\"Plaintext\":\"c2VjcmV0\",\"EncryptionAlgorithm\":\"RSAES_OAEP_SHA_1\"}",
        "{\"KeyId\":\"%s\",\"Plaintext\":\"c2VjcmV0\",\"EncryptionAlgorithm\":\"BOGUS\"}",
        "{\"KeyId\":\"%s\",\"Plaintext\":\"c2VjcmV0\",\"DryRun\":true}",
        "{\"KeyId\":\"%s\",\"Plaintext\":\"c2VjcmV0\",\"DryRun\":\"yes\"}",
        "{\"KeyId\":\"alias/none\",\"Plaintext\":\"c2VjcmV0\"}",
        "{\"KeyId\":\"%s\",\"Plaintext\":\"c2VjcmV0\",\"GrantTokens\":null}",
    };
    for (size_t i = 0; i < sizeof encrypt / sizeof encrypt[0]; i++) {
        fill(b, sizeof b, encrypt[i], kid);
        same_reply("Encrypt", b, strstr(b, "\"X\"") == NULL && strstr(b, "GrantTokens") == NULL);
    }
    const char *decrypt[] = {
        "{\"CiphertextBlob\":\"%s\"}",
        "{\"CiphertextBlob\":\"%s\",\"KeyId\":\"alias/none\"}",
        "{\"CiphertextBlob\":\"%s\",\"EncryptionAlgorithm\":\"SYMMETRIC_DEFAULT\",\"DryRun\":false}",
        "{\"CiphertextBlob\":\"AQID\",\"X\":\"%s\"}",
    };
    for (size_t i = 0; i < sizeof decrypt / sizeof decrypt[0]; i++) {
        fill(b, sizeof b, decrypt[i], ct);
        same_reply("Decrypt", b, strstr(b, "\"X\"") == NULL);
    }
    same_reply("Decrypt", "{\"CiphertextBlob\":\"AQID\"}", true);
    same_reply("Decrypt", "{}", true);
    const char *data_key[] = {
        "{\"KeyId\":\"%s\",\"KeySpec\":\"AES_256\"}",   "{\"KeyId\":\"%s\",\"KeySpec\":\"AES_128\"}",
        "{\"KeyId\":\"%s\",\"NumberOfBytes\":64}",      "{\"KeyId\":\"%s\",\"NumberOfBytes\":0}",
        "{\"KeyId\":\"%s\",\"NumberOfBytes\":1025}",    "{\"KeyId\":\"%s\"}",
        "{\"KeyId\":\"%s\",\"NumberOfBytes\":16,\"KeySpec\":\"AES_128\"}",
        "{\"KeyId\":\"%s\",\"KeySpec\":\"AES_512\"}",   "{\"KeyId\":\"%s\",\"NumberOfBytes\":\"32\"}",
        "{\"KeyId\":\"%s\",\"KeySpec\":\"AES_256\",\"DryRun\":true}",
    };
    for (size_t i = 0; i < sizeof data_key / sizeof data_key[0]; i++) {
        fill(b, sizeof b, data_key[i], kid);
        same_reply("GenerateDataKey", b, true);
        same_reply("GenerateDataKeyWithoutPlaintext", b, true);
    }
    snprintf(b, sizeof b, "{\"CiphertextBlob\":\"%s\",\"DestinationKeyId\":\"%s\"}", ct, kid);
    same_reply("ReEncrypt", b, true);
    snprintf(b, sizeof b, "{\"CiphertextBlob\":\"%s\"}", ct);
    same_reply("ReEncrypt", b, true);
    same_reply("GenerateRandom", "{\"NumberOfBytes\":32}", true);
    same_reply("GenerateRandom", "{\"NumberOfBytes\":-1}", true);
    same_reply("GenerateRandom", "{}", true);
    same_reply("GenerateRandom", "", true);
    same_reply("GenerateRandom", "{\"NumberOfBytes\":1,\"CustomKeyStoreId\":\"cks-1\"}", true);
    /* Operations not on the flat list always use jansson. */
    same_reply("DescribeKey", "{\"KeyId\":\"alias/none\"}", false);
    /* Malformed and duplicate documents are jansson's to refuse. */
    EXPECT_TRUE(!takes_flat("Encrypt", "{\"KeyId\":\"a\",\"KeyId\":\"b\"}"));
    struct core_reply d = call("Encrypt", "{\"KeyId\":\"a\",\"KeyId\":\"b\"}");
    EXPECT_STR_EQ(d.error_code, "SerializationException");
    core_reply_free(&d);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    if (!kmst_open(&kt, "kms-flat")) return 2;
    if (kt.ks && kt.env) run();
    kmst_close(&kt);
    TEST_MAIN_END();
}
