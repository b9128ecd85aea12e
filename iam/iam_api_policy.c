/*
 * IAM identity policies. Inline: Put/Get/Delete/List UserPolicy and
 * RolePolicy, stored inside the user or role record. Managed: CreatePolicy,
 * GetPolicy, GetPolicyVersion, DeletePolicy, Attach/Detach/ListAttached for
 * users and roles. Documents are validated with the policy module and stored
 * as given; enforcing them is the authorization layer's job.
 */
#include <stdio.h>

#include "iam/iam_internal.h"
#include "policy/policy.h"

/* Users and roles differ only in names and limits. */
struct entity_kind {
    const char *table;
    const char *param;     /* "UserName" */
    const char *noun;      /* "user" */
    size_t inline_max;     /* characters */
    struct query_str_spec name_spec;
};

static const struct entity_kind USER = {IAM_T_USER, "UserName", "user", POLICY_IAM_USER_INLINE_MAX_CHARS,
                                        {.name = "UserName", .required = true, .min = 1, .max = 128, .cs = QUERY_CS_NAME}};
static const struct entity_kind ROLE = {IAM_T_ROLE, "RoleName", "role", POLICY_IAM_ROLE_INLINE_MAX_CHARS,
                                        {.name = "RoleName", .required = true, .min = 1, .max = 64, .cs = QUERY_CS_NAME}};

static const struct query_str_spec policy_name_spec = {.name = "PolicyName", .required = true, .min = 1, .max = 128,
                                                     .cs = QUERY_CS_NAME};
static const struct query_str_spec doc_spec = {.name = "PolicyDocument", .required = true, .min = 1, .max = 131072,
                                             .cs = QUERY_CS_ANY};
static const struct query_str_spec arn_spec = {.name = "PolicyArn", .required = true, .min = 20, .max = 2048,
                                             .cs = QUERY_CS_ANY};

static core_result load_entity(struct iam_ctx *ctx, struct keystore_txn *txn, const struct entity_kind *k,
                               struct core_cursor *name, json_t **rec)
{
    GUARD(query_param_str(ctx->form, ctx->out, &k->name_spec, name, NULL));
    core_result r = iam_rec_get(txn, k->table, ctx->account, *name, rec);
    if (r.err == ERR_NOT_FOUND) return iam_no_such(ctx, k->noun, *name);
    return r;
}

/* Makes sure rec[key] is an object/array and returns it (borrowed). */
static json_t *member(json_t *rec, const char *key, bool array)
{
    json_t *v = json_object_get(rec, key);
    if (array ? json_is_array(v) : json_is_object(v)) return v;
    v = array ? json_array() : json_object();
    json_object_set_new(rec, key, v);
    return v;
}

/* ---- inline ---- */

static core_result put_inline(struct iam_ctx *ctx, struct keystore_txn *txn, const struct entity_kind *k)
{
    struct core_cursor name, pname, doc;
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    GUARD(load_entity(ctx, txn, k, &name, &rec));
    GUARD(query_param_str(ctx->form, ctx->out, &policy_name_spec, &pname, NULL));
    GUARD(query_param_str(ctx->form, ctx->out, &doc_spec, &doc, NULL));
    GUARD(iam_check_policy(ctx, doc, POLICY_KIND_IDENTITY, k->inline_max));
    char key[160];
    snprintf(key, sizeof key, "%.*s", (int)pname.len, (const char *)pname.ptr);
    json_object_set_new(member(rec, "inline", false), key, json_stringn((const char *)doc.ptr, doc.len));
    return iam_rec_put(txn, k->table, ctx->account, name, rec, 0);
}

static core_result get_inline(struct iam_ctx *ctx, struct keystore_txn *txn, const struct entity_kind *k)
{
    struct core_cursor name, pname;
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    GUARD(load_entity(ctx, txn, k, &name, &rec));
    GUARD(query_param_str(ctx->form, ctx->out, &policy_name_spec, &pname, NULL));
    char key[160];
    snprintf(key, sizeof key, "%.*s", (int)pname.len, (const char *)pname.ptr);
    const char *doc = json_string_value(json_object_get(json_object_get(rec, "inline"), key));
    if (!doc)
        return iam_fail(ctx->out, IAM_E_NO_SUCH_ENTITY, "The %s policy with name %s cannot be found.", k->noun,
                                key);
    char stored[IAM_MAX_NAME + 1];
    GUARD(core_xml_elem_str(ctx->b, k->param,
                            k == &USER ? iam_user_name(rec, name, stored, sizeof stored) : iam_js(rec, "name")));
    GUARD(core_xml_elem_str(ctx->b, "PolicyName", key));
    return iam_xml_policy_doc(ctx->b, "PolicyDocument", doc);
}

