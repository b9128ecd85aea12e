#include <stdio.h>

#include "kms/kms_asym.h"

/*
 * Decrypt: the blob names its key (account, Region, key id) and material
 * version, so KeyId is optional; a KeyId naming another key is
 * IncorrectKeyException. "If you specify a KeyId value, the Decrypt
 * operation succeeds only if the specified KMS key was used to encrypt the
 * ciphertext." https://docs.aws.amazon.com/kms/latest/APIReference/API_Decrypt.html
 */

core_result kms_decrypt(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id, have_blob, dry;
    const json_t *ec;
    DEFER_CLEANUP(struct core_buf blob = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&blob, 256, KMS_MAX_CIPHERTEXT_BYTES + 1));
    GUARD(kms_param_blob(ctx, in, "CiphertextBlob", 1, KMS_MAX_CIPHERTEXT_BYTES, true, &blob, &have_blob));
    GUARD(kms_param_ec(ctx, in, "EncryptionContext", &ec));
    GUARD(kms_param_grant_tokens(ctx, in));
    GUARD(kms_param_key_id(ctx, in, "KeyId", false, &id, &have_id));
    size_t alg;
    bool have_alg;
    GUARD(kms_param_enc_alg(ctx, in, "EncryptionAlgorithm", &alg, &have_alg));
    GUARD(kms_dry_run(ctx, in, &dry));
    GUARD(kms_params_done(ctx));
    const json_t *recipient = json_object_get(in, "Recipient");
    if (recipient && !json_is_null(recipient))
        return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION, "%s",
                        "Recipient attestation documents are not supported by this server.");

    DEFER_CLEANUP(struct core_buf pt = {0}, core_buf_cleanup);
    /* A symmetric blob's plaintext is shorter than the blob (kms_ct_open reserves its length plus
     * 16): the buffer, and the wipe of it, is sized by the blob instead of the largest plaintext. */
    size_t pt_max = KMS_MAX_PLAINTEXT_BYTES;
    if (alg == KMS_ENC_SYMMETRIC_DEFAULT && blob.len < pt_max) pt_max = blob.len;
    GUARD(core_buf_init_secret(&pt, pt_max + 32));
    /* No "= {0}": kms_key_init() clears the 2.5 KiB (all but mrk.replicas) before anything can fail, on
     * every request; nothing may come between the two lines. */
    DEFER_CLEANUP(struct kms_key k, kms_key_free);
    GUARD(kms_key_init(&k));
    uint32_t version = 0;
    if (alg != KMS_ENC_SYMMETRIC_DEFAULT)
        GUARD(kms_asym_open_blob(ctx, core_buf_cursor(&blob), have_id ? &id : NULL, alg, ec, &k, &pt));
    else
        GUARD(kms_open_blob(ctx, core_buf_cursor(&blob), have_id ? &id : NULL, ec, &k, &version, &pt));
    if (dry)
        return kms_dry_run_refuse(ctx);

    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    GUARD(core_jw_object_begin(&w, NULL));
    GUARD(core_jw_cstr(&w, "KeyId", k.arn));
    GUARD(core_jw_base64(&w, "Plaintext", core_buf_cursor(&pt)));
    GUARD(core_jw_cstr(&w, "EncryptionAlgorithm", kms_enc_alg_names[alg]));
    if (alg == KMS_ENC_SYMMETRIC_DEFAULT) GUARD(kms_render_material_id(&w, "KeyMaterialId", &k, version));
    return core_jw_object_end(&w);
}

/* https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html: Decrypt sets
 * kms:EncryptionContext:*, kms:EncryptionContextKeys and kms:EncryptionAlgorithm. */
core_result kms_decrypt_conditions(struct kms_ctx *ctx, struct kms_cond *c)
{
    GUARD(kms_cond_ec(ctx, c, "EncryptionContext"));
    return kms_cond_algorithm(ctx, c, "EncryptionAlgorithm");
}
