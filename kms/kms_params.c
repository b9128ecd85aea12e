#include <stdio.h>

#include "kms/kms_internal.h"

/* AWS names members in messages in lowerCamelCase: 'KeyId' -> 'keyId'. */
static void camel(const char *member, char out[64])
{
    snprintf(out, 64, "%s", member);
    if (out[0] >= 'A' && out[0] <= 'Z') out[0] = (char)(out[0] + 32);
}

void kms_invalid(struct kms_ctx *ctx, const char *member, const char *value, const char *constraint)
{
    char name[64];
    camel(member, name);
    if (ctx->n_invalid++) core_result_ignore(core_buf_append_str(&ctx->invalid, "; "));
    /* Echoed values are capped and stripped of control characters. */
    if (value == NULL) {
        core_result_ignore(core_buf_printf(&ctx->invalid, "Value at '%s' failed to satisfy constraint: %s", name, constraint));
        return;
    }
    char v[257];
    size_t n = 0;
    for (const char *p = value; *p && n < sizeof v - 1; p++) v[n++] = ((unsigned char)*p < 0x20) ? ' ' : *p;
    v[n] = 0;
    core_result_ignore(
        core_buf_printf(&ctx->invalid, "Value '%s' at '%s' failed to satisfy constraint: %s", v, name, constraint));
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
    return core_reply_error(ctx->out, 400, "ValidationException", "%u validation error%s detected: %s", ctx->n_invalid,
                            ctx->n_invalid == 1 ? "" : "s", ctx->invalid.data ? (const char *)ctx->invalid.data : "");
}

static core_result wrong_type(struct kms_ctx *ctx, const json_t *v, const char *want)
{
    const char *got = json_is_object(v)  ? "Start of structure or map found where not expected."
                      : json_is_array(v) ? "Start of list found where not expected."
                                         : NULL;
    if (got) return core_reply_error(ctx->out, 400, "SerializationException", "%s", got);
    return core_reply_error(ctx->out, 400, "SerializationException", "%s_VALUE can not be converted to %s",
                            json_is_string(v)   ? "STRING"
                            : json_is_number(v) ? "NUMBER"
                            : json_is_boolean(v) ? "BOOLEAN"
                                                 : "NULL",
                            want);
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
    const json_t *v = member_get(in, member);
    if (v == NULL) {
        if (required) invalid_null(ctx, member);
        CORE_OK;
    }
    if (!json_is_string(v)) return wrong_type(ctx, v, "a String");
    size_t len = json_string_length(v);
    /* Constraints count characters; for the ASCII identifiers KMS uses, bytes. */
    size_t chars = 0;
    const unsigned char *s = (const unsigned char *)json_string_value(v);
    for (size_t i = 0; i < len; i++) chars += (s[i] & 0xC0) != 0x80;
    char c[96];
    if (chars < min) {
        snprintf(c, sizeof c, "Member must have length greater than or equal to %zu", min);
        kms_invalid(ctx, member, (const char *)s, c);
        CORE_OK;
    }
    if (chars > max) {
        snprintf(c, sizeof c, "Member must have length less than or equal to %zu", max);
        kms_invalid(ctx, member, (const char *)s, c);
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
    const json_t *v = member_get(in, member);
    if (v == NULL) {
        if (required) invalid_null(ctx, member);
        CORE_OK;
    }
    if (!json_is_integer(v)) return wrong_type(ctx, v, "an Integer");
    json_int_t n = json_integer_value(v);
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
    const json_t *v = member_get(in, member);
    if (v == NULL) CORE_OK;
    if (!json_is_boolean(v)) return wrong_type(ctx, v, "a Boolean");
    *out = json_is_true(v);
    *present = true;
    CORE_OK;
}

core_result kms_param_blob(struct kms_ctx *ctx, const json_t *in, const char *member, size_t min, size_t max,
                           bool required, struct core_buf *out, bool *present)
{
    *present = false;
    const json_t *v = member_get(in, member);
    if (v == NULL) {
        if (required) invalid_null(ctx, member);
        CORE_OK;
    }
    if (!json_is_string(v)) return wrong_type(ctx, v, "a Blob");
    size_t before = out->len;
    /* Decode up to max+1 bytes so an oversized value is a length violation. */
    size_t saved_max = out->max;
    if (!out->secret && out->max - out->len > max + 1) out->max = out->len + max + 1;
    core_result r = core_buf_append_unbase64(out, core_cursor_from(json_string_value(v), json_string_length(v)));
    out->max = saved_max;
    char c[96];
    if (r.err == ERR_PARSE) {
        core_buf_reset(out);
        return core_reply_error(ctx->out, 400, "SerializationException", "%s",
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
    char val[257];
    snprintf(val, sizeof val, "%.*s", (int)(s.len < 256 ? s.len : 256), (const char *)s.ptr);
    kms_invalid(ctx, member, val, c);
    CORE_OK;
}
