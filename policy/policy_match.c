#include "policy/policy_compiled.h"

/*
 * Wildcard matching over compiled patterns, with policy variables resolved
 * per request.
 *
 * "You can use wildcard characters (* and ?) within any ARN segment (the
 * parts separated by colons)" and "a wildcard cannot span segments" -- IAM
 * User Guide, "IAM JSON policy elements: Resource". Action and string
 * patterns are matched as one string.
 */

#define RESOLVE_STACK_UNITS 1024u

bool pol_glob(const uint16_t *p, size_t pn, struct core_cursor s, bool icase)
{
    /* Iterative glob with one backtrack point (the last '*'): O(pn * sn)
     * worst case, no recursion, no allocation. */
    size_t pi = 0, si = 0, star = SIZE_MAX, mark = 0;
    while (si < s.len) {
        if (pi < pn && p[pi] == PU_STAR) {
            star = pi++;
            mark = si;
            continue;
        }
        if (pi < pn) {
            uint16_t u = p[pi];
            uint8_t c = icase ? pol_lower(s.ptr[si]) : s.ptr[si];
            if (u == PU_QMARK) {
                /* "?" is one character, not one byte (issue 16 item 10). */
                pi++;
                si += pol_utf8_next(s.ptr + si, s.len - si);
                continue;
            }
            if (u == c) {
                pi++;
                si++;
                continue;
            }
        }
        if (star != SIZE_MAX) {
            /* "*" also gives back whole characters, so a later "?" never
             * starts inside one. */
            pi = star + 1;
            mark += pol_utf8_next(s.ptr + mark, s.len - mark);
            si = mark;
            continue;
        }
        return false;
    }
    while (pi < pn && p[pi] == PU_STAR) pi++;
    return pi == pn;
}

/* Writes src as literal units; returns how many. ufold needs
 * POL_FOLD_MAX(src.len) units of room. */
static size_t put_literal(uint16_t *dst, struct core_cursor src, bool icase, bool ufold)
{
    if (ufold) {
        size_t o = 0;
        for (size_t i = 0; i < src.len;) {
            uint8_t tmp[16];
            size_t len = pol_utf8_next(src.ptr + i, src.len - i);
            size_t m = pol_fold_utf8(core_cursor_from(src.ptr + i, len), tmp);
            for (size_t k = 0; k < m; k++) dst[o++] = tmp[k];
            i += len;
        }
        return o;
    }
    for (size_t i = 0; i < src.len; i++) dst[i] = icase ? pol_lower(src.ptr[i]) : src.ptr[i];
    return src.len;
}

core_result pol_resolve(const struct pol_pattern *pat, const struct policy_ctx *ctx, uint16_t *stack_buf,
                        size_t stack_cap, struct core_buf *heap, const uint16_t **units, size_t *n,
                        bool *resolved)
{
    *resolved = true;
    if (!pat->has_vars) {
        *units = pat->units;
        *n = pat->n;
        CORE_OK;
    }
    /* Pass 1: values and total length. A variable whose key is missing and
     * which has no default makes the comparison fail ("If there is no
     * value... the policy doesn't match" -- IAM User Guide, policy
     * variables). A multivalued key cannot be substituted either. */
    size_t total = 0;
    for (size_t i = 0; i < pat->npieces; i++) {
        const struct pol_piece *pc = &pat->pieces[i];
        if (pc->kind == PIECE_LIT) {
            total += pc->n;
            continue;
        }
        const struct core_cursor *vals;
        int cnt = pol_ctx_lookup(ctx, pc->key, pc->hash, &vals);
        if (cnt == 1) {
            total += pat->ufold ? POL_FOLD_MAX(vals[0].len) : vals[0].len;
        } else if (pc->has_def) {
            total += pat->ufold ? POL_FOLD_MAX(pc->def.len) : pc->def.len;
        } else {
            *resolved = false;
            CORE_OK;
        }
    }
    uint16_t *dst = stack_buf;
    if (total > stack_cap) {
        ENSURE(total <= SIZE_MAX / 2, ERR_LIMIT);
        GUARD(core_buf_init(heap, total * sizeof(uint16_t), total * sizeof(uint16_t)));
        dst = (uint16_t *)(void *)heap->data;
    }
    size_t o = 0;
    for (size_t i = 0; i < pat->npieces; i++) {
        const struct pol_piece *pc = &pat->pieces[i];
        if (pc->kind == PIECE_LIT) {
            if (pc->n) memcpy(dst + o, pc->units, pc->n * sizeof(uint16_t));
            o += pc->n;
            continue;
        }
        const struct core_cursor *vals;
        int cnt = pol_ctx_lookup(ctx, pc->key, pc->hash, &vals);
        struct core_cursor v = cnt == 1 ? vals[0] : pc->def;
        /* Substituted values are literal text: a '*' in a user name is not
         * a wildcard. */
        o += put_literal(dst + o, v, pat->icase, pat->ufold);
    }
    *units = dst;
    *n = o;
    CORE_OK;
}

