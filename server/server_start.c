/*
 * Start-up and background work: open the keystore (from a key file or a
 * passphrase), bootstrap the administrator on first start, prepare the
 * services; follow the clock file and run due rotations and deletions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/server_internal.h"

const struct server_config *server_get_config(const struct server *srv) { return &srv->cfg; }
struct keystore *server_get_keystore(struct server *srv) { return srv->ks; }

core_result server_take_env_secret(const char *name, struct core_buf *out)
{
    size_t max = out->max;
    core_buf_free(out);
    return keystore_read_secret("kmsd", name, NULL, max, out);
}

static core_result open_keystore(struct server *srv)
{
    const struct server_config *cfg = &srv->cfg;
    struct keystore_options ko = {
        .dir = cfg->data_dir,
        .source = cfg->master_source,
        .key_file = cfg->key_file[0] ? cfg->key_file : NULL,
    };
    DEFER_CLEANUP(struct core_buf etcd_pass = {0}, core_buf_cleanup);
    GUARD(keystore_store_options(&cfg->store, "kmsd", &ko, &etcd_pass));
    DEFER_CLEANUP(struct core_buf pass = {0}, core_buf_cleanup);
    if (cfg->master_source == KEYSTORE_MASTER_PASSPHRASE) {
        GUARD(core_buf_init_secret(&pass, 1024));
        if (cfg->passphrase_env[0]) {
            GUARD(server_take_env_secret(cfg->passphrase_env, &pass));
        } else {
            FILE *f = fopen(cfg->passphrase_file, "r");
            if (f == NULL) {
                core_log(CORE_LOG_ERROR, "cannot read passphrase file %s", cfg->passphrase_file);
                BAIL(ERR_IO);
            }
            size_t n = fread(pass.data, 1, pass.max, f);
            fclose(f);
            pass.len = n;
            while (pass.len && (pass.data[pass.len - 1] == '\n' || pass.data[pass.len - 1] == '\r')) pass.len--;
        }
        ENSURE(pass.len > 0, ERR_INVALID_ARG);
        ko.passphrase = core_buf_cursor(&pass);
    }
    bool created = false;
    GUARD(keystore_open(&ko, &srv->ks, &created));
    if (created) core_log(CORE_LOG_INFO, "created a new keystore in %s", cfg->data_dir);
    CORE_OK;
}

core_result server_check_config(const struct server_config *cfg)
{
    /* An existing keystore is opened so the seed is checked against it (a
     * write transaction that is aborted); a missing one is not created. */
    struct server tmp = {.cfg = *cfg};
    GUARD(server_tls_load(cfg, &tmp.tls));
    server_tls_free(&tmp.tls);
    char mdb[1100];
    snprintf(mdb, sizeof mdb, "%s/data.mdb", cfg->data_dir);
    struct stat st;
    if (cfg->seed_file[0] && stat(mdb, &st) == 0) GUARD(open_keystore(&tmp));
    core_result r = server_seed_apply(cfg, tmp.ks, true);
    if (tmp.ks) keystore_close(tmp.ks);
    return r;
}

/* The administrator's credentials, in the AWS shared-credentials format, in a
 * 0600 file: the secret is never printed or logged. */
