#include <stdio.h>

#include "kms/kms_internal.h"

/*
 * Key identifiers. "To specify a KMS key, use its key ID, key ARN, alias
 * name, or alias ARN" - each operation accepts a subset, given by forms.
 * https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-id
 * Alias records are kms_alias_record.c's; the alias-name rules shared by
 * the alias operations are in kms_alias_names.c.
 */

void kms_echo(struct core_cursor s, char out[300])
{
    size_t n = s.len < 256 ? s.len : 256;
    for (size_t i = 0; i < n; i++) out[i] = (s.ptr[i] < 0x20 || s.ptr[i] == 0x7f) ? ' ' : (char)s.ptr[i];
    out[n] = 0;
}

static core_result invalid_key_id(struct kms_ctx *ctx, struct core_cursor id)
{
    char e[300];
    kms_echo(id, e);
    return kms_fail(ctx, KMS_E_NOT_FOUND, "Invalid keyId '%s'", e);
}

static bool valid_region(struct core_cursor r)
{
    if (r.len == 0 || r.len >= 32) return false;
    for (size_t i = 0; i < r.len; i++)
        if (!((r.ptr[i] >= 'a' && r.ptr[i] <= 'z') || (r.ptr[i] >= '0' && r.ptr[i] <= '9') || r.ptr[i] == '-'))
            return false;
    return true;
}

static bool valid_account(struct core_cursor a)
{
    if (a.len != 12) return false;
    for (size_t i = 0; i < 12; i++)
        if (a.ptr[i] < '0' || a.ptr[i] > '9') return false;
    return true;
}

static void cpy(char *dst, size_t cap, struct core_cursor s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    memcpy(dst, s.ptr, n);
    dst[n] = 0;
}

/* Resolves alias name (full "alias/...") in (account, region). */
static core_result resolve_alias(struct kms_ctx *ctx, struct keystore_txn *txn, const char *account,
                                 const char *region, struct core_cursor name, struct kms_key_ref *ref,
                                 bool *managed_missing)
{
    struct kms_alias a;
    core_result r = kms_alias_get(txn, account, region, name, &a);
    if (core_ok(r)) {
        core_str_copy(ref->account, sizeof ref->account, account);
        core_str_copy(ref->region, sizeof ref->region, region);
        core_str_copy(ref->key_id, sizeof ref->key_id, a.target);
        CORE_OK;
    }
    if (r.err != ERR_NOT_FOUND) return r;
    if (managed_missing && strcmp(account, ctx->account) == 0 && strcmp(region, ctx->region) == 0 &&
        kms_managed_service(name)) {
        *managed_missing = true;
        CORE_OK;
    }
    char e[300], arn[KMS_MAX_ARN + 300];
    kms_echo(name, e);
    kms_arn(arn, sizeof arn, region, account, e);
    return kms_fail(ctx, KMS_E_NOT_FOUND, "Alias %s is not found.", arn);
}

/* kms:RequestAlias: "the alias name ... used in the request to identify the KMS key". */
static void note_alias(struct kms_ctx *ctx, struct core_cursor name)
{
    size_t n = name.len < sizeof ctx->request_alias - 1 ? name.len : sizeof ctx->request_alias - 1;
    memcpy(ctx->request_alias, name.ptr, n);
    ctx->request_alias[n] = 0;
}

/* An operation that is not cross-account refuses another account's key or
 * alias ARN before looking it up, so the refusal says nothing about
 * whether it exists. */
static core_result cross_account_check(struct kms_ctx *ctx, const char *account, struct core_cursor arn)
{
    if (strcmp(account, ctx->account) == 0 || (ctx->action->row.flags & KMS_CROSS_ACCOUNT)) CORE_OK;
    char e[300];
    kms_echo(arn, e);
    return kms_deny_cross_account(ctx, e);
}

