#ifndef SERVER_INTERNAL_H
#define SERVER_INTERNAL_H

#include "iam/iam.h"
#include "kms/kms.h"
#include "server/server.h"
#include "sts/sts.h"

/* TLS material (server_tls.c): PEM text, NUL-terminated; key in guarded memory. */
struct server_tls {
    bool on;
    struct core_buf cert, key;
};
/**
 * Reads and checks --tls-cert/--tls-key (nothing when neither is given).
 * Errors: ERR_IO (unreadable), ERR_INVALID_ARG (not PEM, key does not match,
 * only one of the two given), ERR_LIMIT. Reasons are logged.
 */
CORE_RESULT server_tls_load(const struct server_config *cfg, struct server_tls *out);
void server_tls_free(struct server_tls *t);

struct server {
    struct server_config cfg;
    struct server_tls tls;
    struct keystore *ks;
    struct sigv4_key_cache *key_cache;
    struct kms_env *kms;
    struct sts_env *sts;
    struct iam_env *iam;
    void *daemon;           /* struct MHD_Daemon *, server_http.c only */
    void *metrics_daemon;   /* the --metrics listener, server_http.c only */
    int64_t clock_file_mtime;
};

bool server_parse_duration(const char *s, int64_t *out);

/**
 * Applies cfg->seed_file (nothing when unset) to ks in one write
 * transaction; with check_only, validates it and writes nothing (ks may be
 * NULL). Logs "FILE:LINE: reason" on failure (server_seed.c).
 * Errors: ERR_PARSE, ERR_IO, keystore errors.
 */
CORE_RESULT server_seed_apply(const struct server_config *cfg, struct keystore *ks, bool check_only);
/** --check-config: the seed against the existing keystore (if any); writes nothing. */
CORE_RESULT server_check_config(const struct server_config *cfg);

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

/*
 * Throttling emulation (server_throttle.c): token buckets per account,
 * Region and KMS quota. init/free bracket a server's life.
 */
CORE_RESULT server_throttle_init(const struct server_config *cfg);
void server_throttle_free(void);
/**
 * Takes one request from caller's bucket for this KMS operation. On false
 * the reply holds AWS's ThrottlingException (HTTP 400). Other services and
 * unsigned callers are never throttled.
 */
bool server_throttle_admit(enum server_svc svc, const char *operation, const struct core_principal *caller,
                           struct core_reply *out);
/** For tests: the quota table is sorted (bsearch). */
bool server_throttle_quotas_sorted(void);

/*
 * Prometheus metrics (server_metrics.c). init turns collection on (only
 * with --metrics); request() is fed every access-log entry; render()
 * writes the text exposition format.
 */
void server_metrics_init(void);
void server_metrics_request(const struct server_access_entry *e);
CORE_RESULT server_metrics_render(struct server *srv, struct core_buf *out);
/** Starts / stops the loopback metrics listener (server_http.c); returns the bound port. */
CORE_RESULT server_http_metrics_start(struct server *srv, unsigned *port);
void server_http_metrics_stop(struct server *srv);

/*
 * The audit trail (server_audit.c, --audit): CloudTrail-shaped records in
 * DATA/audit, files sealed into a signed digest chain (docs/audit.md).
 */
struct server_caller;
struct server_audit_event {
    enum server_svc svc;
    const char *operation;
    const struct http_request *req;
    const struct http_response *resp;
    const struct server_caller *caller;
    const struct core_form *form; /* STS/IAM parameters (KMS: the JSON body of req) */
    const char *error_code;       /* "" on success */
    struct core_cursor error_message;
};
/** Loads (or creates) the signing key, seals a file a crash left open, opens the next. No-op without --audit. */
CORE_RESULT server_audit_open(struct server *srv);
/** Writes one record (buffered). Never plaintexts, key material, secrets or tokens. */
void server_audit_record(struct server *srv, const struct server_audit_event *ev);
/** GetKeyLastUsage's source (kms_last_usage_fn): the trail's last successful cryptographic use of key_arn. */
bool server_audit_last_usage(const char *key_arn, struct kms_last_usage *out, int64_t *tracking_start);
/** Flushes; seals and rotates a full or hour-old file. Call every 100 ms. */
void server_audit_tick(void);
/** Seals the current file. */
void server_audit_close(void);

/* Who signed a request: one principal, and for temporary credentials the
 * opened session and the authorization view of it. */
struct server_caller {
    struct core_principal principal;
    bool has_session;
    /* session is written (and must be freed) once an opening was tried; until
     * then session and session_info are not initialised: 6 KiB per request
     * that only temporary credentials use (issue 14). */
    bool session_tried;
    struct sts_session session;           /* open while has_session */
    struct iam_session_info session_info; /* views into session; valid while has_session */
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
/** An empty caller (the zero principal, no session) without touching the session's 6 KiB. */
void server_caller_init(struct server_caller *c);
void server_caller_free(struct server_caller *c);

/*
 * Connection admission (server_conns.c): the connection and per-address
 * caps, shedding the oldest incomplete or idle connection at either cap,
 * the request-head deadline (from accept) and the body deadline (the same
 * length again, from the end of the head). Thread-safe. Times are monotonic ms.
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
/**
 * The connection's slot for one spare object of the HTTP layer (its request
 * state, reused by the connection's next request). Only the connection's own
 * callbacks touch it, so it takes no lock; the HTTP layer frees what it holds
 * before server_conns_closed(). NULL when c is NULL.
 */
void **server_conns_spare(struct server_conn *c);
/** The counters alone, without sweeping (for /metrics). */
void server_conns_stats_get(struct server_conns_stats *stats);
/** Hits and misses of the long-term credential cache, all threads (for /metrics). */
void server_cred_cache_stats(uint64_t *hits, uint64_t *misses);
/** Sheds connections whose head or body is past its deadline; stats may be NULL. */
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
