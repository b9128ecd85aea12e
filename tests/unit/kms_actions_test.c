/* The KMS action table is sorted (bsearch depends on it) and complete. */
#include "kms/kms_internal.h"
#include "tests/test.h"

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    EXPECT_TRUE(kms_actions_count > 0);
    for (size_t i = 0; i < kms_actions_count; i++) {
        EXPECT_TRUE(kms_actions[i].fn != NULL);
        EXPECT_TRUE(strncmp(kms_actions[i].iam_action, "kms:", 4) == 0);
        EXPECT_STR_EQ(kms_actions[i].iam_action + 4, kms_actions[i].operation);
        if (i > 0 && strcmp(kms_actions[i - 1].operation, kms_actions[i].operation) >= 0)
            TEST_FAIL("kms_actions not sorted at %s / %s", kms_actions[i - 1].operation, kms_actions[i].operation);
        EXPECT_TRUE(kms_action_find(core_cursor_str(kms_actions[i].operation)) == &kms_actions[i]);
    }
    EXPECT_TRUE(kms_action_find(core_cursor_str("Encrypt")) != NULL);
    EXPECT_TRUE(kms_action_find(core_cursor_str("encrypt")) == NULL);
    EXPECT_TRUE(kms_action_find(core_cursor_str("EncryptX")) == NULL);
    EXPECT_TRUE(kms_action_find(core_cursor_str("")) == NULL);
    TEST_MAIN_END();
}
