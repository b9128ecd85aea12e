/*
 * AssumeRole: temporary credentials for a role whose trust policy allows the
 * caller. https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
 *
 * "Role chaining limits your Amazon Web Services CLI or Amazon Web Services
 * API role session to a maximum of one hour." A session that passes Tags
 * also needs sts:TagSession, and SourceIdentity needs sts:SetSourceIdentity,
 * in the trust policy (IAM User Guide, id_session-tags.html and
 * id_credentials_temp_control-access_monitor.html).
 */
#include <stdio.h>

#include "policy/policy.h"
#include "sts/sts_internal.h"

#define CHAIN_MAX_S 3600

static const struct query_str_spec role_arn_spec = {.name = "RoleArn", .required = true, .min = 20, .max = 2048,
                                                  .cs = QUERY_CS_ANY};
static const struct query_str_spec session_name_spec = {.name = "RoleSessionName", .required = true, .min = 2,
                                                      .max = 64, .cs = QUERY_CS_NAME};

static core_result denied(struct sts_ctx *ctx, struct core_cursor role_arn)
{
    return sts_fail(ctx, STS_E_ACCESS_DENIED, "User: %s is not authorized to perform: sts:AssumeRole on resource: %.*s",
                    ctx->caller->arn, (int)(role_arn.len > 512 ? 512 : role_arn.len), (const char *)role_arn.ptr);
}

/* Evaluates one action against the trust policy and the caller's identity side, with the shared context. */
static core_result trust_action(struct sts_ctx *ctx, const struct sts_identity *id, const struct iam_role *role,
                                struct policy_ctx *pc, const char *action, bool *allowed)
{
    pc->action = (struct core_cursor){0};
    pc->action_lc = (struct core_cursor){0};
    GUARD(policy_ctx_set_action(pc, core_cursor_str(action)));
    return sts_trust_authorize(ctx, id, role, pc, allowed);
}

/* The AssumeRole-specific keys: sts:RoleSessionName, sts:ExternalId, sts:SourceIdentity, request tags. */
static core_result trust_context(struct sts_ctx *ctx, struct policy_ctx *pc, struct core_cursor session_name,
                                 bool have_ext, struct core_cursor external_id, struct core_cursor si, bool mfa_ok,
                                 const struct sts_session_params *sp)
{
    GUARD(policy_ctx_add(pc, core_cursor_str("sts:RoleSessionName"), session_name));
    if (have_ext) GUARD(policy_ctx_add(pc, core_cursor_str("sts:ExternalId"), external_id));
    if (si.len) GUARD(policy_ctx_add(pc, core_cursor_str("sts:SourceIdentity"), si));
    /* An MFA code given with AssumeRole counts for this request (long-term credentials carry no MFA flag). */
    if (mfa_ok && !ctx->caller->temporary)
        GUARD(policy_ctx_add_bool(pc, core_cursor_str("aws:MultiFactorAuthPresent"), true));
    return sts_request_tags_context(pc, sp);
}

