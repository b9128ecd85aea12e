/*
 * kmsctl sigv4-verify: checks the SigV4 signature of one raw HTTP/1.1 request
 * read from stdin, with the same library calls as the server, and can show
 * the canonical request, string to sign and signature it computed.
 *
 *   kmsctl sigv4-verify --secret-key SECRET [--session-token TOKEN]
 *                       [--now ISO8601] [--no-normalize-path] [--show] < request.http
 *
 * Exit status: 0 valid, 1 invalid, 2 malformed input or usage. An
 * Authorization that lacks a part (Credential, SignedHeaders, Signature) or
 * breaks SignedHeaders' rules is malformed input.
 */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "sigv4/sigv4_stages.h"
#include "tools/kmsctl.h"

#define SIGV4_VERIFY_MAX_INPUT (CORE_MAX_HEADER_BYTES + CORE_MAX_BODY_BYTES + 4096u)

static void usage(FILE *f)
{
    fprintf(f, "usage: kmsctl sigv4-verify --secret-key SECRET [--session-token TOKEN] [--now ISO8601]\n"
               "                           [--no-normalize-path] [--show] < request.http\n"
               "\n"
               "Reads one raw signed HTTP/1.1 request (request line, headers, blank line, body;\n"
               "CRLF or LF) and recomputes its SigV4 signature as kmsd does.\n"
               "  --now               check skew/expiry against this time (default: the request's\n"
               "                      own X-Amz-Date, so a saved request still verifies later)\n"
               "  --session-token     the request's X-Amz-Security-Token must equal TOKEN\n"
               "  --no-normalize-path S3 rules: sign the raw path\n"
               "  --show              print the canonical request, string to sign and signature\n"
               "Exit status: 0 valid, 1 invalid, 2 malformed input or usage.\n");
}

static int invalid(const char *what, enum core_err err, const struct sigv4_diag *diag)
{
    fprintf(stderr, "kmsctl sigv4-verify: invalid: %s (%s)", what, core_err_name(err));
    if (diag->message.len) fprintf(stderr, ": %.*s", (int)diag->message.len, (const char *)diag->message.data);
    fputc('\n', stderr);
    return err == ERR_LIMIT || err == ERR_NOMEM || err == ERR_CRYPTO || err == ERR_INVALID_ARG ? 2 : 1;
}

