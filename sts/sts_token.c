/*
 * Session tokens: sealing, opening, and the token-key cache.
 *
 * A token is base64 of
 *   version (1) | key id (4, BE) | nonce (24) | XChaCha20-Poly1305 ciphertext | tag (16)
 * with version, key id and nonce as associated data. The body is a list of
 * TLV fields (tag u8, length be16, bytes). Opening is the authentication:
 * libsodium checks the tag in constant time before any byte is decrypted,
 * and every failure is the same ERR_AUTH_BAD_TOKEN to the client.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <stdio.h>

#include "sts/sts_internal.h"

enum field {
    F_TYPE = 1,
    F_AKID,
    F_SECRET,
    F_ACCOUNT,
    F_ARN,
    F_USER_ID,
    F_ROLE_ARN,
    F_ISSUED,
    F_EXPIRES,
    F_FLAGS,
    F_SOURCE_IDENTITY,
    F_POLICY,
    F_POLICY_ARN,
    F_TAG_KEY,
    F_TAG_VALUE,
    F_TRANSITIVE,
    F_ISSUER_ARN, /* federated sessions: the IAM user (or root) that called GetFederationToken */
    F_ISSUER_ID,  /* ... and its unique id (AIDA..., or the account id for root) */
};

#define FLAG_MFA 1u
#define FLAG_CHAINED 2u
#define FLAG_SESSION_POLICIES 4u

/* ---- key cache ---- */

static void ring_clear(struct sts_token_key *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) core_secret_free(&keys[i].key);
}

static core_result create_first(struct keystore_txn *txn, void *arg)
{
    uint32_t *id = arg;
    core_result r = sts_token_key_current(txn, id);
    if (r.err != ERR_NOT_FOUND) return r; /* another process created it */
    return sts_token_key_create(txn, id);
}

core_result sts_keys_load(struct sts_env *env)
{
    uint32_t current = 0;
    struct keystore_txn *txn = NULL;
    GUARD(keystore_txn_begin(env->ks, false, &txn));
    core_result r = sts_token_key_current(txn, &current);
    keystore_txn_abort(txn);
    if (r.err == ERR_NOT_FOUND) r = keystore_write(env->ks, create_first, &current);
    GUARD(r);

    struct sts_token_key fresh[STS_MAX_TOKEN_KEYS] = {{0}};
    size_t n = 0;
    GUARD(keystore_txn_begin(env->ks, false, &txn));
    for (uint32_t id = current; id > 0 && n < STS_MAX_TOKEN_KEYS; id--) {
        r = sts_token_key_read(txn, id, &fresh[n].key);
        if (r.err == ERR_NOT_FOUND) continue;
        if (!core_ok(r)) break;
        fresh[n++].id = id;
    }
    keystore_txn_abort(txn);
    if (!core_ok(r) && r.err != ERR_NOT_FOUND) {
        ring_clear(fresh, n);
        return r;
    }
    ENSURE(n > 0 && fresh[0].id == current, ERR_TAMPERED);

    struct sts_token_key old[STS_MAX_TOKEN_KEYS];
    pthread_rwlock_wrlock(&env->lock);
    size_t old_n = env->n_keys;
    memcpy(old, env->keys, sizeof old);
    memcpy(env->keys, fresh, sizeof fresh);
    env->n_keys = n;
    env->current = current;
    env->last_reload_ms = core_clock_real_ms();
    pthread_rwlock_unlock(&env->lock);
    ring_clear(old, old_n);
    core_wipe(fresh, sizeof fresh);
    CORE_OK;
}

void sts_keys_free(struct sts_env *env)
{
    ring_clear(env->keys, env->n_keys);
    env->n_keys = 0;
}

