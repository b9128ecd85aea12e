#include "core/core_module.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/core_log.h"

core_result core_module_dir(char *out, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    ENSURE(n > 0 && (size_t)n < sizeof exe - 1, ERR_IO);
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    ENSURE(slash != NULL && exe[0] == '/', ERR_IO);
    *slash = 0;
    int w = snprintf(out, cap, "%s/%s", exe, CORE_MODULE_RELDIR);
    ENSURE(w > 0 && (size_t)w < cap, ERR_LIMIT);
    CORE_OK;
}

core_result core_module_symbol(const char *file, const char *symbol, void **out)
{
    *out = NULL;
    ENSURE(strchr(file, '/') == NULL, ERR_INVALID_ARG);
    char dir[PATH_MAX], path[PATH_MAX + 64];
    GUARD(core_module_dir(dir, sizeof dir));
    int w = snprintf(path, sizeof path, "%s/%s", dir, file);
    ENSURE(w > 0 && (size_t)w < sizeof path, ERR_LIMIT);
    /* RTLD_NOW: a module missing a symbol fails here, not mid-request;
     * RTLD_LOCAL: its libraries' symbols stay out of the global scope. */
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        const char *e = dlerror();
        core_log(CORE_LOG_ERROR, "cannot load module %s: %s", path, e ? e : "unknown error");
        BAIL(ERR_IO);
    }
    dlerror();
    void *sym = dlsym(h, symbol);
    if (sym == NULL) {
        core_log(CORE_LOG_ERROR, "module %s has no symbol %s", path, symbol);
        BAIL(ERR_IO);
    }
    *out = sym;
    CORE_OK;
}
