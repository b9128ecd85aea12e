/*
 * The identity side of authorization: which compiled identity-based
 * policies, permissions boundary and session policies apply to a caller,
 * and the global condition keys every service puts into a request context.
 *
 * "Identity-based policies ... attached to an IAM identity (user, group of
 * users, or role)"; "A permissions boundary ... sets the maximum permissions
 * that an identity-based policy can grant"; "Session policies ... limit the
 * permissions that the role or user's identity-based policies grant to the
 * session." https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html
 *
 * Documents are compiled once per cache entry, never per request. An entry
 * is keyed by principal ("U/<acct>/<user>", "R/<acct>/<role>") or, when the
 * credentials carry session policies, by the temporary access key id
 * ("S/<ASIA...>", "F/<ASIA...>"): the id is inside the sealed token, so it
 * names exactly one set of session policies. Entries are reference counted
 * so a request keeps using its entry while a write replaces it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "iam/iam_internal.h"
#include "policy/policy.h"

static const char allow_all_doc[] =
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}";


#define STS_MAX_POLICY_ARNS_IAM 10u
#define SESSION_MAX (1u + STS_MAX_POLICY_ARNS_IAM)

struct iam_identity_entry {
    struct iam_identity pub; /* first: handed out as &entry->pub */
    struct policy_cache_item item;
    struct policy *owned[IAM_AUTHZ_MAX_POLICIES + SESSION_MAX + 1];
    size_t n_owned;
    const struct policy *ident[IAM_AUTHZ_MAX_POLICIES];
    const struct policy *sess[SESSION_MAX];
    struct query_tag tags[QUERY_MAX_TAGS];
    struct core_buf tagtext;
};

static const struct iam_identity nobody = {0};

static void entry_free(struct iam_identity_entry *e)
{
    for (size_t i = 0; i < e->n_owned; i++) policy_free(e->owned[i]);
    core_buf_free(&e->tagtext);
    free(e);
}

static struct iam_identity_entry *entry_of(struct policy_cache_item *it)
{
    return (struct iam_identity_entry *)(void *)((char *)it - offsetof(struct iam_identity_entry, item));
}

static void entry_free_item(struct policy_cache_item *it) { entry_free(entry_of(it)); }

core_result iam_authz_init(struct iam_env *env)
{
    GUARD(policy_cache_init(&env->identities, IAM_AUTHZ_CACHE_MAX, entry_free_item));
    struct policy_parse_opts o = {.kind = POLICY_KIND_IDENTITY, .max_bytes = sizeof allow_all_doc};
    GUARD(policy_parse(&o, core_cursor_str(allow_all_doc), &env->allow_all, NULL, NULL));
    env->allow_all_list[0] = env->allow_all;
    env->full = (struct iam_identity){.identity = env->allow_all_list, .identity_count = 1, .full_access = true};
    /* The shipped AWS managed policies: compiled once, shared by every identity that attaches them. */
    ENSURE(iam_aws_policies_count <= IAM_AWS_POLICIES_MAX, ERR_LIMIT);
    for (size_t i = 0; i < iam_aws_policies_count; i++) {
        struct policy_parse_opts ao = {.kind = POLICY_KIND_IDENTITY, .max_bytes = POLICY_IAM_MANAGED_MAX_CHARS};
        GUARD(policy_parse(&ao, core_cursor_str(iam_aws_policies[i].doc), &env->aws[i], NULL, NULL));
    }
    CORE_OK;
}


void iam_authz_free(struct iam_env *env)
{
    policy_cache_destroy(&env->identities);
    policy_free(env->allow_all);
    env->allow_all = NULL;
    for (size_t i = 0; i < IAM_AWS_POLICIES_MAX; i++) {
        policy_free(env->aws[i]);
        env->aws[i] = NULL;
    }
}

void iam_identity_invalidate(struct iam_env *env)
{
    if (env) __atomic_add_fetch(&env->generation, 1, __ATOMIC_RELEASE);
}

/* ---- building an entry ---------------------------------------------------- */

