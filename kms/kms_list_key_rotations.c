#include <stdio.h>

#include "kms/kms_asym.h"
#include "kms/kms_import.h"

/*
 * ListKeyRotations: completed rotations, oldest first; with
 * IncludeKeyMaterial ALL_KEY_MATERIAL the initial material too. The marker
 * is the next material version, base64-encoded.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_ListKeyRotations.html
 */
core_result kms_list_key_rotations(struct kms_ctx *ctx, const json_t *in)
{
    static const char *const include[] = {"ALL_KEY_MATERIAL", "ROTATIONS_ONLY", NULL};
    struct core_cursor id, marker;
    bool have_id, have_inc, have_limit, have_marker;
    size_t inc = 1;
    int64_t limit = 100;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_enum(ctx, in, "IncludeKeyMaterial", include, false, &inc, &have_inc));
    GUARD(kms_param_int(ctx, in, "Limit", 1, 1000, false, &limit, &have_limit));
    GUARD(kms_param_marker(ctx, in, &marker, &have_marker));
    GUARD(kms_params_done(ctx));
    if (!have_inc) inc = 1;
    uint64_t start = inc == 0 ? 1 : 2;
    if (have_marker) {
        DEFER_CLEANUP(struct core_buf m = {0}, core_buf_cleanup);
        GUARD(core_buf_init(&m, 16, 64));
        GUARD(kms_marker_decode(ctx, marker, &m));
        if (!core_ok(core_cursor_to_u64(core_buf_cursor(&m), UINT32_MAX, &start)))
            return kms_fail(ctx, KMS_E_INVALID_MARKER, "%s", "Invalid marker");
    }

    DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
    GUARD(kms_key_init(&k));
    struct keystore_txn *txn = NULL;
    GUARD(kms_key_open(ctx, id, KMS_RULE_ANY, &txn, &k));
    /* Symmetric keys with imported material list it (ImportState, ExpirationModel, ValidTo in each entry),
     * and with ALL_KEY_MATERIAL the material imported for rotation (PENDING_ROTATION) after the versions.
     * Their versions are the initial material and at most KMS_MAX_ON_DEMAND_ROTATIONS rotations, so their
     * records are read here, in the key's read transaction. */
    bool imported = k.external && k.spec == KMS_SPEC_SYMMETRIC_DEFAULT;
    struct kms_import_mat mats[KMS_MAX_ON_DEMAND_ROTATIONS + 2];
    uint64_t last = k.n_versions;
    core_result r = core_result_ok();
    if (imported && k.n_versions + 1 > sizeof mats / sizeof mats[0]) r.err = ERR_LIMIT;
    for (uint32_t n = 1; imported && core_ok(r) && n <= k.n_versions; n++) r = kms_import_mat_get(txn, &k, n, &mats[n]);
    if (imported && core_ok(r) && inc == 0) {
        r = kms_import_mat_get(txn, &k, KMS_IMPORT_PENDING, &mats[k.n_versions + 1]);
        if (core_ok(r)) last++;
        if (r.err == ERR_NOT_FOUND) r = core_result_ok();
    }
    keystore_txn_abort(txn);
    if (!core_ok(r)) return kms_internal(ctx, r, "ListKeyRotations");
    if (!imported) GUARD(kms_state_check(ctx, &k, KMS_RULE_ROTATION_READ));

    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    GUARD(core_jw_object_begin(&w, NULL));
    GUARD(core_jw_array_begin(&w, "Rotations"));
    int64_t n = 0;
    bool truncated = false;
    uint64_t next = 0;
    for (uint64_t ver = start; ver >= 1 && ver <= last; ver++) {
        if (n == limit) {
            truncated = true;
            next = ver;
            break;
        }
        bool pending = ver > k.n_versions;
        struct kms_key_version v = {0};
        const struct kms_import_mat *mat = imported ? &mats[ver] : NULL;
        char hex[65];
        if (pending) {
            memcpy(v.material_id, mat->material_id, sizeof v.material_id);
            v.type = KMS_ROT_INITIAL; /* no RotationDate/RotationType: "not present for ... PENDING_ROTATION" */
        } else {
            kms_key_version_at(&k, (uint32_t)ver - 1, &v);
        }
        kms_material_id_hex(v.material_id, hex);
        GUARD(core_jw_object_begin(&w, NULL));
        GUARD(core_jw_cstr(&w, "KeyId", k.key_id));
        GUARD(core_jw_cstr(&w, "KeyMaterialId", hex));
        GUARD(core_jw_cstr(&w, "KeyMaterialState", pending                 ? "PENDING_ROTATION"
                                                    : ver == k.n_versions ? "CURRENT"
                                                                          : "NON_CURRENT"));
        if (imported) {
            /* Material past its ValidTo is deleted at once as far as the API shows (the sweeper catches up). */
            bool live = kms_import_mat_live(mat, ctx->call->now);
            GUARD(core_jw_cstr(&w, "ImportState", live ? "IMPORTED" : "PENDING_IMPORT"));
            if (mat->description[0]) GUARD(core_jw_cstr(&w, "KeyMaterialDescription", mat->description));
            if (live)
                GUARD(core_jw_cstr(&w, "ExpirationModel", mat->model == KMS_EXP_EXPIRES ? "KEY_MATERIAL_EXPIRES"
                                                                                     : "KEY_MATERIAL_DOES_NOT_EXPIRE"));
            if (live && mat->model == KMS_EXP_EXPIRES) GUARD(core_jw_time(&w, "ValidTo", mat->valid_to));
        }
        if (v.type != KMS_ROT_INITIAL) {
            GUARD(core_jw_time(&w, "RotationDate", v.created));
            GUARD(core_jw_cstr(&w, "RotationType", v.type == KMS_ROT_AUTOMATIC ? "AUTOMATIC" : "ON_DEMAND"));
        }
        GUARD(core_jw_object_end(&w));
        n++;
    }
    GUARD(core_jw_array_end(&w));
    if (truncated) {
        char num[16];
        snprintf(num, sizeof num, "%llu", (unsigned long long)next);
        DEFER_CLEANUP(struct core_buf m = {0}, core_buf_cleanup);
        GUARD(core_buf_init(&m, 32, 64));
        GUARD(kms_marker_encode(core_cursor_str(num), &m));
        GUARD(core_jw_str(&w, "NextMarker", core_buf_cursor(&m)));
    }
    GUARD(core_jw_bool(&w, "Truncated", truncated));
    return core_jw_object_end(&w);
}
