/*
 * Workloads: what each operation sends, how a request is signed and framed,
 * and the setup that creates the keys, ciphertexts, role and temporary
 * credentials a workload needs.
 *
 * Every request is built when it is sent: a fresh X-Amz-Date, a fresh body
 * (new random plaintext for Encrypt), its SHA-256, and a signature from
 * sigv4_sign() with a shared sigv4_key_cache, so derivation of kSigning is
 * cached the way an SDK caches it but the signature itself is computed per
 * request, as for any real client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "tools/kmsbench.h"

enum kb_svc { KB_SVC_KMS, KB_SVC_STS, KB_SVC_IAM };

static const char *const svc_name[] = {"kms", "sts", "iam"};

struct op_info {
    const char *name;
    enum kb_svc svc;
    const char *target; /* X-Amz-Target for KMS */
};

static const struct op_info ops[KB_OP_COUNT] = {
    [KB_OP_ENCRYPT32] = {"encrypt32", KB_SVC_KMS, "TrentService.Encrypt"},
    [KB_OP_ENCRYPT4K] = {"encrypt4k", KB_SVC_KMS, "TrentService.Encrypt"},
    [KB_OP_DECRYPT] = {"decrypt", KB_SVC_KMS, "TrentService.Decrypt"},
    [KB_OP_GENERATE_DATA_KEY] = {"generate-data-key", KB_SVC_KMS, "TrentService.GenerateDataKey"},
    [KB_OP_REENCRYPT] = {"reencrypt", KB_SVC_KMS, "TrentService.ReEncrypt"},
    [KB_OP_GENERATE_RANDOM] = {"generate-random", KB_SVC_KMS, "TrentService.GenerateRandom"},
    [KB_OP_CREATE_KEY] = {"create-key", KB_SVC_KMS, "TrentService.CreateKey"},
    [KB_OP_ASSUME_ROLE] = {"assume-role", KB_SVC_STS, NULL},
    [KB_OP_GET_CALLER_IDENTITY] = {"get-caller-identity", KB_SVC_STS, NULL},
    [KB_OP_SIGN_P256] = {"sign-p256", KB_SVC_KMS, "TrentService.Sign"},
    [KB_OP_VERIFY_P256] = {"verify-p256", KB_SVC_KMS, "TrentService.Verify"},
    [KB_OP_SIGN_ED25519] = {"sign-ed25519", KB_SVC_KMS, "TrentService.Sign"},
    [KB_OP_VERIFY_ED25519] = {"verify-ed25519", KB_SVC_KMS, "TrentService.Verify"},
    [KB_OP_SIGN_RSA2048] = {"sign-rsa2048", KB_SVC_KMS, "TrentService.Sign"},
    [KB_OP_VERIFY_RSA2048] = {"verify-rsa2048", KB_SVC_KMS, "TrentService.Verify"},
    [KB_OP_GENERATE_MAC] = {"generate-mac", KB_SVC_KMS, "TrentService.GenerateMac"},
    [KB_OP_GENERATE_DATA_KEY_PAIR_RSA2048] = {"generate-data-key-pair-rsa2048", KB_SVC_KMS,
                                              "TrentService.GenerateDataKeyPair"},
    [KB_OP_GENERATE_DATA_KEY_PAIR_P256] = {"generate-data-key-pair-p256", KB_SVC_KMS,
                                           "TrentService.GenerateDataKeyPair"},
};

/* The asymmetric workloads: key spec and usage of each signing or HMAC key
 * (fixture asym_key[i]), the algorithm, and the message Verify checks. */
static const char *const asym_spec[4] = {"ECC_NIST_P256", "ECC_NIST_EDWARDS25519", "RSA_2048", "HMAC_256"};
static const char *const asym_alg[4] = {"ECDSA_SHA_256", "ED25519_SHA_512", "RSASSA_PSS_SHA_256", "HMAC_SHA_256"};
#define KB_VERIFY_MESSAGE "a21zYmVuY2ggdmVyaWZ5IG1lc3NhZ2UgMzIgYnl0ZXMh" /* "kmsbench verify message 32 bytes!" */

