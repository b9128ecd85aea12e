/*
 * Principals in resource and trust policies are stored as unique ids, as
 * AWS stores them:
 *
 *   "You can include the ARN for a specific role or user in the Principal
 *    element of a role trust policy. When you save the policy, AWS
 *    transforms the ARN to a unique principal ID. [...] if you delete the
 *    role or user, then the relationship is broken. The policy no longer
 *    applies, even if you recreate the user or role because it does not
 *    match the principal ID stored in the trust policy. When this happens,
 *    the principal ID shows up in the console because AWS can no longer map
 *    it back to an ARN."
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_policy-examples.html
 *
 * iam_policy_principals_store() rewrites the IAM user and role ARNs of a
 * document's Principal/NotPrincipal "AWS" entries to the ids of the users
 * and roles they name (refusing ARNs and ids that name none);
 * iam_policy_principals_show() maps the ids back to ARNs for display while
 * the principal still exists. Only those string values change: the rest of
 * the text is kept byte for byte. The index table maps each unique id to its
 * entity ("iam_uid": id -> {"t":"user"|"role","account","name"}).
 */
#include <stdio.h>

#include "iam/iam_internal.h"
#include "policy/policy.h"

#define MAX_DEPTH 32u

/* ---- the unique-id index ---- */

core_result iam_uid_put(struct keystore_txn *txn, const char *uid, const char *type, const char *account,
                        const char *name)
{
    DEFER_CLEANUP(json_t *j = json_pack("{s:s,s:s,s:s}", "t", type, "account", account, "name", name),
                  core_json_cleanup);
    ENSURE(j != NULL, ERR_NOMEM);
    DEFER_CLEANUP(struct core_buf b = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&b, 128, 1024));
    GUARD(core_json_dump(j, &b));
    return keystore_put(txn, IAM_T_UID, core_cursor_str(uid), core_buf_cursor(&b), 0);
}

core_result iam_uid_del(struct keystore_txn *txn, const char *uid)
{
    core_result r = keystore_del(txn, IAM_T_UID, core_cursor_str(uid));
    return r.err == ERR_NOT_FOUND ? (core_result){ERR_OK} : r;
}

/* Indexes every user and role record that is not indexed yet (records written before the index). */
static core_result backfill_table(struct keystore_txn *txn, const char *table, const char *type, const char *idkey)
{
    struct keystore_iter *it = NULL;
    GUARD(keystore_iter_begin(txn, table, core_cursor_str(""), &it));
    DEFER_CLEANUP(struct core_buf val = {0}, core_buf_cleanup);
    core_result r = core_buf_init(&val, 1024, CORE_MAX_RECORD_BYTES);
    /* Collect first, then write: no put while the cursor walks. */
    DEFER_CLEANUP(json_t *todo = json_array(), core_json_cleanup);
    while (core_ok(r)) {
        struct core_cursor id;
        r = keystore_iter_next(it, &id, &val);
        if (!core_ok(r)) break;
        json_t *rec = NULL;
        if (!core_ok(core_json_parse(core_buf_cursor(&val), 8, &rec))) continue;
        const char *slash = memchr(id.ptr, '/', id.len);
        const char *uid = iam_js(rec, idkey);
        if (slash && policy_unique_id_kind(core_cursor_str(uid)) != 0) {
            char name[IAM_MAX_NAME + 1];
            size_t n = id.len - (size_t)(slash + 1 - (const char *)id.ptr);
            snprintf(name, sizeof name, "%.*s", (int)(n < IAM_MAX_NAME ? n : IAM_MAX_NAME), slash + 1);
            const char *stored = iam_js(rec, "name")[0] ? iam_js(rec, "name") : name;
            json_array_append_new(todo, json_pack("{s:s,s:s,s:s%}", "uid", uid, "name", stored, "account",
                                                  (const char *)id.ptr, (size_t)(slash - (const char *)id.ptr)));
        }
        json_decref(rec);
    }
    keystore_iter_end(it);
    if (r.err != ERR_NOT_FOUND) return r;
    size_t i;
    json_t *t;
    json_array_foreach(todo, i, t) {
        DEFER_CLEANUP(struct core_buf have = {0}, core_buf_cleanup);
        GUARD(core_buf_init(&have, 128, 1024));
        core_result g = keystore_get(txn, IAM_T_UID, core_cursor_str(iam_js(t, "uid")), &have);
        if (core_ok(g)) continue;
        ENSURE(g.err == ERR_NOT_FOUND, g.err);
        GUARD(iam_uid_put(txn, iam_js(t, "uid"), type, iam_js(t, "account"), iam_js(t, "name")));
    }
    CORE_OK;
}

/*
 * The bootstrap administrator's record as written before records listed
 * their attachments ({"admin": true} and no "attached"): it becomes the user
 * it always was, holding AdministratorAccess, visible as such through the
 * IAM API (ListAttachedUserPolicies, AttachmentCount).
 */
