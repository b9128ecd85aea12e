/*
 * GetWebIdentityToken: a JWT signed by kmsd's OIDC issuer (sts_oidc.c) that
 * names the calling identity, for external services that trust the issuer
 * through OIDC discovery. The account must have outbound identity
 * federation enabled in IAM (EnableOutboundWebIdentityFederation).
 * Claims, as "Understanding token claims" lists them: iss, aud, sub (the
 * principal's ARN; a role session's is its role's ARN), iat, exp, jti, and
 * under "https://sts.amazonaws.com/": aws_account, source_region,
 * principal_id, principal_tags, request_tags.
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_GetWebIdentityToken.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_outbound_token_claims.html
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "policy/policy.h"
#include "sts/sts_internal.h"

#define MAX_AUDIENCES 10u
/* Room for the claims once encoded; beyond it JWTPayloadSizeExceededException. */
#define MAX_PAYLOAD_BYTES 8192u

static json_t *jstrn(struct core_cursor c) { return json_stringn((const char *)c.ptr, c.len); }

/* sts:GetWebIdentityToken on "*", with the action's condition keys. */
static core_result authorize(struct sts_ctx *ctx, const struct core_cursor *aud, size_t n_aud, int64_t duration,
                             struct core_cursor alg, const struct sts_session_params *sp, json_t *principal_tags)
{
    if (ctx->env->iam == NULL) CORE_OK;
    struct sts_identity id;
    GUARD(sts_identity_begin(ctx, &id));
    bool allowed = id.id && id.id->full_access;
    struct policy_ctx pc;
    policy_ctx_init(&pc);
    struct policy_verdict v = {.allowed = false, .reason = POLICY_REASON_NO_IDENTITY};
    core_result r = core_result_ok();
    if (!allowed && id.id) {
        r = policy_ctx_set_action(&pc, core_cursor_str("sts:GetWebIdentityToken"));
        policy_ctx_set_resource(&pc, core_cursor_str("*"));
        if (core_ok(r)) r = sts_request_context(ctx, &id, &pc);
        if (core_ok(r)) r = sts_request_tags_context(&pc, sp);
        if (core_ok(r)) r = policy_ctx_add_multi(&pc, core_cursor_str("sts:IdentityTokenAudience"), aud, n_aud);
        if (core_ok(r)) r = policy_ctx_add_int(&pc, core_cursor_str("sts:DurationSeconds"), duration);
        if (core_ok(r)) r = policy_ctx_add(&pc, core_cursor_str("sts:SigningAlgorithm"), alg);
        if (core_ok(r)) r = iam_authorize_identity(id.id, &pc, &v);
        allowed = core_ok(r) && v.allowed;
    }
    /* principal_tags: the user's or role's tags, then the session's (which win). */
    for (size_t i = 0; core_ok(r) && id.id && i < id.id->n_tags; i++) {
        char k[200];
        snprintf(k, sizeof k, "%.*s", (int)id.id->tags[i].key.len, (const char *)id.id->tags[i].key.ptr);
        json_object_set_new(principal_tags, k, jstrn(id.id->tags[i].value));
    }
    for (size_t i = 0; core_ok(r) && id.session && i < id.session->n_tags; i++) {
        char k[200];
        snprintf(k, sizeof k, "%.*s", (int)id.session->tags[i].key.len, (const char *)id.session->tags[i].key.ptr);
        json_object_set_new(principal_tags, k, jstrn(id.session->tags[i].value));
    }
    sts_identity_end(ctx, &id);
    if (r.err == ERR_NOMEM) return r;
    if (allowed) CORE_OK;
    return sts_fail(ctx, STS_E_ACCESS_DENIED,
                    "User: %s is not authorized to perform: sts:GetWebIdentityToken because no identity-based "
                    "policy allows the sts:GetWebIdentityToken action",
                    ctx->caller->arn);
}

