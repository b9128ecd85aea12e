/*
 * The issue 16 corpus (vectors/policy/aws-model/), end to end and in memory:
 * every case marked "router": true is played as real signed requests
 * through server_route() on a fresh server -- IAM users, roles, boundaries,
 * key policies, AssumeRole and GetFederationToken sessions -- and the KMS
 * (or IAM/STS) answer must be AWS's decision. Cases that cannot be played
 * end to end say why in their "router" field; the count of files and cases
 * read is checked against what the directory holds.
 *
 * Mapping of a vector to requests (accounts 111122223333 = A, the server's
 * default account, and 444455556666 = B, whose root key is added to the
 * keystore as `kmsctl access-key add --account` does):
 *   - request.principal user/NAME (path kept): CreateUser in its account,
 *     combined.identity as inline policies, combined.boundary as a managed
 *     policy set as the permissions boundary, request.principal_tags as
 *     user tags, CreateAccessKey (and GetSessionToken when
 *     request.session_token);
 *   - assumed-role/ROLE/SESSION: CreateRole trusting account A, the same
 *     policies on the role, a user "assumer" allowed sts:AssumeRole, and
 *     AssumeRole with combined.session[0] as the session policy;
 *   - federated-user/NAME with request.issuer user/ISSUER: the issuer user
 *     as above (plus sts:GetFederationToken) and GetFederationToken with
 *     combined.session[0];
 *   - the key: created by admin, a ciphertext made (for Decrypt), then the
 *     caller and every other IAM user and role combined.resource names
 *     created (in its account, on its path), then PutKeyPolicy with
 *     combined.resource (BypassPolicyLockoutSafetyCheck): a policy can name
 *     only principals that exist when it is saved (named_prepare);
 *   - error cases: CreateKey (resource), CreateRole (trust) or
 *     PutUserPolicy (identity) with the document, the principals it names
 *     created first;
 *   - router_call cases: the caller sends that IAM/STS form.
 * A case with "pending" is expected to fail until the named branch lands;
 * the test fails if it passes, so the marker cannot go stale.
 */
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "iam/iam.h"
#include "keystore/keystore.h"
#include "policy/policy.h"
#include "server/server.h"
#include "tests/test.h"

#define ACCT_A "111122223333"
#define ACCT_B "444455556666"
#define DEFAULT_KEY_ARN "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
#define DEFAULT_PRINCIPAL "arn:aws:iam::111122223333:user/alice"
#define BIG 65536

struct creds {
    char akid[160];
    char secret[128];
    char token[8192];
};

struct env {
    struct server *srv;
    char dir[256];
    struct creds admin, root_a, root_b;
};

struct reply {
    int status;
    char error[128];
    char *body; /* NUL-terminated copy */
};

static int cases_played, cases_skipped, cases_pending;

/* ---- plumbing ------------------------------------------------------------ */

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void reply_free(struct reply *r)
{
    free(r->body);
    r->body = NULL;
}

static bool xml_get(const char *body, const char *tag, char *out, size_t cap)
{
    char open[96], close[96];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = body ? strstr(body, open) : NULL;
    if (!a) return false;
    a += strlen(open);
    const char *b = strstr(a, close);
    if (!b || (size_t)(b - a) >= cap) return false;
    memcpy(out, a, (size_t)(b - a));
    out[b - a] = 0;
    return true;
}

static void urlenc(struct core_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.' || c == '~') {
            core_result_ignore(core_buf_append_u8(b, c));
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            core_result_ignore(core_buf_append(b, e, 3));
        }
    }
}

/* Signs and routes one request. target NULL: a Query-protocol form. */
static void send_req(struct env *e, const struct creds *c, const char *service, const char *target, const char *body,
                     struct reply *out)
{
    struct http_request q;
    memset(&q, 0, sizeof q);
    memset(out, 0, sizeof *out);
    q.method = "POST";
    q.path = core_cursor_str("/");
    q.body = core_cursor_str(body);
    snprintf(q.source_ip, sizeof q.source_ip, "127.0.0.1");
    q.loopback = true;
    char date[32];
    core_time_amz(core_clock_real(), date);
    size_t n = 0;
    q.headers[n++] = (struct sigv4_header){core_cursor_str("Host"), core_cursor_str("localhost")};
    q.headers[n++] = (struct sigv4_header){core_cursor_str("X-Amz-Date"), core_cursor_str(date)};
    if (target) {
        q.headers[n++] = (struct sigv4_header){core_cursor_str("Content-Type"),
                                               core_cursor_str("application/x-amz-json-1.1")};
        q.headers[n++] = (struct sigv4_header){core_cursor_str("X-Amz-Target"), core_cursor_str(target)};
    } else {
        q.headers[n++] = (struct sigv4_header){core_cursor_str("Content-Type"),
                                               core_cursor_str("application/x-www-form-urlencoded; charset=utf-8")};
    }
    if (c->token[0])
        q.headers[n++] = (struct sigv4_header){core_cursor_str("X-Amz-Security-Token"), core_cursor_str(c->token)};
    q.n_headers = n;
    char hash[65];
    sigv4_sha256_hex(q.body, hash);
    struct sigv4_request sr = {.method = core_cursor_str("POST"), .path = q.path, .headers = q.headers,
                               .n_headers = n, .payload_hash = core_cursor_from(hash, 64),
                               .now = core_clock_real()};
    struct sigv4_credentials sc = {core_cursor_str(c->akid), core_cursor_str(c->secret), core_cursor_str(c->token)};
    struct core_buf a;
    char auth[1024];
    EXPECT_OK(core_buf_init(&a, 0, sizeof auth - 1));
    EXPECT_OK(sigv4_sign(&sr, &sc, core_cursor_str("us-east-1"), core_cursor_str(service), core_cursor_str(date), NULL,
                         &a));
    memcpy(auth, a.data, a.len);
    auth[a.len] = 0;
    core_buf_free(&a);
    q.headers[q.n_headers++] = (struct sigv4_header){core_cursor_str("Authorization"), core_cursor_str(auth)};
    struct http_response resp;
    server_route(e->srv, &q, &resp);
    out->status = resp.status;
    snprintf(out->error, sizeof out->error, "%s", resp.error_type);
    out->body = calloc(1, resp.body.len + 1);
    if (out->body && resp.body.len) memcpy(out->body, resp.body.data, resp.body.len);
    http_response_free(&resp);
}

