/*
 * AssumeRoleWithWebIdentity: an unsigned call whose credential is an OIDC
 * ID token. The token's issuer names an IAM OIDC provider of the role's
 * account; its signature is checked against the provider's JWKS (installed
 * locally), then iss, aud (one of the provider's client ids), exp and nbf
 * against the service clock. sub and aud become the trust policy's
 * "<provider>:sub" / "<provider>:aud" condition keys.
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
 */
#include <stdio.h>

#include "policy/policy.h"
#include "sts/sts_internal.h"

static core_result invalid_token(struct sts_ctx *ctx, const char *msg)
{
    return sts_fail(ctx, STS_E_INVALID_IDENTITY_TOKEN, "%s", msg);
}

/* A JSON string as a cursor of its full length (a NUL inside stays data). */
static struct core_cursor jstr(const json_t *s)
{
    return json_is_string(s) ? core_cursor_from(json_string_value(s), json_string_length(s)) : (struct core_cursor){0};
}

/* Whether one of the provider's client ids equals a, compared by length. */
static bool is_client_id(const json_t *a, const json_t *client_ids)
{
    size_t j;
    const json_t *c;
    if (!json_is_string(a)) return false;
    json_array_foreach(client_ids, j, c) if (json_is_string(c) && core_cursor_eq(jstr(c), jstr(a))) return true;
    return false;
}

/* The claim "aud" (string or array) that is one of the provider's client ids. */
static const json_t *matching_audience(const json_t *claims, const json_t *client_ids)
{
    const json_t *aud = json_object_get(claims, "aud");
    size_t i;
    const json_t *a;
    if (json_is_string(aud)) return is_client_id(aud, client_ids) ? aud : NULL;
    json_array_foreach(aud, i, a) if (is_client_id(a, client_ids)) return a;
    return NULL;
}

/* Characters (UTF-8 code points) of a claim string. */
static size_t chars(struct core_cursor c)
{
    size_t n = 0;
    for (size_t i = 0; i < c.len; i++) n += (c.ptr[i] & 0xc0) != 0x80;
    return n;
}

/* Tag text: [\p{L}\p{Z}\p{N}_.:/=+\-@], the ASCII part checked, other letters accepted as query_param_tags does. */
static bool tag_text(struct core_cursor c, size_t min, size_t max)
{
    size_t n = chars(c);
    if (n < min || n > max) return false;
    for (size_t i = 0; i < c.len; i++) {
        uint8_t b = c.ptr[i];
        bool ok = b >= 0x80 || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
                  b == ' ' || b == '_' || b == '.' || b == ':' || b == '/' || b == '=' || b == '+' || b == '-' ||
                  b == '@';
        if (!ok) return false;
    }
    return true;
}

/*
 * Session tags from the ID token: "Include session tags in the
 * https://aws.amazon.com/tags namespace", as {"principal_tags": {"Key":
 * ["Value"]}, "transitive_tag_keys": ["Key"]}; "You must pass a single value
 * for each session tag. Multivalued session tags are not supported"; at most
 * 50 tags, keys of 1..128 and values of 0..256 characters, keys unique
 * regardless of case, no "aws:" prefix; transitive keys name passed tags.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html
 * Cursors borrow from claims. Returns false when the claim is malformed.
 */
static bool token_tags(const json_t *claims, struct sts_session_params *sp)
{
    json_t *t = json_object_get(claims, "https://aws.amazon.com/tags");
    if (t == NULL) return true;
    json_t *pt = json_object_get(t, "principal_tags"), *tk = json_object_get(t, "transitive_tag_keys");
    if (!json_is_object(t) || (pt && !json_is_object(pt)) || (tk && !json_is_array(tk))) return false;
    const char *key;
    json_t *v;
    json_object_foreach(pt, key, v) {
        const json_t *val = v;
        if (json_is_array(v)) val = json_array_size(v) == 1 ? json_array_get(v, 0) : NULL;
        struct core_cursor k = core_cursor_str(key), value = jstr(val);
        if (!json_is_string(val) || sp->n_tags == QUERY_MAX_TAGS || !tag_text(k, 1, 128) || !tag_text(value, 0, 256) ||
            (k.len >= 4 && core_cursor_eq_icase(core_cursor_from(k.ptr, 4), core_cursor_str("aws:"))))
            return false;
        for (size_t j = 0; j < sp->n_tags; j++)
            if (core_cursor_eq_icase(sp->tags[j].key, k)) return false;
        sp->tags[sp->n_tags++] = (struct query_tag){k, value};
    }
    size_t i;
    json_array_foreach(tk, i, v) {
        struct core_cursor k = jstr(v);
        bool found = false;
        for (size_t j = 0; j < sp->n_tags; j++) found |= core_cursor_eq_icase(sp->tags[j].key, k);
        if (!json_is_string(v) || !found || sp->n_transitive == QUERY_MAX_TAGS) return false;
        sp->transitive[sp->n_transitive++] = k;
    }
    return true;
}

