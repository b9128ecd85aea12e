#include "keystore/keystore_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/core_json.h"
#include "core/core_module.h"
#include "keystore/keystore_http.h"

/*
 * The etcd v3 backend (docs/scale-out.md), through etcd's JSON gateway
 * (/v3/kv/range, /v3/kv/txn, /v3/kv/compaction, /v3/auth/authenticate) with
 * libcurl, which lives in the loadable module kmsd-etcd.so
 * (keystore/keystore_http.h), loaded when an etcd keystore is opened. Keys
 * are <prefix>/<table>/<id>, values the same sealed records as in LMDB,
 * base64 on the wire.
 *
 * Read txns read at one revision (a snapshot): the newest this node knows,
 * from its own commits, from a watch on the prefix (etcd pushes every
 * commit) and from a poller that asks the cluster for its revision every
 * ET_POLL_MS (the watch's safety net). Write txns are optimistic: reads are
 * linearizable (no revision) and remembered with their mod_revision (0:
 * absent); iterations also remember a range guard; writes are buffered. The
 * commit is ONE etcd txn whose compares are every read (mod_revision EQUAL)
 * and every range guard (mod_revision LESS than the read's revision + 1:
 * nothing in the range created or changed since); if any fails, nothing is
 * written and the commit answers ERR_CONFLICT, and keystore_write() runs
 * the caller's fn again. Acknowledged only after etcd's quorum commit.
 */

#define ET_MAX_ENDPOINTS 8u
#define ET_MAX_ENDPOINT_BYTES 255u
#define ET_MAX_PREFIX_BYTES 128u
#define ET_POLL_MS 100
#define ET_BATCH 256
#define ET_TIMEOUT_MS 5000L
#define ET_CONNECT_MS 1000L
#define ET_MAX_RESPONSE ((size_t)64 << 20)
#define ET_MAX_BODY ((size_t)16 << 20)
#define ET_META "/.meta/" /* not a table: tables are [a-z0-9_]+ */
#define ET_LEADER "/.leader"
#define ET_LEASE_TTL_S 3  /* a dead leader is replaced within this (plus a campaign period) */
#define ET_CAMPAIGN_MS 1000