static bool units_eq(const uint16_t *p, size_t pn, struct core_cursor s, bool icase)
{
    if (pn != s.len) return false;
    for (size_t i = 0; i < pn; i++) {
        uint8_t c = icase ? pol_lower(s.ptr[i]) : s.ptr[i];
        if (p[i] != c) return false;
    }
    return true;
}

static bool match_flat(const uint16_t *p, size_t pn, struct core_cursor s, bool wild, bool icase)
{
    return wild ? pol_glob(p, pn, s, icase) : units_eq(p, pn, s, icase);
}

core_result pol_match_string(const struct pol_pattern *pat, const struct policy_ctx *ctx, struct core_cursor s,
                             bool *match, bool *resolved)
{
    *match = false;
    if (pat->any) {
        *resolved = true;
        *match = true;
        CORE_OK;
    }
    uint16_t stack_buf[RESOLVE_STACK_UNITS];
    DEFER_CLEANUP(struct core_buf heap, core_buf_cleanup) = {0};
    const uint16_t *u;
    size_t n;
    GUARD(pol_resolve(pat, ctx, stack_buf, RESOLVE_STACK_UNITS, &heap, &u, &n, resolved));
    if (!*resolved) CORE_OK;
    if (pat->ufold) {
        /* IgnoreCase: the pattern was folded when compiled (or resolved);
         * fold the request value the same way, then compare bytes. */
        uint8_t fold_stack[1024];
        DEFER_CLEANUP(struct core_buf fold_heap, core_buf_cleanup) = {0};
        uint8_t *fb = fold_stack;
        ENSURE(s.len <= SIZE_MAX / 2, ERR_LIMIT);
        if (POL_FOLD_MAX(s.len) > sizeof fold_stack) {
            GUARD(core_buf_init(&fold_heap, POL_FOLD_MAX(s.len), POL_FOLD_MAX(s.len)));
            fb = fold_heap.data;
        }
        size_t fn = pol_fold_utf8(s, fb);
        *match = match_flat(u, n, core_cursor_from(fb, fn), pat->has_wild, false);
        CORE_OK;
    }
    *match = match_flat(u, n, s, pat->has_wild, pat->icase);
    CORE_OK;
}

/* Splits units at the first five literal ':' into six fields; false when
 * there are fewer. */
static bool split_units(const uint16_t *p, size_t pn, size_t start[6], size_t len[6])
{
    size_t f = 0, from = 0;
    for (size_t i = 0; i < pn && f < 5; i++) {
        if (p[i] == ':') {
            start[f] = from;
            len[f] = i - from;
            f++;
            from = i + 1;
        }
    }
    if (f < 5) return false;
    start[5] = from;
    len[5] = pn - from;
    return true;
}

static bool split_subject(struct core_cursor s, struct core_cursor out[6])
{
    struct core_cursor c = s;
    for (size_t i = 0; i < 5; i++) {
        if (!core_cursor_split(&c, ':', &out[i]) || c.ptr == NULL) return false;
    }
    out[5] = c;
    return true;
}

core_result pol_match_arn(const struct pol_pattern *pat, const struct policy_ctx *ctx, struct core_cursor s,
                          bool *match, bool *resolved)
{
    *match = false;
    if (pat->any) {
        *resolved = true;
        *match = true;
        CORE_OK;
    }
    uint16_t stack_buf[RESOLVE_STACK_UNITS];
    DEFER_CLEANUP(struct core_buf heap, core_buf_cleanup) = {0};
    const uint16_t *u;
    size_t n;
    GUARD(pol_resolve(pat, ctx, stack_buf, RESOLVE_STACK_UNITS, &heap, &u, &n, resolved));
    if (!*resolved) CORE_OK;
    size_t ps[6], pl[6];
    if (!split_units(u, n, ps, pl)) {
        /* Fewer than six fields ("*" is handled above): no field can
         * stretch over a colon, so a wildcard pattern such as
         * "arn:aws:kms:*" matches no full ARN; only an exact string does. */
        *match = units_eq(u, n, s, pat->icase);
        CORE_OK;
    }
    struct core_cursor f[6];
    if (!split_subject(s, f)) CORE_OK;
    for (size_t i = 0; i < 6; i++) {
        if (!match_flat(u + ps[i], pl[i], f[i], pat->has_wild, pat->icase)) CORE_OK;
    }
    *match = true;
    CORE_OK;
}