core_result sts_token_key_rotate(struct keystore *ks, uint32_t *new_id)
{
    struct {
        uint32_t id;
    } a = {0};
    struct keystore_txn *txn = NULL;
    GUARD(keystore_txn_begin(ks, true, &txn));
    core_result r = sts_token_key_create(txn, &a.id);
    if (!core_ok(r)) {
        keystore_txn_abort(txn);
        return r;
    }
    GUARD(keystore_txn_commit(txn));
    *new_id = a.id;
    CORE_OK;
}

/* Reads the current key id from the keystore and reloads when it moved. */
static core_result refresh_current(struct sts_env *env)
{
    uint32_t current = 0;
    struct keystore_txn *txn = NULL;
    GUARD(keystore_txn_begin(env->ks, false, &txn));
    core_result r = sts_token_key_current(txn, &current);
    keystore_txn_abort(txn);
    GUARD(r);
    pthread_rwlock_rdlock(&env->lock);
    bool same = current == env->current;
    pthread_rwlock_unlock(&env->lock);
    return same ? core_result_ok() : sts_keys_load(env);
}

/* ---- seal / unseal ---- */

static void make_ad(uint8_t *ad, size_t *adlen, const uint8_t header[STS_TOKEN_HEADER], const char *extra)
{
    memcpy(ad, header, STS_TOKEN_HEADER);
    size_t n = strlen(extra);
    memcpy(ad + STS_TOKEN_HEADER, extra, n);
    *adlen = STS_TOKEN_HEADER + n;
}

core_result sts_seal(struct sts_env *env, struct core_cursor body, const char *extra_ad, struct core_buf *out)
{
    ENSURE(body.len <= STS_MAX_BODY, ERR_LIMIT);
    GUARD(refresh_current(env));
    uint8_t header[STS_TOKEN_HEADER];
    uint8_t ad[STS_TOKEN_HEADER + 32];
    size_t adlen;
    DEFER_CLEANUP(struct core_buf sealed = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&sealed, STS_TOKEN_HEADER + body.len + 16, STS_TOKEN_HEADER + STS_MAX_BODY + 16));
    header[0] = STS_TOKEN_VERSION;
    randombytes_buf(header + 5, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    unsigned long long clen = 0;
    pthread_rwlock_rdlock(&env->lock);
    uint32_t id = env->current;
    const struct sts_token_key *k = NULL;
    for (size_t i = 0; i < env->n_keys; i++)
        if (env->keys[i].id == id) k = &env->keys[i];
    int rc = -1;
    if (k != NULL) {
        header[1] = (uint8_t)(id >> 24), header[2] = (uint8_t)(id >> 16), header[3] = (uint8_t)(id >> 8),
        header[4] = (uint8_t)id;
        make_ad(ad, &adlen, header, extra_ad);
        memcpy(sealed.data, header, STS_TOKEN_HEADER);
        rc = crypto_aead_xchacha20poly1305_ietf_encrypt(sealed.data + STS_TOKEN_HEADER, &clen, body.ptr, body.len, ad,
                                                        adlen, NULL, header + 5, k->key.ptr);
    }
    pthread_rwlock_unlock(&env->lock);
    ENSURE(rc == 0, ERR_CRYPTO);
    sealed.len = STS_TOKEN_HEADER + (size_t)clen;
    return core_buf_append_base64(out, core_buf_cursor(&sealed));
}

static int open_with(struct sts_env *env, uint32_t id, const uint8_t *sealed, size_t len, const uint8_t *ad,
                     size_t adlen, uint8_t *plain, unsigned long long *plen, bool *known)
{
    int rc = -1;
    *known = false;
    pthread_rwlock_rdlock(&env->lock);
    for (size_t i = 0; i < env->n_keys; i++)
        if (env->keys[i].id == id) {
            *known = true;
            rc = crypto_aead_xchacha20poly1305_ietf_decrypt(plain, plen, NULL, sealed + STS_TOKEN_HEADER,
                                                            len - STS_TOKEN_HEADER, ad, adlen, sealed + 5,
                                                            env->keys[i].key.ptr);
        }
    pthread_rwlock_unlock(&env->lock);
    return rc;
}

