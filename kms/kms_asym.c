#include <pthread.h>
#include <stdio.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "kms/kms_asym.h"

/*
 * Asymmetric and HMAC keys.
 *
 * Material. A key's private material is one record per version in table
 * kms_material, like symmetric material, so the keystore seals it: PKCS#8
 * DER of the private key for asymmetric specs, the raw HMAC key for HMAC
 * specs. It is read into secret (guarded, wiped) buffers only.
 *
 * Parsed keys. Parsing DER on every Sign would cost more than the
 * signature, so each process keeps the EVP_PKEY of each key version it used
 * last in a small cache (KMS_PKEY_CACHE entries, round-robin replacement),
 * keyed by the material record id. OpenSSL's secure heap is switched on
 * first, so the private big numbers and EdDSA scalars of these keys live
 * in locked, wiped memory too (CRYPTO_secure_malloc_init). Keys are never
 * reused after deletion: a deleted key's id is never minted again.
 */

const char *const kms_key_spec_names[] = {
    "RSA_2048",  "RSA_3072",  "RSA_4096",  "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521",
    "ECC_SECG_P256K1", "SYMMETRIC_DEFAULT", "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512",
    "SM2", "ML_DSA_44", "ML_DSA_65", "ML_DSA_87", "ECC_NIST_EDWARDS25519", NULL};
const char *const kms_key_usage_names[] = {"SIGN_VERIFY", "ENCRYPT_DECRYPT", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT",
                                           NULL};
const char *const kms_sig_alg_names[] = {
    "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512", "ECDSA_SHA_256", "ECDSA_SHA_384",
    "ECDSA_SHA_512", "SM2DSA", "ML_DSA_SHAKE_256", "ED25519_SHA_512", "ED25519_PH_SHA_512", NULL};
const char *const kms_mac_alg_names[] = {"HMAC_SHA_224", "HMAC_SHA_256", "HMAC_SHA_384", "HMAC_SHA_512", NULL};
const char *const kms_message_types[] = {"RAW", "DIGEST", "EXTERNAL_MU", NULL};

const char *kms_spec_name(uint8_t spec) { return spec < KMS_SPEC_COUNT ? kms_key_spec_names[spec] : "SYMMETRIC_DEFAULT"; }
const char *kms_usage_name(uint8_t usage)
{
    return usage < KMS_USAGE_COUNT ? kms_key_usage_names[usage] : "ENCRYPT_DECRYPT";
}
bool kms_spec_is_hmac(uint8_t spec) { return spec >= KMS_SPEC_HMAC_224 && spec <= KMS_SPEC_HMAC_512; }
bool kms_spec_is_rsa(uint8_t spec) { return spec <= KMS_SPEC_RSA_4096; }
static bool spec_is_nist(uint8_t spec) { return spec >= KMS_SPEC_ECC_NIST_P256 && spec <= KMS_SPEC_ECC_NIST_P521; }
static bool spec_is_ml_dsa(uint8_t spec) { return spec >= KMS_SPEC_ML_DSA_44 && spec <= KMS_SPEC_ML_DSA_87; }

size_t kms_hmac_key_bytes(uint8_t spec)
{
    /* "HMAC_224 ... HMAC_512: the key length in bits is the number in the
     * key spec" (developer guide, HMAC key specs). */
    switch (spec) {
    case KMS_SPEC_HMAC_224: return 28;
    case KMS_SPEC_HMAC_256: return 32;
    case KMS_SPEC_HMAC_384: return 48;
    case KMS_SPEC_HMAC_512: return 64;
    }
    return 0;
}

/*
 * Which KeyUsage each KeySpec takes, from "Choosing a KMS key type":
 * symmetric ENCRYPT_DECRYPT; HMAC GENERATE_VERIFY_MAC; RSA ENCRYPT_DECRYPT
 * or SIGN_VERIFY; NIST ECC SIGN_VERIFY or KEY_AGREEMENT; secp256k1, ML-DSA
 * and Ed25519 SIGN_VERIFY; SM2 (China Regions) all three.
 * https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html
 */
bool kms_usage_fits(uint8_t spec, uint8_t usage)
{
    bool enc = usage == KMS_USAGE_ENCRYPT_DECRYPT, sign = usage == KMS_USAGE_SIGN_VERIFY,
         mac = usage == KMS_USAGE_GENERATE_VERIFY_MAC, agree = usage == KMS_USAGE_KEY_AGREEMENT;
    if (spec == KMS_SPEC_SYMMETRIC_DEFAULT) return enc;
    if (kms_spec_is_hmac(spec)) return mac;
    if (kms_spec_is_rsa(spec)) return enc || sign;
    if (spec_is_nist(spec)) return sign || agree;
    if (spec == KMS_SPEC_SM2) return enc || sign || agree;
    return sign; /* ECC_SECG_P256K1, ML_DSA_*, ECC_NIST_EDWARDS25519 */
}

