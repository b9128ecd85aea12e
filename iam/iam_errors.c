/* IAM's error catalogue (iam_errors.def) and the mapping of a handler's core error to it. */
#include <stdarg.h>
#include <stdio.h>

#include "iam/iam_internal.h"

static const struct {
    const char *code;
    unsigned status;
} catalogue[IAM_E_COUNT] = {
#define X(e, code, status) [e] = {code, status},
#include "iam/iam_errors.def"
#undef X
};

core_result iam_fail(struct core_reply *out, enum iam_err e, const char *fmt, ...)
{
    char msg[CORE_REPLY_MAX_MESSAGE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return core_reply_error(out, catalogue[e].status, catalogue[e].code, "%s", msg);
}

/* A handler's failure that recorded no reply; no default (-Wswitch). */
void iam_reply_from_err(enum core_err err, struct core_reply *out)
{
    enum iam_err e = IAM_E_SERVICE_FAILURE;
    const char *msg = "The request processing has failed because of an unknown error.";
    switch (err) {
    case ERR_OK:
    case ERR_API:
        return;
    case ERR_NOT_FOUND:
        e = IAM_E_NO_SUCH_ENTITY, msg = "The requested entity does not exist.";
        break;
    case ERR_EXISTS:
        e = IAM_E_ENTITY_ALREADY_EXISTS, msg = "The entity already exists.";
        break;
    case ERR_NOMEM:
    case ERR_IO:
    case ERR_CRYPTO:
    case ERR_TAMPERED:
    case ERR_WRONG_MASTER_KEY:
    case ERR_TXN_POISONED:
    case ERR_BAD_CIPHERTEXT:
    case ERR_LIMIT:
    case ERR_INVALID_ARG:
    case ERR_PARSE:
    case ERR_AUTH_MISSING:
    case ERR_AUTH_INCOMPLETE:
    case ERR_AUTH_UNKNOWN_KEY:
    case ERR_AUTH_BAD_TOKEN:
    case ERR_AUTH_BAD_SIGNATURE:
    case ERR_AUTH_EXPIRED:
    case ERR_AUTH_EXPIRED_TOKEN:
    case CORE_ERR_COUNT:
        break;
    }
    core_result_ignore(iam_fail(out, e, "%s", msg));
}
