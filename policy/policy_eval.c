#include "policy/policy_compiled.h"

/*
 * Single-policy evaluation: does each statement apply to the request
 * (principal, action, resource, conditions), then "an explicit deny in any
 * statement overrides any allow".
 */

static enum policy_grant max_grant(enum policy_grant a, enum policy_grant b) { return a > b ? a : b; }

/* How one Principal entry matches one link of the caller's chain. */
static enum policy_grant entry_vs_link(const struct pol_principal *e, const struct policy_ctx_id *id,
                                       const struct policy_ctx *ctx)
{
    switch (e->kind) {
    case PRIN_ANY:
        return POLICY_GRANT_DIRECT;
    case PRIN_ACCOUNT:
        /* "arn:aws:iam::ACCT:root" and "ACCT" name the account: a grant to
         * every identity in it, which their own IAM policies must also
         * allow -- except the root user, for whom it is the caller itself. */
        if (!core_cursor_eq(e->value, id->value)) return POLICY_GRANT_NONE;
        return id->kind == POLICY_ID_ROOT      ? POLICY_GRANT_DIRECT
             : id->kind == POLICY_ID_ACCOUNT ? POLICY_GRANT_ACCOUNT
                                             : POLICY_GRANT_NONE;
    case PRIN_USER:
        /* POLICY_ID_ISSUER reaches here only for Deny statements (see
         * stmt_principal). */
        return (id->kind == POLICY_ID_USER || id->kind == POLICY_ID_ISSUER) && core_cursor_eq(e->value, id->value)
                   ? POLICY_GRANT_DIRECT
                   : POLICY_GRANT_NONE;
    case PRIN_ROLE:
        /* A role ARN matches every session of the role ("the permissions
         * apply to all role sessions" -- IAM User Guide, Principal). The
         * role's path is not part of the session ARN; the name and account
         * identify it. */
        return id->kind == POLICY_ID_ROLE && core_cursor_eq(e->value, id->value) &&
                       core_cursor_eq(e->account, ctx->account)
                   ? POLICY_GRANT_ROLE
                   : POLICY_GRANT_NONE;
    case PRIN_SESSION:
        return id->kind == POLICY_ID_SESSION && core_cursor_eq(e->value, id->value) ? POLICY_GRANT_DIRECT
                                                                                    : POLICY_GRANT_NONE;
    case PRIN_SERVICE:
        return id->kind == POLICY_ID_SERVICE && core_cursor_eq_icase(e->value, id->value)
                   ? POLICY_GRANT_DIRECT
                   : POLICY_GRANT_NONE;
    case PRIN_FEDERATED:
        return id->kind == POLICY_ID_FEDERATED && core_cursor_eq(e->value, id->value) ? POLICY_GRANT_DIRECT
                                                                                      : POLICY_GRANT_NONE;
    case PRIN_USER_ID:
        /* The user this id was saved for, not whoever has its name now --
         * also as the issuer of a federated session (POLICY_ID_ISSUER, Deny
         * only, see stmt_principal): a saved key policy holds the issuing
         * user's id, not its ARN. An empty uid matches nothing. */
        return (id->kind == POLICY_ID_USER || id->kind == POLICY_ID_ISSUER) && id->uid.len > 0 &&
                       core_cursor_eq(e->value, id->uid)
                   ? POLICY_GRANT_DIRECT
                   : POLICY_GRANT_NONE;
    case PRIN_ROLE_ID:
        return id->kind == POLICY_ID_ROLE && core_cursor_eq(e->value, id->uid) ? POLICY_GRANT_ROLE
                                                                               : POLICY_GRANT_NONE;
    }
    return POLICY_GRANT_NONE;
}

