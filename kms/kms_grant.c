#include <openssl/evp.h>
#include <stdio.h>

#include "kms/kms_asym.h"
#include "kms/kms_grant.h"

/*
 * Grants: "A grant is a policy instrument that allows AWS principals to use
 * KMS keys in cryptographic operations." Stored per key in table
 * "kms_grant" under "<account>/<region>/<key-id>/<grant-id>", one JSON
 * document each. A grant allows its grantee exactly its operations, under
 * its constraints, from the moment CreateGrant commits until RetireGrant or
 * RevokeGrant deletes it; explicit denies in policies still win.
 * https://docs.aws.amazon.com/kms/latest/developerguide/grants.html
 *
 * Grant tokens are self-contained: version | record-id length | record id |
 * HMAC-SHA256 under a random server key sealed in the keystore (shared by
 * every process on it), base64. A token names its grant, so RetireGrant
 * accepts it alone; a request carrying an altered token fails with
 * InvalidGrantTokenException. Grants are read from the store on every use,
 * so a token never outlives its grant.
 */

#define TOKEN_VERSION 1u
#define TOKEN_MAC_BYTES 32u

static const char *const grant_ops[] = {
    "Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo",
    "Sign", "Verify", "GetPublicKey", "CreateGrant", "RetireGrant", "DescribeKey", "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac", "DeriveSharedSecret", NULL,
};

bool kms_grant_op_valid(struct core_cursor op)
{
    for (size_t i = 0; grant_ops[i]; i++)
        if (core_cursor_eq_str(op, grant_ops[i])) return true;
    return false;
}

bool kms_grant_op_takes_context(struct core_cursor op)
{
    /* "Grant constraints ... are supported only on cryptographic operations
     * that accept an encryption context" - not DescribeKey, CreateGrant,
     * RetireGrant, GetPublicKey, Sign, Verify, GenerateMac, VerifyMac. */
    return core_cursor_eq_str(op, "Decrypt") || core_cursor_eq_str(op, "Encrypt") ||
           core_cursor_starts_with(op, "GenerateDataKey") || core_cursor_starts_with(op, "ReEncrypt");
}

bool kms_grant_op_constrainable(struct core_cursor op)
{
    /* "Grants with grant constraints can include the DescribeKey and
     * RetireGrant operations, but the constraint doesn't apply to these
     * operations. If a grant with a grant constraint includes the CreateGrant
     * operation, the constraint requires that any grants created with the
     * CreateGrant permission have an equally strict or stricter encryption
     * context constraint." (CreateGrant API page, Constraints) */
    return kms_grant_op_takes_context(op) || core_cursor_eq_str(op, "DescribeKey") ||
           core_cursor_eq_str(op, "RetireGrant") || core_cursor_eq_str(op, "CreateGrant");
}

bool kms_grant_op_fits_symmetric(struct core_cursor op)
{
    /* The general rule is kms_asym_grant_op_fits() (issue 11). */
    return kms_asym_grant_op_fits(op, KMS_SPEC_SYMMETRIC_DEFAULT, KMS_USAGE_ENCRYPT_DECRYPT);
}

bool kms_principal_id_pattern_ok(struct core_cursor p)
{
    /* PrincipalIdType: "pattern": "^[\\w+=,.@:/-]+$" (KMS API model) */
    if (p.len == 0) return false;
    for (size_t i = 0; i < p.len; i++) {
        uint8_t c = p.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '+' ||
              c == '=' || c == ',' || c == '.' || c == '@' || c == ':' || c == '/' || c == '-'))
            return false;
    }
    return true;
}

static bool twelve_digits(struct core_cursor a)
{
    if (a.len != 12) return false;
    for (size_t i = 0; i < 12; i++)
        if (a.ptr[i] < '0' || a.ptr[i] > '9') return false;
    return true;
}

