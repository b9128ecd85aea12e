#include <stdio.h>
#include <stdlib.h>

#include "kms/kms_asym.h"
#include "policy/policy.h"

/*
 * Authorization seam. Every key-using handler reaches kms_authorize() after
 * resolving the key; this is the only place that decides.
 *
 * "Every KMS key must have exactly one key policy ... the key policy is the
 * primary way to control access"; "IAM policies by themselves are not
 * sufficient to allow access to a KMS key" - they count only where the key
 * policy allows the account (policy_authorize in POLICY_MODE_KMS). Then
 * grants. An explicit deny in any policy wins over every allow, grants
 * included ("No AWS principal has any permissions to a KMS key unless that
 * permission is provided explicitly and never denied").
 * https://docs.aws.amazon.com/kms/latest/developerguide/control-access.html
 *
 * Key policies are compiled once per (key record id, policy generation) and
 * cached; PutKeyPolicy bumps the generation stored in the key record, so a
 * new policy is seen by every process at its next load of the record.
 */

struct kms_policy_entry {
    struct policy_cache_item item; /* first: the cache hands it back */
    struct policy *policy; /* NULL: the stored text no longer compiles - it allows nobody */
    bool reads_aliases;    /* a condition on kms:ResourceAliases (in the compiled policy) */
};

static const char resource_aliases_key[] = "kms:ResourceAliases";

static void entry_free(struct policy_cache_item *it)
{
    struct kms_policy_entry *e = (struct kms_policy_entry *)(void *)it;
    policy_free(e->policy);
    free(e);
}

core_result kms_authz_env_init(struct kms_env *env)
{
    return policy_cache_init(&env->policies, KMS_POLICY_CACHE_MAX, entry_free);
}

void kms_authz_env_free(struct kms_env *env) { policy_cache_destroy(&env->policies); }

static core_result policy_acquire(struct kms_env *env, const struct kms_key *key, struct kms_policy_entry **out)
{
    char rid[KMS_MAX_RID];
    kms_key_rid(key, rid);
    struct policy_cache_item *it = policy_cache_acquire(&env->policies, rid, key->policy_gen, 0);
    if (it) {
        *out = (struct kms_policy_entry *)(void *)it;
        CORE_OK;
    }
    struct kms_policy_entry *e = calloc(1, sizeof *e);
    ENSURE(e != NULL, ERR_NOMEM);
    struct policy_parse_opts o = {.kind = POLICY_KIND_RESOURCE, .max_bytes = KMS_MAX_POLICY};
    core_result r = policy_parse(&o, core_buf_cursor(&key->policy), &e->policy, NULL, NULL);
    if (r.err == ERR_NOMEM) {
        free(e);
        return r;
    }
    if (!core_ok(r))
        core_log(CORE_LOG_WARN, "key policy of %s does not compile (%s): it allows nobody", key->arn,
                 core_err_name(r.err));
    e->reads_aliases = policy_has_condition_key(e->policy, core_cursor_str(resource_aliases_key));
    policy_cache_insert(&env->policies, &e->item, rid, key->policy_gen, 0);
    *out = e;
    CORE_OK;
}

static void policy_release(struct kms_env *env, struct kms_policy_entry *e)
{
    if (e) policy_cache_release(&env->policies, &e->item);
}

/* ---- the caller's identity side ------------------------------------------------ */

static const struct iam_identity *caller_identity(struct kms_ctx *ctx)
{
    if (ctx->identity || ctx->identity_failed || ctx->env->iam == NULL) return ctx->identity;
    core_result r = iam_identity_acquire(ctx->env->iam, ctx->caller, ctx->call->session, &ctx->identity);
    if (!core_ok(r)) {
        /* A principal whose policies cannot be read gets no identity-based permissions. */
        core_log(CORE_LOG_WARN, "request %s: identity policies of %s unavailable: %s",
                 ctx->call->request_id ? ctx->call->request_id : "-", ctx->caller->arn, core_err_name(r.err));
        ctx->identity = NULL;
        ctx->identity_failed = true;
    }
    return ctx->identity;
}

bool kms_caller_full_access(struct kms_ctx *ctx)
{
    if (ctx->caller->type == CORE_PRINCIPAL_ROOT || ctx->caller->unverified) return true;
    const struct iam_identity *id = caller_identity(ctx);
    return id != NULL && id->full_access;
}

void kms_authz_end(struct kms_ctx *ctx)
{
    if (ctx->identity && ctx->env->iam) iam_identity_release(ctx->env->iam, ctx->identity);
    ctx->identity = NULL;
}

/* ---- condition keys --------------------------------------------------------------- */

static const json_t *member(const struct kms_ctx *ctx, const char *name)
{
    const json_t *v = ctx->in ? json_object_get(ctx->in, name) : NULL;
    return json_is_null(v) ? NULL : v;
}