/* IAM/STS: body is "Action=...&..." without Version. */
static bool query(struct env *e, const struct creds *c, const char *service, const char *form, struct reply *r)
{
    char body[BIG];
    snprintf(body, sizeof body, "%s&Version=%s", form, strcmp(service, "iam") == 0 ? "2010-05-08" : "2011-06-15");
    send_req(e, c, service, NULL, body, r);
    return r->status == 200;
}

static bool kms(struct env *e, const struct creds *c, const char *op, json_t *in, struct reply *r)
{
    struct core_buf b;
    bool ok = core_ok(core_buf_init(&b, 1024, BIG)) && core_ok(core_json_dump(in, &b)) &&
              core_ok(core_buf_terminate(&b));
    json_decref(in);
    char target[96];
    snprintf(target, sizeof target, "TrentService.%s", op);
    if (!ok) {
        core_buf_free(&b);
        memset(r, 0, sizeof *r);
        return false;
    }
    send_req(e, c, "kms", target, (const char *)b.data, r);
    core_buf_free(&b);
    return r->status == 200;
}

static const char *json_field(const struct reply *r, const char *name, char *out, size_t cap)
{
    json_t *j = NULL;
    out[0] = 0;
    if (!r->body || !core_ok(core_json_parse(core_cursor_str(r->body), 16, &j))) return out;
    const char *v = json_string_value(json_object_get(j, name));
    if (v) snprintf(out, cap, "%s", v);
    json_decref(j);
    return out;
}

/* Replaces every occurrence of from in s (in place, capacity cap). */
static void replace_all(char *s, size_t cap, const char *from, const char *to)
{
    char tmp[BIG];
    size_t fl = strlen(from), o = 0;
    for (const char *p = s; *p && o + 1 < sizeof tmp;) {
        if (strncmp(p, from, fl) == 0) {
            o += (size_t)snprintf(tmp + o, sizeof tmp - o, "%s", to);
            p += fl;
        } else {
            tmp[o++] = *p++;
        }
    }
    tmp[o < sizeof tmp ? o : sizeof tmp - 1] = 0;
    if (snprintf(s, cap, "%s", tmp) >= (int)cap) TEST_FAIL("policy text longer than %zu bytes", cap);
}

static void policy_text(const json_t *pol, const char *key_arn, char *out, size_t cap)
{
    out[0] = 0;
    struct core_buf b;
    if (!core_ok(core_buf_init(&b, 1024, BIG)) || !core_ok(core_json_dump(pol, &b)) ||
        !core_ok(core_buf_terminate(&b))) {
        core_buf_free(&b);
        return;
    }
    snprintf(out, cap, "%s", (const char *)b.data);
    core_buf_free(&b);
    if (!key_arn) return;
    /* The vector's key ARN becomes the server's; so do patterns written
     * against all but its last one or two characters ("...890a?",
     * "...890<look-alike>b"), so they keep their meaning for the real id. */
    replace_all(out, cap, DEFAULT_KEY_ARN, key_arn);
    char pre[256];
    size_t dl = strlen(DEFAULT_KEY_ARN), kl = strlen(key_arn);
    for (size_t cut = 1; cut <= 2 && kl > cut; cut++) {
        char from[256];
        snprintf(from, sizeof from, "%.*s", (int)(dl - cut), DEFAULT_KEY_ARN);
        snprintf(pre, sizeof pre, "%.*s", (int)(kl - cut), key_arn);
        replace_all(out, cap, from, pre);
    }
}

static core_result put_key_txn(struct keystore_txn *txn, void *arg) { return iam_access_key_put(txn, arg); }

static bool add_root_key(struct env *e, const char *account, const char *akid, const char *secret, struct creds *out)
{
    struct iam_access_key k = {0};
    snprintf(k.id, sizeof k.id, "%s", akid);
    iam_principal_root(&k.owner, account);
    k.active = true;
    k.created = core_clock_service();
    if (!core_ok(core_secret_copy(&k.secret, secret, strlen(secret)))) return false;
    core_result r = keystore_write(server_get_keystore(e->srv), put_key_txn, &k);
    iam_access_key_free(&k);
    snprintf(out->akid, sizeof out->akid, "%s", akid);
    snprintf(out->secret, sizeof out->secret, "%s", secret);
    out->token[0] = 0;
    return core_ok(r);
}

