/*
 * The client event loop. Each thread owns a share of the connections and
 * one epoll set; a connection carries one request at a time (keep-alive,
 * no pipelining), with one reusable output and one reusable input buffer.
 *
 * Closed loop (default): a connection sends its next request as soon as the
 * previous response is complete, which measures saturation.
 *
 * Open loop (--rate): every connection has a schedule, rate/connections
 * requests per second, staggered across connections. A request is sent at
 * its scheduled time, or at once when the connection was still busy then,
 * and its latency is measured from the scheduled time, not from when it was
 * actually sent: a server that stalls is charged for every request that
 * queued behind the stall (wrk2's answer to coordinated omission).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tools/kmsbench.h"

#define KB_READ_CHUNK 16384u
#define KB_RECONNECT_BACKOFF_NS 50000000ull /* after a failed connect */
#define KB_TIMEOUT_SCAN_NS 50000000ull

enum conn_state {
    CS_WAIT,       /* nothing in flight; wake_at says when to act */
    CS_CONNECTING, /* non-blocking connect in progress */
    CS_BUSY,       /* request written (or being written), response pending */
    CS_DONE,       /* no more work for this connection */
};

struct conn {
    int fd;
    enum conn_state state;
    bool connected;
    bool want_out; /* EPOLLOUT registered */
    struct core_buf out;
    size_t out_off;
    struct core_buf in;
    struct kb_resp resp;
    uint64_t origin;   /* latency is measured from here */
    uint64_t sent;     /* for the timeout */
    uint64_t wake_at;  /* CS_WAIT: reconnect or scheduled send; 0 = none */
    uint64_t next_due; /* open loop: scheduled time of the next request */
};

struct shared {
    const struct kb_run_cfg *cfg;
    _Atomic uint64_t issued;
    uint64_t t0, t_measure, t_end; /* monotonic ns; t_end 0 with a request count */
    uint64_t interval;            /* open loop: ns between requests of one connection */
};

struct worker {
    pthread_t tid;
    _Atomic pid_t os_tid; /* excluded from the floor's CPU */
    struct shared *sh;
    struct conn *conns;
    unsigned n;
    int ep;
    struct kb_scratch scratch;
    uint64_t ok, failed, socket_errors, timeouts, reconnects, last_done;
    struct kb_errors errors;
    struct kb_hist hist;
};

static void set_events(struct worker *w, struct conn *c, bool out)
{
    if (c->want_out == out) return;
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0u), .data.ptr = c};
    epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = out;
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0) close(c->fd); /* also leaves the epoll set */
    c->fd = -1;
    c->connected = false;
    c->want_out = false;
}

static void conn_open(struct worker *w, struct conn *c, uint64_t now)
{
    const struct kb_endpoint *ep = &w->sh->cfg->ep;
    conn_close(c);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) goto fail;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(ep->port), .sin_addr.s_addr = ep->addr};
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) goto fail;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) goto fail;
    c->want_out = true;
    c->state = CS_CONNECTING;
    return;
fail:
    w->socket_errors++;
    conn_close(c);
    c->state = CS_WAIT;
    c->wake_at = now + KB_RECONNECT_BACKOFF_NS;
}

static bool measuring(const struct shared *sh, uint64_t t)
{
    return t >= sh->t_measure && (sh->t_end == 0 || t <= sh->t_end);
}

static void flush(struct worker *w, struct conn *c, uint64_t now);

/* Builds, signs and starts writing one request whose latency counts from origin. */
static void start_request(struct worker *w, struct conn *c, uint64_t origin, uint64_t now)
{
    const struct kb_run_cfg *cfg = w->sh->cfg;
    if (cfg->requests && atomic_fetch_add(&w->sh->issued, 1) >= cfg->requests) {
        c->state = CS_DONE;
        return;
    }
    enum kb_op op = kb_workload_pick(cfg->w, &w->scratch);
    core_result r = kb_build(cfg->ctx, &cfg->ep, op, cfg->w->temp_creds, &w->scratch, &c->out);
    if (!core_ok(r)) {
        /* A local failure repeats for every request: stop this connection. */
        char code[KB_ERROR_CODE_BYTES];
        snprintf(code, sizeof code, "client:%s", core_err_name(r.err));
        kb_errors_add(&w->errors, code, 1);
        w->failed++;
        c->state = CS_DONE;
        return;
    }
    c->out_off = 0;
    c->in.len = 0;
    c->resp = (struct kb_resp){0};
    c->origin = origin;
    c->sent = now;
    c->state = CS_BUSY;
    c->wake_at = 0;
    flush(w, c, now);
}

