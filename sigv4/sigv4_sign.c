/*
 * Signing, for kmsbench and tests: the same canonicalisation as
 * verification, over every header of the request.
 */
#include "sigv4/sigv4_stages.h"

#include <sodium.h>

static bool has_header(const struct sigv4_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (core_cursor_eq_icase(req->headers[i].name, core_cursor_str(name))) return true;
    return false;
}

static bool plain(struct core_cursor c, size_t max)
{
    if (c.len == 0 || c.len > max) return false;
    for (size_t i = 0; i < c.len; i++)
        if (c.ptr[i] <= 0x20 || c.ptr[i] >= 0x7f || c.ptr[i] == '/' || c.ptr[i] == '%') return false;
    return true;
}

/* "host;x-amz-date;...": every header name of req, lowercased, sorted, once each. */
static core_result signed_list(const struct sigv4_request *req, struct core_buf *lower, struct core_buf *list)
{
    struct core_cursor names[CORE_MAX_HEADERS];
    size_t n = 0;
    for (size_t i = 0; i < req->n_headers; i++) {
        struct core_cursor nm = req->headers[i].name;
        ENSURE(nm.len > 0 && nm.len <= 256, ERR_INVALID_ARG);
        size_t off = lower->len;
        for (size_t j = 0; j < nm.len; j++) {
            uint8_t c = nm.ptr[j];
            GUARD(core_buf_append_u8(lower, (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c));
        }
        names[n++] = (struct core_cursor){(const uint8_t *)(uintptr_t)off, nm.len};
    }
    /* lower no longer grows: turn offsets into pointers, then insertion-sort. */
    for (size_t i = 0; i < n; i++) names[i].ptr = lower->data + (uintptr_t)names[i].ptr;
    for (size_t i = 1; i < n; i++) {
        struct core_cursor t = names[i];
        size_t j = i;
        while (j > 0 && core_cursor_cmp(names[j - 1], t) > 0) {
            names[j] = names[j - 1];
            j--;
        }
        names[j] = t;
    }
    for (size_t i = 0; i < n; i++) {
        if (i && core_cursor_eq(names[i], names[i - 1])) continue;
        if (list->len) GUARD(core_buf_append_u8(list, ';'));
        GUARD(core_buf_append_cursor(list, names[i]));
    }
    CORE_OK;
}

static core_result sign_with(const struct sigv4_request *req, const struct sigv4_credentials *creds,
                             struct sigv4_auth *auth, struct sigv4_key_cache *cache, struct core_buf *authorization)
{
    struct sigv4_scratch *s;
    GUARD(sigv4_scratch_get(&s));
    core_buf_reset(&s->canon);
    core_buf_reset(&s->sts);
    GUARD(sigv4_canonical_request(req, auth, &s->canon, NULL));
    GUARD(sigv4_string_to_sign(auth, core_buf_cursor(&s->canon), &s->sts));
    uint8_t key[SIGV4_KEY_BYTES];
    GUARD(sigv4_key_cache_get(cache, creds->secret, auth->scope_date, auth->region, auth->service, key));
    char sig[SIGV4_HEX_BYTES + 1];
    sigv4_signature_hex(key, core_buf_cursor(&s->sts), sig);
    sodium_memzero(key, sizeof key);

    GUARD(core_buf_append_str(authorization, SIGV4_ALGORITHM " Credential="));
    GUARD(core_buf_append_cursor(authorization, creds->access_key_id));
    GUARD(core_buf_append_u8(authorization, '/'));
    GUARD(core_buf_append_cursor(authorization, auth->scope_date));
    GUARD(core_buf_append_u8(authorization, '/'));
    GUARD(core_buf_append_cursor(authorization, auth->region));
    GUARD(core_buf_append_u8(authorization, '/'));
    GUARD(core_buf_append_cursor(authorization, auth->service));
    GUARD(core_buf_append_str(authorization, "/" SIGV4_TERMINATOR ", SignedHeaders="));
    GUARD(core_buf_append_cursor(authorization, auth->signed_headers));
    GUARD(core_buf_append_str(authorization, ", Signature="));
    return core_buf_append_str(authorization, sig);
}

core_result sigv4_sign(const struct sigv4_request *req, const struct sigv4_credentials *creds,
                       struct core_cursor region, struct core_cursor service, struct core_cursor amz_date,
                       struct sigv4_key_cache *cache, struct core_buf *authorization)
{
    ENSURE_REF(req);
    ENSURE_REF(creds);
    ENSURE_REF(authorization);
    ENSURE(req->n_headers <= CORE_MAX_HEADERS, ERR_LIMIT);
    ENSURE(plain(creds->access_key_id, CORE_MAX_ACCESS_KEY_ID_BYTES), ERR_INVALID_ARG);
    ENSURE(plain(region, SIGV4_MAX_SCOPE_PART_BYTES) && plain(service, SIGV4_MAX_SCOPE_PART_BYTES), ERR_INVALID_ARG);
    ENSURE(has_header(req, "host") && has_header(req, "x-amz-date"), ERR_INVALID_ARG);
    ENSURE(creds->session_token.len == 0 || has_header(req, "x-amz-security-token"), ERR_INVALID_ARG);

    struct sigv4_auth auth = {.form = SIGV4_FORM_HEADER, .access_key_id = creds->access_key_id,
                              .region = region, .service = service, .amz_date = amz_date};
    ENSURE(core_ok(core_time_parse_amz((const char *)amz_date.ptr, amz_date.len, &auth.request_time)),
           ERR_INVALID_ARG);
    auth.scope_date = core_cursor_from(amz_date.ptr, 8);

    DEFER_CLEANUP(struct core_buf lower = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_buf list = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&lower, 512, CORE_MAX_HEADER_BYTES));
    GUARD(core_buf_init(&list, 512, CORE_MAX_HEADER_BYTES));
    GUARD(signed_list(req, &lower, &list));
    auth.signed_headers = core_buf_cursor(&list);
    return sign_with(req, creds, &auth, cache, authorization);
}
