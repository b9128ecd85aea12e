/*
 * GetFederationToken: credentials for a federated user, limited by session
 * policies. https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html
 * "You must pass an inline or managed session policy to this operation...
 * If you do not pass a policy to this operation, then the resulting
 * federated user session has no permissions." (has_session_policies is set.)
 */
#include <stdio.h>

#include "sts/sts_internal.h"

core_result sts_get_federation_token(struct sts_ctx *ctx)
{
    const struct core_form *f = ctx->call->form;
    const struct core_principal *caller = ctx->caller;
    const struct iam_str_spec ns = {.name = "Name", .required = true, .min = 2, .max = 32, .cs = IAM_CS_NAME};
    struct core_cursor name;
    int64_t duration = 43200;
    GUARD(iam_param_str(f, ctx->out, &ns, &name, NULL));
    GUARD(iam_param_int(f, ctx->out, "DurationSeconds", false, 900, 129600, &duration, NULL));
    struct sts_session_params sp;
    GUARD(sts_read_session_params(ctx, &sp, true));
    if (caller->temporary || (caller->type != CORE_PRINCIPAL_USER && caller->type != CORE_PRINCIPAL_ROOT))
        return sts_fail(ctx, 403, "AccessDenied", "Cannot call GetFederationToken with session credentials");
    if (caller->type == CORE_PRINCIPAL_ROOT && duration > 3600) duration = 3600;
    char arn[512], user_id[160];
    snprintf(arn, sizeof arn, "arn:%s:sts::%s:federated-user/%.*s", core_partition_of(caller->region),
             caller->account, (int)name.len,
             (const char *)name.ptr);
    GUARD(sts_authorize_identity(ctx, "sts:GetFederationToken", arn));
    snprintf(user_id, sizeof user_id, "%s:%.*s", caller->account, (int)name.len, (const char *)name.ptr);
    struct sts_tag tags[IAM_MAX_TAGS];
    for (size_t i = 0; i < sp.n_tags; i++) tags[i] = (struct sts_tag){sp.tags[i].key, sp.tags[i].value};
    struct sts_issue in = {
        .type = CORE_PRINCIPAL_FEDERATED,
        .account = caller->account,
        .arn = arn,
        .user_id = user_id,
        .role_arn = caller->arn, /* the issuing user: the session's permissions are its AND the session policies */
        .issued = ctx->call->now,
        .expires = ctx->call->now + duration,
        .has_session_policies = true,
        .policy = sp.policy,
        .policy_arns = sp.policy_arns,
        .n_policy_arns = sp.n_policy_arns,
        .tags = tags,
        .n_tags = sp.n_tags,
        .transitive = sp.transitive,
        .n_transitive = sp.n_transitive,
    };
    unsigned pct;
    GUARD(sts_check_packed(ctx, &in, &pct));
    GUARD(sts_issue_credentials(ctx, &in));
    struct core_buf *b = &ctx->out->body;
    GUARD(core_buf_append_str(b, "<FederatedUser>"));
    GUARD(core_xml_elem_str(b, "FederatedUserId", user_id));
    GUARD(core_xml_elem_str(b, "Arn", arn));
    GUARD(core_buf_append_str(b, "</FederatedUser>"));
    return core_buf_printf(b, "<PackedPolicySize>%u</PackedPolicySize>", pct);
}
