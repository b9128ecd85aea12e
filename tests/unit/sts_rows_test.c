/*
 * The STS action rows carry what the dispatcher and the server used to
 * decide by name or by handler: unsigned actions, the identity-policy check
 * of DecodeAuthorizationMessage and GetAccessKeyInfo, which actions
 * GetFederationToken and GetSessionToken credentials may call
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_request.html),
 * and sts:<Action> spelled from the name.
 */
#include <stdio.h>
#include <string.h>

#include "sts/sts_internal.h"
#include "tests/test.h"

static bool is(const char *a, const char *b) { return strcmp(a, b) == 0; }

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    EXPECT_TRUE(core_action_table_sorted(sts_actions, sts_actions_count, sizeof sts_actions[0]));
    for (size_t i = 0; i < sts_actions_count; i++) {
        const struct sts_action *a = &sts_actions[i];
        const char *n = a->row.name;
        char want[160];
        snprintf(want, sizeof want, "sts:%s", n);
        EXPECT_STR_EQ(a->row.iam_action, want);
        EXPECT_TRUE(sts_action_find(core_cursor_str(n)) == a);
        EXPECT_TRUE(core_action_has(&a->row, CORE_ACTION_HAS_RESULT));
        EXPECT_TRUE(!sts_action_writes(core_cursor_str(n)));
        EXPECT_TRUE(sts_action_is_unsigned(core_cursor_str(n)) ==
                    (is(n, "AssumeRoleWithWebIdentity") || is(n, "AssumeRoleWithSAML")));
        EXPECT_TRUE(core_action_has(&a->row, STS_IDENTITY_AUTHZ) ==
                    (is(n, "DecodeAuthorizationMessage") || is(n, "GetAccessKeyInfo")));
        EXPECT_TRUE(core_action_has(&a->row, STS_FEDERATED_OK) == is(n, "GetCallerIdentity"));
        EXPECT_TRUE(core_action_has(&a->row, STS_SESSION_TOKEN_OK) ==
                    (is(n, "GetCallerIdentity") || is(n, "AssumeRole")));
    }
    EXPECT_TRUE(!sts_action_is_unsigned(core_cursor_from("AssumeRoleWithWebIdentity\0", 26)));
    EXPECT_TRUE(!sts_action_is_unsigned(core_cursor_str("AssumeRoleWithWebIdentit")));
    TEST_MAIN_END();
}
