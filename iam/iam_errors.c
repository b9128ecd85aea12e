/* IAM's error catalogue (iam_errors.def) and the mapping of a handler's core error to it. */
#include <stdio.h>

#include "iam/iam_internal.h"

const struct core_wire_error iam_errors[IAM_E_COUNT] = {
#define X(e, code, status) [e] = {code, status},
#include "iam/iam_errors.def"
#undef X
};

/* A handler's failure that recorded no reply: only a missing or existing entity has a code of its own. */
void iam_reply_from_err(enum core_err err, struct core_reply *out)
{
    enum core_err_class c = core_err_class(err);
    if (c == CORE_CLASS_NONE) return;
    if (c == CORE_CLASS_NOT_FOUND)
        core_result_ignore(iam_fail(out, IAM_E_NO_SUCH_ENTITY, "%s", "The requested entity does not exist."));
    else if (c == CORE_CLASS_EXISTS)
        core_result_ignore(iam_fail(out, IAM_E_ENTITY_ALREADY_EXISTS, "%s", "The entity already exists."));
    else
        core_result_ignore(iam_fail(out, IAM_E_SERVICE_FAILURE, "%s",
                                    "The request processing has failed because of an unknown error."));
}
