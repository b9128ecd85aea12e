/*
 * Seed files (docs/seed.md). libyaml loads the document into a node tree
 * with line numbers; the walk below validates each entry and writes it in
 * the one write transaction, so the first error aborts everything. Fields
 * are strict: an unknown or repeated field is an error, so a typo is a
 * failed start rather than a silently missing key.
 *
 * local-kms's format: https://github.com/nsmithuk/local-kms#seeding-file-format
 *   "BackingKeys must be an array of one or more hex encoded 256bit keys";
 *   "Adding more than one backing key simulates the effect of the CMK having
 *   been rotated" (the last one is current; local-kms appends on rotation).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

#include "iam/iam_seed.h"
#include "kms/kms_seed.h"
#include "policy/policy.h"
#include "seed/seed.h"

#define MAX_SEED_ENTRIES 10000u
#define MAX_LIST 64u

struct sctx {
    const char *file;
    char *err;
    size_t err_cap;
    yaml_document_t *doc;
    struct keystore_txn *txn; /* NULL when only checking */
    char account[16], region[32];
    int64_t now;
    struct seed_stats *st;
    size_t visits;
    bool check_only;
    struct core_buf seen; /* "acct/region/key-id\n" of the file's keys, for alias targets when checking alone */
};

static core_result fail(struct sctx *c, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static core_result fail(struct sctx *c, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n)
        snprintf(c->err, c->err_cap, "%s:%zu: %s", c->file, (size_t)n->start_mark.line + 1, msg);
    else
        snprintf(c->err, c->err_cap, "%s: %s", c->file, msg);
    BAIL(ERR_PARSE);
}

/* A printable echo of a user value, capped (never used for secrets). */
static const char *echo(struct core_cursor s, char out[80])
{
    size_t n = s.len < 64 ? s.len : 64;
    for (size_t i = 0; i < n; i++) out[i] = (s.ptr[i] < 0x20 || s.ptr[i] >= 0x7f) ? '?' : (char)s.ptr[i];
    snprintf(out + n, 80 - n, "%s", s.len > 64 ? "..." : "");
    return out;
}

static yaml_node_t *node(struct sctx *c, int i) { return yaml_document_get_node(c->doc, i); }

static core_result visit(struct sctx *c, const yaml_node_t *n)
{
    if (++c->visits > SEED_MAX_NODE_VISITS) return fail(c, n, "the seed is too large (more than %u nodes)",
                                                        SEED_MAX_NODE_VISITS);
    CORE_OK;
}

/*
 * Splits mapping n into the fields named in `names` (NULL-terminated);
 * out[i] is NULL for an absent field. Unknown and repeated fields fail.
 */
static core_result fields(struct sctx *c, const yaml_node_t *n, const char *what, const char *const *names,
                          yaml_node_t **out)
{
    size_t count = 0;
    while (names[count]) out[count] = NULL, count++;
    if (n->type != YAML_MAPPING_NODE) return fail(c, n, "%s must be a mapping", what);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
        GUARD(visit(c, k));
        if (!k || !v || k->type != YAML_SCALAR_NODE) return fail(c, k, "%s: keys must be plain names", what);
        struct core_cursor kc = core_cursor_from(k->data.scalar.value, k->data.scalar.length);
        size_t i = 0;
        while (i < count && !core_cursor_eq_str(kc, names[i])) i++;
        char e[80];
        if (i == count) return fail(c, k, "%s: unknown field '%s'", what, echo(kc, e));
        if (out[i]) return fail(c, k, "%s: field '%s' given twice", what, names[i]);
        out[i] = v;
    }
    CORE_OK;
}

static bool is_null(const yaml_node_t *n)
{
    if (n == NULL) return true;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
    struct core_cursor v = core_cursor_from(n->data.scalar.value, n->data.scalar.length);
    return v.len == 0 || core_cursor_eq_str(v, "~") || core_cursor_eq_str(v, "null");
}

static core_result scalar(struct sctx *c, const yaml_node_t *n, const char *what, size_t min, size_t max,
                          struct core_cursor *out)
{
    if (n->type != YAML_SCALAR_NODE) return fail(c, n, "%s must be a single value", what);
    *out = core_cursor_from(n->data.scalar.value, n->data.scalar.length);
    if (out->len < min || out->len > max) return fail(c, n, "%s must be %zu to %zu characters long", what, min, max);
    for (size_t i = 0; i < out->len; i++)
        if (out->ptr[i] == 0) return fail(c, n, "%s must not contain a NUL character", what);
    CORE_OK;
}

static core_result boolean(struct sctx *c, const yaml_node_t *n, const char *what, bool *out)
{
    struct core_cursor v = {0};
    GUARD(scalar(c, n, what, 1, 8, &v));
    if (core_cursor_eq_str(v, "true") || core_cursor_eq_str(v, "True") || core_cursor_eq_str(v, "yes"))
        *out = true;
    else if (core_cursor_eq_str(v, "false") || core_cursor_eq_str(v, "False") || core_cursor_eq_str(v, "no"))
        *out = false;
    else
        return fail(c, n, "%s must be true or false", what);
    CORE_OK;
}

static core_result integer(struct sctx *c, const yaml_node_t *n, const char *what, uint64_t min, uint64_t max,
                           uint64_t *out)
{
    struct core_cursor v = {0};
    GUARD(scalar(c, n, what, 1, 20, &v));
    if (!core_ok(core_cursor_to_u64(v, max, out)) || *out < min)
        return fail(c, n, "%s must be a whole number from %llu to %llu", what, (unsigned long long)min,
                    (unsigned long long)max);
    CORE_OK;
}

static bool digits(const uint8_t *p, size_t n, int *v)
{
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        *v = *v * 10 + (p[i] - '0');
    }
    return true;
}

