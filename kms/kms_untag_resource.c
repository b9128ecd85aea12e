#include <stdio.h>

#include "kms/kms_internal.h"

/*
 * UntagResource: removes tags by key; absent keys are not an error.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_UntagResource.html
 */
static core_result untag(struct kms_mutation *m, struct keystore_txn *txn)
{
    (void)txn;
    const json_t *keys = m->arg, *t;
    size_t i;
    json_array_foreach(keys, i, t)
    {
        kms_tags_remove(&m->key, core_cursor_from(json_string_value(t), json_string_length(t)));
    }
    CORE_OK;
}

core_result kms_untag_resource(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    const json_t *keys = json_object_get(in, "TagKeys");
    if (keys == NULL || json_is_null(keys)) {
        kms_invalid(ctx, "TagKeys", NULL, "Member must not be null");
    } else if (!json_is_array(keys)) {
        return kms_fail(ctx, KMS_E_SERIALIZATION, "%s",
                        "Expected list or null for TagKeys");
    } else {
        size_t i;
        const json_t *t;
        json_array_foreach(keys, i, t)
        {
            if (!json_is_string(t))
                return kms_fail(ctx, KMS_E_SERIALIZATION, "%s",
                                "Expected string in TagKeys");
            size_t n = json_string_length(t);
            if (n < 1 || n > KMS_MAX_TAG_KEY) {
                char m[48], c[96];
                snprintf(m, sizeof m, "tagKeys.%zu.member", i + 1);
                snprintf(c, sizeof c, "Member must have length %s %u", n < 1 ? "greater than or equal to" :
                         "less than or equal to", n < 1 ? 1u : KMS_MAX_TAG_KEY);
                kms_invalid(ctx, m, n ? json_string_value(t) : "", c);
            }
        }
    }
    GUARD(kms_params_done(ctx));
    struct kms_mutation m = {.ctx = ctx, .id = id, .rule = KMS_RULE_MANAGE,
                             .apply = untag, .arg = (void *)(uintptr_t)keys};
    core_result r = kms_key_mutate(&m);
    kms_key_free(&m.key);
    if (!core_ok(r)) return kms_internal(ctx, r, "UntagResource");
    return core_buf_append_str(&ctx->out->body, "{}");
}

/* UntagResource: aws:TagKeys.
 * https://docs.aws.amazon.com/kms/latest/developerguide/tag-authorization.html */
core_result kms_untag_resource_conditions(struct kms_ctx *ctx, struct kms_cond *c)
{
    return kms_cond_request_tags(ctx, c, "TagKeys", false);
}
