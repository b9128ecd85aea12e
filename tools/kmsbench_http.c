/*
 * The client side of HTTP/1.1, only as much as kmsbench needs: one request
 * in flight per connection, responses with Content-Length (what
 * libmicrohttpd sends for buffer responses), keep-alive unless the server
 * says close. Plus the endpoint URL and a blocking round trip for setup.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "tools/kmsbench.h"

static bool lower_eq(struct core_cursor a, const char *s) { return core_cursor_eq_icase(a, core_cursor_str(s)); }

static bool contains_icase(struct core_cursor hay, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= hay.len; i++)
        if (core_cursor_eq_icase(core_cursor_from(hay.ptr + i, n), core_cursor_from(needle, n))) return true;
    return false;
}

static enum kb_parse parse_head(struct kb_resp *r, struct core_cursor head)
{
    struct core_cursor line;
    core_cursor_split(&head, '\n', &line);
    /* "HTTP/1.1 200 OK\r" */
    if (line.len < 12 || !core_cursor_starts_with(line, "HTTP/1.")) return KB_PARSE_ERROR;
    bool http10 = line.ptr[7] == '0';
    uint64_t status;
    if (line.ptr[8] != ' ' || !core_ok(core_cursor_to_u64(core_cursor_from(line.ptr + 9, 3), 999, &status)))
        return KB_PARSE_ERROR;
    r->status = (unsigned)status;
    bool have_length = false, keep_alive = false;
    r->close = false;
    while (core_cursor_split(&head, '\n', &line)) {
        struct core_cursor name;
        if (line.len && line.ptr[line.len - 1] == '\r') line.len--;
        if (line.len == 0) break;
        core_cursor_split(&line, ':', &name);
        struct core_cursor value = core_cursor_trim(line);
        if (lower_eq(name, "content-length")) {
            uint64_t n;
            if (!core_ok(core_cursor_to_u64(value, KB_MAX_RESPONSE_BYTES, &n))) return KB_PARSE_ERROR;
            r->body_len = (size_t)n;
            have_length = true;
        } else if (lower_eq(name, "transfer-encoding")) {
            return KB_PARSE_ERROR;
        } else if (lower_eq(name, "connection")) {
            if (contains_icase(value, "close")) r->close = true;
            if (contains_icase(value, "keep-alive")) keep_alive = true;
        }
    }
    if (http10 && !keep_alive) r->close = true;
    /* 1xx, 204 and 304 carry no body; nothing else may omit the length here. */
    if (!have_length) {
        if (r->status / 100 == 1 || r->status == 204 || r->status == 304) r->body_len = 0;
        else return KB_PARSE_ERROR;
    }
    return KB_PARSE_MORE;
}

enum kb_parse kb_resp_parse(struct kb_resp *r, const uint8_t *in, size_t len)
{
    if (r->header_len == 0) {
        size_t from = r->scanned > 3 ? r->scanned - 3 : 0;
        const uint8_t *end = len > from ? memmem(in + from, len - from, "\r\n\r\n", 4) : NULL;
        if (end == NULL) {
            r->scanned = len;
            return len > CORE_MAX_HEADER_BYTES ? KB_PARSE_ERROR : KB_PARSE_MORE;
        }
        size_t hl = (size_t)(end - in) + 4;
        if (parse_head(r, core_cursor_from(in, hl)) == KB_PARSE_ERROR) return KB_PARSE_ERROR;
        r->header_len = hl;
    }
    return len >= r->header_len + r->body_len ? KB_PARSE_DONE : KB_PARSE_MORE;
}

