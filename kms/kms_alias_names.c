#include <stdio.h>

#include "kms/kms_internal.h"

/*
 * What CreateAlias, UpdateAlias and DeleteAlias share: the AliasName
 * parameter and its rules, the alias ARN, authorization on the target key,
 * and the aliases-per-key quota.
 */

core_result kms_alias_quota_check(struct kms_ctx *ctx, struct keystore_txn *txn, const struct kms_key *key)
{
    DEFER_CLEANUP(struct core_buf names = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&names, KMS_MAX_ALIASES_PER_KEY * 256u, KMS_MAX_ALIASES_PER_KEY * 256u));
    struct core_cursor v[KMS_MAX_ALIASES_PER_KEY];
    size_t n = 0;
    core_result r = kms_key_aliases(txn, key, &names, v, KMS_MAX_ALIASES_PER_KEY, &n);
    if (r.err != ERR_LIMIT) GUARD(r);
    /* "Aliases per KMS key: 50"; the message is the model's LimitExceededException text.
     * https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html#aliases-per-key */
    if (r.err == ERR_LIMIT || n >= KMS_MAX_ALIASES_PER_KEY)
        return kms_fail(ctx, KMS_E_LIMIT_EXCEEDED, "The request was rejected because a quota was exceeded. The KMS "
                        "key %s already has %u aliases.", key->arn, KMS_MAX_ALIASES_PER_KEY);
    CORE_OK;
}

/* ---- alias names ---------------------------------------------------------------- */

core_result kms_param_alias_name(struct kms_ctx *ctx, const json_t *in, struct core_cursor *out, bool *present)
{
    GUARD(kms_param_string(ctx, in, "AliasName", 1, 256, true, out, present));
    if (!*present) CORE_OK;
    for (size_t i = 0; i < out->len; i++) {
        uint8_t c = out->ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' || c == '/' ||
              c == '_' || c == '-')) {
            char e[300];
            kms_echo(*out, e);
            kms_invalid(ctx, "AliasName", e, "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$");
            *present = false;
            break;
        }
    }
    CORE_OK;
}

core_result kms_alias_name_check(struct kms_ctx *ctx, struct core_cursor name)
{
    /* https://docs.aws.amazon.com/kms/latest/developerguide/alias-about.html */
    if (!core_cursor_starts_with(name, "alias/") || name.len == 6)
        return kms_fail(ctx, KMS_E_VALIDATION, "%s",
                        "Alias must start with the prefix \"alias/\". Please see "
                        "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html");
    char e[300];
    kms_echo(name, e);
    for (size_t i = 0; i < name.len; i++)
        if (name.ptr[i] == ':')
            return kms_fail(ctx, KMS_E_VALIDATION, "%s contains invalid characters for an alias", e);
    /* "The alias/aws/ prefix is reserved for AWS managed keys." */
    if (core_cursor_starts_with(name, "alias/aws/") || core_cursor_eq_str(name, "alias/aws"))
        return kms_fail(ctx, KMS_E_NOT_AUTHORIZED, "%s",
                        "Aliases beginning with alias/aws/ are reserved for AWS managed keys.");
    CORE_OK;
}

void kms_alias_arn(const struct kms_ctx *ctx, struct core_cursor name, char *out, size_t cap)
{
    char nm[257];
    size_t n = name.len < 256 ? name.len : 256;
    memcpy(nm, name.ptr, n);
    nm[n] = 0;
    kms_arn(out, cap, ctx->region, ctx->account, nm);
}

core_result kms_alias_authorize_target(struct kms_ctx *ctx, struct keystore_txn *txn, const struct kms_alias *al)
{
    DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
    GUARD(kms_key_init(&k));
    core_result r = kms_key_get(txn, ctx->account, ctx->region, al->target, &k);
    if (r.err == ERR_NOT_FOUND) CORE_OK;
    GUARD(r);
    return kms_authorize(ctx, txn, &k);
}

core_result kms_alias_point(struct kms_ctx *ctx, const json_t *in, kms_apply_fn apply)
{
    struct core_cursor name, target;
    bool have_name, have_target;
    GUARD(kms_param_alias_name(ctx, in, &name, &have_name));
    GUARD(kms_param_key_id(ctx, in, "TargetKeyId", true, &target, &have_target));
    GUARD(kms_params_done(ctx));
    GUARD(kms_alias_name_check(ctx, name));
    GUARD(kms_authorize_alias(ctx, name));
    struct kms_mutation m = {.ctx = ctx, .id = target, .rule = KMS_RULE_MANAGE, .apply = apply, .arg = &name};
    core_result r = kms_key_mutate(&m);
    kms_key_free(&m.key);
    if (!core_ok(r)) return kms_internal(ctx, r, ctx->action->row.name);
    return core_buf_append_str(&ctx->out->body, "{}");
}
