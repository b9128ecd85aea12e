/*
 * In-memory handler tests: build a struct http_request, sign it with the
 * project's SigV4 signer, call server_route() and check the AWS wire
 * answer. No sockets.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "server/server.h"
#include "tests/test.h"

static char dir[256];
static char akid[64], secret[128];

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void read_admin(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/admin-credentials", dir);
    FILE *f = fopen(path, "r");
    EXPECT_TRUE(f != NULL);
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!strncmp(line, "aws_access_key_id = ", 20))
            EXPECT_TRUE(snprintf(akid, sizeof akid, "%s", line + 20) < (int)sizeof akid);
        if (!strncmp(line, "aws_secret_access_key = ", 24))
            EXPECT_TRUE(snprintf(secret, sizeof secret, "%s", line + 24) < (int)sizeof secret);
    }
    fclose(f);
}

struct signed_req {
    struct http_request req;
    char date[32];
    char auth[1024];
    char target[96];
};

/* Fills r with a signed POST of body for service; sign_secret may differ
 * from the real one to provoke mismatches. */
static void make_request(struct signed_req *r, const char *service, const char *target, const char *body,
                         const char *sign_secret, int64_t skew)
{
    memset(r, 0, sizeof *r);
    struct http_request *q = &r->req;
    q->method = "POST";
    q->path = core_cursor_str("/");
    q->body = core_cursor_str(body);
    snprintf(q->source_ip, sizeof q->source_ip, "127.0.0.1");
    q->loopback = true;
    core_time_amz(core_clock_real() + skew, r->date);
    size_t n = 0;
    q->headers[n++] = (struct sigv4_header){core_cursor_str("Host"), core_cursor_str("localhost")};
    q->headers[n++] = (struct sigv4_header){core_cursor_str("X-Amz-Date"), core_cursor_str(r->date)};
    if (target) {
        snprintf(r->target, sizeof r->target, "%s", target);
        q->headers[n++] = (struct sigv4_header){core_cursor_str("Content-Type"),
                                                core_cursor_str("application/x-amz-json-1.1")};
        q->headers[n++] = (struct sigv4_header){core_cursor_str("X-Amz-Target"), core_cursor_str(r->target)};
    } else {
        q->headers[n++] = (struct sigv4_header){core_cursor_str("Content-Type"),
                                                core_cursor_str("application/x-www-form-urlencoded")};
    }
    q->n_headers = n;
    char hash[65];
    sigv4_sha256_hex(q->body, hash);
    struct sigv4_request sr = {.method = core_cursor_str("POST"), .path = q->path, .headers = q->headers,
                               .n_headers = n, .payload_hash = core_cursor_from(hash, 64),
                               .now = core_clock_real()};
    struct sigv4_credentials c = {core_cursor_str(akid), core_cursor_str(sign_secret), {0}};
    struct core_buf a;
    EXPECT_OK(core_buf_init(&a, 0, sizeof r->auth - 1));
    EXPECT_OK(sigv4_sign(&sr, &c, core_cursor_str("us-east-1"), core_cursor_str(service), core_cursor_str(r->date),
                         NULL, &a));
    memcpy(r->auth, a.data, a.len);
    r->auth[a.len] = 0;
    core_buf_free(&a);
    q->headers[q->n_headers++] = (struct sigv4_header){core_cursor_str("Authorization"), core_cursor_str(r->auth)};
}

