/*
 * Imported key material never reaches the disk in the clear: an ECC private
 * key (PKCS#8), an HMAC key and a symmetric key are imported through the
 * handlers (GetParametersForImport, the client-side RSA_AES_KEY_WRAP_SHA_256
 * wrapping, ImportKeyMaterial), used, then the raw LMDB data file is scanned
 * for the DER, the private scalar and the raw keys. The key ids, which are
 * LMDB record ids and so plaintext by design, must be found: the scan reads
 * the right file.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "kms/kms_internal.h"
#include "tests/unit/kms_testutil.h"

static struct kmst kt;

static json_t *ok(const char *op, const char *body) { return kmst_ok(&kt, op, body); }

static void b64(const uint8_t *p, size_t n, struct core_buf *out)
{
    core_buf_reset(out);
    EXPECT_OK(core_buf_append_base64(out, core_cursor_from(p, n)));
    EXPECT_OK(core_buf_terminate(out));
}

/* The developer guide's RSA_AES_KEY_WRAP_SHA_256: RSA-OAEP(SHA-256) of an AES key, then RFC 5649 of the material. */
static size_t wrap(const uint8_t *pub_der, size_t pub_len, const uint8_t *mat, size_t n, uint8_t *out)
{
    const unsigned char *p = pub_der;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)pub_len);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pk, NULL);
    uint8_t aes[32];
    core_random(aes, sizeof aes);
    size_t rl = 1024;
    EXPECT_TRUE(c && EVP_PKEY_encrypt_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1 &&
                EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) == 1 &&
                EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()) == 1 && EVP_PKEY_encrypt(c, out, &rl, aes, 32) == 1);
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(pk);
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    EVP_CIPHER_CTX_set_flags(x, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    int l1 = 0, l2 = 0;
    EXPECT_TRUE(EVP_EncryptInit_ex(x, EVP_aes_256_wrap_pad(), NULL, aes, NULL) == 1 &&
                EVP_EncryptUpdate(x, out + rl, &l1, mat, (int)n) == 1 && EVP_EncryptFinal_ex(x, out + rl + l1, &l2) == 1);
    EVP_CIPHER_CTX_free(x);
    return rl + (size_t)l1 + (size_t)l2;
}

static void import(const char *spec_usage, const uint8_t *mat, size_t n, char kid[64])
{
    char body[4096];
    snprintf(body, sizeof body, "{\"Origin\":\"EXTERNAL\"%s}", spec_usage);
    json_t *k = ok("CreateKey", body);
    snprintf(kid, 64, "%s", json_string_value(json_object_get(json_object_get(k, "KeyMetadata"), "KeyId")));
    json_decref(k);
    snprintf(body, sizeof body,
             "{\"KeyId\":\"%s\",\"WrappingAlgorithm\":\"RSA_AES_KEY_WRAP_SHA_256\",\"WrappingKeySpec\":\"RSA_2048\"}", kid);
    json_t *p = ok("GetParametersForImport", body);
    struct core_buf pub, w64, b;
    EXPECT_OK(core_buf_init(&pub, 512, 4096));
    EXPECT_OK(core_buf_init(&w64, 4096, 16384));
    EXPECT_OK(core_buf_init(&b, 8192, 32768));
    const char *pub64 = json_string_value(json_object_get(p, "PublicKey"));
    EXPECT_OK(core_buf_append_unbase64(&pub, core_cursor_str(pub64 ? pub64 : "")));
    uint8_t wrapped[4096];
    size_t wl = wrap(pub.data, pub.len, mat, n, wrapped);
    b64(wrapped, wl, &w64);
    EXPECT_OK(core_buf_printf(&b, "{\"KeyId\":\"%s\",\"ImportToken\":\"%s\",\"EncryptedKeyMaterial\":\"%s\","
                                  "\"ExpirationModel\":\"KEY_MATERIAL_DOES_NOT_EXPIRE\"}",
                              kid, json_string_value(json_object_get(p, "ImportToken")), (char *)w64.data));
    EXPECT_OK(core_buf_terminate(&b));
    json_decref(ok("ImportKeyMaterial", (char *)b.data));
    json_decref(p);
    core_buf_free(&pub);
    core_buf_free(&w64);
    core_buf_free(&b);
}