static const char *ml_dsa_name(uint8_t spec)
{
    return spec == KMS_SPEC_ML_DSA_44 ? "ML-DSA-44" : spec == KMS_SPEC_ML_DSA_65 ? "ML-DSA-65" : "ML-DSA-87";
}

bool kms_spec_available(uint8_t spec, const char **why)
{
    *why = NULL;
    if (!spec_is_ml_dsa(spec)) return true;
    /* Never faked: ML-DSA only when the OpenSSL in use offers it. */
    EVP_PKEY_CTX *p = EVP_PKEY_CTX_new_from_name(NULL, ml_dsa_name(spec), NULL);
    if (p != NULL) {
        EVP_PKEY_CTX_free(p);
        return true;
    }
    ERR_clear_error();
    *why = "the OpenSSL library this server runs with does not offer ML-DSA (OpenSSL 3.5 or later does)";
    return false;
}

/* ---- secure heap ---------------------------------------------------------- */

static pthread_once_t heap_once = PTHREAD_ONCE_INIT;
static void heap_init(void)
{
    /* Private key numbers (BN_secure_new) and EdDSA scalars go to the
     * secure heap once it exists; if mlock is refused OpenSSL still uses
     * it, unlocked, and wipes on free. */
    if (!CRYPTO_secure_malloc_initialized()) (void)CRYPTO_secure_malloc_init(1u << 20, 16);
}

/* ---- key generation ---------------------------------------------------------- */

static core_result keygen_now(uint8_t spec, EVP_PKEY **out)
{
    pthread_once(&heap_once, heap_init);
    EVP_PKEY *k = NULL;
    switch (spec) {
    case KMS_SPEC_RSA_2048: k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048); break;
    case KMS_SPEC_RSA_3072: k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072); break;
    case KMS_SPEC_RSA_4096: k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096); break;
    case KMS_SPEC_ECC_NIST_P256: k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"); break;
    case KMS_SPEC_ECC_NIST_P384: k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"); break;
    case KMS_SPEC_ECC_NIST_P521: k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521"); break;
    case KMS_SPEC_ECC_SECG_P256K1: k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1"); break;
    case KMS_SPEC_SM2: k = EVP_PKEY_Q_keygen(NULL, NULL, "SM2"); break;
    case KMS_SPEC_ECC_NIST_EDWARDS25519: k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"); break;
    case KMS_SPEC_ML_DSA_44:
    case KMS_SPEC_ML_DSA_65:
    case KMS_SPEC_ML_DSA_87: k = EVP_PKEY_Q_keygen(NULL, NULL, ml_dsa_name(spec)); break;
    default: BAIL(ERR_INVALID_ARG);
    }
    if (k == NULL) {
        ERR_clear_error();
        BAIL(ERR_CRYPTO);
    }
    *out = k;
    CORE_OK;
}

/*
 * The RSA pool. "KMS ... generates RSA key pairs in advance" is why an RSA
 * CreateKey or GenerateDataKeyPair answers quickly on AWS; here a
 * background thread keeps up to KMS_RSA_POOL pairs of each size ready, as
 * PKCS#8 DER in guarded memory (core_secret). Taking one is a pop and a
 * DER parse; an empty pool generates inline.
 */
#define KMS_RSA_POOL 2u
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;
static struct core_secret pool[3][KMS_RSA_POOL];
static size_t pool_n[3];
static uint64_t pool_hits; /* requests served from the pool (kms_asym_pool_hits) */
static bool pool_started, pool_stop;
static pthread_t pool_thread;

static core_result pkey_from_der(struct core_cursor der, EVP_PKEY **out)
{
    const unsigned char *p = der.ptr;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)der.len);
    EVP_PKEY *k = p8 ? EVP_PKCS82PKEY(p8) : NULL;
    PKCS8_PRIV_KEY_INFO_free(p8); /* wipes (PKCS8_PRIV_KEY_INFO's ASN.1 is sensitive) */
    if (k == NULL) {
        ERR_clear_error();
        BAIL(ERR_TAMPERED);
    }
    *out = k;
    CORE_OK;
}

static void *pool_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&pool_lock);
    while (!pool_stop) {
        int want = -1;
        for (int i = 0; i < 3 && want < 0; i++)
            if (pool_n[i] < KMS_RSA_POOL) want = i;
        if (want < 0) {
            pthread_cond_wait(&pool_cond, &pool_lock);
            continue;
        }
        pthread_mutex_unlock(&pool_lock);
        EVP_PKEY *k = NULL;
        struct core_secret der = {0};
        bool ok = core_ok(keygen_now((uint8_t)want, &k)) && core_ok(kms_asym_private_der(k, &der));
        EVP_PKEY_free(k);
        pthread_mutex_lock(&pool_lock);
        if (ok && pool_n[want] < KMS_RSA_POOL)
            pool[want][pool_n[want]++] = der;
        else
            core_secret_free(&der);
        if (!ok) pthread_cond_wait(&pool_cond, &pool_lock); /* do not spin on a failing generator */
    }
    pthread_mutex_unlock(&pool_lock);
    return NULL;
}

