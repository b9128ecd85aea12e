#include "kms/kms_internal.h"

/*
 * GetKeyPolicy: the stored key policy ("The only valid name is default").
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyPolicy.html
 */
core_result kms_get_key_policy(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id, name;
    bool have_id, have_name;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_string(ctx, in, "PolicyName", 1, 128, false, &name, &have_name));
    GUARD(kms_params_done(ctx));
    DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
    GUARD(kms_key_read(ctx, id, KMS_RULE_ANY, &k));
    if (have_name && !core_cursor_eq_str(name, "default"))
        return kms_fail(ctx, KMS_E_NOT_FOUND, "%s", "No such policy exists");
    /* Principals stored as unique ids show as ARNs while they exist (iam_policy_principals_show). */
    DEFER_CLEANUP(struct core_buf shown = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&shown, k.policy.len + 256, CORE_MAX_RECORD_BYTES));
    core_result r = iam_policy_principals_ks(ctx->env->ks, false, core_buf_cursor(&k.policy), &shown, NULL, 0);
    if (!core_ok(r)) return kms_internal(ctx, r, "GetKeyPolicy");
    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    GUARD(core_jw_object_begin(&w, NULL));
    GUARD(core_jw_str(&w, "Policy", core_buf_cursor(&shown)));
    GUARD(core_jw_cstr(&w, "PolicyName", "default"));
    return core_jw_object_end(&w);
}
