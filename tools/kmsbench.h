#ifndef KMSBENCH_H
#define KMSBENCH_H

/*
 * kmsbench: a signed-load generator for kmsd in the spirit of wrk and
 * redis-benchmark. A few threads each run an epoll loop over their share of
 * N keep-alive connections; every request is built and SigV4-signed when it
 * is sent (with the project's own signer and a signing-key cache, as an SDK
 * would), never replayed. The same loop can be pointed at an in-process bare
 * libmicrohttpd server (the "floor") so each figure is reported as a ratio
 * to what the HTTP layer alone reaches on this machine in the same run.
 *
 * Files: kmsbench_main.c (CLI, runs, report), kmsbench_loop.c (client event
 * loop), kmsbench_http.c (response parser, blocking round trip),
 * kmsbench_work.c (workloads, signing, setup), kmsbench_hist.c (latency
 * histogram), kmsbench_floor.c (the bare MHD server).
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/core.h"
#include "sigv4/sigv4.h"

#define KB_MAX_CONNECTIONS 1024u
#define KB_MAX_THREADS 64u
#define KB_MAX_WORKLOADS 32u
#define KB_MAX_ERROR_CODES 32u
#define KB_ERROR_CODE_BYTES 64u
#define KB_MAX_RESPONSE_BYTES (1024u * 1024u)
#define KB_MAX_REQUEST_BYTES (64u * 1024u)
#define KB_MAX_ID_BYTES 256u
#define KB_MAX_AUTH_BYTES 4096u /* one Authorization header value */
#define KB_N_CIPHERTEXTS 16u /* Decrypt/ReEncrypt rotate over this many blobs */

/* ---- latency histogram (kmsbench_hist.c) ---------------------------- */

/*
 * Log-linear, in the spirit of HdrHistogram: values (nanoseconds) below
 * 2^KB_HIST_SUB_BITS are exact; above, each power of two is split into
 * 2^(KB_HIST_SUB_BITS-1) equal buckets, so a reported value is within 0.8%
 * of the true one. Fixed size, no allocation per record.
 */
#define KB_HIST_SUB_BITS 8u
#define KB_HIST_SUB (1u << KB_HIST_SUB_BITS)
#define KB_HIST_HALF (KB_HIST_SUB / 2u)
#define KB_HIST_BUCKETS (KB_HIST_SUB + (64u - KB_HIST_SUB_BITS) * KB_HIST_HALF)

struct kb_hist {
    uint64_t counts[KB_HIST_BUCKETS];
    uint64_t total, sum, min, max;
};

void kb_hist_reset(struct kb_hist *h);
void kb_hist_record(struct kb_hist *h, uint64_t ns);
void kb_hist_merge(struct kb_hist *into, const struct kb_hist *from);
/** The value at quantile q (0..1): the highest value of its bucket, capped at max. */
uint64_t kb_hist_quantile(const struct kb_hist *h, double q);

/* ---- errors by code ------------------------------------------------- */

struct kb_errors {
    char code[KB_MAX_ERROR_CODES][KB_ERROR_CODE_BYTES];
    uint64_t count[KB_MAX_ERROR_CODES];
    unsigned n;
    uint64_t other; /* codes past the table */
};

void kb_errors_add(struct kb_errors *e, const char *code, uint64_t n);
void kb_errors_merge(struct kb_errors *into, const struct kb_errors *from);

/* ---- HTTP/1.1 responses (kmsbench_http.c) --------------------------- */

struct kb_resp {
    unsigned status;
    size_t header_len; /* bytes up to and including the blank line; 0 until seen */
    size_t body_len;   /* Content-Length */
    bool close;        /* Connection: close, or HTTP/1.0 without keep-alive */
    size_t scanned;    /* resume point of the header-end search */
};

enum kb_parse { KB_PARSE_MORE, KB_PARSE_DONE, KB_PARSE_ERROR };

/**
 * Parses the response at the start of in (len bytes read so far). Call again
 * with more bytes until DONE; r carries the progress between calls and must
 * start zeroed. ERROR for a malformed status line, a missing or invalid
 * Content-Length (chunked bodies are not supported: neither kmsd nor the
 * floor sends them), or a response larger than KB_MAX_RESPONSE_BYTES.
 */
enum kb_parse kb_resp_parse(struct kb_resp *r, const uint8_t *in, size_t len);

/**
 * The AWS error code of a failed response: "__type" of a JSON error (the
 * part after '#'), else <Code> of an XML error, else "HTTP_<status>".
 */
