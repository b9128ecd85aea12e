/*
 * Imported key material: import tokens, wrapping keys, unwrapping, the
 * KeyMaterialId, and the per-key import record. kms_import.h has the
 * contract; the operations are kms_get_parameters_for_import.c,
 * kms_import_key_material.c and kms_delete_imported_key_material.c.
 *
 * Import token (opaque to clients; CiphertextType, at most 6144 bytes):
 *
 *   "KIT1" | nonce (12) | AES-256-GCM( u8 spec | u8 alg | be64 expires
 *          | u8 rid length | rid | be16 der length | der ) | tag (16)
 *
 * with "KIT1" as associated data. The key is derived from the keystore's
 * sealed grant-token key with its own label, so every process sharing the
 * keystore opens every token and nothing else opens them. The wrapping
 * private key lives only inside the token: the server keeps no state per
 * GetParametersForImport call, and a token is the proof it was issued for
 * that key, that spec and algorithm, and until when.
 */
#include <stdio.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "kms/kms_import.h"

const char *const kms_wrap_spec_names[] = {"RSA_2048", "RSA_3072", "RSA_4096", "SM2", NULL};
const char *const kms_wrap_alg_names[] = {"RSAES_PKCS1_V1_5",       "RSAES_OAEP_SHA_1",         "RSAES_OAEP_SHA_256",
                                          "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256", "SM2PKE",
                                          NULL};

static const char token_magic[4] = {'K', 'I', 'T', '1'};
#define TOKEN_NONCE 12u
#define TOKEN_TAG 16u
#define DER_MAX 4096u

core_result kms_import_token_key(const struct kms_env *env, struct core_secret *out)
{
    static const char label[] = "kmsd import token v1";
    struct core_cursor k = core_secret_cursor(&env->grant_token_key);
    ENSURE(k.len == 32, ERR_INVALID_ARG);
    GUARD(core_secret_alloc(out, 32));
    size_t n = 0;
    ENSURE(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k.ptr, k.len, (const unsigned char *)label,
                     sizeof label - 1, out->ptr, 32, &n) != NULL &&
               n == 32,
           ERR_CRYPTO);
    CORE_OK;
}

core_result kms_import_token_seal(struct core_cursor key, const struct kms_import_token *t, struct core_buf *out)
{
    ENSURE(key.len == 32, ERR_INVALID_ARG);
    size_t rl = strlen(t->rid);
    ENSURE(rl < 128 && t->der.len <= DER_MAX, ERR_LIMIT);
    DEFER_CLEANUP(struct core_buf pt = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&pt, 1 + 1 + 8 + 1 + rl + 2 + t->der.len));
    GUARD(core_buf_append_u8(&pt, t->spec));
    GUARD(core_buf_append_u8(&pt, t->alg));
    GUARD(core_buf_append_be64(&pt, (uint64_t)t->expires));
    GUARD(core_buf_append_u8(&pt, (uint8_t)rl));
    GUARD(core_buf_append(&pt, t->rid, rl));
    GUARD(core_buf_append_be16(&pt, (uint16_t)t->der.len));
    GUARD(core_buf_append_cursor(&pt, core_buf_cursor(&t->der)));
    return kms_import_token_seal_raw(key, core_buf_cursor(&pt), out);
}