static core_result compile(struct iam_identity_entry *e, const char *doc, const struct policy **out)
{
    ENSURE(e->n_owned < sizeof e->owned / sizeof e->owned[0], ERR_LIMIT);
    /* Validated with AWS's caps when stored; the cap here only bounds work. */
    struct policy_parse_opts o = {.kind = POLICY_KIND_IDENTITY, .max_bytes = 131072, .ignore_whitespace = true};
    struct policy *p = NULL;
    GUARD(policy_parse(&o, core_cursor_str(doc), &p, NULL, NULL));
    e->owned[e->n_owned++] = p;
    *out = p;
    CORE_OK;
}

/* A managed policy by ARN; *out NULL when it grants nothing here (an AWS
 * managed policy this server does not ship: it cannot be attached, but a
 * session's PolicyArns may name one). */
static core_result managed(struct iam_env *env, struct keystore_txn *txn, struct iam_identity_entry *e,
                           struct core_cursor arn, const struct policy **out)
{
    *out = NULL;
    const struct iam_aws_policy *aws = iam_aws_policy_find(arn);
    if (aws) {
        *out = env->aws[aws - iam_aws_policies];
        CORE_OK;
    }
    if (iam_arn_is_aws_managed(arn)) CORE_OK;
    struct core_cursor tail;
    ENSURE(iam_arn_tail(arn, &tail) && tail.len > 12 + 8, ERR_PARSE);
    char account[16];
    memcpy(account, tail.ptr, 12);
    account[12] = 0;
    size_t last = 0;
    for (size_t i = 0; i < arn.len; i++)
        if (arn.ptr[i] == '/') last = i + 1;
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    GUARD(iam_rec_get(txn, IAM_T_POLICY, account, core_cursor_from(arn.ptr + last, arn.len - last), &rec));
    ENSURE(core_cursor_eq_str(arn, iam_js(rec, "arn")), ERR_NOT_FOUND);
    return compile(e, iam_js(rec, "doc"), out);
}

/* Inline + attached + boundary + tags of a user or role record. */
static core_result from_record(struct iam_env *env, struct keystore_txn *txn, struct iam_identity_entry *e,
                               const json_t *rec)
{
    const char *name;
    json_t *v;
    size_t i;
    json_object_foreach(json_object_get(rec, "inline"), name, v) {
        ENSURE(e->pub.identity_count < IAM_AUTHZ_MAX_POLICIES, ERR_LIMIT);
        ENSURE(json_is_string(v), ERR_PARSE);
        GUARD(compile(e, json_string_value(v), &e->ident[e->pub.identity_count]));
        e->pub.identity_count++;
    }
    json_array_foreach(json_object_get(rec, "attached"), i, v) {
        ENSURE(e->pub.identity_count < IAM_AUTHZ_MAX_POLICIES, ERR_LIMIT);
        const struct policy *p = NULL;
        GUARD(managed(env, txn, e, core_cursor_str(json_string_value(v) ? json_string_value(v) : ""), &p));
        if (p) e->ident[e->pub.identity_count++] = p;
    }
    /* A bootstrap administrator record written before records listed their
     * attachments holds AdministratorAccess, as the administrator always did. */
    if (json_is_true(json_object_get(rec, "admin")) && json_object_get(rec, "attached") == NULL) {
        const struct policy *p = NULL;
        GUARD(managed(env, txn, e, core_cursor_str(IAM_AWS_POLICY_PREFIX "AdministratorAccess"), &p));
        ENSURE(p != NULL && e->pub.identity_count < IAM_AUTHZ_MAX_POLICIES, ERR_LIMIT);
        e->ident[e->pub.identity_count++] = p;
    }
    const char *boundary = iam_js(rec, "boundary");
    if (*boundary) {
        const struct policy *p = NULL;
        GUARD(managed(env, txn, e, core_cursor_str(boundary), &p));
        if (p)
            e->pub.boundary = p;
        else
            e->pub.identity_count = 0; /* a boundary this server cannot evaluate allows nothing */
    }
    /* Tags: copy the text first, then point cursors at it (the buffer no longer moves). */
    const json_t *tags = json_object_get(rec, "tags");
    size_t n = 0, offs[QUERY_MAX_TAGS][4];
    json_array_foreach(tags, i, v) {
        if (n == QUERY_MAX_TAGS) break;
        const char *k = iam_js(v, "Key"), *val = iam_js(v, "Value");
        offs[n][0] = e->tagtext.len;
        offs[n][1] = strlen(k);
        GUARD(core_buf_append_str(&e->tagtext, k));
        offs[n][2] = e->tagtext.len;
        offs[n][3] = strlen(val);
        GUARD(core_buf_append_str(&e->tagtext, val));
        n++;
    }
    for (size_t t = 0; t < n; t++)
        e->tags[t] = (struct query_tag){core_cursor_from(e->tagtext.data + offs[t][0], offs[t][1]),
                                      core_cursor_from(e->tagtext.data + offs[t][2], offs[t][3])};
    e->pub.tags = e->tags;
    e->pub.n_tags = n;
    CORE_OK;
}

