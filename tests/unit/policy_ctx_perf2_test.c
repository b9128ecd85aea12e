/*
 * policy_ctx_add_int formats without snprintf (issue 14 round 3): the value
 * a condition sees must be exactly "%lld" of the number, at the extremes,
 * around every power of ten, and at random; and the scratch it takes must
 * not grow past what the digits need (a full context still fits).
 */
#include <inttypes.h>

#include "policy/policy.h"
#include "tests/test.h"

static void check(int64_t v)
{
    struct policy_ctx pc;
    policy_ctx_init(&pc);
    if (!core_ok(policy_ctx_add_int(&pc, core_cursor_str("aws:EpochTime"), v))) {
        TEST_FAIL("add_int %" PRId64 " failed", v);
        return;
    }
    const struct core_cursor *vals = NULL;
    int n = policy_ctx_get(&pc, core_cursor_str("aws:epochtime"), &vals);
    char want[32];
    snprintf(want, sizeof want, "%lld", (long long)v);
    if (n != 1 || vals[0].len != strlen(want) || memcmp(vals[0].ptr, want, vals[0].len) != 0)
        TEST_FAIL("%s: got %.*s", want, n == 1 ? (int)vals[0].len : 0, n == 1 ? (const char *)vals[0].ptr : "");
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    check(0);
    check(INT64_MIN);
    check(INT64_MAX);
    check(INT64_MIN + 1);
    int64_t p = 1;
    for (int i = 0; i < 19; i++, p = i < 19 ? p * 10 : p) {
        check(p - 1), check(p), check(p + 1), check(-p), check(-p + 1), check(-p - 1);
    }
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        check((int64_t)x);
        check((int64_t)(x % 100000));
    }
    /* Many integers in one context: each takes only its digits of scratch. */
    struct policy_ctx pc;
    policy_ctx_init(&pc);
    char names[150][16];
    for (int i = 0; i < 150; i++) {
        snprintf(names[i], sizeof names[i], "k:%d", i);
        EXPECT_OK(policy_ctx_add_int(&pc, core_cursor_str(names[i]), INT64_MIN));
    }
    TEST_MAIN_END();
}
