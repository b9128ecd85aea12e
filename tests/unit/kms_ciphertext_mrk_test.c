/*
 * The ciphertext form of multi-Region keys (docs/ciphertext.md, format 2):
 * a "mrk-" key seals format 2 and a UUID key format 1, each parses back to
 * the key id it was sealed for, the version byte is authenticated (a format-2
 * blob presented as format 1 names another key id and fails the tag), and
 * malformed key ids or unknown versions are refused. The known answers are
 * vectors/kms/ciphertext_v2.txt (kms_vectors_test); this checks the rules
 * around them, including the record-layer set helpers the replicas use.
 */
#include <openssl/evp.h>

#include "kms/kms_internal.h"
#include "tests/test.h"

static const uint8_t material[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                     17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static void seal(const EVP_CIPHER *cipher, const char *key_id, const char *region, struct core_buf *out)
{
    struct kms_ct_header h = {.version = KMS_CT_VERSION, .material_version = 7};
    snprintf(h.account, sizeof h.account, "%s", "111122223333");
    snprintf(h.region, sizeof h.region, "%s", region);
    snprintf(h.key_id, sizeof h.key_id, "%s", key_id);
    memset(h.nonce, 0x5a, sizeof h.nonce);
    core_buf_reset(out);
    EXPECT_OK(kms_ct_seal(cipher, &h, core_cursor_from(material, sizeof material), core_cursor_from("\0\0", 2),
                          core_cursor_str("plaintext"), out));
}

static void open_ok(const EVP_CIPHER *cipher, struct core_buf *blob, const char *key_id, uint8_t version)
{
    struct kms_ct_header h;
    DEFER_CLEANUP(struct core_buf pt = {0}, core_buf_cleanup);
    EXPECT_OK(core_buf_init_secret(&pt, 64));
    EXPECT_OK(kms_ct_parse(core_buf_cursor(blob), &h));
    EXPECT_TRUE(h.version == version);
    EXPECT_STR_EQ(h.key_id, key_id);
    EXPECT_STR_EQ(h.region, "eu-west-1");
    EXPECT_OK(kms_ct_open(cipher, core_buf_cursor(blob), &h, core_cursor_from(material, sizeof material),
                          core_cursor_from("\0\0", 2), &pt));
    EXPECT_BYTES_EQ(pt.data, pt.len, "plaintext", 9);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    EXPECT_TRUE(cipher != NULL);
    DEFER_CLEANUP(struct core_buf blob = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_buf pt = {0}, core_buf_cleanup);
    EXPECT_OK(core_buf_init(&blob, 256, 1024));
    EXPECT_OK(core_buf_init_secret(&pt, 64));
    const char *mrk = "mrk-1234abcd12ab34cd56ef1234567890ab";
    const char *uuid = "1234abcd-12ab-34cd-56ef-1234567890ab";

    /* The key id's form picks the version; both parse back to their key id. */
    seal(cipher, mrk, "eu-west-1", &blob);
    EXPECT_TRUE(blob.data[0] == KMS_CT_VERSION_MRK);
    open_ok(cipher, &blob, mrk, KMS_CT_VERSION_MRK);
    seal(cipher, uuid, "eu-west-1", &blob);
    EXPECT_TRUE(blob.data[0] == KMS_CT_VERSION);
    open_ok(cipher, &blob, uuid, KMS_CT_VERSION);

    /* Same 16 bytes, other form: the version byte is in the associated data. */
    seal(cipher, mrk, "eu-west-1", &blob);
    blob.data[0] = KMS_CT_VERSION;
    struct kms_ct_header h;
    EXPECT_OK(kms_ct_parse(core_buf_cursor(&blob), &h));
    EXPECT_STR_EQ(h.key_id, uuid);
    EXPECT_ERR(kms_ct_open(cipher, core_buf_cursor(&blob), &h, core_cursor_from(material, sizeof material),
                           core_cursor_from("\0\0", 2), &pt),
               ERR_BAD_CIPHERTEXT);
    EXPECT_TRUE(pt.len == 0);

    /* Unknown versions are refused at the header. */
    for (unsigned v = 0; v < 256; v++) {
        if (v == KMS_CT_VERSION || v == KMS_CT_VERSION_MRK) continue;
        blob.data[0] = (uint8_t)v;
        EXPECT_ERR(kms_ct_parse(core_buf_cursor(&blob), &h), ERR_BAD_CIPHERTEXT);
    }

    /* A malformed multi-Region id is never sealed. */
    struct kms_ct_header bad = {.version = KMS_CT_VERSION, .material_version = 1};
    snprintf(bad.account, sizeof bad.account, "%s", "111122223333");
    snprintf(bad.region, sizeof bad.region, "%s", "us-east-1");
    snprintf(bad.key_id, sizeof bad.key_id, "%s", "mrk-1234abcd12ab34cd56ef1234567890zz");
    core_buf_reset(&blob);
    EXPECT_ERR(kms_ct_seal(cipher, &bad, core_cursor_from(material, sizeof material), core_cursor_from("\0\0", 2),
                           core_cursor_str("x"), &blob),
               ERR_INVALID_ARG);
    snprintf(bad.key_id, sizeof bad.key_id, "%s", "mrk-1234");
    core_buf_reset(&blob);
    EXPECT_ERR(kms_ct_seal(cipher, &bad, core_cursor_from(material, sizeof material), core_cursor_from("\0\0", 2),
                           core_cursor_str("x"), &blob),
               ERR_INVALID_ARG);

    /* The set helpers: ids, membership, sorted and bounded replica lists. */
    char id[37];
    kms_mrk_new_id(id);
    EXPECT_TRUE(kms_mrk_key_id(id) && strlen(id) == 36 && kms_is_key_id(core_cursor_str(id)));
    EXPECT_TRUE(!kms_mrk_key_id(uuid));
    struct kms_mrk m = {.on = true};
    snprintf(m.primary, sizeof m.primary, "%s", "us-east-1");
    EXPECT_OK(kms_mrk_add_replica(&m, "eu-west-1"));
    EXPECT_OK(kms_mrk_add_replica(&m, "ap-southeast-2"));
    EXPECT_ERR(kms_mrk_add_replica(&m, "eu-west-1"), ERR_INVALID_ARG);
    EXPECT_ERR(kms_mrk_add_replica(&m, "us-east-1"), ERR_INVALID_ARG);
    EXPECT_STR_EQ(m.replicas[0], "ap-southeast-2");
    EXPECT_STR_EQ(m.replicas[1], "eu-west-1");
    EXPECT_TRUE(kms_mrk_in_set(&m, "us-east-1") && kms_mrk_in_set(&m, "eu-west-1") && !kms_mrk_in_set(&m, "eu-west"));
    kms_mrk_remove_replica(&m, "ap-southeast-2");
    EXPECT_TRUE(m.n_replicas == 1 && !kms_mrk_in_set(&m, "ap-southeast-2"));
    for (unsigned i = 0; m.n_replicas < KMS_MAX_REPLICAS; i++) {
        char r[32];
        snprintf(r, sizeof r, "xx-test-%u", i);
        EXPECT_OK(kms_mrk_add_replica(&m, r));
    }
    EXPECT_ERR(kms_mrk_add_replica(&m, "zz-last-1"), ERR_LIMIT);

    EVP_CIPHER_free(cipher);
    TEST_MAIN_END();
}