static struct core_cursor jcur(const json_t *s)
{
    return json_is_string(s) ? core_cursor_from(json_string_value(s), json_string_length(s)) : (struct core_cursor){0};
}

/* Multivalued context keys hold at most this many values (encryption
 * context pairs, tags, grant operations). A request with more is refused
 * (ERR_LIMIT fails closed in kms_authorize), never silently truncated. */
#define MAX_CTX_VALUES 64u

static uint8_t fold(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c - 'A' + 'a') : c; }

static bool eq_icase(struct core_cursor a, struct core_cursor b)
{
    if (a.len != b.len) return false;
    for (size_t i = 0; i < a.len; i++)
        if (fold(a.ptr[i]) != fold(b.ptr[i])) return false;
    return true;
}

/*
 * "kms:EncryptionContext:context-key ... The context key is not case
 * sensitive" while encryption contexts themselves are: {"a":"1","A":"2"} is
 * a valid context of two pairs. Pairs whose keys differ only by case share
 * one condition key with both values (a plain operator matches when any
 * value does, a negated one only when none does; ForAnyValue/ForAllValues
 * as usual), so a condition on one spelling sees every spelling.
 * kms:EncryptionContextKeys keeps the keys as sent.
 * https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-encryption-context
 */
core_result kms_cond_ec(struct kms_ctx *ctx, struct kms_cond *c, const char *member_name)
{
    return kms_cond_ec_maps(c, member(ctx, member_name), NULL);
}

core_result kms_cond_ec_maps(struct kms_cond *c, const json_t *a, const json_t *b)
{
    size_t na = json_is_object(a) ? json_object_size(a) : 0, nb = json_is_object(b) ? json_object_size(b) : 0;
    if (na + nb == 0) CORE_OK;
    ENSURE(na <= MAX_CTX_VALUES && nb <= MAX_CTX_VALUES - na, ERR_LIMIT);
    struct core_cursor keys[MAX_CTX_VALUES], vals[MAX_CTX_VALUES];
    size_t n = 0;
    const json_t *maps[2] = {na ? a : NULL, nb ? b : NULL};
    for (int mi = 0; mi < 2; mi++) {
        const char *k;
        size_t klen;
        const json_t *v;
        if (maps[mi] == NULL) continue;
        json_object_keylen_foreach((json_t *)(uintptr_t)maps[mi], k, klen, v) {
            keys[n] = core_cursor_from(k, klen);
            vals[n] = jcur(v);
            n++;
        }
    }
    static const char prefix[] = "kms:EncryptionContext:";
    bool done[MAX_CTX_VALUES] = {false};
    for (size_t i = 0; i < n; i++) {
        if (done[i]) continue;
        struct core_cursor same[MAX_CTX_VALUES];
        size_t m = 0;
        for (size_t j = i; j < n; j++)
            if (!done[j] && eq_icase(keys[i], keys[j])) {
                same[m++] = vals[j];
                done[j] = true;
            }
        /* The key is built in the store, whose capacity is fixed (no realloc). */
        size_t at = c->store->len;
        GUARD(core_buf_append(c->store, prefix, sizeof prefix - 1));
        GUARD(core_buf_append_cursor(c->store, keys[i]));
        struct core_cursor name = core_cursor_from(c->store->data + at, c->store->len - at);
        GUARD(policy_ctx_add_multi(c->pc, name, same, m));
    }
    return policy_ctx_add_multi(c->pc, core_cursor_str("kms:EncryptionContextKeys"), keys, n);
}

core_result kms_cond_algorithm(struct kms_ctx *ctx, struct kms_cond *c, const char *member_name)
{
    struct core_cursor alg = {0};
    if (member_name) kms_in_string(ctx, member_name, &alg);
    return policy_ctx_add(c->pc, core_cursor_str("kms:EncryptionAlgorithm"),
                          alg.len ? alg : core_cursor_str("SYMMETRIC_DEFAULT"));
}

core_result kms_cond_request_tags(struct kms_ctx *ctx, struct kms_cond *c, const char *member_name, bool tag_objects)
{
    const json_t *tags = member(ctx, member_name);
    if (!json_is_array(tags)) CORE_OK;
    ENSURE(json_array_size(tags) <= MAX_CTX_VALUES, ERR_LIMIT);
    struct core_cursor keys[MAX_CTX_VALUES];
    size_t n = 0, i;
    const json_t *t;
    json_array_foreach(tags, i, t) {
        if (tag_objects) {
            keys[n] = jcur(json_object_get(t, "TagKey"));
            GUARD(policy_ctx_add_prefixed(c->pc, "aws:RequestTag/", keys[n], jcur(json_object_get(t, "TagValue"))));
        } else {
            keys[n] = jcur(t);
        }
        n++;
    }
    return policy_ctx_add_multi(c->pc, core_cursor_str("aws:TagKeys"), keys, n);
}

