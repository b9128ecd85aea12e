#include "kms/kms_internal.h"

/*
 * RotateKeyOnDemand: new key material now, whatever the automatic schedule
 * (which it does not change). Ours completes within the call, so
 * OnDemandRotationStartDate is never left behind.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_RotateKeyOnDemand.html
 */
static core_result rotate(struct kms_mutation *m, struct keystore_txn *txn)
{
    /* "You can perform on-demand key rotation a maximum of 25 times per KMS
     * key." https://docs.aws.amazon.com/kms/latest/developerguide/rotating-keys-on-demand.html
     * The message is AWS's recorded response (issue 17.3; recorded when the
     * quota was 10). */
    if (m->key.n_on_demand >= KMS_MAX_ON_DEMAND_ROTATIONS)
        return kms_fail(m->ctx, KMS_E_LIMIT_EXCEEDED, "%s",
                        "The on-demand rotations limit has been reached for the given key.");
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
    /* AWS returns the key ARN here (recorded response, issue 17.1; the API
     * page: "Identifies the symmetric encryption KMS key that you initiated
     * on-demand rotation on"). */
    return kms_key_mutate_reply(&m, "RotateKeyOnDemand", NULL);
}
