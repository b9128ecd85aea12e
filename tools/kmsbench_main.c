/*
 * kmsbench: command line, credentials, the sequence of runs, and the report.
 *
 * For every workload, in one process and one run: setup against kmsd, then
 * (with --floor) the same requests against the in-process bare
 * libmicrohttpd floor, then against kmsd, then (with --rate) an open-loop run
 * at the offered rate. Each measurement is one row of the table and, with
 * --json, one JSON line on stdout.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/kmsbench.h"

static const char usage[] =
    "usage: kmsbench [options]\n"
    "\n"
    "Target and credentials:\n"
    "  --endpoint URL           kmsd, e.g. http://127.0.0.1:8080 (IPv4 literal or localhost)\n"
    "  --credentials-file PATH  AWS shared-credentials file (kmsd writes DATA/admin-credentials)\n"
    "  --profile NAME           profile in that file (default kmsd)\n"
    "  --access-key K --secret-key S [--session-token T]\n"
    "                           explicit credentials (else the file, else AWS_ACCESS_KEY_ID/...)\n"
    "  --region R               signing region (default us-east-1)\n"
    "  --key-id ID              use this KMS key instead of creating one\n"
    "\n"
    "Load:\n"
    "  -c, --connections N      keep-alive connections (default 16)\n"
    "  -t, --threads N          client threads, each an epoll loop (default 2)\n"
    "  -d, --duration D         measured time per run: 10s, 500ms, 1m (default 10s)\n"
    "  -n, --requests N         a request count instead of a duration\n"
    "      --warmup D           unmeasured load before each run (default 0)\n"
    "      --rate R             after the saturation run, an open-loop run at R req/s\n"
    "                           in total, or at P% of the saturation just measured (--rate 50%);\n"
    "                           with --floor, the floor is then run open-loop at the same rate\n"
    "      --open-only          with an absolute --rate, skip the saturation run (so a\n"
    "                           workload with a background pool starts it warm)\n"
    "      --timeout D          per-request timeout (default 10s)\n"
    "\n"
    "Workloads (-w, repeatable; default encrypt32):\n"
    "  encrypt32 encrypt4k decrypt generate-data-key reencrypt generate-random\n"
    "  create-key assume-role get-caller-identity\n"
    "  sign-p256 verify-p256 sign-ed25519 verify-ed25519 sign-rsa2048 verify-rsa2048\n"
    "  generate-mac generate-data-key-pair-rsa2048 generate-data-key-pair-p256\n"
    "  mix:OP=WEIGHT,OP=WEIGHT,...  weighted mix, e.g. mix:encrypt32=5,decrypt=5\n"
    "  any of them with @temp      signed with temporary credentials (sts GetSessionToken)\n"
    "      --temp-creds         every workload with temporary credentials\n"
    "\n"
    "Floor and output:\n"
    "      --floor              before each workload, run the same requests against a bare\n"
    "                           libmicrohttpd server in this process (kmsd's MHD flags) and\n"
    "                           report kmsd as a ratio to it; without --endpoint, floor only\n"
    "      --floor-threads N    the floor's MHD thread pool (default: cores, as kmsd)\n"
    "      --serve-floor PORT   only serve the floor on 127.0.0.1:PORT until SIGINT (for wrk)\n"
    "      --json               one JSON line per measurement on stdout (table goes to stderr)\n"
    "      --idle N             hold N idle keep-alive connections (from 127.0.0.2-9) open during\n"
    "                           each measured run, against the floor and kmsd alike\n"
    "      --cpu                server CPU time per request (utime+stime from /proc/PID/stat over\n"
    "                           the measured window): kmsd found by its listening port (or\n"
    "                           --server-pid PID), the floor by its threads in this process\n"
    "\n"
    "Cold start:\n"
    "      --cold-start KMSD --data-dir DIR [--trials N]\n"
    "                           exec KMSD on the existing keystore in DIR (on a free loopback\n"
    "                           port) N times (default 5): time to the first served signed\n"
    "                           request, and idle RSS one second later; credentials as above\n"
    "  -h, --help\n";

struct opts {
    const char *endpoint, *cred_file, *profile, *access_key, *secret_key, *session_token, *key_id;
    unsigned connections, threads, floor_threads;
    uint64_t duration_ns, warmup_ns, timeout_ns, requests;
    double rate, rate_pct;
    bool open_only;
    bool floor, json, temp_all, cpu;
    unsigned idle;
    long server_pid;
    long serve_floor;
    const char *cold_start, *data_dir;
    unsigned trials;
    struct kb_workload workloads[KB_MAX_WORKLOADS];
    unsigned n_workloads;
};

/* The context is large (fixture ciphertexts, temporary credentials). */
static struct kb_ctx g_ctx;
static struct kb_result g_res;

