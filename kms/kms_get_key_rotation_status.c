#include "kms/kms_internal.h"

/*
 * GetKeyRotationStatus: whether automatic rotation is on, its period and
 * next date. https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyRotationStatus.html
 */
core_result kms_get_key_rotation_status(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_params_done(ctx));
    DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
    GUARD(kms_key_read(ctx, id, KMS_RULE_ROTATION_READ, &k));
    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    GUARD(core_jw_object_begin(&w, NULL));
    GUARD(core_jw_bool(&w, "KeyRotationEnabled", k.rotation_enabled));
    GUARD(core_jw_cstr(&w, "KeyId", k.arn));
    if (k.rotation_enabled) {
        GUARD(core_jw_int(&w, "RotationPeriodInDays", k.rotation_period_days));
        GUARD(core_jw_time(&w, "NextRotationDate", k.next_rotation));
    }
    if (k.on_demand_start) GUARD(core_jw_time(&w, "OnDemandRotationStartDate", k.on_demand_start));
    return core_jw_object_end(&w);
}