bool kms_principal_arn_account(struct core_cursor p, struct core_cursor *account)
{
    /* "Valid principals include Amazon Web Services accounts, IAM users, IAM
     * roles, federated users, and assumed role users."
     * https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html
     * arn:<partition>:iam::<account>:root|user/...|role/...
     * arn:<partition>:sts::<account>:assumed-role/<role>/<session>|federated-user/<name> */
    struct core_cursor rest = p, f[5];
    for (int i = 0; i < 5; i++)
        if (!core_cursor_split(&rest, ':', &f[i]) || rest.ptr == NULL) return false;
    if (!core_cursor_eq_str(f[0], "arn") || !core_partition_known(f[1]) || f[3].len != 0 ||
        !twelve_digits(f[4]) || rest.len == 0)
        return false;
    bool ok = false;
    if (core_cursor_eq_str(f[2], "iam"))
        ok = core_cursor_eq_str(rest, "root") || (core_cursor_starts_with(rest, "user/") && rest.len > 5) ||
             (core_cursor_starts_with(rest, "role/") && rest.len > 5);
    else if (core_cursor_eq_str(f[2], "sts"))
        ok = (core_cursor_starts_with(rest, "assumed-role/") && rest.len > 13) ||
             (core_cursor_starts_with(rest, "federated-user/") && rest.len > 15);
    if (ok && rest.ptr[rest.len - 1] == '/') ok = false;
    if (ok && account) *account = f[4];
    return ok;
}

/* ---- the token key ---------------------------------------------------------------------- */

static core_result reindex_txn(struct keystore_txn *txn, void *arg);

static core_result token_key_txn(struct keystore_txn *txn, void *arg)
{
    (void)arg;
    DEFER_CLEANUP(struct core_buf v = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&v, 64));
    core_result r = keystore_get(txn, "kms_meta", core_cursor_str("grant-token-key"), &v);
    if (core_ok(r) || r.err != ERR_NOT_FOUND) return r;
    DEFER_CLEANUP(struct core_secret k = {0}, core_secret_cleanup);
    GUARD(core_secret_random(&k, 32));
    return keystore_put(txn, "kms_meta", core_cursor_str("grant-token-key"), core_secret_cursor(&k),
                        KEYSTORE_NO_OVERWRITE);
}

core_result kms_grant_env_init(struct kms_env *env)
{
    GUARD(keystore_write(env->ks, token_key_txn, NULL));
    GUARD(keystore_write(env->ks, reindex_txn, NULL));
    struct keystore_txn *txn = NULL;
    GUARD(keystore_txn_begin(env->ks, false, &txn));
    DEFER_CLEANUP(struct core_buf v = {0}, core_buf_cleanup);
    core_result r = core_buf_init_secret(&v, 64);
    if (core_ok(r)) r = keystore_get(txn, "kms_meta", core_cursor_str("grant-token-key"), &v);
    keystore_txn_abort(txn);
    GUARD(r);
    ENSURE(v.len == 32, ERR_TAMPERED);
    return core_secret_copy(&env->grant_token_key, v.data, v.len);
}

static core_result mac(const struct kms_env *env, struct core_cursor data, uint8_t out[TOKEN_MAC_BYTES])
{
    size_t n = 0;
    struct core_cursor k = core_secret_cursor(&env->grant_token_key);
    ENSURE(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k.ptr, k.len, data.ptr, data.len, out, TOKEN_MAC_BYTES,
                     &n) != NULL && n == TOKEN_MAC_BYTES,
           ERR_CRYPTO);
    CORE_OK;
}

core_result kms_grant_token_make(const struct kms_env *env, const char *rid, struct core_buf *out)
{
    size_t n = strlen(rid);
    ENSURE(n < 256, ERR_LIMIT);
    uint8_t raw[2 + 256 + TOKEN_MAC_BYTES];
    raw[0] = TOKEN_VERSION;
    raw[1] = (uint8_t)n;
    memcpy(raw + 2, rid, n);
    GUARD(mac(env, core_cursor_from(raw, 2 + n), raw + 2 + n));
    return core_buf_append_base64(out, core_cursor_from(raw, 2 + n + TOKEN_MAC_BYTES));
}

