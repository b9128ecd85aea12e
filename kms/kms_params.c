#include <stdio.h>

#include "kms/kms_internal.h"

/* AWS names members in messages in lowerCamelCase: 'KeyId' -> 'keyId'. */
static void camel(const char *member, char out[64])
{
    snprintf(out, 64, "%s", member);
    if (out[0] >= 'A' && out[0] <= 'Z') out[0] = (char)(out[0] + 32);
}

/*
 * AWS repeats the rejected value whole: a 257-character tag value comes back
 * as all 257 characters (issue 17.6, recorded from AWS). Echoes are still
 * bounded (KMS_MAX_ECHO bytes, the request body is capped anyway) and control
 * characters, NUL included, become spaces: the value is read by its length,
 * never up to a NUL.
 */
#define KMS_MAX_ECHO 2048u

void kms_invalid_cursor(struct kms_ctx *ctx, const char *member, struct core_cursor value, const char *constraint)
{
    char name[64];
    camel(member, name);
    if (ctx->n_invalid++) core_result_ignore(core_buf_append_str(&ctx->invalid, "; "));
    core_result_ignore(core_buf_append_str(&ctx->invalid, "Value '"));
    size_t n = value.len < KMS_MAX_ECHO ? value.len : KMS_MAX_ECHO;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = value.ptr[i] < 0x20 ? (uint8_t)' ' : value.ptr[i];
        core_result_ignore(core_buf_append_u8(&ctx->invalid, c));
    }
    core_result_ignore(core_buf_printf(&ctx->invalid, "' at '%s' failed to satisfy constraint: %s", name, constraint));
}

void kms_invalid(struct kms_ctx *ctx, const char *member, const char *value, const char *constraint)
{
    if (value != NULL) {
        kms_invalid_cursor(ctx, member, core_cursor_str(value), constraint);
        return;
    }
    char name[64];
    camel(member, name);
    if (ctx->n_invalid++) core_result_ignore(core_buf_append_str(&ctx->invalid, "; "));
    core_result_ignore(core_buf_printf(&ctx->invalid, "Value at '%s' failed to satisfy constraint: %s", name, constraint));
}

static void invalid_null(struct kms_ctx *ctx, const char *member)
{
    char name[64];
    camel(member, name);
    if (ctx->n_invalid++) core_result_ignore(core_buf_append_str(&ctx->invalid, "; "));
    core_result_ignore(core_buf_printf(&ctx->invalid,
                                       "Value null at '%s' failed to satisfy constraint: Member must not be null", name));
}

core_result kms_params_done(struct kms_ctx *ctx)
{
    if (ctx->n_invalid == 0) CORE_OK;
    core_result_ignore(core_buf_terminate(&ctx->invalid));
    return kms_fail(ctx, KMS_E_VALIDATION, "%u validation error%s detected: %s", ctx->n_invalid,
                    ctx->n_invalid == 1 ? "" : "s", ctx->invalid.data ? (const char *)ctx->invalid.data : "");
}

/*
 * A request member, from whichever reader serves the request: the flat
 * reader (ctx->flat, see kms_params_read) or the jansson tree. A JSON null
 * is the member being absent, as AWS's deserialiser treats it.
 */
enum mkind { MK_ABSENT, MK_STRING, MK_INT, MK_REAL, MK_BOOL, MK_OBJECT, MK_ARRAY };

struct mval {
    enum mkind kind;
    struct core_cursor s; /* MK_STRING */
    int64_t i;            /* MK_INT */
    bool b;               /* MK_BOOL */
    const json_t *j;      /* the jansson value, NULL on the flat path */
};

