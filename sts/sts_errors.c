/* STS's error catalogue (sts_errors.def). */
#include <stdarg.h>
#include <stdio.h>

#include "sts/sts_internal.h"

static const struct core_wire_error catalogue[STS_E_COUNT] = {
#define X(e, code, status) [e] = {code, status},
#include "sts/sts_errors.def"
#undef X
};

core_result sts_fail(struct sts_ctx *ctx, enum sts_err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    core_result r = core_reply_catalogue(ctx->out, &catalogue[e], fmt, ap);
    va_end(ap);
    return r;
}
