/*
 * Every case of vectors/sigv4 (botocore-signed, see vectors/sigv4/README.md):
 * each stage's artefact byte for byte, then the final verdict and message.
 */
#include <dirent.h>

#include "sigv4/sigv4_stages.h"
#include "tests/test.h"

static struct sigv4_key_cache *cache;
static int cases_run;

static bool read_file(const char *dir, const char *name, struct core_buf *out)
{
    char path[1024];
    int pn = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (pn < 0 || (size_t)pn >= sizeof path) return false;
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    uint8_t chunk[4096];
    size_t n;
    bool ok = true;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) ok = ok && core_ok(core_buf_append(out, chunk, n));
    fclose(f);
    return ok;
}

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

static enum core_err err_by_name(const char *name)
{
    for (int e = 0; e < CORE_ERR_COUNT; e++)
        if (strcmp(core_err_name((enum core_err)e), name) == 0) return (enum core_err)e;
    return ERR_OK;
}

static bool contains(struct core_cursor hay, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n <= hay.len && i + n <= hay.len; i++)
        if (memcmp(hay.ptr + i, needle, n) == 0) return true;
    return false;
}

static void check_msg(const char *name, struct sigv4_diag *diag, const char *want)
{
    if (!*want) return;
    if (!contains(core_buf_cursor(&diag->message), want))
        TEST_FAIL("%s: message \"%.*s\" lacks \"%s\"", name, (int)diag->message.len, (const char *)diag->message.data,
                  want);
    for (size_t i = 0; i < diag->message.len; i++) {
        uint8_t c = diag->message.data[i];
        if ((c < 0x20 && c != '\n') || c >= 0x7f) {
            TEST_FAIL("%s: raw control byte 0x%02x in message", name, c);
            break;
        }
    }
}

