/*
 * The IAM Query API (2010-05-08): a sorted action table searched with
 * bsearch, one envelope for all actions, and the transaction helpers the
 * handlers share. Every action is authorized as iam:<Action> on the
 * resource it names (iam_authorize_call), with the caller's identity-based
 * policies, boundary and session policies; the account root has full
 * access (the bootstrap administrator is a user holding AdministratorAccess).
 * GetSessionToken credentials without MFA, and GetFederationToken
 * credentials, are refused outright, as AWS does (iam_handle):
 * "You cannot call any IAM API operations unless MFA authentication
 * information is included in the request."
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html
 */
#include <stdio.h>
#include <stdlib.h>

#include "iam/iam_internal.h"
#include "policy/policy.h"

/*
 * Sorted by action name; a unit test checks the order. Each row names the
 * resource type the action is authorized on and the one parameter naming
 * it, from the Service Authorization Reference (enum iam_res in
 * iam_internal.h). Unknown parameters are ignored: IAM's Common Error Types
 * (https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html)
 * list no error for them, unlike EC2's UnknownParameter. They cannot change
 * the resource, which only the row's parameter names. W: the action writes
 * (served on the writer pool); R: its output has a Result element.
 */
#define W CORE_ACTION_WRITES
#define R CORE_ACTION_HAS_RESULT
const struct iam_action iam_actions[] = {
    IAM_ROW("AttachRolePolicy", iam_attach_role_policy, W, IAM_RES_ROLE, "RoleName", "iam:PolicyARN", "PolicyArn"),
    IAM_ROW("AttachUserPolicy", iam_attach_user_policy, W, IAM_RES_USER, "UserName", "iam:PolicyARN", "PolicyArn"),
    IAM_ROW("CreateAccessKey", iam_create_access_key, W | R, IAM_RES_USER_SELF, "UserName", NULL, NULL),
    IAM_ROW("CreateOpenIDConnectProvider", iam_create_oidc_provider, W | R, IAM_RES_OIDC_NEW, "Url", NULL, NULL),
    IAM_ROW("CreatePolicy", iam_create_policy, W | R, IAM_RES_POLICY_NEW, "PolicyName", NULL, NULL),
    IAM_ROW("CreateRole", iam_create_role, W | R, IAM_RES_ROLE_NEW, "RoleName",
            "iam:PermissionsBoundary", "PermissionsBoundary"),
    IAM_ROW("CreateSAMLProvider", iam_create_saml_provider, W | R, IAM_RES_SAML_NEW, "Name", NULL, NULL),
    IAM_ROW("CreateUser", iam_create_user, W | R, IAM_RES_USER_NEW, "UserName",
            "iam:PermissionsBoundary", "PermissionsBoundary"),
    IAM_ROW("CreateVirtualMFADevice", iam_create_virtual_mfa_device, W | R, IAM_RES_MFA_NEW, "VirtualMFADeviceName",
            NULL, NULL),
    IAM_ROW("DeleteAccessKey", iam_delete_access_key, W, IAM_RES_USER_SELF, "UserName", NULL, NULL),
    IAM_ROW("DeleteOpenIDConnectProvider", iam_delete_oidc_provider, W, IAM_RES_OIDC, "OpenIDConnectProviderArn",
            NULL, NULL),
    IAM_ROW("DeletePolicy", iam_delete_policy, W, IAM_RES_POLICY, "PolicyArn", NULL, NULL),
    IAM_ROW("DeleteRole", iam_delete_role, W, IAM_RES_ROLE, "RoleName", NULL, NULL),
    IAM_ROW("DeleteRolePolicy", iam_delete_role_policy, W, IAM_RES_ROLE, "RoleName", NULL, NULL),
    IAM_ROW("DeleteSAMLProvider", iam_delete_saml_provider, W, IAM_RES_SAML, "SAMLProviderArn", NULL, NULL),
    IAM_ROW("DeleteUser", iam_delete_user, W, IAM_RES_USER, "UserName", NULL, NULL),
    IAM_ROW("DeleteUserPolicy", iam_delete_user_policy, W, IAM_RES_USER, "UserName", NULL, NULL),
    IAM_ROW("DetachRolePolicy", iam_detach_role_policy, W, IAM_RES_ROLE, "RoleName", "iam:PolicyARN", "PolicyArn"),
    IAM_ROW("DetachUserPolicy", iam_detach_user_policy, W, IAM_RES_USER, "UserName", "iam:PolicyARN", "PolicyArn"),
    IAM_ROW("DisableOutboundWebIdentityFederation", iam_disable_outbound_federation, W, IAM_RES_ANY, NULL, NULL,
            NULL),
    IAM_ROW("EnableMFADevice", iam_enable_mfa_device, W, IAM_RES_USER, "UserName", NULL, NULL),
    IAM_ROW("EnableOutboundWebIdentityFederation", iam_enable_outbound_federation, W | R, IAM_RES_ANY, NULL, NULL,
            NULL),
    IAM_ROW("GetOpenIDConnectProvider", iam_get_oidc_provider, R, IAM_RES_OIDC, "OpenIDConnectProviderArn", NULL,
            NULL),
    IAM_ROW("GetOutboundWebIdentityFederationInfo", iam_get_outbound_federation_info, R, IAM_RES_ANY, NULL, NULL,
            NULL),
    IAM_ROW("GetPolicy", iam_get_policy, R, IAM_RES_POLICY, "PolicyArn", NULL, NULL),
    IAM_ROW("GetPolicyVersion", iam_get_policy_version, R, IAM_RES_POLICY, "PolicyArn", NULL, NULL),
    IAM_ROW("GetRole", iam_get_role, R, IAM_RES_ROLE, "RoleName", NULL, NULL),
    IAM_ROW("GetRolePolicy", iam_get_role_policy, R, IAM_RES_ROLE, "RoleName", NULL, NULL),
    IAM_ROW("GetSAMLProvider", iam_get_saml_provider, R, IAM_RES_SAML, "SAMLProviderArn", NULL, NULL),
    IAM_ROW("GetUser", iam_get_user, R, IAM_RES_USER_SELF, "UserName", NULL, NULL),
    IAM_ROW("GetUserPolicy", iam_get_user_policy, R, IAM_RES_USER, "UserName", NULL, NULL),
    IAM_ROW("ListAccessKeys", iam_list_access_keys, R, IAM_RES_USER_SELF, "UserName", NULL, NULL),
    IAM_ROW("ListAttachedRolePolicies", iam_list_attached_role_policies, R, IAM_RES_ROLE, "RoleName", NULL, NULL),
    IAM_ROW("ListAttachedUserPolicies", iam_list_attached_user_policies, R, IAM_RES_USER, "UserName", NULL, NULL),
    IAM_ROW("ListOpenIDConnectProviders", iam_list_oidc_providers, R, IAM_RES_ANY, NULL, NULL, NULL),
    IAM_ROW("ListRolePolicies", iam_list_role_policies, R, IAM_RES_ROLE, "RoleName", NULL, NULL),
    IAM_ROW("ListRoles", iam_list_roles, R, IAM_RES_ANY, NULL, NULL, NULL),
    IAM_ROW("ListSAMLProviders", iam_list_saml_providers, R, IAM_RES_ANY, NULL, NULL, NULL),
    IAM_ROW("ListUserPolicies", iam_list_user_policies, R, IAM_RES_USER, "UserName", NULL, NULL),
    IAM_ROW("ListUsers", iam_list_users, R, IAM_RES_ANY, NULL, NULL, NULL),
    IAM_ROW("PutRolePolicy", iam_put_role_policy, W, IAM_RES_ROLE, "RoleName", NULL, NULL),
    IAM_ROW("PutUserPolicy", iam_put_user_policy, W, IAM_RES_USER, "UserName", NULL, NULL),
    IAM_ROW("UpdateAccessKey", iam_update_access_key, W, IAM_RES_USER_SELF, "UserName", NULL, NULL),
    IAM_ROW("UpdateAssumeRolePolicy", iam_update_assume_role_policy, W, IAM_RES_ROLE, "RoleName", NULL, NULL),
    IAM_ROW("UpdateRole", iam_update_role, W | R, IAM_RES_ROLE, "RoleName", NULL, NULL),
    IAM_ROW("UpdateSAMLProvider", iam_update_saml_provider, W | R, IAM_RES_SAML, "SAMLProviderArn", NULL, NULL),
};
#undef W
#undef R
const size_t iam_actions_count = sizeof iam_actions / sizeof iam_actions[0];

