#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/server_internal.h"

/* The services one endpoint serves, told apart by protocol and scope. */
enum svc { SVC_KMS, SVC_STS, SVC_IAM };

static const char *const svc_names[] = {"kms", "sts", "iam"};
#define IAM_XMLNS "https://iam.amazonaws.com/doc/2010-05-08/"
#define JSON_CONTENT_TYPE "application/x-amz-json-1.1"

bool http_request_header(const struct http_request *req, const char *name, struct core_cursor *value)
{
    struct core_cursor n = core_cursor_str(name);
    for (size_t i = 0; i < req->n_headers; i++)
        if (core_cursor_eq_icase(req->headers[i].name, n)) {
            *value = req->headers[i].value;
            return true;
        }
    return false;
}

void http_response_free(struct http_response *resp) { core_buf_free(&resp->body); }

const struct server_config *server_get_config(const struct server *srv) { return &srv->cfg; }
struct keystore *server_get_keystore(struct server *srv) { return srv->ks; }

static void new_request_id(char out[40])
{
    static const char hx[] = "0123456789abcdef";
    uint8_t r[16];
    core_random(r, sizeof r);
    r[6] = (uint8_t)((r[6] & 0x0f) | 0x40); /* UUID version 4 */
    r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hx[r[i] >> 4];
        out[o++] = hx[r[i] & 15];
    }
    out[o] = 0;
}

/* Everything one request needs while it is routed. */
struct route {
    struct server *srv;
    const struct http_request *req;
    struct http_response *resp;
    enum svc svc;
    struct core_reply reply;
    struct core_principal principal;
    struct core_form form;
    char operation[96];
    struct sts_session session; /* the opened session token (temporary credentials) */
    bool has_session;
    struct iam_session_info session_info; /* what authorization needs of session, views into it */
};

/* The authorization view of an opened session token. */
static const struct iam_session_info *session_info(struct route *rt)
{
    if (!rt->has_session) return NULL;
    struct iam_session_info *si = &rt->session_info;
    const struct sts_session *s = &rt->session;
    *si = (struct iam_session_info){
        .role_arn = s->role_arn,
        .source_identity = s->source_identity,
        .policy = s->policy,
        .has_session_policies = s->has_session_policies,
    };
    for (size_t i = 0; i < s->n_policy_arns && i < sizeof si->policy_arns / sizeof si->policy_arns[0]; i++)
        si->policy_arns[si->n_policy_arns++] = s->policy_arns[i];
    for (size_t i = 0; i < s->n_tags && i < IAM_MAX_TAGS; i++)
        si->tags[si->n_tags++] = (struct iam_tag){s->tags[i].key, s->tags[i].value};
    return si;
}

static void set_operation(struct route *rt, struct core_cursor op)
{
    size_t n = op.len < sizeof rt->operation - 1 ? op.len : sizeof rt->operation - 1;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = op.ptr[i];
        rt->operation[i] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
    }
    rt->operation[n] = 0;
}

/* Records an error of class err in the service's vocabulary, with message
 * (when non-empty) replacing the generic one. */
static void fail(struct route *rt, enum core_err err, struct core_cursor message)
{
    switch (rt->svc) {
    case SVC_KMS: kms_reply_from_err(err, &rt->reply); break;
    case SVC_STS:
    case SVC_IAM: sts_reply_from_err(err, &rt->reply); break;
    }
    if (message.len) {
        core_buf_reset(&rt->reply.message);
        size_t n = message.len < CORE_REPLY_MAX_MESSAGE ? message.len : CORE_REPLY_MAX_MESSAGE;
        core_result_ignore(core_buf_append(&rt->reply.message, message.ptr, n));
    }
}

static void fail_code(struct route *rt, unsigned status, const char *code, const char *msg)
{
    core_result_ignore(core_reply_error(&rt->reply, status, code, "%s", msg));
}

