#include <stdarg.h>
#include <stdio.h>

#include "kms/kms_internal.h"

/*
 * The KMS error catalogue (kms_errors.def) and the mapping of core errors to
 * it. Every KMS error leaves through here, so the status of a code is
 * decided in one table, never by comparing strings.
 */

static const struct {
    const char *code;
    unsigned status;
} catalogue[KMS_E_COUNT] = {
#define X(e, code, status) [e] = {code, status},
#include "kms/kms_errors.def"
#undef X
};

const char *kms_error_code(enum kms_error e) { return catalogue[e].code; }

unsigned kms_error_status(enum kms_error e) { return catalogue[e].status; }

__attribute__((format(printf, 3, 0))) static core_result vfail(struct core_reply *out, enum kms_error e,
                                                                 const char *fmt, va_list ap)
{
    char msg[CORE_REPLY_MAX_MESSAGE];
    vsnprintf(msg, sizeof msg, fmt, ap);
    return core_reply_error(out, catalogue[e].status, catalogue[e].code, "%s", msg);
}

core_result kms_reply_fail(struct core_reply *out, enum kms_error e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    core_result r = vfail(out, e, fmt, ap);
    va_end(ap);
    return r;
}

core_result kms_fail(struct kms_ctx *ctx, enum kms_error e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    core_result r = vfail(ctx->out, e, fmt, ap);
    va_end(ap);
    return r;
}

core_result kms_internal(struct kms_ctx *ctx, core_result r, const char *what)
{
    if (r.err == ERR_API) return r;
    core_log(CORE_LOG_ERROR, "request %s: kms %s failed: %s at %s", ctx->call->request_id ? ctx->call->request_id : "-",
             what, core_err_name(r.err), core_result_site());
    kms_reply_from_err(ERR_NOMEM, ctx->out); /* KMSInternalException, whatever the cause */
    return (core_result){ERR_API};
}

/*
 * Core errors to KMS wire errors. No default: under -Wswitch a new core
 * error without a KMS mapping breaks the build.
 */
void kms_reply_from_err(enum core_err err, struct core_reply *out)
{
    enum kms_error e = KMS_E_INTERNAL;
    const char *msg = "An internal error occurred.";
    switch (err) {
    case ERR_OK:
    case ERR_API:
        return;
    case ERR_NOMEM:
    case ERR_IO:
    case ERR_CRYPTO:
    case ERR_TAMPERED:
    case ERR_WRONG_MASTER_KEY:
    case ERR_TXN_POISONED:
    case ERR_CONFLICT: /* retried by the keystore; left over: a retriable 500 */
    case CORE_ERR_COUNT:
        break;
    case ERR_LIMIT:
        e = KMS_E_LIMIT_EXCEEDED, msg = "A limit was exceeded.";
        break;
    case ERR_INVALID_ARG:
    case ERR_PARSE:
        e = KMS_E_VALIDATION, msg = "The request is invalid.";
        break;
    case ERR_NOT_FOUND:
        e = KMS_E_NOT_FOUND, msg = "The specified resource does not exist.";
        break;
    case ERR_EXISTS:
        e = KMS_E_ALREADY_EXISTS, msg = "The resource already exists.";
        break;
    case ERR_BAD_CIPHERTEXT:
        e = KMS_E_INVALID_CIPHERTEXT, msg = "";
        break;
    case ERR_AUTH_MISSING:
        e = KMS_E_MISSING_AUTH_TOKEN, msg = "Missing Authentication Token";
        break;
    case ERR_AUTH_INCOMPLETE:
        e = KMS_E_INCOMPLETE_SIGNATURE, msg = "The request signature is incomplete.";
        break;
    case ERR_AUTH_UNKNOWN_KEY:
    case ERR_AUTH_BAD_TOKEN:
        e = KMS_E_UNRECOGNIZED_CLIENT, msg = "The security token included in the request is invalid.";
        break;
    case ERR_AUTH_BAD_SIGNATURE:
    case ERR_AUTH_EXPIRED:
        e = KMS_E_INVALID_SIGNATURE, msg = "The request signature is invalid.";
        break;
    case ERR_AUTH_EXPIRED_TOKEN:
        e = KMS_E_EXPIRED_TOKEN, msg = "The security token included in the request is expired";
        break;
    }
    core_result_ignore(kms_reply_fail(out, e, "%s", msg));
}