core_result kms_grant_token_open(const struct kms_env *env, struct core_cursor token, char rid[256])
{
    ENSURE(token.len > 0 && token.len <= 8192, ERR_PARSE);
    DEFER_CLEANUP(struct core_buf raw = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&raw, 512, 8192));
    GUARD(core_buf_append_unbase64(&raw, token));
    ENSURE(raw.len > 2 + TOKEN_MAC_BYTES && raw.data[0] == TOKEN_VERSION, ERR_PARSE);
    size_t n = raw.data[1];
    ENSURE(raw.len == 2 + n + TOKEN_MAC_BYTES, ERR_PARSE);
    uint8_t want[TOKEN_MAC_BYTES];
    GUARD(mac(env, core_cursor_from(raw.data, 2 + n), want));
    ENSURE(core_ct_equal(want, raw.data + 2 + n, TOKEN_MAC_BYTES), ERR_PARSE);
    memcpy(rid, raw.data + 2, n);
    rid[n] = 0;
    CORE_OK;
}

bool kms_grant_token_valid(const struct kms_env *env, struct core_cursor token)
{
    char rid[256];
    return core_ok(kms_grant_token_open(env, token, rid));
}

/* ---- records ------------------------------------------------------------------------------- */

void kms_grant_prefix(const struct kms_key *key, char out[128])
{
    snprintf(out, 128, "%s/%s/%s/", key->account, key->region, key->key_id);
}

core_result kms_grant_get(struct keystore_txn *txn, const char *rid, json_t **out)
{
    *out = NULL;
    DEFER_CLEANUP(struct core_buf v = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&v, 512, CORE_MAX_RECORD_BYTES));
    GUARD(keystore_get(txn, KMS_T_GRANT, core_cursor_str(rid), &v));
    GUARD(core_json_parse(core_buf_cursor(&v), 8, out));
    ENSURE(json_is_object(*out), ERR_PARSE);
    CORE_OK;
}

/* ---- the index by retiring principal ------------------------------------------------------- */

/*
 * Table "kms_grant_ret": one row per grant that names a RetiringPrincipal,
 * id "<key region>/<hex SHA-256 of the principal>/<grant record id>", value
 * the principal itself. ListRetirableGrants reads one prefix of it instead
 * of every grant of every account (issue 10.3). Rows are written and deleted
 * in the same transaction as their grant. The principal is hashed because
 * principal (256) + grant id would not fit KEYSTORE_MAX_ID_BYTES.
 */
#define KMS_T_GRANT_RET "kms_grant_ret"
#define RET_INDEX_FLAG "grant-retiring-index-v1"

core_result kms_grant_ret_prefix(const char *region, struct core_cursor principal, struct core_buf *out)
{
    uint8_t h[32];
    unsigned n = 0;
    ENSURE(EVP_Digest(principal.ptr, principal.len, h, &n, EVP_sha256(), NULL) == 1 && n == 32, ERR_CRYPTO);
    core_buf_reset(out);
    GUARD(core_buf_printf(out, "%s/", region));
    for (size_t i = 0; i < 32; i++) GUARD(core_buf_printf(out, "%02x", h[i]));
    return core_buf_append_u8(out, '/');
}

/* The index row of grant g (record rid), or an empty out when g names no retiring principal. */
static core_result ret_row_id(const char *rid, const json_t *g, struct core_buf *out)
{
    core_buf_reset(out);
    struct core_cursor ret = kms_jc(g, "retiring");
    if (ret.len == 0) CORE_OK;
    /* rid = "<account>/<region>/<key-id>/<grant-id>" */
    struct core_cursor rest = core_cursor_str(rid), acct, region;
    ENSURE(core_cursor_split(&rest, '/', &acct) && core_cursor_split(&rest, '/', &region) && region.len < 32,
           ERR_PARSE);
    char reg[32];
    memcpy(reg, region.ptr, region.len);
    reg[region.len] = 0;
    GUARD(kms_grant_ret_prefix(reg, ret, out));
    return core_buf_append_str(out, rid);
}

