#ifndef STS_INTERNAL_H
#define STS_INTERNAL_H

#include "sts/sts.h"

struct sts_env {
    struct keystore *ks;
    char default_region[32];
};

struct sts_ctx {
    struct sts_env *env;
    const struct sts_call *call;
    const struct core_principal *caller;
    struct core_reply *out; /* handlers append the inner XML of <ActionResult> to out->body */
};

typedef core_result (*sts_handler_fn)(struct sts_ctx *ctx);

struct sts_action {
    const char *action; /* "AssumeRole" */
    sts_handler_fn fn;
    const char *iam_action; /* "sts:AssumeRole" */
    bool unsigned_ok;       /* served without a signature */
};

extern const struct sts_action sts_actions[];
extern const size_t sts_actions_count;
const struct sts_action *sts_action_find(struct core_cursor action);

/** Records an AWS Query error; 4xx are Sender faults. */
core_result sts_fail(struct sts_ctx *ctx, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

core_result sts_get_caller_identity(struct sts_ctx *ctx);

#endif
