/*
 * AssumeRoot: short-term credentials of a member account's root user, for
 * one privileged task, asked for by the organization's management account
 * (or its delegated administrator for IAM) once centralized root access is
 * on. kmsd has no Organizations API: the organization is declared in a
 * file given with --organization (docs/sts.md):
 *   {"id": "o-...", "management_account": "111111111111",
 *    "member_accounts": ["222222222222", ...],
 *    "delegated_administrator": "333333333333",   (optional)
 *    "centralized_root_access": true}
 * The session is the target's root limited by the task policy, carried as
 * the session's policy (iam_authz.c gives such sessions full access AND the
 * session policy, never full access alone).
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoot.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user-privileged-task.html
 */
#include <stdio.h>
#include <string.h>

#include "policy/policy.h"
#include "sts/sts_internal.h"

#define TASK_PREFIX "arn:aws:iam::aws:policy/root-task/"

/*
 * The task policies AWS defines for root sessions ("AWS managed policies for
 * privileged tasks"), with the actions each allows; Resource "*" since the
 * session can only act in its own account.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/security-iam-awsmanpol.html
 */
static const struct {
    const char *name, *doc;
} task_policies[] = {
    {"IAMAuditRootUserCredentials",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"iam:GetAccountSummary\","
     "\"iam:GetAccessKeyLastUsed\",\"iam:GetLoginProfile\",\"iam:GetUser\",\"iam:ListAccessKeys\","
     "\"iam:ListMFADevices\",\"iam:ListMFADeviceTags\",\"iam:ListSigningCertificates\"],\"Resource\":\"*\"}]}"},
    {"IAMCreateRootUserPassword",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"iam:CreateLoginProfile\","
     "\"iam:GetLoginProfile\"],\"Resource\":\"*\"}]}"},
    {"IAMDeleteRootUserCredentials",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"iam:DeactivateMFADevice\","
     "\"iam:DeleteAccessKey\",\"iam:DeleteLoginProfile\",\"iam:DeleteSigningCertificate\","
     "\"iam:DeleteVirtualMFADevice\",\"iam:GetAccessKeyLastUsed\",\"iam:GetLoginProfile\",\"iam:GetUser\","
     "\"iam:ListAccessKeys\",\"iam:ListMFADevices\",\"iam:ListSigningCertificates\"],\"Resource\":\"*\"}]}"},
    {"S3UnlockBucketPolicy",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:DeleteBucketPolicy\","
     "\"s3:GetBucketPolicy\",\"s3:PutBucketPolicy\"],\"Resource\":\"*\"}]}"},
    {"SQSUnlockQueuePolicy",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"sqs:GetQueueAttributes\","
     "\"sqs:SetQueueAttributes\"],\"Resource\":\"*\"}]}"},
};

static bool account_id(const char *s)
{
    return s && strlen(s) == 12 && strspn(s, "0123456789") == 12;
}

core_result sts_org_load(struct sts_env *env, const char *path)
{
    DEFER_CLEANUP(struct core_buf text = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&text, 1024, 1024 * 1024));
    FILE *f = fopen(path, "rb");
    if (!f) {
        core_log(CORE_LOG_ERROR, "organization file %s cannot be read", path);
        BAIL(ERR_IO);
    }
    uint8_t chunk[4096];
    size_t n;
    core_result r = core_result_ok();
    while (core_ok(r) && (n = fread(chunk, 1, sizeof chunk, f)) > 0) r = core_buf_append(&text, chunk, n);
    fclose(f);
    GUARD(r);
    json_t *org = NULL;
    if (!core_ok(core_json_parse(core_buf_cursor(&text), 4, &org))) {
        core_log(CORE_LOG_ERROR, "organization file %s is not JSON", path);
        BAIL(ERR_PARSE);
    }
    const json_t *members = json_object_get(org, "member_accounts");
    bool ok = json_is_object(org) && account_id(json_string_value(json_object_get(org, "management_account"))) &&
              json_is_array(members) && json_is_string(json_object_get(org, "id"));
    const json_t *da = json_object_get(org, "delegated_administrator");
    ok = ok && (da == NULL || account_id(json_string_value(da)));
    size_t i;
    const json_t *m;
    json_array_foreach(members, i, m) ok = ok && account_id(json_string_value(m));
    if (!ok) {
        json_decref(org);
        core_log(CORE_LOG_ERROR, "organization file %s: needs id, management_account and member_accounts "
                 "(12-digit account ids)", path);
        BAIL(ERR_PARSE);
    }
    env->org = org;
    CORE_OK;
}

static bool is_member(const json_t *org, const char *account)
{
    size_t i;
    const json_t *m;
    json_array_foreach(json_object_get(org, "member_accounts"), i, m) if (core_cursor_eq_str(core_cursor_str(account),
                                                                                              json_string_value(m)))
        return true;
    return false;
}

static core_result denied(struct sts_ctx *ctx, const char *target_arn, const char *why)
{
    return sts_fail(ctx, STS_E_ACCESS_DENIED,
                    "User: %s is not authorized to perform: sts:AssumeRoot on resource: %s%s%s",
                    ctx->caller->arn, target_arn, why[0] ? " because " : "", why);
}

