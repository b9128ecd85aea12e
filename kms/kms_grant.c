#include <openssl/evp.h>
#include <stdio.h>

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

/* ---- the token key ---------------------------------------------------------------------- */

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

core_result kms_grant_put(struct keystore_txn *txn, const char *rid, const json_t *g, unsigned flags)
{
    DEFER_CLEANUP(struct core_buf v = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&v, 512, CORE_MAX_RECORD_BYTES));
    GUARD(core_json_dump(g, &v));
    return keystore_put(txn, KMS_T_GRANT, core_cursor_str(rid), core_buf_cursor(&v), flags);
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

core_result kms_grants_destroy(struct keystore_txn *txn, const struct kms_key *key)
{
    char prefix[128];
    kms_grant_prefix(key, prefix);
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
        const char *r = strstr(p->arn, ":assumed-role/");
        if (r) {
            const char *name = r + 14, *end = strchr(name, '/');
            char plain[512];
            snprintf(plain, sizeof plain, "arn:aws:iam::%s:role/%.*s", p->account,
                     (int)(end ? (size_t)(end - name) : strlen(name)), name);
            if (core_cursor_eq_str(arn, plain)) return true;
        }
    }
    return false;
}

static bool has_op(const json_t *g, const char *op)
{
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(g, "ops"), i, v) if (json_is_string(v) && strcmp(json_string_value(v), op) == 0)
        return true;
    return false;
}

/* Every pair of sub is in ec with the same value. */
static bool ec_contains(const json_t *ec, const json_t *sub)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)(uintptr_t)sub, k, v) {
        const json_t *x = json_is_object(ec) ? json_object_get(ec, k) : NULL;
        if (!json_is_string(x) || !json_is_string(v) || strcmp(json_string_value(x), json_string_value(v)) != 0)
            return false;
    }
    return true;
}

static size_t ec_size(const json_t *ec) { return json_is_object(ec) ? json_object_size(ec) : 0; }

bool kms_grant_constraints_ok(const json_t *g, const json_t *ec)
{
    const json_t *eq = json_object_get(g, "ceq"), *sub = json_object_get(g, "csub");
    if (json_is_object(eq) && !(ec_size(ec) == json_object_size(eq) && ec_contains(ec, eq))) return false;
    if (json_is_object(sub) && !ec_contains(ec, sub)) return false;
    return true;
}

struct allow_arg {
    struct kms_ctx *ctx;
    const char *op;
    const json_t *ec;
    bool allowed;
};

static core_result allow_visit(void *argp, struct core_cursor id, const json_t *g, bool *stop)
{
    (void)id;
    struct allow_arg *a = argp;
    if (!kms_caller_is(a->ctx, core_cursor_str(kms_js(g, "grantee"))) || !has_op(g, a->op)) CORE_OK;
    if (strcmp(a->op, "CreateGrant") == 0) {
        /* "the grantee ... can create grants with the same or fewer operations, and the same or stricter constraints" */
        const json_t *ops = json_object_get(a->ctx->in, "Operations");
        size_t i;
        const json_t *v;
        json_array_foreach(ops, i, v) if (!json_is_string(v) || !has_op(g, json_string_value(v))) CORE_OK;
        const json_t *c = json_object_get(a->ctx->in, "Constraints");
        const json_t *peq = json_object_get(g, "ceq"), *psub = json_object_get(g, "csub");
        const json_t *ceq = json_object_get(c, "EncryptionContextEquals"), *csub = json_object_get(c, "EncryptionContextSubset");
        if (json_is_object(peq) && !(json_is_object(ceq) && json_equal(peq, ceq))) CORE_OK;
        if (json_is_object(psub) && !((json_is_object(csub) && ec_contains(csub, psub)) ||
                                      (json_is_object(ceq) && ec_contains(ceq, psub))))
            CORE_OK;
    } else if (!kms_grant_constraints_ok(g, a->ec)) {
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
    const char *op = iam_action + 4;
    if (!kms_grant_op_valid(core_cursor_str(op))) CORE_OK;
    const char *ec_member = strcmp(op, "ReEncryptFrom") == 0 ? "SourceEncryptionContext"
                            : strcmp(op, "ReEncryptTo") == 0 ? "DestinationEncryptionContext"
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
    json_object_foreach((json_t *)(uintptr_t)m, k, v) GUARD(core_jw_cstr(w, k, json_string_value(v) ? json_string_value(v) : ""));
    return core_jw_object_end(w);
}

/* https://docs.aws.amazon.com/kms/latest/APIReference/API_GrantListEntry.html */
core_result kms_grant_render(struct core_jw *w, const json_t *g)
{
    GUARD(core_jw_object_begin(w, NULL));
    GUARD(core_jw_cstr(w, "KeyId", kms_js(g, "key_arn")));
    GUARD(core_jw_cstr(w, "GrantId", kms_js(g, "grant_id")));
    if (*kms_js(g, "name")) GUARD(core_jw_cstr(w, "Name", kms_js(g, "name")));
    GUARD(core_jw_time(w, "CreationDate", (int64_t)json_integer_value(json_object_get(g, "created"))));
    GUARD(core_jw_cstr(w, "GranteePrincipal", kms_js(g, "grantee")));
    if (*kms_js(g, "retiring")) GUARD(core_jw_cstr(w, "RetiringPrincipal", kms_js(g, "retiring")));
    GUARD(core_jw_cstr(w, "IssuingAccount", kms_js(g, "issuing")));
    GUARD(core_jw_array_begin(w, "Operations"));
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(g, "ops"), i, v) GUARD(core_jw_cstr(w, NULL, json_string_value(v)));
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
