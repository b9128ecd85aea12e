/*
 * STS's side of authorization: the caller's identity-based policies
 * (through iam_identity_acquire) for the actions AWS checks them for, and
 * the combination with a role's trust policy for sts:AssumeRole.
 *
 * "To assume a role, ... the role's trust policy must allow it, and, for a
 * principal in the same account that the trust policy names only through
 * the account, or for any principal in another account, an identity-based
 * policy must allow sts:AssumeRole as well."
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_manage-assume.html
 */
#include <stdio.h>

#include "policy/policy.h"
#include "sts/sts_internal.h"

void sts_session_info(const struct sts_session *s, struct iam_session_info *out)
{
    *out = (struct iam_session_info){
        .role_arn = s->role_arn,
        .source_identity = s->source_identity,
        .policy = s->policy,
        .has_session_policies = s->has_session_policies,
    };
    for (size_t i = 0; i < s->n_policy_arns && i < sizeof out->policy_arns / sizeof out->policy_arns[0]; i++)
        out->policy_arns[out->n_policy_arns++] = s->policy_arns[i];
    for (size_t i = 0; i < s->n_tags && i < QUERY_MAX_TAGS; i++)
        out->tags[out->n_tags++] = (struct query_tag){s->tags[i].key, s->tags[i].value};
}

core_result sts_identity_begin(struct sts_ctx *ctx, struct sts_identity *out)
{
    *out = (struct sts_identity){0};
    if (ctx->call->session) {
        sts_session_info(ctx->call->session, &out->info);
        out->session = &out->info;
    }
    if (ctx->env->iam == NULL) CORE_OK;
    core_result r = iam_identity_acquire(ctx->env->iam, ctx->caller, out->session, &out->id);
    if (!core_ok(r)) {
        core_log(CORE_LOG_WARN, "request %s: identity policies of %s unavailable: %s", ctx->call->request_id,
                 ctx->caller->arn, core_err_name(r.err));
        out->id = NULL;
        out->failed = true;
    }
    CORE_OK;
}

void sts_identity_end(struct sts_ctx *ctx, struct sts_identity *id)
{
    if (ctx->env->iam && id->id) iam_identity_release(ctx->env->iam, id->id);
    id->id = NULL;
}

core_result sts_request_context(struct sts_ctx *ctx, const struct sts_identity *id, struct policy_ctx *pc)
{
    struct iam_request_facts f = {
        .principal = ctx->caller,
        .session = id->session,
        .identity = id->id,
        .source_ip = ctx->call->source_ip,
        .secure_transport = ctx->call->secure_transport,
        .region = ctx->caller->region[0] ? ctx->caller->region : ctx->env->default_region,
        .now = ctx->call->now,
    };
    return iam_request_context(pc, &f);
}

core_result sts_authorize_identity(struct sts_ctx *ctx, const char *action, const char *resource)
{
    return sts_authorize_identity_tags(ctx, action, resource, NULL);
}

core_result sts_authorize_identity_tags(struct sts_ctx *ctx, const char *action, const char *resource,
                                        const struct sts_session_params *sp)
{
    if (ctx->env->iam == NULL) CORE_OK;
    struct sts_identity id;
    GUARD(sts_identity_begin(ctx, &id));
    bool allowed = id.id && id.id->full_access;
    struct policy_ctx pc;
    policy_ctx_init(&pc);
    struct policy_verdict v = {.allowed = false, .reason = POLICY_REASON_NO_IDENTITY};
    core_result r = {ERR_OK};
    if (!allowed && id.id) {
        r = policy_ctx_set_action(&pc, core_cursor_str(action));
        policy_ctx_set_resource(&pc, core_cursor_str(resource ? resource : ""));
        if (core_ok(r)) r = sts_request_context(ctx, &id, &pc);
        if (core_ok(r) && sp) r = sts_request_tags_context(&pc, sp);
        if (core_ok(r)) r = iam_authorize_identity(id.id, &pc, &v);
        allowed = core_ok(r) && v.allowed;
    }
    sts_identity_end(ctx, &id);
    if (r.err == ERR_NOMEM) return r;
    if (allowed) CORE_OK;
    if (resource)
        return sts_fail(ctx, STS_E_ACCESS_DENIED,
                        "User: %s is not authorized to perform: %s on resource: %s because no identity-based policy "
                        "allows the %s action", ctx->caller->arn, action, resource, action);
    return sts_fail(ctx, STS_E_ACCESS_DENIED,
                    "User: %s is not authorized to perform: %s because no identity-based policy allows the %s action",
                    ctx->caller->arn, action, action);
}

core_result sts_trust_authorize(struct sts_ctx *ctx, const struct sts_identity *id, const struct iam_role *role,
                                const struct policy_ctx *pc, bool *allowed)
{
    *allowed = false;
    struct policy_parse_opts o = {.kind = POLICY_KIND_TRUST, .max_bytes = POLICY_IAM_TRUST_MAX_CHARS,
                                  .ignore_whitespace = true};
    DEFER_CLEANUP(struct policy *p = NULL, policy_cleanup);
    core_result r = policy_parse(&o, core_buf_cursor(&role->trust), &p, NULL, NULL);
    if (!core_ok(r)) {
        core_log(CORE_LOG_WARN, "request %s: trust policy of %s does not parse: %s", ctx->call->request_id,
                 role->arn, core_err_name(r.err));
        CORE_OK;
    }
    if (ctx->env->iam == NULL) {
        struct policy_result res;
        GUARD(policy_evaluate(p, pc, &res));
        *allowed = res.decision == POLICY_ALLOW;
        CORE_OK;
    }
    /* Like a key policy, a trust policy must always allow: identity policies count only where it
     * names the account (POLICY_MODE_KMS has exactly these semantics). */
    struct policy_set set = {.mode = POLICY_MODE_KMS, .resource = p,
                             .same_account = strcmp(ctx->caller->account, role->account) == 0};
    if (id->id) {
        set.identity = id->id->identity;
        set.identity_count = id->id->identity_count;
        set.boundary = id->id->boundary;
        set.session = id->id->session;
        set.session_count = id->id->session_count;
        set.has_session_policies = id->id->has_session_policies;
    }
    struct policy_verdict v;
    GUARD(policy_authorize(&set, pc, &v));
    *allowed = v.allowed;
    CORE_OK;
}
