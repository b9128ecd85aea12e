/* IAM roles: CreateRole, GetRole, ListRoles, DeleteRole, UpdateAssumeRolePolicy, UpdateRole. */
#include <stdio.h>

#include "iam/iam_internal.h"
#include "policy/policy.h"

static const struct query_str_spec role_name_spec = {.name = "RoleName", .required = true, .min = 1, .max = 64,
                                                   .cs = QUERY_CS_NAME};

core_result iam_load_role(struct iam_ctx *ctx, struct keystore_txn *txn, struct core_cursor name, json_t **rec)
{
    core_result r = iam_rec_get(txn, IAM_T_ROLE, ctx->account, name, rec);
    if (r.err == ERR_NOT_FOUND) return iam_no_such(ctx, "role", name);
    return r;
}

/*
 * Stores a trust policy's principals as unique ids; an ARN naming no user or
 * role is AWS's MalformedPolicyDocument "Invalid principal in policy".
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
 */
static core_result trust_store(struct iam_ctx *ctx, struct keystore_txn *txn, struct core_cursor doc,
                               struct core_buf *out)
{
    GUARD(core_buf_init(out, doc.len + 1, CORE_MAX_RECORD_BYTES));
    char bad[520];
    core_result r = iam_policy_principals_store(txn, doc, out, bad, sizeof bad);
    if (r.err == ERR_PARSE)
        return iam_fail(ctx->out, IAM_E_MALFORMED_POLICY_DOCUMENT, "Invalid principal in policy: \"AWS\":\"%s\"",
                                bad);
    return r;
}

static core_result xml_role(struct core_buf *b, struct keystore_txn *txn, const char *elem, const json_t *rec,
                            bool with_tags)
{
    GUARD(core_buf_printf(b, "<%s>", elem));
    char arn[700];
    iam_arn(arn, sizeof arn, iam_js(rec, "account"), "role", iam_js(rec, "path"), iam_js(rec, "name"));
    GUARD(core_xml_elem_str(b, "Path", iam_js(rec, "path")));
    GUARD(core_xml_elem_str(b, "RoleName", iam_js(rec, "name")));
    GUARD(core_xml_elem_str(b, "RoleId", iam_js(rec, "role_id")));
    GUARD(core_xml_elem_str(b, "Arn", arn));
    GUARD(iam_xml_time(b, "CreateDate", (int64_t)json_integer_value(json_object_get(rec, "created"))));
    /* Principals stored as unique ids show as ARNs while they exist. */
    const char *trust = iam_js(rec, "trust");
    DEFER_CLEANUP(struct core_buf shown = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&shown, strlen(trust) + 256, CORE_MAX_RECORD_BYTES));
    GUARD(iam_policy_principals_show(txn, core_cursor_str(trust), &shown));
    GUARD(core_buf_append_u8(&shown, 0));
    GUARD(iam_xml_policy_doc(b, "AssumeRolePolicyDocument", (const char *)shown.data));
    if (json_object_get(rec, "description")) GUARD(core_xml_elem_str(b, "Description", iam_js(rec, "description")));
    GUARD(core_buf_printf(b, "<MaxSessionDuration>%lld</MaxSessionDuration>",
                          (long long)json_integer_value(json_object_get(rec, "max_session"))));
    const char *boundary = iam_js(rec, "boundary");
    if (*boundary) {
        GUARD(core_buf_append_str(b, "<PermissionsBoundary><PermissionsBoundaryType>PermissionsBoundaryPolicy"
                                     "</PermissionsBoundaryType>"));
        GUARD(core_xml_elem_str(b, "PermissionsBoundaryArn", boundary));
        GUARD(core_buf_append_str(b, "</PermissionsBoundary>"));
    }
    if (with_tags) GUARD(iam_xml_tags(b, json_object_get(rec, "tags")));
    GUARD(core_buf_append_str(b, "<RoleLastUsed/>"));
    return core_buf_printf(b, "</%s>", elem);
}

static const struct query_str_spec desc_spec = {.name = "Description", .min = 0, .max = 1000, .cs = QUERY_CS_ANY};

