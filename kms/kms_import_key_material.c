#include <stdio.h>

#include "kms/kms_asym.h"
#include "kms/kms_import.h"

/*
 * ImportKeyMaterial: unwraps EncryptedKeyMaterial with the private key
 * sealed in ImportToken and makes it the key's material. "After you
 * successfully import key material into a KMS key, you can reimport the same
 * key material into that KMS key, but you cannot import different key
 * material" (asymmetric and HMAC keys); symmetric encryption keys can also
 * take new key material for on-demand rotation (ImportType NEW_KEY_MATERIAL).
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_ImportKeyMaterial.html
 */

static const char *const models[] = {"KEY_MATERIAL_EXPIRES", "KEY_MATERIAL_DOES_NOT_EXPIRE", NULL};
static const char *const import_types[] = {"NEW_KEY_MATERIAL", "EXISTING_KEY_MATERIAL", NULL};

struct import_arg {
    struct core_cursor token, wrapped, description, material_id;
    bool have_type, have_description, have_material_id;
    size_t import_type;
    uint8_t model;
    int64_t valid_to;
    char id_hex[65];
    char pending_hex[65];
};

static const char *hex_of(const uint8_t id[KMS_MATERIAL_ID_BYTES], char out[65])
{
    kms_material_id_hex(id, out);
    return out;
}

/* The messages are the model's documentation of each error (service-2.json). */
static core_result invalid_token(struct kms_ctx *ctx)
{
    return kms_fail(ctx, KMS_E_INVALID_IMPORT_TOKEN, "%s",
                    "The request was rejected because the provided import token is invalid or is associated with a "
                    "different KMS key.");
}

static core_result incorrect_material(struct kms_ctx *ctx)
{
    return kms_fail(ctx, KMS_E_INCORRECT_KEY_MATERIAL, "%s",
                    "The request was rejected because the key material in the request is, expired, invalid, or does "
                    "not meet expectations. For example, it is not the same key material that was previously "
                    "imported or KMS expected new key material but the key material being imported is already "
                    "associated with the KMS key.");
}