static core_result session_policies(struct iam_env *env, struct keystore_txn *txn, struct iam_identity_entry *e,
                                    const struct iam_session_info *s)
{
    e->pub.has_session_policies = true;
    if (s->policy.len) {
        DEFER_CLEANUP(struct core_buf doc = {0}, core_buf_cleanup);
        GUARD(core_buf_init(&doc, s->policy.len + 1, s->policy.len + 1));
        GUARD(core_buf_append_cursor(&doc, s->policy));
        GUARD(core_buf_append_u8(&doc, 0));
        GUARD(compile(e, (const char *)doc.data, &e->sess[e->pub.session_count]));
        e->pub.session_count++;
    }
    for (size_t i = 0; i < s->n_policy_arns && i < STS_MAX_POLICY_ARNS_IAM; i++) {
        const struct policy *p = NULL;
        core_result r = managed(env, txn, e, s->policy_arns[i], &p);
        if (r.err == ERR_NOT_FOUND) continue; /* a deleted policy grants nothing */
        GUARD(r);
        if (p) e->sess[e->pub.session_count++] = p;
    }
    CORE_OK;
}

/* The last '/'-separated segment of an ARN (user or role name). */
static struct core_cursor last_segment(struct core_cursor arn)
{
    size_t last = 0;
    for (size_t i = 0; i < arn.len; i++)
        if (arn.ptr[i] == '/') last = i + 1;
    return core_cursor_from(arn.ptr + last, arn.len - last);
}

/* "arn:aws:sts::ACCT:assumed-role/ROLE/SESSION" -> ROLE */
static struct core_cursor session_role_name(const char *arn)
{
    const char *p = strstr(arn, ":assumed-role/");
    if (!p) return (struct core_cursor){0};
    p += 14;
    const char *q = strchr(p, '/');
    return core_cursor_from(p, q ? (size_t)(q - p) : strlen(p));
}

enum build_kind { BUILD_USER, BUILD_ROLE };

struct build_req {
    enum build_kind kind;
    const char *account;
    struct core_cursor name;
    const struct iam_session_info *session; /* with session policies */
    bool root_issued;                       /* federation token of a root user */
};

static core_result build(struct iam_env *env, const struct build_req *br, struct iam_identity_entry *e)
{
    struct keystore_txn *txn = NULL;
    GUARD(keystore_txn_begin(env->ks, false, &txn));
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    core_result r = {ERR_OK};
    e->pub.identity = e->ident;
    e->pub.session = e->sess;
    if (br->root_issued) {
        e->ident[e->pub.identity_count++] = env->allow_all;
    } else {
        /* The bootstrap administrator too: a user holding AdministratorAccess,
         * whose inline, attached and boundary policies all count. */
        r = iam_rec_get(txn, br->kind == BUILD_USER ? IAM_T_USER : IAM_T_ROLE, br->account, br->name, &rec);
        if (core_ok(r)) r = from_record(env, txn, e, rec);
    }
    if (core_ok(r) && br->session) r = session_policies(env, txn, e, br->session);
    keystore_txn_abort(txn);
    return r;
}

