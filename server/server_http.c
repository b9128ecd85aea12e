/*
 * libmicrohttpd glue: the only file that includes microhttpd.h. Turns MHD's
 * callbacks into a struct http_request, calls server_route(), and sends the
 * struct http_response. Every limit MHD offers is set explicitly.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "server/server_internal.h"

/* Whether the daemon serves TLS (set once at start, before any connection). */
static bool srv_tls_on;

/* Per-request state kept across MHD's upload callbacks (and, for writes,
 * across the connection's suspension while a writer thread serves it). */
enum conn_state { CONN_READING, CONN_QUEUED, CONN_ANSWERED };

struct conn_req {
    struct core_buf body;
    bool too_large;
    enum conn_state state;
    struct http_request req;  /* views into MHD's connection memory and body */
    struct core_buf query;
    struct http_response resp;
    struct MHD_Connection *conn;
    struct server *srv;
    struct server_conn *admission; /* the connection's registration (server_conns.c) */
    struct conn_req *next;
};

/*
 * The writer pool. A request that writes is handed to a writer thread and
 * its connection suspended, so the event-loop threads keep serving while up
 * to write_threads writes wait together on one group commit (an fsync per
 * batch instead of per key). The writer resumes the connection, and MHD calls
 * on_request again to send the answer.
 */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct conn_req *head, *tail;
    bool stopping;
    pthread_t *threads;
    unsigned n_threads;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void *writer_main(void *arg)
{
    (void)arg;
    core_secmem_thread_arena();
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        while (pool.head == NULL && !pool.stopping) pthread_cond_wait(&pool.cv, &pool.mu);
        struct conn_req *cr = pool.head;
        if (cr == NULL) break; /* stopping and drained */
        pool.head = cr->next;
        if (pool.head == NULL) pool.tail = NULL;
        pthread_mutex_unlock(&pool.mu);
        server_route(cr->srv, &cr->req, &cr->resp);
        cr->state = CONN_ANSWERED;
        MHD_resume_connection(cr->conn);
        pthread_mutex_lock(&pool.mu);
    }
    pthread_mutex_unlock(&pool.mu);
    return NULL;
}

/* Queues cr unless the pool is stopping (then the caller serves it inline). */
static bool pool_submit(struct conn_req *cr)
{
    pthread_mutex_lock(&pool.mu);
    bool ok = pool.n_threads > 0 && !pool.stopping;
    if (ok) {
        cr->next = NULL;
        if (pool.tail)
            pool.tail->next = cr;
        else
            pool.head = cr;
        pool.tail = cr;
        /* Suspend before any writer can resume it. */
        MHD_suspend_connection(cr->conn);
        pthread_cond_signal(&pool.cv);
    }
    pthread_mutex_unlock(&pool.mu);
    return ok;
}

struct collect {
    struct http_request *req;
    struct core_buf *query;
    size_t header_bytes;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                                      const char *value, size_t value_size)
{
    (void)kind;
    struct collect *c = cls;
    c->header_bytes += key_size + value_size;
    if (c->req->n_headers >= CORE_MAX_HEADERS || c->header_bytes > CORE_MAX_HEADER_BYTES) {
        c->req->too_many_headers = true;
        return MHD_NO;
    }
    c->req->headers[c->req->n_headers++] = (struct sigv4_header){
        core_cursor_from(key, key_size), core_cursor_from(value ? value : "", value ? value_size : 0)};
    return MHD_YES;
}

/* MHD splits the query into arguments; with the identity unescaper below
 * they are still raw, so joining them back gives the query as sent. A key
 * without '=' comes back with a NULL value. */
static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                                   const char *value, size_t value_size)
{
    (void)kind;
    struct collect *c = cls;
    core_result r = c->query->len ? core_buf_append_u8(c->query, '&') : core_result_ok();
    if (core_ok(r)) r = core_buf_append(c->query, key, key_size);
    if (core_ok(r) && value) {
        r = core_buf_append_u8(c->query, '=');
        if (core_ok(r)) r = core_buf_append(c->query, value, value_size);
    }
    return core_ok(r) ? MHD_YES : MHD_NO;
}

