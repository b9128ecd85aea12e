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
