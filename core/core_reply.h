#ifndef CORE_REPLY_H
#define CORE_REPLY_H

/*
 * What a service handler answers, independent of HTTP. On success, body
 * holds the protocol payload (JSON for KMS, the XML result for Query
 * services). On failure the handler records the AWS error code, status and
 * message with core_reply_error() and returns its ERR_API result; the server
 * renders it in the service's protocol (JSON __type, or <ErrorResponse>).
 */

#include <stdarg.h>

#include "core/core_buf.h"

#define CORE_REPLY_MAX_BODY (1024u * 1024u)
#define CORE_REPLY_MAX_MESSAGE 8192u

struct core_reply {
    unsigned status;        /* HTTP status; 200 unless an error set it */
    struct core_buf body;   /* success payload */
    char error_code[96];    /* AWS error code, "" on success */
    struct core_buf message;/* error message, AWS wording */
    bool sender_fault;      /* Query protocol <Type>Sender</Type> vs Receiver */
};

CORE_RESULT core_reply_init(struct core_reply *r);
void core_reply_free(struct core_reply *r);
/**
 * Records an AWS error. The formatted message is capped at
 * CORE_REPLY_MAX_MESSAGE and CR/LF-free values are the caller's job
 * (use core_reply_append_escaped for echoed input).
 * @return {ERR_API}, for `return core_reply_error(...)`.
 */
core_result core_reply_error(struct core_reply *r, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* One entry of a service's error catalogue (kms_errors.def, sts_errors.def, ...): AWS code and HTTP status. */
struct core_wire_error {
    const char *code;
    unsigned status;
};
/** core_reply_error() with a catalogue entry: `return core_reply_wire(out, &iam_errors[IAM_E_X], "...")`. */
core_result core_reply_wire(struct core_reply *r, const struct core_wire_error *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** core_reply_wire() with a va_list. @return {ERR_API}. */
core_result core_reply_catalogue(struct core_reply *r, const struct core_wire_error *e, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/*
 * What a core error means on the wire, whatever the service: each service
 * maps these classes to its own codes (kms_reply_from_err,
 * query_reply_from_err, iam_reply_from_err) with a table indexed by class.
 */
enum core_err_class {
    CORE_CLASS_NONE,        /* ERR_OK, ERR_API: nothing to record (ERR_API's reply is already there) */
    CORE_CLASS_INTERNAL,    /* our failure: memory, I/O, crypto library, a damaged store */
    CORE_CLASS_LIMIT,       /* a limit was exceeded */
    CORE_CLASS_INVALID,     /* invalid argument or unparsable input */
    CORE_CLASS_NOT_FOUND,
    CORE_CLASS_EXISTS,
    CORE_CLASS_BAD_CIPHERTEXT,
    CORE_CLASS_AUTH_MISSING,
    CORE_CLASS_AUTH_INCOMPLETE,
    CORE_CLASS_AUTH_BAD_TOKEN,      /* unknown access key, bad session token */
    CORE_CLASS_AUTH_BAD_SIGNATURE,  /* wrong or expired signature */
    CORE_CLASS_AUTH_EXPIRED_TOKEN,
    CORE_CLASS_COUNT
};
/** The class of err (one switch with no default: a new core error must be classed). */
enum core_err_class core_err_class(enum core_err err);

/** True when an error has been recorded. */
static inline bool core_reply_failed(const struct core_reply *r) { return r->error_code[0] != 0; }

#endif
