#include <stdio.h>

#include "iam/iam.h"
#include "kms/kms_asym.h"
#include "policy/policy.h"

/*
 * ReplicateKey: a replica of a multi-Region primary key in another Region of
 * the same partition, with the same key id, key material and shared
 * properties, and its own key policy, description, tags, aliases and state.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_ReplicateKey.html
 *
 * "Required permissions: kms:ReplicateKey on the primary key (in the primary
 * key's Region) ... kms:CreateKey in an IAM policy in the replica Region. To
 * use the Tags parameter, kms:TagResource in an IAM policy in the replica
 * Region." The first is the row's permission, decided by the primary's key
 * policy; the other two are identity decisions made with the replica Region
 * as the request's Region (aws:RequestedRegion), as AWS makes them there.
 *
 * "When this operation completes, the new replica key has a transient key
 * state of Creating." Here the replica, its material and its policy are
 * written in the one group-committed write of the call, so creation is
 * complete when the call returns and the replica is answered in its final
 * state (Enabled, or PendingImport for imported key material).
 */

/*
 * The replica-Region decisions (kms:CreateKey, kms:TagResource as IAM-policy
 * permissions) are made with a row of their own standing in for the call's
 * row; it carries the primary, whose shared facts are the replica's, to the
 * condition function (no thread-local: the write may run on another thread).
 */
struct replica_row {
    struct kms_action action; /* first member: ctx->action points here */
    const struct kms_key *primary;
};
static core_result replica_conditions(struct kms_ctx *ctx, struct kms_cond *c);
static const struct kms_action replica_create =
    KMS_ROW("ReplicateKey", kms_replicate_key, "kms:CreateKey", NULL, 0, 0, replica_conditions);
static const struct kms_action replica_tag =
    KMS_ROW("ReplicateKey", kms_replicate_key, "kms:TagResource", NULL, 0, 0, replica_conditions);

/*
 * kms:CreateKey in the replica Region sees what CreateKey would: the
 * replica's key spec, usage and origin (the primary's), kms:MultiRegion and
 * kms:MultiRegionKeyType, and the request's tags.
 * https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-multiregion-key-type
 */
static core_result replica_conditions(struct kms_ctx *ctx, struct kms_cond *c)
{
    /* Only authorize_in_replica_region() installs this function's rows, inside a struct replica_row. */
    const struct kms_key *p = ((const struct replica_row *)(const void *)ctx->action)->primary;
    ENSURE(p != NULL, ERR_INVALID_ARG);
    GUARD(policy_ctx_add_str(c->pc, "kms:KeySpec", kms_spec_name(p->spec)));
    GUARD(policy_ctx_add_str(c->pc, "kms:KeyUsage", kms_usage_name(p->usage)));
    GUARD(policy_ctx_add_str(c->pc, "kms:KeyOrigin", p->external ? "EXTERNAL" : "AWS_KMS"));
    GUARD(policy_ctx_add_bool(c->pc, core_cursor_str("kms:MultiRegion"), true));
    GUARD(policy_ctx_add_str(c->pc, "kms:MultiRegionKeyType", "REPLICA"));
    return kms_cond_request_tags(ctx, c, "Tags", true);
}

struct replicate_arg {
    struct kms_ctx *ctx;
    struct core_cursor id;
    char region[32]; /* ReplicaRegion */
    struct core_cursor policy;
    bool have_policy, bypass;
    struct core_cursor desc;
    bool have_desc;
    const json_t *tags;
    struct kms_key primary, replica;
};

/* Runs one identity decision as the row `as` in the replica Region, then restores the call's row and Region. */
static core_result authorize_in_replica_region(struct replicate_arg *a, const struct kms_action *as,
                                               const char *resource)
{
    struct kms_ctx *ctx = a->ctx;
    const struct kms_action *row = ctx->action;
    const char *region = ctx->region;
    struct replica_row rr = {.action = *as, .primary = &a->primary};
    ctx->action = &rr.action;
    ctx->region = a->region;
    core_result r = kms_authorize_identity(ctx, resource);
    ctx->action = row;
    ctx->region = region;
    return r;
}

