#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "kms/kms_internal.h"

/*
 * The action table, sorted by operation name (a unit test checks the order)
 * and searched with bsearch. Adding an operation is one row here and one
 * file kms/kms_<operation>.c.
 */
const struct kms_action kms_actions[] = {
    {"CancelKeyDeletion", kms_cancel_key_deletion, "kms:CancelKeyDeletion"},
    {"CreateAlias", kms_create_alias, "kms:CreateAlias"},
    {"CreateGrant", kms_create_grant, "kms:CreateGrant"},
    {"CreateKey", kms_create_key, "kms:CreateKey"},
    {"Decrypt", kms_decrypt, "kms:Decrypt"},
    {"DeleteAlias", kms_delete_alias, "kms:DeleteAlias"},
    {"DescribeKey", kms_describe_key, "kms:DescribeKey"},
    {"DisableKey", kms_disable_key, "kms:DisableKey"},
    {"DisableKeyRotation", kms_disable_key_rotation, "kms:DisableKeyRotation"},
    {"EnableKey", kms_enable_key, "kms:EnableKey"},
    {"EnableKeyRotation", kms_enable_key_rotation, "kms:EnableKeyRotation"},
    {"Encrypt", kms_encrypt, "kms:Encrypt"},
    {"GenerateDataKey", kms_generate_data_key, "kms:GenerateDataKey"},
    {"GenerateDataKeyWithoutPlaintext", kms_generate_data_key_without_plaintext,
     "kms:GenerateDataKeyWithoutPlaintext"},
    {"GenerateRandom", kms_generate_random, "kms:GenerateRandom"},
    {"GetKeyLastUsage", kms_get_key_last_usage, "kms:GetKeyLastUsage"},
    {"GetKeyPolicy", kms_get_key_policy, "kms:GetKeyPolicy"},
    {"GetKeyRotationStatus", kms_get_key_rotation_status, "kms:GetKeyRotationStatus"},
    {"ListAliases", kms_list_aliases, "kms:ListAliases"},
    {"ListGrants", kms_list_grants, "kms:ListGrants"},
    {"ListKeyPolicies", kms_list_key_policies, "kms:ListKeyPolicies"},
    {"ListKeyRotations", kms_list_key_rotations, "kms:ListKeyRotations"},
    {"ListKeys", kms_list_keys, "kms:ListKeys"},
    {"ListResourceTags", kms_list_resource_tags, "kms:ListResourceTags"},
    {"ListRetirableGrants", kms_list_retirable_grants, "kms:ListRetirableGrants"},
    {"PutKeyPolicy", kms_put_key_policy, "kms:PutKeyPolicy"},
    {"ReEncrypt", kms_re_encrypt, "kms:ReEncrypt"},
    {"RetireGrant", kms_retire_grant, "kms:RetireGrant"},
    {"RevokeGrant", kms_revoke_grant, "kms:RevokeGrant"},
    {"RotateKeyOnDemand", kms_rotate_key_on_demand, "kms:RotateKeyOnDemand"},
    {"ScheduleKeyDeletion", kms_schedule_key_deletion, "kms:ScheduleKeyDeletion"},
    {"TagResource", kms_tag_resource, "kms:TagResource"},
    {"UntagResource", kms_untag_resource, "kms:UntagResource"},
    {"UpdateAlias", kms_update_alias, "kms:UpdateAlias"},
    {"UpdateKeyDescription", kms_update_key_description, "kms:UpdateKeyDescription"},
};
const size_t kms_actions_count = sizeof kms_actions / sizeof kms_actions[0];

static int action_cmp(const void *key, const void *elem)
{
    const struct core_cursor *op = key;
    const struct kms_action *a = elem;
    return core_cursor_cmp(*op, core_cursor_str(a->operation));
}

const struct kms_action *kms_action_find(struct core_cursor operation)
{
    if (operation.len == 0) return NULL;
    return bsearch(&operation, kms_actions, kms_actions_count, sizeof kms_actions[0], action_cmp);
}

