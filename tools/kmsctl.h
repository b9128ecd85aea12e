#ifndef KMSCTL_H
#define KMSCTL_H

#include "core/core.h"

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