static core_result import_fn(struct kms_mutation *m, struct keystore_txn *txn)
{
    struct kms_ctx *ctx = m->ctx;
    struct import_arg *a = m->arg;
    struct kms_key *k = &m->key;
    GUARD(kms_import_key_check(ctx, k));

    /* The token: sealed by this server, for this key, not expired on the service clock. */
    struct kms_import_token t = {0};
    DEFER_CLEANUP(struct core_buf der = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_secret tkey = {0}, core_secret_cleanup);
    GUARD(core_buf_init_secret(&der, 4096));
    t.der = der;
    der = (struct core_buf){0};
    core_result r = kms_import_token_key(ctx->env, &tkey);
    if (core_ok(r)) r = kms_import_token_open(core_secret_cursor(&tkey), a->token, &t);
    der = t.der; /* owned by der's cleanup again */
    if (r.err == ERR_BAD_CIPHERTEXT) return invalid_token(ctx);
    GUARD(r);
    char rid[128];
    kms_key_record_id(k->account, k->region, k->key_id, rid);
    if (!core_cursor_eq_str(core_cursor_str(t.rid), rid)) return invalid_token(ctx);
    if (ctx->call->now >= t.expires)
        return kms_fail(ctx, KMS_E_EXPIRED_IMPORT_TOKEN, "%s",
                        "The request was rejected because the specified import token is expired. Use "
                        "GetParametersForImport to get a new import token and public key, use the new public key to "
                        "encrypt the key material, and then try the request again.");

    DEFER_CLEANUP(struct core_buf mat = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&mat, 4096));
    r = kms_import_unwrap(&t, a->wrapped, &mat);
    if (r.err == ERR_BAD_CIPHERTEXT)
        return kms_fail(ctx, KMS_E_INVALID_CIPHERTEXT, "%s",
                        "The request was rejected because the specified ciphertext, or additional authenticated "
                        "data incorporated into the ciphertext, such as the encryption context, is corrupted, "
                        "missing, or otherwise invalid.");
    GUARD(r);
    /* What the key spec takes ("Requirements for imported key material", importing-keys-conceptual.html):
     * symmetric keys a 256-bit key, HMAC keys a key of the spec's length range, asymmetric keys the private
     * key as PKCS#8 DER of the spec's type and size. Asymmetric material is stored re-encoded as kmsd stores
     * the keys it generates; its KeyMaterialId is computed over the public key, so the same key in another
     * PKCS#8 encoding is the same material. */
    bool symmetric = k->spec == KMS_SPEC_SYMMETRIC_DEFAULT;
    DEFER_CLEANUP(struct core_secret canon = {0}, core_secret_cleanup);
    DEFER_CLEANUP(struct core_buf spki = {0}, core_buf_cleanup);
    struct core_cursor stored = core_buf_cursor(&mat), idsrc = stored;
    size_t lo = 0, hi = 0;
    if (symmetric) {
        if (mat.len != KMS_MATERIAL_BYTES) return incorrect_material(ctx);
    } else if (kms_hmac_import_range(k->spec, &lo, &hi)) {
        if (mat.len < lo || mat.len > hi) return incorrect_material(ctx);
    } else {
        GUARD(core_buf_init(&spki, 256, KMS_MAX_PUBLIC_DER));
        r = kms_asym_import_check(k->spec, core_buf_cursor(&mat), &canon, &spki);
        if (r.err == ERR_INVALID_ARG) return incorrect_material(ctx);
        if (!core_ok(r)) return kms_internal(ctx, r, "ImportKeyMaterial key check");
        stored = core_secret_cursor(&canon);
        idsrc = core_buf_cursor(&spki);
    }
    uint8_t id[KMS_MATERIAL_ID_BYTES];
    GUARD(kms_import_material_id(k->key_id, idsrc, id));
    kms_material_id_hex(id, a->id_hex);
    int64_t now = ctx->call->now;

    /* This import's record: ExpirationModel and ValidTo as requested; "If you do not specify a key material
     * description, KMS retains the value you specified when you last imported the same key material". */
    struct kms_import_mat rec = {.imported = true, .model = a->model,
                                 .valid_to = a->model == KMS_EXP_EXPIRES ? a->valid_to : 0};
    memcpy(rec.material_id, id, sizeof id);
    if (a->have_description) {
        memcpy(rec.description, a->description.ptr, a->description.len);
        rec.description[a->description.len] = 0;
    }

    /* Which material this is: a version of the key, the pending one, or new. Ids are compared in constant
     * time (they are digests of the material). */
    uint32_t match = 0;
    for (uint32_t i = 0; i < k->n_versions; i++) {
        struct kms_key_version v;
        kms_key_version_at(k, i, &v);
        if (core_ct_equal(v.material_id, id, sizeof id)) match = v.n;
    }
    struct kms_import_mat pend;
    r = kms_import_mat_get(txn, k, KMS_IMPORT_PENDING, &pend);
    if (!core_ok(r) && r.err != ERR_NOT_FOUND) return r;
    bool have_pending = core_ok(r), is_pending = have_pending && core_ct_equal(pend.material_id, id, sizeof id);

    /* A multi-Region replica takes only its primary's material: "You cannot directly import new key material
     * into the replica Region keys ... import the same key material into the replica Region key"
     * (API_ImportKeyMaterial). The key id, so the KeyMaterialId, is the same in every Region. Versions keep the
     * primary's numbers (ciphertexts name them), so a replica takes them in order. */
    if (kms_mrk_is_replica(k)) {
        DEFER_CLEANUP(struct kms_key p = {0}, kms_key_free);
        GUARD(kms_key_init(&p));
        GUARD(kms_key_get(txn, k->account, k->mrk.primary, k->key_id, &p));
        uint32_t in_primary = 0;
        struct kms_key_version pv = {0};
        for (uint32_t i = 0; i < p.n_versions; i++) {
            struct kms_key_version v;
            kms_key_version_at(&p, i, &v);
            if (core_ct_equal(v.material_id, id, sizeof id)) {
                in_primary = v.n;
                pv = v;
            }
        }
        if (!in_primary || (a->have_type && a->import_type == 0 && k->n_versions > 0)) return incorrect_material(ctx);
        if (a->have_material_id && !core_cursor_eq_str(a->material_id, a->id_hex)) return incorrect_material(ctx);
        if (in_primary > k->n_versions + 1) return incorrect_material(ctx);
        if (in_primary == k->n_versions + 1) {
            GUARD(kms_key_add_material(txn, k, pv.created, pv.type, stored, id));
            GUARD(kms_import_mat_put(txn, k, in_primary, &rec));
            return kms_import_summary(txn, k, now);
        }
        match = in_primary; /* a re-import: the EXISTING_KEY_MATERIAL path below */
        a->have_type = true;
        a->import_type = 1;
    }

    /* "If no key material has ever been imported into the KMS key, and this parameter is omitted, the
     * parameter defaults to NEW_KEY_MATERIAL. After the first key material is imported, if this parameter is
     * omitted then the parameter defaults to EXISTING_KEY_MATERIAL." */
    bool fresh = k->n_versions == 0 && !have_pending;
    bool new_material = a->have_type ? a->import_type == 0 : fresh;
    if (new_material) {
        if (match || is_pending) return incorrect_material(ctx);
        if (fresh) {
            GUARD(kms_key_add_material(txn, k, now, KMS_ROT_INITIAL, stored, id));
            GUARD(kms_import_mat_put(txn, k, 1, &rec));
            return kms_import_summary(txn, k, now);
        }
        /* "For asymmetric and HMAC keys, you cannot change the key material after the initial import." */
        if (!symmetric) return incorrect_material(ctx);
        /* New material for on-demand rotation: PENDING_ROTATION until RotateKeyOnDemand
         * (API_RotateKeyOnDemand: "you must have already imported new key material and that key material's
         * state should be PENDING_ROTATION"). One at a time. */
        if (have_pending)
            return kms_fail(ctx, KMS_E_INVALID_STATE,
                            "%s already has key material %s in PENDING_ROTATION state. Rotate the key with "
                            "RotateKeyOnDemand or delete that key material with DeleteImportedKeyMaterial first.",
                            k->arn, hex_of(pend.material_id, a->pending_hex));
        rec.created = now;
        GUARD(kms_import_pending_put(txn, k, stored));
        GUARD(kms_import_mat_put(txn, k, KMS_IMPORT_PENDING, &rec));
        return kms_import_summary(txn, k, now);
    }
    /* EXISTING_KEY_MATERIAL: material the key already has, and the one KeyMaterialId names if given. */
    if (!match && !is_pending) return incorrect_material(ctx);
    if (a->have_material_id && !core_cursor_eq_str(a->material_id, a->id_hex)) return incorrect_material(ctx);
    struct kms_import_mat old;
    if (match)
        GUARD(kms_import_mat_get(txn, k, match, &old));
    else
        old = pend;
    if (!a->have_description) memcpy(rec.description, old.description, sizeof rec.description);
    if (match) {
        GUARD(kms_material_put(txn, k, match, stored));
        GUARD(kms_import_mat_put(txn, k, match, &rec));
    } else {
        rec.created = pend.created;
        GUARD(kms_import_pending_put(txn, k, stored));
        GUARD(kms_import_mat_put(txn, k, KMS_IMPORT_PENDING, &rec));
    }
    return kms_import_summary(txn, k, now);
}

