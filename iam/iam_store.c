/*
 * IAM entity records in the keystore: one JSON document per entity, keyed
 * "ACCOUNT/lower-case-name" (IAM names are unique without regard to case:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
 * "names are not distinguished by case"). Also the readers sts/ uses.
 */
#include <stdio.h>
#include <string.h>

#include "iam/iam_internal.h"
#include "policy/policy.h"

void iam_rec_id(char *out, size_t cap, const char *account, struct core_cursor name)
{
    size_t n = (size_t)snprintf(out, cap, "%s/", account);
    for (size_t i = 0; i < name.len && n + 1 < cap; i++) {
        uint8_t c = name.ptr[i];
        out[n++] = (char)((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
    }
    out[n < cap ? n : cap - 1] = 0;
}

core_result iam_rec_get(struct keystore_txn *txn, const char *table, const char *account, struct core_cursor name,
                        json_t **out)
{
    *out = NULL;
    ENSURE(name.len > 0 && name.len <= 512, ERR_NOT_FOUND);
    char id[600];
    iam_rec_id(id, sizeof id, account, name);
    DEFER_CLEANUP(struct core_buf val = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&val, 1024, CORE_MAX_RECORD_BYTES));
    GUARD(keystore_get(txn, table, core_cursor_str(id), &val));
    GUARD(core_json_parse(core_buf_cursor(&val), 8, out));
    ENSURE(json_is_object(*out), ERR_PARSE);
    CORE_OK;
}

core_result iam_rec_put(struct keystore_txn *txn, const char *table, const char *account, struct core_cursor name,
                        const json_t *rec, unsigned flags)
{
    char id[600];
    iam_rec_id(id, sizeof id, account, name);
    DEFER_CLEANUP(struct core_buf val = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&val, 1024, CORE_MAX_RECORD_BYTES));
    GUARD(core_json_dump(rec, &val));
    return keystore_put(txn, table, core_cursor_str(id), core_buf_cursor(&val), flags);
}

core_result iam_rec_del(struct keystore_txn *txn, const char *table, const char *account, struct core_cursor name)
{
    char id[600];
    iam_rec_id(id, sizeof id, account, name);
    return keystore_del(txn, table, core_cursor_str(id));
}

core_result iam_list_begin(struct iam_list *l, struct keystore_txn *txn, const char *table, const char *account,
                           struct core_cursor marker)
{
    *l = (struct iam_list){0};
    snprintf(l->prefix, sizeof l->prefix, "%s/", account);
    GUARD(core_buf_init(&l->val, 1024, CORE_MAX_RECORD_BYTES));
    struct core_cursor from = marker.len ? marker : core_cursor_str(l->prefix);
    return keystore_iter_begin(txn, table, from, &l->it);
}

core_result iam_list_next(struct iam_list *l, struct core_cursor *id, json_t **rec)
{
    *rec = NULL;
    GUARD(keystore_iter_next(l->it, id, &l->val));
    ENSURE(core_cursor_starts_with(*id, l->prefix), ERR_NOT_FOUND);
    GUARD(core_json_parse(core_buf_cursor(&l->val), 8, rec));
    CORE_OK;
}

void iam_list_end(struct iam_list *l)
{
    if (l->it) keystore_iter_end(l->it);
    core_buf_free(&l->val);
    *l = (struct iam_list){0};
}

