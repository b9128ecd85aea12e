/*
 * core_ipv4_text (the request path's replacement for inet_ntop, issue 14
 * round 3) must print exactly what inet_ntop(AF_INET) prints: every value of
 * each octet in every position, and random addresses.
 */
#include <arpa/inet.h>

#include "tests/test.h"

static void check(const uint8_t a[4])
{
    char got[16], want[INET_ADDRSTRLEN];
    memset(got, 'X', sizeof got);
    core_ipv4_text(a, got);
    if (inet_ntop(AF_INET, a, want, sizeof want) == NULL) {
        TEST_FAIL("inet_ntop failed");
        return;
    }
    if (memchr(got, 0, sizeof got) == NULL || strcmp(got, want) != 0)
        TEST_FAIL("%u.%u.%u.%u: got \"%.16s\", inet_ntop \"%s\"", a[0], a[1], a[2], a[3], got, want);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    for (unsigned pos = 0; pos < 4; pos++)
        for (unsigned v = 0; v < 256; v++) {
            uint8_t a[4] = {127, 0, 0, 1};
            a[pos] = (uint8_t)v;
            check(a);
            uint8_t b[4] = {255, 255, 255, 255};
            b[pos] = (uint8_t)v;
            check(b);
        }
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint8_t a[4] = {(uint8_t)x, (uint8_t)(x >> 8), (uint8_t)(x >> 16), (uint8_t)(x >> 24)};
        check(a);
    }
    TEST_MAIN_END();
}