core_result kms_cond_int(struct kms_ctx *ctx, struct kms_cond *c, const char *member_name, const char *key,
                         int64_t dflt)
{
    int64_t v = dflt;
    kms_in_int(ctx, member_name, &v);
    return policy_ctx_add_int(c->pc, core_cursor_str(key), v);
}

core_result kms_cond_bool(struct kms_ctx *ctx, struct kms_cond *c, const char *member_name, const char *key)
{
    return policy_ctx_add_bool(c->pc, core_cursor_str(key), kms_in_true(ctx, member_name));
}

core_result kms_cond_string(struct kms_ctx *ctx, struct kms_cond *c, const char *member_name, const char *key,
                            const char *dflt)
{
    struct core_cursor v;
    kms_in_string(ctx, member_name, &v);
    if (v.len == 0 && dflt == NULL) CORE_OK;
    return policy_ctx_add(c->pc, core_cursor_str(key), v.len ? v : core_cursor_str(dflt));
}

core_result kms_cond_strings(struct kms_ctx *ctx, struct kms_cond *c, const char *member_name, const char *key)
{
    const json_t *list = member(ctx, member_name);
    struct core_cursor v[MAX_CTX_VALUES];
    size_t n = 0, i;
    const json_t *s;
    if (json_is_array(list)) ENSURE(json_array_size(list) <= MAX_CTX_VALUES, ERR_LIMIT);
    json_array_foreach(list, i, s) v[n++] = jcur(s);
    return policy_ctx_add_multi(c->pc, core_cursor_str(key), v, n);
}

core_result kms_cond_present(struct kms_ctx *ctx, struct kms_cond *c, const char *member_name,
                             const char *const *names, const char *key)
{
    const json_t *obj = member(ctx, member_name);
    struct core_cursor v[8];
    size_t n = 0;
    for (size_t i = 0; names[i] && n < sizeof v / sizeof v[0]; i++)
        if (json_object_get(obj, names[i])) v[n++] = core_cursor_str(names[i]);
    if (n == 0) CORE_OK;
    return policy_ctx_add_multi(c->pc, core_cursor_str(key), v, n);
}

core_result kms_grant_is_for_aws_conditions(struct kms_ctx *ctx, struct kms_cond *c)
{
    (void)ctx;
    return policy_ctx_add_bool(c->pc, core_cursor_str("kms:GrantIsForAWSResource"), false);
}

/*
 * kms:ResourceAliases: every alias of the key ("Use this condition key to
 * control access to a KMS key based on the aliases that are associated with
 * the KMS key"), whichever policy asks: key, identity, boundary or session
 * policy. Which policies ask is read from the compiled documents
 * (policy_has_condition_key: escapes resolved, case folded), never from the
 * raw text; the alias scan costs a walk over the account's aliases, so a
 * decision no policy of which reads the key skips it. The aliases-per-key
 * quota bounds the list; more than that (a store written before the quota)
 * fails closed.
 * https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-resource-aliases
 */
static bool identity_reads_aliases(struct kms_ctx *ctx)
{
    const struct iam_identity *id = caller_identity(ctx);
    if (id == NULL) return false;
    struct core_cursor k = core_cursor_str(resource_aliases_key);
    if (policy_has_condition_key(id->boundary, k)) return true;
    for (size_t i = 0; i < id->identity_count; i++)
        if (policy_has_condition_key(id->identity[i], k)) return true;
    for (size_t i = 0; i < id->session_count; i++)
        if (policy_has_condition_key(id->session[i], k)) return true;
    return false;
}

static core_result add_resource_aliases(struct kms_cond *c, struct keystore_txn *txn)
{
    struct core_cursor v[KMS_MAX_ALIASES_PER_KEY];
    size_t n = 0;
    GUARD(kms_key_aliases(txn, c->key, c->store, v, KMS_MAX_ALIASES_PER_KEY, &n));
    return policy_ctx_add_multi(c->pc, core_cursor_str(resource_aliases_key), v, n);
}

/* The keys every KMS request has, then the key's facts, then the action's own.
 * aliases_txn: where to read kms:ResourceAliases; NULL when no policy reads it. */