core_result kms_grant_put(struct keystore_txn *txn, const char *rid, const json_t *g, unsigned flags)
{
    DEFER_CLEANUP(struct core_buf v = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&v, 512, CORE_MAX_RECORD_BYTES));
    GUARD(core_json_dump(g, &v));
    GUARD(keystore_put(txn, KMS_T_GRANT, core_cursor_str(rid), core_buf_cursor(&v), flags));
    DEFER_CLEANUP(struct core_buf ix = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&ix, 256, KEYSTORE_MAX_ID_BYTES));
    GUARD(ret_row_id(rid, g, &ix));
    if (ix.len == 0) CORE_OK;
    return keystore_put(txn, KMS_T_GRANT_RET, core_buf_cursor(&ix), kms_jc(g, "retiring"), 0);
}

core_result kms_grant_delete(struct keystore_txn *txn, const char *rid)
{
    DEFER_CLEANUP(json_t *g = NULL, core_json_cleanup);
    GUARD(kms_grant_get(txn, rid, &g));
    GUARD(keystore_del(txn, KMS_T_GRANT, core_cursor_str(rid)));
    DEFER_CLEANUP(struct core_buf ix = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&ix, 256, KEYSTORE_MAX_ID_BYTES));
    GUARD(ret_row_id(rid, g, &ix));
    if (ix.len == 0) CORE_OK;
    core_result r = keystore_del(txn, KMS_T_GRANT_RET, core_buf_cursor(&ix));
    if (r.err == ERR_NOT_FOUND) CORE_OK;
    return r;
}

core_result kms_grant_ret_each(struct keystore_txn *txn, struct core_cursor prefix, struct core_cursor from,
                               kms_grant_visit_fn fn, void *arg)
{
    struct keystore_iter *it = NULL;
    GUARD(keystore_iter_begin(txn, KMS_T_GRANT_RET, from.len ? from : prefix, &it));
    core_result r;
    struct core_cursor id;
    while (core_ok(r = keystore_iter_next(it, &id, NULL))) {
        if (id.len < prefix.len || !core_cursor_eq(core_cursor_from(id.ptr, prefix.len), prefix)) break;
        char rid[256];
        size_t n = id.len - prefix.len;
        if (n == 0 || n >= sizeof rid) continue;
        memcpy(rid, id.ptr + prefix.len, n);
        rid[n] = 0;
        json_t *g = NULL;
        r = kms_grant_get(txn, rid, &g);
        if (r.err == ERR_NOT_FOUND) continue; /* cannot happen: rows move with their grant */
        if (!core_ok(r)) break;
        bool stop = false;
        r = fn(arg, id, g, &stop);
        json_decref(g);
        if (!core_ok(r) || stop) break;
    }
    keystore_iter_end(it);
    if (r.err == ERR_NOT_FOUND) CORE_OK;
    return r;
}

/* Index rows for grants stored before the index existed: built once, flagged in kms_meta. */
struct reindex_arg {
    struct keystore_txn *txn;
};

static core_result reindex_visit(void *argp, struct core_cursor id, const json_t *g, bool *stop)
{
    (void)stop;
    struct reindex_arg *a = argp;
    char rid[256];
    if (id.len >= sizeof rid) CORE_OK;
    memcpy(rid, id.ptr, id.len);
    rid[id.len] = 0;
    DEFER_CLEANUP(struct core_buf ix = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&ix, 256, KEYSTORE_MAX_ID_BYTES));
    GUARD(ret_row_id(rid, g, &ix));
    if (ix.len == 0) CORE_OK;
    return keystore_put(a->txn, KMS_T_GRANT_RET, core_buf_cursor(&ix), kms_jc(g, "retiring"), 0);
}

static core_result reindex_txn(struct keystore_txn *txn, void *arg)
{
    (void)arg;
    DEFER_CLEANUP(struct core_buf v = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&v, 16, 64));
    core_result r = keystore_get(txn, "kms_meta", core_cursor_str(RET_INDEX_FLAG), &v);
    if (core_ok(r) || r.err != ERR_NOT_FOUND) return r;
    struct reindex_arg a = {.txn = txn};
    GUARD(kms_grants_each(txn, "", (struct core_cursor){0}, reindex_visit, &a));
    return keystore_put(txn, "kms_meta", core_cursor_str(RET_INDEX_FLAG), core_cursor_str("1"), 0);
}