core_result kms_import_token_seal_raw(struct core_cursor key, struct core_cursor pt_in, struct core_buf *out)
{
    ENSURE(key.len == 32, ERR_INVALID_ARG);
    ENSURE(sizeof token_magic + TOKEN_NONCE + pt_in.len + TOKEN_TAG <= KMS_IMPORT_TOKEN_MAX, ERR_LIMIT);

    uint8_t nonce[TOKEN_NONCE], tag[TOKEN_TAG];
    core_random(nonce, sizeof nonce);
    GUARD(core_buf_append(out, token_magic, sizeof token_magic));
    GUARD(core_buf_append(out, nonce, sizeof nonce));
    size_t at = out->len;
    for (size_t i = 0; i < pt_in.len; i++) GUARD(core_buf_append_u8(out, 0)); /* room for the ciphertext */
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    ENSURE(c != NULL, ERR_NOMEM);
    int len = 0, fin = 0;
    bool ok = EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key.ptr, nonce) == 1 &&
              EVP_EncryptUpdate(c, NULL, &len, (const unsigned char *)token_magic, sizeof token_magic) == 1 &&
              EVP_EncryptUpdate(c, out->data + at, &len, pt_in.ptr, (int)pt_in.len) == 1 &&
              (size_t)len == pt_in.len &&
              EVP_EncryptFinal_ex(c, out->data + at + len, &fin) == 1 && fin == 0 &&
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TOKEN_TAG, tag) == 1;
    EVP_CIPHER_CTX_free(c);
    ENSURE(ok, ERR_CRYPTO);
    return core_buf_append(out, tag, sizeof tag);
}

core_result kms_import_token_open(struct core_cursor key, struct core_cursor blob, struct kms_import_token *t)
{
    ENSURE(key.len == 32, ERR_INVALID_ARG);
    ENSURE(blob.len > sizeof token_magic + TOKEN_NONCE + TOKEN_TAG && blob.len <= KMS_IMPORT_TOKEN_MAX,
           ERR_BAD_CIPHERTEXT);
    ENSURE(core_cursor_eq(core_cursor_from(blob.ptr, sizeof token_magic),
                          core_cursor_from(token_magic, sizeof token_magic)),
           ERR_BAD_CIPHERTEXT);
    const uint8_t *nonce = blob.ptr + sizeof token_magic;
    const uint8_t *ct = nonce + TOKEN_NONCE;
    size_t ctlen = blob.len - sizeof token_magic - TOKEN_NONCE - TOKEN_TAG;
    uint8_t tag[TOKEN_TAG];
    memcpy(tag, ct + ctlen, TOKEN_TAG);
    DEFER_CLEANUP(struct core_buf pt = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&pt, ctlen));
    for (size_t i = 0; i < ctlen; i++) GUARD(core_buf_append_u8(&pt, 0));
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    ENSURE(c != NULL, ERR_NOMEM);
    int len = 0, fin = 0;
    bool ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key.ptr, nonce) == 1 &&
              EVP_DecryptUpdate(c, NULL, &len, (const unsigned char *)token_magic, sizeof token_magic) == 1 &&
              EVP_DecryptUpdate(c, pt.data, &len, ct, (int)ctlen) == 1 &&
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TOKEN_TAG, tag) == 1 &&
              EVP_DecryptFinal_ex(c, pt.data + len, &fin) == 1;
    EVP_CIPHER_CTX_free(c);
    ENSURE(ok, ERR_BAD_CIPHERTEXT); /* pt is wiped by its cleanup */

    /* Authentic: the layout is ours, but parse it defensively all the same. */
    struct core_cursor p = core_buf_cursor(&pt), rid, der;
    uint64_t exp;
    uint8_t rl;
    uint16_t dl;
    ENSURE(core_ok(core_cursor_read_u8(&p, &t->spec)) && core_ok(core_cursor_read_u8(&p, &t->alg)) &&
               core_ok(core_cursor_read_be64(&p, &exp)) && core_ok(core_cursor_read_u8(&p, &rl)) &&
               rl < sizeof t->rid && core_ok(core_cursor_advance(&p, rl, &rid)) &&
               core_ok(core_cursor_read_be16(&p, &dl)) && dl <= DER_MAX && core_ok(core_cursor_advance(&p, dl, &der)) &&
               p.len == 0 && t->spec <= KMS_WRAP_SM2 && t->alg <= KMS_ALG_SM2PKE,
           ERR_BAD_CIPHERTEXT);
    t->expires = (int64_t)exp;
    memcpy(t->rid, rid.ptr, rid.len);
    t->rid[rid.len] = 0;
    core_buf_reset(&t->der);
    return core_buf_append_cursor(&t->der, der);
}