static enum policy_grant stmt_principal(const struct pol_stmt *st, const struct policy_ctx *ctx, bool boundary)
{
    if (!st->has_principal) return POLICY_GRANT_DIRECT; /* identity-kind: implicit principal */
    if (!st->not_principal) {
        if (st->principal_any) return POLICY_GRANT_DIRECT;
        enum policy_grant best = POLICY_GRANT_NONE;
        for (size_t i = 0; i < st->nprincipals; i++)
            for (size_t j = 0; j < ctx->nchain; j++) {
                /* The issuing user of a federated session is named to deny
                 * its sessions, never to grant them anything: "If that
                 * policy specifically references the federated user session
                 * in the Principal element of the policy, the session has
                 * the permissions allowed by the policy" (STS API
                 * Reference, GetFederationToken). */
                if (ctx->chain[j].kind == POLICY_ID_ISSUER && !st->deny) continue;
                best = max_grant(best, entry_vs_link(&st->principals[i], &ctx->chain[j], ctx));
            }
        return best;
    }
    /*
     * NotPrincipal: the caller is excluded only when every link of its
     * chain is listed. AWS's guidance for Deny+NotPrincipal is to list the
     * account, the role and the session ARN for a role session, and the
     * account and user ARN for a user; listing only some leaves the caller
     * covered by the statement.
     */
    if (st->principal_any) return POLICY_GRANT_NONE;
    if (ctx->nchain == 0) return POLICY_GRANT_DIRECT;
    /* "The NotPrincipal element with a Deny effect will always deny any IAM
     * principal that has a permissions boundary policy attached, regardless
     * of the values specified in the NotPrincipal element." -- IAM User
     * Guide, "AWS JSON policy elements: NotPrincipal", Key points. A
     * federated user session carries its issuing user's boundary: it is
     * covered too (the stricter reading; docs/policy.md). */
    if (boundary && (ctx->principal_type == CORE_PRINCIPAL_USER || ctx->principal_type == CORE_PRINCIPAL_ASSUMED_ROLE ||
                     ctx->principal_type == CORE_PRINCIPAL_FEDERATED))
        return POLICY_GRANT_DIRECT;
    for (size_t j = 0; j < ctx->nchain; j++) {
        /* The issuer link only widens Deny+Principal; listing the session
         * and its account is what excludes a federated user. */
        if (ctx->chain[j].kind == POLICY_ID_ISSUER) continue;
        bool listed = false;
        for (size_t i = 0; i < st->nprincipals && !listed; i++)
            listed = entry_vs_link(&st->principals[i], &ctx->chain[j], ctx) != POLICY_GRANT_NONE;
        if (!listed) return POLICY_GRANT_DIRECT;
    }
    return POLICY_GRANT_NONE;
}

static bool stmt_action(const struct pol_stmt *st, const struct policy_ctx *ctx)
{
    bool hit = st->action_any;
    for (size_t i = 0; i < st->nactions && !hit; i++) {
        const struct pol_pattern *a = &st->actions[i];
        hit = a->has_wild ? pol_glob(a->units, a->n, ctx->action_lc, false)
                          : a->n == ctx->action_lc.len && pol_glob(a->units, a->n, ctx->action_lc, false);
    }
    return st->not_action ? !hit : hit;
}

static core_result stmt_resource(const struct pol_stmt *st, const struct policy_ctx *ctx, bool *applies)
{
    *applies = true;
    if (!st->has_resource) CORE_OK;
    bool hit = st->resource_any, all_resolved = true;
    for (size_t i = 0; i < st->nresources && !hit; i++) {
        bool m, resolved;
        GUARD(pol_match_arn(&st->resources[i], ctx, ctx->resource, &m, &resolved));
        if (!resolved) all_resolved = false;
        hit = resolved && m;
    }
    /* NotResource with an unresolvable variable: the comparison failed,
     * so the statement does not apply. */
    *applies = st->not_resource ? (!hit && all_resolved) : hit;
    CORE_OK;
}