core_result kms_grants_each(struct keystore_txn *txn, const char *prefix, struct core_cursor from,
                            kms_grant_visit_fn fn, void *arg)
{
    DEFER_CLEANUP(struct core_buf val = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&val, 512, CORE_MAX_RECORD_BYTES));
    struct keystore_iter *it = NULL;
    GUARD(keystore_iter_begin(txn, KMS_T_GRANT, from.len ? from : core_cursor_str(prefix), &it));
    core_result r;
    struct core_cursor id;
    while (core_ok(r = keystore_iter_next(it, &id, &val))) {
        if (!core_cursor_starts_with(id, prefix)) break;
        json_t *g = NULL;
        r = core_json_parse(core_buf_cursor(&val), 8, &g);
        if (!core_ok(r)) break;
        bool stop = false;
        r = fn(arg, id, g, &stop);
        json_decref(g);
        if (!core_ok(r) || stop) break;
    }
    keystore_iter_end(it);
    if (r.err == ERR_NOT_FOUND) CORE_OK;
    return r;
}

static core_result collect_row(void *argp, struct core_cursor id, const json_t *g, bool *stop)
{
    (void)stop;
    struct core_buf *ids = argp; /* NUL-separated index row ids */
    char rid[256];
    if (id.len >= sizeof rid) CORE_OK;
    memcpy(rid, id.ptr, id.len);
    rid[id.len] = 0;
    DEFER_CLEANUP(struct core_buf ix = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&ix, 256, KEYSTORE_MAX_ID_BYTES));
    GUARD(ret_row_id(rid, g, &ix));
    if (ix.len == 0) CORE_OK;
    GUARD(core_buf_append(ids, ix.data, ix.len));
    return core_buf_append_u8(ids, 0);
}

core_result kms_grants_destroy(struct keystore_txn *txn, const struct kms_key *key)
{
    char prefix[128];
    kms_grant_prefix(key, prefix);
    /* The index rows first (collected, then deleted: LMDB cursors and deletes do not mix). */
    DEFER_CLEANUP(struct core_buf ids = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&ids, 1024, (size_t)KMS_MAX_GRANTS_PER_KEY * (KEYSTORE_MAX_ID_BYTES + 1)));
    GUARD(kms_grants_each(txn, prefix, (struct core_cursor){0}, collect_row, &ids));
    for (size_t off = 0; off < ids.len;) {
        size_t n = strnlen((const char *)ids.data + off, ids.len - off);
        core_result r = keystore_del(txn, KMS_T_GRANT_RET, core_cursor_from(ids.data + off, n));
        if (!core_ok(r) && r.err != ERR_NOT_FOUND) return r;
        off += n + 1;
    }
    return kms_delete_prefixed(txn, KMS_T_GRANT, prefix, CORE_MAX_RECORD_BYTES, NULL, NULL);
}

/* ---- matching ---------------------------------------------------------------------------------- */

bool kms_caller_is(const struct kms_ctx *ctx, struct core_cursor arn)
{
    const struct core_principal *p = ctx->caller;
    if (arn.len == 0) return false;
    if (core_cursor_eq_str(arn, p->arn)) return true;
    if (p->type == CORE_PRINCIPAL_ASSUMED_ROLE) {
        /* "you can specify ... the role ARN"; the grant then applies to every session of the role. */
        const struct iam_session_info *s = ctx->call->session;
        if (s && s->role_arn.len && core_cursor_eq(arn, s->role_arn)) return true;
        /* "arn:<partition>:sts::<account>:assumed-role/<role>/<session>" (our own ARN) -> the role's ARN */
        struct core_cursor rest = core_cursor_str(p->arn), f;
        for (int i = 0; i < 5 && rest.ptr; i++) core_cursor_split(&rest, ':', &f);
        if (rest.ptr && core_cursor_starts_with(rest, "assumed-role/")) {
            struct core_cursor name = core_cursor_from(rest.ptr + 13, rest.len - 13), role;
            core_cursor_split(&name, '/', &role);
            char plain[512];
            snprintf(plain, sizeof plain, "arn:%s:iam::%s:role/%.*s", core_partition_of(p->region), p->account,
                     (int)role.len,
                     (const char *)role.ptr);
            if (role.len && core_cursor_eq_str(arn, plain)) return true;
        }
    }
    return false;
}