/* ISO 8601: YYYY-MM-DD[THH:MM:SS[.fff]][Z|+HH:MM|-HH:MM] (local-kms: "2019-09-12T15:19:21+00:00"). */
static core_result timestamp(struct sctx *c, const yaml_node_t *n, const char *what, int64_t *out)
{
    struct core_cursor v = {0};
    GUARD(scalar(c, n, what, 10, 40, &v));
    const uint8_t *p = v.ptr;
    int Y, M, D, h = 0, m = 0, s = 0, oh = 0, om = 0, sign = 0;
    bool ok = v.len >= 10 && digits(p, 4, &Y) && p[4] == '-' && digits(p + 5, 2, &M) && p[7] == '-' &&
              digits(p + 8, 2, &D);
    size_t i = 10;
    if (ok && i < v.len) {
        ok = (p[i] == 'T' || p[i] == ' ') && v.len >= i + 9 && digits(p + i + 1, 2, &h) && p[i + 3] == ':' &&
             digits(p + i + 4, 2, &m) && p[i + 6] == ':' && digits(p + i + 7, 2, &s);
        i += 9;
        if (ok && i < v.len && p[i] == '.')
            for (i++; i < v.len && p[i] >= '0' && p[i] <= '9'; i++) {}
        if (ok && i < v.len) {
            if (p[i] == 'Z' && i + 1 == v.len) {
                i++;
            } else if ((p[i] == '+' || p[i] == '-') && v.len == i + 6 && digits(p + i + 1, 2, &oh) &&
                       p[i + 3] == ':' && digits(p + i + 4, 2, &om)) {
                sign = p[i] == '-' ? -1 : 1;
                i += 6;
            } else {
                ok = false;
            }
        }
    }
    ok = ok && i == v.len && M >= 1 && M <= 12 && D >= 1 && D <= 31 && h < 24 && m < 60 && s < 61 && Y >= 1970;
    if (!ok) return fail(c, n, "%s must be an ISO 8601 date such as 2019-09-12T15:19:21+00:00", what);
    struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m, .tm_sec = s};
    *out = (int64_t)timegm(&tm) - sign * (oh * 3600 + om * 60);
    CORE_OK;
}

static core_result account_field(struct sctx *c, const yaml_node_t *n, char out[16])
{
    if (n == NULL) {
        memcpy(out, c->account, 16);
        CORE_OK;
    }
    struct core_cursor v = {0};
    GUARD(scalar(c, n, "Account", 12, 12, &v));
    for (size_t i = 0; i < 12; i++)
        if (v.ptr[i] < '0' || v.ptr[i] > '9') return fail(c, n, "Account must be a 12-digit account id");
    memcpy(out, v.ptr, 12);
    out[12] = 0;
    CORE_OK;
}

static core_result region_field(struct sctx *c, const yaml_node_t *n, char out[32])
{
    if (n == NULL) {
        memcpy(out, c->region, 32);
        CORE_OK;
    }
    struct core_cursor v = {0};
    GUARD(scalar(c, n, "Region", 2, 25, &v));
    for (size_t i = 0; i < v.len; i++) {
        uint8_t ch = v.ptr[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
            return fail(c, n, "Region must be a Region name such as us-east-1");
    }
    memcpy(out, v.ptr, v.len);
    out[v.len] = 0;
    CORE_OK;
}

static core_result sequence(struct sctx *c, const yaml_node_t *n, const char *what, size_t max, size_t *count)
{
    if (n->type != YAML_SEQUENCE_NODE) return fail(c, n, "%s must be a list", what);
    *count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (*count > max) return fail(c, n, "%s has more than %zu entries", what, max);
    CORE_OK;
}

static yaml_node_t *item(struct sctx *c, const yaml_node_t *seq, size_t i)
{
    return node(c, seq->data.sequence.items.start[i]);
}

/* YAML to JSON for documents written as YAML (policies, JWKS); scalars become strings.
 * On failure *out is NULL. */
static core_result to_json(struct sctx *c, const yaml_node_t *n, unsigned depth, json_t **out)
{
    *out = NULL;
    GUARD(visit(c, n));
    if (depth > 10) return fail(c, n, "document nested too deeply");
    json_t *v = NULL;
    core_result r = core_result_ok();
    switch (n->type) {
    case YAML_SCALAR_NODE:
        v = json_stringn((const char *)n->data.scalar.value, n->data.scalar.length);
        break;
    case YAML_SEQUENCE_NODE:
        v = json_array();
        for (yaml_node_item_t *it = n->data.sequence.items.start; v && core_ok(r) && it < n->data.sequence.items.top;
             it++) {
            json_t *e = NULL;
            r = to_json(c, node(c, *it), depth + 1, &e);
            if (core_ok(r)) json_array_append_new(v, e);
        }
        break;
    case YAML_MAPPING_NODE:
        v = json_object();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; v && core_ok(r) && p < n->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = node(c, p->key);
            if (k->type != YAML_SCALAR_NODE) {
                r = fail(c, k, "document keys must be plain strings");
                break;
            }
            char key[256];
            snprintf(key, sizeof key, "%.*s", (int)k->data.scalar.length, (const char *)k->data.scalar.value);
            json_t *e = NULL;
            r = to_json(c, node(c, p->value), depth + 1, &e);
            if (core_ok(r)) json_object_set_new(v, key, e);
        }
        break;
    default:
        return fail(c, n, "unexpected empty node");
    }
    if (!core_ok(r)) {
        if (v) json_decref(v);
        return r;
    }
    ENSURE(v != NULL, ERR_NOMEM);
    *out = v;
    CORE_OK;
}

/* A JSON document given as JSON text (a string) or written as YAML; into buf. */
static core_result document(struct sctx *c, const yaml_node_t *n, const char *what, size_t max, struct core_buf *buf)
{
    if (n->type == YAML_SCALAR_NODE) {
        struct core_cursor v = {0};
        GUARD(scalar(c, n, what, 1, max, &v));
        return core_buf_append_cursor(buf, v);
    }
    DEFER_CLEANUP(json_t *j = NULL, core_json_cleanup);
    GUARD(to_json(c, n, 0, &j));
    core_result r = core_json_dump(j, buf);
    if (!core_ok(r)) return fail(c, n, "%s is larger than %zu bytes", what, max);
    CORE_OK;
}

