/*
 * kmsctl rekey: re-seals every keystore record under a new master key (see
 * docs/keystore.md, "Rekey"). kmsd must be stopped: the keystore refuses a
 * rekey while another process has it open.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "keystore/keystore.h"
#include "tools/kmsctl.h"

#define REKEY_MAX_PASSPHRASE_BYTES 1024u

static void usage(FILE *f)
{
    fprintf(f,
            "usage: kmsctl rekey --data-dir DIR [CURRENT] NEW\n"
            "\n"
            "Re-seals every record under a new master key in one transaction, then compacts the\n"
            "data file so that no value sealed under the old key is left in it. Stop kmsd first.\n"
            "\n"
            "CURRENT (default: the key file DIR/master.key):\n"
            "  --key-file F             the current master key file\n"
            "  --passphrase-file F      the current passphrase, read from F\n"
            "  --passphrase-env VAR     the current passphrase, from environment variable VAR\n"
            "NEW (exactly one):\n"
            "  --new-key-file           a new random key file, written to --new-key-path F,\n"
            "                           else the current key file's path, else DIR/master.key\n"
            "  --new-passphrase-file F  a new passphrase, read from F\n"
            "  --new-passphrase-env VAR a new passphrase, from environment variable VAR\n"
            "\n"
            "Passphrase files hold the passphrase; one trailing newline is dropped.\n"
            "Moving away from a key file deletes the old key file once the new key is in place.\n"
            "Records (default LMDB in DIR):\n" KEYSTORE_STORE_USAGE);
}

struct key_arg {
    const char *key_file;
    const char *pass_file;
    const char *pass_env;
};

/* Reads a passphrase into guarded memory. */
static core_result read_passphrase(const struct key_arg *k, struct core_buf *out)
{
    GUARD(core_buf_init_secret(out, REKEY_MAX_PASSPHRASE_BYTES));
    if (k->pass_env) {
        const char *v = getenv(k->pass_env);
        if (v == NULL) {
            fprintf(stderr, "kmsctl rekey: environment variable %s is not set\n", k->pass_env);
            BAIL(ERR_INVALID_ARG);
        }
        GUARD(core_buf_append_str(out, v));
    } else {
        int fd = open(k->pass_file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "kmsctl rekey: cannot open %s: %s\n", k->pass_file, strerror(errno));
            BAIL(ERR_IO);
        }
        struct stat st;
        if (fstat(fd, &st) == 0 && (st.st_mode & 077))
            fprintf(stderr, "kmsctl rekey: warning: %s is readable by group/other\n", k->pass_file);
        ssize_t n;
        while ((n = read(fd, out->data + out->len, out->cap - out->len)) > 0) {
            out->len += (size_t)n;
            if (out->len >= out->cap) break;
        }
        close(fd);
        ENSURE(n >= 0, ERR_IO);
        if (out->len > out->max) {
            fprintf(stderr, "kmsctl rekey: %s is longer than %u bytes\n", k->pass_file, REKEY_MAX_PASSPHRASE_BYTES);
            BAIL(ERR_LIMIT);
        }
        if (out->len && out->data[out->len - 1] == '\n') out->len--;
        if (out->len && out->data[out->len - 1] == '\r') out->len--;
    }
    if (out->len == 0) {
        fprintf(stderr, "kmsctl rekey: the passphrase is empty\n");
        BAIL(ERR_INVALID_ARG);
    }
    CORE_OK;
}

static core_result key_options(const char *dir, const struct key_arg *k, struct core_buf *pass,
                               struct keystore_options *o)
{
    *o = (struct keystore_options){.dir = dir, .source = KEYSTORE_MASTER_KEY_FILE, .key_file = k->key_file};
    if (k->pass_file || k->pass_env) {
        GUARD(read_passphrase(k, pass));
        o->source = KEYSTORE_MASTER_PASSPHRASE;
        o->passphrase = core_buf_cursor(pass);
        o->key_file = NULL;
    }
    CORE_OK;
}