static core_result replicate_fn(struct keystore_txn *txn, void *argp)
{
    struct replicate_arg *a = argp;
    struct kms_ctx *ctx = a->ctx;
    struct kms_key *p = &a->primary, *rk = &a->replica;
    GUARD(kms_key_load_authorized(ctx, txn, a->id, NULL, p));
    /* "Identifies the multi-Region primary key that is being replicated" (KeyId); AWS publishes no
     * wording for the refusals, which follow its "<arn> ... which is not valid for" messages. */
    if (!p->mrk.on)
        return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION, "%s is not a multi-Region key.", p->arn);
    /* "It's the only key that can be replicated" (API_UpdatePrimaryRegion.html, the primary key). */
    if (!kms_mrk_is_primary(p))
        return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION,
                        "%s is a multi-Region replica key. Only a multi-Region primary key can be replicated.",
                        p->arn);
    /* "The replica must be in a different AWS Region than its primary key and other replicas of that
     * primary key, but in the same AWS partition." (ReplicaRegion) */
    if (strcmp(a->region, p->region) == 0)
        return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION,
                        "ReplicaRegion %s is the Region of the primary key %s. A replica key must be in a "
                        "different Region.", a->region, p->arn);
    if (strcmp(core_partition_of(a->region), core_partition_of(p->region)) != 0)
        return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION,
                        "ReplicaRegion %s is not in the %s partition of the primary key %s. A replica key must be "
                        "in the same AWS partition.", a->region, core_partition_of(p->region), p->arn);
    /* Key states: a disabled primary is DisabledException (in the operation's error list); a primary
     * scheduled for deletion "cannot be replicated" (API_ScheduleKeyDeletion.html). */
    if (p->state == KMS_STATE_DISABLED) return kms_fail(ctx, KMS_E_DISABLED, "%s is disabled.", p->arn);
    GUARD(kms_state_check(ctx, p, KMS_RULE_MANAGE));

    char rarn[KMS_MAX_ARN];
    kms_mrk_arn(p, a->region, rarn, sizeof rarn);
    GUARD(authorize_in_replica_region(a, &replica_create, NULL));
    if (a->tags && json_array_size(a->tags) > 0) GUARD(authorize_in_replica_region(a, &replica_tag, rarn));

    /* "You cannot create more than one replica of a primary key in any Region. If the Region already
     * includes a replica of the key you're trying to replicate, ReplicateKey returns an
     * AlreadyExistsException error." The message follows NotFoundException's "Key '<arn>' ...". */
    DEFER_CLEANUP(struct kms_key existing = {0}, kms_key_free);
    GUARD(kms_key_init(&existing));
    core_result g = kms_key_get(txn, p->account, a->region, p->key_id, &existing);
    if (core_ok(g) || kms_mrk_in_set(&p->mrk, a->region))
        return kms_fail(ctx, KMS_E_ALREADY_EXISTS, "Key '%s' already exists", rarn);
    if (g.err != ERR_NOT_FOUND) return g;
    if (p->mrk.n_replicas >= KMS_MAX_REPLICAS)
        return kms_fail(ctx, KMS_E_LIMIT_EXCEEDED, "The multi-Region key %s already has %u replica keys.", p->arn,
                        KMS_MAX_REPLICAS);

    snprintf(rk->account, sizeof rk->account, "%s", p->account);
    snprintf(rk->region, sizeof rk->region, "%s", a->region);
    snprintf(rk->key_id, sizeof rk->key_id, "%s", p->key_id);
    kms_key_set_arn(rk);
    /* A replica made again in a Region takes the record id of the deleted one: its policy generation
     * starts above the old one's (kms_mrk gen_floor), so no cached compiled policy of it applies. */
    rk->policy_gen = p->mrk.gen_floor;
    /* "The key policy is not a shared property of multi-Region keys" (Policy): the replica's own, or
     * the default key policy; the lockout check is made for the replica, in its Region. */
    if (a->have_policy) {
        DEFER_CLEANUP(struct policy *pol = NULL, policy_cleanup);
        DEFER_CLEANUP(struct core_buf stored = {0}, core_buf_cleanup);
        const char *region = ctx->region;
        ctx->region = a->region;
        core_result r = kms_policy_compile(ctx, a->policy, &stored, &pol);
        if (core_ok(r) && !a->bypass) r = kms_lockout_check(ctx, rk, pol);
        ctx->region = region;
        GUARD(r);
        GUARD(core_buf_append_cursor(&rk->policy, core_buf_cursor(&stored)));
    } else {
        GUARD(kms_default_policy(core_partition_of(a->region), p->account, &rk->policy));
    }
    /* Shared properties: key spec, usage, origin, material and automatic rotation. */
    rk->spec = p->spec;
    rk->usage = p->usage;
    rk->external = p->external;
    rk->created = ctx->call->now;
    /* "If you replicate a multi-Region primary key with imported key material, the replica key is
     * created with no key material." */
    rk->state = p->external ? KMS_STATE_PENDING_IMPORT : KMS_STATE_ENABLED;
    rk->expiration_model = p->expiration_model;
    rk->rotation_enabled = p->rotation_enabled;
    rk->rotation_period_days = p->rotation_period_days;
    rk->next_rotation = p->next_rotation;
    rk->on_demand_start = p->on_demand_start;
    rk->n_on_demand = p->n_on_demand;
    if (a->have_desc) GUARD(core_buf_append_cursor(&rk->description, a->desc));
    if (a->tags) GUARD(kms_tags_apply(ctx, rk, a->tags));
    GUARD(kms_mrk_add_replica(&p->mrk, a->region));
    rk->mrk = p->mrk;
    GUARD(kms_mrk_copy_versions(txn, p, rk));
    GUARD(kms_key_save(txn, rk));
    return kms_mrk_save(txn, p);
}

