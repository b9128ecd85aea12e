/*
 * The hashing of SigV4: SHA-256 of the canonical request (OpenSSL, whose
 * SHA-256 uses the CPU's SHA extensions; the algorithm is fetched once and
 * each thread keeps one digest context) and the HMAC chain (RFC 2104 over
 * the same context, with every padded key and intermediate wiped after use;
 * libsodium's crypto_auth_hmacsha256 computes the same function as the
 * fallback, but its portable SHA-256 costs several times more per request).
 */
#include "sigv4/sigv4_stages.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define OPENSSL_SUPPRESS_DEPRECATED 1 /* SHA256_Init & co: see evp_sha256_2 */
#include <openssl/evp.h>
#include <openssl/sha.h>
#ifndef SIGV4_LOWLEVEL_SHA256
#define SIGV4_LOWLEVEL_SHA256 1
#endif
#include <sodium.h>

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static pthread_key_t sha256_ctx_key;

static void sha256_ctx_free(void *p) { EVP_MD_CTX_free(p); }

static void sha256_init_once(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (pthread_key_create(&sha256_ctx_key, sha256_ctx_free) != 0) abort();
}

static EVP_MD_CTX *thread_ctx(void)
{
    pthread_once(&sha256_once, sha256_init_once);
    EVP_MD_CTX *ctx = sha256_md ? pthread_getspecific(sha256_ctx_key) : NULL;
    if (sha256_md && ctx == NULL) {
        ctx = EVP_MD_CTX_new();
        if (ctx && pthread_setspecific(sha256_ctx_key, ctx) != 0) {
            EVP_MD_CTX_free(ctx);
            ctx = NULL;
        }
    }
    return ctx;
}

/*
 * SHA-256 of a || b. OpenSSL's low-level SHA256_* run the same
 * SHA-extension code as EVP without the provider dispatch, which costs more
 * than hashing a canonical request; they are deprecated in the 3.0 API but
 * present in every 3.x libcrypto. The EVP context stays as the path when
 * they are not. Returns false if neither is available.
 */
static bool evp_sha256_2(EVP_MD_CTX *ctx, struct core_cursor a, struct core_cursor b, uint8_t out[32])
{
#if SIGV4_LOWLEVEL_SHA256
    (void)ctx;
    SHA256_CTX c;
    bool ok = SHA256_Init(&c) == 1 && SHA256_Update(&c, a.ptr, a.len) == 1 && SHA256_Update(&c, b.ptr, b.len) == 1 &&
              SHA256_Final(out, &c) == 1;
    OPENSSL_cleanse(&c, sizeof c); /* the state held HMAC key pads */
    return ok;
#else
    unsigned int n = 0;
    return ctx && EVP_DigestInit_ex2(ctx, sha256_md, NULL) == 1 && EVP_DigestUpdate(ctx, a.ptr, a.len) == 1 &&
           EVP_DigestUpdate(ctx, b.ptr, b.len) == 1 && EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == 32;
#endif
}

/* Lowercase hex of a digest, terminated (core_hex_lower: no table index on a digest byte). */
static void hex32(const uint8_t in[32], char out[65])
{
    core_hex_lower(in, 32, out);
    out[64] = 0;
}

void sigv4_sha256(struct core_cursor data, uint8_t out[32])
{
    if (evp_sha256_2(thread_ctx(), data, core_cursor_from("", 0), out)) return;
    /* OpenSSL unavailable (no provider, out of memory): libsodium computes the same function. */
    crypto_hash_sha256(out, data.ptr, data.len);
}

void sigv4_sha256_hex(struct core_cursor data, char out[65])
{
    uint8_t h[32];
    sigv4_sha256(data, h);
    hex32(h, out);
}