struct ks_etcd {
    char endpoints[ET_MAX_ENDPOINTS][ET_MAX_ENDPOINT_BYTES + 1];
    unsigned n;
    _Atomic unsigned cur;
    bool tls;
    char cacert[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
    char user[128];
    struct core_secret password;
    pthread_mutex_t auth_mu;
    char token[512];
    char prefix[ET_MAX_PREFIX_BYTES + 1]; /* without the trailing / */
    _Atomic uint64_t rev;                 /* newest revision known */
    /* leader election for background jobs (poller thread only, but leader) */
    char node_id[33];
    int64_t lease; /* 0: none */
    _Atomic bool leader;
    pthread_t poller;
    bool poller_started;
    _Atomic bool stop;
    /* the watch (watch_main): pushes every commit's revision to this node */
    void *watch_multi; /* the HTTP module's stream runner */
    pthread_t watcher;
    bool watcher_started;
};

/* ---- HTTP ---------------------------------------------------------------- */

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static const struct ks_http_module *http; /* NULL: kmsd-etcd.so not loadable */
static pthread_key_t http_key;
static void http_free_handle(void *h) { http->handle_free(h); }
static void http_load(void)
{
    void *sym = NULL;
    if (!core_ok(core_module_symbol(KS_HTTP_MODULE_FILE, KS_HTTP_MODULE_SYMBOL, &sym))) return;
    const struct ks_http_module *m = sym;
    if (!m->init()) {
        core_log(CORE_LOG_ERROR, "keystore: the etcd HTTP client (%s) failed to initialise", KS_HTTP_MODULE_FILE);
        return;
    }
    if (pthread_key_create(&http_key, http_free_handle) != 0) abort();
    http = m;
}

/* One handle per thread: keeps connections to the cluster alive. */
static void *http_handle(void)
{
    void *h = pthread_getspecific(http_key);
    if (h == NULL) {
        h = http->handle_new();
        if (h && pthread_setspecific(http_key, h) != 0) {
            http->handle_free(h);
            h = NULL;
        }
    }
    return h;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct core_buf *b = arg;
    size_t len = size * n;
    if (!core_ok(core_buf_append(b, p, len))) return 0; /* over ET_MAX_RESPONSE: abort */
    return len;
}

static int64_t et_i64(const json_t *v)
{
    if (json_is_integer(v)) return (int64_t)json_integer_value(v);
    if (json_is_string(v)) return strtoll(json_string_value(v), NULL, 10);
    return 0;
}

static void et_seen(struct ks_etcd *e, int64_t rev)
{
    uint64_t r = rev > 0 ? (uint64_t)rev : 0, old = atomic_load(&e->rev);
    while (r > old && !atomic_compare_exchange_weak(&e->rev, &old, r)) {
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static core_result et_authenticate(struct ks_etcd *e);

/* The connection and credentials of every request to the cluster. */
struct et_conn {
    char url[ET_MAX_ENDPOINT_BYTES + 64];
    char token[sizeof ((struct ks_etcd *)0)->token];
};

static void et_conn_wipe(struct et_conn *c) { core_wipe(c, sizeof *c); }

/*
 * Fills r for a POST of body to path on member cur: the URL, the auth
 * token, TLS. conn holds the strings r points to. The answer's handling
 * (on_data, timeouts) is the caller's.
 */
static void et_setup(struct ks_etcd *e, unsigned cur, const char *path, struct core_cursor body,
                     struct et_conn *conn, struct ks_http_req *r)
{
    snprintf(conn->url, sizeof conn->url, "%s://%s%s", e->tls ? "https" : "http", e->endpoints[cur % e->n], path);
    pthread_mutex_lock(&e->auth_mu);
    memcpy(conn->token, e->token, sizeof conn->token);
    pthread_mutex_unlock(&e->auth_mu);
    *r = (struct ks_http_req){.url = conn->url,
                              .token = conn->token[0] ? conn->token : NULL,
                              .body = (const char *)body.ptr,
                              .body_len = body.len,
                              .connect_ms = ET_CONNECT_MS};
    if (e->tls) {
        r->cacert = e->cacert[0] ? e->cacert : NULL;
        r->cert = e->cert[0] ? e->cert : NULL;
        r->key = e->key[0] ? e->key : NULL;
    }
}

/*
 * POSTs body to path on the cluster; *out is the parsed 200 answer. A
 * member that cannot be reached, or answers that it has no leader or timed
 * out, is skipped for the next one (twice round the list). Other error
 * answers are ERR_IO, logged with etcd's message.
 */
static core_result et_post(struct ks_etcd *e, const char *path, struct core_cursor body, json_t **out)
{
    void *h = http_handle();
    ENSURE(h != NULL, ERR_NOMEM);
    DEFER_CLEANUP(struct core_buf resp = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&resp, 1024, ET_MAX_RESPONSE));
    DEFER_CLEANUP(struct et_conn conn, et_conn_wipe);
    unsigned attempts = 2 * e->n + 1;
    bool reauthed = false;
    for (unsigned a = 0; a < attempts; a++) {
        unsigned cur = atomic_load(&e->cur);
        core_buf_reset(&resp);
        struct ks_http_req r;
        et_setup(e, cur, path, body, &conn, &r);
        r.on_data = on_body;
        r.arg = &resp;
        r.timeout_ms = ET_TIMEOUT_MS;
        char cerr[KS_HTTP_MAX_ERROR];
        long status = 0;
        enum ks_http_result rc = http->post(h, &r, &status, cerr);
        ENSURE(rc != KS_HTTP_NOMEM, ERR_NOMEM);
        if (rc == KS_HTTP_TLS_FILES) {
            /* Our own files are unusable: no member will do better. */
            core_log(CORE_LOG_ERROR, "keystore: etcd TLS: %s (--etcd-cacert, --etcd-cert, --etcd-key)", cerr);
            BAIL(ERR_IO);
        }
        if (rc != KS_HTTP_OK) {
            /* The detail names the TLS failure (an untrusted server
             * certificate, a client certificate the member refused). */
            core_log(CORE_LOG_WARN, "keystore: etcd %s%s: %s; trying the next member", e->endpoints[cur % e->n], path,
                     cerr);
            atomic_compare_exchange_strong(&e->cur, &cur, cur + 1);
            if ((a + 1) % e->n == 0) sleep_ms(200);
            continue;
        }
        json_t *j = NULL;
        core_result pr = core_json_parse(core_buf_cursor(&resp), 16, &j);
        if (status == 200 && core_ok(pr)) {
            *out = j;
            CORE_OK;
        }
        const char *msg = "";
        if (core_ok(pr)) {
            const json_t *m = json_object_get(j, "message");
            if (!json_is_string(m)) m = json_object_get(j, "error");
            if (json_is_string(m)) msg = json_string_value(m);
        }
        bool auth_err = strstr(msg, "token") != NULL || strstr(msg, "authentication") != NULL ||
                        strstr(msg, "permission denied") != NULL;
        bool retry = status >= 500 &&
                     (strstr(msg, "leader") || strstr(msg, "timed out") || strstr(msg, "unavailable") ||
                      strstr(msg, "stopped") || strstr(msg, "not capable") || msg[0] == 0);
        core_log(retry ? CORE_LOG_WARN : CORE_LOG_ERROR, "keystore: etcd %s%s answered %ld: %.200s",
                 e->endpoints[cur % e->n], path, status, msg);
        json_decref(j);
        if (auth_err && e->user[0] && !reauthed && strcmp(path, "/v3/auth/authenticate") != 0) {
            reauthed = true;
            GUARD(et_authenticate(e));
            continue;
        }
        if (!retry) BAIL(ERR_IO);
        atomic_compare_exchange_strong(&e->cur, &cur, cur + 1);
        sleep_ms(100);
    }
    core_log(CORE_LOG_ERROR, "keystore: no etcd member answered %s", path);
    BAIL(ERR_IO);
}

static core_result et_authenticate(struct ks_etcd *e)
{
    DEFER_CLEANUP(struct core_buf body = {0}, core_buf_cleanup);
    GUARD(core_buf_init_wiping(&body, 256, 4096));
    GUARD(core_buf_append_str(&body, "{\"name\":"));
    GUARD(core_json_append_string(&body, core_cursor_str(e->user)));
    GUARD(core_buf_append_str(&body, ",\"password\":"));
    GUARD(core_json_append_string(&body, core_cursor_from(e->password.ptr, e->password.len)));
    GUARD(core_buf_append_str(&body, "}"));
    GUARD(core_buf_terminate(&body));
    pthread_mutex_lock(&e->auth_mu);
    e->token[0] = 0;
    pthread_mutex_unlock(&e->auth_mu);
    DEFER_CLEANUP(json_t *j = NULL, core_json_cleanup);
    GUARD(et_post(e, "/v3/auth/authenticate", core_buf_cursor(&body), &j));
    const json_t *t = json_object_get(j, "token");
    ENSURE(json_is_string(t) && strlen(json_string_value(t)) < sizeof e->token, ERR_IO);
    pthread_mutex_lock(&e->auth_mu);
    snprintf(e->token, sizeof e->token, "%s", json_string_value(t));
    pthread_mutex_unlock(&e->auth_mu);
    CORE_OK;
}

/* ---- keys ---------------------------------------------------------------- */

/* <prefix>/<table>/<id> from the record key table NUL id. */
static core_result et_key(const struct ks_etcd *e, struct core_cursor rk, struct core_buf *out)
{
    core_buf_reset(out);
    const uint8_t *nul = memchr(rk.ptr, 0, rk.len);
    ENSURE(nul != NULL, ERR_INVALID_ARG);
    GUARD(core_buf_append_str(out, e->prefix));
    GUARD(core_buf_append_u8(out, '/'));
    GUARD(core_buf_append(out, rk.ptr, (size_t)(nul - rk.ptr)));
    GUARD(core_buf_append_u8(out, '/'));
    GUARD(core_buf_append(out, nul + 1, rk.len - (size_t)(nul - rk.ptr) - 1));
    CORE_OK;
}

/* The end of the range of ek's table: <prefix>/<table>0 ('0' follows '/'). */
static core_result et_table_end(const struct ks_etcd *e, struct core_cursor ek, struct core_buf *out)
{
    size_t pl = strlen(e->prefix) + 1;
    ENSURE(ek.len > pl, ERR_INVALID_ARG);
    const uint8_t *slash = memchr(ek.ptr + pl, '/', ek.len - pl);
    ENSURE(slash != NULL, ERR_INVALID_ARG);
    core_buf_reset(out);
    GUARD(core_buf_append(out, ek.ptr, (size_t)(slash - ek.ptr)));
    GUARD(core_buf_append_u8(out, '0'));
    CORE_OK;
}

/* The record key of an etcd key under the prefix. Errors: ERR_TAMPERED. */
static core_result et_unkey(const struct ks_etcd *e, struct core_cursor ek, struct core_buf *out)
{
    size_t pl = strlen(e->prefix) + 1;
    ENSURE(ek.len > pl, ERR_TAMPERED);
    const uint8_t *slash = memchr(ek.ptr + pl, '/', ek.len - pl);
    ENSURE(slash != NULL && ek.len - pl <= KS_MAX_RECKEY_BYTES, ERR_TAMPERED);
    core_buf_reset(out);
    GUARD(core_buf_append(out, ek.ptr + pl, (size_t)(slash - ek.ptr) - pl));
    GUARD(core_buf_append_u8(out, 0));
    GUARD(core_buf_append(out, slash + 1, ek.len - (size_t)(slash + 1 - ek.ptr)));
    CORE_OK;
}

static core_result b64(struct core_buf *out, struct core_cursor c)
{
    GUARD(core_buf_append_u8(out, '"'));
    GUARD(core_buf_append_base64(out, c));
    GUARD(core_buf_append_u8(out, '"'));
    CORE_OK;
}

static core_result unb64(const json_t *v, struct core_buf *out)
{
    core_buf_reset(out);
    if (v == NULL) CORE_OK; /* the gateway omits empty bytes */
    ENSURE(json_is_string(v), ERR_IO);
    return core_buf_append_unbase64(out, core_cursor_from(json_string_value(v), json_string_length(v)));
}

/*
 * One range request. end.len 0: the single key. rev 0: linearizable at the
 * newest revision. Answers the parsed body.
 */
static core_result et_range(struct ks_etcd *e, struct core_cursor key, struct core_cursor end, long limit,
                            uint64_t rev, bool count_only, json_t **out)
{
    DEFER_CLEANUP(struct core_buf body = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&body, 256, ET_MAX_BODY));
    GUARD(core_buf_append_str(&body, "{\"key\":"));
    GUARD(b64(&body, key));
    if (end.len) {
        GUARD(core_buf_append_str(&body, ",\"range_end\":"));
        GUARD(b64(&body, end));
    }
    if (limit) GUARD(core_buf_printf(&body, ",\"limit\":%ld", limit));
    if (rev) GUARD(core_buf_printf(&body, ",\"revision\":%llu", (unsigned long long)rev));
    if (count_only) GUARD(core_buf_append_str(&body, ",\"count_only\":true"));
    GUARD(core_buf_append_str(&body, "}"));
    GUARD(core_buf_terminate(&body));
    GUARD(et_post(e, "/v3/kv/range", core_buf_cursor(&body), out));
    et_seen(e, et_i64(json_object_get(json_object_get(*out, "header"), "revision")));
    CORE_OK;
}

/* The cluster's current revision (a linearizable read). */
static core_result et_refresh(struct ks_etcd *e)
{
    DEFER_CLEANUP(json_t *j = NULL, core_json_cleanup);
    char end[ET_MAX_PREFIX_BYTES + 2];
    snprintf(end, sizeof end, "%s0", e->prefix); /* <prefix>/ ... <prefix>0 */
    return et_range(e, core_cursor_str(e->prefix), core_cursor_str(end), 1, 0, true, &j);
}

/*
 * Leader election for background jobs (keystore_leads()). The leader is the
 * node whose id is the value of <prefix>/.leader, a key attached to that
 * node's lease (TTL ET_LEASE_TTL_S) and created only when absent
 * (create_revision == 0). The leader keeps its lease alive every
 * ET_CAMPAIGN_MS; when it dies the lease expires, etcd deletes the key, and
 * the next node's campaign creates it. A node that cannot renew its lease
 * stops leading at once. Two leaders for a moment (a paused process) are
 * harmless: every job's write is guarded by mod_revision compares.
 */
static core_result campaign(struct ks_etcd *e, bool *leads)
{
    *leads = false;
    char body[512];
    DEFER_CLEANUP(json_t *j = NULL, core_json_cleanup);
    if (e->lease) {
        snprintf(body, sizeof body, "{\"ID\":\"%lld\"}", (long long)e->lease);
        GUARD(et_post(e, "/v3/lease/keepalive", core_cursor_str(body), &j));
        if (et_i64(json_object_get(json_object_get(j, "result"), "TTL")) <= 0) e->lease = 0; /* expired */
        json_decref(j);
        j = NULL;
    }
    if (e->lease == 0) {
        snprintf(body, sizeof body, "{\"TTL\":%d}", ET_LEASE_TTL_S);
        GUARD(et_post(e, "/v3/lease/grant", core_cursor_str(body), &j));
        e->lease = et_i64(json_object_get(j, "ID"));
        ENSURE(e->lease != 0, ERR_IO);
        json_decref(j);
        j = NULL;
    }
    DEFER_CLEANUP(struct core_buf b = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_buf k = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&b, 512, 4096));
    GUARD(core_buf_init(&k, 64, ET_MAX_PREFIX_BYTES + 16));
    GUARD(core_buf_append_str(&k, e->prefix));
    GUARD(core_buf_append_str(&k, ET_LEADER));
    GUARD(core_buf_append_str(&b, "{\"compare\":[{\"key\":"));
    GUARD(b64(&b, core_buf_cursor(&k)));
    GUARD(core_buf_append_str(&b, ",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"create_revision\":0}],"
                                  "\"success\":[{\"request_put\":{\"key\":"));
    GUARD(b64(&b, core_buf_cursor(&k)));
    GUARD(core_buf_append_str(&b, ",\"value\":"));
    GUARD(b64(&b, core_cursor_str(e->node_id)));
    GUARD(core_buf_printf(&b, ",\"lease\":\"%lld\"}}],\"failure\":[{\"request_range\":{\"key\":", (long long)e->lease));
    GUARD(b64(&b, core_buf_cursor(&k)));
    GUARD(core_buf_append_str(&b, "}}]}"));
    GUARD(core_buf_terminate(&b));
    GUARD(et_post(e, "/v3/kv/txn", core_buf_cursor(&b), &j));
    if (json_is_true(json_object_get(j, "succeeded"))) {
        *leads = true;
        CORE_OK;
    }
    const json_t *kv = json_array_get(
        json_object_get(json_object_get(json_array_get(json_object_get(j, "responses"), 0), "response_range"), "kvs"),
        0);
    DEFER_CLEANUP(struct core_buf v = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&v, 64, 256));
    if (kv) GUARD(unb64(json_object_get(kv, "value"), &v));
    *leads = kv && et_i64(json_object_get(kv, "lease")) == e->lease &&
             core_cursor_eq(core_buf_cursor(&v), core_cursor_str(e->node_id));
    CORE_OK;
}

