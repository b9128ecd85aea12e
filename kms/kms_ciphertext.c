#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "kms/kms_internal.h"

/*
 * Ciphertext blobs (docs/ciphertext.md has the byte diagram):
 *
 *   u8 version (1) | account (12 ASCII digits) | u8 region length | region
 *   | key id (16 bytes, the UUID) | be32 material version | nonce (12)
 *   | AES-256-GCM ciphertext | tag (16)
 *
 * The associated data is every header byte (version through nonce) followed
 * by the canonical encryption context, so the key, the material version and
 * the context are all authenticated: a changed context, key id or version
 * fails the tag check like a flipped ciphertext byte.
 *
 * Format version 2 is format 1 for a multi-Region key: the 16 key-id bytes
 * are the 32 hex digits after "mrk-", and the leading byte tells the parser
 * which form to rebuild. Related multi-Region keys share the key id and
 * material, so a related key in another Region finds and opens the blob
 * (docs/ciphertext.md). A new leading byte, not a flag inside format 1, so
 * every format-1 blob ever written parses exactly as before.
 *
 * Each thread keeps one EVP_CIPHER_CTX (re-initialised per message; the
 * cipher is fetched once per env), freed when the thread exits.
 */

static pthread_key_t tl_key;
static pthread_once_t tl_once = PTHREAD_ONCE_INIT;

static void tl_free(void *p) { EVP_CIPHER_CTX_free(p); }
static void tl_init(void) { (void)pthread_key_create(&tl_key, tl_free); }

static EVP_CIPHER_CTX *thread_ctx(void)
{
    pthread_once(&tl_once, tl_init);
    EVP_CIPHER_CTX *c = pthread_getspecific(tl_key);
    if (c == NULL) {
        c = EVP_CIPHER_CTX_new();
        if (c && pthread_setspecific(tl_key, c) != 0) {
            EVP_CIPHER_CTX_free(c);
            c = NULL;
        }
    }
    return c;
}

/* The cipher to pass when (re)initialising c for a message: NULL once c already holds it, so
 * OpenSSL keeps the provider context and sets only the key and nonce (and direction) again,
 * instead of resetting and recreating it per message (issue 14: half of the AEAD's cost). */
static const EVP_CIPHER *cipher_for(EVP_CIPHER_CTX *c, const EVP_CIPHER *cipher)
{
    return EVP_CIPHER_CTX_get0_cipher(c) == cipher ? NULL : cipher;
}

/* ---- encryption context ------------------------------------------------------ */

struct ec_pair {
    const char *key;
    size_t klen;
    const json_t *value;
};

static int pair_cmp(const void *a, const void *b)
{
    const struct ec_pair *x = a, *y = b;
    return core_cursor_cmp(core_cursor_from(x->key, x->klen), core_cursor_from(y->key, y->klen));
}

core_result kms_ec_canonical(const json_t *ec, struct core_buf *out)
{
    size_t n = ec ? json_object_size(ec) : 0;
    ENSURE(n <= 0xffff, ERR_LIMIT);
    GUARD(core_buf_append_be16(out, (uint16_t)n));
    if (n == 0) CORE_OK;
    ENSURE(json_is_object(ec), ERR_INVALID_ARG);
    ENSURE(n <= KMS_MAX_EC_PAIRS, ERR_LIMIT);
    struct ec_pair pairs[KMS_MAX_EC_PAIRS];
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)(uintptr_t)ec, k, v)
    {
        ENSURE(json_is_string(v), ERR_INVALID_ARG);
        pairs[i++] = (struct ec_pair){k, strlen(k), v};
    }
    qsort(pairs, n, sizeof pairs[0], pair_cmp);
    size_t start = out->len;
    for (i = 0; i < n; i++) {
        size_t vl = json_string_length(pairs[i].value);
        ENSURE(pairs[i].klen <= 0xffff && vl <= 0xffff, ERR_LIMIT);
        GUARD(core_buf_append_be16(out, (uint16_t)pairs[i].klen));
        GUARD(core_buf_append(out, pairs[i].key, pairs[i].klen));
        GUARD(core_buf_append_be16(out, (uint16_t)vl));
        GUARD(core_buf_append(out, json_string_value(pairs[i].value), vl));
        ENSURE(out->len - start <= KMS_MAX_EC_BYTES, ERR_LIMIT);
    }
    CORE_OK;
}

