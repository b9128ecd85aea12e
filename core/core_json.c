#include "core/core_json.h"

#include <stdlib.h>

#include <sodium.h>

/* Size header so free() can wipe what malloc() handed out. */
struct wipe_hdr {
    size_t len;
    size_t pad; /* keeps the payload 16-byte aligned */
};

static void *wipe_malloc(size_t n)
{
    if (n > SIZE_MAX - sizeof(struct wipe_hdr)) return NULL;
    struct wipe_hdr *h = malloc(sizeof *h + n);
    if (!h) return NULL;
    h->len = n;
    return h + 1;
}

static void wipe_free(void *p)
{
    if (!p) return;
    struct wipe_hdr *h = (struct wipe_hdr *)p - 1;
    sodium_memzero(p, h->len);
    free(h);
}

void core_json_init(void) { json_set_alloc_funcs(wipe_malloc, wipe_free); }

static core_result check_depth(struct core_cursor t, unsigned max_depth)
{
    unsigned depth = 0;
    bool in_str = false, esc = false;
    for (size_t i = 0; i < t.len; i++) {
        uint8_t c = t.ptr[i];
        if (in_str) {
            if (esc)
                esc = false;
            else if (c == '\\')
                esc = true;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"')
            in_str = true;
        else if (c == '{' || c == '[') {
            ENSURE(++depth <= max_depth, ERR_LIMIT);
        } else if ((c == '}' || c == ']') && depth > 0)
            depth--;
    }
    CORE_OK;
}

/*
 * "\u0000" stays accepted inside string values (JSON_ALLOW_NUL): house style
 * says a NUL in a JSON string is data, "g\u0000x" is not "g". Every consumer
 * therefore reads strings by json_string_length(), never up to a NUL, and
 * the places where a NUL has no business (encryption contexts, grant
 * constraints and principals, tags, aliases, names) refuse it with a
 * validation error (issue 10.2). jansson itself refuses a NUL in an object
 * key ("NUL byte in object key not supported"), so keys may be read as C
 * strings; such a document fails here with ERR_PARSE.
 */
core_result core_json_parse(struct core_cursor text, unsigned max_depth, json_t **out)
{
    *out = NULL;
    GUARD(check_depth(text, max_depth));
    json_error_t e;
    json_t *v = json_loadb((const char *)text.ptr, text.len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
    ENSURE(v != NULL, ERR_PARSE);
    *out = v;
    CORE_OK;
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
    return core_ok(core_buf_append((struct core_buf *)data, buffer, size)) ? 0 : -1;
}

core_result core_json_dump(const json_t *v, struct core_buf *out)
{
    ENSURE(json_dump_callback(v, dump_cb, out, JSON_COMPACT | JSON_ENCODE_ANY) == 0, ERR_LIMIT);
    CORE_OK;
}

core_result core_json_append_string(struct core_buf *out, struct core_cursor s)
{
    static const char hx[] = "0123456789abcdef";
    /* Most strings (names, ARNs, ids) need no escape: one reserve and one pass that copies while it
     * checks. At the first byte that needs one, the general path below starts over (nothing was
     * appended: out->len moves only when the whole string is written). */
    if (s.len <= SIZE_MAX - 2 && core_ok(core_buf_reserve(out, s.len + 2))) {
        /* Eight bytes at a time: a lane below 0x20, or equal to '"' or '\\', sets its top bit in
         * flag (the classic "has zero byte" test; it can also flag a lane after a flagged one,
         * never miss one). */
        const uint64_t ones = 0x0101010101010101ull, tops = 0x8080808080808080ull;
        size_t i = 0;
        bool clean = true;
        for (; clean && i + 8 <= s.len; i += 8) {
            uint64_t x, q, b;
            memcpy(&x, s.ptr + i, 8);
            q = x ^ (ones * '"');
            b = x ^ (ones * '\\');
            uint64_t flag = ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b);
            clean = (flag & tops) == 0;
        }
        for (; clean && i < s.len; i++) clean = s.ptr[i] != '"' && s.ptr[i] != '\\' && s.ptr[i] >= 0x20;
        if (clean) {
            uint8_t *d = out->data + out->len;
            d[0] = '"';
            if (s.len) memcpy(d + 1, s.ptr, s.len);
            d[1 + s.len] = '"';
            out->len += s.len + 2;
            CORE_OK;
        }
    }
    GUARD(core_buf_append_u8(out, '"'));
    size_t run = 0; /* bytes that need no escaping, appended in one go */
    for (size_t i = 0; i < s.len; i++) {
        uint8_t c = s.ptr[i];
        if (c != '"' && c != '\\' && c >= 0x20) {
            run++;
            continue;
        }
        if (run) GUARD(core_buf_append(out, s.ptr + i - run, run)); /* no arithmetic on a NULL ptr */
        run = 0;
        if (c == '"' || c == '\\') {
            uint8_t e[2] = {'\\', c};
            GUARD(core_buf_append(out, e, 2));
        } else {
            uint8_t e[6] = {'\\', 'u', '0', '0', (uint8_t)hx[c >> 4], (uint8_t)hx[c & 15]};
            GUARD(core_buf_append(out, e, 6));
        }
    }
    if (run) GUARD(core_buf_append(out, s.ptr + s.len - run, run));
    return core_buf_append_u8(out, '"');
}

void core_json_cleanup(json_t **v)
{
    if (*v) json_decref(*v);
    *v = NULL;
}