static core_result upgrade_admin(struct keystore_txn *txn)
{
    DEFER_CLEANUP(struct core_buf mark = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&mark, 16, 64));
    core_result r = keystore_get(txn, "iam_meta", core_cursor_str("bootstrapped"), &mark);
    if (r.err == ERR_NOT_FOUND) CORE_OK;
    GUARD(r);
    char account[16];
    snprintf(account, sizeof account, "%.*s", (int)(mark.len < 12 ? mark.len : 12), (const char *)mark.data);
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    r = iam_rec_get(txn, IAM_T_USER, account, core_cursor_str("admin"), &rec);
    if (r.err == ERR_NOT_FOUND) CORE_OK;
    GUARD(r);
    if (!json_is_true(json_object_get(rec, "admin")) || json_object_get(rec, "attached") != NULL) CORE_OK;
    json_object_set_new(rec, "attached", json_pack("[s]", IAM_AWS_POLICY_PREFIX "AdministratorAccess"));
    if (!json_object_get(rec, "name")) json_object_set_new(rec, "name", json_string("admin"));
    if (!json_object_get(rec, "inline")) json_object_set_new(rec, "inline", json_object());
    return iam_rec_put(txn, IAM_T_USER, account, core_cursor_str("admin"), rec, 0);
}

static core_result backfill_txn(struct keystore_txn *txn, void *arg)
{
    (void)arg;
    GUARD(upgrade_admin(txn));
    GUARD(backfill_table(txn, IAM_T_USER, "user", "user_id"));
    return backfill_table(txn, IAM_T_ROLE, "role", "role_id");
}

core_result iam_uid_backfill(struct keystore *ks) { return keystore_write(ks, backfill_txn, NULL); }

/* ---- ARN <-> unique id ---- */

/*
 * "arn:aws:iam::ACCT:user/PATH/NAME" or ".../role/PATH/NAME": *type 'U'/'R',
 * account, path ("/..../") and name as views into arn. False for anything else.
 */
static bool split_entity_arn(struct core_cursor arn, char *type, struct core_cursor *account, struct core_cursor *path,
                             struct core_cursor *name)
{
    struct core_cursor c = arn, f[5];
    for (size_t i = 0; i < 5; i++)
        if (!core_cursor_split(&c, ':', &f[i]) || c.ptr == NULL) return false;
    if (!core_cursor_eq_str(f[0], "arn") || !core_cursor_eq_str(f[2], "iam") || f[3].len != 0) return false;
    if (core_cursor_starts_with(c, "user/"))
        *type = 'U';
    else if (core_cursor_starts_with(c, "role/"))
        *type = 'R';
    else
        return false;
    *account = f[4];
    struct core_cursor rest = core_cursor_from(c.ptr + 4, c.len - 4); /* "/PATH/NAME" */
    size_t last = 0;
    for (size_t i = 0; i < rest.len; i++)
        if (rest.ptr[i] == '/') last = i;
    *path = core_cursor_from(rest.ptr, last + 1);
    *name = core_cursor_from(rest.ptr + last + 1, rest.len - last - 1);
    return true;
}

static bool account_ok(struct core_cursor a)
{
    if (a.len != 12) return false;
    for (size_t i = 0; i < 12; i++)
        if (a.ptr[i] < '0' || a.ptr[i] > '9') return false;
    return true;
}

/* The unique id of the user/role the ARN names; ERR_NOT_FOUND when none. */
static core_result arn_to_uid(struct keystore_txn *txn, struct core_cursor arn, char out[32])
{
    char type;
    struct core_cursor acct, path, name;
    ENSURE(split_entity_arn(arn, &type, &acct, &path, &name), ERR_NOT_FOUND);
    /* A user or role of this partition only: arn:aws:iam::... names nobody in aws-cn. */
    struct core_cursor tail, partition;
    ENSURE(iam_arn_tail(arn, &tail) && core_arn_match(arn, "iam", &partition, NULL) &&
               core_cursor_eq_str(partition, core_partition_current()) && account_ok(acct),
           ERR_NOT_FOUND);
    ENSURE(name.len > 0 && name.len <= IAM_MAX_NAME, ERR_NOT_FOUND);
    char account[16];
    snprintf(account, sizeof account, "%.*s", (int)acct.len, (const char *)acct.ptr);
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    GUARD(iam_rec_get(txn, type == 'U' ? IAM_T_USER : IAM_T_ROLE, account, name, &rec));
    const char *stored_path = iam_js(rec, "path")[0] ? iam_js(rec, "path") : "/";
    ENSURE(core_cursor_eq_str(path, stored_path), ERR_NOT_FOUND); /* another path names another entity */
    const char *uid = iam_js(rec, type == 'U' ? "user_id" : "role_id");
    ENSURE(policy_unique_id_kind(core_cursor_str(uid)) == (type == 'U' ? 'U' : 'R'), ERR_NOT_FOUND);
    snprintf(out, 32, "%s", uid);
    CORE_OK;
}

