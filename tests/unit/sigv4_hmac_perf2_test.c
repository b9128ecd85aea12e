/*
 * Signing keys prepared for HMAC (struct sigv4_hmac_key: the padded-key
 * SHA-256 states computed once, issue 14 round 3) must sign exactly as
 * HMAC-SHA256 does: checked against OpenSSL's one-shot HMAC for every
 * message length from 0 to 300 bytes and random keys, and through the
 * signing-key cache on hits and misses. One changed key bit or message byte
 * changes the signature.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include "sigv4/sigv4_stages.h"
#include "tests/test.h"

static void reference_hex(const uint8_t key[32], const uint8_t *msg, size_t len, char out[65])
{
    static const char hx[] = "0123456789abcdef";
    uint8_t mac[32];
    unsigned int n = 0;
    if (HMAC(EVP_sha256(), key, 32, msg, len, mac, &n) == NULL || n != 32) {
        TEST_FAIL("reference HMAC failed");
        memset(mac, 0, sizeof mac);
    }
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = hx[mac[i] >> 4];
        out[2 * i + 1] = hx[mac[i] & 15];
    }
    out[64] = 0;
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    uint8_t msg[300];
    for (size_t len = 0; len <= sizeof msg; len++) {
        uint8_t key[32];
        randombytes_buf(key, sizeof key);
        randombytes_buf(msg, sizeof msg);
        struct sigv4_hmac_key hk;
        sigv4_hmac_key_prepare(key, &hk);
        EXPECT_TRUE(hk.prepared == 1);
        char got[65], plain[65], want[65];
        sigv4_signature_hex_prepared(&hk, core_cursor_from(msg, len), got);
        sigv4_signature_hex(key, core_cursor_from(msg, len), plain);
        reference_hex(key, msg, len, want);
        EXPECT_STR_EQ(got, want);
        EXPECT_STR_EQ(plain, want);
        /* The prepared state is not consumed: signing twice gives the same answer. */
        sigv4_signature_hex_prepared(&hk, core_cursor_from(msg, len), got);
        EXPECT_STR_EQ(got, want);
        /* One bit of the key, one byte of the message. */
        key[len % 32] ^= 1;
        struct sigv4_hmac_key hk2;
        sigv4_hmac_key_prepare(key, &hk2);
        sigv4_signature_hex_prepared(&hk2, core_cursor_from(msg, len), got);
        EXPECT_TRUE(strcmp(got, want) != 0);
        if (len) {
            msg[len / 2] ^= 0x80;
            sigv4_signature_hex_prepared(&hk, core_cursor_from(msg, len), got);
            EXPECT_TRUE(strcmp(got, want) != 0);
        }
        sodium_memzero(&hk, sizeof hk);
        sodium_memzero(&hk2, sizeof hk2);
    }

    /* Through the cache: a miss and then hits give the derived key's signature. */
    struct sigv4_key_cache *cache;
    EXPECT_OK(sigv4_key_cache_new(4, &cache));
    for (int i = 0; i < 3; i++) {
        char secret[32], region[16];
        snprintf(secret, sizeof secret, "secret-%d", i);
        snprintf(region, sizeof region, "region-%d", i);
        for (int round = 0; round < 3; round++) {
            struct sigv4_hmac_key hk;
            uint8_t key[32], cached_key[32];
            EXPECT_OK(sigv4_key_cache_get_hmac(cache, core_cursor_str(secret), core_cursor_str("20261202"),
                                               core_cursor_str(region), core_cursor_str("kms"), &hk));
            EXPECT_OK(sigv4_key_cache_get(cache, core_cursor_str(secret), core_cursor_str("20261202"),
                                          core_cursor_str(region), core_cursor_str("kms"), cached_key));
            EXPECT_OK(sigv4_signing_key(core_cursor_str(secret), core_cursor_str("20261202"), core_cursor_str(region),
                                        core_cursor_str("kms"), key));
            EXPECT_BYTES_EQ(hk.key, 32, key, 32);
            EXPECT_BYTES_EQ(cached_key, 32, key, 32);
            char got[65], want[65];
            sigv4_signature_hex_prepared(&hk, core_cursor_str("AWS4-HMAC-SHA256\nstring to sign"), got);
            sigv4_signature_hex(key, core_cursor_str("AWS4-HMAC-SHA256\nstring to sign"), want);
            EXPECT_STR_EQ(got, want);
        }
    }
    uint64_t hits, misses;
    sigv4_key_cache_stats(cache, &hits, &misses);
    EXPECT_TRUE(misses == 3 && hits == 15);
    /* A tuple longer than the name buffer (scope parts far past what a parsed request allows) is derived uncached (never a truncated name),
     * and still give the right key. */
    char long_region[2000];
    memset(long_region, 'r', sizeof long_region - 1);
    long_region[sizeof long_region - 1] = 0;
    for (int round = 0; round < 2; round++) {
        struct sigv4_hmac_key hk;
        uint8_t key[32];
        EXPECT_OK(sigv4_key_cache_get_hmac(cache, core_cursor_str("s"), core_cursor_str("20261202"),
                                           core_cursor_str(long_region), core_cursor_str("kms"), &hk));
        EXPECT_OK(sigv4_signing_key(core_cursor_str("s"), core_cursor_str("20261202"), core_cursor_str(long_region),
                                    core_cursor_str("kms"), key));
        EXPECT_BYTES_EQ(hk.key, 32, key, 32);
    }
    sigv4_key_cache_stats(cache, &hits, &misses);
    EXPECT_TRUE(misses == 3 && hits == 15);
    /* Names are length-prefixed: ("ab","c") and ("a","bc") are different entries. */
    uint8_t a[32], b[32], ra[32], rb[32];
    EXPECT_OK(sigv4_key_cache_get(cache, core_cursor_str("s"), core_cursor_str("ab"), core_cursor_str("c"),
                                  core_cursor_str("x"), a));
    EXPECT_OK(sigv4_key_cache_get(cache, core_cursor_str("s"), core_cursor_str("a"), core_cursor_str("bc"),
                                  core_cursor_str("x"), b));
    EXPECT_OK(sigv4_signing_key(core_cursor_str("s"), core_cursor_str("ab"), core_cursor_str("c"), core_cursor_str("x"), ra));
    EXPECT_OK(sigv4_signing_key(core_cursor_str("s"), core_cursor_str("a"), core_cursor_str("bc"), core_cursor_str("x"), rb));
    EXPECT_BYTES_EQ(a, 32, ra, 32);
    EXPECT_BYTES_EQ(b, 32, rb, 32);
    sigv4_key_cache_free(cache);
    TEST_MAIN_END();
}