static void die(const char *msg, const char *arg)
{
    fprintf(stderr, "kmsbench: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    exit(2);
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *v)
{
    return core_ok(core_cursor_to_u64(core_cursor_str(s), max, v));
}

/* "10s", "500ms", "2m", "1.5s", or plain seconds. */
static bool parse_duration(const char *s, uint64_t *ns)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0) return false;
    double mul = 1e9;
    if (strcmp(end, "ms") == 0) mul = 1e6;
    else if (strcmp(end, "us") == 0) mul = 1e3;
    else if (strcmp(end, "m") == 0) mul = 60e9;
    else if (*end && strcmp(end, "s") != 0) return false;
    *ns = (uint64_t)(v * mul);
    return true;
}

static const char *need(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) die("missing value for", argv[*i]);
    return argv[++*i];
}

static void add_workload(struct opts *o, const char *spec)
{
    if (o->n_workloads == KB_MAX_WORKLOADS) die("too many workloads", NULL);
    if (!core_ok(kb_workload_parse(spec, &o->workloads[o->n_workloads]))) die("unknown workload", spec);
    o->n_workloads++;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.profile = "kmsd", .connections = 16, .threads = 2, .duration_ns = 10000000000ull,
                       .timeout_ns = 10000000000ull, .serve_floor = -1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        uint64_t n;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            exit(0);
        } else if (!strcmp(a, "--endpoint")) o->endpoint = need(argc, argv, &i);
        else if (!strcmp(a, "--credentials-file")) o->cred_file = need(argc, argv, &i);
        else if (!strcmp(a, "--profile")) o->profile = need(argc, argv, &i);
        else if (!strcmp(a, "--access-key")) o->access_key = need(argc, argv, &i);
        else if (!strcmp(a, "--secret-key")) o->secret_key = need(argc, argv, &i);
        else if (!strcmp(a, "--session-token")) o->session_token = need(argc, argv, &i);
        else if (!strcmp(a, "--key-id")) o->key_id = need(argc, argv, &i);
        else if (!strcmp(a, "--region")) {
            const char *r = need(argc, argv, &i);
            if (strlen(r) >= sizeof g_ctx.region) die("region too long", r);
            snprintf(g_ctx.region, sizeof g_ctx.region, "%s", r);
        } else if (!strcmp(a, "-c") || !strcmp(a, "--connections")) {
            if (!parse_u64(need(argc, argv, &i), KB_MAX_CONNECTIONS, &n) || n == 0)
                die("bad connection count", argv[i]);
            o->connections = (unsigned)n;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (!parse_u64(need(argc, argv, &i), KB_MAX_THREADS, &n) || n == 0) die("bad thread count", argv[i]);
            o->threads = (unsigned)n;
        } else if (!strcmp(a, "--floor-threads")) {
            if (!parse_u64(need(argc, argv, &i), KB_MAX_THREADS, &n) || n == 0) die("bad thread count", argv[i]);
            o->floor_threads = (unsigned)n;
        } else if (!strcmp(a, "-d") || !strcmp(a, "--duration")) {
            if (!parse_duration(need(argc, argv, &i), &o->duration_ns) || o->duration_ns == 0)
                die("bad duration", argv[i]);
            o->requests = 0;
        } else if (!strcmp(a, "-n") || !strcmp(a, "--requests")) {
            if (!parse_u64(need(argc, argv, &i), UINT64_MAX / 2, &o->requests) || o->requests == 0)
                die("bad request count", argv[i]);
            o->duration_ns = 0;
        } else if (!strcmp(a, "--warmup")) {
            if (!parse_duration(need(argc, argv, &i), &o->warmup_ns)) die("bad warmup", argv[i]);
        } else if (!strcmp(a, "--timeout")) {
            if (!parse_duration(need(argc, argv, &i), &o->timeout_ns) || o->timeout_ns == 0)
                die("bad timeout", argv[i]);
        } else if (!strcmp(a, "--rate")) {
            const char *v = need(argc, argv, &i);
            char *end;
            double r = strtod(v, &end);
            if (end == v || r <= 0) die("bad rate", v);
            if (!strcmp(end, "%")) o->rate_pct = r;
            else if (*end == 0) o->rate = r;
            else die("bad rate", v);
        } else if (!strcmp(a, "-w") || !strcmp(a, "--workload")) add_workload(o, need(argc, argv, &i));
        else if (!strcmp(a, "--temp-creds")) o->temp_all = true;
        else if (!strcmp(a, "--floor")) o->floor = true;
        else if (!strcmp(a, "--open-only")) o->open_only = true;
        else if (!strcmp(a, "--json")) o->json = true;
        else if (!strcmp(a, "--cpu")) o->cpu = true;
        else if (!strcmp(a, "--idle")) {
            if (!parse_u64(need(argc, argv, &i), KB_MAX_IDLE, &n)) die("bad idle connection count", argv[i]);
            o->idle = (unsigned)n;
        }
        else if (!strcmp(a, "--server-pid")) {
            if (!parse_u64(need(argc, argv, &i), 1u << 30, &n) || n == 0) die("bad pid", argv[i]);
            o->server_pid = (long)n;
            o->cpu = true;
        }
        else if (!strcmp(a, "--cold-start")) o->cold_start = need(argc, argv, &i);
        else if (!strcmp(a, "--data-dir")) o->data_dir = need(argc, argv, &i);
        else if (!strcmp(a, "--trials")) {
            if (!parse_u64(need(argc, argv, &i), 64, &n) || n == 0) die("bad trial count", argv[i]);
            o->trials = (unsigned)n;
        }
        else if (!strcmp(a, "--serve-floor")) {
            if (!parse_u64(need(argc, argv, &i), 65535, &n)) die("bad port", argv[i]);
            o->serve_floor = (long)n;
        } else {
            fputs(usage, stderr);
            die("unknown option", a);
        }
    }
    if (o->n_workloads == 0) add_workload(o, "encrypt32");
    if (o->open_only && !(o->rate > 0)) die("--open-only needs an absolute --rate", "--open-only");
    if (o->temp_all)
        for (unsigned i = 0; i < o->n_workloads; i++) o->workloads[i].temp_creds = true;
}