core_result kms_ec_aad(struct kms_ctx *ctx, const json_t *ec, struct core_buf *aad)
{
    GUARD(core_buf_init(aad, 64, KMS_MAX_EC_BYTES + 2));
    if (!core_ok(kms_ec_canonical(ec, aad)))
        return kms_fail(ctx, KMS_E_VALIDATION, "%s", "The encryption context exceeds the size limit.");
    CORE_OK;
}

/* ---- header ------------------------------------------------------------------ */

static core_result uuid_to_bytes(const char *id, uint8_t out[16])
{
    size_t j = 0;
    for (size_t i = 0; id[i] && j < 32; i++) {
        char c = id[i];
        if (c == '-') continue;
        int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                                 : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                                                          : -1;
        ENSURE(v >= 0, ERR_INVALID_ARG);
        if (j % 2 == 0)
            out[j / 2] = (uint8_t)(v << 4);
        else
            out[j / 2] |= (uint8_t)v;
        j++;
    }
    ENSURE(j == 32, ERR_INVALID_ARG);
    CORE_OK;
}

static void bytes_to_uuid(const uint8_t b[16], char out[KMS_KEY_ID_LEN + 1])
{
    _Static_assert(KMS_KEY_ID_LEN == 36, "a key id is a UUID's text");
    core_uuid_text(b, out); /* snprintf's "%02x" x16 cost a tenth of a Decrypt's own work */
}

static void bytes_to_mrk(const uint8_t b[16], char out[KMS_KEY_ID_LEN + 1])
{
    static const char hx[] = "0123456789abcdef";
    memcpy(out, "mrk-", 4);
    for (size_t i = 0; i < 16; i++) {
        out[4 + 2 * i] = hx[b[i] >> 4];
        out[5 + 2 * i] = hx[b[i] & 15];
    }
    out[KMS_KEY_ID_LEN] = 0;
}

static core_result write_header(const struct kms_ct_header *h, struct core_buf *out)
{
    size_t alen = strlen(h->account), rlen = strlen(h->region);
    ENSURE(alen == 12 && rlen >= 1 && rlen < 32, ERR_INVALID_ARG);
    uint8_t kid[16];
    /* The key id's form picks the version: a multi-Region key's blob is format 2. */
    bool mrk = strncmp(h->key_id, "mrk-", 4) == 0;
    ENSURE(!mrk || strlen(h->key_id) == KMS_KEY_ID_LEN, ERR_INVALID_ARG);
    GUARD(uuid_to_bytes(mrk ? h->key_id + 4 : h->key_id, kid));
    GUARD(core_buf_append_u8(out, mrk ? KMS_CT_VERSION_MRK : KMS_CT_VERSION));
    GUARD(core_buf_append(out, h->account, 12));
    GUARD(core_buf_append_u8(out, (uint8_t)rlen));
    GUARD(core_buf_append(out, h->region, rlen));
    GUARD(core_buf_append(out, kid, sizeof kid));
    GUARD(core_buf_append_be32(out, h->material_version));
    return core_buf_append(out, h->nonce, KMS_CT_NONCE_BYTES);
}

