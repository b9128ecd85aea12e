/*
 * kmsctl access-key add|list|delete: manage long-term access keys in a
 * keystore, e.g. fixed credentials for test fixtures. Works while kmsd
 * runs (LMDB is multi-process safe; over etcd, the write is one etcd txn
 * and every node's caches see it within the watch bound, docs/scale-out.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iam/iam.h"
#include "tools/kmsctl.h"

struct keys_opts {
    struct kmsctl_ks_args ks;
    const char *id;
    const char *secret;
    const char *secret_env;
    const char *user;
    const char *account;
    const char *via_service;
};

static int usage(void)
{
    fprintf(stderr,
            "usage: kmsctl access-key add --data-dir DIR --id AKID (--secret S | --secret-env VAR)\n"
            "                             [--user NAME] [--account 12DIGITS] [--via-service SERVICE]\n"
            "       kmsctl access-key list --data-dir DIR\n"
            "       kmsctl access-key delete --data-dir DIR --id AKID\n"
            KMSCTL_KS_USAGE
            "  add without --user creates a key for the account root; with --user, for that IAM user\n"
            "  of the account, created (path /, no policies) when it does not exist yet.\n"
            "  --via-service s3: the key stands for that AWS service acting on the account's behalf\n"
            "  (kms:ViaService s3.<region>.amazonaws.com), e.g. for an S3 emulator doing SSE-KMS.\n");
    return 2;
}

struct add_arg {
    struct iam_access_key *key;
    const char *user;     /* NULL: the account root */
    bool created_user;
};

/* The key's owner is the user as stored (path, unique id), created when missing. */
static core_result add_txn(struct keystore_txn *txn, void *varg)
{
    struct add_arg *a = varg;
    struct iam_access_key *k = a->key;
    if (a->user) {
        char via[sizeof k->owner.via_service];
        memcpy(via, k->owner.via_service, sizeof via);
        GUARD(iam_user_ensure(txn, k->owner.account, core_cursor_str(a->user), k->created, &k->owner, k->user_name,
                              &a->created_user));
        memcpy(k->owner.via_service, via, sizeof via);
        memcpy(k->owner.access_key_id, k->id, sizeof k->id);
    }
    return iam_access_key_put(txn, k);
}

static bool valid_name(const char *s, size_t max, const char *extra)
{
    size_t n = strlen(s);
    if (n == 0 || n > max) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr(extra, c);
        if (!ok) return false;
    }
    return true;
}

static int cmd_add(struct keystore *ks, const struct keys_opts *o)
{
    const char *secret = o->secret ? o->secret : (o->secret_env ? getenv(o->secret_env) : NULL);
    if (!o->id || !secret) return usage();
    if (!valid_name(o->id, CORE_MAX_ACCESS_KEY_ID_BYTES, "") || strlen(o->id) < 3) {
        fprintf(stderr, "kmsctl: an access key id is 3..128 letters and digits\n");
        return 2;
    }
    size_t slen = strlen(secret);
    if (slen < 1 || slen > CORE_MAX_SECRET_KEY_BYTES) {
        fprintf(stderr, "kmsctl: a secret key is 1..%u characters\n", CORE_MAX_SECRET_KEY_BYTES);
        return 2;
    }
    const char *account = o->account ? o->account : NULL;
    char acct[16];
    if (!account) {
        /* The account the keystore was bootstrapped for. */
        struct keystore_txn *txn;
        struct core_buf b;
        if (!core_ok(core_buf_init(&b, 32, 64)) || !core_ok(keystore_txn_begin(ks, false, &txn))) return 1;
        core_result r = keystore_get(txn, "iam_meta", core_cursor_str("bootstrapped"), &b);
        keystore_txn_abort(txn);
        if (!core_ok(r) || b.len != 12) {
            core_buf_free(&b);
            fprintf(stderr, "kmsctl: keystore has no default account; pass --account\n");
            return 1;
        }
        memcpy(acct, b.data, 12);
        acct[12] = 0;
        core_buf_free(&b);
        account = acct;
    }
    if (strlen(account) != 12 || strspn(account, "0123456789") != 12) {
        fprintf(stderr, "kmsctl: --account must be 12 digits\n");
        return 2;
    }
    if (o->via_service && !iam_via_service_valid(o->via_service)) {
        fprintf(stderr, "kmsctl: --via-service is a service name such as s3: %u..%u of [a-z0-9-]\n",
                IAM_VIA_SERVICE_MIN, IAM_VIA_SERVICE_MAX);
        return 2;
    }
    struct iam_access_key k = {0};
    snprintf(k.id, sizeof k.id, "%s", o->id);
    if (o->user) {
        if (!valid_name(o->user, 64, "+=,.@_-")) {
            fprintf(stderr, "kmsctl: invalid user name: 1..64 of letters, digits and +=,.@_-\n");
            return 2;
        }
        /* add_txn fills the owner from the user record (creating it when missing). */
        snprintf(k.owner.account, sizeof k.owner.account, "%s", account);
    } else {
        iam_principal_root(&k.owner, account);
    }
    if (o->via_service) snprintf(k.owner.via_service, sizeof k.owner.via_service, "%s", o->via_service);
    k.active = true;
    k.created = core_clock_service();
    if (!core_ok(core_secret_copy(&k.secret, secret, slen))) return 1;
    struct add_arg a = {.key = &k, .user = o->user};
    core_result r = keystore_write(ks, add_txn, &a);
    int rc = 0;
    if (r.err == ERR_EXISTS) {
        fprintf(stderr, "kmsctl: access key %s already exists\n", k.id);
        rc = 1;
    } else if (!core_ok(r)) {
        fprintf(stderr, "kmsctl: cannot store the key: %s\n", core_err_desc(r.err));
        rc = 1;
    } else {
        if (a.created_user) printf("created user %s\n", k.owner.arn);
        printf("added %s for %s%s%s\n", k.id, k.owner.arn, k.owner.via_service[0] ? " via " : "",
               k.owner.via_service);
    }
    iam_access_key_free(&k);
    return rc;
}

