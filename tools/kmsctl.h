#ifndef KMSCTL_H
#define KMSCTL_H

/*
 * kmsctl subcommands. Each takes the arguments after its name (argv[0] is
 * the subcommand name) and returns the process exit status.
 */

int kmsctl_sigv4_verify(int argc, char **argv); /* tools/kmsctl_sigv4.c */
int kmsctl_rekey(int argc, char **argv);        /* tools/kmsctl_rekey.c */
int kmsctl_keys(int argc, char **argv);         /* tools/kmsctl_keys.c: access-key add|list|delete */
int kmsctl_sts(int argc, char **argv);          /* tools/kmsctl_sts.c: credential-process|set-jwks|rotate-token-key */

int kmsctl_seed(int argc, char **argv);         /* tools/kmsctl_seed.c: apply a seed file */

int kmsctl_tls(int argc, char **argv);          /* tools/kmsctl_tls.c: self-signed */

int kmsctl_audit(int argc, char **argv);        /* tools/kmsctl_audit.c: verify | lookup */

#endif
