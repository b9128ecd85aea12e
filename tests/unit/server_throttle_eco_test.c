/*
 * Throttling emulation (server_throttle.c): the quota table is sorted for
 * bsearch; buckets are per account, Region and quota; the symmetric
 * cryptographic operations share one bucket; a throttled call gets AWS's
 * ThrottlingException with HTTP 400; tokens refill over time.
 */
#include <time.h>

#include "server/server_internal.h"
#include "tests/test.h"

static struct core_principal who(const char *account, const char *region)
{
    struct core_principal p = {.type = CORE_PRINCIPAL_USER};
    snprintf(p.account, sizeof p.account, "%s", account);
    snprintf(p.region, sizeof p.region, "%s", region);
    return p;
}

static unsigned admitted(const char *op, const struct core_principal *p, unsigned tries)
{
    unsigned n = 0;
    for (unsigned i = 0; i < tries; i++) {
        struct core_reply r;
        if (!core_ok(core_reply_init(&r))) return 0;
        if (server_throttle_admit(SERVER_SVC_KMS, op, p, &r)) {
            n++;
        } else {
            EXPECT_TRUE(r.status == 400);
            EXPECT_STR_EQ(r.error_code, "ThrottlingException");
            EXPECT_TRUE(core_cursor_eq_str(core_buf_cursor(&r.message),
                                           "You have exceeded the rate at which you may call KMS. "
                                           "Reduce the frequency of your calls."));
        }
        core_reply_free(&r);
    }
    return n;
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    EXPECT_TRUE(server_throttle_quotas_sorted());

    struct server_config cfg;
    server_config_defaults(&cfg);
    cfg.throttle_mode = SERVER_THROTTLE_AWS;
    EXPECT_OK(server_throttle_init(&cfg));
    struct core_principal a = who("111111111111", "us-east-1"), b = who("222222222222", "us-east-1"),
                          a2 = who("111111111111", "eu-west-3");
    /* CreateKey: 5 per second. */
    EXPECT_TRUE(admitted("CreateKey", &a, 8) == 5);
    EXPECT_TRUE(admitted("CreateKey", &b, 8) == 5);   /* another account */
    EXPECT_TRUE(admitted("CreateKey", &a2, 8) == 5);  /* another Region */
    EXPECT_TRUE(admitted("CreateAlias", &a, 8) == 5); /* another quota */
    /* STS/IAM and operations without a documented quota are not throttled. */
    struct core_reply r;
    EXPECT_OK(core_reply_init(&r));
    EXPECT_TRUE(server_throttle_admit(SERVER_SVC_STS, "CreateKey", &a, &r));
    EXPECT_TRUE(server_throttle_admit(SERVER_SVC_KMS, "ListKeyRotations", &a, &r));
    core_reply_free(&r);
    /* Refill: 5 per second, so after 450 ms two more. */
    struct timespec ts = {0, 450 * 1000 * 1000};
    nanosleep(&ts, NULL);
    EXPECT_TRUE(admitted("CreateKey", &a, 5) == 2);
    server_throttle_free();

    /* --throttle 3: the symmetric operations share one bucket of 3. */
    cfg.throttle_mode = SERVER_THROTTLE_RATE;
    cfg.throttle_rate = 3;
    EXPECT_OK(server_throttle_init(&cfg));
    EXPECT_TRUE(admitted("Encrypt", &a, 2) == 2);
    EXPECT_TRUE(admitted("GenerateDataKey", &a, 2) == 1);
    EXPECT_TRUE(admitted("Decrypt", &a, 2) == 0);
    EXPECT_TRUE(admitted("DescribeKey", &a, 4) == 3);
    server_throttle_free();

    /* Off: nothing is throttled. */
    cfg.throttle_mode = SERVER_THROTTLE_OFF;
    EXPECT_OK(server_throttle_init(&cfg));
    EXPECT_TRUE(admitted("CreateKey", &a, 50) == 50);
    server_throttle_free();
    TEST_MAIN_END();
}
