/* The KMS action table is sorted (bsearch depends on it) and complete. */
#include "kms/kms_internal.h"
#include "tests/test.h"

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    EXPECT_TRUE(kms_actions_count > 0);
    for (size_t i = 0; i < kms_actions_count; i++) {
        EXPECT_TRUE(kms_actions[i].fn != NULL);
        EXPECT_TRUE(strncmp(kms_actions[i].row.iam_action, "kms:", 4) == 0);
        /* The permission is the operation's name, except ReEncrypt's two (From on the source, To on the destination). */
        if (kms_actions[i].iam_action_to == NULL) {
            EXPECT_STR_EQ(kms_actions[i].row.iam_action + 4, kms_actions[i].row.name);
        } else {
            EXPECT_STR_EQ(kms_actions[i].row.name, "ReEncrypt");
            EXPECT_STR_EQ(kms_actions[i].row.iam_action, "kms:ReEncryptFrom");
            EXPECT_STR_EQ(kms_actions[i].iam_action_to, "kms:ReEncryptTo");
        }
        /* A row that needs a key says which identifier forms it reads. */
        if (kms_actions[i].row.flags & KMS_NEEDS_KEY) EXPECT_TRUE(kms_actions[i].key_forms != 0);
        if (i > 0 && strcmp(kms_actions[i - 1].row.name, kms_actions[i].row.name) >= 0)
            TEST_FAIL("kms_actions not sorted at %s / %s", kms_actions[i - 1].row.name, kms_actions[i].row.name);
        EXPECT_TRUE(kms_action_find(core_cursor_str(kms_actions[i].row.name)) == &kms_actions[i]);
    }
    EXPECT_TRUE(kms_action_find(core_cursor_str("Encrypt")) != NULL);
    EXPECT_TRUE(kms_action_find(core_cursor_str("encrypt")) == NULL);
    EXPECT_TRUE(kms_action_find(core_cursor_str("EncryptX")) == NULL);
    EXPECT_TRUE(kms_action_find(core_cursor_str("")) == NULL);
    /* The lookup remembers the thread's last row (round 5): right after each row is found, that row again,
     * its name one byte longer or shorter or with its last byte changed, and every other row. */
    for (size_t i = 0; i < kms_actions_count; i++) {
        const char *name = kms_actions[i].row.name;
        size_t len = strlen(name);
        char buf[64];
        EXPECT_TRUE(len + 1 < sizeof buf);
        for (size_t j = 0; j < kms_actions_count; j++) {
            EXPECT_TRUE(kms_action_find(core_cursor_str(name)) == &kms_actions[i]);
            EXPECT_TRUE(kms_action_find(core_cursor_str(name)) == &kms_actions[i]);
            memcpy(buf, name, len);
            buf[len] = 'x';
            EXPECT_TRUE(kms_action_find(core_cursor_from(buf, len + 1)) == NULL);
            EXPECT_TRUE(kms_action_find(core_cursor_str(name)) == &kms_actions[i]);
            buf[len - 1] ^= 0x20;
            EXPECT_TRUE(kms_action_find(core_cursor_from(buf, len)) == NULL);
            EXPECT_TRUE(kms_action_find(core_cursor_str(name)) == &kms_actions[i]);
            const struct kms_action *shorter = NULL;
            for (size_t k = 0; k < kms_actions_count; k++)
                if (strlen(kms_actions[k].row.name) == len - 1 && strncmp(kms_actions[k].row.name, name, len - 1) == 0)
                    shorter = &kms_actions[k];
            EXPECT_TRUE(kms_action_find(core_cursor_from(name, len - 1)) == shorter);
            EXPECT_TRUE(kms_action_find(core_cursor_str(kms_actions[j].row.name)) == &kms_actions[j]);
        }
    }
    /* The writer pool reads the row's WRITES flag. */
    EXPECT_TRUE(kms_action_writes(core_cursor_str("TrentService.CreateKey")));
    EXPECT_TRUE(kms_action_writes(core_cursor_str("TrentService.RetireGrant")));
    EXPECT_TRUE(!kms_action_writes(core_cursor_str("TrentService.Encrypt")));
    EXPECT_TRUE(!kms_action_writes(core_cursor_str("TrentService.ListAliases")));
    EXPECT_TRUE(!kms_action_writes(core_cursor_str("TrentService.Nope")));
    EXPECT_TRUE(!kms_action_writes(core_cursor_str("CreateKey")));
    /* The catalogue: codes are unique and statuses are HTTP error statuses. */
    for (int e = 0; e < KMS_E_COUNT; e++) {
        EXPECT_TRUE(kms_error_status((enum kms_error)e) >= 400 && kms_error_status((enum kms_error)e) < 600);
        for (int f = 0; f < e; f++)
            EXPECT_TRUE(strcmp(kms_error_code((enum kms_error)e), kms_error_code((enum kms_error)f)) != 0);
    }
    EXPECT_STR_EQ(kms_error_code(KMS_E_NOT_FOUND), "NotFoundException");
    EXPECT_TRUE(kms_error_status(KMS_E_INTERNAL) == 500);
    TEST_MAIN_END();
}