static bool body_has(const struct http_response *resp, const char *needle)
{
    return resp->body.len && memmem(resp->body.data, resp->body.len, needle, strlen(needle)) != NULL;
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/kmsd-route-XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) return 2;
    struct server_config cfg;
    server_config_defaults(&cfg);
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", dir);
    struct server *srv = NULL;
    EXPECT_OK(server_new(&cfg, &srv));
    if (!srv) TEST_MAIN_END();
    read_admin();
    EXPECT_TRUE(strncmp(akid, "AKIA", 4) == 0 && strlen(secret) == 40);

    struct signed_req r;
    struct http_response resp;

    make_request(&r, "sts", NULL, "Action=GetCallerIdentity&Version=2011-06-15", secret, 0);
    server_route(srv, &r.req, &resp);
    EXPECT_TRUE(resp.status == 200);
    EXPECT_TRUE(body_has(&resp, "<Arn>arn:aws:iam::000000000000:user/admin</Arn>"));
    EXPECT_TRUE(body_has(&resp, "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"));
    EXPECT_TRUE(body_has(&resp, resp.request_id));
    http_response_free(&resp);

    make_request(&r, "kms", "TrentService.GenerateRandom", "{\"NumberOfBytes\":16}", secret, 0);
    server_route(srv, &r.req, &resp);
    EXPECT_TRUE(resp.status == 200);
    EXPECT_TRUE(body_has(&resp, "{\"Plaintext\":\""));
    EXPECT_TRUE(strlen(resp.request_id) == 36);
    http_response_free(&resp);

    /* One changed signature character. */
    make_request(&r, "kms", "TrentService.GenerateRandom", "{\"NumberOfBytes\":16}", secret, 0);
    char *sig = strstr(r.auth, "Signature=");
    EXPECT_TRUE(sig != NULL);
    if (sig) sig[10] = sig[10] == 'a' ? 'b' : 'a';
    server_route(srv, &r.req, &resp);
    EXPECT_TRUE(resp.status == 400);
    EXPECT_STR_EQ(resp.error_type, "InvalidSignatureException");
    http_response_free(&resp);

    /* Wrong secret, STS: 403 SignatureDoesNotMatch with the canonical request. */
    make_request(&r, "sts", NULL, "Action=GetCallerIdentity&Version=2011-06-15", "not-the-secret", 0);
    server_route(srv, &r.req, &resp);
    EXPECT_TRUE(resp.status == 403);
    EXPECT_TRUE(body_has(&resp, "<Code>SignatureDoesNotMatch</Code>"));
    EXPECT_TRUE(body_has(&resp, "The Canonical String for this request should have been"));
    http_response_free(&resp);

    /* Stale date: 16 minutes. */
    make_request(&r, "kms", "TrentService.GenerateRandom", "{\"NumberOfBytes\":16}", secret, -16 * 60);
    server_route(srv, &r.req, &resp);
    EXPECT_TRUE(resp.status == 400);
    EXPECT_TRUE(body_has(&resp, "Signature expired"));
    http_response_free(&resp);

    /* Scope says sts, protocol says KMS. */
    make_request(&r, "sts", "TrentService.GenerateRandom", "{\"NumberOfBytes\":16}", secret, 0);
    server_route(srv, &r.req, &resp);
    EXPECT_TRUE(resp.status == 400);
    EXPECT_TRUE(body_has(&resp, "Credential should be scoped to correct service: 'kms'"));
    http_response_free(&resp);

    /* Body over the cap: 413, AWS-shaped. */
    make_request(&r, "kms", "TrentService.GenerateRandom", "{}", secret, 0);
    r.req.body_too_large = true;
    server_route(srv, &r.req, &resp);
    EXPECT_TRUE(resp.status == 413);
    EXPECT_TRUE(body_has(&resp, "\"__type\""));
    http_response_free(&resp);

    /* Unknown operation, duplicate JSON key. */
    make_request(&r, "kms", "TrentService.Frobnicate", "{}", secret, 0);
    server_route(srv, &r.req, &resp);
    EXPECT_STR_EQ(resp.error_type, "UnknownOperationException");
    http_response_free(&resp);
    make_request(&r, "kms", "TrentService.GenerateRandom", "{\"NumberOfBytes\":1,\"NumberOfBytes\":2}", secret, 0);
    server_route(srv, &r.req, &resp);
    EXPECT_STR_EQ(resp.error_type, "SerializationException");
    http_response_free(&resp);

    /* No Authorization at all. */
    make_request(&r, "kms", "TrentService.GenerateRandom", "{}", secret, 0);
    r.req.n_headers--;
    server_route(srv, &r.req, &resp);
    EXPECT_STR_EQ(resp.error_type, "MissingAuthenticationTokenException");
    http_response_free(&resp);

    server_free(srv);
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    TEST_MAIN_END();
}
