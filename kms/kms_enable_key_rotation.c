#include "kms/kms_internal.h"

/*
 * EnableKeyRotation: automatic rotation every RotationPeriodInDays (90..2560,
 * default 365), the first one that many days from now.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_EnableKeyRotation.html
 */
static core_result enable(struct kms_mutation *m, struct keystore_txn *txn)
{
    const int64_t *days = m->arg;
    m->key.rotation_enabled = true;
    m->key.rotation_period_days = (uint32_t)*days;
    m->key.next_rotation = m->ctx->call->now + *days * KMS_DAY;
    /* "automatic key rotation status" is shared by related multi-Region keys (API_ReplicateKey.html). */
    return kms_mrk_sync(txn, &m->key);
}

core_result kms_enable_key_rotation(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id, have_days;
    int64_t days = KMS_DEFAULT_ROTATION_DAYS;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_int(ctx, in, "RotationPeriodInDays", 90, 2560, false, &days, &have_days));
    GUARD(kms_params_done(ctx));
    if (!have_days) days = KMS_DEFAULT_ROTATION_DAYS;
    struct kms_mutation m = {.ctx = ctx, .id = id, .rule = KMS_RULE_ROTATION,
                             .apply = enable, .arg = &days};
    core_result r = kms_key_mutate(&m);
    kms_key_free(&m.key);
    if (!core_ok(r)) return kms_internal(ctx, r, "EnableKeyRotation");
    return core_buf_append_str(&ctx->out->body, "{}");
}

/* kms:RotationPeriodInDays (365 when the request has none).
 * https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-rotation-period-in-days */
core_result kms_enable_key_rotation_conditions(struct kms_ctx *ctx, struct kms_cond *c)
{
    return kms_cond_int(ctx, c, "RotationPeriodInDays", "kms:RotationPeriodInDays", KMS_DEFAULT_ROTATION_DAYS);
}
