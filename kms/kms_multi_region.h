#ifndef KMS_MULTI_REGION_H
#define KMS_MULTI_REGION_H

/*
 * Multi-Region keys (kms_multi_region.c, kms_replicate_key.c,
 * kms_update_primary_region.c). The record layer of them,
 * included by kms_record.h (struct kms_mrk is part of struct kms_key);
 * the operations' declarations are in kms_multi_region_api.h. Not public.
 *
 * "Multi-Region keys are a set of interoperable KMS keys in different AWS
 * Regions that have the same key ID and key material."
 * https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-overview.html
 *
 * Every key of a set is an ordinary key record in its own Region
 * ("<account>/<region>/mrk-..."), with its own policy, tags, aliases,
 * grants, description and state, and its own copies of every material
 * version (table kms_material, sealed by the keystore like any material).
 * What the keys share lives once, in table "kms_mrk" under
 * "<account>/<key-id>": the primary Region and the replica Regions. The
 * shared key properties (spec, usage, origin, material versions, automatic
 * rotation) are copied from the primary to each replica in the same write
 * that changes them (kms_mrk_sync).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/core.h"

struct kms_key;
struct keystore_txn;

/* The related multi-Region keys of a "mrk-" key: one shared record, loaded with the key (kms_key_get). */
#define KMS_MAX_REPLICAS 48u
struct kms_mrk {
    bool on;                              /* the key is a multi-Region key */
    char primary[32];                     /* Region of the primary key */
    uint8_t n_replicas;
    char replicas[KMS_MAX_REPLICAS][32];  /* Regions of the replica keys, sorted; none read past n_replicas */
    /* The policy generation a new replica starts at: above every generation a deleted replica of the set
     * reached, so a replica made again under the same record id never meets the old one's compiled policy
     * in the policy cache (keyed by record id and generation, kms_authz.c). */
    uint32_t gen_floor;
};

/** Clears m but its replica Regions (1.5 KiB, none read past n_replicas). */
static inline void kms_mrk_clear(struct kms_mrk *m)
{
    size_t skip = offsetof(struct kms_mrk, replicas), end = skip + sizeof m->replicas;
    memset(m, 0, skip);
    memset((char *)m + end, 0, sizeof *m - end);
}

/** True when key_id has the multi-Region form "mrk-" + 32 hex digits (NUL-terminated, ours). */
bool kms_mrk_key_id(const char *key_id);
/** A new random multi-Region key id, "mrk-" and 32 lowercase hex digits. */
void kms_mrk_new_id(char out[37]);
/** True for the primary key of a set; false for replicas and single-Region keys. */
bool kms_mrk_is_primary(const struct kms_key *k);
/** True for a replica key of a set. */
bool kms_mrk_is_replica(const struct kms_key *k);
/** True when region holds a key of the set (the primary or a replica). */
bool kms_mrk_in_set(const struct kms_mrk *m, const char *region);
/** Adds a replica Region (kept sorted). Errors: ERR_LIMIT (KMS_MAX_REPLICAS), ERR_INVALID_ARG (already there). */
CORE_RESULT kms_mrk_add_replica(struct kms_mrk *m, const char *region);
/** Removes a replica Region (absent: nothing). */
void kms_mrk_remove_replica(struct kms_mrk *m, const char *region);

/**
 * Reads the set record of k (a "mrk-" key) into k->mrk. A single-Region key
 * gets k->mrk.on = false. Errors: ERR_PARSE (a "mrk-" key without a valid
 * set record), keystore errors.
 */
CORE_RESULT kms_mrk_load(struct keystore_txn *txn, struct kms_key *k);
/** Writes k->mrk as the set record of k's key id. Errors: keystore errors. */
CORE_RESULT kms_mrk_save(struct keystore_txn *txn, const struct kms_key *k);
/**
 * Copies the material versions from has and to lacks (same number, creation
 * date, rotation type, material id and material), read and written through
 * the keystore in guarded memory. Origin EXTERNAL keys copy nothing
 * ("the replica key is created with no key material", API_ReplicateKey).
 * Errors: ERR_TAMPERED (version numbers out of step), keystore errors.
 */
CORE_RESULT kms_mrk_copy_versions(struct keystore_txn *txn, const struct kms_key *from, struct kms_key *to);
/**
 * Copies the shared properties of primary (material versions, automatic
 * rotation status, period and schedule, on-demand rotations) to every
 * replica of its set and saves them. No-op for a single-Region key or a
 * replica. Errors: keystore errors.
 */
CORE_RESULT kms_mrk_sync(struct keystore_txn *txn, const struct kms_key *primary);
/**
 * k is being destroyed: a replica leaves the set, and a primary left in
 * PendingReplicaDeletion by its last replica goes to PendingDeletion with
 * its waiting period starting at now; a primary (with no replicas left)
 * takes the set record with it. No-op for a single-Region key.
 */
CORE_RESULT kms_mrk_forget(struct keystore_txn *txn, const struct kms_key *k, int64_t now);

#endif