static struct mval member_value(const struct kms_ctx *ctx, const json_t *in, const char *member)
{
    struct mval v = {.kind = MK_ABSENT};
    if (ctx->flat != NULL) {
        const struct core_jflat_member *m = core_jflat_get(ctx->flat, core_cursor_str(member));
        if (m == NULL) return v;
        switch (m->type) {
        case CORE_JFLAT_STRING: v.kind = MK_STRING, v.s = m->value; break;
        case CORE_JFLAT_INT: v.kind = MK_INT, v.i = m->num; break;
        case CORE_JFLAT_TRUE: v.kind = MK_BOOL, v.b = true; break;
        case CORE_JFLAT_FALSE: v.kind = MK_BOOL, v.b = false; break;
        case CORE_JFLAT_NULL: break;
        }
        return v;
    }
    const json_t *j = json_object_get(in, member);
    v.j = j;
    if (j == NULL || json_is_null(j)) v.kind = MK_ABSENT;
    else if (json_is_string(j)) v.kind = MK_STRING, v.s = core_cursor_from(json_string_value(j), json_string_length(j));
    else if (json_is_integer(j)) v.kind = MK_INT, v.i = (int64_t)json_integer_value(j);
    else if (json_is_real(j)) v.kind = MK_REAL;
    else if (json_is_boolean(j)) v.kind = MK_BOOL, v.b = json_is_true(j);
    else if (json_is_object(j)) v.kind = MK_OBJECT;
    else v.kind = MK_ARRAY;
    return v;
}

static core_result wrong_kind(struct kms_ctx *ctx, enum mkind k, const char *want)
{
    if (k == MK_OBJECT) return kms_fail(ctx, KMS_E_SERIALIZATION, "%s", "Start of structure or map found where not expected.");
    if (k == MK_ARRAY) return kms_fail(ctx, KMS_E_SERIALIZATION, "%s", "Start of list found where not expected.");
    return kms_fail(ctx, KMS_E_SERIALIZATION, "%s_VALUE can not be converted to %s",
                    k == MK_STRING                 ? "STRING"
                    : k == MK_INT || k == MK_REAL  ? "NUMBER"
                    : k == MK_BOOL                 ? "BOOLEAN"
                                                   : "NULL",
                    want);
}

static enum mkind json_kind(const json_t *v)
{
    return json_is_string(v)    ? MK_STRING
           : json_is_integer(v) ? MK_INT
           : json_is_real(v)    ? MK_REAL
           : json_is_boolean(v) ? MK_BOOL
           : json_is_object(v)  ? MK_OBJECT
           : json_is_array(v)   ? MK_ARRAY
                                : MK_ABSENT;
}

static core_result wrong_type(struct kms_ctx *ctx, const json_t *v, const char *want)
{
    return wrong_kind(ctx, json_kind(v), want);
}

/* A JSON string as a cursor, by its length (empty when not a string). */
static struct core_cursor kms_json_cursor(const json_t *s)
{
    return json_is_string(s) ? core_cursor_from(json_string_value(s), json_string_length(s)) : core_cursor_from("", 0);
}

/* A JSON null is the member being absent, as AWS's deserialiser treats it. */
static const json_t *member_get(const json_t *in, const char *member)
{
    const json_t *v = json_object_get(in, member);
    return json_is_null(v) ? NULL : v;
}

core_result kms_param_string(struct kms_ctx *ctx, const json_t *in, const char *member, size_t min, size_t max,
                             bool required, struct core_cursor *out, bool *present)
{
    *present = false;
    *out = core_cursor_from("", 0);
    struct mval v = member_value(ctx, in, member);
    if (v.kind == MK_ABSENT) {
        if (required) invalid_null(ctx, member);
        CORE_OK;
    }
    if (v.kind != MK_STRING) return wrong_kind(ctx, v.kind, "a String");
    size_t len = v.s.len;
    /* Constraints count characters; for the ASCII identifiers KMS uses, bytes. */
    size_t chars = 0;
    const unsigned char *s = v.s.ptr;
    for (size_t i = 0; i < len; i++) chars += (s[i] & 0xC0) != 0x80;
    char c[96];
    if (chars < min) {
        snprintf(c, sizeof c, "Member must have length greater than or equal to %zu", min);
        kms_invalid_cursor(ctx, member, core_cursor_from(s, len), c);
        CORE_OK;
    }
    if (chars > max) {
        snprintf(c, sizeof c, "Member must have length less than or equal to %zu", max);
        kms_invalid_cursor(ctx, member, core_cursor_from(s, len), c);
        CORE_OK;
    }
    *out = core_cursor_from(s, len);
    *present = true;
    CORE_OK;
}