/* A Timestamp member (awsJson: epoch seconds, integer or fractional). */
static core_result param_time(struct kms_ctx *ctx, const json_t *in, const char *member, int64_t *out, bool *present)
{
    *present = false;
    const json_t *v = json_object_get(in, member);
    if (v == NULL || json_is_null(v)) CORE_OK;
    if (!json_is_number(v))
        return kms_fail(ctx, KMS_E_SERIALIZATION, "%s_VALUE can not be converted to a Timestamp",
                        json_is_string(v) ? "STRING" : json_is_boolean(v) ? "BOOLEAN" : "NULL");
    double d = json_number_value(v);
    if (!(d >= 0 && d <= 253402300799.0)) /* also NaN */
        return kms_fail(ctx, KMS_E_SERIALIZATION, "%s", "NUMBER_VALUE can not be converted to a Timestamp");
    *out = (int64_t)d; /* non-negative: truncation is floor */
    *present = true;
    CORE_OK;
}

/* {KeyId, KeyMaterialId}: "Identifies the imported key material." */
static core_result import_reply(struct core_jw *w, const struct kms_mutation *m)
{
    const struct import_arg *a = m->arg;
    return core_jw_cstr(w, "KeyMaterialId", a->id_hex);
}

core_result kms_import_key_material(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id, have_token, have_wrapped, have_model, have_valid_to;
    size_t model = 1;
    struct import_arg a = {0};
    DEFER_CLEANUP(struct core_buf token = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_buf wrapped = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&token, 4096, KMS_IMPORT_TOKEN_MAX + 8));
    GUARD(core_buf_init(&wrapped, 1024, 6144 + 8));
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_blob(ctx, in, "ImportToken", 1, 6144, true, &token, &have_token));
    GUARD(kms_param_blob(ctx, in, "EncryptedKeyMaterial", 1, 6144, true, &wrapped, &have_wrapped));
    GUARD(param_time(ctx, in, "ValidTo", &a.valid_to, &have_valid_to));
    GUARD(kms_param_enum(ctx, in, "ExpirationModel", models, false, &model, &have_model));
    GUARD(kms_param_enum(ctx, in, "ImportType", import_types, false, &a.import_type, &a.have_type));
    GUARD(kms_import_param_description(ctx, in, &a.description, &a.have_description));
    GUARD(kms_import_param_material_id(ctx, in, &a.material_id, &a.have_material_id));
    GUARD(kms_params_done(ctx));

    /* "When the value of ExpirationModel is KEY_MATERIAL_EXPIRES, you must specify a value for the ValidTo
     * parameter. When value is KEY_MATERIAL_DOES_NOT_EXPIRE, you must omit the ValidTo parameter." Without
     * ExpirationModel, ValidTo decides. */
    if (!have_model) model = have_valid_to ? 0 : 1;
    if (model == 0 && !have_valid_to)
        return kms_fail(ctx, KMS_E_VALIDATION, "%s",
                        "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES");
    if (model == 1 && have_valid_to)
        return kms_fail(ctx, KMS_E_VALIDATION, "%s",
                        "A validTo date must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE");
    /* "The value of this parameter must be a timestamp between 15 minutes and 365 days from the time of the
     * request." (ImportKeyMaterial, ValidTo) */
    if (model == 0 && (a.valid_to < ctx->call->now + 15 * 60 || a.valid_to > ctx->call->now + 365 * (int64_t)KMS_DAY))
        return kms_fail(ctx, KMS_E_VALIDATION, "%s",
                        "The ValidTo date must be between 15 minutes and 365 days from the time of the request.");
    /* "You cannot specify a key material ID with ImportType set to NEW_KEY_MATERIAL." */
    if (a.have_material_id && a.have_type && a.import_type == 0)
        return kms_fail(ctx, KMS_E_VALIDATION, "%s",
                        "You cannot specify a key material ID with ImportType set to NEW_KEY_MATERIAL.");
    a.model = model == 0 ? KMS_EXP_EXPIRES : KMS_EXP_DOES_NOT_EXPIRE;
    a.token = core_buf_cursor(&token);
    a.wrapped = core_buf_cursor(&wrapped);

    struct kms_mutation m = {.ctx = ctx, .id = id, .rule = KMS_RULE_ANY, .apply = import_fn, .arg = &a};
    return kms_key_mutate_reply(&m, "ImportKeyMaterial", import_reply);
}

/* kms:ExpirationModel (conditions-kms.html): as requested; absent, the model ValidTo implies. */
core_result kms_import_key_material_conditions(struct kms_ctx *ctx, struct kms_cond *c)
{
    const json_t *vt = json_object_get(ctx->in, "ValidTo");
    bool have_valid_to = vt != NULL && !json_is_null(vt);
    return kms_cond_string(ctx, c, "ExpirationModel", "kms:ExpirationModel",
                           have_valid_to ? "KEY_MATERIAL_EXPIRES" : "KEY_MATERIAL_DOES_NOT_EXPIRE");
}