core_result kms_replicate_key(struct kms_ctx *ctx, const json_t *in)
{
    struct replicate_arg a = {.ctx = ctx};
    struct core_cursor region;
    bool have_id, have_region, have_bypass;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &a.id, &have_id));
    GUARD(kms_param_region(ctx, in, "ReplicaRegion", &region, &have_region));
    GUARD(kms_param_string(ctx, in, "Policy", 1, 131072, false, &a.policy, &a.have_policy));
    GUARD(kms_param_bool(ctx, in, "BypassPolicyLockoutSafetyCheck", &a.bypass, &have_bypass));
    GUARD(kms_param_string(ctx, in, "Description", 0, KMS_MAX_DESCRIPTION, false, &a.desc, &a.have_desc));
    GUARD(kms_param_tags(ctx, in, "Tags", false, &a.tags));
    GUARD(kms_params_done(ctx));
    /* The pattern admits only [a-z0-9-] and at most 32 characters. */
    ENSURE(region.len < sizeof a.region, ERR_INVALID_ARG);
    memcpy(a.region, region.ptr, region.len);
    a.region[region.len] = 0;

    core_result r = kms_key_init(&a.primary);
    if (core_ok(r)) r = kms_key_init(&a.replica);
    if (core_ok(r)) r = keystore_write(ctx->env->ks, replicate_fn, &a);
    if (!core_ok(r)) {
        kms_key_free(&a.primary);
        kms_key_free(&a.replica);
        return kms_internal(ctx, r, "ReplicateKey");
    }
    /* ReplicaPolicy as GetKeyPolicy shows it: stored principals (unique ids) as ARNs. */
    DEFER_CLEANUP(struct core_buf shown = {0}, core_buf_cleanup);
    r = core_buf_init(&shown, a.replica.policy.len + 256, CORE_MAX_RECORD_BYTES);
    if (core_ok(r))
        r = iam_policy_principals_ks(ctx->env->ks, false, core_buf_cursor(&a.replica.policy), &shown, NULL, 0);
    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    if (core_ok(r)) r = core_jw_object_begin(&w, NULL);
    if (core_ok(r)) r = kms_render_metadata(&w, "ReplicaKeyMetadata", &a.replica);
    if (core_ok(r)) r = core_jw_str(&w, "ReplicaPolicy", core_buf_cursor(&shown));
    if (core_ok(r)) r = core_jw_array_begin(&w, "ReplicaTags");
    size_t pos = 0;
    struct core_cursor tk, tv;
    while (core_ok(r) && kms_tags_next(&a.replica, &pos, &tk, &tv)) {
        r = core_jw_object_begin(&w, NULL);
        if (core_ok(r)) r = core_jw_str(&w, "TagKey", tk);
        if (core_ok(r)) r = core_jw_str(&w, "TagValue", tv);
        if (core_ok(r)) r = core_jw_object_end(&w);
    }
    if (core_ok(r)) r = core_jw_array_end(&w);
    if (core_ok(r)) r = core_jw_object_end(&w);
    kms_key_free(&a.primary);
    kms_key_free(&a.replica);
    if (!core_ok(r)) return kms_internal(ctx, r, "ReplicateKey reply");
    CORE_OK;
}

/* kms:ReplicaRegion: "the Region in which the principal can replicate a multi-Region key".
 * https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-replica-region */
core_result kms_replicate_key_conditions(struct kms_ctx *ctx, struct kms_cond *c)
{
    return kms_cond_string(ctx, c, "ReplicaRegion", "kms:ReplicaRegion", NULL);
}
