#ifndef KMSCTL_H
#define KMSCTL_H

/*
 * kmsctl subcommands. Each takes the arguments after its name (argv[0] is
 * the subcommand name) and returns the process exit status.
 */

int kmsctl_sigv4_verify(int argc, char **argv); /* tools/kmsctl_sigv4.c */
int kmsctl_rekey(int argc, char **argv);        /* tools/kmsctl_rekey.c */
int kmsctl_migrate(int argc, char **argv);      /* tools/kmsctl_migrate.c: LMDB <-> etcd */
int kmsctl_keys(int argc, char **argv);         /* tools/kmsctl_keys.c: access-key add|list|delete */
int kmsctl_sts(int argc, char **argv);          /* tools/kmsctl_sts.c: credential-process|set-jwks|rotate-token-key */

#endif
