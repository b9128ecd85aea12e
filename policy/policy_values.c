#include "policy/policy_compiled.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdlib.h>

/*
 * Value parsers for the typed condition operators. Policy values go through
 * them once at compile time; request values at evaluation time, so they
 * work on cursors, never allocate, and reject rather than guess.
 */

bool pol_parse_number(struct core_cursor s, double *out)
{
    /* [+-]digits[.digits][(e|E)[+-]digits]; strtod on a bounded copy, after
     * checking the grammar so "inf", "nan" and hex floats are refused. */
    char buf[64];
    if (s.len == 0 || s.len >= sizeof buf) return false;
    size_t i = 0, digits = 0;
    if (s.ptr[i] == '+' || s.ptr[i] == '-') i++;
    while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') i++, digits++;
    if (i < s.len && s.ptr[i] == '.') {
        i++;
        while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') i++, digits++;
    }
    if (digits == 0) return false;
    if (i < s.len && (s.ptr[i] == 'e' || s.ptr[i] == 'E')) {
        i++;
        if (i < s.len && (s.ptr[i] == '+' || s.ptr[i] == '-')) i++;
        size_t e = 0;
        while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') i++, e++;
        if (e == 0) return false;
    }
    if (i != s.len) return false;
    memcpy(buf, s.ptr, s.len);
    buf[s.len] = '\0';
    char *end = NULL;
    double v = strtod(buf, &end);
    if (end != buf + s.len || !isfinite(v)) return false;
    *out = v;
    return true;
}

static bool read_digits(struct core_cursor s, size_t at, size_t n, int *v)
{
    if (at + n > s.len) return false;
    int acc = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s.ptr[at + i];
        if (c < '0' || c > '9') return false;
        acc = acc * 10 + (c - '0');
    }
    *v = acc;
    return true;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* Howard Hinnant's days_from_civil: exact for the proleptic Gregorian
     * calendar. */
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/*
 * W3C profile of ISO 8601, which IAM accepts for Date conditions:
 * YYYY-MM-DD, YYYY-MM-DDThh:mm, ...:ss, ...:ss.fff, then Z or +hh:mm/-hh:mm
 * (no zone = UTC). Also a plain epoch in seconds (aws:EpochTime), possibly
 * negative or with a fraction.
 */
bool pol_parse_date(struct core_cursor s, int64_t *ms)
{
    if (s.len == 0) return false;
    bool epoch = true;
    for (size_t i = 0; i < s.len; i++) {
        uint8_t c = s.ptr[i];
        if (!((c >= '0' && c <= '9') || c == '.' || (i == 0 && c == '-'))) {
            epoch = false;
            break;
        }
    }
    if (epoch) {
        double v;
        if (!pol_parse_number(s, &v)) return false;
        if (v > 253402300799.0 || v < -62135596800.0) return false; /* years 1..9999 */
        *ms = (int64_t)(v * 1000.0);
        return true;
    }
    int Y, M, D, h = 0, mi = 0, sec = 0, frac_ms = 0;
    if (!read_digits(s, 0, 4, &Y) || s.len < 10 || s.ptr[4] != '-' || !read_digits(s, 5, 2, &M) ||
        s.ptr[7] != '-' || !read_digits(s, 8, 2, &D))
        return false;
    size_t i = 10;
    if (i < s.len && (s.ptr[i] == 'T' || s.ptr[i] == 't')) {
        if (!read_digits(s, 11, 2, &h) || s.len < 16 || s.ptr[13] != ':' || !read_digits(s, 14, 2, &mi))
            return false;
        i = 16;
        if (i < s.len && s.ptr[i] == ':') {
            if (!read_digits(s, 17, 2, &sec)) return false;
            i = 19;
            if (i < s.len && s.ptr[i] == '.') {
                i++;
                size_t start = i;
                int scale = 100;
                while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') {
                    frac_ms += (s.ptr[i] - '0') * scale;
                    scale /= 10;
                    i++;
                }
                if (i == start) return false;
            }
        }
    }
    int64_t offset_s = 0;
    if (i < s.len) {
        if ((s.ptr[i] == 'Z' || s.ptr[i] == 'z') && i + 1 == s.len) {
            i++;
        } else if ((s.ptr[i] == '+' || s.ptr[i] == '-') && s.len - i == 6 && s.ptr[i + 3] == ':') {
            int oh, om;
            if (!read_digits(s, i + 1, 2, &oh) || !read_digits(s, i + 4, 2, &om) || oh > 23 || om > 59)
                return false;
            offset_s = (int64_t)(oh * 3600 + om * 60) * (s.ptr[i] == '+' ? 1 : -1);
            i = s.len;
        } else {
            return false;
        }
    }
    if (i != s.len) return false;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (M < 1 || M > 12 || D < 1 || h > 23 || mi > 59 || sec > 60) return false;
    if (D > mdays[M - 1] + (M == 2 && leap(Y) ? 1 : 0)) return false;
    int64_t days = days_from_civil(Y, (unsigned)M, (unsigned)D);
    int64_t t = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
    *ms = t * 1000 + frac_ms;
    return true;
}