static core_result check_policy(struct sctx *c, const yaml_node_t *n, const char *what, enum policy_kind kind,
                                size_t max, bool iam, struct core_cursor doc)
{
    struct policy_parse_opts o = {.kind = kind, .max_bytes = max, .ignore_whitespace = iam};
    DEFER_CLEANUP(struct core_buf reason = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&reason, 256, 2048));
    struct policy *p = NULL;
    core_result r = policy_parse(&o, doc, &p, &reason, NULL);
    policy_free(p);
    if (core_ok(r)) CORE_OK;
    if (r.err != ERR_PARSE && r.err != ERR_LIMIT) return r;
    return fail(c, n, "%s is not a valid policy: %.*s", what, (int)reason.len,
                reason.len ? (const char *)reason.data : "malformed");
}

/* ---- KMS keys ---------------------------------------------------------- */

static core_result hex32(struct sctx *c, const yaml_node_t *n, const char *what, struct core_buf *out)
{
    if (n->type != YAML_SCALAR_NODE) return fail(c, n, "%s must be a single value", what);
    const uint8_t *p = (const uint8_t *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    if (len != 64) return fail(c, n, "%s must be hex encoded and exactly 32 bytes (256 bit), found %zu characters",
                               what, len);
    for (size_t i = 0; i < 32; i++) {
        uint8_t b = 0;
        for (size_t j = 0; j < 2; j++) {
            uint8_t ch = p[2 * i + j], v;
            if (ch >= '0' && ch <= '9') v = (uint8_t)(ch - '0');
            else if (ch >= 'a' && ch <= 'f') v = (uint8_t)(ch - 'a' + 10);
            else if (ch >= 'A' && ch <= 'F') v = (uint8_t)(ch - 'A' + 10);
            else return fail(c, n, "%s must be hex encoded (0-9, a-f)", what);
            b = (uint8_t)(b << 4 | v);
        }
        GUARD(core_buf_append_u8(out, b));
    }
    CORE_OK;
}

static core_result b64_32(struct sctx *c, const yaml_node_t *n, const char *what, struct core_buf *out)
{
    if (n->type != YAML_SCALAR_NODE) return fail(c, n, "%s must be a single value", what);
    size_t before = out->len;
    core_result r = core_buf_append_unbase64(
        out, core_cursor_from(n->data.scalar.value, n->data.scalar.length));
    if (!core_ok(r) || out->len - before != 32)
        return fail(c, n, "%s must be standard base64 of exactly 32 bytes (256 bit)", what);
    CORE_OK;
}

/* Which list a key entry comes from: Keys.Symmetric.Aes, Keys.Asymmetric.Rsa or Keys.Asymmetric.Ecc. */
enum key_kind { KIND_AES, KIND_RSA, KIND_ECC };

/*
 * An asymmetric entry's material and facts: PrivateKeyPem (unencrypted
 * PKCS#8, PKCS#1 or SEC1, as local-kms reads it), the KeySpec it has, and
 * its KeyUsage (required for Rsa, which takes two; SIGN_VERIFY by default
 * for Ecc, as local-kms). der is secret memory, wiped by the caller.
 */
static core_result asymmetric_material(struct sctx *c, enum key_kind kind, yaml_node_t *const *m_usage_spec_cmk,
                                       const yaml_node_t *pem_node, const char *region, struct kms_seed_key *k,
                                       struct core_secret *der)
{
    if (!pem_node) return fail(c, m_usage_spec_cmk[3], "an asymmetric key needs PrivateKeyPem");
    struct core_cursor pem = {0};
    GUARD(scalar(c, pem_node, "PrivateKeyPem", 1, 16384, &pem));
    uint8_t spec = 0;
    core_result r = kms_seed_private_key(pem, &spec, der);
    if (r.err == ERR_PARSE)
        return fail(c, pem_node, "PrivateKeyPem is not an unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1)");
    if (r.err == ERR_INVALID_ARG)
        return fail(c, pem_node, "PrivateKeyPem holds a key no KMS KeySpec takes (RSA 2048/3072/4096, ECC P-256/"
                                 "P-384/P-521, secp256k1, Ed25519 or SM2)");
    GUARD(r);
    if ((kind == KIND_RSA) != kms_seed_spec_is_rsa(spec))
        return fail(c, pem_node, "PrivateKeyPem holds a %s key, which belongs under Keys.Asymmetric.%s",
                    kms_seed_spec_name(spec), kind == KIND_RSA ? "Ecc" : "Rsa");
    /* "SM2 (China Regions only)" (KeySpec, API_CreateKey.html). */
    if (core_cursor_eq_str(core_cursor_str(kms_seed_spec_name(spec)), "SM2") && strncmp(region, "cn-", 3) != 0)
        return fail(c, pem_node, "SM2 keys are supported only in the China Regions, not in %s", region);
    for (int i = 1; i <= 2; i++) {
        if (!m_usage_spec_cmk[i]) continue;
        struct core_cursor v = {0};
        GUARD(scalar(c, m_usage_spec_cmk[i], i == 1 ? "KeySpec" : "CustomerMasterKeySpec", 1, 32, &v));
        if (!core_cursor_eq_str(v, kms_seed_spec_name(spec)))
            return fail(c, m_usage_spec_cmk[i], "%s does not match PrivateKeyPem, a %s key",
                        i == 1 ? "KeySpec" : "CustomerMasterKeySpec", kms_seed_spec_name(spec));
    }
    struct core_cursor usage = core_cursor_str("SIGN_VERIFY");
    if (m_usage_spec_cmk[0])
        GUARD(scalar(c, m_usage_spec_cmk[0], "KeyUsage", 1, 32, &usage));
    else if (kind == KIND_RSA)
        return fail(c, pem_node, "an Rsa key needs Metadata.KeyUsage (SIGN_VERIFY or ENCRYPT_DECRYPT)");
    if (!kms_seed_usage(usage, spec, &k->usage)) {
        char e80[80];
        return fail(c, m_usage_spec_cmk[0] ? m_usage_spec_cmk[0] : pem_node, "KeyUsage %s is not valid for a %s key",
                    echo(usage, e80), kms_seed_spec_name(spec));
    }
    k->asymmetric = true;
    k->spec = spec;
    k->private_der = core_secret_cursor(der);
    CORE_OK;
}

static core_result kms_key_entry(struct sctx *c, const yaml_node_t *e, enum key_kind kind)
{
    static const char *const names[] = {"Metadata", "BackingKeys", "BackingKeysBase64", "NextKeyRotation",
                                        "Account", "Region", "Policy", "Tags", "EnableKeyRotation",
                                        "RotationPeriodInDays", "PrivateKeyPem", NULL};
    enum { F_META, F_BK, F_BK64, F_NEXT, F_ACCT, F_REGION, F_POLICY, F_TAGS, F_ROT, F_PERIOD, F_PEM, F_N };
    yaml_node_t *f[F_N];
    GUARD(fields(c, e, "a key", names, f));
    if (!f[F_META]) return fail(c, e, "a key needs Metadata with a KeyId");
    static const char *const mnames[] = {"KeyId", "Description", "Enabled", "Origin", "KeyUsage", "KeySpec",
                                         "CustomerMasterKeySpec", "AWSAccountId", NULL};
    enum { M_ID, M_DESC, M_ENABLED, M_ORIGIN, M_USAGE, M_SPEC, M_CMK, M_ACCT, M_N };
    yaml_node_t *m[M_N];
    GUARD(fields(c, f[F_META], "Metadata", mnames, m));

    struct kms_seed_key k = {.now = c->now};
    char account[16], region[32], key_id[40], e80[80];
    if (f[F_ACCT] && m[M_ACCT]) return fail(c, m[M_ACCT], "give the account as Account or AWSAccountId, not both");
    GUARD(account_field(c, f[F_ACCT] ? f[F_ACCT] : m[M_ACCT], account));
    GUARD(region_field(c, f[F_REGION], region));
    k.account = account;
    k.region = region;

    if (!m[M_ID]) return fail(c, f[F_META], "Metadata needs a KeyId");
    struct core_cursor id = {0};
    GUARD(scalar(c, m[M_ID], "KeyId", 1, 64, &id));
    bool lower = id.len == 36;
    for (size_t i = 0; i < id.len && lower; i++) lower = !(id.ptr[i] >= 'A' && id.ptr[i] <= 'F');
    if (!lower || !kms_seed_key_id_valid(id))
        return fail(c, m[M_ID], "KeyId '%s' is not a key id (a lowercase UUID such as "
                                "bc436485-5092-42b8-92a3-0aa8b93536dc)", echo(id, e80));
    memcpy(key_id, id.ptr, id.len);
    key_id[id.len] = 0;
    k.key_id = key_id;

    if (m[M_DESC]) GUARD(scalar(c, m[M_DESC], "Description", 0, 8192, &k.description));
    if (m[M_ENABLED]) {
        bool en = 0;
        GUARD(boolean(c, m[M_ENABLED], "Enabled", &en));
        k.disabled = !en;
    }
    struct core_cursor v = {0};
    if (m[M_ORIGIN]) {
        GUARD(scalar(c, m[M_ORIGIN], "Origin", 1, 32, &v));
        if (core_cursor_eq_str(v, "EXTERNAL"))
            return fail(c, m[M_ORIGIN], "Origin EXTERNAL (imported key material) is not implemented in kmsd yet; "
                                        "seed the material as an AWS_KMS key instead");
        if (!core_cursor_eq_str(v, "AWS_KMS")) return fail(c, m[M_ORIGIN], "Origin must be AWS_KMS");
    }
    /* Material: secret buffers, wiped when this entry is done. */
    DEFER_CLEANUP(struct core_buf mat = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_secret der = {0}, core_secret_cleanup);
    struct core_cursor mats[KMS_SEED_MAX_VERSIONS] = {{0}};
    if (kind != KIND_AES) {
        /* "You cannot enable automatic key rotation of asymmetric KMS keys" (rotate-keys.html). */
        static const int aes_only[] = {F_BK, F_BK64, F_NEXT, F_ROT, F_PERIOD};
        for (size_t i = 0; i < sizeof aes_only / sizeof aes_only[0]; i++)
            if (f[aes_only[i]])
                return fail(c, f[aes_only[i]], "%s applies to Aes keys only: an asymmetric key has one private "
                                               "key (PrivateKeyPem) and no automatic rotation", names[aes_only[i]]);
        yaml_node_t *const usc[4] = {m[M_USAGE], m[M_SPEC], m[M_CMK], f[F_META]};
        GUARD(asymmetric_material(c, kind, usc, f[F_PEM], region, &k, &der));
    } else {
        if (f[F_PEM]) return fail(c, f[F_PEM], "PrivateKeyPem applies to Keys.Asymmetric entries, not Aes keys");
        if (m[M_USAGE]) {
            GUARD(scalar(c, m[M_USAGE], "KeyUsage", 1, 32, &v));
            if (!core_cursor_eq_str(v, "ENCRYPT_DECRYPT"))
                return fail(c, m[M_USAGE], "KeyUsage of a symmetric (Aes) key must be ENCRYPT_DECRYPT");
        }
        for (int s = M_SPEC; s <= M_CMK; s++) {
            if (!m[s]) continue;
            GUARD(scalar(c, m[s], mnames[s], 1, 32, &v));
            if (!core_cursor_eq_str(v, "SYMMETRIC_DEFAULT"))
                return fail(c, m[s], "%s of an Aes key must be SYMMETRIC_DEFAULT", mnames[s]);
        }
        GUARD(core_buf_init_secret(&mat, 32u * KMS_SEED_MAX_VERSIONS));
        if (f[F_BK] && f[F_BK64]) return fail(c, f[F_BK64], "give BackingKeys or BackingKeysBase64, not both");
        const yaml_node_t *bk = f[F_BK] ? f[F_BK] : f[F_BK64];
        if (!bk) return fail(c, e, "At least one backing key must be supplied (BackingKeys)");
        size_t n = 0;
        GUARD(sequence(c, bk, f[F_BK] ? "BackingKeys" : "BackingKeysBase64", KMS_SEED_MAX_VERSIONS, &n));
        if (n == 0) return fail(c, bk, "At least one backing key must be supplied (BackingKeys)");
        for (size_t i = 0; i < n; i++) {
            GUARD(visit(c, item(c, bk, i)));
            if (f[F_BK])
                GUARD(hex32(c, item(c, bk, i), "a backing key", &mat));
            else
                GUARD(b64_32(c, item(c, bk, i), "a backing key", &mat));
        }
        for (size_t i = 0; i < n; i++) mats[i] = core_cursor_from(mat.data + 32 * i, 32);
        k.materials = mats;
        k.n_materials = (uint32_t)n;
    }

    DEFER_CLEANUP(struct core_buf policy = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&policy, 0, POLICY_KMS_KEY_POLICY_MAX_BYTES));
    if (f[F_POLICY]) {
        GUARD(document(c, f[F_POLICY], "Policy", POLICY_KMS_KEY_POLICY_MAX_BYTES, &policy));
        k.policy = core_buf_cursor(&policy);
        GUARD(check_policy(c, f[F_POLICY], "Policy", POLICY_KIND_RESOURCE, POLICY_KMS_KEY_POLICY_MAX_BYTES, false,
                           k.policy));
    }

    struct kms_seed_tag tags[KMS_SEED_MAX_TAGS];
    if (f[F_TAGS]) {
        GUARD(sequence(c, f[F_TAGS], "Tags", KMS_SEED_MAX_TAGS, &k.n_tags));
        static const char *const tnames[] = {"TagKey", "TagValue", NULL};
        for (size_t i = 0; i < k.n_tags; i++) {
            yaml_node_t *t[2];
            GUARD(fields(c, item(c, f[F_TAGS], i), "a tag", tnames, t));
            if (!t[0] || !t[1]) return fail(c, item(c, f[F_TAGS], i), "a tag needs TagKey and TagValue");
            GUARD(scalar(c, t[0], "TagKey", 1, 128, &tags[i].key));
            GUARD(scalar(c, t[1], "TagValue", 0, 256, &tags[i].value));
        }
        k.tags = tags;
    }

    if (f[F_ROT]) GUARD(boolean(c, f[F_ROT], "EnableKeyRotation", &k.rotation_enabled));
    if (f[F_PERIOD]) {
        uint64_t d = 0;
        /* "RotationPeriodInDays ... between 90 and 2560 days" (API_EnableKeyRotation). */
        GUARD(integer(c, f[F_PERIOD], "RotationPeriodInDays", 90, 2560, &d));
        k.rotation_period_days = (uint32_t)d;
        k.rotation_enabled = true;
    }
    if (f[F_NEXT]) {
        /* local-kms: "Supplying this enables key rotation, and sets the next rotation". */
        GUARD(timestamp(c, f[F_NEXT], "NextKeyRotation", &k.next_rotation));
        k.rotation_enabled = true;
    }

    GUARD(core_buf_printf(&c->seen, "%s/%s/%s\n", account, region, key_id));
    if (!c->txn) CORE_OK;
    bool created = 0;
    core_result r = kms_seed_key(c->txn, &k, &created);
    if (!core_ok(r)) return r;
    if (created) c->st->keys++;
    else c->st->existing++;
    CORE_OK;
}

