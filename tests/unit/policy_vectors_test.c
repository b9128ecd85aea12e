/*
 * Runs every case of the vectors/policy directory (every .json file). Layout
 * (docs/policy.md, "Vectors"):
 *
 *   {"source": "...", "defaults": {...case fields...}, "cases": [case, ...]}
 *
 * A case holds a policy ("policy" object, "policy_text" raw text, or
 * "condition" for an Allow-everything statement with that Condition block),
 * "kind", a "request", and either "error" (expected reason substring),
 * "expect" (ALLOW / EXPLICIT_DENY / NO_MATCH) or, with "combined",
 * "expect" (ALLOW / DENY) plus "reason".
 */

#include <dirent.h>

#include "policy/policy.h"
#include "tests/test.h"

#define DEFAULT_PRINCIPAL "arn:aws:iam::111122223333:user/alice"
#define DEFAULT_ACTION "kms:Decrypt"
#define DEFAULT_RESOURCE "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

static int cases_run;

static const json_t *field(const json_t *c, const json_t *defaults, const char *name)
{
    const json_t *v = json_object_get(c, name);
    if (v == NULL && defaults != NULL) v = json_object_get(defaults, name);
    return v;
}

static const char *str_or(const json_t *v, const char *dflt)
{
    return json_is_string(v) ? json_string_value(v) : dflt;
}

static enum policy_kind kind_of(const char *s)
{
    if (strcmp(s, "resource") == 0) return POLICY_KIND_RESOURCE;
    if (strcmp(s, "trust") == 0) return POLICY_KIND_TRUST;
    return POLICY_KIND_IDENTITY;
}

/* Serialises a policy value from the vector (object or raw text). */
static bool policy_text(const json_t *pol, struct core_buf *out)
{
    if (json_is_string(pol)) return core_ok(core_buf_append_str(out, json_string_value(pol)));
    return core_ok(core_json_dump(pol, out));
}

static core_result compile(const json_t *pol, enum policy_kind kind, struct policy **out, struct core_buf *reason)
{
    struct core_buf text;
    GUARD(core_buf_init(&text, 1024, 1u << 20));
    if (!policy_text(pol, &text)) {
        core_buf_free(&text);
        BAIL(ERR_INVALID_ARG);
    }
    struct policy_parse_opts o = {.kind = kind, .max_bytes = 1u << 19};
    core_result r = policy_parse(&o, core_buf_cursor(&text), out, reason, NULL);
    core_buf_free(&text);
    return r;
}

static bool principal_from_arn(const char *arn, struct core_principal *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->arn, sizeof p->arn, "%s", arn);
    /* arn:aws:SVC::ACCT:RES */
    const char *c = arn;
    for (int i = 0; i < 4 && c; i++) {
        c = strchr(c, ':');
        if (c) c++;
    }
    if (c == NULL || strlen(c) < 13) return false;
    memcpy(p->account, c, 12);
    p->account[12] = '\0';
    const char *res = c + 13;
    if (strcmp(res, "root") == 0) {
        p->type = CORE_PRINCIPAL_ROOT;
        snprintf(p->user_id, sizeof p->user_id, "%s", p->account);
    } else if (strncmp(res, "user/", 5) == 0) {
        p->type = CORE_PRINCIPAL_USER;
        snprintf(p->user_id, sizeof p->user_id, "AIDAEXAMPLEUSERID");
    } else if (strncmp(res, "assumed-role/", 13) == 0) {
        p->type = CORE_PRINCIPAL_ASSUMED_ROLE;
        p->temporary = true;
        const char *sess = strrchr(res, '/');
        snprintf(p->user_id, sizeof p->user_id, "AROAEXAMPLEROLEID:%s", sess ? sess + 1 : "");
    } else if (strncmp(res, "federated-user/", 15) == 0) {
        p->type = CORE_PRINCIPAL_FEDERATED;
        p->temporary = true;
        snprintf(p->user_id, sizeof p->user_id, "%s:%s", p->account, res + 15);
    } else {
        return false;
    }
    return true;
}

