#include <stdio.h>

#include "kms/kms_asym.h"
#include "kms/kms_import.h"
#include "kms/kms_grant.h"
#include "kms/kms_internal.h"

/*
 * Rendering of stored facts into replies: KeyMetadata (CreateKey,
 * DescribeKey, ReplicateKey...), key state names and material ids. Reads
 * records; changes nothing.
 */

const char *kms_state_name(uint8_t state)
{
    switch (state) {
    case KMS_STATE_ENABLED: return "Enabled";
    case KMS_STATE_DISABLED: return "Disabled";
    case KMS_STATE_PENDING_DELETION: return "PendingDeletion";
    case KMS_STATE_PENDING_IMPORT: return "PendingImport";
    case KMS_STATE_UNAVAILABLE: return "Unavailable";
    case KMS_STATE_PENDING_REPLICA_DELETION: return "PendingReplicaDeletion";
    }
    return "Unavailable";
}

/* https://docs.aws.amazon.com/kms/latest/APIReference/API_KeyMetadata.html */
core_result kms_render_metadata(struct core_jw *w, const char *name, const struct kms_key *k)
{
    GUARD(core_jw_object_begin(w, name));
    GUARD(core_jw_cstr(w, "AWSAccountId", k->account));
    GUARD(core_jw_cstr(w, "KeyId", k->key_id));
    GUARD(core_jw_cstr(w, "Arn", k->arn));
    GUARD(core_jw_time(w, "CreationDate", k->created));
    GUARD(core_jw_bool(w, "Enabled", k->state == KMS_STATE_ENABLED));
    GUARD(core_jw_str(w, "Description", core_buf_cursor(&k->description)));
    GUARD(core_jw_cstr(w, "KeyUsage", kms_usage_name(k->usage)));
    GUARD(core_jw_cstr(w, "KeyState", kms_state_name(k->state)));
    if (k->state == KMS_STATE_PENDING_DELETION) GUARD(core_jw_time(w, "DeletionDate", k->deletion_date));
    if (k->external && k->imported && k->expiration_model == KMS_EXP_EXPIRES)
        GUARD(core_jw_time(w, "ValidTo", k->valid_to));
    GUARD(core_jw_cstr(w, "Origin", k->external ? "EXTERNAL" : "AWS_KMS"));
    if (k->external && k->imported)
        GUARD(core_jw_cstr(w, "ExpirationModel",
                           k->expiration_model == KMS_EXP_EXPIRES ? "KEY_MATERIAL_EXPIRES"
                                                                  : "KEY_MATERIAL_DOES_NOT_EXPIRE"));
    GUARD(core_jw_cstr(w, "KeyManager", k->aws_managed ? "AWS" : "CUSTOMER"));
    /* CustomerMasterKeySpec is deprecated and has no ML_DSA_* or EDWARDS25519 value. */
    if (k->spec < KMS_SPEC_ML_DSA_44) GUARD(core_jw_cstr(w, "CustomerMasterKeySpec", kms_spec_name(k->spec)));
    GUARD(core_jw_cstr(w, "KeySpec", kms_spec_name(k->spec)));
    GUARD(kms_asym_render_algorithms(w, k->spec, k->usage, true));
    GUARD(kms_mrk_render(w, k));
    /* "PendingDeletionWindowInDays ... present only when the KeyState of the KMS key is
     * PendingReplicaDeletion" (API_KeyMetadata.html); also shown for PendingDeletion, as before. */
    if (k->state == KMS_STATE_PENDING_DELETION || k->state == KMS_STATE_PENDING_REPLICA_DELETION)
        GUARD(core_jw_int(w, "PendingDeletionWindowInDays", k->pending_window_days));
    /* "CurrentKeyMaterialId ... present for symmetric encryption keys" (API_KeyMetadata.html). */
    if (k->n_versions && k->spec == KMS_SPEC_SYMMETRIC_DEFAULT) {
        struct kms_key_version v;
        char hex[65];
        kms_key_version_at(k, k->n_versions - 1, &v);
        kms_material_id_hex(v.material_id, hex);
        GUARD(core_jw_cstr(w, "CurrentKeyMaterialId", hex));
    }
    return core_jw_object_end(w);
}

core_result kms_render_material_id(struct core_jw *w, const char *name, const struct kms_key *key, uint32_t n)
{
    if (n < 1 || n > key->n_versions) CORE_OK;
    struct kms_key_version v;
    char hex[65];
    kms_key_version_at(key, n - 1, &v);
    kms_material_id_hex(v.material_id, hex);
    return core_jw_cstr(w, name, hex);
}

/* ---- grants ------------------------------------------------------------------------------------ */

static core_result render_map(struct core_jw *w, const char *name, const json_t *m)
{
    GUARD(core_jw_object_begin(w, name));
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)(uintptr_t)m, k, v) GUARD(core_jw_str(w, k, kms_jcur(v))); /* by length */
    return core_jw_object_end(w);
}

/* https://docs.aws.amazon.com/kms/latest/APIReference/API_GrantListEntry.html */
core_result kms_grant_render(struct core_jw *w, const json_t *g)
{
    GUARD(core_jw_object_begin(w, NULL));
    GUARD(core_jw_str(w, "KeyId", kms_jc(g, "key_arn")));
    GUARD(core_jw_str(w, "GrantId", kms_jc(g, "grant_id")));
    if (kms_jc(g, "name").len) GUARD(core_jw_str(w, "Name", kms_jc(g, "name")));
    GUARD(core_jw_time(w, "CreationDate", (int64_t)json_integer_value(json_object_get(g, "created"))));
    GUARD(core_jw_str(w, "GranteePrincipal", kms_jc(g, "grantee")));
    if (kms_jc(g, "retiring").len) GUARD(core_jw_str(w, "RetiringPrincipal", kms_jc(g, "retiring")));
    GUARD(core_jw_str(w, "IssuingAccount", kms_jc(g, "issuing")));
    GUARD(core_jw_array_begin(w, "Operations"));
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(g, "ops"), i, v) GUARD(core_jw_str(w, NULL, kms_jcur(v)));
    GUARD(core_jw_array_end(w));
    const json_t *eq = json_object_get(g, "ceq"), *sub = json_object_get(g, "csub");
    if (json_is_object(eq) || json_is_object(sub)) {
        GUARD(core_jw_object_begin(w, "Constraints"));
        if (json_is_object(eq)) GUARD(render_map(w, "EncryptionContextEquals", eq));
        if (json_is_object(sub)) GUARD(render_map(w, "EncryptionContextSubset", sub));
        GUARD(core_jw_object_end(w));
    }
    return core_jw_object_end(w);
}
