/*
 * The AWS managed policies kmsd ships (iam_managed_policies.def): looked up
 * by ARN for GetPolicy, GetPolicyVersion, attachment, boundaries and
 * evaluation. They live in no account ("arn:aws:iam::aws:policy/NAME"), so
 * their attachment counts are counted in the caller's account.
 */
#include <stdio.h>

#include "iam/iam_internal.h"

const struct iam_aws_policy iam_aws_policies[] = {
#define X(name, id, version, created, updated, description, doc) \
    {#name, id, version, created, updated, description, doc},
#include "iam/iam_managed_policies.def"
#undef X
};
const size_t iam_aws_policies_count = sizeof iam_aws_policies / sizeof iam_aws_policies[0];

const struct iam_aws_policy *iam_aws_policy_find(struct core_cursor arn)
{
    struct core_cursor tail;
    if (!iam_arn_tail(arn, &tail) || !core_cursor_starts_with(tail, "aws:policy/")) return NULL;
    struct core_cursor name = core_cursor_from(tail.ptr + 11, tail.len - 11);
    /* Policy ARNs are case-sensitive: "administratoraccess" is no policy. */
    for (size_t i = 0; i < iam_aws_policies_count; i++)
        if (core_cursor_eq_str(name, iam_aws_policies[i].name)) return &iam_aws_policies[i];
    return NULL;
}

bool iam_arn_is_aws_managed(struct core_cursor arn)
{
    struct core_cursor tail;
    return iam_arn_tail(arn, &tail) && core_cursor_starts_with(tail, "aws:policy/");
}

core_result iam_aws_policy_counts(struct keystore_txn *txn, const char *account, const char *arn, int64_t *attached,
                                  int64_t *boundaries)
{
    *attached = *boundaries = 0;
    static const char *const tables[] = {IAM_T_USER, IAM_T_ROLE};
    for (size_t t = 0; t < 2; t++) {
        DEFER_CLEANUP(struct iam_list l = {0}, iam_list_end);
        GUARD(iam_list_begin(&l, txn, tables[t], account, core_cursor_str("")));
        for (;;) {
            struct core_cursor id;
            json_t *rec = NULL;
            core_result r = iam_list_next(&l, &id, &rec);
            if (r.err == ERR_NOT_FOUND) break;
            GUARD(r);
            size_t i;
            json_t *v;
            json_array_foreach(json_object_get(rec, "attached"), i, v) if (json_is_string(v) &&
                                                                              strcmp(json_string_value(v), arn) == 0)
                (*attached)++;
            if (strcmp(iam_js(rec, "boundary"), arn) == 0) (*boundaries)++;
            json_decref(rec);
        }
    }
    CORE_OK;
}