const struct iam_action *iam_action_find(struct core_cursor action)
{
    /* row is the first member of struct iam_action */
    return (const struct iam_action *)core_action_find(iam_actions, iam_actions_count, sizeof iam_actions[0], action);
}

bool iam_action_writes(struct core_cursor action)
{
    const struct iam_action *a = iam_action_find(action);
    return a != NULL && core_action_has(&a->row, CORE_ACTION_WRITES);
}

core_result iam_env_new(const struct iam_env_options *opts, struct iam_env **out)
{
    struct iam_env *env = calloc(1, sizeof *env);
    ENSURE(env != NULL, ERR_NOMEM);
    env->ks = opts->ks;
    snprintf(env->account, sizeof env->account, "%s", opts->account ? opts->account : "000000000000");
    snprintf(env->oidc_issuer, sizeof env->oidc_issuer, "%s", opts->oidc_issuer ? opts->oidc_issuer : "http://localhost");
    core_result r = iam_authz_init(env);
    if (!core_ok(r)) {
        free(env);
        return r;
    }
    /* Users and roles stored before the unique-id index get their entries (once; a no-op after). */
    if (env->ks) r = iam_uid_backfill(env->ks);
    if (!core_ok(r)) {
        iam_authz_free(env);
        free(env);
        return r;
    }
    *out = env;
    CORE_OK;
}

