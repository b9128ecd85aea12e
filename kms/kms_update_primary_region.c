#include <stdio.h>

#include "kms/kms_internal.h"

/*
 * UpdatePrimaryRegion: the replica key in PrimaryRegion becomes the primary
 * key and the current primary becomes a replica.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_UpdatePrimaryRegion.html
 *
 * "Required permissions: kms:UpdatePrimaryRegion on the current primary key
 * (in the primary key's Region) ... kms:UpdatePrimaryRegion on the current
 * replica key (in the replica key's Region). Include this permission in the
 * replica key's key policy." Both are decided here, each by its key's policy
 * with its key's Region as the request's Region.
 *
 * "The old and new primary keys have a transient key state of Updating." The
 * swap is one group-committed write here, so it is complete when the call
 * returns and no key is ever seen Updating.
 */

struct update_arg {
    struct kms_ctx *ctx;
    struct core_cursor id;
    char region[32]; /* PrimaryRegion */
    struct kms_key primary, replica;
};

/* DisabledException and KMSInvalidStateException are the operation's key-state errors (its error list). */
static core_result state_check(struct kms_ctx *ctx, const struct kms_key *k)
{
    if (k->state == KMS_STATE_DISABLED) return kms_fail(ctx, KMS_E_DISABLED, "%s is disabled.", k->arn);
    return kms_state_check(ctx, k, KMS_RULE_MANAGE);
}

static core_result update_fn(struct keystore_txn *txn, void *argp)
{
    struct update_arg *a = argp;
    struct kms_ctx *ctx = a->ctx;
    struct kms_key *p = &a->primary, *r = &a->replica;
    GUARD(kms_key_load_authorized(ctx, txn, a->id, NULL, p));
    /* KeyId "Identifies the current primary key"; AWS publishes no wording for these refusals. */
    if (!p->mrk.on) return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION, "%s is not a multi-Region key.", p->arn);
    if (!kms_mrk_is_primary(p))
        return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION,
                        "%s is a multi-Region replica key. Specify the current primary key, in %s.", p->arn,
                        p->mrk.primary);
    if (strcmp(a->region, p->region) == 0)
        return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION, "%s is already the primary key in %s.", p->arn,
                        a->region);
    GUARD(state_check(ctx, p));
    /* "The primary Region must already have a replica key": none there is NotFoundException, worded as
     * for any key that does not exist. */
    char rarn[KMS_MAX_ARN];
    kms_mrk_arn(p, a->region, rarn, sizeof rarn);
    if (!kms_mrk_in_set(&p->mrk, a->region)) return kms_fail(ctx, KMS_E_NOT_FOUND, "Key '%s' does not exist", rarn);
    core_result g = kms_key_get(txn, p->account, a->region, p->key_id, r);
    if (g.err == ERR_NOT_FOUND) return kms_fail(ctx, KMS_E_NOT_FOUND, "Key '%s' does not exist", rarn);
    GUARD(g);
    /* The replica's own key policy decides, in the replica's Region. */
    const char *region = ctx->region;
    ctx->region = a->region;
    core_result z = kms_authorize(ctx, txn, r);
    if (core_ok(z)) z = state_check(ctx, r);
    ctx->region = region;
    GUARD(z);

    struct kms_mrk m = p->mrk;
    kms_mrk_remove_replica(&m, a->region);
    snprintf(m.primary, sizeof m.primary, "%s", a->region);
    GUARD(kms_mrk_add_replica(&m, p->region));
    p->mrk = m;
    r->mrk = m;
    /* The new primary carries the shared properties already (kms_mrk_sync); saving both moves the
     * automatic-rotation schedule to it (replicas hold no due rotation). */
    GUARD(kms_key_save(txn, p));
    GUARD(kms_key_save(txn, r));
    return kms_mrk_save(txn, r);
}

core_result kms_update_primary_region(struct kms_ctx *ctx, const json_t *in)
{
    struct update_arg a = {.ctx = ctx};
    struct core_cursor region;
    bool have_id, have_region;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &a.id, &have_id));
    GUARD(kms_param_region(ctx, in, "PrimaryRegion", &region, &have_region));
    GUARD(kms_params_done(ctx));
    ENSURE(region.len < sizeof a.region, ERR_INVALID_ARG);
    memcpy(a.region, region.ptr, region.len);
    a.region[region.len] = 0;
    core_result r = kms_key_init(&a.primary);
    if (core_ok(r)) r = kms_key_init(&a.replica);
    if (core_ok(r)) r = keystore_write(ctx->env->ks, update_fn, &a);
    kms_key_free(&a.primary);
    kms_key_free(&a.replica);
    if (!core_ok(r)) return kms_internal(ctx, r, "UpdatePrimaryRegion");
    /* "This operation does not return any output." */
    return core_buf_append_str(&ctx->out->body, "{}");
}

/* kms:PrimaryRegion: "the destination Regions of UpdatePrimaryRegion requests".
 * https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-primary-region */
core_result kms_update_primary_region_conditions(struct kms_ctx *ctx, struct kms_cond *c)
{
    return kms_cond_string(ctx, c, "PrimaryRegion", "kms:PrimaryRegion", NULL);
}
