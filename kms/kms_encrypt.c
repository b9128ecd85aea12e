#include "kms/kms_asym.h"

/*
 * Encrypt: up to 4096 bytes under the key's newest material, with the
 * encryption context bound as associated data; with an RSA or SM2
 * ENCRYPT_DECRYPT key, RSAES-OAEP or SM2PKE under its public key
 * (kms_asym_crypt.c).
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_Encrypt.html
 */
core_result kms_encrypt(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id, have_pt, have_alg, dry;
    size_t alg;
    const json_t *ec;
    DEFER_CLEANUP(struct core_buf pt = {0}, core_buf_cleanup);
    /* Sized by the member's decoded length (kms_param_blob_cap), not the largest plaintext: the
     * buffer is secret memory wiped when freed, and the wipe then covers what can be written. */
    GUARD(core_buf_init_secret(&pt, kms_param_blob_cap(ctx, in, "Plaintext", KMS_MAX_PLAINTEXT_BYTES)));
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_blob(ctx, in, "Plaintext", 1, KMS_MAX_PLAINTEXT_BYTES, true, &pt, &have_pt));
    GUARD(kms_param_ec(ctx, in, "EncryptionContext", &ec));
    GUARD(kms_param_grant_tokens(ctx, in));
    GUARD(kms_param_enc_alg(ctx, in, "EncryptionAlgorithm", &alg, &have_alg));
    GUARD(kms_dry_run(ctx, in, &dry));
    GUARD(kms_params_done(ctx));

    DEFER_CLEANUP(struct core_buf aad = {0}, core_buf_cleanup);
    GUARD(kms_ec_aad(ctx, ec, &aad));

    /* No "= {0}": kms_key_init() clears the 2.5 KiB (all but mrk.replicas) before anything can fail, on
     * every request; nothing may come between the two lines. */
    DEFER_CLEANUP(struct kms_key k, kms_key_free);
    GUARD(kms_key_init(&k));
    DEFER_CLEANUP(struct core_buf blob = {0}, core_buf_cleanup);
    GUARD(kms_encrypt_to(ctx, id, alg, have_alg, ec, core_buf_cursor(&aad), core_buf_cursor(&pt), dry, &k, &blob));

    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    GUARD(core_jw_object_begin(&w, NULL));
    GUARD(core_jw_base64_public(&w, "CiphertextBlob", core_buf_cursor(&blob)));
    GUARD(core_jw_cstr(&w, "KeyId", k.arn));
    GUARD(core_jw_cstr(&w, "EncryptionAlgorithm", kms_enc_alg_names[alg]));
    return core_jw_object_end(&w);
}

/* https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html: Encrypt sets
 * kms:EncryptionContext:*, kms:EncryptionContextKeys and kms:EncryptionAlgorithm. */
core_result kms_encrypt_conditions(struct kms_ctx *ctx, struct kms_cond *c)
{
    GUARD(kms_cond_ec(ctx, c, "EncryptionContext"));
    return kms_cond_algorithm(ctx, c, "EncryptionAlgorithm");
}
