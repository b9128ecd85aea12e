#include "kms/kms_internal.h"

/*
 * TagResource: adds or replaces tags on a customer managed key. "The tag
 * key cannot begin with aws:"; at most 50 tags per key.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_TagResource.html
 */
static core_result tag(struct kms_mutation *m, struct keystore_txn *txn)
{
    (void)txn;
    return kms_tags_apply(m->ctx, &m->key, m->arg);
}

core_result kms_tag_resource(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id;
    const json_t *tags;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_tags(ctx, in, "Tags", true, &tags));
    GUARD(kms_params_done(ctx));
    struct kms_mutation m = {.ctx = ctx, .id = id, .rule = KMS_RULE_MANAGE,
                             .apply = tag, .arg = (void *)(uintptr_t)tags};
    core_result r = kms_key_mutate(&m);
    kms_key_free(&m.key);
    if (!core_ok(r)) return kms_internal(ctx, r, "TagResource");
    return core_buf_append_str(&ctx->out->body, "{}");
}

/* TagResource: aws:RequestTag/<key> and aws:TagKeys.
 * https://docs.aws.amazon.com/kms/latest/developerguide/tag-authorization.html */
core_result kms_tag_resource_conditions(struct kms_ctx *ctx, struct kms_cond *c)
{
    return kms_cond_request_tags(ctx, c, "Tags", true);
}