/* ---- credentials ---------------------------------------------------- */

static void copy_field(char *dst, size_t cap, struct core_cursor v, const char *what)
{
    if (v.len >= cap) die("credential too long", what);
    memcpy(dst, v.ptr, v.len);
    dst[v.len] = 0;
}

/* [profile] / key = value, as the AWS shared-credentials file. */
static void load_credentials_file(const char *path, const char *profile, struct kb_creds *cr)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) die("cannot open credentials file", path);
    char text[65536];
    size_t len = fread(text, 1, sizeof text, f);
    fclose(f);
    struct core_cursor all = core_cursor_from(text, len), line;
    bool in_profile = false, found = false;
    while (core_cursor_split(&all, '\n', &line)) {
        line = core_cursor_trim(line);
        if (line.len && line.ptr[line.len - 1] == '\r') line.len--;
        if (line.len == 0 || line.ptr[0] == '#' || line.ptr[0] == ';') continue;
        if (line.ptr[0] == '[') {
            struct core_cursor name = core_cursor_trim(core_cursor_from(line.ptr + 1, line.len - 1));
            if (name.len && name.ptr[name.len - 1] == ']') name.len--;
            in_profile = core_cursor_eq_str(core_cursor_trim(name), profile);
            found |= in_profile;
            continue;
        }
        if (!in_profile) continue;
        struct core_cursor key;
        core_cursor_split(&line, '=', &key);
        key = core_cursor_trim(key);
        struct core_cursor val = core_cursor_trim(line);
        if (core_cursor_eq_str(key, "aws_access_key_id"))
            copy_field(cr->access_key_id, sizeof cr->access_key_id, val, "aws_access_key_id");
        else if (core_cursor_eq_str(key, "aws_secret_access_key"))
            copy_field(cr->secret, sizeof cr->secret, val, "aws_secret_access_key");
        else if (core_cursor_eq_str(key, "aws_session_token"))
            copy_field(cr->session_token, sizeof cr->session_token, val, "aws_session_token");
    }
    core_wipe(text, sizeof text);
    if (!found) die("profile not found in credentials file", profile);
}

