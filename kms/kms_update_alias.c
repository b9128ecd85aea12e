#include "kms/kms_internal.h"

/*
 * UpdateAlias: points an existing alias at another customer managed key.
 * "If the source KMS key is pending deletion, the command succeeds. If the
 * destination KMS key is pending deletion, the command fails" (key states).
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_UpdateAlias.html
 */

struct alias_arg {
    struct core_cursor name;
};

static core_result update(struct kms_mutation *m, struct keystore_txn *txn)
{
    struct alias_arg *a = m->arg;
    struct kms_ctx *ctx = m->ctx;
    struct kms_alias al;
    core_result r = kms_alias_get(txn, ctx->account, ctx->region, a->name, &al);
    if (r.err == ERR_NOT_FOUND) {
        char arn[KMS_MAX_ARN + 300];
        kms_alias_arn(ctx, a->name, arn, sizeof arn);
        return kms_fail(ctx, "NotFoundException", "Alias %s is not found.", arn);
    }
    GUARD(r);
    /* The caller needs kms:UpdateAlias on the key the alias points at now, too. */
    GUARD(kms_alias_authorize_target(ctx, txn, &al, "kms:UpdateAlias"));
    memcpy(al.target, m->key.key_id, sizeof al.target);
    al.updated = ctx->call->now;
    return kms_alias_put(txn, ctx->account, ctx->region, a->name, &al, 0);
}

core_result kms_update_alias(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor name, target;
    bool have_name, have_target;
    GUARD(kms_param_alias_name(ctx, in, &name, &have_name));
    GUARD(kms_param_key_id(ctx, in, "TargetKeyId", true, &target, &have_target));
    GUARD(kms_params_done(ctx));
    GUARD(kms_alias_name_check(ctx, name));
    GUARD(kms_authorize_alias(ctx, "kms:UpdateAlias", name));
    struct alias_arg a = {.name = name};
    struct kms_mutation m = {.ctx = ctx, .id = target, .forms = KMS_ID_KEY, .rule = KMS_RULE_MANAGE,
                             .iam_action = "kms:UpdateAlias", .apply = update, .arg = &a};
    core_result r = kms_key_mutate(&m);
    kms_key_free(&m.key);
    if (!core_ok(r)) return kms_internal(ctx, r, "UpdateAlias");
    return core_buf_append_str(&ctx->out->body, "{}");
}
