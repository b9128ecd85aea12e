#include <stdio.h>

#include "iam/iam_internal.h"
#include "iam/iam_seed.h"

/*
 * Seeded IAM entities: the records iam_api_user.c, iam_api_role.c,
 * iam_api_policy.c and iam_api_oidc.c write, built in the caller's
 * transaction so a whole seed commits or none of it does.
 */

static json_t *inline_json(const struct iam_seed_entity *e)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < e->n_policies; i++) {
        char key[160];
        snprintf(key, sizeof key, "%.*s", (int)e->policies[i].name.len, (const char *)e->policies[i].name.ptr);
        json_object_set_new(o, key, json_stringn((const char *)e->policies[i].document.ptr, e->policies[i].document.len));
    }
    return o;
}

static core_result exists(struct keystore_txn *txn, const char *table, const char *account, struct core_cursor name,
                          bool *found)
{
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    core_result r = iam_rec_get(txn, table, account, name, &rec);
    *found = core_ok(r);
    if (core_ok(r) || r.err == ERR_NOT_FOUND) CORE_OK;
    return r;
}

core_result iam_seed_user(struct keystore_txn *txn, const struct iam_seed_entity *u, bool *created)
{
    *created = false;
    ENSURE(u->name.len >= 1 && u->name.len <= IAM_MAX_NAME && u->n_policies <= IAM_SEED_MAX_POLICIES,
           ERR_INVALID_ARG);
    bool found = 0;
    GUARD(exists(txn, IAM_T_USER, u->account, u->name, &found));
    if (found) CORE_OK;
    struct core_cursor path = u->path.len ? u->path : core_cursor_str("/");
    char user_id[32];
    iam_generate_unique_id("AIDA", user_id);
    DEFER_CLEANUP(json_t *rec = json_pack("{s:s%,s:s,s:s%,s:s,s:I,s:[],s:o,s:[]}", "name", (const char *)u->name.ptr,
                                          u->name.len, "account", u->account, "path", (const char *)path.ptr,
                                          path.len, "user_id", user_id, "created", (json_int_t)u->now, "tags",
                                          "inline", inline_json(u), "attached"),
                  core_json_cleanup);
    ENSURE(rec != NULL, ERR_NOMEM);
    GUARD(iam_rec_put(txn, IAM_T_USER, u->account, u->name, rec, KEYSTORE_NO_OVERWRITE));
    *created = true;
    CORE_OK;
}

core_result iam_seed_role(struct keystore_txn *txn, const struct iam_seed_entity *r, bool *created)
{
    *created = false;
    ENSURE(r->name.len >= 1 && r->name.len <= IAM_MAX_NAME && r->trust.len > 0 &&
               r->n_policies <= IAM_SEED_MAX_POLICIES,
           ERR_INVALID_ARG);
    int64_t max_session = r->max_session ? r->max_session : 3600;
    ENSURE(max_session >= 3600 && max_session <= 43200, ERR_INVALID_ARG);
    bool found = 0;
    GUARD(exists(txn, IAM_T_ROLE, r->account, r->name, &found));
    if (found) CORE_OK;
    struct core_cursor path = r->path.len ? r->path : core_cursor_str("/");
    char role_id[32];
    iam_generate_unique_id("AROA", role_id);
    DEFER_CLEANUP(json_t *rec = json_pack("{s:s%,s:s,s:s%,s:s,s:I,s:s%,s:I,s:[],s:o,s:[]}", "name",
                                          (const char *)r->name.ptr, r->name.len, "account", r->account, "path",
                                          (const char *)path.ptr, path.len, "role_id", role_id, "created",
                                          (json_int_t)r->now, "trust", (const char *)r->trust.ptr, r->trust.len,
                                          "max_session", (json_int_t)max_session, "tags", "inline", inline_json(r),
                                          "attached"),
                  core_json_cleanup);
    ENSURE(rec != NULL, ERR_NOMEM);
    if (r->description.len)
        json_object_set_new(rec, "description",
                            json_stringn((const char *)r->description.ptr, r->description.len));
    GUARD(iam_rec_put(txn, IAM_T_ROLE, r->account, r->name, rec, KEYSTORE_NO_OVERWRITE));
    *created = true;
    CORE_OK;
}

