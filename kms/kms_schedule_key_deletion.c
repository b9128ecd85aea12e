#include "kms/kms_internal.h"

/*
 * ScheduleKeyDeletion: PendingDeletion for 7..30 days (default 30); when the
 * date passes, kms_run_due() destroys the key, its material and aliases.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html
 * "PendingWindowInDays: ... Enter a value between 7 and 30 days."
 */
static core_result schedule(struct kms_mutation *m, struct keystore_txn *txn)
{
    (void)txn;
    const int64_t *days = m->arg;
    m->key.pending_window_days = (uint32_t)*days;
    /* "If you schedule the deletion of a primary key with replicas, its key state changes to
     * PendingReplicaDeletion ... If the KMS key is a multi-Region primary key with replicas, the waiting
     * period begins when the last of its replica keys is deleted" (kms_mrk_forget). */
    if (kms_mrk_is_primary(&m->key) && m->key.mrk.n_replicas > 0) {
        m->key.state = KMS_STATE_PENDING_REPLICA_DELETION;
        m->key.deletion_date = 0;
        CORE_OK;
    }
    m->key.state = KMS_STATE_PENDING_DELETION;
    m->key.deletion_date = m->ctx->call->now + *days * KMS_DAY;
    CORE_OK;
}

static core_result render_schedule(struct core_jw *w, const struct kms_mutation *m)
{
    /* DeletionDate: "If the KMS key is a multi-Region primary key with replica keys, this field does not
     * appear." */
    if (m->key.state == KMS_STATE_PENDING_DELETION) GUARD(core_jw_time(w, "DeletionDate", m->key.deletion_date));
    GUARD(core_jw_cstr(w, "KeyState", kms_state_name(m->key.state)));
    return core_jw_int(w, "PendingWindowInDays", *(const int64_t *)m->arg);
}

core_result kms_schedule_key_deletion(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id, have_days;
    int64_t days = 30;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_int(ctx, in, "PendingWindowInDays", 7, 30, false, &days, &have_days));
    GUARD(kms_params_done(ctx));
    if (!have_days) days = 30;
    struct kms_mutation m = {.ctx = ctx, .id = id, .rule = KMS_RULE_MANAGE,
                             .apply = schedule, .arg = &days};
    return kms_key_mutate_reply(&m, "ScheduleKeyDeletion", render_schedule);
}

/* kms:ScheduleKeyDeletionPendingWindowInDays (30 when the request has none).
 * https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-schedule-key-deletion-pending-window-in-days */
core_result kms_schedule_key_deletion_conditions(struct kms_ctx *ctx, struct kms_cond *c)
{
    return kms_cond_int(ctx, c, "PendingWindowInDays", "kms:ScheduleKeyDeletionPendingWindowInDays", 30);
}
