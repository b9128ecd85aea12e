#include <stdio.h>

#include "kms/kms_internal.h"

/*
 * Key identifiers. "To specify a KMS key, use its key ID, key ARN, alias
 * name, or alias ARN" - each operation accepts a subset, given by forms.
 * https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-id
 * Aliases live in table "kms_alias" under "<account>/<region>/alias/<name>":
 * value = target key id (36) | be64 created | be64 last updated.
 */

static const char tbl_alias[] = "kms_alias";

void kms_alias_record_id(const char *account, const char *region, struct core_cursor name, struct core_buf *out)
{
    core_buf_reset(out);
    core_result_ignore(core_buf_printf(out, "%s/%s/", account, region));
    core_result_ignore(core_buf_append_cursor(out, name));
}

core_result kms_alias_get(struct keystore_txn *txn, const char *account, const char *region, struct core_cursor name,
                          struct kms_alias *out)
{
    DEFER_CLEANUP(struct core_buf id = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_buf val = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&id, 128, 512));
    GUARD(core_buf_init(&val, 64, 256));
    kms_alias_record_id(account, region, name, &id);
    GUARD(keystore_get(txn, tbl_alias, core_buf_cursor(&id), &val));
    struct core_cursor c = core_buf_cursor(&val), t;
    uint64_t cr, up;
    GUARD(core_cursor_advance(&c, KMS_KEY_ID_LEN, &t));
    GUARD(core_cursor_read_be64(&c, &cr));
    GUARD(core_cursor_read_be64(&c, &up));
    memcpy(out->target, t.ptr, KMS_KEY_ID_LEN);
    out->target[KMS_KEY_ID_LEN] = 0;
    out->created = (int64_t)cr;
    out->updated = (int64_t)up;
    CORE_OK;
}

core_result kms_alias_put(struct keystore_txn *txn, const char *account, const char *region, struct core_cursor name,
                          const struct kms_alias *a, unsigned flags)
{
    DEFER_CLEANUP(struct core_buf id = {0}, core_buf_cleanup);
    uint8_t v[KMS_KEY_ID_LEN + 16];
    GUARD(core_buf_init(&id, 128, 512));
    kms_alias_record_id(account, region, name, &id);
    memcpy(v, a->target, KMS_KEY_ID_LEN);
    for (int i = 0; i < 8; i++) {
        v[KMS_KEY_ID_LEN + i] = (uint8_t)((uint64_t)a->created >> (56 - 8 * i));
        v[KMS_KEY_ID_LEN + 8 + i] = (uint8_t)((uint64_t)a->updated >> (56 - 8 * i));
    }
    return keystore_put(txn, tbl_alias, core_buf_cursor(&id), core_cursor_from(v, sizeof v), flags);
}

/* Echoes an identifier in a message: capped, control characters replaced. */
static void echo(struct core_cursor s, char out[300])
{
    size_t n = s.len < 256 ? s.len : 256;
    for (size_t i = 0; i < n; i++) out[i] = (s.ptr[i] < 0x20 || s.ptr[i] == 0x7f) ? ' ' : (char)s.ptr[i];
    out[n] = 0;
}

static core_result invalid_key_id(struct kms_ctx *ctx, struct core_cursor id)
{
    char e[300];
    echo(id, e);
    return kms_fail(ctx, KMS_E_NOT_FOUND, "Invalid keyId '%s'", e);
}

static bool valid_region(struct core_cursor r)
{
    if (r.len == 0 || r.len >= 32) return false;
    for (size_t i = 0; i < r.len; i++)
        if (!((r.ptr[i] >= 'a' && r.ptr[i] <= 'z') || (r.ptr[i] >= '0' && r.ptr[i] <= '9') || r.ptr[i] == '-'))
            return false;
    return true;
}

static bool valid_account(struct core_cursor a)
{
    if (a.len != 12) return false;
    for (size_t i = 0; i < 12; i++)
        if (a.ptr[i] < '0' || a.ptr[i] > '9') return false;
    return true;
}

static void cpy(char *dst, size_t cap, struct core_cursor s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    memcpy(dst, s.ptr, n);
    dst[n] = 0;
}

