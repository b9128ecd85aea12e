#include "core/core_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "core/core_clock.h"

static enum core_log_level min_level = CORE_LOG_INFO;

void core_log_set_level(enum core_log_level lvl) { min_level = lvl; }

void core_log(enum core_log_level lvl, const char *fmt, ...)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    if (lvl < min_level) return;
    char line[1024];
    char ts[32];
    core_time_iso8601(core_clock_real(), ts);
    int n = snprintf(line, sizeof line, "%s kmsd %s: ", ts, names[lvl]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : ((size_t)m < sizeof line - (size_t)n - 1 ? (size_t)m : sizeof line - (size_t)n - 2));
    /* Strip CR/LF so a value can never forge a log line. */
    for (size_t i = (size_t)n; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r') line[i] = ' ';
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