/* The ARN of the live entity with this unique id; ERR_NOT_FOUND when it no longer exists. */
static core_result uid_to_arn(struct keystore_txn *txn, struct core_cursor uid, char *out, size_t cap)
{
    char kind = policy_unique_id_kind(uid);
    ENSURE(kind != 0, ERR_NOT_FOUND);
    DEFER_CLEANUP(struct core_buf v = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&v, 128, 1024));
    GUARD(keystore_get(txn, IAM_T_UID, uid, &v));
    DEFER_CLEANUP(json_t *ix = NULL, core_json_cleanup);
    GUARD(core_json_parse(core_buf_cursor(&v), 4, &ix));
    const char *account = iam_js(ix, "account");
    ENSURE(strlen(account) == 12, ERR_NOT_FOUND);
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    GUARD(iam_rec_get(txn, kind == 'U' ? IAM_T_USER : IAM_T_ROLE, account, core_cursor_str(iam_js(ix, "name")), &rec));
    /* Recreated under the same name: a different id, so this one is gone. */
    ENSURE(core_cursor_eq_str(uid, iam_js(rec, kind == 'U' ? "user_id" : "role_id")), ERR_NOT_FOUND);
    const char *name = iam_js(rec, "name")[0] ? iam_js(rec, "name") : iam_js(ix, "name");
    iam_arn(out, cap, account, kind == 'U' ? "user" : "role", iam_js(rec, "path")[0] ? iam_js(rec, "path") : "/",
            name);
    CORE_OK;
}

/* ---- the document walk ---- */

struct frame {
    char type;              /* '{' or '[' */
    struct core_cursor key; /* object: the current member's key, raw (between the quotes) */
    bool key_escaped;
    bool expect_key;
};

/* The key of frame f equals want (decoding escapes when the key has any). */
static bool key_is(const struct frame *f, const char *want)
{
    if (f->type != '{') return false;
    if (!f->key_escaped) return core_cursor_eq_str(f->key, want);
    /* Escaped keys ("Princip\u0061l") decode as jansson decodes them for the policy engine. */
    char buf[96];
    if (f->key.len + 3 > sizeof buf) return false;
    buf[0] = '"';
    memcpy(buf + 1, f->key.ptr, f->key.len);
    buf[f->key.len + 1] = '"';
    json_t *j = json_loadb(buf, f->key.len + 2, JSON_DECODE_ANY, NULL);
    bool eq = j && json_is_string(j) && json_string_length(j) == strlen(want) && strcmp(json_string_value(j), want) == 0;
    json_decref(j);
    return eq;
}

/* Statement[.[i]].Principal|NotPrincipal.AWS[.[j]] */
static bool in_aws_principal(const struct frame *st, size_t depth)
{
    size_t i = 0;
    if (i >= depth || !key_is(&st[i], "Statement")) return false;
    i++;
    if (i < depth && st[i].type == '[') i++;
    if (i >= depth || !(key_is(&st[i], "Principal") || key_is(&st[i], "NotPrincipal"))) return false;
    i++;
    if (i >= depth || !key_is(&st[i], "AWS")) return false;
    i++;
    if (i < depth && st[i].type == '[') i++;
    return i == depth;
}

/* A value's replacement: *replace false keeps it; ERR_PARSE names an invalid principal. */
typedef core_result (*principal_fn)(struct keystore_txn *txn, struct core_cursor value, char *repl, size_t cap,
                                    bool *replace);

static core_result append_json_string(struct core_buf *out, const char *s)
{
    GUARD(core_buf_append_u8(out, '"'));
    for (const uint8_t *p = (const uint8_t *)s; *p; p++) {
        if (*p == '"' || *p == '\\') GUARD(core_buf_append_u8(out, '\\'));
        if (*p < 0x20) {
            GUARD(core_buf_printf(out, "\\u%04x", *p));
            continue;
        }
        GUARD(core_buf_append_u8(out, *p));
    }
    return core_buf_append_u8(out, '"');
}

/*
 * Copies doc to out, passing every Principal/NotPrincipal "AWS" string value
 * to fn. A document this walk cannot follow is copied unchanged (the policy
 * engine refuses it on its own terms).
 */
