#ifndef CORE_LOG_H
#define CORE_LOG_H

/*
 * Diagnostics to stderr, one line per call (a single write, so lines from
 * threads never interleave). Never pass key material, plaintexts, secrets or
 * signatures: these lines are for operators.
 */

enum core_log_level { CORE_LOG_DEBUG, CORE_LOG_INFO, CORE_LOG_WARN, CORE_LOG_ERROR };

void core_log_set_level(enum core_log_level lvl);
void core_log(enum core_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