static bool build_ctx(const char *name, const json_t *req, struct policy_ctx *ctx, struct core_buf *numbuf)
{
    policy_ctx_init(ctx);
    const json_t *action = json_object_get(req, "action");
    const json_t *resource = json_object_get(req, "resource");
    if (!core_ok(policy_ctx_set_action(ctx, core_cursor_str(str_or(action, DEFAULT_ACTION))))) return false;
    if (!json_is_null(resource)) policy_ctx_set_resource(ctx, core_cursor_str(str_or(resource, DEFAULT_RESOURCE)));

    const json_t *service = json_object_get(req, "service");
    const json_t *federated = json_object_get(req, "federated");
    const json_t *prin = json_object_get(req, "principal");
    if (json_is_string(service)) {
        if (!core_ok(policy_ctx_set_service(ctx, core_cursor_str(json_string_value(service))))) return false;
    } else if (json_is_string(federated)) {
        if (!core_ok(policy_ctx_set_federated(ctx, core_cursor_str(json_string_value(federated))))) return false;
    } else if (json_is_null(prin) || json_is_true(json_object_get(req, "anonymous"))) {
        struct core_principal p = {.type = CORE_PRINCIPAL_ANONYMOUS};
        if (!core_ok(policy_ctx_set_principal(ctx, &p, core_cursor_str("")))) return false;
    } else {
        struct core_principal p;
        if (!principal_from_arn(str_or(prin, DEFAULT_PRINCIPAL), &p)) {
            fprintf(stderr, "%s: bad principal ARN\n", name);
            return false;
        }
        if (json_is_true(json_object_get(req, "mfa"))) p.mfa = true;
        /* Federated users: the IAM user that called GetFederationToken. */
        snprintf(p.issuer_arn, sizeof p.issuer_arn, "%s", str_or(json_object_get(req, "issuer"), ""));
        const char *role_arn = str_or(json_object_get(req, "role_arn"), "");
        core_result r = policy_ctx_set_principal(ctx, &p, core_cursor_str(role_arn));
        if (!core_ok(r)) {
            fprintf(stderr, "%s: set_principal -> %s\n", name, core_err_name(r.err));
            return false;
        }
    }
    const json_t *ctxkeys = json_object_get(req, "context");
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)(uintptr_t)ctxkeys, key, v)
    {
        core_result r;
        struct core_cursor k = core_cursor_str(key);
        if (json_is_string(v)) {
            r = policy_ctx_add(ctx, k, core_cursor_from(json_string_value(v), json_string_length(v)));
        } else if (json_is_boolean(v)) {
            r = policy_ctx_add_bool(ctx, k, json_is_true(v));
        } else if (json_is_integer(v)) {
            r = policy_ctx_add_int(ctx, k, (int64_t)json_integer_value(v));
        } else if (json_is_array(v)) {
            struct core_cursor vals[32];
            size_t n = json_array_size(v);
            if (n > 32) return false;
            for (size_t i = 0; i < n; i++) vals[i] = core_cursor_str(json_string_value(json_array_get(v, i)));
            r = policy_ctx_add_multi(ctx, k, vals, n);
        } else {
            fprintf(stderr, "%s: unsupported context value for %s\n", name, key);
            return false;
        }
        if (!core_ok(r)) {
            fprintf(stderr, "%s: context add %s -> %s\n", name, key, core_err_name(r.err));
            return false;
        }
    }
    const json_t *tags = json_object_get(req, "principal_tags");
    json_object_foreach((json_t *)(uintptr_t)tags, key, v)
    {
        if (!core_ok(policy_ctx_add_principal_tag(ctx, core_cursor_str(key), core_cursor_str(json_string_value(v)))))
            return false;
    }
    const json_t *t = json_object_get(req, "time");
    if (json_is_integer(t) && !core_ok(policy_ctx_set_time(ctx, (int64_t)json_integer_value(t)))) return false;
    (void)numbuf;
    return true;
}

static json_t *wrap_condition(const json_t *cond)
{
    return json_pack("{s:s, s:{s:s, s:s, s:s, s:O}}", "Version", "2012-10-17", "Statement", "Effect", "Allow",
                     "Action", "*", "Resource", "*", "Condition", cond);
}

