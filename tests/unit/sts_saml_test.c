/*
 * sts_saml_verify in memory against vectors/saml (signed by the xmlsec1 CLI,
 * an implementation independent of this code): the signed Assertion and the
 * signed Response verify and their facts are read from the signed Assertion;
 * another key, an altered NameID, no signature, an assertion beside the signed
 * one, a signature moved to the Response and a DTD are refused. Also with the
 * wrong certificate list, and with the XML base64-wrapped in lines as IdPs
 * post it.
 */
#include <stdio.h>
#include <string.h>

#include "sts/sts_internal.h"
#include "tests/test.h"

static bool read_file(const char *name, struct core_buf *out)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/saml/%s", test_vectors_dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    uint8_t chunk[4096];
    size_t n;
    bool ok = true;
    while (ok && (n = fread(chunk, 1, sizeof chunk, f)) > 0) ok = core_ok(core_buf_append(out, chunk, n));
    fclose(f);
    return ok;
}

/* Runs sts_saml_verify on the vector's base64 (in 76-character lines when wrap). */
static enum sts_saml_status verify(const char *name, const json_t *certs, bool wrap, json_t **facts)
{
    struct core_buf xml = {0}, b64 = {0}, lines = {0};
    enum sts_saml_status st = STS_SAML_MALFORMED;
    *facts = NULL;
    if (core_ok(core_buf_init(&xml, 8192, 1 << 20)) && read_file(name, &xml) &&
        core_ok(core_buf_init(&b64, 16384, 1 << 21)) && core_ok(core_buf_init(&lines, 16384, 1 << 21)) &&
        core_ok(core_buf_append_base64(&b64, core_buf_cursor(&xml)))) {
        for (size_t i = 0; i < b64.len; i += 76) {
            size_t k = b64.len - i < 76 ? b64.len - i : 76;
            core_result_ignore(core_buf_append(&lines, b64.data + i, k));
            if (wrap) core_result_ignore(core_buf_append_str(&lines, "\r\n"));
        }
        st = sts_saml_verify(core_buf_cursor(&lines), certs, facts);
    } else {
        TEST_FAIL("cannot read vector %s", name);
    }
    core_buf_free(&xml);
    core_buf_free(&b64);
    core_buf_free(&lines);
    return st;
}

static json_t *cert_list(void)
{
    struct core_buf c = {0};
    json_t *certs = json_array();
    if (core_ok(core_buf_init(&c, 2048, 8192)) && read_file("idp-cert.b64", &c)) {
        while (c.len && (c.data[c.len - 1] == '\n' || c.data[c.len - 1] == '\r')) c.len--;
        json_array_append_new(certs, json_stringn((const char *)c.data, c.len));
    } else {
        TEST_FAIL("cannot read idp-cert.b64");
    }
    core_buf_free(&c);
    return certs;
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    json_t *certs = cert_list(), *facts = NULL;
    for (int wrap = 0; wrap < 2; wrap++) {
        const char *oks[] = {"ok-assertion-signed.xml", "ok-response-signed.xml"};
        for (size_t i = 0; i < 2; i++) {
            EXPECT_TRUE(verify(oks[i], certs, wrap, &facts) == STS_SAML_OK);
            EXPECT_STR_EQ(json_string_value(json_object_get(facts, "name_id")), "alice@example.test");
            EXPECT_STR_EQ(json_string_value(json_object_get(facts, "issuer")), "https://idp.example.test/saml");
            EXPECT_STR_EQ(json_string_value(json_object_get(facts, "recipient")), "https://signin.aws.amazon.com/saml");
            EXPECT_TRUE(json_integer_value(json_object_get(facts, "issue_instant")) == 1767225600);
            EXPECT_TRUE(json_integer_value(json_object_get(facts, "n_confirmations")) == 1);
            const json_t *role = json_object_get(json_object_get(facts, "attrs"),
                                                 "https://aws.amazon.com/SAML/Attributes/Role");
            EXPECT_TRUE(json_array_size(role) == 1);
            json_decref(facts);
        }
    }
    const struct {
        const char *name;
        enum sts_saml_status want;
    } bad[] = {
        {"bad-other-key.xml", STS_SAML_BAD_SIGNATURE},
        {"bad-altered.xml", STS_SAML_BAD_SIGNATURE},
        {"bad-unsigned.xml", STS_SAML_BAD_SIGNATURE},
        {"bad-wrap-two-assertions.xml", STS_SAML_MALFORMED},
        {"bad-wrap-signature-moved.xml", STS_SAML_BAD_SIGNATURE},
        {"bad-dtd.xml", STS_SAML_MALFORMED},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum sts_saml_status st = verify(bad[i].name, certs, false, &facts);
        if (st != bad[i].want) TEST_FAIL("%s: status %d, want %d", bad[i].name, (int)st, (int)bad[i].want);
        EXPECT_TRUE(facts == NULL);
    }
    /* The right response, but the provider holds no certificate of its signer. */
    json_t *none = json_array();
    EXPECT_TRUE(verify("ok-assertion-signed.xml", none, false, &facts) == STS_SAML_BAD_SIGNATURE);
    json_array_append_new(none, json_string("bm90IGEgY2VydA=="));
    EXPECT_TRUE(verify("ok-assertion-signed.xml", none, false, &facts) == STS_SAML_BAD_SIGNATURE);
    json_decref(none);
    /* Not base64, not XML. */
    EXPECT_TRUE(sts_saml_verify(core_cursor_str("%%%"), certs, &facts) == STS_SAML_MALFORMED);
    EXPECT_TRUE(sts_saml_verify(core_cursor_str("bm90IHhtbA=="), certs, &facts) == STS_SAML_MALFORMED);
    json_decref(certs);
    TEST_MAIN_END();
}
