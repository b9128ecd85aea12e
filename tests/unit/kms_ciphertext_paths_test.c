/*
 * kms_ct_seal and kms_ct_open run AES-256-GCM through libsodium when the
 * header and the canonical encryption context fit the stack buffer they are
 * joined in (and the CPU has AES-NI and PCLMUL), and through OpenSSL's EVP
 * otherwise (issue 14, round 5). Both must compute the same function: for
 * contexts on each side of the bound, every blob is checked byte for byte
 * against AES-256-GCM computed here with EVP directly (header || context as
 * the associated data), opens back to the plaintext, and fails with
 * ERR_BAD_CIPHERTEXT and an emptied output when any byte of the ciphertext,
 * the tag or the context changes.
 */
#include <openssl/evp.h>
#include <sodium.h>

#include "kms/kms_internal.h"
#include "tests/test.h"

static const uint8_t material[32] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 11, 12, 13, 14, 15, 16,
                                     17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

/* AES-256-GCM(material, nonce, aad = header || ec) of pt, as ciphertext || tag, computed with EVP alone. */
static void reference(const uint8_t *header, size_t hlen, const uint8_t *nonce, struct core_cursor ec,
                      struct core_cursor pt, uint8_t *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, m = 0;
    EXPECT_TRUE(c != NULL);
    EXPECT_TRUE(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, material, nonce) == 1);
    EXPECT_TRUE(EVP_EncryptUpdate(c, NULL, &n, header, (int)hlen) == 1);
    EXPECT_TRUE(EVP_EncryptUpdate(c, NULL, &n, ec.ptr, (int)ec.len) == 1);
    EXPECT_TRUE(EVP_EncryptUpdate(c, out, &n, pt.ptr, (int)pt.len) == 1);
    EXPECT_TRUE(EVP_EncryptFinal_ex(c, out + n, &m) == 1);
    EXPECT_TRUE(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, out + n + m) == 1);
    EVP_CIPHER_CTX_free(c);
}

static void check(const EVP_CIPHER *cipher, size_t ec_len, size_t pt_len)
{
    struct kms_ct_header h = {.version = KMS_CT_VERSION, .material_version = 3};
    snprintf(h.account, sizeof h.account, "%s", "111122223333");
    snprintf(h.region, sizeof h.region, "%s", "us-east-1");
    snprintf(h.key_id, sizeof h.key_id, "%s", "1234abcd-12ab-34cd-56ef-1234567890ab");
    core_random(h.nonce, sizeof h.nonce);
    uint8_t ec[4096], pt[KMS_MAX_PLAINTEXT_BYTES], want[KMS_MAX_PLAINTEXT_BYTES + 16];
    EXPECT_TRUE(ec_len <= sizeof ec && pt_len <= sizeof pt);
    core_random(ec, ec_len);
    core_random(pt, pt_len);
    DEFER_CLEANUP(struct core_buf blob = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_buf out = {0}, core_buf_cleanup);
    EXPECT_OK(core_buf_init(&blob, 64, 8192));
    EXPECT_OK(core_buf_init_secret(&out, KMS_MAX_PLAINTEXT_BYTES + 16));
    struct core_cursor ecc = core_cursor_from(ec, ec_len), ptc = core_cursor_from(pt, pt_len);
    EXPECT_OK(kms_ct_seal(cipher, &h, core_cursor_from(material, sizeof material), ecc, ptc, &blob));

    struct kms_ct_header got;
    EXPECT_OK(kms_ct_parse(core_buf_cursor(&blob), &got));
    EXPECT_TRUE(got.header_len == 46 + strlen(h.region));
    EXPECT_TRUE(blob.len == got.header_len + pt_len + 16);
    reference(blob.data, got.header_len, h.nonce, ecc, ptc, want);
    EXPECT_BYTES_EQ(blob.data + got.header_len, blob.len - got.header_len, want, pt_len + 16);

    EXPECT_OK(kms_ct_open(cipher, core_buf_cursor(&blob), &got, core_cursor_from(material, sizeof material), ecc,
                          &out));
    EXPECT_BYTES_EQ(out.data, out.len, pt, pt_len);

    /* Any changed byte after the header (ciphertext or tag), or of the context, fails the tag. */
    for (size_t i = got.header_len; i < blob.len; i += 1 + i % 7) {
        blob.data[i] ^= 0x01;
        EXPECT_ERR(kms_ct_open(cipher, core_buf_cursor(&blob), &got, core_cursor_from(material, sizeof material),
                               ecc, &out),
                   ERR_BAD_CIPHERTEXT);
        EXPECT_TRUE(out.len == 0);
        blob.data[i] ^= 0x01;
    }
    if (ec_len) {
        ec[ec_len - 1] ^= 0x80;
        EXPECT_ERR(kms_ct_open(cipher, core_buf_cursor(&blob), &got, core_cursor_from(material, sizeof material),
                               ecc, &out),
                   ERR_BAD_CIPHERTEXT);
        EXPECT_TRUE(out.len == 0);
        ec[ec_len - 1] ^= 0x80;
    }
    /* A context one byte shorter is another context. */
    if (ec_len)
        EXPECT_ERR(kms_ct_open(cipher, core_buf_cursor(&blob), &got, core_cursor_from(material, sizeof material),
                               core_cursor_from(ec, ec_len - 1), &out),
                   ERR_BAD_CIPHERTEXT);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    EXPECT_TRUE(cipher != NULL);
    if (!crypto_aead_aes256gcm_is_available())
        fprintf(stderr, "note: no AES-NI/PCLMUL here, every message takes the EVP path\n");
    /* Header 55 bytes ("us-east-1"): the stack buffer (1,024 bytes) holds contexts up to 969 bytes. */
    static const size_t ec_lens[] = {0, 2, 40, 968, 969, 970, 971, 1024, 3000};
    static const size_t pt_lens[] = {0, 1, 15, 16, 17, 32, 1000, KMS_MAX_PLAINTEXT_BYTES};
    for (size_t i = 0; i < sizeof ec_lens / sizeof ec_lens[0]; i++)
        for (size_t j = 0; j < sizeof pt_lens / sizeof pt_lens[0]; j++) check(cipher, ec_lens[i], pt_lens[j]);
    EVP_CIPHER_free(cipher);
    TEST_MAIN_END();
}
