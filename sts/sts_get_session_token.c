/*
 * GetSessionToken: temporary credentials for the calling IAM user (or root),
 * optionally MFA-authenticated.
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html
 * "Credentials based on account credentials can range from 900 seconds (15
 * minutes) up to 3,600 seconds (1 hour), with a default of 1 hour."
 */
#include "sts/sts_internal.h"

core_result sts_get_session_token(struct sts_ctx *ctx)
{
    const struct core_form *f = ctx->call->form;
    const struct core_principal *caller = ctx->caller;
    int64_t duration = 43200;
    struct core_cursor serial, code;
    bool have_serial, have_code;
    GUARD(query_param_int(f, ctx->out, "DurationSeconds", false, 900, 129600, &duration, NULL));
    const struct query_str_spec ss = {.name = "SerialNumber", .min = 9, .max = 256, .cs = QUERY_CS_SERIAL};
    GUARD(query_param_str(f, ctx->out, &ss, &serial, &have_serial));
    const struct query_str_spec ts = {.name = "TokenCode", .min = 6, .max = 6, .cs = QUERY_CS_DIGITS};
    GUARD(query_param_str(f, ctx->out, &ts, &code, &have_code));
    if (caller->temporary || (caller->type != CORE_PRINCIPAL_USER && caller->type != CORE_PRINCIPAL_ROOT))
        return sts_fail(ctx, STS_E_ACCESS_DENIED, "Cannot call GetSessionToken with session credentials");
    if (have_serial != have_code)
        return sts_fail(ctx, STS_E_VALIDATION, "SerialNumber and TokenCode must be specified together.");
    if (caller->type == CORE_PRINCIPAL_ROOT && duration > 3600) duration = 3600;
    bool mfa = false;
    if (have_serial) {
        core_result r = sts_mfa_use_code(ctx, serial, code);
        if (r.err == ERR_NOMEM || r.err == ERR_IO) return r;
        if (!core_ok(r))
            return sts_fail(ctx, STS_E_ACCESS_DENIED,
                            "MultiFactorAuthentication failed with invalid MFA one time pass code.");
        mfa = true;
    }
    struct sts_issue in = {
        .type = caller->type,
        .account = caller->account,
        .arn = caller->arn,
        .user_id = caller->user_id,
        .issued = ctx->call->now,
        .expires = ctx->call->now + duration,
        .mfa = mfa,
    };
    return sts_issue_credentials(ctx, &in);
}
