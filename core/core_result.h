#ifndef CORE_RESULT_H
#define CORE_RESULT_H

/*
 * The must-use result type, after s2n-tls's utils/s2n_result.h. Every
 * fallible function returns CORE_RESULT; failures leave early through GUARD,
 * ENSURE, BAIL and ENSURE_REF, and BAIL records file:line thread-locally so
 * logs can say where a failure started.
 */

#include <stdbool.h>
#include <stddef.h>

enum core_err {
#define X(name, desc) name,
#include "core/core_errors.def"
#undef X
    CORE_ERR_COUNT
};

typedef struct {
    enum core_err err;
} core_result;

#define CORE_RESULT __attribute__((warn_unused_result)) core_result

/** Name of an error code ("ERR_NOT_FOUND"); never NULL. */
const char *core_err_name(enum core_err err);
/** Log-only description of an error code; never NULL. */
const char *core_err_desc(enum core_err err);

/** Records where the error of the current thread was raised. */
core_result core_result_fail_at(enum core_err err, const char *file, int line);
/** "file.c:123" of the last BAIL on this thread, or "". */
const char *core_result_site(void);

static inline core_result core_result_ok(void) { return (core_result){ERR_OK}; }
static inline bool core_ok(core_result r) { return r.err == ERR_OK; }
/* Explicitly drops a result: gcc ignores (void) casts on warn_unused_result. */
static inline void core_result_ignore(core_result r) { (void)r; }

#define CORE_OK return core_result_ok()
#define BAIL(e) return core_result_fail_at((e), __FILE__, __LINE__)
#define ENSURE(cond, e)                                                        \
    do {                                                                       \
        if (!(cond)) BAIL(e);                                                  \
    } while (0)
#define ENSURE_REF(p) ENSURE((p) != NULL, ERR_INVALID_ARG)
#define GUARD(call)                                                            \
    do {                                                                       \
        core_result guard_r_ = (call);                                         \
        if (!core_ok(guard_r_)) return guard_r_;                               \
    } while (0)
/* OpenSSL convention: 1 is success. */
#define GUARD_OSSL(call, e) ENSURE((call) == 1, (e))

/*
 * Scope-bound cleanup, after s2n's DEFER_CLEANUP. fn receives a pointer to
 * the variable. Hand ownership out by zeroing the local.
 */
#define DEFER_CLEANUP(decl, fn) __attribute__((cleanup(fn))) decl

#endif
