/*
 * GetAccessKeyInfo: the account an access key belongs to. Long-term keys are
 * looked up; kmsd serves one account, so other key ids (ASIA..., unknown
 * keys) report the caller's account, as AWS reports the account encoded in
 * any well-formed key id. https://docs.aws.amazon.com/STS/latest/APIReference/API_GetAccessKeyInfo.html
 */
#include "sts/sts_internal.h"

core_result sts_get_access_key_info(struct sts_ctx *ctx)
{
    const struct query_str_spec ks = {.name = "AccessKeyId", .required = true, .min = 16, .max = 128, .cs = QUERY_CS_WORD};
    struct core_cursor id;
    GUARD(query_param_str(ctx->call->form, ctx->out, &ks, &id, NULL));
    char account[16];
    memcpy(account, ctx->caller->account, sizeof account);
    struct keystore_txn *txn = NULL;
    GUARD(keystore_txn_begin(ctx->env->ks, false, &txn));
    struct iam_access_key k = {0};
    core_result r = iam_access_key_get(txn, id, &k);
    keystore_txn_abort(txn);
    if (core_ok(r)) memcpy(account, k.owner.account, sizeof account);
    iam_access_key_free(&k);
    if (!core_ok(r) && r.err != ERR_NOT_FOUND) return r;
    return core_xml_elem_str(&ctx->out->body, "Account", account);
}
