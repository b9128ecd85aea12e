/*
 * AssumeRoleWithSAML: an unsigned call whose credential is a SAML 2.0
 * response from an IdP registered in IAM (CreateSAMLProvider). The
 * signature is verified in sts_saml.c with the provider's certificates;
 * here the assertion's claims are checked against the service clock and
 * the request, and become the trust policy's saml:* keys.
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithSAML.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_saml_assertions.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_saml.html (error wording)
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy.h"
#include "query/query.h"
#include "sts/sts_internal.h"

#define ATTR_ROLE "https://aws.amazon.com/SAML/Attributes/Role"
#define ATTR_SESSION_NAME "https://aws.amazon.com/SAML/Attributes/RoleSessionName"
#define ATTR_SESSION_DURATION "https://aws.amazon.com/SAML/Attributes/SessionDuration"
#define ATTR_SOURCE_IDENTITY "https://aws.amazon.com/SAML/Attributes/SourceIdentity"
#define ATTR_PRINCIPAL_TAG "https://aws.amazon.com/SAML/Attributes/PrincipalTag:"
#define ATTR_TRANSITIVE "https://aws.amazon.com/SAML/Attributes/TransitiveTagKeys"
#define NAMEID_PREFIX "urn:oasis:names:tc:SAML:2.0:nameid-format:"
/* Clock skew allowed on NotBefore, as the IdP's and the service's clocks differ. */
#define SAML_SKEW_S 300

static struct core_cursor jstr(const json_t *s)
{
    return json_is_string(s) ? core_cursor_from(json_string_value(s), json_string_length(s)) : (struct core_cursor){0};
}

static bool jtime(const json_t *f, const char *key, int64_t *t)
{
    const json_t *v = json_object_get(f, key);
    if (!json_is_integer(v)) return false;
    *t = (int64_t)json_integer_value(v);
    return true;
}

static core_result invalid(struct sts_ctx *ctx, const char *msg)
{
    return sts_fail(ctx, STS_E_INVALID_IDENTITY_TOKEN, "%s", msg);
}

/* [\w+=,.@-]{2,64}: RoleSessionName and SourceIdentity from the assertion. */
static bool name_ok(struct core_cursor c)
{
    if (c.len < 2 || c.len > 64) return false;
    for (size_t i = 0; i < c.len; i++) {
        uint8_t b = c.ptr[i];
        if (!((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '_' || b == '+' ||
              b == '=' || b == ',' || b == '.' || b == '@' || b == '-'))
            return false;
    }
    return true;
}

/* Tag text: [\p{L}\p{Z}\p{N}_.:/=+\-@], ASCII part checked; lengths in code points. */
static bool tag_text(struct core_cursor c, size_t min, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < c.len; i++) {
        uint8_t b = c.ptr[i];
        n += (b & 0xc0) != 0x80;
        bool ok = b >= 0x80 || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
                  b == ' ' || b == '_' || b == '.' || b == ':' || b == '/' || b == '=' || b == '+' || b == '-' ||
                  b == '@';
        if (!ok) return false;
    }
    return n >= min && n <= max;
}

/* The only value of a single-valued attribute; empty when absent. */
static bool single(const json_t *attrs, const char *name, struct core_cursor *v, bool *present)
{
    const json_t *a = json_object_get(attrs, name);
    *v = (struct core_cursor){0};
    *present = a != NULL;
    if (!a) return true;
    if (json_array_size(a) != 1) return false;
    *v = jstr(json_array_get(a, 0));
    return true;
}

/* Whether a Role attribute value "roleArn,providerArn" (either order) is exactly the pair asked for. */
static bool role_pair(const json_t *attrs, struct core_cursor role_arn, struct core_cursor principal_arn)
{
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(attrs, ATTR_ROLE), i, v) {
        struct core_cursor c = jstr(v), a, b;
        if (!core_cursor_split(&c, ',', &a)) continue;
        b = c;
        a = core_cursor_trim(a);
        b = core_cursor_trim(b);
        if ((core_cursor_eq(a, role_arn) && core_cursor_eq(b, principal_arn)) ||
            (core_cursor_eq(b, role_arn) && core_cursor_eq(a, principal_arn)))
            return true;
    }
    return false;
}