static void run_error_case(const char *name, const json_t *c, const json_t *d)
{
    struct core_buf reason;
    if (!core_ok(core_buf_init(&reason, 256, 4096))) return;
    const json_t *pol = field(c, d, "policy");
    if (pol == NULL) pol = field(c, d, "policy_text");
    enum policy_kind kind = kind_of(str_or(field(c, d, "kind"), "identity"));
    struct policy *p = NULL;
    core_result r = compile(pol, kind, &p, &reason);
    const char *want = json_string_value(field(c, d, "error"));
    enum core_err want_err = strcmp(str_or(field(c, d, "error_code"), "PARSE"), "LIMIT") == 0 ? ERR_LIMIT : ERR_PARSE;
    if (core_ok(r)) {
        TEST_FAIL("%s: parsed, expected error \"%s\"", name, want);
        policy_free(p);
    } else if (r.err != want_err) {
        TEST_FAIL("%s: %s, expected %s", name, core_err_name(r.err), core_err_name(want_err));
    } else {
        core_result_ignore(core_buf_terminate(&reason));
        const char *got = reason.data ? (const char *)reason.data : "";
        if (strstr(got, want) == NULL) TEST_FAIL("%s: reason \"%s\" lacks \"%s\"", name, got, want);
    }
    core_buf_free(&reason);
}

static void run_single_case(const char *name, const json_t *c, const json_t *d)
{
    json_t *owned = NULL;
    const json_t *pol = json_object_get(c, "policy");
    if (pol == NULL) pol = json_object_get(c, "policy_text");
    if (pol == NULL && json_object_get(c, "condition")) pol = owned = wrap_condition(json_object_get(c, "condition"));
    if (pol == NULL) pol = field(c, d, "policy");
    enum policy_kind kind = kind_of(str_or(field(c, d, "kind"), "identity"));
    struct core_buf reason;
    if (!core_ok(core_buf_init(&reason, 256, 4096))) return;
    struct policy *p = NULL;
    core_result r = compile(pol, kind, &p, &reason);
    json_decref(owned);
    if (!core_ok(r)) {
        core_result_ignore(core_buf_terminate(&reason));
        TEST_FAIL("%s: parse -> %s: %s", name, core_err_name(r.err), reason.data ? (char *)reason.data : "");
        core_buf_free(&reason);
        return;
    }
    core_buf_free(&reason);
    const json_t *req = json_object_get(c, "request");
    if (req == NULL) req = field(c, d, "request");
    struct policy_ctx ctx;
    if (!build_ctx(name, req, &ctx, NULL)) {
        TEST_FAIL("%s: could not build request context", name);
        policy_free(p);
        return;
    }
    struct policy_result res;
    r = policy_evaluate(p, &ctx, &res);
    if (!core_ok(r)) {
        TEST_FAIL("%s: evaluate -> %s", name, core_err_name(r.err));
    } else {
        const char *want = str_or(field(c, d, "expect"), "?");
        if (strcmp(want, policy_decision_name(res.decision)) != 0)
            TEST_FAIL("%s: got %s, expected %s", name, policy_decision_name(res.decision), want);
        const json_t *ws = json_object_get(c, "statement");
        if (json_is_integer(ws) && json_integer_value(ws) != res.statement)
            TEST_FAIL("%s: decided by statement %d, expected %lld", name, res.statement,
                      (long long)json_integer_value(ws));
        const json_t *wg = json_object_get(c, "grant");
        if (json_is_string(wg) && strcmp(json_string_value(wg), policy_grant_name(res.grant)) != 0)
            TEST_FAIL("%s: grant %s, expected %s", name, policy_grant_name(res.grant), json_string_value(wg));
    }
    policy_free(p);
}

#define MAX_LIST 8

static bool compile_list(const char *name, const json_t *arr, enum policy_kind kind, struct policy **out, size_t *n)
{
    *n = 0;
    if (arr == NULL || json_is_null(arr)) return true;
    if (!json_is_array(arr) || json_array_size(arr) > MAX_LIST) return false;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        core_result r = compile(json_array_get(arr, i), kind, &out[i], NULL);
        if (!core_ok(r)) {
            fprintf(stderr, "%s: list policy %zu -> %s\n", name, i, core_err_name(r.err));
            return false;
        }
        (*n)++;
    }
    return true;
}

