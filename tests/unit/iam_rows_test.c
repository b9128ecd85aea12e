/*
 * The IAM action rows carry each action's facts: the IAM action spelled
 * from the name (iam:<Action>), WRITES for exactly the actions the writer
 * pool used to pick by name prefix (Attach, Create, Delete, Detach, Enable,
 * Put, Update, ...), HAS_RESULT for the actions whose output shape has a
 * Result element (botocore's iam model: an "output" with "resultWrapper").
 */
#include <stdio.h>
#include <string.h>

#include "iam/iam_internal.h"
#include "tests/test.h"

static bool old_writes_rule(const char *name)
{
    static const char *const prefixes[] = {"Add", "Attach", "Change", "Create", "Deactivate", "Delete",
                                           "Detach", "Disable", "Enable", "Put", "Remove", "Resync", "Set",
                                           "Tag", "Untag", "Update", "Upload", NULL};
    for (size_t i = 0; prefixes[i]; i++)
        if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0) return true;
    return false;
}

/* Actions whose botocore output has no resultWrapper (the reply is ResponseMetadata only). */
static bool no_result(const char *name)
{
    static const char *const none[] = {"AttachRolePolicy", "AttachUserPolicy", "DeleteAccessKey",
                                       "DeleteOpenIDConnectProvider", "DeletePolicy", "DeleteRole",
                                       "DeleteRolePolicy", "DeleteSAMLProvider", "DeleteUser", "DeleteUserPolicy",
                                       "DetachRolePolicy", "DetachUserPolicy", "DisableOutboundWebIdentityFederation",
                                       "EnableMFADevice", "PutRolePolicy", "PutUserPolicy",
                                       "UpdateAccessKey", "UpdateAssumeRolePolicy", NULL};
    for (size_t i = 0; none[i]; i++)
        if (strcmp(name, none[i]) == 0) return true;
    return false;
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    EXPECT_TRUE(core_action_table_sorted(iam_actions, iam_actions_count, sizeof iam_actions[0]));
    for (size_t i = 0; i < iam_actions_count; i++) {
        const struct iam_action *a = &iam_actions[i];
        char want[160];
        snprintf(want, sizeof want, "iam:%s", a->row.name);
        EXPECT_STR_EQ(a->row.iam_action, want);
        EXPECT_TRUE(iam_action_find(core_cursor_str(a->row.name)) == a);
        if (core_action_has(&a->row, CORE_ACTION_WRITES) != old_writes_rule(a->row.name))
            TEST_FAIL("%s: WRITES differs from the writer pool's former name rule", a->row.name);
        EXPECT_TRUE(iam_action_writes(core_cursor_str(a->row.name)) == old_writes_rule(a->row.name));
        if (core_action_has(&a->row, CORE_ACTION_HAS_RESULT) == no_result(a->row.name))
            TEST_FAIL("%s: HAS_RESULT disagrees with the output shape", a->row.name);
        EXPECT_TRUE(!core_action_has(&a->row, CORE_ACTION_UNSIGNED)); /* IAM serves nothing unsigned */
    }
    EXPECT_TRUE(!iam_action_writes(core_cursor_str("CreateNothing")));
    EXPECT_TRUE(!iam_action_writes(core_cursor_from("CreateUser\0", 11)));
    TEST_MAIN_END();
}