/* Session tags: PrincipalTag:KEY attributes (one value each) and TransitiveTagKeys. Borrowed from attrs. */
static bool saml_tags(const json_t *attrs, struct sts_session_params *sp)
{
    const char *name;
    const json_t *vals;
    const size_t plen = strlen(ATTR_PRINCIPAL_TAG);
    json_object_foreach((json_t *)(uintptr_t)attrs, name, vals) {
        if (!core_cursor_starts_with(core_cursor_str(name), ATTR_PRINCIPAL_TAG)) continue;
        struct core_cursor k = core_cursor_str(name + plen), value = jstr(json_array_get(vals, 0));
        if (json_array_size(vals) != 1 || sp->n_tags == QUERY_MAX_TAGS || !tag_text(k, 1, 128) ||
            !tag_text(value, 0, 256) ||
            (k.len >= 4 && core_cursor_eq_icase(core_cursor_from(k.ptr, 4), core_cursor_str("aws:"))))
            return false;
        for (size_t j = 0; j < sp->n_tags; j++)
            if (core_cursor_eq_icase(sp->tags[j].key, k)) return false;
        sp->tags[sp->n_tags++] = (struct query_tag){k, value};
    }
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(attrs, ATTR_TRANSITIVE), i, v) {
        struct core_cursor k = jstr(v);
        bool found = false;
        for (size_t j = 0; j < sp->n_tags; j++) found |= core_cursor_eq_icase(sp->tags[j].key, k);
        if (!found || sp->n_transitive == QUERY_MAX_TAGS) return false;
        sp->transitive[sp->n_transitive++] = k;
    }
    return true;
}

/*
 * saml:* keys for trust policies: "saml:aud", "saml:iss", "saml:sub",
 * "saml:sub_type", "saml:namequalifier", "saml:doc", and the eduPerson/X.500
 * attributes AWS maps by their OIDs.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-saml
 */
static const struct {
    const char *oid, *key;
} oid_keys[] = {
    {"urn:oid:1.3.6.1.4.1.5923.1.1.1.1", "saml:edupersonaffiliation"},
    {"urn:oid:1.3.6.1.4.1.5923.1.1.1.2", "saml:edupersonnickname"},
    {"urn:oid:1.3.6.1.4.1.5923.1.1.1.3", "saml:edupersonorgdn"},
    {"urn:oid:1.3.6.1.4.1.5923.1.1.1.4", "saml:edupersonorgunitdn"},
    {"urn:oid:1.3.6.1.4.1.5923.1.1.1.5", "saml:edupersonprimaryaffiliation"},
    {"urn:oid:1.3.6.1.4.1.5923.1.1.1.6", "saml:edupersonprincipalname"},
    {"urn:oid:1.3.6.1.4.1.5923.1.1.1.7", "saml:edupersonentitlement"},
    {"urn:oid:1.3.6.1.4.1.5923.1.1.1.8", "saml:edupersonprimaryorgunitdn"},
    {"urn:oid:1.3.6.1.4.1.5923.1.1.1.9", "saml:edupersonscopedaffiliation"},
    {"urn:oid:1.3.6.1.4.1.5923.1.1.1.10", "saml:edupersontargetedid"},
    {"urn:oid:1.3.6.1.4.1.5923.1.1.1.11", "saml:edupersonassurance"},
    {"urn:oid:1.3.6.1.4.1.5923.1.2.1.2", "saml:eduorghomepageuri"},
    {"urn:oid:1.3.6.1.4.1.5923.1.2.1.3", "saml:eduorgidentityauthnpolicyuri"},
    {"urn:oid:1.3.6.1.4.1.5923.1.2.1.4", "saml:eduorglegalname"},
    {"urn:oid:1.3.6.1.4.1.5923.1.2.1.5", "saml:eduorgsuperioruri"},
    {"urn:oid:1.3.6.1.4.1.5923.1.2.1.6", "saml:eduorgwhitepagesuri"},
    {"urn:oid:2.5.4.3", "saml:cn"},
    {"urn:oid:2.5.4.4", "saml:surname"},
    {"urn:oid:2.5.4.42", "saml:givenName"},
    {"urn:oid:0.9.2342.19200300.100.1.1", "saml:uid"},
    {"urn:oid:0.9.2342.19200300.100.1.3", "saml:mail"},
    {"urn:oid:2.16.840.1.113730.3.1.241", "saml:displayName"},
    {"urn:oid:2.5.4.10", "saml:organization"},
    {"urn:oid:2.5.4.11", "saml:organizationalUnit"},
    {"urn:oid:2.5.4.12", "saml:title"},
    {"urn:oid:1.3.6.1.4.1.5923.1.1.1.13", "saml:edupersonuniqueid"},
};