static core_result write_admin_credentials(const struct server_config *cfg, const struct iam_access_key *k,
                                           char *path, size_t cap)
{
    snprintf(path, cap, "%s/admin-credentials", cfg->data_dir);
    char tmp[1300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wx");
    if (f == NULL) {
        unlink(tmp);
        f = fopen(tmp, "wx");
    }
    ENSURE(f != NULL, ERR_IO);
    fchmod(fileno(f), 0600);
    fprintf(f,
            "# kmsd administrator (%s) - created at first start\n"
            "[kmsd]\naws_access_key_id = %s\naws_secret_access_key = %.*s\nregion = %s\n",
            k->owner.arn, k->id, (int)k->secret.len, (const char *)k->secret.ptr, cfg->region);
    bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    fclose(f);
    ENSURE(ok && rename(tmp, path) == 0, ERR_IO);
    CORE_OK;
}

core_result server_new(const struct server_config *cfg, struct server **out)
{
    struct server *srv = calloc(1, sizeof *srv);
    ENSURE(srv != NULL, ERR_NOMEM);
    srv->cfg = *cfg;
    core_clock_set_offset(cfg->clock_offset);
    core_result r = server_tls_load(cfg, &srv->tls);
    if (core_ok(r)) r = server_throttle_init(cfg);
    if (core_ok(r)) r = open_keystore(srv);
    if (core_ok(r)) r = sigv4_key_cache_new(256, &srv->key_cache);
    struct iam_access_key admin = {0};
    bool created = false;
    if (core_ok(r)) r = iam_bootstrap(srv->ks, cfg->account_id, &admin, &created);
    if (core_ok(r) && created) {
        char path[1200];
        r = write_admin_credentials(cfg, &admin, path, sizeof path);
        if (core_ok(r))
            core_log(CORE_LOG_INFO, "administrator %s created; credentials written to %s", admin.owner.arn, path);
    }
    iam_access_key_free(&admin);
    if (core_ok(r)) r = server_seed_apply(cfg, srv->ks, false);
    /* IAM first: KMS and STS read callers' identity policies through it. */
    char issuer[300];
    if (cfg->oidc_issuer[0])
        snprintf(issuer, sizeof issuer, "%s", cfg->oidc_issuer);
    else
        snprintf(issuer, sizeof issuer, "http://%s:%u", cfg->listen_host, cfg->listen_port);
    struct iam_env_options io = {.ks = srv->ks, .account = cfg->account_id, .oidc_issuer = issuer};
    if (core_ok(r)) r = iam_env_new(&io, &srv->iam);
    struct kms_env_options ko = {.ks = srv->ks, .default_region = cfg->region, .iam = srv->iam,
                                 .last_usage = server_audit_last_usage};
    if (core_ok(r)) r = kms_env_new(&ko, &srv->kms);
    struct sts_env_options so = {.ks = srv->ks, .default_region = cfg->region, .iam = srv->iam,
                                 .oidc_issuer = issuer,
                                 .organization_file = cfg->organization_file[0] ? cfg->organization_file : NULL};
    if (core_ok(r)) r = sts_env_new(&so, &srv->sts);
    if (!core_ok(r)) {
        server_free(srv);
        return r;
    }
    *out = srv;
    CORE_OK;
}

void server_free(struct server *srv)
{
    if (!srv) return;
    if (srv->sts) sts_env_free(srv->sts);
    if (srv->kms) kms_env_free(srv->kms);
    if (srv->iam) iam_env_free(srv->iam);
    if (srv->key_cache) sigv4_key_cache_free(srv->key_cache);
    if (srv->ks) {
        server_cred_cache_purge(srv->ks);
        keystore_close(srv->ks);
    }
    server_tls_free(&srv->tls);
    server_throttle_free();
    free(srv);
}

void server_tick(struct server *srv)
{
    if (srv->cfg.clock_file[0]) {
        FILE *f = fopen(srv->cfg.clock_file, "r");
        if (f) {
            char line[64] = {0};
            if (fgets(line, sizeof line, f)) {
                line[strcspn(line, "\r\n \t")] = 0;
                int64_t off;
                if (server_parse_duration(line, &off)) {
                    if (off != core_clock_offset())
                        core_log(CORE_LOG_INFO, "service clock offset now %lld s", (long long)off);
                    core_clock_set_offset(off);
                }
            }
            fclose(f);
        }
    }
    /* Rotations and deletions whose date passed on the service clock (also at
     * start); over etcd only on the node that leads (docs/scale-out.md). */
    if (!keystore_leads(srv->ks)) return;
    core_result r = kms_run_due(srv->kms, core_clock_service());
    if (!core_ok(r)) core_log(CORE_LOG_ERROR, "kms: due rotations/deletions failed: %s at %s", core_err_name(r.err),
                              core_result_site());
    core_result_ignore(r);
}
