/*
 * What AssumeRole, AssumeRoleWithWebIdentity and GetFederationToken share:
 * session policies (Policy, PolicyArns), session tags, the packed-size
 * budget, and trust-policy evaluation.
 */
#include <stdio.h>

#include "policy/policy.h"
#include "sts/sts_internal.h"

core_result sts_read_session_params(struct sts_ctx *ctx, struct sts_session_params *p, bool tags_allowed)
{
    *p = (struct sts_session_params){0};
    const struct core_form *f = ctx->call->form;
    /* "The plaintext that you use for both inline and managed session policies
     * can't exceed 2,048 characters." (API_AssumeRole, API_GetFederationToken,
     * API_AssumeRoleWithWebIdentity, Request Parameters: Policy). The model's
     * length constraint is checked on the raw string, whitespace included,
     * before anything is parsed or packed: ValidationError "... at 'policy'
     * failed to satisfy constraint: Member must have length less than or
     * equal to 2048", never PackedPolicyTooLarge. */
    const struct query_str_spec ps = {.name = "Policy", .min = 1, .max = POLICY_STS_SESSION_MAX_CHARS,
                                      .cs = QUERY_CS_ANY};
    GUARD(query_param_str(f, ctx->out, &ps, &p->policy, &p->have_policy));
    const struct query_str_spec as = {.name = "PolicyArns", .min = 20, .max = 2048, .cs = QUERY_CS_ANY};
    GUARD(query_param_list(f, ctx->out, &as, ".arn", p->policy_arns, STS_MAX_POLICY_ARNS, &p->n_policy_arns));
    for (size_t i = 0; i < p->n_policy_arns; i++)
        if (!core_arn_match(p->policy_arns[i], "iam", NULL, NULL)) /* every partition: arn:aws-cn:iam::... */
            return sts_fail(ctx, STS_E_VALIDATION, "Invalid ARN: %.*s",
                            (int)(p->policy_arns[i].len > 256 ? 256 : p->policy_arns[i].len),
                            (const char *)p->policy_arns[i].ptr);
    if (tags_allowed) {
        GUARD(query_param_tags(f, ctx->out, "Tags", p->tags, &p->n_tags));
        const struct query_str_spec ts = {.name = "TransitiveTagKeys", .min = 1, .max = 128, .cs = QUERY_CS_TAG};
        GUARD(query_param_list(f, ctx->out, &ts, "", p->transitive, QUERY_MAX_TAGS, &p->n_transitive));
        for (size_t i = 0; i < p->n_transitive; i++) {
            bool found = false;
            for (size_t j = 0; j < p->n_tags; j++) found |= core_cursor_eq_icase(p->transitive[i], p->tags[j].key);
            if (!found)
                return sts_fail(ctx, STS_E_INVALID_PARAMETER_VALUE,
                                "The specified transitive tag key must be included in the requested tags.");
        }
    }
    if (p->have_policy) {
        /* Session policies are identity-kind documents. Their length in
         * characters was checked above; the allowed characters (\u0009-\u00FF)
         * take at most two UTF-8 bytes each, so this byte cap never refuses a
         * policy the character limit admitted. */
        struct policy_parse_opts o = {.kind = POLICY_KIND_IDENTITY, .max_bytes = 2 * POLICY_STS_SESSION_MAX_CHARS,
                                      .ignore_whitespace = true};
        DEFER_CLEANUP(struct core_buf reason = {0}, core_buf_cleanup);
        GUARD(core_buf_init(&reason, 256, 2048));
        struct policy *pol = NULL;
        enum policy_problem problem = POLICY_PROBLEM_NONE;
        core_result r = policy_parse(&o, p->policy, &pol, &reason, &problem);
        policy_free(pol);
        if (r.err == ERR_LIMIT && problem == POLICY_PROBLEM_SIZE)
            return sts_fail(ctx, STS_E_PACKED_POLICY_TOO_LARGE,
                            "Packed policy consumes more than 100%% of allotted space, please use smaller policy.");
        if (r.err == ERR_PARSE || r.err == ERR_LIMIT)
            return sts_fail(ctx, STS_E_MALFORMED_POLICY_DOCUMENT, "%.*s", (int)reason.len,
                            reason.len ? (const char *)reason.data : "");
        GUARD(r);
    }
    CORE_OK;
}

struct mfa_use {
    const struct core_principal *caller;
    struct core_cursor serial, code;
    int64_t now;
};

static core_result mfa_use_txn(struct keystore_txn *txn, void *varg)
{
    const struct mfa_use *a = varg;
    int64_t step = 0;
    GUARD(iam_mfa_check_code(txn, a->caller->account, a->serial, a->caller->arn, a->code, a->now, &step));
    return iam_mfa_set_last_step(txn, a->caller->account, a->serial, step);
}

core_result sts_mfa_use_code(struct sts_ctx *ctx, struct core_cursor serial, struct core_cursor code)
{
    struct mfa_use a = {.caller = ctx->caller, .serial = serial, .code = code, .now = ctx->call->now};
    return keystore_write(ctx->env->ks, mfa_use_txn, &a);
}

