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
    return sts_fail(ctx, 400, "InvalidIdentityToken", "%s", msg);
}

/* The claim "aud" (string or array) that is one of the provider's client ids. */
static const char *matching_audience(const json_t *claims, const json_t *client_ids)
{
    const json_t *aud = json_object_get(claims, "aud");
    size_t i, j;
    const json_t *a, *c;
    if (json_is_string(aud)) {
        json_array_foreach(client_ids, j, c) if (json_is_string(c) && strcmp(json_string_value(c), json_string_value(aud)) == 0) return json_string_value(aud);
        return NULL;
    }
    json_array_foreach(aud, i, a) {
        if (!json_is_string(a)) continue;
        json_array_foreach(client_ids, j, c) if (json_is_string(c) && strcmp(json_string_value(c), json_string_value(a)) == 0) return json_string_value(a);
    }
    return NULL;
}

static bool claim_time(const json_t *claims, const char *name, int64_t *t)
{
    const json_t *v = json_object_get(claims, name);
    if (json_is_integer(v)) {
        *t = (int64_t)json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        *t = (int64_t)json_real_value(v);
        return true;
    }
    return false;
}

core_result sts_assume_role_with_web_identity(struct sts_ctx *ctx)
{
    const struct core_form *f = ctx->call->form;
    const int64_t now = ctx->call->now;
    const struct iam_str_spec ras = {.name = "RoleArn", .required = true, .min = 20, .max = 2048, .cs = IAM_CS_ANY};
    const struct iam_str_spec sns = {.name = "RoleSessionName", .required = true, .min = 2, .max = 64,
                                     .cs = IAM_CS_NAME};
    const struct iam_str_spec wts = {.name = "WebIdentityToken", .required = true, .min = 4, .max = 20000,
                                     .cs = IAM_CS_ANY};
    const struct iam_str_spec pis = {.name = "ProviderId", .min = 4, .max = 2048, .cs = IAM_CS_ANY};
    struct core_cursor role_arn, session_name, token, provider_id;
    int64_t duration = 3600;
    bool have_duration;
    GUARD(iam_param_str(f, ctx->out, &ras, &role_arn, NULL));
    GUARD(iam_param_str(f, ctx->out, &sns, &session_name, NULL));
    GUARD(iam_param_str(f, ctx->out, &wts, &token, NULL));
    GUARD(iam_param_str(f, ctx->out, &pis, &provider_id, NULL));
    GUARD(iam_param_int(f, ctx->out, "DurationSeconds", false, 900, 43200, &duration, &have_duration));
    struct sts_session_params sp;
    GUARD(sts_read_session_params(ctx, &sp, false));

    char account[16];
    struct core_cursor role_name;
    if (!core_ok(iam_parse_role_arn(role_arn, account, &role_name)))
        return sts_fail(ctx, 400, "ValidationError", "%.*s is invalid",
                        (int)(role_arn.len > 256 ? 256 : role_arn.len), (const char *)role_arn.ptr);

    DEFER_CLEANUP(json_t *header = NULL, core_json_cleanup);
    DEFER_CLEANUP(json_t *claims = NULL, core_json_cleanup);
    if (!core_ok(sts_jwt_decode(token, &header, &claims)))
        return invalid_token(ctx, "The ID Token provided is not a valid JWT. (You may see this error if you sent "
                                  "an Access Token)");
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    if (!iss || !sub || !*sub) return invalid_token(ctx, "The ID Token is missing the iss or sub claim.");
    struct core_cursor issuer = core_cursor_str(iss);
    if (core_cursor_starts_with(issuer, "https://")) issuer.ptr += 8, issuer.len -= 8;
    while (issuer.len && issuer.ptr[issuer.len - 1] == '/') issuer.len--;

    DEFER_CLEANUP(struct iam_role role = {0}, iam_role_free);
    DEFER_CLEANUP(struct iam_oidc_provider prov = {0}, iam_oidc_provider_free);
    struct keystore_txn *txn = NULL;
    GUARD(keystore_txn_begin(ctx->env->ks, false, &txn));
    core_result rp = iam_oidc_get(txn, account, issuer, &prov);
    core_result rr = iam_role_get(txn, account, role_name, &role);
    keystore_txn_abort(txn);
    core_result r = core_result_ok();
    if (rp.err == ERR_NOT_FOUND) {
        r = sts_fail(ctx, 400, "InvalidIdentityToken", "No OpenIDConnect provider found in your account for %.256s",
                     iss);
        goto done;
    }
    if (!core_ok(rp)) {
        r = rp;
        goto done;
    }
    if (prov.jwks == NULL) {
        r = sts_fail(ctx, 400, "IDPCommunicationError",
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
    int64_t exp, nbf;
    if (!claim_time(claims, "exp", &exp)) {
        r = invalid_token(ctx, "The ID Token is missing the exp claim.");
        goto done;
    }
    if (now >= exp) {
        char a[32], b[32];
        core_time_iso8601(now, a);
        core_time_iso8601(exp, b);
        r = sts_fail(ctx, 400, "ExpiredTokenException",
                     "Token expired: current date/time %s must be before the expiration date/time %s", a, b);
        goto done;
    }
    if (claim_time(claims, "nbf", &nbf) && now < nbf) {
        r = invalid_token(ctx, "The ID Token is not valid yet (nbf).");
        goto done;
    }
    const char *aud = matching_audience(claims, prov.client_ids);
    if (!aud) {
        r = invalid_token(ctx, "Incorrect token audience");
        goto done;
    }
    if (rr.err == ERR_NOT_FOUND) {
        r = sts_fail(ctx, 403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity");
        goto done;
    }
    if (!core_ok(rr)) {
        r = rr;
        goto done;
    }
    if (have_duration && duration > (int64_t)role.max_session) {
        r = sts_fail(ctx, 400, "ValidationError",
                     "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
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
    if (core_ok(r)) r = policy_ctx_set_action(&pc, core_cursor_str("sts:AssumeRoleWithWebIdentity"));
    policy_ctx_set_resource(&pc, core_cursor_str(role.arn));
    if (core_ok(r)) r = policy_ctx_set_time(&pc, now);
    if (core_ok(r)) r = policy_ctx_add_str(&pc, kaud, aud);
    if (core_ok(r)) r = policy_ctx_add_str(&pc, ksub, sub);
    if (core_ok(r)) r = policy_ctx_add_str(&pc, kamr, aud);
    if (core_ok(r)) r = policy_ctx_add(&pc, core_cursor_str("sts:RoleSessionName"), session_name);
    bool allowed = false;
    if (core_ok(r)) r = sts_trust_allows(ctx, &role, &pc, &allowed);
    if (!core_ok(r)) goto done;
    if (!allowed) {
        r = sts_fail(ctx, 403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity");
        goto done;
    }

    char arn[512], user_id[160];
    snprintf(arn, sizeof arn, "arn:%s:sts::%s:assumed-role/%s/%.*s", core_partition_of(ctx->caller->region),
             role.account, role.name, (int)session_name.len,
             (const char *)session_name.ptr);
    snprintf(user_id, sizeof user_id, "%s:%.*s", role.role_id, (int)session_name.len, (const char *)session_name.ptr);
    struct sts_issue in = {
        .type = CORE_PRINCIPAL_ASSUMED_ROLE,
        .account = role.account,
        .arn = arn,
        .user_id = user_id,
        .role_arn = role.arn,
        .issued = now,
        .expires = now + duration,
        .has_session_policies = sp.have_policy || sp.n_policy_arns > 0,
        .policy = sp.policy,
        .policy_arns = sp.policy_arns,
        .n_policy_arns = sp.n_policy_arns,
    };
    unsigned pct = 0;
    r = sts_check_packed(ctx, &in, &pct);
    if (core_ok(r)) r = sts_issue_credentials(ctx, &in);
    struct core_buf *b = &ctx->out->body;
    if (core_ok(r)) r = core_xml_elem_str(b, "SubjectFromWebIdentityToken", sub);
    if (core_ok(r)) r = core_buf_append_str(b, "<AssumedRoleUser>");
    if (core_ok(r)) r = core_xml_elem_str(b, "AssumedRoleId", user_id);
    if (core_ok(r)) r = core_xml_elem_str(b, "Arn", arn);
    if (core_ok(r)) r = core_buf_append_str(b, "</AssumedRoleUser>");
    if (core_ok(r) && (sp.have_policy || sp.n_policy_arns))
        r = core_buf_printf(b, "<PackedPolicySize>%u</PackedPolicySize>", pct);
    if (core_ok(r)) r = core_xml_elem_str(b, "Provider", prov.arn);
    if (core_ok(r)) r = core_xml_elem_str(b, "Audience", aud);
done: /* prov is released by DEFER_CLEANUP: early GUARD returns are safe */
    return r;
}