void iam_env_free(struct iam_env *env)
{
    if (!env) return;
    iam_authz_free(env);
    free(env);
}

struct txn_arg {
    struct iam_ctx *ctx;
    iam_txn_fn fn;
};

static core_result txn_tramp(struct keystore_txn *txn, void *varg)
{
    struct txn_arg *a = varg;
    a->ctx->txn = txn;
    core_result r = a->fn(a->ctx, txn);
    a->ctx->txn = NULL;
    return r;
}

core_result iam_write(struct iam_ctx *ctx, iam_txn_fn fn)
{
    struct txn_arg a = {ctx, fn};
    core_result r = keystore_write(ctx->env->ks, txn_tramp, &a);
    /* Any IAM write may change someone's permissions: drop compiled identities. */
    iam_identity_invalidate(ctx->env);
    return r;
}

core_result iam_read(struct iam_ctx *ctx, iam_txn_fn fn)
{
    struct keystore_txn *txn = NULL;
    GUARD(keystore_txn_begin(ctx->env->ks, false, &txn));
    ctx->txn = txn;
    core_result r = fn(ctx, txn);
    ctx->txn = NULL;
    keystore_txn_abort(txn);
    return r;
}

/* The parameter's constraints as the service model states them (botocore iam-2010-05-08). */
static struct query_str_spec param_spec(const struct iam_action *a)
{
    struct query_str_spec s = {.name = a->param, .required = true, .min = 1, .max = 128, .cs = QUERY_CS_NAME};
    switch (a->res) {
    case IAM_RES_USER_SELF: s.required = false; break;
    case IAM_RES_USER_NEW: s.max = IAM_MAX_NAME; break;
    case IAM_RES_ROLE:
    case IAM_RES_ROLE_NEW: s.max = IAM_MAX_NAME; break;
    case IAM_RES_POLICY:
    case IAM_RES_OIDC:
    case IAM_RES_SAML: s.min = 20, s.max = 2048, s.cs = QUERY_CS_ANY; break;
    case IAM_RES_SAML_NEW: s.cs = QUERY_CS_ANY; break; /* [\w._-]+, checked by the handler */
    case IAM_RES_OIDC_NEW: s.max = 255, s.cs = QUERY_CS_ANY; break;
    case IAM_RES_MFA_NEW:
    case IAM_RES_POLICY_NEW:
    case IAM_RES_USER:
    case IAM_RES_ANY: break;
    }
    return s;
}