static core_result kms_keys(struct sctx *c, const yaml_node_t *keys)
{
    size_t n = 0;
    if (keys->type == YAML_SEQUENCE_NODE) { /* local-kms's legacy format: Keys is the list of Aes keys */
        GUARD(sequence(c, keys, "Keys", MAX_SEED_ENTRIES, &n));
        for (size_t i = 0; i < n; i++) GUARD(kms_key_entry(c, item(c, keys, i), KIND_AES));
        CORE_OK;
    }
    static const char *const names[] = {"Symmetric", "Asymmetric", NULL};
    yaml_node_t *f[2];
    GUARD(fields(c, keys, "Keys", names, f));
    if (f[1] && !is_null(f[1])) {
        static const char *const an[] = {"Rsa", "Ecc", NULL};
        yaml_node_t *a[2];
        GUARD(fields(c, f[1], "Asymmetric", an, a));
        for (int i = 0; i < 2; i++) {
            if (!a[i] || is_null(a[i])) continue;
            GUARD(sequence(c, a[i], an[i], MAX_SEED_ENTRIES, &n));
            for (size_t j = 0; j < n; j++) GUARD(kms_key_entry(c, item(c, a[i], j), i == 0 ? KIND_RSA : KIND_ECC));
        }
    }
    if (f[0] && !is_null(f[0])) {
        static const char *const sn[] = {"Aes", NULL};
        yaml_node_t *s[1];
        GUARD(fields(c, f[0], "Symmetric", sn, s));
        if (s[0] && !is_null(s[0])) {
            GUARD(sequence(c, s[0], "Aes", MAX_SEED_ENTRIES, &n));
            for (size_t i = 0; i < n; i++) GUARD(kms_key_entry(c, item(c, s[0], i), KIND_AES));
        }
    }
    CORE_OK;
}

