#include "sts/sts_internal.h"

/* Core errors to STS Query-protocol errors; no default (-Wswitch). */
void sts_reply_from_err(enum core_err err, struct core_reply *out)
{
    const char *code = "InternalFailure";
    unsigned status = 500;
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
    case ERR_CONFLICT:
    case ERR_BAD_CIPHERTEXT:
    case CORE_ERR_COUNT:
        break;
    case ERR_LIMIT:
        code = "LimitExceeded", status = 400, msg = "A limit was exceeded.";
        break;
    case ERR_INVALID_ARG:
    case ERR_PARSE:
        code = "ValidationError", status = 400, msg = "The request is invalid.";
        break;
    case ERR_NOT_FOUND:
        code = "NoSuchEntity", status = 404, msg = "The requested entity does not exist.";
        break;
    case ERR_EXISTS:
        code = "EntityAlreadyExists", status = 409, msg = "The entity already exists.";
        break;
    case ERR_AUTH_MISSING:
        code = "MissingAuthenticationToken", status = 403, msg = "Request is missing Authentication Token";
        break;
    case ERR_AUTH_INCOMPLETE:
        code = "IncompleteSignature", status = 400, msg = "The request signature is incomplete.";
        break;
    case ERR_AUTH_UNKNOWN_KEY:
    case ERR_AUTH_BAD_TOKEN:
        code = "InvalidClientTokenId", status = 403, msg = "The security token included in the request is invalid.";
        break;
    case ERR_AUTH_BAD_SIGNATURE:
    case ERR_AUTH_EXPIRED:
        code = "SignatureDoesNotMatch", status = 403, msg = "The request signature is invalid.";
        break;
    case ERR_AUTH_EXPIRED_TOKEN:
        code = "ExpiredToken", status = 403, msg = "The security token included in the request is expired";
        break;
    }
    core_result_ignore(core_reply_error(out, status, code, "%s", msg));
}
