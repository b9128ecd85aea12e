/*
 * Stage 1: find and parse the SigV4 authentication of a request, and check
 * its time. Header form:
 *   Authorization: AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/iam/aws4_request,
 *                  SignedHeaders=content-type;host;x-amz-date, Signature=5d67...
 * Presigned form: X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
 * X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature[, X-Amz-Security-Token]
 * in the query.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html#add-signature-to-request
 *
 * Messages follow AWS's wording; echoed values go through sigv4_diag_echo.
 */
#include "sigv4/sigv4_stages.h"

/* Query-string authentication parameters; names compared exactly, as AWS does. */
enum qp { QP_ALGORITHM, QP_CREDENTIAL, QP_DATE, QP_EXPIRES, QP_SIGNED_HEADERS, QP_SIGNATURE, QP_TOKEN, QP_COUNT };
static const char *const qp_names[QP_COUNT] = {
    "X-Amz-Algorithm",     "X-Amz-Credential", "X-Amz-Date",           "X-Amz-Expires",
    "X-Amz-SignedHeaders", "X-Amz-Signature",  "X-Amz-Security-Token",
};

static bool is_space(uint8_t c) { return c == ' ' || c == '\t'; }

/* Whether any byte of x is c (the exact zero-byte test on x ^ c...c). */
static inline uint64_t has_byte(uint64_t x, uint8_t c)
{
    const uint64_t ones = 0x0101010101010101ull;
    uint64_t y = x ^ (c * ones);
    return (y - ones) & ~y & (0x80 * ones);
}

/* Length of the Authorization parameter at p: up to the first ',', ' ' or '\t'. Eight bytes at a time
 * while none is among them (the Signature's 64 hex digits are most of the header). */
static size_t param_span(const uint8_t *p, size_t len)
{
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        if (has_byte(x, ',') | has_byte(x, ' ') | has_byte(x, '\t')) break;
    }
    for (; i < len; i++)
        if (p[i] == ',' || is_space(p[i])) break;
    return i;
}

/* Number of headers with the known name k (any case); *first receives the first one's trimmed value. */
static size_t find_header(const struct sigv4_request *req, const struct sigv4_header_index *idx, enum sigv4_known k,
                          struct core_cursor *first)
{
    size_t at;
    size_t n = sigv4_header_index_known(idx, k, &at);
    if (n && first) *first = core_cursor_trim(req->headers[idx->pos[at]].value);
    return n;
}

bool sigv4_split_list(struct core_cursor *list, uint8_t sep, const char *enc, struct core_cursor *tok)
{
    if (list->ptr == NULL) return false;
    if (enc == NULL) { /* header form: one separator byte */
        const uint8_t *p = list->len ? memchr(list->ptr, sep, list->len) : NULL;
        if (p) {
            size_t i = (size_t)(p - list->ptr);
            *tok = (struct core_cursor){list->ptr, i};
            list->ptr += i + 1;
            list->len -= i + 1;
            return true;
        }
        *tok = *list;
        *list = (struct core_cursor){NULL, 0};
        return true;
    }
    for (size_t i = 0; i < list->len; i++) {
        size_t skip = 0;
        if (list->ptr[i] == sep) {
            skip = 1;
        } else if (enc && list->ptr[i] == '%' && list->len - i >= 3 &&
                   list->ptr[i + 1] == (uint8_t)enc[0] &&
                   (list->ptr[i + 2] == (uint8_t)enc[1] || list->ptr[i + 2] == (uint8_t)(enc[1] | 0x20))) {
            skip = 3;
        }
        if (skip) {
            *tok = (struct core_cursor){list->ptr, i};
            list->ptr += i + skip;
            list->len -= i + skip;
            return true;
        }
    }
    *tok = *list;
    *list = (struct core_cursor){NULL, 0};
    return true;
}

static void echo(struct sigv4_diag *diag, struct core_cursor v)
{
    sigv4_diag_echo(diag, v, SIGV4_MAX_ECHO_BYTES, false);
}

