#include <stdio.h>

#include "kms/kms_import.h"

/*
 * DeleteImportedKeyMaterial: deletes imported key material of a key with
 * Origin EXTERNAL. "If no KeyMaterialId is specified, KMS deletes the
 * current key material." Deleting material of the key (current or not)
 * makes it unusable: PendingImport until the same material is imported
 * again ("When the specified KMS key is in the PendingDeletion state, this
 * operation does not change the KMS key's state"). Material imported for
 * rotation (PENDING_ROTATION) "is not permanently associated with the KMS
 * key": deleting it leaves the key as it is.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_DeleteImportedKeyMaterial.html
 */
struct delete_arg {
    struct core_cursor material_id;
    bool have_material_id;
    char deleted[65];
};

static core_result delete_fn(struct kms_mutation *m, struct keystore_txn *txn)
{
    struct kms_ctx *ctx = m->ctx;
    struct delete_arg *a = m->arg;
    struct kms_key *k = &m->key;
    GUARD(kms_import_key_check(ctx, k));
    a->deleted[0] = 0;
    uint32_t which = k->n_versions; /* the current material */
    if (a->have_material_id) {
        which = UINT32_MAX;
        for (uint32_t i = 0; i < k->n_versions; i++) {
            struct kms_key_version v;
            char hex[65];
            kms_key_version_at(k, i, &v);
            kms_material_id_hex(v.material_id, hex);
            if (core_cursor_eq_str(a->material_id, hex)) which = v.n;
        }
        struct kms_import_mat p;
        core_result r = kms_import_mat_get(txn, k, KMS_IMPORT_PENDING, &p);
        if (!core_ok(r) && r.err != ERR_NOT_FOUND) return r;
        char hex[65];
        if (core_ok(r)) kms_material_id_hex(p.material_id, hex);
        if (which == UINT32_MAX && core_ok(r) && core_cursor_eq_str(a->material_id, hex)) {
            memcpy(a->deleted, hex, sizeof hex);
            return kms_import_pending_drop(txn, k);
        }
        if (which == UINT32_MAX)
            return kms_fail(ctx, KMS_E_NOT_FOUND, "Key material %.*s does not exist for %s.",
                            (int)a->material_id.len, (const char *)a->material_id.ptr, k->arn);
    }
    if (which == 0) {
        /* Never imported: nothing to delete, and the key stays PendingImport. */
        return kms_import_summary(txn, k, ctx->call->now);
    }
    struct kms_key_version v;
    kms_key_version_at(k, which - 1, &v);
    kms_material_id_hex(v.material_id, a->deleted);
    return kms_import_delete_version(txn, k, which, ctx->call->now);
}

/* {KeyId, KeyMaterialId}: "Identifies the deleted key material" (absent when there was none). */
static core_result delete_reply(struct core_jw *w, const struct kms_mutation *m)
{
    const struct delete_arg *a = m->arg;
    return a->deleted[0] ? core_jw_cstr(w, "KeyMaterialId", a->deleted) : core_result_ok();
}

core_result kms_delete_imported_key_material(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id;
    struct delete_arg a = {0};
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_import_param_material_id(ctx, in, &a.material_id, &a.have_material_id));
    GUARD(kms_params_done(ctx));
    struct kms_mutation m = {.ctx = ctx, .id = id, .rule = KMS_RULE_ANY, .apply = delete_fn, .arg = &a};
    return kms_key_mutate_reply(&m, "DeleteImportedKeyMaterial", delete_reply);
}