static core_result oid_context(struct policy_ctx *pc, const json_t *attrs)
{
    for (size_t i = 0; i < sizeof oid_keys / sizeof oid_keys[0]; i++) {
        const json_t *vals = json_object_get(attrs, oid_keys[i].oid);
        size_t n = json_array_size(vals);
        if (n == 0) continue;
        struct core_cursor cv[64];
        if (n > 64) n = 64;
        for (size_t j = 0; j < n; j++) cv[j] = jstr(json_array_get(vals, j));
        GUARD(policy_ctx_add_multi(pc, core_cursor_str(oid_keys[i].key), cv, n));
    }
    CORE_OK;
}

/* "https://signin.aws.amazon.com/saml" (or another partition's), or a Regional sign-in endpoint
 * "https://REGION.signin.aws.amazon.com/saml". */
static bool signin_endpoint(struct core_cursor u)
{
    /* The partitions' sign-in endpoints (aws, aws-us-gov, aws-cn). */
    if (core_cursor_eq_str(u, "https://signin.aws.amazon.com/saml") ||
        core_cursor_eq_str(u, "https://signin.amazonaws-us-gov.com/saml") ||
        core_cursor_eq_str(u, "https://signin.amazonaws.cn/saml"))
        return true;
    const char *tail = ".signin.aws.amazon.com/saml";
    size_t tl = strlen(tail);
    if (!core_cursor_starts_with(u, "https://") || u.len <= 8 + tl) return false;
    struct core_cursor region = core_cursor_from(u.ptr + 8, u.len - 8 - tl);
    if (!core_cursor_eq_str(core_cursor_from(u.ptr + u.len - tl, tl), tail) || region.len > 32) return false;
    for (size_t i = 0; i < region.len; i++)
        if (!((region.ptr[i] >= 'a' && region.ptr[i] <= 'z') || (region.ptr[i] >= '0' && region.ptr[i] <= '9') ||
              region.ptr[i] == '-'))
            return false;
    return true;
}

/* NameQualifier: BASE64 ( SHA1 ( Issuer + account id + "/" + provider name ) ) (AssumeRoleWithSAML response). */
static core_result name_qualifier(struct core_cursor issuer, const char *account, const char *name, char out[64])
{
    DEFER_CLEANUP(struct core_buf in = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&in, issuer.len + 160, issuer.len + 160));
    GUARD(core_buf_append(&in, issuer.ptr, issuer.len));
    GUARD(core_buf_printf(&in, "%s/%s", account, name));
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    GUARD_OSSL(EVP_Digest(in.data, in.len, md, &mdlen, EVP_sha1(), NULL), ERR_CRYPTO);
    DEFER_CLEANUP(struct core_buf b = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&b, 40, 60));
    GUARD(core_buf_append_base64(&b, core_cursor_from(md, mdlen)));
    snprintf(out, 64, "%.*s", (int)b.len, (const char *)b.data);
    CORE_OK;
}

