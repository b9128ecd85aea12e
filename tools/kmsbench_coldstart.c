/*
 * kmsbench --cold-start KMSD --data-dir DIR: the time from exec() of kmsd on
 * an existing keystore to the first served request (a signed
 * GenerateRandom, sent as soon as the port accepts), and the server's
 * resident memory one second later, idle. Repeated --trials times.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/kmsbench.h"

static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) kib = strtol(line + 6, NULL, 10);
    fclose(f);
    return kib;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int kb_cold_start(struct kb_ctx *ctx, const char *kmsd, const char *data_dir, unsigned trials, bool json)
{
    double ms[64];
    long rss[64];
    if (trials == 0 || trials > 64) trials = 5;
    struct kb_scratch s;
    struct core_buf req, body;
    if (!core_ok(kb_scratch_init(&s, 1)) || !core_ok(core_buf_init(&req, 4096, 65536)) ||
        !core_ok(core_buf_init(&body, 4096, 1 << 20)))
        return 2;
    int rc = 0;
    for (unsigned t = 0; t < trials; t++) {
        uint16_t port = free_port();
        struct kb_endpoint ep;
        kb_endpoint_local(port, &ep);
        char listen[32];
        snprintf(listen, sizeof listen, "127.0.0.1:%u", (unsigned)port);
        /* Signed before the clock starts, as a client would have it ready. */
        if (!core_ok(kb_build(ctx, &ep, KB_OP_GENERATE_RANDOM, false, &s, &req))) {
            rc = 2;
            break;
        }
        uint64_t t0 = core_clock_mono_ns();
        pid_t pid = fork();
        if (pid == 0) {
            int dn = open("/dev/null", O_RDWR);
            if (dn >= 0) {
                dup2(dn, 1);
                dup2(dn, 2);
            }
            execl(kmsd, kmsd, "--listen", listen, "--data-dir", data_dir, "--access-log", "off", (char *)NULL);
            _exit(127);
        }
        if (pid < 0) {
            rc = 2;
            break;
        }
        unsigned status = 0;
        bool served = false;
        while (core_clock_mono_ns() - t0 < 10000000000ull) {
            if (core_ok(kb_http_roundtrip(&ep, core_buf_cursor(&req), &status, &body))) {
                served = status == 200;
                break;
            }
            if (waitpid(pid, NULL, WNOHANG) == pid) break;
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
        uint64_t t1 = core_clock_mono_ns();
        struct timespec idle = {1, 0};
        nanosleep(&idle, NULL);
        rss[t] = rss_kib(pid);
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        if (!served) {
            fprintf(stderr, "kmsbench: cold start trial %u: kmsd did not serve (HTTP %u)\n", t + 1, status);
            rc = 1;
            break;
        }
        ms[t] = (double)(t1 - t0) / 1e6;
    }
    if (rc == 0) {
        double sorted[64];
        memcpy(sorted, ms, trials * sizeof ms[0]);
        qsort(sorted, trials, sizeof sorted[0], cmp_double);
        long max_rss = 0;
        for (unsigned t = 0; t < trials; t++) max_rss = rss[t] > max_rss ? rss[t] : max_rss;
        printf("cold start to first served request: min %.1f ms, median %.1f ms, max %.1f ms (%u trials); "
               "idle RSS %.1f MiB\n",
               sorted[0], sorted[trials / 2], sorted[trials - 1], trials, (double)max_rss / 1024.0);
        if (json)
            printf("{\"measure\":\"cold-start\",\"trials\":%u,\"min_ms\":%.2f,\"median_ms\":%.2f,\"max_ms\":%.2f,"
                   "\"idle_rss_kib\":%ld}\n",
                   trials, sorted[0], sorted[trials / 2], sorted[trials - 1], max_rss);
    }
    kb_scratch_free(&s);
    core_buf_free(&req);
    core_buf_free(&body);
    return rc;
}