enum claim_time { CLAIM_ABSENT, CLAIM_OK, CLAIM_INVALID };

/* "NumericDate: A JSON numeric value representing the number of seconds from 1970-01-01T00:00:00Z UTC"
 * (RFC 7519 section 2): a string, boolean or anything else in exp/nbf makes the token invalid. */
static enum claim_time claim_time(const json_t *claims, const char *name, int64_t *t)
{
    const json_t *v = json_object_get(claims, name);
    if (v == NULL) return CLAIM_ABSENT;
    if (json_is_integer(v)) {
        *t = (int64_t)json_integer_value(v);
        return CLAIM_OK;
    }
    if (json_is_real(v) && json_real_value(v) > -9.2e18 && json_real_value(v) < 9.2e18) {
        *t = (int64_t)json_real_value(v);
        return CLAIM_OK;
    }
    return CLAIM_INVALID;
}

core_result sts_assume_role_with_web_identity(struct sts_ctx *ctx)
{
    const struct core_form *f = ctx->call->form;
    const int64_t now = ctx->call->now;
    const struct query_str_spec ras = {.name = "RoleArn", .required = true, .min = 20, .max = 2048, .cs = QUERY_CS_ANY};
    const struct query_str_spec sns = {.name = "RoleSessionName", .required = true, .min = 2, .max = 64,
                                     .cs = QUERY_CS_NAME};
    const struct query_str_spec wts = {.name = "WebIdentityToken", .required = true, .min = 4, .max = 20000,
                                     .cs = QUERY_CS_ANY};
    const struct query_str_spec pis = {.name = "ProviderId", .min = 4, .max = 2048, .cs = QUERY_CS_ANY};
    struct core_cursor role_arn, session_name, token, provider_id;
    int64_t duration = 3600;
    bool have_duration;
    GUARD(query_param_str(f, ctx->out, &ras, &role_arn, NULL));
    GUARD(query_param_str(f, ctx->out, &sns, &session_name, NULL));
    GUARD(query_param_str(f, ctx->out, &wts, &token, NULL));
    GUARD(query_param_str(f, ctx->out, &pis, &provider_id, NULL));
    GUARD(query_param_int(f, ctx->out, "DurationSeconds", false, 900, 43200, &duration, &have_duration));
    struct sts_session_params sp;
    GUARD(sts_read_session_params(ctx, &sp, false));

    char account[16];
    struct core_cursor role_name;
    if (!core_ok(iam_parse_role_arn(role_arn, account, &role_name)))
        return sts_fail(ctx, STS_E_VALIDATION, "%.*s is invalid",
                        (int)(role_arn.len > 256 ? 256 : role_arn.len), (const char *)role_arn.ptr);

    DEFER_CLEANUP(json_t *header = NULL, core_json_cleanup);
    DEFER_CLEANUP(json_t *claims = NULL, core_json_cleanup);
    if (!core_ok(sts_jwt_decode(token, &header, &claims)))
        return invalid_token(ctx, "The ID Token provided is not a valid JWT. (You may see this error if you sent "
                                  "an Access Token)");
    /* sts_jwt_decode refused any NUL, and every claim is still used with its full length. */
    const struct core_cursor iss = jstr(json_object_get(claims, "iss"));
    const struct core_cursor sub = jstr(json_object_get(claims, "sub"));
    if (!iss.len || !sub.len) return invalid_token(ctx, "The ID Token is missing the iss or sub claim.");
    /* The provider's URL "must begin with https:// and should correspond to the iss claim" (IAM API,
     * CreateOpenIDConnectProvider): iss is https:// and the provider's URL exactly, byte for byte; no
     * case folding, no trailing-slash trimming (the stored URL is looked up case-insensitively, so the
     * exact comparison follows the lookup). */
    struct core_cursor issuer = {0};
    if (core_cursor_starts_with(iss, "https://") && iss.len > 8) issuer = core_cursor_from(iss.ptr + 8, iss.len - 8);
    const int iss_n = (int)(iss.len > 256 ? 256 : iss.len);

    DEFER_CLEANUP(struct iam_role role = {0}, iam_role_free);
    DEFER_CLEANUP(struct iam_oidc_provider prov = {0}, iam_oidc_provider_free);
    struct keystore_txn *txn = NULL;
    GUARD(keystore_txn_begin(ctx->env->ks, false, &txn));
    core_result rp = issuer.len ? iam_oidc_get(txn, account, issuer, &prov) : core_result_fail_at(ERR_NOT_FOUND, __FILE__, __LINE__);
    if (core_ok(rp) && !core_cursor_eq_str(issuer, prov.url)) rp = core_result_fail_at(ERR_NOT_FOUND, __FILE__, __LINE__);
    core_result rr = iam_role_get(txn, account, role_name, &role);
    keystore_txn_abort(txn);
    core_result r = core_result_ok();
    if (rp.err == ERR_NOT_FOUND) {
        r = sts_fail(ctx, STS_E_INVALID_IDENTITY_TOKEN, "No OpenIDConnect provider found in your account for %.*s",
                     iss_n, (const char *)iss.ptr);
        goto done;
    }
    if (!core_ok(rp)) {
        r = rp;
        goto done;
    }
    if (prov.jwks == NULL) {
        r = sts_fail(ctx, STS_E_IDP_COMMUNICATION,
                     "Couldn't retrieve verification key from your identity provider, please reference "
                     "AssumeRoleWithWebIdentity documentation for requirements");
        goto done;
    }
    enum sts_jwt_status st = sts_jwt_verify_signature(token, header, prov.jwks);
    if (st != STS_JWT_OK) {
        r = invalid_token(ctx, st == STS_JWT_MALFORMED ? "The ID Token uses an unsupported signing algorithm."
                                                       : "Couldn't verify the signature of the ID Token.");
        goto done;
    }
    int64_t exp = 0, nbf = 0;
    enum claim_time te = claim_time(claims, "exp", &exp), tn = claim_time(claims, "nbf", &nbf);
    if (te == CLAIM_INVALID || tn == CLAIM_INVALID) {
        r = invalid_token(ctx, "The ID Token provided is not a valid JWT. (You may see this error if you sent "
                               "an Access Token)");
        goto done;
    }
    if (te == CLAIM_ABSENT) {
        r = invalid_token(ctx, "The ID Token is missing the exp claim.");
        goto done;
    }
    if (now >= exp) {
        char a[32], b[32];
        core_time_iso8601(now, a);
        core_time_iso8601(exp, b);
        r = sts_fail(ctx, STS_E_EXPIRED_TOKEN,
                     "Token expired: current date/time %s must be before the expiration date/time %s", a, b);
        goto done;
    }
    if (tn == CLAIM_OK && now < nbf) {
        r = invalid_token(ctx, "The ID Token is not valid yet (nbf).");
        goto done;
    }
    const json_t *audj = matching_audience(claims, prov.client_ids);
    const struct core_cursor aud = jstr(audj);
    if (!audj) {
        r = invalid_token(ctx, "Incorrect token audience");
        goto done;
    }
    if (rr.err == ERR_NOT_FOUND) {
        r = sts_fail(ctx, STS_E_ACCESS_DENIED, "Not authorized to perform sts:AssumeRoleWithWebIdentity");
        goto done;
    }
    if (!core_ok(rr)) {
        r = rr;
        goto done;
    }
    if (have_duration && duration > (int64_t)role.max_session) {
        r = sts_fail(ctx, STS_E_VALIDATION,
                     "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
        goto done;
    }

    if (!token_tags(claims, &sp)) {
        r = invalid_token(ctx, "The ID Token contains invalid session tags in the https://aws.amazon.com/tags "
                               "claim.");
        goto done;
    }

    /* Trust policy: Principal {"Federated": provider ARN}, conditions on HOST:aud / HOST:sub. */
    struct policy_ctx pc;
    policy_ctx_init(&pc);
    char kaud[300], ksub[300], kamr[300];
    snprintf(kaud, sizeof kaud, "%s:aud", prov.url);
    snprintf(ksub, sizeof ksub, "%s:sub", prov.url);
    snprintf(kamr, sizeof kamr, "%s:oaud", prov.url);
    r = policy_ctx_set_federated(&pc, core_cursor_str(prov.arn));
    if (core_ok(r)) r = policy_ctx_set_action(&pc, core_cursor_str(ctx->action->row.iam_action));
    policy_ctx_set_resource(&pc, core_cursor_str(role.arn));
    if (core_ok(r)) r = policy_ctx_set_time(&pc, now);
    if (core_ok(r)) r = policy_ctx_add(&pc, core_cursor_str(kaud), aud);
    if (core_ok(r)) r = policy_ctx_add(&pc, core_cursor_str(ksub), sub);
    if (core_ok(r)) r = policy_ctx_add(&pc, core_cursor_str(kamr), aud);
    if (core_ok(r)) r = policy_ctx_add(&pc, core_cursor_str("sts:RoleSessionName"), session_name);
    if (core_ok(r)) r = sts_request_tags_context(&pc, &sp);
    bool allowed = false;
    if (core_ok(r)) r = sts_trust_allows(ctx, &role, &pc, &allowed);
    if (!core_ok(r)) goto done;
    if (!allowed) {
        r = sts_fail(ctx, STS_E_ACCESS_DENIED, "Not authorized to perform sts:AssumeRoleWithWebIdentity");
        goto done;
    }
    struct sts_federated_session s = {.role = &role, .sp = &sp, .session_name = session_name, .now = now,
                                      .expires = now + duration, .between_name = "SubjectFromWebIdentityToken",
                                      .between_value = sub};
    r = sts_federated_issue(ctx, &pc, &s);
    struct core_buf *b = &ctx->out->body;
    if (core_ok(r)) r = core_xml_elem_str(b, "Provider", prov.arn);
    if (core_ok(r)) r = core_xml_elem(b, "Audience", aud);
done: /* prov is released by DEFER_CLEANUP: early GUARD returns are safe */
    return r;
}
