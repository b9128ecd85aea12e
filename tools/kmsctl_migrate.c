/*
 * kmsctl migrate: copies a keystore between LMDB and etcd, sealed as it is
 * (keystore_copy(); docs/scale-out.md, "Runbook"). Stop kmsd on the source
 * first so the copy is one consistent snapshot that nobody writes past.
 */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "keystore/keystore.h"
#include "tools/kmsctl.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: kmsctl migrate --from STORE --to STORE [--key-file F] [--etcd-* options]\n"
            "\n"
            "STORE is lmdb:DIR or etcd://HOST:PORT[,HOST:PORT...]; one side is LMDB, the other etcd.\n"
            "Every record is copied sealed as it is (never decrypted); the destination must be empty.\n"
            "The master key is the key file F (default DIR/master.key); kmsd nodes over etcd use the\n"
            "same key file. Stop kmsd on the source first. The etcd side takes kmsd's etcd options:\n"
            "  --etcd-prefix P, --etcd-cacert F, --etcd-cert F, --etcd-key F,\n"
            "  --etcd-user U with --etcd-password-file F | --etcd-password-env VAR\n");
}

static int fail(const char *what, core_result r)
{
    fprintf(stderr, "kmsctl migrate: %s: %s\n", what, core_err_name(r.err));
    return 1;
}

int kmsctl_migrate(int argc, char **argv)
{
    const char *from = NULL, *to = NULL, *key_file = NULL;
    struct keystore_store_args sa = {0};
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int st = strcmp(a, "--store") ? keystore_store_arg(&sa, "kmsctl migrate", a, v) : 0;
        if (st < 0) return 2;
        if (st > 0) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (v == NULL) {
            usage(stderr);
            return 2;
        }
        if (!strcmp(a, "--from")) from = v;
        else if (!strcmp(a, "--to")) to = v;
        else if (!strcmp(a, "--key-file")) key_file = v;
        else {
            fprintf(stderr, "kmsctl migrate: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
    }
    bool from_lmdb = from && !strncmp(from, "lmdb:", 5) && from[5];
    bool to_lmdb = to && !strncmp(to, "lmdb:", 5) && to[5];
    bool from_etcd = from && !strncmp(from, "etcd://", 7);
    bool to_etcd = to && !strncmp(to, "etcd://", 7);
    if (!((from_lmdb && to_etcd) || (from_etcd && to_lmdb))) {
        usage(stderr);
        return 2;
    }
    /* The LMDB side's directory also serves the etcd side (its lock file;
     * the default key file). */
    const char *dir = from_lmdb ? from + 5 : to + 5;
    struct keystore_options lo = {.dir = dir, .source = KEYSTORE_MASTER_KEY_FILE, .key_file = key_file};
    struct keystore_options eo = lo;
    snprintf(sa.store, sizeof sa.store, "%s", from_etcd ? from : to);
    DEFER_CLEANUP(struct core_buf etcd_pass = {0}, core_buf_cleanup);
    if (strlen(from_etcd ? from : to) >= sizeof sa.store ||
        !core_ok(keystore_store_options(&sa, "kmsctl migrate", &eo, &etcd_pass))) {
        usage(stderr);
        return 2;
    }
    struct keystore *src = NULL, *dst = NULL;
    /* The source first: a new LMDB destination then takes the key file the
     * etcd keystore was opened with. */
    core_result r = keystore_open(from_lmdb ? &lo : &eo, &src, NULL);
    if (!core_ok(r)) return fail("cannot open the source", r);
    r = keystore_open(to_lmdb ? &lo : &eo, &dst, NULL);
    if (!core_ok(r)) {
        keystore_close(src);
        return fail("cannot open the destination", r);
    }
    size_t n = 0;
    r = keystore_copy(src, dst, &n);
    keystore_close(src);
    keystore_close(dst);
    if (!core_ok(r)) return fail("copy failed", r);
    printf("copied %zu record(s) from %s to %s\n", n, from, to);
    return 0;
}
