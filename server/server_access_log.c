/*
 * The access log: one JSON line per request (request id, service,
 * operation, principal ARN, access key id, source ip, status, error code,
 * latency). Never key material, plaintexts, secrets or signatures: only the
 * fields of struct server_access_entry reach it. Lines are buffered and
 * written by server_access_log_flush() (main's timer, or a full buffer), so
 * requests do not pay a syscall each.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "server/server_internal.h"

#define LOG_BUF_BYTES (256u * 1024u)
#define LOG_FLUSH_AT (192u * 1024u)

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = -1;
static struct core_buf log_buf;

core_result server_access_log_open(const char *path)
{
    if (strcmp(path, "off") == 0) CORE_OK;
    int fd = strcmp(path, "-") == 0 ? dup(STDOUT_FILENO) : open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        core_log(CORE_LOG_ERROR, "cannot open access log %s", path);
        BAIL(ERR_IO);
    }
    GUARD(core_buf_init(&log_buf, LOG_BUF_BYTES, LOG_BUF_BYTES));
    log_fd = fd;
    CORE_OK;
}

static void write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return;
        p += w;
        n -= (size_t)w;
    }
}

static void flush_locked(void)
{
    if (log_fd >= 0 && log_buf.len) write_all(log_fd, log_buf.data, log_buf.len);
    log_buf.len = 0;
}

void server_access_log(const struct server_access_entry *e)
{
    server_metrics_request(e);
    if (log_fd < 0) return;
    char ts[32];
    core_time_iso8601(core_clock_real(), ts);
    uint8_t line[2048];
    struct core_buf b = {.data = line, .cap = sizeof line, .max = sizeof line - 1};
    struct core_jw w;
    core_jw_init(&w, &b);
    core_result r = core_jw_object_begin(&w, NULL);
    if (core_ok(r)) r = core_jw_cstr(&w, "time", ts);
    if (core_ok(r)) r = core_jw_cstr(&w, "request_id", e->request_id);
    if (core_ok(r)) r = core_jw_cstr(&w, "service", e->service);
    if (core_ok(r)) r = core_jw_cstr(&w, "operation", e->operation);
    if (core_ok(r)) r = core_jw_cstr(&w, "principal", e->principal_arn);
    if (core_ok(r)) r = core_jw_cstr(&w, "access_key_id", e->access_key_id);
    if (core_ok(r)) r = core_jw_cstr(&w, "source_ip", e->source_ip);
    if (core_ok(r)) r = core_jw_int(&w, "status", e->status);
    if (core_ok(r) && e->error_code[0]) r = core_jw_cstr(&w, "error", e->error_code);
    if (core_ok(r)) r = core_jw_int(&w, "latency_us", (int64_t)e->latency_us);
    if (core_ok(r)) r = core_jw_object_end(&w);
    if (core_ok(r)) r = core_buf_append_u8(&b, '\n');
    if (!core_ok(r)) return;
    pthread_mutex_lock(&log_lock);
    if (log_buf.len + b.len > log_buf.max) flush_locked();
    core_result_ignore(core_buf_append(&log_buf, b.data, b.len));
    if (log_buf.len >= LOG_FLUSH_AT) flush_locked();
    pthread_mutex_unlock(&log_lock);
}

void server_access_log_flush(void)
{
    pthread_mutex_lock(&log_lock);
    flush_locked();
    pthread_mutex_unlock(&log_lock);
}

void server_access_log_close(void)
{
    server_access_log_flush();
    pthread_mutex_lock(&log_lock);
    if (log_fd >= 0) close(log_fd);
    log_fd = -1;
    core_buf_free(&log_buf);
    pthread_mutex_unlock(&log_lock);
}
