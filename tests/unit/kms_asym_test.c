/*
 * Asymmetric and HMAC keys (issue 11), without sockets:
 *  - known answers from vectors/kms/asym_kat.txt: RFC 4231 HMAC, RFC 8032
 *    Ed25519ph, RSASSA-PKCS1-v1_5 with a fixed key (signatures made by
 *    python cryptography), each also checked by verification and with a
 *    flipped bit refused;
 *  - the raw LMDB data file, after keys of every spec were created through
 *    the handlers, holds none of the private or HMAC key material (read back
 *    through the keystore, then searched for in the file's bytes).
 */
#include <openssl/x509.h>

#include "kms/kms_asym.h"
#include "tests/unit/kms_testutil.h"

static size_t index_of(const char *const *names, struct core_cursor v)
{
    for (size_t i = 0; names[i]; i++)
        if (core_cursor_eq_str(v, names[i])) return i;
    return SIZE_MAX;
}

static unsigned run_stanza(const char *title, struct core_cursor alg, const struct core_buf *key,
                           const struct core_buf *msg, const struct core_buf *expect)
{
    size_t mac_alg = index_of(kms_mac_alg_names, alg);
    if (mac_alg != SIZE_MAX) {
        uint8_t mac[KMS_MAX_MAC];
        size_t n = 0;
        EXPECT_OK(kms_hmac((unsigned)mac_alg, core_buf_cursor(key), core_buf_cursor(msg), mac, &n));
        EXPECT_BYTES_EQ(mac, n, expect->data, expect->len);
        return 1;
    }
    size_t sig_alg = index_of(kms_sig_alg_names, alg);
    if (sig_alg == SIZE_MAX) {
        TEST_FAIL("%s: unknown algorithm", title);
        return 0;
    }
    EVP_PKEY *pkey = NULL;
    if (sig_alg == KMS_SIG_ED25519_PH_SHA_512) {
        pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, key->data, key->len);
    } else {
        const unsigned char *p = key->data;
        PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)key->len);
        pkey = p8 ? EVP_PKCS82PKEY(p8) : NULL;
        PKCS8_PRIV_KEY_INFO_free(p8);
    }
    if (pkey == NULL) {
        TEST_FAIL("%s: key does not parse", title);
        return 0;
    }
    struct core_buf sig = {0};
    EXPECT_OK(core_buf_init(&sig, 64, KMS_MAX_SIGNATURE));
    /* RAW (the algorithm hashes), then DIGEST (the caller's hash): the same deterministic signature. */
    EXPECT_OK(kms_asym_sign(pkey, (unsigned)sig_alg, false, core_buf_cursor(msg), &sig));
    EXPECT_BYTES_EQ(sig.data, sig.len, expect->data, expect->len);
    uint8_t d[64];
    unsigned int dl = 0;
    size_t want = kms_sig_alg_digest_len((unsigned)sig_alg);
    const EVP_MD *md = want == 32 ? EVP_sha256() : want == 48 ? EVP_sha384() : EVP_sha512();
    EXPECT_TRUE(EVP_Digest(msg->data, msg->len, d, &dl, md, NULL) == 1 && dl == want);
    core_buf_reset(&sig);
    EXPECT_OK(kms_asym_sign(pkey, (unsigned)sig_alg, true, core_cursor_from(d, dl), &sig));
    EXPECT_BYTES_EQ(sig.data, sig.len, expect->data, expect->len);
    bool valid = false;
    EXPECT_OK(kms_asym_verify(pkey, (unsigned)sig_alg, false, core_buf_cursor(msg), core_buf_cursor(expect), &valid));
    EXPECT_TRUE(valid);
    expect->data[expect->len / 2] ^= 0x01;
    EXPECT_OK(kms_asym_verify(pkey, (unsigned)sig_alg, false, core_buf_cursor(msg), core_buf_cursor(expect), &valid));
    EXPECT_TRUE(!valid);
    expect->data[expect->len / 2] ^= 0x01;
    EXPECT_OK(kms_asym_verify(pkey, (unsigned)sig_alg, true, core_cursor_from(d, dl), core_buf_cursor(expect), &valid));
    EXPECT_TRUE(valid);
    core_buf_free(&sig);
    EVP_PKEY_free(pkey);
    return 1;
}

