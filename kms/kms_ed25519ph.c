#include <sodium.h>

#include <openssl/err.h>

#include "kms/kms_asym.h"

/*
 * Ed25519ph (RFC 8032, 5.1: HashEdDSA with SHA-512 and an empty context)
 * for ED25519_PH_SHA_512. The OpenSSL 3.0 in Debian 12 offers only pure
 * Ed25519, and libsodium's ed25519ph API takes the message rather than its
 * prehash, so the scheme is composed here from libsodium's group and scalar
 * operations, exactly as RFC 8032 5.1.6/5.1.7 write it:
 *   dom2 = "SigEd25519 no Ed25519 collisions" || 1 || 0
 *   r = SHA-512(dom2 || prefix || PH(M)) mod L, R = [r]B
 *   k = SHA-512(dom2 || R || A || PH(M)) mod L, S = (r + k*s) mod L
 * The unit test kms_asym_vectors_test checks RFC 8032's Ed25519ph vector.
 */

static const uint8_t dom2[34] = {'S', 'i', 'g', 'E', 'd', '2', '5', '5', '1', '9', ' ', 'n', 'o', ' ', 'E', 'd', '2',
                                 '5', '5', '1', '9', ' ', 'c', 'o', 'l', 'l', 'i', 's', 'i', 'o', 'n', 's', 1, 0};

static void hash_mod_l(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, const uint8_t *c, size_t clen,
                       const uint8_t ph[64], uint8_t out[32])
{
    crypto_hash_sha512_state st;
    uint8_t h[64];
    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, dom2, sizeof dom2);
    crypto_hash_sha512_update(&st, a, alen);
    if (blen) crypto_hash_sha512_update(&st, b, blen);
    if (clen) crypto_hash_sha512_update(&st, c, clen);
    crypto_hash_sha512_update(&st, ph, 64);
    crypto_hash_sha512_final(&st, h);
    crypto_core_ed25519_scalar_reduce(out, h);
    sodium_memzero(h, sizeof h);
    sodium_memzero(&st, sizeof st);
}

core_result kms_ed25519ph_sign(EVP_PKEY *pkey, const uint8_t ph[64], uint8_t sig[64])
{
    uint8_t seed[32], pub[32], h[64], s[64] = {0}, sr[32], r[32], k[32], ks[32];
    size_t n = sizeof seed, pn = sizeof pub;
    if (EVP_PKEY_get_raw_private_key(pkey, seed, &n) != 1 || n != 32 ||
        EVP_PKEY_get_raw_public_key(pkey, pub, &pn) != 1 || pn != 32) {
        ERR_clear_error();
        sodium_memzero(seed, sizeof seed);
        BAIL(ERR_CRYPTO);
    }
    crypto_hash_sha512(h, seed, sizeof seed);
    h[0] &= 248;
    h[31] &= 127;
    h[31] |= 64;
    memcpy(s, h, 32);
    crypto_core_ed25519_scalar_reduce(sr, s); /* s mod L */
    hash_mod_l(h + 32, 32, NULL, 0, NULL, 0, ph, r);
    int rc = crypto_scalarmult_ed25519_base_noclamp(sig, r);
    hash_mod_l(sig, 32, pub, 32, NULL, 0, ph, k);
    crypto_core_ed25519_scalar_mul(ks, k, sr);
    crypto_core_ed25519_scalar_add(sig + 32, r, ks);
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(h, sizeof h);
    sodium_memzero(s, sizeof s);
    sodium_memzero(sr, sizeof sr);
    sodium_memzero(r, sizeof r);
    sodium_memzero(ks, sizeof ks);
    ENSURE(rc == 0, ERR_CRYPTO);
    CORE_OK;
}

core_result kms_ed25519ph_verify(EVP_PKEY *pkey, const uint8_t ph[64], const uint8_t sig[64], bool *valid)
{
    *valid = false;
    uint8_t pub[32], k[32], sb[32], ka[32], sum[32], wide[64] = {0}, red[32];
    size_t pn = sizeof pub;
    if (EVP_PKEY_get_raw_public_key(pkey, pub, &pn) != 1 || pn != 32) {
        ERR_clear_error();
        BAIL(ERR_CRYPTO);
    }
    /* S must be canonical (S < L), R and A valid points (RFC 8032 5.1.7). */
    memcpy(wide, sig + 32, 32);
    crypto_core_ed25519_scalar_reduce(red, wide);
    if (!core_ct_equal(red, sig + 32, 32)) CORE_OK;
    if (!crypto_core_ed25519_is_valid_point(sig) || !crypto_core_ed25519_is_valid_point(pub)) CORE_OK;
    hash_mod_l(sig, 32, pub, 32, NULL, 0, ph, k);
    if (crypto_scalarmult_ed25519_base_noclamp(sb, sig + 32) != 0) CORE_OK;
    if (crypto_scalarmult_ed25519_noclamp(ka, k, pub) != 0) CORE_OK;
    if (crypto_core_ed25519_add(sum, sig, ka) != 0) CORE_OK;
    *valid = core_ct_equal(sb, sum, 32);
    CORE_OK;
}