static void set_str(char *dst, size_t cap, const char *v, const char *what)
{
    copy_field(dst, cap, core_cursor_str(v), what);
}

static void load_credentials(const struct opts *o, struct kb_creds *cr)
{
    if (o->access_key || o->secret_key) {
        if (!o->access_key || !o->secret_key) die("--access-key and --secret-key go together", NULL);
        set_str(cr->access_key_id, sizeof cr->access_key_id, o->access_key, "--access-key");
        set_str(cr->secret, sizeof cr->secret, o->secret_key, "--secret-key");
        if (o->session_token) set_str(cr->session_token, sizeof cr->session_token, o->session_token, "--session-token");
    } else if (o->cred_file) {
        load_credentials_file(o->cred_file, o->profile, cr);
    } else if (getenv("AWS_ACCESS_KEY_ID") && getenv("AWS_SECRET_ACCESS_KEY")) {
        set_str(cr->access_key_id, sizeof cr->access_key_id, getenv("AWS_ACCESS_KEY_ID"), "AWS_ACCESS_KEY_ID");
        set_str(cr->secret, sizeof cr->secret, getenv("AWS_SECRET_ACCESS_KEY"), "AWS_SECRET_ACCESS_KEY");
        const char *t = getenv("AWS_SESSION_TOKEN");
        if (t) set_str(cr->session_token, sizeof cr->session_token, t, "AWS_SESSION_TOKEN");
    } else if (o->endpoint) {
        die("no credentials: give --credentials-file, --access-key/--secret-key or AWS_ACCESS_KEY_ID", NULL);
    } else {
        /* Floor only: the floor checks nothing, but the client still signs. */
        set_str(cr->access_key_id, sizeof cr->access_key_id, "AKIAKMSBENCHFLOOR000", "");
        set_str(cr->secret, sizeof cr->secret, "kmsbench-floor-secret-not-checked-by-anyone", "");
    }
    if (!cr->access_key_id[0] || !cr->secret[0]) die("incomplete credentials", NULL);
}

/* ---- report --------------------------------------------------------- */

struct measurement {
    const char *target; /* "floor" or "kmsd" */
    const char *mode;   /* "closed" or "rate" */
    const struct kb_workload *w;
    double offered;     /* rate mode */
    double floor_rps;   /* 0 when not measured */
    double floor_cpu_us; /* 0 when not measured */
};

/* Server CPU microseconds per request, or 0 when not measured. */
static double cpu_us(const struct kb_result *r)
{
    return r->cpu_measured && r->cpu_requests ? r->cpu_seconds * 1e6 / (double)r->cpu_requests : 0;
}

static double ms(uint64_t ns) { return (double)ns / 1e6; }

static double rps_of(const struct kb_result *r) { return r->seconds > 0 ? (double)r->ok / r->seconds : 0; }

static void print_header(FILE *out)
{
    fprintf(out, "%-6s %-28s %-6s %10s %6s %8s %8s %8s %8s %8s %9s %8s %8s %6s\n", "target", "workload", "mode",
            "req/s", "ratio", "p50 ms", "p90 ms", "p99 ms", "p99.9", "max ms", "ok", "errors", "cpu us", "cpu x");
}

