#ifndef CORE_REPLY_H
#define CORE_REPLY_H

/*
 * What a service handler answers, independent of HTTP. On success, body
 * holds the protocol payload (JSON for KMS, the XML result for Query
 * services). On failure the handler records the AWS error code, status and
 * message with core_reply_error() and returns its ERR_API result; the server
 * renders it in the service's protocol (JSON __type, or <ErrorResponse>).
 */

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
/** True when an error has been recorded. */
static inline bool core_reply_failed(const struct core_reply *r) { return r->error_code[0] != 0; }

#endif