static core_result create_role_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    struct core_cursor name, path, trust, desc, boundary;
    bool have_desc, have_boundary;
    int64_t max_session = 3600;
    GUARD(query_param_str(ctx->form, ctx->out, &role_name_spec, &name, NULL));
    GUARD(iam_param_path(ctx, "Path", &path));
    const struct query_str_spec ts = {.name = "AssumeRolePolicyDocument", .required = true, .min = 1, .max = 131072,
                                    .cs = QUERY_CS_ANY};
    GUARD(query_param_str(ctx->form, ctx->out, &ts, &trust, NULL));
    GUARD(query_param_str(ctx->form, ctx->out, &desc_spec, &desc, &have_desc));
    GUARD(query_param_int(ctx->form, ctx->out, "MaxSessionDuration", false, 3600, 43200, &max_session, NULL));
    const struct query_str_spec bs = {.name = "PermissionsBoundary", .min = 20, .max = 2048, .cs = QUERY_CS_ANY};
    GUARD(query_param_str(ctx->form, ctx->out, &bs, &boundary, &have_boundary));
    struct query_tag tags[QUERY_MAX_TAGS];
    size_t ntags;
    GUARD(query_param_tags(ctx->form, ctx->out, "Tags", tags, &ntags));
    GUARD(iam_check_policy(ctx, trust, POLICY_KIND_TRUST, POLICY_IAM_TRUST_MAX_CHARS));
    DEFER_CLEANUP(struct core_buf stored = {0}, core_buf_cleanup);
    GUARD(trust_store(ctx, txn, trust, &stored));
    trust = core_buf_cursor(&stored);
    if (have_boundary) {
        bool exists;
        GUARD(iam_managed_policy_exists(txn, boundary, &exists));
        if (!exists)
            return iam_fail(ctx->out, IAM_E_NO_SUCH_ENTITY, "Policy %.*s does not exist or is not attachable.",
                                    (int)boundary.len, (const char *)boundary.ptr);
    }
    char role_id[32];
    iam_generate_unique_id("AROA", role_id);
    DEFER_CLEANUP(json_t *rec = json_pack("{s:s%,s:s,s:s%,s:s,s:I,s:s%,s:I,s:o,s:{},s:[]}", "name",
                                          (const char *)name.ptr, name.len, "account", ctx->account, "path",
                                          (const char *)path.ptr, path.len, "role_id", role_id, "created",
                                          (json_int_t)ctx->now, "trust", (const char *)trust.ptr, trust.len,
                                          "max_session", (json_int_t)max_session, "tags", iam_tags_json(tags, ntags),
                                          "inline", "attached"),
                  core_json_cleanup);
    ENSURE(rec != NULL, ERR_NOMEM);
    if (have_desc) json_object_set_new(rec, "description", json_stringn((const char *)desc.ptr, desc.len));
    if (have_boundary) json_object_set_new(rec, "boundary", json_stringn((const char *)boundary.ptr, boundary.len));
    core_result r = iam_rec_put(txn, IAM_T_ROLE, ctx->account, name, rec, KEYSTORE_NO_OVERWRITE);
    if (r.err == ERR_EXISTS) return iam_exists(ctx, "Role", name);
    GUARD(r);
    GUARD(iam_uid_put(txn, role_id, "role", ctx->account, iam_js(rec, "name")));
    return xml_role(ctx->b, txn, "Role", rec, true);
}

core_result iam_create_role(struct iam_ctx *ctx) { return iam_write(ctx, create_role_txn); }

static core_result get_role_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    struct core_cursor name;
    GUARD(query_param_str(ctx->form, ctx->out, &role_name_spec, &name, NULL));
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    GUARD(iam_load_role(ctx, txn, name, &rec));
    return xml_role(ctx->b, txn, "Role", rec, true);
}

core_result iam_get_role(struct iam_ctx *ctx) { return iam_read(ctx, get_role_txn); }

static core_result role_member(struct iam_ctx *ctx, struct core_cursor name, const json_t *rec)
{
    (void)name;
    return xml_role(ctx->b, ctx->txn, "member", rec, false);
}

static core_result list_roles_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    return iam_list_by_path(ctx, txn, IAM_T_ROLE, "Roles", role_member);
}

core_result iam_list_roles(struct iam_ctx *ctx) { return iam_read(ctx, list_roles_txn); }

static core_result delete_role_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    struct core_cursor name;
    GUARD(query_param_str(ctx->form, ctx->out, &role_name_spec, &name, NULL));
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    GUARD(iam_load_role(ctx, txn, name, &rec));
    if (json_object_size(json_object_get(rec, "inline")))
        return iam_fail(ctx->out, IAM_E_DELETE_CONFLICT, "Cannot delete entity, must delete policies first.");
    if (json_array_size(json_object_get(rec, "attached")))
        return iam_fail(ctx->out, IAM_E_DELETE_CONFLICT, "Cannot delete entity, must detach all policies first.");
    GUARD(iam_uid_del(txn, iam_js(rec, "role_id")));
    return iam_rec_del(txn, IAM_T_ROLE, ctx->account, name);
}

core_result iam_delete_role(struct iam_ctx *ctx) { return iam_write(ctx, delete_role_txn); }

static core_result update_trust_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    struct core_cursor name, doc;
    GUARD(query_param_str(ctx->form, ctx->out, &role_name_spec, &name, NULL));
    const struct query_str_spec ds = {.name = "PolicyDocument", .required = true, .min = 1, .max = 131072,
                                    .cs = QUERY_CS_ANY};
    GUARD(query_param_str(ctx->form, ctx->out, &ds, &doc, NULL));
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    GUARD(iam_load_role(ctx, txn, name, &rec));
    GUARD(iam_check_policy(ctx, doc, POLICY_KIND_TRUST, POLICY_IAM_TRUST_MAX_CHARS));
    DEFER_CLEANUP(struct core_buf stored = {0}, core_buf_cleanup);
    GUARD(trust_store(ctx, txn, doc, &stored));
    json_object_set_new(rec, "trust", json_stringn((const char *)stored.data, stored.len));
    return iam_rec_put(txn, IAM_T_ROLE, ctx->account, name, rec, 0);
}

core_result iam_update_assume_role_policy(struct iam_ctx *ctx) { return iam_write(ctx, update_trust_txn); }

static core_result update_role_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    struct core_cursor name, desc;
    bool have_desc, have_max;
    int64_t max_session = 0;
    GUARD(query_param_str(ctx->form, ctx->out, &role_name_spec, &name, NULL));
    GUARD(query_param_str(ctx->form, ctx->out, &desc_spec, &desc, &have_desc));
    GUARD(query_param_int(ctx->form, ctx->out, "MaxSessionDuration", false, 3600, 43200, &max_session, &have_max));
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    GUARD(iam_load_role(ctx, txn, name, &rec));
    if (have_desc) json_object_set_new(rec, "description", json_stringn((const char *)desc.ptr, desc.len));
    if (have_max) json_object_set_new(rec, "max_session", json_integer(max_session));
    return iam_rec_put(txn, IAM_T_ROLE, ctx->account, name, rec, 0);
}

core_result iam_update_role(struct iam_ctx *ctx) { return iam_write(ctx, update_role_txn); }
