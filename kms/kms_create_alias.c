#include "kms/kms_internal.h"

/*
 * CreateAlias: a new alias in the caller's account and Region for a
 * customer managed key (key id or key ARN; "You cannot specify another
 * alias"). https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html
 */

struct alias_arg {
    struct core_cursor name;
};

static core_result create(struct kms_mutation *m, struct keystore_txn *txn)
{
    struct alias_arg *a = m->arg;
    struct kms_ctx *ctx = m->ctx;
    int64_t now = ctx->call->now;
    struct kms_alias al = {.created = now, .updated = now};
    memcpy(al.target, m->key.key_id, sizeof al.target);
    core_result r = kms_alias_put(txn, ctx->account, ctx->region, a->name, &al, KEYSTORE_NO_OVERWRITE);
    if (r.err == ERR_EXISTS) {
        char arn[KMS_MAX_ARN + 300];
        kms_alias_arn(ctx, a->name, arn, sizeof arn);
        return kms_fail(ctx, "AlreadyExistsException", "An alias with the name %s already exists", arn);
    }
    return r;
}

core_result kms_create_alias(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor name, target;
    bool have_name, have_target;
    GUARD(kms_param_alias_name(ctx, in, &name, &have_name));
    GUARD(kms_param_key_id(ctx, in, "TargetKeyId", true, &target, &have_target));
    GUARD(kms_params_done(ctx));
    GUARD(kms_alias_name_check(ctx, name));
    GUARD(kms_authorize_alias(ctx, "kms:CreateAlias", name));
    struct alias_arg a = {.name = name};
    struct kms_mutation m = {.ctx = ctx, .id = target, .forms = KMS_ID_KEY, .rule = KMS_RULE_MANAGE,
                             .iam_action = "kms:CreateAlias", .apply = create, .arg = &a};
    core_result r = kms_key_mutate(&m);
    kms_key_free(&m.key);
    if (!core_ok(r)) return kms_internal(ctx, r, "CreateAlias");
    return core_buf_append_str(&ctx->out->body, "{}");
}