core_result sts_assume_role_with_saml(struct sts_ctx *ctx)
{
    const struct core_form *f = ctx->call->form;
    const int64_t now = ctx->call->now;
    const struct query_str_spec ras = {.name = "RoleArn", .required = true, .min = 20, .max = 2048, .cs = QUERY_CS_ANY};
    const struct query_str_spec pas = {.name = "PrincipalArn", .required = true, .min = 20, .max = 2048,
                                     .cs = QUERY_CS_ANY};
    const struct query_str_spec sas = {.name = "SAMLAssertion", .required = true, .min = 4, .max = 100000,
                                     .cs = QUERY_CS_ANY};
    struct core_cursor role_arn, principal_arn, assertion;
    int64_t duration = 3600;
    bool have_duration;
    GUARD(query_param_str(f, ctx->out, &ras, &role_arn, NULL));
    GUARD(query_param_str(f, ctx->out, &pas, &principal_arn, NULL));
    GUARD(query_param_str(f, ctx->out, &sas, &assertion, NULL));
    GUARD(query_param_int(f, ctx->out, "DurationSeconds", false, 900, 43200, &duration, &have_duration));
    struct sts_session_params sp;
    GUARD(sts_read_session_params(ctx, &sp, false));

    char account[16];
    struct core_cursor role_name;
    if (!core_ok(iam_parse_role_arn(role_arn, account, &role_name)))
        return sts_fail(ctx, STS_E_VALIDATION, "%.*s is invalid", (int)(role_arn.len > 256 ? 256 : role_arn.len),
                        (const char *)role_arn.ptr);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "arn:%s:iam::%s:saml-provider/", core_partition_current(), account);
    if (!core_cursor_starts_with(principal_arn, prefix) || principal_arn.len == strlen(prefix))
        return sts_fail(ctx, STS_E_VALIDATION, "%.*s is invalid",
                        (int)(principal_arn.len > 256 ? 256 : principal_arn.len), (const char *)principal_arn.ptr);
    struct core_cursor prov_name =
        core_cursor_from(principal_arn.ptr + strlen(prefix), principal_arn.len - strlen(prefix));

    DEFER_CLEANUP(struct iam_role role = {0}, iam_role_free);
    DEFER_CLEANUP(struct iam_saml_provider prov = {0}, iam_saml_provider_free);
    struct keystore_txn *txn = NULL;
    GUARD(keystore_txn_begin(ctx->env->ks, false, &txn));
    core_result rp = iam_saml_get(txn, account, prov_name, &prov);
    /* Found case-insensitively: only the provider's own ARN names it. */
    if (core_ok(rp) && !core_cursor_eq_str(principal_arn, prov.arn)) rp.err = ERR_NOT_FOUND;
    core_result rr = iam_role_get(txn, account, role_name, &role);
    keystore_txn_abort(txn);
    if (rp.err == ERR_NOT_FOUND) return invalid(ctx, "Specified provider doesn't exist");
    GUARD(rp);

    DEFER_CLEANUP(json_t *fx = NULL, core_json_cleanup);
    enum sts_saml_status st = sts_saml_verify(assertion, prov.certs, &fx);
    if (st == STS_SAML_UNAVAILABLE)
        return query_fail(ctx->out, QUERY_E_INTERNAL_FAILURE, "%s",
                          "SAML support is not available: kmsd could not load its module kmsd-saml.so");
    if (st == STS_SAML_BAD_SIGNATURE) return invalid(ctx, "Response signature invalid");
    if (st != STS_SAML_OK) return invalid(ctx, "Invalid SAML response: the SAMLAssertion is not a SAML 2.0 Response "
                                               "holding one Assertion");
    const struct core_cursor issuer = jstr(json_object_get(fx, "issuer"));
    if (!core_cursor_eq_str(issuer, prov.issuer)) return invalid(ctx, "Issuer not present in specified provider");

    /* Times on the service clock. */
    int64_t t;
    if (jtime(fx, "issue_instant", &t) && now > t + 300)
        return sts_fail(ctx, STS_E_EXPIRED_TOKEN, "%s", "Token must be redeemed within 5 minutes of issuance");
    if ((jtime(fx, "not_before", &t) && now + SAML_SKEW_S < t) ||
        (jtime(fx, "sc_not_before", &t) && now + SAML_SKEW_S < t))
        return invalid(ctx, "Assertion is not yet valid (NotBefore)");
    int64_t exp_c = INT64_MAX, exp_s = 0;
    jtime(fx, "not_on_or_after", &exp_c);
    /* "exactly one SubjectConfirmation element with a SubjectConfirmationData element that includes both
     * the NotOnOrAfter attribute and a Recipient attribute" (Configure SAML assertions). */
    const struct core_cursor recipient = jstr(json_object_get(fx, "recipient"));
    if (json_integer_value(json_object_get(fx, "n_confirmations")) != 1 || !jtime(fx, "sc_not_on_or_after", &exp_s) ||
        recipient.len == 0)
        return invalid(ctx, "The SAML assertion must have exactly one SubjectConfirmation with NotOnOrAfter and "
                            "Recipient");
    int64_t exp = exp_c < exp_s ? exp_c : exp_s;
    if (now >= exp) {
        char a[32], b[32];
        core_time_iso8601(now, a);
        core_time_iso8601(exp, b);
        return sts_fail(ctx, STS_E_EXPIRED_TOKEN,
                        "Token expired: current date/time %s must be before the expiration date/time %s", a, b);
    }
    if (!signin_endpoint(recipient))
        return invalid(ctx, "Recipient of the SAML assertion is not the AWS sign-in endpoint "
                            "https://signin.aws.amazon.com/saml");
    /* Audience: the sign-in endpoint or "urn:amazon:webservices". */
    bool aud_ok = false;
    size_t i;
    const json_t *av;
    json_array_foreach(json_object_get(fx, "audiences"), i, av) aud_ok |=
        signin_endpoint(jstr(av)) || core_cursor_eq_str(jstr(av), "urn:amazon:webservices");
    if (!aud_ok) return invalid(ctx, "SAML Assertion audience does not include https://signin.aws.amazon.com/saml");

    const json_t *attrs = json_object_get(fx, "attrs");
    struct core_cursor session_name, source_identity, sdur;
    bool have_sn, have_si, have_sd;
    if (!single(attrs, ATTR_SESSION_NAME, &session_name, &have_sn) || !have_sn)
        return invalid(ctx, "RoleSessionName is required in AuthnResponse");
    if (!name_ok(session_name))
        return invalid(ctx, "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}");
    if (!single(attrs, ATTR_SOURCE_IDENTITY, &source_identity, &have_si) || (have_si && !name_ok(source_identity)))
        return invalid(ctx, "Source Identity must match [a-zA-Z_0-9+=,.@-]{2,64}");
    /* SessionDuration sets console sessions; it must still be a number of seconds in 900..43200. */
    if (!single(attrs, ATTR_SESSION_DURATION, &sdur, &have_sd)) return invalid(ctx, "Invalid SessionDuration");
    if (have_sd) {
        int64_t sd = 0;
        bool ok = sdur.len > 0 && sdur.len <= 5;
        for (size_t k = 0; ok && k < sdur.len; k++) {
            ok = sdur.ptr[k] >= '0' && sdur.ptr[k] <= '9';
            sd = sd * 10 + (sdur.ptr[k] - '0');
        }
        if (!ok || sd < 900 || sd > 43200) return invalid(ctx, "SessionDuration must be between 900 and 43200 seconds");
    }
    if (!saml_tags(attrs, &sp))
        return invalid(ctx, "The SAML assertion contains invalid PrincipalTag or TransitiveTagKeys attributes");

    if (!role_pair(attrs, role_arn, principal_arn) || rr.err == ERR_NOT_FOUND)
        return sts_fail(ctx, STS_E_ACCESS_DENIED, "%s", "Not authorized to perform sts:AssumeRoleWithSAML");
    GUARD(rr);
    if (have_duration && duration > (int64_t)role.max_session)
        return sts_fail(ctx, STS_E_VALIDATION, "%s",
                        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");

    /* Subject and its type: "If the format includes the prefix urn:oasis:names:tc:SAML:2.0:nameid-format,
     * that prefix is removed" (AssumeRoleWithSAML response, SubjectType). */
    const struct core_cursor subject = jstr(json_object_get(fx, "name_id"));
    struct core_cursor sub_type = jstr(json_object_get(fx, "name_format"));
    if (core_cursor_starts_with(sub_type, NAMEID_PREFIX))
        sub_type = core_cursor_from(sub_type.ptr + strlen(NAMEID_PREFIX), sub_type.len - strlen(NAMEID_PREFIX));
    else if (sub_type.len == 0)
        sub_type = core_cursor_str("unspecified");
    char nq[64], doc[200];
    GUARD(name_qualifier(issuer, account, prov.name, nq));
    snprintf(doc, sizeof doc, "%s/%s", account, prov.name);

    struct policy_ctx pc;
    policy_ctx_init(&pc);
    core_result r = policy_ctx_set_federated(&pc, core_cursor_str(prov.arn));
    if (core_ok(r)) r = policy_ctx_set_action(&pc, core_cursor_str("sts:AssumeRoleWithSAML"));
    policy_ctx_set_resource(&pc, core_cursor_str(role.arn));
    if (core_ok(r)) r = policy_ctx_set_time(&pc, now);
    if (core_ok(r)) r = policy_ctx_add(&pc, core_cursor_str("saml:aud"), recipient);
    if (core_ok(r)) r = policy_ctx_add(&pc, core_cursor_str("saml:iss"), issuer);
    if (core_ok(r) && subject.len) r = policy_ctx_add(&pc, core_cursor_str("saml:sub"), subject);
    if (core_ok(r)) r = policy_ctx_add(&pc, core_cursor_str("saml:sub_type"), sub_type);
    if (core_ok(r)) r = policy_ctx_add_str(&pc, "saml:namequalifier", nq);
    if (core_ok(r)) r = policy_ctx_add_str(&pc, "saml:doc", doc);
    if (core_ok(r)) r = oid_context(&pc, attrs);
    if (core_ok(r)) r = policy_ctx_add(&pc, core_cursor_str("sts:RoleSessionName"), session_name);
    if (core_ok(r) && have_si) r = policy_ctx_add(&pc, core_cursor_str("sts:SourceIdentity"), source_identity);
    if (core_ok(r)) r = sts_request_tags_context(&pc, &sp);
    bool allowed = false;
    if (core_ok(r)) r = sts_trust_allows(ctx, &role, &pc, &allowed);
    GUARD(r);
    if (!allowed) return sts_fail(ctx, STS_E_ACCESS_DENIED, "%s", "Not authorized to perform sts:AssumeRoleWithSAML");
    /* "Your role session lasts for the duration that you specify, or until the time specified in the SAML
     * authentication response's SessionNotOnOrAfter value, whichever is shorter." */
    int64_t expires = now + duration, sess_end;
    if (jtime(fx, "session_not_on_or_after", &sess_end) && sess_end < expires) expires = sess_end;
    struct sts_federated_session s = {.role = &role, .sp = &sp, .session_name = session_name,
                                      .source_identity = have_si ? source_identity : (struct core_cursor){0},
                                      .now = now, .expires = expires};
    GUARD(sts_federated_issue(ctx, &pc, &s));
    struct core_buf *b = &ctx->out->body;
    GUARD(core_xml_elem(b, "Subject", subject));
    GUARD(core_xml_elem(b, "SubjectType", sub_type));
    GUARD(core_xml_elem(b, "Issuer", issuer));
    GUARD(core_xml_elem(b, "Audience", recipient));
    GUARD(core_xml_elem_str(b, "NameQualifier", nq));
    if (have_si) GUARD(core_xml_elem(b, "SourceIdentity", source_identity));
    CORE_OK;
}
