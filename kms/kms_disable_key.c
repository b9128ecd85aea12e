#include "kms/kms_internal.h"

/*
 * DisableKey: Enabled (or Disabled) -> Disabled. A disabled key cannot be
 * used in cryptographic operations (DisabledException).
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_DisableKey.html
 */
static core_result disable(struct kms_mutation *m, struct keystore_txn *txn)
{
    (void)txn;
    m->key.state = KMS_STATE_DISABLED;
    CORE_OK;
}

core_result kms_disable_key(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_params_done(ctx));
    struct kms_mutation m = {.ctx = ctx, .id = id, .rule = KMS_RULE_ENABLE_DISABLE,
                             .apply = disable};
    core_result r = kms_key_mutate(&m);
    kms_key_free(&m.key);
    if (!core_ok(r)) return kms_internal(ctx, r, "DisableKey");
    return core_buf_append_str(&ctx->out->body, "{}");
}