core_result sts_request_tags_context(struct policy_ctx *pc, const struct sts_session_params *sp)
{
    struct core_cursor tag_keys[QUERY_MAX_TAGS];
    for (size_t i = 0; i < sp->n_tags && i < QUERY_MAX_TAGS; i++) {
        GUARD(policy_ctx_add_prefixed(pc, "aws:RequestTag/", sp->tags[i].key, sp->tags[i].value));
        tag_keys[i] = sp->tags[i].key;
    }
    if (sp->n_tags) GUARD(policy_ctx_add_multi(pc, core_cursor_str("aws:TagKeys"), tag_keys, sp->n_tags));
    if (sp->n_transitive)
        GUARD(policy_ctx_add_multi(pc, core_cursor_str("sts:TransitiveTagKeys"), sp->transitive, sp->n_transitive));
    CORE_OK;
}

core_result sts_check_packed(struct sts_ctx *ctx, const struct sts_issue *in, unsigned *percent)
{
    size_t packed = sts_packed_bytes(in);
    size_t pct = (packed * 100 + STS_PACKED_BUDGET - 1) / STS_PACKED_BUDGET;
    if (packed > STS_PACKED_BUDGET)
        return sts_fail(ctx, STS_E_PACKED_POLICY_TOO_LARGE,
                        "Packed policy consumes %zu%% of allotted space, please use smaller policy for assume role.",
                        pct);
    *percent = (unsigned)pct;
    CORE_OK;
}

core_result sts_trust_allows(struct sts_ctx *ctx, const struct iam_role *role, const struct policy_ctx *pctx,
                             bool *allowed)
{
    *allowed = false;
    struct policy_parse_opts o = {.kind = POLICY_KIND_TRUST, .max_bytes = POLICY_IAM_TRUST_MAX_CHARS,
                                  .ignore_whitespace = true};
    DEFER_CLEANUP(struct policy *p = NULL, policy_cleanup);
    core_result r = policy_parse(&o, core_buf_cursor(&role->trust), &p, NULL, NULL);
    if (!core_ok(r)) {
        /* Validated when stored; a document that no longer parses trusts nobody. */
        core_log(CORE_LOG_WARN, "request %s: trust policy of %s does not parse: %s", ctx->call->request_id,
                 role->arn, core_err_name(r.err));
        CORE_OK;
    }
    struct policy_result res;
    GUARD(policy_evaluate(p, pctx, &res));
    *allowed = res.decision == POLICY_ALLOW;
    CORE_OK;
}

core_result sts_federated_issue(struct sts_ctx *ctx, struct policy_ctx *pc, const struct sts_federated_session *s)
{
    const struct sts_session_params *sp = s->sp;
    const struct iam_role *role = s->role;
    const char *extra[2] = {sp->n_tags ? "sts:TagSession" : NULL, s->source_identity.len ? "sts:SetSourceIdentity" : NULL};
    for (size_t k = 0; k < 2; k++) {
        if (!extra[k]) continue;
        pc->action = (struct core_cursor){0};
        pc->action_lc = (struct core_cursor){0};
        bool allowed = false;
        GUARD(policy_ctx_set_action(pc, core_cursor_str(extra[k])));
        GUARD(sts_trust_allows(ctx, role, pc, &allowed));
        if (!allowed) return sts_fail(ctx, STS_E_ACCESS_DENIED, "Not authorized to perform %s", extra[k]);
    }
    /* Only SAML's SessionNotOnOrAfter can end a session before it starts. */
    if (s->expires <= s->now)
        return sts_fail(ctx, STS_E_EXPIRED_TOKEN, "%s", "The SAML session (SessionNotOnOrAfter) has ended");

    struct sts_tag tags[STS_MAX_SESSION_TAGS];
    for (size_t k = 0; k < sp->n_tags && k < STS_MAX_SESSION_TAGS; k++)
        tags[k] = (struct sts_tag){sp->tags[k].key, sp->tags[k].value};
    char arn[512], user_id[160];
    snprintf(arn, sizeof arn, "arn:%s:sts::%s:assumed-role/%s/%.*s", core_partition_of(ctx->caller->region),
             role->account, role->name, (int)s->session_name.len, (const char *)s->session_name.ptr);
    snprintf(user_id, sizeof user_id, "%s:%.*s", role->role_id, (int)s->session_name.len,
             (const char *)s->session_name.ptr);
    struct sts_issue in = {
        .type = CORE_PRINCIPAL_ASSUMED_ROLE,
        .account = role->account,
        .arn = arn,
        .user_id = user_id,
        .role_arn = role->arn,
        .issued = s->now,
        .expires = s->expires,
        .source_identity = s->source_identity,
        .has_session_policies = sp->have_policy || sp->n_policy_arns > 0,
        .policy = sp->policy,
        .policy_arns = sp->policy_arns,
        .n_policy_arns = sp->n_policy_arns,
        .tags = tags,
        .n_tags = sp->n_tags,
        .transitive = sp->transitive,
        .n_transitive = sp->n_transitive,
    };
    unsigned pct = 0;
    GUARD(sts_check_packed(ctx, &in, &pct));
    GUARD(sts_issue_credentials(ctx, &in));
    struct core_buf *b = &ctx->out->body;
    if (s->between_name) GUARD(core_xml_elem(b, s->between_name, s->between_value));
    GUARD(core_buf_append_str(b, "<AssumedRoleUser>"));
    GUARD(core_xml_elem_str(b, "AssumedRoleId", user_id));
    GUARD(core_xml_elem_str(b, "Arn", arn));
    GUARD(core_buf_append_str(b, "</AssumedRoleUser>"));
    if (sp->have_policy || sp->n_policy_arns || sp->n_tags)
        GUARD(core_buf_printf(b, "<PackedPolicySize>%u</PackedPolicySize>", pct));
    CORE_OK;
}
