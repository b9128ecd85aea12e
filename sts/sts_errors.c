/* STS's error catalogue (sts_errors.def). */
#include <stdarg.h>
#include <stdio.h>

#include "sts/sts_internal.h"

static const struct {
    const char *code;
    unsigned status;
} catalogue[STS_E_COUNT] = {
#define X(e, code, status) [e] = {code, status},
#include "sts/sts_errors.def"
#undef X
};

core_result sts_fail(struct sts_ctx *ctx, enum sts_err e, const char *fmt, ...)
{
    char msg[CORE_REPLY_MAX_MESSAGE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return core_reply_error(ctx->out, catalogue[e].status, catalogue[e].code, "%s", msg);
}
