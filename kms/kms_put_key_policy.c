#include "kms/kms_internal.h"
#include "policy/policy.h"

/*
 * PutKeyPolicy: replaces the key policy ("The only valid policy name is
 * default"). The document is validated and compiled by the policy engine
 * (MalformedPolicyDocumentException with the reason), and unless
 * BypassPolicyLockoutSafetyCheck is true the caller must keep
 * kms:PutKeyPolicy under the new policy. The policy generation in the key
 * record moves on, which retires every process's compiled copy.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html
 */

struct put_arg {
    struct core_cursor text;
    const struct policy *compiled;
    bool bypass;
};

static core_result put(struct kms_mutation *m, struct keystore_txn *txn)
{
    (void)txn;
    struct put_arg *a = m->arg;
    if (!a->bypass) GUARD(kms_lockout_check(m->ctx, &m->key, a->compiled));
    core_buf_reset(&m->key.policy);
    GUARD(core_buf_append_cursor(&m->key.policy, a->text));
    m->key.policy_gen++;
    CORE_OK;
}

core_result kms_put_key_policy(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id, name, text;
    bool have_id, have_name, have_text, have_bypass, bypass = false;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_string(ctx, in, "PolicyName", 1, 128, false, &name, &have_name));
    GUARD(kms_param_string(ctx, in, "Policy", 1, 131072, true, &text, &have_text));
    GUARD(kms_param_bool(ctx, in, "BypassPolicyLockoutSafetyCheck", &bypass, &have_bypass));
    GUARD(kms_params_done(ctx));
    if (have_name && !core_cursor_eq_str(name, "default"))
        return kms_fail(ctx, "NotFoundException", "%s", "No such policy exists");
    DEFER_CLEANUP(struct policy *p = NULL, policy_cleanup);
    DEFER_CLEANUP(struct core_buf stored = {0}, core_buf_cleanup); /* principals as unique ids */
    GUARD(kms_policy_compile(ctx, text, &stored, &p));
    struct put_arg a = {.text = core_buf_cursor(&stored), .compiled = p, .bypass = bypass};
    struct kms_mutation m = {.ctx = ctx, .id = id, .forms = KMS_ID_KEY, .rule = KMS_RULE_ANY,
                             .iam_action = "kms:PutKeyPolicy", .apply = put, .arg = &a};
    core_result r = kms_key_mutate(&m);
    kms_key_free(&m.key);
    if (!core_ok(r)) return kms_internal(ctx, r, "PutKeyPolicy");
    return core_buf_append_str(&ctx->out->body, "{}");
}