/* ---- wrapping keys ------------------------------------------------------------------------- */

core_result kms_import_keypair(uint8_t spec, struct core_buf *priv, struct core_buf *pub)
{
    EVP_PKEY *pk = NULL;
    if (spec == KMS_WRAP_SM2) {
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
    } else {
        size_t bits = spec == KMS_WRAP_RSA_2048 ? 2048 : spec == KMS_WRAP_RSA_3072 ? 3072 : 4096;
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
    }
    ENSURE(pk != NULL, ERR_CRYPTO);
    unsigned char *d = NULL;
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pk);
    int n = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &d) : -1;
    PKCS8_PRIV_KEY_INFO_free(p8);
    core_result r = {ERR_CRYPTO};
    if (n > 0 && (size_t)n <= DER_MAX) r = core_buf_append(priv, d, (size_t)n);
    if (d) OPENSSL_clear_free(d, n > 0 ? (size_t)n : 0);
    d = NULL;
    if (core_ok(r)) {
        n = i2d_PUBKEY(pk, &d);
        r = n > 0 ? core_buf_append(pub, d, (size_t)n) : (core_result){ERR_CRYPTO};
        OPENSSL_free(d);
    }
    EVP_PKEY_free(pk);
    return r;
}

static EVP_PKEY *load_private(const struct kms_import_token *t)
{
    const unsigned char *p = t->der.data;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)t->der.len);
    if (p8 == NULL) return NULL;
    EVP_PKEY *pk = EVP_PKCS82PKEY(p8);
    PKCS8_PRIV_KEY_INFO_free(p8);
    return pk;
}

/* RSA-OAEP (md for both OAEP and MGF1) or SM2 public-key decryption into out. */
static core_result pkey_decrypt(EVP_PKEY *pk, uint8_t alg, struct core_cursor in, struct core_buf *out)
{
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    ENSURE(pc != NULL, ERR_NOMEM);
    bool sha1 = alg == KMS_ALG_RSAES_OAEP_SHA_1 || alg == KMS_ALG_RSA_AES_KEY_WRAP_SHA_1;
    bool ok = EVP_PKEY_decrypt_init(pc) == 1;
    if (ok && alg != KMS_ALG_SM2PKE)
        ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_oaep_md(pc, sha1 ? EVP_sha1() : EVP_sha256()) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pc, sha1 ? EVP_sha1() : EVP_sha256()) == 1;
    size_t n = 0;
    ok = ok && EVP_PKEY_decrypt(pc, NULL, &n, in.ptr, in.len) == 1 && n <= out->max;
    core_result r = ok ? core_result_ok() : (core_result){ERR_CRYPTO};
    if (core_ok(r)) {
        core_buf_reset(out);
        for (size_t i = 0; i < n && core_ok(r); i++) r = core_buf_append_u8(out, 0);
    }
    if (core_ok(r) && EVP_PKEY_decrypt(pc, out->data, &n, in.ptr, in.len) == 1) {
        out->len = n;
    } else if (core_ok(r)) {
        r.err = ERR_BAD_CIPHERTEXT;
    }
    EVP_PKEY_CTX_free(pc);
    if (!core_ok(r)) core_buf_reset(out);
    if (r.err == ERR_CRYPTO) r.err = ERR_BAD_CIPHERTEXT;
    return r;
}

