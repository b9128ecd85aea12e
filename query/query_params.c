/*
 * Query-protocol parameter readers for IAM and STS. The checks and the
 * messages follow the service models' constraints (min/max length, pattern,
 * range) and AWS's wording:
 *   "1 validation error detected: Value 'x' at 'roleSessionName' failed to
 *    satisfy constraint: Member must have length greater than or equal to 2"
 * Echoed values are escaped (control bytes dropped) and capped.
 */
#include <stdio.h>
#include <string.h>

#include "query/query.h"

#define ECHO_CAP 256u

static bool is_word(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static bool in_set(uint8_t c, const char *extra)
{
    return is_word(c) || (c != 0 && strchr(extra, c) != NULL);
}

static const char *pattern_text(enum query_charset cs)
{
    switch (cs) {
    case QUERY_CS_ANY: return "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+";
    case QUERY_CS_NAME: return "[\\w+=,.@-]+";
    case QUERY_CS_EXTERNAL_ID: return "[\\w+=,.@:\\/-]*";
    case QUERY_CS_SERIAL: return "[\\w+=/:,.@-]*";
    case QUERY_CS_DIGITS: return "[\\d]*";
    case QUERY_CS_WORD: return "[\\w]*";
    case QUERY_CS_PATH: return "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)";
    case QUERY_CS_TAG: return "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+";
    }
    return "";
}

static bool charset_ok(struct core_cursor v, enum query_charset cs)
{
    if (cs == QUERY_CS_PATH) {
        if (v.len == 0 || v.ptr[0] != '/' || v.ptr[v.len - 1] != '/') return false;
        for (size_t i = 0; i < v.len; i++)
            if (v.ptr[i] < 0x21 || v.ptr[i] > 0x7e) return false;
        return true;
    }
    for (size_t i = 0; i < v.len; i++) {
        uint8_t c = v.ptr[i];
        bool ok = false;
        switch (cs) {
        case QUERY_CS_ANY: ok = c == '\t' || c == '\n' || c == '\r' || c >= 0x20; break;
        case QUERY_CS_NAME: ok = in_set(c, "+=,.@-"); break;
        case QUERY_CS_EXTERNAL_ID: ok = in_set(c, "+=,.@:/-"); break;
        case QUERY_CS_SERIAL: ok = in_set(c, "+=/:,.@-"); break;
        case QUERY_CS_DIGITS: ok = c >= '0' && c <= '9'; break;
        case QUERY_CS_WORD: ok = is_word(c); break;
        case QUERY_CS_TAG: ok = c >= 0x80 || c == ' ' || in_set(c, ".:/=+-@"); break;
        case QUERY_CS_PATH: break;
        }
        if (!ok) return false;
    }
    return true;
}

static size_t utf8_chars(struct core_cursor v)
{
    size_t n = 0;
    for (size_t i = 0; i < v.len; i++) n += (v.ptr[i] & 0xc0) != 0x80;
    return n;
}

/* "roleSessionName" from "RoleSessionName"; list members keep AWS's dotted form. */
static void member_name(const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s", name);
    if (out[0] >= 'A' && out[0] <= 'Z') out[0] = (char)(out[0] - 'A' + 'a');
}

static core_result invalid(struct core_reply *out, const char *name, struct core_cursor v, bool null,
                           const char *constraint)
{
    char member[160];
    member_name(name, member, sizeof member);
    char echo[ECHO_CAP + 1];
    size_t n = 0;
    for (size_t i = 0; i < v.len && n < ECHO_CAP; i++) {
        uint8_t c = v.ptr[i];
        if (c >= 0x20 && c != 0x7f) echo[n++] = (char)c;
    }
    /* The cap must not split a UTF-8 sequence: half a character is invalid XML. */
    size_t lead = n;
    while (lead > 0 && ((uint8_t)echo[lead - 1] & 0xc0) == 0x80) lead--;
    if (lead > 0 && (uint8_t)echo[lead - 1] >= 0xc0) {
        uint8_t b = (uint8_t)echo[lead - 1];
        size_t need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
        if (n - (lead - 1) < need) n = lead - 1;
    }
    echo[n] = 0;
    if (null)
        return query_fail(out, QUERY_E_VALIDATION,
                          "1 validation error detected: Value null at '%s' failed to satisfy constraint: "
                          "Member must not be null",
                          member);
    return query_fail(out, QUERY_E_VALIDATION,
                      "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", echo, member,
                      constraint);
}

static core_result check_str(struct core_reply *out, const struct query_str_spec *spec, const char *name,
                             struct core_cursor v)
{
    char c[160];
    size_t chars = utf8_chars(v);
    if (chars < spec->min) {
        snprintf(c, sizeof c, "Member must have length greater than or equal to %zu", spec->min);
        return invalid(out, name, v, false, c);
    }
    if (spec->max && chars > spec->max) {
        snprintf(c, sizeof c, "Member must have length less than or equal to %zu", spec->max);
        return invalid(out, name, v, false, c);
    }
    if (!charset_ok(v, spec->cs)) {
        snprintf(c, sizeof c, "Member must satisfy regular expression pattern: %s", pattern_text(spec->cs));
        return invalid(out, name, v, false, c);
    }
    CORE_OK;
}

core_result query_param_str(const struct core_form *f, struct core_reply *out, const struct query_str_spec *spec,
                          struct core_cursor *v, bool *present)
{
    *v = (struct core_cursor){0};
    bool have = core_form_get(f, spec->name, v);
    if (present) *present = have;
    if (!have) {
        if (spec->required) return invalid(out, spec->name, *v, true, "");
        CORE_OK;
    }
    return check_str(out, spec, spec->name, *v);
}

core_result query_param_int(const struct core_form *f, struct core_reply *out, const char *name, bool required,
                          int64_t min, int64_t max, int64_t *v, bool *present)
{
    struct core_cursor s;
    bool have = core_form_get(f, name, &s);
    if (present) *present = have;
    if (!have) {
        if (required) return invalid(out, name, s, true, "");
        CORE_OK;
    }
    struct core_cursor digits = s;
    bool neg = digits.len > 0 && digits.ptr[0] == '-';
    if (neg) digits.ptr++, digits.len--;
    uint64_t u;
    if (!core_ok(core_cursor_to_u64(digits, (uint64_t)INT64_MAX, &u)))
        return invalid(out, name, s, false, "Member must be a number");
    int64_t x = neg ? -(int64_t)u : (int64_t)u;
    char c[128];
    if (x < min) {
        snprintf(c, sizeof c, "Member must have value greater than or equal to %lld", (long long)min);
        return invalid(out, name, s, false, c);
    }
    if (x > max) {
        snprintf(c, sizeof c, "Member must have value less than or equal to %lld", (long long)max);
        return invalid(out, name, s, false, c);
    }
    *v = x;
    CORE_OK;
}

core_result query_param_list(const struct core_form *f, struct core_reply *out, const struct query_str_spec *spec,
                           const char *suffix, struct core_cursor *vals, size_t cap, size_t *n)
{
    *n = 0;
    for (size_t i = 1; i <= CORE_MAX_FORM_PARAMS; i++) {
        char name[160];
        snprintf(name, sizeof name, "%s.member.%zu%s", spec->name, i, suffix);
        struct core_cursor v;
        if (!core_form_get(f, name, &v)) break;
        if (*n == cap) {
            char c[96];
            snprintf(c, sizeof c, "Member must have length less than or equal to %zu", cap);
            return invalid(out, spec->name, core_cursor_str("[...]"), false, c);
        }
        GUARD(check_str(out, spec, name, v));
        vals[(*n)++] = v;
    }
    if (*n == 0 && spec->required) return invalid(out, spec->name, (struct core_cursor){0}, true, "");
    CORE_OK;
}

core_result query_param_tags(const struct core_form *f, struct core_reply *out, const char *list_name,
                           struct query_tag *tags, size_t *n)
{
    *n = 0;
    const struct query_str_spec kspec = {.min = 1, .max = 128, .cs = QUERY_CS_TAG};
    const struct query_str_spec vspec = {.min = 0, .max = 256, .cs = QUERY_CS_TAG};
    for (size_t i = 1; i <= CORE_MAX_FORM_PARAMS; i++) {
        char kn[96], vn[96];
        snprintf(kn, sizeof kn, "%s.member.%zu.Key", list_name, i);
        snprintf(vn, sizeof vn, "%s.member.%zu.Value", list_name, i);
        struct core_cursor k, v;
        bool hk = core_form_get(f, kn, &k), hv = core_form_get(f, vn, &v);
        if (!hk && !hv) break;
        if (!hk) return invalid(out, kn, k, true, "");
        if (!hv) return invalid(out, vn, v, true, "");
        if (*n == QUERY_MAX_TAGS)
            return invalid(out, list_name, core_cursor_str("[...]"), false,
                           "Member must have length less than or equal to 50");
        GUARD(check_str(out, &kspec, kn, k));
        if (v.len > 0) GUARD(check_str(out, &vspec, vn, v));
        for (size_t j = 0; j < *n; j++)
            if (core_cursor_eq_icase(tags[j].key, k))
                return query_fail(out, QUERY_E_INVALID_INPUT, "%s",
                                  "Duplicate tag keys found. Please note that Tag keys are case insensitive.");
        tags[*n] = (struct query_tag){k, v};
        (*n)++;
    }
    CORE_OK;
}