/* Keep URL and arguments exactly as received: SigV4 canonicalises them. */
static size_t identity_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

struct body_owner {
    uint8_t *data;
    size_t cap;
};

/* Response bodies can hold plaintext (Decrypt, GenerateDataKey): wipe on free. */
static void free_body(void *cls)
{
    struct body_owner *o = cls;
    sodium_memzero(o->data, o->cap);
    free(o->data);
    free(o);
}

static enum MHD_Result send_response(struct MHD_Connection *conn, struct http_response *resp)
{
    struct MHD_Response *mr = NULL;
    struct body_owner *o = NULL;
    if (resp->body.len > 0 && !resp->body.secret && (o = malloc(sizeof *o)) != NULL) {
        o->data = resp->body.data;
        o->cap = resp->body.cap;
        mr = MHD_create_response_from_buffer_with_free_callback_cls(resp->body.len, resp->body.data, free_body, o);
        if (mr) resp->body = (struct core_buf){0};
        else free(o);
    }
    if (mr == NULL) mr = MHD_create_response_from_buffer(resp->body.len, resp->body.data, MHD_RESPMEM_MUST_COPY);
    if (mr == NULL) return MHD_NO;
    MHD_add_response_header(mr, "Content-Type", resp->content_type);
    MHD_add_response_header(mr, "x-amzn-RequestId", resp->request_id);
    if (resp->error_type[0]) MHD_add_response_header(mr, "x-amzn-ErrorType", resp->error_type);
    enum MHD_Result ret = MHD_queue_response(conn, resp->status, mr);
    MHD_destroy_response(mr);
    return ret;
}

