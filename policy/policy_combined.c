#include "policy/policy_compiled.h"

/*
 * AWS's evaluation flow ("Policy evaluation logic", "Cross-account policy
 * evaluation logic", "Permissions boundaries for IAM entities", "Session
 * policies" in the IAM User Guide), without SCPs/RCPs:
 *
 *  1. An explicit Deny in any applicable policy denies.
 *  2. Same account:
 *     - a resource-policy Allow naming the caller itself (user ARN, session
 *       ARN, root, "*") allows, not limited by boundary or session policies;
 *     - one naming the caller's role allows within the permissions boundary
 *       and session policies ("resource policies cannot unilaterally grant
 *       access to an IAM role but can to particular role sessions");
 *     - otherwise identity policies AND boundary AND session policies must
 *       allow. In KMS mode this identity path only opens where the key
 *       policy allows the request for the caller's account ("IAM policies
 *       ... are effective only if the key policy allows it").
 *  3. Cross account: the resource policy must allow (any grant level) AND
 *     identity AND boundary AND session policies must allow.
 */

struct side {
    bool allow;
    bool deny;
    size_t index;
    int statement;
};

static core_result eval_list(const struct policy *const *list, size_t n, const struct policy_ctx *ctx,
                             struct side *s)
{
    *s = (struct side){.statement = -1};
    for (size_t i = 0; i < n; i++) {
        if (list[i] == NULL) continue;
        struct policy_result r;
        GUARD(policy_evaluate(list[i], ctx, &r));
        if (r.decision == POLICY_EXPLICIT_DENY) {
            *s = (struct side){.deny = true, .index = i, .statement = r.statement};
            CORE_OK;
        }
        if (r.decision == POLICY_ALLOW && !s->allow) {
            s->allow = true;
            s->index = i;
            s->statement = r.statement;
        }
    }
    CORE_OK;
}

static void verdict(struct policy_verdict *out, bool allowed, enum policy_reason reason, enum policy_source src,
                    size_t index, int statement)
{
    *out = (struct policy_verdict){allowed, reason, src, index, statement};
}

core_result policy_authorize(const struct policy_set *set, const struct policy_ctx *ctx, struct policy_verdict *out)
{
    ENSURE_REF(out);
    verdict(out, false, POLICY_REASON_NO_IDENTITY, POLICY_SOURCE_NONE, 0, -1);
    ENSURE_REF(set);
    ENSURE_REF(ctx);

    struct policy_result rr = {POLICY_NO_MATCH, -1, POLICY_GRANT_NONE}, rb = rr;
    struct side id, sess = {.statement = -1};
    GUARD(eval_list(set->identity, set->identity_count, ctx, &id));
    if (set->resource) GUARD(pol_evaluate(set->resource, ctx, set->boundary != NULL, &rr));
    if (set->boundary) GUARD(policy_evaluate(set->boundary, ctx, &rb));
    if (set->has_session_policies) GUARD(eval_list(set->session, set->session_count, ctx, &sess));

    if (id.deny) {
        verdict(out, false, POLICY_REASON_DENY_IDENTITY, POLICY_SOURCE_IDENTITY, id.index, id.statement);
        CORE_OK;
    }
    if (rr.decision == POLICY_EXPLICIT_DENY) {
        verdict(out, false, POLICY_REASON_DENY_RESOURCE, POLICY_SOURCE_RESOURCE, 0, rr.statement);
        CORE_OK;
    }
    if (rb.decision == POLICY_EXPLICIT_DENY) {
        verdict(out, false, POLICY_REASON_DENY_BOUNDARY, POLICY_SOURCE_BOUNDARY, 0, rb.statement);
        CORE_OK;
    }
    if (sess.deny) {
        verdict(out, false, POLICY_REASON_DENY_SESSION, POLICY_SOURCE_SESSION, sess.index, sess.statement);
        CORE_OK;
    }

    enum policy_grant r = rr.decision == POLICY_ALLOW ? rr.grant : POLICY_GRANT_NONE;
    bool I = id.allow;
    bool B = set->boundary == NULL || rb.decision == POLICY_ALLOW;
    bool S = !set->has_session_policies || sess.allow;

    if (set->same_account) {
        if (r == POLICY_GRANT_DIRECT || (r == POLICY_GRANT_ROLE && B && S)) {
            verdict(out, true, POLICY_REASON_ALLOWED, POLICY_SOURCE_RESOURCE, 0, rr.statement);
            CORE_OK;
        }
        bool identity_counts = set->mode == POLICY_MODE_STANDARD || r >= POLICY_GRANT_ACCOUNT;
        if (identity_counts && I && B && S) {
            verdict(out, true, POLICY_REASON_ALLOWED, POLICY_SOURCE_IDENTITY, id.index, id.statement);
            CORE_OK;
        }
        enum policy_reason why = (set->mode == POLICY_MODE_KMS && r == POLICY_GRANT_NONE) ? POLICY_REASON_NO_RESOURCE
                               : (!I && r < POLICY_GRANT_ROLE)                        ? POLICY_REASON_NO_IDENTITY
                               : !B                                                   ? POLICY_REASON_NO_BOUNDARY
                               : !S                                                   ? POLICY_REASON_NO_SESSION
                                                                                      : POLICY_REASON_NO_IDENTITY;
        verdict(out, false, why, POLICY_SOURCE_NONE, 0, -1);
        CORE_OK;
    }

    if (r == POLICY_GRANT_NONE) {
        verdict(out, false, POLICY_REASON_NO_RESOURCE, POLICY_SOURCE_NONE, 0, -1);
        CORE_OK;
    }
    if (I && B && S) {
        verdict(out, true, POLICY_REASON_ALLOWED, POLICY_SOURCE_IDENTITY, id.index, id.statement);
        CORE_OK;
    }
    verdict(out, false, !I ? POLICY_REASON_NO_IDENTITY : !B ? POLICY_REASON_NO_BOUNDARY : POLICY_REASON_NO_SESSION,
            POLICY_SOURCE_NONE, 0, -1);
    CORE_OK;
}

