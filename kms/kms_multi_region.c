#include <stdio.h>

#include "kms/kms_record.h"

/*
 * The shared record of a set of multi-Region keys (kms_multi_region.h has
 * the model). Table "kms_mrk", id "<account>/<key-id>", value (sealed by the
 * keystore with the id as associated data, like every record):
 *
 *   u8 format (1) | u8 len | primary Region | u8 n | n x (u8 len | replica Region) | be32 gen_floor
 *
 * Regions are 1..31 characters of [a-z0-9-], replicas sorted and distinct.
 */

static const char tbl_mrk[] = "kms_mrk";
#define MRK_FORMAT 1u

bool kms_mrk_key_id(const char *key_id)
{
    return strncmp(key_id, "mrk-", 4) == 0;
}

void kms_mrk_new_id(char out[37])
{
    static const char hx[] = "0123456789abcdef";
    uint8_t r[16];
    core_random(r, sizeof r);
    memcpy(out, "mrk-", 4);
    for (size_t i = 0; i < sizeof r; i++) {
        out[4 + 2 * i] = hx[r[i] >> 4];
        out[5 + 2 * i] = hx[r[i] & 15];
    }
    out[36] = 0;
    core_wipe(r, sizeof r);
}

bool kms_mrk_is_primary(const struct kms_key *k)
{
    return k->mrk.on && strcmp(k->region, k->mrk.primary) == 0;
}

bool kms_mrk_is_replica(const struct kms_key *k)
{
    return k->mrk.on && strcmp(k->region, k->mrk.primary) != 0;
}

bool kms_mrk_in_set(const struct kms_mrk *m, const char *region)
{
    if (!m->on) return false;
    if (strcmp(m->primary, region) == 0) return true;
    for (unsigned i = 0; i < m->n_replicas; i++)
        if (strcmp(m->replicas[i], region) == 0) return true;
    return false;
}

core_result kms_mrk_add_replica(struct kms_mrk *m, const char *region)
{
    size_t len = strlen(region);
    ENSURE(len >= 1 && len < sizeof m->replicas[0], ERR_INVALID_ARG);
    ENSURE(!kms_mrk_in_set(m, region), ERR_INVALID_ARG);
    ENSURE(m->n_replicas < KMS_MAX_REPLICAS, ERR_LIMIT);
    unsigned at = m->n_replicas;
    while (at > 0 && strcmp(m->replicas[at - 1], region) > 0) {
        memcpy(m->replicas[at], m->replicas[at - 1], sizeof m->replicas[0]);
        at--;
    }
    snprintf(m->replicas[at], sizeof m->replicas[0], "%s", region);
    m->n_replicas++;
    CORE_OK;
}

void kms_mrk_remove_replica(struct kms_mrk *m, const char *region)
{
    for (unsigned i = 0; i < m->n_replicas; i++) {
        if (strcmp(m->replicas[i], region) != 0) continue;
        for (unsigned j = i + 1; j < m->n_replicas; j++) memcpy(m->replicas[j - 1], m->replicas[j], sizeof m->replicas[0]);
        m->n_replicas--;
        memset(m->replicas[m->n_replicas], 0, sizeof m->replicas[0]);
        return;
    }
}

static void record_id(const struct kms_key *k, char out[64])
{
    snprintf(out, 64, "%s/%s", k->account, k->key_id);
}

static core_result read_region(struct core_cursor *c, char out[32])
{
    uint8_t n;
    struct core_cursor r;
    GUARD(core_cursor_read_u8(c, &n));
    ENSURE(n >= 1 && n < 32, ERR_PARSE);
    GUARD(core_cursor_advance(c, n, &r));
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = r.ptr[i];
        ENSURE((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-', ERR_PARSE);
    }
    memcpy(out, r.ptr, n);
    out[n] = 0;
    CORE_OK;
}

core_result kms_mrk_load(struct keystore_txn *txn, struct kms_key *k)
{
    if (!kms_mrk_key_id(k->key_id)) {
        /* Not the whole struct (1.5 KiB of Region names, on every key load): no replica is read past
         * n_replicas. */
        kms_mrk_clear(&k->mrk);
        CORE_OK;
    }
    k->mrk = (struct kms_mrk){0};
    char rid[64];
    record_id(k, rid);
    DEFER_CLEANUP(struct core_buf raw = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&raw, 128, 2 + 32 + 1 + KMS_MAX_REPLICAS * 32 + 4));
    core_result r = keystore_get(txn, tbl_mrk, core_cursor_str(rid), &raw);
    /* A "mrk-" key record without its set is damage, never a single-Region key. */
    if (r.err == ERR_NOT_FOUND) BAIL(ERR_PARSE);
    GUARD(r);
    struct core_cursor c = core_buf_cursor(&raw);
    uint8_t fmt, n;
    struct kms_mrk m = {.on = true};
    GUARD(core_cursor_read_u8(&c, &fmt));
    ENSURE(fmt == MRK_FORMAT, ERR_PARSE);
    GUARD(read_region(&c, m.primary));
    GUARD(core_cursor_read_u8(&c, &n));
    ENSURE(n <= KMS_MAX_REPLICAS, ERR_PARSE);
    for (unsigned i = 0; i < n; i++) {
        char region[32];
        GUARD(read_region(&c, region));
        ENSURE(core_ok(kms_mrk_add_replica(&m, region)), ERR_PARSE);
    }
    GUARD(core_cursor_read_be32(&c, &m.gen_floor));
    ENSURE(c.len == 0, ERR_PARSE);
    /* The key's own Region is in its set, or the record is not its set. */
    ENSURE(kms_mrk_in_set(&m, k->region), ERR_PARSE);
    k->mrk = m;
    CORE_OK;
}