core_result iam_list_by_path(struct iam_ctx *ctx, struct keystore_txn *txn, const char *table, const char *wrapper,
                             iam_member_fn member)
{
    int64_t max;
    struct core_cursor marker, prefix;
    GUARD(iam_param_paging(ctx, &max, &marker));
    const struct query_str_spec ps = {.name = "PathPrefix", .min = 1, .max = 512, .cs = QUERY_CS_ANY};
    bool have_prefix;
    GUARD(query_param_str(ctx->form, ctx->out, &ps, &prefix, &have_prefix));
    DEFER_CLEANUP(struct iam_list l = {0}, iam_list_end);
    GUARD(iam_list_begin(&l, txn, table, ctx->account, marker));
    GUARD(core_buf_printf(ctx->b, "<%s>", wrapper));
    int64_t count = 0;
    bool truncated = false;
    char next[600] = "";
    for (;;) {
        struct core_cursor id;
        DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
        core_result r = iam_list_next(&l, &id, &rec);
        if (r.err == ERR_NOT_FOUND) break;
        GUARD(r);
        const char *path = iam_js(rec, "path")[0] ? iam_js(rec, "path") : "/";
        if (have_prefix && strncmp(path, (const char *)prefix.ptr, prefix.len) != 0) continue;
        if (count == max) {
            truncated = true;
            snprintf(next, sizeof next, "%.*s", (int)id.len, (const char *)id.ptr);
            break;
        }
        struct core_cursor name = id;
        GUARD(core_cursor_advance(&name, strlen(l.prefix), NULL));
        GUARD(member(ctx, name, rec));
        count++;
    }
    GUARD(core_buf_printf(ctx->b, "</%s>", wrapper));
    return iam_xml_paging_end(ctx, truncated, core_cursor_str(next));
}

const char *iam_js(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

void iam_arn(char *out, size_t cap, const char *account, const char *kind, const char *path, const char *name)
{
    /* IAM is global: its ARNs carry the partition of the request being served (core_partition.h). */
    snprintf(out, cap, "arn:%s:iam::%s:%s%s%s", core_partition_current(), account, kind, path, name);
}

bool iam_arn_tail(struct core_cursor arn, struct core_cursor *tail)
{
    struct core_cursor rest;
    if (!core_arn_match(arn, "iam", NULL, &rest) || !core_cursor_starts_with(rest, ":")) return false;
    *tail = core_cursor_from(rest.ptr + 1, rest.len - 1);
    return true;
}

static int cap_len(struct core_cursor c) { return (int)(c.len > 128 ? 128 : c.len); }

core_result iam_no_such(struct iam_ctx *ctx, const char *kind, struct core_cursor name)
{
    return iam_fail(ctx->out, IAM_E_NO_SUCH_ENTITY, "The %s with name %.*s cannot be found.", kind,
                            cap_len(name), (const char *)name.ptr);
}

core_result iam_exists(struct iam_ctx *ctx, const char *kind, struct core_cursor name)
{
    return iam_fail(ctx->out, IAM_E_ENTITY_ALREADY_EXISTS, "%s with name %.*s already exists.", kind,
                            cap_len(name), (const char *)name.ptr);
}

core_result iam_check_policy(struct iam_ctx *ctx, struct core_cursor doc, int kind, size_t max_chars)
{
    struct policy_parse_opts o = {.kind = (enum policy_kind)kind, .max_bytes = max_chars, .ignore_whitespace = true};
    DEFER_CLEANUP(struct core_buf reason = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&reason, 256, 2048));
    struct policy *p = NULL;
    enum policy_problem problem = POLICY_PROBLEM_NONE;
    core_result r = policy_parse(&o, doc, &p, &reason, &problem);
    policy_free(p);
    if (core_ok(r)) CORE_OK;
    if (r.err == ERR_LIMIT && problem == POLICY_PROBLEM_SIZE)
        return iam_fail(ctx->out, IAM_E_LIMIT_EXCEEDED, "Cannot exceed quota for PolicySize: %zu", max_chars);
    if (r.err != ERR_PARSE && r.err != ERR_LIMIT) return r;
    return iam_fail(ctx->out, IAM_E_MALFORMED_POLICY_DOCUMENT, "%.*s",
                            (int)(reason.len ? reason.len : 0), reason.len ? (const char *)reason.data : "");
}

core_result iam_xml_tags(struct core_buf *b, const json_t *tags)
{
    if (!json_is_array(tags) || json_array_size(tags) == 0) CORE_OK;
    GUARD(core_buf_append_str(b, "<Tags>"));
    size_t i;
    const json_t *t;
    json_array_foreach(tags, i, t) {
        GUARD(core_buf_append_str(b, "<member>"));
        GUARD(core_xml_elem_str(b, "Key", iam_js(t, "Key")));
        GUARD(core_xml_elem_str(b, "Value", iam_js(t, "Value")));
        GUARD(core_buf_append_str(b, "</member>"));
    }
    return core_buf_append_str(b, "</Tags>");
}

