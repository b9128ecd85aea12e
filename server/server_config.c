#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

#define DEFAULT_PORT 8340u

void server_config_defaults(struct server_config *cfg)
{
    *cfg = (struct server_config){0};
    snprintf(cfg->listen_host, sizeof cfg->listen_host, "127.0.0.1");
    cfg->listen_port = DEFAULT_PORT;
    snprintf(cfg->data_dir, sizeof cfg->data_dir, "kmsd-data");
    snprintf(cfg->account_id, sizeof cfg->account_id, "000000000000");
    snprintf(cfg->region, sizeof cfg->region, "us-east-1");
    cfg->master_source = KEYSTORE_MASTER_KEY_FILE;
    cfg->write_threads = CORE_WRITE_THREADS;
    cfg->max_body = CORE_MAX_BODY_BYTES;
    cfg->connection_timeout = CORE_CONNECTION_TIMEOUT_S;
    cfg->head_timeout = SERVER_HEAD_TIMEOUT_S;
    cfg->max_connections = CORE_MAX_CONNECTIONS;
    cfg->log_level = CORE_LOG_INFO;
    cfg->audit_max_bytes = 16u * 1024 * 1024;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: kmsd [options]\n"
            "  --listen HOST:PORT        listen address (default 127.0.0.1:%u; port 0 picks a free one)\n"
            "  --data-dir DIR            keystore directory (default ./kmsd-data)\n"
            KEYSTORE_STORE_USAGE
            "  --account-id ID           default 12-digit account id (default 000000000000)\n"
            "  --region REGION           region used when a request names none (default us-east-1)\n"
            "  --threads N               HTTP worker threads (default: one per core)\n"
            "  --write-threads N         threads that wait on durable writes (default %u)\n"
            "  --key-file FILE           master key file (default DIR/master.key)\n"
            "  --passphrase-file FILE    derive the master key from a passphrase (Argon2id)\n"
            "  --passphrase-env VAR      ... read from an environment variable\n"
            "  --access-log FILE|-|off   JSON access log (default DIR/access.log)\n"
            "  --port-file FILE          write the bound port to FILE once listening\n"
            "  --clock-offset SECONDS    shift the service clock (rotation, deletion, expiry dates);\n"
            "                            suffixes s, m, h, d allowed, e.g. 400d; signatures keep real time\n"
            "  --clock-file FILE         re-read the service clock offset from FILE every second\n"
            "  --insecure-accept-unknown-keys\n"
            "                            accept requests signed by unknown access keys without\n"
            "                            verifying them (loopback only; for test suites with dummy keys)\n"
            "  --max-body BYTES          request body cap (default %u)\n"
            "  --connection-timeout S    idle connection timeout (default %u)\n"
            "  --head-timeout S          time from accept for a request head to arrive (default %u)\n"
            "  --max-connections N       concurrent connections (default %u); at the cap, and at\n"
            "                            %u per client address, the oldest incomplete or idle\n"
            "                            connection is closed to admit a new one\n"
            "  --seed FILE               create the keys, aliases and identities of a seed file at start\n"
            "                            (local-kms's seed.yaml or kmsd's superset, docs/seed.md);\n"
            "                            existing ones are left as they are; a bad seed fails the start\n"
            "  --check-config            validate the options and the seed file, then exit\n"
            "  --tls-cert FILE --tls-key FILE\n"
            "                            serve HTTPS with this PEM certificate (chain) and key\n"
            "                            (kmsctl tls self-signed makes a pair for localhost)\n"
            "  --insecure-plain-http     allow plain HTTP on a non-loopback address\n"
            "  --metrics HOST:PORT       serve Prometheus metrics at http://HOST:PORT/metrics (loopback only;\n"
            "                            port 0 picks a free one)\n"
            "  --audit                   write an audit trail (CloudTrail records, signed digest chain)\n"
            "                            to DIR/audit; kmsctl audit verify|lookup read it\n"
            "  --audit-max-bytes N       seal and rotate audit files at N bytes (default 16 MiB)\n"
            "  --throttle aws|RATE       emulate throttling: AWS KMS's request quotas per account and\n"
            "                            Region, or RATE requests per second for every quota\n"
            "  --oidc-issuer URL         issuer of GetWebIdentityToken's JWTs, where verifiers find\n"
            "                            /.well-known/openid-configuration (default http://HOST:PORT)\n"
            "  --organization FILE       the organization AssumeRoot serves (JSON, docs/sts.md)\n"
            "  --log-level debug|info|warn|error\n"
            "  --help, --version\n",
            DEFAULT_PORT, CORE_WRITE_THREADS, CORE_MAX_BODY_BYTES, CORE_CONNECTION_TIMEOUT_S, SERVER_HEAD_TIMEOUT_S,
            CORE_MAX_CONNECTIONS, CORE_MAX_CONNECTIONS_PER_IP);
}