static bool env_new(struct env *e)
{
    memset(e, 0, sizeof *e);
    const char *tmp = getenv("TMPDIR");
    snprintf(e->dir, sizeof e->dir, "%s/kmsd-model-XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(e->dir)) return false;
    struct server_config cfg;
    server_config_defaults(&cfg);
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", e->dir);
    snprintf(cfg.account_id, sizeof cfg.account_id, ACCT_A);
    snprintf(cfg.access_log, sizeof cfg.access_log, "off");
    cfg.log_level = CORE_LOG_ERROR;
    if (!core_ok(server_new(&cfg, &e->srv)) || !e->srv) return false;
    char path[512], line[256];
    snprintf(path, sizeof path, "%s/admin-credentials", e->dir);
    FILE *f = fopen(path, "r");
    if (!f) return false;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!strncmp(line, "aws_access_key_id = ", 20) &&
            snprintf(e->admin.akid, sizeof e->admin.akid, "%s", line + 20) >= (int)sizeof e->admin.akid)
            return false;
        if (!strncmp(line, "aws_secret_access_key = ", 24) &&
            snprintf(e->admin.secret, sizeof e->admin.secret, "%s", line + 24) >= (int)sizeof e->admin.secret)
            return false;
    }
    fclose(f);
    return e->admin.akid[0] && add_root_key(e, ACCT_A, "AKIAMODELROOTA000001", "model-root-a-secret-000001", &e->root_a) &&
           add_root_key(e, ACCT_B, "AKIAMODELROOTB000001", "model-root-b-secret-000001", &e->root_b);
}

