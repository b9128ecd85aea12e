#include <stdio.h>
#include <stdlib.h>

#include "kms/kms_asym.h"

/*
 * The action table, sorted by operation name (a unit test checks the order)
 * and searched with bsearch. Adding an operation is one row here and one
 * file kms/kms_<operation>.c. Each row carries the operation's facts:
 *  - iam_action: "Required permissions" on the API page (ReEncrypt needs
 *    two, kms:ReEncryptFrom on the source and kms:ReEncryptTo on the
 *    destination);
 *  - key_forms: the identifier forms its KeyId accepts (API page, KeyId);
 *  - KMS_CROSS_ACCOUNT: "Cross-account use: Yes" on the API page and in
 *    https://docs.aws.amazon.com/kms/latest/developerguide/kms-api-permissions-reference.html
 *  - conditions: the condition keys it derives from its request
 *    (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html).
 * docs/authorization.md tabulates the same facts; kms_authz_table_test
 * checks the two agree.
 */
#define W KMS_WRITES
#define K KMS_NEEDS_KEY
#define R KMS_HAS_RESULT
#define X KMS_CROSS_ACCOUNT
#define ID KMS_ID_KEY
#define IDA (KMS_ID_KEY | KMS_ID_ALIAS)
const struct kms_action kms_actions[] = {
    KMS_ROW("CancelKeyDeletion", kms_cancel_key_deletion, "kms:CancelKeyDeletion", NULL, ID, W | K | R, NULL),
    KMS_ROW("CreateAlias", kms_create_alias, "kms:CreateAlias", NULL, ID, W | K, NULL),
    KMS_ROW("CreateGrant", kms_create_grant, "kms:CreateGrant", NULL, ID, W | K | R | X, kms_create_grant_conditions),
    KMS_ROW("CreateKey", kms_create_key, "kms:CreateKey", NULL, 0, W | R, kms_create_key_conditions),
    KMS_ROW("Decrypt", kms_decrypt, "kms:Decrypt", NULL, IDA, K | R | X, kms_decrypt_conditions),
    KMS_ROW("DeleteAlias", kms_delete_alias, "kms:DeleteAlias", NULL, 0, W, NULL),
    KMS_ROW("DeleteImportedKeyMaterial", kms_delete_imported_key_material, "kms:DeleteImportedKeyMaterial", NULL, ID,
            W | K | R, NULL),
    KMS_ROW("DeriveSharedSecret", kms_derive_shared_secret, "kms:DeriveSharedSecret", NULL, IDA, K | R | X,
            kms_derive_shared_secret_conditions),
    KMS_ROW("DescribeKey", kms_describe_key, "kms:DescribeKey", NULL, IDA, K | R | X, NULL),
    KMS_ROW("DisableKey", kms_disable_key, "kms:DisableKey", NULL, ID, W | K, NULL),
    KMS_ROW("DisableKeyRotation", kms_disable_key_rotation, "kms:DisableKeyRotation", NULL, ID, W | K, NULL),
    KMS_ROW("EnableKey", kms_enable_key, "kms:EnableKey", NULL, ID, W | K, NULL),
    KMS_ROW("EnableKeyRotation", kms_enable_key_rotation, "kms:EnableKeyRotation", NULL, ID, W | K,
            kms_enable_key_rotation_conditions),
    KMS_ROW("Encrypt", kms_encrypt, "kms:Encrypt", NULL, IDA, K | R | X, kms_encrypt_conditions),
    KMS_ROW("GenerateDataKey", kms_generate_data_key, "kms:GenerateDataKey", NULL, IDA, K | R | X,
            kms_generate_data_key_conditions),
    KMS_ROW("GenerateDataKeyPair", kms_generate_data_key_pair, "kms:GenerateDataKeyPair", NULL, IDA, K | R | X,
            kms_generate_data_key_pair_conditions),
    KMS_ROW("GenerateDataKeyPairWithoutPlaintext", kms_generate_data_key_pair_without_plaintext,
            "kms:GenerateDataKeyPairWithoutPlaintext", NULL, IDA, K | R | X, kms_generate_data_key_pair_conditions),
    KMS_ROW("GenerateDataKeyWithoutPlaintext", kms_generate_data_key_without_plaintext,
            "kms:GenerateDataKeyWithoutPlaintext", NULL, IDA, K | R | X, kms_generate_data_key_conditions),
    KMS_ROW("GenerateMac", kms_generate_mac, "kms:GenerateMac", NULL, IDA, K | R | X, kms_generate_mac_conditions),
    KMS_ROW("GenerateRandom", kms_generate_random, "kms:GenerateRandom", NULL, 0, R, NULL),
    KMS_ROW("GetKeyLastUsage", kms_get_key_last_usage, "kms:GetKeyLastUsage", NULL, ID, K | R, NULL),
    KMS_ROW("GetKeyPolicy", kms_get_key_policy, "kms:GetKeyPolicy", NULL, ID, K | R, NULL),
    KMS_ROW("GetKeyRotationStatus", kms_get_key_rotation_status, "kms:GetKeyRotationStatus", NULL, ID, K | R | X, NULL),
    KMS_ROW("GetParametersForImport", kms_get_parameters_for_import, "kms:GetParametersForImport", NULL, ID, K | R,
            kms_get_parameters_for_import_conditions),
    KMS_ROW("GetPublicKey", kms_get_public_key, "kms:GetPublicKey", NULL, IDA, K | R | X, NULL),
    KMS_ROW("ImportKeyMaterial", kms_import_key_material, "kms:ImportKeyMaterial", NULL, ID, W | K | R,
            kms_import_key_material_conditions),
    KMS_ROW("ListAliases", kms_list_aliases, "kms:ListAliases", NULL, ID, R, NULL),
    KMS_ROW("ListGrants", kms_list_grants, "kms:ListGrants", NULL, ID, K | R | X, kms_grant_is_for_aws_conditions),
    KMS_ROW("ListKeyPolicies", kms_list_key_policies, "kms:ListKeyPolicies", NULL, ID, K | R, NULL),
    KMS_ROW("ListKeyRotations", kms_list_key_rotations, "kms:ListKeyRotations", NULL, ID, K | R, NULL),
    KMS_ROW("ListKeys", kms_list_keys, "kms:ListKeys", NULL, 0, R, NULL),
    KMS_ROW("ListResourceTags", kms_list_resource_tags, "kms:ListResourceTags", NULL, ID, K | R, NULL),
    KMS_ROW("ListRetirableGrants", kms_list_retirable_grants, "kms:ListRetirableGrants", NULL, 0, R, NULL),
    KMS_ROW("PutKeyPolicy", kms_put_key_policy, "kms:PutKeyPolicy", NULL, ID, W | K, kms_put_key_policy_conditions),
    KMS_ROW("ReEncrypt", kms_re_encrypt, "kms:ReEncryptFrom", "kms:ReEncryptTo", IDA, K | R | X, kms_re_encrypt_conditions),
    KMS_ROW("ReplicateKey", kms_replicate_key, "kms:ReplicateKey", NULL, ID, W | K | R, kms_replicate_key_conditions),
    KMS_ROW("RetireGrant", kms_retire_grant, "kms:RetireGrant", NULL, ID, W | K | X, NULL),
    KMS_ROW("RevokeGrant", kms_revoke_grant, "kms:RevokeGrant", NULL, ID, W | K | X, kms_grant_is_for_aws_conditions),
    KMS_ROW("RotateKeyOnDemand", kms_rotate_key_on_demand, "kms:RotateKeyOnDemand", NULL, ID, W | K | R, NULL),
    KMS_ROW("ScheduleKeyDeletion", kms_schedule_key_deletion, "kms:ScheduleKeyDeletion", NULL, ID, W | K | R,
            kms_schedule_key_deletion_conditions),
    KMS_ROW("Sign", kms_sign, "kms:Sign", NULL, IDA, K | R | X, kms_sign_conditions),
    KMS_ROW("TagResource", kms_tag_resource, "kms:TagResource", NULL, ID, W | K, kms_tag_resource_conditions),
    KMS_ROW("UntagResource", kms_untag_resource, "kms:UntagResource", NULL, ID, W | K, kms_untag_resource_conditions),
    KMS_ROW("UpdateAlias", kms_update_alias, "kms:UpdateAlias", NULL, ID, W | K, NULL),
    KMS_ROW("UpdateKeyDescription", kms_update_key_description, "kms:UpdateKeyDescription", NULL, ID, W | K, NULL),
    KMS_ROW("UpdatePrimaryRegion", kms_update_primary_region, "kms:UpdatePrimaryRegion", NULL, ID, W | K,
            kms_update_primary_region_conditions),
    KMS_ROW("Verify", kms_verify, "kms:Verify", NULL, IDA, K | R | X, kms_sign_conditions),
    KMS_ROW("VerifyMac", kms_verify_mac, "kms:VerifyMac", NULL, IDA, K | R | X, kms_generate_mac_conditions),
};
#undef W
#undef K
#undef R
#undef X
#undef ID
#undef IDA
const size_t kms_actions_count = sizeof kms_actions / sizeof kms_actions[0];

