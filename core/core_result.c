#include "core/core_result.h"

#include <stdio.h>

static const char *const err_names[] = {
#define X(name, desc) #name,
#include "core/core_errors.def"
#undef X
};
static const char *const err_descs[] = {
#define X(name, desc) desc,
#include "core/core_errors.def"
#undef X
};

static _Thread_local char fail_site[96];

const char *core_err_name(enum core_err err)
{
    return (unsigned)err < CORE_ERR_COUNT ? err_names[err] : "ERR_UNKNOWN";
}

const char *core_err_desc(enum core_err err)
{
    return (unsigned)err < CORE_ERR_COUNT ? err_descs[err] : "unknown error";
}

core_result core_result_fail_at(enum core_err err, const char *file, int line)
{
    const char *base = file;
    for (const char *p = file; *p; p++)
        if (*p == '/') base = p + 1;
    snprintf(fail_site, sizeof fail_site, "%s:%d", base, line);
    return (core_result){err};
}

const char *core_result_site(void) { return fail_site; }
