/*
 * Outbound identity federation switch: Enable/DisableOutboundWebIdentityFederation
 * and GetOutboundWebIdentityFederationInfo. While it is on for an account,
 * its principals may call STS GetWebIdentityToken. kmsd's issuer is one URL
 * for the server (--oidc-issuer), where /.well-known/openid-configuration and
 * /.well-known/jwks.json are served; AWS gives each account its own.
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_EnableOutboundWebIdentityFederation.html
 */
#include <stdio.h>

#include "iam/iam_internal.h"

#define OUTBOUND_REC "outbound"

core_result iam_outbound_enabled(struct keystore_txn *txn, const char *account, bool *enabled)
{
    *enabled = false;
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    core_result r = iam_rec_get(txn, IAM_T_OUTBOUND, account, core_cursor_str(OUTBOUND_REC), &rec);
    if (r.err == ERR_NOT_FOUND) CORE_OK;
    GUARD(r);
    *enabled = json_is_true(json_object_get(rec, "enabled"));
    CORE_OK;
}

static core_result set_txn(struct iam_ctx *ctx, struct keystore_txn *txn, bool on)
{
    bool enabled;
    GUARD(iam_outbound_enabled(txn, ctx->account, &enabled));
    /* FeatureEnabled (409) / FeatureDisabled (404), as the IAM API reference lists them. */
    if (on && enabled)
        return iam_fail(ctx->out, IAM_E_FEATURE_ENABLED, "%s",
                                "Outbound identity federation is already enabled for this account.");
    if (!on && !enabled)
        return iam_fail(ctx->out, IAM_E_FEATURE_DISABLED, "%s",
                                "Outbound identity federation is already disabled for this account.");
    DEFER_CLEANUP(json_t *rec = json_pack("{s:b,s:I}", "enabled", on, "changed", (json_int_t)ctx->now),
                  core_json_cleanup);
    ENSURE(rec != NULL, ERR_NOMEM);
    GUARD(iam_rec_put(txn, IAM_T_OUTBOUND, ctx->account, core_cursor_str(OUTBOUND_REC), rec, 0));
    if (on) GUARD(core_xml_elem_str(ctx->b, "IssuerIdentifier", ctx->env->oidc_issuer));
    CORE_OK;
}

static core_result enable_txn(struct iam_ctx *ctx, struct keystore_txn *txn) { return set_txn(ctx, txn, true); }
static core_result disable_txn(struct iam_ctx *ctx, struct keystore_txn *txn) { return set_txn(ctx, txn, false); }

core_result iam_enable_outbound_federation(struct iam_ctx *ctx) { return iam_write(ctx, enable_txn); }
core_result iam_disable_outbound_federation(struct iam_ctx *ctx) { return iam_write(ctx, disable_txn); }

static core_result info_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    bool enabled;
    GUARD(iam_outbound_enabled(txn, ctx->account, &enabled));
    if (!enabled)
        return iam_fail(ctx->out, IAM_E_FEATURE_DISABLED, "%s",
                                "Outbound identity federation is disabled for this account.");
    GUARD(core_xml_elem_str(ctx->b, "IssuerIdentifier", ctx->env->oidc_issuer));
    return core_xml_elem_str(ctx->b, "JwtVendingEnabled", "true");
}

core_result iam_get_outbound_federation_info(struct iam_ctx *ctx) { return iam_read(ctx, info_txn); }
