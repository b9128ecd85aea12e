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

/*
 * Both formats run several times per request (SigV4's scope check and
 * string to sign, aws:CurrentTime): the civil date comes from the day count
 * (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms",
 * days_from_civil's inverse) instead of gmtime_r and strftime. Times before
 * 1970 or after 9999 keep the libc path.
 */
#define CORE_TIME_FAST_MAX 253402300799LL /* 9999-12-31T23:59:59Z */

static void put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

static void civil(int64_t t, char *year4, char *mon2, char *day2, char *h2, char *mi2, char *s2)
{
    int64_t days = t / 86400, secs = t % 86400;
    int64_t z = days + 719468;
    int64_t era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    unsigned y = (unsigned)(yoe + era * 400 + (m <= 2));
    put2(year4, y / 100);
    put2(year4 + 2, y % 100);
    put2(mon2, m);
    put2(day2, d);
    put2(h2, (unsigned)(secs / 3600));
    put2(mi2, (unsigned)(secs / 60 % 60));
    put2(s2, (unsigned)(secs % 60));
}

void core_time_iso8601(int64_t t, char out[32])
{
    if (t >= 0 && t <= CORE_TIME_FAST_MAX) {
        /* YYYY-MM-DDTHH:MM:SSZ */
        memcpy(out, "0000-00-00T00:00:00Z", 21);
        civil(t, out, out + 5, out + 8, out + 11, out + 14, out + 17);
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void core_time_amz(int64_t t, char out[32])
{
    /* A request's time is printed twice (the scope check, the string to sign), and consecutive
     * requests mostly carry the same second: the thread's last answer is kept (issue 14). */
    static _Thread_local int64_t memo_t = -1;
    static _Thread_local char memo[17];
    if (t >= 0 && t <= CORE_TIME_FAST_MAX) {
        if (t != memo_t) {
            /* YYYYMMDDTHHMMSSZ */
            memcpy(memo, "00000000T000000Z", 17);
            civil(t, memo, memo + 4, memo + 6, memo + 9, memo + 11, memo + 13);
            memo_t = t;
        }
        memcpy(out, memo, 17);
        return;
    }
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