static const char *deny_phrase(enum policy_reason r)
{
    switch (r) {
    case POLICY_REASON_DENY_RESOURCE:
        return "with an explicit deny in a resource-based policy";
    case POLICY_REASON_DENY_IDENTITY:
        return "with an explicit deny in an identity-based policy";
    case POLICY_REASON_DENY_BOUNDARY:
        return "with an explicit deny in a permissions boundary";
    case POLICY_REASON_DENY_SESSION:
        return "with an explicit deny in a session policy";
    case POLICY_REASON_NO_IDENTITY:
        return "because no identity-based policy allows the ";
    case POLICY_REASON_NO_RESOURCE:
        return "because no resource-based policy allows the ";
    case POLICY_REASON_NO_BOUNDARY:
        return "because no permissions boundary allows the ";
    case POLICY_REASON_NO_SESSION:
        return "because no session policy allows the ";
    case POLICY_REASON_ALLOWED:
        return "";
    }
    return "";
}

static bool reason_names_action(enum policy_reason r)
{
    return r == POLICY_REASON_NO_IDENTITY || r == POLICY_REASON_NO_RESOURCE || r == POLICY_REASON_NO_BOUNDARY ||
           r == POLICY_REASON_NO_SESSION;
}

/* Echoes caller-supplied text capped and without control characters. */
static core_result append_safe(struct core_buf *out, struct core_cursor s)
{
    size_t n = s.len > 512 ? 512 : s.len;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s.ptr[i];
        GUARD(core_buf_append_u8(out, (c < 0x20 || c == 0x7f) ? '?' : c));
    }
    CORE_OK;
}

core_result policy_reason_append(struct core_buf *out, enum policy_reason reason, struct core_cursor action)
{
    ENSURE_REF(out);
    GUARD(core_buf_append_str(out, deny_phrase(reason)));
    if (reason_names_action(reason)) {
        GUARD(append_safe(out, action));
        GUARD(core_buf_append_str(out, " action"));
    }
    CORE_OK;
}

core_result policy_denied_message(struct core_buf *out, const struct policy_ctx *ctx, const struct policy_verdict *v)
{
    ENSURE_REF(out);
    ENSURE_REF(ctx);
    ENSURE_REF(v);
    GUARD(core_buf_append_str(out, "User: "));
    if (ctx->principal_arn.len) {
        GUARD(append_safe(out, ctx->principal_arn));
    } else {
        GUARD(core_buf_append_str(out, "anonymous"));
    }
    GUARD(core_buf_append_str(out, " is not authorized to perform: "));
    GUARD(append_safe(out, ctx->action));
    if (ctx->resource.len) {
        GUARD(core_buf_append_str(out, " on resource: "));
        GUARD(append_safe(out, ctx->resource));
    }
    if (v->reason != POLICY_REASON_ALLOWED) {
        GUARD(core_buf_append_u8(out, ' '));
        GUARD(policy_reason_append(out, v->reason, ctx->action));
    }
    CORE_OK;
}

const char *policy_reason_name(enum policy_reason r)
{
    switch (r) {
    case POLICY_REASON_ALLOWED:
        return "ALLOWED";
    case POLICY_REASON_DENY_RESOURCE:
        return "DENY_RESOURCE";
    case POLICY_REASON_DENY_IDENTITY:
        return "DENY_IDENTITY";
    case POLICY_REASON_DENY_BOUNDARY:
        return "DENY_BOUNDARY";
    case POLICY_REASON_DENY_SESSION:
        return "DENY_SESSION";
    case POLICY_REASON_NO_IDENTITY:
        return "NO_IDENTITY";
    case POLICY_REASON_NO_RESOURCE:
        return "NO_RESOURCE";
    case POLICY_REASON_NO_BOUNDARY:
        return "NO_BOUNDARY";
    case POLICY_REASON_NO_SESSION:
        return "NO_SESSION";
    }
    return "?";
}