core_result kms_ct_parse(struct core_cursor blob, struct kms_ct_header *h)
{
    struct core_cursor c = blob, acct, region, kid, nonce;
    uint8_t rlen;
    *h = (struct kms_ct_header){0};
    ENSURE(core_ok(core_cursor_read_u8(&c, &h->version)) &&
               (h->version == KMS_CT_VERSION || h->version == KMS_CT_VERSION_MRK),
           ERR_BAD_CIPHERTEXT);
    ENSURE(core_ok(core_cursor_advance(&c, 12, &acct)), ERR_BAD_CIPHERTEXT);
    for (size_t i = 0; i < 12; i++) ENSURE(acct.ptr[i] >= '0' && acct.ptr[i] <= '9', ERR_BAD_CIPHERTEXT);
    ENSURE(core_ok(core_cursor_read_u8(&c, &rlen)) && rlen >= 1 && rlen < 32, ERR_BAD_CIPHERTEXT);
    ENSURE(core_ok(core_cursor_advance(&c, rlen, &region)), ERR_BAD_CIPHERTEXT);
    for (size_t i = 0; i < rlen; i++) {
        uint8_t ch = region.ptr[i];
        ENSURE((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-', ERR_BAD_CIPHERTEXT);
    }
    ENSURE(core_ok(core_cursor_advance(&c, 16, &kid)), ERR_BAD_CIPHERTEXT);
    ENSURE(core_ok(core_cursor_read_be32(&c, &h->material_version)) && h->material_version >= 1,
           ERR_BAD_CIPHERTEXT);
    ENSURE(core_ok(core_cursor_advance(&c, KMS_CT_NONCE_BYTES, &nonce)), ERR_BAD_CIPHERTEXT);
    ENSURE(c.len >= KMS_CT_TAG_BYTES, ERR_BAD_CIPHERTEXT);
    memcpy(h->account, acct.ptr, 12);
    h->account[12] = 0;
    memcpy(h->region, region.ptr, rlen);
    h->region[rlen] = 0;
    if (h->version == KMS_CT_VERSION_MRK)
        bytes_to_mrk(kid.ptr, h->key_id);
    else
        bytes_to_uuid(kid.ptr, h->key_id);
    memcpy(h->nonce, nonce.ptr, KMS_CT_NONCE_BYTES);
    h->header_len = blob.len - c.len;
    CORE_OK;
}

/* ---- AEAD ---------------------------------------------------------------------- */

/*
 * AES-256-GCM through libsodium when the CPU has AES-NI and PCLMUL (issue 14, round 5): the same
 * function as OpenSSL's EVP AES-256-GCM (kms_vectors_test checks the known answers, and
 * kms_ciphertext_paths_test each path against the other), at a third of the instructions for a
 * KMS-sized message, most of EVP's cost being the provider's parameter lookups when a key is set.
 * libsodium takes the associated data in one piece, so the header and the canonical context are
 * joined on the stack when they fit KMS_CT_FAST_AAD_BYTES; a larger context, or a CPU without the
 * instructions, takes the EVP path. The expanded key lives on the stack and is wiped after each
 * message (EVP's per-thread context kept it until the next one).
 */
#define KMS_CT_FAST_AAD_BYTES 1024u

/* Joins a || b into buf (KMS_CT_FAST_AAD_BYTES) and returns its length, or 0 when they do not fit or
 * the instructions are missing (then the EVP path runs). */
static size_t fast_aad(struct core_cursor a, struct core_cursor b, uint8_t buf[KMS_CT_FAST_AAD_BYTES])
{
    if (a.len > KMS_CT_FAST_AAD_BYTES || b.len > KMS_CT_FAST_AAD_BYTES - a.len) return 0;
    if (!crypto_aead_aes256gcm_is_available()) return 0;
    _Static_assert(KMS_MATERIAL_BYTES == crypto_aead_aes256gcm_KEYBYTES, "AES-256 keys");
    _Static_assert(KMS_CT_NONCE_BYTES == crypto_aead_aes256gcm_NPUBBYTES, "96-bit nonces");
    _Static_assert(KMS_CT_TAG_BYTES == crypto_aead_aes256gcm_ABYTES, "128-bit tags");
    memcpy(buf, a.ptr, a.len);
    if (b.len) memcpy(buf + a.len, b.ptr, b.len);
    return a.len + b.len;
}

core_result kms_ct_seal(const EVP_CIPHER *cipher, const struct kms_ct_header *h, struct core_cursor material,
                        struct core_cursor ec_canonical, struct core_cursor plaintext, struct core_buf *out)
{
    ENSURE(material.len == KMS_MATERIAL_BYTES, ERR_INVALID_ARG);
    ENSURE(plaintext.len <= KMS_MAX_PLAINTEXT_BYTES, ERR_LIMIT);
    EVP_CIPHER_CTX *c = thread_ctx();
    ENSURE(c != NULL, ERR_NOMEM);
    size_t start = out->len;
    GUARD(write_header(h, out));
    size_t hlen = out->len - start;
    GUARD(core_buf_reserve(out, plaintext.len + KMS_CT_TAG_BYTES));
    uint8_t aad[KMS_CT_FAST_AAD_BYTES];
    size_t aad_len = fast_aad(core_cursor_from(out->data + start, hlen), ec_canonical, aad);
    if (aad_len) {
        crypto_aead_aes256gcm_state st;
        unsigned long long tag_len = 0;
        int rc = crypto_aead_aes256gcm_beforenm(&st, material.ptr);
        if (rc == 0)
            rc = crypto_aead_aes256gcm_encrypt_detached_afternm(out->data + out->len, out->data + out->len + plaintext.len,
                                                                &tag_len, plaintext.ptr, plaintext.len, aad, aad_len,
                                                                NULL, h->nonce, &st);
        core_wipe(&st, sizeof st);
        ENSURE(rc == 0 && tag_len == KMS_CT_TAG_BYTES, ERR_CRYPTO);
        out->len += plaintext.len + KMS_CT_TAG_BYTES;
        CORE_OK;
    }
    int n = 0;
    GUARD_OSSL(EVP_EncryptInit_ex2(c, cipher_for(c, cipher), material.ptr, h->nonce, NULL), ERR_CRYPTO);
    GUARD_OSSL(EVP_EncryptUpdate(c, NULL, &n, out->data + start, (int)hlen), ERR_CRYPTO);
    if (ec_canonical.len) GUARD_OSSL(EVP_EncryptUpdate(c, NULL, &n, ec_canonical.ptr, (int)ec_canonical.len), ERR_CRYPTO);
    if (plaintext.len) {
        GUARD_OSSL(EVP_EncryptUpdate(c, out->data + out->len, &n, plaintext.ptr, (int)plaintext.len), ERR_CRYPTO);
        out->len += (size_t)n;
    }
    GUARD_OSSL(EVP_EncryptFinal_ex(c, out->data + out->len, &n), ERR_CRYPTO);
    out->len += (size_t)n;
    GUARD_OSSL(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, KMS_CT_TAG_BYTES, out->data + out->len), ERR_CRYPTO);
    out->len += KMS_CT_TAG_BYTES;
    CORE_OK;
}

core_result kms_ct_open(const EVP_CIPHER *cipher, struct core_cursor blob, const struct kms_ct_header *h,
                        struct core_cursor material, struct core_cursor ec_canonical, struct core_buf *plaintext)
{
    ENSURE(material.len == KMS_MATERIAL_BYTES, ERR_BAD_CIPHERTEXT);
    ENSURE(blob.len >= h->header_len + KMS_CT_TAG_BYTES, ERR_BAD_CIPHERTEXT);
    size_t clen = blob.len - h->header_len - KMS_CT_TAG_BYTES;
    ENSURE(clen <= KMS_MAX_PLAINTEXT_BYTES, ERR_BAD_CIPHERTEXT);
    EVP_CIPHER_CTX *c = thread_ctx();
    ENSURE(c != NULL, ERR_BAD_CIPHERTEXT);
    core_buf_reset(plaintext);
    ENSURE(core_ok(core_buf_reserve(plaintext, clen + 16)), ERR_BAD_CIPHERTEXT);
    uint8_t aad[KMS_CT_FAST_AAD_BYTES];
    size_t aad_len = fast_aad(core_cursor_from(blob.ptr, h->header_len), ec_canonical, aad);
    if (aad_len) {
        /* libsodium checks the tag before it returns success, and clears the output when it fails. */
        crypto_aead_aes256gcm_state st;
        int rc = crypto_aead_aes256gcm_beforenm(&st, material.ptr);
        if (rc == 0)
            rc = crypto_aead_aes256gcm_decrypt_detached_afternm(plaintext->data, NULL, blob.ptr + h->header_len, clen,
                                                                blob.ptr + h->header_len + clen, aad, aad_len,
                                                                h->nonce, &st);
        core_wipe(&st, sizeof st);
        if (rc != 0) {
            core_wipe(plaintext->data, clen + 16);
            core_buf_reset(plaintext);
            BAIL(ERR_BAD_CIPHERTEXT);
        }
        plaintext->len = clen;
        CORE_OK;
    }
    uint8_t tag[KMS_CT_TAG_BYTES];
    memcpy(tag, blob.ptr + h->header_len + clen, KMS_CT_TAG_BYTES);
    int n = 0;
    bool ok = EVP_DecryptInit_ex2(c, cipher_for(c, cipher), material.ptr, h->nonce, NULL) == 1 &&
              EVP_DecryptUpdate(c, NULL, &n, blob.ptr, (int)h->header_len) == 1 &&
              (ec_canonical.len == 0 || EVP_DecryptUpdate(c, NULL, &n, ec_canonical.ptr, (int)ec_canonical.len) == 1);
    size_t got = 0;
    if (ok && clen) {
        ok = EVP_DecryptUpdate(c, plaintext->data, &n, blob.ptr + h->header_len, (int)clen) == 1;
        got = (size_t)n;
    }
    ok = ok && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, KMS_CT_TAG_BYTES, tag) == 1;
    /* Output is untrusted until Final verifies the tag. */
    ok = ok && EVP_DecryptFinal_ex(c, plaintext->data + got, &n) == 1;
    core_wipe(tag, sizeof tag);
    if (!ok) {
        core_wipe(plaintext->data, clen + 16);
        core_buf_reset(plaintext);
        BAIL(ERR_BAD_CIPHERTEXT);
    }
    plaintext->len = got + (size_t)n;
    CORE_OK;
}

