#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "tools/kmsctl.h"

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *help;
} commands[] = {
    {"access-key", kmsctl_keys, "add|list|delete access keys in a data directory"},
    {"audit", kmsctl_audit, "verify the audit trail's signed digest chain | lookup records"},
    {"migrate", kmsctl_migrate, "copy a keystore between LMDB and etcd, sealed as it is"},
    {"rekey", kmsctl_rekey, "re-seal the keystore under a new master key"},
    {"seed", kmsctl_seed, "apply a seed file (keys, aliases, identities) to a data directory"},
    {"sigv4-verify", kmsctl_sigv4_verify, "check the SigV4 signature of a raw HTTP request on stdin"},
    {"tls", kmsctl_tls, "self-signed: a key and certificate for localhost (kmsd --tls-cert/--tls-key)"},
    {"sts", kmsctl_sts, "credential-process | set-jwks (OIDC keys) | rotate-token-key"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: kmsctl COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!core_ok(core_crypto_init())) {
        fprintf(stderr, "kmsctl: cannot initialise cryptography\n");
        return 2;
    }
    core_json_init();
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "kmsctl: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
