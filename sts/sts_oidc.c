/*
 * kmsd as an OpenID Connect issuer for GetWebIdentityToken: the signing
 * keys (RS256: RSA 2048; ES384: P-384) live sealed in the keystore, table
 * "sts_oidc_key", one record per algorithm holding its last
 * STS_OIDC_KEEP keys, newest last. A key older than STS_OIDC_ROTATE_S on
 * the service clock is replaced at the next token issued; the older ones
 * stay published in the JWKS so tokens they signed still verify.
 * /.well-known/openid-configuration and /.well-known/jwks.json are served
 * without authentication, as AWS serves them for its issuer URLs.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_outbound_token_claims.html
 * https://openid.net/specs/openid-connect-discovery-1_0.html (section 3)
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "sts/sts_internal.h"

#define T_OIDC_KEY "sts_oidc_key"
/* One algorithm's record: STS_OIDC_KEEP keys of at most ~1.7 KB of base64 DER each, and their metadata. */
#define STS_OIDC_RECORD_MAX 32768u

static const char *const algs[] = {"RS256", "ES384"};

static bool alg_known(const char *alg) { return !strcmp(alg, "RS256") || !strcmp(alg, "ES384"); }

core_result sts_b64url(struct core_buf *out, struct core_cursor in)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t i = 0;
    for (; i + 2 < in.len; i += 3) {
        uint32_t v = (uint32_t)in.ptr[i] << 16 | (uint32_t)in.ptr[i + 1] << 8 | in.ptr[i + 2];
        uint8_t q[4] = {(uint8_t)t[v >> 18], (uint8_t)t[(v >> 12) & 63], (uint8_t)t[(v >> 6) & 63], (uint8_t)t[v & 63]};
        GUARD(core_buf_append(out, q, 4));
    }
    if (in.len - i == 1) {
        uint32_t v = (uint32_t)in.ptr[i] << 16;
        uint8_t q[2] = {(uint8_t)t[v >> 18], (uint8_t)t[(v >> 12) & 63]};
        GUARD(core_buf_append(out, q, 2));
    } else if (in.len - i == 2) {
        uint32_t v = (uint32_t)in.ptr[i] << 16 | (uint32_t)in.ptr[i + 1] << 8;
        uint8_t q[3] = {(uint8_t)t[v >> 18], (uint8_t)t[(v >> 12) & 63], (uint8_t)t[(v >> 6) & 63]};
        GUARD(core_buf_append(out, q, 3));
    }
    CORE_OK;
}

/* The algorithm's key record: {"keys":[{"kid","created","der"}...]}; a new empty one when absent. */
static core_result read_keys(struct keystore_txn *txn, const char *alg, json_t **out)
{
    *out = NULL;
    DEFER_CLEANUP(struct core_buf val = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&val, STS_OIDC_RECORD_MAX));
    core_result r = keystore_get(txn, T_OIDC_KEY, core_cursor_str(alg), &val);
    if (r.err == ERR_NOT_FOUND) {
        *out = json_pack("{s:[]}", "keys");
        ENSURE(*out != NULL, ERR_NOMEM);
        CORE_OK;
    }
    GUARD(r);
    GUARD(core_json_parse(core_buf_cursor(&val), 6, out));
    ENSURE(json_is_array(json_object_get(*out, "keys")), ERR_PARSE);
    CORE_OK;
}

static EVP_PKEY *load_key(const json_t *k)
{
    const json_t *d = json_object_get(k, "der");
    if (!json_is_string(d)) return NULL;
    struct core_buf der = {0};
    EVP_PKEY *p = NULL;
    size_t n = json_string_length(d);
    if (core_ok(core_buf_init_secret(&der, n)) &&
        core_ok(core_buf_append_unbase64(&der, core_cursor_from(json_string_value(d), n)))) {
        const unsigned char *q = der.data;
        p = d2i_AutoPrivateKey(NULL, &q, (long)der.len);
    }
    core_buf_free(&der);
    return p;
}

/* Generates a key for alg and appends it to rec's keys, keeping the last STS_OIDC_KEEP. */
static core_result add_key(json_t *rec, const char *alg, int64_t now)
{
    EVP_PKEY *p = !strcmp(alg, "RS256") ? EVP_RSA_gen(2048) : EVP_EC_gen("P-384");
    ENSURE(p != NULL, ERR_CRYPTO);
    unsigned char *der = NULL;
    int n = i2d_PrivateKey(p, &der);
    EVP_PKEY_free(p);
    ENSURE(n > 0, ERR_CRYPTO);
    struct core_buf b64 = {0};
    core_result r = core_buf_init_secret(&b64, (size_t)n * 2 + 8);
    if (core_ok(r)) r = core_buf_append_base64(&b64, core_cursor_from(der, (size_t)n));
    OPENSSL_clear_free(der, (size_t)n);
    uint8_t rnd[16];
    char kid[40];
    core_random(rnd, sizeof rnd);
    for (size_t i = 0; i < sizeof rnd; i++) snprintf(kid + 2 * i, 3, "%02x", rnd[i]);
    json_t *k = core_ok(r) ? json_pack("{s:s,s:I,s:s%}", "kid", kid, "created", (json_int_t)now, "der",
                                       (const char *)b64.data, b64.len)
                           : NULL;
    core_buf_free(&b64);
    GUARD(r);
    ENSURE(k != NULL, ERR_NOMEM);
    json_t *keys = json_object_get(rec, "keys");
    json_array_append_new(keys, k);
    while (json_array_size(keys) > STS_OIDC_KEEP) json_array_remove(keys, 0);
    CORE_OK;
}