static bool pool_take(uint8_t spec, struct core_secret *der)
{
    pthread_mutex_lock(&pool_lock);
    if (!pool_started && !pool_stop) {
        pool_started = pthread_create(&pool_thread, NULL, pool_main, NULL) == 0;
    }
    bool got = false;
    if (pool_n[spec] > 0) {
        *der = pool[spec][--pool_n[spec]];
        pool[spec][pool_n[spec]] = (struct core_secret){0};
        got = true;
        pool_hits++;
    }
    pthread_cond_signal(&pool_cond);
    pthread_mutex_unlock(&pool_lock);
    return got;
}

uint64_t kms_asym_pool_hits(void)
{
    pthread_mutex_lock(&pool_lock);
    uint64_t n = pool_hits;
    pthread_mutex_unlock(&pool_lock);
    return n;
}

size_t kms_asym_pool_ready(uint8_t spec)
{
    if (!kms_spec_is_rsa(spec)) return 0;
    pthread_mutex_lock(&pool_lock);
    size_t n = pool_n[spec];
    pthread_mutex_unlock(&pool_lock);
    return n;
}

core_result kms_asym_keygen(uint8_t spec, EVP_PKEY **out)
{
    if (kms_spec_is_rsa(spec)) {
        DEFER_CLEANUP(struct core_secret der = {0}, core_secret_cleanup);
        if (pool_take(spec, &der)) return pkey_from_der(core_secret_cursor(&der), out);
    }
    return keygen_now(spec, out);
}

core_result kms_asym_private_der(EVP_PKEY *pkey, struct core_secret *out)
{
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pkey);
    if (p8 == NULL) {
        ERR_clear_error();
        BAIL(ERR_CRYPTO);
    }
    int len = i2d_PKCS8_PRIV_KEY_INFO(p8, NULL);
    core_result r = (len > 0 && (size_t)len <= KMS_MAX_PRIVATE_DER) ? core_secret_alloc(out, (size_t)len)
                                                                     : (core_result){ERR_CRYPTO};
    if (core_ok(r)) {
        unsigned char *p = out->ptr;
        if (i2d_PKCS8_PRIV_KEY_INFO(p8, &p) != len) {
            core_secret_free(out);
            r = (core_result){ERR_CRYPTO};
        }
    }
    PKCS8_PRIV_KEY_INFO_free(p8);
    ERR_clear_error();
    return r;
}

core_result kms_asym_spec_of(EVP_PKEY *pkey, uint8_t *spec)
{
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        int bits = EVP_PKEY_get_bits(pkey);
        ENSURE(bits == 2048 || bits == 3072 || bits == 4096, ERR_INVALID_ARG);
        *spec = bits == 2048 ? KMS_SPEC_RSA_2048 : bits == 3072 ? KMS_SPEC_RSA_3072 : KMS_SPEC_RSA_4096;
        CORE_OK;
    }
    if (EVP_PKEY_is_a(pkey, "ED25519")) {
        *spec = KMS_SPEC_ECC_NIST_EDWARDS25519;
        CORE_OK;
    }
    if (EVP_PKEY_is_a(pkey, "SM2")) {
        *spec = KMS_SPEC_SM2;
        CORE_OK;
    }
    ENSURE(EVP_PKEY_is_a(pkey, "EC"), ERR_INVALID_ARG);
    char group[64] = {0};
    size_t glen = 0;
    if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &glen)) {
        ERR_clear_error();
        BAIL(ERR_INVALID_ARG);
    }
    struct core_cursor g = core_cursor_from(group, glen);
    if (core_cursor_eq_str(g, "prime256v1") || core_cursor_eq_str(g, "P-256")) *spec = KMS_SPEC_ECC_NIST_P256;
    else if (core_cursor_eq_str(g, "secp384r1") || core_cursor_eq_str(g, "P-384")) *spec = KMS_SPEC_ECC_NIST_P384;
    else if (core_cursor_eq_str(g, "secp521r1") || core_cursor_eq_str(g, "P-521")) *spec = KMS_SPEC_ECC_NIST_P521;
    else if (core_cursor_eq_str(g, "secp256k1")) *spec = KMS_SPEC_ECC_SECG_P256K1;
    else if (core_cursor_eq_str(g, "SM2")) *spec = KMS_SPEC_SM2;
    else BAIL(ERR_INVALID_ARG);
    CORE_OK;
}

