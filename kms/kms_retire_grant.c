#include <stdio.h>

#include "kms/kms_grant.h"

/*
 * RetireGrant: by GrantToken, or by KeyId + GrantId. "You can retire a
 * grant if you are: the AWS account (root user) in which the grant was
 * created; the retiring principal ...; the grantee principal, if
 * RetireGrant is an operation of the grant." The account's administrators
 * (full access) count as the account here.
 * https://docs.aws.amazon.com/kms/latest/developerguide/grant-delete.html
 */

struct retire_arg {
    struct kms_ctx *ctx;
    char rid[256];
    char key_arn[KMS_MAX_ARN];
    char account[16];
    bool dry;
};

static core_result retire_txn(struct keystore_txn *txn, void *argp)
{
    struct retire_arg *a = argp;
    struct kms_ctx *ctx = a->ctx;
    DEFER_CLEANUP(json_t *g = NULL, core_json_cleanup);
    core_result r = kms_grant_get(txn, a->rid, &g);
    if (r.err == ERR_NOT_FOUND) return kms_fail(ctx, KMS_E_NOT_FOUND, "%s", "Grant ID not found");
    GUARD(r);
    bool ops_retire = false;
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(g, "ops"), i, v) ops_retire |= core_cursor_eq_str(kms_jcur(v), "RetireGrant");
    bool ok = kms_caller_is(ctx, kms_jc(g, "retiring")) || (ops_retire && kms_caller_is(ctx, kms_jc(g, "grantee"))) ||
              (strcmp(ctx->caller->account, a->account) == 0 && kms_caller_full_access(ctx));
    if (!ok)
        return kms_fail(ctx, KMS_E_ACCESS_DENIED,
                        "User: %s is not authorized to perform: kms:RetireGrant on resource: %s because no "
                        "resource-based policy allows the kms:RetireGrant action",
                        ctx->caller->arn, kms_js(g, "key_arn"));
    /* "DryRun ... checks ... whether you have the required permissions and
     * whether the request is valid" - only after both (issue 18.6); the
     * failure rolls this write back, so nothing changes.
     * https://docs.aws.amazon.com/kms/latest/developerguide/programming-dryrun.html */
    if (a->dry)
        return kms_dry_run_refuse(ctx);
    return kms_grant_delete(txn, a->rid);
}

core_result kms_retire_grant(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor token, id, gid;
    bool have_token, have_id, have_gid, dry;
    GUARD(kms_param_string(ctx, in, "GrantToken", 1, 8192, false, &token, &have_token));
    GUARD(kms_param_key_id(ctx, in, "KeyId", false, &id, &have_id));
    GUARD(kms_param_string(ctx, in, "GrantId", 1, 128, false, &gid, &have_gid));
    GUARD(kms_dry_run(ctx, in, &dry));
    GUARD(kms_params_done(ctx));
    struct retire_arg a = {.ctx = ctx, .dry = dry};
    if (have_token) {
        if (!core_ok(kms_grant_token_open(ctx->env, token, a.rid)))
            return kms_fail(ctx, KMS_E_INVALID_GRANT_TOKEN, "%s", "The grant token is not valid.");
    } else if (have_id && have_gid) {
        /* Read by length: "<id>\u0000x" names no grant, and must not name "<id>". */
        if (memchr(gid.ptr, 0, gid.len) != NULL) return kms_fail(ctx, KMS_E_NOT_FOUND, "%s", "Grant ID not found");
        struct keystore_txn *txn = NULL;
        GUARD(keystore_txn_begin(ctx->env->ks, false, &txn));
        struct kms_key_ref ref;
        core_result r = kms_resolve(ctx, txn, id, KMS_ID_KEY, &ref, NULL);
        keystore_txn_abort(txn);
        GUARD(r);
        snprintf(a.rid, sizeof a.rid, "%s/%s/%s/%.*s", ref.account, ref.region, ref.key_id,
                 (int)(gid.len > 128 ? 128 : gid.len), (const char *)gid.ptr);
    } else {
        return kms_fail(ctx, KMS_E_VALIDATION, "%s",
                        "Either GrantToken, or both KeyId and GrantId must be specified.");
    }
    struct core_cursor rest = core_cursor_str(a.rid), acct;
    core_cursor_split(&rest, '/', &acct);
    snprintf(a.account, sizeof a.account, "%.*s", (int)(acct.len < 15 ? acct.len : 15), (const char *)acct.ptr);
    core_result r = keystore_write(ctx->env->ks, retire_txn, &a);
    if (!core_ok(r)) return kms_internal(ctx, r, "RetireGrant");
    return core_buf_append_str(&ctx->out->body, "{}");
}