static bool needs_rotation(const json_t *rec, int64_t now)
{
    const json_t *keys = json_object_get(rec, "keys");
    size_t n = json_array_size(keys);
    if (n == 0) return true;
    int64_t created = (int64_t)json_integer_value(json_object_get(json_array_get(keys, n - 1), "created"));
    return now - created >= STS_OIDC_ROTATE_S || now < created - 86400; /* or a clock set far back */
}

struct rotate_arg {
    const char *alg;
    int64_t now;
    json_t *rec; /* out: the record after the write */
};

static core_result rotate_txn(struct keystore_txn *txn, void *varg)
{
    struct rotate_arg *a = varg;
    GUARD(read_keys(txn, a->alg, &a->rec));
    /* Another request may have rotated since our read. */
    if (!needs_rotation(a->rec, a->now)) CORE_OK;
    GUARD(add_key(a->rec, a->alg, a->now));
    DEFER_CLEANUP(struct core_buf val = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&val, STS_OIDC_RECORD_MAX));
    GUARD(core_json_dump(a->rec, &val));
    return keystore_put(txn, T_OIDC_KEY, core_cursor_str(a->alg), core_buf_cursor(&val), 0);
}

core_result sts_oidc_signing_key(struct sts_env *env, const char *alg, int64_t now, EVP_PKEY **key, char kid[40])
{
    *key = NULL;
    ENSURE(alg_known(alg), ERR_INVALID_ARG);
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    struct keystore_txn *txn = NULL;
    GUARD(keystore_txn_begin(env->ks, false, &txn));
    core_result r = read_keys(txn, alg, &rec);
    keystore_txn_abort(txn);
    GUARD(r);
    if (needs_rotation(rec, now)) {
        json_decref(rec);
        struct rotate_arg a = {.alg = alg, .now = now};
        r = keystore_write(env->ks, rotate_txn, &a);
        rec = a.rec;
        GUARD(r);
    }
    const json_t *keys = json_object_get(rec, "keys");
    const json_t *k = json_array_get(keys, json_array_size(keys) - 1);
    const char *id = json_string_value(json_object_get(k, "kid"));
    ENSURE(k != NULL && id != NULL && strlen(id) < 40, ERR_PARSE);
    *key = load_key(k);
    ENSURE(*key != NULL, ERR_TAMPERED);
    snprintf(kid, 40, "%s", id);
    CORE_OK;
}

static core_result bn_b64url(json_t *jwk, const char *name, const EVP_PKEY *p, const char *param, int pad)
{
    BIGNUM *bn = NULL;
    ENSURE(EVP_PKEY_get_bn_param(p, param, &bn) == 1, ERR_CRYPTO);
    uint8_t raw[600];
    int n = pad ? BN_bn2binpad(bn, raw, pad) : BN_bn2bin(bn, raw);
    BN_free(bn);
    ENSURE(n > 0 && (size_t)n <= sizeof raw, ERR_CRYPTO);
    DEFER_CLEANUP(struct core_buf b = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&b, 800, 1024));
    GUARD(sts_b64url(&b, core_cursor_from(raw, (size_t)n)));
    ENSURE(json_object_set_new(jwk, name, json_stringn((const char *)b.data, b.len)) == 0, ERR_NOMEM);
    CORE_OK;
}

/* The public JWK of one stored key. */
static core_result jwk_of(const json_t *k, const char *alg, json_t *keys)
{
    EVP_PKEY *p = load_key(k);
    ENSURE(p != NULL, ERR_TAMPERED);
    bool rsa = !strcmp(alg, "RS256");
    json_t *jwk = json_pack("{s:s,s:s,s:s,s:s}", "kty", rsa ? "RSA" : "EC", "kid",
                            json_string_value(json_object_get(k, "kid")), "use", "sig", "alg", alg);
    core_result r = jwk ? core_result_ok() : core_result_fail_at(ERR_NOMEM, __FILE__, __LINE__);
    if (core_ok(r) && rsa) {
        r = bn_b64url(jwk, "n", p, OSSL_PKEY_PARAM_RSA_N, 0);
        if (core_ok(r)) r = bn_b64url(jwk, "e", p, OSSL_PKEY_PARAM_RSA_E, 0);
    } else if (core_ok(r)) {
        json_object_set_new(jwk, "crv", json_string("P-384"));
        r = bn_b64url(jwk, "x", p, OSSL_PKEY_PARAM_EC_PUB_X, 48);
        if (core_ok(r)) r = bn_b64url(jwk, "y", p, OSSL_PKEY_PARAM_EC_PUB_Y, 48);
    }
    EVP_PKEY_free(p);
    if (core_ok(r)) json_array_append(keys, jwk);
    json_decref(jwk);
    return r;
}