static void client_ip(struct MHD_Connection *conn, struct http_request *req)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    memcpy(req->source_ip, "unknown", sizeof "unknown");
    req->secure = srv_tls_on;
    if (!ci || !ci->client_addr) return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        _Static_assert(sizeof req->source_ip >= 16, "room for a dotted quad");
        core_ipv4_text((const uint8_t *)&in->sin_addr, req->source_ip);
        req->loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, req->source_ip, sizeof req->source_ip);
        req->loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    struct server *srv = cls;
    struct conn_req *cr = *con_cls;
    /* Per-request secrets on this worker thread come from its secure arena. */
    core_secmem_thread_arena();
    if (cr == NULL) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        struct server_conn *admission = ci ? ci->socket_context : NULL;
        /* The connection's previous request state when there is one (on_completed keeps it), else
         * new memory. Not calloc: req's header array is written before it is read (n_headers), and
         * zeroing it cost more than the rest of this function (issue 14); every field is set here
         * or before it is read. */
        void **spare = server_conns_spare(admission);
        bool kept = spare && *spare;
        if (kept) {
            cr = *spare;
            *spare = NULL;
        } else {
            cr = malloc(sizeof *cr);
        }
        if (cr == NULL) return MHD_NO;
        cr->too_large = false;
        cr->state = CONN_READING;
        cr->query = (struct core_buf){0};
        cr->resp = (struct http_response){0};
        cr->conn = NULL;
        cr->srv = NULL;
        cr->next = NULL;
        /* Grows as data arrives, never past the configured cap. */
        /* Plaintexts arrive here (Encrypt): grown and freed with wiping. */
        /* A kept state may keep its (small) body buffer: empty, and wiped by on_completed. */
        if (!(kept && cr->body.data) && !core_ok(core_buf_init_wiping(&cr->body, 0, srv->cfg.max_body))) {
            free(cr);
            return MHD_NO;
        }
        cr->admission = admission;
        server_conns_head_done(cr->admission, core_clock_mono_ns() / 1000000);
        *con_cls = cr;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!cr->too_large && !core_ok(core_buf_append(&cr->body, upload_data, *upload_data_size))) {
            cr->too_large = true; /* keep reading and discarding, then answer 413 */
            core_buf_reset(&cr->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }

    if (cr->state == CONN_ANSWERED) {
        /* A writer served it while the connection was suspended. */
        enum MHD_Result ret = send_response(conn, &cr->resp);
        http_response_free(&cr->resp);
        return ret;
    }
    if (cr->state == CONN_QUEUED) return MHD_YES; /* spurious call while suspended */

    server_conns_busy(cr->admission, core_clock_mono_ns() / 1000000);
    struct http_request *req = &cr->req;
    /* Field by field: the header array is filled (and read) only up to n_headers. */
    req->method = method;
    req->path = core_cursor_str(url);
    req->query = (struct core_cursor){0};
    req->n_headers = 0;
    req->too_many_headers = false;
    req->body = core_buf_cursor(&cr->body);
    req->body_too_large = cr->too_large;
    req->loopback = false;
    req->secure = false;
    if (!core_ok(core_buf_init(&cr->query, 0, CORE_MAX_PATH_BYTES * 4))) return MHD_NO;
    struct collect c = {.req = req, .query = &cr->query};
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, collect_header, &c);
    MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &c);
    req->query = core_buf_cursor(&cr->query);
    client_ip(conn, req);

    if (server_request_writes(req)) {
        cr->state = CONN_QUEUED;
        cr->conn = conn;
        cr->srv = srv;
        if (pool_submit(cr)) return MHD_YES;
        cr->state = CONN_READING;
    }
    struct http_response resp;
    server_route(srv, req, &resp);
    enum MHD_Result ret = send_response(conn, &resp);
    http_response_free(&resp);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct conn_req *cr = *con_cls;
    if (cr == NULL) return;
    server_conns_idle(cr->admission, core_clock_mono_ns() / 1000000);
    core_buf_free(&cr->query);
    http_response_free(&cr->resp);
    /* Kept for the connection's next request (freed when the connection closes): a request's
     * state is 2.7 KiB, past malloc's per-thread cache, so this saves a malloc and a free. Its
     * body buffer is kept too when small (CORE_MAX_KEPT_BODY_BYTES, so idle connections hold
     * little), wiped whole now: it held the request's plaintext (issue 14, round 4: one
     * allocation, growth copy and free fewer per request). */
    void **spare = server_conns_spare(cr->admission);
    bool keep = spare && *spare == NULL;
    if (keep && cr->body.cap <= CORE_MAX_KEPT_BODY_BYTES)
        core_buf_reset(&cr->body); /* a wiping buffer: every byte of its capacity wiped */
    else
        core_buf_free(&cr->body); /* wiped before it is freed */
    if (keep)
        *spare = cr;
    else
        free(cr);
    *con_cls = NULL;
}

/* Every accepted connection is registered with admission control, which may
 * shed an older incomplete or idle one to make room, or refuse this one. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        /* After every request's on_completed (MHD completes a request before it closes its connection). */
        void **spare = server_conns_spare(*socket_context);
        if (spare) {
            struct conn_req *kept = *spare;
            if (kept) core_buf_free(&kept->body); /* wiped by on_completed, and again when freed */
            free(kept);                           /* its other buffers were freed by on_completed */
            *spare = NULL;
        }
        server_conns_closed(*socket_context);
        *socket_context = NULL;
        return;
    }
    const union MHD_ConnectionInfo *fdi = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    const union MHD_ConnectionInfo *ai = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (fdi == NULL) return;
    const void *addr = NULL;
    size_t addr_len = 0;
    if (ai && ai->client_addr && ai->client_addr->sa_family == AF_INET) {
        addr = &((const struct sockaddr_in *)(const void *)ai->client_addr)->sin_addr;
        addr_len = 4;
    } else if (ai && ai->client_addr && ai->client_addr->sa_family == AF_INET6) {
        addr = &((const struct sockaddr_in6 *)(const void *)ai->client_addr)->sin6_addr;
        addr_len = 16;
    }
    *socket_context = server_conns_admit(fdi->connect_fd, addr, addr_len, core_clock_mono_ns() / 1000000);
    if (*socket_context == NULL) shutdown(fdi->connect_fd, SHUT_RDWR); /* refused: MHD closes it */
}

