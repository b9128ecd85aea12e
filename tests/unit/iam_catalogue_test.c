/*
 * The IAM action table names, for every action, the resource type and the
 * one parameter naming it (issue 16 item 1); the AWS managed policy
 * catalogue compiles, is found only by its exact ARN, and its ids follow the
 * documented rule (issue 10 item 8).
 */
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "iam/iam_internal.h"
#include "policy/policy.h"
#include "tests/test.h"

static const char *expected_param(enum iam_res r)
{
    switch (r) {
    case IAM_RES_ANY: return NULL;
    case IAM_RES_USER:
    case IAM_RES_USER_SELF:
    case IAM_RES_USER_NEW: return "UserName";
    case IAM_RES_ROLE:
    case IAM_RES_ROLE_NEW: return "RoleName";
    case IAM_RES_POLICY: return "PolicyArn";
    case IAM_RES_POLICY_NEW: return "PolicyName";
    case IAM_RES_OIDC: return "OpenIDConnectProviderArn";
    case IAM_RES_OIDC_NEW: return "Url";
    case IAM_RES_MFA_NEW: return "VirtualMFADeviceName";
    case IAM_RES_SAML: return "SAMLProviderArn";
    case IAM_RES_SAML_NEW: return "Name";
    }
    return "?";
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    for (size_t i = 0; i < iam_actions_count; i++) {
        const struct iam_action *a = &iam_actions[i];
        const char *want = expected_param(a->res);
        if (want == NULL)
            EXPECT_TRUE(a->param == NULL);
        else
            EXPECT_TRUE(a->param != NULL && strcmp(a->param, want) == 0);
        /* Actions on roles are authorized on the role, whatever else they carry. */
        if (strstr(a->row.name, "Role") && strcmp(a->row.name, "ListRoles") != 0)
            EXPECT_TRUE(a->res == IAM_RES_ROLE || a->res == IAM_RES_ROLE_NEW);
    }
    const struct iam_action *u = iam_action_find(core_cursor_str("UpdateAssumeRolePolicy"));
    EXPECT_TRUE(u != NULL && u->res == IAM_RES_ROLE);

    EXPECT_TRUE(iam_aws_policies_count >= 5 && iam_aws_policies_count <= IAM_AWS_POLICIES_MAX);
    for (size_t i = 0; i < iam_aws_policies_count; i++) {
        const struct iam_aws_policy *p = &iam_aws_policies[i];
        char arn[160];
        snprintf(arn, sizeof arn, "%s%s", IAM_AWS_POLICY_PREFIX, p->name);
        EXPECT_TRUE(iam_aws_policy_find(core_cursor_str(arn)) == p);
        struct policy_parse_opts o = {.kind = POLICY_KIND_IDENTITY, .max_bytes = POLICY_IAM_MANAGED_MAX_CHARS};
        struct policy *pol = NULL;
        EXPECT_OK(policy_parse(&o, core_cursor_str(p->doc), &pol, NULL, NULL));
        policy_free(pol);
        /* "ANPA" + the first 17 bytes of SHA-256(ARN), each mapped to [A-Z2-7] by its low 5 bits */
        uint8_t h[SHA256_DIGEST_LENGTH];
        SHA256((const uint8_t *)arn, strlen(arn), h);
        char id[22] = "ANPA";
        for (size_t j = 0; j < 17; j++) id[4 + j] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[h[j] & 31];
        id[21] = 0;
        EXPECT_STR_EQ(p->policy_id, id);
        EXPECT_TRUE(p->version[0] == 'v' && p->updated >= p->created);
        for (size_t j = 0; j < i; j++) EXPECT_TRUE(strcmp(iam_aws_policies[j].name, p->name) != 0);
    }
    EXPECT_TRUE(iam_aws_policy_find(core_cursor_str("arn:aws:iam::aws:policy/administratoraccess")) == NULL);
    EXPECT_TRUE(iam_aws_policy_find(core_cursor_str("arn:aws:iam::aws:policy/ReadOnlyAccess")) == NULL);
    EXPECT_TRUE(iam_aws_policy_find(core_cursor_str("arn:aws:iam::aws:policy/AdministratorAccessX")) == NULL);
    EXPECT_TRUE(iam_aws_policy_find(core_cursor_from("arn:aws:iam::aws:policy/AdministratorAccess\0", 44)) == NULL);
    EXPECT_TRUE(iam_aws_policy_find(core_cursor_str("arn:aws:iam::000000000000:policy/AdministratorAccess")) == NULL);
    TEST_MAIN_END();
}