/* sts:AssumeRoot on the target's root, with sts:TaskPolicyArn; identity policies only. */
static core_result authorize(struct sts_ctx *ctx, const char *target_arn, struct core_cursor task_arn)
{
    if (ctx->env->iam == NULL) CORE_OK;
    struct sts_identity id;
    GUARD(sts_identity_begin(ctx, &id));
    bool allowed = id.id && id.id->full_access;
    struct policy_ctx pc;
    policy_ctx_init(&pc);
    struct policy_verdict v = {.allowed = false, .reason = POLICY_REASON_NO_IDENTITY};
    core_result r = core_result_ok();
    if (!allowed && id.id) {
        r = policy_ctx_set_action(&pc, core_cursor_str("sts:AssumeRoot"));
        policy_ctx_set_resource(&pc, core_cursor_str(target_arn));
        if (core_ok(r)) r = sts_request_context(ctx, &id, &pc);
        if (core_ok(r)) r = policy_ctx_add(&pc, core_cursor_str("sts:TaskPolicyArn"), task_arn);
        if (core_ok(r)) r = iam_authorize_identity(id.id, &pc, &v);
        allowed = core_ok(r) && v.allowed;
    }
    sts_identity_end(ctx, &id);
    if (r.err == ERR_NOMEM) return r;
    if (allowed) CORE_OK;
    return denied(ctx, target_arn, "no identity-based policy allows the sts:AssumeRoot action");
}

core_result sts_assume_root(struct sts_ctx *ctx)
{
    const struct core_form *f = ctx->call->form;
    const int64_t now = ctx->call->now;
    const struct query_str_spec tps = {.name = "TargetPrincipal", .required = true, .min = 12, .max = 2048,
                                     .cs = QUERY_CS_ANY};
    const struct query_str_spec tas = {.name = "TaskPolicyArn.arn", .required = true, .min = 20, .max = 2048,
                                     .cs = QUERY_CS_ANY};
    struct core_cursor target, task;
    int64_t duration = 900;
    GUARD(query_param_str(f, ctx->out, &tps, &target, NULL));
    GUARD(query_param_str(f, ctx->out, &tas, &task, NULL));
    GUARD(query_param_int(f, ctx->out, "DurationSeconds", false, 0, 900, &duration, NULL));

    /* "The member account principal ARN or account ID." */
    char account[16] = "";
    if (target.len == 12) {
        snprintf(account, sizeof account, "%.*s", 12, (const char *)target.ptr);
    } else {
        /* arn:<partition of this request>:iam::ACCOUNT:root */
        char pre[32];
        int pl = snprintf(pre, sizeof pre, "arn:%s:iam::", core_partition_current());
        if (pl > 0 && target.len == (size_t)pl + 17 && core_cursor_starts_with(target, pre) &&
            core_cursor_eq_str(core_cursor_from(target.ptr + pl + 12, 5), ":root"))
            snprintf(account, sizeof account, "%.*s", 12, (const char *)target.ptr + pl);
    }
    if (!account_id(account))
        return sts_fail(ctx, STS_E_VALIDATION, "Invalid TargetPrincipal: %.*s is not an account ID or an "
                        "account's root ARN", (int)(target.len > 256 ? 256 : target.len), (const char *)target.ptr);
    char target_arn[64];
    snprintf(target_arn, sizeof target_arn, "arn:%s:iam::%s:root", core_partition_current(), account);
    const char *doc = NULL;
    for (size_t i = 0; i < sizeof task_policies / sizeof task_policies[0]; i++) {
        char arn[128];
        snprintf(arn, sizeof arn, "%s%s", TASK_PREFIX, task_policies[i].name);
        if (core_cursor_eq_str(task, arn)) doc = task_policies[i].doc;
    }
    if (!doc)
        return sts_fail(ctx, STS_E_VALIDATION, "Invalid TaskPolicyArn: %.*s is not one of the root task "
                        "policies " TASK_PREFIX "{IAMAuditRootUserCredentials, IAMCreateRootUserPassword, "
                        "IAMDeleteRootUserCredentials, S3UnlockBucketPolicy, SQSUnlockQueuePolicy}",
                        (int)(task.len > 256 ? 256 : task.len), (const char *)task.ptr);

    /* "You cannot use root user credentials to make this call." */
    const struct core_principal *p = ctx->caller;
    if (p->type == CORE_PRINCIPAL_ROOT)
        return denied(ctx, target_arn, "root user credentials cannot call AssumeRoot");
    GUARD(authorize(ctx, target_arn, task));
    /* "You must use credentials from an Organizations management account or a delegated administrator
     * account for IAM", and "you must have centralized root access in your organization". */
    const json_t *org = ctx->env->org;
    if (!org || !json_is_true(json_object_get(org, "centralized_root_access")))
        return denied(ctx, target_arn, "centralized root access is not enabled for the organization");
    const char *mgmt = json_string_value(json_object_get(org, "management_account"));
    const char *da = json_string_value(json_object_get(org, "delegated_administrator"));
    const struct core_cursor caller_acct = core_cursor_str(p->account);
    if (!core_cursor_eq_str(caller_acct, mgmt) && !(da && core_cursor_eq_str(caller_acct, da)))
        return denied(ctx, target_arn, "the caller is not in the organization's management account or its "
                      "delegated administrator account");
    if (!is_member(org, account) || core_cursor_eq_str(core_cursor_str(account), mgmt))
        return denied(ctx, target_arn, "the target is not a member account of the organization");

    /* The caller's source identity follows into the root session and is returned. */
    const struct core_cursor si = ctx->call->session ? ctx->call->session->source_identity : (struct core_cursor){0};
    struct sts_issue in = {
        .type = CORE_PRINCIPAL_ROOT,
        .source_identity = si,
        .account = account,
        .arn = target_arn,
        .user_id = account,
        .role_arn = target_arn,
        .issued = now,
        .expires = now + duration,
        .has_session_policies = true,
        .policy = core_cursor_str(doc),
    };
    GUARD(sts_issue_credentials(ctx, &in));
    if (si.len) GUARD(core_xml_elem(&ctx->out->body, "SourceIdentity", si));
    CORE_OK;
}
