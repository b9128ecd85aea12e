#ifndef KMSCTL_H
#define KMSCTL_H

#include <stdbool.h>

#include "core/core.h"
#include "keystore/keystore.h"

/*
 * kmsctl subcommands. Each takes the arguments after its name (argv[0] is
 * the subcommand name) and returns the process exit status.
 */

int kmsctl_sigv4_verify(int argc, char **argv); /* tools/kmsctl_sigv4.c */
int kmsctl_rekey(int argc, char **argv);        /* tools/kmsctl_rekey.c */
int kmsctl_migrate(int argc, char **argv);      /* tools/kmsctl_migrate.c: LMDB <-> etcd */
int kmsctl_keys(int argc, char **argv);         /* tools/kmsctl_keys.c: access-key add|list|delete */
int kmsctl_sts(int argc, char **argv);          /* tools/kmsctl_sts.c: credential-process|set-jwks|rotate-token-key */

int kmsctl_seed(int argc, char **argv);         /* tools/kmsctl_seed.c: apply a seed file */

int kmsctl_tls(int argc, char **argv);          /* tools/kmsctl_tls.c: self-signed */

int kmsctl_audit(int argc, char **argv);        /* tools/kmsctl_audit.c: verify | lookup */

/*
 * The keystore a subcommand opens (tools/kmsctl_store.c): --data-dir,
 * --key-file | --passphrase-file | --passphrase-env, and kmsd's store
 * options (--store, --etcd-*: KEYSTORE_STORE_USAGE).
 */
struct kmsctl_ks_args {
    const char *data_dir, *key_file, *pass_file, *pass_env;
    struct keystore_store_args store;
};
#define KMSCTL_KS_USAGE                                                                                          \
    "  master key: [--key-file F | --passphrase-file F | --passphrase-env VAR] (default DIR/master.key)\n"      \
    "  records: as kmsd's (default LMDB in DIR):\n" KEYSTORE_STORE_USAGE
/** Takes opt (and its value val) when it is one of these. @return 1 taken, 0 not ours, -1 bad value. */
int kmsctl_ks_arg(struct kmsctl_ks_args *a, const char *opt, const char *val);
/** True when the records live in etcd. */
bool kmsctl_ks_is_etcd(const struct kmsctl_ks_args *a);
/** Opens (creating if absent) the keystore; prints the reason on failure. @return 0, or exit status 1. */
int kmsctl_ks_open(const struct kmsctl_ks_args *a, struct keystore **ks, bool *created);

/* Temporary credentials from kmsd's STS (tools/kmsctl_sts.c), for credential-process and exec/env. */
struct kmsctl_sts_request {
    const char *endpoint, *region;
    const char *cred_file, *profile;           /* else KMSD_* or AWS_* from the environment */
    const char *role_arn, *session_name, *external_id; /* AssumeRole; else GetSessionToken */
    const char *mfa_serial, *token_code;
    const char *duration;                      /* DurationSeconds, decimal */
};
struct kmsctl_sts_creds {
    char id[160], secret[160], token[CORE_MAX_SESSION_TOKEN_BYTES + 1], expiration[64];
};
/** Calls STS; prints the reason on failure. @return 0, or the exit status (1 failure, 2 usage). */
int kmsctl_sts_fetch(const struct kmsctl_sts_request *rq, struct kmsctl_sts_creds *out);
int kmsctl_sts_exec(int argc, char **argv); /* tools/kmsctl_sts_exec.c: exec | env */

#endif