/* Renders rt->reply into the HTTP response in the service's protocol. */
static void render(struct route *rt)
{
    struct http_response *resp = rt->resp;
    struct core_reply *rp = &rt->reply;
    resp->status = rp->status;
    core_result r;
    if (!core_reply_failed(rp)) {
        resp->content_type = rt->svc == SVC_KMS ? JSON_CONTENT_TYPE : "text/xml";
        /* Hand the body over instead of copying it. */
        resp->body = rp->body;
        rp->body = (struct core_buf){0};
        return;
    }
    core_buf_reset(&resp->body);
    struct core_cursor msg = core_buf_cursor(&rp->message);
    if (rt->svc == SVC_KMS) {
        resp->content_type = JSON_CONTENT_TYPE;
        snprintf(resp->error_type, sizeof resp->error_type, "%s", rp->error_code);
        struct core_jw w;
        core_jw_init(&w, &resp->body);
        r = core_jw_object_begin(&w, NULL);
        if (core_ok(r)) r = core_jw_cstr(&w, "__type", rp->error_code);
        if (core_ok(r)) r = core_jw_str(&w, "message", msg);
        if (core_ok(r)) r = core_jw_object_end(&w);
    } else {
        resp->content_type = "text/xml";
        r = core_xml_error(&resp->body, rt->svc == SVC_IAM ? IAM_XMLNS : STS_XMLNS, rp->sender_fault,
                           rp->error_code, msg, resp->request_id);
    }
    if (!core_ok(r)) {
        core_buf_reset(&resp->body);
        resp->status = 500;
    }
}

/* Which service a request is for, before authentication: JSON requests
 * with X-Amz-Target are KMS; form requests are STS or IAM by Version. */
static void classify(struct route *rt)
{
    struct core_cursor target;
    if (http_request_header(rt->req, "x-amz-target", &target)) {
        rt->svc = SVC_KMS;
        struct core_cursor op = target;
        if (core_cursor_starts_with(op, "TrentService.")) op.ptr += 13, op.len -= 13;
        set_operation(rt, op);
        return;
    }
    rt->svc = SVC_STS;
    struct core_cursor version;
    if (core_form_get(&rt->form, "Version", &version) && core_cursor_eq_str(version, "2010-05-08"))
        rt->svc = SVC_IAM;
    struct core_cursor action;
    if (core_form_get(&rt->form, "Action", &action)) set_operation(rt, action);
}

/* Opt-in compatibility mode: an unknown key id is accepted unverified. A
 * 12-digit key id names the account, as other emulators do. */
static void unverified_principal(struct route *rt, struct core_cursor akid)
{
    const char *account = rt->srv->cfg.account_id;
    char acct[16];
    if (akid.len == 12) {
        bool digits = true;
        for (size_t i = 0; i < 12; i++) digits &= akid.ptr[i] >= '0' && akid.ptr[i] <= '9';
        if (digits) {
            memcpy(acct, akid.ptr, 12);
            acct[12] = 0;
            account = acct;
        }
    }
    iam_principal_root(&rt->principal, account);
    rt->principal.unverified = true;
}