static core_result delete_inline(struct iam_ctx *ctx, struct keystore_txn *txn, const struct entity_kind *k)
{
    struct core_cursor name, pname;
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    GUARD(load_entity(ctx, txn, k, &name, &rec));
    GUARD(query_param_str(ctx->form, ctx->out, &policy_name_spec, &pname, NULL));
    char key[160];
    snprintf(key, sizeof key, "%.*s", (int)pname.len, (const char *)pname.ptr);
    if (json_object_del(member(rec, "inline", false), key) != 0)
        return iam_fail(ctx->out, IAM_E_NO_SUCH_ENTITY, "The %s policy with name %s cannot be found.", k->noun,
                                key);
    return iam_rec_put(txn, k->table, ctx->account, name, rec, 0);
}

static core_result list_inline(struct iam_ctx *ctx, struct keystore_txn *txn, const struct entity_kind *k)
{
    struct core_cursor name;
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    GUARD(load_entity(ctx, txn, k, &name, &rec));
    int64_t max;
    struct core_cursor marker;
    GUARD(iam_param_paging(ctx, &max, &marker));
    GUARD(core_buf_append_str(ctx->b, "<PolicyNames>"));
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(rec, "inline"), key, v) GUARD(core_xml_elem_str(ctx->b, "member", key));
    GUARD(core_buf_append_str(ctx->b, "</PolicyNames>"));
    return iam_xml_paging_end(ctx, false, core_cursor_str(""));
}

static core_result put_user_policy_txn(struct iam_ctx *c, struct keystore_txn *t) { return put_inline(c, t, &USER); }
static core_result get_user_policy_txn(struct iam_ctx *c, struct keystore_txn *t) { return get_inline(c, t, &USER); }
static core_result del_user_policy_txn(struct iam_ctx *c, struct keystore_txn *t) { return delete_inline(c, t, &USER); }
static core_result list_user_policies_txn(struct iam_ctx *c, struct keystore_txn *t) { return list_inline(c, t, &USER); }
static core_result put_role_policy_txn(struct iam_ctx *c, struct keystore_txn *t) { return put_inline(c, t, &ROLE); }
static core_result get_role_policy_txn(struct iam_ctx *c, struct keystore_txn *t) { return get_inline(c, t, &ROLE); }
static core_result del_role_policy_txn(struct iam_ctx *c, struct keystore_txn *t) { return delete_inline(c, t, &ROLE); }
static core_result list_role_policies_txn(struct iam_ctx *c, struct keystore_txn *t) { return list_inline(c, t, &ROLE); }

core_result iam_put_user_policy(struct iam_ctx *ctx) { return iam_write(ctx, put_user_policy_txn); }
core_result iam_get_user_policy(struct iam_ctx *ctx) { return iam_read(ctx, get_user_policy_txn); }
core_result iam_delete_user_policy(struct iam_ctx *ctx) { return iam_write(ctx, del_user_policy_txn); }
core_result iam_list_user_policies(struct iam_ctx *ctx) { return iam_read(ctx, list_user_policies_txn); }
core_result iam_put_role_policy(struct iam_ctx *ctx) { return iam_write(ctx, put_role_policy_txn); }
core_result iam_get_role_policy(struct iam_ctx *ctx) { return iam_read(ctx, get_role_policy_txn); }
core_result iam_delete_role_policy(struct iam_ctx *ctx) { return iam_write(ctx, del_role_policy_txn); }
core_result iam_list_role_policies(struct iam_ctx *ctx) { return iam_read(ctx, list_role_policies_txn); }

/* ---- managed ---- */

static struct core_cursor arn_name(struct core_cursor arn)
{
    size_t last = 0;
    for (size_t i = 0; i < arn.len; i++)
        if (arn.ptr[i] == '/') last = i + 1;
    return core_cursor_from(arn.ptr + last, arn.len - last);
}

/* A shipped AWS managed policy as a record of the same shape ("aws": true; counts filled by the caller). */
static json_t *aws_record(const struct iam_aws_policy *a)
{
    char arn[160];
    snprintf(arn, sizeof arn, "arn:%s:iam::aws:policy/%s", core_partition_current(), a->name);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:b,s:I}", "name", a->name, "policy_id", a->policy_id,
                     "arn", arn, "path", "/", "version", a->version, "created", (json_int_t)a->created, "updated",
                     (json_int_t)a->updated, "description", a->description, "doc", a->doc, "aws", 1,
                     "attachments", (json_int_t)0);
}