static int run(int argc, char **argv, struct core_buf *in, struct core_buf *work, struct sigv4_diag *diag)
{
    const char *secret = NULL, *token = NULL, *now_s = NULL;
    bool show = false, no_normalize = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--secret-key") == 0 && i + 1 < argc) {
            secret = argv[++i];
        } else if (strcmp(a, "--session-token") == 0 && i + 1 < argc) {
            token = argv[++i];
        } else if (strcmp(a, "--now") == 0 && i + 1 < argc) {
            now_s = argv[++i];
        } else if (strcmp(a, "--no-normalize-path") == 0) {
            no_normalize = true;
        } else if (strcmp(a, "--show") == 0) {
            show = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "kmsctl sigv4-verify: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (secret == NULL) {
        fprintf(stderr, "kmsctl sigv4-verify: --secret-key is required\n");
        usage(stderr);
        return 2;
    }
    int64_t now = 0;
    if (now_s && !core_ok(core_time_parse_iso8601(now_s, strlen(now_s), &now)) &&
        !core_ok(core_time_parse_amz(now_s, strlen(now_s), &now))) {
        fprintf(stderr, "kmsctl sigv4-verify: --now must be ISO 8601 (2015-08-30T12:36:00Z)\n");
        return 2;
    }

    uint8_t chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
        if (!core_ok(core_buf_append(in, chunk, n))) {
            fprintf(stderr, "kmsctl sigv4-verify: request larger than %u bytes\n", SIGV4_VERIFY_MAX_INPUT);
            return 2;
        }
    }
    if (ferror(stdin)) {
        fprintf(stderr, "kmsctl sigv4-verify: cannot read stdin\n");
        return 2;
    }

    struct sigv4_header headers[CORE_MAX_HEADERS];
    struct sigv4_request req;
    struct core_cursor body;
    core_result r = sigv4_http_parse(core_buf_cursor(in), headers, CORE_MAX_HEADERS, &req, &body);
    if (!core_ok(r)) {
        fprintf(stderr, "kmsctl sigv4-verify: malformed HTTP request (%s)\n", core_err_name(r.err));
        return 2;
    }
    char body_hash[65];
    sigv4_sha256_hex(body, body_hash);
    req.payload_hash = core_cursor_from(body_hash, 64);
    req.no_normalize_path = no_normalize;

    struct sigv4_auth auth;
    r = sigv4_parse_authorization(&req, &auth, diag);
    if (r.err == ERR_AUTH_MISSING || r.err == ERR_AUTH_INCOMPLETE) {
        /* No signature to check (none at all, or an Authorization header
         * missing a component, such as Signature=): the input is malformed,
         * which is not the same as a signature that does not match. */
        fprintf(stderr, "kmsctl sigv4-verify: malformed authorization (%s): %.*s\n", core_err_name(r.err),
                (int)diag->message.len, (const char *)diag->message.data);
        return 2;
    }
    if (!core_ok(r)) return invalid("authorization", r.err, diag);
    /* Without --now the request is checked at its own time, so a saved request verifies later. */
    req.now = now_s ? now : auth.request_time;

    /* The artefacts, as sigv4_verify computes them. */
    r = sigv4_canonical_request(&req, &auth, work, diag);
    if (!core_ok(r)) return invalid("canonical request", r.err, diag);
    size_t cr_len = work->len;
    if (!core_ok(sigv4_string_to_sign(&auth, core_cursor_from(work->data, cr_len), work))) return 2;
    struct core_cursor cr = core_cursor_from(work->data, cr_len);
    struct core_cursor sts = core_cursor_from(work->data + cr_len, work->len - cr_len);
    uint8_t key[SIGV4_KEY_BYTES];
    char sig[SIGV4_HEX_BYTES + 1];
    if (!core_ok(sigv4_signing_key(core_cursor_str(secret), auth.scope_date, auth.region, auth.service, key))) {
        fprintf(stderr, "kmsctl sigv4-verify: secret key too long\n");
        return 2;
    }
    sigv4_signature_hex(key, sts, sig);
    core_wipe(key, sizeof key);
    if (show) {
        printf("--- canonical request ---\n%.*s\n", (int)cr.len, (const char *)cr.ptr);
        printf("--- string to sign ---\n%.*s\n", (int)sts.len, (const char *)sts.ptr);
        printf("--- signature ---\n%s\n", sig);
        fflush(stdout);
    }

    r = sigv4_check_time(&req, &auth, diag);
    if (!core_ok(r)) return invalid("time", r.err, diag);
    r = sigv4_verify(&req, &auth, core_cursor_str(secret), NULL, diag);
    if (!core_ok(r)) return invalid("signature", r.err, diag);

    struct core_buf tok = {0};
    if (!core_ok(core_buf_init(&tok, 0, CORE_MAX_SESSION_TOKEN_BYTES)) ||
        !core_ok(sigv4_auth_security_token(&auth, &tok))) {
        core_buf_free(&tok);
        return invalid("security token", ERR_AUTH_BAD_TOKEN, diag);
    }
    bool token_ok = token == NULL || core_ct_equal_cursor(core_buf_cursor(&tok), core_cursor_str(token));
    bool had_token = tok.len > 0;
    core_buf_free(&tok);
    if (!token_ok) {
        fprintf(stderr, "kmsctl sigv4-verify: invalid: the request's X-Amz-Security-Token %s --session-token\n",
                had_token ? "differs from" : "is absent; expected");
        return 1;
    }
    fprintf(stderr, "kmsctl sigv4-verify: valid signature by %.*s for %.*s/%.*s%s\n", (int)auth.access_key_id.len,
            (const char *)auth.access_key_id.ptr, (int)auth.region.len, (const char *)auth.region.ptr,
            (int)auth.service.len, (const char *)auth.service.ptr,
            had_token && token == NULL ? " (session token present, not checked)" : "");
    return 0;
}

int kmsctl_sigv4_verify(int argc, char **argv)
{
    struct core_buf in = {0}, work = {0};
    struct sigv4_diag diag = {0};
    int rc = 2;
    if (core_ok(core_buf_init(&in, 64 * 1024, SIGV4_VERIFY_MAX_INPUT)) &&
        core_ok(core_buf_init(&work, 4096, SIGV4_MAX_CANONICAL_REQUEST_BYTES + SIGV4_MAX_STRING_TO_SIGN_BYTES)) &&
        core_ok(core_buf_init(&diag.message, 1024, 64 * 1024)))
        rc = run(argc, argv, &in, &work, &diag);
    else
        fprintf(stderr, "kmsctl sigv4-verify: out of memory\n");
    core_buf_free(&in);
    core_buf_free(&work);
    core_buf_free(&diag.message);
    return rc;
}