static core_result add_kms_keys(struct kms_ctx *ctx, struct kms_cond *c, struct keystore_txn *aliases_txn)
{
    GUARD(policy_ctx_add_str(c->pc, "kms:CallerAccount", ctx->caller->account));
    if (ctx->request_alias[0]) GUARD(policy_ctx_add_str(c->pc, "kms:RequestAlias", ctx->request_alias));
    const struct kms_key *key = c->key;
    if (key) {
        GUARD(policy_ctx_add_str(c->pc, "kms:KeySpec", kms_spec_name(key->spec)));
        GUARD(policy_ctx_add_str(c->pc, "kms:KeyUsage", kms_usage_name(key->usage)));
        GUARD(policy_ctx_add_str(c->pc, "kms:KeyOrigin", key->external ? "EXTERNAL" : "AWS_KMS"));
        GUARD(policy_ctx_add_str(c->pc, "kms:KeyManager", key->aws_managed ? "AWS" : "CUSTOMER"));
        /* kms:MultiRegion, kms:MultiRegionKeyType (PRIMARY or REPLICA, multi-Region keys only). */
        GUARD(policy_ctx_add_bool(c->pc, core_cursor_str("kms:MultiRegion"), key->mrk.on));
        if (key->mrk.on)
            GUARD(policy_ctx_add_str(c->pc, "kms:MultiRegionKeyType", kms_mrk_is_primary(key) ? "PRIMARY" : "REPLICA"));
        size_t pos = 0;
        struct core_cursor tk, tv;
        while (kms_tags_next(key, &pos, &tk, &tv)) GUARD(policy_ctx_add_prefixed(c->pc, "aws:ResourceTag/", tk, tv));
        if (aliases_txn) GUARD(add_resource_aliases(c, aliases_txn));
    }
    return ctx->action->conditions ? ctx->action->conditions(ctx, c) : (core_result){ERR_OK};
}

/*
 * A caller acting via an AWS service (an access key added with kmsctl
 * --via-service): the request is the one that service makes to KMS on the
 * account's behalf, so it carries the keys AWS adds then.
 *
 * "kms:ViaService ... limits use of a KMS key to requests from specified AWS
 * services ... the value is the service's endpoint name, such as
 * s3.us-east-1.amazonaws.com". aws:ViaAWSService comes with the principal
 * (iam_request_context). aws:CalledVia is recorded only by the services AWS
 * lists for it (via_records_called_via); S3 is not one of them, so SSE-KMS
 * requests have no aws:CalledVia on AWS either.
 * https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-calledvia
 */
struct via_names {
    char via_service[IAM_VIA_SERVICE_MAX + 64]; /* "<service>.<region>.amazonaws.com" */
    char called_via[IAM_VIA_SERVICE_MAX + 32];  /* "<service>.amazonaws.com" */
};

static bool via_records_called_via(const char *service)
{
    static const char *const services[] = {"athena", "cloudformation", "dynamodb"};
    for (size_t i = 0; i < sizeof services / sizeof services[0]; i++)
        if (strcmp(service, services[i]) == 0) return true;
    return false;
}

/* The strings land in names, which the caller keeps alive as long as pc. */
static core_result add_via_service(const struct core_principal *p, struct policy_ctx *pc, struct via_names *names)
{
    if (p->via_service[0] == 0) CORE_OK;
    /* The region is the credential scope's, checked by the server; without one there is no endpoint name. */
    ENSURE(p->region[0] != 0, ERR_INVALID_ARG);
    int n = snprintf(names->via_service, sizeof names->via_service, "%s.%s.amazonaws.com", p->via_service,
                     p->region);
    ENSURE(n > 0 && (size_t)n < sizeof names->via_service, ERR_LIMIT);
    GUARD(policy_ctx_add_str(pc, "kms:ViaService", names->via_service));
    if (!via_records_called_via(p->via_service)) CORE_OK;
    n = snprintf(names->called_via, sizeof names->called_via, "%s.amazonaws.com", p->via_service);
    ENSURE(n > 0 && (size_t)n < sizeof names->called_via, ERR_LIMIT);
    struct core_cursor cv = core_cursor_str(names->called_via);
    GUARD(policy_ctx_add_multi(pc, core_cursor_str("aws:CalledVia"), &cv, 1));
    GUARD(policy_ctx_add(pc, core_cursor_str("aws:CalledViaFirst"), cv));
    return policy_ctx_add(pc, core_cursor_str("aws:CalledViaLast"), cv);
}

/* Room for the key names the condition functions build (kms:EncryptionContext:<key>)
 * and the alias names of kms:ResourceAliases; fixed, so cursors into it stay valid. */
#define COND_STORE_BYTES (KMS_MAX_EC_BYTES + 64u * 32u + KMS_MAX_ALIASES_PER_KEY * 256u)

/*
 * Builds the whole request context for action on key (NULL: no key) and
 * resource. Any failure here is a refusal (the callers fail closed): a
 * context that cannot be built must never be evaluated as if the missing
 * keys were absent.
 */
