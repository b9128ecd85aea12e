#include <stdio.h>

#include "kms/kms_grant.h"

/*
 * ListGrants: the grants of one key, optionally one GrantId or one
 * GranteePrincipal, paginated (Limit 1..100, default 50).
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_ListGrants.html
 */

struct list_arg {
    struct core_jw *w;
    struct core_cursor grant_id, grantee;
    int64_t limit, n;
    bool truncated;
    char next[256];
};

static core_result visit(void *argp, struct core_cursor id, const json_t *g, bool *stop)
{
    struct list_arg *a = argp;
    /* By length: a filter with a NUL inside matches no grant, never a prefix of one. */
    if (a->grant_id.len && !core_cursor_eq(a->grant_id, kms_jc(g, "grant_id"))) CORE_OK;
    if (a->grantee.len && !core_cursor_eq(a->grantee, kms_jc(g, "grantee"))) CORE_OK;
    if (a->n == a->limit) {
        a->truncated = true;
        snprintf(a->next, sizeof a->next, "%.*s", (int)id.len, (const char *)id.ptr);
        *stop = true;
        CORE_OK;
    }
    a->n++;
    return kms_grant_render(a->w, g);
}

core_result kms_list_grants(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id, marker, grant_id = {0}, grantee = {0};
    bool have_id, have_limit, have_marker, have_gid, have_grantee;
    int64_t limit = 50;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_int(ctx, in, "Limit", 1, 100, false, &limit, &have_limit));
    GUARD(kms_param_marker(ctx, in, &marker, &have_marker));
    GUARD(kms_param_string(ctx, in, "GrantId", 1, 128, false, &grant_id, &have_gid));
    GUARD(kms_param_string(ctx, in, "GranteePrincipal", 1, 256, false, &grantee, &have_grantee));
    GUARD(kms_params_done(ctx));
    DEFER_CLEANUP(struct core_buf from = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&from, 0, 1024));
    if (have_marker) GUARD(kms_marker_decode(ctx, marker, &from));

    DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
    GUARD(kms_key_init(&k));
    struct keystore_txn *txn = NULL;
    GUARD(kms_key_open(ctx, id, KMS_RULE_ANY, &txn, &k));
    char prefix[128];
    kms_grant_prefix(&k, prefix);
    if (have_marker && !core_cursor_starts_with(core_buf_cursor(&from), prefix)) {
        keystore_txn_abort(txn);
        return kms_fail(ctx, KMS_E_INVALID_MARKER, "%s", "Invalid marker");
    }
    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    struct list_arg a = {.w = &w, .grant_id = grant_id, .grantee = grantee, .limit = limit};
    core_result r = core_jw_object_begin(&w, NULL);
    if (core_ok(r)) r = core_jw_array_begin(&w, "Grants");
    if (core_ok(r)) r = kms_grants_each(txn, prefix, core_buf_cursor(&from), visit, &a);
    keystore_txn_abort(txn);
    if (!core_ok(r)) return kms_internal(ctx, r, "ListGrants");
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
