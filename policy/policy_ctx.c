#include "policy/policy_compiled.h"

#include <stdio.h>

#include "core/core_clock.h"
#include "core/core_limits.h"

/*
 * The per-request context: fixed arrays inside the struct, so building one
 * costs no allocation. Keys are hashed case-folded once, when added.
 */

uint32_t pol_hash_icase(struct core_cursor s)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < s.len; i++) {
        h ^= pol_lower(s.ptr[i]);
        h *= 16777619u;
    }
    return h;
}

void policy_ctx_init(struct policy_ctx *ctx)
{
    ctx->action = ctx->action_lc = ctx->resource = ctx->account = ctx->principal_arn =
        (struct core_cursor){NULL, 0};
    ctx->principal_type = CORE_PRINCIPAL_ANONYMOUS;
    ctx->has_principal = false;
    ctx->nchain = ctx->nkeys = ctx->nvals = ctx->scratch_used = 0;
}

/* Reserves n bytes of scratch. */
static core_result scratch(struct policy_ctx *ctx, size_t n, char **out)
{
    ENSURE(n <= sizeof ctx->scratch - ctx->scratch_used, ERR_LIMIT);
    *out = ctx->scratch + ctx->scratch_used;
    ctx->scratch_used += n;
    CORE_OK;
}

/* Copies the concatenation a|b|c into scratch. */
static core_result scratch_cat(struct policy_ctx *ctx, struct core_cursor a, struct core_cursor b,
                               struct core_cursor c, struct core_cursor *out)
{
    size_t n = a.len + b.len + c.len;
    char *p = NULL;
    GUARD(scratch(ctx, n, &p));
    if (a.len) memcpy(p, a.ptr, a.len);
    if (b.len) memcpy(p + a.len, b.ptr, b.len);
    if (c.len) memcpy(p + a.len + b.len, c.ptr, c.len);
    *out = core_cursor_from(p, n);
    CORE_OK;
}

int pol_ctx_lookup(const struct policy_ctx *ctx, struct core_cursor key, uint32_t hash,
                   const struct core_cursor **vals)
{
    for (size_t i = 0; i < ctx->nkeys; i++) {
        const struct policy_ctx_entry *e = &ctx->keys[i];
        if (e->hash == hash && core_cursor_eq_icase(e->key, key)) {
            *vals = &ctx->vals[e->first];
            return e->count;
        }
    }
    *vals = NULL;
    return -1;
}

int policy_ctx_get(const struct policy_ctx *ctx, struct core_cursor key, const struct core_cursor **vals)
{
    return pol_ctx_lookup(ctx, key, pol_hash_icase(key), vals);
}

core_result policy_ctx_add_multi(struct policy_ctx *ctx, struct core_cursor key, const struct core_cursor *vals,
                                 size_t n)
{
    ENSURE(key.len > 0 && key.len <= 1024, ERR_INVALID_ARG);
    ENSURE(n == 0 || vals != NULL, ERR_INVALID_ARG);
    ENSURE(ctx->nkeys < POLICY_CTX_MAX_KEYS, ERR_LIMIT);
    ENSURE(n <= POLICY_CTX_MAX_VALUES - ctx->nvals, ERR_LIMIT);
    uint32_t h = pol_hash_icase(key);
    const struct core_cursor *dummy;
    ENSURE(pol_ctx_lookup(ctx, key, h, &dummy) < 0, ERR_EXISTS);
    struct policy_ctx_entry *e = &ctx->keys[ctx->nkeys++];
    e->key = key;
    e->hash = h;
    e->first = (uint16_t)ctx->nvals;
    e->count = (uint16_t)n;
    for (size_t i = 0; i < n; i++) ctx->vals[ctx->nvals++] = vals[i];
    CORE_OK;
}

core_result policy_ctx_add(struct policy_ctx *ctx, struct core_cursor key, struct core_cursor value)
{
    return policy_ctx_add_multi(ctx, key, &value, 1);
}

core_result policy_ctx_add_str(struct policy_ctx *ctx, const char *key, const char *value)
{
    ENSURE_REF(key);
    ENSURE_REF(value);
    return policy_ctx_add(ctx, core_cursor_str(key), core_cursor_str(value));
}