/* ---- the cache (policy_cache) -------------------------------------------------- */

static core_result acquire_key(struct iam_env *env, const char *key, const struct build_req *br,
                               const struct iam_identity **out)
{
    uint64_t gen = __atomic_load_n(&env->generation, __ATOMIC_ACQUIRE);
    uint64_t now = core_clock_mono_ns();
    struct policy_cache_item *it =
        policy_cache_acquire(&env->identities, key, gen, (uint64_t)IAM_AUTHZ_TTL_MS * 1000000u);
    if (it) {
        *out = &entry_of(it)->pub;
        CORE_OK;
    }
    struct iam_identity_entry *e = calloc(1, sizeof *e);
    ENSURE(e != NULL, ERR_NOMEM);
    core_result r = core_buf_init(&e->tagtext, 0, QUERY_MAX_TAGS * (128 + 256) * 4);
    if (core_ok(r)) r = build(env, br, e);
    if (!core_ok(r)) {
        entry_free(e);
        return r;
    }
    /* Its age counts from before the build read the keystore. */
    policy_cache_insert(&env->identities, &e->item, key, gen, now);
    *out = &e->pub;
    CORE_OK;
}

core_result iam_identity_acquire(struct iam_env *env, const struct core_principal *p,
                                 const struct iam_session_info *s, const struct iam_identity **out)
{
    *out = &nobody;
    ENSURE_REF(env);
    /* AssumeRoot sessions: the member account's root, limited by the task policy it carries as its
     * session policy (full access AND the session policies, like a root's federation token). */
    if (p->type == CORE_PRINCIPAL_ROOT && p->temporary && s && s->has_session_policies && !p->unverified) {
        char rkey[200];
        snprintf(rkey, sizeof rkey, "S/%s", p->access_key_id);
        struct build_req rb = {.account = p->account, .kind = BUILD_USER, .session = s, .root_issued = true,
                               .name = core_cursor_str("root")};
        return acquire_key(env, rkey, &rb, out);
    }
    if (p->unverified || p->type == CORE_PRINCIPAL_ROOT) {
        *out = &env->full;
        CORE_OK;
    }
    char key[200];
    struct build_req br = {.account = p->account};
    switch (p->type) {
    case CORE_PRINCIPAL_USER:
        /* GetSessionToken credentials carry the user's own permissions. */
        br.kind = BUILD_USER;
        br.name = last_segment(core_cursor_str(p->arn));
        {
            /* "U/<account>/<name>" without snprintf (on every request of an IAM user, issue 14); the
             * name is the tail of the C string p->arn, so it holds no NUL; truncated as snprintf would. */
            size_t n = core_str_copy(key, sizeof key, "U/");
            core_str_append(key, sizeof key, &n, p->account);
            core_str_append(key, sizeof key, &n, "/");
            size_t m = br.name.len < sizeof key - 1 - n ? br.name.len : sizeof key - 1 - n;
            if (m) memcpy(key + n, br.name.ptr, m);
            key[n + m] = 0;
        }
        break;
    case CORE_PRINCIPAL_ASSUMED_ROLE:
        br.kind = BUILD_ROLE;
        br.name = (s && s->role_arn.len) ? last_segment(s->role_arn) : session_role_name(p->arn);
        ENSURE(br.name.len > 0, ERR_PARSE);
        if (s && s->has_session_policies) {
            br.session = s;
            snprintf(key, sizeof key, "S/%s", p->access_key_id);
        } else {
            snprintf(key, sizeof key, "R/%s/%.*s", p->account, (int)br.name.len, (const char *)br.name.ptr);
        }
        break;
    case CORE_PRINCIPAL_FEDERATED:
        /* GetFederationToken: the issuing user's permissions AND the session policies. */
        ENSURE(s != NULL && s->role_arn.len > 0, ERR_PARSE);
        br.kind = BUILD_USER;
        br.session = s;
        br.root_issued = s->role_arn.len > 5 &&
                         core_cursor_eq_str(core_cursor_from(s->role_arn.ptr + s->role_arn.len - 5, 5), ":root");
        br.name = last_segment(s->role_arn);
        snprintf(key, sizeof key, "F/%s", p->access_key_id);
        break;
    case CORE_PRINCIPAL_ROOT:
    case CORE_PRINCIPAL_ANONYMOUS:
        CORE_OK;
    }
    /* Keys are case-insensitive like IAM names. */
    for (char *c = key; *c; c++)
        if (*c >= 'A' && *c <= 'Z' && key[0] != 'S' && key[0] != 'F') *c = (char)(*c - 'A' + 'a');
    return acquire_key(env, key, &br, out);
}