static core_result kms_aliases(struct sctx *c, const yaml_node_t *list)
{
    size_t n = 0;
    GUARD(sequence(c, list, "Aliases", MAX_SEED_ENTRIES, &n));
    static const char *const names[] = {"AliasName", "TargetKeyId", "AliasArn", "Account", "Region", NULL};
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *e = item(c, list, i), *f[5];
        GUARD(fields(c, e, "an alias", names, f));
        if (!f[0] || !f[1]) return fail(c, e, "an alias needs AliasName and TargetKeyId");
        char account[16], region[32], key_id[40], e80[80];
        GUARD(account_field(c, f[3], account));
        GUARD(region_field(c, f[4], region));
        struct core_cursor name = {0}, target = {0};
        GUARD(scalar(c, f[0], "AliasName", 7, 256, &name));
        if (!kms_seed_alias_name_valid(name))
            return fail(c, f[0], "AliasName '%s' must start with alias/ (not alias/aws/) and contain only "
                                 "a-z A-Z 0-9 : / _ -", echo(name, e80));
        GUARD(scalar(c, f[1], "TargetKeyId", 1, 64, &target));
        if (!kms_seed_key_id_valid(target))
            return fail(c, f[1], "TargetKeyId '%s' is not a key id", echo(target, e80));
        memcpy(key_id, target.ptr, target.len);
        key_id[target.len] = 0;
        if (!c->txn) {
            /* Checking without a keystore: the target must be a key of this file. */
            char line[128];
            snprintf(line, sizeof line, "%s/%s/%s\n", account, region, key_id);
            struct core_cursor seen = core_buf_cursor(&c->seen), tok;
            bool found = false;
            while (!found && core_cursor_split(&seen, '\n', &tok))
                found = tok.len + 1 == strlen(line) && core_cursor_eq(tok, core_cursor_from(line, tok.len));
            if (!found)
                return fail(c, f[1], "TargetKeyId %s: no such key in account %s, Region %s", key_id, account,
                            region);
            continue;
        }
        bool created = 0;
        core_result r = kms_seed_alias(c->txn, account, region, name, key_id, c->now, &created);
        if (r.err == ERR_NOT_FOUND)
            return fail(c, f[1], "TargetKeyId %s: no such key in account %s, Region %s", key_id, account, region);
        GUARD(r);
        if (created) c->st->aliases++;
        else c->st->existing++;
    }
    CORE_OK;
}