core_result kms_asym_public_der(EVP_PKEY *pkey, struct core_buf *out)
{
    int len = i2d_PUBKEY(pkey, NULL);
    ENSURE(len > 0, ERR_CRYPTO);
    ENSURE((size_t)len <= KMS_MAX_PUBLIC_DER, ERR_LIMIT);
    GUARD(core_buf_reserve(out, (size_t)len));
    unsigned char *p = out->data + out->len;
    ENSURE(i2d_PUBKEY(pkey, &p) == len, ERR_CRYPTO);
    out->len += (size_t)len;
    CORE_OK;
}

core_result kms_asym_generate(uint8_t spec, struct core_secret *out)
{
    if (kms_spec_is_hmac(spec)) return core_secret_random(out, kms_hmac_key_bytes(spec));
    EVP_PKEY *k = NULL;
    GUARD(kms_asym_keygen(spec, &k));
    core_result r = kms_asym_private_der(k, out);
    EVP_PKEY_free(k);
    return r;
}

/* ---- parsed-key cache ----------------------------------------------------------- */

#define KMS_PKEY_CACHE 128u
struct pkey_entry {
    char id[160]; /* "<account>/<region>/<key-id>/<version>" */
    EVP_PKEY *pkey;
};
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pkey_entry cache[KMS_PKEY_CACHE];
static size_t cache_next;

static void cache_id(const struct kms_key *key, char out[160])
{
    snprintf(out, 160, "%s/%s/%s/%08x", key->account, key->region, key->key_id, key->n_versions);
}

static EVP_PKEY *cache_get(const char *id)
{
    EVP_PKEY *k = NULL;
    size_t n = strlen(id);
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < KMS_PKEY_CACHE; i++)
        if (cache[i].pkey && core_cursor_eq(core_cursor_str(cache[i].id), core_cursor_from(id, n))) {
            k = cache[i].pkey;
            EVP_PKEY_up_ref(k);
            break;
        }
    pthread_mutex_unlock(&cache_lock);
    return k;
}

static void cache_put(const char *id, EVP_PKEY *k)
{
    pthread_mutex_lock(&cache_lock);
    struct pkey_entry *e = &cache[cache_next];
    cache_next = (cache_next + 1) % KMS_PKEY_CACHE;
    EVP_PKEY_free(e->pkey);
    snprintf(e->id, sizeof e->id, "%s", id);
    EVP_PKEY_up_ref(k);
    e->pkey = k;
    pthread_mutex_unlock(&cache_lock);
}

core_result kms_asym_pkey(struct kms_ctx *ctx, struct keystore_txn *txn, const struct kms_key *key, EVP_PKEY **out)
{
    (void)ctx;
    ENSURE(!kms_spec_is_hmac(key->spec) && key->spec != KMS_SPEC_SYMMETRIC_DEFAULT, ERR_INVALID_ARG);
    char id[160];
    cache_id(key, id);
    EVP_PKEY *k = cache_get(id);
    if (k == NULL) {
        pthread_once(&heap_once, heap_init);
        DEFER_CLEANUP(struct core_buf der = {0}, core_buf_cleanup);
        GUARD(core_buf_init_secret(&der, KMS_MAX_PRIVATE_DER));
        GUARD(kms_material_get_any(txn, key, key->n_versions, &der));
        GUARD(pkey_from_der(core_buf_cursor(&der), &k));
        cache_put(id, k);
    }
    *out = k;
    CORE_OK;
}

core_result kms_asym_hmac_key(struct keystore_txn *txn, const struct kms_key *key, struct core_buf *out)
{
    GUARD(kms_material_get_any(txn, key, key->n_versions, out));
    ENSURE(out->len == kms_hmac_key_bytes(key->spec), ERR_TAMPERED);
    CORE_OK;
}

void kms_asym_shutdown(void)
{
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < KMS_PKEY_CACHE; i++) {
        EVP_PKEY_free(cache[i].pkey);
        cache[i] = (struct pkey_entry){0};
    }
    pthread_mutex_unlock(&cache_lock);
    pthread_mutex_lock(&pool_lock);
    bool join = pool_started;
    pool_stop = true;
    pthread_cond_broadcast(&pool_cond);
    pthread_mutex_unlock(&pool_lock);
    if (join) pthread_join(pool_thread, NULL);
    pthread_mutex_lock(&pool_lock);
    for (int i = 0; i < 3; i++)
        for (size_t j = 0; j < KMS_RSA_POOL; j++) core_secret_free(&pool[i][j]);
    pool_n[0] = pool_n[1] = pool_n[2] = 0;
    pool_started = false;
    pool_stop = false;
    pthread_mutex_unlock(&pool_lock);
}

