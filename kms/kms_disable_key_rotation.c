#include "kms/kms_internal.h"

/*
 * DisableKeyRotation: stops automatic rotation; existing material stays.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_DisableKeyRotation.html
 */
static core_result disable(struct kms_mutation *m, struct keystore_txn *txn)
{
    m->key.rotation_enabled = false;
    m->key.next_rotation = 0;
    /* Shared by related multi-Region keys, like EnableKeyRotation. */
    return kms_mrk_sync(txn, &m->key);
}

core_result kms_disable_key_rotation(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_params_done(ctx));
    struct kms_mutation m = {.ctx = ctx, .id = id, .rule = KMS_RULE_ROTATION,
                             .apply = disable};
    core_result r = kms_key_mutate(&m);
    kms_key_free(&m.key);
    if (!core_ok(r)) return kms_internal(ctx, r, "DisableKeyRotation");
    return core_buf_append_str(&ctx->out->body, "{}");
}