static core_result rewrite(struct keystore_txn *txn, struct core_cursor doc, principal_fn fn, struct core_buf *out,
                           char *bad, size_t bad_cap, bool *changed)
{
    *changed = false;
    struct frame st[MAX_DEPTH];
    size_t depth = 0, copied = 0;
    const uint8_t *p = doc.ptr;
    size_t n = doc.len;
    core_buf_reset(out);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == '{' || c == '[') {
            if (depth == MAX_DEPTH) goto unchanged;
            st[depth++] = (struct frame){.type = (char)c, .expect_key = c == '{'};
        } else if (c == '}' || c == ']') {
            if (depth == 0 || st[depth - 1].type != (c == '}' ? '{' : '[')) goto unchanged;
            depth--;
        } else if (c == ':') {
            if (depth == 0 || st[depth - 1].type != '{') goto unchanged;
            st[depth - 1].expect_key = false;
        } else if (c == ',') {
            if (depth > 0 && st[depth - 1].type == '{') st[depth - 1].expect_key = true;
        } else if (c == '"') {
            size_t start = i + 1, j = start;
            bool esc = false;
            while (j < n && p[j] != '"') {
                if (p[j] == '\\') {
                    esc = true;
                    j++;
                }
                j++;
            }
            if (j >= n) goto unchanged;
            struct core_cursor raw = core_cursor_from(p + start, j - start);
            if (depth > 0 && st[depth - 1].type == '{' && st[depth - 1].expect_key) {
                st[depth - 1].key = raw;
                st[depth - 1].key_escaped = esc;
            } else if (in_aws_principal(st, depth)) {
                json_t *dec = NULL;
                struct core_cursor value = raw;
                if (esc) {
                    dec = json_loadb((const char *)p + i, j - i + 1, JSON_DECODE_ANY, NULL);
                    if (!json_is_string(dec)) {
                        json_decref(dec);
                        goto unchanged;
                    }
                    value = core_cursor_from(json_string_value(dec), json_string_length(dec));
                }
                char repl[IAM_MAX_PATH + IAM_MAX_NAME + 64];
                bool replace = false;
                core_result r = fn(txn, value, repl, sizeof repl, &replace);
                if (r.err == ERR_PARSE && bad)
                    snprintf(bad, bad_cap, "%.*s", (int)(value.len > 512 ? 512 : value.len), (const char *)value.ptr);
                json_decref(dec);
                GUARD(r);
                if (replace) {
                    GUARD(core_buf_append(out, p + copied, i - copied));
                    GUARD(append_json_string(out, repl));
                    copied = j + 1;
                    *changed = true;
                }
            }
            i = j;
        }
    }
    GUARD(core_buf_append(out, p + copied, n - copied));
    CORE_OK;
unchanged:
    core_buf_reset(out);
    *changed = false;
    return core_buf_append_cursor(out, doc);
}

static core_result store_one(struct keystore_txn *txn, struct core_cursor v, char *repl, size_t cap, bool *replace)
{
    *replace = false;
    if (policy_unique_id_kind(v) != 0) {
        /* An id is accepted only while it names a live user or role. */
        core_result r = uid_to_arn(txn, v, repl, cap);
        if (r.err == ERR_NOT_FOUND) BAIL(ERR_PARSE);
        return r;
    }
    char type;
    struct core_cursor acct, path, name;
    if (!split_entity_arn(v, &type, &acct, &path, &name)) CORE_OK; /* root, account, session, service: as written */
    char uid[32];
    core_result r = arn_to_uid(txn, v, uid);
    if (r.err == ERR_NOT_FOUND) BAIL(ERR_PARSE);
    GUARD(r);
    snprintf(repl, cap, "%s", uid);
    *replace = true;
    CORE_OK;
}

static core_result show_one(struct keystore_txn *txn, struct core_cursor v, char *repl, size_t cap, bool *replace)
{
    *replace = false;
    if (policy_unique_id_kind(v) == 0) CORE_OK;
    core_result r = uid_to_arn(txn, v, repl, cap);
    if (r.err == ERR_NOT_FOUND) CORE_OK; /* deleted: the id shows */
    GUARD(r);
    *replace = true;
    CORE_OK;
}

core_result iam_policy_principals_store(struct keystore_txn *txn, struct core_cursor doc, struct core_buf *out,
                                        char *bad, size_t bad_cap)
{
    if (bad && bad_cap) bad[0] = 0;
    bool changed;
    return rewrite(txn, doc, store_one, out, bad, bad_cap, &changed);
}

core_result iam_policy_principals_show(struct keystore_txn *txn, struct core_cursor doc, struct core_buf *out)
{
    bool changed;
    return rewrite(txn, doc, show_one, out, NULL, 0, &changed);
}

core_result iam_policy_principals_ks(struct keystore *ks, bool store, struct core_cursor doc, struct core_buf *out,
                                     char *bad, size_t bad_cap)
{
    struct keystore_txn *txn = NULL;
    GUARD(keystore_txn_begin(ks, false, &txn));
    core_result r = store ? iam_policy_principals_store(txn, doc, out, bad, bad_cap)
                          : iam_policy_principals_show(txn, doc, out);
    keystore_txn_abort(txn);
    return r;
}