/* NOT CONSTANT TIME: a test scanning its own file. */
static bool contains(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
    for (size_t i = 0; m && i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0) return true;
    return false;
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    if (!kmst_open(&kt, "kms-scan")) return 2;
    kt.now = core_clock_service();
    char file[PATH_MAX + 32];
    snprintf(file, sizeof file, "%s/data.mdb", kt.dir);

    /* An ECC private key as PKCS#8 DER, and its private scalar. */
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    unsigned char *der = NULL;
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(ec);
    int der_len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
    PKCS8_PRIV_KEY_INFO_free(p8);
    BIGNUM *d = NULL;
    uint8_t scalar[32];
    EXPECT_TRUE(der_len > 0 && EVP_PKEY_get_bn_param(ec, OSSL_PKEY_PARAM_PRIV_KEY, &d) == 1 &&
                BN_bn2binpad(d, scalar, sizeof scalar) == 32);
    uint8_t hmac_key[64], sym[32];
    core_random(hmac_key, sizeof hmac_key);
    core_random(sym, sizeof sym);

    char kid_ec[64] = "", kid_hmac[64] = "", kid_sym[64] = "";
    if (kt.ks && kt.env && der_len > 0) {
        import(",\"KeySpec\":\"ECC_NIST_P256\",\"KeyUsage\":\"SIGN_VERIFY\"", der, (size_t)der_len, kid_ec);
        import(",\"KeySpec\":\"HMAC_512\",\"KeyUsage\":\"GENERATE_VERIFY_MAC\"", hmac_key, sizeof hmac_key, kid_hmac);
        import("", sym, sizeof sym, kid_sym);
        /* the keys are usable: the material is in the keystore */
        char body[256];
        snprintf(body, sizeof body, "{\"KeyId\":\"%s\",\"Message\":\"aGk=\",\"SigningAlgorithm\":\"ECDSA_SHA_256\"}",
                 kid_ec);
        json_decref(ok("Sign", body));
        snprintf(body, sizeof body, "{\"KeyId\":\"%s\",\"Message\":\"aGk=\",\"MacAlgorithm\":\"HMAC_SHA_512\"}",
                 kid_hmac);
        json_decref(ok("GenerateMac", body));
    }
    kmst_env_close(&kt);

    int fd = open(file, O_RDONLY);
    struct stat st;
    EXPECT_TRUE(fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0);
    struct core_buf raw;
    EXPECT_OK(core_buf_init(&raw, (size_t)st.st_size, (size_t)st.st_size));
    ssize_t got = fd >= 0 ? read(fd, raw.data, (size_t)st.st_size) : -1;
    if (fd >= 0) close(fd);
    EXPECT_TRUE(got == st.st_size);
    raw.len = got > 0 ? (size_t)got : 0;
    /* the control: record ids are plaintext, so each key id is there */
    EXPECT_TRUE(contains(raw.data, raw.len, kid_ec, strlen(kid_ec)));
    EXPECT_TRUE(contains(raw.data, raw.len, kid_hmac, strlen(kid_hmac)));
    /* the material is not, in any form the client sent */
    EXPECT_TRUE(!contains(raw.data, raw.len, der, (size_t)der_len));
    EXPECT_TRUE(!contains(raw.data, raw.len, scalar, sizeof scalar));
    EXPECT_TRUE(!contains(raw.data, raw.len, scalar, 16));
    EXPECT_TRUE(!contains(raw.data, raw.len, hmac_key, 16));
    EXPECT_TRUE(!contains(raw.data, raw.len, sym, 16));
    core_buf_free(&raw);
    OPENSSL_clear_free(der, der_len > 0 ? (size_t)der_len : 0);
    BN_clear_free(d);
    EVP_PKEY_free(ec);
    kmst_rmrf(&kt);
    TEST_MAIN_END();
}
