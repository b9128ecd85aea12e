#include "policy/policy_compiled.h"

/*
 * Condition evaluation. Semantics, from the IAM User Guide ("Condition
 * operators", "Creating a condition with multiple keys or values",
 * "Multivalued context keys"):
 *
 *  - Operators in a Condition block, and keys within one operator, are ANDed.
 *  - Values of one key are ORed; for a negated operator (StringNotEquals,
 *    NotIpAddress, ...) they are NORed: the request value must match none.
 *  - "If the key that you specify in a policy condition is not present in
 *    the request context, the values do not match and the condition is
 *    false. If the policy condition requires that the key is not matched,
 *    such as StringNotLike or ArnNotLike, and the right key is not present,
 *    the condition is true." ...IfExists: a missing key makes it true.
 *  - ForAllValues: true when every request value matches (an empty or
 *    missing key is true). ForAnyValue: true when at least one request value
 *    matches (an empty or missing key is false).
 *  - Null: "true" holds when the key is absent, "false" when present.
 *
 * A policy value whose variable cannot be resolved fails its comparison in
 * both polarities (for a negated operator it does not count as "not
 * equal"), so an unresolvable value never widens what a statement matches
 * through negation.
 */

#define BIN_STACK 1024u

/* Positive comparison of one request value with one policy value. */
static core_result cmp_one(const struct pol_cond *c, const struct pol_value *pv, const struct policy_ctx *ctx,
                           struct core_cursor v, bool *m, bool *resolved)
{
    *m = false;
    *resolved = true;
    switch (c->op) {
    case OP_STRING_EQUALS:
    case OP_STRING_EQUALS_IC:
    case OP_STRING_LIKE:
    case OP_BOOL:
        return pol_match_string(&pv->pat, ctx, v, m, resolved);
    case OP_ARN_LIKE:
        return pol_match_arn(&pv->pat, ctx, v, m, resolved);
    case OP_NUMERIC_EQ:
    case OP_NUMERIC_LT:
    case OP_NUMERIC_LE:
    case OP_NUMERIC_GT:
    case OP_NUMERIC_GE: {
        double x;
        if (!pol_parse_number(v, &x)) CORE_OK;
        double y = pv->u.num;
        *m = c->op == OP_NUMERIC_EQ ? x == y
           : c->op == OP_NUMERIC_LT ? x < y
           : c->op == OP_NUMERIC_LE ? x <= y
           : c->op == OP_NUMERIC_GT ? x > y
                                    : x >= y;
        CORE_OK;
    }
    case OP_DATE_EQ:
    case OP_DATE_LT:
    case OP_DATE_LE:
    case OP_DATE_GT:
    case OP_DATE_GE: {
        int64_t x;
        if (!pol_parse_date(v, &x)) CORE_OK;
        int64_t y = pv->u.ms;
        *m = c->op == OP_DATE_EQ ? x == y
           : c->op == OP_DATE_LT ? x < y
           : c->op == OP_DATE_LE ? x <= y
           : c->op == OP_DATE_GT ? x > y
                                 : x >= y;
        CORE_OK;
    }
    case OP_BINARY_EQUALS: {
        /* The request value is base64 text, like the policy value; compare
         * the decoded bytes. A value that decodes longer than the policy
         * value cannot be equal, so the stack buffer bounds nothing real. */
        uint8_t buf[BIN_STACK];
        size_t n;
        size_t cap = pv->u.bin.len < BIN_STACK ? pv->u.bin.len + 1 : BIN_STACK;
        if (!pol_base64_decode(v, buf, cap, &n)) CORE_OK;
        *m = core_cursor_eq(core_cursor_from(buf, n), pv->u.bin);
        CORE_OK;
    }
    case OP_IP_ADDRESS: {
        struct pol_ip ip;
        if (!pol_parse_ip(v, false, &ip)) CORE_OK;
        *m = pol_ip_in(&pv->u.ip, &ip);
        CORE_OK;
    }
    case OP_NULL:
        break; /* handled by the caller */
    }
    CORE_OK;
}

/* One request value against all policy values: OR for positive operators,
 * NOR for negated ones. */
static core_result match_value(const struct pol_cond *c, const struct policy_ctx *ctx, struct core_cursor v,
                               bool *out)
{
    for (size_t i = 0; i < c->nvals; i++) {
        bool m, resolved;
        GUARD(cmp_one(c, &c->vals[i], ctx, v, &m, &resolved));
        if (c->negated) {
            if (!resolved || m) {
                *out = false;
                CORE_OK;
            }
        } else if (resolved && m) {
            *out = true;
            CORE_OK;
        }
    }
    *out = c->negated;
    CORE_OK;
}

static core_result cond_holds(const struct pol_cond *c, const struct policy_ctx *ctx, bool *out)
{
    const struct core_cursor *vals;
    int cnt = pol_ctx_lookup(ctx, c->key, c->hash, &vals);

    if (c->op == OP_NULL) {
        bool present = cnt > 0;
        *out = false;
        for (size_t i = 0; i < c->nvals; i++)
            if (c->vals[i].u.null_is_true ? !present : present) *out = true;
        CORE_OK;
    }
    if (cnt <= 0) {
        *out = c->if_exists || c->set == SET_FOR_ALL ? true : c->set == SET_FOR_ANY ? false : c->negated;
        CORE_OK;
    }
    if (c->set == SET_FOR_ANY) {
        for (int i = 0; i < cnt; i++) {
            bool m;
            GUARD(match_value(c, ctx, vals[i], &m));
            if (m) {
                *out = true;
                CORE_OK;
            }
        }
        *out = false;
        CORE_OK;
    }
    /* ForAllValues, and a plain operator on a multivalued key when negated:
     * every request value must pass. A plain positive operator passes when
     * any request value matches. */
    bool all = c->set == SET_FOR_ALL || c->negated;
    for (int i = 0; i < cnt; i++) {
        bool m;
        GUARD(match_value(c, ctx, vals[i], &m));
        if (all && !m) {
            *out = false;
            CORE_OK;
        }
        if (!all && m) {
            *out = true;
            CORE_OK;
        }
    }
    *out = all;
    CORE_OK;
}

core_result pol_conditions_hold(const struct pol_stmt *st, const struct policy_ctx *ctx, bool *holds)
{
    *holds = false;
    for (size_t i = 0; i < st->nconds; i++) {
        bool ok;
        GUARD(cond_holds(&st->conds[i], ctx, &ok));
        if (!ok) CORE_OK;
    }
    *holds = true;
    CORE_OK;
}