static core_result stmt_applies(const struct pol_stmt *st, const struct policy_ctx *ctx, bool boundary,
                                bool *applies, enum policy_grant *grant)
{
    *applies = false;
    *grant = POLICY_GRANT_NONE;
    if (!stmt_action(st, ctx)) CORE_OK;
    bool ok;
    GUARD(stmt_resource(st, ctx, &ok));
    if (!ok) CORE_OK;
    enum policy_grant g = stmt_principal(st, ctx, boundary);
    if (g == POLICY_GRANT_NONE) CORE_OK;
    GUARD(pol_conditions_hold(st, ctx, &ok));
    if (!ok) CORE_OK;
    *applies = true;
    *grant = g;
    CORE_OK;
}

core_result policy_evaluate(const struct policy *p, const struct policy_ctx *ctx, struct policy_result *out)
{
    return pol_evaluate(p, ctx, false, out);
}

core_result pol_evaluate(const struct policy *p, const struct policy_ctx *ctx, bool boundary,
                         struct policy_result *out)
{
    ENSURE_REF(out);
    *out = (struct policy_result){POLICY_EXPLICIT_DENY, -1, POLICY_GRANT_NONE};
    ENSURE_REF(p);
    ENSURE_REF(ctx);
    ENSURE(ctx->action_lc.len > 0, ERR_INVALID_ARG);
    int allow_stmt = -1;
    enum policy_grant allow_grant = POLICY_GRANT_NONE;
    for (size_t i = 0; i < p->nstmts; i++) {
        const struct pol_stmt *st = &p->stmts[i];
        /* An Allow that cannot beat the best grant so far need not run. */
        if (!st->deny && allow_grant == POLICY_GRANT_DIRECT) continue;
        bool applies;
        enum policy_grant g;
        GUARD(stmt_applies(st, ctx, boundary, &applies, &g));
        if (!applies) continue;
        if (st->deny) {
            out->statement = (int)i;
            return core_result_ok();
        }
        if (g > allow_grant) {
            allow_grant = g;
            allow_stmt = (int)i;
        }
    }
    if (allow_stmt >= 0) {
        *out = (struct policy_result){POLICY_ALLOW, allow_stmt, allow_grant};
    } else {
        *out = (struct policy_result){POLICY_NO_MATCH, -1, POLICY_GRANT_NONE};
    }
    CORE_OK;
}

enum policy_grant policy_statement_principal_match(const struct policy *p, size_t i, const struct policy_ctx *ctx)
{
    if (p == NULL || ctx == NULL || i >= p->nstmts) return POLICY_GRANT_NONE;
    return stmt_principal(&p->stmts[i], ctx, false);
}

const char *policy_decision_name(enum policy_decision d)
{
    switch (d) {
    case POLICY_NO_MATCH:
        return "NO_MATCH";
    case POLICY_ALLOW:
        return "ALLOW";
    case POLICY_EXPLICIT_DENY:
        return "EXPLICIT_DENY";
    }
    return "?";
}

const char *policy_grant_name(enum policy_grant g)
{
    switch (g) {
    case POLICY_GRANT_NONE:
        return "NONE";
    case POLICY_GRANT_ACCOUNT:
        return "ACCOUNT";
    case POLICY_GRANT_ROLE:
        return "ROLE";
    case POLICY_GRANT_DIRECT:
        return "DIRECT";
    }
    return "?";
}

bool policy_reads_context(const struct policy *p) { return p != NULL && p->reads_context; }

bool policy_has_condition_key(const struct policy *p, struct core_cursor key)
{
    if (p == NULL) return false;
    uint32_t h = pol_hash_icase(key);
    for (size_t i = 0; i < p->nstmts; i++)
        for (size_t j = 0; j < p->stmts[i].nconds; j++) {
            const struct pol_cond *c = &p->stmts[i].conds[j];
            if (c->hash != h || c->key.len != key.len) continue;
            size_t k = 0;
            while (k < key.len && pol_lower(c->key.ptr[k]) == pol_lower(key.ptr[k])) k++;
            if (k == key.len) return true;
        }
    return false;
}