core_result sts_unseal(struct sts_env *env, struct core_cursor b64, const char *extra_ad, struct core_buf *plain,
                       uint32_t *key_id)
{
    ENSURE(b64.len <= CORE_MAX_SESSION_TOKEN_BYTES, ERR_AUTH_BAD_TOKEN);
    DEFER_CLEANUP(struct core_buf sealed = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&sealed, b64.len, CORE_MAX_SESSION_TOKEN_BYTES));
    ENSURE(core_ok(core_buf_append_unbase64(&sealed, b64)), ERR_AUTH_BAD_TOKEN);
    ENSURE(sealed.len > STS_TOKEN_HEADER + 16 && sealed.data[0] == STS_TOKEN_VERSION, ERR_AUTH_BAD_TOKEN);
    size_t body_len = sealed.len - STS_TOKEN_HEADER - 16;
    ENSURE(body_len <= plain->max - plain->len && body_len <= STS_MAX_BODY, ERR_AUTH_BAD_TOKEN);
    core_buf_reset(plain);
    uint32_t id = ((uint32_t)sealed.data[1] << 24) | ((uint32_t)sealed.data[2] << 16) |
                  ((uint32_t)sealed.data[3] << 8) | sealed.data[4];
    uint8_t ad[STS_TOKEN_HEADER + 32];
    size_t adlen;
    make_ad(ad, &adlen, sealed.data, extra_ad);
    unsigned long long plen = 0;
    bool known;
    int rc = open_with(env, id, sealed.data, sealed.len, ad, adlen, plain->data, &plen, &known);
    if (!known) {
        /* Perhaps rotated by another process: reload, at most once a second. */
        int64_t now_ms = core_clock_real_ms();
        pthread_rwlock_rdlock(&env->lock);
        bool due = now_ms - env->last_reload_ms >= 1000;
        pthread_rwlock_unlock(&env->lock);
        if (due && core_ok(sts_keys_load(env)))
            rc = open_with(env, id, sealed.data, sealed.len, ad, adlen, plain->data, &plen, &known);
    }
    ENSURE(rc == 0, ERR_AUTH_BAD_TOKEN);
    plain->len = (size_t)plen;
    *key_id = id;
    CORE_OK;
}

/* ---- body encoding ---- */

static core_result put(struct core_buf *b, enum field f, struct core_cursor v)
{
    ENSURE(v.len <= 0xffff, ERR_LIMIT);
    GUARD(core_buf_append_u8(b, (uint8_t)f));
    GUARD(core_buf_append_be16(b, (uint16_t)v.len));
    return core_buf_append_cursor(b, v);
}

static core_result put_str(struct core_buf *b, enum field f, const char *s)
{
    return put(b, f, core_cursor_str(s ? s : ""));
}

static core_result put_u64(struct core_buf *b, enum field f, uint64_t v)
{
    uint8_t x[8];
    for (int i = 7; i >= 0; i--, v >>= 8) x[i] = (uint8_t)v;
    return put(b, f, core_cursor_from(x, 8));
}

size_t sts_packed_bytes(const struct sts_issue *in)
{
    size_t n = in->policy.len;
    for (size_t i = 0; i < in->n_policy_arns; i++) n += in->policy_arns[i].len;
    for (size_t i = 0; i < in->n_tags; i++) n += in->tags[i].key.len + in->tags[i].value.len + 2;
    for (size_t i = 0; i < in->n_transitive; i++) n += in->transitive[i].len;
    return n;
}

