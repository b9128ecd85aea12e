/*
 * The IAM Query API (2010-05-08): a sorted action table searched with
 * bsearch, one envelope for all actions, and the transaction helpers the
 * handlers share. Identity policies are stored, not yet enforced: any
 * authenticated caller of the account may call these actions, except
 * GetSessionToken credentials without MFA, which AWS refuses for IAM:
 * "You cannot call any IAM API operations unless MFA authentication
 * information is included in the request."
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html
 */
#include <stdio.h>
#include <stdlib.h>

#include "iam/iam_internal.h"

/* Sorted by action name; a unit test checks the order. */
const struct iam_action iam_actions[] = {
    {"AttachRolePolicy", iam_attach_role_policy, false},
    {"AttachUserPolicy", iam_attach_user_policy, false},
    {"CreateAccessKey", iam_create_access_key, true},
    {"CreateOpenIDConnectProvider", iam_create_oidc_provider, true},
    {"CreatePolicy", iam_create_policy, true},
    {"CreateRole", iam_create_role, true},
    {"CreateUser", iam_create_user, true},
    {"CreateVirtualMFADevice", iam_create_virtual_mfa_device, true},
    {"DeleteAccessKey", iam_delete_access_key, false},
    {"DeleteOpenIDConnectProvider", iam_delete_oidc_provider, false},
    {"DeletePolicy", iam_delete_policy, false},
    {"DeleteRole", iam_delete_role, false},
    {"DeleteRolePolicy", iam_delete_role_policy, false},
    {"DeleteUser", iam_delete_user, false},
    {"DeleteUserPolicy", iam_delete_user_policy, false},
    {"DetachRolePolicy", iam_detach_role_policy, false},
    {"DetachUserPolicy", iam_detach_user_policy, false},
    {"EnableMFADevice", iam_enable_mfa_device, false},
    {"GetOpenIDConnectProvider", iam_get_oidc_provider, true},
    {"GetPolicy", iam_get_policy, true},
    {"GetPolicyVersion", iam_get_policy_version, true},
    {"GetRole", iam_get_role, true},
    {"GetRolePolicy", iam_get_role_policy, true},
    {"GetUser", iam_get_user, true},
    {"GetUserPolicy", iam_get_user_policy, true},
    {"ListAccessKeys", iam_list_access_keys, true},
    {"ListAttachedRolePolicies", iam_list_attached_role_policies, true},
    {"ListAttachedUserPolicies", iam_list_attached_user_policies, true},
    {"ListOpenIDConnectProviders", iam_list_oidc_providers, true},
    {"ListRolePolicies", iam_list_role_policies, true},
    {"ListRoles", iam_list_roles, true},
    {"ListUserPolicies", iam_list_user_policies, true},
    {"ListUsers", iam_list_users, true},
    {"PutRolePolicy", iam_put_role_policy, false},
    {"PutUserPolicy", iam_put_user_policy, false},
    {"UpdateAccessKey", iam_update_access_key, false},
    {"UpdateAssumeRolePolicy", iam_update_assume_role_policy, false},
    {"UpdateRole", iam_update_role, true},
};
const size_t iam_actions_count = sizeof iam_actions / sizeof iam_actions[0];

static int action_cmp(const void *key, const void *elem)
{
    const struct core_cursor *op = key;
    const struct iam_action *a = elem;
    return core_cursor_cmp(*op, core_cursor_str(a->action));
}

const struct iam_action *iam_action_find(struct core_cursor action)
{
    if (action.len == 0) return NULL;
    return bsearch(&action, iam_actions, iam_actions_count, sizeof iam_actions[0], action_cmp);
}

core_result iam_env_new(const struct iam_env_options *opts, struct iam_env **out)
{
    struct iam_env *env = calloc(1, sizeof *env);
    ENSURE(env != NULL, ERR_NOMEM);
    env->ks = opts->ks;
    snprintf(env->account, sizeof env->account, "%s", opts->account ? opts->account : "000000000000");
    *out = env;
    CORE_OK;
}

void iam_env_free(struct iam_env *env) { free(env); }

struct txn_arg {
    struct iam_ctx *ctx;
    iam_txn_fn fn;
};

