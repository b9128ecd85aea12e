/*
 * kmsctl seed --data-dir DIR FILE: applies a seed file (docs/seed.md) to a
 * keystore, also while kmsd runs (LMDB is multi-process safe; etcd: txns). One write
 * transaction: a bad seed prints FILE:LINE: reason and changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seed/seed.h"
#include "tools/kmsctl.h"

static int usage(void)
{
    fprintf(stderr, "usage: kmsctl seed --data-dir DIR [--account 12DIGITS] [--region R] [--check] FILE\n"
                    "  --check validates FILE without writing (against DIR's keystore when given).\n"
                    KMSCTL_KS_USAGE);
    return 2;
}

int kmsctl_seed(int argc, char **argv)
{
    struct kmsctl_ks_args ka = {0};
    const char *file = NULL, *account = "000000000000", *region = "us-east-1";
    bool check = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int st = kmsctl_ks_arg(&ka, a, v);
        if (st < 0) return 2;
        if (st > 0) {
            i++;
        } else if (!strcmp(a, "--check")) {
            check = true;
        } else if (!strcmp(a, "--account") && v) {
            account = v, i++;
        } else if (!strcmp(a, "--region") && v) {
            region = v, i++;
        } else if (a[0] != '-' && !file) {
            file = a;
        } else {
            return usage();
        }
    }
    if (!file || (!ka.data_dir && !check)) return usage();
    if (strlen(account) != 12 || strspn(account, "0123456789") != 12) {
        fprintf(stderr, "kmsctl: --account must be 12 digits\n");
        return 2;
    }
    if (strlen(region) < 2 || strlen(region) > 25 ||
        strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(region)) {
        fprintf(stderr, "kmsctl: --region is not a Region name\n");
        return 2;
    }
    struct keystore *ks = NULL;
    if (ka.data_dir && kmsctl_ks_open(&ka, &ks, NULL)) return 1;
    struct seed_options o = {.path = file, .account = account, .region = region, .now = core_clock_service(),
                             .check_only = check};
    struct seed_stats st;
    char err[1024];
    core_result r = seed_apply(ks, &o, &st, err, sizeof err);
    if (ks) keystore_close(ks);
    if (!core_ok(r)) {
        fprintf(stderr, "kmsctl: seed: %s (nothing was seeded)\n", err);
        return 1;
    }
    if (check)
        printf("%s is valid\n", file);
    else
        printf("seeded %u keys, %u aliases, %u users, %u access keys, %u roles, %u OIDC providers; "
               "%u already existed\n",
               st.keys, st.aliases, st.users, st.access_keys, st.roles, st.oidc_providers, st.existing);
    return 0;
}
