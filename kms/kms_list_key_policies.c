#include "kms/kms_internal.h"

/*
 * ListKeyPolicies: "The only valid value is default."
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_ListKeyPolicies.html
 */
core_result kms_list_key_policies(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id, marker;
    bool have_id, have_limit, have_marker;
    int64_t limit = 100;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_int(ctx, in, "Limit", 1, 1000, false, &limit, &have_limit));
    GUARD(kms_param_marker(ctx, in, &marker, &have_marker));
    GUARD(kms_params_done(ctx));
    DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
    GUARD(kms_key_read(ctx, id, KMS_RULE_ANY, &k));
    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    GUARD(core_jw_object_begin(&w, NULL));
    GUARD(core_jw_array_begin(&w, "PolicyNames"));
    GUARD(core_jw_cstr(&w, NULL, "default"));
    GUARD(core_jw_array_end(&w));
    GUARD(core_jw_bool(&w, "Truncated", false));
    return core_jw_object_end(&w);
}