/* Resolves alias name (full "alias/...") in (account, region). */
static core_result resolve_alias(struct kms_ctx *ctx, struct keystore_txn *txn, const char *account,
                                 const char *region, struct core_cursor name, struct kms_key_ref *ref,
                                 bool *managed_missing)
{
    struct kms_alias a;
    core_result r = kms_alias_get(txn, account, region, name, &a);
    if (core_ok(r)) {
        snprintf(ref->account, sizeof ref->account, "%s", account);
        snprintf(ref->region, sizeof ref->region, "%s", region);
        snprintf(ref->key_id, sizeof ref->key_id, "%s", a.target);
        CORE_OK;
    }
    if (r.err != ERR_NOT_FOUND) return r;
    if (managed_missing && strcmp(account, ctx->account) == 0 && strcmp(region, ctx->region) == 0 &&
        kms_managed_service(name)) {
        *managed_missing = true;
        CORE_OK;
    }
    char e[300], arn[KMS_MAX_ARN + 300];
    echo(name, e);
    kms_arn(arn, sizeof arn, region, account, e);
    return kms_fail(ctx, KMS_E_NOT_FOUND, "Alias %s is not found.", arn);
}

/* kms:RequestAlias: "the alias name ... used in the request to identify the KMS key". */
static void note_alias(struct kms_ctx *ctx, struct core_cursor name)
{
    size_t n = name.len < sizeof ctx->request_alias - 1 ? name.len : sizeof ctx->request_alias - 1;
    memcpy(ctx->request_alias, name.ptr, n);
    ctx->request_alias[n] = 0;
}

/* An operation that is not cross-account refuses another account's key or
 * alias ARN before looking it up, so the refusal says nothing about
 * whether it exists. */
static core_result cross_account_check(struct kms_ctx *ctx, const char *account, struct core_cursor arn)
{
    if (strcmp(account, ctx->account) == 0 || (ctx->action->row.flags & KMS_CROSS_ACCOUNT)) CORE_OK;
    char e[300];
    echo(arn, e);
    return kms_deny_cross_account(ctx, e);
}

core_result kms_resolve(struct kms_ctx *ctx, struct keystore_txn *txn, struct core_cursor id, unsigned forms,
                        struct kms_key_ref *ref, bool *managed_missing)
{
    if (managed_missing) *managed_missing = false;
    /* kms:RequestAlias belongs to the key resolved now, never to an earlier one (ReEncrypt). */
    ctx->request_alias[0] = 0;
    if (core_cursor_starts_with(id, "arn:")) {
        /* arn:partition:kms:region:account:resource */
        struct core_cursor rest = id, part[5];
        for (int i = 0; i < 5; i++)
            if (!core_cursor_split(&rest, ':', &part[i]) || rest.ptr == NULL) return invalid_key_id(ctx, id);
        struct core_cursor res = rest;
        if (!core_partition_known(part[1]) || !core_cursor_eq_str(part[2], "kms") ||
            !valid_region(part[3]) || !valid_account(part[4]))
            return invalid_key_id(ctx, id);
        char region[32], account[16];
        cpy(region, sizeof region, part[3]);
        cpy(account, sizeof account, part[4]);
        if (core_cursor_starts_with(res, "key/") && (forms & KMS_ID_KEY)) {
            struct core_cursor kid = core_cursor_from(res.ptr + 4, res.len - 4);
            if (!kms_is_key_id(kid)) return invalid_key_id(ctx, id);
            if (strcmp(region, ctx->region) != 0 || !core_cursor_eq_str(part[1], core_partition_of(ctx->region)))
                return kms_fail(ctx, KMS_E_NOT_FOUND, "Invalid arn %s", region);
            GUARD(cross_account_check(ctx, account, id));
            snprintf(ref->account, sizeof ref->account, "%s", account);
            snprintf(ref->region, sizeof ref->region, "%s", region);
            cpy(ref->key_id, sizeof ref->key_id, kid);
            CORE_OK;
        }
        if (core_cursor_starts_with(res, "alias/") && (forms & KMS_ID_ALIAS)) {
            if (strcmp(region, ctx->region) != 0 || !core_cursor_eq_str(part[1], core_partition_of(ctx->region)))
                return kms_fail(ctx, KMS_E_NOT_FOUND, "Invalid arn %s", region);
            GUARD(cross_account_check(ctx, account, id));
            note_alias(ctx, res);
            return resolve_alias(ctx, txn, account, region, res, ref, managed_missing);
        }
        return invalid_key_id(ctx, id);
    }
    if (core_cursor_starts_with(id, "alias/")) {
        if (!(forms & KMS_ID_ALIAS)) return invalid_key_id(ctx, id);
        note_alias(ctx, id);
        return resolve_alias(ctx, txn, ctx->account, ctx->region, id, ref, managed_missing);
    }
    if (!kms_is_key_id(id)) return invalid_key_id(ctx, id);
    snprintf(ref->account, sizeof ref->account, "%s", ctx->account);
    snprintf(ref->region, sizeof ref->region, "%s", ctx->region);
    cpy(ref->key_id, sizeof ref->key_id, id);
    CORE_OK;
}

