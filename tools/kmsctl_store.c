/*
 * The options every kmsctl subcommand that opens a keystore takes: the data
 * directory, the master key (key file or passphrase) and where the records
 * live (--store and the --etcd-* options, parsed by keystore_store_arg(),
 * the same parser kmsd uses), and the one way they open it.
 */
#include <stdio.h>
#include <string.h>

#include "keystore/keystore.h"
#include "tools/kmsctl.h"

int kmsctl_ks_arg(struct kmsctl_ks_args *a, const char *opt, const char *val)
{
    int st = keystore_store_arg(&a->store, "kmsctl", opt, val);
    if (st) return st;
    const char **dst = !strcmp(opt, "--data-dir")          ? &a->data_dir
                       : !strcmp(opt, "--key-file")        ? &a->key_file
                       : !strcmp(opt, "--passphrase-file") ? &a->pass_file
                       : !strcmp(opt, "--passphrase-env")  ? &a->pass_env
                                                           : NULL;
    if (dst == NULL) return 0;
    if (val == NULL) return -1;
    *dst = val;
    return 1;
}

bool kmsctl_ks_is_etcd(const struct kmsctl_ks_args *a) { return !strncmp(a->store.store, "etcd://", 7); }

int kmsctl_ks_open(const struct kmsctl_ks_args *a, struct keystore **ks, bool *created)
{
    struct keystore_options ko = {.dir = a->data_dir, .source = KEYSTORE_MASTER_KEY_FILE, .key_file = a->key_file};
    struct core_buf pass = {0}, etcd_pass = {0};
    core_result r = keystore_store_options(&a->store, "kmsctl", &ko, &etcd_pass);
    if (core_ok(r) && (a->pass_file || a->pass_env)) {
        r = keystore_read_secret("kmsctl", a->pass_env, a->pass_file, 1024, &pass);
        ko.source = KEYSTORE_MASTER_PASSPHRASE;
        ko.passphrase = core_buf_cursor(&pass);
        ko.key_file = NULL;
    }
    bool made = false;
    if (core_ok(r)) {
        r = keystore_open(&ko, ks, &made);
        if (!core_ok(r))
            fprintf(stderr, "kmsctl: cannot open the keystore %s%s: %s\n", kmsctl_ks_is_etcd(a) ? "at " : "in ",
                    kmsctl_ks_is_etcd(a) ? a->store.store : a->data_dir, core_err_desc(r.err));
    }
    core_buf_free(&pass);
    core_buf_free(&etcd_pass);
    if (created) *created = made;
    return core_ok(r) ? 0 : 1;
}
