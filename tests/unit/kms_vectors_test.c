/*
 * Ciphertext known-answer vectors (vectors/kms/ciphertext_v*.txt, made by
 * tools/gen_kms_vectors.py independently of this code). Every blob format
 * version ever shipped keeps its file here, so a future version that stops
 * decrypting old blobs fails this test.
 */
#include <dirent.h>
#include <openssl/evp.h>

#include "kms/kms_internal.h"
#include "tests/unit/kms_testutil.h"

struct stanza {
    char title[256];
    struct core_buf material, nonce, plaintext, blob, context;
    char account[32], region[64], key_id[64];
    uint64_t version;
    bool ok;
};

static void cstr(char *dst, size_t cap, struct core_cursor v)
{
    size_t n = v.len < cap - 1 ? v.len : cap - 1;
    memcpy(dst, v.ptr, n);
    dst[n] = 0;
}

static unsigned run_stanza(const EVP_CIPHER *cipher, struct stanza *s)
{
    struct kms_ct_header h;
    json_t *ec = NULL;
    DEFER_CLEANUP(struct core_buf aad = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_buf pt = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_buf again = {0}, core_buf_cleanup);
    EXPECT_OK(core_buf_init(&aad, 64, KMS_MAX_EC_BYTES + 2));
    EXPECT_OK(core_buf_init_secret(&pt, KMS_MAX_PLAINTEXT_BYTES + 32));
    EXPECT_OK(core_buf_init(&again, 256, KMS_MAX_CIPHERTEXT_BYTES));
    EXPECT_OK(core_json_parse(core_buf_cursor(&s->context), 8, &ec));
    EXPECT_OK(kms_ec_canonical(ec, &aad));
    json_decref(ec);
    core_result pr = kms_ct_parse(core_buf_cursor(&s->blob), &h);
    core_result r = pr;
    if (core_ok(pr))
        r = kms_ct_open(cipher, core_buf_cursor(&s->blob), &h, core_buf_cursor(&s->material), core_buf_cursor(&aad),
                        &pt);
    if (!s->ok) {
        if (r.err != ERR_BAD_CIPHERTEXT) TEST_FAIL("%s: expected ERR_BAD_CIPHERTEXT, got %s", s->title, core_err_name(r.err));
        if (pt.len != 0) TEST_FAIL("%s: plaintext left behind after a failure", s->title);
        return 1;
    }
    if (!core_ok(r)) {
        TEST_FAIL("%s: %s", s->title, core_err_name(r.err));
        return 1;
    }
    EXPECT_STR_EQ(h.account, s->account);
    EXPECT_STR_EQ(h.region, s->region);
    EXPECT_STR_EQ(h.key_id, s->key_id);
    EXPECT_TRUE(h.material_version == s->version);
    EXPECT_BYTES_EQ(h.nonce, sizeof h.nonce, s->nonce.data, s->nonce.len);
    EXPECT_BYTES_EQ(pt.data, pt.len, s->plaintext.data, s->plaintext.len);
    /* Encryption is a known answer too: same inputs and nonce, same blob. */
    EXPECT_OK(kms_ct_seal(cipher, &h, core_buf_cursor(&s->material), core_buf_cursor(&aad),
                          core_buf_cursor(&s->plaintext), &again));
    EXPECT_BYTES_EQ(again.data, again.len, s->blob.data, s->blob.len);
    return 1;
}

static unsigned run_file(const EVP_CIPHER *cipher, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        TEST_FAIL("cannot open %s", path);
        return 0;
    }
    struct stanza s = {0};
    EXPECT_OK(core_buf_init(&s.material, 64, 64));
    EXPECT_OK(core_buf_init(&s.nonce, 16, 64));
    EXPECT_OK(core_buf_init(&s.plaintext, 64, 8192));
    EXPECT_OK(core_buf_init(&s.blob, 64, 8192));
    EXPECT_OK(core_buf_init(&s.context, 64, 8192));
    static char line[32768];
    unsigned n = 0;
    while (fgets(line, sizeof line, f)) {
        struct core_cursor l = core_cursor_str(line), name, value;
        while (l.len && (l.ptr[l.len - 1] == '\n' || l.ptr[l.len - 1] == '\r')) l.len--;
        if (l.len == 0 || l.ptr[0] == '#') continue;
        if (!core_cursor_split(&l, '=', &name) || l.ptr == NULL) {
            TEST_FAIL("%s: bad line %s", path, line);
            continue;
        }
        name = core_cursor_trim(name);
        value = core_cursor_trim(l);
        bool ok = true;
        if (core_cursor_eq_str(name, "Title")) cstr(s.title, sizeof s.title, value);
        else if (core_cursor_eq_str(name, "Material")) ok = kmst_unhex(value, &s.material);
        else if (core_cursor_eq_str(name, "Account")) cstr(s.account, sizeof s.account, value);
        else if (core_cursor_eq_str(name, "Region")) cstr(s.region, sizeof s.region, value);
        else if (core_cursor_eq_str(name, "KeyId")) cstr(s.key_id, sizeof s.key_id, value);
        else if (core_cursor_eq_str(name, "Version")) ok = core_ok(core_cursor_to_u64(value, UINT32_MAX, &s.version));
        else if (core_cursor_eq_str(name, "Nonce")) ok = kmst_unhex(value, &s.nonce);
        else if (core_cursor_eq_str(name, "Context")) {
            core_buf_reset(&s.context);
            ok = core_ok(core_buf_append_cursor(&s.context, value));
        } else if (core_cursor_eq_str(name, "Plaintext")) ok = kmst_unhex(value, &s.plaintext);
        else if (core_cursor_eq_str(name, "Blob")) ok = kmst_unhex(value, &s.blob);
        else if (core_cursor_eq_str(name, "Result")) {
            s.ok = core_cursor_eq_str(value, "OK");
            n += run_stanza(cipher, &s);
        } else
            ok = false;
        if (!ok) TEST_FAIL("%s: cannot read %s", path, line);
    }
    fclose(f);
    core_buf_free(&s.material);
    core_buf_free(&s.nonce);
    core_buf_free(&s.plaintext);
    core_buf_free(&s.blob);
    core_buf_free(&s.context);
    return n;
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    EXPECT_TRUE(cipher != NULL);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/kms", test_vectors_dir);
    DIR *d = opendir(dir);
    unsigned files = 0, stanzas = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "ciphertext_v", 12) != 0 || len < 5 || strcmp(e->d_name + len - 4, ".txt") != 0)
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        stanzas += run_file(cipher, path);
        files++;
    }
    if (d) closedir(d);
    if (files == 0 || stanzas < 10) TEST_FAIL("too few vectors: %u files, %u stanzas in %s", files, stanzas, dir);
    printf("kms vectors: %u files, %u stanzas\n", files, stanzas);
    EVP_CIPHER_free(cipher);
    TEST_MAIN_END();
}