static core_result fill_context(struct kms_ctx *ctx, struct policy_ctx *pc, struct via_names *via,
                                struct core_buf *store, struct keystore_txn *aliases_txn, const struct kms_key *key,
                                const char *action, const char *resource)
{
    policy_ctx_init(pc);
    GUARD(policy_ctx_set_action(pc, core_cursor_str(action)));
    policy_ctx_set_resource(pc, core_cursor_str(resource));
    struct iam_request_facts f = {
        .principal = ctx->caller,
        .session = ctx->call->session,
        .identity = caller_identity(ctx),
        .source_ip = ctx->call->source_ip,
        .secure_transport = ctx->call->secure_transport,
        .region = ctx->region,
        /* Policy time is service time: aws:CurrentTime and aws:EpochTime
         * follow --clock-offset/--clock-file like every other clock a test
         * can move (README "Controlled clock", docs/authorization.md). */
        .now = ctx->call->now,
    };
    GUARD(iam_request_context(pc, &f));
    GUARD(add_via_service(ctx->caller, pc, via));
    struct kms_cond c = {.pc = pc, .key = key, .store = store};
    return add_kms_keys(ctx, &c, aliases_txn);
}

/*
 * The lean context (issue 14): when no policy of the decision can read a
 * condition key (policy_reads_context: no Condition, no policy variable in
 * the key policy, the caller's identity policies, boundary or session
 * policies), evaluation reads only action, resource and the principal's
 * identity chain, so the condition keys are not built. Every policy is
 * still evaluated, with the same result as on the full context, provided
 * the full context would have been built: that is certain only when the
 * request can add no key that fails to build (an over-long multivalued key
 * or two keys equal but for case refuse the request, fail closed). So the
 * lean context also requires a flat request (kms_params.c: scalar members
 * only; the action's condition keys are then single values under fixed
 * names), no session or principal tags and no via-service principal; the
 * key's resource tags are added as on the full path (two tags equal but for
 * case refuse both ways). Nothing is cached: the check runs per request on
 * the policies in play, so a changed policy is seen at once.
 */
static bool context_unread(struct kms_ctx *ctx, const struct policy *resource)
{
    if (ctx->flat == NULL || ctx->caller->via_service[0] != 0) return false;
    const struct iam_session_info *s = ctx->call->session;
    if (s && s->n_tags) return false;
    if (policy_reads_context(resource)) return false;
    const struct iam_identity *id = caller_identity(ctx);
    if (id == NULL) return true;
    if (id->n_tags || policy_reads_context(id->boundary)) return false;
    for (size_t i = 0; i < id->identity_count; i++)
        if (policy_reads_context(id->identity[i])) return false;
    for (size_t i = 0; i < id->session_count; i++)
        if (policy_reads_context(id->session[i])) return false;
    return true;
}

/* Action, resource, principal and the key's resource tags: see context_unread. */
static core_result lean_context(struct kms_ctx *ctx, struct policy_ctx *pc, const struct kms_key *key,
                                const char *action, const char *resource)
{
    policy_ctx_init(pc);
    GUARD(policy_ctx_set_action(pc, core_cursor_str(action)));
    policy_ctx_set_resource(pc, core_cursor_str(resource));
    const struct core_principal *p = ctx->caller;
    const struct iam_session_info *s = ctx->call->session;
    /* The principal exactly as iam_request_context sets it. */
    struct core_cursor role_arn = {0};
    if (p->type == CORE_PRINCIPAL_ASSUMED_ROLE && s) role_arn = s->role_arn;
    if (p->type != CORE_PRINCIPAL_ANONYMOUS) GUARD(policy_ctx_set_principal(pc, p, role_arn));
    size_t pos = 0;
    struct core_cursor tk, tv;
    while (kms_tags_next(key, &pos, &tk, &tv)) GUARD(policy_ctx_add_prefixed(pc, "aws:ResourceTag/", tk, tv));
    CORE_OK;
}

static struct policy_set caller_set(struct kms_ctx *ctx, const struct policy *resource, bool same_account)
{
    const struct iam_identity *id = caller_identity(ctx);
    struct policy_set set = {.mode = POLICY_MODE_KMS, .resource = resource, .same_account = same_account};
    if (id) {
        set.identity = id->identity;
        set.identity_count = id->identity_count;
        set.boundary = id->boundary;
        set.session = id->session;
        set.session_count = id->session_count;
        set.has_session_policies = id->has_session_policies;
    }
    return set;
}