json_t *iam_tags_json(const struct query_tag *tags, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_pack("{s:s%,s:s%}", "Key", (const char *)tags[i].key.ptr, tags[i].key.len,
                                           "Value", tags[i].value.len ? (const char *)tags[i].value.ptr : "",
                                           tags[i].value.len));
    return a;
}

/* ---- readers for sts/ ---- */

void iam_role_free(struct iam_role *r)
{
    core_buf_free(&r->trust);
    *r = (struct iam_role){0};
}

static core_result copy_str(const json_t *o, const char *key, char *dst, size_t cap)
{
    const char *s = json_string_value(json_object_get(o, key));
    ENSURE(s != NULL && strlen(s) < cap, ERR_PARSE);
    memcpy(dst, s, strlen(s) + 1);
    CORE_OK;
}

core_result iam_role_get(struct keystore_txn *txn, const char *account, struct core_cursor name, struct iam_role *out)
{
    *out = (struct iam_role){0};
    DEFER_CLEANUP(json_t *j = NULL, core_json_cleanup);
    GUARD(iam_rec_get(txn, IAM_T_ROLE, account, name, &j));
    GUARD(copy_str(j, "account", out->account, sizeof out->account));
    GUARD(copy_str(j, "name", out->name, sizeof out->name));
    GUARD(copy_str(j, "path", out->path, sizeof out->path));
    GUARD(copy_str(j, "role_id", out->role_id, sizeof out->role_id));
    iam_arn(out->arn, sizeof out->arn, out->account, "role", out->path, out->name);
    out->max_session = (unsigned)json_integer_value(json_object_get(j, "max_session"));
    if (out->max_session < 3600) out->max_session = 3600;
    const char *trust = iam_js(j, "trust");
    GUARD(core_buf_init(&out->trust, strlen(trust) + 1, CORE_MAX_RECORD_BYTES));
    GUARD(core_buf_append_str(&out->trust, trust));
    CORE_OK;
}

core_result iam_parse_role_arn(struct core_cursor arn, char account[16], struct core_cursor *name)
{
    struct core_cursor rest, tok;
    ENSURE(iam_arn_tail(arn, &rest), ERR_PARSE); /* any partition: arn:aws-cn:iam::... */
    core_cursor_split(&rest, ':', &tok);
    ENSURE(tok.len == 12, ERR_PARSE);
    for (size_t i = 0; i < 12; i++) ENSURE(tok.ptr[i] >= '0' && tok.ptr[i] <= '9', ERR_PARSE);
    memcpy(account, tok.ptr, 12);
    account[12] = 0;
    ENSURE(core_cursor_starts_with(rest, "role/"), ERR_PARSE);
    /* The name is what follows the last '/'; the path is ignored (names are unique per account). */
    size_t last = 0;
    for (size_t i = 0; i < rest.len; i++)
        if (rest.ptr[i] == '/') last = i;
    *name = core_cursor_from(rest.ptr + last + 1, rest.len - last - 1);
    ENSURE(name->len > 0 && name->len <= IAM_MAX_NAME, ERR_PARSE);
    CORE_OK;
}

core_result iam_user_principal(struct keystore_txn *txn, const char *account, struct core_cursor name,
                               struct core_principal *out)
{
    DEFER_CLEANUP(json_t *j = NULL, core_json_cleanup);
    GUARD(iam_rec_get(txn, IAM_T_USER, account, name, &j));
    char n[IAM_MAX_NAME + 1];
    const char *stored = iam_js(j, "name");
    if (!*stored) { /* the bootstrap record of "admin" predates names in records */
        ENSURE(name.len <= IAM_MAX_NAME, ERR_PARSE);
        memcpy(n, name.ptr, name.len);
        n[name.len] = 0;
        stored = n;
    }
    iam_principal_user(out, account, iam_js(j, "path")[0] ? iam_js(j, "path") : "/", stored, iam_js(j, "user_id"));
    CORE_OK;
}