core_result kms_env_new(const struct kms_env_options *opts, struct kms_env **out)
{
    struct kms_env *env = calloc(1, sizeof *env);
    ENSURE(env != NULL, ERR_NOMEM);
    env->ks = opts->ks;
    env->iam = opts->iam;
    env->last_usage = opts->last_usage;
    env->aes_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    if (env->aes_gcm == NULL) {
        free(env);
        BAIL(ERR_CRYPTO);
    }
    core_result r = kms_authz_env_init(env);
    if (!core_ok(r)) {
        EVP_CIPHER_free(env->aes_gcm);
        free(env);
        return r;
    }
    r = kms_grant_env_init(env);
    if (!core_ok(r)) {
        kms_env_free(env);
        return r;
    }
    snprintf(env->default_region, sizeof env->default_region, "%s",
             opts->default_region ? opts->default_region : "us-east-1");
    *out = env;
    CORE_OK;
}

void kms_env_free(struct kms_env *env)
{
    if (!env) return;
    EVP_CIPHER_free(env->aes_gcm);
    kms_authz_env_free(env);
    core_secret_free(&env->grant_token_key);
    free(env);
}

core_result kms_fail(struct kms_ctx *ctx, const char *code, const char *fmt, ...)
{
    char msg[CORE_REPLY_MAX_MESSAGE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Statuses from the model's error shapes. */
    unsigned status = (strcmp(code, "KMSInternalException") == 0 || strcmp(code, "KeyUnavailableException") == 0 ||
                       strcmp(code, "DependencyTimeoutException") == 0)
                          ? 500
                      : strcmp(code, "DryRunOperationException") == 0 ? 412
                                                                       : 400;
    return core_reply_error(ctx->out, status, code, "%s", msg);
}

core_result kms_internal(struct kms_ctx *ctx, core_result r, const char *what)
{
    if (r.err == ERR_API) return r;
    core_log(CORE_LOG_ERROR, "request %s: kms %s failed: %s at %s", ctx->call->request_id ? ctx->call->request_id : "-",
             what, core_err_name(r.err), core_result_site());
    kms_reply_from_err(ERR_NOMEM, ctx->out); /* KMSInternalException, whatever the cause */
    return (core_result){ERR_API};
}

static const char target_prefix[] = "TrentService.";

core_result kms_handle(struct kms_env *env, const struct kms_call *call, struct core_reply *out)
{
    struct kms_ctx ctx = {
        .env = env,
        .call = call,
        .caller = call->caller,
        .region = call->caller->region[0] ? call->caller->region : env->default_region,
        .account = call->caller->account,
        .out = out,
    };
    core_result r;
    struct core_cursor op = call->target;
    if (!core_cursor_starts_with(op, target_prefix)) {
        r = core_reply_error(out, 400, "UnknownOperationException", "%s", "");
        return r;
    }
    GUARD(core_cursor_advance(&op, sizeof target_prefix - 1, NULL));
    const struct kms_action *action = kms_action_find(op);
    if (action == NULL) return core_reply_error(out, 400, "UnknownOperationException", "%s", "");

    DEFER_CLEANUP(json_t *in = NULL, core_json_cleanup);
    /* An empty body is an empty request object, as AWS treats it. */
    if (call->body.len == 0) {
        in = json_object();
        ENSURE(in != NULL, ERR_NOMEM);
    } else {
        r = core_json_parse(call->body, CORE_MAX_JSON_DEPTH, &in);
        if (!core_ok(r) || !json_is_object(in))
            return core_reply_error(out, 400, "SerializationException", "%s",
                                    r.err == ERR_LIMIT ? "Request nesting is too deep" : "Malformed request body");
    }
    r = core_buf_init(&ctx.invalid, 0, 4096);
    ctx.in = in;
    if (core_ok(r)) r = action->fn(&ctx, in);
    kms_authz_end(&ctx);
    core_buf_free(&ctx.invalid);
    if (!core_ok(r) && !core_reply_failed(out)) kms_reply_from_err(r.err, out);
    return r;
}
