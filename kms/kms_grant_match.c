#include <stdio.h>

#include "kms/kms_grant.h"

/*
 * Whether a grant allows a request: its grantee is the caller, it lists the
 * operation, and its encryption-context constraints hold (compared by
 * length: a NUL inside a key or value is data). kms_authz.c asks
 * kms_grants_allow() after the policies; explicit denies still win there.
 */

bool kms_caller_is(const struct kms_ctx *ctx, struct core_cursor arn)
{
    const struct core_principal *p = ctx->caller;
    if (arn.len == 0) return false;
    if (core_cursor_eq_str(arn, p->arn)) return true;
    if (p->type == CORE_PRINCIPAL_ASSUMED_ROLE) {
        /* "you can specify ... the role ARN"; the grant then applies to every session of the role. */
        const struct iam_session_info *s = ctx->call->session;
        if (s && s->role_arn.len && core_cursor_eq(arn, s->role_arn)) return true;
        /* "arn:<partition>:sts::<account>:assumed-role/<role>/<session>" (our own ARN) -> the role's ARN */
        struct core_cursor rest = core_cursor_str(p->arn), f;
        for (int i = 0; i < 5 && rest.ptr; i++) core_cursor_split(&rest, ':', &f);
        if (rest.ptr && core_cursor_starts_with(rest, "assumed-role/")) {
            struct core_cursor name = core_cursor_from(rest.ptr + 13, rest.len - 13), role;
            core_cursor_split(&name, '/', &role);
            char plain[512];
            snprintf(plain, sizeof plain, "arn:%s:iam::%s:role/%.*s", core_partition_of(p->region), p->account,
                     (int)role.len,
                     (const char *)role.ptr);
            if (role.len && core_cursor_eq_str(arn, plain)) return true;
        }
    }
    return false;
}

static bool has_op(const json_t *g, struct core_cursor op)
{
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(g, "ops"), i, v) if (core_cursor_eq(kms_jcur(v), op)) return true;
    return false;
}

/*
 * "in a grant constraint, the key in each key-value pair is not case
 * sensitive, but the value is case sensitive."
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_GrantConstraints.html
 * Values are compared by length: a NUL inside one is data, never an end
 * ("g\u0000EVIL" is not "g"). Keys cannot hold a NUL (the JSON reader
 * refuses one in an object key).
 */
static bool pair_in(const json_t *ec, const char *k, const json_t *v)
{
    if (!json_is_object(ec) || !json_is_string(v)) return false;
    struct core_cursor kc = core_cursor_str(k), vc = kms_jcur(v);
    const char *ek;
    const json_t *ev;
    json_object_foreach((json_t *)(uintptr_t)ec, ek, ev) {
        if (json_is_string(ev) && core_cursor_eq_icase(core_cursor_str(ek), kc) && core_cursor_eq(kms_jcur(ev), vc))
            return true;
    }
    return false;
}

/* Every pair of sub is in ec (keys without case, values exactly). */
static bool ec_contains(const json_t *ec, const json_t *sub)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)(uintptr_t)sub, k, v) if (!pair_in(ec, k, v)) return false;
    return true;
}

static size_t ec_size(const json_t *ec) { return json_is_object(ec) ? json_object_size(ec) : 0; }

/* ec and eq hold the same pairs (keys without case). */
static bool ec_equals(const json_t *ec, const json_t *eq)
{
    return ec_size(ec) == ec_size(eq) && ec_contains(ec, eq) && ec_contains(eq, ec);
}

bool kms_grant_constraints_ok(const json_t *g, const json_t *ec)
{
    const json_t *eq = json_object_get(g, "ceq"), *sub = json_object_get(g, "csub");
    if (json_is_object(eq) && !ec_equals(ec, eq)) return false;
    if (json_is_object(sub) && !ec_contains(ec, sub)) return false;
    return true;
}

/*
 * "If a grant with a grant constraint includes the CreateGrant operation,
 * the constraint requires that any grants created with the CreateGrant
 * permission have an equally strict or stricter encryption context
 * constraint." Any context the child's constraints accept must satisfy the
 * parent's: an Equals parent needs the same Equals; a Subset parent needs
 * its pairs in the child's Subset or Equals.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html
 */
static bool child_as_strict(const json_t *parent, const json_t *request)
{
    const json_t *c = json_object_get(request, "Constraints");
    const json_t *peq = json_object_get(parent, "ceq"), *psub = json_object_get(parent, "csub");
    const json_t *ceq = json_object_get(c, "EncryptionContextEquals"), *csub = json_object_get(c, "EncryptionContextSubset");
    if (json_is_object(peq) && !(json_is_object(ceq) && ec_equals(ceq, peq))) return false;
    if (json_is_object(psub) &&
        !((json_is_object(csub) && ec_contains(csub, psub)) || (json_is_object(ceq) && ec_contains(ceq, psub))))
        return false;
    return true;
}

struct allow_arg {
    struct kms_ctx *ctx;
    struct core_cursor op;
    const json_t *ec;
    bool allowed;
};

static core_result allow_visit(void *argp, struct core_cursor id, const json_t *g, bool *stop)
{
    (void)id;
    struct allow_arg *a = argp;
    if (!kms_caller_is(a->ctx, kms_jc(g, "grantee")) || !has_op(g, a->op)) CORE_OK;
    if (core_cursor_eq_str(a->op, "CreateGrant")) {
        /* "the grantee ... can create grants with the same or fewer operations, and the same or stricter constraints" */
        const json_t *ops = json_object_get(a->ctx->in, "Operations");
        size_t i;
        const json_t *v;
        json_array_foreach(ops, i, v) if (!has_op(g, kms_jcur(v))) CORE_OK;
        if (!child_as_strict(g, a->ctx->in)) CORE_OK;
    } else if (kms_grant_op_takes_context(a->op) && !kms_grant_constraints_ok(g, a->ec)) {
        /* "Grants with grant constraints can include the DescribeKey and
         * RetireGrant operations, but the constraint doesn't apply to these
         * operations." (CreateGrant API page) */
        CORE_OK;
    }
    a->allowed = true;
    *stop = true;
    CORE_OK;
}

core_result kms_grants_allow(struct kms_ctx *ctx, struct keystore_txn *txn, const struct kms_key *key,
                             const char *iam_action, bool *allowed)
{
    *allowed = false;
    if (strncmp(iam_action, "kms:", 4) != 0) CORE_OK;
    struct core_cursor op = core_cursor_str(iam_action + 4);
    if (!kms_grant_op_valid(op)) CORE_OK;
    const char *ec_member = core_cursor_eq_str(op, "ReEncryptFrom") ? "SourceEncryptionContext"
                            : core_cursor_eq_str(op, "ReEncryptTo") ? "DestinationEncryptionContext"
                                                                    : "EncryptionContext";
    struct allow_arg a = {.ctx = ctx, .op = op, .ec = ctx->in ? json_object_get(ctx->in, ec_member) : NULL};
    char prefix[128];
    kms_grant_prefix(key, prefix);
    GUARD(kms_grants_each(txn, prefix, (struct core_cursor){0}, allow_visit, &a));
    *allowed = a.allowed;
    CORE_OK;
}
