/*
 * The module loader (core/core_module.h): the directory is ../lib/kmsd beside
 * this executable (the build tree's <build>/lib/kmsd, where every module of
 * the build lands), a built module and its symbol are found, and a missing
 * module, a missing symbol or a name with a directory are errors, not crashes.
 */
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "core/core_module.h"
#include "tests/test.h"

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    char dir[PATH_MAX], exe[PATH_MAX];
    EXPECT_OK(core_module_dir(dir, sizeof dir));
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    EXPECT_TRUE(n > 0);
    exe[n] = 0;
    *strrchr(exe, '/') = 0;
    EXPECT_TRUE(strncmp(dir, exe, strlen(exe)) == 0);
    EXPECT_STR_EQ(dir + strlen(exe), "/../lib/kmsd");
    EXPECT_ERR(core_module_dir(dir, 8), ERR_LIMIT);

    void *sym = NULL;
    EXPECT_OK(core_module_symbol("kmsd-etcd.so", "ks_http_module_v1", &sym));
    EXPECT_TRUE(sym != NULL);
    void *again = NULL;
    EXPECT_OK(core_module_symbol("kmsd-etcd.so", "ks_http_module_v1", &again));
    EXPECT_TRUE(again == sym);
    /* internal names are hidden: only the one export is visible */
    EXPECT_ERR(core_module_symbol("kmsd-etcd.so", "post", &sym), ERR_IO);
    EXPECT_TRUE(sym == NULL);
    EXPECT_ERR(core_module_symbol("kmsd-nonexistent.so", "x", &sym), ERR_IO);
    EXPECT_ERR(core_module_symbol("../lib/kmsd/kmsd-etcd.so", "ks_http_module_v1", &sym), ERR_INVALID_ARG);
    EXPECT_ERR(core_module_symbol("/tmp/kmsd-etcd.so", "ks_http_module_v1", &sym), ERR_INVALID_ARG);
    TEST_MAIN_END();
}