static void campaign_round(struct ks_etcd *e)
{
    bool leads = false;
    core_result r = campaign(e, &leads);
    if (!core_ok(r)) leads = false;
    bool was = atomic_exchange(&e->leader, leads);
    if (leads != was)
        core_log(CORE_LOG_INFO, "keystore: this node %s background jobs (etcd lease %lld)",
                 leads ? "now leads" : "no longer leads", (long long)e->lease);
}

/* Watches the cluster's revision so that caches keyed on keystore_generation()
 * drop what another node changed within ET_POLL_MS (plus one round trip), and
 * campaigns for leadership every ET_CAMPAIGN_MS. */
static void *poller_main(void *arg)
{
    struct ks_etcd *e = arg;
    for (unsigned round = 0; !atomic_load(&e->stop); round++) {
        if (round % (ET_CAMPAIGN_MS / ET_POLL_MS) == 0) campaign_round(e);
        core_result_ignore(et_refresh(e));
        for (int i = 0; i < ET_POLL_MS / 10 && !atomic_load(&e->stop); i++) sleep_ms(10);
    }
    return NULL;
}

/*
 * The watch: one streaming POST /v3/watch over the prefix, whose every
 * message (newline-delimited JSON: the events of one commit, with the
 * cluster's revision in its header) moves this node's revision at once, so
 * caches keyed on keystore_generation() drop another node's (or kmsctl's)
 * change within about one network hop of its commit. The poller stays as
 * the fallback when the stream is down (reconnected after ET_POLL_MS).
 */
struct et_watch {
    struct ks_etcd *e;
    struct core_buf line; /* the message being received */
    bool overflow;        /* a message past ET_MAX_RESPONSE: dropped (the poller covers it) */
    bool canceled;
};

static void watch_message(struct et_watch *w, struct core_cursor msg)
{
    json_t *j = NULL;
    if (!core_ok(core_json_parse(msg, 16, &j))) return;
    const json_t *res = json_object_get(j, "result");
    et_seen(w->e, et_i64(json_object_get(json_object_get(res, "header"), "revision")));
    const json_t *ev;
    size_t i;
    json_array_foreach(json_object_get(res, "events"), i, ev)
        et_seen(w->e, et_i64(json_object_get(json_object_get(ev, "kv"), "mod_revision")));
    if (json_is_true(json_object_get(res, "canceled")) || json_object_get(j, "error")) w->canceled = true;
    json_decref(j);
}

static size_t on_watch(char *p, size_t size, size_t n, void *arg)
{
    struct et_watch *w = arg;
    size_t len = size * n;
    struct core_cursor in = core_cursor_from(p, len);
    while (in.len) {
        const uint8_t *nl = memchr(in.ptr, '\n', in.len);
        size_t take = nl ? (size_t)(nl - in.ptr) : in.len;
        if (!w->overflow && !core_ok(core_buf_append(&w->line, in.ptr, take))) w->overflow = true;
        in.ptr += take;
        in.len -= take;
        if (nl == NULL) break;
        in.ptr++, in.len--;
        if (!w->overflow) watch_message(w, core_buf_cursor(&w->line));
        core_buf_reset(&w->line);
        w->overflow = false;
    }
    return w->canceled ? 0 : len; /* 0 ends the stream: a canceled watch is made again */
}

