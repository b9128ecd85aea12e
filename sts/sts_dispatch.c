#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "query/query.h"
#include "sts/sts_internal.h"

/*
 * Sorted by action name; a unit test checks the order. Each row carries the
 * action's facts: every STS action answers with a Result element (R);
 * U: served without a signature; I: the dispatcher authorizes sts:<Action>
 * on the caller's identity policies (AssumeRole and GetFederationToken check
 * theirs in the handler, with their resource; GetCallerIdentity and
 * GetSessionToken need none); F and S: callable with GetFederationToken and
 * GetSessionToken credentials ("Credentials from GetFederationToken may call
 * only GetCallerIdentity; those from GetSessionToken only AssumeRole and
 * GetCallerIdentity too").
 */
#define R CORE_ACTION_HAS_RESULT
#define U CORE_ACTION_UNSIGNED
#define I STS_IDENTITY_AUTHZ
#define F STS_FEDERATED_OK
#define S STS_SESSION_TOKEN_OK
const struct sts_action sts_actions[] = {
    STS_ROW("AssumeRole", sts_assume_role, R | S),
    STS_ROW("AssumeRoleWithSAML", sts_assume_role_with_saml, R | U),
    STS_ROW("AssumeRoleWithWebIdentity", sts_assume_role_with_web_identity, R | U),
    STS_ROW("AssumeRoot", sts_assume_root, R),
    STS_ROW("DecodeAuthorizationMessage", sts_decode_authorization_message, R | I),
    STS_ROW("GetAccessKeyInfo", sts_get_access_key_info, R | I),
    STS_ROW("GetCallerIdentity", sts_get_caller_identity, R | F | S),
    STS_ROW("GetDelegatedAccessToken", sts_get_delegated_access_token, R),
    STS_ROW("GetFederationToken", sts_get_federation_token, R),
    STS_ROW("GetSessionToken", sts_get_session_token, R),
    STS_ROW("GetWebIdentityToken", sts_get_web_identity_token, R),
};
#undef R
#undef U
#undef I
#undef F
#undef S
const size_t sts_actions_count = sizeof sts_actions / sizeof sts_actions[0];

const struct sts_action *sts_action_find(struct core_cursor action)
{
    /* row is the first member of struct sts_action */
    return (const struct sts_action *)core_action_find(sts_actions, sts_actions_count, sizeof sts_actions[0], action);
}

bool sts_action_is_unsigned(struct core_cursor action)
{
    const struct sts_action *a = sts_action_find(action);
    return a != NULL && core_action_has(&a->row, CORE_ACTION_UNSIGNED);
}

bool sts_action_writes(struct core_cursor action)
{
    const struct sts_action *a = sts_action_find(action);
    return a != NULL && core_action_has(&a->row, CORE_ACTION_WRITES);
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
    core_tlcache_purge(&sts_session_cache, env->instance);
    sts_keys_free(env);
    json_decref(env->org);
    pthread_rwlock_destroy(&env->lock);
    free(env);
}

core_result sts_handle(struct sts_env *env, const struct sts_call *call, struct core_reply *out)
{
    struct sts_ctx ctx = {.env = env, .call = call, .caller = call->caller, .out = out};
    struct core_cursor action;
    const struct core_action *row = NULL;
    GUARD(query_action(call->form, STS_VERSION, sts_actions, sts_actions_count, sizeof sts_actions[0], out, &action,
                       &row));
    const struct sts_action *a = (const struct sts_action *)row; /* row is its first member */
    ctx.action = a;
    /* Credentials from GetFederationToken may call only GetCallerIdentity; those
     * from GetSessionToken only AssumeRole and GetCallerIdentity too (the row's F and S).
     * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_request.html */
    const struct core_principal *p = call->caller;
    bool federated = p->type == CORE_PRINCIPAL_FEDERATED;
    bool session_token = p->type == CORE_PRINCIPAL_USER || p->type == CORE_PRINCIPAL_ROOT;
    if (p->temporary && ((federated && !core_action_has(&a->row, STS_FEDERATED_OK)) ||
                         (session_token && !core_action_has(&a->row, STS_SESSION_TOKEN_OK)))) {
        int n = (int)(action.len > 128 ? 128 : action.len);
        return sts_fail(&ctx, STS_E_ACCESS_DENIED, "Cannot call %.*s with session credentials", n,
                        (const char *)action.ptr);
    }
    /* Identity-policy permissions AWS requires for these (the row's I). */
    if (core_action_has(&a->row, STS_IDENTITY_AUTHZ)) GUARD(sts_authorize_identity(&ctx, a->row.iam_action, NULL));
    /* Handlers write the Result's inner XML; the envelope is the same for all. */
    bool has_result = core_action_has(&a->row, CORE_ACTION_HAS_RESULT);
    GUARD(core_xml_response_open(&out->body, action, STS_XMLNS, has_result));
    core_result r = a->fn(&ctx);
    if (!core_ok(r)) {
        if (!core_reply_failed(out)) query_reply_from_err(r.err, out);
        return r;
    }
    return core_xml_response_close(&out->body, action, call->request_id, has_result);
}