/*
 * Loads a customer managed policy of the caller's account, or a shipped AWS
 * managed policy, by ARN.
 */
static core_result load_policy(struct iam_ctx *ctx, struct keystore_txn *txn, struct core_cursor arn, json_t **rec)
{
    const struct iam_aws_policy *aws = iam_aws_policy_find(arn);
    if (aws) {
        *rec = aws_record(aws);
        ENSURE(*rec != NULL, ERR_NOMEM);
        CORE_OK;
    }
    char prefix[64];
    snprintf(prefix, sizeof prefix, "arn:%s:iam::%s:policy/", core_partition_current(), ctx->account);
    core_result r = {ERR_NOT_FOUND};
    if (core_cursor_starts_with(arn, prefix)) r = iam_rec_get(txn, IAM_T_POLICY, ctx->account, arn_name(arn), rec);
    if (core_ok(r) && !core_cursor_eq_str(arn, iam_js(*rec, "arn"))) r.err = ERR_NOT_FOUND;
    if (r.err == ERR_NOT_FOUND) {
        if (!core_cursor_starts_with(arn, "arn:"))
            return iam_fail(ctx->out, IAM_E_INVALID_INPUT, "ARN %.*s is not valid.",
                                    (int)(arn.len > 256 ? 256 : arn.len), (const char *)arn.ptr);
        return iam_fail(ctx->out, IAM_E_NO_SUCH_ENTITY, "Policy %.*s does not exist or is not attachable.",
                                (int)(arn.len > 256 ? 256 : arn.len), (const char *)arn.ptr);
    }
    return r;
}

static bool is_aws(const json_t *rec) { return json_is_true(json_object_get(rec, "aws")); }

static const char *default_version(const json_t *rec) { return is_aws(rec) ? iam_js(rec, "version") : "v1"; }

static core_result xml_policy(struct core_buf *b, const json_t *rec, json_int_t boundary_uses)
{
    GUARD(core_buf_append_str(b, "<Policy>"));
    GUARD(core_xml_elem_str(b, "PolicyName", iam_js(rec, "name")));
    GUARD(core_xml_elem_str(b, "PolicyId", iam_js(rec, "policy_id")));
    GUARD(core_xml_elem_str(b, "Arn", iam_js(rec, "arn")));
    GUARD(core_xml_elem_str(b, "Path", iam_js(rec, "path")));
    GUARD(core_xml_elem_str(b, "DefaultVersionId", default_version(rec)));
    GUARD(core_buf_printf(b, "<AttachmentCount>%lld</AttachmentCount>",
                          (long long)json_integer_value(json_object_get(rec, "attachments"))));
    GUARD(core_buf_printf(b, "<PermissionsBoundaryUsageCount>%lld</PermissionsBoundaryUsageCount>"
                             "<IsAttachable>true</IsAttachable>",
                          (long long)boundary_uses));
    if (json_object_get(rec, "description")) GUARD(core_xml_elem_str(b, "Description", iam_js(rec, "description")));
    json_int_t created = json_integer_value(json_object_get(rec, "created"));
    json_int_t updated = json_object_get(rec, "updated") ? json_integer_value(json_object_get(rec, "updated")) : created;
    GUARD(iam_xml_time(b, "CreateDate", (int64_t)created));
    GUARD(iam_xml_time(b, "UpdateDate", (int64_t)updated));
    GUARD(iam_xml_tags(b, json_object_get(rec, "tags")));
    return core_buf_append_str(b, "</Policy>");
}