static void print_row(FILE *out, const struct measurement *m, const struct kb_result *r)
{
    const struct kb_hist *h = &r->hist;
    double rps = rps_of(r);
    char ratio[16] = "-";
    if (m->floor_rps > 0) snprintf(ratio, sizeof ratio, "%.3f", rps / m->floor_rps);
    char cpu[16] = "-", cpux[16] = "-";
    if (cpu_us(r) > 0) snprintf(cpu, sizeof cpu, "%.1f", cpu_us(r));
    if (cpu_us(r) > 0 && m->floor_cpu_us > 0) snprintf(cpux, sizeof cpux, "%.2f", cpu_us(r) / m->floor_cpu_us);
    fprintf(out, "%-6s %-28.28s %-6s %10.0f %6s %8.3f %8.3f %8.3f %8.3f %8.3f %9llu %8llu %8s %6s\n", m->target,
            m->w->name, m->mode, rps, ratio, ms(kb_hist_quantile(h, 0.50)), ms(kb_hist_quantile(h, 0.90)),
            ms(kb_hist_quantile(h, 0.99)), ms(kb_hist_quantile(h, 0.999)), ms(h->max), (unsigned long long)r->ok,
            (unsigned long long)(r->failed + r->socket_errors + r->timeouts), cpu, cpux);
    if (m->offered > 0)
        fprintf(out, "       offered %.*f req/s (open loop, latency from scheduled send)\n",
                m->offered < 10 ? 2 : 0, m->offered);
    for (unsigned i = 0; i < r->errors.n; i++)
        fprintf(out, "       error %-40s %llu\n", r->errors.code[i], (unsigned long long)r->errors.count[i]);
    if (r->errors.other)
        fprintf(out, "       error %-40s %llu\n", "(other codes)", (unsigned long long)r->errors.other);
    if (r->socket_errors) fprintf(out, "       socket errors %llu\n", (unsigned long long)r->socket_errors);
    if (r->timeouts) fprintf(out, "       timeouts %llu\n", (unsigned long long)r->timeouts);
    fflush(out);
}

/* Names in JSON come from our own table or the sanitised error codes; the
 * workload name is user input, so it is escaped. */
static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static void print_json(const struct opts *o, const struct measurement *m, const struct kb_result *r)
{
    const struct kb_hist *h = &r->hist;
    double rps = rps_of(r);
    printf("{\"kmsbench\":1,\"target\":\"%s\",\"workload\":", m->target);
    json_str(m->w->name);
    printf(",\"mode\":\"%s\",\"temp_creds\":%s,\"connections\":%u,\"threads\":%u,\"seconds\":%.3f", m->mode,
           m->w->temp_creds ? "true" : "false", o->connections, o->threads, r->seconds);
    if (m->offered > 0) printf(",\"offered_rps\":%.1f", m->offered);
    printf(",\"requests\":%llu,\"ok\":%llu,\"errors\":%llu,\"socket_errors\":%llu,\"timeouts\":%llu,\"rps\":%.1f",
           (unsigned long long)(r->ok + r->failed), (unsigned long long)r->ok, (unsigned long long)r->failed,
           (unsigned long long)r->socket_errors, (unsigned long long)r->timeouts, rps);
    if (m->floor_rps > 0) printf(",\"floor_rps\":%.1f,\"ratio\":%.4f", m->floor_rps, rps / m->floor_rps);
    if (cpu_us(r) > 0) printf(",\"cpu_us_per_request\":%.2f", cpu_us(r));
    if (cpu_us(r) > 0 && m->floor_cpu_us > 0)
        printf(",\"floor_cpu_us_per_request\":%.2f,\"cpu_ratio\":%.3f", m->floor_cpu_us, cpu_us(r) / m->floor_cpu_us);
    printf(",\"latency_ms\":{\"p50\":%.4f,\"p90\":%.4f,\"p99\":%.4f,\"p999\":%.4f,\"max\":%.4f,\"mean\":%.4f}",
           ms(kb_hist_quantile(h, 0.50)), ms(kb_hist_quantile(h, 0.90)), ms(kb_hist_quantile(h, 0.99)),
           ms(kb_hist_quantile(h, 0.999)), ms(h->max), h->total ? ms(h->sum / h->total) : 0.0);
    printf(",\"errors_by_code\":{");
    for (unsigned i = 0; i < r->errors.n; i++) {
        if (i) putchar(',');
        json_str(r->errors.code[i]);
        printf(":%llu", (unsigned long long)r->errors.count[i]);
    }
    if (r->errors.other) printf("%s\"(other)\":%llu", r->errors.n ? "," : "", (unsigned long long)r->errors.other);
    printf("}}\n");
    fflush(stdout);
}

