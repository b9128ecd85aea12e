#include "core/core_wire.h"

#include "core/core_json.h"
#include "core/core_limits.h"

_Static_assert(CORE_MAX_FORM_PARAMS == 256, "core_form.params size follows the limit");

void core_jw_init(struct core_jw *w, struct core_buf *out) { *w = (struct core_jw){.out = out}; }

static core_result jw_key(struct core_jw *w, const char *key)
{
    uint32_t bit = 1u << w->depth;
    if (w->need_comma & bit) GUARD(core_buf_append_u8(w->out, ','));
    w->need_comma |= bit;
    if (key) {
        GUARD(core_json_append_string(w->out, core_cursor_str(key)));
        GUARD(core_buf_append_u8(w->out, ':'));
    }
    CORE_OK;
}

static core_result jw_open(struct core_jw *w, const char *key, uint8_t c)
{
    ENSURE(w->depth < 31, ERR_LIMIT);
    if (w->depth > 0 || w->need_comma) GUARD(jw_key(w, key));
    GUARD(core_buf_append_u8(w->out, c));
    w->depth++;
    w->need_comma &= ~(1u << w->depth);
    CORE_OK;
}

static core_result jw_close(struct core_jw *w, uint8_t c)
{
    ENSURE(w->depth > 0, ERR_INVALID_ARG);
    w->need_comma &= ~(1u << w->depth);
    w->depth--;
    if (w->depth == 0) w->need_comma |= 1u;
    return core_buf_append_u8(w->out, c);
}

core_result core_jw_object_begin(struct core_jw *w, const char *key) { return jw_open(w, key, '{'); }
core_result core_jw_object_end(struct core_jw *w) { return jw_close(w, '}'); }
core_result core_jw_array_begin(struct core_jw *w, const char *key) { return jw_open(w, key, '['); }
core_result core_jw_array_end(struct core_jw *w) { return jw_close(w, ']'); }

core_result core_jw_str(struct core_jw *w, const char *key, struct core_cursor v)
{
    GUARD(jw_key(w, key));
    return core_json_append_string(w->out, v);
}

core_result core_jw_cstr(struct core_jw *w, const char *key, const char *v)
{
    return core_jw_str(w, key, core_cursor_str(v));
}

core_result core_jw_base64(struct core_jw *w, const char *key, struct core_cursor bytes)
{
    GUARD(jw_key(w, key));
    GUARD(core_buf_append_u8(w->out, '"'));
    GUARD(core_buf_append_base64(w->out, bytes));
    return core_buf_append_u8(w->out, '"');
}

core_result core_jw_base64_public(struct core_jw *w, const char *key, struct core_cursor bytes)
{
    GUARD(jw_key(w, key));
    GUARD(core_buf_append_u8(w->out, '"'));
    GUARD(core_buf_append_base64_public(w->out, bytes));
    return core_buf_append_u8(w->out, '"');
}

core_result core_jw_int(struct core_jw *w, const char *key, int64_t v)
{
    GUARD(jw_key(w, key));
    return core_buf_printf(w->out, "%lld", (long long)v);
}

core_result core_jw_bool(struct core_jw *w, const char *key, bool v)
{
    GUARD(jw_key(w, key));
    return core_buf_append_str(w->out, v ? "true" : "false");
}

core_result core_jw_time(struct core_jw *w, const char *key, int64_t epoch_seconds)
{
    GUARD(jw_key(w, key));
    return core_buf_printf(w->out, "%lld", (long long)epoch_seconds);
}

core_result core_xml_escape(struct core_buf *out, struct core_cursor s)
{
    for (size_t i = 0; i < s.len; i++) {
        uint8_t c = s.ptr[i];
        switch (c) {
        case '&': GUARD(core_buf_append_str(out, "&amp;")); break;
        case '<': GUARD(core_buf_append_str(out, "&lt;")); break;
        case '>': GUARD(core_buf_append_str(out, "&gt;")); break;
        case '"': GUARD(core_buf_append_str(out, "&quot;")); break;
        case '\'': GUARD(core_buf_append_str(out, "&apos;")); break;
        case '\n': GUARD(core_buf_append_str(out, "&#10;")); break;
        case '\r': GUARD(core_buf_append_str(out, "&#13;")); break;
        case '\t': GUARD(core_buf_append_str(out, "&#9;")); break;
        default:
            if (c >= 0x20) GUARD(core_buf_append_u8(out, c)); /* other controls are invalid XML */
        }
    }
    CORE_OK;
}

core_result core_xml_elem(struct core_buf *out, const char *tag, struct core_cursor value)
{
    GUARD(core_buf_printf(out, "<%s>", tag));
    GUARD(core_xml_escape(out, value));
    return core_buf_printf(out, "</%s>", tag);
}

