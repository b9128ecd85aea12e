#include <stdio.h>

#include "kms/kms_asym.h"
#include "kms/kms_grant.h"

#define PRINCIPAL_RE "^[\\w+=,.@:/-]+$"

/*
 * CreateGrant: lets GranteePrincipal call Operations on the key, under
 * Constraints, until the grant is retired or revoked. "When you create a
 * grant with a Name ... identical to an existing grant, CreateGrant returns
 * the existing grant's ID" (idempotency); the GrantToken works at once.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html
 */

struct grant_arg {
    json_t *grant;      /* the new grant (without id) */
    char grant_id[KMS_GRANT_ID_LEN + 1];
    char rid[256];
    size_t count;
    bool existing;
};

static bool same_grant(const json_t *a, const json_t *b)
{
    static const char *const fields[] = {"grantee", "retiring", "ops", "ceq", "csub", NULL};
    for (size_t i = 0; fields[i]; i++) {
        const json_t *x = json_object_get(a, fields[i]), *y = json_object_get(b, fields[i]);
        if ((x == NULL) != (y == NULL) || (x && !json_equal(x, y))) return false;
    }
    return true;
}

static core_result count_visit(void *argp, struct core_cursor id, const json_t *g, bool *stop)
{
    struct grant_arg *a = argp;
    a->count++;
    struct core_cursor name = kms_jc(a->grant, "name");
    if (name.len && core_cursor_eq(name, kms_jc(g, "name")) && same_grant(a->grant, g)) {
        snprintf(a->grant_id, sizeof a->grant_id, "%s", kms_js(g, "grant_id"));
        snprintf(a->rid, sizeof a->rid, "%.*s", (int)id.len, (const char *)id.ptr);
        a->existing = true;
        *stop = true;
    }
    CORE_OK;
}

/*
 * Operations must fit the key: Sign or GenerateMac on a symmetric encryption
 * key is refused (issue 18.9: AWS answers ValidationException; AWS publishes
 * no wording for it, so the message names the operation and the key's spec
 * and usage). Which operations fit which key is kms_asym_grant_op_fits()
 * (issue 11). Encryption-context constraints are refused on asymmetric and
 * HMAC keys: "You cannot use an encryption context grant constraint in a
 * grant for an asymmetric KMS key or an HMAC KMS key" (developer guide,
 * grants, "Grant constraints").
 */
static core_result ops_fit_key(struct kms_ctx *ctx, const json_t *ops, const struct kms_key *key, bool constrained)
{
    size_t i;
    const json_t *op;
    json_array_foreach(ops, i, op) {
        struct core_cursor o = kms_jcur(op);
        if (!kms_asym_grant_op_fits(o, key->spec, key->usage))
            return kms_fail(ctx, KMS_E_VALIDATION,
                            "Grant operation %.*s is not valid for a KMS key with KeySpec %s and KeyUsage %s.",
                            (int)o.len, (const char *)o.ptr, kms_spec_name(key->spec), kms_usage_name(key->usage));
    }
    if (constrained && key->spec != KMS_SPEC_SYMMETRIC_DEFAULT)
        return kms_fail(ctx, KMS_E_VALIDATION,
                        "Grant constraints are not supported for a KMS key with KeySpec %s: encryption context "
                        "constraints apply only to symmetric encryption KMS keys.",
                        kms_spec_name(key->spec));
    CORE_OK;
}

static core_result create(struct kms_mutation *m, struct keystore_txn *txn)
{
    struct grant_arg *a = m->arg;
    struct kms_ctx *ctx = m->ctx;
    GUARD(ops_fit_key(ctx, json_object_get(a->grant, "ops"), &m->key,
                      json_object_get(a->grant, "ceq") || json_object_get(a->grant, "csub")));
    char prefix[128];
    kms_grant_prefix(&m->key, prefix);
    GUARD(kms_grants_each(txn, prefix, (struct core_cursor){0}, count_visit, a));
    if (a->existing) CORE_OK;
    if (a->count >= KMS_MAX_GRANTS_PER_KEY)
        return kms_fail(ctx, KMS_E_LIMIT_EXCEEDED, "The request was rejected because the key %s has %u grants.",
                        m->key.arn, KMS_MAX_GRANTS_PER_KEY);
    uint8_t r[32];
    core_random(r, sizeof r);
    for (size_t i = 0; i < sizeof r; i++) snprintf(a->grant_id + 2 * i, 3, "%02x", r[i]);
    snprintf(a->rid, sizeof a->rid, "%s%s", prefix, a->grant_id);
    char issuing[64];
    snprintf(issuing, sizeof issuing, "arn:%s:iam::%s:root", core_partition_of(m->key.region), m->key.account);
    json_object_set_new(a->grant, "grant_id", json_string(a->grant_id));
    json_object_set_new(a->grant, "key_arn", json_string(m->key.arn));
    json_object_set_new(a->grant, "issuing", json_string(issuing));
    json_object_set_new(a->grant, "created", json_integer(ctx->call->now));
    return kms_grant_put(txn, a->rid, a->grant, KEYSTORE_NO_OVERWRITE);
}