static core_result deny(struct kms_ctx *ctx, const struct policy_ctx *pc, const struct policy_verdict *v,
                        const char *action, const char *resource)
{
    DEFER_CLEANUP(struct core_buf msg = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&msg, 256, CORE_REPLY_MAX_MESSAGE));
    if (pc && pc->principal_arn.len && pc->action.len) {
        GUARD(policy_denied_message(&msg, pc, v));
    } else {
        GUARD(core_buf_printf(&msg, "User: %s is not authorized to perform: %s on resource: %s because no "
                              "resource-based policy allows the %s action", ctx->caller->arn, action, resource,
                              action));
    }
    return kms_fail(ctx, KMS_E_ACCESS_DENIED, "%.*s", (int)msg.len, (const char *)msg.data);
}

/*
 * "If you give a principal in a different account a permission that cannot
 * be used on a cross-account resource, the permission is not effective" -
 * so no policy allows it, in AWS's AccessDenied wording.
 * https://docs.aws.amazon.com/kms/latest/developerguide/kms-api-permissions-reference.html
 */
core_result kms_deny_cross_account(struct kms_ctx *ctx, const char *arn)
{
    core_log(CORE_LOG_INFO, "request %s: %s on %s denied: not a cross-account operation",
             ctx->call->request_id ? ctx->call->request_id : "-", kms_permission(ctx), arn);
    return deny(ctx, NULL, NULL, kms_permission(ctx), arn);
}

static core_result check_grant_tokens(struct kms_ctx *ctx)
{
    const json_t *toks = member(ctx, "GrantTokens");
    size_t i;
    const json_t *t;
    json_array_foreach(toks, i, t) if (!kms_grant_token_valid(ctx->env, jcur(t)))
        return kms_fail(ctx, KMS_E_INVALID_GRANT_TOKEN, "%s", "The grant token is not valid.");
    CORE_OK;
}

core_result kms_authorize(struct kms_ctx *ctx, struct keystore_txn *txn, const struct kms_key *key)
{
    const char *iam_action = kms_permission(ctx);
    /* The backstop of the resolver's check: a key of another account only for cross-account operations. */
    if (strcmp(ctx->caller->account, key->account) != 0 && !(ctx->action->row.flags & KMS_CROSS_ACCOUNT))
        return kms_deny_cross_account(ctx, key->arn);
    GUARD(check_grant_tokens(ctx));
    struct kms_policy_entry *pe = NULL;
    core_result r = policy_acquire(ctx->env, key, &pe);
    if (!core_ok(r)) return kms_internal(ctx, r, "key policy");
    struct policy_ctx pc;
    struct via_names via;
    struct policy_verdict v = {.allowed = false, .reason = POLICY_REASON_NO_RESOURCE, .statement = -1};
    DEFER_CLEANUP(struct core_buf store = {0}, core_buf_cleanup);
    if (context_unread(ctx, pe->policy)) {
        r = lean_context(ctx, &pc, key, iam_action, key->arn);
    } else {
        r = core_buf_init(&store, COND_STORE_BYTES, COND_STORE_BYTES);
        struct keystore_txn *aliases_txn = txn && (pe->reads_aliases || identity_reads_aliases(ctx)) ? txn : NULL;
        if (core_ok(r)) r = fill_context(ctx, &pc, &via, &store, aliases_txn, key, iam_action, key->arn);
    }
    if (core_ok(r) && pe->policy) {
        struct policy_set set = caller_set(ctx, pe->policy, strcmp(ctx->caller->account, key->account) == 0);
        r = policy_authorize(&set, &pc, &v);
    }
    policy_release(ctx->env, pe);
    if (r.err == ERR_NOMEM) return kms_internal(ctx, r, "authorization");
    /* Fail closed: a context that cannot be built (a limit, a bad ARN shape)
     * or an evaluation error is a refusal that no grant can lift - an
     * explicit Deny it might have hidden must not be bypassed. */
    if (!core_ok(r)) {
        core_log(CORE_LOG_INFO, "request %s: %s on %s refused: request context failed: %s at %s",
                 ctx->call->request_id ? ctx->call->request_id : "-", iam_action, key->arn, core_err_name(r.err),
                 core_result_site());
        return deny(ctx, NULL, NULL, iam_action, key->arn);
    }
    if (v.allowed) CORE_OK;
    bool explicit_deny = v.reason == POLICY_REASON_DENY_RESOURCE || v.reason == POLICY_REASON_DENY_IDENTITY ||
                         v.reason == POLICY_REASON_DENY_BOUNDARY || v.reason == POLICY_REASON_DENY_SESSION;
    if (!explicit_deny && txn) {
        bool granted = false;
        r = kms_grants_allow(ctx, txn, key, iam_action, &granted);
        if (!core_ok(r)) return kms_internal(ctx, r, "grants");
        if (granted) CORE_OK;
    }
    return deny(ctx, &pc, &v, iam_action, key->arn);
}