/* What a connection with nothing in flight does next. */
static void next_request(struct worker *w, struct conn *c, uint64_t now)
{
    const struct shared *sh = w->sh;
    if (sh->t_end && now >= sh->t_end) {
        c->state = CS_DONE;
        return;
    }
    if (!c->connected) {
        conn_open(w, c, now);
        return;
    }
    if (sh->interval == 0) {
        start_request(w, c, now, now);
        return;
    }
    if (c->next_due <= now) {
        uint64_t due = c->next_due;
        c->next_due += sh->interval;
        start_request(w, c, due, now);
        return;
    }
    c->state = CS_WAIT;
    c->wake_at = c->next_due;
}

static void conn_failed(struct worker *w, struct conn *c, uint64_t now, bool timeout)
{
    if (timeout) w->timeouts++;
    else w->socket_errors++;
    conn_close(c);
    /* The request is lost; a scheduled one keeps its slot in the schedule. */
    c->state = CS_WAIT;
    c->wake_at = now;
    w->reconnects++;
}

static void flush(struct worker *w, struct conn *c, uint64_t now)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            set_events(w, c, true);
            return;
        }
        conn_failed(w, c, now, false);
        return;
    }
    set_events(w, c, false);
}

static void complete(struct worker *w, struct conn *c, uint64_t now)
{
    struct shared *sh = w->sh;
    unsigned st = c->resp.status;
    if (measuring(sh, now)) {
        kb_hist_record(&w->hist, now - c->origin);
        if (st >= 200 && st < 300) {
            w->ok++;
        } else {
            char code[KB_ERROR_CODE_BYTES];
            kb_resp_error_code(&c->resp, c->in.data, code);
            kb_errors_add(&w->errors, code, 1);
            w->failed++;
        }
        w->last_done = now;
    }
    bool extra = c->in.len > c->resp.header_len + c->resp.body_len;
    c->state = CS_WAIT;
    if (c->resp.close || extra) {
        if (extra) kb_errors_add(&w->errors, "client:unexpected-bytes", 1);
        conn_close(c);
        w->reconnects++;
    }
    next_request(w, c, now);
}

static void on_readable(struct worker *w, struct conn *c, uint64_t now)
{
    for (;;) {
        if (!core_ok(core_buf_reserve(&c->in, KB_READ_CHUNK))) {
            kb_errors_add(&w->errors, "client:response-too-large", 1);
            conn_failed(w, c, now, false);
            return;
        }
        ssize_t n = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len, 0);
        if (n > 0) {
            if (c->state != CS_BUSY) { /* bytes nobody asked for */
                kb_errors_add(&w->errors, "client:unexpected-bytes", 1);
                conn_failed(w, c, now, false);
                return;
            }
            c->in.len += (size_t)n;
            enum kb_parse p = kb_resp_parse(&c->resp, c->in.data, c->in.len);
            if (p == KB_PARSE_ERROR) {
                kb_errors_add(&w->errors, "client:bad-response", 1);
                w->failed++;
                conn_failed(w, c, now, false);
                return;
            }
            if (p == KB_PARSE_DONE) {
                complete(w, c, now);
                return;
            }
            if ((size_t)n < KB_READ_CHUNK) return; /* drained; level-triggered epoll calls again */
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        /* EOF or error: an idle keep-alive connection closed by the server is
         * not an error of any request. */
        if (c->state == CS_BUSY) {
            conn_failed(w, c, now, false);
        } else {
            conn_close(c);
            w->reconnects++;
            c->state = CS_WAIT;
            c->wake_at = now;
        }
        return;
    }
}