/* RFC 5649 AES key wrap with padding (OpenSSL id-aes256-wrap-pad), as `openssl enc -id-aes256-wrap-pad`. */
static core_result kwp_unwrap(struct core_cursor kek, struct core_cursor in, struct core_buf *out)
{
    ENSURE(kek.len == 32 && in.len >= 16 && in.len % 8 == 0 && in.len - 8 <= out->max, ERR_BAD_CIPHERTEXT);
    core_buf_reset(out);
    for (size_t i = 0; i < in.len; i++) GUARD(core_buf_append_u8(out, 0));
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    ENSURE(c != NULL, ERR_NOMEM);
    EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    int len = 0, fin = 0;
    bool ok = EVP_DecryptInit_ex(c, EVP_aes_256_wrap_pad(), NULL, kek.ptr, NULL) == 1 &&
              EVP_DecryptUpdate(c, out->data, &len, in.ptr, (int)in.len) == 1 && len >= 0 &&
              EVP_DecryptFinal_ex(c, out->data + len, &fin) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        core_wipe(out->data, out->len);
        core_buf_reset(out);
        BAIL(ERR_BAD_CIPHERTEXT);
    }
    size_t n = (size_t)len + (size_t)fin;
    core_wipe(out->data + n, out->len - n);
    out->len = n;
    CORE_OK;
}

core_result kms_import_unwrap(const struct kms_import_token *t, struct core_cursor wrapped, struct core_buf *material)
{
    EVP_PKEY *pk = load_private(t);
    ENSURE(pk != NULL, ERR_CRYPTO);
    core_result r;
    if (t->alg == KMS_ALG_RSA_AES_KEY_WRAP_SHA_1 || t->alg == KMS_ALG_RSA_AES_KEY_WRAP_SHA_256) {
        /* "the RSA-wrapped AES key followed by the AES-wrapped key material": the first part is as long
         * as the modulus.
         * https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-encrypt-key-material.html */
        size_t mod = (size_t)EVP_PKEY_get_size(pk);
        if (wrapped.len <= mod) {
            EVP_PKEY_free(pk);
            BAIL(ERR_BAD_CIPHERTEXT);
        }
        DEFER_CLEANUP(struct core_buf kek = {0}, core_buf_cleanup);
        r = core_buf_init_secret(&kek, 512);
        if (core_ok(r)) r = pkey_decrypt(pk, t->alg, core_cursor_from(wrapped.ptr, mod), &kek);
        if (core_ok(r) && kek.len != 32) r.err = ERR_BAD_CIPHERTEXT;
        if (core_ok(r))
            r = kwp_unwrap(core_buf_cursor(&kek), core_cursor_from(wrapped.ptr + mod, wrapped.len - mod), material);
    } else if (t->alg == KMS_ALG_RSAES_OAEP_SHA_1 || t->alg == KMS_ALG_RSAES_OAEP_SHA_256 ||
               t->alg == KMS_ALG_SM2PKE) {
        r = pkey_decrypt(pk, t->alg, wrapped, material);
    } else {
        r.err = ERR_BAD_CIPHERTEXT; /* RSAES_PKCS1_V1_5 tokens are never issued */
    }
    EVP_PKEY_free(pk);
    return r;
}

core_result kms_import_material_id(const char *key_id, struct core_cursor material, uint8_t out[KMS_MATERIAL_ID_BYTES])
{
    static const char label[] = "kmsd imported key material id v1";
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    ENSURE(c != NULL, ERR_NOMEM);
    unsigned n = 0;
    bool ok = EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(c, label, sizeof label) == 1 && EVP_DigestUpdate(c, key_id, strlen(key_id)) == 1 &&
              EVP_DigestUpdate(c, material.ptr, material.len) == 1 && EVP_DigestFinal_ex(c, out, &n) == 1 &&
              n == KMS_MATERIAL_ID_BYTES;
    EVP_MD_CTX_free(c);
    ENSURE(ok, ERR_CRYPTO);
    CORE_OK;
}

/* ---- the import record: table kms_import, id "<account>/<region>/<key-id>" ------------------ */

static const char tbl_import[] = "kms_import";
#define IMPORT_FORMAT 1u