core_result kms_authorize_identity(struct kms_ctx *ctx, const char *resource)
{
    const char *iam_action = kms_permission(ctx);
    const struct iam_identity *id = caller_identity(ctx);
    if (ctx->env->iam == NULL || (id && id->full_access)) CORE_OK;
    const char *res = resource ? resource : "*";
    struct policy_ctx pc;
    struct via_names via;
    struct policy_verdict v = {.allowed = false, .reason = POLICY_REASON_NO_IDENTITY, .statement = -1};
    DEFER_CLEANUP(struct core_buf store = {0}, core_buf_cleanup);
    core_result r = core_buf_init(&store, COND_STORE_BYTES, COND_STORE_BYTES);
    if (core_ok(r)) r = fill_context(ctx, &pc, &via, &store, NULL, NULL, iam_action, resource ? resource : "");
    if (core_ok(r) && id) r = iam_authorize_identity(id, &pc, &v);
    if (r.err == ERR_NOMEM) return kms_internal(ctx, r, "authorization");
    if (!core_ok(r)) v = (struct policy_verdict){.allowed = false, .reason = POLICY_REASON_NO_IDENTITY, .statement = -1};
    if (v.allowed) CORE_OK;
    DEFER_CLEANUP(struct core_buf msg = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&msg, 256, CORE_REPLY_MAX_MESSAGE));
    GUARD(core_buf_printf(&msg, "User: %s is not authorized to perform: %s", ctx->caller->arn, iam_action));
    if (resource) GUARD(core_buf_printf(&msg, " on resource: %s", res));
    GUARD(core_buf_append_u8(&msg, ' '));
    GUARD(policy_reason_append(&msg, v.reason, core_cursor_str(iam_action)));
    return kms_fail(ctx, KMS_E_ACCESS_DENIED, "%.*s", (int)msg.len, (const char *)msg.data);
}

/* "kms:XAlias on the alias" is an IAM-policy permission: the alias ARN is its resource. */
core_result kms_authorize_alias(struct kms_ctx *ctx, struct core_cursor name)
{
    char arn[KMS_MAX_ARN + 300];
    kms_alias_arn(ctx, name, arn, sizeof arn);
    return kms_authorize_identity(ctx, arn);
}

/* ---- key policy documents ------------------------------------------------------------ */

static core_result kms_policy_parse(struct kms_ctx *ctx, struct core_cursor text, struct policy **out);

core_result kms_policy_compile(struct kms_ctx *ctx, struct core_cursor text, struct core_buf *stored,
                               struct policy **out)
{
    *out = NULL;
    GUARD(kms_policy_parse(ctx, text, out));
    /* Principals are stored as unique ids (iam_policy_principals_store); one naming no
     * user or role is refused, as KMS refuses it. Compiled again in the stored form. */
    GUARD(core_buf_init(stored, text.len + 1, CORE_MAX_RECORD_BYTES));
    char bad[520];
    core_result r = iam_policy_principals_ks(ctx->env->ks, true, text, stored, bad, sizeof bad);
    if (r.err == ERR_PARSE) {
        policy_free(*out);
        *out = NULL;
        return kms_fail(ctx, KMS_E_MALFORMED_POLICY, "%s",
                        "Policy contains a statement with one or more invalid principals.");
    }
    if (!core_ok(r)) {
        policy_free(*out);
        *out = NULL;
        return kms_internal(ctx, r, "policy principals");
    }
    policy_free(*out);
    *out = NULL;
    return kms_policy_parse(ctx, core_buf_cursor(stored), out);
}

/* Validates and compiles a key policy document as given. */
static core_result kms_policy_parse(struct kms_ctx *ctx, struct core_cursor text, struct policy **out)
{
    *out = NULL;
    if (text.len > KMS_MAX_POLICY)
        return kms_fail(ctx, KMS_E_LIMIT_EXCEEDED, "%s", "The key policy exceeds the limit of 32768 characters.");
    struct policy_parse_opts o = {.kind = POLICY_KIND_RESOURCE, .max_bytes = KMS_MAX_POLICY};
    DEFER_CLEANUP(struct core_buf reason = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&reason, 256, 1024));
    enum policy_problem problem = POLICY_PROBLEM_NONE;
    core_result r = policy_parse(&o, text, out, &reason, &problem);
    if (core_ok(r)) CORE_OK;
    if (r.err == ERR_NOMEM) return kms_internal(ctx, r, "policy");
    if (problem == POLICY_PROBLEM_SIZE)
        return kms_fail(ctx, KMS_E_LIMIT_EXCEEDED, "%s", "The key policy exceeds the limit of 32768 characters.");
    /* KMS's own words for the common classes, the engine's reason otherwise. */
    if (problem == POLICY_PROBLEM_PRINCIPAL)
        return kms_fail(ctx, KMS_E_MALFORMED_POLICY,
                        "Policy contains a statement with one or more invalid principals. (%.*s)", (int)reason.len,
                        (const char *)reason.data);
    return kms_fail(ctx, KMS_E_MALFORMED_POLICY, "%.*s",
                    (int)(reason.len ? reason.len : 28), reason.len ? (const char *)reason.data : "The policy is not valid.");
}