static void print_skip(const struct opts *o, const struct kb_workload *w, const char *why)
{
    fprintf(o->json ? stderr : stdout, "kmsbench: %s skipped: %s\n", w->name, why);
    if (o->json) {
        printf("{\"kmsbench\":1,\"target\":\"kmsd\",\"workload\":");
        json_str(w->name);
        printf(",\"skipped\":");
        json_str(why);
        printf("}\n");
        fflush(stdout);
    }
}

/* ---- runs ----------------------------------------------------------- */

static core_result measure(const struct opts *o, const struct kb_endpoint *ep, const struct kb_workload *w,
                           double rate, pid_t cpu_pid, struct kb_result *res)
{
    struct kb_run_cfg cfg = {.ctx = &g_ctx, .ep = *ep, .w = w, .connections = o->connections,
                             .threads = o->threads, .duration_ns = o->duration_ns, .warmup_ns = o->warmup_ns,
                             .requests = o->requests, .rate = rate, .timeout_ns = o->timeout_ns,
                             .cpu_pid = o->cpu ? cpu_pid : 0};
    static int idle[KB_MAX_IDLE];
    if (o->idle && !core_ok(kb_idle_open(ep, o->idle, idle))) die("cannot open the idle connections", NULL);
    core_result r = kb_run(&cfg, res);
    if (o->idle) {
        unsigned alive = kb_idle_alive(idle, o->idle);
        if (alive < o->idle)
            fprintf(stderr, "kmsbench: %u of %u idle connections were closed by the server during the run\n",
                    o->idle - alive, o->idle);
        kb_idle_close(idle, o->idle);
    }
    return r;
}