core_result kms_param_int(struct kms_ctx *ctx, const json_t *in, const char *member, int64_t min, int64_t max,
                          bool required, int64_t *out, bool *present)
{
    *present = false;
    struct mval v = member_value(ctx, in, member);
    if (v.kind == MK_ABSENT) {
        if (required) invalid_null(ctx, member);
        CORE_OK;
    }
    if (v.kind != MK_INT) return wrong_kind(ctx, v.kind, "an Integer");
    int64_t n = v.i;
    char c[96], val[32];
    snprintf(val, sizeof val, "%lld", (long long)n);
    if (n < min) {
        snprintf(c, sizeof c, "Member must have value greater than or equal to %lld", (long long)min);
        kms_invalid(ctx, member, val, c);
        CORE_OK;
    }
    if (n > max) {
        snprintf(c, sizeof c, "Member must have value less than or equal to %lld", (long long)max);
        kms_invalid(ctx, member, val, c);
        CORE_OK;
    }
    *out = n;
    *present = true;
    CORE_OK;
}

core_result kms_param_bool(struct kms_ctx *ctx, const json_t *in, const char *member, bool *out, bool *present)
{
    *present = false;
    struct mval v = member_value(ctx, in, member);
    if (v.kind == MK_ABSENT) CORE_OK;
    if (v.kind != MK_BOOL) return wrong_kind(ctx, v.kind, "a Boolean");
    *out = v.b;
    *present = true;
    CORE_OK;
}

core_result kms_param_blob(struct kms_ctx *ctx, const json_t *in, const char *member, size_t min, size_t max,
                           bool required, struct core_buf *out, bool *present)
{
    *present = false;
    struct mval v = member_value(ctx, in, member);
    if (v.kind == MK_ABSENT) {
        if (required) invalid_null(ctx, member);
        CORE_OK;
    }
    if (v.kind != MK_STRING) return wrong_kind(ctx, v.kind, "a Blob");
    size_t before = out->len;
    /* Decode up to max+1 bytes so an oversized value is a length violation. */
    size_t saved_max = out->max;
    if (!out->secret && out->max - out->len > max + 1) out->max = out->len + max + 1;
    /* Secret blobs (plaintexts) keep libsodium's constant-time decoder;
     * public ones (ciphertext blobs) take the table decoder. */
    core_result r = out->secret ? core_buf_append_unbase64(out, v.s) : core_buf_append_unbase64_public(out, v.s);
    out->max = saved_max;
    char c[96];
    if (r.err == ERR_PARSE) {
        core_buf_reset(out);
        return kms_fail(ctx, KMS_E_SERIALIZATION, "%s",
                        "Base64 encoded value could not be decoded");
    }
    size_t got = out->len - before;
    if (r.err == ERR_LIMIT || got > max) {
        core_buf_reset(out);
        snprintf(c, sizeof c, "Member must have length less than or equal to %zu", max);
        kms_invalid(ctx, member, NULL, c);
        CORE_OK;
    }
    GUARD(r);
    if (got < min) {
        snprintf(c, sizeof c, "Member must have length greater than or equal to %zu", min);
        kms_invalid(ctx, member, NULL, c);
        CORE_OK;
    }
    *present = true;
    CORE_OK;
}

size_t kms_param_blob_cap(const struct kms_ctx *ctx, const json_t *in, const char *member, size_t max)
{
    struct mval v = member_value(ctx, in, member);
    if (v.kind != MK_STRING) return 0; /* kms_param_blob refuses it, or it is absent: nothing is decoded */
    /* Standard base64 decodes 4 characters to at most 3 bytes; a value decoding past max fails with
     * ERR_LIMIT at max, as before (the length message), so the cap never exceeds max. */
    size_t bound = v.s.len / 4 * 3 + 3;
    return bound < max ? bound : max;
}