core_result iam_seed_access_key(struct keystore_txn *txn, const char *account, struct core_cursor user,
                                struct core_cursor key_id, struct core_cursor secret, int64_t now, bool *created)
{
    *created = false;
    ENSURE(key_id.len >= 16 && key_id.len < IAM_ACCESS_KEY_ID_LEN + 12, ERR_INVALID_ARG);
    ENSURE(secret.len >= 1 && secret.len <= CORE_MAX_SECRET_KEY_BYTES, ERR_INVALID_ARG);
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    GUARD(iam_rec_get(txn, IAM_T_USER, account, user, &rec));
    char name[IAM_MAX_NAME + 1];
    const char *uname = iam_user_name(rec, user, name, sizeof name);
    const char *path = iam_js(rec, "path")[0] ? iam_js(rec, "path") : "/";

    struct iam_access_key existing = {0};
    core_result r = iam_access_key_get(txn, key_id, &existing);
    if (core_ok(r)) {
        bool same = strcmp(existing.owner.account, account) == 0 && strcmp(existing.user_name, uname) == 0;
        iam_access_key_free(&existing);
        ENSURE(same, ERR_EXISTS);
        CORE_OK;
    }
    iam_access_key_free(&existing);
    if (r.err != ERR_NOT_FOUND) return r;

    struct iam_access_key k = {0};
    iam_principal_user(&k.owner, account, path, uname, iam_js(rec, "user_id"));
    snprintf(k.id, sizeof k.id, "%.*s", (int)key_id.len, (const char *)key_id.ptr);
    snprintf(k.owner.access_key_id, sizeof k.owner.access_key_id, "%s", k.id);
    snprintf(k.user_name, sizeof k.user_name, "%s", uname);
    k.active = true;
    k.created = now;
    r = core_secret_copy(&k.secret, secret.ptr, secret.len);
    if (core_ok(r)) r = iam_access_key_put(txn, &k);
    iam_access_key_free(&k);
    GUARD(r);
    *created = true;
    CORE_OK;
}

core_result iam_seed_oidc(struct keystore_txn *txn, const char *account, struct core_cursor url,
                          const struct core_cursor *clients, size_t n_clients, const struct core_cursor *thumbs,
                          size_t n_thumbs, struct core_cursor jwks, int64_t now, bool *created)
{
    *created = false;
    ENSURE(core_cursor_starts_with(url, "https://") && url.len > 8 && url.len <= 255 + 8, ERR_INVALID_ARG);
    struct core_cursor host = core_cursor_from(url.ptr + 8, url.len - 8);
    for (size_t i = 0; i < host.len; i++)
        ENSURE(host.ptr[i] > 0x20 && host.ptr[i] < 0x7f && host.ptr[i] != '?' && host.ptr[i] != '#',
               ERR_INVALID_ARG);
    bool found = 0;
    GUARD(exists(txn, IAM_T_OIDC, account, host, &found));
    if (found) CORE_OK;
    char hostz[272], arn[320];
    snprintf(hostz, sizeof hostz, "%.*s", (int)host.len, (const char *)host.ptr);
    snprintf(arn, sizeof arn, "arn:%s:iam::%s:oidc-provider/%s", core_partition_current(), account, hostz);
    json_t *jc = json_array(), *jt = json_array();
    for (size_t i = 0; jc && i < n_clients; i++)
        json_array_append_new(jc, json_stringn((const char *)clients[i].ptr, clients[i].len));
    for (size_t i = 0; jt && i < n_thumbs; i++)
        json_array_append_new(jt, json_stringn((const char *)thumbs[i].ptr, thumbs[i].len));
    DEFER_CLEANUP(json_t *rec = json_pack("{s:s,s:s,s:o,s:o,s:I,s:[]}", "url", hostz, "arn", arn, "clients", jc,
                                          "thumbprints", jt, "created", (json_int_t)now, "tags"),
                  core_json_cleanup);
    ENSURE(rec != NULL, ERR_NOMEM);
    GUARD(iam_rec_put(txn, IAM_T_OIDC, account, host, rec, KEYSTORE_NO_OVERWRITE));
    if (jwks.len) GUARD(iam_oidc_set_jwks(txn, account, host, jwks));
    *created = true;
    CORE_OK;
}