bool kms_resolve_peek(struct kms_ctx *ctx, struct keystore_txn *txn, struct core_cursor id, struct kms_key_ref *ref)
{
    char alias[sizeof ctx->request_alias];
    memcpy(alias, ctx->request_alias, sizeof alias);
    bool had_error = core_reply_failed(ctx->out);
    bool missing = false;
    core_result r = kms_resolve(ctx, txn, id, ctx->action->key_forms, ref, &missing);
    memcpy(ctx->request_alias, alias, sizeof alias);
    if (!had_error && core_reply_failed(ctx->out)) {
        /* Forget the error this look-ahead recorded: the real resolution reports it in order. */
        ctx->out->status = 200;
        ctx->out->error_code[0] = 0;
        core_buf_reset(&ctx->out->message);
    }
    return core_ok(r) && !missing;
}

core_result kms_key_aliases(struct keystore_txn *txn, const struct kms_key *key, struct core_buf *names,
                            struct core_cursor *out, size_t max, size_t *n)
{
    *n = 0;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s/%s/", key->account, key->region);
    size_t plen = strlen(prefix);
    DEFER_CLEANUP(struct core_buf val = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&val, 64, 1024));
    struct keystore_iter *it = NULL;
    GUARD(keystore_iter_begin(txn, tbl_alias, core_cursor_str(prefix), &it));
    struct core_cursor id;
    core_result r;
    while (core_ok(r = keystore_iter_next(it, &id, &val))) {
        if (!core_cursor_starts_with(id, prefix)) break;
        if (val.len < KMS_KEY_ID_LEN || !core_cursor_eq_str(core_cursor_from(val.data, KMS_KEY_ID_LEN), key->key_id))
            continue;
        if (*n == max) {
            r = (core_result){ERR_LIMIT};
            break;
        }
        /* names has a fixed capacity (never reallocated), so earlier cursors stay valid. */
        size_t at = names->len;
        r = core_buf_append(names, id.ptr + plen, id.len - plen);
        if (!core_ok(r)) break;
        out[(*n)++] = core_cursor_from(names->data + at, id.len - plen);
    }
    keystore_iter_end(it);
    return r.err == ERR_NOT_FOUND ? (core_result){ERR_OK} : r;
}

core_result kms_alias_quota_check(struct kms_ctx *ctx, struct keystore_txn *txn, const struct kms_key *key)
{
    DEFER_CLEANUP(struct core_buf names = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&names, KMS_MAX_ALIASES_PER_KEY * 256u, KMS_MAX_ALIASES_PER_KEY * 256u));
    struct core_cursor v[KMS_MAX_ALIASES_PER_KEY];
    size_t n = 0;
    core_result r = kms_key_aliases(txn, key, &names, v, KMS_MAX_ALIASES_PER_KEY, &n);
    if (r.err != ERR_LIMIT) GUARD(r);
    /* "Aliases per KMS key: 50"; the message is the model's LimitExceededException text.
     * https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html#aliases-per-key */
    if (r.err == ERR_LIMIT || n >= KMS_MAX_ALIASES_PER_KEY)
        return kms_fail(ctx, KMS_E_LIMIT_EXCEEDED, "The request was rejected because a quota was exceeded. The KMS "
                        "key %s already has %u aliases.", key->arn, KMS_MAX_ALIASES_PER_KEY);
    CORE_OK;
}

