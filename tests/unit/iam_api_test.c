/* The IAM action table is sorted; TOTP matches RFC 6238's SHA-1 vectors. */
#include <string.h>

#include "iam/iam_internal.h"
#include "tests/test.h"

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    for (size_t i = 1; i < iam_actions_count; i++)
        EXPECT_TRUE(strcmp(iam_actions[i - 1].row.name, iam_actions[i].row.name) < 0);
    EXPECT_TRUE(iam_action_find(core_cursor_str("CreateRole")) != NULL);
    EXPECT_TRUE(iam_action_find(core_cursor_str("createrole")) == NULL);
    /* RFC 6238 appendix B, SHA-1 seed "12345678901234567890", last 6 digits */
    struct core_cursor seed = core_cursor_str("12345678901234567890");
    static const struct {
        int64_t t;
        const char *code;
    } v[] = {{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"}, {1234567890, "005924"},
             {2000000000, "279037"}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char c[7];
        EXPECT_OK(iam_totp(seed, v[i].t / 30, c));
        EXPECT_STR_EQ(c, v[i].code);
    }
    TEST_MAIN_END();
}
