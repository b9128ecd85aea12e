/*
 * JSON Web Tokens for AssumeRoleWithWebIdentity: compact serialisation
 * (RFC 7515 section 7.1), RS256 and ES256 (RFC 7518 section 3.1), public
 * keys from a JWKS (RFC 7517). Keys are built with EVP_PKEY_fromdata; an
 * ES256 signature is the raw R || S pair, converted to DER for OpenSSL.
 */
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "sts/sts_internal.h"

#define JWT_MAX_PART 16384u

static core_result split(struct core_cursor token, struct core_cursor parts[3])
{
    struct core_cursor rest = token;
    for (int i = 0; i < 3; i++) ENSURE(core_cursor_split(&rest, '.', &parts[i]), ERR_PARSE);
    ENSURE(rest.len == 0 && parts[0].len && parts[1].len && parts[2].len, ERR_PARSE);
    for (int i = 0; i < 3; i++) ENSURE(parts[i].len <= JWT_MAX_PART, ERR_PARSE);
    /* No extra '.': split leaves it in the third part. */
    for (size_t i = 0; i < parts[2].len; i++) ENSURE(parts[2].ptr[i] != '.', ERR_PARSE);
    CORE_OK;
}

static core_result decode_json(struct core_cursor part, json_t **out)
{
    DEFER_CLEANUP(struct core_buf raw = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&raw, part.len, JWT_MAX_PART));
    GUARD(core_buf_append_unbase64url(&raw, part));
    GUARD(core_json_parse(core_buf_cursor(&raw), 8, out));
    ENSURE(json_is_object(*out), ERR_PARSE);
    CORE_OK;
}

/* True when some string in v (values; jansson refuses NUL in keys) holds a NUL byte. The
 * parser bounds the depth. */
static bool has_nul(const json_t *v)
{
    const char *k;
    const json_t *e;
    size_t i;
    switch (json_typeof(v)) {
    case JSON_STRING: return memchr(json_string_value(v), 0, json_string_length(v)) != NULL;
    case JSON_OBJECT:
        json_object_foreach((json_t *)(uintptr_t)v, k, e) if (has_nul(e)) return true;
        return false;
    case JSON_ARRAY:
        json_array_foreach(v, i, e) if (has_nul(e)) return true;
        return false;
    case JSON_INTEGER:
    case JSON_REAL:
    case JSON_TRUE:
    case JSON_FALSE:
    case JSON_NULL: return false;
    }
    return true;
}

core_result sts_jwt_decode(struct core_cursor token, json_t **header, json_t **claims)
{
    *header = *claims = NULL;
    struct core_cursor parts[3];
    GUARD(split(token, parts));
    GUARD(decode_json(parts[0], header));
    core_result r = decode_json(parts[1], claims);
    /* "If any of the listed extension Header Parameters are not understood and supported by the
     * recipient, then the JWS is invalid." (RFC 7515 section 4.1.11): none is supported here, and an
     * empty list is itself invalid ("Producers MUST NOT use the empty list"). */
    if (core_ok(r) && json_object_get(*header, "crit") != NULL) r = core_result_fail_at(ERR_PARSE, __FILE__, __LINE__);
    /* A NUL inside a string is data to JSON but ends a C string: "alice\u0000-x" is not "alice".
     * Every claim is compared by length below; a NUL anywhere is refused outright as well. */
    if (core_ok(r) && (has_nul(*header) || has_nul(*claims))) r = core_result_fail_at(ERR_PARSE, __FILE__, __LINE__);
    if (!core_ok(r)) {
        json_decref(*header);
        json_decref(*claims);
        *header = *claims = NULL;
    }
    return r;
}

static bool b64url_field(const json_t *jwk, const char *name, struct core_buf *out)
{
    const char *s = json_string_value(json_object_get(jwk, name));
    return s && core_ok(core_buf_append_unbase64url(out, core_cursor_str(s)));
}

