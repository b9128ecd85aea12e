#include "iam/iam_internal.h"

#include <stdio.h>

#define T_ACCESS_KEY "access_key"
#define T_META "iam_meta"

void iam_access_key_free(struct iam_access_key *k)
{
    core_secret_free(&k->secret);
    core_wipe(k, sizeof *k);
}

static const char *type_name(enum core_principal_type t)
{
    switch (t) {
    case CORE_PRINCIPAL_ROOT: return "root";
    case CORE_PRINCIPAL_USER: return "user";
    case CORE_PRINCIPAL_ASSUMED_ROLE: return "assumed-role";
    case CORE_PRINCIPAL_FEDERATED: return "federated";
    case CORE_PRINCIPAL_ANONYMOUS: return "anonymous";
    }
    return "anonymous";
}

static core_result type_parse(const char *s, enum core_principal_type *t)
{
    static const enum core_principal_type all[] = {CORE_PRINCIPAL_ROOT, CORE_PRINCIPAL_USER,
                                                   CORE_PRINCIPAL_ASSUMED_ROLE, CORE_PRINCIPAL_FEDERATED};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(s, type_name(all[i])) == 0) {
            *t = all[i];
            CORE_OK;
        }
    BAIL(ERR_PARSE);
}

static core_result copy_field(const json_t *obj, const char *name, char *dst, size_t cap)
{
    const char *s = json_string_value(json_object_get(obj, name));
    ENSURE(s != NULL && strlen(s) < cap, ERR_PARSE);
    memcpy(dst, s, strlen(s) + 1);
    CORE_OK;
}

bool iam_via_service_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < IAM_VIA_SERVICE_MIN || n > IAM_VIA_SERVICE_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-')) return false;
    return true;
}

core_result iam_access_key_get(struct keystore_txn *txn, struct core_cursor id, struct iam_access_key *out)
{
    *out = (struct iam_access_key){0};
    ENSURE(id.len > 0 && id.len < sizeof out->id, ERR_NOT_FOUND);
    /* The record holds the secret: open it into guarded memory only. */
    DEFER_CLEANUP(struct core_buf rec = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&rec, 4096));
    GUARD(keystore_get(txn, T_ACCESS_KEY, id, &rec));
    DEFER_CLEANUP(json_t *j = NULL, core_json_cleanup);
    GUARD(core_json_parse(core_buf_cursor(&rec), 4, &j));
    memcpy(out->id, id.ptr, id.len);
    out->id[id.len] = 0;
    GUARD(copy_field(j, "account", out->owner.account, sizeof out->owner.account));
    GUARD(copy_field(j, "arn", out->owner.arn, sizeof out->owner.arn));
    GUARD(copy_field(j, "user_id", out->owner.user_id, sizeof out->owner.user_id));
    GUARD(copy_field(j, "user_name", out->user_name, sizeof out->user_name));
    char type[32];
    GUARD(copy_field(j, "type", type, sizeof type));
    GUARD(type_parse(type, &out->owner.type));
    memcpy(out->owner.access_key_id, out->id, sizeof out->id);
    /* Optional: records written before the field existed act as themselves. */
    if (json_object_get(j, "via_service") != NULL) {
        GUARD(copy_field(j, "via_service", out->owner.via_service, sizeof out->owner.via_service));
        ENSURE(iam_via_service_valid(out->owner.via_service), ERR_PARSE);
    }
    out->active = json_is_true(json_object_get(j, "active"));
    out->created = (int64_t)json_integer_value(json_object_get(j, "created"));
    const json_t *sec = json_object_get(j, "secret");
    ENSURE(json_is_string(sec) && json_string_length(sec) > 0 &&
               json_string_length(sec) <= CORE_MAX_SECRET_KEY_BYTES,
           ERR_PARSE);
    GUARD(core_secret_copy(&out->secret, json_string_value(sec), json_string_length(sec)));
    CORE_OK;
}

core_result iam_access_key_put(struct keystore_txn *txn, const struct iam_access_key *k)
{
    ENSURE(k->secret.ptr != NULL && k->secret.len > 0, ERR_INVALID_ARG);
    ENSURE(k->owner.via_service[0] == 0 || iam_via_service_valid(k->owner.via_service), ERR_INVALID_ARG);
    DEFER_CLEANUP(json_t *j = json_object(), core_json_cleanup);
    ENSURE(j != NULL, ERR_NOMEM);
    json_object_set_new(j, "account", json_string(k->owner.account));
    json_object_set_new(j, "arn", json_string(k->owner.arn));
    json_object_set_new(j, "user_id", json_string(k->owner.user_id));
    json_object_set_new(j, "user_name", json_string(k->user_name));
    json_object_set_new(j, "type", json_string(type_name(k->owner.type)));
    json_object_set_new(j, "active", json_boolean(k->active));
    json_object_set_new(j, "created", json_integer(k->created));
    if (k->owner.via_service[0]) json_object_set_new(j, "via_service", json_string(k->owner.via_service));
    json_object_set_new(j, "secret", json_stringn((const char *)k->secret.ptr, k->secret.len));
    DEFER_CLEANUP(struct core_buf rec = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&rec, 4096));
    GUARD(core_json_dump(j, &rec));
    return keystore_put(txn, T_ACCESS_KEY, core_cursor_str(k->id), core_buf_cursor(&rec), KEYSTORE_NO_OVERWRITE);
}

