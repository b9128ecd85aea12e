/*
 * The etcd backend's HTTP client over libcurl: the loadable module
 * kmsd-etcd.so (keystore/keystore_http.h). Links libcurl and no kmsd
 * library. One handle per caller thread keeps its connection to the
 * cluster alive; watch streams run in a multi handle that another thread
 * can wake up to stop them.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "keystore/keystore_http.h"

static bool http_init(void) { return curl_global_init(CURL_GLOBAL_DEFAULT) == 0; }

static void *handle_new(void) { return curl_easy_init(); }

static void handle_free(void *h) { curl_easy_cleanup(h); }

/* Readies h for r. @return the header list to free after the transfer (NULL: no memory). */
static struct curl_slist *setup(CURL *h, const struct ks_http_req *r)
{
    curl_easy_reset(h);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    if (hdrs && r->token && r->token[0]) {
        char auth[600];
        int n = snprintf(auth, sizeof auth, "Authorization: %s", r->token);
        struct curl_slist *more = n > 0 && (size_t)n < sizeof auth ? curl_slist_append(hdrs, auth) : NULL;
        if (more == NULL) curl_slist_free_all(hdrs);
        hdrs = more;
        explicit_bzero(auth, sizeof auth); /* the token is a credential: no copy left on the stack */
    }
    if (hdrs == NULL) return NULL;
    curl_easy_setopt(h, CURLOPT_URL, r->url);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)r->body_len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, r->connect_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (r->cacert) curl_easy_setopt(h, CURLOPT_CAINFO, r->cacert);
    if (r->cert) curl_easy_setopt(h, CURLOPT_SSLCERT, r->cert);
    if (r->key) curl_easy_setopt(h, CURLOPT_SSLKEY, r->key);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, r->on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r->arg);
    if (r->timeout_ms) curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, r->timeout_ms);
    if (r->keepalive) {
        curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 5L);
        curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 2L);
    }
    return hdrs;
}

static enum ks_http_result post(void *h, const struct ks_http_req *r, long *status, char err[KS_HTTP_MAX_ERROR])
{
    *status = 0;
    err[0] = 0;
    struct curl_slist *hdrs = setup(h, r);
    if (hdrs == NULL) return KS_HTTP_NOMEM;
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(hdrs);
    if (rc == CURLE_OK) return KS_HTTP_OK;
    /* curl's detail names the TLS failure (an untrusted server certificate,
     * a client certificate the member refused). */
    snprintf(err, KS_HTTP_MAX_ERROR, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
    return rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CACERT_BADFILE ? KS_HTTP_TLS_FILES : KS_HTTP_FAILED;
}

static void *stream_new(void) { return curl_multi_init(); }

static void stream_free(void *s) { curl_multi_cleanup(s); }

static void stream_wakeup(void *s) { curl_multi_wakeup(s); }

static void stream_run(void *s, void *h, const struct ks_http_req *r, const _Atomic bool *stop)
{
    struct curl_slist *hdrs = setup(h, r);
    if (hdrs == NULL) return;
    if (curl_multi_add_handle(s, h) == CURLM_OK) {
        int running = 1;
        while (running && !atomic_load(stop)) {
            if (curl_multi_perform(s, &running) != CURLM_OK) break;
            if (running) curl_multi_poll(s, NULL, 0, 1000, NULL);
        }
        curl_multi_remove_handle(s, h);
    }
    curl_slist_free_all(hdrs);
}

/* The module's one export (keystore/keystore_http.h). */
__attribute__((visibility("default"))) const struct ks_http_module ks_http_module_v1 = {
    .init = http_init,
    .handle_new = handle_new,
    .handle_free = handle_free,
    .post = post,
    .stream_new = stream_new,
    .stream_free = stream_free,
    .stream_wakeup = stream_wakeup,
    .stream_run = stream_run,
};
