#include "kms/kms_internal.h"

/*
 * DescribeKey: KeyMetadata of a key named by any identifier form.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeKey.html
 */
core_result kms_describe_key(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_grant_tokens(ctx, in));
    GUARD(kms_params_done(ctx));

    DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
    GUARD(kms_key_read(ctx, id, KMS_RULE_ANY, &k));

    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    GUARD(core_jw_object_begin(&w, NULL));
    GUARD(kms_render_metadata(&w, "KeyMetadata", &k));
    return core_jw_object_end(&w);
}
