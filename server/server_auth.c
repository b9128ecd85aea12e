/*
 * Login: who signed this request. Both credential paths live here and end
 * the same way, in one struct server_caller (a principal, and for temporary
 * credentials the opened session with its authorization view):
 *   - long-term access key (AKIA...): secret and owner from the keystore
 *     (through this thread's credential cache), then sigv4_verify;
 *   - session token (ASIA... + X-Amz-Security-Token): the sealed token
 *     carries secret and principal, so opening it (AEAD tag, key id, expiry
 *     on the service clock) replaces the lookup, then sigv4_verify.
 * Until this passes, nothing of the request but its capped body hash and
 * headers has been read (authenticate, then parse).
 */
#include <stdio.h>
#include <string.h>

#include "server/server_internal.h"

const char *const server_svc_names[] = {"kms", "sts", "iam"};

void server_caller_init(struct server_caller *c)
{
    c->principal = (struct core_principal){0};
    c->has_session = false;
    c->session_tried = false;
}

void server_caller_free(struct server_caller *c)
{
    /* A session never tried was never written: nothing to wipe or free. */
    if (c->session_tried) sts_session_free(&c->session); /* safe on a failed-open session */
    c->has_session = false;
    c->session_tried = false;
}

/* Opt-in compatibility mode: an unknown key id is accepted unverified. A
 * 12-digit key id names the account, as other emulators do. */
static void unverified_principal(const struct server *srv, struct core_cursor akid, struct core_principal *p)
{
    const char *account = srv->cfg.account_id;
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
    iam_principal_root(p, account);
    p->unverified = true;
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

/* Temporary credentials: open the session token, then verify with its secret. */
static core_result by_session_token(struct server *srv, const struct sigv4_request *sreq,
                                    const struct sigv4_auth *auth, struct server_caller *c, struct sigv4_diag *diag)
{
    DEFER_CLEANUP(struct core_buf tok = {0}, core_buf_cleanup);
    core_result r = core_buf_init_wiping(&tok, 0, CORE_MAX_SESSION_TOKEN_BYTES);
    if (core_ok(r)) r = sigv4_auth_security_token(auth, &tok);
    if (r.err == ERR_LIMIT) r.err = ERR_AUTH_BAD_TOKEN;
    if (core_ok(r)) {
        c->session_tried = true; /* from here on server_caller_free wipes c->session */
        r = sts_session_open(srv->sts, core_buf_cursor(&tok), auth->access_key_id, core_clock_service(), &c->session);
    }
    /* No --insecure-accept-unknown-keys fallback here: a token is ours or
     * forged, never "unknown", and the README promises known credentials
     * are always verified. */
    if (!core_ok(r)) {
        /* The client learns only that the token is bad or expired. */
        if (r.err != ERR_AUTH_EXPIRED_TOKEN && r.err != ERR_NOMEM) r.err = ERR_AUTH_BAD_TOKEN;
        return r;
    }
    GUARD(sigv4_verify(sreq, auth, c->session.secret, srv->key_cache, diag));
    c->principal = c->session.principal;
    sts_session_info(&c->session, &c->session_info);
    c->has_session = true;
    CORE_OK;
}

/* Long-term access key: the keystore knows its secret and owner. */
static core_result by_access_key(struct server *srv, const struct sigv4_request *sreq, const struct sigv4_auth *auth,
                                 const char *request_id, struct server_caller *c, struct sigv4_diag *diag)
{
    struct core_principal owner;
    struct core_cursor secret = {0};
    bool active = false;
    core_result r = server_cred_lookup(srv->ks, auth->access_key_id, &owner, &active, &secret);
    if (r.err == ERR_NOT_FOUND && srv->cfg.insecure_accept_unknown_keys) {
        unverified_principal(srv, auth->access_key_id, &c->principal);
        CORE_OK;
    }
    ENSURE(r.err != ERR_NOT_FOUND && (!core_ok(r) || active), ERR_AUTH_UNKNOWN_KEY);
    if (!core_ok(r)) {
        core_log(CORE_LOG_ERROR, "request %s: access key lookup failed: %s at %s", request_id, core_err_name(r.err),
                 core_result_site());
        return r;
    }
    GUARD(sigv4_verify(sreq, auth, secret, srv->key_cache, diag));
    c->principal = owner;
    CORE_OK;
}

core_result server_authenticate(struct server *srv, const struct http_request *req, enum server_svc svc,
                                struct core_cursor operation, const char *request_id, struct server_caller *c,
                                struct sigv4_diag *diag)
{
    server_caller_init(c);
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
    /* One index of the headers for every SigV4 lookup (http_on_header caps n_headers at CORE_MAX_HEADERS). */
    struct sigv4_header_index hidx;
    ENSURE(sreq.n_headers <= CORE_MAX_HEADERS, ERR_LIMIT);
    sigv4_header_index_build(sreq.headers, sreq.n_headers, &hidx);
    sreq.index = &hidx;
    struct sigv4_auth auth;
    core_result r = sigv4_parse(&sreq, &auth, diag);
    if (r.err == ERR_AUTH_MISSING && svc == SERVER_SVC_STS && sts_action_is_unsigned(operation)) {
        c->principal = (struct core_principal){.type = CORE_PRINCIPAL_ANONYMOUS};
        snprintf(c->principal.region, sizeof c->principal.region, "%s", srv->cfg.region);
        CORE_OK;
    }
    GUARD(r);
    /* The credential scope names the service, which must agree with the
     * protocol, and the region, which partitions every resource. */
    GUARD(sigv4_check_scope(&auth, auth.region, core_cursor_str(server_svc_names[svc]), diag));
    if (!valid_region(auth.region)) {
        core_buf_reset(&diag->message);
        core_result_ignore(core_buf_append_str(&diag->message, "Credential should be scoped to a valid region. "));
        BAIL(ERR_AUTH_BAD_SIGNATURE);
    }
    if (auth.security_token.len > 0)
        GUARD(by_session_token(srv, &sreq, &auth, c, diag));
    else
        GUARD(by_access_key(srv, &sreq, &auth, request_id, c, diag));

    struct core_principal *p = &c->principal;
    memcpy(p->region, auth.region.ptr, auth.region.len);
    p->region[auth.region.len] = 0;
    /* The caller's ARNs (stored with the access key, or sealed in the session
     * token) are shown in the partition of the region the request is signed
     * for: an IAM user called from cn-north-1 is arn:aws-cn:iam::... */
    const char *partition = core_partition_of(p->region);
    GUARD(core_arn_set_partition(p->arn, sizeof p->arn, partition));
    GUARD(core_arn_set_partition(p->issuer_arn, sizeof p->issuer_arn, partition));
    size_t n = auth.access_key_id.len < sizeof p->access_key_id - 1 ? auth.access_key_id.len
                                                                     : sizeof p->access_key_id - 1;
    memcpy(p->access_key_id, auth.access_key_id.ptr, n);
    p->access_key_id[n] = 0;
    CORE_OK;
}
