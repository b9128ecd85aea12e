/*
 * The Query protocol's error catalogue (query_errors.def), the mapping of
 * core errors to it, and the action lookup every Query request starts with.
 */
#include <stdarg.h>
#include <stdio.h>

#include "query/query.h"

static const struct {
    const char *code;
    unsigned status;
} catalogue[QUERY_E_COUNT] = {
#define X(e, code, status) [e] = {code, status},
#include "query/query_errors.def"
#undef X
};

const char *query_err_code(enum query_err e) { return catalogue[e].code; }
unsigned query_err_status(enum query_err e) { return catalogue[e].status; }

core_result query_fail(struct core_reply *out, enum query_err e, const char *fmt, ...)
{
    char msg[CORE_REPLY_MAX_MESSAGE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return core_reply_error(out, catalogue[e].status, catalogue[e].code, "%s", msg);
}

/* Core errors to Query-protocol errors; no default (-Wswitch). */
void query_reply_from_err(enum core_err err, struct core_reply *out)
{
    enum query_err e = QUERY_E_INTERNAL_FAILURE;
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
    case ERR_BAD_CIPHERTEXT:
    case CORE_ERR_COUNT:
        break;
    case ERR_LIMIT:
        e = QUERY_E_LIMIT_EXCEEDED, msg = "A limit was exceeded.";
        break;
    case ERR_INVALID_ARG:
    case ERR_PARSE:
        e = QUERY_E_VALIDATION, msg = "The request is invalid.";
        break;
    case ERR_NOT_FOUND:
        e = QUERY_E_NO_SUCH_ENTITY, msg = "The requested entity does not exist.";
        break;
    case ERR_EXISTS:
        e = QUERY_E_ENTITY_ALREADY_EXISTS, msg = "The entity already exists.";
        break;
    case ERR_AUTH_MISSING:
        e = QUERY_E_MISSING_AUTHENTICATION_TOKEN, msg = "Request is missing Authentication Token";
        break;
    case ERR_AUTH_INCOMPLETE:
        e = QUERY_E_INCOMPLETE_SIGNATURE, msg = "The request signature is incomplete.";
        break;
    case ERR_AUTH_UNKNOWN_KEY:
    case ERR_AUTH_BAD_TOKEN:
        e = QUERY_E_INVALID_CLIENT_TOKEN_ID, msg = "The security token included in the request is invalid.";
        break;
    case ERR_AUTH_BAD_SIGNATURE:
    case ERR_AUTH_EXPIRED:
        e = QUERY_E_SIGNATURE_DOES_NOT_MATCH, msg = "The request signature is invalid.";
        break;
    case ERR_AUTH_EXPIRED_TOKEN:
        e = QUERY_E_EXPIRED_TOKEN, msg = "The security token included in the request is expired";
        break;
    }
    core_result_ignore(query_fail(out, e, "%s", msg));
}

core_result query_action(const struct core_form *f, const char *version, const void *table, size_t count,
                         size_t row_size, struct core_reply *out, struct core_cursor *action,
                         const struct core_action **row)
{
    struct core_cursor v;
    *action = (struct core_cursor){0};
    if (!core_form_get(f, "Action", action)) return query_fail(out, QUERY_E_MISSING_ACTION, "%s", "Missing Action");
    *row = core_action_find(table, count, row_size, *action);
    if (*row == NULL || !core_form_get(f, "Version", &v) || !core_cursor_eq_str(v, version)) {
        int n = (int)(action->len > 128 ? 128 : action->len);
        return query_fail(out, QUERY_E_INVALID_ACTION, "Could not find operation %.*s for version %s", n,
                          (const char *)action->ptr, version);
    }
    CORE_OK;
}
