#ifndef STS_H
#define STS_H

/*
 * AWS STS (Query protocol, version 2011-06-15): form-encoded requests, XML
 * responses. The server hands over an authenticated (or, for the
 * web-identity actions, unsigned) call; sts_handle() renders the reply.
 */

#include "core/core.h"
#include "keystore/keystore.h"

#define STS_XMLNS "https://sts.amazonaws.com/doc/2011-06-15/"
#define STS_VERSION "2011-06-15"

struct sts_env;

struct sts_env_options {
    struct keystore *ks;
    const char *default_region;
};

CORE_RESULT sts_env_new(const struct sts_env_options *opts, struct sts_env **out);
void sts_env_free(struct sts_env *env);

struct sts_call {
    const struct core_principal *caller; /* anonymous for unsigned actions */
    const struct core_form *form;        /* decoded request parameters */
    const char *request_id;
    const char *source_ip;
    bool secure_transport;
    int64_t now; /* service clock */
};

/**
 * Runs one STS call; the reply is always filled (XML result or error).
 * @return the failure class for logging.
 */
CORE_RESULT sts_handle(struct sts_env *env, const struct sts_call *call, struct core_reply *out);

/** Maps a core error to STS's wire error in out (no-op for ERR_API). */
void sts_reply_from_err(enum core_err err, struct core_reply *out);

/** True for actions AWS serves without a signature (AssumeRoleWithWebIdentity, ...WithSAML). */
bool sts_action_is_unsigned(struct core_cursor action);

#endif
