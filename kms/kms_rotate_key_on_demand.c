#include "kms/kms_internal.h"

/*
 * RotateKeyOnDemand: new key material now, whatever the automatic schedule
 * (which it does not change). Ours completes within the call, so
 * OnDemandRotationStartDate is never left behind.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_RotateKeyOnDemand.html
 */
static core_result rotate(struct kms_mutation *m, struct keystore_txn *txn)
{
    if (m->key.n_on_demand >= KMS_MAX_ON_DEMAND_ROTATIONS)
        return kms_fail(m->ctx, KMS_E_LIMIT_EXCEEDED,
                        "The on-demand rotation limit of %u rotations for %s has been reached.",
                        KMS_MAX_ON_DEMAND_ROTATIONS, m->key.arn);
    return kms_rotate(txn, &m->key, m->ctx->call->now, KMS_ROT_ON_DEMAND);
}

core_result kms_rotate_key_on_demand(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_params_done(ctx));
    struct kms_mutation m = {.ctx = ctx, .id = id, .rule = KMS_RULE_ROTATION,
                             .apply = rotate};
    core_result r = kms_key_mutate(&m);
    if (!core_ok(r)) {
        kms_key_free(&m.key);
        return kms_internal(ctx, r, "RotateKeyOnDemand");
    }
    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    r = core_jw_object_begin(&w, NULL);
    if (core_ok(r)) r = core_jw_cstr(&w, "KeyId", m.key.key_id);
    if (core_ok(r)) r = core_jw_object_end(&w);
    kms_key_free(&m.key);
    return r;
}