core_result sts_assume_role(struct sts_ctx *ctx)
{
    const struct core_form *f = ctx->call->form;
    const struct core_principal *caller = ctx->caller;
    const struct sts_session *cs = ctx->call->session;
    struct core_cursor role_arn, session_name, external_id, serial, token_code, source_identity;
    bool have_ext, have_serial, have_code, have_si, have_duration;
    int64_t duration = 3600;
    GUARD(query_param_str(f, ctx->out, &role_arn_spec, &role_arn, NULL));
    GUARD(query_param_str(f, ctx->out, &session_name_spec, &session_name, NULL));
    GUARD(query_param_int(f, ctx->out, "DurationSeconds", false, 900, 43200, &duration, &have_duration));
    const struct query_str_spec es = {.name = "ExternalId", .min = 2, .max = 1224, .cs = QUERY_CS_EXTERNAL_ID};
    GUARD(query_param_str(f, ctx->out, &es, &external_id, &have_ext));
    const struct query_str_spec ss = {.name = "SerialNumber", .min = 9, .max = 256, .cs = QUERY_CS_SERIAL};
    GUARD(query_param_str(f, ctx->out, &ss, &serial, &have_serial));
    const struct query_str_spec ts = {.name = "TokenCode", .min = 6, .max = 6, .cs = QUERY_CS_DIGITS};
    GUARD(query_param_str(f, ctx->out, &ts, &token_code, &have_code));
    const struct query_str_spec sis = {.name = "SourceIdentity", .min = 2, .max = 64, .cs = QUERY_CS_NAME};
    GUARD(query_param_str(f, ctx->out, &sis, &source_identity, &have_si));
    struct sts_session_params sp;
    GUARD(sts_read_session_params(ctx, &sp, true));

    if (caller->type == CORE_PRINCIPAL_ROOT)
        return sts_fail(ctx, STS_E_ACCESS_DENIED, "Roles may not be assumed by root accounts.");
    bool chained = caller->type == CORE_PRINCIPAL_ASSUMED_ROLE;
    if (chained && duration > CHAIN_MAX_S)
        return sts_fail(ctx, STS_E_VALIDATION,
                        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role "
                        "chaining.");
    if (have_serial != have_code)
        return sts_fail(ctx, STS_E_VALIDATION, "SerialNumber and TokenCode must be specified together.");

    char account[16];
    struct core_cursor role_name;
    if (!core_ok(iam_parse_role_arn(role_arn, account, &role_name)))
        return sts_fail(ctx, STS_E_VALIDATION, "%.*s is invalid",
                        (int)(role_arn.len > 256 ? 256 : role_arn.len), (const char *)role_arn.ptr);
    DEFER_CLEANUP(struct iam_role role = {0}, iam_role_free);
    bool mfa_ok = false;
    struct keystore_txn *txn = NULL;
    GUARD(keystore_txn_begin(ctx->env->ks, false, &txn));
    core_result r = iam_role_get(txn, account, role_name, &role);
    keystore_txn_abort(txn);
    if (r.err == ERR_NOT_FOUND) return denied(ctx, role_arn); /* AWS does not reveal whether the role exists */
    GUARD(r);
    if (have_serial) {
        core_result m = sts_mfa_use_code(ctx, serial, token_code);
        if (m.err == ERR_NOMEM || m.err == ERR_IO) return m;
        mfa_ok = core_ok(m);
    }
    if (have_serial && !mfa_ok)
        return sts_fail(ctx, STS_E_ACCESS_DENIED, "MultiFactorAuthentication failed with invalid MFA one time pass code.");
    if (!chained && have_duration && duration > (int64_t)role.max_session)
        return sts_fail(ctx, STS_E_VALIDATION,
                        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");

    /* Session tags: the caller's transitive tags carry over on chaining and cannot be overridden. */
    struct sts_tag tags[STS_MAX_SESSION_TAGS];
    struct core_cursor transitive[STS_MAX_SESSION_TAGS];
    size_t ntags = 0, ntrans = 0;
    if (chained && cs) {
        for (size_t i = 0; i < cs->n_tags; i++)
            for (size_t j = 0; j < cs->n_transitive; j++)
                if (core_cursor_eq_icase(cs->tags[i].key, cs->transitive[j]) && ntags < STS_MAX_SESSION_TAGS) {
                    tags[ntags++] = cs->tags[i];
                    transitive[ntrans++] = cs->transitive[j];
                }
    }
    size_t inherited = ntags;
    for (size_t i = 0; i < sp.n_tags; i++) {
        for (size_t j = 0; j < inherited; j++)
            if (core_cursor_eq_icase(tags[j].key, sp.tags[i].key))
                return sts_fail(ctx, STS_E_INVALID_PARAMETER_VALUE,
                                "One or more of the specified transitive tag keys can't be set because they "
                                "conflict with a transitive tag key from the calling session.");
        if (ntags == STS_MAX_SESSION_TAGS) return sts_fail(ctx, STS_E_PACKED_POLICY_TOO_LARGE, "Too many session tags.");
        tags[ntags++] = (struct sts_tag){sp.tags[i].key, sp.tags[i].value};
    }
    for (size_t i = 0; i < sp.n_transitive && ntrans < STS_MAX_SESSION_TAGS; i++) transitive[ntrans++] = sp.transitive[i];

    /* Source identity, once set, stays for the whole chain. */
    struct core_cursor si = have_si ? source_identity : (struct core_cursor){0};
    if (cs && cs->source_identity.len) {
        if (have_si && !core_cursor_eq(source_identity, cs->source_identity))
            return sts_fail(ctx, STS_E_VALIDATION, "The source identity of a role session cannot be changed.");
        si = cs->source_identity;
    }

    /* Trust policy, and the caller's identity policies where AWS requires them. */
    struct sts_identity id;
    GUARD(sts_identity_begin(ctx, &id));
    if (id.failed) {
        /* Without the caller's policies its explicit Denies are unknown: a trust policy naming the caller
         * must not carry the call alone (fail closed, as KMS does). */
        sts_identity_end(ctx, &id);
        return denied(ctx, role_arn);
    }
    struct policy_ctx pc;
    policy_ctx_init(&pc);
    policy_ctx_set_resource(&pc, core_cursor_str(role.arn));
    r = sts_request_context(ctx, &id, &pc);
    if (!core_ok(r)) {
        sts_identity_end(ctx, &id);
        return r;
    }
    r = trust_context(ctx, &pc, session_name, have_ext, external_id, si, mfa_ok, &sp);
    bool allowed = false;
    if (core_ok(r)) r = trust_action(ctx, &id, &role, &pc, ctx->action->row.iam_action, &allowed);
    if (core_ok(r) && allowed && sp.n_tags) r = trust_action(ctx, &id, &role, &pc, "sts:TagSession", &allowed);
    if (core_ok(r) && allowed && have_si) r = trust_action(ctx, &id, &role, &pc, "sts:SetSourceIdentity", &allowed);
    sts_identity_end(ctx, &id);
    GUARD(r);
    if (!allowed) return denied(ctx, role_arn);

    /* The session. */
    char arn[512], user_id[160];
    snprintf(arn, sizeof arn, "arn:%s:sts::%s:assumed-role/%s/%.*s", core_partition_of(caller->region), role.account,
             role.name, (int)session_name.len,
             (const char *)session_name.ptr);
    snprintf(user_id, sizeof user_id, "%s:%.*s", role.role_id, (int)session_name.len, (const char *)session_name.ptr);
    struct sts_issue in = {
        .type = CORE_PRINCIPAL_ASSUMED_ROLE,
        .account = role.account,
        .arn = arn,
        .user_id = user_id,
        .role_arn = role.arn,
        .issued = ctx->call->now,
        .expires = ctx->call->now + duration,
        .mfa = mfa_ok || caller->mfa,
        .chained = chained,
        .has_session_policies = sp.have_policy || sp.n_policy_arns > 0,
        .source_identity = si,
        .policy = sp.policy,
        .policy_arns = sp.policy_arns,
        .n_policy_arns = sp.n_policy_arns,
        .tags = tags,
        .n_tags = ntags,
        .transitive = transitive,
        .n_transitive = ntrans,
    };
    unsigned pct;
    GUARD(sts_check_packed(ctx, &in, &pct));
    GUARD(sts_issue_credentials(ctx, &in));
    struct core_buf *b = &ctx->out->body;
    GUARD(core_buf_append_str(b, "<AssumedRoleUser>"));
    GUARD(core_xml_elem_str(b, "AssumedRoleId", user_id));
    GUARD(core_xml_elem_str(b, "Arn", arn));
    GUARD(core_buf_append_str(b, "</AssumedRoleUser>"));
    if (sp.have_policy || sp.n_policy_arns || ntags) GUARD(core_buf_printf(b, "<PackedPolicySize>%u</PackedPolicySize>", pct));
    if (si.len) GUARD(core_xml_elem(b, "SourceIdentity", si));
    CORE_OK;
}
