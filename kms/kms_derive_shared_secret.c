#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>

#include "kms/kms_asym.h"

/*
 * DeriveSharedSecret: ECDH between the private key of a KEY_AGREEMENT key
 * and a peer's public key (DER SubjectPublicKeyInfo on the same curve);
 * "returns the raw shared secret", the x-coordinate of the shared point
 * (SP 800-56A 5.7.1.2, no KDF applied).
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_DeriveSharedSecret.html
 */

static const char *const agreement_algs[] = {"ECDH", NULL};

static void pkey_free(EVP_PKEY **p) { EVP_PKEY_free(*p); }
static void pctx_free(EVP_PKEY_CTX **p) { EVP_PKEY_CTX_free(*p); }

/*
 * OpenSSL's SM2 key type signs and encrypts but has no key exchange, and
 * its EC key type refuses the SM2 group; ECDH on the SM2 curve is plain
 * EC Diffie-Hellman, so it is done here with the group arithmetic: the x
 * coordinate of d * Q, checked on the curve (SP 800-56A 5.7.1.2).
 */
static bool sm2_derive(EVP_PKEY *ours, EVP_PKEY *peer, struct core_buf *out)
{
    char group[32] = "";
    size_t glen = 0;
    if (!EVP_PKEY_is_a(peer, "SM2") && !(EVP_PKEY_get_utf8_string_param(peer, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                                                         sizeof group, &glen) == 1 &&
                                         strcmp(group, "SM2") == 0))
        return false;
    uint8_t pub[133];
    size_t plen = 0;
    BIGNUM *d = NULL;
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_sm2);
    EC_POINT *q = g ? EC_POINT_new(g) : NULL, *r = g ? EC_POINT_new(g) : NULL;
    BIGNUM *x = BN_new();
    BN_CTX *bc = BN_CTX_secure_new();
    bool ok = g && q && r && x && bc &&
              EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub, &plen) == 1 &&
              EVP_PKEY_get_bn_param(ours, OSSL_PKEY_PARAM_PRIV_KEY, &d) == 1 &&
              EC_POINT_oct2point(g, q, pub, plen, bc) == 1 && EC_POINT_is_on_curve(g, q, bc) == 1 &&
              EC_POINT_mul(g, r, NULL, q, d, bc) == 1 && !EC_POINT_is_at_infinity(g, r) &&
              EC_POINT_get_affine_coordinates(g, r, x, NULL, bc) == 1 && core_ok(core_buf_reserve(out, 32)) &&
              BN_bn2binpad(x, out->data, 32) == 32;
    if (ok) out->len = 32;
    BN_clear_free(d);
    BN_clear_free(x);
    EC_POINT_clear_free(r);
    EC_POINT_free(q);
    EC_GROUP_free(g);
    BN_CTX_free(bc);
    ERR_clear_error();
    return ok;
}

/* The shared secret into out (secret); false when the peer key does not fit ours. */
static bool derive(EVP_PKEY *ours, EVP_PKEY *peer, struct core_buf *out)
{
    if (EVP_PKEY_is_a(ours, "SM2")) return sm2_derive(ours, peer, out);
    DEFER_CLEANUP(EVP_PKEY_CTX *p = EVP_PKEY_CTX_new_from_pkey(NULL, ours, NULL), pctx_free);
    size_t n = 0;
    bool ok = p && EVP_PKEY_derive_init(p) == 1 && EVP_PKEY_derive_set_peer(p, peer) == 1 &&
              EVP_PKEY_derive(p, NULL, &n) == 1 && n <= out->max && core_ok(core_buf_reserve(out, n)) &&
              EVP_PKEY_derive(p, out->data, &n) == 1;
    ERR_clear_error();
    if (ok) out->len = n;
    return ok;
}

core_result kms_derive_shared_secret(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id;
    bool have_id, have_alg, have_pub, dry;
    size_t alg = 0;
    DEFER_CLEANUP(struct core_buf peer_der = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&peer_der, 0, KMS_MAX_PEER_PUBLIC_KEY));
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_enum(ctx, in, "KeyAgreementAlgorithm", agreement_algs, true, &alg, &have_alg));
    GUARD(kms_param_blob(ctx, in, "PublicKey", 1, KMS_MAX_PEER_PUBLIC_KEY, true, &peer_der, &have_pub));
    GUARD(kms_param_grant_tokens(ctx, in));
    GUARD(kms_dry_run(ctx, in, &dry));
    GUARD(kms_params_done(ctx));
    const json_t *recipient = json_object_get(in, "Recipient");
    if (recipient && !json_is_null(recipient))
        return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION, "%s",
                        "Recipient attestation documents are not supported by this server.");

    DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
    GUARD(kms_key_init(&k));
    struct keystore_txn *txn = NULL;
    GUARD(kms_key_open(ctx, id, KMS_RULE_CRYPTO, &txn, &k));
    core_result r = kms_asym_usage_check(ctx, &k, KMS_USAGE_KEY_AGREEMENT);
    if (core_ok(r) && dry)
        r = kms_dry_run_refuse(ctx);
    DEFER_CLEANUP(EVP_PKEY *ours = NULL, pkey_free);
    if (core_ok(r)) r = kms_asym_pkey(ctx, txn, &k, &ours);
    keystore_txn_abort(txn);
    GUARD(r);

    const unsigned char *p = peer_der.data;
    DEFER_CLEANUP(EVP_PKEY *peer = d2i_PUBKEY(NULL, &p, (long)peer_der.len), pkey_free);
    ERR_clear_error();
    DEFER_CLEANUP(struct core_buf secret = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&secret, 132));
    /* AWS publishes no wording for a peer key that is not a DER public key on the key's curve. */
    if (peer == NULL || p != peer_der.data + peer_der.len || !derive(ours, peer, &secret))
        return kms_fail(ctx, KMS_E_VALIDATION,
                        "PublicKey must be a DER-encoded X.509 SubjectPublicKeyInfo of a point on the curve of key "
                        "spec %s.",
                        kms_spec_name(k.spec));

    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    GUARD(core_jw_object_begin(&w, NULL));
    GUARD(core_jw_cstr(&w, "KeyId", k.arn));
    GUARD(core_jw_base64(&w, "SharedSecret", core_buf_cursor(&secret)));
    GUARD(core_jw_cstr(&w, "KeyAgreementAlgorithm", agreement_algs[alg]));
    GUARD(core_jw_cstr(&w, "KeyOrigin", "AWS_KMS"));
    return core_jw_object_end(&w);
}

/* https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html:
 * DeriveSharedSecret sets kms:KeyAgreementAlgorithm. */
core_result kms_derive_shared_secret_conditions(struct kms_ctx *ctx, struct kms_cond *c)
{
    return kms_cond_string(ctx, c, "KeyAgreementAlgorithm", "kms:KeyAgreementAlgorithm", NULL);
}
