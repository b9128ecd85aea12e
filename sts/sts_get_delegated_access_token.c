/*
 * GetDelegatedAccessToken: not served. AWS's documentation defines the call
 * (a TradeInToken in, credentials and AssumedPrincipal out, errors
 * ExpiredTradeInToken, RegionDisabledException, PackedPolicyTooLarge) but
 * not the trade-in token itself: which operation or service issues it, what
 * it contains, how it is verified, which principal it names and how long it
 * lasts. kmsd cannot issue or check such a token faithfully, so it validates
 * the parameter as the model states it and then answers a clear error saying
 * why, instead of inventing a token format clients would come to rely on.
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_GetDelegatedAccessToken.html
 */
#include "sts/sts_internal.h"

core_result sts_get_delegated_access_token(struct sts_ctx *ctx)
{
    const struct query_str_spec ts = {.name = "TradeInToken", .required = true, .min = 1, .max = 8192,
                                    .cs = QUERY_CS_ANY};
    struct core_cursor token;
    GUARD(query_param_str(ctx->call->form, ctx->out, &ts, &token, NULL));
    return sts_fail(ctx, STS_E_NOT_IMPLEMENTED, "%s",
                    "kmsd does not implement GetDelegatedAccessToken: AWS does not document how trade-in tokens "
                    "are issued, what they contain or how they are verified, so kmsd has no trade-in token to "
                    "accept (see docs/sts.md)");
}