/* One watch stream, until it ends, fails or the keystore closes. */
static void watch_once(struct ks_etcd *e, void *h, struct et_watch *w)
{
    char body[2 * ET_MAX_PREFIX_BYTES + 128], start[ET_MAX_PREFIX_BYTES + 2], end[ET_MAX_PREFIX_BYTES + 2];
    snprintf(start, sizeof start, "%s/", e->prefix);
    snprintf(end, sizeof end, "%s0", e->prefix);
    DEFER_CLEANUP(struct core_buf b = {0}, core_buf_cleanup);
    if (!core_ok(core_buf_init(&b, sizeof body, 4 * sizeof body)) ||
        !core_ok(core_buf_append_str(&b, "{\"create_request\":{\"key\":")) ||
        !core_ok(b64(&b, core_cursor_str(start))) || !core_ok(core_buf_append_str(&b, ",\"range_end\":")) ||
        !core_ok(b64(&b, core_cursor_str(end))) || !core_ok(core_buf_append_str(&b, "}}")))
        return;
    unsigned cur = atomic_load(&e->cur);
    DEFER_CLEANUP(struct et_conn conn, et_conn_wipe);
    struct ks_http_req r;
    et_setup(e, cur, "/v3/watch", core_buf_cursor(&b), &conn, &r);
    r.on_data = on_watch;
    r.arg = w;
    r.keepalive = true;
    w->canceled = w->overflow = false;
    core_buf_reset(&w->line);
    http->stream_run(e->watch_multi, h, &r, &e->stop);
}

static void *watch_main(void *arg)
{
    struct ks_etcd *e = arg;
    void *h = http->handle_new();
    struct et_watch w = {.e = e};
    if (h == NULL || !core_ok(core_buf_init(&w.line, 4096, ET_MAX_RESPONSE))) {
        core_log(CORE_LOG_WARN, "keystore: no etcd watch (out of memory); changes arrive by polling");
        if (h) http->handle_free(h);
        return NULL;
    }
    while (!atomic_load(&e->stop)) {
        watch_once(e, h, &w);
        /* Ended: the member went away, or etcd canceled the watch. The
         * poller keeps the revision current meanwhile. */
        for (int i = 0; i < ET_POLL_MS / 10 && !atomic_load(&e->stop); i++) sleep_ms(10);
    }
    core_buf_free(&w.line);
    http->handle_free(h);
    return NULL;
}

bool ks_etcd_leads(struct keystore *ks) { return atomic_load(&ks->etcd->leader); }

/* ---- transactions -------------------------------------------------------- */

struct et_ent {
    struct core_buf key; /* etcd key */
    struct core_buf val;
    int64_t mod; /* reads: mod_revision seen (0: absent) */
    bool del;
};

struct et_guard {
    struct core_buf start, end;
    int64_t rev;
};

struct ks_btxn {
    struct keystore *ks;
    struct ks_etcd *e;
    bool write;
    bool destroys;
    uint64_t snap;
    unsigned snap_uses; /* txn_snapshot() calls: each one may have served a cached read at snap */
    unsigned sent;      /* reads sent to etcd */
    struct core_buf writes; /* struct et_ent[] */
    struct core_buf reads;  /* struct et_ent[] */
    struct core_buf guards; /* struct et_guard[] */
    struct core_buf ek, out;
};

#define ENTS(b) ((struct et_ent *)(void *)(b).data)
#define NENTS(b) ((b).len / sizeof(struct et_ent))

static struct ks_etcd *E(struct keystore *ks) { return ks->etcd; }

static core_result et_txn_begin(struct keystore *ks, struct ks_btxn *parent, bool write, struct ks_btxn **out)
{
    ENSURE(parent == NULL, ERR_INVALID_ARG); /* does not nest */
    struct ks_btxn *t = calloc(1, sizeof *t);
    ENSURE(t != NULL, ERR_NOMEM);
    t->ks = ks;
    t->e = E(ks);
    t->write = write;
    core_result r = core_buf_init(&t->writes, 0, SIZE_MAX / 2);
    if (core_ok(r)) r = core_buf_init(&t->reads, 0, SIZE_MAX / 2);
    if (core_ok(r)) r = core_buf_init(&t->guards, 0, SIZE_MAX / 2);
    if (core_ok(r)) r = core_buf_init(&t->ek, 64, KS_MAX_RECKEY_BYTES + ET_MAX_PREFIX_BYTES + 2);
    if (core_ok(r)) r = core_buf_init(&t->out, 64, ET_MAX_RESPONSE);
    if (core_ok(r) && !write && atomic_load(&t->e->rev) == 0) r = et_refresh(t->e);
    if (!core_ok(r)) {
        core_buf_free(&t->writes);
        core_buf_free(&t->reads);
        core_buf_free(&t->guards);
        core_buf_free(&t->ek);
        core_buf_free(&t->out);
        free(t);
        return r;
    }
    t->snap = atomic_load(&t->e->rev);
    *out = t;
    CORE_OK;
}

static void ents_free(struct core_buf *b)
{
    for (size_t i = 0; i < NENTS(*b); i++) {
        core_buf_free(&ENTS(*b)[i].key);
        core_buf_free(&ENTS(*b)[i].val);
    }
    core_buf_free(b);
}

static void et_txn_abort(struct ks_btxn *t)
{
    if (t == NULL) return;
    ents_free(&t->writes);
    ents_free(&t->reads);
    struct et_guard *g = (struct et_guard *)(void *)t->guards.data;
    for (size_t i = 0; i < t->guards.len / sizeof *g; i++) {
        core_buf_free(&g[i].start);
        core_buf_free(&g[i].end);
    }
    core_buf_free(&t->guards);
    core_buf_free(&t->ek);
    core_buf_free(&t->out);
    free(t);
}

static uint64_t et_txn_snapshot(struct ks_btxn *t)
{
    t->snap_uses++;
    return t->snap;
}

static struct et_ent *ent_find(struct core_buf *b, struct core_cursor key)
{
    for (size_t i = 0; i < NENTS(*b); i++)
        if (core_cursor_eq(core_buf_cursor(&ENTS(*b)[i].key), key)) return &ENTS(*b)[i];
    return NULL;
}

static core_result ent_add(struct core_buf *b, struct core_cursor key, struct et_ent **out)
{
    struct et_ent n = {0};
    GUARD(core_buf_init(&n.key, key.len, key.len + 1));
    GUARD(core_buf_append_cursor(&n.key, key));
    core_result r = core_buf_init(&n.val, 0, CORE_MAX_RECORD_BYTES + KS_SEAL_OVERHEAD);
    if (core_ok(r)) r = core_buf_append(b, &n, sizeof n);
    if (!core_ok(r)) {
        core_buf_free(&n.key);
        core_buf_free(&n.val);
        return r;
    }
    *out = &ENTS(*b)[NENTS(*b) - 1];
    CORE_OK;
}

/* Remembers a write txn's read of key at mod (the first read counts). */
static core_result note_read(struct ks_btxn *t, struct core_cursor key, int64_t mod)
{
    if (!t->write || ent_find(&t->reads, key)) CORE_OK;
    struct et_ent *n = NULL;
    GUARD(ent_add(&t->reads, key, &n));
    n->mod = mod;
    CORE_OK;
}