/* ARN of a stored user or role: path and name as stored; path "/" and the name as given when absent. */
static core_result stored_arn(struct iam_ctx *ctx, const char *table, const char *kind, struct core_cursor name,
                              char *out, size_t cap)
{
    struct keystore_txn *txn = NULL;
    GUARD(keystore_txn_begin(ctx->env->ks, false, &txn));
    json_t *rec = NULL;
    core_result r = iam_rec_get(txn, table, ctx->account, name, &rec);
    keystore_txn_abort(txn);
    if (r.err == ERR_NOT_FOUND) {
        snprintf(out, cap, "arn:%s:iam::%s:%s/%.*s", core_partition_current(), ctx->account, kind, (int)name.len,
                 (const char *)name.ptr);
        CORE_OK;
    }
    GUARD(r);
    char n[IAM_MAX_NAME + 1];
    const char *stored = iam_user_name(rec, name, n, sizeof n);
    const char *path = iam_js(rec, "path")[0] ? iam_js(rec, "path") : "/";
    iam_arn(out, cap, ctx->account, kind, path, stored);
    json_decref(rec);
    CORE_OK;
}

/*
 * The resource ARN the action acts on, from the row's parameter only
 * (validated here, before any decision, as AWS validates before it
 * authorizes). A reply is recorded when the parameter is invalid.
 */
static core_result resource_arn(struct iam_ctx *ctx, const struct iam_action *a, char *out, size_t cap)
{
    snprintf(out, cap, "*");
    if (a->res == IAM_RES_ANY) CORE_OK;
    const struct query_str_spec spec = param_spec(a);
    struct core_cursor v, path = core_cursor_str("/");
    bool have;
    GUARD(query_param_str(ctx->form, ctx->out, &spec, &v, &have));
    if (a->res == IAM_RES_USER_NEW || a->res == IAM_RES_ROLE_NEW || a->res == IAM_RES_POLICY_NEW ||
        a->res == IAM_RES_MFA_NEW)
        GUARD(iam_param_path(ctx, "Path", &path));
    const char *kind = "";
    switch (a->res) {
    case IAM_RES_USER_SELF:
        if (!have) { /* the caller itself */
            snprintf(out, cap, "%s", ctx->call->caller->arn);
            CORE_OK;
        }
        return stored_arn(ctx, IAM_T_USER, "user", v, out, cap);
    case IAM_RES_USER: return stored_arn(ctx, IAM_T_USER, "user", v, out, cap);
    case IAM_RES_ROLE: return stored_arn(ctx, IAM_T_ROLE, "role", v, out, cap);
    case IAM_RES_POLICY:
    case IAM_RES_OIDC:
    case IAM_RES_SAML: snprintf(out, cap, "%.*s", (int)v.len, (const char *)v.ptr); CORE_OK;
    case IAM_RES_SAML_NEW:
        snprintf(out, cap, "arn:%s:iam::%s:saml-provider/%.*s", core_partition_current(), ctx->account, (int)v.len, (const char *)v.ptr);
        CORE_OK;
    case IAM_RES_OIDC_NEW:
        if (core_cursor_starts_with(v, "https://")) v.ptr += 8, v.len -= 8;
        while (v.len && v.ptr[v.len - 1] == '/') v.len--;
        snprintf(out, cap, "arn:%s:iam::%s:oidc-provider/%.*s", core_partition_current(), ctx->account, (int)v.len,
                 (const char *)v.ptr);
        CORE_OK;
    case IAM_RES_USER_NEW: kind = "user"; break;
    case IAM_RES_ROLE_NEW: kind = "role"; break;
    case IAM_RES_POLICY_NEW: kind = "policy"; break;
    case IAM_RES_MFA_NEW: kind = "mfa"; break;
    case IAM_RES_ANY: break;
    }
    snprintf(out, cap, "arn:%s:iam::%s:%s%.*s%.*s", core_partition_current(), ctx->account, kind, (int)path.len,
             (const char *)path.ptr,
             (int)v.len, (const char *)v.ptr);
    CORE_OK;
}