/* Which asym_key a signing operation uses. */
static int asym_index(enum kb_op op)
{
    switch (op) {
    case KB_OP_SIGN_P256:
    case KB_OP_VERIFY_P256: return 0;
    case KB_OP_SIGN_ED25519:
    case KB_OP_VERIFY_ED25519: return 1;
    case KB_OP_SIGN_RSA2048:
    case KB_OP_VERIFY_RSA2048: return 2;
    case KB_OP_GENERATE_MAC: return 3;
    default: return -1;
    }
}

#define KB_JSON_CT "application/x-amz-json-1.1"
#define KB_FORM_CT "application/x-www-form-urlencoded; charset=utf-8"
#define KB_PLACEHOLDER_KEY "alias/kmsbench-setup-failed"

const char *kb_op_name(enum kb_op op) { return op < KB_OP_COUNT ? ops[op].name : "?"; }

static bool op_by_name(struct core_cursor name, enum kb_op *op)
{
    for (unsigned i = 0; i < KB_OP_COUNT; i++)
        if (core_cursor_eq_str(name, ops[i].name)) {
            *op = (enum kb_op)i;
            return true;
        }
    return false;
}

core_result kb_workload_parse(const char *spec, struct kb_workload *out)
{
    memset(out, 0, sizeof *out);
    struct core_cursor c = core_cursor_str(spec);
    ENSURE(c.len > 0 && c.len < sizeof out->name, ERR_INVALID_ARG);
    snprintf(out->name, sizeof out->name, "%s", spec);
    static const char temp_suffix[] = "@temp";
    size_t tl = sizeof temp_suffix - 1;
    if (c.len > tl && core_cursor_eq_str(core_cursor_from(c.ptr + c.len - tl, tl), temp_suffix)) {
        out->temp_creds = true;
        c.len -= tl;
    }
    if (core_cursor_starts_with(c, "mix:")) {
        c.ptr += 4, c.len -= 4;
        struct core_cursor item;
        while (core_cursor_split(&c, ',', &item)) {
            struct core_cursor name;
            core_cursor_split(&item, '=', &name);
            enum kb_op op;
            uint64_t wt = 1;
            ENSURE(op_by_name(name, &op), ERR_INVALID_ARG);
            if (item.len) ENSURE(core_ok(core_cursor_to_u64(item, 1000000, &wt)), ERR_INVALID_ARG);
            out->weight[op] += (unsigned)wt;
            out->total_weight += (unsigned)wt;
        }
    } else {
        enum kb_op op;
        ENSURE(op_by_name(c, &op), ERR_INVALID_ARG);
        out->weight[op] = 1;
        out->total_weight = 1;
    }
    ENSURE(out->total_weight > 0, ERR_INVALID_ARG);
    CORE_OK;
}