static bool copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) return false;
    memcpy(dst, src, n + 1);
    return true;
}

static bool parse_uint(const char *s, unsigned long long max, unsigned long long *v)
{
    uint64_t x;
    if (!core_ok(core_cursor_to_u64(core_cursor_str(s), max, &x))) return false;
    *v = x;
    return true;
}

/** Parses "[-]N[s|m|h|d]" into seconds. */
bool server_parse_duration(const char *s, int64_t *out)
{
    bool neg = false;
    if (*s == '-' || *s == '+') neg = *s++ == '-';
    size_t n = strlen(s);
    int64_t mult = 1;
    if (n > 0) switch (s[n - 1]) {
        case 's': mult = 1, n--; break;
        case 'm': mult = 60, n--; break;
        case 'h': mult = 3600, n--; break;
        case 'd': mult = 86400, n--; break;
        default: break;
        }
    uint64_t v;
    if (!core_ok(core_cursor_to_u64(core_cursor_from(s, n), 100ull * 366 * 86400, &v))) return false;
    *out = (neg ? -1 : 1) * (int64_t)v * mult;
    return true;
}

static bool parse_listen(struct server_config *cfg, const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s) return false;
    size_t hl = (size_t)(colon - s);
    if (s[0] == '[') { /* [::1]:port */
        if (hl < 3 || s[hl - 1] != ']') return false;
        s++;
        hl -= 2;
    }
    if (hl >= sizeof cfg->listen_host) return false;
    memcpy(cfg->listen_host, s, hl);
    cfg->listen_host[hl] = 0;
    unsigned long long port;
    if (!parse_uint(colon + 1, 65535, &port)) return false;
    cfg->listen_port = (unsigned)port;
    return true;
}

static bool valid_region(const char *r)
{
    size_t n = strlen(r);
    if (n < 2 || n > 25) return false;
    for (size_t i = 0; i < n; i++)
        if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9') || r[i] == '-')) return false;
    return true;
}