core_result kms_key_load(struct kms_ctx *ctx, struct keystore_txn *txn, const struct kms_key_ref *ref,
                         struct kms_key *key)
{
    core_result r = kms_key_get(txn, ref->account, ref->region, ref->key_id, key);
    if (r.err == ERR_NOT_FOUND) {
        char arn[KMS_MAX_ARN], res[64];
        snprintf(res, sizeof res, "key/%s", ref->key_id);
        kms_arn(arn, sizeof arn, ref->region, ref->account, res);
        return kms_fail(ctx, KMS_E_NOT_FOUND, "Key '%s' does not exist", arn);
    }
    return r;
}

/* ---- AWS managed keys ------------------------------------------------------ */

/*
 * "AWS managed keys are KMS keys in your account that are created, managed,
 * and used on your behalf by an AWS service" - their aliases are
 * alias/aws/<service>, created on first use. The services with such keys:
 */
static const struct {
    const char *service;
    const char *what;
} managed_services[] = {
    {"acm", "ACM private keys"},
    {"backup", "Backup vaults"},
    {"cloud9", "Cloud9 environments"},
    {"codeartifact", "CodeArtifact repositories"},
    {"codecommit", "CodeCommit repositories"},
    {"connect", "Connect data"},
    {"dms", "DMS endpoints"},
    {"dynamodb", "DynamoDB tables"},
    {"ebs", "EBS volumes"},
    {"ecr", "ECR repositories"},
    {"elasticfilesystem", "EFS file systems"},
    {"es", "Elasticsearch domains"},
    {"fsx", "FSx file systems"},
    {"glue", "Glue data"},
    {"kafka", "MSK clusters"},
    {"kinesis", "Kinesis streams"},
    {"kinesisvideo", "Kinesis Video streams"},
    {"lambda", "Lambda functions"},
    {"lightsail", "Lightsail resources"},
    {"rds", "RDS databases"},
    {"redshift", "Redshift clusters"},
    {"s3", "S3 objects"},
    {"secretsmanager", "Secrets Manager secrets"},
    {"sns", "SNS topics"},
    {"sqs", "SQS queues"},
    {"ssm", "SSM parameters"},
    {"timestream", "Timestream databases"},
    {"xray", "X-Ray data"},
};

/*
 * The predefined aliases: those AWS creates in every account and Region
 * before any key backs them, which ListAliases returns without a
 * TargetKeyId ("These are predefined aliases that AWS has created but has
 * not yet associated with a KMS key", API_ListAliases). The set is the one a
 * new account's ListAliases answers with. Sorted (ListAliases merges them
 * with the stored aliases in name order); each is one of managed_services.
 */
const char *const kms_predefined_aliases[] = {
    "alias/aws/dynamodb", "alias/aws/ebs", "alias/aws/elasticfilesystem", "alias/aws/es",
    "alias/aws/glue",     "alias/aws/kinesisvideo", "alias/aws/rds",      "alias/aws/redshift",
    "alias/aws/s3",       "alias/aws/secretsmanager", "alias/aws/ssm",    "alias/aws/xray",
};
const size_t kms_predefined_aliases_count = sizeof kms_predefined_aliases / sizeof kms_predefined_aliases[0];

static int managed_index(struct core_cursor alias_name)
{
    if (!core_cursor_starts_with(alias_name, "alias/aws/")) return -1;
    struct core_cursor svc = core_cursor_from(alias_name.ptr + 10, alias_name.len - 10);
    for (size_t i = 0; i < sizeof managed_services / sizeof managed_services[0]; i++)
        if (core_cursor_eq_str(svc, managed_services[i].service)) return (int)i;
    return -1;
}

bool kms_managed_service(struct core_cursor alias_name) { return managed_index(alias_name) >= 0; }