/* ---- IAM --------------------------------------------------------------- */

static core_result iam_name(struct sctx *c, const yaml_node_t *n, const char *what, struct core_cursor *out)
{
    GUARD(scalar(c, n, what, 1, 64, out));
    for (size_t i = 0; i < out->len; i++) {
        uint8_t ch = out->ptr[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              strchr("_+=,.@-", ch)))
            return fail(c, n, "%s may contain only letters, digits and _+=,.@-", what);
    }
    CORE_OK;
}

static core_result iam_path(struct sctx *c, const yaml_node_t *n, struct core_cursor *out)
{
    *out = core_cursor_str("/");
    if (!n) CORE_OK;
    GUARD(scalar(c, n, "Path", 1, 512, out));
    if (out->ptr[0] != '/' || out->ptr[out->len - 1] != '/') return fail(c, n, "Path must begin and end with /");
    for (size_t i = 0; i < out->len; i++)
        if (out->ptr[i] < 0x21 || out->ptr[i] > 0x7e) return fail(c, n, "Path must be printable ASCII");
    CORE_OK;
}

/* Inline policies: a list of {PolicyName, PolicyDocument}; documents kept in bufs. */
static core_result inline_policies(struct sctx *c, const yaml_node_t *list, size_t max_chars,
                                   struct iam_seed_policy *out, struct core_buf *bufs, size_t *n)
{
    *n = 0;
    if (!list) CORE_OK;
    GUARD(sequence(c, list, "Policies", IAM_SEED_MAX_POLICIES, n));
    static const char *const names[] = {"PolicyName", "PolicyDocument", NULL};
    for (size_t i = 0; i < *n; i++) {
        yaml_node_t *e = item(c, list, i), *f[2];
        GUARD(fields(c, e, "a policy", names, f));
        if (!f[0] || !f[1]) return fail(c, e, "a policy needs PolicyName and PolicyDocument");
        GUARD(iam_name(c, f[0], "PolicyName", &out[i].name));
        GUARD(core_buf_init(&bufs[i], 0, 131072));
        GUARD(document(c, f[1], "PolicyDocument", 131072, &bufs[i]));
        out[i].document = core_buf_cursor(&bufs[i]);
        GUARD(check_policy(c, f[1], "PolicyDocument", POLICY_KIND_IDENTITY, max_chars, true, out[i].document));
    }
    CORE_OK;
}

static void free_bufs(struct core_buf *b, size_t n)
{
    for (size_t i = 0; i < n; i++) core_buf_free(&b[i]);
}

static core_result iam_user_entry(struct sctx *c, const yaml_node_t *e)
{
    static const char *const names[] = {"UserName", "Path", "Account", "AccessKeys", "Policies", NULL};
    yaml_node_t *f[5];
    GUARD(fields(c, e, "a user", names, f));
    if (!f[0]) return fail(c, e, "a user needs a UserName");
    char account[16];
    struct iam_seed_entity u = {.account = account, .now = c->now};
    GUARD(account_field(c, f[2], account));
    GUARD(iam_name(c, f[0], "UserName", &u.name));
    GUARD(iam_path(c, f[1], &u.path));
    struct iam_seed_policy pol[IAM_SEED_MAX_POLICIES];
    struct core_buf bufs[IAM_SEED_MAX_POLICIES] = {{0}};
    core_result r = inline_policies(c, f[4], POLICY_IAM_USER_INLINE_MAX_CHARS, pol, bufs, &u.n_policies);
    u.policies = pol;
    bool created = false;
    if (core_ok(r) && c->txn) r = iam_seed_user(c->txn, &u, &created);
    free_bufs(bufs, IAM_SEED_MAX_POLICIES);
    GUARD(r);
    if (c->txn) {
        if (created) c->st->users++;
        else c->st->existing++;
    }
    if (!f[3]) CORE_OK;
    size_t n = 0;
    GUARD(sequence(c, f[3], "AccessKeys", 2, &n));
    static const char *const kn[] = {"AccessKeyId", "SecretAccessKey", NULL};
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = item(c, f[3], i), *kf[2];
        GUARD(fields(c, k, "an access key", kn, kf));
        if (!kf[0] || !kf[1]) return fail(c, k, "an access key needs AccessKeyId and SecretAccessKey");
        struct core_cursor id = {0}, secret = {0};
        GUARD(scalar(c, kf[0], "AccessKeyId", 16, 31, &id));
        for (size_t j = 0; j < id.len; j++)
            if (!((id.ptr[j] >= 'A' && id.ptr[j] <= 'Z') || (id.ptr[j] >= '0' && id.ptr[j] <= '9')))
                return fail(c, kf[0], "AccessKeyId may contain only A-Z and 0-9");
        if (core_cursor_starts_with(id, "ASIA"))
            return fail(c, kf[0], "AccessKeyId must not start with ASIA (temporary credentials)");
        GUARD(scalar(c, kf[1], "SecretAccessKey", 16, 128, &secret));
        for (size_t j = 0; j < secret.len; j++)
            if (secret.ptr[j] < 0x21 || secret.ptr[j] > 0x7e)
                return fail(c, kf[1], "SecretAccessKey must be printable ASCII without spaces");
        if (!c->txn) continue;
        bool kc = 0;
        r = iam_seed_access_key(c->txn, account, u.name, id, secret, c->now, &kc);
        char e80[80];
        if (r.err == ERR_EXISTS)
            return fail(c, kf[0], "access key %s already belongs to another user", echo(id, e80));
        GUARD(r);
        if (kc) c->st->access_keys++;
        else c->st->existing++;
    }
    CORE_OK;
}

