#include <stdio.h>

#include "kms/kms_import.h"

/*
 * DeleteImportedKeyMaterial: deletes the key material of a key with Origin
 * EXTERNAL; the key goes to PendingImport ("the KMS key is unusable") until
 * the same material is imported again. KeyMaterialId, when given, must name
 * material of the key.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_DeleteImportedKeyMaterial.html
 */
struct delete_arg {
    struct core_cursor material_id;
    bool have_material_id;
    char current[65];
};

static core_result delete_fn(struct kms_mutation *m, struct keystore_txn *txn)
{
    struct kms_ctx *ctx = m->ctx;
    struct delete_arg *a = m->arg;
    struct kms_key *k = &m->key;
    if (!k->external)
        return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION, "%s origin is AWS_KMS which is not valid for this operation.",
                        k->arn);
    if (k->state == KMS_STATE_PENDING_DELETION)
        return kms_fail(ctx, KMS_E_INVALID_STATE, "%s is pending deletion.", k->arn);
    a->current[0] = 0;
    bool found = !a->have_material_id;
    for (uint32_t i = 0; i < k->n_versions; i++) {
        struct kms_key_version v;
        char hex[65];
        kms_key_version_at(k, i, &v);
        kms_material_id_hex(v.material_id, hex);
        if (a->have_material_id && core_cursor_eq_str(a->material_id, hex)) found = true;
        if (i + 1 == k->n_versions) memcpy(a->current, hex, sizeof hex);
    }
    if (!found)
        return kms_fail(ctx, KMS_E_NOT_FOUND, "Key material %.*s does not exist for %s.",
                        (int)(a->material_id.len > 64 ? 64 : a->material_id.len), (const char *)a->material_id.ptr,
                        k->arn);
    return kms_import_material_delete(txn, k);
}

core_result kms_delete_imported_key_material(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id;
    struct delete_arg a = {0};
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_string(ctx, in, "KeyMaterialId", 64, 64, false, &a.material_id, &a.have_material_id));
    GUARD(kms_params_done(ctx));
    struct kms_mutation m = {.ctx = ctx, .id = id, .rule = KMS_RULE_ANY, .apply = delete_fn, .arg = &a};
    return kms_import_mutate_reply(ctx, &m, "DeleteImportedKeyMaterial", a.current);
}
