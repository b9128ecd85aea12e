#include "kms/kms_internal.h"

/*
 * CreateAlias: a new alias in the caller's account and Region for a
 * customer managed key (key id or key ARN; "You cannot specify another
 * alias"). https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html
 */

static core_result create(struct kms_mutation *m, struct keystore_txn *txn)
{
    const struct core_cursor *alias = m->arg;
    struct kms_ctx *ctx = m->ctx;
    int64_t now = ctx->call->now;
    /* Checked in the write that adds the alias, so concurrent creates cannot pass it together. */
    GUARD(kms_alias_quota_check(ctx, txn, &m->key));
    struct kms_alias al = {.created = now, .updated = now};
    memcpy(al.target, m->key.key_id, sizeof al.target);
    core_result r = kms_alias_put(txn, ctx->account, ctx->region, *alias, &al, KEYSTORE_NO_OVERWRITE);
    if (r.err == ERR_EXISTS) {
        char arn[KMS_MAX_ARN + 300];
        kms_alias_arn(ctx, *alias, arn, sizeof arn);
        return kms_fail(ctx, KMS_E_ALREADY_EXISTS, "An alias with the name %s already exists", arn);
    }
    return r;
}

core_result kms_create_alias(struct kms_ctx *ctx, const json_t *in)
{
    return kms_alias_point(ctx, in, create);
}
