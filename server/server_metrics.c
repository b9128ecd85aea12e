/*
 * Prometheus metrics (--metrics HOST:PORT, served by a second, loopback-only
 * libmicrohttpd daemon in server_http.c). Text exposition format 0.0.4:
 * https://prometheus.io/docs/instrumenting/exposition_formats/
 *
 * Labels carry only values kmsd itself chose: the service, an operation
 * name that a service recognised, AWS error codes and failure classes. No
 * key id, ARN, principal, access key id or request value ever becomes a
 * label, so a scrape shows nothing of any account's resources and label
 * cardinality is bounded (at most METRICS_MAX_SERIES request series, the
 * rest counted under operation="other").
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/server_internal.h"

#define METRICS_MAX_SERIES 1024u
#define METRICS_SLOTS 2048u
#define N_SVC 3

static const double lat_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define N_LAT (sizeof lat_bounds / sizeof *lat_bounds)
static const double commit_bounds[] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
#define N_COMMIT (sizeof commit_bounds / sizeof *commit_bounds)

struct series {
    uint8_t svc;
    char op[48];
    char code[64];
    uint64_t count;
    bool used;
};

struct histogram {
    uint64_t buckets[16]; /* per bound, not cumulative; [n] is +Inf */
    uint64_t count;
    double sum;
};

static struct {
    pthread_mutex_t mu;
    struct series slots[METRICS_SLOTS];
    size_t n_series;
    uint64_t overflow[N_SVC];
    struct histogram latency[N_SVC];
    struct histogram commit;
    uint64_t auth_failures[64]; /* by enum core_err */
    time_t started;
} m = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void observe(struct histogram *h, const double *bounds, size_t n, double v)
{
    size_t i = 0;
    while (i < n && v > bounds[i]) i++;
    h->buckets[i]++;
    h->count++;
    h->sum += v;
}

static void on_commit(uint64_t ns)
{
    pthread_mutex_lock(&m.mu);
    observe(&m.commit, commit_bounds, N_COMMIT, (double)ns / 1e9);
    pthread_mutex_unlock(&m.mu);
}

static bool metrics_on;

void server_metrics_init(void)
{
    metrics_on = true;
    m.started = time(NULL);
    keystore_set_commit_hook(on_commit);
}

/* Keeps [A-Za-z0-9_.-]: operation names and error codes are like that; anything else is not ours. */
static bool clean(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-'))
            return false;
        if (n + 1 >= cap) return false;
        out[n++] = c;
    }
    out[n] = 0;
    return true;
}

static int svc_index(const char *service)
{
    for (int i = 0; i < N_SVC; i++)
        if (!strcmp(service, server_svc_names[i])) return i;
    return -1;
}

/* The operation label: only an operation the service recognised and an authenticated caller named. */
static const char *op_label(const struct server_access_entry *e, char *buf, size_t cap)
{
    if (e->auth_err != ERR_OK) return "unauthenticated";
    if (!strcmp(e->error_code, "UnknownOperationException") || !strcmp(e->error_code, "InvalidAction") ||
        !e->operation[0])
        return "unknown";
    return clean(e->operation, buf, cap) ? buf : "unknown";
}

static uint64_t fnv(uint8_t svc, const char *a, const char *b)
{
    uint64_t h = 1469598103934665603ull ^ svc;
    for (; *a; a++) h = (h ^ (uint8_t)*a) * 1099511628211ull;
    h = (h ^ '|') * 1099511628211ull;
    for (; *b; b++) h = (h ^ (uint8_t)*b) * 1099511628211ull;
    return h;
}

void server_metrics_request(const struct server_access_entry *e)
{
    if (!metrics_on) return;
    int svc = svc_index(e->service);
    if (svc < 0) return;
    char opb[48], codeb[64];
    const char *op = op_label(e, opb, sizeof opb);
    const char *code = !e->error_code[0] ? "ok" : clean(e->error_code, codeb, sizeof codeb) ? codeb : "other";
    double secs = (double)e->latency_us / 1e6;
    pthread_mutex_lock(&m.mu);
    observe(&m.latency[svc], lat_bounds, N_LAT, secs);
    if (e->auth_err > ERR_OK && (unsigned)e->auth_err < 64) m.auth_failures[e->auth_err]++;
    size_t i = (size_t)(fnv((uint8_t)svc, op, code) % METRICS_SLOTS);
    for (;;) {
        struct series *s = &m.slots[i];
        if (!s->used) {
            if (m.n_series >= METRICS_MAX_SERIES) {
                m.overflow[svc]++;
                break;
            }
            *s = (struct series){.svc = (uint8_t)svc, .used = true};
            snprintf(s->op, sizeof s->op, "%s", op);
            snprintf(s->code, sizeof s->code, "%s", code);
            m.n_series++;
        }
        if (s->svc == svc && !strcmp(s->op, op) && !strcmp(s->code, code)) {
            s->count++;
            break;
        }
        i = (i + 1) % METRICS_SLOTS;
    }
    pthread_mutex_unlock(&m.mu);
}

