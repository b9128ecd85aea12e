#include "kms/kms_asym.h"
#include "kms/kms_import.h"

/*
 * RotateKeyOnDemand: new key material now, whatever the automatic schedule
 * (which it does not change). Ours completes within the call, so
 * OnDemandRotationStartDate is never left behind.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_RotateKeyOnDemand.html
 */
static core_result rotate(struct kms_mutation *m, struct keystore_txn *txn)
{
    const struct kms_key *k = &m->key;
    /* Keys with imported material rotate to the material imported for that (kms_import.c); every other
     * key takes the rotation rule's checks (which refuse Origin EXTERNAL for the other rotation operations). */
    bool imported = k->external && k->spec == KMS_SPEC_SYMMETRIC_DEFAULT && !kms_mrk_is_replica(k);
    if (!imported) GUARD(kms_state_check(m->ctx, k, KMS_RULE_ROTATION));
    if (imported) GUARD(kms_state_check(m->ctx, k, KMS_RULE_CRYPTO));
    /* "You can perform on-demand key rotation a maximum of 25 times per KMS
     * key." https://docs.aws.amazon.com/kms/latest/developerguide/rotating-keys-on-demand.html
     * The message is AWS's recorded response (issue 17.3; recorded when the
     * quota was 10). */
    if (m->key.n_on_demand >= KMS_MAX_ON_DEMAND_ROTATIONS)
        return kms_fail(m->ctx, KMS_E_LIMIT_EXCEEDED, "%s",
                        "The on-demand rotations limit has been reached for the given key.");
    if (!imported) return kms_rotate(txn, &m->key, m->ctx->call->now, KMS_ROT_ON_DEMAND);
    /* "When you initiate on-demand key rotation on a symmetric encryption KMS key with imported key material,
     * you must have already imported new key material and that key material's state should be
     * PENDING_ROTATION." (API_RotateKeyOnDemand) */
    core_result r = kms_import_rotate(txn, &m->key, m->ctx->call->now);
    if (r.err == ERR_NOT_FOUND)
        return kms_fail(m->ctx, KMS_E_INVALID_STATE,
                        "%s has no imported key material in PENDING_ROTATION state. Import new key material with "
                        "ImportType NEW_KEY_MATERIAL before rotating the key on demand.",
                        k->arn);
    return r;
}

core_result kms_rotate_key_on_demand(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_params_done(ctx));
    /* The state rule depends on the key's origin: rotate() applies it. */
    struct kms_mutation m = {.ctx = ctx, .id = id, .rule = KMS_RULE_ANY,
                             .apply = rotate};
    /* AWS returns the key ARN here (recorded response, issue 17.1; the API
     * page: "Identifies the symmetric encryption KMS key that you initiated
     * on-demand rotation on"). */
    return kms_key_mutate_reply(&m, "RotateKeyOnDemand", NULL);
}
