#include "kms/kms_internal.h"

/*
 * UpdateAlias: points an existing alias at another customer managed key.
 * "If the source KMS key is pending deletion, the command succeeds. If the
 * destination KMS key is pending deletion, the command fails" (key states).
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_UpdateAlias.html
 */

static core_result update(struct kms_mutation *m, struct keystore_txn *txn)
{
    const struct core_cursor *alias = m->arg;
    struct kms_ctx *ctx = m->ctx;
    struct kms_alias al;
    core_result r = kms_alias_get(txn, ctx->account, ctx->region, *alias, &al);
    if (r.err == ERR_NOT_FOUND) {
        char arn[KMS_MAX_ARN + 300];
        kms_alias_arn(ctx, *alias, arn, sizeof arn);
        return kms_fail(ctx, KMS_E_NOT_FOUND, "Alias %s is not found.", arn);
    }
    GUARD(r);
    /* The caller needs kms:UpdateAlias on the key the alias points at now, too. */
    GUARD(kms_alias_authorize_target(ctx, txn, &al));
    /* A key that gains the alias must stay within the aliases-per-key quota. */
    if (strcmp(al.target, m->key.key_id) != 0) GUARD(kms_alias_quota_check(ctx, txn, &m->key));
    memcpy(al.target, m->key.key_id, sizeof al.target);
    al.updated = ctx->call->now;
    return kms_alias_put(txn, ctx->account, ctx->region, *alias, &al, 0);
}

core_result kms_update_alias(struct kms_ctx *ctx, const json_t *in)
{
    return kms_alias_point(ctx, in, update);
}
