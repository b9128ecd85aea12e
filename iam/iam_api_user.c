/* IAM users: CreateUser, GetUser, ListUsers, DeleteUser. */
#include <stdio.h>

#include "iam/iam_internal.h"

static const struct query_str_spec user_name_spec = {.name = "UserName", .required = true, .min = 1, .max = 64,
                                                   .cs = QUERY_CS_NAME};

const char *iam_user_name(const json_t *rec, struct core_cursor fallback, char *buf, size_t cap)
{
    const char *n = iam_js(rec, "name");
    if (*n) return n;
    size_t len = fallback.len < cap - 1 ? fallback.len : cap - 1;
    memcpy(buf, fallback.ptr, len);
    buf[len] = 0;
    return buf;
}

core_result iam_load_user(struct iam_ctx *ctx, struct keystore_txn *txn, struct core_cursor name, json_t **rec)
{
    core_result r = iam_rec_get(txn, IAM_T_USER, ctx->account, name, rec);
    if (r.err == ERR_NOT_FOUND) return iam_no_such(ctx, "user", name);
    return r;
}

core_result iam_xml_user(struct core_buf *b, const char *elem, const json_t *rec, const char *name)
{
    GUARD(core_buf_printf(b, "<%s>", elem));
    const char *path = iam_js(rec, "path")[0] ? iam_js(rec, "path") : "/";
    char arn[700];
    iam_arn(arn, sizeof arn, iam_js(rec, "account"), "user", path, name);
    GUARD(core_xml_elem_str(b, "Path", path));
    GUARD(core_xml_elem_str(b, "UserName", name));
    GUARD(core_xml_elem_str(b, "UserId", iam_js(rec, "user_id")));
    GUARD(core_xml_elem_str(b, "Arn", arn));
    GUARD(iam_xml_time(b, "CreateDate", (int64_t)json_integer_value(json_object_get(rec, "created"))));
    const char *boundary = iam_js(rec, "boundary");
    if (*boundary) {
        GUARD(core_buf_append_str(b, "<PermissionsBoundary><PermissionsBoundaryType>PermissionsBoundaryPolicy"
                                     "</PermissionsBoundaryType>"));
        GUARD(core_xml_elem_str(b, "PermissionsBoundaryArn", boundary));
        GUARD(core_buf_append_str(b, "</PermissionsBoundary>"));
    }
    GUARD(iam_xml_tags(b, json_object_get(rec, "tags")));
    return core_buf_printf(b, "</%s>", elem);
}

/* A new user's record, with a new AIDA unique id; tags is consumed. */
static json_t *user_record(const char *account, struct core_cursor name, struct core_cursor path, int64_t now,
                           json_t *tags)
{
    char user_id[32];
    iam_generate_unique_id("AIDA", user_id);
    return json_pack("{s:s%,s:s,s:s%,s:s,s:I,s:o,s:{},s:[]}", "name", (const char *)name.ptr, name.len, "account",
                     account, "path", (const char *)path.ptr, path.len, "user_id", user_id, "created",
                     (json_int_t)now, "tags", tags ? tags : json_array(), "inline", "attached");
}

core_result iam_user_ensure(struct keystore_txn *txn, const char *account, struct core_cursor name, int64_t now,
                            struct core_principal *out, char user_name[IAM_MAX_NAME + 1], bool *created)
{
    *created = false;
    char acct[16]; /* account may point into *out */
    snprintf(acct, sizeof acct, "%s", account);
    account = acct;
    bool valid = name.len >= 1 && name.len <= IAM_MAX_NAME;
    for (size_t i = 0; valid && i < name.len; i++) {
        uint8_t c = name.ptr[i];
        valid = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                (c != 0 && strchr("_+=,.@-", c) != NULL);
    }
    ENSURE(valid, ERR_INVALID_ARG);
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    core_result r = iam_rec_get(txn, IAM_T_USER, account, name, &rec);
    if (r.err == ERR_NOT_FOUND) {
        rec = user_record(account, name, core_cursor_str("/"), now, NULL);
        ENSURE(rec != NULL, ERR_NOMEM);
        GUARD(iam_rec_put(txn, IAM_T_USER, account, name, rec, KEYSTORE_NO_OVERWRITE));
        char n[IAM_MAX_NAME + 1];
        snprintf(n, sizeof n, "%.*s", (int)name.len, (const char *)name.ptr);
        GUARD(iam_uid_put(txn, iam_js(rec, "user_id"), "user", account, n));
        *created = true;
    } else {
        GUARD(r);
    }
    const char *stored = iam_user_name(rec, name, user_name, IAM_MAX_NAME + 1);
    if (stored != user_name) snprintf(user_name, IAM_MAX_NAME + 1, "%s", stored);
    iam_principal_user(out, account, iam_js(rec, "path")[0] ? iam_js(rec, "path") : "/", user_name,
                       iam_js(rec, "user_id"));
    CORE_OK;
}