/* ---- algorithm lists ------------------------------------------------------------ */

/*
 * KeyMetadata's lists (API_KeyMetadata.html, "Key spec reference"):
 * EncryptionAlgorithms for ENCRYPT_DECRYPT keys, SigningAlgorithms for
 * SIGN_VERIFY keys, MacAlgorithms for HMAC keys, KeyAgreementAlgorithms for
 * KEY_AGREEMENT keys; a list that does not apply is left out.
 * https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html
 */
bool kms_sig_alg_fits(uint8_t spec, unsigned alg)
{
    if (kms_spec_is_rsa(spec)) return alg <= KMS_SIG_RSASSA_PKCS1_V1_5_SHA_512;
    switch (spec) {
    case KMS_SPEC_ECC_NIST_P256:
    case KMS_SPEC_ECC_SECG_P256K1: return alg == KMS_SIG_ECDSA_SHA_256;
    case KMS_SPEC_ECC_NIST_P384: return alg == KMS_SIG_ECDSA_SHA_384;
    case KMS_SPEC_ECC_NIST_P521: return alg == KMS_SIG_ECDSA_SHA_512;
    case KMS_SPEC_SM2: return alg == KMS_SIG_SM2DSA;
    case KMS_SPEC_ML_DSA_44:
    case KMS_SPEC_ML_DSA_65:
    case KMS_SPEC_ML_DSA_87: return alg == KMS_SIG_ML_DSA_SHAKE_256;
    case KMS_SPEC_ECC_NIST_EDWARDS25519: return alg == KMS_SIG_ED25519_SHA_512 || alg == KMS_SIG_ED25519_PH_SHA_512;
    }
    return false;
}

static core_result render_list(struct core_jw *w, const char *name, const char *const *items, size_t n)
{
    GUARD(core_jw_array_begin(w, name));
    for (size_t i = 0; i < n; i++) GUARD(core_jw_cstr(w, NULL, items[i]));
    return core_jw_array_end(w);
}