core_result kms_import_load(struct keystore_txn *txn, struct kms_key *k)
{
    char rid[128];
    kms_key_record_id(k->account, k->region, k->key_id, rid);
    DEFER_CLEANUP(struct core_buf v = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&v, 64, 512));
    GUARD(keystore_get(txn, tbl_import, core_cursor_str(rid), &v));
    struct core_cursor c = core_buf_cursor(&v), d;
    uint8_t fmt, imported, model;
    uint64_t valid_to;
    uint16_t dl;
    GUARD(core_cursor_read_u8(&c, &fmt));
    ENSURE(fmt == IMPORT_FORMAT, ERR_PARSE);
    GUARD(core_cursor_read_u8(&c, &imported));
    GUARD(core_cursor_read_u8(&c, &model));
    GUARD(core_cursor_read_be64(&c, &valid_to));
    GUARD(core_cursor_read_be16(&c, &dl));
    ENSURE(dl < sizeof k->material_description, ERR_PARSE);
    GUARD(core_cursor_advance(&c, dl, &d));
    ENSURE(c.len == 0 && model <= KMS_EXP_DOES_NOT_EXPIRE, ERR_PARSE);
    k->imported = imported != 0;
    k->expiration_model = model;
    k->valid_to = (int64_t)valid_to;
    memcpy(k->material_description, d.ptr, d.len);
    k->material_description[d.len] = 0;
    CORE_OK;
}

core_result kms_import_save(struct keystore_txn *txn, const struct kms_key *k)
{
    char rid[128];
    kms_key_record_id(k->account, k->region, k->key_id, rid);
    DEFER_CLEANUP(struct core_buf v = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&v, 64, 512));
    size_t dl = strnlen(k->material_description, sizeof k->material_description - 1);
    GUARD(core_buf_append_u8(&v, IMPORT_FORMAT));
    GUARD(core_buf_append_u8(&v, k->imported ? 1 : 0));
    GUARD(core_buf_append_u8(&v, k->expiration_model));
    GUARD(core_buf_append_be64(&v, (uint64_t)k->valid_to));
    GUARD(core_buf_append_be16(&v, (uint16_t)dl));
    GUARD(core_buf_append(&v, k->material_description, dl));
    return keystore_put(txn, tbl_import, core_cursor_str(rid), core_buf_cursor(&v), 0);
}

/* ---- one record per key material: table kms_import_mat ------------------------------------
 *
 * "<account>/<region>/<key-id>/<version %08x>" for the key's material
 * versions and "<...>/pending" for new material imported for on-demand
 * rotation (KeyMaterialState PENDING_ROTATION), whose bytes wait in table
 * kms_import_pending (sealed by the keystore like every material) until
 * RotateKeyOnDemand makes them a version. Value: u8 format | u8 imported |
 * u8 expiration model | be64 ValidTo | be64 created | material id (32) |
 * be16 description length | description (at most 256 bytes). Keys imported before these records
 * existed have one version and the key-level record speaks for it.
 */

static const char tbl_mat[] = "kms_import_mat";
static const char tbl_pending[] = "kms_import_pending";
#define MAT_FORMAT 1u

static void mat_id(const struct kms_key *k, uint32_t n, char out[160])
{
    if (n == KMS_IMPORT_PENDING)
        snprintf(out, 160, "%s/%s/%s/pending", k->account, k->region, k->key_id);
    else
        snprintf(out, 160, "%s/%s/%s/%08x", k->account, k->region, k->key_id, n);
}