static int serve_floor(const struct opts *o)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* before MHD starts its threads */
    struct kb_floor *f;
    uint16_t port;
    if (!core_ok(kb_floor_start((uint16_t)o->serve_floor, o->floor_threads, &f, &port)))
        die("cannot start the floor server", NULL);
    printf("kmsbench: floor serving on http://127.0.0.1:%u (SIGINT to stop)\n", (unsigned)port);
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    kb_floor_stop(f);
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    snprintf(g_ctx.region, sizeof g_ctx.region, "us-east-1");
    parse_args(argc, argv, &o);
    signal(SIGPIPE, SIG_IGN);
    if (!core_ok(core_crypto_init())) die("crypto init failed", NULL);
    if (o.serve_floor >= 0) return serve_floor(&o);
    if (o.cold_start) {
        if (!o.data_dir) die("--cold-start needs --data-dir", NULL);
        load_credentials(&o, &g_ctx.creds);
        if (!core_ok(sigv4_key_cache_new(8, &g_ctx.cache))) die("cannot create the signing-key cache", NULL);
        int rc = kb_cold_start(&g_ctx, o.cold_start, o.data_dir, o.trials, o.json);
        sigv4_key_cache_free(g_ctx.cache);
        core_wipe(&g_ctx.creds, sizeof g_ctx.creds);
        return rc;
    }
    if (!o.endpoint && !o.floor) die("give --endpoint (kmsd) and/or --floor", NULL);
    if (o.endpoint && !core_ok(kb_endpoint_parse(o.endpoint, &g_ctx.ep)))
        die("bad endpoint (want http://IPv4:PORT or http://localhost:PORT)", o.endpoint);
    load_credentials(&o, &g_ctx.creds);
    if (o.key_id) set_str(g_ctx.fx.key_id, sizeof g_ctx.fx.key_id, o.key_id, "--key-id");
    if (!core_ok(sigv4_key_cache_new(64, &g_ctx.cache))) die("cannot create the signing-key cache", NULL);

    struct kb_floor *floor = NULL;
    struct kb_endpoint floor_ep;
    if (o.floor) {
        uint16_t port;
        if (!core_ok(kb_floor_start(0, o.floor_threads, &floor, &port))) die("cannot start the floor server", NULL);
        kb_endpoint_local(port, &floor_ep);
    }
    pid_t kmsd_pid = (pid_t)o.server_pid;
    if (o.cpu && o.endpoint && kmsd_pid == 0 && !core_ok(kb_find_listener(g_ctx.ep.port, &kmsd_pid)))
        die("--cpu: no process of this user listens on the endpoint's port (give --server-pid)", o.endpoint);
    FILE *table = o.json ? stderr : stdout;
    fprintf(table, "kmsbench: %s%s%s, %u connections, %u threads, ", o.endpoint ? o.endpoint : "",
            o.endpoint && floor ? " + " : "", floor ? "bare-HTTP floor" : "", o.connections, o.threads);
    if (o.requests) fprintf(table, "%llu requests per run\n", (unsigned long long)o.requests);
    else fprintf(table, "%.1fs per run (+%.1fs warmup)\n", (double)o.duration_ns / 1e9, (double)o.warmup_ns / 1e9);
    print_header(table);

    int rc = 0;
    for (unsigned i = 0; i < o.n_workloads; i++) {
        const struct kb_workload *w = &o.workloads[i];
        if (o.endpoint) {
            if (!core_ok(kb_setup(&g_ctx, w))) die("setup failed", w->name);
            if (w->temp_creds && !g_ctx.fx.have_temp) {
                print_skip(&o, w, "no temporary credentials (sts GetSessionToken failed)");
                continue;
            }
        } else if (w->temp_creds) {
            /* Floor only: sign with made-up temporary credentials. */
            g_ctx.fx.temp = g_ctx.creds;
            snprintf(g_ctx.fx.temp.session_token, sizeof g_ctx.fx.temp.session_token, "kmsbench-floor-token");
            g_ctx.fx.have_temp = true;
        }
        double floor_rps = 0, floor_cpu = 0;
        if (floor) {
            struct measurement m = {.target = "floor", .mode = "closed", .w = w};
            if (!core_ok(measure(&o, &floor_ep, w, 0, getpid(), &g_res))) die("floor run failed", w->name);
            floor_rps = rps_of(&g_res);
            floor_cpu = cpu_us(&g_res);
            print_row(table, &m, &g_res);
            if (o.json) print_json(&o, &m, &g_res);
        }
        if (!o.endpoint) continue;
        struct measurement m = {.target = "kmsd", .mode = "closed", .w = w, .floor_rps = floor_rps,
                                .floor_cpu_us = floor_cpu};
        double sat = 0;
        if (o.open_only) goto open_loop;
        if (!core_ok(measure(&o, &g_ctx.ep, w, 0, kmsd_pid, &g_res))) {
            fprintf(stderr, "kmsbench: %s: no connection to %s\n", w->name, o.endpoint);
            rc = 1;
            continue;
        }
        sat = rps_of(&g_res);
        print_row(table, &m, &g_res);
        if (o.json) print_json(&o, &m, &g_res);
    open_loop:;
        double rate = o.rate > 0 ? o.rate : o.rate_pct * sat / 100.0;
        if (rate > 0) {
            /* Throughput is the offered rate here: no ratio. */
            struct measurement mr = {.target = "kmsd", .mode = "rate", .w = w, .offered = rate};
            if (!core_ok(measure(&o, &g_ctx.ep, w, rate, kmsd_pid, &g_res))) die("rate run failed", w->name);
            print_row(table, &mr, &g_res);
            if (o.json) print_json(&o, &mr, &g_res);
            /* The control: the floor at the same offered rate, right after, on the same cores. Its tail is
             * what the machine and the client alone add to an open-loop run. */
            if (floor) {
                struct measurement mf = {.target = "floor", .mode = "rate", .w = w, .offered = rate};
                if (!core_ok(measure(&o, &floor_ep, w, rate, getpid(), &g_res))) die("floor rate run failed", w->name);
                print_row(table, &mf, &g_res);
                if (o.json) print_json(&o, &mf, &g_res);
            }
        }
    }
    kb_floor_stop(floor);
    sigv4_key_cache_free(g_ctx.cache);
    core_wipe(&g_ctx.creds, sizeof g_ctx.creds);
    core_wipe(&g_ctx.fx.temp, sizeof g_ctx.fx.temp);
    return rc;
}