/* xorshift64*: plaintexts and picks only, never key material. */
uint64_t kb_rand(struct kb_scratch *s)
{
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

enum kb_op kb_workload_pick(const struct kb_workload *w, struct kb_scratch *s)
{
    unsigned r = (unsigned)(kb_rand(s) % w->total_weight);
    for (unsigned i = 0; i < KB_OP_COUNT; i++) {
        if (r < w->weight[i]) return (enum kb_op)i;
        r -= w->weight[i];
    }
    return KB_OP_GENERATE_RANDOM; /* unreachable: weights sum to total_weight */
}

core_result kb_scratch_init(struct kb_scratch *s, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->rng = seed | 1u;
    s->amz_second = -1;
    GUARD(core_buf_init(&s->body, 8192, KB_MAX_REQUEST_BYTES));
    return core_buf_init(&s->auth, 512, KB_MAX_AUTH_BYTES);
}

void kb_scratch_free(struct kb_scratch *s)
{
    core_buf_free(&s->body);
    core_buf_free(&s->auth);
}

static core_result append_random_b64(struct kb_scratch *s, size_t n, struct core_buf *out)
{
    uint8_t raw[4096];
    for (size_t i = 0; i < n; i += 8) {
        uint64_t r = kb_rand(s);
        memcpy(raw + i, &r, n - i < 8 ? n - i : 8);
    }
    return core_buf_append_base64(out, core_cursor_from(raw, n));
}

/* application/x-www-form-urlencoded value: unreserved characters stay. */
static core_result append_form_value(struct core_buf *out, struct core_cursor v)
{
    static const char hx[] = "0123456789ABCDEF";
    for (size_t i = 0; i < v.len; i++) {
        uint8_t c = v.ptr[i];
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                     c == '_' || c == '.' || c == '~';
        if (plain) {
            GUARD(core_buf_append_u8(out, c));
        } else {
            uint8_t e[3] = {'%', (uint8_t)hx[c >> 4], (uint8_t)hx[c & 15]};
            GUARD(core_buf_append(out, e, 3));
        }
    }
    CORE_OK;
}

static core_result build_body(const struct kb_ctx *ctx, enum kb_op op, struct kb_scratch *s, struct core_buf *b)
{
    const struct kb_fixture *fx = &ctx->fx;
    struct core_cursor key = core_cursor_str(fx->key_id[0] ? fx->key_id : KB_PLACEHOLDER_KEY);
    struct core_cursor ct = core_cursor_str(fx->n_ciphertexts ? fx->ciphertext[kb_rand(s) % fx->n_ciphertexts]
                                                              : "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    core_buf_reset(b);
    switch (op) {
    case KB_OP_ENCRYPT32:
    case KB_OP_ENCRYPT4K:
        GUARD(core_buf_append_str(b, "{\"KeyId\":"));
        GUARD(core_json_append_string(b, key));
        GUARD(core_buf_append_str(b, ",\"Plaintext\":\""));
        GUARD(append_random_b64(s, op == KB_OP_ENCRYPT32 ? 32 : 4096, b));
        return core_buf_append_str(b, "\"}");
    case KB_OP_DECRYPT:
        GUARD(core_buf_append_str(b, "{\"CiphertextBlob\":"));
        GUARD(core_json_append_string(b, ct));
        return core_buf_append_str(b, "}");
    case KB_OP_GENERATE_DATA_KEY:
        GUARD(core_buf_append_str(b, "{\"KeyId\":"));
        GUARD(core_json_append_string(b, key));
        return core_buf_append_str(b, ",\"KeySpec\":\"AES_256\"}");
    case KB_OP_REENCRYPT:
        GUARD(core_buf_append_str(b, "{\"CiphertextBlob\":"));
        GUARD(core_json_append_string(b, ct));
        GUARD(core_buf_append_str(b, ",\"DestinationKeyId\":"));
        GUARD(core_json_append_string(b, core_cursor_str(fx->key_id2[0] ? fx->key_id2 : KB_PLACEHOLDER_KEY)));
        return core_buf_append_str(b, "}");
    case KB_OP_GENERATE_RANDOM: return core_buf_append_str(b, "{\"NumberOfBytes\":32}");
    case KB_OP_CREATE_KEY: return core_buf_append_str(b, "{}");
    case KB_OP_ASSUME_ROLE:
        GUARD(core_buf_append_str(b, "Action=AssumeRole&Version=2011-06-15&RoleArn="));
        GUARD(append_form_value(b, core_cursor_str(fx->role_arn[0] ? fx->role_arn
                                                                    : "arn:aws:iam::000000000000:role/kmsbench")));
        return core_buf_printf(b, "&RoleSessionName=kmsbench-%08x", (unsigned)(kb_rand(s) >> 32));
    case KB_OP_GET_CALLER_IDENTITY: return core_buf_append_str(b, "Action=GetCallerIdentity&Version=2011-06-15");
    case KB_OP_SIGN_P256:
    case KB_OP_SIGN_ED25519:
    case KB_OP_SIGN_RSA2048:
    case KB_OP_GENERATE_MAC: {
        int i = asym_index(op);
        GUARD(core_buf_append_str(b, "{\"KeyId\":"));
        GUARD(core_json_append_string(b, core_cursor_str(fx->asym_key[i][0] ? fx->asym_key[i] : KB_PLACEHOLDER_KEY)));
        GUARD(core_buf_append_str(b, ",\"Message\":\""));
        GUARD(append_random_b64(s, 32, b));
        return core_buf_printf(b, "\",\"%s\":\"%s\"}", op == KB_OP_GENERATE_MAC ? "MacAlgorithm" : "SigningAlgorithm",
                               asym_alg[i]);
    }
    case KB_OP_VERIFY_P256:
    case KB_OP_VERIFY_ED25519:
    case KB_OP_VERIFY_RSA2048: {
        int i = asym_index(op);
        GUARD(core_buf_append_str(b, "{\"KeyId\":"));
        GUARD(core_json_append_string(b, core_cursor_str(fx->asym_key[i][0] ? fx->asym_key[i] : KB_PLACEHOLDER_KEY)));
        GUARD(core_buf_append_str(b, ",\"Message\":\"" KB_VERIFY_MESSAGE "\",\"Signature\":"));
        GUARD(core_json_append_string(b, core_cursor_str(fx->asym_sig[i][0] ? fx->asym_sig[i] : "AAAA")));
        return core_buf_printf(b, ",\"SigningAlgorithm\":\"%s\"}", asym_alg[i]);
    }
    case KB_OP_GENERATE_DATA_KEY_PAIR_RSA2048:
    case KB_OP_GENERATE_DATA_KEY_PAIR_P256:
        GUARD(core_buf_append_str(b, "{\"KeyId\":"));
        GUARD(core_json_append_string(b, key));
        return core_buf_printf(b, ",\"KeyPairSpec\":\"%s\"}",
                               op == KB_OP_GENERATE_DATA_KEY_PAIR_P256 ? "ECC_NIST_P256" : "RSA_2048");
    case KB_OP_COUNT: break;
    }
    BAIL(ERR_INVALID_ARG);
}

/* Signs body for svc (target: X-Amz-Target, KMS only) and frames the whole
 * HTTP/1.1 request into out. */
static core_result sign_and_frame(const struct kb_ctx *ctx, const struct kb_endpoint *ep, enum kb_svc svc,
                                  const char *target, const struct kb_creds *cr, struct kb_scratch *s,
                                  struct core_cursor body, struct core_buf *out)
{
    int64_t now = core_clock_real();
    if (now != s->amz_second) {
        core_time_amz(now, s->amz_date);
        s->amz_second = now;
    }
    char hash[65];
    sigv4_sha256_hex(body, hash);
    const char *ct = svc == KB_SVC_KMS ? KB_JSON_CT : KB_FORM_CT;
    struct sigv4_header h[5];
    size_t n = 0;
    h[n++] = (struct sigv4_header){core_cursor_str("host"), core_cursor_str(ep->host_header)};
    h[n++] = (struct sigv4_header){core_cursor_str("x-amz-date"), core_cursor_str(s->amz_date)};
    h[n++] = (struct sigv4_header){core_cursor_str("content-type"), core_cursor_str(ct)};
    if (target) h[n++] = (struct sigv4_header){core_cursor_str("x-amz-target"), core_cursor_str(target)};
    if (cr->session_token[0])
        h[n++] = (struct sigv4_header){core_cursor_str("x-amz-security-token"), core_cursor_str(cr->session_token)};
    struct sigv4_request req = {.method = core_cursor_str("POST"),
                                .path = core_cursor_str("/"),
                                .query = core_cursor_str(""),
                                .headers = h,
                                .n_headers = n,
                                .payload_hash = core_cursor_from(hash, 64),
                                .now = now};
    struct sigv4_credentials sc = {core_cursor_str(cr->access_key_id), core_cursor_str(cr->secret),
                                   core_cursor_str(cr->session_token)};
    core_buf_reset(&s->auth);
    GUARD(sigv4_sign(&req, &sc, core_cursor_str(ctx->region), core_cursor_str(svc_name[svc]),
                     core_cursor_str(s->amz_date), ctx->cache, &s->auth));

    core_buf_reset(out);
    GUARD(core_buf_append_str(out, "POST / HTTP/1.1\r\nHost: "));
    GUARD(core_buf_append_str(out, ep->host_header));
    GUARD(core_buf_append_str(out, "\r\nX-Amz-Date: "));
    GUARD(core_buf_append_str(out, s->amz_date));
    GUARD(core_buf_append_str(out, "\r\nContent-Type: "));
    GUARD(core_buf_append_str(out, ct));
    if (target) {
        GUARD(core_buf_append_str(out, "\r\nX-Amz-Target: "));
        GUARD(core_buf_append_str(out, target));
    }
    if (cr->session_token[0]) {
        GUARD(core_buf_append_str(out, "\r\nX-Amz-Security-Token: "));
        GUARD(core_buf_append_str(out, cr->session_token));
    }
    GUARD(core_buf_append_str(out, "\r\nAuthorization: "));
    GUARD(core_buf_append_cursor(out, core_buf_cursor(&s->auth)));
    GUARD(core_buf_printf(out, "\r\nContent-Length: %zu\r\n\r\n", body.len));
    return core_buf_append_cursor(out, body);
}

core_result kb_build(const struct kb_ctx *ctx, const struct kb_endpoint *ep, enum kb_op op, bool temp,
                     struct kb_scratch *s, struct core_buf *out)
{
    ENSURE(op < KB_OP_COUNT, ERR_INVALID_ARG);
    GUARD(build_body(ctx, op, s, &s->body));
    return sign_and_frame(ctx, ep, ops[op].svc, ops[op].target, temp ? &ctx->fx.temp : &ctx->creds, s,
                          core_buf_cursor(&s->body), out);
}

/* ---- setup ---------------------------------------------------------- */

/* One signed call with the long-term credentials; status 0 when the server
 * could not be reached. */
static core_result call(const struct kb_ctx *ctx, enum kb_svc svc, const char *target, const char *body,
                        unsigned *status, struct core_buf *resp)
{
    DEFER_CLEANUP(struct kb_scratch s, kb_scratch_free);
    GUARD(kb_scratch_init(&s, (uint64_t)getpid() * 0x9E3779B97F4A7C15ULL));
    DEFER_CLEANUP(struct core_buf req = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&req, 4096, KB_MAX_REQUEST_BYTES));
    GUARD(sign_and_frame(ctx, &ctx->ep, svc, target, &ctx->creds, &s, core_cursor_str(body), &req));
    *status = 0;
    GUARD(kb_http_roundtrip(&ctx->ep, core_buf_cursor(&req), status, resp));
    CORE_OK;
}

static void report_failure(const char *what, unsigned status, const struct core_buf *resp)
{
    char code[KB_ERROR_CODE_BYTES] = "unreachable";
    if (status) {
        /* Reuse the error-code reader on a body-only view. */
        struct kb_resp r = {.status = status, .header_len = 0, .body_len = resp->len};
        kb_resp_error_code(&r, resp->data ? resp->data : (const uint8_t *)"", code);
    }
    fprintf(stderr, "kmsbench: setup: %s failed (HTTP %u, %s); the workload runs and counts its errors\n", what,
            status, code);
}

/* JSON string member path ("KeyMetadata", "KeyId") of a response body. */
static bool json_member(const struct core_buf *body, const char *outer, const char *inner, char *out, size_t cap)
{
    json_error_t jerr;
    json_t *root = json_loadb(body->data ? (const char *)body->data : "", body->len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) return false;
    json_t *v = outer ? json_object_get(root, outer) : root;
    v = v ? json_object_get(v, inner) : NULL;
    bool ok = json_is_string(v) && json_string_length(v) < cap;
    if (ok) snprintf(out, cap, "%s", json_string_value(v));
    json_decref(root);
    return ok;
}

/* Text of the first <tag>...</tag> of an XML body (no entities expected:
 * ids, ARNs and base64 tokens). */
static bool xml_member(const struct core_buf *body, const char *tag, char *out, size_t cap)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    if (body->len == 0) return false;
    const uint8_t *p = memmem(body->data, body->len, open, strlen(open));
    if (p == NULL) return false;
    p += strlen(open);
    const uint8_t *q = memmem(p, body->len - (size_t)(p - body->data), close, strlen(close));
    if (q == NULL || (size_t)(q - p) >= cap) return false;
    memcpy(out, p, (size_t)(q - p));
    out[q - p] = 0;
    return true;
}