/* Reads etcd key ek into t->out: from the txn's own writes first. */
static core_result et_lookup(struct ks_btxn *t, struct core_cursor ek)
{
    if (t->write) {
        struct et_ent *w = ent_find(&t->writes, ek);
        if (w) {
            ENSURE(!w->del, ERR_NOT_FOUND);
            core_buf_reset(&t->out);
            return core_buf_append_cursor(&t->out, core_buf_cursor(&w->val));
        }
    }
    DEFER_CLEANUP(json_t *j = NULL, core_json_cleanup);
    GUARD(et_range(t->e, ek, core_cursor_from(NULL, 0), 0, t->write ? 0 : t->snap, false, &j));
    const json_t *kv = json_array_get(json_object_get(j, "kvs"), 0);
    if (kv == NULL && !t->write && t->sent == 0 && t->snap_uses <= 1) {
        /*
         * "No such record" at the first read of a read txn is confirmed at
         * the cluster's current revision before it is believed: a key
         * created through another node a moment ago is then found although
         * this node's revision is up to ET_POLL_MS old. Nothing was read at
         * the old snapshot yet, so the txn still sees one snapshot.
         */
        json_decref(j);
        j = NULL;
        GUARD(et_refresh(t->e));
        t->snap = atomic_load(&t->e->rev);
        GUARD(et_range(t->e, ek, core_cursor_from(NULL, 0), 0, t->snap, false, &j));
        kv = json_array_get(json_object_get(j, "kvs"), 0);
    }
    t->sent++;
    if (kv == NULL) {
        GUARD(note_read(t, ek, 0));
        BAIL(ERR_NOT_FOUND);
    }
    GUARD(note_read(t, ek, et_i64(json_object_get(kv, "mod_revision"))));
    return unb64(json_object_get(kv, "value"), &t->out);
}

static core_result et_get(struct ks_btxn *t, struct core_cursor key, struct core_cursor *sealed)
{
    GUARD(et_key(t->e, key, &t->ek));
    GUARD(et_lookup(t, core_buf_cursor(&t->ek)));
    *sealed = core_buf_cursor(&t->out);
    CORE_OK;
}

static core_result et_put_reserve(struct ks_btxn *t, struct core_cursor key, size_t len, bool no_overwrite,
                                  uint8_t **dst)
{
    ENSURE(t->write, ERR_INVALID_ARG);
    GUARD(et_key(t->e, key, &t->ek));
    if (no_overwrite) {
        core_result r = et_lookup(t, core_buf_cursor(&t->ek));
        ENSURE(r.err != ERR_OK, ERR_EXISTS);
        if (r.err != ERR_NOT_FOUND) return r;
    }
    struct et_ent *w = ent_find(&t->writes, core_buf_cursor(&t->ek));
    if (w == NULL) GUARD(ent_add(&t->writes, core_buf_cursor(&t->ek), &w));
    core_buf_reset(&w->val);
    GUARD(core_buf_reserve(&w->val, len));
    w->val.len = len;
    w->del = false;
    *dst = w->val.data;
    CORE_OK;
}

static core_result et_del(struct ks_btxn *t, struct core_cursor key)
{
    ENSURE(t->write, ERR_INVALID_ARG);
    GUARD(et_key(t->e, key, &t->ek));
    GUARD(et_lookup(t, core_buf_cursor(&t->ek))); /* ERR_NOT_FOUND when absent */
    struct et_ent *w = ent_find(&t->writes, core_buf_cursor(&t->ek));
    if (w == NULL) GUARD(ent_add(&t->writes, core_buf_cursor(&t->ek), &w));
    core_buf_reset(&w->val);
    w->del = true;
    CORE_OK;
}

static core_result et_mark_destroy(struct ks_btxn *t)
{
    t->destroys = true;
    CORE_OK;
}

/*
 * etcd keeps every revision of a key until the history is compacted: a
 * destroyed value stays readable at older revisions until then. After a
 * destroying commit the history up to it is compacted away (physical: the
 * call returns once the compaction is applied). This compacts the whole
 * cluster's history, which is why kmsd wants an etcd of its own.
 */
static void et_compact(struct ks_etcd *e, uint64_t rev)
{
    char body[96];
    snprintf(body, sizeof body, "{\"revision\":%llu,\"physical\":true}", (unsigned long long)rev);
    DEFER_CLEANUP(json_t *j = NULL, core_json_cleanup);
    core_result r = et_post(e, "/v3/kv/compaction", core_cursor_str(body), &j);
    if (!core_ok(r)) core_log(CORE_LOG_WARN, "keystore: etcd history compaction to %llu failed; destroyed values "
                              "remain in etcd's history until the next one", (unsigned long long)rev);
}

static core_result commit_body(struct ks_btxn *t, struct core_buf *b)
{
    GUARD(core_buf_append_str(b, "{\"compare\":["));
    bool first = true;
    for (size_t i = 0; i < NENTS(t->reads); i++) {
        struct et_ent *r = &ENTS(t->reads)[i];
        GUARD(core_buf_append_str(b, first ? "{\"key\":" : ",{\"key\":"));
        first = false;
        GUARD(b64(b, core_buf_cursor(&r->key)));
        GUARD(core_buf_printf(b, ",\"target\":\"MOD\",\"result\":\"EQUAL\",\"mod_revision\":%lld}",
                              (long long)r->mod));
    }
    struct et_guard *g = (struct et_guard *)(void *)t->guards.data;
    for (size_t i = 0; i < t->guards.len / sizeof *g; i++) {
        GUARD(core_buf_append_str(b, first ? "{\"key\":" : ",{\"key\":"));
        first = false;
        GUARD(b64(b, core_buf_cursor(&g[i].start)));
        GUARD(core_buf_append_str(b, ",\"range_end\":"));
        GUARD(b64(b, core_buf_cursor(&g[i].end)));
        GUARD(core_buf_printf(b, ",\"target\":\"MOD\",\"result\":\"LESS\",\"mod_revision\":%lld}",
                              (long long)g[i].rev + 1));
    }
    GUARD(core_buf_append_str(b, "],\"success\":["));
    for (size_t i = 0; i < NENTS(t->writes); i++) {
        struct et_ent *w = &ENTS(t->writes)[i];
        if (i) GUARD(core_buf_append_u8(b, ','));
        GUARD(core_buf_append_str(b, w->del ? "{\"request_delete_range\":{\"key\":" : "{\"request_put\":{\"key\":"));
        GUARD(b64(b, core_buf_cursor(&w->key)));
        if (!w->del) {
            GUARD(core_buf_append_str(b, ",\"value\":"));
            GUARD(b64(b, core_buf_cursor(&w->val)));
        }
        GUARD(core_buf_append_str(b, "}}"));
    }
    GUARD(core_buf_append_str(b, "]}"));
    return core_buf_terminate(b);
}

static core_result et_txn_commit(struct ks_btxn *t)
{
    struct ks_etcd *e = t->e;
    bool destroys = t->destroys;
    core_result r = core_result_ok();
    uint64_t rev = 0;
    if (t->write && NENTS(t->writes) > 0) {
        DEFER_CLEANUP(struct core_buf body = {0}, core_buf_cleanup);
        r = core_buf_init(&body, 1024, ET_MAX_BODY);
        if (core_ok(r)) r = commit_body(t, &body);
        json_t *j = NULL;
        if (core_ok(r)) r = et_post(e, "/v3/kv/txn", core_buf_cursor(&body), &j);
        if (core_ok(r)) {
            int64_t hrev = et_i64(json_object_get(json_object_get(j, "header"), "revision"));
            et_seen(e, hrev);
            rev = hrev > 0 ? (uint64_t)hrev : 0;
            if (!json_is_true(json_object_get(j, "succeeded"))) r = core_result_fail_at(ERR_CONFLICT, __FILE__, __LINE__);
        }
        json_decref(j);
    }
    et_txn_abort(t);
    GUARD(r);
    if (destroys && rev) et_compact(e, rev);
    CORE_OK;
}

static void et_maintain(struct keystore *ks, bool destroyed) { (void)ks, (void)destroyed; }

/* ---- iteration ----------------------------------------------------------- */

struct et_item {
    struct core_buf key; /* record key */
    struct core_buf val;
};

struct ks_biter {
    struct ks_btxn *t;
    struct core_buf items; /* struct et_item[], sorted */
    size_t next;
    bool more;                /* read txns: the range has more after items */
    struct core_buf resume;   /* etcd key to continue from */
    struct core_buf end;      /* etcd range end (the table's) */
};