core_result kms_param_enum(struct kms_ctx *ctx, const json_t *in, const char *member, const char *const *allowed,
                           bool required, size_t *index, bool *present)
{
    struct core_cursor s;
    GUARD(kms_param_string(ctx, in, member, 0, 1024, required, &s, present));
    if (!*present) CORE_OK;
    for (size_t i = 0; allowed[i]; i++)
        if (core_cursor_eq_str(s, allowed[i])) {
            *index = i;
            CORE_OK;
        }
    *present = false;
    char c[512] = "Member must satisfy enum value set: [";
    size_t n = strlen(c);
    for (size_t i = 0; allowed[i] && n < sizeof c - 64; i++)
        n += (size_t)snprintf(c + n, sizeof c - n, "%s%s", i ? ", " : "", allowed[i]);
    snprintf(c + n, sizeof c - n, "]");
    kms_invalid_cursor(ctx, member, s, c);
    CORE_OK;
}

core_result kms_param_key_id(struct kms_ctx *ctx, const json_t *in, const char *member, bool required,
                             struct core_cursor *out, bool *present)
{
    return kms_param_string(ctx, in, member, 1, 2048, required, out, present);
}

core_result kms_param_ec(struct kms_ctx *ctx, const json_t *in, const char *member, const json_t **out)
{
    *out = NULL;
    if (ctx->flat != NULL) { /* a flat document holds no map: only a scalar (refused) or nothing */
        struct mval mv = member_value(ctx, in, member);
        if (mv.kind == MK_ABSENT) CORE_OK;
        return wrong_kind(ctx, mv.kind, "a Map");
    }
    const json_t *v = member_get(in, member);
    if (v == NULL) CORE_OK;
    if (!json_is_object(v)) {
        if (json_is_array(v))
            return kms_fail(ctx, KMS_E_SERIALIZATION, "%s",
                            "Start of list found where not expected.");
        return wrong_type(ctx, v, "a Map");
    }
    const char *k;
    const json_t *val;
    json_object_foreach((json_t *)(uintptr_t)v, k, val)
    {
        (void)k;
        if (!json_is_string(val)) return wrong_type(ctx, val, "a String");
        /* Keys cannot hold a NUL (the JSON reader refuses one in an object
         * key); a value can, and is refused here rather than compared short. */
        if (memchr(json_string_value(val), 0, json_string_length(val)) != NULL) return kms_ec_nul_error(ctx, member);
    }
    *out = v;
    CORE_OK;
}

core_result kms_ec_nul_error(struct kms_ctx *ctx, const char *member)
{
    /*
     * Issue 10.2: a NUL inside an encryption-context value is refused with
     * ValidationException. The JSON reader keeps "\u0000" as data (house
     * style: "g\u0000x" is not "g"), so every consumer compares by length,
     * and this refusal stops a context that a C-string reader would cut short
     * from reaching a policy, a grant constraint or the AAD. AWS publishes no
     * wording for this case; the message names the member.
     */
    return kms_fail(ctx, KMS_E_VALIDATION, "%s must not contain the NUL character (U+0000).", member);
}

core_result kms_param_grant_tokens(struct kms_ctx *ctx, const json_t *in)
{
    if (ctx->flat != NULL) {
        struct mval mv = member_value(ctx, in, "GrantTokens");
        if (mv.kind == MK_ABSENT) CORE_OK;
        return wrong_kind(ctx, mv.kind, "a List");
    }
    const json_t *v = member_get(in, "GrantTokens");
    if (v == NULL) CORE_OK;
    if (!json_is_array(v)) return wrong_type(ctx, v, "a List");
    size_t i;
    const json_t *t;
    json_array_foreach(v, i, t)
    {
        if (!json_is_string(t)) return wrong_type(ctx, t, "a String");
        size_t n = json_string_length(t);
        if (n < 1 || n > 8192) {
            char m[64];
            snprintf(m, sizeof m, "grantTokens.%zu.member", i + 1);
            kms_invalid(ctx, m, NULL,
                        n < 1 ? "Member must have length greater than or equal to 1"
                              : "Member must have length less than or equal to 8192");
        }
    }
    if (json_array_size(v) > KMS_MAX_GRANT_TOKENS)
        kms_invalid(ctx, "GrantTokens", NULL, "Member must have length less than or equal to 10");
    CORE_OK;
}