core_result sts_issue_credentials(struct sts_ctx *ctx, const struct sts_issue *in)
{
    char akid[IAM_ACCESS_KEY_ID_LEN + 1];
    iam_generate_key_id("ASIA", akid);
    DEFER_CLEANUP(struct core_secret secret = {0}, core_secret_cleanup);
    GUARD(iam_generate_secret(&secret));
    DEFER_CLEANUP(struct core_buf body = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&body, STS_MAX_BODY));
    GUARD(core_buf_append_u8(&body, F_TYPE));
    GUARD(core_buf_append_be16(&body, 1));
    GUARD(core_buf_append_u8(&body, (uint8_t)in->type));
    GUARD(put_str(&body, F_AKID, akid));
    GUARD(put(&body, F_SECRET, core_secret_cursor(&secret)));
    GUARD(put_str(&body, F_ACCOUNT, in->account));
    GUARD(put_str(&body, F_ARN, in->arn));
    GUARD(put_str(&body, F_USER_ID, in->user_id));
    if (in->role_arn && *in->role_arn) GUARD(put_str(&body, F_ROLE_ARN, in->role_arn));
    GUARD(put_u64(&body, F_ISSUED, (uint64_t)in->issued));
    GUARD(put_u64(&body, F_EXPIRES, (uint64_t)in->expires));
    uint8_t flags = (uint8_t)((in->mfa ? FLAG_MFA : 0) | (in->chained ? FLAG_CHAINED : 0) |
                              (in->has_session_policies ? FLAG_SESSION_POLICIES : 0));
    GUARD(put(&body, F_FLAGS, core_cursor_from(&flags, 1)));
    if (in->source_identity.len) GUARD(put(&body, F_SOURCE_IDENTITY, in->source_identity));
    if (in->policy.len) GUARD(put(&body, F_POLICY, in->policy));
    for (size_t i = 0; i < in->n_policy_arns; i++) GUARD(put(&body, F_POLICY_ARN, in->policy_arns[i]));
    for (size_t i = 0; i < in->n_tags; i++) {
        GUARD(put(&body, F_TAG_KEY, in->tags[i].key));
        GUARD(put(&body, F_TAG_VALUE, in->tags[i].value));
    }
    for (size_t i = 0; i < in->n_transitive; i++) GUARD(put(&body, F_TRANSITIVE, in->transitive[i]));
    if (in->issuer_arn && *in->issuer_arn) GUARD(put_str(&body, F_ISSUER_ARN, in->issuer_arn));
    if (in->issuer_id && *in->issuer_id) GUARD(put_str(&body, F_ISSUER_ID, in->issuer_id));

    DEFER_CLEANUP(struct core_buf token = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&token, 1024, CORE_MAX_SESSION_TOKEN_BYTES));
    GUARD(sts_seal(ctx->env, core_buf_cursor(&body), "session", &token));

    struct core_buf *b = &ctx->out->body;
    GUARD(core_buf_append_str(b, "<Credentials>"));
    GUARD(core_xml_elem_str(b, "AccessKeyId", akid));
    GUARD(core_xml_elem(b, "SecretAccessKey", core_secret_cursor(&secret)));
    GUARD(core_xml_elem(b, "SessionToken", core_buf_cursor(&token)));
    char ts[32];
    core_time_iso8601(in->expires, ts);
    GUARD(core_xml_elem_str(b, "Expiration", ts));
    return core_buf_append_str(b, "</Credentials>");
}

/* ---- opening ---- */

void sts_session_free(struct sts_session *s)
{
    core_buf_free(&s->plain);
    core_wipe(s, sizeof *s);
}

static core_result copy_cstr(struct core_cursor v, char *dst, size_t cap)
{
    ENSURE(v.len < cap, ERR_AUTH_BAD_TOKEN);
    memcpy(dst, v.ptr, v.len);
    dst[v.len] = 0;
    CORE_OK;
}

static core_result read_u64(struct core_cursor v, int64_t *out)
{
    ENSURE(v.len == 8, ERR_AUTH_BAD_TOKEN);
    uint64_t x = 0;
    for (size_t i = 0; i < 8; i++) x = (x << 8) | v.ptr[i];
    *out = (int64_t)x;
    CORE_OK;
}

