#include "kms/kms_internal.h"

/*
 * UpdateKeyDescription: replaces the description (0..8192 characters).
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_UpdateKeyDescription.html
 */
static core_result update(struct kms_mutation *m, struct keystore_txn *txn)
{
    (void)txn;
    const struct core_cursor *desc = m->arg;
    core_buf_reset(&m->key.description);
    return core_buf_append_cursor(&m->key.description, *desc);
}

core_result kms_update_key_description(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id, desc;
    bool have_id, have_desc;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_string(ctx, in, "Description", 0, KMS_MAX_DESCRIPTION, true, &desc, &have_desc));
    GUARD(kms_params_done(ctx));
    struct kms_mutation m = {.ctx = ctx, .id = id, .rule = KMS_RULE_MANAGE,
                             .apply = update, .arg = &desc};
    core_result r = kms_key_mutate(&m);
    kms_key_free(&m.key);
    if (!core_ok(r)) return kms_internal(ctx, r, "UpdateKeyDescription");
    return core_buf_append_str(&ctx->out->body, "{}");
}