core_result kms_resolve(struct kms_ctx *ctx, struct keystore_txn *txn, struct core_cursor id, unsigned forms,
                        struct kms_key_ref *ref, bool *managed_missing)
{
    if (managed_missing) *managed_missing = false;
    /* kms:RequestAlias belongs to the key resolved now, never to an earlier one (ReEncrypt). */
    ctx->request_alias[0] = 0;
    if (core_cursor_starts_with(id, "arn:")) {
        /* arn:partition:kms:region:account:resource */
        struct core_cursor rest = id, part[5];
        for (int i = 0; i < 5; i++)
            if (!core_cursor_split(&rest, ':', &part[i]) || rest.ptr == NULL) return invalid_key_id(ctx, id);
        struct core_cursor res = rest;
        if (!core_partition_known(part[1]) || !core_cursor_eq_str(part[2], "kms") ||
            !valid_region(part[3]) || !valid_account(part[4]))
            return invalid_key_id(ctx, id);
        char region[32], account[16];
        cpy(region, sizeof region, part[3]);
        cpy(account, sizeof account, part[4]);
        if (core_cursor_starts_with(res, "key/") && (forms & KMS_ID_KEY)) {
            struct core_cursor kid = core_cursor_from(res.ptr + 4, res.len - 4);
            if (!kms_is_key_id(kid)) return invalid_key_id(ctx, id);
            if (strcmp(region, ctx->region) != 0 || !core_cursor_eq_str(part[1], core_partition_of(ctx->region)))
                return kms_fail(ctx, KMS_E_NOT_FOUND, "Invalid arn %s", region);
            GUARD(cross_account_check(ctx, account, id));
            core_str_copy(ref->account, sizeof ref->account, account);
            core_str_copy(ref->region, sizeof ref->region, region);
            cpy(ref->key_id, sizeof ref->key_id, kid);
            CORE_OK;
        }
        if (core_cursor_starts_with(res, "alias/") && (forms & KMS_ID_ALIAS)) {
            if (strcmp(region, ctx->region) != 0 || !core_cursor_eq_str(part[1], core_partition_of(ctx->region)))
                return kms_fail(ctx, KMS_E_NOT_FOUND, "Invalid arn %s", region);
            GUARD(cross_account_check(ctx, account, id));
            note_alias(ctx, res);
            return resolve_alias(ctx, txn, account, region, res, ref, managed_missing);
        }
        return invalid_key_id(ctx, id);
    }
    if (core_cursor_starts_with(id, "alias/")) {
        if (!(forms & KMS_ID_ALIAS)) return invalid_key_id(ctx, id);
        note_alias(ctx, id);
        return resolve_alias(ctx, txn, ctx->account, ctx->region, id, ref, managed_missing);
    }
    if (!kms_is_key_id(id)) return invalid_key_id(ctx, id);
    core_str_copy(ref->account, sizeof ref->account, ctx->account);
    core_str_copy(ref->region, sizeof ref->region, ctx->region);
    cpy(ref->key_id, sizeof ref->key_id, id);
    CORE_OK;
}

bool kms_resolve_peek(struct kms_ctx *ctx, struct keystore_txn *txn, struct core_cursor id, struct kms_key_ref *ref)
{
    char alias[sizeof ctx->request_alias];
    memcpy(alias, ctx->request_alias, sizeof alias);
    bool had_error = core_reply_failed(ctx->out);
    bool missing = false;
    core_result r = kms_resolve(ctx, txn, id, ctx->action->key_forms, ref, &missing);
    memcpy(ctx->request_alias, alias, sizeof alias);
    if (!had_error && core_reply_failed(ctx->out)) {
        /* Forget the error this look-ahead recorded: the real resolution reports it in order. */
        ctx->out->status = 200;
        ctx->out->error_code[0] = 0;
        core_buf_reset(&ctx->out->message);
    }
    return core_ok(r) && !missing;
}

core_result kms_key_load(struct kms_ctx *ctx, struct keystore_txn *txn, const struct kms_key_ref *ref,
                         struct kms_key *key)
{
    core_result r = kms_key_get(txn, ref->account, ref->region, ref->key_id, key);
    if (r.err == ERR_NOT_FOUND) {
        char arn[KMS_MAX_ARN], res[64];
        snprintf(res, sizeof res, "key/%s", ref->key_id);
        kms_arn(arn, sizeof arn, ref->region, ref->account, res);
        return kms_fail(ctx, KMS_E_NOT_FOUND, "Key '%s' does not exist", arn);
    }
    return r;
}