static core_result parse_body(struct sts_session *s, struct core_cursor *akid)
{
    struct core_principal *p = &s->principal;
    struct core_cursor c = core_buf_cursor(&s->plain);
    bool have_type = false, have_secret = false, have_exp = false;
    while (c.len > 0) {
        uint8_t tag;
        uint16_t len;
        struct core_cursor v;
        ENSURE(core_ok(core_cursor_read_u8(&c, &tag)) && core_ok(core_cursor_read_be16(&c, &len)) &&
                   core_ok(core_cursor_advance(&c, len, &v)),
               ERR_AUTH_BAD_TOKEN);
        switch ((enum field)tag) {
        case F_TYPE:
            ENSURE(v.len == 1 && v.ptr[0] <= CORE_PRINCIPAL_FEDERATED, ERR_AUTH_BAD_TOKEN);
            p->type = (enum core_principal_type)v.ptr[0];
            have_type = true;
            break;
        case F_AKID: *akid = v; break;
        case F_SECRET:
            s->secret = v;
            have_secret = v.len > 0;
            break;
        case F_ACCOUNT: GUARD(copy_cstr(v, p->account, sizeof p->account)); break;
        case F_ARN: GUARD(copy_cstr(v, p->arn, sizeof p->arn)); break;
        case F_USER_ID: GUARD(copy_cstr(v, p->user_id, sizeof p->user_id)); break;
        case F_ROLE_ARN: s->role_arn = v; break;
        case F_ISSUED: GUARD(read_u64(v, &p->token_issued)); break;
        case F_EXPIRES:
            GUARD(read_u64(v, &p->token_expires));
            have_exp = true;
            break;
        case F_FLAGS:
            ENSURE(v.len == 1, ERR_AUTH_BAD_TOKEN);
            p->mfa = (v.ptr[0] & FLAG_MFA) != 0;
            s->chained = (v.ptr[0] & FLAG_CHAINED) != 0;
            s->has_session_policies = (v.ptr[0] & FLAG_SESSION_POLICIES) != 0;
            break;
        case F_SOURCE_IDENTITY: s->source_identity = v; break;
        case F_POLICY: s->policy = v; break;
        case F_POLICY_ARN:
            ENSURE(s->n_policy_arns < STS_MAX_POLICY_ARNS, ERR_AUTH_BAD_TOKEN);
            s->policy_arns[s->n_policy_arns++] = v;
            break;
        case F_TAG_KEY:
            ENSURE(s->n_tags < STS_MAX_SESSION_TAGS, ERR_AUTH_BAD_TOKEN);
            s->tags[s->n_tags++].key = v;
            break;
        case F_TAG_VALUE:
            ENSURE(s->n_tags > 0, ERR_AUTH_BAD_TOKEN);
            s->tags[s->n_tags - 1].value = v;
            break;
        case F_TRANSITIVE:
            ENSURE(s->n_transitive < STS_MAX_SESSION_TAGS, ERR_AUTH_BAD_TOKEN);
            s->transitive[s->n_transitive++] = v;
            break;
        case F_ISSUER_ARN: s->issuer_arn = v; break;
        case F_ISSUER_ID: s->issuer_id = v; break;
        default: BAIL(ERR_AUTH_BAD_TOKEN); /* sealed by us, so never: a newer format */
        }
    }
    ENSURE(have_type && have_secret && have_exp && akid->len > 0, ERR_AUTH_BAD_TOKEN);
    p->temporary = true;
    /* A federated session names the user (or root) that issued it, so a
     * resource-policy Deny naming that user reaches the session too
     * (policy_ctx_set_principal; issue 16 item 5). */
    if (p->type == CORE_PRINCIPAL_FEDERATED && s->issuer_arn.len > 0) {
        GUARD(copy_cstr(s->issuer_arn, p->issuer_arn, sizeof p->issuer_arn));
        /* ... and by the user's unique id, the form a saved key policy
         * holds (iam/iam_principal_ids.c). GetFederationToken seals both; a
         * user issuer without its id cannot be matched against such a Deny,
         * so the token is refused rather than let past it. */
        struct core_cursor tail = s->issuer_arn.len >= 5
                                      ? core_cursor_from(s->issuer_arn.ptr + s->issuer_arn.len - 5, 5)
                                      : s->issuer_arn;
        bool user_issuer = !core_cursor_eq_str(tail, ":root");
        ENSURE(!user_issuer || s->issuer_id.len > 0, ERR_AUTH_BAD_TOKEN);
        if (user_issuer) GUARD(copy_cstr(s->issuer_id, p->issuer_id, sizeof p->issuer_id));
    }
    CORE_OK;
}