static core_result hist_out(struct core_buf *b, const char *name, const char *labels, const struct histogram *h,
                            const double *bounds, size_t n)
{
    uint64_t cum = 0;
    const char *sep = labels[0] ? "," : "";
    for (size_t i = 0; i < n; i++) {
        cum += h->buckets[i];
        GUARD(core_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, bounds[i],
                              (unsigned long long)cum));
    }
    cum += h->buckets[n];
    GUARD(core_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)cum));
    if (labels[0]) {
        GUARD(core_buf_printf(b, "%s_sum{%s} %.9g\n", name, labels, h->sum));
        return core_buf_printf(b, "%s_count{%s} %llu\n", name, labels, (unsigned long long)h->count);
    }
    GUARD(core_buf_printf(b, "%s_sum %.9g\n", name, h->sum));
    return core_buf_printf(b, "%s_count %llu\n", name, (unsigned long long)h->count);
}

static core_result head(struct core_buf *b, const char *name, const char *type, const char *help)
{
    return core_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Resident set size from /proc/self/statm (pages). */
static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) return 0;
    char line[128] = {0};
    bool ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    if (!ok) return 0;
    struct core_cursor c = core_cursor_str(line), tok;
    uint64_t pages = 0;
    if (!core_cursor_split(&c, ' ', &tok) || !core_cursor_split(&c, ' ', &tok)) return 0; /* size, then resident */
    if (!core_ok(core_cursor_to_u64(core_cursor_trim(tok), UINT64_MAX / 65536, &pages))) return 0;
    return pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