core_result kms_asym_render_algorithms(struct core_jw *w, uint8_t spec, uint8_t usage, bool metadata)
{
    (void)metadata;
    if (usage == KMS_USAGE_ENCRYPT_DECRYPT) {
        if (spec == KMS_SPEC_SYMMETRIC_DEFAULT) {
            static const char *const s[] = {"SYMMETRIC_DEFAULT"};
            return render_list(w, "EncryptionAlgorithms", s, 1);
        }
        if (spec == KMS_SPEC_SM2) {
            static const char *const s[] = {"SM2PKE"};
            return render_list(w, "EncryptionAlgorithms", s, 1);
        }
        static const char *const r[] = {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"};
        return render_list(w, "EncryptionAlgorithms", r, 2);
    }
    if (usage == KMS_USAGE_SIGN_VERIFY) {
        const char *algs[16];
        size_t n = 0;
        for (unsigned a = 0; kms_sig_alg_names[a]; a++)
            if (kms_sig_alg_fits(spec, a)) algs[n++] = kms_sig_alg_names[a];
        return render_list(w, "SigningAlgorithms", algs, n);
    }
    if (usage == KMS_USAGE_GENERATE_VERIFY_MAC) {
        const char *m = kms_mac_alg_names[spec - KMS_SPEC_HMAC_224];
        return render_list(w, "MacAlgorithms", &m, 1);
    }
    static const char *const e[] = {"ECDH"};
    return render_list(w, "KeyAgreementAlgorithms", e, 1);
}

/* ---- usage and algorithm errors ---------------------------------------------------- */

core_result kms_asym_usage_check(struct kms_ctx *ctx, const struct kms_key *key, uint8_t want)
{
    if (key->usage == want) CORE_OK;
    return kms_fail(ctx, KMS_E_INVALID_KEY_USAGE, "%s key usage is %s which is not valid for %s.", key->arn,
                    kms_usage_name(key->usage), ctx->action->row.name);
}

core_result kms_symmetric_usage_check(struct kms_ctx *ctx, const struct kms_key *key)
{
    if (key->spec == KMS_SPEC_SYMMETRIC_DEFAULT) CORE_OK;
    return kms_fail(ctx, KMS_E_INVALID_KEY_USAGE, "%s key usage is %s which is not valid for %s.", key->arn,
                    kms_usage_name(key->usage), ctx->action->row.name);
}

core_result kms_asym_alg_mismatch(struct kms_ctx *ctx, const char *alg, const struct kms_key *key)
{
    return kms_fail(ctx, KMS_E_INVALID_KEY_USAGE, "Algorithm %s is incompatible with key spec %s.", alg,
                    kms_spec_name(key->spec));
}

/* ---- signatures ---------------------------------------------------------------------- */

static const char *sig_md(unsigned alg)
{
    switch (alg) {
    case KMS_SIG_RSASSA_PSS_SHA_256:
    case KMS_SIG_RSASSA_PKCS1_V1_5_SHA_256:
    case KMS_SIG_ECDSA_SHA_256: return "SHA256";
    case KMS_SIG_RSASSA_PSS_SHA_384:
    case KMS_SIG_RSASSA_PKCS1_V1_5_SHA_384:
    case KMS_SIG_ECDSA_SHA_384: return "SHA384";
    case KMS_SIG_RSASSA_PSS_SHA_512:
    case KMS_SIG_RSASSA_PKCS1_V1_5_SHA_512:
    case KMS_SIG_ECDSA_SHA_512:
    case KMS_SIG_ED25519_PH_SHA_512: return "SHA512";
    case KMS_SIG_SM2DSA: return "SM3";
    }
    return NULL;
}

size_t kms_sig_alg_digest_len(unsigned alg)
{
    const char *md = sig_md(alg);
    if (md == NULL) return 0;
    return strcmp(md, "SHA256") == 0 || strcmp(md, "SM3") == 0 ? 32 : strcmp(md, "SHA384") == 0 ? 48 : 64;
}

static bool is_pss(unsigned alg) { return alg <= KMS_SIG_RSASSA_PSS_SHA_512; }
static bool is_pkcs1(unsigned alg)
{
    return alg >= KMS_SIG_RSASSA_PKCS1_V1_5_SHA_256 && alg <= KMS_SIG_RSASSA_PKCS1_V1_5_SHA_512;
}

/*
 * RSASSA-PSS as AWS does it: "the salt length is the length of the digest
 * ... MGF1 with the same hash" (developer guide, "RSA key specs for
 * signing and verification"); PKCS #1 v1.5 with the DigestInfo of the
 * hash. For DIGEST messages the hash step is skipped and the digest is
 * signed as is (the signature's md tells the padding which DigestInfo).
 */
static core_result rsa_params(EVP_PKEY_CTX *p, unsigned alg, const EVP_MD *md)
{
    if (is_pss(alg)) {
        GUARD_OSSL(EVP_PKEY_CTX_set_rsa_padding(p, RSA_PKCS1_PSS_PADDING), ERR_CRYPTO);
        GUARD_OSSL(EVP_PKEY_CTX_set_rsa_pss_saltlen(p, RSA_PSS_SALTLEN_DIGEST), ERR_CRYPTO);
        GUARD_OSSL(EVP_PKEY_CTX_set_rsa_mgf1_md(p, md), ERR_CRYPTO);
    } else if (is_pkcs1(alg)) {
        GUARD_OSSL(EVP_PKEY_CTX_set_rsa_padding(p, RSA_PKCS1_PADDING), ERR_CRYPTO);
    }
    CORE_OK;
}

static void md_free(EVP_MD **m) { EVP_MD_free(*m); }
static void mdctx_free(EVP_MD_CTX **m) { EVP_MD_CTX_free(*m); }
static void pctx_free(EVP_PKEY_CTX **p) { EVP_PKEY_CTX_free(*p); }

/* SM2DSA's distinguishing ID: "KMS uses the default distinguishing ID
 * 1234567812345678 as defined in GB/T 32918" (developer guide, SM2 key spec). */
static const char sm2_id[] = "1234567812345678";


static core_result ed25519_prehash(bool digest, struct core_cursor msg, uint8_t ph[64])
{
    if (digest) {
        ENSURE(msg.len == 64, ERR_INVALID_ARG);
        memcpy(ph, msg.ptr, 64);
        CORE_OK;
    }
    unsigned int n = 0;
    GUARD_OSSL(EVP_Digest(msg.ptr, msg.len, ph, &n, EVP_sha512(), NULL), ERR_CRYPTO);
    CORE_OK;
}

/* One signature or one verification; sig is in/out depending on verify. */
static core_result sig_op(EVP_PKEY *pkey, unsigned alg, bool digest, struct core_cursor msg, struct core_buf *sig_out,
                          struct core_cursor sig_in, bool verify, bool *valid)
{
    if (alg == KMS_SIG_ED25519_PH_SHA_512) {
        uint8_t ph[64];
        GUARD(ed25519_prehash(digest, msg, ph));
        if (verify) {
            if (sig_in.len != 64) {
                *valid = false;
                CORE_OK;
            }
            return kms_ed25519ph_verify(pkey, ph, sig_in.ptr, valid);
        }
        GUARD(core_buf_reserve(sig_out, 64));
        GUARD(kms_ed25519ph_sign(pkey, ph, sig_out->data + sig_out->len));
        sig_out->len += 64;
        CORE_OK;
    }
    const char *mdname = sig_md(alg);
    DEFER_CLEANUP(EVP_MD *md = NULL, md_free);
    if (mdname) {
        md = EVP_MD_fetch(NULL, mdname, NULL);
        ENSURE(md != NULL, ERR_CRYPTO);
    }
    size_t siglen = 0;
    int rc;
    if (!digest) {
        /* RAW: the algorithm's own hash first (none for pure Ed25519 and ML-DSA). */
        /* sp outlives mc: an EVP_MD_CTX does not own a pkey ctx set on it. */
        DEFER_CLEANUP(EVP_PKEY_CTX *sp = NULL, pctx_free);
        DEFER_CLEANUP(EVP_MD_CTX *mc = EVP_MD_CTX_new(), mdctx_free);
        ENSURE(mc != NULL, ERR_NOMEM);
        EVP_PKEY_CTX *p = NULL;
        bool ed = alg == KMS_SIG_ED25519_SHA_512 || alg == KMS_SIG_ML_DSA_SHAKE_256;
        if (alg == KMS_SIG_SM2DSA) {
            /* The Z value needs the ID before DigestSignInit hashes it. */
            sp = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
            ENSURE(sp != NULL, ERR_NOMEM);
            ENSURE(EVP_PKEY_CTX_set1_id(sp, sm2_id, sizeof sm2_id - 1) > 0, ERR_CRYPTO);
            EVP_MD_CTX_set_pkey_ctx(mc, sp);
            p = sp;
        }
        rc = verify ? EVP_DigestVerifyInit_ex(mc, p ? NULL : &p, ed ? NULL : mdname, NULL, NULL, pkey, NULL)
                    : EVP_DigestSignInit_ex(mc, p ? NULL : &p, ed ? NULL : mdname, NULL, NULL, pkey, NULL);
        if (rc <= 0) {
            ERR_clear_error();
            BAIL(ERR_CRYPTO);
        }
        GUARD(rsa_params(p, alg, md));
        if (verify) {
            rc = EVP_DigestVerify(mc, sig_in.ptr, sig_in.len, msg.ptr, msg.len);
            ERR_clear_error();
            *valid = rc == 1;
            CORE_OK;
        }
        GUARD_OSSL(EVP_DigestSign(mc, NULL, &siglen, msg.ptr, msg.len), ERR_CRYPTO);
        GUARD(core_buf_reserve(sig_out, siglen));
        GUARD_OSSL(EVP_DigestSign(mc, sig_out->data + sig_out->len, &siglen, msg.ptr, msg.len), ERR_CRYPTO);
        sig_out->len += siglen;
        CORE_OK;
    }
    /* DIGEST: sign the given digest (its length was checked by the caller). */
    ENSURE(md != NULL, ERR_INVALID_ARG);
    DEFER_CLEANUP(EVP_PKEY_CTX *p = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL), pctx_free);
    ENSURE(p != NULL, ERR_NOMEM);
    rc = verify ? EVP_PKEY_verify_init(p) : EVP_PKEY_sign_init(p);
    if (rc <= 0) {
        ERR_clear_error();
        BAIL(ERR_CRYPTO);
    }
    if (alg != KMS_SIG_SM2DSA) GUARD_OSSL(EVP_PKEY_CTX_set_signature_md(p, md), ERR_CRYPTO);
    GUARD(rsa_params(p, alg, md));
    if (verify) {
        rc = EVP_PKEY_verify(p, sig_in.ptr, sig_in.len, msg.ptr, msg.len);
        ERR_clear_error();
        *valid = rc == 1;
        CORE_OK;
    }
    GUARD_OSSL(EVP_PKEY_sign(p, NULL, &siglen, msg.ptr, msg.len), ERR_CRYPTO);
    GUARD(core_buf_reserve(sig_out, siglen));
    GUARD_OSSL(EVP_PKEY_sign(p, sig_out->data + sig_out->len, &siglen, msg.ptr, msg.len), ERR_CRYPTO);
    sig_out->len += siglen;
    CORE_OK;
}