core_result iam_managed_policy_exists(struct keystore_txn *txn, struct core_cursor arn, bool *exists)
{
    *exists = false;
    if (iam_arn_is_aws_managed(arn)) { /* AWS managed: the shipped catalogue */
        *exists = iam_aws_policy_find(arn) != NULL;
        CORE_OK;
    }
    struct core_cursor tail;
    if (!iam_arn_tail(arn, &tail) || tail.len < 12 + 8) CORE_OK;
    char account[16];
    memcpy(account, tail.ptr, 12);
    account[12] = 0;
    size_t last = 0;
    for (size_t i = 0; i < arn.len; i++)
        if (arn.ptr[i] == '/') last = i;
    if (last == 0) CORE_OK;
    struct core_cursor name = core_cursor_from(arn.ptr + last + 1, arn.len - last - 1);
    DEFER_CLEANUP(json_t *j = NULL, core_json_cleanup);
    core_result r = iam_rec_get(txn, IAM_T_POLICY, account, name, &j);
    if (r.err == ERR_NOT_FOUND) CORE_OK;
    GUARD(r);
    *exists = core_cursor_eq_str(arn, iam_js(j, "arn"));
    CORE_OK;
}

void iam_oidc_provider_free(struct iam_oidc_provider *p)
{
    if (p->client_ids) json_decref(p->client_ids);
    if (p->jwks) json_decref(p->jwks);
    *p = (struct iam_oidc_provider){0};
}

core_result iam_oidc_get(struct keystore_txn *txn, const char *account, struct core_cursor url,
                         struct iam_oidc_provider *out)
{
    *out = (struct iam_oidc_provider){0};
    DEFER_CLEANUP(json_t *j = NULL, core_json_cleanup);
    GUARD(iam_rec_get(txn, IAM_T_OIDC, account, url, &j));
    GUARD(copy_str(j, "arn", out->arn, sizeof out->arn));
    GUARD(copy_str(j, "url", out->url, sizeof out->url));
    out->client_ids = json_incref(json_object_get(j, "clients"));
    json_t *jwks = json_object_get(j, "jwks");
    out->jwks = json_is_object(jwks) ? json_incref(jwks) : NULL;
    CORE_OK;
}

core_result iam_oidc_set_jwks(struct keystore_txn *txn, const char *account, struct core_cursor url,
                              struct core_cursor jwks_json)
{
    ENSURE(jwks_json.len <= 64 * 1024, ERR_LIMIT);
    DEFER_CLEANUP(json_t *jwks = NULL, core_json_cleanup);
    GUARD(core_json_parse(jwks_json, 8, &jwks));
    const json_t *keys = json_object_get(jwks, "keys");
    ENSURE(json_is_array(keys) && json_array_size(keys) > 0 && json_array_size(keys) <= 32, ERR_PARSE);
    size_t i;
    const json_t *k;
    json_array_foreach(keys, i, k) ENSURE(json_is_string(json_object_get(k, "kty")), ERR_PARSE);
    DEFER_CLEANUP(json_t *j = NULL, core_json_cleanup);
    GUARD(iam_rec_get(txn, IAM_T_OIDC, account, url, &j));
    json_object_set(j, "jwks", jwks);
    return iam_rec_put(txn, IAM_T_OIDC, account, url, j, 0);
}

core_result iam_xml_policy_doc(struct core_buf *b, const char *tag, const char *doc)
{
    static const char hex[] = "0123456789ABCDEF";
    GUARD(core_buf_printf(b, "<%s>", tag));
    for (const uint8_t *p = (const uint8_t *)doc; *p; p++) {
        uint8_t c = *p;
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                     c == '_' || c == '.' || c == '~';
        if (plain) {
            GUARD(core_buf_append_u8(b, c));
        } else {
            uint8_t e[3] = {'%', (uint8_t)hex[c >> 4], (uint8_t)hex[c & 15]};
            GUARD(core_buf_append(b, e, 3));
        }
    }
    return core_buf_printf(b, "</%s>", tag);
}

core_result iam_xml_time(struct core_buf *b, const char *tag, int64_t t)
{
    char ts[32];
    core_time_iso8601(t, ts);
    return core_xml_elem_str(b, tag, ts);
}
