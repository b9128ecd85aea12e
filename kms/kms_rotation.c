#include <stdio.h>

#include "kms/kms_import.h"
#include "kms/kms_internal.h"

/*
 * Rotation and deletion that happen on their own. "When you enable automatic
 * key rotation, AWS KMS rotates the key material ... on the next rotation
 * date"; "When the waiting period ends, AWS KMS deletes the KMS key, its
 * alias, and all related AWS KMS metadata."
 * https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html
 * https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys.html
 *
 * kms_run_due() reads table kms_due in time order (rows
 * "<due %016x>/<R|D>/<record id>", kept by kms_key_save()) and acts on the
 * rows whose time has passed on the service clock, each in its own
 * group-committed write that re-checks the key. A missed date (server down,
 * clock moved) is caught up with one rotation, however many periods were
 * missed, as AWS does (issue 10.11); the next date stays on the key's
 * schedule, the first one after now.
 */

static const char tbl_due[] = "kms_due";

#define DUE_BATCH 64u
#define DUE_MAX_ROUNDS 1000u

core_result kms_rotate(struct keystore_txn *txn, struct kms_key *key, int64_t now, uint8_t type)
{
    GUARD(kms_key_add_version(txn, key, now, type));
    if (type == KMS_ROT_ON_DEMAND) key->n_on_demand++;
    if (type == KMS_ROT_AUTOMATIC) {
        int64_t period = (int64_t)(key->rotation_period_days ? key->rotation_period_days : KMS_DEFAULT_ROTATION_DAYS) *
                         KMS_DAY;
        int64_t base = key->next_rotation ? key->next_rotation : now;
        /* The first date of the schedule after now: one rotation for any number of missed periods. */
        int64_t missed = now >= base ? (now - base) / period : 0;
        key->next_rotation = base + (missed + 1) * period;
    }
    /* A multi-Region primary's new material reaches its replicas in the same write (kms_multi_region.c). */
    return kms_mrk_sync(txn, key);
}

struct due_row {
    int64_t when;
    char kind;
    char rid[128];
    char raw[192];
};

static core_result parse_row(struct core_cursor id, struct due_row *row)
{
    ENSURE(id.len > 19 && id.len < sizeof row->raw, ERR_PARSE);
    memcpy(row->raw, id.ptr, id.len);
    row->raw[id.len] = 0;
    uint64_t t = 0;
    for (size_t i = 0; i < 16; i++) {
        char c = row->raw[i];
        int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        ENSURE(v >= 0, ERR_PARSE);
        t = t << 4 | (uint64_t)v;
    }
    ENSURE(row->raw[16] == '/' && row->raw[18] == '/', ERR_PARSE);
    row->when = (int64_t)t;
    row->kind = row->raw[17];
    size_t rl = strnlen(row->raw + 19, sizeof row->rid - 1);
    memcpy(row->rid, row->raw + 19, rl); /* raw and rid are distinct arrays of one struct */
    row->rid[rl] = 0;
    CORE_OK;
}

struct due_arg {
    struct due_row *row;
    int64_t now;
    char done; /* 'R' rotated, 'D' deleted, 0 nothing (for kms_due_stats) */
};

static _Atomic uint64_t due_rotations, due_deletions;

void kms_due_stats(uint64_t *rotations, uint64_t *deletions)
{
    *rotations = due_rotations;
    *deletions = due_deletions;
}

static core_result due_fn(struct keystore_txn *txn, void *argp)
{
    struct due_arg *a = argp;
    struct due_row *row = a->row;
    /* rid = account/region/key-id */
    struct core_cursor rest = core_cursor_str(row->rid), acct, region;
    char account[16], reg[32], kid[KMS_KEY_ID_LEN + 1];
    bool ok = core_cursor_split(&rest, '/', &acct) && core_cursor_split(&rest, '/', &region) && rest.ptr &&
              acct.len < sizeof account && region.len < sizeof reg && rest.len < sizeof kid;
    core_result r;
    DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
    GUARD(kms_key_init(&k));
    if (ok) {
        memcpy(account, acct.ptr, acct.len);
        account[acct.len] = 0;
        memcpy(reg, region.ptr, region.len);
        reg[region.len] = 0;
        memcpy(kid, rest.ptr, rest.len);
        kid[rest.len] = 0;
        r = kms_key_get(txn, account, reg, kid, &k);
        if (!core_ok(r) && r.err != ERR_NOT_FOUND) return r;
        ok = core_ok(r);
    }
    if (ok && row->kind == 'D' && k.state == KMS_STATE_PENDING_DELETION && k.deletion_date == row->when &&
        k.deletion_date <= a->now) {
        core_log(CORE_LOG_INFO, "kms: deleting key %s (deletion date passed)", k.arn);
        a->done = 'D';
        GUARD(kms_mrk_forget(txn, &k, a->now)); /* a replica leaves its set (kms_multi_region.c) */
        return kms_key_destroy(txn, &k);
    }
    if (ok && row->kind == 'R' && k.rotation_enabled && k.state == KMS_STATE_ENABLED &&
        k.next_rotation == row->when && k.next_rotation <= a->now) {
        GUARD(kms_rotate(txn, &k, a->now, KMS_ROT_AUTOMATIC));
        core_log(CORE_LOG_INFO, "kms: rotated key %s to material version %u", k.arn, k.n_versions);
        a->done = 'R';
        return kms_key_save(txn, &k); /* moves the due row to the next date */
    }
    if (ok && row->kind == 'E' && k.external && k.imported && k.expiration_model == KMS_EXP_EXPIRES &&
        k.valid_to == row->when && k.valid_to <= a->now) {
        core_log(CORE_LOG_INFO, "kms: imported key material of %s expired; deleted", k.arn);
        GUARD(kms_import_material_delete(txn, &k));
        return kms_key_save(txn, &k); /* drops the due row */
    }
    /* A stale row (the key changed or is gone): drop it. */
    r = keystore_del(txn, tbl_due, core_cursor_str(row->raw));
    if (!core_ok(r) && r.err != ERR_NOT_FOUND) return r;
    CORE_OK;
}

core_result kms_run_due(struct kms_env *env, int64_t now)
{
    for (unsigned round = 0; round < DUE_MAX_ROUNDS; round++) {
        struct due_row rows[DUE_BATCH];
        size_t n = 0;
        struct keystore_txn *txn = NULL;
        GUARD(keystore_txn_begin(env->ks, false, &txn));
        struct keystore_iter *it = NULL;
        core_result r = keystore_iter_begin(txn, tbl_due, core_cursor_str(""), &it);
        if (!core_ok(r)) {
            keystore_txn_abort(txn);
            return r;
        }
        struct core_cursor id;
        while (n < DUE_BATCH && core_ok(r = keystore_iter_next(it, &id, NULL))) {
            if (!core_ok(parse_row(id, &rows[n]))) continue;
            if (rows[n].when > now) break;
            n++;
        }
        keystore_iter_end(it);
        keystore_txn_abort(txn);
        if (!core_ok(r) && r.err != ERR_NOT_FOUND) return r;
        if (n == 0) CORE_OK;
        for (size_t i = 0; i < n; i++) {
            struct due_arg a = {.row = &rows[i], .now = now};
            r = keystore_write(env->ks, due_fn, &a);
            if (!core_ok(r)) {
                core_log(CORE_LOG_ERROR, "kms: due work on %s failed: %s at %s", rows[i].rid, core_err_name(r.err),
                         core_result_site());
                return r;
            }
            if (a.done == 'R') due_rotations++;
            if (a.done == 'D') due_deletions++;
        }
    }
    CORE_OK;
}
