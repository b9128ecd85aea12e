#include <stdio.h>

#include "kms/kms_grant.h"

/*
 * RevokeGrant: deletes a grant; needs kms:RevokeGrant on the key (key
 * policy, or IAM policy where the key policy delegates).
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_RevokeGrant.html
 */

struct revoke_arg {
    struct core_cursor gid;
    bool dry;
};

static core_result revoke(struct kms_mutation *m, struct keystore_txn *txn)
{
    struct revoke_arg *a = m->arg;
    char prefix[128], rid[256];
    kms_grant_prefix(&m->key, prefix);
    snprintf(rid, sizeof rid, "%s%.*s", prefix, (int)(a->gid.len > 128 ? 128 : a->gid.len), (const char *)a->gid.ptr);
    core_result r = core_result_ok();
    if (memchr(a->gid.ptr, 0, a->gid.len) != NULL) {
        /* Read by length: "<id>\u0000x" names no grant, and must not name "<id>". */
        r.err = ERR_NOT_FOUND;
    } else if (a->dry) {
        /* Authorized (kms_key_mutate did that) and the grant must exist before
         * DryRun answers (issue 18.6); failing here rolls the write back.
         * https://docs.aws.amazon.com/kms/latest/developerguide/programming-dryrun.html */
        DEFER_CLEANUP(json_t *g = NULL, core_json_cleanup);
        r = kms_grant_get(txn, rid, &g);
        if (core_ok(r))
            return kms_dry_run_refuse(m->ctx);
    } else {
        r = kms_grant_delete(txn, rid);
    }
    if (r.err == ERR_NOT_FOUND)
        return kms_fail(m->ctx, KMS_E_NOT_FOUND, "Grant ID %.*s not found", (int)(a->gid.len > 128 ? 128 : a->gid.len),
                        (const char *)a->gid.ptr);
    return r;
}

core_result kms_revoke_grant(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id, gid;
    bool have_id, have_gid, dry;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_string(ctx, in, "GrantId", 1, 128, true, &gid, &have_gid));
    GUARD(kms_dry_run(ctx, in, &dry));
    GUARD(kms_params_done(ctx));
    struct revoke_arg a = {.gid = gid, .dry = dry};
    struct kms_mutation m = {.ctx = ctx, .id = id, .rule = KMS_RULE_ANY, .apply = revoke, .arg = &a};
    core_result r = kms_key_mutate(&m);
    kms_key_free(&m.key);
    if (!core_ok(r)) return kms_internal(ctx, r, "RevokeGrant");
    return core_buf_append_str(&ctx->out->body, "{}");
}