core_result kms_param_algorithm(struct kms_ctx *ctx, const json_t *in, const char *member)
{
    static const char *const algs[] = {"SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE",
                                       NULL};
    size_t idx = 0;
    bool present;
    GUARD(kms_param_enum(ctx, in, member, algs, false, &idx, &present));
    if (present && idx != 0) {
        GUARD(kms_params_done(ctx));
        return kms_fail(ctx, KMS_E_INVALID_KEY_USAGE,
                        "Algorithm %s is incompatible with key spec SYMMETRIC_DEFAULT.", algs[idx]);
    }
    CORE_OK;
}

core_result kms_param_marker(struct kms_ctx *ctx, const json_t *in, struct core_cursor *out, bool *present)
{
    GUARD(kms_param_string(ctx, in, "Marker", 1, 1024, false, out, present));
    if (!*present) CORE_OK;
    for (size_t i = 0; i < out->len; i++)
        if (out->ptr[i] < 0x20) {
            *present = false;
            kms_invalid(ctx, "Marker", NULL, "Member must satisfy regular expression pattern: [\\u0020-\\u00FF]*");
            break;
        }
    CORE_OK;
}

/*
 * Tag characters: "the set of Unicode letters, digits, whitespace, _, ., /,
 * =, +, and -" plus ":" and "@" (AWS tagging: ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$).
 * AWS KMS refuses others with TagException "Invalid tag" (CloudTrail record
 * quoted in crossplane-contrib/provider-upjet-aws#922: "errorCode":
 * "TagException", "errorMessage": "Invalid tag"). ASCII is checked exactly;
 * bytes of multi-byte UTF-8 characters are let through (letters and digits
 * of other scripts are allowed). A NUL is refused (issue 10.2).
 */
static bool tag_chars_ok(struct core_cursor t)
{
    for (size_t i = 0; i < t.len; i++) {
        uint8_t c = t.ptr[i];
        if (c >= 0x80) continue;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' || c == '_' ||
              c == '.' || c == ':' || c == '/' || c == '=' || c == '+' || c == '-' || c == '@'))
            return false;
    }
    return true;
}

/* After the model's checks pass: characters, then duplicate keys, before any authorization (issue 17.2). */
static core_result tags_semantic_check(struct kms_ctx *ctx, const json_t *tags)
{
    size_t i, j;
    const json_t *t, *u;
    json_array_foreach(tags, i, t) {
        struct core_cursor k = kms_json_cursor(json_object_get(t, "TagKey")),
                           v = kms_json_cursor(json_object_get(t, "TagValue"));
        if (!tag_chars_ok(k) || !tag_chars_ok(v)) return kms_fail(ctx, KMS_E_TAG, "%s", "Invalid tag");
    }
    json_array_foreach(tags, i, t) {
        struct core_cursor k = kms_json_cursor(json_object_get(t, "TagKey"));
        json_array_foreach(tags, j, u) {
            if (j >= i) break;
            /* AWS: TagException "Duplicate tag keys" (recorded response, issue 17.2) */
            if (core_cursor_eq(k, kms_json_cursor(json_object_get(u, "TagKey"))))
                return kms_fail(ctx, KMS_E_TAG, "%s", "Duplicate tag keys");
        }
    }
    CORE_OK;
}

