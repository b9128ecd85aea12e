/*
 * The Query protocol's error catalogue (query_errors.def), the mapping of
 * core errors to it, and the action lookup every Query request starts with.
 */
#include <stdio.h>

#include "query/query.h"

const struct core_wire_error query_errors[QUERY_E_COUNT] = {
#define X(e, code, status) [e] = {code, status},
#include "query/query_errors.def"
#undef X
};

/* Core errors to Query-protocol errors, by class (core_err_class classes every core error). */
void query_reply_from_err(enum core_err err, struct core_reply *out)
{
    static const struct {
        enum query_err e;
        const char *msg;
    } by_class[CORE_CLASS_COUNT] = {
        [CORE_CLASS_NONE] = {QUERY_E_INTERNAL_FAILURE, ""},
        [CORE_CLASS_INTERNAL] = {QUERY_E_INTERNAL_FAILURE, "An internal error occurred."},
        [CORE_CLASS_BAD_CIPHERTEXT] = {QUERY_E_INTERNAL_FAILURE, "An internal error occurred."},
        [CORE_CLASS_LIMIT] = {QUERY_E_LIMIT_EXCEEDED, "A limit was exceeded."},
        [CORE_CLASS_INVALID] = {QUERY_E_VALIDATION, "The request is invalid."},
        [CORE_CLASS_NOT_FOUND] = {QUERY_E_NO_SUCH_ENTITY, "The requested entity does not exist."},
        [CORE_CLASS_EXISTS] = {QUERY_E_ENTITY_ALREADY_EXISTS, "The entity already exists."},
        [CORE_CLASS_AUTH_MISSING] = {QUERY_E_MISSING_AUTHENTICATION_TOKEN, "Request is missing Authentication Token"},
        [CORE_CLASS_AUTH_INCOMPLETE] = {QUERY_E_INCOMPLETE_SIGNATURE, "The request signature is incomplete."},
        [CORE_CLASS_AUTH_BAD_TOKEN] = {QUERY_E_INVALID_CLIENT_TOKEN_ID,
                                       "The security token included in the request is invalid."},
        [CORE_CLASS_AUTH_BAD_SIGNATURE] = {QUERY_E_SIGNATURE_DOES_NOT_MATCH, "The request signature is invalid."},
        [CORE_CLASS_AUTH_EXPIRED_TOKEN] = {QUERY_E_EXPIRED_TOKEN,
                                           "The security token included in the request is expired"},
    };
    enum core_err_class c = core_err_class(err);
    if (c == CORE_CLASS_NONE) return;
    core_result_ignore(query_fail(out, by_class[c].e, "%s", by_class[c].msg));
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