/*
 * iam:<Action> on its resource, identity side only (IAM has no resource
 * policies except trust policies). "User: ARN is not authorized to perform:
 * iam:CreateUser on resource: ARN because no identity-based policy allows the
 * iam:CreateUser action" (403 AccessDenied, no encoded message).
 */
static core_result iam_authorize_call(struct iam_ctx *ctx, const struct iam_action *a)
{
    const struct iam_call *call = ctx->call;
    char res[2200];
    GUARD(resource_arn(ctx, a, res, sizeof res));
    const struct iam_identity *id = NULL;
    core_result r = iam_identity_acquire(ctx->env, call->caller, call->session, &id);
    if (core_ok(r) && id->full_access) {
        iam_identity_release(ctx->env, id);
        CORE_OK;
    }
    const char *act = a->row.iam_action;
    struct policy_verdict v = {.allowed = false, .reason = POLICY_REASON_NO_IDENTITY};
    /* The context (about 24 KiB) lives on the request thread's stack; it never reaches the heap. */
    struct policy_ctx pc;
    policy_ctx_init(&pc);
    if (core_ok(r)) r = policy_ctx_set_action(&pc, core_cursor_str(act));
    policy_ctx_set_resource(&pc, core_cursor_str(res));
    struct iam_request_facts facts = {.principal = call->caller, .session = call->session, .identity = id,
                                      .source_ip = call->source_ip, .secure_transport = call->secure_transport,
                                      .region = "us-east-1", .now = call->now};
    if (core_ok(r)) r = iam_request_context(&pc, &facts);
    struct core_cursor cv;
    if (core_ok(r) && a->cond_key && core_form_get(ctx->form, a->cond_param, &cv) && cv.len > 0 && cv.len <= 2048)
        r = policy_ctx_add(&pc, core_cursor_str(a->cond_key), cv);
    if (core_ok(r)) r = iam_authorize_identity(id, &pc, &v);
    if (!core_ok(r) && r.err != ERR_LIMIT && r.err != ERR_PARSE && r.err != ERR_NOT_FOUND) {
        iam_identity_release(ctx->env, id);
        return r;
    }
    if (!core_ok(r)) v = (struct policy_verdict){.allowed = false, .reason = POLICY_REASON_NO_IDENTITY};
    iam_identity_release(ctx->env, id);
    if (v.allowed) CORE_OK;
    DEFER_CLEANUP(struct core_buf msg = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&msg, 256, CORE_REPLY_MAX_MESSAGE));
    if (pc.principal_arn.len == 0) {
        /* The context could not be built: word it from what we know. */
        GUARD(core_buf_printf(&msg, "User: %s is not authorized to perform: %s on resource: %s because no "
                              "identity-based policy allows the %s action", call->caller->arn, act, res, act));
    } else {
        GUARD(policy_denied_message(&msg, &pc, &v));
    }
    return iam_fail(ctx->out, IAM_E_ACCESS_DENIED, "%.*s", (int)msg.len, (const char *)msg.data);
}