core_result kms_mrk_save(struct keystore_txn *txn, const struct kms_key *k)
{
    ENSURE(k->mrk.on && kms_mrk_key_id(k->key_id), ERR_INVALID_ARG);
    char rid[64];
    record_id(k, rid);
    DEFER_CLEANUP(struct core_buf raw = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&raw, 128, 2 + 32 + 1 + KMS_MAX_REPLICAS * 32 + 4));
    GUARD(core_buf_append_u8(&raw, MRK_FORMAT));
    size_t n = strlen(k->mrk.primary);
    GUARD(core_buf_append_u8(&raw, (uint8_t)n));
    GUARD(core_buf_append(&raw, k->mrk.primary, n));
    GUARD(core_buf_append_u8(&raw, k->mrk.n_replicas));
    for (unsigned i = 0; i < k->mrk.n_replicas; i++) {
        n = strlen(k->mrk.replicas[i]);
        GUARD(core_buf_append_u8(&raw, (uint8_t)n));
        GUARD(core_buf_append(&raw, k->mrk.replicas[i], n));
    }
    GUARD(core_buf_append_be32(&raw, k->mrk.gen_floor));
    return keystore_put(txn, tbl_mrk, core_cursor_str(rid), core_buf_cursor(&raw), 0);
}

/* Room for the largest private key PKCS#8 any key spec stores (kms_asym.c) and the 32-byte symmetric material. */
#define MRK_MATERIAL_MAX 16384u

core_result kms_mrk_copy_versions(struct keystore_txn *txn, const struct kms_key *from, struct kms_key *to)
{
    if (from->external) CORE_OK;
    ENSURE(to->n_versions <= from->n_versions, ERR_TAMPERED);
    DEFER_CLEANUP(struct core_buf mat = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&mat, MRK_MATERIAL_MAX));
    for (uint32_t i = to->n_versions; i < from->n_versions; i++) {
        struct kms_key_version v;
        kms_key_version_at(from, i, &v);
        ENSURE(v.n == to->n_versions + 1, ERR_TAMPERED);
        GUARD(kms_material_get_any(txn, from, v.n, &mat));
        core_result r = kms_key_add_material(txn, to, v.created, v.type, core_buf_cursor(&mat), v.material_id);
        core_wipe(mat.data, mat.len);
        core_buf_reset(&mat);
        GUARD(r);
    }
    CORE_OK;
}

core_result kms_mrk_sync(struct keystore_txn *txn, const struct kms_key *primary)
{
    if (!kms_mrk_is_primary(primary)) CORE_OK;
    for (unsigned i = 0; i < primary->mrk.n_replicas; i++) {
        DEFER_CLEANUP(struct kms_key r = {0}, kms_key_free);
        GUARD(kms_key_init(&r));
        core_result g = kms_key_get(txn, primary->account, primary->mrk.replicas[i], primary->key_id, &r);
        /* A replica whose record is gone (deleted in this same write) has nothing to receive. */
        if (g.err == ERR_NOT_FOUND) continue;
        GUARD(g);
        GUARD(kms_mrk_copy_versions(txn, primary, &r));
        r.rotation_enabled = primary->rotation_enabled;
        r.rotation_period_days = primary->rotation_period_days;
        r.next_rotation = primary->next_rotation;
        r.on_demand_start = primary->on_demand_start;
        r.n_on_demand = primary->n_on_demand;
        GUARD(kms_key_save(txn, &r));
    }
    CORE_OK;
}

core_result kms_mrk_forget(struct keystore_txn *txn, const struct kms_key *k, int64_t now)
{
    if (!k->mrk.on) CORE_OK;
    char rid[64];
    record_id(k, rid);
    if (kms_mrk_is_primary(k)) {
        /* A primary is deleted only once it has no replicas (ScheduleKeyDeletion keeps it in
         * PendingReplicaDeletion until then), so the set goes with it. */
        core_result r = keystore_del(txn, tbl_mrk, core_cursor_str(rid));
        if (!core_ok(r) && r.err != ERR_NOT_FOUND) return r;
        CORE_OK;
    }
    DEFER_CLEANUP(struct kms_key p = {0}, kms_key_free);
    GUARD(kms_key_init(&p));
    core_result g = kms_key_get(txn, k->account, k->mrk.primary, k->key_id, &p);
    /* No primary record (damage): nothing to update, and the replica's deletion must not stall the sweeper. */
    if (g.err == ERR_NOT_FOUND) CORE_OK;
    GUARD(g);
    kms_mrk_remove_replica(&p.mrk, k->region);
    if (k->policy_gen >= p.mrk.gen_floor) p.mrk.gen_floor = k->policy_gen + 1;
    GUARD(kms_mrk_save(txn, &p));
    /* "When the last replica key in the multi-Region key is deleted, the KeyState of the scheduled
     * primary key changes from PendingReplicaDeletion to PendingDeletion and the deletion date appears"
     * (API_KeyMetadata.html, PendingDeletionWindowInDays); "the waiting period begins when the last of
     * its replica keys is deleted" (API_ScheduleKeyDeletion.html). */
    if (p.state == KMS_STATE_PENDING_REPLICA_DELETION && p.mrk.n_replicas == 0) {
        p.state = KMS_STATE_PENDING_DELETION;
        p.deletion_date = now + (int64_t)p.pending_window_days * KMS_DAY;
        GUARD(kms_key_save(txn, &p));
    }
    CORE_OK;
}
