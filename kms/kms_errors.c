#include <stdarg.h>
#include <stdio.h>

#include "kms/kms_internal.h"

/*
 * The KMS error catalogue (kms_errors.def) and the mapping of core errors to
 * it. Every KMS error leaves through here, so the status of a code is
 * decided in one table, never by comparing strings.
 */

static const struct core_wire_error catalogue[KMS_E_COUNT] = {
#define X(e, code, status) [e] = {code, status},
#include "kms/kms_errors.def"
#undef X
};

const char *kms_error_code(enum kms_error e) { return catalogue[e].code; }

unsigned kms_error_status(enum kms_error e) { return catalogue[e].status; }

core_result kms_reply_fail(struct core_reply *out, enum kms_error e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    core_result r = core_reply_catalogue(out, &catalogue[e], fmt, ap);
    va_end(ap);
    return r;
}

core_result kms_fail(struct kms_ctx *ctx, enum kms_error e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    core_result r = core_reply_catalogue(ctx->out, &catalogue[e], fmt, ap);
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

/* Core errors to KMS wire errors, by class (core_err_class classes every core error). */
void kms_reply_from_err(enum core_err err, struct core_reply *out)
{
    static const struct {
        enum kms_error e;
        const char *msg;
    } by_class[CORE_CLASS_COUNT] = {
        [CORE_CLASS_NONE] = {KMS_E_INTERNAL, ""},
        [CORE_CLASS_INTERNAL] = {KMS_E_INTERNAL, "An internal error occurred."},
        [CORE_CLASS_LIMIT] = {KMS_E_LIMIT_EXCEEDED, "A limit was exceeded."},
        [CORE_CLASS_INVALID] = {KMS_E_VALIDATION, "The request is invalid."},
        [CORE_CLASS_NOT_FOUND] = {KMS_E_NOT_FOUND, "The specified resource does not exist."},
        [CORE_CLASS_EXISTS] = {KMS_E_ALREADY_EXISTS, "The resource already exists."},
        [CORE_CLASS_BAD_CIPHERTEXT] = {KMS_E_INVALID_CIPHERTEXT, ""},
        [CORE_CLASS_AUTH_MISSING] = {KMS_E_MISSING_AUTH_TOKEN, "Missing Authentication Token"},
        [CORE_CLASS_AUTH_INCOMPLETE] = {KMS_E_INCOMPLETE_SIGNATURE, "The request signature is incomplete."},
        [CORE_CLASS_AUTH_BAD_TOKEN] = {KMS_E_UNRECOGNIZED_CLIENT,
                                       "The security token included in the request is invalid."},
        [CORE_CLASS_AUTH_BAD_SIGNATURE] = {KMS_E_INVALID_SIGNATURE, "The request signature is invalid."},
        [CORE_CLASS_AUTH_EXPIRED_TOKEN] = {KMS_E_EXPIRED_TOKEN,
                                           "The security token included in the request is expired"},
    };
    enum core_err_class c = core_err_class(err);
    if (c == CORE_CLASS_NONE) return;
    core_result_ignore(kms_reply_fail(out, by_class[c].e, "%s", by_class[c].msg));
}