core_result core_xml_elem_str(struct core_buf *out, const char *tag, const char *value)
{
    return core_xml_elem(out, tag, core_cursor_str(value));
}

core_result core_xml_response_open(struct core_buf *out, struct core_cursor action, const char *ns, bool has_result)
{
    GUARD(core_buf_append_u8(out, '<'));
    GUARD(core_buf_append_cursor(out, action));
    GUARD(core_buf_printf(out, "Response xmlns=\"%s\">", ns));
    if (has_result) {
        GUARD(core_buf_append_u8(out, '<'));
        GUARD(core_buf_append_cursor(out, action));
        GUARD(core_buf_append_str(out, "Result>"));
    }
    CORE_OK;
}

core_result core_xml_response_close(struct core_buf *out, struct core_cursor action, const char *request_id,
                                    bool has_result)
{
    if (has_result) {
        GUARD(core_buf_append_str(out, "</"));
        GUARD(core_buf_append_cursor(out, action));
        GUARD(core_buf_append_str(out, "Result>"));
    }
    GUARD(core_buf_append_str(out, "<ResponseMetadata>"));
    GUARD(core_xml_elem_str(out, "RequestId", request_id));
    GUARD(core_buf_append_str(out, "</ResponseMetadata></"));
    GUARD(core_buf_append_cursor(out, action));
    return core_buf_append_str(out, "Response>");
}

core_result core_xml_error(struct core_buf *out, const char *ns, bool sender, const char *code,
                           struct core_cursor message, const char *request_id)
{
    GUARD(core_buf_printf(out, "<ErrorResponse xmlns=\"%s\"><Error>", ns));
    GUARD(core_xml_elem_str(out, "Type", sender ? "Sender" : "Receiver"));
    GUARD(core_xml_elem_str(out, "Code", code));
    GUARD(core_xml_elem(out, "Message", message));
    GUARD(core_buf_append_str(out, "</Error>"));
    GUARD(core_xml_elem_str(out, "RequestId", request_id));
    return core_buf_append_str(out, "</ErrorResponse>");
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static core_result form_decode(struct core_form *f, struct core_cursor in, struct core_cursor *out)
{
    size_t start = f->storage.len;
    for (size_t i = 0; i < in.len; i++) {
        uint8_t c = in.ptr[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            ENSURE(i + 2 < in.len, ERR_PARSE);
            int hi = hexval(in.ptr[i + 1]), lo = hexval(in.ptr[i + 2]);
            ENSURE(hi >= 0 && lo >= 0, ERR_PARSE);
            c = (uint8_t)(hi << 4 | lo);
            i += 2;
        }
        GUARD(core_buf_append_u8(&f->storage, c));
    }
    /* storage never reallocates: it was sized to the body up front. */
    *out = core_cursor_from(f->storage.data + start, f->storage.len - start);
    CORE_OK;
}

core_result core_form_parse(struct core_form *f, struct core_cursor body)
{
    f->n = 0;
    /* Decoding never grows the text, so one allocation holds it all. */
    GUARD(core_buf_init(&f->storage, body.len + 2, body.len + 2));
    struct core_cursor rest = body, pair;
    if (body.len == 0) CORE_OK;
    while (core_cursor_split(&rest, '&', &pair)) {
        if (pair.len == 0) continue;
        ENSURE(f->n < CORE_MAX_FORM_PARAMS, ERR_LIMIT);
        struct core_cursor name;
        core_cursor_split(&pair, '=', &name);
        struct core_form_param *p = &f->params[f->n];
        GUARD(form_decode(f, name, &p->name));
        GUARD(form_decode(f, pair.ptr ? pair : core_cursor_from("", 0), &p->value));
        f->n++;
    }
    CORE_OK;
}

void core_form_free(struct core_form *f)
{
    core_buf_free(&f->storage);
    f->n = 0;
}

bool core_form_get(const struct core_form *f, const char *name, struct core_cursor *value)
{
    for (size_t i = 0; i < f->n; i++)
        if (core_cursor_eq_str(f->params[i].name, name)) {
            *value = f->params[i].value;
            return true;
        }
    return false;
}

void core_ipv4_text(const uint8_t addr[4], char out[16])
{
    size_t o = 0;
    for (size_t i = 0; i < 4; i++) {
        unsigned v = addr[i];
        if (i) out[o++] = '.';
        if (v >= 100) out[o++] = (char)('0' + v / 100);
        if (v >= 10) out[o++] = (char)('0' + v / 10 % 10);
        out[o++] = (char)('0' + v % 10);
    }
    out[o] = 0;
}