static core_result create_policy_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    struct core_cursor name, path, doc, desc;
    bool have_desc;
    GUARD(query_param_str(ctx->form, ctx->out, &policy_name_spec, &name, NULL));
    GUARD(iam_param_path(ctx, "Path", &path));
    GUARD(query_param_str(ctx->form, ctx->out, &doc_spec, &doc, NULL));
    const struct query_str_spec ds = {.name = "Description", .min = 0, .max = 1000, .cs = QUERY_CS_ANY};
    GUARD(query_param_str(ctx->form, ctx->out, &ds, &desc, &have_desc));
    struct query_tag tags[QUERY_MAX_TAGS];
    size_t ntags;
    GUARD(query_param_tags(ctx->form, ctx->out, "Tags", tags, &ntags));
    GUARD(iam_check_policy(ctx, doc, POLICY_KIND_IDENTITY, POLICY_IAM_MANAGED_MAX_CHARS));
    char policy_id[32], arn[800], pathz[IAM_MAX_PATH + 1], namez[160];
    iam_generate_unique_id("ANPA", policy_id);
    snprintf(pathz, sizeof pathz, "%.*s", (int)path.len, (const char *)path.ptr);
    snprintf(namez, sizeof namez, "%.*s", (int)name.len, (const char *)name.ptr);
    iam_arn(arn, sizeof arn, ctx->account, "policy", pathz, namez);
    DEFER_CLEANUP(json_t *rec = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s%,s:I,s:o}", "name", namez, "path", pathz,
                                          "policy_id", policy_id, "arn", arn, "created", (json_int_t)ctx->now, "doc",
                                          (const char *)doc.ptr, doc.len, "attachments", (json_int_t)0, "tags",
                                          iam_tags_json(tags, ntags)),
                  core_json_cleanup);
    ENSURE(rec != NULL, ERR_NOMEM);
    if (have_desc) json_object_set_new(rec, "description", json_stringn((const char *)desc.ptr, desc.len));
    core_result r = iam_rec_put(txn, IAM_T_POLICY, ctx->account, name, rec, KEYSTORE_NO_OVERWRITE);
    if (r.err == ERR_EXISTS)
        return iam_fail(ctx->out, IAM_E_ENTITY_ALREADY_EXISTS,
                                "A policy called %s already exists. Duplicate names are not allowed.", namez);
    GUARD(r);
    return xml_policy(ctx->b, rec, 0);
}

core_result iam_create_policy(struct iam_ctx *ctx) { return iam_write(ctx, create_policy_txn); }

static core_result get_policy_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    struct core_cursor arn;
    GUARD(query_param_str(ctx->form, ctx->out, &arn_spec, &arn, NULL));
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    GUARD(load_policy(ctx, txn, arn, &rec));
    int64_t attached = 0, boundaries = 0;
    if (is_aws(rec)) {
        GUARD(iam_aws_policy_counts(txn, ctx->account, iam_js(rec, "arn"), &attached, &boundaries));
        json_object_set_new(rec, "attachments", json_integer(attached));
    }
    return xml_policy(ctx->b, rec, boundaries);
}

core_result iam_get_policy(struct iam_ctx *ctx) { return iam_read(ctx, get_policy_txn); }

static core_result get_policy_version_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    struct core_cursor arn, version;
    GUARD(query_param_str(ctx->form, ctx->out, &arn_spec, &arn, NULL));
    const struct query_str_spec vs = {.name = "VersionId", .required = true, .min = 2, .max = 64, .cs = QUERY_CS_ANY};
    GUARD(query_param_str(ctx->form, ctx->out, &vs, &version, NULL));
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    GUARD(load_policy(ctx, txn, arn, &rec));
    if (!core_cursor_eq_str(version, default_version(rec)))
        return iam_fail(ctx->out, IAM_E_NO_SUCH_ENTITY, "Policy %s version %.*s does not exist or is not "
                                "attachable.", iam_js(rec, "arn"), (int)(version.len > 64 ? 64 : version.len),
                                (const char *)version.ptr);
    GUARD(core_buf_append_str(ctx->b, "<PolicyVersion>"));
    GUARD(iam_xml_policy_doc(ctx->b, "Document", iam_js(rec, "doc")));
    GUARD(core_xml_elem_str(ctx->b, "VersionId", default_version(rec)));
    GUARD(core_xml_elem_str(ctx->b, "IsDefaultVersion", "true"));
    const char *when = json_object_get(rec, "updated") ? "updated" : "created"; /* the default version's date */
    GUARD(iam_xml_time(ctx->b, "CreateDate", (int64_t)json_integer_value(json_object_get(rec, when))));
    return core_buf_append_str(ctx->b, "</PolicyVersion>");
}

core_result iam_get_policy_version(struct iam_ctx *ctx) { return iam_read(ctx, get_policy_version_txn); }

static core_result delete_policy_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    struct core_cursor arn;
    GUARD(query_param_str(ctx->form, ctx->out, &arn_spec, &arn, NULL));
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    GUARD(load_policy(ctx, txn, arn, &rec));
    if (is_aws(rec)) /* AWS's, not the account's: as on AWS, a cross-account refusal */
        return iam_fail(ctx->out, IAM_E_ACCESS_DENIED,
                                "User: %s is not authorized to perform: iam:DeletePolicy on resource: policy %s",
                                ctx->call->caller->arn, iam_js(rec, "arn"));
    if (json_integer_value(json_object_get(rec, "attachments")) > 0)
        return iam_fail(ctx->out, IAM_E_DELETE_CONFLICT, "Cannot delete a policy attached to entities.");
    return iam_rec_del(txn, IAM_T_POLICY, ctx->account, arn_name(arn));
}