static void env_free(struct env *e)
{
    server_free(e->srv);
    nftw(e->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- callers ----------------------------------------------------------- */

/* Splits arn:aws:SVC::ACCT:RES. */
static bool arn_parts(const char *arn, char acct[16], const char **res)
{
    const char *c = arn;
    for (int i = 0; i < 4 && c; i++) {
        c = strchr(c, ':');
        if (c) c++;
    }
    if (!c || strlen(c) < 14 || c[12] != ':') return false;
    memcpy(acct, c, 12);
    acct[12] = 0;
    *res = c + 13;
    return true;
}

/* The parameters CreateUser/CreateRole take for the vector's boundary (a
 * managed policy created first) and the user's tags, appended to f. */
static bool create_extras(struct env *e, const struct creds *owner, const char *name, const json_t *cb,
                          const json_t *tags, const char *key_arn, struct core_buf *f)
{
    bool ok = true;
    const json_t *bd = json_object_get(cb, "boundary");
    if (bd && !json_is_null(bd)) {
        char doc[BIG / 2], arn[512] = "";
        policy_text(bd, key_arn, doc, sizeof doc);
        struct core_buf g;
        struct reply r;
        ok = core_ok(core_buf_init(&g, 4096, BIG)) &&
             core_ok(core_buf_printf(&g, "Action=CreatePolicy&PolicyName=boundary-%s&PolicyDocument=", name));
        urlenc(&g, doc);
        ok = ok && core_ok(core_buf_terminate(&g)) && query(e, owner, "iam", (const char *)g.data, &r) &&
             xml_get(r.body, "Arn", arn, sizeof arn);
        if (!ok) fprintf(stderr, "  CreatePolicy failed: %d %s\n", r.status, r.body ? r.body : "");
        reply_free(&r);
        core_buf_free(&g);
        ok = ok && core_ok(core_buf_append_str(f, "&PermissionsBoundary="));
        urlenc(f, arn);
    }
    const char *k;
    const json_t *v;
    size_t t = 0;
    json_object_foreach((json_t *)(uintptr_t)tags, k, v)
    {
        t++;
        ok = ok && core_ok(core_buf_printf(f, "&Tags.member.%zu.Key=", t));
        urlenc(f, k);
        ok = ok && core_ok(core_buf_printf(f, "&Tags.member.%zu.Value=", t));
        urlenc(f, json_string_value(v));
    }
    return ok;
}

/* Puts the identity policies (and extra_allow) inline on a user or role. */
static bool attach(struct env *e, const struct creds *owner, bool role, const char *name, const json_t *cb,
                   const char *key_arn, const char *extra_allow)
{
    struct reply r;
    char doc[BIG / 2];
    struct core_buf f;
    if (!core_ok(core_buf_init(&f, 4096, BIG))) return false;
    bool ok = true;
    const json_t *ids = json_object_get(cb, "identity");
    size_t nid = json_array_size(ids);
    for (size_t i = 0; ok && i <= nid; i++) {
        if (i == nid && !extra_allow) break;
        if (i < nid) {
            policy_text(json_array_get(ids, i), key_arn, doc, sizeof doc);
        } else {
            /* extra_allow: one or more quoted-list items, "a" or "a\",\"b". */
            snprintf(doc, sizeof doc,
                     "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":[\"%s\"],\"Resource\":\"*\"}}",
                     extra_allow);
        }
        core_buf_reset(&f);
        ok = core_ok(core_buf_printf(&f, "Action=%s&%s=%s&PolicyName=p%zu&PolicyDocument=", role ? "PutRolePolicy" : "PutUserPolicy",
                                     role ? "RoleName" : "UserName", name, i));
        urlenc(&f, doc);
        ok = ok && core_ok(core_buf_terminate(&f)) && query(e, owner, "iam", (const char *)f.data, &r);
        if (!ok) fprintf(stderr, "  PutPolicy failed: %d %s\n", r.status, r.body ? r.body : "");
        reply_free(&r);
    }
    core_buf_free(&f);
    return ok;
}

/* Creates user res ("user/PATH/NAME") in the account of owner and its key. */
static bool make_user(struct env *e, const struct creds *owner, const char *res, const json_t *cb, const json_t *tags,
                      const char *key_arn, const char *extra_allow, struct creds *out)
{
    const char *name = strrchr(res, '/') + 1;
    char path[256] = "/";
    size_t plen = (size_t)(name - (res + 4));
    if (plen > 1 && plen < sizeof path) {
        memcpy(path, res + 4, plen);
        path[plen] = 0;
    }
    char form[1024];
    struct reply r;
    struct core_buf f;
    if (!core_ok(core_buf_init(&f, 4096, BIG))) return false;
    bool ok = core_ok(core_buf_printf(&f, "Action=CreateUser&UserName=%s&Path=", name));
    urlenc(&f, path);
    ok = ok && create_extras(e, owner, name, cb, tags, key_arn, &f) && core_ok(core_buf_terminate(&f)) &&
         query(e, owner, "iam", (const char *)f.data, &r);
    if (!ok) fprintf(stderr, "  CreateUser %s failed: %d %s\n", res, r.status, r.body ? r.body : "");
    reply_free(&r);
    core_buf_free(&f);
    ok = ok && attach(e, owner, false, name, cb, key_arn, extra_allow);
    snprintf(form, sizeof form, "Action=CreateAccessKey&UserName=%s", name);
    ok = ok && query(e, owner, "iam", form, &r) && xml_get(r.body, "AccessKeyId", out->akid, sizeof out->akid) &&
         xml_get(r.body, "SecretAccessKey", out->secret, sizeof out->secret);
    out->token[0] = 0;
    reply_free(&r);
    return ok;
}

static bool temp_creds(const struct reply *r, struct creds *out)
{
    return xml_get(r->body, "AccessKeyId", out->akid, sizeof out->akid) &&
           xml_get(r->body, "SecretAccessKey", out->secret, sizeof out->secret) &&
           xml_get(r->body, "SessionToken", out->token, sizeof out->token);
}

static void append_session_policy(struct core_buf *f, const json_t *cb, const char *key_arn, const char *dflt)
{
    const json_t *s = json_array_get(json_object_get(cb, "session"), 0);
    char doc[BIG / 2];
    if (s) {
        policy_text(s, key_arn, doc, sizeof doc);
    } else if (dflt) {
        snprintf(doc, sizeof doc, "%s", dflt);
    } else {
        return;
    }
    core_result_ignore(core_buf_append_str(f, "&Policy="));
    urlenc(f, doc);
}

/* Session tags for AssumeRole / GetFederationToken. */
static void append_session_tags(struct core_buf *f, const json_t *tags)
{
    const char *k;
    const json_t *v;
    size_t t = 0;
    json_object_foreach((json_t *)(uintptr_t)tags, k, v)
    {
        t++;
        core_result_ignore(core_buf_printf(f, "&Tags.member.%zu.Key=", t));
        urlenc(f, k);
        core_result_ignore(core_buf_printf(f, "&Tags.member.%zu.Value=", t));
        urlenc(f, json_string_value(v));
    }
}

/* Builds the vector's caller; false when it cannot be set up. */
static bool make_caller(struct env *e, const json_t *c, const char *key_arn, const char *fed_default_policy,
                        struct creds *out)
{
    const json_t *req = json_object_get(c, "request");
    const json_t *cb = json_object_get(c, "combined");
    const char *prin = json_string_value(json_object_get(req, "principal"));
    if (!prin) prin = DEFAULT_PRINCIPAL;
    /* request.principal_tags is the engine's merged view. End to end, the
     * user's (or role's) own tags are request.user_tags, or principal_tags
     * when the case has no session tags; request.session_tags go on the STS
     * call. */
    const json_t *session_tags = json_object_get(req, "session_tags");
    const json_t *tags = json_object_get(req, "user_tags");
    if (!tags && !session_tags) tags = json_object_get(req, "principal_tags");
    char acct[16];
    const char *res;
    if (!arn_parts(prin, acct, &res)) return false;
    const struct creds *owner = strcmp(acct, ACCT_B) == 0 ? &e->root_b : &e->admin;
    if (strcmp(res, "root") == 0) {
        *out = strcmp(acct, ACCT_B) == 0 ? e->root_b : e->root_a;
        return true;
    }
    if (strncmp(res, "user/", 5) == 0) {
        if (!make_user(e, owner, res, cb, tags, key_arn, NULL, out)) return false;
        if (!json_is_true(json_object_get(req, "session_token"))) return true;
        /* GetSessionToken credentials of that user. */
        struct creds lt = *out;
        struct reply r;
        bool ok = query(e, &lt, "sts", "Action=GetSessionToken", &r) && temp_creds(&r, out);
        reply_free(&r);
        return ok;
    }

    struct core_buf f;
    struct reply r;
    if (!core_ok(core_buf_init(&f, 4096, BIG))) return false;
    bool ok = false;
    if (strncmp(res, "assumed-role/", 13) == 0) {
        char role[128], sess[128];
        const char *sl = strchr(res + 13, '/');
        if (!sl || (size_t)(sl - (res + 13)) >= sizeof role) goto out;
        memcpy(role, res + 13, (size_t)(sl - (res + 13)));
        role[sl - (res + 13)] = 0;
        snprintf(sess, sizeof sess, "%s", sl + 1);
        char trust[512];
        snprintf(trust, sizeof trust,
                 "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
                 "\"arn:aws:iam::%s:root\"},\"Action\":[\"sts:AssumeRole\",\"sts:TagSession\"]}}",
                 acct);
        ok = core_ok(core_buf_printf(&f, "Action=CreateRole&RoleName=%s&AssumeRolePolicyDocument=", role));
        urlenc(&f, trust);
        ok = ok && create_extras(e, owner, role, cb, tags, key_arn, &f) && core_ok(core_buf_terminate(&f)) && query(e, owner, "iam", (const char *)f.data, &r);
        if (!ok) fprintf(stderr, "  CreateRole failed: %d %s\n", r.status, r.body ? r.body : "");
        reply_free(&r);
        ok = ok && attach(e, owner, true, role, cb, key_arn, NULL);
        struct creds assumer;
        char ares[64];
        snprintf(ares, sizeof ares, "user/assumer");
        ok = ok && make_user(e, owner, ares, NULL, NULL, key_arn, "sts:AssumeRole\",\"sts:TagSession", &assumer);
        core_buf_reset(&f);
        ok = ok && core_ok(core_buf_printf(&f, "Action=AssumeRole&RoleArn=arn:aws:iam::%s:role/%s&RoleSessionName=%s",
                                           acct, role, sess));
        append_session_policy(&f, cb, key_arn, NULL);
        append_session_tags(&f, session_tags);
        ok = ok && core_ok(core_buf_terminate(&f)) && query(e, &assumer, "sts", (const char *)f.data, &r) &&
             temp_creds(&r, out);
        if (!ok) fprintf(stderr, "  AssumeRole failed: %d %s\n", r.status, r.body ? r.body : "");
        reply_free(&r);
    } else if (strncmp(res, "federated-user/", 15) == 0) {
        const char *issuer = json_string_value(json_object_get(req, "issuer"));
        char iacct[16];
        const char *ires;
        if (!issuer || !arn_parts(issuer, iacct, &ires) || strncmp(ires, "user/", 5) != 0) goto out;
        struct creds iss;
        ok = make_user(e, owner, ires, cb, tags, key_arn, "sts:GetFederationToken\",\"sts:TagSession", &iss);
        ok = ok && core_ok(core_buf_printf(&f, "Action=GetFederationToken&Name=%s", res + 15));
        append_session_policy(&f, cb, key_arn, fed_default_policy);
        append_session_tags(&f, session_tags);
        ok = ok && core_ok(core_buf_terminate(&f)) && query(e, &iss, "sts", (const char *)f.data, &r) &&
             temp_creds(&r, out);
        if (!ok) fprintf(stderr, "  GetFederationToken failed: %d %s\n", r.status, r.body ? r.body : "");
        reply_free(&r);
    }
out:
    core_buf_free(&f);
    return ok;
}

/* ---- principals the policies name ------------------------------------------ */

/*
 * A key policy or trust policy can name only users and roles that exist when
 * it is saved: AWS stores them as unique ids and refuses an ARN naming none
 * (MalformedPolicyDocumentException "Policy contains a statement with one or
 * more invalid principals."; docs/authorization.md, "Principal unique ids").
 * So, as a real account would have to, the players create every IAM user and
 * role a vector's policy names -- in its account, on its path -- before
 * saving the policy, and the caller before the key policy too.
 */
#define MAX_NAMED 16

struct named {
    char acct[16];
    bool role;
    char path[256]; /* "/" or "/a/b/" */
    char name[128];
};

/* Parses "arn:aws:iam::ACCT:user/PATH/NAME" (or role/); false for anything else. */
static bool named_parse(const char *arn, struct named *n)
{
    const char *res;
    memset(n, 0, sizeof *n);
    if (strncmp(arn, "arn:aws:iam::", 13) != 0 || !arn_parts(arn, n->acct, &res)) return false;
    size_t skip = strncmp(res, "user/", 5) == 0 ? 4 : strncmp(res, "role/", 5) == 0 ? 4 : 0;
    if (!skip) return false;
    n->role = res[0] == 'r';
    const char *name = strrchr(res, '/') + 1;
    size_t plen = (size_t)(name - (res + skip));
    if (!*name || strlen(name) >= sizeof n->name || plen >= sizeof n->path) return false;
    memcpy(n->path, res + skip, plen);
    n->path[plen] = 0;
    snprintf(n->name, sizeof n->name, "%s", name);
    return true;
}

static bool named_same_entity(const struct named *a, const struct named *b)
{
    /* IAM user (and role) names are unique in an account, whatever the path. */
    return a->role == b->role && strcmp(a->acct, b->acct) == 0 && strcmp(a->name, b->name) == 0;
}

/* The user and role ARNs of pol's Principal / NotPrincipal "AWS" entries. */
static size_t named_in_policy(const json_t *pol, struct named *out, size_t cap)
{
    size_t n = 0;
    const json_t *sts = json_object_get(pol, "Statement");
    size_t ns = json_is_array(sts) ? json_array_size(sts) : (sts ? 1 : 0);
    for (size_t i = 0; i < ns; i++) {
        const json_t *st = json_is_array(sts) ? json_array_get(sts, i) : sts;
        static const char *const keys[] = {"Principal", "NotPrincipal"};
        for (size_t k = 0; k < 2; k++) {
            const json_t *aws = json_object_get(json_object_get(st, keys[k]), "AWS");
            size_t na = json_is_array(aws) ? json_array_size(aws) : (aws ? 1 : 0);
            for (size_t a = 0; a < na; a++) {
                const char *v = json_string_value(json_is_array(aws) ? json_array_get(aws, a) : aws);
                struct named x;
                if (!v || !named_parse(v, &x)) continue;
                bool dup = false;
                for (size_t j = 0; j < n && !dup; j++)
                    dup = named_same_entity(&out[j], &x) && strcmp(out[j].path, x.path) == 0;
                if (!dup && n < cap) out[n++] = x;
            }
        }
    }
    return n;
}

/* The users and roles make_caller creates for the vector's caller (none
 * when c is NULL: no caller is built). */
static size_t named_by_caller(const json_t *c, struct named *out, size_t cap)
{
    if (!c) return 0;
    const json_t *req = json_object_get(c, "request");
    const char *prin = json_string_value(json_object_get(req, "principal"));
    if (!prin) prin = DEFAULT_PRINCIPAL;
    char acct[16], arn[600];
    const char *res;
    size_t n = 0;
    if (!arn_parts(prin, acct, &res) || cap < 2) return 0;
    if (strncmp(res, "user/", 5) == 0) {
        snprintf(arn, sizeof arn, "arn:aws:iam::%s:%s", acct, res);
        n += named_parse(arn, &out[n]);
    } else if (strncmp(res, "assumed-role/", 13) == 0) {
        const char *sl = strchr(res + 13, '/');
        snprintf(arn, sizeof arn, "arn:aws:iam::%s:role/%.*s", acct, sl ? (int)(sl - (res + 13)) : 0, res + 13);
        n += named_parse(arn, &out[n]);
        snprintf(arn, sizeof arn, "arn:aws:iam::%s:user/assumer", acct);
        n += named_parse(arn, &out[n]);
    } else if (strncmp(res, "federated-user/", 15) == 0) {
        /* The issuer is created in the session's account (make_caller). */
        const char *issuer = json_string_value(json_object_get(req, "issuer"));
        char iacct[16];
        const char *ires;
        if (issuer && arn_parts(issuer, iacct, &ires)) {
            snprintf(arn, sizeof arn, "arn:aws:iam::%s:%s", acct, ires);
            n += named_parse(arn, &out[n]);
        }
    }
    return n;
}

/* CreateUser / CreateRole (trusting its own account) for n, bare. */
static bool named_create(struct env *e, const struct named *n)
{
    const struct creds *owner = strcmp(n->acct, ACCT_B) == 0 ? &e->root_b : &e->admin;
    struct core_buf f;
    struct reply r = {0};
    if (!core_ok(core_buf_init(&f, 1024, BIG))) return false;
    bool ok = core_ok(core_buf_printf(&f, "Action=%s&%s=%s&Path=", n->role ? "CreateRole" : "CreateUser",
                                      n->role ? "RoleName" : "UserName", n->name));
    urlenc(&f, n->path);
    if (n->role) {
        char trust[512];
        snprintf(trust, sizeof trust,
                 "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
                 "\"arn:aws:iam::%s:root\"},\"Action\":\"sts:AssumeRole\"}}",
                 n->acct);
        ok = ok && core_ok(core_buf_append_str(&f, "&AssumeRolePolicyDocument="));
        urlenc(&f, trust);
    }
    ok = ok && core_ok(core_buf_terminate(&f)) && query(e, owner, "iam", (const char *)f.data, &r);
    if (!ok) fprintf(stderr, "  Create %s%s%s failed: %d %s\n", n->role ? "role" : "user", n->path, n->name, r.status,
                     r.body ? r.body : "");
    reply_free(&r);
    core_buf_free(&f);
    return ok;
}

static bool named_delete(struct env *e, const struct named *n)
{
    const struct creds *owner = strcmp(n->acct, ACCT_B) == 0 ? &e->root_b : &e->admin;
    char form[256];
    struct reply r = {0};
    snprintf(form, sizeof form, "Action=%s&%s=%s", n->role ? "DeleteRole" : "DeleteUser",
             n->role ? "RoleName" : "UserName", n->name);
    bool ok = query(e, owner, "iam", form, &r);
    if (!ok) fprintf(stderr, "  Delete %s failed: %d %s\n", n->name, r.status, r.body ? r.body : "");
    reply_free(&r);
    return ok;
}

/*
 * Creates the users and roles pol names that the caller's setup does not.
 * One that has the name of a user or role the caller's setup creates, on
 * another path, cannot exist beside it (a name is unique in an account,
 * whatever the path): it is created now and listed in clash[] for the player
 * to delete after saving the policy and before building the caller -- a
 * deleted principal whose id stays in the policy, as on AWS. c: the case
 * whose caller will be built, or NULL.
 */
static bool named_prepare(struct env *e, const json_t *c, const json_t *pol, struct named *clash, size_t *nclash)
{
    struct named want[MAX_NAMED], mine[4];
    size_t nw = named_in_policy(pol, want, MAX_NAMED), nm = named_by_caller(c, mine, 4);
    *nclash = 0;
    for (size_t i = 0; i < nw; i++) {
        bool by_caller = false, clashes = false;
        for (size_t j = 0; j < nm; j++) {
            if (!named_same_entity(&want[i], &mine[j])) continue;
            if (strcmp(want[i].path, mine[j].path) == 0) by_caller = true;
            else clashes = true;
        }
        if (by_caller) continue;
        if (!named_create(e, &want[i])) return false;
        if (clashes) clash[(*nclash)++] = want[i];
    }
    return true;
}

/* ---- one case ------------------------------------------------------------ */

static json_t *enc_context(const json_t *req)
{
    json_t *ec = json_object();
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)(uintptr_t)json_object_get(req, "context"), k, v)
    {
        if (strncmp(k, "kms:EncryptionContext:", 22) == 0 && json_is_string(v))
            json_object_set_new(ec, k + 22, json_string(json_string_value(v)));
    }
    return ec;
}

/* Plays a decision case; *outcome "ALLOW" or the error type; *msg_ok when a
 * denial carries the vector's reason phrase. */
static bool play_decision(struct env *e, const json_t *c, char *outcome, size_t cap, bool *msg_ok)
{
    const json_t *req = json_object_get(c, "request");
    const json_t *cb = json_object_get(c, "combined");
    const char *action = json_string_value(json_object_get(req, "action"));
    if (!action) action = "kms:Decrypt";
    struct reply r;
    char key_arn[256], key_id[128], blob[4096] = "";
    if (!kms(e, &e->admin, "CreateKey", json_pack("{s:s}", "Description", "model"), &r)) {
        reply_free(&r);
        return false;
    }
    json_t *j = NULL;
    bool ok = core_ok(core_json_parse(core_cursor_str(r.body), 16, &j));
    snprintf(key_arn, sizeof key_arn, "%s", ok ? json_string_value(json_object_get(json_object_get(j, "KeyMetadata"), "Arn")) : "");
    snprintf(key_id, sizeof key_id, "%s", ok ? json_string_value(json_object_get(json_object_get(j, "KeyMetadata"), "KeyId")) : "");
    json_decref(j);
    reply_free(&r);
    if (strcmp(action, "kms:Decrypt") == 0) {
        ok = kms(e, &e->admin, "Encrypt",
                 json_pack("{s:s, s:s, s:o}", "KeyId", key_id, "Plaintext", "aGVsbG8=", "EncryptionContext", enc_context(req)),
                 &r);
        json_field(&r, "CiphertextBlob", blob, sizeof blob);
        reply_free(&r);
        if (!ok) return false;
    }
    /* The principals the key policy names and the caller exist before the
     * policy is saved (see named_prepare). */
    struct named clash[MAX_NAMED];
    size_t nclash = 0;
    struct creds caller;
    if (!named_prepare(e, c, json_object_get(cb, "resource"), clash, &nclash)) return false;
    if (nclash == 0 && !make_caller(e, c, key_arn, NULL, &caller)) return false;
    char pol[BIG / 2];
    policy_text(json_object_get(cb, "resource"), key_arn, pol, sizeof pol);
    if (!kms(e, &e->admin, "PutKeyPolicy",
             json_pack("{s:s, s:s, s:s, s:b}", "KeyId", key_id, "PolicyName", "default", "Policy", pol,
                       "BypassPolicyLockoutSafetyCheck", 1),
             &r)) {
        fprintf(stderr, "  PutKeyPolicy failed: %d %s\n", r.status, r.body ? r.body : "");
        reply_free(&r);
        return false;
    }
    reply_free(&r);
    for (size_t i = 0; i < nclash; i++)
        if (!named_delete(e, &clash[i])) return false;
    if (nclash > 0 && !make_caller(e, c, key_arn, NULL, &caller)) return false;
    if (strcmp(action, "kms:Decrypt") == 0) {
        kms(e, &caller, "Decrypt",
            json_pack("{s:s, s:s, s:o}", "KeyId", key_arn, "CiphertextBlob", blob, "EncryptionContext", enc_context(req)), &r);
    } else if (strcmp(action, "kms:Encrypt") == 0) {
        kms(e, &caller, "Encrypt",
            json_pack("{s:s, s:s, s:o}", "KeyId", key_arn, "Plaintext", "aGVsbG8=", "EncryptionContext", enc_context(req)),
            &r);
    } else {
        return false;
    }
    snprintf(outcome, cap, "%s", r.status == 200 ? "ALLOW" : r.error);
    *msg_ok = true;
    const char *why = json_string_value(json_object_get(c, "reason"));
    if (r.status != 200 && why) {
        /* The denial names the deciding policy type, as AWS's message does. */
        static const enum policy_reason all[] = {POLICY_REASON_DENY_RESOURCE, POLICY_REASON_DENY_IDENTITY,
                                                 POLICY_REASON_DENY_BOUNDARY, POLICY_REASON_DENY_SESSION,
                                                 POLICY_REASON_NO_IDENTITY,   POLICY_REASON_NO_RESOURCE,
                                                 POLICY_REASON_NO_BOUNDARY,   POLICY_REASON_NO_SESSION};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
            if (strcmp(why, policy_reason_name(all[i])) != 0) continue;
            struct core_buf p;
            if (core_ok(core_buf_init(&p, 128, 1024)) && core_ok(policy_reason_append(&p, all[i], core_cursor_str(action))) &&
                core_ok(core_buf_terminate(&p)))
                *msg_ok = r.body && strstr(r.body, (const char *)p.data) != NULL;
            core_buf_free(&p);
        }
    }
    reply_free(&r);
    return true;
}