struct managed_arg {
    struct kms_ctx *ctx;
    struct core_cursor name;
    int idx;
};

static core_result managed_create(struct keystore_txn *txn, void *argp)
{
    struct managed_arg *a = argp;
    struct kms_ctx *ctx = a->ctx;
    struct kms_alias al;
    core_result r = kms_alias_get(txn, ctx->account, ctx->region, a->name, &al);
    if (core_ok(r)) CORE_OK; /* another request created it first */
    if (r.err != ERR_NOT_FOUND) return r;

    int64_t now = ctx->call->now;
    DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
    GUARD(kms_key_init(&k));
    snprintf(k.account, sizeof k.account, "%s", ctx->account);
    snprintf(k.region, sizeof k.region, "%s", ctx->region);
    kms_new_uuid(k.key_id);
    kms_key_set_arn(&k);
    k.state = KMS_STATE_ENABLED;
    k.aws_managed = true;
    k.created = now;
    /* "AWS KMS automatically rotates AWS managed keys every year (approximately 365 days)." */
    k.rotation_enabled = true;
    k.rotation_period_days = KMS_DEFAULT_ROTATION_DAYS;
    k.next_rotation = now + (int64_t)KMS_DEFAULT_ROTATION_DAYS * KMS_DAY;
    GUARD(core_buf_printf(&k.description, "Default key that protects my %s when no other key is defined",
                          managed_services[a->idx].what));
    GUARD(kms_managed_policy(k.account, k.region, managed_services[a->idx].service, &k.policy));
    GUARD(kms_key_add_version(txn, &k, now, KMS_ROT_INITIAL));
    GUARD(kms_key_save(txn, &k));
    struct kms_alias na = {.created = now, .updated = now};
    memcpy(na.target, k.key_id, sizeof na.target);
    return kms_alias_put(txn, ctx->account, ctx->region, a->name, &na, KEYSTORE_NO_OVERWRITE);
}

core_result kms_managed_key_ensure(struct kms_ctx *ctx, struct core_cursor alias_name)
{
    struct managed_arg a = {.ctx = ctx, .name = alias_name, .idx = managed_index(alias_name)};
    ENSURE(a.idx >= 0, ERR_INVALID_ARG);
    return keystore_write(ctx->env->ks, managed_create, &a);
}

/* ---- the two shapes every key operation takes ------------------------------- */

static core_result open_once(struct kms_ctx *ctx, struct core_cursor id, enum kms_state_rule rule,
                             struct keystore_txn *txn, struct kms_key *key, bool *managed_missing)
{
    struct kms_key_ref ref;
    GUARD(kms_resolve(ctx, txn, id, ctx->action->key_forms, &ref, managed_missing));
    if (*managed_missing) CORE_OK;
    GUARD(kms_key_load(ctx, txn, &ref, key));
    GUARD(kms_authorize(ctx, txn, key));
    return kms_state_check(ctx, key, rule);
}

core_result kms_key_open(struct kms_ctx *ctx, struct core_cursor id, enum kms_state_rule rule, struct keystore_txn **txn,
                         struct kms_key *key)
{
    *txn = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        struct keystore_txn *t = NULL;
        GUARD(keystore_txn_begin(ctx->env->ks, false, &t));
        bool missing = false;
        core_result r = open_once(ctx, id, rule, t, key, &missing);
        if (core_ok(r) && !missing) {
            *txn = t;
            CORE_OK;
        }
        keystore_txn_abort(t);
        if (!core_ok(r)) return r;
        /* First use of alias/aws/<service> (or its ARN): create the AWS managed key, then look again. */
        struct core_cursor name = id;
        if (core_cursor_starts_with(id, "arn:")) {
            struct core_cursor rest = id, tok;
            for (int i = 0; i < 5; i++) core_cursor_split(&rest, ':', &tok);
            name = rest;
        }
        GUARD(kms_managed_key_ensure(ctx, name));
    }
    BAIL(ERR_NOT_FOUND);
}

