/*
 * GetFederationToken: credentials for a federated user, limited by session
 * policies. https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html
 * "You must pass an inline or managed session policy to this operation...
 * If you do not pass a policy to this operation, then the resulting
 * federated user session has no permissions." (has_session_policies is set.)
 *
 * Session tags: "When you use the temporary credentials that are returned by
 * the GetFederationToken operation, the session's principal tags include the
 * user's tags and the passed session tags", and "New session tags override
 * existing assumed role or federated user tags with the same tag key,
 * regardless of case". Passing Tags needs the permissions-only action
 * sts:TagSession in the user's identity policies.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html
 * The user's tags are copied into the sealed token here, so a Deny keyed on
 * them reaches the federated session wherever the token is used.
 */
#include <stdio.h>

#include "sts/sts_internal.h"

/* Session tags first, then the user's tags whose keys no session tag has (case-insensitively). */
static bool merge_tags(const struct sts_session_params *sp, const struct sts_identity *id, struct sts_tag *tags,
                       size_t cap, size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < sp->n_tags; i++) {
        if (*n == cap) return false;
        tags[(*n)++] = (struct sts_tag){sp->tags[i].key, sp->tags[i].value};
    }
    size_t nu = id->id ? id->id->n_tags : 0;
    for (size_t i = 0; i < nu; i++) {
        const struct query_tag *u = &id->id->tags[i];
        bool shadowed = false;
        for (size_t j = 0; j < sp->n_tags; j++) shadowed |= core_cursor_eq_icase(sp->tags[j].key, u->key);
        if (shadowed) continue;
        if (*n == cap) return false;
        tags[(*n)++] = (struct sts_tag){u->key, u->value};
    }
    return true;
}

core_result sts_get_federation_token(struct sts_ctx *ctx)
{
    const struct core_form *f = ctx->call->form;
    const struct core_principal *caller = ctx->caller;
    const struct query_str_spec ns = {.name = "Name", .required = true, .min = 2, .max = 32, .cs = QUERY_CS_NAME};
    struct core_cursor name;
    int64_t duration = 43200;
    GUARD(query_param_str(f, ctx->out, &ns, &name, NULL));
    GUARD(query_param_int(f, ctx->out, "DurationSeconds", false, 900, 129600, &duration, NULL));
    struct sts_session_params sp;
    GUARD(sts_read_session_params(ctx, &sp, true));
    /* "You can't set session tags as transitive when you use GetFederationToken" (no role chaining). */
    sp.n_transitive = 0;
    if (caller->temporary || (caller->type != CORE_PRINCIPAL_USER && caller->type != CORE_PRINCIPAL_ROOT))
        return sts_fail(ctx, STS_E_ACCESS_DENIED, "Cannot call GetFederationToken with session credentials");
    if (caller->type == CORE_PRINCIPAL_ROOT && duration > 3600) duration = 3600;
    char arn[512], user_id[160];
    snprintf(arn, sizeof arn, "arn:%s:sts::%s:federated-user/%.*s", core_partition_of(caller->region),
             caller->account, (int)name.len,
             (const char *)name.ptr);
    GUARD(sts_authorize_identity_tags(ctx, ctx->action->row.iam_action, arn, &sp));
    if (sp.n_tags) GUARD(sts_authorize_identity_tags(ctx, "sts:TagSession", arn, &sp));
    snprintf(user_id, sizeof user_id, "%s:%.*s", caller->account, (int)name.len, (const char *)name.ptr);

    /* The user's tags are borrowed from its compiled identity: held until the token is sealed. */
    struct sts_identity id;
    GUARD(sts_identity_begin(ctx, &id));
    struct sts_tag tags[STS_MAX_SESSION_TAGS];
    size_t ntags = 0;
    core_result r = core_result_ok();
    if (id.failed)
        /* The user's tags could not be read: issuing without them would escape a Deny keyed on them. */
        r = core_result_fail_at(ERR_IO, __FILE__, __LINE__);
    else if (!merge_tags(&sp, &id, tags, STS_MAX_SESSION_TAGS, &ntags))
        /* More than the 50 principal tags a token carries: refusing beats dropping a user tag a Deny may key on. */
        r = sts_fail(ctx, STS_E_PACKED_POLICY_TOO_LARGE,
                     "Packed policy consumes more than 100%% of allotted space, please use smaller policy.");
    struct sts_issue in = {
        .type = CORE_PRINCIPAL_FEDERATED,
        .account = caller->account,
        .arn = arn,
        .user_id = user_id,
        .role_arn = caller->arn, /* the issuing user: the session's permissions are its AND the session policies */
        .issuer_arn = caller->arn,
        .issuer_id = caller->user_id,
        .issued = ctx->call->now,
        .expires = ctx->call->now + duration,
        .has_session_policies = true,
        .policy = sp.policy,
        .policy_arns = sp.policy_arns,
        .n_policy_arns = sp.n_policy_arns,
        .tags = tags,
        .n_tags = sp.n_tags, /* PackedPolicySize counts what the request passed, as AWS's does */
    };
    unsigned pct = 0, all_pct;
    if (core_ok(r)) r = sts_check_packed(ctx, &in, &pct);
    /* The user's tags travel in the token too, so they share its budget: a user whose tags do not fit
     * cannot federate (refused, never truncated). */
    in.n_tags = ntags;
    if (core_ok(r)) r = sts_check_packed(ctx, &in, &all_pct);
    if (core_ok(r)) r = sts_issue_credentials(ctx, &in);
    sts_identity_end(ctx, &id);
    GUARD(r);
    struct core_buf *b = &ctx->out->body;
    GUARD(core_buf_append_str(b, "<FederatedUser>"));
    GUARD(core_xml_elem_str(b, "FederatedUserId", user_id));
    GUARD(core_xml_elem_str(b, "Arn", arn));
    GUARD(core_buf_append_str(b, "</FederatedUser>"));
    return core_buf_printf(b, "<PackedPolicySize>%u</PackedPolicySize>", pct);
}