core_result iam_handle(struct iam_env *env, const struct iam_call *call, struct core_reply *out)
{
    struct iam_ctx ctx = {.env = env, .call = call, .form = call->form, .out = out, .b = &out->body,
                          .now = call->now};
    snprintf(ctx.account, sizeof ctx.account, "%s", call->caller->account[0] ? call->caller->account : env->account);
    struct core_cursor action;
    const struct core_action *row = NULL;
    GUARD(query_action(call->form, IAM_API_VERSION, iam_actions, iam_actions_count, sizeof iam_actions[0], out,
                       &action, &row));
    const struct iam_action *a = (const struct iam_action *)row; /* row is its first member */
    /* Temporary credentials IAM never serves, whatever the policies say: GetSessionToken's
     * without MFA, and GetFederationToken's. "Cannot call IAM API operations unless MFA
     * information is included with the request" / "Cannot call IAM operations using the AWS CLI
     * or AWS API." https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_request.html
     * (#stsapi_comparison; docs/authorization.md has the whole table). AWS answers these with
     * InvalidClientTokenId, 403, "The security token included in the request is invalid", as seen
     * from IAM (github.com/99designs/aws-vault/issues/15, aws/aws-cli#8918). */
    const struct core_principal *p = call->caller;
    bool root_task = p->type == CORE_PRINCIPAL_ROOT && call->session && call->session->has_session_policies;
    if (p->temporary && !root_task &&
        (p->type == CORE_PRINCIPAL_FEDERATED ||
         (!p->mfa && (p->type == CORE_PRINCIPAL_USER || p->type == CORE_PRINCIPAL_ROOT))))
        return iam_fail(out, IAM_E_INVALID_CLIENT_TOKEN_ID, "%s",
                                "The security token included in the request is invalid");
    GUARD(iam_authorize_call(&ctx, a));
    bool has_result = core_action_has(&a->row, CORE_ACTION_HAS_RESULT);
    GUARD(core_xml_response_open(&out->body, action, IAM_XMLNS, has_result));
    core_result r = a->fn(&ctx);
    if (!core_ok(r)) {
        if (!core_reply_failed(out)) {
            if (r.err == ERR_NOT_FOUND)
                core_result_ignore(
                    iam_fail(out, IAM_E_NO_SUCH_ENTITY, "%s", "The requested entity does not exist."));
            else if (r.err == ERR_EXISTS)
                core_result_ignore(iam_fail(out, IAM_E_ENTITY_ALREADY_EXISTS, "%s", "The entity already exists."));
            else
                core_result_ignore(iam_fail(out, IAM_E_SERVICE_FAILURE, "%s",
                                                    "The request processing has failed because of an unknown error."));
        }
        return r;
    }
    return core_xml_response_close(&out->body, action, call->request_id, has_result);
}

core_result iam_param_paging(struct iam_ctx *ctx, int64_t *max_items, struct core_cursor *marker)
{
    *max_items = IAM_LIST_DEFAULT;
    GUARD(query_param_int(ctx->form, ctx->out, "MaxItems", false, 1, 1000, max_items, NULL));
    const struct query_str_spec ms = {.name = "Marker", .min = 1, .max = 320, .cs = QUERY_CS_ANY};
    return query_param_str(ctx->form, ctx->out, &ms, marker, NULL);
}

core_result iam_xml_paging_end(struct iam_ctx *ctx, bool truncated, struct core_cursor next_marker)
{
    GUARD(core_xml_elem_str(ctx->b, "IsTruncated", truncated ? "true" : "false"));
    if (truncated) GUARD(core_xml_elem(ctx->b, "Marker", next_marker));
    CORE_OK;
}

core_result iam_param_path(struct iam_ctx *ctx, const char *name, struct core_cursor *path)
{
    const struct query_str_spec ps = {.name = name, .min = 1, .max = IAM_MAX_PATH, .cs = QUERY_CS_PATH};
    bool have;
    GUARD(query_param_str(ctx->form, ctx->out, &ps, path, &have));
    if (!have) *path = core_cursor_str("/");
    CORE_OK;
}