static core_result mutate_fn(struct keystore_txn *txn, void *argp)
{
    struct kms_mutation *m = argp;
    struct kms_ctx *ctx = m->ctx;
    struct kms_key_ref ref;
    GUARD(kms_resolve(ctx, txn, m->id, ctx->action->key_forms, &ref, NULL));
    GUARD(kms_key_load(ctx, txn, &ref, &m->key));
    GUARD(kms_authorize(ctx, txn, &m->key));
    GUARD(kms_state_check(ctx, &m->key, m->rule));
    if (m->apply) {
        GUARD(m->apply(m, txn));
        GUARD(kms_key_save(txn, &m->key));
    }
    CORE_OK;
}

core_result kms_key_mutate(struct kms_mutation *m)
{
    GUARD(kms_key_init(&m->key));
    return keystore_write(m->ctx->env->ks, mutate_fn, m);
}

/* ---- alias names ---------------------------------------------------------------- */

core_result kms_param_alias_name(struct kms_ctx *ctx, const json_t *in, struct core_cursor *out, bool *present)
{
    GUARD(kms_param_string(ctx, in, "AliasName", 1, 256, true, out, present));
    if (!*present) CORE_OK;
    for (size_t i = 0; i < out->len; i++) {
        uint8_t c = out->ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' || c == '/' ||
              c == '_' || c == '-')) {
            char e[300];
            echo(*out, e);
            kms_invalid(ctx, "AliasName", e, "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$");
            *present = false;
            break;
        }
    }
    CORE_OK;
}

core_result kms_alias_name_check(struct kms_ctx *ctx, struct core_cursor name)
{
    /* https://docs.aws.amazon.com/kms/latest/developerguide/alias-about.html */
    if (!core_cursor_starts_with(name, "alias/") || name.len == 6)
        return kms_fail(ctx, KMS_E_VALIDATION, "%s",
                        "Alias must start with the prefix \"alias/\". Please see "
                        "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html");
    char e[300];
    echo(name, e);
    for (size_t i = 0; i < name.len; i++)
        if (name.ptr[i] == ':')
            return kms_fail(ctx, KMS_E_VALIDATION, "%s contains invalid characters for an alias", e);
    /* "The alias/aws/ prefix is reserved for AWS managed keys." */
    if (core_cursor_starts_with(name, "alias/aws/") || core_cursor_eq_str(name, "alias/aws"))
        return kms_fail(ctx, KMS_E_NOT_AUTHORIZED, "%s",
                        "Aliases beginning with alias/aws/ are reserved for AWS managed keys.");
    CORE_OK;
}

void kms_alias_arn(const struct kms_ctx *ctx, struct core_cursor name, char *out, size_t cap)
{
    char nm[257];
    size_t n = name.len < 256 ? name.len : 256;
    memcpy(nm, name.ptr, n);
    nm[n] = 0;
    kms_arn(out, cap, ctx->region, ctx->account, nm);
}

core_result kms_alias_authorize_target(struct kms_ctx *ctx, struct keystore_txn *txn, const struct kms_alias *al)
{
    DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
    GUARD(kms_key_init(&k));
    core_result r = kms_key_get(txn, ctx->account, ctx->region, al->target, &k);
    if (r.err == ERR_NOT_FOUND) CORE_OK;
    GUARD(r);
    return kms_authorize(ctx, txn, &k);
}

core_result kms_alias_point(struct kms_ctx *ctx, const json_t *in, kms_apply_fn apply)
{
    struct core_cursor name, target;
    bool have_name, have_target;
    GUARD(kms_param_alias_name(ctx, in, &name, &have_name));
    GUARD(kms_param_key_id(ctx, in, "TargetKeyId", true, &target, &have_target));
    GUARD(kms_params_done(ctx));
    GUARD(kms_alias_name_check(ctx, name));
    GUARD(kms_authorize_alias(ctx, name));
    struct kms_mutation m = {.ctx = ctx, .id = target, .rule = KMS_RULE_MANAGE, .apply = apply, .arg = &name};
    core_result r = kms_key_mutate(&m);
    kms_key_free(&m.key);
    if (!core_ok(r)) return kms_internal(ctx, r, ctx->action->row.name);
    return core_buf_append_str(&ctx->out->body, "{}");
}
