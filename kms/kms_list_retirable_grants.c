#include <stdio.h>

#include "kms/kms_grant.h"

/*
 * ListRetirableGrants: grants, on any key in the Region, whose
 * RetiringPrincipal is the given principal. "Cross-account use: You must
 * specify a principal in your Amazon Web Services account. ... This can
 * include grants on KMS keys owned by other Amazon Web Services accounts,
 * but you do not need kms:ListRetirableGrants permission (or any other
 * additional permission) in any Amazon Web Services account other than your
 * own." Authorized by IAM policy alone, kms:ListRetirableGrants on the
 * retiring principal's ARN.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_ListRetirableGrants.html
 *
 * Served from the index by retiring principal (kms_grant.c), one prefix per
 * (Region, principal): the cost follows the grants listed, not the grants
 * stored.
 */

struct list_arg {
    struct core_jw *w;
    struct core_cursor retiring;
    int64_t limit, n;
    bool truncated;
    struct core_buf *next;
};

static core_result visit(void *argp, struct core_cursor id, const json_t *g, bool *stop)
{
    struct list_arg *a = argp;
    /* The row's hash named this principal; the grant must name it too, byte for byte. */
    if (!core_cursor_eq(a->retiring, kms_jc(g, "retiring"))) CORE_OK;
    if (a->n == a->limit) {
        a->truncated = true;
        GUARD(core_buf_append_cursor(a->next, id));
        *stop = true;
        CORE_OK;
    }
    a->n++;
    return kms_grant_render(a->w, g);
}

/* The account a principal belongs to: an ARN's account field, or a bare account id. */
static bool principal_account(struct core_cursor p, struct core_cursor *account)
{
    if (kms_principal_arn_account(p, account)) return true;
    if (p.len != 12) return false;
    for (size_t i = 0; i < 12; i++)
        if (p.ptr[i] < '0' || p.ptr[i] > '9') return false;
    *account = p;
    return true;
}

core_result kms_list_retirable_grants(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor retiring, marker;
    bool have_retiring, have_limit, have_marker;
    int64_t limit = 50;
    GUARD(kms_param_string(ctx, in, "RetiringPrincipal", 1, 256, true, &retiring, &have_retiring));
    if (have_retiring && !kms_principal_id_pattern_ok(retiring))
        kms_invalid_cursor(ctx, "RetiringPrincipal", retiring,
                           "Member must satisfy regular expression pattern: ^[\\w+=,.@:/-]+$");
    GUARD(kms_param_int(ctx, in, "Limit", 1, 100, false, &limit, &have_limit));
    GUARD(kms_param_marker(ctx, in, &marker, &have_marker));
    GUARD(kms_params_done(ctx));
    /* "KMS authorizes ListRetirableGrants requests by evaluating the caller
     * account's kms:ListRetirableGrants permissions. The authorized resource
     * in ListRetirableGrants calls is the retiring principal specified in the
     * request." (API page). The pattern above keeps NUL out of it. */
    char resource[257];
    snprintf(resource, sizeof resource, "%.*s", (int)retiring.len, (const char *)retiring.ptr);
    GUARD(kms_authorize_identity(ctx, resource));
    /*
     * "You must specify a principal in your Amazon Web Services account"
     * (above). A principal of another account, or a value naming no account,
     * is refused (issue 10.3). AWS's wording for this refusal is not
     * published; ours follows its AccessDeniedException shape.
     */
    struct core_cursor acct;
    if (!principal_account(retiring, &acct) || !core_cursor_eq_str(acct, ctx->caller->account))
        return kms_fail(ctx, KMS_E_ACCESS_DENIED,
                        "User: %s is not authorized to perform: kms:ListRetirableGrants on resource: %.*s because "
                        "the retiring principal is not in account %s",
                        ctx->caller->arn, (int)retiring.len, (const char *)retiring.ptr, ctx->caller->account);

    DEFER_CLEANUP(struct core_buf prefix = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_buf from = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_buf next = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&prefix, 128, 256));
    GUARD(core_buf_init(&from, 0, 1024));
    GUARD(core_buf_init(&next, 256, KEYSTORE_MAX_ID_BYTES));
    GUARD(kms_grant_ret_prefix(ctx->region, retiring, &prefix));
    if (have_marker) {
        GUARD(kms_marker_decode(ctx, marker, &from));
        /* A marker from another principal's (or another Region's) listing is not ours to follow. */
        struct core_cursor f = core_buf_cursor(&from);
        if (f.len <= prefix.len || !core_cursor_eq(core_cursor_from(f.ptr, prefix.len), core_buf_cursor(&prefix)))
            return kms_fail(ctx, KMS_E_INVALID_MARKER, "%s", "Invalid marker");
    }

    struct keystore_txn *txn = NULL;
    GUARD(keystore_txn_begin(ctx->env->ks, false, &txn));
    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    struct list_arg a = {.w = &w, .retiring = retiring, .limit = limit, .next = &next};
    core_result r = core_jw_object_begin(&w, NULL);
    if (core_ok(r)) r = core_jw_array_begin(&w, "Grants");
    if (core_ok(r)) r = kms_grant_ret_each(txn, core_buf_cursor(&prefix), core_buf_cursor(&from), visit, &a);
    keystore_txn_abort(txn);
    if (!core_ok(r)) return kms_internal(ctx, r, "ListRetirableGrants");
    GUARD(core_jw_array_end(&w));
    if (a.truncated) {
        DEFER_CLEANUP(struct core_buf m = {0}, core_buf_cleanup);
        GUARD(core_buf_init(&m, 64, 2048));
        GUARD(kms_marker_encode(core_buf_cursor(&next), &m));
        GUARD(core_jw_str(&w, "NextMarker", core_buf_cursor(&m)));
    }
    GUARD(core_jw_bool(&w, "Truncated", a.truncated));
    return core_jw_object_end(&w);
}
