/*
 * The store options kmsd and kmsctl share (keystore/keystore_args.c): what
 * each takes, what each refuses, and the etcd password's handling (never from
 * argv; an environment variable wiped in place and unset once read; a file
 * with one trailing newline dropped; overlong and empty refused).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keystore/keystore.h"
#include "tests/test.h"

static int arg(struct keystore_store_args *a, const char *opt, const char *val)
{
    return keystore_store_arg(a, "keystore_args_test", opt, val);
}

static bool valid(const struct keystore_store_args *a) { return keystore_store_args_valid(a, "keystore_args_test"); }

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);

    /* Taken, not taken, refused. */
    struct keystore_store_args a = {0};
    EXPECT_TRUE(arg(&a, "--store", "etcd://127.0.0.1:2379,127.0.0.1:2380") == 1);
    EXPECT_STR_EQ(a.store, "etcd://127.0.0.1:2379,127.0.0.1:2380");
    EXPECT_TRUE(arg(&a, "--store", "lmdb") == 1);
    EXPECT_TRUE(arg(&a, "--store", "redis://x") == -1);
    EXPECT_TRUE(arg(&a, "--store", "") == -1);
    EXPECT_TRUE(arg(&a, "--store", NULL) == -1);
    EXPECT_TRUE(arg(&a, "--data-dir", "x") == 0);
    EXPECT_TRUE(arg(&a, "--etcd-prefix", "a/b") == -1);
    char longp[200];
    memset(longp, 'p', sizeof longp - 1);
    longp[sizeof longp - 1] = 0;
    EXPECT_TRUE(arg(&a, "--etcd-prefix", longp) == -1);
    longp[128] = 0;
    EXPECT_TRUE(arg(&a, "--etcd-prefix", longp) == 1);
    char longpath[2000];
    memset(longpath, 'f', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = 0;
    EXPECT_TRUE(arg(&a, "--etcd-cacert", longpath) == -1); /* over the field: refused, not cut */
    /* The password itself is never an option. */
    EXPECT_TRUE(arg(&a, "--etcd-password", "hunter2") == -1);

    /* Combinations. */
    struct keystore_store_args b = {0};
    EXPECT_TRUE(valid(&b));
    EXPECT_TRUE(arg(&b, "--etcd-prefix", "p") == 1);
    EXPECT_TRUE(!valid(&b)); /* etcd options without an etcd store */
    EXPECT_TRUE(arg(&b, "--store", "etcd://h:1") == 1);
    EXPECT_TRUE(valid(&b));
    EXPECT_TRUE(arg(&b, "--etcd-cert", "c.pem") == 1);
    EXPECT_TRUE(!valid(&b)); /* a certificate without its key */
    EXPECT_TRUE(arg(&b, "--etcd-key", "k.pem") == 1);
    EXPECT_TRUE(valid(&b));
    EXPECT_TRUE(arg(&b, "--etcd-user", "kmsd") == 1);
    EXPECT_TRUE(!valid(&b)); /* a user without a password source */
    EXPECT_TRUE(arg(&b, "--etcd-password-env", "PW") == 1);
    EXPECT_TRUE(valid(&b));
    EXPECT_TRUE(arg(&b, "--etcd-password-file", "pw") == 1);
    EXPECT_TRUE(!valid(&b)); /* two sources */

    /* The options reach keystore_options; the password from the environment is wiped and unset. */
    static char var[] = "KS_ARGS_TEST_PW=s3cret-etcd-password";
    EXPECT_TRUE(putenv(var) == 0);
    struct keystore_store_args c = {0};
    EXPECT_TRUE(arg(&c, "--store", "etcd://h:1") == 1);
    EXPECT_TRUE(arg(&c, "--etcd-user", "kmsd") == 1);
    EXPECT_TRUE(arg(&c, "--etcd-password-env", "KS_ARGS_TEST_PW") == 1);
    struct keystore_options o = {0};
    struct core_buf pass = {0};
    EXPECT_OK(keystore_store_options(&c, "keystore_args_test", &o, &pass));
    EXPECT_STR_EQ(o.store, "etcd://h:1");
    EXPECT_STR_EQ(o.etcd_user, "kmsd");
    EXPECT_TRUE(o.etcd_prefix == NULL && o.etcd_cacert == NULL);
    EXPECT_TRUE(core_cursor_eq_str(o.etcd_password, "s3cret-etcd-password"));
    EXPECT_TRUE(pass.secret);
    EXPECT_TRUE(getenv("KS_ARGS_TEST_PW") == NULL);
    bool wiped = true;
    for (size_t i = strlen("KS_ARGS_TEST_PW="); i < sizeof var - 1; i++) wiped &= var[i] == 0;
    EXPECT_TRUE(wiped);
    core_buf_free(&pass);
    /* Read once: a second open finds the variable gone. */
    EXPECT_ERR(keystore_store_options(&c, "keystore_args_test", &o, &pass), ERR_INVALID_ARG);
    core_buf_free(&pass);

    /* From a file: one trailing newline dropped; empty and overlong refused. */
    char path[] = "/tmp/keystore_args_test_XXXXXX";
    int fd = mkstemp(path);
    EXPECT_TRUE(fd >= 0);
    EXPECT_TRUE(write(fd, "from-a-file\r\n", 13) == 13);
    close(fd);
    EXPECT_OK(keystore_read_secret("t", NULL, path, 64, &pass));
    EXPECT_TRUE(core_cursor_eq_str(core_buf_cursor(&pass), "from-a-file"));
    core_buf_free(&pass);
    EXPECT_ERR(keystore_read_secret("t", NULL, path, 8, &pass), ERR_LIMIT);
    core_buf_free(&pass);
    FILE *f = fopen(path, "w");
    EXPECT_TRUE(f != NULL);
    fputs("\n", f);
    fclose(f);
    EXPECT_ERR(keystore_read_secret("t", NULL, path, 64, &pass), ERR_INVALID_ARG);
    core_buf_free(&pass);
    unlink(path);
    EXPECT_ERR(keystore_read_secret("t", NULL, path, 64, &pass), ERR_IO);
    core_buf_free(&pass);

    TEST_MAIN_END();
}