static bool play_error(struct env *e, const json_t *c, char *outcome, size_t cap, bool *msg_ok)
{
    const char *kind = json_string_value(json_object_get(c, "kind"));
    const char *want = json_string_value(json_object_get(c, "error"));
    char pol[BIG / 2];
    policy_text(json_object_get(c, "policy"), NULL, pol, sizeof pol);
    /* The principals it names exist: the refusal is the document's own. */
    struct named clash[MAX_NAMED];
    size_t nclash = 0;
    if (kind && (strcmp(kind, "resource") == 0 || strcmp(kind, "trust") == 0) &&
        !named_prepare(e, NULL, json_object_get(c, "policy"), clash, &nclash))
        return false;
    struct reply r;
    struct core_buf f;
    if (!core_ok(core_buf_init(&f, 4096, BIG))) return false;
    if (kind && strcmp(kind, "resource") == 0) {
        kms(e, &e->admin, "CreateKey", json_pack("{s:s, s:b}", "Policy", pol, "BypassPolicyLockoutSafetyCheck", 1), &r);
    } else if (kind && strcmp(kind, "trust") == 0) {
        core_result_ignore(core_buf_append_str(&f, "Action=CreateRole&RoleName=model&AssumeRolePolicyDocument="));
        urlenc(&f, pol);
        core_result_ignore(core_buf_terminate(&f));
        query(e, &e->admin, "iam", (const char *)f.data, &r);
    } else {
        struct reply u;
        query(e, &e->admin, "iam", "Action=CreateUser&UserName=model", &u);
        reply_free(&u);
        core_result_ignore(core_buf_append_str(&f, "Action=PutUserPolicy&UserName=model&PolicyName=p&PolicyDocument="));
        urlenc(&f, pol);
        core_result_ignore(core_buf_terminate(&f));
        query(e, &e->admin, "iam", (const char *)f.data, &r);
    }
    core_buf_free(&f);
    char code[128] = "";
    if (r.status != 200 && !r.error[0]) xml_get(r.body, "Code", code, sizeof code);
    snprintf(outcome, cap, "%s", r.status == 200 ? "ALLOW" : (r.error[0] ? r.error : code));
    /* XML or JSON escaping of the reason: compare its unquoted tail. */
    const char *tail = want ? want : "";
    const char *q = strrchr(tail, '"');
    if (q) tail = q + 1;
    *msg_ok = r.body && strstr(r.body, tail) != NULL;
    reply_free(&r);
    return true;
}