core_result kms_encrypt_with_key(struct kms_ctx *ctx, struct keystore_txn *txn, const struct kms_key *key,
                                 struct core_cursor ec_canonical, struct core_cursor plaintext, struct core_buf *blob)
{
    GUARD(kms_symmetric_usage_check(ctx, key));
    struct kms_ct_header h = {.version = kms_mrk_key_id(key->key_id) ? KMS_CT_VERSION_MRK : KMS_CT_VERSION,
                              .material_version = key->n_versions};
    core_str_copy(h.account, sizeof h.account, key->account);
    core_str_copy(h.region, sizeof h.region, key->region);
    core_str_copy(h.key_id, sizeof h.key_id, key->key_id);
    /* "a fresh random 96-bit nonce per message" */
    core_random(h.nonce, sizeof h.nonce);
    DEFER_CLEANUP(struct core_buf mat = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&mat, KMS_MATERIAL_BYTES));
    core_result r = kms_material_get(txn, key, key->n_versions, &mat);
    if (!core_ok(r)) return kms_internal(ctx, r, "reading key material");
    r = kms_ct_seal(ctx->env->aes_gcm, &h, core_buf_cursor(&mat), ec_canonical, plaintext, blob);
    if (!core_ok(r)) return kms_internal(ctx, r, "sealing");
    CORE_OK;
}