static bool has_op(const json_t *g, struct core_cursor op)
{
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(g, "ops"), i, v) if (core_cursor_eq(kms_jcur(v), op)) return true;
    return false;
}

/*
 * "in a grant constraint, the key in each key-value pair is not case
 * sensitive, but the value is case sensitive."
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_GrantConstraints.html
 * Values are compared by length: a NUL inside one is data, never an end
 * ("g\u0000EVIL" is not "g"). Keys cannot hold a NUL (the JSON reader
 * refuses one in an object key).
 */
static bool pair_in(const json_t *ec, const char *k, const json_t *v)
{
    if (!json_is_object(ec) || !json_is_string(v)) return false;
    struct core_cursor kc = core_cursor_str(k), vc = kms_jcur(v);
    const char *ek;
    const json_t *ev;
    json_object_foreach((json_t *)(uintptr_t)ec, ek, ev) {
        if (json_is_string(ev) && core_cursor_eq_icase(core_cursor_str(ek), kc) && core_cursor_eq(kms_jcur(ev), vc))
            return true;
    }
    return false;
}

/* Every pair of sub is in ec (keys without case, values exactly). */
static bool ec_contains(const json_t *ec, const json_t *sub)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)(uintptr_t)sub, k, v) if (!pair_in(ec, k, v)) return false;
    return true;
}

static size_t ec_size(const json_t *ec) { return json_is_object(ec) ? json_object_size(ec) : 0; }

/* ec and eq hold the same pairs (keys without case). */
static bool ec_equals(const json_t *ec, const json_t *eq)
{
    return ec_size(ec) == ec_size(eq) && ec_contains(ec, eq) && ec_contains(eq, ec);
}

bool kms_grant_constraints_ok(const json_t *g, const json_t *ec)
{
    const json_t *eq = json_object_get(g, "ceq"), *sub = json_object_get(g, "csub");
    if (json_is_object(eq) && !ec_equals(ec, eq)) return false;
    if (json_is_object(sub) && !ec_contains(ec, sub)) return false;
    return true;
}

/*
 * "If a grant with a grant constraint includes the CreateGrant operation,
 * the constraint requires that any grants created with the CreateGrant
 * permission have an equally strict or stricter encryption context
 * constraint." Any context the child's constraints accept must satisfy the
 * parent's: an Equals parent needs the same Equals; a Subset parent needs
 * its pairs in the child's Subset or Equals.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html
 */
static bool child_as_strict(const json_t *parent, const json_t *request)
{
    const json_t *c = json_object_get(request, "Constraints");
    const json_t *peq = json_object_get(parent, "ceq"), *psub = json_object_get(parent, "csub");
    const json_t *ceq = json_object_get(c, "EncryptionContextEquals"), *csub = json_object_get(c, "EncryptionContextSubset");
    if (json_is_object(peq) && !(json_is_object(ceq) && ec_equals(ceq, peq))) return false;
    if (json_is_object(psub) &&
        !((json_is_object(csub) && ec_contains(csub, psub)) || (json_is_object(ceq) && ec_contains(ceq, psub))))
        return false;
    return true;
}

struct allow_arg {
    struct kms_ctx *ctx;
    struct core_cursor op;
    const json_t *ec;
    bool allowed;
};

