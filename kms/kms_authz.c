#include <stdio.h>

#include "kms/kms_internal.h"

/*
 * Authorization seam. Every key-using handler calls kms_authorize() after
 * resolving the key; this is the only place that decides. Until key
 * policies and grants are evaluated (their own issue), it grants what the
 * default key policy grants - the key's own account - and, for AWS managed
 * keys, only what their managed-key policy lets the account do: use the key
 * for cryptography and read its metadata. The stored policy text is kept for
 * that later evaluation.
 */

static bool managed_allows(const char *action)
{
    static const char *const exact[] = {"kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", NULL};
    static const char *const prefix[] = {"kms:ReEncrypt", "kms:GenerateDataKey", "kms:Describe", "kms:Get",
                                         "kms:List", NULL};
    for (size_t i = 0; exact[i]; i++)
        if (strcmp(action, exact[i]) == 0) return true;
    for (size_t i = 0; prefix[i]; i++)
        if (strncmp(action, prefix[i], strlen(prefix[i])) == 0) return true;
    return false;
}

core_result kms_authorize(struct kms_ctx *ctx, const struct kms_key *key, const char *iam_action)
{
    bool same_account = strcmp(ctx->caller->account, key->account) == 0;
    if (same_account && (!key->aws_managed || managed_allows(iam_action))) CORE_OK;
    /* https://docs.aws.amazon.com/kms/latest/developerguide/policy-evaluation.html */
    return kms_fail(ctx, "AccessDeniedException",
                    "User: %s is not authorized to perform: %s on resource: %s because no resource-based policy "
                    "allows the %s action",
                    ctx->caller->arn, iam_action, key->arn, iam_action);
}

/* https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html, as GetKeyPolicy prints it. */
core_result kms_default_policy(const char *account, struct core_buf *out)
{
    return core_buf_printf(out,
                           "{\n"
                           "  \"Version\" : \"2012-10-17\",\n"
                           "  \"Id\" : \"key-default-1\",\n"
                           "  \"Statement\" : [ {\n"
                           "    \"Sid\" : \"Enable IAM User Permissions\",\n"
                           "    \"Effect\" : \"Allow\",\n"
                           "    \"Principal\" : {\n"
                           "      \"AWS\" : \"arn:aws:iam::%s:root\"\n"
                           "    },\n"
                           "    \"Action\" : \"kms:*\",\n"
                           "    \"Resource\" : \"*\"\n"
                           "  } ]\n"
                           "}",
                           account);
}

/* The policy AWS attaches to an AWS managed key (e.g. aws/s3): use through the service, read directly. */
core_result kms_managed_policy(const char *account, const char *region, const char *service, struct core_buf *out)
{
    return core_buf_printf(out,
                           "{\n"
                           "  \"Version\" : \"2012-10-17\",\n"
                           "  \"Id\" : \"auto-%s-1\",\n"
                           "  \"Statement\" : [ {\n"
                           "    \"Sid\" : \"Allow access through %s for all principals in the account that are "
                           "authorized to use %s\",\n"
                           "    \"Effect\" : \"Allow\",\n"
                           "    \"Principal\" : {\n"
                           "      \"AWS\" : \"*\"\n"
                           "    },\n"
                           "    \"Action\" : [ \"kms:Encrypt\", \"kms:Decrypt\", \"kms:ReEncrypt*\", "
                           "\"kms:GenerateDataKey*\", \"kms:DescribeKey\" ],\n"
                           "    \"Resource\" : \"*\",\n"
                           "    \"Condition\" : {\n"
                           "      \"StringEquals\" : {\n"
                           "        \"kms:CallerAccount\" : \"%s\",\n"
                           "        \"kms:ViaService\" : \"%s.%s.amazonaws.com\"\n"
                           "      }\n"
                           "    }\n"
                           "  }, {\n"
                           "    \"Sid\" : \"Allow direct access to key metadata to the account\",\n"
                           "    \"Effect\" : \"Allow\",\n"
                           "    \"Principal\" : {\n"
                           "      \"AWS\" : \"arn:aws:iam::%s:root\"\n"
                           "    },\n"
                           "    \"Action\" : [ \"kms:Describe*\", \"kms:Get*\", \"kms:List*\" ],\n"
                           "    \"Resource\" : \"*\"\n"
                           "  } ]\n"
                           "}",
                           service, service, service, account, service, region, account);
}