core_result kms_param_tags(struct kms_ctx *ctx, const json_t *in, const char *member, bool required,
                           const json_t **out)
{
    *out = NULL;
    if (ctx->flat != NULL) {
        struct mval mv = member_value(ctx, in, member);
        if (mv.kind == MK_ABSENT) {
            if (required) invalid_null(ctx, member);
            CORE_OK;
        }
        return wrong_kind(ctx, mv.kind, "a List");
    }
    const json_t *v = member_get(in, member);
    if (v == NULL) {
        if (required) invalid_null(ctx, member);
        CORE_OK;
    }
    if (!json_is_array(v)) return wrong_type(ctx, v, "a List");
    size_t i;
    const json_t *t;
    bool ok = true;
    json_array_foreach(v, i, t)
    {
        if (!json_is_object(t)) return wrong_type(ctx, t, "a Structure");
        char m[64];
        struct core_cursor s;
        bool present;
        snprintf(m, sizeof m, "tags.%zu.member.tagKey", i + 1);
        const json_t *k = member_get(t, "TagKey"), *val = member_get(t, "TagValue");
        if (k && !json_is_string(k)) return wrong_type(ctx, k, "a String");
        if (val && !json_is_string(val)) return wrong_type(ctx, val, "a String");
        json_t *wrap = json_object();
        ENSURE(wrap != NULL, ERR_NOMEM);
        if (k) json_object_set(wrap, m, (json_t *)(uintptr_t)k);
        core_result r = kms_param_string(ctx, wrap, m, 1, KMS_MAX_TAG_KEY, true, &s, &present);
        ok = ok && present;
        snprintf(m, sizeof m, "tags.%zu.member.tagValue", i + 1);
        json_object_clear(wrap);
        if (val) json_object_set(wrap, m, (json_t *)(uintptr_t)val);
        if (core_ok(r)) r = kms_param_string(ctx, wrap, m, 0, KMS_MAX_TAG_VALUE, true, &s, &present);
        ok = ok && present;
        json_decref(wrap);
        GUARD(r);
    }
    if (!ok) CORE_OK;
    GUARD(tags_semantic_check(ctx, v));
    *out = v;
    CORE_OK;
}

core_result kms_dry_run(struct kms_ctx *ctx, const json_t *in, bool *dry)
{
    bool present = false;
    *dry = false;
    GUARD(kms_param_bool(ctx, in, "DryRun", dry, &present));
    CORE_OK;
}

/* DryRunOperationException: "The request was rejected because the DryRun
 * parameter was specified." AWS's message for a request that would have
 * succeeded (https://docs.aws.amazon.com/kms/latest/developerguide/programming-dryrun.html). */
core_result kms_dry_run_refuse(struct kms_ctx *ctx)
{
    return kms_fail(ctx, KMS_E_DRY_RUN, "%s", "The request would have succeeded, but the DryRun option is set.");
}

core_result kms_tags_apply(struct kms_ctx *ctx, struct kms_key *key, const json_t *tags)
{
    size_t i;
    const json_t *t;
    json_array_foreach(tags, i, t)
    {
        const json_t *k = json_object_get(t, "TagKey"), *v = json_object_get(t, "TagValue");
        struct core_cursor kc = core_cursor_from(json_string_value(k), json_string_length(k));
        /* "The tag key cannot begin with aws: ... reserved for AWS use" */
        if (kc.len >= 4 && core_cursor_eq_icase(core_cursor_from(kc.ptr, 4), core_cursor_str("aws:")))
            return kms_fail(ctx, KMS_E_TAG, "%s", "Tags beginning with aws: are reserved");
        core_result r = kms_tags_set(key, kc, core_cursor_from(json_string_value(v), json_string_length(v)));
        if (r.err == ERR_LIMIT || key->n_tags > KMS_MAX_TAGS) return kms_fail(ctx, KMS_E_TAG, "%s", "Too many tags");
        GUARD(r);
    }
    CORE_OK;
}

core_result kms_marker_encode(struct core_cursor next_id, struct core_buf *out)
{
    return core_buf_append_base64(out, next_id);
}

core_result kms_marker_decode(struct kms_ctx *ctx, struct core_cursor marker, struct core_buf *out)
{
    core_result r = core_buf_append_unbase64(out, marker);
    if (!core_ok(r)) return kms_fail(ctx, KMS_E_INVALID_MARKER, "%s", "Invalid marker");
    CORE_OK;
}

