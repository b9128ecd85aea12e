#ifndef TESTS_TEST_H
#define TESTS_TEST_H

/*
 * Minimal test harness. Each tests/unit/<mod>_<thing>_test.c is one
 * executable; argv[1] is the repository's vectors/ directory. A failed
 * expectation prints the file:line, the error name and the BAIL site, and
 * the test exits non-zero at the end.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static int test_failures;
static const char *test_vectors_dir = "vectors";

#define TEST_FAIL(...)                                                         \
    do {                                                                       \
        fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__);                  \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
        test_failures++;                                                       \
    } while (0)

#define EXPECT_TRUE(c)                                                         \
    do {                                                                       \
        if (!(c)) TEST_FAIL("expected %s", #c);                                \
    } while (0)

#define EXPECT_OK(call)                                                        \
    do {                                                                       \
        core_result r_ = (call);                                               \
        if (!core_ok(r_))                                                      \
            TEST_FAIL("%s -> %s (at %s)", #call, core_err_name(r_.err),        \
                      core_result_site());                                     \
    } while (0)

#define EXPECT_ERR(call, e)                                                    \
    do {                                                                       \
        core_result r_ = (call);                                               \
        if (r_.err != (e))                                                     \
            TEST_FAIL("%s -> %s, expected %s", #call, core_err_name(r_.err),   \
                      core_err_name(e));                                       \
    } while (0)

#define EXPECT_BYTES_EQ(a, alen, b, blen)                                      \
    do {                                                                       \
        size_t al_ = (alen), bl_ = (blen);                                     \
        if (al_ != bl_ || (al_ && memcmp((a), (b), al_) != 0))                 \
            TEST_FAIL("bytes differ: %s (%zu) vs %s (%zu)", #a, al_, #b, bl_); \
    } while (0)

#define EXPECT_STR_EQ(a, b)                                                    \
    do {                                                                       \
        const char *a_ = (a), *b_ = (b);                                       \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                 \
            TEST_FAIL("\"%s\" != \"%s\"", a_ ? a_ : "(null)",                  \
                      b_ ? b_ : "(null)");                                     \
    } while (0)

#define TEST_MAIN_BEGIN(argc, argv)                                            \
    do {                                                                       \
        if ((argc) > 1) test_vectors_dir = (argv)[1];                          \
        if (!core_ok(core_crypto_init())) {                                    \
            fprintf(stderr, "crypto init failed\n");                           \
            return 2;                                                          \
        }                                                                      \
        core_json_init();                                                      \
    } while (0)

#define TEST_MAIN_END()                                                        \
    do {                                                                       \
        if (test_failures) {                                                   \
            fprintf(stderr, "%d expectation(s) failed\n", test_failures);      \
            return 1;                                                          \
        }                                                                      \
        return 0;                                                              \
    } while (0)

#endif
