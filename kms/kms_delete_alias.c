#include <stdio.h>

#include "kms/kms_internal.h"

/*
 * DeleteAlias: removes an alias; its key is unaffected (any key state).
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_DeleteAlias.html
 */

struct del_arg {
    struct kms_ctx *ctx;
    struct core_cursor name;
};

static core_result del_fn(struct keystore_txn *txn, void *argp)
{
    struct del_arg *a = argp;
    struct kms_ctx *ctx = a->ctx;
    struct kms_alias al;
    core_result r = kms_alias_get(txn, ctx->account, ctx->region, a->name, &al);
    if (r.err == ERR_NOT_FOUND) {
        char arn[KMS_MAX_ARN + 300];
        kms_alias_arn(ctx, a->name, arn, sizeof arn);
        return kms_fail(ctx, KMS_E_NOT_FOUND, "Alias %s is not found.", arn);
    }
    GUARD(r);
    /* The caller needs kms:DeleteAlias on the key the alias points at now, too. */
    GUARD(kms_alias_authorize_target(ctx, txn, &al));
    DEFER_CLEANUP(struct core_buf id = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&id, 128, 512));
    kms_alias_record_id(ctx->account, ctx->region, a->name, &id);
    return keystore_del(txn, "kms_alias", core_buf_cursor(&id));
}

core_result kms_delete_alias(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor name;
    bool have_name;
    GUARD(kms_param_alias_name(ctx, in, &name, &have_name));
    GUARD(kms_params_done(ctx));
    GUARD(kms_alias_name_check(ctx, name));
    GUARD(kms_authorize_alias(ctx, name));
    struct del_arg a = {.ctx = ctx, .name = name};
    core_result r = keystore_write(ctx->env->ks, del_fn, &a);
    if (!core_ok(r)) return kms_internal(ctx, r, "DeleteAlias");
    return core_buf_append_str(&ctx->out->body, "{}");
}
