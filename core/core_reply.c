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
