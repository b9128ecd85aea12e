#include "kms/kms_asym.h"
#include "policy/policy.h"

/*
 * ReEncrypt: decrypts under the source key (named by the blob; SourceKeyId
 * optional) and encrypts under DestinationKeyId's newest material - the
 * same key's newest material when the destination is the source, which is
 * how a ciphertext moves to rotated material. Either side may be an RSA or
 * SM2 ENCRYPT_DECRYPT key with its algorithm (kms_asym_crypt.c). Needs kms:ReEncryptFrom on
 * the source and kms:ReEncryptTo on the destination.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_ReEncrypt.html
 */
core_result kms_re_encrypt(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor src_id, dst_id;
    bool have_src, have_dst, have_blob, dry;
    const json_t *src_ec, *dst_ec;
    DEFER_CLEANUP(struct core_buf blob = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&blob, 256, KMS_MAX_CIPHERTEXT_BYTES + 1));
    GUARD(kms_param_blob(ctx, in, "CiphertextBlob", 1, KMS_MAX_CIPHERTEXT_BYTES, true, &blob, &have_blob));
    GUARD(kms_param_ec(ctx, in, "SourceEncryptionContext", &src_ec));
    GUARD(kms_param_key_id(ctx, in, "SourceKeyId", false, &src_id, &have_src));
    GUARD(kms_param_key_id(ctx, in, "DestinationKeyId", true, &dst_id, &have_dst));
    GUARD(kms_param_ec(ctx, in, "DestinationEncryptionContext", &dst_ec));
    size_t src_alg, dst_alg;
    bool have_src_alg, have_dst_alg;
    GUARD(kms_param_enc_alg(ctx, in, "SourceEncryptionAlgorithm", &src_alg, &have_src_alg));
    GUARD(kms_param_enc_alg(ctx, in, "DestinationEncryptionAlgorithm", &dst_alg, &have_dst_alg));
    GUARD(kms_param_grant_tokens(ctx, in));
    GUARD(kms_dry_run(ctx, in, &dry));
    GUARD(kms_params_done(ctx));

    DEFER_CLEANUP(struct core_buf aad = {0}, core_buf_cleanup);
    GUARD(kms_ec_aad(ctx, dst_ec, &aad));

    DEFER_CLEANUP(struct core_buf pt = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&pt, KMS_MAX_PLAINTEXT_BYTES + 32));
    DEFER_CLEANUP(struct kms_key src = {0}, kms_key_free);
    DEFER_CLEANUP(struct kms_key dst = {0}, kms_key_free);
    GUARD(kms_key_init(&src));
    GUARD(kms_key_init(&dst));
    /* kms:ReEncryptOnSameKey needs both keys before either decision: the
     * source from the blob's header, the destination resolved ahead (its
     * errors are reported later, in their usual order). */
    struct kms_ct_header h;
    ctx->same_key = false;
    if (core_ok(kms_ct_parse(core_buf_cursor(&blob), &h))) {
        struct keystore_txn *peek = NULL;
        GUARD(keystore_txn_begin(ctx->env->ks, false, &peek));
        struct kms_key_ref dref;
        ctx->same_key = kms_resolve_peek(ctx, peek, dst_id, &dref) && strcmp(dref.key_id, h.key_id) == 0 &&
                        strcmp(dref.account, h.account) == 0 && strcmp(dref.region, h.region) == 0;
        keystore_txn_abort(peek);
    } else if (src_alg != KMS_ENC_SYMMETRIC_DEFAULT && have_src) {
        /* An asymmetric ciphertext names no key: the source is SourceKeyId. */
        struct keystore_txn *peek = NULL;
        GUARD(keystore_txn_begin(ctx->env->ks, false, &peek));
        struct kms_key_ref sref, dref;
        ctx->same_key = kms_resolve_peek(ctx, peek, src_id, &sref) && kms_resolve_peek(ctx, peek, dst_id, &dref) &&
                        strcmp(dref.key_id, sref.key_id) == 0 && strcmp(dref.account, sref.account) == 0 &&
                        strcmp(dref.region, sref.region) == 0;
        keystore_txn_abort(peek);
    }

    uint32_t src_version = 0;
    ctx->second_key = false; /* kms:ReEncryptFrom on the source */
    if (src_alg != KMS_ENC_SYMMETRIC_DEFAULT)
        GUARD(kms_asym_open_blob(ctx, core_buf_cursor(&blob), have_src ? &src_id : NULL, src_alg, src_ec, &src, &pt));
    else
        GUARD(kms_open_blob(ctx, core_buf_cursor(&blob), have_src ? &src_id : NULL, src_ec, &src, &src_version, &pt));

    ctx->second_key = true; /* kms:ReEncryptTo on the destination */
    DEFER_CLEANUP(struct core_buf out = {0}, core_buf_cleanup);
    GUARD(kms_encrypt_to(ctx, dst_id, dst_alg, have_dst_alg, dst_ec, core_buf_cursor(&aad), core_buf_cursor(&pt), dry,
                         &dst, &out));

    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    GUARD(core_jw_object_begin(&w, NULL));
    GUARD(core_jw_base64_public(&w, "CiphertextBlob", core_buf_cursor(&out)));
    GUARD(core_jw_cstr(&w, "SourceKeyId", src.arn));
    GUARD(core_jw_cstr(&w, "KeyId", dst.arn));
    GUARD(core_jw_cstr(&w, "SourceEncryptionAlgorithm", kms_enc_alg_names[src_alg]));
    GUARD(core_jw_cstr(&w, "DestinationEncryptionAlgorithm", kms_enc_alg_names[dst_alg]));
    if (src_alg == KMS_ENC_SYMMETRIC_DEFAULT)
        GUARD(kms_render_material_id(&w, "SourceKeyMaterialId", &src, src_version));
    if (dst_alg == KMS_ENC_SYMMETRIC_DEFAULT)
        GUARD(kms_render_material_id(&w, "DestinationKeyMaterialId", &dst, dst.n_versions));
    return core_jw_object_end(&w);
}

/*
 * Each half of ReEncrypt sees its own key's request: kms:ReEncryptFrom the
 * source context and algorithm, kms:ReEncryptTo the destination's; both see
 * kms:ReEncryptOnSameKey ("whether the source and destination KMS keys are
 * the same"). kms:RequestAlias is per key (kms_resolve).
 * https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-reencrypt-on-same-key
 */
core_result kms_re_encrypt_conditions(struct kms_ctx *ctx, struct kms_cond *c)
{
    GUARD(policy_ctx_add_bool(c->pc, core_cursor_str("kms:ReEncryptOnSameKey"), ctx->same_key));
    if (ctx->second_key) {
        GUARD(kms_cond_ec(ctx, c, "DestinationEncryptionContext"));
        return kms_cond_algorithm(ctx, c, "DestinationEncryptionAlgorithm");
    }
    GUARD(kms_cond_ec(ctx, c, "SourceEncryptionContext"));
    return kms_cond_algorithm(ctx, c, "SourceEncryptionAlgorithm");
}