/* A region name as AWS forms them: lowercase letters, digits and dashes. */
static bool valid_region(struct core_cursor r)
{
    if (r.len < 2 || r.len > 25) return false;
    for (size_t i = 0; i < r.len; i++) {
        uint8_t c = r.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    return true;
}

/*
 * SigV4: parse, look the secret up, verify. On failure the reply holds the
 * service's error with AWS's message and false is returned.
 */
static bool authenticate(struct route *rt)
{
    const struct http_request *req = rt->req;
    char hash[65];
    sigv4_sha256_hex(req->body, hash);
    struct sigv4_request sreq = {
        .method = core_cursor_str(req->method),
        .path = req->path,
        .query = req->query,
        .headers = req->headers,
        .n_headers = req->n_headers,
        .payload_hash = core_cursor_from(hash, 64),
        .now = core_clock_real(), /* clients sign with real time, never the shifted clock */
    };
    struct sigv4_auth auth;
    struct sigv4_diag diag;
    if (!core_ok(core_buf_init(&diag.message, 0, CORE_REPLY_MAX_MESSAGE))) {
        fail(rt, ERR_NOMEM, core_cursor_str(""));
        return false;
    }
    bool ok = false;
    core_result r = sigv4_parse(&sreq, &auth, &diag);
    if (r.err == ERR_AUTH_MISSING && rt->svc == SVC_STS && sts_action_is_unsigned(core_cursor_str(rt->operation))) {
        rt->principal = (struct core_principal){.type = CORE_PRINCIPAL_ANONYMOUS};
        snprintf(rt->principal.region, sizeof rt->principal.region, "%s", rt->srv->cfg.region);
        ok = true;
        goto out;
    }
    if (!core_ok(r)) {
        fail(rt, r.err, core_buf_cursor(&diag.message));
        goto out;
    }
    /* The credential scope names the service, which must agree with the
     * protocol, and the region, which partitions every resource. */
    r = sigv4_check_scope(&auth, auth.region, core_cursor_str(svc_names[rt->svc]), &diag);
    if (!core_ok(r)) {
        fail(rt, r.err, core_buf_cursor(&diag.message));
        goto out;
    }
    if (!valid_region(auth.region)) {
        core_buf_reset(&diag.message);
        core_result_ignore(core_buf_append_str(&diag.message, "Credential should be scoped to a valid region. "));
        fail(rt, ERR_AUTH_BAD_SIGNATURE, core_buf_cursor(&diag.message));
        goto out;
    }

    if (auth.security_token.len > 0) {
        /* Temporary credentials: the sealed session token carries the secret
         * and the principal, so opening it (AEAD tag, key id, expiry on the
         * service clock) replaces the keystore lookup. */
        struct core_buf tok = {0};
        r = core_buf_init(&tok, 0, CORE_MAX_SESSION_TOKEN_BYTES);
        if (core_ok(r)) r = sigv4_auth_security_token(&auth, &tok);
        if (r.err == ERR_LIMIT) r.err = ERR_AUTH_BAD_TOKEN;
        if (core_ok(r))
            r = sts_session_open(rt->srv->sts, core_buf_cursor(&tok), auth.access_key_id, core_clock_service(),
                                 &rt->session);
        core_buf_free(&tok);
        if (r.err == ERR_AUTH_BAD_TOKEN && rt->srv->cfg.insecure_accept_unknown_keys) {
            sts_session_free(&rt->session);
            unverified_principal(rt, auth.access_key_id);
            ok = true;
            goto region;
        }
        if (!core_ok(r)) {
            if (r.err != ERR_AUTH_EXPIRED_TOKEN && r.err != ERR_NOMEM) r.err = ERR_AUTH_BAD_TOKEN;
            sts_session_free(&rt->session);
            fail(rt, r.err, core_cursor_str(""));
            goto out;
        }
        r = sigv4_verify(&sreq, &auth, rt->session.secret, rt->srv->key_cache, &diag);
        if (!core_ok(r)) {
            sts_session_free(&rt->session);
            fail(rt, r.err, core_buf_cursor(&diag.message));
            goto out;
        }
        rt->principal = rt->session.principal;
        rt->has_session = true;
        ok = true;
        goto region;
    }
    struct core_principal owner;
    struct core_cursor secret = {0};
    bool active = false;
    r = server_cred_lookup(rt->srv->ks, auth.access_key_id, &owner, &active, &secret);
    if (r.err == ERR_NOT_FOUND && rt->srv->cfg.insecure_accept_unknown_keys) {
        unverified_principal(rt, auth.access_key_id);
        ok = true;
        goto region;
    }
    if (r.err == ERR_NOT_FOUND || (core_ok(r) && !active)) {
        fail(rt, ERR_AUTH_UNKNOWN_KEY, core_cursor_str(""));
        goto out;
    }
    if (!core_ok(r)) {
        core_log(CORE_LOG_ERROR, "request %s: access key lookup failed: %s at %s", rt->resp->request_id,
                 core_err_name(r.err), core_result_site());
        fail(rt, r.err, core_cursor_str(""));
        goto out;
    }
    r = sigv4_verify(&sreq, &auth, secret, rt->srv->key_cache, &diag);
    if (!core_ok(r)) {
        fail(rt, r.err, core_buf_cursor(&diag.message));
        goto out;
    }
    rt->principal = owner;
    ok = true;
region:
    if (ok) {
        memcpy(rt->principal.region, auth.region.ptr, auth.region.len);
        rt->principal.region[auth.region.len] = 0;
        size_t n = auth.access_key_id.len < sizeof rt->principal.access_key_id - 1
                       ? auth.access_key_id.len
                       : sizeof rt->principal.access_key_id - 1;
        memcpy(rt->principal.access_key_id, auth.access_key_id.ptr, n);
        rt->principal.access_key_id[n] = 0;
    }
out:
    core_buf_free(&diag.message);
    return ok;
}

static bool content_type_is(const struct http_request *req, const char *want)
{
    struct core_cursor ct;
    if (!http_request_header(req, "content-type", &ct)) return false;
    struct core_cursor base;
    core_cursor_split(&ct, ';', &base);
    return core_cursor_eq_icase(core_cursor_trim(base), core_cursor_str(want));
}

static void dispatch(struct route *rt)
{
    const struct http_request *req = rt->req;
    const struct iam_session_info *si = session_info(rt);
    core_result r;
    switch (rt->svc) {
    case SVC_KMS: {
        struct core_cursor target = {0};
        http_request_header(req, "x-amz-target", &target);
        if (strcmp(req->method, "POST") != 0) {
            fail_code(rt, 400, "UnknownOperationException", "");
            return;
        }
        if (!content_type_is(req, JSON_CONTENT_TYPE) && !content_type_is(req, "application/x-amz-json-1.0")) {
            fail_code(rt, 400, "SerializationException", "Unsupported Content-Type: expected application/x-amz-json-1.1");
            return;
        }
        struct kms_call call = {
            .caller = &rt->principal,
            .target = target,
            .body = req->body,
            .request_id = rt->resp->request_id,
            .source_ip = req->source_ip,
            .now = core_clock_service(),
            .session = si,
        };
        r = kms_handle(rt->srv->kms, &call, &rt->reply);
        break;
    }
    case SVC_STS: {
        struct sts_call call = {
            .caller = &rt->principal,
            .form = &rt->form,
            .request_id = rt->resp->request_id,
            .source_ip = req->source_ip,
            .now = core_clock_service(),
            .session = rt->has_session ? &rt->session : NULL,
        };
        r = sts_handle(rt->srv->sts, &call, &rt->reply);
        break;
    }
    case SVC_IAM: {
        struct iam_call call = {
            .caller = &rt->principal,
            .form = &rt->form,
            .request_id = rt->resp->request_id,
            .now = core_clock_service(),
            .session = si,
            .source_ip = req->source_ip,
        };
        r = iam_handle(rt->srv->iam, &call, &rt->reply);
        break;
    }
    }
    (void)r;
}

void server_route(struct server *srv, const struct http_request *req, struct http_response *resp)
{
    uint64_t t0 = core_clock_mono_ns();
    *resp = (struct http_response){.status = 500, .content_type = "text/plain"};
    new_request_id(resp->request_id);
    struct route rt = {.srv = srv, .req = req, .resp = resp};
    if (!core_ok(core_buf_init(&resp->body, 0, CORE_REPLY_MAX_BODY)) || !core_ok(core_reply_init(&rt.reply))) {
        core_reply_free(&rt.reply);
        return;
    }

    /* Query-protocol parameters come from the form body (POST) or the query (GET). */
    bool form_ok = true;
    if (!http_request_header(req, "x-amz-target", &(struct core_cursor){0})) {
        struct core_cursor src = strcmp(req->method, "GET") == 0 ? req->query : req->body;
        form_ok = core_ok(core_form_parse(&rt.form, src));
    }
    classify(&rt);

    if (req->body_too_large) {
        char m[96];
        snprintf(m, sizeof m, "Request body exceeds the limit of %u bytes", srv->cfg.max_body);
        fail_code(&rt, 413, rt.svc == SVC_KMS ? "RequestEntityTooLargeException" : "RequestEntityTooLarge", m);
    } else if (req->too_many_headers) {
        fail_code(&rt, 400, rt.svc == SVC_KMS ? "ValidationException" : "ValidationError", "Too many headers");
    } else if (!form_ok) {
        fail_code(&rt, 400, "MalformedQueryString", "The request body could not be decoded as a form");
    } else if (authenticate(&rt)) {
        dispatch(&rt);
    }
    render(&rt);

    struct server_access_entry e = {
        .request_id = resp->request_id,
        .service = svc_names[rt.svc],
        .operation = rt.operation,
        .principal_arn = rt.principal.arn,
        .access_key_id = rt.principal.access_key_id,
        .source_ip = req->source_ip,
        .status = resp->status,
        .error_code = rt.reply.error_code,
        .latency_us = (core_clock_mono_ns() - t0) / 1000,
    };
    server_access_log(&e);
    core_reply_free(&rt.reply);
    core_form_free(&rt.form);
    if (rt.has_session) sts_session_free(&rt.session); /* failed opens were freed where they failed */
}

static core_result open_keystore(struct server *srv)
{
    const struct server_config *cfg = &srv->cfg;
    struct keystore_options ko = {
        .dir = cfg->data_dir,
        .source = cfg->master_source,
        .key_file = cfg->key_file[0] ? cfg->key_file : NULL,
    };
    DEFER_CLEANUP(struct core_buf pass = {0}, core_buf_cleanup);
    if (cfg->master_source == KEYSTORE_MASTER_PASSPHRASE) {
        GUARD(core_buf_init_secret(&pass, 1024));
        if (cfg->passphrase_env[0]) {
            const char *v = getenv(cfg->passphrase_env);
            if (v == NULL || !*v) {
                core_log(CORE_LOG_ERROR, "environment variable %s is empty or unset", cfg->passphrase_env);
                BAIL(ERR_INVALID_ARG);
            }
            GUARD(core_buf_append_str(&pass, v));
        } else {
            FILE *f = fopen(cfg->passphrase_file, "r");
            if (f == NULL) {
                core_log(CORE_LOG_ERROR, "cannot read passphrase file %s", cfg->passphrase_file);
                BAIL(ERR_IO);
            }
            size_t n = fread(pass.data, 1, pass.max, f);
            fclose(f);
            pass.len = n;
            while (pass.len && (pass.data[pass.len - 1] == '\n' || pass.data[pass.len - 1] == '\r')) pass.len--;
        }
        ENSURE(pass.len > 0, ERR_INVALID_ARG);
        ko.passphrase = core_buf_cursor(&pass);
    }
    bool created = false;
    GUARD(keystore_open(&ko, &srv->ks, &created));
    if (created) core_log(CORE_LOG_INFO, "created a new keystore in %s", cfg->data_dir);
    CORE_OK;
}

/* The administrator's credentials, in the AWS shared-credentials format, in a
 * 0600 file: the secret is never printed or logged. */
static core_result write_admin_credentials(const struct server_config *cfg, const struct iam_access_key *k,
                                           char *path, size_t cap)
{
    snprintf(path, cap, "%s/admin-credentials", cfg->data_dir);
    char tmp[1300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wx");
    if (f == NULL) {
        unlink(tmp);
        f = fopen(tmp, "wx");
    }
    ENSURE(f != NULL, ERR_IO);
    fchmod(fileno(f), 0600);
    fprintf(f,
            "# kmsd administrator (%s) - created at first start\n"
            "[kmsd]\naws_access_key_id = %s\naws_secret_access_key = %.*s\nregion = %s\n",
            k->owner.arn, k->id, (int)k->secret.len, (const char *)k->secret.ptr, cfg->region);
    bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    fclose(f);
    ENSURE(ok && rename(tmp, path) == 0, ERR_IO);
    CORE_OK;
}

core_result server_new(const struct server_config *cfg, struct server **out)
{
    struct server *srv = calloc(1, sizeof *srv);
    ENSURE(srv != NULL, ERR_NOMEM);
    srv->cfg = *cfg;
    core_clock_set_offset(cfg->clock_offset);
    core_result r = open_keystore(srv);
    if (core_ok(r)) r = sigv4_key_cache_new(256, &srv->key_cache);
    struct iam_access_key admin = {0};
    bool created = false;
    if (core_ok(r)) r = iam_bootstrap(srv->ks, cfg->account_id, &admin, &created);
    if (core_ok(r) && created) {
        char path[1200];
        r = write_admin_credentials(cfg, &admin, path, sizeof path);
        if (core_ok(r))
            core_log(CORE_LOG_INFO, "administrator %s created; credentials written to %s", admin.owner.arn, path);
    }
    iam_access_key_free(&admin);
    /* IAM first: KMS and STS read callers' identity policies through it. */
    struct iam_env_options io = {.ks = srv->ks, .account = cfg->account_id};
    if (core_ok(r)) r = iam_env_new(&io, &srv->iam);
    struct kms_env_options ko = {.ks = srv->ks, .default_region = cfg->region, .iam = srv->iam};
    if (core_ok(r)) r = kms_env_new(&ko, &srv->kms);
    struct sts_env_options so = {.ks = srv->ks, .default_region = cfg->region, .iam = srv->iam};
    if (core_ok(r)) r = sts_env_new(&so, &srv->sts);
    if (!core_ok(r)) {
        server_free(srv);
        return r;
    }
    *out = srv;
    CORE_OK;
}

void server_free(struct server *srv)
{
    if (!srv) return;
    if (srv->sts) sts_env_free(srv->sts);
    if (srv->kms) kms_env_free(srv->kms);
    if (srv->iam) iam_env_free(srv->iam);
    if (srv->key_cache) sigv4_key_cache_free(srv->key_cache);
    if (srv->ks) keystore_close(srv->ks);
    free(srv);
}

void server_tick(struct server *srv)
{
    if (srv->cfg.clock_file[0]) {
        FILE *f = fopen(srv->cfg.clock_file, "r");
        if (f) {
            char line[64] = {0};
            if (fgets(line, sizeof line, f)) {
                line[strcspn(line, "\r\n \t")] = 0;
                int64_t off;
                if (server_parse_duration(line, &off)) {
                    if (off != core_clock_offset())
                        core_log(CORE_LOG_INFO, "service clock offset now %lld s", (long long)off);
                    core_clock_set_offset(off);
                }
            }
            fclose(f);
        }
    }
    /* Rotations and deletions whose date passed on the service clock (also at start). */
    core_result r = kms_run_due(srv->kms, core_clock_service());
    if (!core_ok(r)) core_log(CORE_LOG_ERROR, "kms: due rotations/deletions failed: %s at %s", core_err_name(r.err),
                              core_result_site());
    core_result_ignore(r);
}
