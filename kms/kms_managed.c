#include <stdio.h>

#include "kms/kms_internal.h"

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