core_result kms_import_mat_get(struct keystore_txn *txn, const struct kms_key *k, uint32_t n, struct kms_import_mat *m)
{
    *m = (struct kms_import_mat){0};
    char id[160];
    mat_id(k, n, id);
    DEFER_CLEANUP(struct core_buf v = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&v, 64, 512));
    core_result r = keystore_get(txn, tbl_mat, core_cursor_str(id), &v);
    if (r.err == ERR_NOT_FOUND && n != KMS_IMPORT_PENDING && n <= k->n_versions) {
        /* Imported before per-material records: the key-level record. */
        m->imported = k->imported;
        m->model = k->expiration_model;
        m->valid_to = k->valid_to;
        snprintf(m->description, sizeof m->description, "%s", k->material_description);
        CORE_OK;
    }
    GUARD(r);
    struct core_cursor c = core_buf_cursor(&v), d, mid;
    uint8_t fmt, imported;
    uint16_t dl;
    uint64_t valid_to, created;
    GUARD(core_cursor_read_u8(&c, &fmt));
    ENSURE(fmt == MAT_FORMAT, ERR_PARSE);
    GUARD(core_cursor_read_u8(&c, &imported));
    GUARD(core_cursor_read_u8(&c, &m->model));
    GUARD(core_cursor_read_be64(&c, &valid_to));
    GUARD(core_cursor_read_be64(&c, &created));
    GUARD(core_cursor_advance(&c, KMS_MATERIAL_ID_BYTES, &mid));
    GUARD(core_cursor_read_be16(&c, &dl));
    GUARD(core_cursor_advance(&c, dl, &d));
    ENSURE(c.len == 0 && dl < sizeof m->description && m->model <= KMS_EXP_DOES_NOT_EXPIRE, ERR_PARSE);
    m->imported = imported != 0;
    m->valid_to = (int64_t)valid_to;
    m->created = (int64_t)created;
    memcpy(m->material_id, mid.ptr, KMS_MATERIAL_ID_BYTES);
    memcpy(m->description, d.ptr, d.len);
    m->description[d.len] = 0;
    CORE_OK;
}

core_result kms_import_mat_put(struct keystore_txn *txn, const struct kms_key *k, uint32_t n,
                               const struct kms_import_mat *m)
{
    char id[160];
    mat_id(k, n, id);
    size_t dl = strnlen(m->description, sizeof m->description - 1);
    DEFER_CLEANUP(struct core_buf v = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&v, 64, 512));
    GUARD(core_buf_append_u8(&v, MAT_FORMAT));
    GUARD(core_buf_append_u8(&v, m->imported ? 1 : 0));
    GUARD(core_buf_append_u8(&v, m->model));
    GUARD(core_buf_append_be64(&v, (uint64_t)m->valid_to));
    GUARD(core_buf_append_be64(&v, (uint64_t)m->created));
    GUARD(core_buf_append(&v, m->material_id, KMS_MATERIAL_ID_BYTES));
    GUARD(core_buf_append_be16(&v, (uint16_t)dl));
    GUARD(core_buf_append(&v, m->description, dl));
    return keystore_put(txn, tbl_mat, core_cursor_str(id), core_buf_cursor(&v), 0);
}

bool kms_import_mat_live(const struct kms_import_mat *m, int64_t now)
{
    return m->imported && !(m->model == KMS_EXP_EXPIRES && m->valid_to <= now);
}

static void rid_of(const struct kms_key *k, char out[128]) { kms_key_record_id(k->account, k->region, k->key_id, out); }

core_result kms_import_pending_put(struct keystore_txn *txn, const struct kms_key *k, struct core_cursor material)
{
    char rid[128];
    rid_of(k, rid);
    return keystore_put(txn, tbl_pending, core_cursor_str(rid), material, 0);
}

core_result kms_import_pending_get(struct keystore_txn *txn, const struct kms_key *k, struct core_buf *out)
{
    char rid[128];
    rid_of(k, rid);
    GUARD(keystore_get(txn, tbl_pending, core_cursor_str(rid), out));
    ENSURE(out->len == KMS_MATERIAL_BYTES, ERR_TAMPERED);
    CORE_OK;
}

/* The pending material's bytes, destroyed (no copy stays in the data file); absent is fine. */
static core_result pending_bytes_destroy(struct keystore_txn *txn, const struct kms_key *k)
{
    char rid[128];
    rid_of(k, rid);
    core_result r = keystore_destroy(txn, tbl_pending, core_cursor_str(rid));
    if (r.err == ERR_NOT_FOUND) CORE_OK;
    return r;
}