static bool valid_name(struct core_cursor n)
{
    for (size_t i = 0; i < n.len; i++) {
        uint8_t c = n.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' || c == '/' ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

static core_result ec_copy(struct kms_ctx *ctx, const json_t *m, const char *what, json_t **out)
{
    *out = NULL;
    if (m == NULL || json_is_null(m)) CORE_OK;
    if (!json_is_object(m)) return kms_fail(ctx, KMS_E_VALIDATION, "%s must be a map", what);
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)(uintptr_t)m, k, v) {
        if (!json_is_string(v)) return kms_fail(ctx, KMS_E_VALIDATION, "%s values must be strings", what);
        /* A NUL is refused, not cut at (issue 10.2): the same rule as a request's context (kms_param_ec). */
        struct core_cursor vc = kms_jcur(v);
        if (memchr(vc.ptr, 0, vc.len) != NULL) return kms_ec_nul_error(ctx, what);
    }
    *out = json_deep_copy(m);
    ENSURE(*out != NULL, ERR_NOMEM);
    CORE_OK;
}

core_result kms_create_grant(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id, grantee, retiring, name;
    bool have_id, have_grantee, have_retiring, have_name, dry;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_string(ctx, in, "GranteePrincipal", 1, 256, true, &grantee, &have_grantee));
    GUARD(kms_param_string(ctx, in, "RetiringPrincipal", 1, 256, false, &retiring, &have_retiring));
    GUARD(kms_param_string(ctx, in, "Name", 1, 256, false, &name, &have_name));
    GUARD(kms_param_grant_tokens(ctx, in));
    const json_t *ops = json_object_get(in, "Operations");
    if (ops == NULL || json_is_null(ops)) kms_invalid(ctx, "Operations", NULL, "Member must not be null");
    else if (!json_is_array(ops)) kms_invalid(ctx, "Operations", NULL, "Member must be a list");
    GUARD(kms_dry_run(ctx, in, &dry));
    if (have_grantee && !kms_principal_id_pattern_ok(grantee)) {
        kms_invalid_cursor(ctx, "GranteePrincipal", grantee, "Member must satisfy regular expression pattern: " PRINCIPAL_RE);
        have_grantee = false;
    }
    if (have_retiring && !kms_principal_id_pattern_ok(retiring))
        kms_invalid_cursor(ctx, "RetiringPrincipal", retiring, "Member must satisfy regular expression pattern: " PRINCIPAL_RE);
    GUARD(kms_params_done(ctx));
    /*
     * "To specify the grantee principal, use the Amazon Resource Name (ARN)
     * of an Amazon Web Services principal. Valid principals include Amazon
     * Web Services accounts, IAM users, IAM roles, federated users, and
     * assumed role users." (CreateGrant API page.) AWS answers a value that
     * passes the pattern but names no principal with ValidationException
     * (issue 18.9); its wording is not published, so ours names the member.
     */
    if (!kms_principal_arn_account(grantee, NULL))
        return kms_fail(ctx, KMS_E_VALIDATION, "GranteePrincipal '%.*s' is not a valid principal ARN.",
                        (int)grantee.len, (const char *)grantee.ptr);
    if (have_retiring && !kms_principal_arn_account(retiring, NULL))
        return kms_fail(ctx, KMS_E_VALIDATION, "RetiringPrincipal '%.*s' is not a valid principal ARN.",
                        (int)retiring.len, (const char *)retiring.ptr);
    if (have_name && !valid_name(name))
        return kms_fail(ctx, KMS_E_VALIDATION, "%s",
                        "1 validation error detected: Value at 'name' failed to satisfy constraint: Member must "
                        "satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$");
    if (json_array_size(ops) == 0)
        return kms_fail(ctx, KMS_E_VALIDATION, "%s", "The grant must allow at least one operation.");
    size_t i;
    const json_t *op;
    bool all_constrainable = true;
    json_array_foreach(ops, i, op) {
        struct core_cursor o = kms_jcur(op); /* by length: "Decrypt\u0000x" is no operation */
        if (!kms_grant_op_valid(o))
            return kms_fail(ctx, KMS_E_VALIDATION, "%s",
                            "1 validation error detected: Value at 'operations' failed to satisfy constraint: "
                            "Member must satisfy enum value set");
        all_constrainable &= kms_grant_op_constrainable(o);
    }
    /* AWS: ValidationException "Grants must not contain only the CreateGrant
     * operation." (a boto3 ClientError from AWS quoted in ansible/ansible#31960) */
    bool only_create_grant = true;
    json_array_foreach(ops, i, op) only_create_grant &= core_cursor_eq_str(kms_jcur(op), "CreateGrant");
    if (only_create_grant)
        return kms_fail(ctx, KMS_E_VALIDATION, "%s", "Grants must not contain only the CreateGrant operation.");
    const json_t *c = json_object_get(in, "Constraints");
    DEFER_CLEANUP(json_t *ceq = NULL, core_json_cleanup);
    DEFER_CLEANUP(json_t *csub = NULL, core_json_cleanup);
    if (c && !json_is_null(c)) {
        if (!json_is_object(c)) return kms_fail(ctx, KMS_E_VALIDATION, "%s", "Constraints must be a structure");
        GUARD(ec_copy(ctx, json_object_get(c, "EncryptionContextEquals"), "EncryptionContextEquals", &ceq));
        GUARD(ec_copy(ctx, json_object_get(c, "EncryptionContextSubset"), "EncryptionContextSubset", &csub));
        if ((ceq || csub) && !all_constrainable)
            return kms_fail(ctx, KMS_E_VALIDATION, "%s",
                            "Grant constraints EncryptionContextEquals and EncryptionContextSubset are supported "
                            "only on operations that accept an encryption context.");
    }
    DEFER_CLEANUP(json_t *g = json_object(), core_json_cleanup);
    ENSURE(g != NULL, ERR_NOMEM);
    json_object_set_new(g, "grantee", json_stringn((const char *)grantee.ptr, grantee.len));
    if (have_retiring) json_object_set_new(g, "retiring", json_stringn((const char *)retiring.ptr, retiring.len));
    if (have_name) json_object_set_new(g, "name", json_stringn((const char *)name.ptr, name.len));
    json_object_set_new(g, "ops", json_deep_copy(ops));
    if (ceq) json_object_set(g, "ceq", ceq);
    if (csub) json_object_set(g, "csub", csub);

    struct grant_arg a = {.grant = g};
    struct kms_mutation m = {.ctx = ctx, .id = id, .rule = KMS_RULE_MANAGE,
                             .apply = dry ? NULL : create, .arg = &a};
    core_result r = kms_key_mutate(&m);
    /* Under DryRun the key was found, authorized and in a fitting state; the operations must fit it too. */
    if (core_ok(r) && dry) r = ops_fit_key(ctx, ops, &m.key, ceq || csub);
    kms_key_free(&m.key);
    if (!core_ok(r)) return kms_internal(ctx, r, "CreateGrant");
    if (dry) {
        return kms_dry_run_refuse(ctx);
    }
    DEFER_CLEANUP(struct core_buf tok = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&tok, 256, 2048));
    GUARD(kms_grant_token_make(ctx->env, a.rid, &tok));
    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    GUARD(core_jw_object_begin(&w, NULL));
    GUARD(core_jw_str(&w, "GrantToken", core_buf_cursor(&tok)));
    GUARD(core_jw_cstr(&w, "GrantId", a.grant_id));
    return core_jw_object_end(&w);
}