void server_http_tick(struct server *srv)
{
    (void)srv;
    struct server_conns_stats st;
    server_conns_sweep(core_clock_mono_ns() / 1000000, &st);
    static uint64_t reported_shed, reported_refused;
    if (st.shed != reported_shed || st.refused != reported_refused) {
        static uint64_t last_log_ms;
        uint64_t now = core_clock_mono_ns() / 1000000;
        if (now - last_log_ms >= 1000) {
            core_log(CORE_LOG_WARN, "connections: %u open; %llu closed to admit others or past the head deadline, "
                                    "%llu refused (all busy) since start",
                     st.open, (unsigned long long)st.shed, (unsigned long long)st.refused);
            reported_shed = st.shed;
            reported_refused = st.refused;
            last_log_ms = now;
        }
    }
}

/* Room for the connection cap and the files kmsd itself keeps open. */
static void raise_fd_limit(unsigned connections)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    rlim_t want = (rlim_t)connections + 256;
    if (rl.rlim_cur >= want) return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
        core_log(CORE_LOG_WARN, "open-file limit %llu is below --max-connections + 256",
                 (unsigned long long)rl.rlim_cur);
}

/* MHD's own format strings; the attribute lets the compiler check the vsnprintf. */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\r\n")] = 0;
    core_log(CORE_LOG_DEBUG, "http: %s", line);
}

core_result server_http_start(struct server *srv, unsigned *port)
{
    const struct server_config *cfg = &srv->cfg;
    struct sockaddr_storage ss = {0};
    socklen_t sl;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, cfg->listen_host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)cfg->listen_port);
        sl = sizeof *in4;
    } else if (inet_pton(AF_INET6, cfg->listen_host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)cfg->listen_port);
        sl = sizeof *in6;
        flags |= MHD_USE_IPv6;
    } else if (strcmp(cfg->listen_host, "localhost") == 0) {
        in4->sin_family = AF_INET;
        in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        in4->sin_port = htons((uint16_t)cfg->listen_port);
        sl = sizeof *in4;
    } else {
        core_log(CORE_LOG_ERROR, "--listen host must be an IP address (or localhost): %s", cfg->listen_host);
        BAIL(ERR_INVALID_ARG);
    }
    (void)sl;
    /* HTTPS through MHD's GnuTLS support, certificate and key from memory
     * (server_tls.c read and checked them); TLS 1.2 and 1.3 only. */
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, srv->tls.cert.data},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls.key.data},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)(uintptr_t) "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_OptionItem no_opts[] = {{MHD_OPTION_END, 0, NULL}};
    if (srv->tls.on) flags |= MHD_USE_TLS;
    srv_tls_on = srv->tls.on;
    unsigned threads = cfg->threads;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1;
    }
    /* The caps are enforced by admission control (on_connection), which
     * sheds old incomplete or idle connections where MHD would refuse the
     * new one. MHD's own limit only bounds the transient while a shed
     * connection closes; it applies per worker thread, and a burst can land
     * on one worker, so each may hold the whole cap. */
    server_conns_init(cfg->max_connections, CORE_MAX_CONNECTIONS_PER_IP, cfg->head_timeout);
    unsigned mhd_limit = (cfg->max_connections + 64u) * threads;
    raise_fd_limit(cfg->max_connections + 64u);
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT, mhd_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, cfg->connection_timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(CORE_MAX_HEADER_BYTES + 16384), MHD_OPTION_UNESCAPE_CALLBACK, identity_unescape, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_ARRAY,
        srv->tls.on ? tls_opts : no_opts, MHD_OPTION_END);
    if (d == NULL) {
        core_log(CORE_LOG_ERROR, "cannot listen on %s:%u", cfg->listen_host, cfg->listen_port);
        BAIL(ERR_IO);
    }
    pool.threads = calloc(cfg->write_threads, sizeof *pool.threads);
    pool.stopping = false;
    for (unsigned i = 0; pool.threads && i < cfg->write_threads; i++) {
        if (pthread_create(&pool.threads[i], NULL, writer_main, NULL) != 0) break;
        pool.n_threads++;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *port = di ? di->port : cfg->listen_port;
    srv->daemon = d;
    CORE_OK;
}