core_result server_metrics_render(struct server *srv, struct core_buf *b)
{
    /* Snapshot under the lock, format outside it. */
    static struct series snap[METRICS_SLOTS];
    static pthread_mutex_t render_mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&render_mu);
    size_t n = 0;
    struct histogram lat[N_SVC], commit;
    uint64_t overflow[N_SVC], auth[64];
    pthread_mutex_lock(&m.mu);
    for (size_t i = 0; i < METRICS_SLOTS; i++)
        if (m.slots[i].used) snap[n++] = m.slots[i];
    memcpy(lat, m.latency, sizeof lat);
    memcpy(overflow, m.overflow, sizeof overflow);
    memcpy(auth, m.auth_failures, sizeof auth);
    commit = m.commit;
    pthread_mutex_unlock(&m.mu);

    core_result r = head(b, "kmsd_requests_total", "counter",
                         "Requests answered, by service, operation and AWS error code (ok on success).");
    for (size_t i = 0; core_ok(r) && i < n; i++)
        r = core_buf_printf(b, "kmsd_requests_total{service=\"%s\",operation=\"%s\",code=\"%s\"} %llu\n",
                            server_svc_names[snap[i].svc], snap[i].op, snap[i].code,
                            (unsigned long long)snap[i].count);
    for (int s = 0; core_ok(r) && s < N_SVC; s++)
        if (overflow[s])
            r = core_buf_printf(b, "kmsd_requests_total{service=\"%s\",operation=\"other\",code=\"other\"} %llu\n",
                                server_svc_names[s], (unsigned long long)overflow[s]);
    pthread_mutex_unlock(&render_mu);
    GUARD(r);

    GUARD(head(b, "kmsd_request_duration_seconds", "histogram", "Time from request to answer, by service."));
    for (int s = 0; s < N_SVC; s++) {
        char labels[32];
        snprintf(labels, sizeof labels, "service=\"%s\"", server_svc_names[s]);
        GUARD(hist_out(b, "kmsd_request_duration_seconds", labels, &lat[s], lat_bounds, N_LAT));
    }

    GUARD(head(b, "kmsd_auth_failures_total", "counter", "Requests refused by authentication, by reason."));
    for (int e = 1; e < 64; e++) {
        if (!auth[e]) continue;
        const char *name = core_err_name((enum core_err)e);
        if (!strncmp(name, "ERR_AUTH_", 9)) name += 9;
        else if (!strncmp(name, "ERR_", 4)) name += 4;
        char reason[64];
        size_t k = 0;
        for (; name[k] && k < sizeof reason - 1; k++)
            reason[k] = (char)((name[k] >= 'A' && name[k] <= 'Z') ? name[k] - 'A' + 'a' : name[k]);
        reason[k] = 0;
        GUARD(core_buf_printf(b, "kmsd_auth_failures_total{reason=\"%s\"} %llu\n", reason,
                              (unsigned long long)auth[e]));
    }

    /* Over etcd: the answering member's database file (docs/scale-out.md). */
    uint64_t file_bytes = 0, allocated = 0;
    core_result_ignore(keystore_storage_bytes(server_get_keystore(srv), &file_bytes, &allocated));
    GUARD(head(b, "kmsd_keystore_file_bytes", "gauge", "Size of the keystore's data file."));
    GUARD(core_buf_printf(b, "kmsd_keystore_file_bytes %llu\n", (unsigned long long)file_bytes));
    GUARD(head(b, "kmsd_keystore_allocated_bytes", "gauge", "Disk space the keystore's data file occupies."));
    GUARD(core_buf_printf(b, "kmsd_keystore_allocated_bytes %llu\n", (unsigned long long)allocated));
    GUARD(head(b, "kmsd_keystore_commit_duration_seconds", "histogram", "Durable keystore commits (fsync included)."));
    GUARD(hist_out(b, "kmsd_keystore_commit_duration_seconds", "", &commit, commit_bounds, N_COMMIT));

    uint64_t h, mi;
    GUARD(head(b, "kmsd_cache_hits_total", "counter", "Cache hits, by cache."));
    GUARD(head(b, "kmsd_cache_misses_total", "counter", "Cache misses, by cache."));
    sigv4_key_cache_stats(srv->key_cache, &h, &mi);
    GUARD(core_buf_printf(b, "kmsd_cache_hits_total{cache=\"sigv4_signing_key\"} %llu\n", (unsigned long long)h));
    GUARD(core_buf_printf(b, "kmsd_cache_misses_total{cache=\"sigv4_signing_key\"} %llu\n", (unsigned long long)mi));
    server_cred_cache_stats(&h, &mi);
    GUARD(core_buf_printf(b, "kmsd_cache_hits_total{cache=\"credentials\"} %llu\n", (unsigned long long)h));
    GUARD(core_buf_printf(b, "kmsd_cache_misses_total{cache=\"credentials\"} %llu\n", (unsigned long long)mi));

    uint64_t rot, del;
    kms_due_stats(&rot, &del);
    GUARD(head(b, "kmsd_kms_rotations_total", "counter", "Automatic key rotations done by this process."));
    GUARD(core_buf_printf(b, "kmsd_kms_rotations_total %llu\n", (unsigned long long)rot));
    GUARD(head(b, "kmsd_kms_deletions_total", "counter", "Keys deleted by this process when their deletion date passed."));
    GUARD(core_buf_printf(b, "kmsd_kms_deletions_total %llu\n", (unsigned long long)del));

    struct server_conns_stats cs;
    server_conns_stats_get(&cs);
    GUARD(head(b, "kmsd_connections_open", "gauge", "Client connections open now."));
    GUARD(core_buf_printf(b, "kmsd_connections_open %u\n", cs.open));
    GUARD(head(b, "kmsd_connections_shed_total", "counter", "Connections closed to admit new ones at a cap."));
    GUARD(core_buf_printf(b, "kmsd_connections_shed_total %llu\n", (unsigned long long)cs.shed));
    GUARD(head(b, "kmsd_connections_refused_total", "counter", "Connections refused (every connection busy)."));
    GUARD(core_buf_printf(b, "kmsd_connections_refused_total %llu\n", (unsigned long long)cs.refused));

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                 (double)ru.ru_stime.tv_usec / 1e6;
    GUARD(head(b, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds."));
    GUARD(core_buf_printf(b, "process_cpu_seconds_total %.6f\n", cpu));
    GUARD(head(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes."));
    GUARD(core_buf_printf(b, "process_resident_memory_bytes %llu\n", (unsigned long long)rss_bytes()));
    GUARD(head(b, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds."));
    return core_buf_printf(b, "process_start_time_seconds %lld\n", (long long)m.started);
}
