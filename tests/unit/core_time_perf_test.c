/*
 * core_time_amz and core_time_iso8601 compute the civil date themselves
 * (no gmtime_r/strftime on the request path): they must print exactly what
 * gmtime_r + strftime print, across leap days, centuries (1900 rule, 2000
 * rule), the 32-bit rollover and year 9999, and at random times. core_time_amz
 * keeps its last answer per thread: each time is checked twice in a row and
 * after a different one (the random walk), so a stale answer fails.
 */
#include <time.h>

#include "tests/test.h"

static void check(int64_t t)
{
    char a[32], b[32], ref_a[32], ref_b[32];
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(ref_a, sizeof ref_a, "%Y%m%dT%H%M%SZ", &tm);
    strftime(ref_b, sizeof ref_b, "%Y-%m-%dT%H:%M:%SZ", &tm);
    for (int twice = 0; twice < 2; twice++) {
        memset(a, '#', sizeof a);
        core_time_amz(t, a);
        core_time_iso8601(t, b);
        if (strcmp(a, ref_a) != 0 || strcmp(b, ref_b) != 0)
            TEST_FAIL("%lld: %s / %s, libc %s / %s", (long long)t, a, b, ref_a, ref_b);
    }
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    static const int64_t fixed[] = {0,          1,           59,          86399,        86400,       951782400,
                                    951868799,  951868800,   2147483647,  2147483648,   4107542399,  4107542400,
                                    4102444800, 253402300799, 253402300800, 1800000000, -1,          -86401};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) check(fixed[i]);
    for (int64_t day = 0; day < 2932897; day += 7) check(day * 86400 + (day * 7919) % 86400);
    /* neighbouring seconds, and back and forth between two */
    for (int64_t t = 1800000000; t < 1800000000 + 200; t++) check(t), check(t - 1), check(t + 86400);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        check((int64_t)(x % 253402300800ull));
    }
    TEST_MAIN_END();
}