/*
 * The flat path (issue 14). Most requests are one of a few operations with
 * a handful of scalar members; for those the request body is read by
 * core_jflat_read() into cursors, with no jansson tree and no allocation.
 *
 * An operation takes the flat path only when listed here with the members
 * it may carry: its handler and its condition-key function read each listed
 * member only through the kms_param_* accessors above and kms_in_*() below,
 * which serve both readers. Every other document (another member, a map or
 * a list, an escape, a syntax error...) goes to jansson as before, so errors
 * and unlisted members are handled by one code path. A handler that starts
 * reading a listed member through json_object_get() must leave this table;
 * the handler then receives in == NULL, on which jansson's getters return
 * NULL (the member is absent, which is true: the document holds only listed
 * members).
 */
struct flat_row {
    kms_handler_fn fn;
    const char *const *members;
};

static const char *const flat_encrypt[] = {"KeyId", "Plaintext", "EncryptionAlgorithm", "DryRun", NULL};
static const char *const flat_decrypt[] = {"CiphertextBlob", "KeyId", "EncryptionAlgorithm", "DryRun", NULL};
static const char *const flat_data_key[] = {"KeyId", "NumberOfBytes", "KeySpec", "DryRun", NULL};
static const char *const flat_re_encrypt[] = {"CiphertextBlob",
                                              "SourceKeyId",
                                              "DestinationKeyId",
                                              "SourceEncryptionAlgorithm",
                                              "DestinationEncryptionAlgorithm",
                                              "DryRun",
                                              NULL};
static const char *const flat_random[] = {"NumberOfBytes", "CustomKeyStoreId", NULL};

static const struct flat_row flat_rows[] = {
    {kms_encrypt, flat_encrypt},
    {kms_decrypt, flat_decrypt},
    {kms_generate_data_key, flat_data_key},
    {kms_generate_data_key_without_plaintext, flat_data_key},
    {kms_re_encrypt, flat_re_encrypt},
    {kms_generate_random, flat_random},
};

static bool flat_allowed(kms_handler_fn fn, const struct core_jflat *f)
{
    const char *const *members = NULL;
    for (size_t i = 0; i < sizeof flat_rows / sizeof flat_rows[0]; i++)
        if (flat_rows[i].fn == fn) members = flat_rows[i].members;
    if (members == NULL) return false;
    for (size_t i = 0; i < f->n; i++) {
        bool listed = false;
        for (size_t j = 0; members[j] && !listed; j++) listed = core_cursor_eq_str(f->m[i].name, members[j]);
        if (!listed) return false;
    }
    return true;
}

core_result kms_params_read(struct kms_ctx *ctx, struct core_cursor body, struct core_jflat *flat, json_t **tree)
{
    *tree = NULL;
    ctx->flat = NULL;
    ctx->in = NULL;
    if (core_jflat_read(body, flat) && flat_allowed(ctx->action->fn, flat)) {
        ctx->flat = flat;
        CORE_OK;
    }
    /* An empty body is an empty request object, as AWS treats it. */
    if (body.len == 0) {
        *tree = json_object();
        ENSURE(*tree != NULL, ERR_NOMEM);
    } else {
        core_result r = core_json_parse(body, CORE_MAX_JSON_DEPTH, tree);
        if (!core_ok(r) || !json_is_object(*tree))
            return kms_fail(ctx, KMS_E_SERIALIZATION, "%s",
                            r.err == ERR_LIMIT ? "Request nesting is too deep" : "Malformed request body");
    }
    ctx->in = *tree;
    CORE_OK;
}

bool kms_in_string(const struct kms_ctx *ctx, const char *member, struct core_cursor *out)
{
    struct mval v = member_value(ctx, ctx->in, member);
    *out = v.kind == MK_STRING ? v.s : (struct core_cursor){0};
    return v.kind == MK_STRING;
}

bool kms_in_int(const struct kms_ctx *ctx, const char *member, int64_t *out)
{
    struct mval v = member_value(ctx, ctx->in, member);
    if (v.kind == MK_INT) *out = v.i;
    return v.kind == MK_INT;
}

bool kms_in_true(const struct kms_ctx *ctx, const char *member)
{
    struct mval v = member_value(ctx, ctx->in, member);
    return v.kind == MK_BOOL && v.b;
}