/* The row this thread found last: the writer-pool check (kms_action_writes) and kms_handle look up the
 * same operation for each request, and a load repeats one operation (issue 14, round 5). It points
 * into the constant table, so it is never stale; a name equal to the row's is that row. */
static _Thread_local const struct kms_action *last_found;

const struct kms_action *kms_action_find(struct core_cursor operation)
{
    const struct kms_action *last = last_found;
    if (last && core_cursor_eq(operation, core_cursor_from(last->row.name, last->row.name_len))) return last;
    /* row is the first member of struct kms_action */
    const struct kms_action *a = (const struct kms_action *)core_action_find(kms_actions, kms_actions_count,
                                                                             sizeof kms_actions[0], operation);
    if (a) last_found = a;
    return a;
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
    kms_asym_shutdown(); /* the parsed-key cache and the RSA pool (kms_asym.c) */
    free(env);
}

const char *kms_permission(const struct kms_ctx *ctx)
{
    return ctx->second_key && ctx->action->iam_action_to ? ctx->action->iam_action_to : ctx->action->row.iam_action;
}

static const char target_prefix[] = "TrentService.";

bool kms_action_writes(struct core_cursor target)
{
    if (!core_cursor_starts_with(target, target_prefix)) return false;
    const struct kms_action *a =
        kms_action_find(core_cursor_from(target.ptr + sizeof target_prefix - 1, target.len - (sizeof target_prefix - 1)));
    return a != NULL && core_action_has(&a->row, KMS_WRITES);
}

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
    if (!core_cursor_starts_with(op, target_prefix)) return kms_reply_fail(out, KMS_E_UNKNOWN_OPERATION, "%s", "");
    GUARD(core_cursor_advance(&op, sizeof target_prefix - 1, NULL));
    const struct kms_action *action = kms_action_find(op);
    if (action == NULL) return kms_reply_fail(out, KMS_E_UNKNOWN_OPERATION, "%s", "");
    ctx.action = action;

    DEFER_CLEANUP(json_t *tree = NULL, core_json_cleanup);
    struct core_jflat flat;
    r = kms_params_read(&ctx, call->body, &flat, &tree);
    if (!core_ok(r)) return r;
    r = core_buf_init(&ctx.invalid, 0, 4096);
    if (core_ok(r)) r = action->fn(&ctx, ctx.in);
    /* Operations without a result answer an empty object. */
    if (core_ok(r) && out->body.len == 0 && !(action->row.flags & KMS_HAS_RESULT)) r = core_buf_append_str(&out->body, "{}");
    kms_authz_end(&ctx);
    core_buf_free(&ctx.invalid);
    if (!core_ok(r) && !core_reply_failed(out)) kms_reply_from_err(r.err, out);
    return r;
}
