#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "sts/sts_internal.h"

/* Sorted by action name; a unit test checks the order. */
const struct sts_action sts_actions[] = {
    {"AssumeRole", sts_assume_role, "sts:AssumeRole", false},
    {"AssumeRoleWithSAML", sts_assume_role_with_saml, "sts:AssumeRoleWithSAML", true},
    {"AssumeRoleWithWebIdentity", sts_assume_role_with_web_identity, "sts:AssumeRoleWithWebIdentity", true},
    {"AssumeRoot", sts_assume_root, "sts:AssumeRoot", false},
    {"DecodeAuthorizationMessage", sts_decode_authorization_message, "sts:DecodeAuthorizationMessage", false},
    {"GetAccessKeyInfo", sts_get_access_key_info, "sts:GetAccessKeyInfo", false},
    {"GetCallerIdentity", sts_get_caller_identity, "sts:GetCallerIdentity", false},
    {"GetDelegatedAccessToken", sts_get_delegated_access_token, "sts:GetDelegatedAccessToken", false},
    {"GetFederationToken", sts_get_federation_token, "sts:GetFederationToken", false},
    {"GetSessionToken", sts_get_session_token, "sts:GetSessionToken", false},
    {"GetWebIdentityToken", sts_get_web_identity_token, "sts:GetWebIdentityToken", false},
};
const size_t sts_actions_count = sizeof sts_actions / sizeof sts_actions[0];

static int action_cmp(const void *key, const void *elem)
{
    const struct core_cursor *op = key;
    const struct sts_action *a = elem;
    return core_cursor_cmp(*op, core_cursor_str(a->action));
}

const struct sts_action *sts_action_find(struct core_cursor action)
{
    if (action.len == 0) return NULL;
    return bsearch(&action, sts_actions, sts_actions_count, sizeof sts_actions[0], action_cmp);
}

bool sts_action_is_unsigned(struct core_cursor action)
{
    const struct sts_action *a = sts_action_find(action);
    return a != NULL && a->unsigned_ok;
}

core_result sts_env_new(const struct sts_env_options *opts, struct sts_env **out)
{
    struct sts_env *env = calloc(1, sizeof *env);
    ENSURE(env != NULL, ERR_NOMEM);
    static _Atomic uint64_t instances;
    env->instance = atomic_fetch_add(&instances, 1) + 1;
    env->ks = opts->ks;
    env->iam = opts->iam;
    snprintf(env->default_region, sizeof env->default_region, "%s",
             opts->default_region ? opts->default_region : "us-east-1");
    snprintf(env->oidc_issuer, sizeof env->oidc_issuer, "%s", opts->oidc_issuer ? opts->oidc_issuer : "http://localhost");
    if (pthread_rwlock_init(&env->lock, NULL) != 0) {
        free(env);
        BAIL(ERR_NOMEM);
    }
    /* The token keys are unsealed once here; the request path only reads the cache. */
    core_result r = sts_keys_load(env);
    if (core_ok(r) && opts->organization_file) r = sts_org_load(env, opts->organization_file);
    if (!core_ok(r)) {
        sts_env_free(env);
        return r;
    }
    *out = env;
    CORE_OK;
}

void sts_env_free(struct sts_env *env)
{
    if (!env) return;
    sts_keys_free(env);
    json_decref(env->org);
    pthread_rwlock_destroy(&env->lock);
    free(env);
}

core_result sts_fail(struct sts_ctx *ctx, unsigned status, const char *code, const char *fmt, ...)
{
    char msg[CORE_REPLY_MAX_MESSAGE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return core_reply_error(ctx->out, status, code, "%s", msg);
}

core_result sts_handle(struct sts_env *env, const struct sts_call *call, struct core_reply *out)
{
    struct sts_ctx ctx = {.env = env, .call = call, .caller = call->caller, .out = out};
    struct core_cursor action, version;
    if (!core_form_get(call->form, "Action", &action))
        return sts_fail(&ctx, 400, "MissingAction", "%s", "Missing Action");
    const struct sts_action *a = sts_action_find(action);
    if (a == NULL || !core_form_get(call->form, "Version", &version) || !core_cursor_eq_str(version, STS_VERSION)) {
        int n = (int)(action.len > 128 ? 128 : action.len);
        return sts_fail(&ctx, 400, "InvalidAction", "Could not find operation %.*s for version %s", n,
                        (const char *)action.ptr, STS_VERSION);
    }
    /* Credentials from GetFederationToken may call only GetCallerIdentity; those
     * from GetSessionToken only AssumeRole and GetCallerIdentity too.
     * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_request.html */
    const struct core_principal *p = call->caller;
    if (p->temporary && a->fn != sts_get_caller_identity &&
        (p->type == CORE_PRINCIPAL_FEDERATED ||
         ((p->type == CORE_PRINCIPAL_USER || p->type == CORE_PRINCIPAL_ROOT) && a->fn != sts_assume_role))) {
        int n = (int)(action.len > 128 ? 128 : action.len);
        return sts_fail(&ctx, 403, "AccessDenied", "Cannot call %.*s with session credentials", n,
                        (const char *)action.ptr);
    }
    /* Identity-policy permissions AWS requires for these (AssumeRole and
     * GetFederationToken check theirs in the handler, with their resource;
     * GetCallerIdentity and GetSessionToken need none). */
    if (a->fn == sts_decode_authorization_message || a->fn == sts_get_access_key_info)
        GUARD(sts_authorize_identity(&ctx, a->iam_action, NULL));
    /* Handlers write the Result's inner XML; the envelope is the same for all. */
    GUARD(core_xml_response_open(&out->body, action, STS_XMLNS, true));
    core_result r = a->fn(&ctx);
    if (!core_ok(r)) {
        if (!core_reply_failed(out)) sts_reply_from_err(r.err, out);
        return r;
    }
    return core_xml_response_close(&out->body, action, call->request_id, true);
}
