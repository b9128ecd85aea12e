#include "core/core_reply.h"

#include <stdarg.h>
#include <stdio.h>

core_result core_reply_init(struct core_reply *r)
{
    *r = (struct core_reply){.status = 200};
    /* Bodies carry plaintexts, data keys and new secrets. */
    GUARD(core_buf_init_wiping(&r->body, 1024, CORE_REPLY_MAX_BODY));
    GUARD(core_buf_init(&r->message, 0, CORE_REPLY_MAX_MESSAGE));
    CORE_OK;
}

void core_reply_free(struct core_reply *r)
{
    core_buf_free(&r->body);
    core_buf_free(&r->message);
}

core_result core_reply_error(struct core_reply *r, unsigned status, const char *code, const char *fmt, ...)
{
    r->status = status;
    r->sender_fault = status < 500;
    snprintf(r->error_code, sizeof r->error_code, "%s", code);
    core_buf_reset(&r->message);
    char tmp[CORE_REPLY_MAX_MESSAGE];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) {
        size_t len = (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1;
        core_result_ignore(core_buf_append(&r->message, tmp, len));
    }
    return (core_result){ERR_API};
}

core_result core_reply_catalogue(struct core_reply *r, const struct core_wire_error *e, const char *fmt, va_list ap)
{
    char msg[CORE_REPLY_MAX_MESSAGE];
    vsnprintf(msg, sizeof msg, fmt, ap);
    return core_reply_error(r, e->status, e->code, "%s", msg);
}

core_result core_reply_wire(struct core_reply *r, const struct core_wire_error *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    core_result res = core_reply_catalogue(r, e, fmt, ap);
    va_end(ap);
    return res;
}

enum core_err_class core_err_class(enum core_err err)
{
    switch (err) {
    case ERR_OK:
    case ERR_API: return CORE_CLASS_NONE;
    case ERR_NOMEM:
    case ERR_IO:
    case ERR_CRYPTO:
    case ERR_TAMPERED:
    case ERR_WRONG_MASTER_KEY:
    case ERR_TXN_POISONED:
    case ERR_CONFLICT: /* retried by the keystore; left over: a retriable 500 */
    case CORE_ERR_COUNT: return CORE_CLASS_INTERNAL;
    case ERR_LIMIT: return CORE_CLASS_LIMIT;
    case ERR_INVALID_ARG:
    case ERR_PARSE: return CORE_CLASS_INVALID;
    case ERR_NOT_FOUND: return CORE_CLASS_NOT_FOUND;
    case ERR_EXISTS: return CORE_CLASS_EXISTS;
    case ERR_BAD_CIPHERTEXT: return CORE_CLASS_BAD_CIPHERTEXT;
    case ERR_AUTH_MISSING: return CORE_CLASS_AUTH_MISSING;
    case ERR_AUTH_INCOMPLETE: return CORE_CLASS_AUTH_INCOMPLETE;
    case ERR_AUTH_UNKNOWN_KEY:
    case ERR_AUTH_BAD_TOKEN: return CORE_CLASS_AUTH_BAD_TOKEN;
    case ERR_AUTH_BAD_SIGNATURE:
    case ERR_AUTH_EXPIRED: return CORE_CLASS_AUTH_BAD_SIGNATURE;
    case ERR_AUTH_EXPIRED_TOKEN: return CORE_CLASS_AUTH_EXPIRED_TOKEN;
    }
    return CORE_CLASS_INTERNAL;
}