#define ITEMS(it) ((struct et_item *)(void *)(it)->items.data)
#define NITEMS(it) ((it)->items.len / sizeof(struct et_item))

static void items_clear(struct ks_biter *it)
{
    for (size_t i = 0; i < NITEMS(it); i++) {
        core_buf_free(&ITEMS(it)[i].key);
        core_buf_free(&ITEMS(it)[i].val);
    }
    it->items.len = 0;
    it->next = 0;
}

static core_result item_add(struct ks_biter *it, struct core_cursor rk, struct core_cursor val)
{
    struct et_item n = {0};
    core_result r = core_buf_init(&n.key, rk.len + 1, KS_MAX_RECKEY_BYTES + 1);
    if (core_ok(r)) r = core_buf_append_cursor(&n.key, rk);
    if (core_ok(r)) r = core_buf_init(&n.val, val.len + 1, ET_MAX_RESPONSE);
    if (core_ok(r)) r = core_buf_append_cursor(&n.val, val);
    if (core_ok(r)) r = core_buf_append(&it->items, &n, sizeof n);
    if (!core_ok(r)) {
        core_buf_free(&n.key);
        core_buf_free(&n.val);
    }
    return r;
}

/* Fetches up to ET_BATCH keys from it->resume; returns the answer's revision. */
static core_result fetch(struct ks_biter *it, uint64_t rev, int64_t *hrev)
{
    struct ks_btxn *t = it->t;
    DEFER_CLEANUP(json_t *j = NULL, core_json_cleanup);
    GUARD(et_range(t->e, core_buf_cursor(&it->resume), core_buf_cursor(&it->end), ET_BATCH, rev, false, &j));
    *hrev = et_i64(json_object_get(json_object_get(j, "header"), "revision"));
    t->sent++;
    it->more = json_is_true(json_object_get(j, "more"));
    DEFER_CLEANUP(struct core_buf ek = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_buf rk = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_buf val = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&ek, 64, KS_MAX_RECKEY_BYTES + ET_MAX_PREFIX_BYTES + 2));
    GUARD(core_buf_init(&rk, 64, KS_MAX_RECKEY_BYTES + 1));
    GUARD(core_buf_init(&val, 64, ET_MAX_RESPONSE));
    size_t i;
    const json_t *kv;
    json_array_foreach(json_object_get(j, "kvs"), i, kv)
    {
        GUARD(unb64(json_object_get(kv, "key"), &ek));
        GUARD(unb64(json_object_get(kv, "value"), &val));
        GUARD(et_unkey(t->e, core_buf_cursor(&ek), &rk));
        GUARD(note_read(t, core_buf_cursor(&ek), et_i64(json_object_get(kv, "mod_revision"))));
        GUARD(item_add(it, core_buf_cursor(&rk), core_buf_cursor(&val)));
        /* Continue after this key: the key followed by a NUL. */
        core_buf_reset(&it->resume);
        GUARD(core_buf_append_cursor(&it->resume, core_buf_cursor(&ek)));
        GUARD(core_buf_append_u8(&it->resume, 0));
    }
    CORE_OK;
}

static int item_cmp(const void *a, const void *b)
{
    return core_cursor_cmp(core_buf_cursor(&((const struct et_item *)a)->key),
                           core_buf_cursor(&((const struct et_item *)b)->key));
}

/* A write txn's view of [from, end): everything now in etcd, guarded at
 * commit, with the txn's own writes laid over it. */
static core_result fill_write_view(struct ks_biter *it, struct core_cursor from)
{
    struct ks_btxn *t = it->t;
    int64_t first_rev = 0, hrev = 0;
    do {
        GUARD(fetch(it, (uint64_t)first_rev, &hrev));
        if (first_rev == 0) first_rev = hrev; /* later batches read the same revision */
    } while (it->more);
    struct et_guard g = {0};
    GUARD(core_buf_init(&g.start, from.len, from.len + 1));
    GUARD(core_buf_append_cursor(&g.start, from));
    core_result r = core_buf_init(&g.end, it->end.len, it->end.len + 1);
    if (core_ok(r)) r = core_buf_append_cursor(&g.end, core_buf_cursor(&it->end));
    g.rev = first_rev;
    if (core_ok(r)) r = core_buf_append(&t->guards, &g, sizeof g);
    if (!core_ok(r)) {
        core_buf_free(&g.start);
        core_buf_free(&g.end);
        return r;
    }
    DEFER_CLEANUP(struct core_buf rk = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&rk, 64, KS_MAX_RECKEY_BYTES + 1));
    for (size_t i = 0; i < NENTS(t->writes); i++) {
        struct et_ent *w = &ENTS(t->writes)[i];
        struct core_cursor wk = core_buf_cursor(&w->key);
        if (core_cursor_cmp(wk, from) < 0 || core_cursor_cmp(wk, core_buf_cursor(&it->end)) >= 0) continue;
        GUARD(et_unkey(t->e, wk, &rk));
        struct et_item *hit = NULL;
        for (size_t k = 0; k < NITEMS(it) && !hit; k++)
            if (core_cursor_eq(core_buf_cursor(&ITEMS(it)[k].key), core_buf_cursor(&rk))) hit = &ITEMS(it)[k];
        if (hit && w->del) {
            core_buf_free(&hit->key);
            core_buf_free(&hit->val);
            *hit = ITEMS(it)[NITEMS(it) - 1];
            it->items.len -= sizeof *hit;
        } else if (hit) {
            core_buf_reset(&hit->val);
            GUARD(core_buf_append_cursor(&hit->val, core_buf_cursor(&w->val)));
        } else if (!w->del) {
            GUARD(item_add(it, core_buf_cursor(&rk), core_buf_cursor(&w->val)));
        }
    }
    if (NITEMS(it) > 1) qsort(it->items.data, NITEMS(it), sizeof(struct et_item), item_cmp);
    it->more = false;
    CORE_OK;
}

static void et_iter_end(struct ks_biter *it)
{
    if (it == NULL) return;
    items_clear(it);
    core_buf_free(&it->items);
    core_buf_free(&it->resume);
    core_buf_free(&it->end);
    free(it);
}

static core_result et_iter_begin(struct ks_btxn *t, struct core_cursor from, struct ks_biter **out)
{
    struct ks_biter *it = calloc(1, sizeof *it);
    ENSURE(it != NULL, ERR_NOMEM);
    it->t = t;
    core_result r = core_buf_init(&it->items, 0, SIZE_MAX / 2);
    if (core_ok(r)) r = core_buf_init(&it->resume, 64, KS_MAX_RECKEY_BYTES + ET_MAX_PREFIX_BYTES + 3);
    if (core_ok(r)) r = core_buf_init(&it->end, 64, KS_MAX_RECKEY_BYTES + ET_MAX_PREFIX_BYTES + 3);
    if (core_ok(r) && from.len == 0) {
        /* Every record (keystore_copy): <prefix>/0 up to <prefix>0. Table
         * names start with [a-z0-9_], all at or after '0'; <prefix>/.meta/
         * sorts before and is left out. */
        r = core_buf_append_str(&it->resume, t->e->prefix);
        if (core_ok(r)) r = core_buf_append_str(&it->resume, "/0");
        if (core_ok(r)) r = core_buf_append_str(&it->end, t->e->prefix);
        if (core_ok(r)) r = core_buf_append_u8(&it->end, '0');
    } else {
        if (core_ok(r)) r = et_key(t->e, from, &it->resume);
        if (core_ok(r)) r = et_table_end(t->e, core_buf_cursor(&it->resume), &it->end);
    }
    int64_t hrev = 0;
    if (core_ok(r) && t->write) {
        DEFER_CLEANUP(struct core_buf start = {0}, core_buf_cleanup);
        r = core_buf_init(&start, it->resume.len, it->resume.len + 1);
        if (core_ok(r)) r = core_buf_append_cursor(&start, core_buf_cursor(&it->resume));
        if (core_ok(r)) r = fill_write_view(it, core_buf_cursor(&start));
    } else if (core_ok(r)) {
        r = fetch(it, t->snap, &hrev);
    }
    if (!core_ok(r)) {
        et_iter_end(it);
        return r;
    }
    *out = it;
    CORE_OK;
}

