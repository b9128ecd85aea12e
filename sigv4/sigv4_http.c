/*
 * A raw HTTP/1.1 request split into a struct sigv4_request, for kmsctl
 * sigv4-verify and the vector tests (the server gets the same fields from
 * libmicrohttpd). Only framing is parsed; canonicalisation does the rest.
 */
#include "sigv4/sigv4_stages.h"

/* Next line without its CR LF / LF; false at the end of input. */
static bool next_line(struct core_cursor *in, struct core_cursor *line, bool *terminated)
{
    if (in->len == 0) return false;
    const uint8_t *lf = memchr(in->ptr, '\n', in->len);
    size_t n = lf ? (size_t)(lf - in->ptr) : in->len;
    *line = (struct core_cursor){in->ptr, n};
    *terminated = lf != NULL;
    in->ptr += lf ? n + 1 : n;
    in->len -= lf ? n + 1 : n;
    if (line->len && line->ptr[line->len - 1] == '\r') line->len--;
    return true;
}

core_result sigv4_http_parse(struct core_cursor raw, struct sigv4_header *headers, size_t max_headers,
                             struct sigv4_request *req, struct core_cursor *body)
{
    ENSURE_REF(req);
    ENSURE_REF(body);
    *req = (struct sigv4_request){0};
    struct core_cursor in = raw, line, tok;
    bool term;
    ENSURE(next_line(&in, &line, &term) && term, ERR_PARSE);
    /* METHOD SP request-target SP HTTP-version. The method is the first
     * token and the version the last; the target is everything between, so
     * a literal space in the path stays part of it, as AWS's published SigV4
     * test suite writes it ("GET /example space/ HTTP/1.1"). */
    ENSURE(core_cursor_split(&line, ' ', &tok) && tok.len > 0, ERR_PARSE);
    req->method = tok;
    size_t last = line.len;
    while (last > 0 && line.ptr[last - 1] != ' ') last--;
    ENSURE(last > 0, ERR_PARSE);
    struct core_cursor version = {line.ptr + last, line.len - last};
    ENSURE(core_cursor_starts_with(version, "HTTP/"), ERR_PARSE);
    tok = (struct core_cursor){line.ptr, last - 1};
    ENSURE(tok.len > 0 && tok.ptr[0] == '/', ERR_PARSE);
    const uint8_t *q = memchr(tok.ptr, '?', tok.len);
    req->path = (struct core_cursor){tok.ptr, q ? (size_t)(q - tok.ptr) : tok.len};
    req->query = q ? (struct core_cursor){q + 1, tok.len - req->path.len - 1} : (struct core_cursor){q, 0};

    size_t n = 0;
    bool blank = false;
    while (next_line(&in, &line, &term)) {
        if (line.len == 0) {
            blank = true;
            break;
        }
        if (line.ptr[0] == ' ' || line.ptr[0] == '\t') {
            /* obs-fold: the value runs on; canonicalisation folds CRLF SP into one space. */
            ENSURE(n > 0, ERR_PARSE);
            struct core_cursor *v = &headers[n - 1].value;
            v->len = (size_t)(line.ptr + line.len - v->ptr);
            continue;
        }
        const uint8_t *colon = memchr(line.ptr, ':', line.len);
        ENSURE(colon != NULL && colon != line.ptr, ERR_PARSE);
        struct core_cursor name = {line.ptr, (size_t)(colon - line.ptr)};
        for (size_t i = 0; i < name.len; i++) ENSURE(name.ptr[i] > 0x20 && name.ptr[i] < 0x7f, ERR_PARSE);
        ENSURE(n < max_headers, ERR_LIMIT);
        headers[n].name = name;
        headers[n].value = (struct core_cursor){colon + 1, line.len - name.len - 1};
        n++;
    }
    req->headers = headers;
    req->n_headers = n;
    *body = blank ? in : (struct core_cursor){in.ptr, 0};

    for (size_t i = 0; i < n; i++) {
        if (!core_cursor_eq_icase(headers[i].name, core_cursor_str("content-length"))) continue;
        uint64_t cl;
        GUARD(core_cursor_to_u64(core_cursor_trim(headers[i].value), CORE_MAX_BODY_BYTES, &cl));
        ENSURE(cl <= body->len, ERR_PARSE);
        body->len = (size_t)cl;
    }
    CORE_OK;
}