core_result kms_import_pending_drop(struct keystore_txn *txn, const struct kms_key *k)
{
    GUARD(pending_bytes_destroy(txn, k));
    char id[160];
    mat_id(k, KMS_IMPORT_PENDING, id);
    core_result r = keystore_del(txn, tbl_mat, core_cursor_str(id));
    if (r.err == ERR_NOT_FOUND) CORE_OK;
    return r;
}

core_result kms_import_summary(struct keystore_txn *txn, struct kms_key *k, int64_t now)
{
    bool all = k->n_versions > 0;
    int64_t earliest = 0;
    char current[257] = {0};
    for (uint32_t n = 1; n <= k->n_versions; n++) {
        struct kms_import_mat m;
        GUARD(kms_import_mat_get(txn, k, n, &m));
        if (!kms_import_mat_live(&m, now)) all = false;
        if (m.imported && m.model == KMS_EXP_EXPIRES && (earliest == 0 || m.valid_to < earliest))
            earliest = m.valid_to;
        if (n == k->n_versions) memcpy(current, m.description, sizeof current);
    }
    k->imported = all;
    /* "ValidTo: The earliest time at which any imported key material permanently associated with this KMS key
     * expires" (API_KeyMetadata). */
    k->expiration_model = earliest ? KMS_EXP_EXPIRES : KMS_EXP_DOES_NOT_EXPIRE;
    k->valid_to = earliest;
    memcpy(k->material_description, current, sizeof k->material_description);
    /* "For symmetric encryption keys, you will need to import all of the key materials associated with the KMS
     * key to change its state to Enabled" (API_ImportKeyMaterial); a key missing any is unusable. A key pending
     * deletion stays so. */
    if (all && k->state == KMS_STATE_PENDING_IMPORT) k->state = KMS_STATE_ENABLED;
    if (!all && (k->state == KMS_STATE_ENABLED || k->state == KMS_STATE_DISABLED))
        k->state = KMS_STATE_PENDING_IMPORT;
    CORE_OK;
}

core_result kms_import_delete_version(struct keystore_txn *txn, struct kms_key *k, uint32_t n, int64_t now)
{
    ENSURE(n >= 1 && n <= k->n_versions, ERR_NOT_FOUND);
    struct kms_import_mat m;
    GUARD(kms_import_mat_get(txn, k, n, &m));
    GUARD(kms_material_del(txn, k, n));
    struct kms_key_version v;
    kms_key_version_at(k, n - 1, &v);
    memcpy(m.material_id, v.material_id, sizeof m.material_id);
    m.imported = false;
    GUARD(kms_import_mat_put(txn, k, n, &m));
    return kms_import_summary(txn, k, now);
}

core_result kms_import_destroy(struct keystore_txn *txn, const struct kms_key *k)
{
    char rid[128], prefix[136];
    rid_of(k, rid);
    core_result r = keystore_del(txn, tbl_import, core_cursor_str(rid));
    if (!core_ok(r) && r.err != ERR_NOT_FOUND) return r;
    GUARD(pending_bytes_destroy(txn, k));
    snprintf(prefix, sizeof prefix, "%s/", rid);
    return kms_delete_prefixed(txn, tbl_mat, prefix, 512, NULL, NULL);
}

/* The sweeper's step when ValidTo passed (kind 'E' due rows, kms_rotation.c): each material whose ValidTo
 * passed on the service clock is deleted, as is a pending one. */
core_result kms_import_material_delete(struct keystore_txn *txn, struct kms_key *k)
{
    int64_t now = core_clock_service();
    for (uint32_t n = 1; n <= k->n_versions; n++) {
        struct kms_import_mat m;
        GUARD(kms_import_mat_get(txn, k, n, &m));
        if (m.imported && !kms_import_mat_live(&m, now)) GUARD(kms_import_delete_version(txn, k, n, now));
    }
    struct kms_import_mat p;
    core_result r = kms_import_mat_get(txn, k, KMS_IMPORT_PENDING, &p);
    if (core_ok(r) && p.imported && !kms_import_mat_live(&p, now)) {
        GUARD(pending_bytes_destroy(txn, k));
        p.imported = false;
        GUARD(kms_import_mat_put(txn, k, KMS_IMPORT_PENDING, &p));
    } else if (!core_ok(r) && r.err != ERR_NOT_FOUND) {
        return r;
    }
    return kms_import_summary(txn, k, now);
}