static core_result txn_tramp(struct keystore_txn *txn, void *varg)
{
    struct txn_arg *a = varg;
    return a->fn(a->ctx, txn);
}

core_result iam_write(struct iam_ctx *ctx, iam_txn_fn fn)
{
    struct txn_arg a = {ctx, fn};
    return keystore_write(ctx->env->ks, txn_tramp, &a);
}

core_result iam_read(struct iam_ctx *ctx, iam_txn_fn fn)
{
    struct keystore_txn *txn = NULL;
    GUARD(keystore_txn_begin(ctx->env->ks, false, &txn));
    core_result r = fn(ctx, txn);
    keystore_txn_abort(txn);
    return r;
}

core_result iam_handle(struct iam_env *env, const struct iam_call *call, struct core_reply *out)
{
    struct iam_ctx ctx = {.env = env, .call = call, .form = call->form, .out = out, .b = &out->body,
                          .now = call->now};
    snprintf(ctx.account, sizeof ctx.account, "%s", call->caller->account[0] ? call->caller->account : env->account);
    struct core_cursor action, version;
    if (!core_form_get(call->form, "Action", &action))
        return core_reply_error(out, 400, "MissingAction", "%s", "Missing Action");
    const struct iam_action *a = iam_action_find(action);
    if (a == NULL || !core_form_get(call->form, "Version", &version) ||
        !core_cursor_eq_str(version, IAM_API_VERSION)) {
        int n = (int)(action.len > 128 ? 128 : action.len);
        return core_reply_error(out, 400, "InvalidAction", "Could not find operation %.*s for version %s", n,
                                (const char *)action.ptr, IAM_API_VERSION);
    }
    const struct core_principal *p = call->caller;
    if (p->temporary && !p->mfa && (p->type == CORE_PRINCIPAL_USER || p->type == CORE_PRINCIPAL_ROOT)) {
        int n = (int)(action.len > 128 ? 128 : action.len);
        return core_reply_error(out, 403, "AccessDenied",
                                "User: %s is not authorized to perform: iam:%.*s with session credentials obtained "
                                "without MFA",
                                p->arn, n, (const char *)action.ptr);
    }
    GUARD(core_xml_response_open(&out->body, action, IAM_XMLNS, a->has_result));
    core_result r = a->fn(&ctx);
    if (!core_ok(r)) {
        if (!core_reply_failed(out)) {
            if (r.err == ERR_NOT_FOUND)
                core_result_ignore(
                    core_reply_error(out, 404, "NoSuchEntity", "%s", "The requested entity does not exist."));
            else if (r.err == ERR_EXISTS)
                core_result_ignore(core_reply_error(out, 409, "EntityAlreadyExists", "%s", "The entity already exists."));
            else
                core_result_ignore(core_reply_error(out, 500, "ServiceFailure", "%s",
                                                    "The request processing has failed because of an unknown error."));
        }
        return r;
    }
    return core_xml_response_close(&out->body, action, call->request_id, a->has_result);
}

core_result iam_param_paging(struct iam_ctx *ctx, int64_t *max_items, struct core_cursor *marker)
{
    *max_items = IAM_LIST_DEFAULT;
    GUARD(iam_param_int(ctx->form, ctx->out, "MaxItems", false, 1, 1000, max_items, NULL));
    const struct iam_str_spec ms = {.name = "Marker", .min = 1, .max = 320, .cs = IAM_CS_ANY};
    return iam_param_str(ctx->form, ctx->out, &ms, marker, NULL);
}

core_result iam_xml_paging_end(struct iam_ctx *ctx, bool truncated, struct core_cursor next_marker)
{
    GUARD(core_xml_elem_str(ctx->b, "IsTruncated", truncated ? "true" : "false"));
    if (truncated) GUARD(core_xml_elem(ctx->b, "Marker", next_marker));
    CORE_OK;
}

core_result iam_param_path(struct iam_ctx *ctx, const char *name, struct core_cursor *path)
{
    const struct iam_str_spec ps = {.name = name, .min = 1, .max = IAM_MAX_PATH, .cs = IAM_CS_PATH};
    bool have;
    GUARD(iam_param_str(ctx->form, ctx->out, &ps, path, &have));
    if (!have) *path = core_cursor_str("/");
    CORE_OK;
}
