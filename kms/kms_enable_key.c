#include "kms/kms_internal.h"

/*
 * EnableKey: Disabled (or Enabled) -> Enabled.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_EnableKey.html
 */
static core_result enable(struct kms_mutation *m, struct keystore_txn *txn)
{
    (void)txn;
    m->key.state = KMS_STATE_ENABLED;
    CORE_OK;
}

core_result kms_enable_key(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_params_done(ctx));
    struct kms_mutation m = {.ctx = ctx, .id = id, .rule = KMS_RULE_ENABLE_DISABLE,
                             .apply = enable};
    core_result r = kms_key_mutate(&m);
    kms_key_free(&m.key);
    if (!core_ok(r)) return kms_internal(ctx, r, "EnableKey");
    return core_buf_append_str(&ctx->out->body, "{}");
}
