#include <stdio.h>

#include "kms/kms_grant.h"

/*
 * ListRetirableGrants: grants, on any key in the Region, whose
 * RetiringPrincipal is the given principal. Authorized by IAM policy alone
 * (kms:ListRetirableGrants on "*"): it names no key.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_ListRetirableGrants.html
 */

struct list_arg {
    struct kms_ctx *ctx;
    struct core_jw *w;
    struct core_cursor retiring;
    int64_t limit, n;
    bool truncated;
    char next[256];
};

static core_result visit(void *argp, struct core_cursor id, const json_t *g, bool *stop)
{
    struct list_arg *a = argp;
    /* "<account>/<region>/...": only this Region's grants. */
    struct core_cursor rest = id, acct, region;
    core_cursor_split(&rest, '/', &acct);
    core_cursor_split(&rest, '/', &region);
    if (!core_cursor_eq_str(region, a->ctx->region)) CORE_OK;
    if (!core_cursor_eq_str(a->retiring, kms_js(g, "retiring"))) CORE_OK;
    if (a->n == a->limit) {
        a->truncated = true;
        snprintf(a->next, sizeof a->next, "%.*s", (int)id.len, (const char *)id.ptr);
        *stop = true;
        CORE_OK;
    }
    a->n++;
    return kms_grant_render(a->w, g);
}

core_result kms_list_retirable_grants(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor retiring, marker;
    bool have_retiring, have_limit, have_marker;
    int64_t limit = 50;
    GUARD(kms_param_string(ctx, in, "RetiringPrincipal", 1, 256, true, &retiring, &have_retiring));
    GUARD(kms_param_int(ctx, in, "Limit", 1, 100, false, &limit, &have_limit));
    GUARD(kms_param_marker(ctx, in, &marker, &have_marker));
    GUARD(kms_params_done(ctx));
    GUARD(kms_authorize_identity(ctx, NULL));
    DEFER_CLEANUP(struct core_buf from = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&from, 0, 1024));
    if (have_marker) GUARD(kms_marker_decode(ctx, marker, &from));

    struct keystore_txn *txn = NULL;
    GUARD(keystore_txn_begin(ctx->env->ks, false, &txn));
    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    struct list_arg a = {.ctx = ctx, .w = &w, .retiring = retiring, .limit = limit};
    core_result r = core_jw_object_begin(&w, NULL);
    if (core_ok(r)) r = core_jw_array_begin(&w, "Grants");
    if (core_ok(r)) r = kms_grants_each(txn, "", core_buf_cursor(&from), visit, &a);
    keystore_txn_abort(txn);
    if (!core_ok(r)) return kms_internal(ctx, r, "ListRetirableGrants");
    GUARD(core_jw_array_end(&w));
    if (a.truncated) {
        DEFER_CLEANUP(struct core_buf m = {0}, core_buf_cleanup);
        GUARD(core_buf_init(&m, 64, 2048));
        GUARD(kms_marker_encode(core_cursor_str(a.next), &m));
        GUARD(core_jw_str(&w, "NextMarker", core_buf_cursor(&m)));
    }
    GUARD(core_jw_bool(&w, "Truncated", a.truncated));
    return core_jw_object_end(&w);
}
