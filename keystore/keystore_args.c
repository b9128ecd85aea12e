/*
 * The store options kmsd and kmsctl share (keystore.h, "struct
 * keystore_store_args"): one parser, so every tool that opens a keystore
 * reaches the same records as the server (docs/scale-out.md, "Options").
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keystore/keystore.h"

#define KS_MAX_ETCD_PASSWORD_BYTES 1024u

static bool copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) return false;
    memcpy(dst, src, n + 1);
    return true;
}

int keystore_store_arg(struct keystore_store_args *a, const char *who, const char *opt, const char *val)
{
    static const struct {
        const char *name;
        size_t off, cap;
    } rows[] = {
#define ROW(o, f) {o, offsetof(struct keystore_store_args, f), sizeof((struct keystore_store_args *)0)->f}
        ROW("--store", store),
        ROW("--etcd-prefix", etcd_prefix),
        ROW("--etcd-cacert", etcd_cacert),
        ROW("--etcd-cert", etcd_cert),
        ROW("--etcd-key", etcd_key),
        ROW("--etcd-user", etcd_user),
        ROW("--etcd-password-env", etcd_password_env),
        ROW("--etcd-password-file", etcd_password_file),
#undef ROW
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (strcmp(opt, rows[i].name) != 0) continue;
        bool ok = val != NULL && val[0] != 0;
        if (ok && i == 0) ok = !strcmp(val, "lmdb") || !strncmp(val, "etcd://", 7);
        if (ok && i == 1) ok = strchr(val, '/') == NULL && strlen(val) <= 128;
        if (ok) ok = copy((char *)a + rows[i].off, rows[i].cap, val);
        if (!ok) {
            fprintf(stderr, "%s: invalid value for %s%s\n", who, opt,
                    i == 0 ? " (lmdb, or etcd://HOST:PORT[,HOST:PORT...])" : "");
            return -1;
        }
        return 1;
    }
    if (!strcmp(opt, "--etcd-password")) {
        /* Refused by name, so the value never reaches a "bad option" message. */
        fprintf(stderr, "%s: the etcd password is taken from a file or the environment only "
                        "(--etcd-password-file F, --etcd-password-env VAR): argv is visible to ps\n", who);
        return -1;
    }
    return 0;
}

core_result keystore_read_secret(const char *who, const char *env, const char *file, size_t max, struct core_buf *out)
{
    GUARD(core_buf_init_secret(out, max));
    if (env) {
        char *v = getenv(env);
        if (v == NULL || !*v) {
            fprintf(stderr, "%s: environment variable %s is empty or unset\n", who, env);
            BAIL(ERR_INVALID_ARG);
        }
        size_t n = strlen(v);
        core_result r = core_buf_append(out, v, n);
        /* Wipe the bytes where they are, not only the pointer: the initial
         * environment is what /proc/PID/environ shows, and unsetenv alone
         * would leave the value there for the life of the process. */
        core_wipe(v, n);
        unsetenv(env);
        if (!core_ok(r)) fprintf(stderr, "%s: %s is longer than %zu bytes\n", who, env, max);
        return r;
    }
    ENSURE_REF(file);
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "%s: cannot open %s: %s\n", who, file, strerror(errno));
        BAIL(ERR_IO);
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && (st.st_mode & 077))
        fprintf(stderr, "%s: warning: %s is readable by group/other\n", who, file);
    ssize_t n;
    while ((n = read(fd, out->data + out->len, out->cap - out->len)) > 0) {
        out->len += (size_t)n;
        if (out->len >= out->cap) break;
    }
    uint8_t extra;
    bool longer = n > 0 && read(fd, &extra, 1) == 1;
    close(fd);
    ENSURE(n >= 0, ERR_IO);
    if (out->len && out->data[out->len - 1] == '\n') out->len--;
    if (out->len && out->data[out->len - 1] == '\r') out->len--;
    if (longer) {
        fprintf(stderr, "%s: %s is longer than %zu bytes\n", who, file, max);
        BAIL(ERR_LIMIT);
    }
    if (out->len == 0) {
        fprintf(stderr, "%s: %s is empty\n", who, file);
        BAIL(ERR_INVALID_ARG);
    }
    CORE_OK;
}

bool keystore_store_args_valid(const struct keystore_store_args *a, const char *who)
{
    bool etcd = !strncmp(a->store, "etcd://", 7);
    bool any_etcd = a->etcd_prefix[0] || a->etcd_cacert[0] || a->etcd_cert[0] || a->etcd_key[0] ||
                    a->etcd_user[0] || a->etcd_password_env[0] || a->etcd_password_file[0];
    if (any_etcd && !etcd) {
        fprintf(stderr, "%s: the --etcd-* options need --store etcd://HOST:PORT[,...]\n", who);
        return false;
    }
    if (!a->etcd_cert[0] != !a->etcd_key[0]) {
        fprintf(stderr, "%s: --etcd-cert and --etcd-key go together\n", who);
        return false;
    }
    unsigned sources = (a->etcd_password_env[0] != 0) + (a->etcd_password_file[0] != 0);
    if (a->etcd_user[0] ? sources != 1 : sources != 0) {
        fprintf(stderr, "%s: --etcd-user needs exactly one of --etcd-password-file, --etcd-password-env "
                        "(and they need --etcd-user)\n", who);
        return false;
    }
    return true;
}

core_result keystore_store_options(const struct keystore_store_args *a, const char *who, struct keystore_options *o,
                                   struct core_buf *pass)
{
    ENSURE(keystore_store_args_valid(a, who), ERR_INVALID_ARG);
    unsigned sources = (a->etcd_password_env[0] != 0) + (a->etcd_password_file[0] != 0);
    o->store = a->store[0] ? a->store : NULL;
    o->etcd_prefix = a->etcd_prefix[0] ? a->etcd_prefix : NULL;
    o->etcd_cacert = a->etcd_cacert[0] ? a->etcd_cacert : NULL;
    o->etcd_cert = a->etcd_cert[0] ? a->etcd_cert : NULL;
    o->etcd_key = a->etcd_key[0] ? a->etcd_key : NULL;
    o->etcd_user = a->etcd_user[0] ? a->etcd_user : NULL;
    o->etcd_password = core_cursor_from(NULL, 0);
    if (sources) {
        GUARD(keystore_read_secret(who, a->etcd_password_env[0] ? a->etcd_password_env : NULL,
                                   a->etcd_password_file, KS_MAX_ETCD_PASSWORD_BYTES, pass));
        o->etcd_password = core_buf_cursor(pass);
    }
    CORE_OK;
}
