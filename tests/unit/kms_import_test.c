/* Import tokens and unwrapping (kms/kms_import.c), without a server: a token
 * opens only under its key and only unaltered; every wrapping algorithm
 * unwraps what the documented client-side steps produce. */
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "kms/kms_import.h"
#include "tests/test.h"

static const uint8_t K1[32] = {1};
static const uint8_t K2[32] = {2};

static void make_token(uint8_t spec, uint8_t alg, struct kms_import_token *t, struct core_buf *pub)
{
    *t = (struct kms_import_token){.spec = spec, .alg = alg, .expires = 1700000000};
    snprintf(t->rid, sizeof t->rid, "111122223333/us-east-1/1234abcd-12ab-34cd-56ef-1234567890ab");
    EXPECT_OK(core_buf_init_secret(&t->der, 4096));
    EXPECT_OK(core_buf_init(pub, 512, 4096));
    EXPECT_OK(kms_import_keypair(spec, &t->der, pub));
}

static void test_seal_open(void)
{
    struct kms_import_token t, o = {0};
    struct core_buf pub, tok;
    make_token(KMS_WRAP_RSA_2048, KMS_ALG_RSAES_OAEP_SHA_256, &t, &pub);
    EXPECT_OK(core_buf_init(&tok, 4096, KMS_IMPORT_TOKEN_MAX));
    EXPECT_OK(kms_import_token_seal(core_cursor_from(K1, 32), &t, &tok));
    EXPECT_OK(core_buf_init_secret(&o.der, 4096));
    EXPECT_OK(kms_import_token_open(core_cursor_from(K1, 32), core_buf_cursor(&tok), &o));
    EXPECT_TRUE(o.spec == t.spec && o.alg == t.alg && o.expires == t.expires);
    EXPECT_STR_EQ(o.rid, t.rid);
    EXPECT_BYTES_EQ(o.der.data, o.der.len, t.der.data, t.der.len);
    /* another key, any flipped byte, truncation */
    EXPECT_ERR(kms_import_token_open(core_cursor_from(K2, 32), core_buf_cursor(&tok), &o), ERR_BAD_CIPHERTEXT);
    for (size_t i = 0; i < tok.len; i += 97) {
        tok.data[i] ^= 0x40;
        EXPECT_ERR(kms_import_token_open(core_cursor_from(K1, 32), core_buf_cursor(&tok), &o), ERR_BAD_CIPHERTEXT);
        tok.data[i] ^= 0x40;
    }
    EXPECT_ERR(kms_import_token_open(core_cursor_from(K1, 32), core_cursor_from(tok.data, tok.len - 1), &o),
               ERR_BAD_CIPHERTEXT);
    EXPECT_ERR(kms_import_token_open(core_cursor_from(K1, 32), core_cursor_from(tok.data, 10), &o),
               ERR_BAD_CIPHERTEXT);
    core_buf_free(&o.der);
    core_buf_free(&t.der);
    core_buf_free(&pub);
    core_buf_free(&tok);
}

/* The client side: RSA-OAEP with md for OAEP and MGF1, as `openssl pkeyutl -pkeyopt rsa_oaep_md:...`. */
static size_t oaep(struct core_buf *pub, const EVP_MD *md, const uint8_t *in, size_t n, uint8_t *out)
{
    const unsigned char *p = pub->data;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)pub->len);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pk, NULL);
    size_t outlen = 1024;
    EXPECT_TRUE(EVP_PKEY_encrypt_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1 &&
                EVP_PKEY_CTX_set_rsa_oaep_md(c, md) == 1 && EVP_PKEY_CTX_set_rsa_mgf1_md(c, md) == 1 &&
                EVP_PKEY_encrypt(c, out, &outlen, in, n) == 1);
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(pk);
    return outlen;
}

static void test_unwrap(void)
{
    static const uint8_t algs[] = {KMS_ALG_RSAES_OAEP_SHA_1, KMS_ALG_RSAES_OAEP_SHA_256,
                                   KMS_ALG_RSA_AES_KEY_WRAP_SHA_1, KMS_ALG_RSA_AES_KEY_WRAP_SHA_256};
    for (size_t a = 0; a < sizeof algs; a++) {
        struct kms_import_token t;
        struct core_buf pub, mat;
        make_token(KMS_WRAP_RSA_2048, algs[a], &t, &pub);
        uint8_t material[32], kek[32], wrapped[1024];
        core_random(material, sizeof material);
        core_random(kek, sizeof kek);
        const EVP_MD *md = (algs[a] == KMS_ALG_RSAES_OAEP_SHA_1 || algs[a] == KMS_ALG_RSA_AES_KEY_WRAP_SHA_1)
                               ? EVP_sha1()
                               : EVP_sha256();
        size_t n;
        if (algs[a] <= KMS_ALG_RSAES_OAEP_SHA_256) {
            n = oaep(&pub, md, material, sizeof material, wrapped);
        } else {
            n = oaep(&pub, md, kek, sizeof kek, wrapped);
            EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
            EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
            int l1 = 0, l2 = 0;
            EXPECT_TRUE(EVP_EncryptInit_ex(c, EVP_aes_256_wrap_pad(), NULL, kek, NULL) == 1 &&
                        EVP_EncryptUpdate(c, wrapped + n, &l1, material, sizeof material) == 1 &&
                        EVP_EncryptFinal_ex(c, wrapped + n + l1, &l2) == 1);
            EVP_CIPHER_CTX_free(c);
            n += (size_t)(l1 + l2);
        }
        EXPECT_OK(core_buf_init_secret(&mat, 4096));
        EXPECT_OK(kms_import_unwrap(&t, core_cursor_from(wrapped, n), &mat));
        EXPECT_BYTES_EQ(mat.data, mat.len, material, sizeof material);
        wrapped[n - 1] ^= 1; /* the AES part or the OAEP block: either way no material */
        EXPECT_ERR(kms_import_unwrap(&t, core_cursor_from(wrapped, n), &mat), ERR_BAD_CIPHERTEXT);
        EXPECT_ERR(kms_import_unwrap(&t, core_cursor_from(wrapped, 5), &mat), ERR_BAD_CIPHERTEXT);
        core_buf_free(&mat);
        core_buf_free(&t.der);
        core_buf_free(&pub);
    }
}

static void test_material_id(void)
{
    uint8_t a[32], b[32], c[32];
    EXPECT_OK(kms_import_material_id("k1", core_cursor_str("material-one-32-bytes-long......"), a));
    EXPECT_OK(kms_import_material_id("k1", core_cursor_str("material-one-32-bytes-long......"), b));
    EXPECT_OK(kms_import_material_id("k2", core_cursor_str("material-one-32-bytes-long......"), c));
    EXPECT_BYTES_EQ(a, 32, b, 32);
    EXPECT_TRUE(!core_ct_equal(a, c, 32)); /* the key id is part of it */
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    test_seal_open();
    test_unwrap();
    test_material_id();
    TEST_MAIN_END();
}