static core_result iam_role_entry(struct sctx *c, const yaml_node_t *e)
{
    static const char *const names[] = {"RoleName", "Path", "Account", "Description", "AssumeRolePolicyDocument",
                                        "MaxSessionDuration", "Policies", NULL};
    yaml_node_t *f[7];
    GUARD(fields(c, e, "a role", names, f));
    if (!f[0] || !f[4]) return fail(c, e, "a role needs RoleName and AssumeRolePolicyDocument");
    char account[16];
    struct iam_seed_entity r = {.account = account, .now = c->now};
    GUARD(account_field(c, f[2], account));
    GUARD(iam_name(c, f[0], "RoleName", &r.name));
    GUARD(iam_path(c, f[1], &r.path));
    if (f[3]) GUARD(scalar(c, f[3], "Description", 0, 1000, &r.description));
    if (f[5]) {
        uint64_t s = 0;
        GUARD(integer(c, f[5], "MaxSessionDuration", 3600, 43200, &s));
        r.max_session = (int64_t)s;
    }
    DEFER_CLEANUP(struct core_buf trust = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&trust, 0, 131072));
    GUARD(document(c, f[4], "AssumeRolePolicyDocument", 131072, &trust));
    r.trust = core_buf_cursor(&trust);
    GUARD(check_policy(c, f[4], "AssumeRolePolicyDocument", POLICY_KIND_TRUST, POLICY_IAM_TRUST_MAX_CHARS, true,
                       r.trust));
    struct iam_seed_policy pol[IAM_SEED_MAX_POLICIES];
    struct core_buf bufs[IAM_SEED_MAX_POLICIES] = {{0}};
    core_result res = inline_policies(c, f[6], POLICY_IAM_ROLE_INLINE_MAX_CHARS, pol, bufs, &r.n_policies);
    r.policies = pol;
    bool created = false;
    if (core_ok(res) && c->txn) res = iam_seed_role(c->txn, &r, &created);
    free_bufs(bufs, IAM_SEED_MAX_POLICIES);
    GUARD(res);
    if (c->txn) {
        if (created) c->st->roles++;
        else c->st->existing++;
    }
    CORE_OK;
}

static core_result string_list(struct sctx *c, const yaml_node_t *n, const char *what, size_t min, size_t max,
                               struct core_cursor *out, size_t *count)
{
    *count = 0;
    if (!n) CORE_OK;
    GUARD(sequence(c, n, what, MAX_LIST, count));
    for (size_t i = 0; i < *count; i++) GUARD(scalar(c, item(c, n, i), what, min, max, &out[i]));
    CORE_OK;
}

static core_result iam_oidc_entry(struct sctx *c, const yaml_node_t *e)
{
    static const char *const names[] = {"Url", "Account", "ClientIDList", "ThumbprintList", "Jwks", NULL};
    yaml_node_t *f[5];
    GUARD(fields(c, e, "an OIDC provider", names, f));
    if (!f[0]) return fail(c, e, "an OIDC provider needs a Url");
    char account[16];
    GUARD(account_field(c, f[1], account));
    struct core_cursor url = {0}, clients[MAX_LIST] = {{0}}, thumbs[MAX_LIST] = {{0}};
    size_t nc, nt;
    GUARD(scalar(c, f[0], "Url", 9, 263, &url));
    if (!core_cursor_starts_with(url, "https://")) return fail(c, f[0], "Url must begin with https://");
    for (size_t i = 8; i < url.len; i++)
        if (url.ptr[i] <= 0x20 || url.ptr[i] >= 0x7f || url.ptr[i] == '?' || url.ptr[i] == '#')
            return fail(c, f[0], "Url must be an https URL without query or fragment");
    GUARD(string_list(c, f[2], "ClientIDList", 1, 255, clients, &nc));
    GUARD(string_list(c, f[3], "ThumbprintList", 40, 40, thumbs, &nt));
    DEFER_CLEANUP(struct core_buf jwks = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&jwks, 0, 64 * 1024));
    if (f[4]) {
        GUARD(document(c, f[4], "Jwks", 64 * 1024, &jwks));
        DEFER_CLEANUP(json_t *j = NULL, core_json_cleanup);
        const json_t *keys = NULL;
        if (core_ok(core_json_parse(core_buf_cursor(&jwks), 8, &j))) keys = json_object_get(j, "keys");
        if (!json_is_array(keys) || json_array_size(keys) == 0 || json_array_size(keys) > 32)
            return fail(c, f[4], "Jwks must be a JWKS document: {\"keys\": [ ...1 to 32 keys... ]}");
    }
    if (!c->txn) CORE_OK;
    bool created = 0;
    core_result r = iam_seed_oidc(c->txn, account, url, clients, nc, thumbs, nt, core_buf_cursor(&jwks), c->now,
                                  &created);
    if (r.err == ERR_PARSE) return fail(c, f[4], "Jwks: every key needs a kty");
    GUARD(r);
    if (created) c->st->oidc_providers++;
    else c->st->existing++;
    CORE_OK;
}