core_result kms_import_rotate(struct keystore_txn *txn, struct kms_key *k, int64_t now)
{
    struct kms_import_mat p;
    GUARD(kms_import_mat_get(txn, k, KMS_IMPORT_PENDING, &p));
    ENSURE(kms_import_mat_live(&p, now), ERR_NOT_FOUND);
    DEFER_CLEANUP(struct core_buf mat = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&mat, KMS_MATERIAL_BYTES));
    GUARD(kms_import_pending_get(txn, k, &mat));
    GUARD(kms_key_add_material(txn, k, now, KMS_ROT_ON_DEMAND, core_buf_cursor(&mat), p.material_id));
    k->n_on_demand++;
    p.created = now;
    GUARD(kms_import_mat_put(txn, k, k->n_versions, &p));
    GUARD(kms_import_pending_drop(txn, k));
    GUARD(kms_import_summary(txn, k, now));
    /* The rotation counters reach a multi-Region primary's replicas; each replica imports the new material
     * itself (it holds no copy of imported material). */
    return kms_mrk_sync(txn, k);
}

/* ---- the key check shared by GetParametersForImport, ImportKeyMaterial and DeleteImportedKeyMaterial ---- */

core_result kms_import_key_check(struct kms_ctx *ctx, const struct kms_key *k)
{
    if (!k->external)
        return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION, "%s origin is AWS_KMS which is not valid for this operation.",
                        k->arn);
    /* Key states table: refused for a key pending deletion; a multi-Region primary scheduled for deletion with
     * replicas left (PendingReplicaDeletion) refuses what PendingDeletion refuses. */
    return kms_state_check(ctx, k, KMS_RULE_MANAGE);
}

/* ---- request members shared by ImportKeyMaterial and DeleteImportedKeyMaterial ------------------ */

static bool desc_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' || c == '/' ||
           c == '_' || c == '.' || c == '-' || c == ' ' || (c >= '\t' && c <= '\r');
}

core_result kms_import_param_description(struct kms_ctx *ctx, const json_t *in, struct core_cursor *out, bool *present)
{
    GUARD(kms_param_string(ctx, in, "KeyMaterialDescription", 0, 256, false, out, present));
    if (!*present) CORE_OK;
    /* KeyMaterialDescriptionType: pattern ^[a-zA-Z0-9:/_\s.-]+$ (a NUL is no \s). */
    bool ok = out->len > 0;
    for (size_t i = 0; i < out->len && ok; i++) ok = desc_char(out->ptr[i]);
    if (!ok) {
        kms_invalid_cursor(ctx, "KeyMaterialDescription", *out,
                           "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_\\s.-]+$");
        *present = false;
    }
    CORE_OK;
}

core_result kms_import_param_material_id(struct kms_ctx *ctx, const json_t *in, struct core_cursor *out, bool *present)
{
    GUARD(kms_param_string(ctx, in, "KeyMaterialId", 64, 64, false, out, present));
    if (!*present) CORE_OK;
    /* BackingKeyIdType: 64 characters, pattern ^[a-f0-9]+$. */
    bool ok = true;
    for (size_t i = 0; i < out->len && ok; i++)
        ok = (out->ptr[i] >= '0' && out->ptr[i] <= '9') || (out->ptr[i] >= 'a' && out->ptr[i] <= 'f');
    if (!ok) {
        kms_invalid_cursor(ctx, "KeyMaterialId", *out, "Member must satisfy regular expression pattern: ^[a-f0-9]+$");
        *present = false;
    }
    CORE_OK;
}