static core_result jwks(struct sts_env *env, struct core_buf *out)
{
    DEFER_CLEANUP(json_t *doc = json_pack("{s:[]}", "keys"), core_json_cleanup);
    ENSURE(doc != NULL, ERR_NOMEM);
    json_t *keys = json_object_get(doc, "keys");
    struct keystore_txn *txn = NULL;
    GUARD(keystore_txn_begin(env->ks, false, &txn));
    core_result r = core_result_ok();
    for (size_t a = 0; a < 2 && core_ok(r); a++) {
        json_t *rec = NULL;
        r = read_keys(txn, algs[a], &rec);
        size_t i;
        const json_t *k;
        json_array_foreach(json_object_get(rec, "keys"), i, k) if (core_ok(r)) r = jwk_of(k, algs[a], keys);
        json_decref(rec);
    }
    keystore_txn_abort(txn);
    GUARD(r);
    return core_json_dump(doc, out);
}

static core_result discovery(struct sts_env *env, struct core_buf *out)
{
    char jwks_uri[400];
    snprintf(jwks_uri, sizeof jwks_uri, "%s/.well-known/jwks.json", env->oidc_issuer);
    DEFER_CLEANUP(json_t *doc = json_pack("{s:s,s:s,s:[s],s:[s],s:[s,s],s:[s,s,s,s,s,s]}", "issuer", env->oidc_issuer,
                                          "jwks_uri", jwks_uri, "response_types_supported", "id_token",
                                          "subject_types_supported", "public",
                                          "id_token_signing_alg_values_supported", "RS256", "ES384",
                                          "claims_supported", "iss", "aud", "sub", "iat", "exp", "jti"),
                  core_json_cleanup);
    ENSURE(doc != NULL, ERR_NOMEM);
    return core_json_dump(doc, out);
}

core_result sts_oidc_well_known(struct sts_env *env, struct core_cursor path, struct core_buf *out, bool *found)
{
    /* The issuer may have a path ("https://host/tenant"); its documents sit below it. */
    struct core_cursor ipath = core_cursor_str(env->oidc_issuer);
    const char *slash = NULL;
    if (core_cursor_starts_with(ipath, "https://") || core_cursor_starts_with(ipath, "http://"))
        slash = memchr(ipath.ptr + 8, '/', ipath.len > 8 ? ipath.len - 8 : 0);
    struct core_cursor base = slash ? core_cursor_from(slash, ipath.len - (size_t)((const uint8_t *)slash - ipath.ptr))
                                    : core_cursor_str("");
    *found = false;
    if (path.len < base.len || !core_cursor_eq(core_cursor_from(path.ptr, base.len), base)) CORE_OK;
    struct core_cursor rest = core_cursor_from(path.ptr + base.len, path.len - base.len);
    if (core_cursor_eq_str(rest, "/.well-known/openid-configuration")) {
        *found = true;
        return discovery(env, out);
    }
    if (core_cursor_eq_str(rest, "/.well-known/jwks.json")) {
        *found = true;
        return jwks(env, out);
    }
    CORE_OK;
}

core_result sts_jwt_sign(EVP_PKEY *key, const char *alg, const char *kid, const json_t *claims, struct core_buf *out)
{
    bool rsa = !strcmp(alg, "RS256");
    DEFER_CLEANUP(json_t *hdr = json_pack("{s:s,s:s,s:s}", "alg", alg, "kid", kid, "typ", "JWT"), core_json_cleanup);
    ENSURE(hdr != NULL, ERR_NOMEM);
    DEFER_CLEANUP(struct core_buf tmp = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&tmp, 1024, CORE_MAX_RECORD_BYTES));
    GUARD(core_json_dump(hdr, &tmp));
    GUARD(sts_b64url(out, core_buf_cursor(&tmp)));
    GUARD(core_buf_append_str(out, "."));
    core_buf_reset(&tmp);
    GUARD(core_json_dump(claims, &tmp));
    GUARD(sts_b64url(out, core_buf_cursor(&tmp)));
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ENSURE(md != NULL, ERR_NOMEM);
    uint8_t sig[600];
    size_t siglen = sizeof sig;
    bool ok = EVP_DigestSignInit(md, NULL, rsa ? EVP_sha256() : EVP_sha384(), NULL, key) == 1 &&
              EVP_DigestSign(md, sig, &siglen, out->data, out->len) == 1;
    EVP_MD_CTX_free(md);
    ENSURE(ok, ERR_CRYPTO);
    GUARD(core_buf_append_str(out, "."));
    if (rsa) return sts_b64url(out, core_cursor_from(sig, siglen));
    /* JWS ES384: R || S, 48 bytes each (RFC 7518 section 3.4), from the DER signature. */
    const unsigned char *q = sig;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)siglen);
    ENSURE(es != NULL, ERR_CRYPTO);
    uint8_t rs[96];
    ok = BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, 48) == 48 && BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + 48, 48) == 48;
    ECDSA_SIG_free(es);
    ENSURE(ok, ERR_CRYPTO);
    return sts_b64url(out, core_cursor_from(rs, sizeof rs));
}