static core_result create_key(struct kb_ctx *ctx, char *out, size_t cap, struct core_buf *resp)
{
    unsigned st;
    core_result r = call(ctx, KB_SVC_KMS, "TrentService.CreateKey", "{\"Description\":\"kmsbench\"}", &st, resp);
    if (core_ok(r) && st == 200 && json_member(resp, "KeyMetadata", "KeyId", out, cap)) CORE_OK;
    report_failure("CreateKey", core_ok(r) ? st : 0, resp);
    CORE_OK;
}

/* An asymmetric or HMAC key for workload index i and, for signing keys, a
 * signature of KB_VERIFY_MESSAGE for the Verify workloads. */
static core_result create_asym_key(struct kb_ctx *ctx, int i, struct core_buf *resp)
{
    struct kb_fixture *fx = &ctx->fx;
    char body[2048];
    unsigned st;
    snprintf(body, sizeof body, "{\"Description\":\"kmsbench\",\"KeySpec\":\"%s\",\"KeyUsage\":\"%s\"}",
             asym_spec[i], i == 3 ? "GENERATE_VERIFY_MAC" : "SIGN_VERIFY");
    core_result r = call(ctx, KB_SVC_KMS, "TrentService.CreateKey", body, &st, resp);
    if (!core_ok(r) || st != 200 || !json_member(resp, "KeyMetadata", "KeyId", fx->asym_key[i], sizeof fx->asym_key[0])) {
        report_failure("CreateKey (asymmetric)", core_ok(r) ? st : 0, resp);
        CORE_OK;
    }
    if (i == 3) CORE_OK;
    snprintf(body, sizeof body, "{\"KeyId\":\"%s\",\"Message\":\"" KB_VERIFY_MESSAGE "\",\"SigningAlgorithm\":\"%s\"}",
             fx->asym_key[i], asym_alg[i]);
    r = call(ctx, KB_SVC_KMS, "TrentService.Sign", body, &st, resp);
    if (!core_ok(r) || st != 200 || !json_member(resp, NULL, "Signature", fx->asym_sig[i], sizeof fx->asym_sig[0]))
        report_failure("Sign", core_ok(r) ? st : 0, resp);
    CORE_OK;
}