core_result kms_asym_sign(EVP_PKEY *pkey, unsigned alg, bool digest, struct core_cursor msg, struct core_buf *sig)
{
    core_result r = sig_op(pkey, alg, digest, msg, sig, (struct core_cursor){0}, false, NULL);
    ERR_clear_error();
    return r;
}

core_result kms_asym_verify(EVP_PKEY *pkey, unsigned alg, bool digest, struct core_cursor msg, struct core_cursor sig,
                            bool *valid)
{
    *valid = false;
    core_result r = sig_op(pkey, alg, digest, msg, NULL, sig, true, valid);
    ERR_clear_error();
    return r;
}

/* ---- grants ---------------------------------------------------------------------------- */

/*
 * "Grant operations": a grant may allow only operations its key can do.
 * Symmetric encryption keys: Encrypt, Decrypt, ReEncrypt*, GenerateDataKey*
 * and GenerateDataKeyPair*; RSA and SM2 ENCRYPT_DECRYPT keys: Encrypt,
 * Decrypt, ReEncrypt*, GetPublicKey; SIGN_VERIFY keys: Sign, Verify,
 * GetPublicKey; HMAC keys: GenerateMac, VerifyMac; KEY_AGREEMENT keys:
 * DeriveSharedSecret, GetPublicKey. DescribeKey, CreateGrant and
 * RetireGrant fit every key.
 * https://docs.aws.amazon.com/kms/latest/developerguide/grants.html#terms-grant-operations
 */