core_result iam_access_key_delete(struct keystore_txn *txn, struct core_cursor id)
{
    /* The record holds the secret access key: destroyed, not just unlinked,
     * so no copy survives in the data file's free pages (docs/keystore.md). */
    return keystore_destroy(txn, T_ACCESS_KEY, id);
}

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

void iam_generate_key_id(const char *prefix, char out[IAM_ACCESS_KEY_ID_LEN + 1])
{
    uint8_t r[16];
    core_random(r, sizeof r);
    memcpy(out, prefix, 4);
    for (size_t i = 0; i < 16; i++) out[4 + i] = b32[r[i] & 31];
    out[20] = 0;
}

void iam_generate_unique_id(const char *prefix, char out[32])
{
    uint8_t r[17];
    core_random(r, sizeof r);
    memcpy(out, prefix, 4);
    for (size_t i = 0; i < 17; i++) out[4 + i] = b32[r[i] & 31];
    out[21] = 0;
}

core_result iam_generate_secret(struct core_secret *out)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    GUARD(core_secret_alloc(out, IAM_SECRET_KEY_LEN));
    uint8_t r[IAM_SECRET_KEY_LEN];
    core_random(r, sizeof r);
    for (size_t i = 0; i < IAM_SECRET_KEY_LEN; i++) out->ptr[i] = (uint8_t)alphabet[r[i] & 63];
    core_wipe(r, sizeof r);
    CORE_OK;
}

void iam_principal_user(struct core_principal *p, const char *account, const char *path, const char *name,
                        const char *user_id)
{
    *p = (struct core_principal){.type = CORE_PRINCIPAL_USER};
    snprintf(p->account, sizeof p->account, "%s", account);
    snprintf(p->arn, sizeof p->arn, "arn:%s:iam::%s:user%s%s", core_partition_current(), account, path, name);
    snprintf(p->user_id, sizeof p->user_id, "%s", user_id);
}

void iam_principal_root(struct core_principal *p, const char *account)
{
    *p = (struct core_principal){.type = CORE_PRINCIPAL_ROOT};
    snprintf(p->account, sizeof p->account, "%s", account);
    snprintf(p->arn, sizeof p->arn, "arn:%s:iam::%s:root", core_partition_current(), account);
    snprintf(p->user_id, sizeof p->user_id, "%s", account);
}

struct bootstrap_arg {
    const char *account;
    struct iam_access_key *admin;
    bool created;
};

static core_result bootstrap_txn(struct keystore_txn *txn, void *varg)
{
    struct bootstrap_arg *a = varg;
    DEFER_CLEANUP(struct core_buf mark = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&mark, 64, 256));
    core_result r = keystore_get(txn, T_META, core_cursor_str("bootstrapped"), &mark);
    if (core_ok(r)) CORE_OK; /* an existing keystore: nothing to do */
    ENSURE(r.err == ERR_NOT_FOUND, r.err);

    struct iam_access_key *k = a->admin;
    char user_id[32];
    iam_generate_unique_id("AIDA", user_id);
    iam_principal_user(&k->owner, a->account, "/", "admin", user_id);
    snprintf(k->user_name, sizeof k->user_name, "admin");
    iam_generate_key_id("AKIA", k->id);
    memcpy(k->owner.access_key_id, k->id, sizeof k->id);
    k->active = true;
    k->created = core_clock_service();
    GUARD(iam_generate_secret(&k->secret));
    GUARD(iam_access_key_put(txn, k));
    /* An ordinary IAM user holding AdministratorAccess, evaluated like any other
     * user ("admin" marks the bootstrap record only). */
    DEFER_CLEANUP(json_t *u = json_pack("{s:s,s:s,s:s,s:s,s:I,s:b,s:[],s:{},s:[s]}", "name", "admin", "account",
                                        a->account, "path", "/", "user_id", user_id, "created",
                                        (json_int_t)k->created, "admin", 1, "tags", "inline", "attached",
                                        "arn:aws:iam::aws:policy/AdministratorAccess"),
                  core_json_cleanup);
    ENSURE(u != NULL, ERR_NOMEM);
    DEFER_CLEANUP(struct core_buf ub = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&ub, 256, 4096));
    GUARD(core_json_dump(u, &ub));
    char uid[128];
    snprintf(uid, sizeof uid, "%s/admin", a->account);
    GUARD(keystore_put(txn, "iam_user", core_cursor_str(uid), core_buf_cursor(&ub), 0));
    GUARD(iam_uid_put(txn, user_id, "user", a->account, "admin"));
    GUARD(keystore_put(txn, T_META, core_cursor_str("bootstrapped"), core_cursor_str(a->account), 0));
    a->created = true;
    CORE_OK;
}

core_result iam_bootstrap(struct keystore *ks, const char *account, struct iam_access_key *admin, bool *created)
{
    *admin = (struct iam_access_key){0};
    struct bootstrap_arg a = {.account = account, .admin = admin};
    core_result r = keystore_write(ks, bootstrap_txn, &a);
    if (!core_ok(r)) {
        iam_access_key_free(admin);
        return r;
    }
    *created = a.created;
    CORE_OK;
}