static void on_event(struct worker *w, struct conn *c, uint32_t events, uint64_t now)
{
    if (c->state == CS_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if ((events & (EPOLLERR | EPOLLHUP)) || getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
            err != 0) {
            w->socket_errors++;
            conn_close(c);
            c->state = CS_WAIT;
            c->wake_at = now + KB_RECONNECT_BACKOFF_NS;
            return;
        }
        if (!(events & EPOLLOUT)) return;
        c->connected = true;
        set_events(w, c, false);
        next_request(w, c, now);
        return;
    }
    if (c->state == CS_BUSY && (events & EPOLLOUT) && c->out_off < c->out.len) {
        flush(w, c, now);
        if (c->fd < 0) return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(w, c, now);
}

static int wait_events(int ep, struct epoll_event *evs, int max, uint64_t timeout_ns)
{
    struct timespec ts = {.tv_sec = (time_t)(timeout_ns / 1000000000u), .tv_nsec = (long)(timeout_ns % 1000000000u)};
    int n = epoll_pwait2(ep, evs, max, &ts, NULL);
    if (n < 0 && errno == ENOSYS) {
        /* Kernels before 5.11: millisecond timeouts, rounded up. */
        uint64_t ms = (timeout_ns + 999999u) / 1000000u;
        n = epoll_wait(ep, evs, max, ms > 1000 ? 1000 : (int)ms);
    }
    return n;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    atomic_store(&w->os_tid, kb_gettid());
    struct shared *sh = w->sh;
    uint64_t timeout = sh->cfg->timeout_ns;
    uint64_t now = core_clock_mono_ns();
    uint64_t next_scan = now + KB_TIMEOUT_SCAN_NS;
    for (unsigned i = 0; i < w->n; i++) conn_open(w, &w->conns[i], now);
    struct epoll_event evs[64];
    for (;;) {
        now = core_clock_mono_ns();
        if (sh->t_end && now >= sh->t_end) break;
        /* Due connections: scheduled sends and reconnects. */
        uint64_t wake = sh->t_end ? sh->t_end : now + 1000000000u;
        bool active = false;
        for (unsigned i = 0; i < w->n; i++) {
            struct conn *c = &w->conns[i];
            if (c->state == CS_WAIT && c->wake_at <= now) next_request(w, c, now);
            if (c->state == CS_WAIT && c->wake_at < wake) wake = c->wake_at;
            if (c->state != CS_DONE) active = true;
        }
        if (!active) break;
        if (now >= next_scan) {
            for (unsigned i = 0; i < w->n; i++) {
                struct conn *c = &w->conns[i];
                if (c->state == CS_BUSY && now - c->sent > timeout) conn_failed(w, c, now, true);
            }
            next_scan = now + KB_TIMEOUT_SCAN_NS;
        }
        if (next_scan < wake) wake = next_scan;
        int n = wait_events(w->ep, evs, 64, wake > now ? wake - now : 0);
        if (n < 0 && errno != EINTR) break;
        now = core_clock_mono_ns();
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->fd < 0) continue;
            on_event(w, c, evs[i].events, now);
        }
    }
    for (unsigned i = 0; i < w->n; i++) conn_close(&w->conns[i]);
    return NULL;
}

