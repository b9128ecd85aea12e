/*
 * Access keys through the IAM API: CreateAccessKey, ListAccessKeys,
 * UpdateAccessKey, DeleteAccessKey. Secrets are generated into guarded
 * memory, shown once in CreateAccessKey's response and stored only sealed.
 */
#include <stdio.h>

#include "iam/iam_internal.h"

core_result iam_user_keys(struct keystore_txn *txn, const char *account, const char *user, struct iam_key_meta *out,
                          size_t cap, size_t *n)
{
    *n = 0;
    struct keystore_iter *it = NULL;
    GUARD(keystore_iter_begin(txn, IAM_T_ACCESS_KEY, core_cursor_str(""), &it));
    DEFER_CLEANUP(struct core_buf val = {0}, core_buf_cleanup);
    core_result r = core_buf_init_secret(&val, 4096);
    while (core_ok(r)) {
        struct core_cursor id;
        r = keystore_iter_next(it, &id, &val);
        if (!core_ok(r)) break;
        json_t *j = NULL;
        if (!core_ok(core_json_parse(core_buf_cursor(&val), 4, &j))) continue;
        if (strcmp(iam_js(j, "account"), account) == 0 && strcmp(iam_js(j, "user_name"), user) == 0 &&
            strcmp(iam_js(j, "type"), "user") == 0 && *n < cap && id.len < sizeof out[0].id) {
            struct iam_key_meta *m = &out[(*n)++];
            memcpy(m->id, id.ptr, id.len);
            m->id[id.len] = 0;
            m->active = json_is_true(json_object_get(j, "active"));
            m->created = (int64_t)json_integer_value(json_object_get(j, "created"));
        }
        json_decref(j);
    }
    keystore_iter_end(it);
    if (r.err == ERR_NOT_FOUND) CORE_OK;
    return r;
}

/* The user a key call is about: UserName, or the calling user. */
static core_result target_user(struct iam_ctx *ctx, struct keystore_txn *txn, json_t **rec, char *name, size_t cap)
{
    const struct query_str_spec spec = {.name = "UserName", .min = 1, .max = 128, .cs = QUERY_CS_NAME};
    struct core_cursor n;
    bool have;
    GUARD(query_param_str(ctx->form, ctx->out, &spec, &n, &have));
    const struct core_principal *p = ctx->call->caller;
    if (!have) {
        if (p->type != CORE_PRINCIPAL_USER)
            return iam_fail(ctx->out, IAM_E_VALIDATION,
                                    "Must specify userName when calling with non-User credentials");
        const char *slash = strrchr(p->arn, '/');
        n = core_cursor_str(slash ? slash + 1 : p->arn);
    }
    GUARD(iam_load_user(ctx, txn, n, rec));
    const char *stored = iam_user_name(*rec, n, name, cap);
    if (stored != name) snprintf(name, cap, "%s", stored);
    CORE_OK;
}

static core_result create_key_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    DEFER_CLEANUP(json_t *user = NULL, core_json_cleanup);
    char name[IAM_MAX_NAME + 1];
    GUARD(target_user(ctx, txn, &user, name, sizeof name));
    struct iam_key_meta keys[IAM_MAX_KEYS_PER_USER + 1];
    size_t n;
    GUARD(iam_user_keys(txn, ctx->account, name, keys, IAM_MAX_KEYS_PER_USER + 1, &n));
    if (n >= IAM_MAX_KEYS_PER_USER)
        return iam_fail(ctx->out, IAM_E_LIMIT_EXCEEDED, "Cannot exceed quota for AccessKeysPerUser: %u",
                                IAM_MAX_KEYS_PER_USER);
    DEFER_CLEANUP(struct iam_access_key k = {0}, iam_access_key_free);
    iam_principal_user(&k.owner, ctx->account, iam_js(user, "path")[0] ? iam_js(user, "path") : "/", name,
                       iam_js(user, "user_id"));
    snprintf(k.user_name, sizeof k.user_name, "%s", name);
    iam_generate_key_id("AKIA", k.id);
    memcpy(k.owner.access_key_id, k.id, sizeof k.id);
    k.active = true;
    k.created = ctx->now;
    GUARD(iam_generate_secret(&k.secret));
    GUARD(iam_access_key_put(txn, &k));
    struct core_buf *b = ctx->b;
    GUARD(core_buf_append_str(b, "<AccessKey>"));
    GUARD(core_xml_elem_str(b, "UserName", name));
    GUARD(core_xml_elem_str(b, "AccessKeyId", k.id));
    GUARD(core_xml_elem_str(b, "Status", "Active"));
    GUARD(core_xml_elem(b, "SecretAccessKey", core_secret_cursor(&k.secret)));
    GUARD(iam_xml_time(b, "CreateDate", k.created));
    return core_buf_append_str(b, "</AccessKey>");
}