core_result policy_ctx_add_bool(struct policy_ctx *ctx, struct core_cursor key, bool v)
{
    return policy_ctx_add(ctx, key, core_cursor_str(v ? "true" : "false"));
}

core_result policy_ctx_add_int(struct policy_ctx *ctx, struct core_cursor key, int64_t v)
{
    /* "%lld" by hand: snprintf cost more than the rest of the add. */
    char t[24];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        t[sizeof t - 1 - n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) t[sizeof t - 1 - n++] = '-';
    char *p = NULL;
    GUARD(scratch(ctx, n, &p));
    memcpy(p, t + sizeof t - n, n);
    return policy_ctx_add(ctx, key, core_cursor_from(p, n));
}

core_result policy_ctx_add_prefixed(struct policy_ctx *ctx, const char *prefix, struct core_cursor name,
                                    struct core_cursor value)
{
    ENSURE_REF(prefix);
    struct core_cursor key;
    GUARD(scratch_cat(ctx, core_cursor_str(prefix), name, (struct core_cursor){NULL, 0}, &key));
    return policy_ctx_add(ctx, key, value);
}

core_result policy_ctx_add_principal_tag(struct policy_ctx *ctx, struct core_cursor tag, struct core_cursor value)
{
    return policy_ctx_add_prefixed(ctx, "aws:PrincipalTag/", tag, value);
}

core_result policy_ctx_set_time(struct policy_ctx *ctx, int64_t now)
{
    char *iso = NULL;
    GUARD(scratch(ctx, 32, &iso));
    core_time_iso8601(now, iso);
    GUARD(policy_ctx_add(ctx, core_cursor_str("aws:CurrentTime"), core_cursor_str(iso)));
    return policy_ctx_add_int(ctx, core_cursor_str("aws:EpochTime"), now);
}

core_result policy_ctx_set_action(struct policy_ctx *ctx, struct core_cursor action)
{
    ENSURE(action.len > 0 && action.len <= 256, ERR_INVALID_ARG);
    char *p = NULL;
    GUARD(scratch(ctx, action.len, &p));
    for (size_t i = 0; i < action.len; i++) p[i] = (char)pol_lower(action.ptr[i]);
    ctx->action = action;
    ctx->action_lc = core_cursor_from(p, action.len);
    CORE_OK;
}

void policy_ctx_set_resource(struct policy_ctx *ctx, struct core_cursor arn) { ctx->resource = arn; }

static core_result chain_add(struct policy_ctx *ctx, enum policy_id_kind kind, struct core_cursor value)
{
    ENSURE(ctx->nchain < POLICY_CTX_MAX_CHAIN, ERR_LIMIT);
    ctx->chain[ctx->nchain++] = (struct policy_ctx_id){kind, value, {NULL, 0}};
    CORE_OK;
}

/* Field i (0-based) of an ARN split on its first five colons. */
static bool arn_field(struct core_cursor arn, unsigned want, struct core_cursor *out)
{
    struct core_cursor c = arn, tok;
    for (unsigned i = 0; i < 5; i++) {
        if (!core_cursor_split(&c, ':', &tok) || c.ptr == NULL) return false;
        if (i == want) {
            *out = tok;
            return true;
        }
    }
    *out = c;
    return want == 5;
}

static bool is_account(struct core_cursor a)
{
    if (a.len != CORE_ACCOUNT_ID_LEN) return false;
    for (size_t i = 0; i < a.len; i++)
        if (a.ptr[i] < '0' || a.ptr[i] > '9') return false;
    return true;
}

core_result policy_ctx_set_principal(struct policy_ctx *ctx, const struct core_principal *p,
                                     struct core_cursor role_arn)
{
    ENSURE_REF(p);
    ENSURE(!ctx->has_principal, ERR_INVALID_ARG);
    ctx->has_principal = true;
    ctx->principal_type = p->type;

    /* Copy what we keep: the caller's struct may be short-lived. */
    struct core_cursor acct_in = core_cursor_from(p->account, strnlen(p->account, sizeof p->account));
    struct core_cursor arn_in = core_cursor_from(p->arn, strnlen(p->arn, sizeof p->arn));
    struct core_cursor uid_in = core_cursor_from(p->user_id, strnlen(p->user_id, sizeof p->user_id));
    struct core_cursor none = {NULL, 0}, acct, arn, uid;