static core_result create_user_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    struct core_cursor name, path, boundary;
    GUARD(query_param_str(ctx->form, ctx->out, &user_name_spec, &name, NULL));
    GUARD(iam_param_path(ctx, "Path", &path));
    const struct query_str_spec bs = {.name = "PermissionsBoundary", .min = 20, .max = 2048, .cs = QUERY_CS_ANY};
    bool have_boundary;
    GUARD(query_param_str(ctx->form, ctx->out, &bs, &boundary, &have_boundary));
    struct query_tag tags[QUERY_MAX_TAGS];
    size_t ntags;
    GUARD(query_param_tags(ctx->form, ctx->out, "Tags", tags, &ntags));
    if (have_boundary) {
        bool exists;
        GUARD(iam_managed_policy_exists(txn, boundary, &exists));
        if (!exists)
            return iam_fail(ctx->out, IAM_E_NO_SUCH_ENTITY, "Policy %.*s does not exist or is not attachable.",
                                    (int)boundary.len, (const char *)boundary.ptr);
    }
    DEFER_CLEANUP(json_t *rec = user_record(ctx->account, name, path, ctx->now, iam_tags_json(tags, ntags)),
                  core_json_cleanup);
    ENSURE(rec != NULL, ERR_NOMEM);
    if (have_boundary) json_object_set_new(rec, "boundary", json_stringn((const char *)boundary.ptr, boundary.len));
    core_result r = iam_rec_put(txn, IAM_T_USER, ctx->account, name, rec, KEYSTORE_NO_OVERWRITE);
    if (r.err == ERR_EXISTS) return iam_exists(ctx, "User", name);
    GUARD(r);
    char n[IAM_MAX_NAME + 1];
    GUARD(iam_uid_put(txn, iam_js(rec, "user_id"), "user", ctx->account, iam_user_name(rec, name, n, sizeof n)));
    return iam_xml_user(ctx->b, "User", rec, iam_user_name(rec, name, n, sizeof n));
}

core_result iam_create_user(struct iam_ctx *ctx) { return iam_write(ctx, create_user_txn); }

static core_result get_user_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    struct query_str_spec spec = user_name_spec;
    spec.required = false;
    struct core_cursor name;
    bool have;
    GUARD(query_param_str(ctx->form, ctx->out, &spec, &name, &have));
    const struct core_principal *p = ctx->call->caller;
    if (!have) {
        if (p->type == CORE_PRINCIPAL_ROOT) {
            GUARD(core_buf_append_str(ctx->b, "<User>"));
            GUARD(core_xml_elem_str(ctx->b, "UserId", p->account));
            GUARD(core_xml_elem_str(ctx->b, "Arn", p->arn));
            GUARD(iam_xml_time(ctx->b, "CreateDate", 0));
            return core_buf_append_str(ctx->b, "</User>");
        }
        if (p->type != CORE_PRINCIPAL_USER)
            return iam_fail(ctx->out, IAM_E_VALIDATION,
                                    "Must specify userName when calling with non-User credentials");
        /* arn:aws:iam::ACCT:user/PATH/NAME: the name follows the last '/'. */
        const char *slash = strrchr(p->arn, '/');
        name = core_cursor_str(slash ? slash + 1 : p->arn);
    }
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    GUARD(iam_load_user(ctx, txn, name, &rec));
    char n[IAM_MAX_NAME + 1];
    return iam_xml_user(ctx->b, "User", rec, iam_user_name(rec, name, n, sizeof n));
}

core_result iam_get_user(struct iam_ctx *ctx) { return iam_read(ctx, get_user_txn); }

static core_result user_member(struct iam_ctx *ctx, struct core_cursor name, const json_t *rec)
{
    char n[IAM_MAX_NAME + 1];
    return iam_xml_user(ctx->b, "member", rec, iam_user_name(rec, name, n, sizeof n));
}

static core_result list_users_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    return iam_list_by_path(ctx, txn, IAM_T_USER, "Users", user_member);
}

core_result iam_list_users(struct iam_ctx *ctx) { return iam_read(ctx, list_users_txn); }

static core_result delete_user_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    struct core_cursor name;
    GUARD(query_param_str(ctx->form, ctx->out, &user_name_spec, &name, NULL));
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    GUARD(iam_load_user(ctx, txn, name, &rec));
    char n[IAM_MAX_NAME + 1];
    const char *stored = iam_user_name(rec, name, n, sizeof n);
    struct iam_key_meta keys[8];
    size_t nkeys;
    GUARD(iam_user_keys(txn, ctx->account, stored, keys, 8, &nkeys));
    if (nkeys) return iam_fail(ctx->out, IAM_E_DELETE_CONFLICT, "Cannot delete entity, must delete access keys first.");
    if (json_object_size(json_object_get(rec, "inline")))
        return iam_fail(ctx->out, IAM_E_DELETE_CONFLICT, "Cannot delete entity, must delete policies first.");
    if (json_array_size(json_object_get(rec, "attached")))
        return iam_fail(ctx->out, IAM_E_DELETE_CONFLICT, "Cannot delete entity, must detach all policies first.");
    if (*iam_js(rec, "mfa"))
        return iam_fail(ctx->out, IAM_E_DELETE_CONFLICT, "Cannot delete entity, must delete MFA device first.");
    GUARD(iam_uid_del(txn, iam_js(rec, "user_id")));
    return iam_rec_del(txn, IAM_T_USER, ctx->account, name);
}

core_result iam_delete_user(struct iam_ctx *ctx) { return iam_write(ctx, delete_user_txn); }
