#include "core/core_clock.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static _Atomic int64_t clock_offset;

int64_t core_clock_real(void) { return (int64_t)time(NULL); }

int64_t core_clock_real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t core_clock_service(void) { return core_clock_real() + atomic_load(&clock_offset); }

int64_t core_clock_service_ms(void) { return core_clock_real_ms() + atomic_load(&clock_offset) * 1000; }

void core_clock_set_offset(int64_t seconds) { atomic_store(&clock_offset, seconds); }

int64_t core_clock_offset(void) { return atomic_load(&clock_offset); }

uint64_t core_clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void core_time_iso8601(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void core_time_amz(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y%m%dT%H%M%SZ", &tm);
}

static int digits(const char *s, size_t n, int *v)
{
    int acc = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        acc = acc * 10 + (s[i] - '0');
    }
    *v = acc;
    return 0;
}

static int64_t days_from_civil(int y, unsigned m, unsigned d)
{
    /* Howard Hinnant's algorithm; exact for the proleptic Gregorian calendar. */
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int64_t)era * 146097 + (int64_t)doe - 719468;
}

static core_result make_time(int Y, int M, int D, int h, int m, int s, int64_t *t)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    ENSURE(Y >= 1970 && Y <= 9999 && M >= 1 && M <= 12 && D >= 1 && D <= mdays[M - 1], ERR_PARSE);
    ENSURE(h <= 23 && m <= 59 && s <= 60, ERR_PARSE);
    bool leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    ENSURE(!(M == 2 && D == 29 && !leap), ERR_PARSE);
    *t = days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + m * 60 + s;
    CORE_OK;
}

core_result core_time_parse_amz(const char *s, size_t len, int64_t *t)
{
    int Y, M, D, h, m, sec;
    ENSURE(len == 16 && s[8] == 'T' && s[15] == 'Z', ERR_PARSE);
    ENSURE(digits(s, 4, &Y) == 0 && digits(s + 4, 2, &M) == 0 && digits(s + 6, 2, &D) == 0 &&
               digits(s + 9, 2, &h) == 0 && digits(s + 11, 2, &m) == 0 && digits(s + 13, 2, &sec) == 0,
           ERR_PARSE);
    return make_time(Y, M, D, h, m, sec, t);
}

core_result core_time_parse_iso8601(const char *s, size_t len, int64_t *t)
{
    int Y, M, D, h, m, sec;
    ENSURE(len >= 20 && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == 't') && s[13] == ':' &&
               s[16] == ':',
           ERR_PARSE);
    ENSURE(digits(s, 4, &Y) == 0 && digits(s + 5, 2, &M) == 0 && digits(s + 8, 2, &D) == 0 &&
               digits(s + 11, 2, &h) == 0 && digits(s + 14, 2, &m) == 0 && digits(s + 17, 2, &sec) == 0,
           ERR_PARSE);
    size_t i = 19;
    if (i < len && s[i] == '.') {
        i++;
        size_t start = i;
        while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 9) i++;
        ENSURE(i > start, ERR_PARSE);
    }
    ENSURE((len - i == 1 && (s[i] == 'Z' || s[i] == 'z')) || (len - i == 6 && strncmp(s + i, "+00:00", 6) == 0),
           ERR_PARSE);
    return make_time(Y, M, D, h, m, sec, t);
}
