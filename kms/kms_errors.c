#include "kms/kms_internal.h"

/*
 * Core errors to KMS wire errors. No default: under -Wswitch a new core
 * error without a KMS mapping breaks the build.
 */
void kms_reply_from_err(enum core_err err, struct core_reply *out)
{
    const char *code = "KMSInternalException";
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
    case CORE_ERR_COUNT:
        break;
    case ERR_LIMIT:
        code = "LimitExceededException", status = 400, msg = "A limit was exceeded.";
        break;
    case ERR_INVALID_ARG:
    case ERR_PARSE:
        code = "ValidationException", status = 400, msg = "The request is invalid.";
        break;
    case ERR_NOT_FOUND:
        code = "NotFoundException", status = 400, msg = "The specified resource does not exist.";
        break;
    case ERR_EXISTS:
        code = "AlreadyExistsException", status = 400, msg = "The resource already exists.";
        break;
    case ERR_BAD_CIPHERTEXT:
        code = "InvalidCiphertextException", status = 400, msg = "";
        break;
    case ERR_AUTH_MISSING:
        code = "MissingAuthenticationTokenException", status = 400, msg = "Missing Authentication Token";
        break;
    case ERR_AUTH_INCOMPLETE:
        code = "IncompleteSignatureException", status = 400, msg = "The request signature is incomplete.";
        break;
    case ERR_AUTH_UNKNOWN_KEY:
    case ERR_AUTH_BAD_TOKEN:
        code = "UnrecognizedClientException", status = 400,
        msg = "The security token included in the request is invalid.";
        break;
    case ERR_AUTH_BAD_SIGNATURE:
    case ERR_AUTH_EXPIRED:
        code = "InvalidSignatureException", status = 400, msg = "The request signature is invalid.";
        break;
    case ERR_AUTH_EXPIRED_TOKEN:
        code = "ExpiredTokenException", status = 400, msg = "The security token included in the request is expired";
        break;
    }
    core_result_ignore(core_reply_error(out, status, code, "%s", msg));
}