static core_result bad_credential(struct sigv4_diag *diag)
{
    sigv4_diag_str(diag, "The authorization header is malformed; the Credential is mal-formed; expecting "
                         "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".");
    BAIL(ERR_AUTH_INCOMPLETE);
}

/* Printable ASCII but '%' and '/', eight bytes at a time (issue 14, round 5): a lane below 0x21, from
 * 0x7f up, '%' or '/' sets its top bit in flag (the "has zero byte" test, which may also flag a lane
 * after a flagged one, never miss one: either way the token is refused). */
static bool plain_token(struct core_cursor c, size_t max)
{
    if (c.len == 0 || c.len > max) return false;
    const uint64_t ones = 0x0101010101010101ull, tops = 0x8080808080808080ull;
    size_t i = 0;
    for (; i + 8 <= c.len; i += 8) {
        uint64_t x, d, p, s;
        memcpy(&x, c.ptr + i, 8);
        d = x ^ (ones * 0x7f);
        p = x ^ (ones * '%');
        s = x ^ (ones * '/');
        uint64_t flag = ((x - ones * 0x21) & ~x) | ((d - ones) & ~d) | ((p - ones) & ~p) | ((s - ones) & ~s) | x;
        if (flag & tops) return false;
    }
    for (; i < c.len; i++)
        if (c.ptr[i] <= 0x20 || c.ptr[i] >= 0x7f || c.ptr[i] == '%' || c.ptr[i] == '/') return false;
    return true;
}

/* AKID/YYYYMMDD/region/service/aws4_request */
static core_result parse_credential(struct core_cursor cred, bool presigned, struct sigv4_auth *auth,
                                    struct core_cursor *terminator, struct sigv4_diag *diag)
{
    struct core_cursor part[5], rest = cred;
    size_t n = 0;
    struct core_cursor tok;
    while (sigv4_split_list(&rest, '/', presigned ? "2F" : NULL, &tok)) {
        if (n == 5) return bad_credential(diag);
        part[n++] = tok;
    }
    if (n != 5) return bad_credential(diag);
    if (!plain_token(part[0], CORE_MAX_ACCESS_KEY_ID_BYTES)) return bad_credential(diag);
    for (size_t i = 1; i < 5; i++)
        if (!plain_token(part[i], SIGV4_MAX_SCOPE_PART_BYTES)) return bad_credential(diag);
    auth->access_key_id = part[0];
    auth->scope_date = part[1];
    auth->region = part[2];
    auth->service = part[3];
    *terminator = part[4];
    CORE_OK;
}

static core_result bad_date(struct core_cursor v, struct sigv4_diag *diag)
{
    sigv4_diag_str(diag, "Date must be in ISO-8601 'basic format'. Got '");
    echo(diag, v);
    sigv4_diag_str(diag, "'. See http://en.wikipedia.org/wiki/ISO_8601");
    BAIL(ERR_AUTH_INCOMPLETE);
}

/* RFC 1123 / RFC 2822 date as sent in a Date header: "[Sun, ]06 Nov 1994 08:49:37 GMT". */
static core_result parse_http_date(struct core_cursor v, int64_t *t)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    struct core_cursor c = core_cursor_trim(v), tok;
    const uint8_t *comma = c.len ? memchr(c.ptr, ',', c.len) : NULL;
    if (comma) GUARD(core_cursor_advance(&c, (size_t)(comma - c.ptr) + 1, NULL));
    c = core_cursor_trim(c);
    char amz[16];
    /* day */
    ENSURE(core_cursor_split(&c, ' ', &tok) && (tok.len == 1 || tok.len == 2), ERR_PARSE);
    amz[6] = tok.len == 2 ? (char)tok.ptr[0] : '0';
    amz[7] = (char)tok.ptr[tok.len - 1];
    /* month */
    ENSURE(core_cursor_split(&c, ' ', &tok) && tok.len == 3, ERR_PARSE);
    int mon = -1;
    for (int i = 0; i < 12; i++)
        if (core_cursor_eq(core_cursor_from(months + 3 * i, 3), tok)) mon = i + 1;
    ENSURE(mon > 0, ERR_PARSE);
    amz[4] = (char)('0' + mon / 10);
    amz[5] = (char)('0' + mon % 10);
    /* year */
    ENSURE(core_cursor_split(&c, ' ', &tok) && tok.len == 4, ERR_PARSE);
    memcpy(amz, tok.ptr, 4);
    /* HH:MM:SS */
    ENSURE(core_cursor_split(&c, ' ', &tok) && tok.len == 8 && tok.ptr[2] == ':' && tok.ptr[5] == ':', ERR_PARSE);
    amz[8] = 'T';
    memcpy(amz + 9, tok.ptr, 2);
    memcpy(amz + 11, tok.ptr + 3, 2);
    memcpy(amz + 13, tok.ptr + 6, 2);
    amz[15] = 'Z';
    /* zone: UTC only */
    tok = core_cursor_trim(c);
    ENSURE(core_cursor_eq_str(tok, "GMT") || core_cursor_eq_str(tok, "UTC") || core_cursor_eq_str(tok, "UT") ||
               core_cursor_eq_str(tok, "+0000") || core_cursor_eq_str(tok, "-0000") || core_cursor_eq_str(tok, "Z"),
           ERR_PARSE);
    return core_time_parse_amz(amz, sizeof amz, t);
}