static void copy_code(struct core_cursor c, char out[KB_ERROR_CODE_BYTES])
{
    /* Shapes like "com.amazonaws.kms#NotFoundException" keep the part after '#'. */
    for (size_t i = c.len; i > 0; i--)
        if (c.ptr[i - 1] == '#') {
            c.ptr += i;
            c.len -= i;
            break;
        }
    size_t n = 0;
    for (size_t i = 0; i < c.len && n + 1 < KB_ERROR_CODE_BYTES; i++) {
        uint8_t ch = c.ptr[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                  ch == '_' || ch == '-';
        out[n++] = ok ? (char)ch : '?';
    }
    out[n] = 0;
}

void kb_resp_error_code(const struct kb_resp *r, const uint8_t *in, char out[KB_ERROR_CODE_BYTES])
{
    struct core_cursor body = core_cursor_from(in + r->header_len, r->body_len);
    const uint8_t *p = memmem(body.ptr, body.len, "\"__type\"", 8);
    if (p) {
        struct core_cursor rest = core_cursor_from(p + 8, body.len - (size_t)(p + 8 - body.ptr));
        while (rest.len && (rest.ptr[0] == ' ' || rest.ptr[0] == ':')) rest.ptr++, rest.len--;
        if (rest.len && rest.ptr[0] == '"') {
            rest.ptr++, rest.len--;
            const uint8_t *q = memchr(rest.ptr, '"', rest.len);
            if (q && q > rest.ptr) {
                copy_code(core_cursor_from(rest.ptr, (size_t)(q - rest.ptr)), out);
                return;
            }
        }
    }
    p = memmem(body.ptr, body.len, "<Code>", 6);
    if (p) {
        struct core_cursor rest = core_cursor_from(p + 6, body.len - (size_t)(p + 6 - body.ptr));
        const uint8_t *q = memmem(rest.ptr, rest.len, "</Code>", 7);
        if (q && q > rest.ptr) {
            copy_code(core_cursor_from(rest.ptr, (size_t)(q - rest.ptr)), out);
            return;
        }
    }
    snprintf(out, KB_ERROR_CODE_BYTES, "HTTP_%u", r->status);
}

core_result kb_endpoint_parse(const char *url, struct kb_endpoint *out)
{
    struct core_cursor c = core_cursor_str(url);
    ENSURE(core_cursor_starts_with(c, "http://"), ERR_INVALID_ARG);
    c.ptr += 7, c.len -= 7;
    if (c.len && c.ptr[c.len - 1] == '/') c.len--;
    struct core_cursor host;
    core_cursor_split(&c, ':', &host);
    ENSURE(host.len > 0 && host.len < 64 && c.len > 0, ERR_INVALID_ARG);
    uint64_t port;
    ENSURE(core_ok(core_cursor_to_u64(c, 65535, &port)) && port > 0, ERR_INVALID_ARG);
    char h[64];
    memcpy(h, host.ptr, host.len);
    h[host.len] = 0;
    struct in_addr a;
    if (strcmp(h, "localhost") == 0) a.s_addr = htonl(INADDR_LOOPBACK);
    else ENSURE(inet_pton(AF_INET, h, &a) == 1, ERR_INVALID_ARG);
    out->addr = a.s_addr;
    out->port = (uint16_t)port;
    snprintf(out->host_header, sizeof out->host_header, "%s:%u", h, (unsigned)port);
    CORE_OK;
}

void kb_endpoint_local(uint16_t port, struct kb_endpoint *out)
{
    out->addr = htonl(INADDR_LOOPBACK);
    out->port = port;
    snprintf(out->host_header, sizeof out->host_header, "127.0.0.1:%u", (unsigned)port);
}

static void close_fd(int *fd)
{
    if (*fd >= 0) close(*fd);
}

core_result kb_http_roundtrip(const struct kb_endpoint *ep, struct core_cursor request, unsigned *status,
                              struct core_buf *body)
{
    DEFER_CLEANUP(int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), close_fd);
    ENSURE(fd >= 0, ERR_IO);
    struct timeval tv = {.tv_sec = 30};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(ep->port), .sin_addr.s_addr = ep->addr};
    ENSURE(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0, ERR_IO);
    size_t off = 0;
    while (off < request.len) {
        ssize_t n = send(fd, request.ptr + off, request.len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        ENSURE(n > 0, ERR_IO);
        off += (size_t)n;
    }
    DEFER_CLEANUP(struct core_buf in = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&in, 4096, KB_MAX_RESPONSE_BYTES + CORE_MAX_HEADER_BYTES));
    struct kb_resp r = {0};
    for (;;) {
        GUARD(core_buf_reserve(&in, 4096));
        ssize_t n = recv(fd, in.data + in.len, in.cap - in.len, 0);
        if (n < 0 && errno == EINTR) continue;
        ENSURE(n > 0, ERR_IO);
        in.len += (size_t)n;
        enum kb_parse p = kb_resp_parse(&r, in.data, in.len);
        ENSURE(p != KB_PARSE_ERROR, ERR_PARSE);
        if (p == KB_PARSE_DONE) break;
    }
    *status = r.status;
    core_buf_reset(body);
    return core_buf_append(body, in.data + r.header_len, r.body_len);
}