static core_result et_iter_next(struct ks_biter *it, struct core_cursor *key, struct core_cursor *sealed)
{
    if (it->next >= NITEMS(it) && it->more) {
        items_clear(it);
        int64_t hrev = 0;
        GUARD(fetch(it, it->t->snap, &hrev));
    }
    ENSURE(it->next < NITEMS(it), ERR_NOT_FOUND);
    struct et_item *i = &ITEMS(it)[it->next++];
    *key = core_buf_cursor(&i->key);
    *sealed = core_buf_cursor(&i->val);
    CORE_OK;
}

static uint64_t et_generation(struct keystore *ks) { return atomic_load(&E(ks)->rev); }

const struct ks_backend ks_etcd_backend = {
    .name = "etcd",
    .nests = false,
    .txn_begin = et_txn_begin,
    .txn_commit = et_txn_commit,
    .txn_abort = et_txn_abort,
    .txn_snapshot = et_txn_snapshot,
    .get = et_get,
    .put_reserve = et_put_reserve,
    .del = et_del,
    .mark_destroy = et_mark_destroy,
    .maintain = et_maintain,
    .iter_begin = et_iter_begin,
    .iter_next = et_iter_next,
    .iter_end = et_iter_end,
    .generation = et_generation,
};

/* The answering member's database size (its bbolt file), for the metrics. */
core_result ks_etcd_db_size(struct keystore *ks, uint64_t *bytes)
{
    DEFER_CLEANUP(json_t *j = NULL, core_json_cleanup);
    GUARD(et_post(E(ks), "/v3/maintenance/status", core_cursor_str("{}"), &j));
    int64_t n = et_i64(json_object_get(j, "dbSize"));
    ENSURE(n > 0, ERR_IO);
    *bytes = (uint64_t)n;
    CORE_OK;
}

/* ---- rekey ---------------------------------------------------------------- */

/* Another node holds the leader key: some kmsd still runs over the prefix. */
static core_result others_running(struct ks_etcd *e, bool *running)
{
    char k[ET_MAX_PREFIX_BYTES + sizeof ET_LEADER];
    snprintf(k, sizeof k, "%s%s", e->prefix, ET_LEADER);
    DEFER_CLEANUP(json_t *j = NULL, core_json_cleanup);
    GUARD(et_range(e, core_cursor_str(k), core_cursor_from(NULL, 0), 0, 0, false, &j));
    const json_t *kv = json_array_get(json_object_get(j, "kvs"), 0);
    DEFER_CLEANUP(struct core_buf v = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&v, 64, 256));
    if (kv) GUARD(unb64(json_object_get(kv, "value"), &v));
    *running = kv && !core_cursor_eq(core_buf_cursor(&v), core_cursor_str(e->node_id));
    CORE_OK;
}

/* Puts meta name = value in t, guarded by a compare on its current mod_revision. */
static core_result put_meta(struct ks_btxn *t, const char *name, struct core_cursor value)
{
    DEFER_CLEANUP(struct core_buf k = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&k, 64, ET_MAX_PREFIX_BYTES + 64));
    GUARD(core_buf_append_str(&k, t->e->prefix));
    GUARD(core_buf_append_str(&k, ET_META));
    GUARD(core_buf_append_str(&k, name));
    GUARD(et_lookup(t, core_buf_cursor(&k))); /* notes the read: the commit compares it */
    struct et_ent *w = NULL;
    GUARD(ent_add(&t->writes, core_buf_cursor(&k), &w));
    return core_buf_append_cursor(&w->val, value);
}

/* One attempt: every record re-sealed into t, then the new meta. */
static core_result reseal_into(struct ks_btxn *t, const uint8_t *old_key, const uint8_t *new_key,
                               struct core_secret *pt, const struct ks_etcd_meta *meta, size_t nmeta, size_t *count)
{
    *count = 0;
    struct ks_biter *it = NULL;
    GUARD(et_iter_begin(t, core_cursor_from(NULL, 0), &it));
    core_result r;
    struct core_cursor rk, sealed;
    while (core_ok(r = et_iter_next(it, &rk, &sealed))) {
        uint8_t ad[KS_MAX_AD_BYTES];
        size_t adlen = ks_record_ad(rk, ad), n = 0;
        r = sealed.len >= KS_SEAL_OVERHEAD && sealed.len - KS_SEAL_OVERHEAD <= pt->len
                ? ks_open(old_key, core_cursor_from(ad, adlen), sealed, pt->ptr, &n)
                : core_result_fail_at(ERR_TAMPERED, __FILE__, __LINE__);
        if (!core_ok(r)) {
            core_log(CORE_LOG_ERROR, "keystore: rekey aborted: a record in table '%.64s' fails authentication",
                     (const char *)rk.ptr);
            break;
        }
        uint8_t *dst = NULL;
        r = et_put_reserve(t, rk, n + KS_SEAL_OVERHEAD, false, &dst);
        if (core_ok(r)) ks_seal(new_key, core_cursor_from(ad, adlen), core_cursor_from(pt->ptr, n), dst);
        core_wipe(pt->ptr, n);
        if (!core_ok(r)) break;
        (*count)++;
    }
    et_iter_end(it);
    if (r.err != ERR_NOT_FOUND) return r;
    for (size_t i = 0; i < nmeta; i++) GUARD(put_meta(t, meta[i].name, meta[i].value));
    CORE_OK;
}

core_result ks_etcd_rekey(struct keystore *ks, const uint8_t *new_key, const struct ks_etcd_meta *meta, size_t nmeta,
                          size_t *count)
{
    struct ks_etcd *e = E(ks);
    bool running = false;
    GUARD(others_running(e, &running));
    if (running) {
        core_log(CORE_LOG_ERROR, "keystore: a kmsd node still runs over etcd prefix %s (it holds %s%s); stop every "
                 "node before rekeying", e->prefix, e->prefix, ET_LEADER);
        BAIL(ERR_IO);
    }
    DEFER_CLEANUP(struct core_secret pt = {0}, core_secret_cleanup);
    GUARD(core_secret_alloc(&pt, CORE_MAX_RECORD_BYTES));
    for (unsigned attempt = 0;; attempt++) {
        struct ks_btxn *t = NULL;
        GUARD(et_txn_begin(ks, NULL, true, &t));
        core_result r = reseal_into(t, ks->master.ptr, new_key, &pt, meta, nmeta, count);
        if (!core_ok(r)) {
            et_txn_abort(t);
            return r;
        }
        /* One etcd txn: records and the key that opens them change together
         * (a cluster's --max-txn-ops must exceed the record count). */
        t->destroys = true; /* the old-key values then leave etcd's history */
        r = et_txn_commit(t);
        if (r.err != ERR_CONFLICT || attempt >= 8) return r;
        sleep_ms(50);
    }
}

/* ---- open, meta, close --------------------------------------------------- */

bool ks_store_is_etcd(const char *store) { return store && strncmp(store, "etcd://", 7) == 0; }