void iam_identity_release(struct iam_env *env, const struct iam_identity *id)
{
    if (!env || !id || id == &env->full || id == &nobody) return;
    struct iam_identity_entry *e = (struct iam_identity_entry *)(uintptr_t)id; /* pub is its first member */
    policy_cache_release(&env->identities, &e->item);
}

/* ---- request context and identity-only evaluation ------------------------------- */

core_result iam_request_context(struct policy_ctx *pc, const struct iam_request_facts *f)
{
    const struct core_principal *p = f->principal;
    const struct iam_session_info *s = f->session;
    struct core_cursor role_arn = {0};
    if (p->type == CORE_PRINCIPAL_ASSUMED_ROLE && s) role_arn = s->role_arn;
    if (p->type != CORE_PRINCIPAL_ANONYMOUS) GUARD(policy_ctx_set_principal(pc, p, role_arn));
    GUARD(policy_ctx_set_time(pc, f->now));
    if (f->source_ip && f->source_ip[0]) GUARD(policy_ctx_add_str(pc, "aws:SourceIp", f->source_ip));
    GUARD(policy_ctx_add_bool(pc, core_cursor_str("aws:SecureTransport"), f->secure_transport));
    /* "true when an AWS service uses the credentials of an IAM principal to make a request on behalf of
     * the principal": here, keys marked via a service (kmsctl --via-service). */
    GUARD(policy_ctx_add_bool(pc, core_cursor_str("aws:ViaAWSService"), p->via_service[0] != 0));
    if (f->region && f->region[0]) GUARD(policy_ctx_add_str(pc, "aws:RequestedRegion", f->region));
    if (p->temporary && p->mfa && p->token_issued)
        GUARD(policy_ctx_add_int(pc, core_cursor_str("aws:MultiFactorAuthAge"),
                                 f->now > p->token_issued ? f->now - p->token_issued : 0));
    if (s && s->source_identity.len) GUARD(policy_ctx_add(pc, core_cursor_str("aws:SourceIdentity"), s->source_identity));
    /* "If the session tag key matches a principal tag, the session tag value overrides." */
    size_t ns = s ? s->n_tags : 0;
    for (size_t i = 0; i < ns; i++) GUARD(policy_ctx_add_principal_tag(pc, s->tags[i].key, s->tags[i].value));
    if (f->identity && p->type != CORE_PRINCIPAL_FEDERATED)
        for (size_t i = 0; i < f->identity->n_tags; i++) {
            bool shadowed = false;
            for (size_t j = 0; j < ns; j++) shadowed |= core_cursor_eq_icase(s->tags[j].key, f->identity->tags[i].key);
            if (!shadowed) GUARD(policy_ctx_add_principal_tag(pc, f->identity->tags[i].key, f->identity->tags[i].value));
        }
    CORE_OK;
}

core_result iam_authorize_identity(const struct iam_identity *id, const struct policy_ctx *pc,
                                   struct policy_verdict *out)
{
    struct policy_set set = {
        .mode = POLICY_MODE_STANDARD,
        .identity = id->identity,
        .identity_count = id->identity_count,
        .boundary = id->boundary,
        .session = id->session,
        .session_count = id->session_count,
        .has_session_policies = id->has_session_policies,
        .same_account = true,
    };
    return policy_authorize(&set, pc, out);
}
