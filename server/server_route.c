/*
 * One request's route: classify (which service, which operation) →
 * authenticate (server_auth.c) → dispatch to the service → render its reply
 * in the service's protocol, then one access-log line.
 */
#include <stdio.h>
#include <string.h>

#include "server/server_internal.h"

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
    enum server_svc svc;
    struct core_reply reply;
    struct core_form form;
    char operation[96];
    struct server_caller caller;
    enum core_err auth_err; /* for metrics */
    bool has_target;        /* X-Amz-Target, looked up once per request */
    struct core_cursor target;
};

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
    case SERVER_SVC_KMS: kms_reply_from_err(err, &rt->reply); break;
    case SERVER_SVC_STS:
    case SERVER_SVC_IAM: query_reply_from_err(err, &rt->reply); break;
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
        resp->content_type = rt->svc == SERVER_SVC_KMS ? JSON_CONTENT_TYPE : "text/xml";
        /* Hand the body over instead of copying it. */
        resp->body = rp->body;
        rp->body = (struct core_buf){0};
        return;
    }
    core_buf_reset(&resp->body);
    struct core_cursor msg = core_buf_cursor(&rp->message);
    if (rt->svc == SERVER_SVC_KMS) {
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
        r = core_xml_error(&resp->body, rt->svc == SERVER_SVC_IAM ? IAM_XMLNS : STS_XMLNS, rp->sender_fault,
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
    if (rt->has_target) {
        rt->svc = SERVER_SVC_KMS;
        struct core_cursor op = rt->target;
        if (core_cursor_starts_with(op, "TrentService.")) op.ptr += 13, op.len -= 13;
        set_operation(rt, op);
        return;
    }
    rt->svc = SERVER_SVC_STS;
    struct core_cursor version;
    if (core_form_get(&rt->form, "Version", &version) && core_cursor_eq_str(version, "2010-05-08"))
        rt->svc = SERVER_SVC_IAM;
    struct core_cursor action;
    if (core_form_get(&rt->form, "Action", &action)) set_operation(rt, action);
}

/* Authentication; on failure the reply holds the service's error with AWS's message. */
static bool authenticate(struct route *rt)
{
    struct sigv4_diag diag;
    if (!core_ok(core_buf_init(&diag.message, 0, CORE_REPLY_MAX_MESSAGE))) {
        fail(rt, ERR_NOMEM, core_cursor_str(""));
        return false;
    }
    core_result r = server_authenticate(rt->srv, rt->req, rt->svc, core_cursor_str(rt->operation),
                                        rt->resp->request_id, &rt->caller, &diag);
    if (!core_ok(r)) {
        rt->auth_err = r.err;
        fail(rt, r.err, core_buf_cursor(&diag.message));
    }
    core_buf_free(&diag.message);
    return core_ok(r);
}

/* Whether the Content-Type's media type is one of the JSON protocol's two. */
static bool content_type_json(const struct http_request *req)
{
    struct core_cursor ct;
    if (!http_request_header(req, "content-type", &ct)) return false;
    struct core_cursor base;
    core_cursor_split(&ct, ';', &base);
    base = core_cursor_trim(base);
    return core_cursor_eq_icase(base, core_cursor_str(JSON_CONTENT_TYPE)) ||
           core_cursor_eq_icase(base, core_cursor_str("application/x-amz-json-1.0"));
}

static void dispatch(struct route *rt)
{
    const struct http_request *req = rt->req;
    const struct server_caller *c = &rt->caller;
    const struct iam_session_info *si = c->has_session ? &c->session_info : NULL;
    core_result r;
    /* Every ARN built while serving this request carries the partition of its
     * credential-scope region (core_partition.h). */
    core_partition_set_request_region(c->principal.region);
    switch (rt->svc) {
    case SERVER_SVC_KMS: {
        struct core_cursor target = rt->target;
        if (!core_cursor_eq_str(core_cursor_str(req->method), "POST")) {
            fail_code(rt, 400, "UnknownOperationException", "");
            return;
        }
        if (!content_type_json(req)) {
            fail_code(rt, 400, "SerializationException", "Unsupported Content-Type: expected application/x-amz-json-1.1");
            return;
        }
        struct kms_call call = {
            .caller = &c->principal,
            .target = target,
            .body = req->body,
            .request_id = rt->resp->request_id,
            .source_ip = req->source_ip,
            .secure_transport = req->secure,
            .now = core_clock_service(),
            .session = si,
        };
        r = kms_handle(rt->srv->kms, &call, &rt->reply);
        break;
    }
    case SERVER_SVC_STS: {
        struct sts_call call = {
            .caller = &c->principal,
            .form = &rt->form,
            .request_id = rt->resp->request_id,
            .source_ip = req->source_ip,
            .secure_transport = req->secure,
            .now = core_clock_service(),
            .session = c->has_session ? &c->session : NULL,
        };
        r = sts_handle(rt->srv->sts, &call, &rt->reply);
        break;
    }
    case SERVER_SVC_IAM: {
        struct iam_call call = {
            .caller = &c->principal,
            .form = &rt->form,
            .request_id = rt->resp->request_id,
            .now = core_clock_service(),
            .session = si,
            .source_ip = req->source_ip,
            .secure_transport = req->secure,
        };
        r = iam_handle(rt->srv->iam, &call, &rt->reply);
        break;
    }
    }
    core_partition_set_request_region(NULL);
    (void)r;
}

void server_route(struct server *srv, const struct http_request *req, struct http_response *resp)
{
    uint64_t t0 = core_clock_mono_ns();
    *resp = (struct http_response){.status = 500, .content_type = "text/plain"};
    new_request_id(resp->request_id);
    /* Not zero-initialised whole: form (8 KiB of parameter slots) and the
     * caller's session (6 KiB) are only read once written, so only what is
     * read regardless is set here (issue 14: this zeroing was 16,000 of an
     * Encrypt's instructions). */
    struct route rt;
    rt.srv = srv;
    rt.req = req;
    rt.resp = resp;
    rt.svc = SERVER_SVC_KMS; /* classify() sets it before anything reads it */
    rt.operation[0] = 0;
    rt.auth_err = ERR_OK;
    rt.form.n = 0;
    rt.form.storage = (struct core_buf){0};
    rt.target = (struct core_cursor){0};
    rt.has_target = http_request_header(req, "x-amz-target", &rt.target);
    server_caller_init(&rt.caller);
    if (!core_ok(core_buf_init_wiping(&resp->body, 0, CORE_REPLY_MAX_BODY))) return;
    if (!core_ok(core_reply_init(&rt.reply))) { /* it set every field before failing */
        core_reply_free(&rt.reply);
        return;
    }

    /* The OIDC issuer's discovery documents (GetWebIdentityToken) are public, as AWS serves them. */
    if (core_cursor_eq_str(core_cursor_str(req->method), "GET") && srv->sts) {
        bool found = false;
        core_result wr = sts_oidc_well_known(srv->sts, req->path, &resp->body, &found);
        if (found) {
            resp->status = core_ok(wr) ? 200 : 500;
            resp->content_type = "application/json";
            if (!core_ok(wr)) core_buf_reset(&resp->body);
            struct server_access_entry we = {.request_id = resp->request_id, .service = "sts",
                                             .operation = "OIDCDiscovery", .principal_arn = "",
                                             .access_key_id = "", .source_ip = req->source_ip,
                                             .status = resp->status, .error_code = "",
                                             .latency_us = (core_clock_mono_ns() - t0) / 1000};
            server_access_log(&we);
            core_reply_free(&rt.reply);
            return;
        }
    }

    /* Query-protocol parameters come from the form body (POST) or the query (GET). */
    bool form_ok = true;
    if (!rt.has_target) {
        struct core_cursor src = core_cursor_eq_str(core_cursor_str(req->method), "GET") ? req->query : req->body;
        form_ok = core_ok(core_form_parse(&rt.form, src));
    }
    classify(&rt);

    if (req->body_too_large) {
        char m[96];
        snprintf(m, sizeof m, "Request body exceeds the limit of %u bytes", srv->cfg.max_body);
        fail_code(&rt, 413, rt.svc == SERVER_SVC_KMS ? "RequestEntityTooLargeException" : "RequestEntityTooLarge", m);
    } else if (req->too_many_headers) {
        fail_code(&rt, 400, rt.svc == SERVER_SVC_KMS ? "ValidationException" : "ValidationError", "Too many headers");
    } else if (!form_ok) {
        fail_code(&rt, 400, "MalformedQueryString", "The request body could not be decoded as a form");
    } else if (authenticate(&rt) &&
               server_throttle_admit(rt.svc, rt.operation, &rt.caller.principal, &rt.reply)) {
        dispatch(&rt);
    }
    render(&rt);

    struct server_access_entry e = {
        .request_id = resp->request_id,
        .service = server_svc_names[rt.svc],
        .operation = rt.operation,
        .principal_arn = rt.caller.principal.arn,
        .access_key_id = rt.caller.principal.access_key_id,
        .source_ip = req->source_ip,
        .status = resp->status,
        .error_code = rt.reply.error_code,
        .latency_us = (core_clock_mono_ns() - t0) / 1000,
        .auth_err = rt.auth_err,
    };
    server_access_log(&e);
    server_audit_record(srv, &(struct server_audit_event){.svc = rt.svc, .operation = rt.operation, .req = req,
                                                          .resp = resp, .caller = &rt.caller, .form = &rt.form,
                                                          .error_code = rt.reply.error_code,
                                                          .error_message = core_buf_cursor(&rt.reply.message)});
    core_reply_free(&rt.reply);
    core_form_free(&rt.form);
    server_caller_free(&rt.caller);
}