static void run_case(const char *dir, const char *name)
{
    struct core_buf ctx_txt = {0}, raw = {0}, want_cr = {0}, want_sts = {0}, want_sig = {0};
    struct core_buf cr = {0}, sts = {0}, authz = {0}, tok = {0};
    struct sigv4_diag diag = {0};
    json_t *ctx = NULL;
    EXPECT_OK(core_buf_init(&ctx_txt, 0, 1 << 20));
    EXPECT_OK(core_buf_init(&raw, 0, 1 << 20));
    EXPECT_OK(core_buf_init(&want_cr, 0, 1 << 20));
    EXPECT_OK(core_buf_init(&want_sts, 0, 1 << 20));
    EXPECT_OK(core_buf_init(&want_sig, 0, 1 << 20));
    EXPECT_OK(core_buf_init(&cr, 0, SIGV4_MAX_CANONICAL_REQUEST_BYTES));
    EXPECT_OK(core_buf_init(&sts, 0, SIGV4_MAX_STRING_TO_SIGN_BYTES));
    EXPECT_OK(core_buf_init(&authz, 0, 4096));
    EXPECT_OK(core_buf_init(&tok, 0, CORE_MAX_SESSION_TOKEN_BYTES));
    EXPECT_OK(core_buf_init(&diag.message, 0, 64 * 1024));
    if (!read_file(dir, "context.json", &ctx_txt) || !read_file(dir, "request.txt", &raw) ||
        !read_file(dir, "canonical-request.txt", &want_cr) || !read_file(dir, "string-to-sign.txt", &want_sts) ||
        !read_file(dir, "signature.txt", &want_sig)) {
        TEST_FAIL("%s: missing vector file", name);
        goto out;
    }
    if (!core_ok(core_json_parse(core_buf_cursor(&ctx_txt), 8, &ctx))) {
        TEST_FAIL("%s: bad context.json", name);
        goto out;
    }
    cases_run++;
    json_t *creds = json_object_get(ctx, "credentials");
    const char *secret = jstr(creds, "secret_access_key");
    const char *token = jstr(creds, "session_token");
    const char *expect = jstr(ctx, "expect");
    const char *message = jstr(ctx, "message");
    bool artefacts = json_is_true(json_object_get(ctx, "artefacts"));
    enum core_err want_err = strcmp(expect, "ok") == 0 ? ERR_OK : err_by_name(expect);
    if (strcmp(expect, "ok") != 0 && want_err == ERR_OK) TEST_FAIL("%s: unknown expect %s", name, expect);

    struct sigv4_header headers[CORE_MAX_HEADERS];
    struct sigv4_request req;
    struct core_cursor body;
    EXPECT_OK(sigv4_http_parse(core_buf_cursor(&raw), headers, CORE_MAX_HEADERS, &req, &body));
    char body_hash[65];
    sigv4_sha256_hex(body, body_hash);
    req.payload_hash = core_cursor_from(body_hash, 64);
    req.no_normalize_path = !json_is_true(json_object_get(ctx, "normalize"));
    const char *now = jstr(ctx, "now");
    EXPECT_OK(core_time_parse_iso8601(now, strlen(now), &req.now));

    struct sigv4_auth auth;
    core_result r = sigv4_parse(&req, &auth, &diag);
    if (!core_ok(r)) {
        if (r.err != want_err) TEST_FAIL("%s: sigv4_parse -> %s, want %s", name, core_err_name(r.err), expect);
        check_msg(name, &diag, message);
        if (artefacts && !core_ok(sigv4_parse_authorization(&req, &auth, NULL)))
            TEST_FAIL("%s: artefacts expected but the authorization does not parse", name);
        else if (!artefacts)
            goto out;
    }
    EXPECT_TRUE(auth.form == (strcmp(jstr(ctx, "form"), "presigned") == 0 ? SIGV4_FORM_PRESIGNED : SIGV4_FORM_HEADER));
    EXPECT_TRUE(core_cursor_eq_str(auth.access_key_id, jstr(creds, "access_key_id")));
    EXPECT_TRUE(core_cursor_eq_str(auth.region, jstr(ctx, "region")));
    EXPECT_TRUE(core_cursor_eq_str(auth.service, jstr(ctx, "service")));
    EXPECT_OK(sigv4_auth_security_token(&auth, &tok));
    if (!core_cursor_eq_str(core_buf_cursor(&tok), token)) TEST_FAIL("%s: security token differs", name);

    core_result cr_r = sigv4_canonical_request(&req, &auth, &cr, NULL);
    if (artefacts) {
        EXPECT_OK(cr_r);
        if (!core_cursor_eq(core_buf_cursor(&cr), core_buf_cursor(&want_cr)))
            TEST_FAIL("%s: canonical request\n--- got\n%.*s\n--- want\n%.*s", name, (int)cr.len, (const char *)cr.data,
                      (int)want_cr.len, (const char *)want_cr.data);
        EXPECT_OK(sigv4_string_to_sign(&auth, core_buf_cursor(&cr), &sts));
        if (!core_cursor_eq(core_buf_cursor(&sts), core_buf_cursor(&want_sts)))
            TEST_FAIL("%s: string to sign\n--- got\n%.*s\n--- want\n%.*s", name, (int)sts.len, (const char *)sts.data,
                      (int)want_sts.len, (const char *)want_sts.data);
        uint8_t key[SIGV4_KEY_BYTES];
        char sig[65];
        EXPECT_OK(sigv4_signing_key(core_cursor_str(secret), auth.scope_date, auth.region, auth.service, key));
        sigv4_signature_hex(key, core_buf_cursor(&sts), sig);
        if (strcmp(expect, "ok") == 0 || strcmp(expect, "ERR_AUTH_EXPIRED") == 0)
            EXPECT_TRUE(core_cursor_eq_str(core_buf_cursor(&want_sig), sig));
    }
    if (!core_ok(r)) goto out;

    for (int pass = 0; pass < 2; pass++) { /* without and with the key cache */
        core_buf_reset(&diag.message);
        r = sigv4_verify(&req, &auth, core_cursor_str(secret), pass ? cache : NULL, &diag);
        if (r.err != want_err) {
            TEST_FAIL("%s: sigv4_verify -> %s, want %s: %.*s", name, core_err_name(r.err), expect,
                      (int)diag.message.len, (const char *)diag.message.data);
        }
        if (!core_ok(r)) check_msg(name, &diag, message);
    }

    if (json_is_true(json_object_get(ctx, "sign_check"))) {
        /* botocore signed every header; sigv4_sign over the same headers gives its Authorization. */
        struct sigv4_header unsigned_headers[CORE_MAX_HEADERS];
        struct core_cursor want_authz = {0}, amz_date = {0};
        size_t n = 0;
        for (size_t i = 0; i < req.n_headers; i++) {
            if (core_cursor_eq_icase(req.headers[i].name, core_cursor_str("authorization"))) {
                want_authz = core_cursor_trim(req.headers[i].value);
                continue;
            }
            if (core_cursor_eq_icase(req.headers[i].name, core_cursor_str("x-amz-date")))
                amz_date = core_cursor_trim(req.headers[i].value);
            unsigned_headers[n++] = req.headers[i];
        }
        struct sigv4_request sreq = req;
        sreq.headers = unsigned_headers;
        sreq.n_headers = n;
        struct sigv4_credentials c = {core_cursor_str(jstr(creds, "access_key_id")), core_cursor_str(secret),
                                      core_cursor_str(token)};
        EXPECT_OK(sigv4_sign(&sreq, &c, auth.region, auth.service, amz_date, cache, &authz));
        if (!core_cursor_eq(core_buf_cursor(&authz), want_authz))
            TEST_FAIL("%s: sigv4_sign gave %.*s", name, (int)authz.len, (const char *)authz.data);
    }
out:
    json_decref(ctx);
    core_buf_free(&ctx_txt);
    core_buf_free(&raw);
    core_buf_free(&want_cr);
    core_buf_free(&want_sts);
    core_buf_free(&want_sig);
    core_buf_free(&cr);
    core_buf_free(&sts);
    core_buf_free(&authz);
    core_buf_free(&tok);
    core_buf_free(&diag.message);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    EXPECT_OK(sigv4_key_cache_new(64, &cache));
    char root[1024];
    snprintf(root, sizeof root, "%s/sigv4", test_vectors_dir);
    DIR *d = opendir(root);
    if (!d) {
        fprintf(stderr, "cannot open %s\n", root);
        return 2;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "README.md") == 0) continue;
        char dir[1400];
        snprintf(dir, sizeof dir, "%s/%s", root, e->d_name);
        run_case(dir, e->d_name);
    }
    closedir(d);
    EXPECT_TRUE(cases_run >= 30);
    uint64_t hits, misses;
    sigv4_key_cache_stats(cache, &hits, &misses);
    EXPECT_TRUE(hits > 0 && misses > 0);
    sigv4_key_cache_free(cache);
    printf("sigv4 vectors: %d cases\n", cases_run);
    TEST_MAIN_END();
}