core_result iam_create_access_key(struct iam_ctx *ctx) { return iam_write(ctx, create_key_txn); }

static core_result list_keys_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    DEFER_CLEANUP(json_t *user = NULL, core_json_cleanup);
    char name[IAM_MAX_NAME + 1];
    GUARD(target_user(ctx, txn, &user, name, sizeof name));
    int64_t max;
    struct core_cursor marker;
    GUARD(iam_param_paging(ctx, &max, &marker));
    struct iam_key_meta keys[16];
    size_t n;
    GUARD(iam_user_keys(txn, ctx->account, name, keys, 16, &n));
    GUARD(core_buf_append_str(ctx->b, "<AccessKeyMetadata>"));
    for (size_t i = 0; i < n; i++) {
        GUARD(core_buf_append_str(ctx->b, "<member>"));
        GUARD(core_xml_elem_str(ctx->b, "UserName", name));
        GUARD(core_xml_elem_str(ctx->b, "AccessKeyId", keys[i].id));
        GUARD(core_xml_elem_str(ctx->b, "Status", keys[i].active ? "Active" : "Inactive"));
        GUARD(iam_xml_time(ctx->b, "CreateDate", keys[i].created));
        GUARD(core_buf_append_str(ctx->b, "</member>"));
    }
    GUARD(core_buf_append_str(ctx->b, "</AccessKeyMetadata>"));
    return iam_xml_paging_end(ctx, false, core_cursor_str(""));
}

core_result iam_list_access_keys(struct iam_ctx *ctx) { return iam_read(ctx, list_keys_txn); }

/* Loads the named key and checks it belongs to the target user. */
static core_result load_key(struct iam_ctx *ctx, struct keystore_txn *txn, struct iam_access_key *k)
{
    DEFER_CLEANUP(json_t *user = NULL, core_json_cleanup);
    char name[IAM_MAX_NAME + 1];
    GUARD(target_user(ctx, txn, &user, name, sizeof name));
    const struct query_str_spec spec = {.name = "AccessKeyId", .required = true, .min = 16, .max = 128, .cs = QUERY_CS_WORD};
    struct core_cursor id;
    GUARD(query_param_str(ctx->form, ctx->out, &spec, &id, NULL));
    core_result r = iam_access_key_get(txn, id, k);
    if (r.err == ERR_NOT_FOUND || (core_ok(r) && (strcmp(k->user_name, name) != 0 ||
                                                  strcmp(k->owner.account, ctx->account) != 0)))
        return iam_fail(ctx->out, IAM_E_NO_SUCH_ENTITY, "The Access Key with id %.*s cannot be found.",
                                (int)id.len, (const char *)id.ptr);
    return r;
}

static core_result update_key_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    DEFER_CLEANUP(struct iam_access_key k = {0}, iam_access_key_free);
    GUARD(load_key(ctx, txn, &k));
    const struct query_str_spec spec = {.name = "Status", .required = true, .min = 1, .max = 16, .cs = QUERY_CS_WORD};
    struct core_cursor status;
    GUARD(query_param_str(ctx->form, ctx->out, &spec, &status, NULL));
    if (core_cursor_eq_str(status, "Active"))
        k.active = true;
    else if (core_cursor_eq_str(status, "Inactive"))
        k.active = false;
    else
        return iam_fail(ctx->out, IAM_E_VALIDATION,
                                "1 validation error detected: Value '%.*s' at 'status' failed to satisfy constraint: "
                                "Member must satisfy enum value set: [Active, Inactive]",
                                (int)(status.len > 32 ? 32 : status.len), (const char *)status.ptr);
    GUARD(iam_access_key_delete(txn, core_cursor_str(k.id)));
    return iam_access_key_put(txn, &k);
}

core_result iam_update_access_key(struct iam_ctx *ctx) { return iam_write(ctx, update_key_txn); }

static core_result delete_key_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    DEFER_CLEANUP(struct iam_access_key k = {0}, iam_access_key_free);
    GUARD(load_key(ctx, txn, &k));
    return iam_access_key_delete(txn, core_cursor_str(k.id));
}

core_result iam_delete_access_key(struct iam_ctx *ctx) { return iam_write(ctx, delete_key_txn); }