/*
 * Opened-token cache, per thread. Requests signed with temporary credentials
 * repeat the same token; opening it (base64, AEAD) costs more than the rest
 * of authentication. An entry maps the exact token bytes (compared in
 * constant time over the whole length) to the body its AEAD open produced
 * under this env's keys: the same bytes always open to the same body, so the
 * cache changes nothing but the cost. Expiry and the key id are checked on
 * every request, after parsing. Entries hold secrets: they live in the
 * thread-local cache (core_tlcache: guarded memory, wiped on eviction, at
 * thread end and by sts_env_free).
 */
/* The value: the key id, then the opened body. */
struct core_tlcache_def sts_session_cache = {.name = "session tokens", .ways = 4,
                                             .key_max = CORE_MAX_SESSION_TOKEN_BYTES,
                                             .value_max = sizeof(uint32_t) + STS_MAX_BODY};

static core_result unseal_cached(struct sts_env *env, struct core_cursor token, struct sts_session *out)
{
    struct core_cursor hit;
    if (core_tlcache_get(&sts_session_cache, env->instance, 0, token, &hit) && hit.len >= sizeof(uint32_t)) {
        GUARD(core_buf_append(&out->plain, hit.ptr + sizeof(uint32_t), hit.len - sizeof(uint32_t)));
        memcpy(&out->key_id, hit.ptr, sizeof(uint32_t));
        CORE_OK;
    }
    GUARD(sts_unseal(env, token, "session", &out->plain, &out->key_id));
    if (token.len > CORE_MAX_SESSION_TOKEN_BYTES || out->plain.len > STS_MAX_BODY) CORE_OK;
    /* Assembled in guarded memory, copied into the cache, wiped. */
    struct core_secret v = {0};
    if (core_ok(core_secret_alloc(&v, sizeof(uint32_t) + out->plain.len))) {
        memcpy(v.ptr, &out->key_id, sizeof(uint32_t));
        memcpy(v.ptr + sizeof(uint32_t), out->plain.data, out->plain.len);
        core_tlcache_put(&sts_session_cache, env->instance, 0, token, core_cursor_from(v.ptr, v.len), NULL);
    }
    core_secret_free(&v);
    CORE_OK;
}

core_result sts_session_open(struct sts_env *env, struct core_cursor token, struct core_cursor access_key_id,
                             int64_t now, struct sts_session *out)
{
    *out = (struct sts_session){0};
    GUARD(core_buf_init_secret(&out->plain, STS_MAX_BODY));
    GUARD(unseal_cached(env, token, out));
    struct core_cursor akid = {0};
    GUARD(parse_body(out, &akid));
    /* The token names the key id it was issued with (both public values). */
    ENSURE(core_cursor_eq(akid, access_key_id), ERR_AUTH_BAD_TOKEN);
    GUARD(copy_cstr(akid, out->principal.access_key_id, sizeof out->principal.access_key_id));
    /* "expired" once now reaches Expiration: one second past is refused. */
    ENSURE(now < out->principal.token_expires, ERR_AUTH_EXPIRED_TOKEN);
    CORE_OK;
}

core_result sts_authz_message_encode(struct sts_env *env, struct core_cursor json_text, struct core_buf *out)
{
    return sts_seal(env, json_text, "authz-message", out);
}