static void run_combined_case(const char *name, const json_t *c, const json_t *d)
{
    const json_t *cb = json_object_get(c, "combined");
    struct policy *resource = NULL, *boundary = NULL, *ids[MAX_LIST] = {0}, *sess[MAX_LIST] = {0};
    size_t nid = 0, nsess = 0;
    bool ok = true;
    const json_t *rp = json_object_get(cb, "resource");
    const char *rkind = str_or(json_object_get(cb, "resource_kind"), "resource");
    if (rp && !json_is_null(rp)) ok = core_ok(compile(rp, kind_of(rkind), &resource, NULL));
    const json_t *bp = json_object_get(cb, "boundary");
    if (ok && bp && !json_is_null(bp)) ok = core_ok(compile(bp, POLICY_KIND_IDENTITY, &boundary, NULL));
    if (ok) ok = compile_list(name, json_object_get(cb, "identity"), POLICY_KIND_IDENTITY, ids, &nid);
    const json_t *sp = json_object_get(cb, "session");
    if (ok) ok = compile_list(name, sp, POLICY_KIND_IDENTITY, sess, &nsess);
    const json_t *req = json_object_get(c, "request");
    if (req == NULL) req = field(c, d, "request");
    struct policy_ctx ctx;
    if (ok) ok = build_ctx(name, req, &ctx, NULL);
    if (!ok) {
        TEST_FAIL("%s: could not set up combined case", name);
    } else {
        const struct policy *idc[MAX_LIST], *sc[MAX_LIST];
        for (size_t i = 0; i < nid; i++) idc[i] = ids[i];
        for (size_t i = 0; i < nsess; i++) sc[i] = sess[i];
        struct policy_set set = {
            .mode = strcmp(str_or(json_object_get(cb, "mode"), "standard"), "kms") == 0 ? POLICY_MODE_KMS
                                                                                        : POLICY_MODE_STANDARD,
            .resource = resource,
            .identity = idc,
            .identity_count = nid,
            .boundary = boundary,
            .session = sc,
            .session_count = nsess,
            .has_session_policies = sp != NULL && json_is_array(sp),
            .same_account = !json_is_false(json_object_get(cb, "same_account")),
        };
        struct policy_verdict v;
        core_result r = policy_authorize(&set, &ctx, &v);
        if (!core_ok(r)) {
            TEST_FAIL("%s: authorize -> %s", name, core_err_name(r.err));
        } else {
            const char *want = str_or(json_object_get(c, "expect"), "?");
            const char *got = v.allowed ? "ALLOW" : "DENY";
            if (strcmp(want, got) != 0) TEST_FAIL("%s: got %s (%s), expected %s", name, got, policy_reason_name(v.reason), want);
            const char *wr = str_or(json_object_get(c, "reason"), NULL);
            if (wr && strcmp(wr, policy_reason_name(v.reason)) != 0)
                TEST_FAIL("%s: reason %s, expected %s", name, policy_reason_name(v.reason), wr);
            const char *wm = str_or(json_object_get(c, "message"), NULL);
            if (wm) {
                struct core_buf m;
                if (core_ok(core_buf_init(&m, 256, 4096))) {
                    if (core_ok(policy_denied_message(&m, &ctx, &v)) && core_ok(core_buf_terminate(&m))) {
                        EXPECT_STR_EQ((const char *)m.data, wm);
                    } else {
                        TEST_FAIL("%s: message failed", name);
                    }
                    core_buf_free(&m);
                }
            }
        }
    }
    policy_free(resource);
    policy_free(boundary);
    for (size_t i = 0; i < MAX_LIST; i++) {
        policy_free(ids[i]);
        policy_free(sess[i]);
    }
}

/*
 * vectors/policy/aws-model/ (issue 16): every case cites the AWS
 * documentation section it encodes and says whether the in-memory router
 * test runs it end to end (tests/unit/server_policy_model_test.c). Cases the
 * engine cannot express ("router_call": limits the STS/IAM front enforces)
 * are read here for their shape and run only by the router test.
 */
static bool model_mode;
static int model_engine_cases, model_router_only;

static bool check_model_case(const char *name, const json_t *c)
{
    const json_t *d = json_object_get(c, "doc");
    const char *url = str_or(json_object_get(d, "url"), "");
    const char *section = str_or(json_object_get(d, "section"), "");
    if (strncmp(url, "https://docs.aws.amazon.com/", 28) != 0 || strlen(section) < 8)
        TEST_FAIL("%s: no AWS documentation section cited (doc.url, doc.section)", name);
    const json_t *router = json_object_get(c, "router");
    if (!json_is_true(router) &&
        !(json_is_string(router) && strncmp(json_string_value(router), "not expressible", 15) == 0))
        TEST_FAIL("%s: \"router\" must be true or say why the case is \"not expressible ...\"", name);
    if (json_object_get(c, "pending") && !json_is_true(router))
        TEST_FAIL("%s: a pending case must be run by the router test", name);
    if (json_object_get(c, "router_call")) {
        if (!json_is_string(json_object_get(c, "engine")) || !json_is_true(router))
            TEST_FAIL("%s: a router-only case says why the engine cannot express it", name);
        model_router_only++;
        return false;
    }
    model_engine_cases++;
    return true;
}