static int count(const char *a, const char *b, const char *c) { return (a != NULL) + (b != NULL) + (c != NULL); }

int kmsctl_rekey(int argc, char **argv)
{
    const char *dir = NULL;
    struct key_arg cur = {0}, next = {0};
    struct keystore_store_args store = {0};
    int new_key_file = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        int st = keystore_store_arg(&store, "kmsctl rekey", a, i + 1 < argc ? argv[i + 1] : NULL);
        if (st < 0) return 2;
        if (st > 0) {
            i++;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--new-key-file") == 0) {
            new_key_file = 1;
            continue;
        }
        if (strcmp(a, "--data-dir") == 0) slot = &dir;
        else if (strcmp(a, "--key-file") == 0) slot = &cur.key_file;
        else if (strcmp(a, "--passphrase-file") == 0) slot = &cur.pass_file;
        else if (strcmp(a, "--passphrase-env") == 0) slot = &cur.pass_env;
        else if (strcmp(a, "--new-key-path") == 0) slot = &next.key_file;
        else if (strcmp(a, "--new-passphrase-file") == 0) slot = &next.pass_file;
        else if (strcmp(a, "--new-passphrase-env") == 0) slot = &next.pass_env;
        if (slot == NULL || i + 1 >= argc) {
            fprintf(stderr, "kmsctl rekey: %s '%s'\n", slot ? "missing value for" : "unknown option", a);
            usage(stderr);
            return 2;
        }
        *slot = argv[++i];
    }
    if (dir == NULL || count(cur.key_file, cur.pass_file, cur.pass_env) > 1 ||
        new_key_file + (next.pass_file != NULL) + (next.pass_env != NULL) != 1 ||
        (next.key_file && !new_key_file)) {
        usage(stderr);
        return 2;
    }
    if (new_key_file && next.key_file == NULL) next.key_file = cur.key_file;

    DEFER_CLEANUP(struct core_buf cur_pass = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_buf new_pass = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_buf etcd_pass = {0}, core_buf_cleanup);
    struct keystore_options cur_opts, new_opts;
    if (!core_ok(key_options(dir, &cur, &cur_pass, &cur_opts)) ||
        !core_ok(key_options(dir, &next, &new_pass, &new_opts)) ||
        !core_ok(keystore_store_options(&store, "kmsctl rekey", &cur_opts, &etcd_pass)))
        return 1;
    bool etcd = cur_opts.store && strcmp(cur_opts.store, "lmdb") != 0;

    char data_file[4096];
    struct stat st;
    int n = snprintf(data_file, sizeof data_file, "%s/data.mdb", dir);
    if (!etcd && (n < 0 || (size_t)n >= sizeof data_file || stat(data_file, &st) != 0)) {
        /* keystore_open would create one: a typo must not make a new keystore. */
        fprintf(stderr, "kmsctl rekey: %s holds no keystore\n", dir);
        return 1;
    }
    struct keystore *ks = NULL;
    bool created = false;
    core_result r = keystore_open(&cur_opts, &ks, &created);
    if (!core_ok(r)) {
        fprintf(stderr, "kmsctl rekey: cannot open the keystore in %s: %s\n", dir, core_err_desc(r.err));
        return 1;
    }
    if (created) {
        fprintf(stderr, "kmsctl rekey: %s held no keystore (an empty one was created); nothing to rekey\n", dir);
        keystore_close(ks);
        return 1;
    }
    r = keystore_rekey(ks, &new_opts);
    keystore_close(ks);
    if (!core_ok(r)) {
        fprintf(stderr, "kmsctl rekey: rekey failed, the keystore still opens with its current key: %s\n",
                core_err_desc(r.err));
        return 1;
    }
    if (new_opts.source == KEYSTORE_MASTER_KEY_FILE)
        printf("rekeyed %s: records now sealed under the new key file %s\n", dir,
               new_opts.key_file ? new_opts.key_file : "<data-dir>/master.key");
    else
        printf("rekeyed %s: records now sealed under the new passphrase\n", dir);
    return 0;
}
