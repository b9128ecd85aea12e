#include "kms/kms_internal.h"

/* What GenerateDataKey and GenerateDataKeyWithoutPlaintext share. */

static const char *const data_key_specs[] = {"AES_256", "AES_128", NULL};

core_result kms_generate_data_key_common(struct kms_ctx *ctx, const json_t *in, bool with_plaintext)
{
    struct core_cursor id;
    bool have_id, have_n, have_spec, dry;
    int64_t nbytes = 0;
    size_t spec = 0;
    const json_t *ec;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_ec(ctx, in, "EncryptionContext", &ec));
    GUARD(kms_param_int(ctx, in, "NumberOfBytes", 1, 1024, false, &nbytes, &have_n));
    GUARD(kms_param_enum(ctx, in, "KeySpec", data_key_specs, false, &spec, &have_spec));
    GUARD(kms_param_grant_tokens(ctx, in));
    GUARD(kms_dry_run(ctx, in, &dry));
    GUARD(kms_params_done(ctx));
    /* "use either the KeySpec or NumberOfBytes parameters (but not both)" */
    if (have_n == have_spec)
        return kms_fail(ctx, KMS_E_VALIDATION, "%s", "Please specify either number of bytes or key spec.");
    if (with_plaintext) {
        const json_t *recipient = json_object_get(in, "Recipient");
        if (recipient && !json_is_null(recipient))
            return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION, "%s",
                            "Recipient attestation documents are not supported by this server.");
    }
    size_t len = have_n ? (size_t)nbytes : (spec == 0 ? 32u : 16u);

    DEFER_CLEANUP(struct core_buf aad = {0}, core_buf_cleanup);
    GUARD(kms_ec_aad(ctx, ec, &aad));

    /* No "= {0}": kms_key_init() clears the 2.5 KiB (all but mrk.replicas) before anything can fail, on
     * every request; nothing may come between the two lines. */
    DEFER_CLEANUP(struct kms_key k, kms_key_free);
    GUARD(kms_key_init(&k));
    struct keystore_txn *txn = NULL;
    GUARD(kms_key_open(ctx, id, KMS_RULE_CRYPTO, &txn, &k));
    if (dry) {
        keystore_txn_abort(txn);
        return kms_dry_run_refuse(ctx);
    }
    DEFER_CLEANUP(struct core_buf dk = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_buf blob = {0}, core_buf_cleanup);
    /* Sized to the key asked for (at most 1024 bytes): the wipe covers what was written, not 1 KiB. */
    core_result r = core_buf_init_secret(&dk, len);
    if (core_ok(r)) {
        core_random(dk.data, len);
        dk.len = len;
        r = core_buf_init(&blob, 256, KMS_MAX_CIPHERTEXT_BYTES);
    }
    if (core_ok(r)) r = kms_encrypt_with_key(ctx, txn, &k, core_buf_cursor(&aad), core_buf_cursor(&dk), &blob);
    keystore_txn_abort(txn);
    GUARD(r);

    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    GUARD(core_jw_object_begin(&w, NULL));
    GUARD(core_jw_base64_public(&w, "CiphertextBlob", core_buf_cursor(&blob)));
    if (with_plaintext) GUARD(core_jw_base64(&w, "Plaintext", core_buf_cursor(&dk)));
    GUARD(core_jw_cstr(&w, "KeyId", k.arn));
    GUARD(kms_render_material_id(&w, "KeyMaterialId", &k, k.n_versions));
    return core_jw_object_end(&w);
}
