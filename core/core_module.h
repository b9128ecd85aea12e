#ifndef CORE_MODULE_H
#define CORE_MODULE_H

/*
 * kmsd's loadable modules: the code that needs a large library only some
 * deployments use (libxml2 and libxmlsec1 for SAML, libcurl for etcd) is
 * built as a shared object of its own and loaded on first use, so an idle
 * kmsd that uses neither never maps those libraries (docs/architecture.md,
 * "Loadable modules"; docs/performance.md, "Idle RSS").
 *
 * A module is looked for only in one directory, named relative to the
 * running executable (/proc/self/exe): CORE_MODULE_RELDIR, fixed at build
 * time ("../lib/kmsd"). That is <build>/lib/kmsd for every executable of a
 * build tree (<build>/server/kmsd, <build>/tools/kmsctl, <build>/tests/...)
 * and <prefix>/lib/kmsd for an installed <prefix>/bin/kmsd. No search path,
 * no environment variable: what is loaded is what was installed beside the
 * binary.
 */

#include "core/core_result.h"

#ifndef CORE_MODULE_RELDIR
#define CORE_MODULE_RELDIR "../lib/kmsd"
#endif

/**
 * Loads module file (e.g. "kmsd-saml.so") from the module directory, once
 * per process (modules are never unloaded), and returns its symbol.
 * @param[in] file the module's file name, no directory.
 * @param[in] symbol the exported function or object to return.
 * @param[out] out the symbol's address, valid for the process's lifetime.
 * Errors: ERR_IO (not installed, not loadable, or without symbol; the reason,
 * with the path tried, is logged once per call).
 */
CORE_RESULT core_module_symbol(const char *file, const char *symbol, void **out);

/** The directory modules are loaded from (absolute, no trailing /), for messages. Errors: ERR_IO, ERR_LIMIT. */
CORE_RESULT core_module_dir(char *out, size_t cap);

#endif
