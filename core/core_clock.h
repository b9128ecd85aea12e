#ifndef CORE_CLOCK_H
#define CORE_CLOCK_H

/*
 * Two clocks. Real time is what clients sign with, so SigV4 skew checks use
 * it. Service time is real time plus an offset that an operator can shift
 * (--clock-offset, --clock-file), so key rotation, deletion windows and
 * credential expiry can be exercised without waiting a year.
 */

#include <stdint.h>

#include "core/core_result.h"

/** Seconds since the epoch, real. */
int64_t core_clock_real(void);
/** Milliseconds since the epoch, real. */
int64_t core_clock_real_ms(void);
/** Seconds since the epoch on the service clock (real + offset). */
int64_t core_clock_service(void);
int64_t core_clock_service_ms(void);
/** Sets the service clock offset in seconds (atomic; any thread). */
void core_clock_set_offset(int64_t seconds);
int64_t core_clock_offset(void);

/** Monotonic nanoseconds, for latency measurement only. */
uint64_t core_clock_mono_ns(void);

/** "2026-11-21T12:00:00Z" (21 bytes incl. NUL). */
void core_time_iso8601(int64_t t, char out[32]);
/** "20261121T120000Z" (17 bytes incl. NUL). */
void core_time_amz(int64_t t, char out[32]);
/** Parses "YYYYMMDDTHHMMSSZ". Errors: ERR_PARSE. */
CORE_RESULT core_time_parse_amz(const char *s, size_t len, int64_t *t);
/**
 * Parses ISO 8601 UTC: "YYYY-MM-DDTHH:MM:SS[.fff]Z" or with "+00:00".
 * Errors: ERR_PARSE.
 */
CORE_RESULT core_time_parse_iso8601(const char *s, size_t len, int64_t *t);

#endif
