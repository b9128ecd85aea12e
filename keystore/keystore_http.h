#ifndef KEYSTORE_HTTP_H
#define KEYSTORE_HTTP_H

/*
 * The interface of kmsd-etcd.so (keystore/keystore_etcd_http.c), the
 * loadable module that holds the etcd backend's HTTP client (libcurl):
 * loaded by ks_etcd_open() when a keystore is opened with --store etcd://,
 * so a kmsd or kmsctl on LMDB never maps libcurl (core/core_module.h). The
 * module links libcurl only; keystore_etcd.c keeps every etcd decision
 * (members, retries, auth, JSON) and hands it one POST at a time.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define KS_HTTP_MODULE_FILE "kmsd-etcd.so"
#define KS_HTTP_MODULE_SYMBOL "ks_http_module_v1"
#define KS_HTTP_MAX_ERROR 256u /* bytes of a failure's description, NUL included */

/** One POST of a JSON body. Strings are borrowed for the call. */
struct ks_http_req {
    const char *url;
    const char *token; /* the Authorization header's value, or NULL */
    const char *body;
    size_t body_len;
    const char *cacert, *cert, *key; /* TLS files; NULL: none */
    long connect_ms;
    long timeout_ms; /* whole transfer; 0: none (a watch stream) */
    bool keepalive;  /* TCP keepalive probes (a watch stream) */
    /* Receives the answer's body in pieces of size * n bytes (libcurl's write callback);
     * returning anything but size * n aborts the transfer. */
    size_t (*on_data)(char *p, size_t size, size_t n, void *arg);
    void *arg;
};

enum ks_http_result {
    KS_HTTP_OK,        /* an answer arrived; *status is its HTTP status */
    KS_HTTP_TLS_FILES, /* our own TLS files (cacert, cert, key) cannot be used */
    KS_HTTP_FAILED,    /* no answer: connection, TLS handshake, timeout, on_data abort */
    KS_HTTP_NOMEM,
};

struct ks_http_module {
    /** Process-wide setup, before any other call. @return false: unusable. */
    bool (*init)(void);
    /** A client handle (keeps its connection alive between posts; one thread at a time). NULL: no memory. */
    void *(*handle_new)(void);
    void (*handle_free)(void *h);
    /**
     * POSTs r with handle h and waits for the whole answer.
     * @param[out] status the HTTP status (KS_HTTP_OK).
     * @param[out] err a description of a failure, at most KS_HTTP_MAX_ERROR bytes with its NUL.
     */
    enum ks_http_result (*post)(void *h, const struct ks_http_req *r, long *status, char err[KS_HTTP_MAX_ERROR]);
    /** A stream runner for long POSTs that must stop on request. NULL: no memory. */
    void *(*stream_new)(void);
    void (*stream_free)(void *s);
    /** Makes a stream_run() in progress look at its stop flag now (any thread). */
    void (*stream_wakeup)(void *s);
    /** POSTs r with handle h in s until the answer ends, fails, or *stop is set. */
    void (*stream_run)(void *s, void *h, const struct ks_http_req *r, const _Atomic bool *stop);
};

#endif
