/*
 * `kmsbench --idle N`: N keep-alive connections that each complete one
 * request and then stay open and quiet during the measured run, to see what
 * a crowd of idle clients costs the active ones. Loopback clients share one
 * address, and the server sheds the oldest idle connections of an address
 * past its per-address cap (512), so the idle connections come from
 * 127.0.0.2 to 127.0.0.9 in turn (Linux routes all of 127/8 to loopback).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tools/kmsbench.h"

#define KB_IDLE_ADDRS 8u

static bool read_response(int fd)
{
    uint8_t buf[8192];
    size_t len = 0;
    struct kb_resp r = {0};
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10000) <= 0) return false;
        ssize_t n = recv(fd, buf + len, sizeof buf - len, 0);
        if (n <= 0) return false;
        len += (size_t)n;
        enum kb_parse st = kb_resp_parse(&r, buf, len);
        if (st == KB_PARSE_DONE) return !r.close;
        if (st == KB_PARSE_ERROR || len == sizeof buf) return false;
    }
}

core_result kb_idle_open(const struct kb_endpoint *ep, unsigned n, int *fds)
{
    ENSURE(n <= KB_MAX_IDLE, ERR_LIMIT);
    for (unsigned i = 0; i < n; i++) fds[i] = -1;
    char req[256];
    int rl = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", ep->host_header);
    unsigned opened = 0;
    core_result r = core_result_ok();
    for (; opened < n; opened++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            r = core_result_fail_at(ERR_IO, __FILE__, __LINE__);
            break;
        }
        fds[opened] = fd;
        struct sockaddr_in src = {.sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(0x7f000002u + opened % KB_IDLE_ADDRS)};
        struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(ep->port), .sin_addr.s_addr = ep->addr};
        if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0 || connect(fd, (struct sockaddr *)&dst, sizeof dst) != 0 ||
            send(fd, req, (size_t)rl, MSG_NOSIGNAL) != rl || !read_response(fd)) {
            r = core_result_fail_at(ERR_IO, __FILE__, __LINE__);
            opened++;
            break;
        }
    }
    if (!core_ok(r)) kb_idle_close(fds, opened);
    return r;
}

unsigned kb_idle_alive(const int *fds, unsigned n)
{
    unsigned alive = 0;
    for (unsigned i = 0; i < n; i++) {
        struct pollfd p = {.fd = fds[i], .events = POLLIN};
        /* An idle connection has nothing to read; a closed one reads as end of stream. */
        alive += poll(&p, 1, 0) == 0;
    }
    return alive;
}

void kb_idle_close(int *fds, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (fds[i] >= 0) close(fds[i]);
        fds[i] = -1;
    }
}
