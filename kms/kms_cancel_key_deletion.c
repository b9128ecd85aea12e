#include "kms/kms_internal.h"

/*
 * CancelKeyDeletion: PendingDeletion -> Disabled.
 * "When this operation succeeds, the key state of the KMS key is Disabled."
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_CancelKeyDeletion.html
 */
static core_result cancel(struct kms_mutation *m, struct keystore_txn *txn)
{
    (void)txn;
    /* A key with imported material that was deleted or expired has nothing to enable: it awaits import
     * ("If the KMS key has imported key material ... the key state is PendingImport", key-state.html). */
    bool material_gone = m->key.external && !m->key.imported;
    m->key.state = material_gone ? KMS_STATE_PENDING_IMPORT : KMS_STATE_DISABLED;
    m->key.deletion_date = 0;
    m->key.pending_window_days = 0;
    CORE_OK;
}

core_result kms_cancel_key_deletion(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_params_done(ctx));
    struct kms_mutation m = {.ctx = ctx, .id = id, .rule = KMS_RULE_CANCEL_DELETION,
                             .apply = cancel};
    return kms_key_mutate_reply(&m, "CancelKeyDeletion", NULL);
}