static core_result make_ciphertexts(struct kb_ctx *ctx, struct core_buf *resp)
{
    struct kb_fixture *fx = &ctx->fx;
    DEFER_CLEANUP(struct kb_scratch s, kb_scratch_free);
    GUARD(kb_scratch_init(&s, (uint64_t)getpid() + 17u));
    DEFER_CLEANUP(struct core_buf body = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&body, 512, 8192));
    while (fx->n_ciphertexts < KB_N_CIPHERTEXTS) {
        GUARD(build_body(ctx, KB_OP_ENCRYPT32, &s, &body));
        GUARD(core_buf_terminate(&body));
        unsigned st;
        core_result r = call(ctx, KB_SVC_KMS, "TrentService.Encrypt", (const char *)body.data, &st, resp);
        if (!core_ok(r) || st != 200 ||
            !json_member(resp, NULL, "CiphertextBlob", fx->ciphertext[fx->n_ciphertexts],
                         sizeof fx->ciphertext[0])) {
            report_failure("Encrypt", core_ok(r) ? st : 0, resp);
            break;
        }
        fx->n_ciphertexts++;
    }
    CORE_OK;
}

static core_result create_role(struct kb_ctx *ctx, struct core_buf *resp)
{
    struct kb_fixture *fx = &ctx->fx;
    unsigned st;
    if (!fx->account[0]) {
        core_result r = call(ctx, KB_SVC_STS, NULL, "Action=GetCallerIdentity&Version=2011-06-15", &st, resp);
        if (!core_ok(r) || st != 200 || !xml_member(resp, "Account", fx->account, sizeof fx->account)) {
            report_failure("GetCallerIdentity", core_ok(r) ? st : 0, resp);
            snprintf(fx->account, sizeof fx->account, "000000000000");
        }
    }
    char name[64], policy[512];
    snprintf(name, sizeof name, "kmsbench-%ld-%ld", (long)getpid(), (long)core_clock_real());
    snprintf(policy, sizeof policy,
             "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
             "\"arn:aws:iam::%s:root\"},\"Action\":\"sts:AssumeRole\"}]}",
             fx->account);
    DEFER_CLEANUP(struct core_buf form = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&form, 1024, 8192));
    GUARD(core_buf_printf(&form, "Action=CreateRole&Version=2010-05-08&RoleName=%s&AssumeRolePolicyDocument=", name));
    GUARD(append_form_value(&form, core_cursor_str(policy)));
    GUARD(core_buf_terminate(&form));
    core_result r = call(ctx, KB_SVC_IAM, NULL, (const char *)form.data, &st, resp);
    if (core_ok(r) && st == 200 && xml_member(resp, "Arn", fx->role_arn, sizeof fx->role_arn)) CORE_OK;
    report_failure("iam CreateRole", core_ok(r) ? st : 0, resp);
    snprintf(fx->role_arn, sizeof fx->role_arn, "arn:aws:iam::%s:role/%s", fx->account, name);
    CORE_OK;
}