static int cmd_list(struct keystore *ks)
{
    struct keystore_txn *txn;
    struct keystore_iter *it;
    if (!core_ok(keystore_txn_begin(ks, false, &txn))) return 1;
    if (!core_ok(keystore_iter_begin(txn, "access_key", core_cursor_str(""), &it))) {
        keystore_txn_abort(txn);
        return 1;
    }
    struct core_cursor id;
    core_result r;
    while (core_ok(r = keystore_iter_next(it, &id, NULL))) {
        struct iam_access_key k;
        if (core_ok(iam_access_key_get(txn, id, &k))) {
            /* The via column only for keys that have one: the three-column form stays as it was. */
            printf("%s\t%s\t%s%s%s\n", k.id, k.active ? "Active" : "Inactive", k.owner.arn,
                   k.owner.via_service[0] ? "\tvia-service=" : "", k.owner.via_service);
            iam_access_key_free(&k);
        }
    }
    keystore_iter_end(it);
    keystore_txn_abort(txn);
    return r.err == ERR_NOT_FOUND ? 0 : 1;
}

static core_result del_txn(struct keystore_txn *txn, void *arg)
{
    return iam_access_key_delete(txn, core_cursor_str(arg));
}

static int cmd_delete(struct keystore *ks, const struct keys_opts *o)
{
    if (!o->id) return usage();
    core_result r = keystore_write(ks, del_txn, (void *)(uintptr_t)o->id);
    if (r.err == ERR_NOT_FOUND) {
        fprintf(stderr, "kmsctl: no access key %s\n", o->id);
        return 1;
    }
    if (!core_ok(r)) return 1;
    printf("deleted %s\n", o->id);
    return 0;
}

int kmsctl_keys(int argc, char **argv)
{
    if (argc < 2) return usage();
    const char *sub = argv[1];
    struct keys_opts o = {0};
    for (int i = 2; i < argc; i += 2) { /* every option takes a value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int st = kmsctl_ks_arg(&o.ks, a, v);
        if (st < 0) return 2;
        if (st > 0) continue;
        const char **dst = !strcmp(a, "--id")            ? &o.id
                           : !strcmp(a, "--secret")      ? &o.secret
                           : !strcmp(a, "--secret-env")  ? &o.secret_env
                           : !strcmp(a, "--user")        ? &o.user
                           : !strcmp(a, "--account")     ? &o.account
                           : !strcmp(a, "--via-service") ? &o.via_service
                                                         : NULL;
        if (!dst || !v) return usage();
        *dst = v;
    }
    if (!o.ks.data_dir) return usage();
    struct keystore *ks;
    int rc = kmsctl_ks_open(&o.ks, &ks, NULL);
    if (rc) return rc;
    if (!strcmp(sub, "add"))
        rc = cmd_add(ks, &o);
    else if (!strcmp(sub, "list"))
        rc = cmd_list(ks);
    else if (!strcmp(sub, "delete"))
        rc = cmd_delete(ks, &o);
    else
        rc = usage();
    keystore_close(ks);
    return rc;
}