static bool valid_header_name(struct core_cursor n)
{
    if (n.len == 0 || n.len > 256) return false;
    for (size_t i = 0; i < n.len; i++) {
        uint8_t c = n.ptr[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
                  c == '!' || c == '#' || c == '$' || c == '&' || c == '\'' || c == '*' || c == '+' ||
                  c == '^' || c == '`' || c == '|' || c == '~';
        if (!ok) return false;
    }
    return true;
}

/* The signed-header list, split once (issue 14: it was split again for every header checked). */
struct signed_list {
    struct core_cursor name[CORE_SIGV4_MAX_SIGNED_HEADERS];
    size_t n;
};

/* Whether name (any case) is in the signed-header list. */
static bool is_signed(const struct signed_list *sl, struct core_cursor name)
{
    for (size_t i = 0; i < sl->n; i++)
        if (core_cursor_eq_icase(sl->name[i], name)) return true;
    return false;
}

/* "x-amz-" in any case, byte by byte with no call: a letter's bit 0x20 is its case, and only 'X' and 'x'
 * (and so on) have the byte | 0x20 of 'x'. */
static bool is_amz_header(struct core_cursor name)
{
    const uint8_t *p = name.ptr;
    return name.len > 6 && (p[0] | 0x20) == 'x' && p[1] == '-' && (p[2] | 0x20) == 'a' && (p[3] | 0x20) == 'm' &&
           (p[4] | 0x20) == 'z' && p[5] == '-';
}

/* "date" in any case. */
static bool is_date_header(struct core_cursor name)
{
    const uint8_t *p = name.ptr;
    return name.len == 4 && (p[0] | 0x20) == 'd' && (p[1] | 0x20) == 'a' && (p[2] | 0x20) == 't' &&
           (p[3] | 0x20) == 'e';
}

/* Appends name in lowercase, capped and escaped like every echoed value. */
static void echo_lower(struct sigv4_diag *diag, struct core_cursor name)
{
    char low[64];
    size_t n = name.len < sizeof low ? name.len : sizeof low;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = name.ptr[i];
        low[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    sigv4_diag_echo(diag, core_cursor_from(low, n), sizeof low, false);
}

/*
 * Every part of the request that decides what it does must be signed, or it
 * could be changed under a valid signature. Host is checked above. Beyond
 * it, AWS requires:
 *   "If you include a date or x-amz-date header, you must also include that
 *    header in the list of signed headers." and "Any x-amz-* headers that you
 *    plan to add to the request must also be added."
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 * so X-Amz-Target (which names the operation of a JSON service), the
 * security token and the date are covered; and, outside S3's rules (where a
 * browser may add it to a presigned upload), Content-Type, which decides how
 * the body is read. The X-Amz-Target and Content-Type messages take AWS's
 * wording for Host; other headers take S3's "HeadersNotSigned" wording.
 */
static core_result check_required_signed(const struct sigv4_request *req, const struct sigv4_header_index *idx,
                                         const struct signed_list *sl, bool presigned, struct sigv4_diag *diag)
{
    static const struct {
        const char *name, *label;
        enum sigv4_known k;
    } named[] = {{"x-amz-target", "X-Amz-Target", SIGV4_H_X_AMZ_TARGET},
                 {"content-type", "Content-Type", SIGV4_H_CONTENT_TYPE}};
    for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
        struct core_cursor name = core_cursor_str(named[k].name);
        if (k == 1 && req->no_normalize_path) continue;
        if (is_signed(sl, name) || find_header(req, idx, named[k].k, NULL) == 0) continue;
        sigv4_diag_str(diag, "'");
        sigv4_diag_str(diag, named[k].label);
        sigv4_diag_str(diag, "' must be a 'SignedHeader' in the AWS Authorization.");
        BAIL(ERR_AUTH_INCOMPLETE);
    }
    /* Each distinct name once, in index order (equal names are adjacent there). */
    bool found = false;
    for (size_t k = 0; k < idx->n && !found; k++) {
        if (k > 0 && idx->key[k] == idx->key[k - 1] &&
            core_cursor_eq_icase(req->headers[idx->pos[k]].name, req->headers[idx->pos[k - 1]].name))
            continue;
        struct core_cursor name = req->headers[idx->pos[k]].name;
        /* Date must be signed when it gives the time: header form, and no X-Amz-Date. */
        bool required = is_amz_header(name) || (!presigned && is_date_header(name) &&
                                                find_header(req, idx, SIGV4_H_X_AMZ_DATE, NULL) == 0);
        found = required && !is_signed(sl, name);
    }
    if (!found) CORE_OK;
    bool no_xdate = !presigned && find_header(req, idx, SIGV4_H_X_AMZ_DATE, NULL) == 0;
    /* The message names the unsigned headers in arrival order, each once. */
    found = false;
    for (size_t i = 0; i < req->n_headers; i++) {
        struct core_cursor name = req->headers[i].name;
        bool required = is_amz_header(name) || (no_xdate && is_date_header(name));
        if (!required || is_signed(sl, name)) continue;
        bool seen = false; /* name each header once */
        for (size_t j = 0; j < i && !seen; j++) seen = core_cursor_eq_icase(req->headers[j].name, name);
        if (seen) continue;
        sigv4_diag_str(diag, found ? ", " : "There were headers present in the request which were not signed. "
                                            "HeadersNotSigned: ");
        echo_lower(diag, name);
        found = true;
    }
    BAIL(ERR_AUTH_INCOMPLETE);
}

/* The signed-header list: sorted, unique, lowercase, present in the request, host among them. */
static core_result check_signed_headers(const struct sigv4_request *req, const struct sigv4_header_index *idx,
                                        struct core_cursor list, bool presigned, struct sigv4_diag *diag)
{
    struct signed_list sl;
    sl.n = 0;
    struct core_cursor rest = list, name, prev = {NULL, 0};
    /* Every entry is counted before any is judged: too many is the error whatever they hold. */
    while (sigv4_split_list(&rest, ';', presigned ? "3B" : NULL, &name)) {
        if (sl.n == CORE_SIGV4_MAX_SIGNED_HEADERS) {
            sigv4_diag_str(diag, "Too many signed headers.");
            BAIL(ERR_LIMIT);
        }
        sl.name[sl.n++] = name;
    }
    bool host = false;
    for (size_t k = 0; k < sl.n; k++) {
        name = sl.name[k];
        bool sorted = prev.ptr == NULL || core_cursor_cmp(prev, name) < 0;
        if (!valid_header_name(name) || !sorted) {
            sigv4_diag_str(diag, "SignedHeaders must be lowercase header names, sorted and separated by ';': '");
            echo(diag, list);
            sigv4_diag_str(diag, "'.");
            BAIL(ERR_AUTH_INCOMPLETE);
        }
        if (sigv4_header_index_find(idx, req->headers, name, NULL) == 0) {
            sigv4_diag_str(diag, "Header '");
            echo(diag, name);
            sigv4_diag_str(diag, "' is named in SignedHeaders but is not present in the request.");
            BAIL(ERR_AUTH_INCOMPLETE);
        }
        host = host || core_cursor_eq_str(name, "host");
        prev = name;
    }
    if (!host) {
        sigv4_diag_str(diag, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
        BAIL(ERR_AUTH_INCOMPLETE);
    }
    return check_required_signed(req, idx, &sl, presigned, diag);
}

/* Scope date and terminator against X-Amz-Date. */
static core_result check_scope(const struct sigv4_auth *auth, struct core_cursor terminator, struct sigv4_diag *diag)
{
    if (!core_cursor_eq_str(terminator, SIGV4_TERMINATOR)) {
        sigv4_diag_str(diag, "Credential should be scoped with a valid terminator: 'aws4_request', not '");
        echo(diag, terminator);
        sigv4_diag_str(diag, "'.");
        BAIL(ERR_AUTH_BAD_SIGNATURE);
    }
    char amz[32];
    core_time_amz(auth->request_time, amz);
    if (!core_cursor_eq(auth->scope_date, core_cursor_from(amz, 8))) {
        /* "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of
         *  date from HTTP: '20151124' != '20151125', from '20151125T154140Z'." */
        sigv4_diag_str(diag, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
                             "HTTP: '");
        echo(diag, auth->scope_date);
        sigv4_diag_str(diag, "' != '");
        sigv4_diag_echo(diag, core_cursor_from(amz, 8), 8, false);
        sigv4_diag_str(diag, "', from '");
        sigv4_diag_str(diag, amz);
        sigv4_diag_str(diag, "'.");
        BAIL(ERR_AUTH_BAD_SIGNATURE);
    }
    CORE_OK;
}

static core_result parse_header_form(const struct sigv4_request *req, const struct sigv4_header_index *idx,
                                     struct core_cursor authz,
                                     struct sigv4_auth *auth, struct sigv4_diag *diag)
{
    auth->form = SIGV4_FORM_HEADER;
    if (authz.len > SIGV4_MAX_AUTHORIZATION_BYTES) {
        sigv4_diag_str(diag, "Authorization header is too long.");
        BAIL(ERR_AUTH_INCOMPLETE);
    }
    struct core_cursor rest = authz, alg = authz;
    for (size_t i = 0; i < authz.len; i++) {
        if (is_space(authz.ptr[i])) {
            alg.len = i;
            rest = (struct core_cursor){authz.ptr + i, authz.len - i};
            break;
        }
    }
    if (alg.len == authz.len) rest = (struct core_cursor){authz.ptr + authz.len, 0};
    bool sigv4 = core_cursor_eq_str(alg, SIGV4_ALGORITHM);

    /* Parameters are separated by commas and/or spaces: "Credential=a, SignedHeaders=b, Signature=c". */
    struct core_cursor cred = {0}, signed_headers = {0}, signature = {0};
    bool have_cred = false, have_sh = false, have_sig = false;
    while (sigv4 && rest.len) {
        size_t i = 0;
        while (i < rest.len && (rest.ptr[i] == ',' || is_space(rest.ptr[i]))) i++;
        size_t start = i;
        i += param_span(rest.ptr + i, rest.len - i);
        struct core_cursor tok = {rest.ptr + start, i - start};
        rest = (struct core_cursor){rest.ptr + i, rest.len - i};
        if (tok.len == 0) break;
        const uint8_t *eq = memchr(tok.ptr, '=', tok.len);
        if (eq == NULL) {
            sigv4_diag_str(diag, "'");
            echo(diag, tok);
            sigv4_diag_str(diag, "' not a valid key=value pair (missing equal-sign) in Authorization header: '");
            echo(diag, authz);
            sigv4_diag_str(diag, "'.");
            BAIL(ERR_AUTH_INCOMPLETE);
        }
        struct core_cursor key = {tok.ptr, (size_t)(eq - tok.ptr)};
        struct core_cursor val = {eq + 1, tok.len - key.len - 1};
        struct core_cursor *slot = NULL;
        bool *have = NULL;
        if (core_cursor_eq(key, core_cursor_from("Credential", 10))) {
            slot = &cred;
            have = &have_cred;
        } else if (core_cursor_eq(key, core_cursor_from("SignedHeaders", 13))) {
            slot = &signed_headers;
            have = &have_sh;
        } else if (core_cursor_eq(key, core_cursor_from("Signature", 9))) {
            slot = &signature;
            have = &have_sig;
        }
        if (slot == NULL) continue; /* unknown parameters are ignored, as AWS does */
        if (*have) {
            sigv4_diag_str(diag, "Authorization header has a duplicate '");
            echo(diag, key);
            sigv4_diag_str(diag, "' parameter. Authorization=");
            echo(diag, authz);
            BAIL(ERR_AUTH_INCOMPLETE);
        }
        *slot = val;
        *have = true;
    }

    struct core_cursor xdate = {0}, date = {0};
    size_t n_xdate = find_header(req, idx, SIGV4_H_X_AMZ_DATE, &xdate);
    size_t n_date = n_xdate ? 0 : find_header(req, idx, SIGV4_H_DATE, &date);
    if (!have_cred || !have_sh || !have_sig || (n_xdate == 0 && n_date == 0)) {
        if (!have_cred) sigv4_diag_str(diag, "Authorization header requires 'Credential' parameter. ");
        if (!have_sig) sigv4_diag_str(diag, "Authorization header requires 'Signature' parameter. ");
        if (!have_sh) sigv4_diag_str(diag, "Authorization header requires 'SignedHeaders' parameter. ");
        if (n_xdate == 0 && n_date == 0)
            sigv4_diag_str(diag, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
                                 "header. ");
        sigv4_diag_str(diag, "Authorization=");
        echo(diag, authz);
        BAIL(ERR_AUTH_INCOMPLETE);
    }

    if (n_xdate) {
        if (n_xdate != 1 || !core_ok(core_time_parse_amz((const char *)xdate.ptr, xdate.len, &auth->request_time)))
            return bad_date(xdate, diag);
        auth->amz_date = xdate;
    } else {
        if (n_date != 1 || !core_ok(parse_http_date(date, &auth->request_time))) return bad_date(date, diag);
        auth->amz_date = date;
    }

    struct core_cursor terminator;
    GUARD(parse_credential(cred, false, auth, &terminator, diag));
    GUARD(check_scope(auth, terminator, diag));
    GUARD(check_signed_headers(req, idx, signed_headers, false, diag));
    auth->signed_headers = signed_headers;
    auth->signature = signature;
    struct core_cursor token = {0};
    if (find_header(req, idx, SIGV4_H_X_AMZ_SECURITY_TOKEN, &token) > 1) {
        sigv4_diag_str(diag, "The request has more than one X-Amz-Security-Token header.");
        BAIL(ERR_AUTH_INCOMPLETE);
    }
    auth->security_token = token;
    CORE_OK;
}

static core_result parse_presigned_form(const struct sigv4_request *req, const struct sigv4_header_index *idx,
                                        const struct core_cursor qp[QP_COUNT],
                                        struct sigv4_auth *auth, struct sigv4_diag *diag)
{
    auth->form = SIGV4_FORM_PRESIGNED;
    static const enum qp required[] = {QP_ALGORITHM, QP_CREDENTIAL, QP_SIGNATURE, QP_SIGNED_HEADERS, QP_DATE,
                                       QP_EXPIRES};
    bool missing = false;
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        if (qp[required[i]].ptr != NULL) continue;
        sigv4_diag_str(diag, "AWS query-string parameters must include '");
        sigv4_diag_str(diag, qp_names[required[i]]);
        sigv4_diag_str(diag, "'. ");
        missing = true;
    }
    if (missing) {
        sigv4_diag_str(diag, "Re-examine the query-string parameters.");
        BAIL(ERR_AUTH_INCOMPLETE);
    }
    if (!core_cursor_eq_str(qp[QP_ALGORITHM], SIGV4_ALGORITHM)) {
        sigv4_diag_str(diag, "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
        BAIL(ERR_AUTH_INCOMPLETE);
    }
    if (!core_ok(core_time_parse_amz((const char *)qp[QP_DATE].ptr, qp[QP_DATE].len, &auth->request_time)))
        return bad_date(qp[QP_DATE], diag);
    auth->amz_date = qp[QP_DATE];
    uint64_t expires;
    if (!core_ok(core_cursor_to_u64(qp[QP_EXPIRES], UINT64_MAX / 2, &expires))) {
        sigv4_diag_str(diag, "X-Amz-Expires should be a number");
        BAIL(ERR_AUTH_INCOMPLETE);
    }
    if (expires > CORE_SIGV4_MAX_PRESIGN_EXPIRES_S) {
        sigv4_diag_str(diag, "X-Amz-Expires must be less than a week (in seconds) that is 604800");
        BAIL(ERR_AUTH_EXPIRED);
    }
    auth->expires = (int64_t)expires;

    struct core_cursor terminator;
    GUARD(parse_credential(qp[QP_CREDENTIAL], true, auth, &terminator, diag));
    GUARD(check_scope(auth, terminator, diag));
    GUARD(check_signed_headers(req, idx, qp[QP_SIGNED_HEADERS], true, diag));
    auth->signed_headers = qp[QP_SIGNED_HEADERS];
    auth->signature = qp[QP_SIGNATURE];
    auth->security_token = qp[QP_TOKEN].ptr ? qp[QP_TOKEN] : (struct core_cursor){0};
    if (auth->security_token.len > 3 * CORE_MAX_SESSION_TOKEN_BYTES) {
        sigv4_diag_str(diag, "X-Amz-Security-Token is too long.");
        BAIL(ERR_LIMIT);
    }
    CORE_OK;
}

core_result sigv4_parse_authorization(const struct sigv4_request *req, struct sigv4_auth *auth,
                                      struct sigv4_diag *diag)
{
    ENSURE_REF(req);
    ENSURE_REF(auth);
    *auth = (struct sigv4_auth){0};
    ENSURE(req->n_headers <= CORE_MAX_HEADERS, ERR_LIMIT);
    ENSURE(req->query.len <= SIGV4_MAX_QUERY_BYTES, ERR_LIMIT);

    /* Query-string authentication parameters, each at most once. */
    struct core_cursor qp[QP_COUNT] = {{0}};
    bool presigned = false;
    struct core_cursor rest = req->query, pair;
    size_t n = 0;
    while (rest.len && core_cursor_split(&rest, '&', &pair)) {
        ENSURE(++n <= CORE_MAX_QUERY_PARAMS, ERR_LIMIT);
        struct core_cursor name;
        core_cursor_split(&pair, '=', &name);
        for (size_t i = 0; i < QP_COUNT; i++) {
            if (!core_cursor_eq_str(name, qp_names[i])) continue;
            if (qp[i].ptr != NULL) {
                sigv4_diag_str(diag, "The query string has more than one '");
                sigv4_diag_str(diag, qp_names[i]);
                sigv4_diag_str(diag, "' parameter.");
                BAIL(ERR_AUTH_INCOMPLETE);
            }
            qp[i] = pair.ptr ? pair : core_cursor_from(name.ptr + name.len, 0);
            presigned = presigned || i == QP_ALGORITHM || i == QP_CREDENTIAL || i == QP_SIGNATURE;
        }
    }

    struct sigv4_header_index local;
    const struct sigv4_header_index *idx = sigv4_header_index_of(req, &local);
    struct core_cursor authz = {0};
    size_t n_authz = find_header(req, idx, SIGV4_H_AUTHORIZATION, &authz);
    if (n_authz && presigned) {
        sigv4_diag_str(diag, "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature "
                             "query string parameter or the Authorization header should be specified");
        BAIL(ERR_AUTH_INCOMPLETE);
    }
    if (n_authz > 1) {
        sigv4_diag_str(diag, "The request has more than one Authorization header.");
        BAIL(ERR_AUTH_INCOMPLETE);
    }
    if (n_authz == 1) return parse_header_form(req, idx, authz, auth, diag);
    if (presigned) return parse_presigned_form(req, idx, qp, auth, diag);
    sigv4_diag_str(diag, "Missing Authentication Token");
    BAIL(ERR_AUTH_MISSING);
}

core_result sigv4_check_time(const struct sigv4_request *req, const struct sigv4_auth *auth,
                             struct sigv4_diag *diag)
{
    const int64_t skew = CORE_SIGV4_MAX_SKEW_S;
    const int64_t t = auth->request_time, now = req->now;
    /* "Signature not yet current: 20181120T211543Z is still later than
     *  20181120T211529Z (20181120T211029Z + 5 min.)" */
    if (t - now > skew) {
        sigv4_diag_str(diag, "Signature not yet current: ");
        sigv4_diag_time(diag, t);
        sigv4_diag_str(diag, " is still later than ");
        sigv4_diag_time(diag, now + skew);
        sigv4_diag_str(diag, " (");
        sigv4_diag_time(diag, now);
        sigv4_diag_str(diag, " + 15 min.)");
        BAIL(ERR_AUTH_EXPIRED);
    }
    if (auth->form == SIGV4_FORM_PRESIGNED) {
        if (now - t > auth->expires) {
            sigv4_diag_str(diag, "Request has expired");
            BAIL(ERR_AUTH_EXPIRED);
        }
        CORE_OK;
    }
    /* "Signature expired: 20160609T184512Z is now earlier than 20160610T013008Z
     *  (20160610T014508Z - 15 min.)" */
    if (now - t > skew) {
        sigv4_diag_str(diag, "Signature expired: ");
        sigv4_diag_time(diag, t);
        sigv4_diag_str(diag, " is now earlier than ");
        sigv4_diag_time(diag, now - skew);
        sigv4_diag_str(diag, " (");
        sigv4_diag_time(diag, now);
        sigv4_diag_str(diag, " - 15 min.)");
        BAIL(ERR_AUTH_EXPIRED);
    }
    CORE_OK;
}

core_result sigv4_parse(const struct sigv4_request *req, struct sigv4_auth *auth, struct sigv4_diag *diag)
{
    GUARD(sigv4_parse_authorization(req, auth, diag));
    return sigv4_check_time(req, auth, diag);
}

static int unhex(uint8_t c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

core_result sigv4_auth_security_token(const struct sigv4_auth *auth, struct core_buf *out)
{
    struct core_cursor t = auth->security_token;
    if (auth->form == SIGV4_FORM_HEADER) {
        ENSURE(t.len <= CORE_MAX_SESSION_TOKEN_BYTES, ERR_LIMIT);
        return core_buf_append_cursor(out, t);
    }
    size_t start = out->len;
    for (size_t i = 0; i < t.len; i++) {
        uint8_t c = t.ptr[i];
        int hi, lo;
        if (c == '%' && t.len - i >= 3 && (hi = unhex(t.ptr[i + 1])) >= 0 &&
            (lo = unhex(t.ptr[i + 2])) >= 0) {
            c = (uint8_t)(hi << 4 | lo);
            i += 2;
        }
        ENSURE(out->len - start < CORE_MAX_SESSION_TOKEN_BYTES, ERR_LIMIT);
        GUARD(core_buf_append_u8(out, c));
    }
    CORE_OK;
}
