#include <openssl/err.h>
#include <openssl/hmac.h>

#include "kms/kms_asym.h"

/*
 * GenerateMac: HMAC (RFC 2104) of a message under an HMAC key; the
 * MacAlgorithm must be the key spec's ("HMAC_256 keys support
 * HMAC_SHA_256", developer guide, HMAC key specs).
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateMac.html
 */

static const char *const mac_mds[] = {"SHA224", "SHA256", "SHA384", "SHA512"};

core_result kms_hmac(unsigned alg, struct core_cursor key, struct core_cursor msg, uint8_t mac[KMS_MAX_MAC],
                     size_t *mac_len)
{
    ENSURE(alg < 4, ERR_INVALID_ARG);
    unsigned int n = 0;
    const EVP_MD *md = alg == 0 ? EVP_sha224() : alg == 1 ? EVP_sha256() : alg == 2 ? EVP_sha384() : EVP_sha512();
    if (HMAC(md, key.ptr, (int)key.len, msg.ptr, msg.len, mac, &n) == NULL) {
        ERR_clear_error();
        BAIL(ERR_CRYPTO);
    }
    (void)mac_mds;
    *mac_len = n;
    CORE_OK;
}

core_result kms_mac_compute(struct kms_ctx *ctx, struct keystore_txn *txn, const struct kms_key *k, unsigned alg,
                            struct core_cursor msg, uint8_t mac[KMS_MAX_MAC], size_t *mac_len)
{
    GUARD(kms_asym_usage_check(ctx, k, KMS_USAGE_GENERATE_VERIFY_MAC));
    if (alg != (unsigned)(k->spec - KMS_SPEC_HMAC_224)) return kms_asym_alg_mismatch(ctx, kms_mac_alg_names[alg], k);
    DEFER_CLEANUP(struct core_buf key = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&key, KMS_MAX_MAC));
    core_result r = kms_asym_hmac_key(txn, k, &key);
    if (core_ok(r)) r = kms_hmac(alg, core_buf_cursor(&key), msg, mac, mac_len);
    if (!core_ok(r)) return kms_internal(ctx, r, "HMAC");
    CORE_OK;
}

core_result kms_generate_mac(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id, have_msg, have_alg, dry;
    size_t alg = 0;
    DEFER_CLEANUP(struct core_buf msg = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&msg, KMS_MAX_PLAINTEXT_BYTES));
    GUARD(kms_param_blob(ctx, in, "Message", 1, KMS_MAX_PLAINTEXT_BYTES, true, &msg, &have_msg));
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_enum(ctx, in, "MacAlgorithm", kms_mac_alg_names, true, &alg, &have_alg));
    GUARD(kms_param_grant_tokens(ctx, in));
    GUARD(kms_dry_run(ctx, in, &dry));
    GUARD(kms_params_done(ctx));

    DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
    GUARD(kms_key_init(&k));
    struct keystore_txn *txn = NULL;
    GUARD(kms_key_open(ctx, id, KMS_RULE_CRYPTO, &txn, &k));
    uint8_t mac[KMS_MAX_MAC];
    size_t mac_len = 0;
    core_result r = {ERR_OK};
    if (dry) {
        r = kms_asym_usage_check(ctx, &k, KMS_USAGE_GENERATE_VERIFY_MAC);
        if (core_ok(r) && alg != (size_t)(k.spec - KMS_SPEC_HMAC_224))
            r = kms_asym_alg_mismatch(ctx, kms_mac_alg_names[alg], &k);
        if (core_ok(r))
            r = kms_dry_run_refuse(ctx);
    } else {
        r = kms_mac_compute(ctx, txn, &k, (unsigned)alg, core_buf_cursor(&msg), mac, &mac_len);
    }
    keystore_txn_abort(txn);
    GUARD(r);

    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    GUARD(core_jw_object_begin(&w, NULL));
    GUARD(core_jw_base64(&w, "Mac", core_cursor_from(mac, mac_len)));
    GUARD(core_jw_cstr(&w, "MacAlgorithm", kms_mac_alg_names[alg]));
    GUARD(core_jw_cstr(&w, "KeyId", k.arn));
    return core_jw_object_end(&w);
}

/* https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html:
 * GenerateMac and VerifyMac set kms:MacAlgorithm. */
core_result kms_generate_mac_conditions(struct kms_ctx *ctx, struct kms_cond *c)
{
    return kms_cond_string(ctx, c, "MacAlgorithm", "kms:MacAlgorithm", NULL);
}
