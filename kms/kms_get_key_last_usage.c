#include "kms/kms_internal.h"

/*
 * GetKeyLastUsage: the last successful cryptographic operation with a key,
 * from the audit trail the server keeps (--audit). "TrackingStartDate ...
 * The date from which KMS began recording cryptographic activity for this
 * key, or the date the KMS key was created, whichever is later." Without a
 * trail nothing is recorded: TrackingStartDate is now and KeyLastUsage is
 * absent. Key id or key ARN only ("Alias names are not supported").
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyLastUsage.html
 */
core_result kms_get_key_last_usage(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id = {0};
    bool have_id = false;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_params_done(ctx));
    DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
    GUARD(kms_key_read(ctx, id, KMS_RULE_ANY, &k));
    struct kms_last_usage u = {0};
    int64_t start = 0;
    bool used = ctx->env->last_usage && ctx->env->last_usage(k.arn, &u, &start);
    if (start == 0) start = ctx->call->now;
    if (start < k.created) start = k.created;
    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    GUARD(core_jw_object_begin(&w, NULL));
    GUARD(core_jw_cstr(&w, "KeyId", k.arn));
    if (used && u.timestamp >= start) {
        GUARD(core_jw_object_begin(&w, "KeyLastUsage"));
        GUARD(core_jw_cstr(&w, "Operation", u.operation));
        GUARD(core_jw_time(&w, "Timestamp", u.timestamp));
        GUARD(core_jw_cstr(&w, "CloudTrailEventId", u.event_id));
        GUARD(core_jw_cstr(&w, "KmsRequestId", u.request_id));
        GUARD(core_jw_object_end(&w));
    }
    GUARD(core_jw_time(&w, "TrackingStartDate", start));
    GUARD(core_jw_time(&w, "KeyCreationDate", k.created));
    return core_jw_object_end(&w);
}
