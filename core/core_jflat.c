#include <string.h>

#include "core/core_jflat.h"

/* RFC 8259 section 2: ws = *( %x20 / %x09 / %x0A / %x0D ) */
static bool is_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

struct rd {
    const uint8_t *p, *end;
};

static void skip_ws(struct rd *r)
{
    while (r->p < r->end && is_ws(*r->p)) r->p++;
}

/* A string of printable ASCII without escapes; the cursor excludes the quotes. */
static bool read_string(struct rd *r, struct core_cursor *out)
{
    if (r->p >= r->end || *r->p != '"') return false;
    const uint8_t *s = ++r->p;
    /* Eight bytes at a time while none ends the string or refuses it (issue 14, round 5: a Decrypt's
     * CiphertextBlob is 200 characters): a lane below 0x20, from 0x7f up, '"' or '\\' sets its top
     * bit in flag (the "has zero byte" test, which may also flag a lane after a flagged one, never
     * miss one); the loop below then decides byte by byte from the first word with a flag. */
    const uint64_t ones = 0x0101010101010101ull, tops = 0x8080808080808080ull;
    while ((size_t)(r->end - r->p) >= 8) {
        uint64_t x, q, b, d;
        memcpy(&x, r->p, 8);
        q = x ^ (ones * '"');
        b = x ^ (ones * '\\');
        d = x ^ (ones * 0x7f);
        uint64_t flag = ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b) | ((d - ones) & ~d) | x;
        if (flag & tops) break;
        r->p += 8;
    }
    while (r->p < r->end) {
        uint8_t c = *r->p;
        if (c == '"') {
            *out = core_cursor_from(s, (size_t)(r->p - s));
            r->p++;
            return true;
        }
        if (c < 0x20 || c > 0x7e || c == '\\') return false;
        r->p++;
    }
    return false;
}

/* After a value: whitespace, then ',' or '}' must follow (checked by the caller). */
static bool at_delimiter(const struct rd *r)
{
    return r->p < r->end && (is_ws(*r->p) || *r->p == ',' || *r->p == '}');
}

static bool read_literal(struct rd *r, const char *lit, size_t len)
{
    if ((size_t)(r->end - r->p) < len) return false;
    for (size_t i = 0; i < len; i++)
        if (r->p[i] != (uint8_t)lit[i]) return false;
    r->p += len;
    return at_delimiter(r);
}

/* -?(0|[1-9][0-9]{0,17}): at most 18 digits, so the value fits an int64_t. */
static bool read_int(struct rd *r, int64_t *out)
{
    bool neg = false;
    if (r->p < r->end && *r->p == '-') {
        neg = true;
        r->p++;
    }
    const uint8_t *d = r->p;
    int64_t v = 0;
    while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
        if (r->p - d == 18) return false;
        v = v * 10 + (*r->p - '0');
        r->p++;
    }
    size_t n = (size_t)(r->p - d);
    if (n == 0 || (n > 1 && d[0] == '0')) return false;
    if (!at_delimiter(r)) return false; /* '.', 'e', 'E' or garbage: the full parser decides */
    *out = neg ? -v : v;
    return true;
}

static bool read_value(struct rd *r, struct core_jflat_member *m)
{
    if (r->p >= r->end) return false;
    const uint8_t *start = r->p;
    switch (*r->p) {
    case '"':
        m->type = CORE_JFLAT_STRING;
        return read_string(r, &m->value);
    case 't':
        m->type = CORE_JFLAT_TRUE;
        if (!read_literal(r, "true", 4)) return false;
        break;
    case 'f':
        m->type = CORE_JFLAT_FALSE;
        if (!read_literal(r, "false", 5)) return false;
        break;
    case 'n':
        m->type = CORE_JFLAT_NULL;
        if (!read_literal(r, "null", 4)) return false;
        break;
    default:
        m->type = CORE_JFLAT_INT;
        if (!read_int(r, &m->num)) return false;
        break;
    }
    m->value = core_cursor_from(start, (size_t)(r->p - start));
    return true;
}

bool core_jflat_read(struct core_cursor text, struct core_jflat *out)
{
    out->n = 0;
    struct rd r = {.p = text.ptr, .end = text.ptr + text.len};
    if (text.len == 0) return true;
    skip_ws(&r);
    if (r.p >= r.end || *r.p != '{') return false;
    r.p++;
    skip_ws(&r);
    if (r.p < r.end && *r.p == '}') {
        r.p++;
    } else {
        for (;;) {
            if (out->n == CORE_JFLAT_MAX_MEMBERS) return false;
            struct core_jflat_member *m = &out->m[out->n];
            if (!read_string(&r, &m->name)) return false;
            /* JSON_REJECT_DUPLICATES: the full parser refuses the document. */
            for (size_t i = 0; i < out->n; i++)
                if (core_cursor_eq(out->m[i].name, m->name)) return false;
            skip_ws(&r);
            if (r.p >= r.end || *r.p != ':') return false;
            r.p++;
            skip_ws(&r);
            if (!read_value(&r, m)) return false;
            out->n++;
            skip_ws(&r);
            if (r.p >= r.end) return false;
            if (*r.p == '}') {
                r.p++;
                break;
            }
            if (*r.p != ',') return false;
            r.p++;
            skip_ws(&r);
        }
    }
    skip_ws(&r);
    return r.p == r.end;
}

const struct core_jflat_member *core_jflat_get(const struct core_jflat *f, struct core_cursor name)
{
    for (size_t i = 0; i < f->n; i++)
        if (core_cursor_eq(f->m[i].name, name)) return &f->m[i];
    return NULL;
}
