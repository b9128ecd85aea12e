#include <stdio.h>

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
    keystore_txn_abort(txn);
    /* Keys with imported material list it (ImportState, ExpirationModel, ValidTo in each entry). */
    if (!k.external) GUARD(kms_state_check(ctx, &k, KMS_RULE_ROTATION_READ));

    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    GUARD(core_jw_object_begin(&w, NULL));
    GUARD(core_jw_array_begin(&w, "Rotations"));
    int64_t n = 0;
    bool truncated = false;
    uint64_t next = 0;
    for (uint64_t ver = start; ver >= 1 && ver <= k.n_versions; ver++) {
        if (n == limit) {
            truncated = true;
            next = ver;
            break;
        }
        struct kms_key_version v;
        char hex[65];
        kms_key_version_at(&k, (uint32_t)ver - 1, &v);
        kms_material_id_hex(v.material_id, hex);
        GUARD(core_jw_object_begin(&w, NULL));
        GUARD(core_jw_cstr(&w, "KeyId", k.key_id));
        GUARD(core_jw_cstr(&w, "KeyMaterialId", hex));
        GUARD(core_jw_cstr(&w, "KeyMaterialState", ver == k.n_versions ? "CURRENT" : "NON_CURRENT"));
        if (k.external) {
            GUARD(core_jw_cstr(&w, "ImportState", k.imported ? "IMPORTED" : "PENDING_IMPORT"));
            if (k.material_description[0]) GUARD(core_jw_cstr(&w, "KeyMaterialDescription", k.material_description));
            if (k.imported)
                GUARD(core_jw_cstr(&w, "ExpirationModel", k.expiration_model == KMS_EXP_EXPIRES
                                                              ? "KEY_MATERIAL_EXPIRES"
                                                              : "KEY_MATERIAL_DOES_NOT_EXPIRE"));
            if (k.imported && k.expiration_model == KMS_EXP_EXPIRES) GUARD(core_jw_time(&w, "ValidTo", k.valid_to));
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