bool pol_parse_ip(struct core_cursor s, bool allow_prefix, struct pol_ip *out)
{
    char buf[64];
    if (s.len == 0 || s.len >= sizeof buf) return false;
    memcpy(buf, s.ptr, s.len);
    buf[s.len] = '\0';
    char *slash = memchr(buf, '/', s.len);
    int prefix = -1;
    if (slash != NULL) {
        if (!allow_prefix) return false;
        *slash = '\0';
        uint64_t p;
        struct core_cursor pc = core_cursor_str(slash + 1);
        if (!core_ok(core_cursor_to_u64(pc, 128, &p))) return false;
        prefix = (int)p;
    }
    *out = (struct pol_ip){0};
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = 4;
        if (prefix > 32) return false;
        out->prefix = (uint8_t)(prefix < 0 ? 32 : prefix);
        return true;
    }
    if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = 6;
        out->prefix = (uint8_t)(prefix < 0 ? 128 : prefix);
        return true;
    }
    return false;
}

bool pol_ip_in(const struct pol_ip *net, const struct pol_ip *addr)
{
    const uint8_t *a = addr->addr;
    uint8_t mapped[4];
    if (net->family == 4 && addr->family == 6) {
        /* ::ffff:a.b.c.d is the IPv4 address a.b.c.d. */
        static const uint8_t v4map[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        for (size_t i = 0; i < 12; i++)
            if (addr->addr[i] != v4map[i]) return false;
        memcpy(mapped, addr->addr + 12, 4);
        a = mapped;
    } else if (net->family != addr->family) {
        return false;
    }
    unsigned bits = net->prefix;
    for (size_t i = 0; bits > 0; i++) {
        uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
        if ((net->addr[i] & mask) != (a[i] & mask)) return false;
        bits = bits >= 8 ? bits - 8 : 0;
    }
    return true;
}

static int b64val(uint8_t c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

bool pol_base64_decode(struct core_cursor in, uint8_t *out, size_t cap, size_t *outlen)
{
    if (in.len % 4 != 0) return false;
    size_t o = 0;
    for (size_t i = 0; i < in.len; i += 4) {
        int v[4];
        size_t pad = 0;
        for (size_t j = 0; j < 4; j++) {
            uint8_t c = in.ptr[i + j];
            if (c == '=' && i + 4 == in.len && j >= 2) {
                v[j] = 0;
                pad++;
                continue;
            }
            if (pad) return false; /* data after '=' */
            v[j] = b64val(c);
            if (v[j] < 0) return false;
        }
        uint32_t w = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) | (uint32_t)v[3];
        size_t take = 3 - pad;
        if (o + take > cap) return false;
        out[o++] = (uint8_t)(w >> 16);
        if (take > 1) out[o++] = (uint8_t)(w >> 8);
        if (take > 2) out[o++] = (uint8_t)w;
    }
    *outlen = o;
    return true;
}