int server_config_parse(struct server_config *cfg, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long long n = 0;
        bool ok = true, takes = true;
        int store_arg = keystore_store_arg(&cfg->store, "kmsd", a, v);
        if (store_arg < 0) return 2; /* the reason is printed */
        if (store_arg > 0) {
            i++;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(a, "--version")) {
            printf("kmsd 0.1.0\n");
            return 1;
        } else if (!strcmp(a, "--insecure-plain-http")) {
            cfg->insecure_plain_http = true;
            takes = false;
        } else if (!strcmp(a, "--audit")) {
            cfg->audit = true;
            takes = false;
        } else if (!strcmp(a, "--check-config")) {
            cfg->check_config = true;
            takes = false;
        } else if (!strcmp(a, "--insecure-accept-unknown-keys")) {
            cfg->insecure_accept_unknown_keys = true;
            takes = false;
        } else if (v == NULL) {
            fprintf(stderr, "kmsd: %s needs a value (or is unknown)\n", a);
            usage(stderr);
            return 2;
        } else if (!strcmp(a, "--listen")) {
            ok = parse_listen(cfg, v);
        } else if (!strcmp(a, "--data-dir")) {
            ok = copy(cfg->data_dir, sizeof cfg->data_dir, v);
        } else if (!strcmp(a, "--account-id")) {
            ok = strlen(v) == 12 && strspn(v, "0123456789") == 12 && copy(cfg->account_id, sizeof cfg->account_id, v);
        } else if (!strcmp(a, "--region")) {
            ok = valid_region(v) && copy(cfg->region, sizeof cfg->region, v);
        } else if (!strcmp(a, "--threads")) {
            ok = parse_uint(v, 256, &n) && n > 0;
            cfg->threads = (unsigned)n;
        } else if (!strcmp(a, "--write-threads")) {
            ok = parse_uint(v, 256, &n) && n > 0;
            cfg->write_threads = (unsigned)n;
        } else if (!strcmp(a, "--key-file")) {
            ok = copy(cfg->key_file, sizeof cfg->key_file, v);
        } else if (!strcmp(a, "--passphrase-file")) {
            ok = copy(cfg->passphrase_file, sizeof cfg->passphrase_file, v);
            cfg->master_source = KEYSTORE_MASTER_PASSPHRASE;
        } else if (!strcmp(a, "--passphrase-env")) {
            ok = copy(cfg->passphrase_env, sizeof cfg->passphrase_env, v);
            cfg->master_source = KEYSTORE_MASTER_PASSPHRASE;
        } else if (!strcmp(a, "--access-log")) {
            ok = copy(cfg->access_log, sizeof cfg->access_log, v);
        } else if (!strcmp(a, "--audit-max-bytes")) {
            ok = parse_uint(v, 1ull << 34, &n) && n >= 4096;
            cfg->audit_max_bytes = n;
        } else if (!strcmp(a, "--metrics")) {
            struct server_config tmp = *cfg;
            ok = parse_listen(&tmp, v) && strlen(tmp.listen_host) < sizeof cfg->metrics_host &&
                 (!strncmp(tmp.listen_host, "127.", 4) || !strcmp(tmp.listen_host, "::1") ||
                  !strcmp(tmp.listen_host, "localhost"));
            if (ok) {
                memcpy(cfg->metrics_host, tmp.listen_host, strlen(tmp.listen_host) + 1);
                cfg->metrics_port = tmp.listen_port;
            } else {
                fprintf(stderr, "kmsd: --metrics must be a loopback HOST:PORT (127.0.0.1:9340, [::1]:9340)\n");
            }
        } else if (!strcmp(a, "--throttle")) {
            if (!strcmp(v, "aws")) {
                cfg->throttle_mode = SERVER_THROTTLE_AWS;
            } else {
                ok = parse_uint(v, 1000000, &n) && n > 0;
                cfg->throttle_mode = SERVER_THROTTLE_RATE;
                cfg->throttle_rate = (double)n;
            }
        } else if (!strcmp(a, "--tls-cert")) {
            ok = copy(cfg->tls_cert, sizeof cfg->tls_cert, v);
        } else if (!strcmp(a, "--tls-key")) {
            ok = copy(cfg->tls_key, sizeof cfg->tls_key, v);
        } else if (!strcmp(a, "--seed")) {
            ok = copy(cfg->seed_file, sizeof cfg->seed_file, v);
        } else if (!strcmp(a, "--port-file")) {
            ok = copy(cfg->port_file, sizeof cfg->port_file, v);
        } else if (!strcmp(a, "--clock-offset")) {
            ok = server_parse_duration(v, &cfg->clock_offset);
        } else if (!strcmp(a, "--oidc-issuer")) {
            ok = (!strncmp(v, "https://", 8) || !strncmp(v, "http://", 7)) && strcspn(v, " \"\\?#") == strlen(v) &&
                 copy(cfg->oidc_issuer, sizeof cfg->oidc_issuer, v);
        } else if (!strcmp(a, "--organization")) {
            ok = copy(cfg->organization_file, sizeof cfg->organization_file, v);
        } else if (!strcmp(a, "--clock-file")) {
            ok = copy(cfg->clock_file, sizeof cfg->clock_file, v);
        } else if (!strcmp(a, "--max-body")) {
            ok = parse_uint(v, 16u * 1024 * 1024, &n) && n >= 1024;
            cfg->max_body = (unsigned)n;
        } else if (!strcmp(a, "--connection-timeout")) {
            ok = parse_uint(v, 3600, &n) && n > 0;
            cfg->connection_timeout = (unsigned)n;
        } else if (!strcmp(a, "--head-timeout")) {
            ok = parse_uint(v, 3600, &n) && n > 0;
            cfg->head_timeout = (unsigned)n;
        } else if (!strcmp(a, "--max-connections")) {
            ok = parse_uint(v, 65536, &n) && n > 0;
            cfg->max_connections = (unsigned)n;
        } else if (!strcmp(a, "--log-level")) {
            static const char *const lv[] = {"debug", "info", "warn", "error"};
            ok = false;
            for (unsigned k = 0; k < 4; k++)
                if (!strcmp(v, lv[k])) cfg->log_level = (enum core_log_level)k, ok = true;
        } else {
            fprintf(stderr, "kmsd: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, "kmsd: invalid value for %s: %s\n", a, v ? v : "");
            return 2;
        }
        if (takes) i++;
    }
    return keystore_store_args_valid(&cfg->store, "kmsd") ? 0 : 2;
}