static bool play_call(struct env *e, const json_t *c, char *outcome, size_t cap)
{
    struct creds caller;
    if (!make_caller(e, c, DEFAULT_KEY_ARN,
                     "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}",
                     &caller))
        return false;
    const json_t *call = json_object_get(c, "router_call");
    const char *service = json_string_value(json_object_get(call, "service"));
    char form[BIG];
    snprintf(form, sizeof form, "%s", json_string_value(json_object_get(call, "form")));
    /* The vector's form carries its own Version. */
    struct reply r;
    send_req(e, &caller, service, NULL, form, &r);
    snprintf(outcome, cap, "%s", r.status == 200 ? "OK" : (r.status >= 400 && r.status < 500) ? "REFUSED" : "ERROR");
    reply_free(&r);
    return true;
}

static void play_case(const char *name, const json_t *c)
{
    if (!json_is_true(json_object_get(c, "router"))) {
        cases_skipped++;
        return;
    }
    struct env e;
    if (!env_new(&e)) {
        TEST_FAIL("%s: cannot start a server", name);
        return;
    }
    char outcome[128] = "";
    bool msg_ok = true, played;
    const char *want;
    if (json_object_get(c, "router_call")) {
        played = play_call(&e, c, outcome, sizeof outcome);
        want = json_string_value(json_object_get(c, "expect"));
    } else if (json_object_get(c, "error")) {
        played = play_error(&e, c, outcome, sizeof outcome, &msg_ok);
        const char *kind = json_string_value(json_object_get(c, "kind"));
        want = kind && strcmp(kind, "resource") == 0 ? "MalformedPolicyDocumentException" : "MalformedPolicyDocument";
    } else {
        played = play_decision(&e, c, outcome, sizeof outcome, &msg_ok);
        want = strcmp(json_string_value(json_object_get(c, "expect")), "ALLOW") == 0 ? "ALLOW" : "AccessDeniedException";
    }
    env_free(&e);
    cases_played++;
    bool pass = played && want && strcmp(outcome, want) == 0 && msg_ok;
    const json_t *pending = json_object_get(c, "pending");
    if (pending) {
        cases_pending++;
        if (pass)
            TEST_FAIL("%s: passes end to end now; remove its \"pending\" (%s)", name, json_string_value(pending));
        else
            fprintf(stderr, "  pending: %s: got %s, AWS: %s (%s)\n", name, outcome, want, json_string_value(pending));
        return;
    }
    if (!played) TEST_FAIL("%s: could not be set up end to end", name);
    else if (strcmp(outcome, want) != 0) TEST_FAIL("%s: got %s, expected %s", name, outcome, want);
    else if (!msg_ok) TEST_FAIL("%s: the answer lacks the expected reason text", name);
}