/* HMAC-SHA256 (RFC 2104): H((K ^ opad) || H((K ^ ipad) || msg)). */
static void hmac(uint8_t out[32], const uint8_t *key, size_t keylen, struct core_cursor msg)
{
    EVP_MD_CTX *ctx = thread_ctx();
    uint8_t k[64] = {0}, pad[64], inner[32];
    bool ok = ctx != NULL;
    if (keylen > sizeof k)
        ok = ok && evp_sha256_2(ctx, core_cursor_from(key, keylen), core_cursor_from("", 0), k);
    else if (keylen)
        memcpy(k, key, keylen);
    for (size_t i = 0; i < 64; i++) pad[i] = (uint8_t)(k[i] ^ 0x36);
    ok = ok && evp_sha256_2(ctx, core_cursor_from(pad, 64), msg, inner);
    for (size_t i = 0; i < 64; i++) pad[i] = (uint8_t)(k[i] ^ 0x5c);
    ok = ok && evp_sha256_2(ctx, core_cursor_from(pad, 64), core_cursor_from(inner, 32), out);
    sodium_memzero(k, sizeof k);
    sodium_memzero(pad, sizeof pad);
    sodium_memzero(inner, sizeof inner);
    if (ok) return;
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, keylen);
    crypto_auth_hmacsha256_update(&st, msg.ptr, msg.len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

core_result sigv4_signing_key(struct core_cursor secret, struct core_cursor date, struct core_cursor region,
                              struct core_cursor service, uint8_t key[SIGV4_KEY_BYTES])
{
    /*
     * "kSecret = your secret access key; kDate = hash(\"AWS4\" + kSecret, Date);
     *  kRegion = hash(kDate, Region); kService = hash(kRegion, Service);
     *  kSigning = hash(kService, \"aws4_request\")"
     * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html#derive-signing-key
     */
    ENSURE(secret.len <= CORE_MAX_SECRET_KEY_BYTES, ERR_INVALID_ARG);
    uint8_t k0[4 + CORE_MAX_SECRET_KEY_BYTES];
    uint8_t k1[32], k2[32], k3[32];
    memcpy(k0, "AWS4", 4);
    if (secret.len) memcpy(k0 + 4, secret.ptr, secret.len);
    hmac(k1, k0, 4 + secret.len, date);
    hmac(k2, k1, sizeof k1, region);
    hmac(k3, k2, sizeof k2, service);
    hmac(key, k3, sizeof k3, core_cursor_str(SIGV4_TERMINATOR));
    sodium_memzero(k0, sizeof k0);
    sodium_memzero(k1, sizeof k1);
    sodium_memzero(k2, sizeof k2);
    sodium_memzero(k3, sizeof k3);
    CORE_OK;
}

void sigv4_signature_hex(const uint8_t key[SIGV4_KEY_BYTES], struct core_cursor string_to_sign,
                         char out[SIGV4_HEX_BYTES + 1])
{
    uint8_t mac[32];
    hmac(mac, key, SIGV4_KEY_BYTES, string_to_sign);
    hex32(mac, out);
    sodium_memzero(mac, sizeof mac);
}

void sigv4_hmac_key_prepare(const uint8_t key[SIGV4_KEY_BYTES], struct sigv4_hmac_key *hk)
{
    memcpy(hk->key, key, SIGV4_KEY_BYTES);
    hk->prepared = 0;
#if SIGV4_LOWLEVEL_SHA256
    _Static_assert(2 * sizeof(SHA256_CTX) <= SIGV4_HMAC_PADS_BYTES, "room for two SHA-256 states");
    _Static_assert(SIGV4_KEY_BYTES <= 64, "a signing key is shorter than SHA-256's block");
    SHA256_CTX c[2];
    uint8_t pad[64];
    for (size_t i = 0; i < 64; i++) pad[i] = (uint8_t)((i < SIGV4_KEY_BYTES ? key[i] : 0) ^ 0x36);
    bool ok = SHA256_Init(&c[0]) == 1 && SHA256_Update(&c[0], pad, 64) == 1;
    for (size_t i = 0; i < 64; i++) pad[i] = (uint8_t)((i < SIGV4_KEY_BYTES ? key[i] : 0) ^ 0x5c);
    ok = ok && SHA256_Init(&c[1]) == 1 && SHA256_Update(&c[1], pad, 64) == 1;
    if (ok) {
        memcpy(hk->pads, c, sizeof c);
        hk->prepared = 1;
    }
    sodium_memzero(c, sizeof c);
    sodium_memzero(pad, sizeof pad);
#endif
}

void sigv4_signature_hex_prepared(const struct sigv4_hmac_key *hk, struct core_cursor string_to_sign,
                                  char out[SIGV4_HEX_BYTES + 1])
{
#if SIGV4_LOWLEVEL_SHA256
    if (hk->prepared) {
        SHA256_CTX c;
        uint8_t inner[32], mac[32];
        memcpy(&c, hk->pads, sizeof c);
        bool ok = SHA256_Update(&c, string_to_sign.ptr, string_to_sign.len) == 1 && SHA256_Final(inner, &c) == 1;
        memcpy(&c, hk->pads + sizeof c, sizeof c);
        ok = ok && SHA256_Update(&c, inner, sizeof inner) == 1 && SHA256_Final(mac, &c) == 1;
        if (ok) hex32(mac, out);
        sodium_memzero(&c, sizeof c);
        sodium_memzero(inner, sizeof inner);
        sodium_memzero(mac, sizeof mac);
        if (ok) return;
    }
#endif
    sigv4_signature_hex(hk->key, string_to_sign, out);
}