bool kms_asym_grant_op_fits(struct core_cursor op, uint8_t spec, uint8_t usage)
{
    if (core_cursor_eq_str(op, "DescribeKey") || core_cursor_eq_str(op, "CreateGrant") ||
        core_cursor_eq_str(op, "RetireGrant"))
        return true;
    bool enc = core_cursor_eq_str(op, "Encrypt") || core_cursor_eq_str(op, "Decrypt") ||
               core_cursor_starts_with(op, "ReEncrypt");
    if (spec == KMS_SPEC_SYMMETRIC_DEFAULT) return enc || core_cursor_starts_with(op, "GenerateDataKey");
    if (core_cursor_eq_str(op, "GetPublicKey")) return usage != KMS_USAGE_GENERATE_VERIFY_MAC;
    switch (usage) {
    case KMS_USAGE_ENCRYPT_DECRYPT: return enc;
    case KMS_USAGE_SIGN_VERIFY: return core_cursor_eq_str(op, "Sign") || core_cursor_eq_str(op, "Verify");
    case KMS_USAGE_GENERATE_VERIFY_MAC:
        return core_cursor_eq_str(op, "GenerateMac") || core_cursor_eq_str(op, "VerifyMac");
    case KMS_USAGE_KEY_AGREEMENT: return core_cursor_eq_str(op, "DeriveSharedSecret");
    }
    return false;
}

/* ---- what Sign and Verify share ----------------------------------------------------------- */

/* https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html (MessageType, SigningAlgorithm) */
core_result kms_sig_request(struct kms_ctx *ctx, const struct kms_key *k, unsigned alg, size_t mtype,
                            struct core_cursor msg)
{
    GUARD(kms_asym_usage_check(ctx, k, KMS_USAGE_SIGN_VERIFY));
    if (!kms_sig_alg_fits(k->spec, alg)) return kms_asym_alg_mismatch(ctx, kms_sig_alg_names[alg], k);
    /* EXTERNAL_MU: "the 64-byte representative mu used in ML-DSA signing" only. */
    if (mtype == 2 && alg != KMS_SIG_ML_DSA_SHAKE_256)
        return kms_fail(ctx, KMS_E_VALIDATION, "MessageType EXTERNAL_MU is not valid for algorithm %s.",
                        kms_sig_alg_names[alg]);
    if (mtype == 2)
        return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION, "%s",
                        "MessageType EXTERNAL_MU is not supported by this server.");
    /* Pure Ed25519 signs the whole message: "ED25519_SHA_512 ... supports only RAW". */
    if (mtype == 1 && (alg == KMS_SIG_ED25519_SHA_512 || alg == KMS_SIG_ML_DSA_SHAKE_256))
        return kms_fail(ctx, KMS_E_VALIDATION, "MessageType DIGEST is not valid for algorithm %s.",
                        kms_sig_alg_names[alg]);
    /* "When the value of MessageType is DIGEST, the length of the Message
     * value must match the length of hashed messages for the specified
     * signing algorithm." The wording is AWS's (as moto reproduces it). */
    if (mtype == 1 && msg.len != kms_sig_alg_digest_len(alg))
        return kms_fail(ctx, KMS_E_VALIDATION, "Digest is invalid length for algorithm %s.", kms_sig_alg_names[alg]);
    CORE_OK;
}

core_result kms_sig_key_open(struct kms_ctx *ctx, struct core_cursor id, unsigned alg, size_t mtype,
                             struct core_cursor msg, bool dry, struct kms_key *k, EVP_PKEY **pkey)
{
    *pkey = NULL;
    GUARD(kms_key_init(k));
    struct keystore_txn *txn = NULL;
    GUARD(kms_key_open(ctx, id, KMS_RULE_CRYPTO, &txn, k));
    core_result r = kms_sig_request(ctx, k, alg, mtype, msg);
    if (core_ok(r) && dry) r = kms_dry_run_refuse(ctx);
    if (core_ok(r)) r = kms_asym_pkey(ctx, txn, k, pkey);
    keystore_txn_abort(txn);
    return r;
}