    if (p->type == CORE_PRINCIPAL_ANONYMOUS) {
        GUARD(chain_add(ctx, POLICY_ID_ANONYMOUS, none));
        return policy_ctx_add_str(ctx, "aws:PrincipalType", "Anonymous");
    }
    ENSURE(is_account(acct_in), ERR_PARSE);
    GUARD(scratch_cat(ctx, acct_in, none, none, &acct));
    GUARD(scratch_cat(ctx, arn_in, none, none, &arn));
    GUARD(scratch_cat(ctx, uid_in, none, none, &uid));
    ctx->account = acct;
    ctx->principal_arn = arn;

    struct core_cursor resource, principal_arn = arn;
    const char *type = "Account";
    switch (p->type) {
    case CORE_PRINCIPAL_ROOT:
        GUARD(chain_add(ctx, POLICY_ID_ROOT, acct));
        break;
    case CORE_PRINCIPAL_USER: {
        ENSURE(arn_field(arn, 5, &resource) && core_cursor_starts_with(resource, "user/"), ERR_PARSE);
        GUARD(chain_add(ctx, POLICY_ID_ACCOUNT, acct));
        GUARD(chain_add(ctx, POLICY_ID_USER, arn));
        ctx->chain[ctx->nchain - 1].uid = uid;
        /* aws:username is the friendly name: the last path component. */
        struct core_cursor name = resource;
        for (size_t i = resource.len; i > 0; i--)
            if (resource.ptr[i - 1] == '/') {
                name = core_cursor_from(resource.ptr + i, resource.len - i);
                break;
            }
        GUARD(policy_ctx_add(ctx, core_cursor_str("aws:username"), name));
        type = "User";
        break;
    }
    case CORE_PRINCIPAL_ASSUMED_ROLE: {
        /* arn:aws:sts::ACCT:assumed-role/ROLE/SESSION */
        ENSURE(arn_field(arn, 5, &resource) && core_cursor_starts_with(resource, "assumed-role/"), ERR_PARSE);
        struct core_cursor rest = core_cursor_from(resource.ptr + 13, resource.len - 13), role;
        ENSURE(core_cursor_split(&rest, '/', &role) && role.len > 0 && rest.ptr != NULL, ERR_PARSE);
        GUARD(chain_add(ctx, POLICY_ID_ACCOUNT, acct));
        GUARD(chain_add(ctx, POLICY_ID_ROLE, role));
        /* aws:userid of a role session is "AROA...:SESSION": the role's id is before the colon. */
        struct core_cursor uid_rest = uid, role_id = {NULL, 0};
        if (!core_cursor_split(&uid_rest, ':', &role_id)) role_id = uid;
        ctx->chain[ctx->nchain - 1].uid = role_id;
        GUARD(chain_add(ctx, POLICY_ID_SESSION, arn));
        if (role_arn.len > 0) {
            GUARD(scratch_cat(ctx, role_arn, none, none, &principal_arn));
        } else {
            struct core_cursor partition;
            ENSURE(arn_field(arn, 1, &partition), ERR_PARSE);
            struct core_cursor pre, mid;
            GUARD(scratch_cat(ctx, core_cursor_str("arn:"), partition, core_cursor_str(":iam::"), &pre));
            GUARD(scratch_cat(ctx, acct, core_cursor_str(":role/"), role, &mid));
            /* pre and mid are adjacent in scratch: join them. */
            principal_arn = core_cursor_from(pre.ptr, pre.len + mid.len);
        }
        type = "AssumedRole";
        break;
    }
    case CORE_PRINCIPAL_FEDERATED: {
        ENSURE(arn_field(arn, 5, &resource) && core_cursor_starts_with(resource, "federated-user/"), ERR_PARSE);
        GUARD(chain_add(ctx, POLICY_ID_ACCOUNT, acct));
        GUARD(chain_add(ctx, POLICY_ID_SESSION, arn));
        /* The issuing IAM user: "specifying the ARN of IAM user token-app
         * in the policy will result in denying access to all federated
         * users created by token-app" -- IAM User Guide, "Disabling
         * permissions for temporary security credentials", Denying access
         * to federated users (issue 16 item 5). Root-issued sessions need
         * no link: a Deny naming the account already covers them. */
        struct core_cursor iss_in = core_cursor_from(p->issuer_arn, strnlen(p->issuer_arn, sizeof p->issuer_arn));
        if (iss_in.len > 0) {
            struct core_cursor svc, iacct, ires, iss;
            ENSURE(core_cursor_starts_with(iss_in, "arn:") && arn_field(iss_in, 2, &svc) &&
                       core_cursor_eq_str(svc, "iam") && arn_field(iss_in, 4, &iacct) && core_cursor_eq(iacct, acct) &&
                       arn_field(iss_in, 5, &ires),
                   ERR_PARSE);
            if (core_cursor_starts_with(ires, "user/")) {
                ENSURE(ires.len > 5 && ires.ptr[ires.len - 1] != '/', ERR_PARSE);
                /* Saved key and trust policies name the user by its unique
                 * id (iam/iam_principal_ids.c): the link carries it so that
                 * form of the Deny reaches the session too. Empty only for
                 * contexts built without one; then the ARN form alone
                 * matches. */
                struct core_cursor iid_in = core_cursor_from(p->issuer_id, strnlen(p->issuer_id, sizeof p->issuer_id)),
                                   iid = none;
                ENSURE(iid_in.len == 0 || policy_unique_id_kind(iid_in) == 'U', ERR_PARSE);
                GUARD(scratch_cat(ctx, iss_in, none, none, &iss));
                if (iid_in.len > 0) GUARD(scratch_cat(ctx, iid_in, none, none, &iid));
                GUARD(chain_add(ctx, POLICY_ID_ISSUER, iss));
                ctx->chain[ctx->nchain - 1].uid = iid;
            } else {
                ENSURE(core_cursor_eq_str(ires, "root"), ERR_PARSE);
            }
        }
        type = "FederatedUser";
        break;
    }
    case CORE_PRINCIPAL_ANONYMOUS:
        break; /* handled above */
    }
    GUARD(policy_ctx_add(ctx, core_cursor_str("aws:PrincipalArn"), principal_arn));
    GUARD(policy_ctx_add(ctx, core_cursor_str("aws:PrincipalAccount"), acct));
    GUARD(policy_ctx_add(ctx, core_cursor_str("aws:PrincipalType"), core_cursor_str(type)));
    if (uid.len) GUARD(policy_ctx_add(ctx, core_cursor_str("aws:userid"), uid));
    if (p->temporary) {
        GUARD(policy_ctx_add_bool(ctx, core_cursor_str("aws:MultiFactorAuthPresent"), p->mfa));
        if (p->token_issued > 0) {
            char *iso = NULL;
            GUARD(scratch(ctx, 32, &iso));
            core_time_iso8601(p->token_issued, iso);
            GUARD(policy_ctx_add(ctx, core_cursor_str("aws:TokenIssueTime"), core_cursor_str(iso)));
        }
    }
    CORE_OK;
}

core_result policy_ctx_set_service(struct policy_ctx *ctx, struct core_cursor service)
{
    ENSURE(!ctx->has_principal && service.len > 0, ERR_INVALID_ARG);
    ctx->has_principal = true;
    ctx->principal_type = CORE_PRINCIPAL_ANONYMOUS;
    ctx->principal_arn = service;
    GUARD(chain_add(ctx, POLICY_ID_SERVICE, service));
    GUARD(policy_ctx_add(ctx, core_cursor_str("aws:PrincipalServiceName"), service));
    return policy_ctx_add_bool(ctx, core_cursor_str("aws:PrincipalIsAWSService"), true);
}

core_result policy_ctx_set_federated(struct policy_ctx *ctx, struct core_cursor provider)
{
    ENSURE(!ctx->has_principal && provider.len > 0, ERR_INVALID_ARG);
    ctx->has_principal = true;
    ctx->principal_type = CORE_PRINCIPAL_ANONYMOUS;
    ctx->principal_arn = provider;
    GUARD(chain_add(ctx, POLICY_ID_FEDERATED, provider));
    return policy_ctx_add(ctx, core_cursor_str("aws:FederatedProvider"), provider);
}