static core_result allow_visit(void *argp, struct core_cursor id, const json_t *g, bool *stop)
{
    (void)id;
    struct allow_arg *a = argp;
    if (!kms_caller_is(a->ctx, kms_jc(g, "grantee")) || !has_op(g, a->op)) CORE_OK;
    if (core_cursor_eq_str(a->op, "CreateGrant")) {
        /* "the grantee ... can create grants with the same or fewer operations, and the same or stricter constraints" */
        const json_t *ops = json_object_get(a->ctx->in, "Operations");
        size_t i;
        const json_t *v;
        json_array_foreach(ops, i, v) if (!has_op(g, kms_jcur(v))) CORE_OK;
        if (!child_as_strict(g, a->ctx->in)) CORE_OK;
    } else if (kms_grant_op_takes_context(a->op) && !kms_grant_constraints_ok(g, a->ec)) {
        /* "Grants with grant constraints can include the DescribeKey and
         * RetireGrant operations, but the constraint doesn't apply to these
         * operations." (CreateGrant API page) */
        CORE_OK;
    }
    a->allowed = true;
    *stop = true;
    CORE_OK;
}

core_result kms_grants_allow(struct kms_ctx *ctx, struct keystore_txn *txn, const struct kms_key *key,
                             const char *iam_action, bool *allowed)
{
    *allowed = false;
    if (strncmp(iam_action, "kms:", 4) != 0) CORE_OK;
    struct core_cursor op = core_cursor_str(iam_action + 4);
    if (!kms_grant_op_valid(op)) CORE_OK;
    const char *ec_member = core_cursor_eq_str(op, "ReEncryptFrom") ? "SourceEncryptionContext"
                            : core_cursor_eq_str(op, "ReEncryptTo") ? "DestinationEncryptionContext"
                                                                    : "EncryptionContext";
    struct allow_arg a = {.ctx = ctx, .op = op, .ec = ctx->in ? json_object_get(ctx->in, ec_member) : NULL};
    char prefix[128];
    kms_grant_prefix(key, prefix);
    GUARD(kms_grants_each(txn, prefix, (struct core_cursor){0}, allow_visit, &a));
    *allowed = a.allowed;
    CORE_OK;
}

/* ---- rendering ------------------------------------------------------------------------------------ */

static core_result render_map(struct core_jw *w, const char *name, const json_t *m)
{
    GUARD(core_jw_object_begin(w, name));
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)(uintptr_t)m, k, v) GUARD(core_jw_str(w, k, kms_jcur(v))); /* by length */
    return core_jw_object_end(w);
}

/* https://docs.aws.amazon.com/kms/latest/APIReference/API_GrantListEntry.html */
core_result kms_grant_render(struct core_jw *w, const json_t *g)
{
    GUARD(core_jw_object_begin(w, NULL));
    GUARD(core_jw_str(w, "KeyId", kms_jc(g, "key_arn")));
    GUARD(core_jw_str(w, "GrantId", kms_jc(g, "grant_id")));
    if (kms_jc(g, "name").len) GUARD(core_jw_str(w, "Name", kms_jc(g, "name")));
    GUARD(core_jw_time(w, "CreationDate", (int64_t)json_integer_value(json_object_get(g, "created"))));
    GUARD(core_jw_str(w, "GranteePrincipal", kms_jc(g, "grantee")));
    if (kms_jc(g, "retiring").len) GUARD(core_jw_str(w, "RetiringPrincipal", kms_jc(g, "retiring")));
    GUARD(core_jw_str(w, "IssuingAccount", kms_jc(g, "issuing")));
    GUARD(core_jw_array_begin(w, "Operations"));
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(g, "ops"), i, v) GUARD(core_jw_str(w, NULL, kms_jcur(v)));
    GUARD(core_jw_array_end(w));
    const json_t *eq = json_object_get(g, "ceq"), *sub = json_object_get(g, "csub");
    if (json_is_object(eq) || json_is_object(sub)) {
        GUARD(core_jw_object_begin(w, "Constraints"));
        if (json_is_object(eq)) GUARD(render_map(w, "EncryptionContextEquals", eq));
        if (json_is_object(sub)) GUARD(render_map(w, "EncryptionContextSubset", sub));
        GUARD(core_jw_object_end(w));
    }
    return core_jw_object_end(w);
}