void kb_resp_error_code(const struct kb_resp *r, const uint8_t *in, char out[KB_ERROR_CODE_BYTES]);

/* A target server: "http://HOST:PORT" with an IPv4 literal or localhost. */
struct kb_endpoint {
    char host_header[128]; /* "127.0.0.1:8080" */
    uint32_t addr;         /* network order */
    uint16_t port;         /* host order */
};

CORE_RESULT kb_endpoint_parse(const char *url, struct kb_endpoint *out);
void kb_endpoint_local(uint16_t port, struct kb_endpoint *out);

/**
 * Sends one request over a fresh blocking connection and reads the whole
 * response (setup only; the load runs through the event loop).
 * @param[out] status the HTTP status.
 * @param[out] body reset, then receives the response body.
 * Errors: ERR_IO (connect, send, receive, timeout), ERR_PARSE.
 */
CORE_RESULT kb_http_roundtrip(const struct kb_endpoint *ep, struct core_cursor request, unsigned *status,
                              struct core_buf *body);

/* ---- workloads (kmsbench_work.c) ------------------------------------ */

enum kb_op {
    KB_OP_ENCRYPT32,
    KB_OP_ENCRYPT4K,
    KB_OP_DECRYPT,
    KB_OP_GENERATE_DATA_KEY,
    KB_OP_REENCRYPT,
    KB_OP_GENERATE_RANDOM,
    KB_OP_CREATE_KEY,
    KB_OP_ASSUME_ROLE,
    KB_OP_GET_CALLER_IDENTITY,
    /* Asymmetric and HMAC keys (issue 11). */
    KB_OP_SIGN_P256,
    KB_OP_VERIFY_P256,
    KB_OP_SIGN_ED25519,
    KB_OP_VERIFY_ED25519,
    KB_OP_SIGN_RSA2048,
    KB_OP_VERIFY_RSA2048,
    KB_OP_GENERATE_MAC,
    KB_OP_GENERATE_DATA_KEY_PAIR_RSA2048,
    KB_OP_GENERATE_DATA_KEY_PAIR_P256,
    KB_OP_COUNT
};

const char *kb_op_name(enum kb_op op);

struct kb_creds {
    char access_key_id[CORE_MAX_ACCESS_KEY_ID_BYTES + 1];
    char secret[CORE_MAX_SECRET_KEY_BYTES + 1];
    char session_token[CORE_MAX_SESSION_TOKEN_BYTES + 1];
};

struct kb_workload {
    char name[128];
    unsigned weight[KB_OP_COUNT];
    unsigned total_weight;
    bool temp_creds;
};

/**
 * Parses "encrypt32", "mix:encrypt32=5,decrypt=5", each optionally with an
 * "@temp" suffix (sign with GetSessionToken credentials).
 * Errors: ERR_INVALID_ARG.
 */
CORE_RESULT kb_workload_parse(const char *spec, struct kb_workload *out);

/* What setup created, shared read-only by every thread during a run. */
struct kb_fixture {
    char key_id[KB_MAX_ID_BYTES];
    char key_id2[KB_MAX_ID_BYTES]; /* ReEncrypt destination */
    /* Signing keys (P-256, Ed25519, RSA-2048), an HMAC_256 key, and a
     * signature of KB_VERIFY_MESSAGE by each signing key for Verify. */
    char asym_key[4][KB_MAX_ID_BYTES];
    char asym_sig[3][1024];
    char ciphertext[KB_N_CIPHERTEXTS][2048]; /* base64 CiphertextBlob of 32 B under key_id */
    unsigned n_ciphertexts;
    char account[16];
    char role_arn[CORE_MAX_ARN_BYTES];
    bool have_temp;
    struct kb_creds temp;
    bool setup_done[KB_OP_COUNT];
};

/* Everything a request builder reads. */
struct kb_ctx {
    struct kb_endpoint ep;
    char region[64];
    struct kb_creds creds;
    struct kb_fixture fx;
    struct sigv4_key_cache *cache;
    bool verbose;
};

/* Per-thread working memory of the builder: reused for every request. */
struct kb_scratch {
    struct core_buf body, auth;
    uint64_t rng;
    int64_t amz_second;
    char amz_date[32];
};

CORE_RESULT kb_scratch_init(struct kb_scratch *s, uint64_t seed);
void kb_scratch_free(struct kb_scratch *s);
uint64_t kb_rand(struct kb_scratch *s);