static core_result parse_endpoints(struct ks_etcd *e, const char *list)
{
    struct core_cursor c = core_cursor_str(list), tok;
    while (c.len) {
        tok = c;
        const uint8_t *comma = memchr(c.ptr, ',', c.len);
        if (comma) {
            tok.len = (size_t)(comma - c.ptr);
            c.ptr = comma + 1;
            c.len -= tok.len + 1;
        } else {
            c.len = 0;
        }
        ENSURE(tok.len > 0 && tok.len <= ET_MAX_ENDPOINT_BYTES && e->n < ET_MAX_ENDPOINTS, ERR_INVALID_ARG);
        for (size_t i = 0; i < tok.len; i++)
            ENSURE(tok.ptr[i] > ' ' && tok.ptr[i] < 0x7f && tok.ptr[i] != '/', ERR_INVALID_ARG);
        memcpy(e->endpoints[e->n], tok.ptr, tok.len);
        e->endpoints[e->n][tok.len] = 0;
        e->n++;
    }
    ENSURE(e->n > 0, ERR_INVALID_ARG);
    CORE_OK;
}

static core_result copy_path(char *dst, size_t cap, const char *src)
{
    if (src == NULL) CORE_OK;
    int n = snprintf(dst, cap, "%s", src);
    ENSURE(n >= 0 && (size_t)n < cap, ERR_LIMIT);
    CORE_OK;
}

void ks_etcd_close(struct keystore *ks)
{
    struct ks_etcd *e = ks->etcd;
    if (e == NULL) return;
    atomic_store(&e->stop, true);
    if (e->watcher_started) {
        http->stream_wakeup(e->watch_multi);
        pthread_join(e->watcher, NULL);
    }
    if (e->watch_multi) http->stream_free(e->watch_multi);
    if (e->poller_started) pthread_join(e->poller, NULL);
    if (e->lease) {
        /* Hand leadership over now rather than after the lease's TTL. */
        char body[64];
        snprintf(body, sizeof body, "{\"ID\":\"%lld\"}", (long long)e->lease);
        DEFER_CLEANUP(json_t *j = NULL, core_json_cleanup);
        core_result_ignore(et_post(e, "/v3/lease/revoke", core_cursor_str(body), &j));
    }
    core_secret_free(&e->password);
    pthread_mutex_destroy(&e->auth_mu);
    core_wipe(e, sizeof *e);
    free(e);
    ks->etcd = NULL;
}

core_result ks_etcd_open(struct keystore *ks, const struct keystore_options *opts)
{
    struct ks_etcd *e = calloc(1, sizeof *e);
    ENSURE(e != NULL, ERR_NOMEM);
    ENSURE(pthread_mutex_init(&e->auth_mu, NULL) == 0, ERR_NOMEM);
    ks->etcd = e;
    ks->be = &ks_etcd_backend;
    pthread_once(&http_once, http_load);
    if (http == NULL) {
        core_log(CORE_LOG_ERROR, "keystore: the etcd store needs the module %s, which could not be loaded",
                 KS_HTTP_MODULE_FILE);
        BAIL(ERR_IO);
    }
    GUARD(parse_endpoints(e, opts->store + 7));
    const char *prefix = opts->etcd_prefix && opts->etcd_prefix[0] ? opts->etcd_prefix : "kmsd";
    ENSURE(strlen(prefix) <= ET_MAX_PREFIX_BYTES && strchr(prefix, '/') == NULL, ERR_INVALID_ARG);
    snprintf(e->prefix, sizeof e->prefix, "%s", prefix);
    GUARD(copy_path(e->cacert, sizeof e->cacert, opts->etcd_cacert));
    GUARD(copy_path(e->cert, sizeof e->cert, opts->etcd_cert));
    GUARD(copy_path(e->key, sizeof e->key, opts->etcd_key));
    e->tls = e->cacert[0] || e->cert[0];
    if (opts->etcd_user && opts->etcd_user[0]) {
        GUARD(copy_path(e->user, sizeof e->user, opts->etcd_user));
        GUARD(core_secret_alloc(&e->password, opts->etcd_password.len));
        memcpy(e->password.ptr, opts->etcd_password.ptr, opts->etcd_password.len);
        GUARD(et_authenticate(e));
    }
    core_result r = et_refresh(e);
    if (!core_ok(r)) {
        core_log(CORE_LOG_ERROR, "keystore: cannot reach etcd at %s", opts->store + 7);
        return r;
    }
    uint8_t id[16];
    randombytes_buf(id, sizeof id);
    for (size_t i = 0; i < sizeof id; i++) snprintf(e->node_id + 2 * i, 3, "%02x", id[i]);
    ENSURE(pthread_create(&e->poller, NULL, poller_main, e) == 0, ERR_NOMEM);
    e->poller_started = true;
    e->watch_multi = http->stream_new();
    ENSURE(e->watch_multi != NULL, ERR_NOMEM);
    ENSURE(pthread_create(&e->watcher, NULL, watch_main, e) == 0, ERR_NOMEM);
    e->watcher_started = true;
    CORE_OK;
}

static core_result meta_key(const struct ks_etcd *e, const char *name, struct core_buf *out)
{
    core_buf_reset(out);
    GUARD(core_buf_append_str(out, e->prefix));
    GUARD(core_buf_append_str(out, ET_META));
    return core_buf_append_str(out, name);
}

core_result ks_etcd_meta_get(struct keystore *ks, const char *name, struct core_buf *out)
{
    DEFER_CLEANUP(struct core_buf k = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&k, 64, ET_MAX_PREFIX_BYTES + 64));
    GUARD(meta_key(ks->etcd, name, &k));
    DEFER_CLEANUP(json_t *j = NULL, core_json_cleanup);
    GUARD(et_range(ks->etcd, core_buf_cursor(&k), core_cursor_from(NULL, 0), 0, 0, false, &j));
    const json_t *kv = json_array_get(json_object_get(j, "kvs"), 0);
    ENSURE(kv != NULL, ERR_NOT_FOUND);
    return unb64(json_object_get(kv, "value"), out);
}

core_result ks_etcd_meta_create(struct keystore *ks, const struct ks_etcd_meta *m, size_t n, bool *raced)
{
    DEFER_CLEANUP(struct core_buf k = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_buf b = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&k, 64, ET_MAX_PREFIX_BYTES + 64));
    GUARD(core_buf_init(&b, 1024, 64 * 1024));
    /* Created once: only if the first item (the master record) is absent. */
    GUARD(meta_key(ks->etcd, m[0].name, &k));
    GUARD(core_buf_append_str(&b, "{\"compare\":[{\"key\":"));
    GUARD(b64(&b, core_buf_cursor(&k)));
    GUARD(core_buf_append_str(&b, ",\"target\":\"VERSION\",\"result\":\"EQUAL\",\"version\":0}],\"success\":["));
    for (size_t i = 0; i < n; i++) {
        GUARD(meta_key(ks->etcd, m[i].name, &k));
        GUARD(core_buf_append_str(&b, i ? ",{\"request_put\":{\"key\":" : "{\"request_put\":{\"key\":"));
        GUARD(b64(&b, core_buf_cursor(&k)));
        GUARD(core_buf_append_str(&b, ",\"value\":"));
        GUARD(b64(&b, m[i].value));
        GUARD(core_buf_append_str(&b, "}}"));
    }
    GUARD(core_buf_append_str(&b, "]}"));
    GUARD(core_buf_terminate(&b));
    DEFER_CLEANUP(json_t *j = NULL, core_json_cleanup);
    GUARD(et_post(ks->etcd, "/v3/kv/txn", core_buf_cursor(&b), &j));
    et_seen(ks->etcd, et_i64(json_object_get(json_object_get(j, "header"), "revision")));
    *raced = !json_is_true(json_object_get(j, "succeeded"));
    CORE_OK;
}