core_result iam_delete_policy(struct iam_ctx *ctx) { return iam_write(ctx, delete_policy_txn); }

static core_result attach(struct iam_ctx *ctx, struct keystore_txn *txn, const struct entity_kind *k, bool on)
{
    struct core_cursor name, arn;
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    GUARD(load_entity(ctx, txn, k, &name, &rec));
    GUARD(query_param_str(ctx->form, ctx->out, &arn_spec, &arn, NULL));
    DEFER_CLEANUP(json_t *pol = NULL, core_json_cleanup);
    GUARD(load_policy(ctx, txn, arn, &pol));
    json_t *list = member(rec, "attached", true);
    size_t i, found = (size_t)-1;
    json_t *v;
    json_array_foreach(list, i, v) if (core_cursor_eq_str(arn, json_string_value(v) ? json_string_value(v) : "")) found = i;
    json_int_t count = json_integer_value(json_object_get(pol, "attachments"));
    if (on) {
        if (found != (size_t)-1) CORE_OK; /* attaching twice is a no-op in AWS */
        if (json_array_size(list) >= 10)
            return iam_fail(ctx->out, IAM_E_LIMIT_EXCEEDED, "Cannot exceed quota for PoliciesPer%s: 10",
                                    k == &USER ? "User" : "Role");
        json_array_append_new(list, json_string(iam_js(pol, "arn")));
        count++;
    } else {
        if (found == (size_t)-1)
            return iam_fail(ctx->out, IAM_E_NO_SUCH_ENTITY, "Policy %s was not found.", iam_js(pol, "arn"));
        json_array_remove(list, found);
        count = count > 0 ? count - 1 : 0;
    }
    GUARD(iam_rec_put(txn, k->table, ctx->account, name, rec, 0));
    if (is_aws(pol)) CORE_OK; /* counted per account when read (iam_aws_policy_counts) */
    json_object_set_new(pol, "attachments", json_integer(count));
    return iam_rec_put(txn, IAM_T_POLICY, ctx->account, arn_name(arn), pol, 0);
}

static core_result list_attached(struct iam_ctx *ctx, struct keystore_txn *txn, const struct entity_kind *k)
{
    struct core_cursor name;
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    GUARD(load_entity(ctx, txn, k, &name, &rec));
    int64_t max;
    struct core_cursor marker;
    GUARD(iam_param_paging(ctx, &max, &marker));
    GUARD(core_buf_append_str(ctx->b, "<AttachedPolicies>"));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(rec, "attached"), i, v) {
        struct core_cursor arn = core_cursor_str(json_string_value(v));
        GUARD(core_buf_append_str(ctx->b, "<member>"));
        GUARD(core_xml_elem(ctx->b, "PolicyName", arn_name(arn)));
        GUARD(core_xml_elem(ctx->b, "PolicyArn", arn));
        GUARD(core_buf_append_str(ctx->b, "</member>"));
    }
    GUARD(core_buf_append_str(ctx->b, "</AttachedPolicies>"));
    return iam_xml_paging_end(ctx, false, core_cursor_str(""));
}

static core_result attach_user_txn(struct iam_ctx *c, struct keystore_txn *t) { return attach(c, t, &USER, true); }
static core_result detach_user_txn(struct iam_ctx *c, struct keystore_txn *t) { return attach(c, t, &USER, false); }
static core_result attach_role_txn(struct iam_ctx *c, struct keystore_txn *t) { return attach(c, t, &ROLE, true); }
static core_result detach_role_txn(struct iam_ctx *c, struct keystore_txn *t) { return attach(c, t, &ROLE, false); }
static core_result list_att_user_txn(struct iam_ctx *c, struct keystore_txn *t) { return list_attached(c, t, &USER); }
static core_result list_att_role_txn(struct iam_ctx *c, struct keystore_txn *t) { return list_attached(c, t, &ROLE); }

core_result iam_attach_user_policy(struct iam_ctx *ctx) { return iam_write(ctx, attach_user_txn); }
core_result iam_detach_user_policy(struct iam_ctx *ctx) { return iam_write(ctx, detach_user_txn); }
core_result iam_attach_role_policy(struct iam_ctx *ctx) { return iam_write(ctx, attach_role_txn); }
core_result iam_detach_role_policy(struct iam_ctx *ctx) { return iam_write(ctx, detach_role_txn); }
core_result iam_list_attached_user_policies(struct iam_ctx *ctx) { return iam_read(ctx, list_att_user_txn); }
core_result iam_list_attached_role_policies(struct iam_ctx *ctx) { return iam_read(ctx, list_att_role_txn); }