/**
 * Builds one freshly signed request for op against ep into out (reset
 * first): a new X-Amz-Date, a new body (random plaintext where the
 * operation takes one), its SHA-256 and a new signature.
 * @param temp sign with ctx->fx.temp and send X-Amz-Security-Token.
 * Errors: ERR_LIMIT, ERR_INVALID_ARG, ERR_CRYPTO, ERR_NOMEM.
 */
CORE_RESULT kb_build(const struct kb_ctx *ctx, const struct kb_endpoint *ep, enum kb_op op, bool temp,
                     struct kb_scratch *s, struct core_buf *out);

/** Picks the operation of the next request of a weighted workload. */
enum kb_op kb_workload_pick(const struct kb_workload *w, struct kb_scratch *s);

/**
 * Creates what the workload needs: keys, ciphertexts, a role, temporary
 * credentials. An operation the server does not serve yet is reported on
 * stderr and left to fail (and be counted by code) during the run.
 * Errors: only local failures (ERR_NOMEM, ERR_IO when the server is unreachable).
 */
CORE_RESULT kb_setup(struct kb_ctx *ctx, const struct kb_workload *w);

/* ---- cold start (kmsbench_coldstart.c) ------------------------------ */

/**
 * Runs kmsd (path) on the existing keystore data_dir `trials` times, timing
 * exec to the first served signed request and reading idle RSS one second
 * later; prints a summary line (and a JSON line with json).
 * @return 0, 1 when kmsd failed to serve, 2 on local failure.
 */
int kb_cold_start(struct kb_ctx *ctx, const char *kmsd, const char *data_dir, unsigned trials, bool json);

/* ---- client event loop (kmsbench_loop.c) ----------------------------- */

struct kb_run_cfg {
    const struct kb_ctx *ctx;
    struct kb_endpoint ep;      /* where to send (kmsd or the floor) */
    const struct kb_workload *w;
    unsigned connections, threads;
    uint64_t duration_ns;       /* 0 with a request count */
    uint64_t warmup_ns;
    uint64_t requests;          /* 0 with a duration */
    double rate;                /* offered req/s in total; 0 = closed loop */
    uint64_t timeout_ns;
    pid_t cpu_pid;              /* --cpu: the server's pid (this process for the floor); 0 = not measured */
};

struct kb_result {
    uint64_t ok, failed, socket_errors, timeouts, reconnects;
    double seconds;
    struct kb_hist hist;        /* every response, successes and errors */
    struct kb_errors errors;
    bool cpu_measured;
    double cpu_seconds;         /* server CPU (user + system) over the measured window */
    uint64_t cpu_requests;      /* responses completed in that window */
};

/**
 * Runs the load and fills res (which the caller allocates: the histogram
 * is large). Errors: ERR_IO (no connection could be made at all), ERR_NOMEM.
 */
CORE_RESULT kb_run(const struct kb_run_cfg *cfg, struct kb_result *res);

/* ---- server CPU (kmsbench_cpu.c) ----------------------------------- */

pid_t kb_gettid(void);
/**
 * utime + stime of pid in clock ticks; for this process, the sum over its
 * tasks except the thread ids in exclude (the client threads).
 * Errors: ERR_IO.
 */
CORE_RESULT kb_cpu_ticks(pid_t pid, const pid_t *exclude, unsigned n_exclude, uint64_t *ticks);
/** The process that holds the TCP socket listening on port. Errors: ERR_NOT_FOUND, ERR_IO. */
CORE_RESULT kb_find_listener(uint16_t port, pid_t *out);

/* ---- idle connections (kmsbench_idle.c) ---------------------------- */

/**
 * Opens n (at most KB_MAX_IDLE) keep-alive connections to ep into fds, from
 * 127.0.0.2..9 in turn, each after one complete request and response.
 * Errors: ERR_IO, ERR_LIMIT.
 */
#define KB_MAX_IDLE 60000u
CORE_RESULT kb_idle_open(const struct kb_endpoint *ep, unsigned n, int *fds);
/** How many of them the server still holds open. */
unsigned kb_idle_alive(const int *fds, unsigned n);
void kb_idle_close(int *fds, unsigned n);

/* ---- the bare HTTP floor (kmsbench_floor.c) ------------------------- */

struct kb_floor;
/**
 * Starts a libmicrohttpd server on 127.0.0.1 (port 0 = any free port) with
 * kmsd's flags and pool size, answering every request with a fixed JSON
 * body after reading the request body. Errors: ERR_IO.
 */
CORE_RESULT kb_floor_start(uint16_t port, unsigned threads, struct kb_floor **out, uint16_t *bound_port);
void kb_floor_stop(struct kb_floor *f);

#endif
