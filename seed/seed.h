#ifndef SEED_H
#define SEED_H

/*
 * Seed files: keys, aliases and identities with fixed ids, material and
 * secrets, read from YAML (libyaml) and written in ONE keystore write
 * transaction, so a bad seed changes nothing. Reads local-kms's seed.yaml
 * unchanged (symmetric keys, aliases) and kmsd's superset (accounts and
 * Regions, key policies, tags, rotation, IAM users with access keys, roles,
 * OIDC providers with JWKS). Entities that already exist are left as they
 * are, so a seed can be applied at every start. Format: docs/seed.md.
 */

#include "core/core.h"
#include "keystore/keystore.h"

#define SEED_MAX_FILE_BYTES (4u * 1024u * 1024u)
#define SEED_MAX_NODE_VISITS 200000u /* YAML aliases can make a small file a large tree */

struct seed_options {
    const char *path;
    const char *account; /* default account for entries that name none */
    const char *region;  /* default Region */
    int64_t now;         /* service clock */
    /* Validate only, write nothing. With a keystore, the walk runs in a write
     * transaction that is then aborted (existing keys count as alias
     * targets); with ks NULL, alias targets must be keys of the file. */
    bool check_only;
};

struct seed_stats {
    unsigned keys, aliases, users, access_keys, roles, oidc_providers; /* created now */
    unsigned existing;                                                 /* left as they were */
};

/**
 * Applies a seed file.
 * @param[out] err on failure "FILE:LINE: reason" (or "FILE: reason"); never
 *     holds key material or secrets.
 * Errors: ERR_PARSE (the seed is wrong: err says where and why), ERR_IO
 * (cannot read it), keystore errors. On any failure nothing is written.
 */
CORE_RESULT seed_apply(struct keystore *ks, const struct seed_options *opts, struct seed_stats *stats, char *err,
                       size_t err_cap);

#endif