core_result sts_get_web_identity_token(struct sts_ctx *ctx)
{
    const struct core_form *f = ctx->call->form;
    const int64_t now = ctx->call->now;
    const struct query_str_spec as = {.name = "Audience", .required = true, .min = 1, .max = 1000, .cs = QUERY_CS_ANY};
    const struct query_str_spec ss = {.name = "SigningAlgorithm", .required = true, .min = 5, .max = 5,
                                    .cs = QUERY_CS_ANY};
    struct core_cursor aud[MAX_AUDIENCES], alg;
    size_t n_aud;
    int64_t duration = 300;
    GUARD(query_param_list(f, ctx->out, &as, "", aud, MAX_AUDIENCES, &n_aud));
    GUARD(query_param_str(f, ctx->out, &ss, &alg, NULL));
    GUARD(query_param_int(f, ctx->out, "DurationSeconds", false, 60, 3600, &duration, NULL));
    struct sts_session_params sp = {0};
    GUARD(query_param_tags(f, ctx->out, "Tags", sp.tags, &sp.n_tags));
    /* "Valid values are RS256 (RSA with SHA-256) and ES384 (ECDSA using P-384 curve with SHA-384)." */
    const char *algz = core_cursor_eq_str(alg, "RS256") ? "RS256" : core_cursor_eq_str(alg, "ES384") ? "ES384" : NULL;
    if (!algz)
        return sts_fail(ctx, STS_E_VALIDATION,
                        "1 validation error detected: Value '%.*s' at 'signingAlgorithm' failed to satisfy "
                        "constraint: Member must satisfy enum value set: [RS256, ES384]",
                        (int)alg.len, (const char *)alg.ptr);
    const struct core_principal *p = ctx->caller;

    DEFER_CLEANUP(json_t *principal_tags = json_object(), core_json_cleanup);
    ENSURE(principal_tags != NULL, ERR_NOMEM);
    GUARD(authorize(ctx, aud, n_aud, duration, alg, &sp, principal_tags));

    bool enabled = false;
    struct keystore_txn *txn = NULL;
    GUARD(keystore_txn_begin(ctx->env->ks, false, &txn));
    core_result r = iam_outbound_enabled(txn, p->account, &enabled);
    keystore_txn_abort(txn);
    GUARD(r);
    if (!enabled)
        return sts_fail(ctx, STS_E_OUTBOUND_FEDERATION_DISABLED, "%s",
                        "The outbound web identity federation feature is not enabled for this account. To use this "
                        "feature, you must first enable it through the AWS Management Console or API.");
    /* "You cannot use this operation to extend the lifetime of a session beyond what was originally
     * granted" (SessionDurationEscalationException). */
    if (p->temporary && now + duration > p->token_expires)
        return sts_fail(ctx, STS_E_SESSION_DURATION_ESCALATION, "%s",
                        "The requested token duration would extend the session beyond its original expiration "
                        "time.");

    /* sub: the principal's ARN; for a role session, the role's ARN ("principal_id ... For a role
     * session, this is the ARN of the role"). */
    char sub[600];
    if (ctx->call->session && ctx->call->session->role_arn.len && p->type == CORE_PRINCIPAL_ASSUMED_ROLE)
        snprintf(sub, sizeof sub, "%.*s", (int)ctx->call->session->role_arn.len,
                 (const char *)ctx->call->session->role_arn.ptr);
    else
        snprintf(sub, sizeof sub, "%s", p->arn);
    uint8_t rnd[16];
    core_random(rnd, sizeof rnd);
    char jti[40];
    for (size_t i = 0; i < sizeof rnd; i++) snprintf(jti + 2 * i, 3, "%02x", rnd[i]);
    json_t *request_tags = json_object();
    for (size_t i = 0; request_tags && i < sp.n_tags; i++) {
        char k[200];
        snprintf(k, sizeof k, "%.*s", (int)sp.tags[i].key.len, (const char *)sp.tags[i].key.ptr);
        json_object_set_new(request_tags, k, jstrn(sp.tags[i].value));
    }
    json_t *ns = json_pack("{s:s,s:s,s:s}", "aws_account", p->account, "source_region",
                           p->region[0] ? p->region : ctx->env->default_region, "principal_id", sub);
    if (ns && json_object_size(principal_tags)) json_object_set(ns, "principal_tags", principal_tags);
    if (ns && request_tags && json_object_size(request_tags)) json_object_set(ns, "request_tags", request_tags);
    json_decref(request_tags);
    json_t *audj = n_aud == 1 ? jstrn(aud[0]) : json_array();
    for (size_t i = 0; n_aud > 1 && audj && i < n_aud; i++) json_array_append_new(audj, jstrn(aud[i]));
    DEFER_CLEANUP(json_t *claims = json_pack("{s:s,s:o,s:s,s:I,s:I,s:s,s:o}", "iss", ctx->env->oidc_issuer, "aud",
                                             audj, "sub", sub, "iat", (json_int_t)now, "exp",
                                             (json_int_t)(now + duration), "jti", jti, "https://sts.amazonaws.com/",
                                             ns),
                  core_json_cleanup);
    ENSURE(claims != NULL, ERR_NOMEM);
    DEFER_CLEANUP(struct core_buf payload = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&payload, 1024, CORE_MAX_RECORD_BYTES));
    GUARD(core_json_dump(claims, &payload));
    if (payload.len > MAX_PAYLOAD_BYTES)
        return sts_fail(ctx, STS_E_JWT_PAYLOAD_SIZE_EXCEEDED, "%s",
                        "The requested token payload size exceeds the maximum allowed size. Reduce the number of "
                        "request tags included in the GetWebIdentityToken API call to reduce the token payload "
                        "size.");

    EVP_PKEY *key = NULL;
    char kid[40];
    GUARD(sts_oidc_signing_key(ctx->env, algz, now, &key, kid));
    DEFER_CLEANUP(struct core_buf jwt = {0}, core_buf_cleanup);
    r = core_buf_init(&jwt, 2048, 3 * MAX_PAYLOAD_BYTES);
    if (core_ok(r)) r = sts_jwt_sign(key, algz, kid, claims, &jwt);
    EVP_PKEY_free(key);
    GUARD(r);
    struct core_buf *b = &ctx->out->body;
    GUARD(core_xml_elem(b, "WebIdentityToken", core_buf_cursor(&jwt)));
    char exp[32];
    core_time_iso8601(now + duration, exp);
    return core_xml_elem_str(b, "Expiration", exp);
}