/* ---- corpus -------------------------------------------------------------- */

static int cmp_names(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    core_log_set_level(CORE_LOG_ERROR);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/policy/aws-model", test_vectors_dir);
    DIR *dh = opendir(dir);
    if (!dh) {
        TEST_FAIL("cannot open %s", dir);
        TEST_MAIN_END();
    }
    char names[64][256];
    const char *sorted[64];
    size_t nf = 0, others = 0;
    struct dirent *de;
    while ((de = readdir(dh)) != NULL) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.') continue;
        if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0 && nf < 64) {
            snprintf(names[nf], sizeof names[nf], "%s", de->d_name);
            sorted[nf] = names[nf];
            nf++;
        } else {
            others++;
        }
    }
    closedir(dh);
    qsort(sorted, nf, sizeof sorted[0], cmp_names);
    const char *only = getenv("MODEL_CASE"); /* substring filter, for debugging one case */
    size_t total = 0, files_read = 0;
    for (size_t i = 0; i < nf; i++) {
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, sorted[i]);
        json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
        if (!root) {
            TEST_FAIL("%s: not valid JSON", path);
            continue;
        }
        files_read++;
        const json_t *cases = json_object_get(root, "cases");
        for (size_t k = 0; k < json_array_size(cases); k++) {
            const json_t *c = json_array_get(cases, k);
            char name[400];
            snprintf(name, sizeof name, "%s#%zu %s", sorted[i], k, json_string_value(json_object_get(c, "name")));
            total++;
            if (only && !strstr(name, only)) {
                cases_skipped++;
                continue;
            }
            play_case(name, c);
        }
        json_decref(root);
    }
    fprintf(stderr, "aws-model end to end: %zu files, %zu cases: %d played (%d pending), %d not expressible\n", files_read,
            total, cases_played, cases_pending, cases_skipped);
    if (others) TEST_FAIL("%zu entries of %s are not .json vector files", others, dir);
    if (files_read != nf || nf < 5) TEST_FAIL("read %zu of %zu vector files", files_read, nf);
    if ((size_t)(cases_played + cases_skipped) != total) TEST_FAIL("cases unaccounted for");
    if (!only && cases_played < 60) TEST_FAIL("only %d cases played end to end", cases_played);
    TEST_MAIN_END();
}