static core_result session_token(struct kb_ctx *ctx, struct core_buf *resp)
{
    struct kb_fixture *fx = &ctx->fx;
    unsigned st;
    core_result r =
        call(ctx, KB_SVC_STS, NULL, "Action=GetSessionToken&Version=2011-06-15&DurationSeconds=3600", &st, resp);
    if (core_ok(r) && st == 200 &&
        xml_member(resp, "AccessKeyId", fx->temp.access_key_id, sizeof fx->temp.access_key_id) &&
        xml_member(resp, "SecretAccessKey", fx->temp.secret, sizeof fx->temp.secret) &&
        xml_member(resp, "SessionToken", fx->temp.session_token, sizeof fx->temp.session_token)) {
        fx->have_temp = true;
        CORE_OK;
    }
    report_failure("sts GetSessionToken", core_ok(r) ? st : 0, resp);
    CORE_OK;
}

core_result kb_setup(struct kb_ctx *ctx, const struct kb_workload *w)
{
    struct kb_fixture *fx = &ctx->fx;
    DEFER_CLEANUP(struct core_buf resp = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&resp, 4096, KB_MAX_RESPONSE_BYTES));
    const unsigned *wt = w->weight;
    bool need_key = wt[KB_OP_ENCRYPT32] || wt[KB_OP_ENCRYPT4K] || wt[KB_OP_DECRYPT] ||
                    wt[KB_OP_GENERATE_DATA_KEY] || wt[KB_OP_REENCRYPT] || wt[KB_OP_GENERATE_DATA_KEY_PAIR_RSA2048] ||
                    wt[KB_OP_GENERATE_DATA_KEY_PAIR_P256];
    for (unsigned op = KB_OP_SIGN_P256; op <= KB_OP_GENERATE_MAC; op++) {
        int i = asym_index((enum kb_op)op);
        if (wt[op] && !fx->asym_key[i][0]) GUARD(create_asym_key(ctx, i, &resp));
    }
    if (need_key && !fx->setup_done[KB_OP_ENCRYPT32]) {
        fx->setup_done[KB_OP_ENCRYPT32] = true;
        if (!fx->key_id[0]) GUARD(create_key(ctx, fx->key_id, sizeof fx->key_id, &resp));
    }
    if (wt[KB_OP_REENCRYPT] && !fx->setup_done[KB_OP_REENCRYPT]) {
        fx->setup_done[KB_OP_REENCRYPT] = true;
        GUARD(create_key(ctx, fx->key_id2, sizeof fx->key_id2, &resp));
    }
    if ((wt[KB_OP_DECRYPT] || wt[KB_OP_REENCRYPT]) && !fx->setup_done[KB_OP_DECRYPT]) {
        fx->setup_done[KB_OP_DECRYPT] = true;
        if (fx->key_id[0]) GUARD(make_ciphertexts(ctx, &resp));
    }
    if (wt[KB_OP_ASSUME_ROLE] && !fx->setup_done[KB_OP_ASSUME_ROLE]) {
        fx->setup_done[KB_OP_ASSUME_ROLE] = true;
        GUARD(create_role(ctx, &resp));
    }
    if (w->temp_creds && !fx->have_temp) GUARD(session_token(ctx, &resp));
    CORE_OK;
}