static EVP_PKEY *rsa_key(const json_t *jwk)
{
    struct core_buf n = {0}, e = {0};
    EVP_PKEY *pkey = NULL;
    BIGNUM *bn = NULL, *be = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    if (!core_ok(core_buf_init(&n, 512, 1024)) || !core_ok(core_buf_init(&e, 8, 16))) goto done;
    if (!b64url_field(jwk, "n", &n) || !b64url_field(jwk, "e", &e)) goto done;
    if (n.len < 256) goto done; /* at least 2048-bit moduli */
    bn = BN_bin2bn(n.data, (int)n.len, NULL);
    be = BN_bin2bn(e.data, (int)e.len, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (!bn || !be || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
        goto done;
    params = OSSL_PARAM_BLD_to_param(bld);
    pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (!params || !pctx || EVP_PKEY_fromdata_init(pctx) != 1 ||
        EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
done:
    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    core_buf_free(&n);
    core_buf_free(&e);
    return pkey;
}

/* A member's string value as a cursor of its full length; empty (ptr NULL) when absent or not a string. */
static struct core_cursor member(const json_t *obj, const char *name)
{
    const json_t *v = json_object_get(obj, name);
    return json_is_string(v) ? core_cursor_from(json_string_value(v), json_string_length(v)) : (struct core_cursor){0};
}

static EVP_PKEY *ec_key(const json_t *jwk)
{
    if (!core_cursor_eq_str(member(jwk, "crv"), "P-256")) return NULL;
    struct core_buf pub = {0};
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    if (!core_ok(core_buf_init(&pub, 65, 65)) || !core_ok(core_buf_append_u8(&pub, 0x04))) goto done;
    if (!b64url_field(jwk, "x", &pub) || pub.len != 33 || !b64url_field(jwk, "y", &pub) || pub.len != 65) goto done;
    bld = OSSL_PARAM_BLD_new();
    if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub.data, pub.len))
        goto done;
    params = OSSL_PARAM_BLD_to_param(bld);
    pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!params || !pctx || EVP_PKEY_fromdata_init(pctx) != 1 ||
        EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
done:
    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    core_buf_free(&pub);
    return pkey;
}

/* R || S (32 bytes each) to a DER ECDSA-Sig-Value. */
static bool es256_der(struct core_cursor raw, uint8_t *der, size_t *der_len)
{
    if (raw.len != 64) return false;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw.ptr, 32, NULL), *s = BN_bin2bn(raw.ptr + 32, 32, NULL);
    bool ok = sig && r && s && ECDSA_SIG_set0(sig, r, s) == 1;
    if (!ok) {
        BN_free(r);
        BN_free(s);
    }
    int n = ok ? i2d_ECDSA_SIG(sig, NULL) : 0;
    if (ok && n > 0 && (size_t)n <= *der_len) {
        uint8_t *p = der;
        *der_len = (size_t)i2d_ECDSA_SIG(sig, &p);
    } else {
        ok = false;
    }
    ECDSA_SIG_free(sig);
    return ok;
}

static bool verify_with(EVP_PKEY *pkey, struct core_cursor signed_part, struct core_cursor sig)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
              EVP_DigestVerify(md, sig.ptr, sig.len, signed_part.ptr, signed_part.len) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

enum sts_jwt_status sts_jwt_verify_signature(struct core_cursor token, const json_t *header, const json_t *jwks)
{
    struct core_cursor parts[3];
    if (!core_ok(split(token, parts))) return STS_JWT_MALFORMED;
    /* Header values are compared by length (sts_jwt_decode also refused any NUL in them). */
    const struct core_cursor alg = member(header, "alg"), kid = member(header, "kid");
    const bool has_kid = json_is_string(json_object_get(header, "kid"));
    bool rs = core_cursor_eq_str(alg, "RS256"), es = core_cursor_eq_str(alg, "ES256");
    if (!rs && !es) return STS_JWT_MALFORMED; /* "none", HS256 and the rest are refused */
    struct core_cursor signed_part = core_cursor_from(token.ptr, parts[0].len + 1 + parts[1].len);
    struct core_buf sig = {0};
    if (!core_ok(core_buf_init(&sig, 512, 1024)) || !core_ok(core_buf_append_unbase64url(&sig, parts[2]))) {
        core_buf_free(&sig);
        return STS_JWT_MALFORMED;
    }
    uint8_t der[128];
    size_t der_len = sizeof der;
    struct core_cursor sigc = core_buf_cursor(&sig);
    if (es) {
        if (!es256_der(sigc, der, &der_len)) {
            core_buf_free(&sig);
            return STS_JWT_BAD_SIGNATURE;
        }
        sigc = core_cursor_from(der, der_len);
    }
    enum sts_jwt_status st = STS_JWT_NO_KEY;
    size_t i;
    const json_t *jwk;
    json_array_foreach(json_object_get(jwks, "keys"), i, jwk) {
        if (!core_cursor_eq_str(member(jwk, "kty"), rs ? "RSA" : "EC")) continue;
        if (has_kid && (!json_is_string(json_object_get(jwk, "kid")) || !core_cursor_eq(kid, member(jwk, "kid"))))
            continue;
        if (json_object_get(jwk, "alg") && !core_cursor_eq(member(jwk, "alg"), alg)) continue;
        if (json_object_get(jwk, "use") && !core_cursor_eq_str(member(jwk, "use"), "sig")) continue;
        EVP_PKEY *pkey = rs ? rsa_key(jwk) : ec_key(jwk);
        if (!pkey) continue;
        bool ok = verify_with(pkey, signed_part, sigc);
        EVP_PKEY_free(pkey);
        st = STS_JWT_BAD_SIGNATURE;
        if (ok) {
            st = STS_JWT_OK;
            break;
        }
    }
    core_buf_free(&sig);
    return st;
}