static void test_vectors(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/kms/asym_kat.txt", test_vectors_dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        TEST_FAIL("cannot open %s", path);
        return;
    }
    struct core_buf key = {0}, msg = {0}, expect = {0};
    EXPECT_OK(core_buf_init(&key, 64, 8192));
    EXPECT_OK(core_buf_init(&msg, 64, 8192));
    EXPECT_OK(core_buf_init(&expect, 64, 8192));
    static char line[16384];
    char title[256] = "", alg[64] = "";
    unsigned n = 0, hmac = 0;
    while (fgets(line, sizeof line, f)) {
        struct core_cursor l = core_cursor_str(line), name, value;
        while (l.len && (l.ptr[l.len - 1] == '\n' || l.ptr[l.len - 1] == '\r')) l.len--;
        if (l.len == 0 || l.ptr[0] == '#') continue;
        if (!core_cursor_split(&l, '=', &name) || l.ptr == NULL) {
            TEST_FAIL("bad line %s", line);
            continue;
        }
        name = core_cursor_trim(name);
        value = core_cursor_trim(l);
        bool ok = true;
        if (core_cursor_eq_str(name, "Title"))
            snprintf(title, sizeof title, "%.*s", (int)value.len, (const char *)value.ptr);
        else if (core_cursor_eq_str(name, "Alg"))
            snprintf(alg, sizeof alg, "%.*s", (int)value.len, (const char *)value.ptr);
        else if (core_cursor_eq_str(name, "Key"))
            ok = kmst_unhex(value, &key);
        else if (core_cursor_eq_str(name, "Msg"))
            ok = kmst_unhex(value, &msg);
        else if (core_cursor_eq_str(name, "Expect")) {
            ok = kmst_unhex(value, &expect);
            if (ok) n += run_stanza(title, core_cursor_str(alg), &key, &msg, &expect);
            if (strncmp(alg, "HMAC", 4) == 0) hmac++;
        } else
            ok = false;
        if (!ok) TEST_FAIL("cannot read %s", line);
    }
    fclose(f);
    EXPECT_TRUE(hmac == 24); /* six RFC 4231 cases x four hashes */
    EXPECT_TRUE(n == 28);
    core_buf_free(&key);
    core_buf_free(&msg);
    core_buf_free(&expect);
}

/* ---- the data file holds no key material ------------------------------------------------ */

static struct kmst kt;

static json_t *call(const char *op, const char *body) { return kmst_ok(&kt, op, body); }

/* True when the n bytes of needle occur in the file's bytes. */
static bool file_contains(const struct core_buf *file, const uint8_t *needle, size_t n)
{
    for (size_t i = 0; i + n <= file->len; i++)
        if (file->data[i] == needle[0] && core_ct_equal(file->data + i, needle, n)) return true;
    return false;
}

static void test_no_material_on_disk(const char *dir)
{
    static const char *const combos[][2] = {
        {"RSA_2048", "SIGN_VERIFY"},        {"RSA_3072", "ENCRYPT_DECRYPT"},   {"RSA_4096", "SIGN_VERIFY"},
        {"ECC_NIST_P256", "SIGN_VERIFY"},   {"ECC_NIST_P384", "KEY_AGREEMENT"}, {"ECC_NIST_P521", "SIGN_VERIFY"},
        {"ECC_SECG_P256K1", "SIGN_VERIFY"}, {"ECC_NIST_EDWARDS25519", "SIGN_VERIFY"},
        {"HMAC_224", "GENERATE_VERIFY_MAC"}, {"HMAC_256", "GENERATE_VERIFY_MAC"},
        {"HMAC_384", "GENERATE_VERIFY_MAC"}, {"HMAC_512", "GENERATE_VERIFY_MAC"},
    };
    enum { N = sizeof combos / sizeof combos[0] };
    char ids[N][64];
    for (size_t i = 0; i < N; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"KeySpec\":\"%s\",\"KeyUsage\":\"%s\"}", combos[i][0], combos[i][1]);
        json_t *j = call("CreateKey", body);
        snprintf(ids[i], sizeof ids[i], "%s",
                 j ? json_string_value(json_object_get(json_object_get(j, "KeyMetadata"), "KeyId")) : "");
        json_decref(j);
    }
    /* The whole data file, as written. */
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    FILE *f = fopen(path, "rb");
    EXPECT_TRUE(f != NULL);
    if (!f) return;
    struct core_buf file = {0};
    EXPECT_OK(core_buf_init(&file, 1 << 20, (size_t)1 << 30));
    uint8_t chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) EXPECT_OK(core_buf_append(&file, chunk, got));
    fclose(f);
    EXPECT_TRUE(file.len > 0);
    /* The scan finds what is there: each key id is an LMDB key, in plain text. */
    EXPECT_TRUE(file_contains(&file, (const uint8_t *)ids[0], strlen(ids[0])));

    struct keystore_txn *txn = NULL;
    EXPECT_OK(keystore_txn_begin(kt.ks, false, &txn));
    unsigned checked = 0;
    for (size_t i = 0; i < N && txn; i++) {
        struct kms_key k;
        EXPECT_OK(kms_key_init(&k));
        EXPECT_OK(kms_key_get(txn, kt.caller.account, kt.caller.region, ids[i], &k));
        struct core_buf mat = {0};
        EXPECT_OK(core_buf_init_secret(&mat, KMS_MAX_PRIVATE_DER));
        EXPECT_OK(kms_material_get_any(txn, &k, 1, &mat));
        EXPECT_TRUE(mat.len >= 28);
        /* Neither the material nor any 16-byte window of it. */
        bool found = file_contains(&file, mat.data, mat.len);
        for (size_t off = 0; !found && off + 16 <= mat.len; off += 8) found = file_contains(&file, mat.data + off, 16);
        if (found) TEST_FAIL("key material of %s found in data.mdb", combos[i][0]);
        checked++;
        core_buf_free(&mat);
        kms_key_free(&k);
    }
    if (txn) keystore_txn_abort(txn);
    EXPECT_TRUE(checked == N);
    core_buf_free(&file);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    test_vectors();

    if (!kmst_open(&kt, "kms-asym")) return 2;
    if (kt.ks && kt.env) test_no_material_on_disk(kt.dir);
    kmst_env_close(&kt);
    kms_asym_shutdown();
    kmst_rmrf(&kt);
    TEST_MAIN_END();
}