static void run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        TEST_FAIL("cannot open %s", path);
        return;
    }
    struct core_buf text;
    if (!core_ok(core_buf_init(&text, 65536, 4u << 20))) {
        fclose(f);
        return;
    }
    uint8_t chunk[8192];
    size_t n;
    bool ok = true;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) ok = ok && core_ok(core_buf_append(&text, chunk, n));
    fclose(f);
    json_t *root = NULL;
    if (!ok || !core_ok(core_json_parse(core_buf_cursor(&text), CORE_MAX_JSON_DEPTH, &root))) {
        TEST_FAIL("%s: not valid JSON", path);
        core_buf_free(&text);
        return;
    }
    core_buf_free(&text);
    if (!json_is_string(json_object_get(root, "source"))) TEST_FAIL("%s: no \"source\"", path);
    const json_t *defaults = json_object_get(root, "defaults");
    const json_t *cases = json_object_get(root, "cases");
    for (size_t i = 0; i < json_array_size(cases); i++) {
        const json_t *c = json_array_get(cases, i);
        char name[256];
        snprintf(name, sizeof name, "%.64s#%zu %.160s", strrchr(path, '/') ? strrchr(path, '/') + 1 : path, i,
                 str_or(json_object_get(c, "name"), "?"));
        if (model_mode && !check_model_case(name, c)) {
            cases_run++;
            continue;
        }
        if (json_object_get(c, "combined")) {
            run_combined_case(name, c, defaults);
        } else if (field(c, defaults, "error") != NULL) {
            run_error_case(name, c, defaults);
        } else {
            run_single_case(name, c, defaults);
        }
        cases_run++;
    }
    json_decref(root);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Runs every .json file of dir in name order. Returns the number of files
 * read; *others counts directory entries that are neither .json files nor
 * (when subdirs_ok) subdirectories, so no vector file is silently skipped. */
static size_t run_dir(const char *dir, bool subdirs_ok, size_t *others)
{
    *others = 0;
    DIR *dh = opendir(dir);
    if (dh == NULL) {
        TEST_FAIL("cannot open %s", dir);
        return 0;
    }
    char names[64][256];
    const char *sorted[64];
    size_t nf = 0;
    struct dirent *de;
    while ((de = readdir(dh)) != NULL) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.') continue;
        if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0 && nf < 64) {
            snprintf(names[nf], sizeof names[nf], "%s", de->d_name);
            sorted[nf] = names[nf];
            nf++;
        } else if (!(subdirs_ok && de->d_type == DT_DIR)) {
            (*others)++;
        }
    }
    closedir(dh);
    qsort(sorted, nf, sizeof sorted[0], cmp_names);
    for (size_t i = 0; i < nf; i++) {
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, sorted[i]);
        run_file(path);
    }
    return nf;
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    char dir[1024];
    size_t others;
    snprintf(dir, sizeof dir, "%s/policy", test_vectors_dir);
    size_t nf = run_dir(dir, true, &others);
    if (others) TEST_FAIL("%zu entries of %s are not vector files", others, dir);
    int base_cases = cases_run;
    fprintf(stderr, "policy vectors: %d cases in %zu files\n", base_cases, nf);
    if (base_cases < 150) TEST_FAIL("only %d vector cases", base_cases);

    /* The issue 16 corpus: every file present is read, every case is either
     * run by the engine here or marked as run only end to end. */
    snprintf(dir, sizeof dir, "%s/policy/aws-model", test_vectors_dir);
    model_mode = true;
    size_t mf = run_dir(dir, false, &others);
    int model_cases = cases_run - base_cases;
    fprintf(stderr, "aws-model vectors: %d cases in %zu files (%d by the engine, %d end to end only)\n", model_cases,
            mf, model_engine_cases, model_router_only);
    if (others) TEST_FAIL("%zu entries of %s are not .json vector files", others, dir);
    if (mf < 5) TEST_FAIL("aws-model: %zu files read, expected at least 5", mf);
    if (model_engine_cases + model_router_only != model_cases) TEST_FAIL("aws-model: cases unaccounted for");
    if (model_cases < 70) TEST_FAIL("aws-model: only %d cases", model_cases);
    TEST_MAIN_END();
}