static core_result iam_section(struct sctx *c, const yaml_node_t *iam)
{
    static const char *const names[] = {"Users", "Roles", "OpenIDConnectProviders", NULL};
    yaml_node_t *f[3];
    GUARD(fields(c, iam, "Iam", names, f));
    size_t n = 0;
    if (f[0] && !is_null(f[0])) {
        GUARD(sequence(c, f[0], "Users", MAX_SEED_ENTRIES, &n));
        for (size_t i = 0; i < n; i++) GUARD(iam_user_entry(c, item(c, f[0], i)));
    }
    if (f[1] && !is_null(f[1])) {
        GUARD(sequence(c, f[1], "Roles", MAX_SEED_ENTRIES, &n));
        for (size_t i = 0; i < n; i++) GUARD(iam_role_entry(c, item(c, f[1], i)));
    }
    if (f[2] && !is_null(f[2])) {
        GUARD(sequence(c, f[2], "OpenIDConnectProviders", MAX_SEED_ENTRIES, &n));
        for (size_t i = 0; i < n; i++) GUARD(iam_oidc_entry(c, item(c, f[2], i)));
    }
    CORE_OK;
}

static core_result walk(struct sctx *c)
{
    yaml_node_t *root = yaml_document_get_root_node(c->doc);
    if (root == NULL || is_null(root)) return fail(c, NULL, "the seed file is empty");
    static const char *const names[] = {"Account", "Region", "Keys", "Aliases", "Iam", NULL};
    yaml_node_t *f[5];
    GUARD(fields(c, root, "the seed file", names, f));
    if (f[0]) GUARD(account_field(c, f[0], c->account));
    if (f[1]) GUARD(region_field(c, f[1], c->region));
    if (f[2] && !is_null(f[2])) GUARD(kms_keys(c, f[2]));
    if (f[3] && !is_null(f[3])) GUARD(kms_aliases(c, f[3]));
    if (f[4] && !is_null(f[4])) GUARD(iam_section(c, f[4]));
    CORE_OK;
}

/* Scalars may hold key material and secret keys: wiped before libyaml frees them. */
static void wipe_document(yaml_document_t *doc)
{
    for (yaml_node_t *n = doc->nodes.start; n < doc->nodes.top; n++)
        if (n->type == YAML_SCALAR_NODE && n->data.scalar.value) core_wipe(n->data.scalar.value, n->data.scalar.length);
}

core_result seed_apply(struct keystore *ks, const struct seed_options *o, struct seed_stats *stats, char *err,
                       size_t err_cap)
{
    *stats = (struct seed_stats){0};
    snprintf(err, err_cap, "%s: cannot be read", o->path);
    /* The file holds material and secrets: read into wiped memory. */
    DEFER_CLEANUP(struct core_buf text = {0}, core_buf_cleanup);
    GUARD(core_buf_init_wiping(&text, 4096, SEED_MAX_FILE_BYTES));
    FILE *fp = fopen(o->path, "rb");
    ENSURE(fp != NULL, ERR_IO);
    uint8_t chunk[4096];
    size_t got = 0;
    core_result r = core_result_ok();
    while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0 && core_ok(r)) r = core_buf_append(&text, chunk, got);
    bool read_err = ferror(fp) != 0;
    fclose(fp);
    core_wipe(chunk, sizeof chunk);
    if (r.err == ERR_LIMIT) {
        snprintf(err, err_cap, "%s: larger than %u bytes", o->path, SEED_MAX_FILE_BYTES);
        BAIL(ERR_PARSE);
    }
    GUARD(r);
    ENSURE(!read_err, ERR_IO);

    yaml_parser_t parser;
    yaml_document_t doc;
    ENSURE(yaml_parser_initialize(&parser), ERR_NOMEM);
    yaml_parser_set_input_string(&parser, text.data ? text.data : (const uint8_t *)"", text.len);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, err_cap, "%s:%zu: not valid YAML: %s", o->path, (size_t)parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "parse error");
        yaml_parser_delete(&parser);
        BAIL(ERR_PARSE);
    }
    yaml_parser_delete(&parser);

    struct sctx c = {.file = o->path, .err = err, .err_cap = err_cap, .doc = &doc, .now = o->now, .st = stats,
                     .check_only = o->check_only};
    r = core_buf_init(&c.seen, 1024, 16u * 1024 * 1024);
    if (!core_ok(r)) {
        wipe_document(&doc);
        yaml_document_delete(&doc);
        return r;
    }
    snprintf(c.account, sizeof c.account, "%s", o->account);
    snprintf(c.region, sizeof c.region, "%s", o->region);
    if (ks) {
        r = keystore_txn_begin(ks, true, &c.txn);
        if (!core_ok(r)) {
            core_buf_free(&c.seen);
            wipe_document(&doc);
            yaml_document_delete(&doc);
            snprintf(err, err_cap, "%s: cannot begin a keystore transaction", o->path);
            return r;
        }
    }
    r = walk(&c);
    if (!core_ok(r) && r.err != ERR_PARSE)
        snprintf(err, err_cap, "%s: cannot be applied: %s", o->path, core_err_desc(r.err));
    core_buf_free(&c.seen);
    wipe_document(&doc);
    yaml_document_delete(&doc);
    if (c.txn) {
        if (core_ok(r) && !o->check_only) {
            r = keystore_txn_commit(c.txn);
            if (!core_ok(r)) snprintf(err, err_cap, "%s: cannot commit: %s", o->path, core_err_desc(r.err));
        } else {
            keystore_txn_abort(c.txn);
        }
    }
    if (!core_ok(r)) *stats = (struct seed_stats){0};
    else err[0] = 0;
    return r;
}