core_result kb_run(const struct kb_run_cfg *cfg, struct kb_result *res)
{
    ENSURE(cfg->connections > 0 && cfg->connections <= KB_MAX_CONNECTIONS, ERR_INVALID_ARG);
    ENSURE(cfg->threads > 0 && cfg->threads <= KB_MAX_THREADS, ERR_INVALID_ARG);
    ENSURE(cfg->duration_ns || cfg->requests, ERR_INVALID_ARG);
    unsigned nt = cfg->threads < cfg->connections ? cfg->threads : cfg->connections;
    struct shared sh = {.cfg = cfg};
    atomic_init(&sh.issued, 0);
    struct worker *ws = calloc(nt, sizeof *ws);
    struct conn *conns = calloc(cfg->connections, sizeof *conns);
    if (ws == NULL || conns == NULL) {
        free(ws);
        free(conns);
        BAIL(ERR_NOMEM);
    }
    core_result r = core_result_ok();
    sh.t0 = core_clock_mono_ns();
    sh.t_measure = sh.t0 + (cfg->duration_ns ? cfg->warmup_ns : 0);
    sh.t_end = cfg->duration_ns ? sh.t_measure + cfg->duration_ns : 0;
    if (cfg->rate > 0) sh.interval = (uint64_t)((double)cfg->connections * 1e9 / cfg->rate);
    if (cfg->rate > 0 && sh.interval == 0) sh.interval = 1;
    for (unsigned i = 0; i < cfg->connections; i++) {
        struct conn *c = &conns[i];
        c->fd = -1;
        c->next_due = sh.t0 + (sh.interval * i) / cfg->connections;
        if (core_ok(r)) r = core_buf_init(&c->out, 4096, KB_MAX_REQUEST_BYTES);
        if (core_ok(r)) r = core_buf_init(&c->in, KB_READ_CHUNK, KB_MAX_RESPONSE_BYTES + CORE_MAX_HEADER_BYTES);
    }
    /* --cpu: sample the server when the measured window opens. */
    pid_t exclude[KB_MAX_THREADS + 1] = {kb_gettid()};
    uint64_t cpu0 = 0, cpu1 = 0;
    bool cpu_ok = cfg->cpu_pid != 0;
    if (cpu_ok && sh.t_measure == sh.t0) cpu_ok = core_ok(kb_cpu_ticks(cfg->cpu_pid, exclude, 1, &cpu0));
    unsigned started = 0;
    for (unsigned t = 0; t < nt && core_ok(r); t++) {
        struct worker *w = &ws[t];
        w->sh = &sh;
        /* Contiguous shares: thread t gets connections [t*C/T, (t+1)*C/T). */
        unsigned lo = (unsigned)((uint64_t)t * cfg->connections / nt);
        unsigned hi = (unsigned)((uint64_t)(t + 1) * cfg->connections / nt);
        w->conns = conns + lo;
        w->n = hi - lo;
        kb_hist_reset(&w->hist);
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        if (w->ep < 0) {
            r = core_result_fail_at(ERR_IO, __FILE__, __LINE__);
            break;
        }
        r = kb_scratch_init(&w->scratch, (sh.t0 ^ ((uint64_t)t << 32)) * 0x9E3779B97F4A7C15ULL);
        if (!core_ok(r)) break;
        if (pthread_create(&w->tid, NULL, worker_main, w) != 0) {
            r = core_result_fail_at(ERR_NOMEM, __FILE__, __LINE__);
            break;
        }
        started++;
    }
    if (cpu_ok && sh.t_measure > sh.t0) {
        uint64_t now = core_clock_mono_ns();
        if (sh.t_measure > now) {
            struct timespec ts = {.tv_sec = (time_t)((sh.t_measure - now) / 1000000000u),
                                  .tv_nsec = (long)((sh.t_measure - now) % 1000000000u)};
            while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
            }
        }
        unsigned n = 1;
        for (unsigned t = 0; t < started; t++) exclude[n++] = atomic_load(&ws[t].os_tid);
        cpu_ok = core_ok(kb_cpu_ticks(cfg->cpu_pid, exclude, n, &cpu0));
    }
    for (unsigned t = 0; t < started; t++) pthread_join(ws[t].tid, NULL);
    /* The client threads have ended: only the main thread is left to exclude. */
    if (cpu_ok) cpu_ok = core_ok(kb_cpu_ticks(cfg->cpu_pid, exclude, 1, &cpu1));

    memset(res, 0, sizeof *res);
    kb_hist_reset(&res->hist);
    uint64_t last = sh.t_measure;
    for (unsigned t = 0; t < nt; t++) {
        struct worker *w = &ws[t];
        res->ok += w->ok;
        res->failed += w->failed;
        res->socket_errors += w->socket_errors;
        res->timeouts += w->timeouts;
        res->reconnects += w->reconnects;
        if (w->last_done > last) last = w->last_done;
        kb_hist_merge(&res->hist, &w->hist);
        kb_errors_merge(&res->errors, &w->errors);
        kb_scratch_free(&w->scratch);
        if (w->ep > 0) close(w->ep);
    }
    uint64_t span = sh.t_end ? sh.t_end - sh.t_measure : last - sh.t_measure;
    res->seconds = (double)span / 1e9;
    if (cpu_ok) {
        res->cpu_measured = true;
        res->cpu_seconds = (double)(cpu1 - cpu0) / (double)sysconf(_SC_CLK_TCK);
        res->cpu_requests = res->ok + res->failed;
    }
    for (unsigned i = 0; i < cfg->connections; i++) {
        core_buf_free(&conns[i].out);
        core_buf_free(&conns[i].in);
    }
    free(conns);
    free(ws);
    return r;
}
