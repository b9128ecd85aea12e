/*
 * The RSA key-pair pool (kms_asym.c): the first RSA request starts the
 * background generator, which fills the pool; the next request of that size
 * takes a ready pair from the pool (the count drops by one) instead of
 * generating inline, and the pool refills afterwards. Counts, not timings:
 * the waits below only bound how long the background thread may take.
 */
#include <time.h>

#include "kms/kms_asym.h"
#include "tests/test.h"

/* Waits (at most limit_s seconds) until the pool holds want pairs of spec. */
static bool wait_ready(uint8_t spec, size_t want, int limit_s)
{
    for (int i = 0; i < limit_s * 10; i++) {
        if (kms_asym_pool_ready(spec) >= want) return true;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return false;
}

static void test_pool_serves_and_refills(void)
{
    EXPECT_TRUE(kms_asym_pool_ready(KMS_SPEC_ECC_NIST_P256) == 0); /* only RSA is pooled */
    EVP_PKEY *k = NULL;
    EXPECT_OK(kms_asym_keygen(KMS_SPEC_RSA_2048, &k)); /* starts the pool; generated inline */
    EXPECT_TRUE(k != NULL && EVP_PKEY_get_bits(k) == 2048);
    EVP_PKEY_free(k);
    EXPECT_TRUE(wait_ready(KMS_SPEC_RSA_2048, 2, 300));
    uint64_t hits = kms_asym_pool_hits();
    k = NULL;
    EXPECT_OK(kms_asym_keygen(KMS_SPEC_RSA_2048, &k));
    EXPECT_TRUE(k != NULL && EVP_PKEY_get_bits(k) == 2048);
    EXPECT_TRUE(kms_asym_pool_hits() == hits + 1); /* served from the pool, not generated inline */
    /* A second take right after: another ready pair (the pool held two), a different key. */
    EVP_PKEY *k2 = NULL;
    EXPECT_OK(kms_asym_keygen(KMS_SPEC_RSA_2048, &k2));
    EXPECT_TRUE(k2 != NULL && EVP_PKEY_eq(k, k2) != 1);
    EXPECT_TRUE(kms_asym_pool_hits() == hits + 2);
    EVP_PKEY_free(k);
    EVP_PKEY_free(k2);
    EXPECT_TRUE(wait_ready(KMS_SPEC_RSA_2048, 2, 300)); /* refilled */
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    test_pool_serves_and_refills();
    kms_asym_shutdown();
    TEST_MAIN_END();
}
