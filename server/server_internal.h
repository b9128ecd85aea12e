#ifndef SERVER_INTERNAL_H
#define SERVER_INTERNAL_H

#include "iam/iam.h"
#include "kms/kms.h"
#include "server/server.h"
#include "sts/sts.h"

struct server {
    struct server_config cfg;
    struct keystore *ks;
    struct sigv4_key_cache *key_cache;
    struct kms_env *kms;
    struct sts_env *sts;
    struct iam_env *iam;
    void *daemon;           /* struct MHD_Daemon *, server_http.c only */
    int64_t clock_file_mtime;
};

bool server_parse_duration(const char *s, int64_t *out);

/**
 * Appends the value of environment variable name to out, then wipes the
 * value in place and unsets it (also on failure), so it no longer shows in
 * the environment or /proc/PID/environ.
 * Errors: ERR_INVALID_ARG (unset or empty), ERR_LIMIT (longer than out allows).
 */
CORE_RESULT server_take_env_secret(const char *name, struct core_buf *out);

/* The services one endpoint serves, told apart by protocol and scope. */
enum server_svc { SERVER_SVC_KMS, SERVER_SVC_STS, SERVER_SVC_IAM };
/* Each service's SigV4 signing name, by enum server_svc. */
extern const char *const server_svc_names[];

/* Who signed a request: one principal, and for temporary credentials the
 * opened session and the authorization view of it. */
struct server_caller {
    struct core_principal principal;
    bool has_session;
    struct sts_session session;           /* open while has_session */
    struct iam_session_info session_info; /* views into session */
};

/**
 * Authenticates req as a call to svc (server_auth.c): SigV4 parse, scope
 * check, then the secret from the session token or the keystore, then
 * verification. Unsigned STS actions (by operation) get the anonymous
 * principal; --insecure-accept-unknown-keys maps unknown key ids to an
 * unverified root principal.
 * @param[out] c server_caller_free() it, also on failure.
 * @param[in,out] diag caller-initialised; receives AWS's message on failure.
 * Errors: ERR_AUTH_* (the class the client sees), ERR_LIMIT, ERR_NOMEM,
 * keystore errors.
 */
CORE_RESULT server_authenticate(struct server *srv, const struct http_request *req, enum server_svc svc,
                                struct core_cursor operation, const char *request_id, struct server_caller *c,
                                struct sigv4_diag *diag);
void server_caller_free(struct server_caller *c);

/*
 * Connection admission (server_conns.c): the connection and per-address
 * caps, shedding the oldest incomplete or idle connection at either cap,
 * and the request-head deadline. Thread-safe. Times are monotonic ms.
 */
struct server_conn;
struct server_conns_stats {
    unsigned open;
    uint64_t shed, refused;
};
/** Sets the caps (0: none) and the head deadline (0: none). */
void server_conns_init(unsigned cap, unsigned per_addr_cap, unsigned head_timeout_s);
/**
 * Registers a new connection on socket fd from addr (raw address bytes),
 * shedding another connection if a cap is reached.
 * @return the registration, or NULL when the connection must be refused
 * (every connection busy, or no memory); the caller then shuts fd down.
 */
struct server_conn *server_conns_admit(int fd, const void *addr, size_t addr_len, uint64_t now_ms);
/** The request head arrived (the body may still be arriving). NULL is ignored. */
void server_conns_head_done(struct server_conn *c, uint64_t now_ms);
/** The whole request arrived: not shed while it is served. */
void server_conns_busy(struct server_conn *c, uint64_t now_ms);
/** Answered; keep-alive waits for the next request. */
void server_conns_idle(struct server_conn *c, uint64_t now_ms);
/** The library closed the connection (before closing its socket); frees c. */
void server_conns_closed(struct server_conn *c);
/** Sheds connections whose head is past its deadline; stats may be NULL. */
void server_conns_sweep(uint64_t now_ms, struct server_conns_stats *stats);

/**
 * The owner and secret of a long-term access key, from this thread's cache
 * when the keystore has not changed since, else from the keystore.
 * @param[out] secret borrowed: valid until this thread's next lookup.
 * Errors: ERR_NOT_FOUND, ERR_NOMEM, keystore errors.
 */
CORE_RESULT server_cred_lookup(struct keystore *ks, struct core_cursor id, struct core_principal *owner,
                               bool *active, struct core_cursor *secret);
/** Wipes every thread's cached credentials read from ks (server_free, before the keystore closes). */
void server_cred_cache_purge(struct keystore *ks);

#endif