void server_http_stop(struct server *srv)
{
    if (srv->daemon == NULL) return;
    /* Stop accepting, let the writers finish (and resume) what is queued,
     * then stop MHD: no connection may stay suspended past this point. */
    MHD_socket listen_fd = MHD_quiesce_daemon(srv->daemon);
    if (listen_fd != MHD_INVALID_SOCKET) close(listen_fd); /* ours after quiesce */
    pthread_mutex_lock(&pool.mu);
    pool.stopping = true;
    pthread_cond_broadcast(&pool.cv);
    pthread_mutex_unlock(&pool.mu);
    for (unsigned i = 0; i < pool.n_threads; i++) pthread_join(pool.threads[i], NULL);
    free(pool.threads);
    pool.threads = NULL;
    pool.n_threads = 0;
    MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
}

/* ---- the --metrics listener: GET /metrics only, loopback only ----------- */

static enum MHD_Result on_metrics(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    (void)version;
    (void)upload_data;
    (void)req_cls;
    struct server *srv = cls;
    if (*upload_data_size) {
        *upload_data_size = 0; /* a body is never wanted: dropped */
        return MHD_YES;
    }
    unsigned status = 200;
    struct core_buf b = {0};
    const char *ctype = "text/plain; version=0.0.4; charset=utf-8";
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        status = 405;
    } else if (strcmp(url, "/metrics") != 0) {
        status = 404;
    } else if (!core_ok(core_buf_init(&b, 16384, 4u << 20)) || !core_ok(server_metrics_render(srv, &b))) {
        status = 500;
    }
    if (status != 200) {
        core_buf_free(&b);
        ctype = "text/plain";
    }
    struct MHD_Response *mr = MHD_create_response_from_buffer(status == 200 ? b.len : 0,
                                                              status == 200 ? b.data : NULL, MHD_RESPMEM_MUST_COPY);
    core_buf_free(&b);
    if (mr == NULL) return MHD_NO;
    MHD_add_response_header(mr, "Content-Type", ctype);
    enum MHD_Result ret = MHD_queue_response(conn, status, mr);
    MHD_destroy_response(mr);
    return ret;
}

core_result server_http_metrics_start(struct server *srv, unsigned *port)
{
    const struct server_config *cfg = &srv->cfg;
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (inet_pton(AF_INET, cfg->metrics_host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)cfg->metrics_port);
    } else if (inet_pton(AF_INET6, cfg->metrics_host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)cfg->metrics_port);
        flags |= MHD_USE_IPv6;
    } else {
        in4->sin_family = AF_INET; /* "localhost" */
        in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        in4->sin_port = htons((uint16_t)cfg->metrics_port);
    }
    /* Small and separate from the API: a scraper cannot take the API's
     * connection slots, and API load cannot starve the scraper. */
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_metrics, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)16384, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
    if (d == NULL) {
        core_log(CORE_LOG_ERROR, "cannot listen for metrics on %s:%u", cfg->metrics_host, cfg->metrics_port);
        BAIL(ERR_IO);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *port = di ? di->port : cfg->metrics_port;
    srv->metrics_daemon = d;
    CORE_OK;
}

void server_http_metrics_stop(struct server *srv)
{
    if (srv->metrics_daemon == NULL) return;
    MHD_stop_daemon(srv->metrics_daemon);
    srv->metrics_daemon = NULL;
}