/*
 * CreateGrant's condition keys: kms:GrantOperations, kms:GranteePrincipal,
 * kms:RetiringPrincipal, kms:GrantConstraintType, kms:GrantIsForAWSResource,
 * and kms:EncryptionContext:<key> / kms:EncryptionContextKeys from the
 * grant constraints' encryption context (the condition-key page lists
 * CreateGrant for both).
 * https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-operations
 * https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-encryption-context
 */
core_result kms_create_grant_conditions(struct kms_ctx *ctx, struct kms_cond *c)
{
    static const char *const constraint_types[] = {"EncryptionContextEquals", "EncryptionContextSubset", NULL};
    GUARD(kms_grant_is_for_aws_conditions(ctx, c));
    GUARD(kms_cond_strings(ctx, c, "Operations", "kms:GrantOperations"));
    GUARD(kms_cond_string(ctx, c, "GranteePrincipal", "kms:GranteePrincipal", NULL));
    GUARD(kms_cond_string(ctx, c, "RetiringPrincipal", "kms:RetiringPrincipal", NULL));
    GUARD(kms_cond_present(ctx, c, "Constraints", constraint_types, "kms:GrantConstraintType"));
    const json_t *cons = json_object_get(ctx->in, "Constraints");
    return kms_cond_ec_maps(c, json_object_get(cons, "EncryptionContextEquals"),
                            json_object_get(cons, "EncryptionContextSubset"));
}