core_result kms_lockout_check(struct kms_ctx *ctx, const struct kms_key *key, const struct policy *new_policy)
{
    /* "The key policy must allow the calling principal to make a subsequent
     * PutKeyPolicy request on the KMS key." (CreateKey, PutKeyPolicy) */
    const struct kms_action *put = kms_action_find(core_cursor_str("PutKeyPolicy"));
    ENSURE(put != NULL, ERR_NOT_FOUND);
    /* Evaluated as the PutKeyPolicy request it protects (its row's permission and condition keys). */
    const struct kms_action *served = ctx->action;
    bool second = ctx->second_key;
    ctx->action = put;
    ctx->second_key = false;
    struct policy_ctx pc;
    struct via_names via;
    struct policy_verdict v = {0};
    DEFER_CLEANUP(struct core_buf store = {0}, core_buf_cleanup);
    core_result r = core_buf_init(&store, COND_STORE_BYTES, COND_STORE_BYTES);
    if (core_ok(r)) r = fill_context(ctx, &pc, &via, &store, NULL, key, put->row.iam_action, key->arn);
    ctx->action = served;
    ctx->second_key = second;
    if (core_ok(r)) {
        struct policy_set set = caller_set(ctx, new_policy, strcmp(ctx->caller->account, key->account) == 0);
        r = policy_authorize(&set, &pc, &v);
    }
    if (r.err == ERR_NOMEM) return kms_internal(ctx, r, "lockout check");
    if (core_ok(r) && v.allowed) CORE_OK;
    return kms_fail(ctx, KMS_E_MALFORMED_POLICY, "%s",
                    "The new key policy will not allow you to update the key policy in the future.");
}

/* https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html, as GetKeyPolicy prints it. */
core_result kms_default_policy(const char *partition, const char *account, struct core_buf *out)
{
    return core_buf_printf(out,
                           "{\n"
                           "  \"Version\" : \"2012-10-17\",\n"
                           "  \"Id\" : \"key-default-1\",\n"
                           "  \"Statement\" : [ {\n"
                           "    \"Sid\" : \"Enable IAM User Permissions\",\n"
                           "    \"Effect\" : \"Allow\",\n"
                           "    \"Principal\" : {\n"
                           "      \"AWS\" : \"arn:%s:iam::%s:root\"\n"
                           "    },\n"
                           "    \"Action\" : \"kms:*\",\n"
                           "    \"Resource\" : \"*\"\n"
                           "  } ]\n"
                           "}",
                           partition, account);
}

/* The policy AWS attaches to an AWS managed key (e.g. aws/s3): use through the service, read directly. */
core_result kms_managed_policy(const char *account, const char *region, const char *service, struct core_buf *out)
{
    return core_buf_printf(out,
                           "{\n"
                           "  \"Version\" : \"2012-10-17\",\n"
                           "  \"Id\" : \"auto-%s-1\",\n"
                           "  \"Statement\" : [ {\n"
                           "    \"Sid\" : \"Allow access through %s for all principals in the account that are "
                           "authorized to use %s\",\n"
                           "    \"Effect\" : \"Allow\",\n"
                           "    \"Principal\" : {\n"
                           "      \"AWS\" : \"*\"\n"
                           "    },\n"
                           "    \"Action\" : [ \"kms:Encrypt\", \"kms:Decrypt\", \"kms:ReEncrypt*\", "
                           "\"kms:GenerateDataKey*\", \"kms:DescribeKey\" ],\n"
                           "    \"Resource\" : \"*\",\n"
                           "    \"Condition\" : {\n"
                           "      \"StringEquals\" : {\n"
                           "        \"kms:CallerAccount\" : \"%s\",\n"
                           "        \"kms:ViaService\" : \"%s.%s.amazonaws.com\"\n"
                           "      }\n"
                           "    }\n"
                           "  }, {\n"
                           "    \"Sid\" : \"Allow direct access to key metadata to the account\",\n"
                           "    \"Effect\" : \"Allow\",\n"
                           "    \"Principal\" : {\n"
                           "      \"AWS\" : \"arn:%s:iam::%s:root\"\n"
                           "    },\n"
                           "    \"Action\" : [ \"kms:Describe*\", \"kms:Get*\", \"kms:List*\" ],\n"
                           "    \"Resource\" : \"*\"\n"
                           "  } ]\n"
                           "}",
                           service, service, service, account, service, region, core_partition_of(region), account);
}
