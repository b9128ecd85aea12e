/*
 * --seed FILE at start (and --check-config's dry run): the seed module
 * does the work in one keystore write transaction; this logs the outcome.
 */
#include <stdio.h>

#include "seed/seed.h"
#include "server/server_internal.h"

core_result server_seed_apply(const struct server_config *cfg, struct keystore *ks, bool check_only)
{
    if (!cfg->seed_file[0]) CORE_OK;
    struct seed_options o = {.path = cfg->seed_file, .account = cfg->account_id, .region = cfg->region,
                             .now = core_clock_service(), .check_only = check_only};
    struct seed_stats st;
    char err[1024];
    core_result r = seed_apply(ks, &o, &st, err, sizeof err);
    if (!core_ok(r)) {
        core_log(CORE_LOG_ERROR, "seed: %s (nothing was seeded)", err);
        return r;
    }
    if (check_only)
        core_log(CORE_LOG_INFO, "seed: %s is valid", cfg->seed_file);
    else
        core_log(CORE_LOG_INFO,
                 "seed: %s applied: %u keys, %u aliases, %u users, %u access keys, %u roles, %u OIDC providers "
                 "created; %u already existed",
                 cfg->seed_file, st.keys, st.aliases, st.users, st.access_keys, st.roles, st.oidc_providers,
                 st.existing);
    CORE_OK;
}
