#ifndef SERVER_H
#define SERVER_H

/*
 * The HTTP front: libmicrohttpd glue (server_http.c, the only file that
 * includes microhttpd.h), routing by service with SigV4 authentication
 * (server_route.c), AWS error rendering, the access log, config and main().
 * Tests drive server_route() in memory with a struct http_request.
 */

#include <stdbool.h>

#include "core/core.h"
#include "keystore/keystore.h"
#include "sigv4/sigv4.h"

/* Default deadline for a request head, from accept: a connection that opens
 * and sends a partial head holds a slot for at most this long. */
#define SERVER_HEAD_TIMEOUT_S 10u

enum server_throttle_mode { SERVER_THROTTLE_OFF, SERVER_THROTTLE_AWS, SERVER_THROTTLE_RATE };

struct server_config {
    char listen_host[256];
    unsigned listen_port;
    char data_dir[1024];
    struct keystore_store_args store; /* where records live (--store, --etcd-*; docs/scale-out.md) */
    char account_id[16];
    char region[32];
    unsigned threads;            /* 0: one per core */
    unsigned write_threads;      /* writer pool for durable writes (group-committed) */
    enum keystore_master_source master_source;
    char key_file[1024];         /* "" : <data-dir>/master.key */
    char passphrase_file[1024];  /* master passphrase source (file) */
    char passphrase_env[128];    /* ... or environment variable */
    char access_log[1024];       /* "": <data-dir>/access.log, "-": stdout, "off" */
    char port_file[1024];        /* write the bound port here once listening */
    char clock_file[1024];       /* re-read service clock offset from this file */
    int64_t clock_offset;        /* seconds added to the service clock */
    bool insecure_accept_unknown_keys;
    unsigned max_body;           /* bytes */
    unsigned connection_timeout; /* seconds */
    unsigned head_timeout;       /* seconds from accept for the request head to arrive */
    unsigned max_connections;
    enum core_log_level log_level;
    char seed_file[1024];        /* --seed: applied at start (seed/seed.h) */
    bool check_config;           /* --check-config: validate options and the seed, then exit */
    char tls_cert[1024];         /* --tls-cert: PEM certificate (chain) */
    char tls_key[1024];          /* --tls-key: PEM private key */
    bool insecure_plain_http;    /* allow plain HTTP on a non-loopback address */
    char metrics_host[64];       /* --metrics HOST:PORT; "" when off (loopback only) */
    unsigned metrics_port;
    bool audit;                  /* --audit: CloudTrail-shaped records in DATA/audit */
    uint64_t audit_max_bytes;    /* seal and rotate a file at this size */
    enum server_throttle_mode throttle_mode; /* --throttle aws|RATE (server_throttle.c) */
    double throttle_rate;        /* requests per second for SERVER_THROTTLE_RATE */
    char oidc_issuer[256];       /* GetWebIdentityToken's issuer URL ("": http://HOST:PORT of --listen) */
    char organization_file[1024]; /* AssumeRoot's organization (JSON), "" for none */
};

/**
 * Parses command-line options over the embedded defaults.
 * @return 0 to run, 1 when --help/--version was printed, 2 on a usage error
 * (message printed).
 */
int server_config_parse(struct server_config *cfg, int argc, char **argv);
void server_config_defaults(struct server_config *cfg);

/* One HTTP request as the router sees it: raw, bounded, borrowed. */
/* server_http.c's on_request sets every field one by one (no zeroing of the
 * header array): a new field must be set there too. */
struct http_request {
    const char *method;
    struct core_cursor path;  /* raw, still percent-encoded */
    struct core_cursor query; /* raw, without '?' */
    struct sigv4_header headers[CORE_MAX_HEADERS];
    size_t n_headers;
    bool too_many_headers;
    struct core_cursor body;
    bool body_too_large;
    char source_ip[64];
    bool loopback;
    bool secure;              /* arrived over TLS (aws:SecureTransport) */
};

struct http_response {
    unsigned status;
    const char *content_type;
    struct core_buf body;    /* owned; may hold plaintext: wiped when freed */
    char request_id[40];
    char error_type[96];     /* x-amzn-ErrorType for JSON errors */
};

/** Finds a header by case-insensitive name (first occurrence). */
bool http_request_header(const struct http_request *req, const char *name, struct core_cursor *value);

struct server;

/**
 * Opens the keystore, bootstraps the administrator on first start and
 * prepares the services.
 * @param[out] out server_free() it.
 */
CORE_RESULT server_new(const struct server_config *cfg, struct server **out);
void server_free(struct server *srv);

/**
 * Authenticates, routes and answers one request. resp->body is initialised
 * here; the caller frees it with http_response_free().
 */
void server_route(struct server *srv, const struct http_request *req, struct http_response *resp);
void http_response_free(struct http_response *resp);

/** True for operations that may write to the keystore (served on the writer pool). */
bool server_request_writes(const struct http_request *req);

/** Starts libmicrohttpd; returns the bound port. */
CORE_RESULT server_http_start(struct server *srv, unsigned *port);
void server_http_stop(struct server *srv);
/** Closes connections whose request head is past its deadline; call every 100 ms. */
void server_http_tick(struct server *srv);

/** Access log: one JSON line per request; never secrets, plaintexts or signatures. */
struct server_access_entry {
    const char *request_id;
    const char *service;
    const char *operation;
    const char *principal_arn;
    const char *access_key_id;
    const char *source_ip;
    unsigned status;
    const char *error_code;
    uint64_t latency_us;
    enum core_err auth_err;      /* why authentication failed; ERR_OK when it did not */
};
CORE_RESULT server_access_log_open(const char *path);
void server_access_log(const struct server_access_entry *e);
void server_access_log_flush(void);
void server_access_log_close(void);

/* Accessors main() needs. */
const struct server_config *server_get_config(const struct server *srv);
struct keystore *server_get_keystore(struct server *srv);
/** Background work due now (rotation, deletion, clock file). */
void server_tick(struct server *srv);

#endif
