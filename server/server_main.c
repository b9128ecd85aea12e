/*
 * kmsd: parse options, open the keystore (creating it and the
 * administrator on first start), listen, and run background work until
 * SIGTERM/SIGINT, then stop accepting, finish in-flight requests and close.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/server_internal.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static bool is_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 || strcmp(host, "localhost") == 0;
}

/* A core dump would hold the master key, key material, secret access keys
 * and plaintexts: none is ever written, and no same-user process may
 * ptrace kmsd or read its memory through /proc. */
static void no_core_dumps(void)
{
    struct rlimit none = {0, 0};
    if (setrlimit(RLIMIT_CORE, &none) != 0)
        core_log(CORE_LOG_WARN, "cannot disable core dumps (RLIMIT_CORE): %s", strerror(errno));
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        core_log(CORE_LOG_WARN, "cannot mark the process non-dumpable: %s", strerror(errno));
}

int main(int argc, char **argv)
{
    no_core_dumps();
    struct server_config cfg;
    server_config_defaults(&cfg);
    int rc = server_config_parse(&cfg, argc, argv);
    if (rc) return rc == 1 ? 0 : 2;
    core_log_set_level(cfg.log_level);
    if (!core_ok(core_crypto_init())) {
        fprintf(stderr, "kmsd: cannot initialise cryptography\n");
        return 1;
    }
    core_json_init();
    if (cfg.insecure_accept_unknown_keys) {
        if (!is_loopback(cfg.listen_host)) {
            core_log(CORE_LOG_ERROR, "--insecure-accept-unknown-keys is refused unless listening on loopback");
            return 2;
        }
        core_log(CORE_LOG_WARN, "INSECURE MODE: requests signed by unknown access keys are accepted WITHOUT "
                                "signature verification (--insecure-accept-unknown-keys)");
    }
    if (!is_loopback(cfg.listen_host)) {
        /* Off loopback, signatures protect integrity but not the secrets in
         * responses (data-key plaintexts, session credentials): TLS or an
         * explicit opt-out. */
        if (!cfg.tls_cert[0] && !cfg.insecure_plain_http) {
            core_log(CORE_LOG_ERROR, "listening on %s needs TLS (--tls-cert/--tls-key; kmsctl tls self-signed "
                                     "makes a pair) or --insecure-plain-http", cfg.listen_host);
            return 2;
        }
        core_log(CORE_LOG_WARN, "listening on %s: kmsd is reachable beyond this machine%s", cfg.listen_host,
                 cfg.tls_cert[0] ? "" : " over PLAIN HTTP (--insecure-plain-http)");
    }

    if (cfg.check_config) {
        /* Options parsed above; now the seed (and the TLS files when given), writing nothing. */
        if (!core_ok(server_check_config(&cfg))) return 2;
        printf("kmsd: configuration OK\n");
        return 0;
    }
    if (mkdir(cfg.data_dir, 0700) != 0 && errno != EEXIST) {
        core_log(CORE_LOG_ERROR, "cannot create data directory %s: %s", cfg.data_dir, strerror(errno));
        return 1;
    }
    struct server *srv = NULL;
    core_result r = server_new(&cfg, &srv);
    if (!core_ok(r)) {
        core_log(CORE_LOG_ERROR, "cannot start: %s", core_err_desc(r.err));
        return 1;
    }
    char log_path[1100];
    if (cfg.access_log[0])
        snprintf(log_path, sizeof log_path, "%s", cfg.access_log);
    else
        snprintf(log_path, sizeof log_path, "%s/access.log", cfg.data_dir);
    if (!core_ok(server_access_log_open(log_path))) {
        server_free(srv);
        return 1;
    }
    if (!core_ok(server_audit_open(srv))) {
        core_log(CORE_LOG_ERROR, "cannot open the audit trail");
        server_access_log_close();
        server_free(srv);
        return 1;
    }

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    unsigned port = 0;
    if (!core_ok(server_http_start(srv, &port))) {
        server_access_log_close();
        server_free(srv);
        return 1;
    }
    unsigned mport = 0;
    if (cfg.metrics_host[0]) {
        server_metrics_init();
        if (!core_ok(server_http_metrics_start(srv, &mport))) {
            server_http_stop(srv);
            server_access_log_close();
            server_free(srv);
            return 1;
        }
    }
    server_tick(srv);
    bool v6 = strchr(cfg.listen_host, ':') != NULL;
    printf("kmsd listening on %s://%s%s%s:%u\n", cfg.tls_cert[0] ? "https" : "http", v6 ? "[" : "", cfg.listen_host,
           v6 ? "]" : "", port);
    printf("kmsd data directory %s (administrator credentials: %s/admin-credentials)\n", cfg.data_dir,
           cfg.data_dir);
    if (cfg.metrics_host[0]) {
        bool m6 = strchr(cfg.metrics_host, ':') != NULL;
        printf("kmsd metrics on http://%s%s%s:%u/metrics\n", m6 ? "[" : "", cfg.metrics_host, m6 ? "]" : "", mport);
    }
    fflush(stdout);
    if (cfg.port_file[0]) {
        char tmp[1200];
        snprintf(tmp, sizeof tmp, "%s.tmp", cfg.port_file);
        FILE *f = fopen(tmp, "w");
        if (f) {
            fprintf(f, "%u\n", port);
            fclose(f);
            rename(tmp, cfg.port_file);
        }
    }

    /* Background work: flush the access log, follow the clock file, run
     * due rotations and deletions. */
    unsigned ticks = 0;
    while (!stop_requested) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        server_access_log_flush();
        server_audit_tick();
        server_http_tick(srv);
        if (++ticks % 10 == 0) server_tick(srv);
    }
    core_log(CORE_LOG_INFO, "shutting down");
    server_http_metrics_stop(srv);
    server_http_stop(srv); /* stops accepting; in-flight requests finish */
    server_audit_close();
    server_access_log_close();
    server_free(srv);
    return 0;
}
