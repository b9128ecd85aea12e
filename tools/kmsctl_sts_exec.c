/*
 * kmsctl sts exec ... -- CMD ARGS: runs CMD with temporary credentials from
 * kmsd's STS in its environment; kmsctl sts env ... prints them as export
 * lines. Both work the way `aws-vault exec` does: the credentials
 * (GetSessionToken, or AssumeRole with --role-arn, with an MFA code when
 * asked) are cached in a 0600 file until five minutes before they expire,
 * so repeated commands do not call STS (and need no new MFA code). Inside
 * an exec, the AWS_* variables are the source of the next one, so nested
 * execs chain roles.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "tools/kmsctl.h"

#define REFRESH_MARGIN_S 300 /* renew when fewer seconds than this remain */

static int usage(void)
{
    fprintf(stderr,
            "usage: kmsctl sts exec [options] -- COMMAND [ARGS...]\n"
            "       kmsctl sts env [options]\n"
            "  --endpoint http://HOST:PORT   (default $KMSD_ENDPOINT, else $AWS_ENDPOINT_URL)\n"
            "  --region R                    (default $AWS_REGION, else us-east-1)\n"
            "  --credentials-file F [--profile P]   long-term keys (else KMSD_* or AWS_* variables)\n"
            "  --role-arn ARN [--role-session-name N] [--external-id X]   AssumeRole\n"
            "  --session-token               GetSessionToken (the default without --role-arn)\n"
            "  --mfa-serial ARN --token-code 123456\n"
            "  --duration 1h|900s|3600       requested lifetime\n"
            "  --cache-dir DIR               (default $KMSCTL_CACHE_DIR, else ~/.cache/kmsctl); --no-cache\n");
    return 2;
}

static bool parse_duration(const char *s, char out[16])
{
    size_t n = strlen(s);
    uint64_t v, mult = 1;
    if (n && (s[n - 1] == 's' || s[n - 1] == 'm' || s[n - 1] == 'h'))
        mult = s[n - 1] == 'h' ? 3600 : s[n - 1] == 'm' ? 60 : 1, n--;
    if (!core_ok(core_cursor_to_u64(core_cursor_from(s, n), 129600, &v)) || v * mult > 129600 || v == 0) return false;
    snprintf(out, 16, "%llu", (unsigned long long)(v * mult));
    return true;
}

/* The cache file for this request and source: sts-<sha256 of everything that shapes the answer>.json. */
static bool cache_path(const char *dir, const struct kmsctl_sts_request *rq, char *out, size_t cap)
{
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    const char *src_id = getenv("KMSD_ACCESS_KEY_ID") && getenv("KMSD_SECRET_ACCESS_KEY") ? getenv("KMSD_ACCESS_KEY_ID")
                                                                                          : getenv("AWS_ACCESS_KEY_ID");
    const char *src_tok = getenv("KMSD_ACCESS_KEY_ID") ? NULL : getenv("AWS_SESSION_TOKEN");
    const char *parts[] = {rq->endpoint, rq->region, rq->cred_file ? rq->cred_file : "", rq->cred_file ? rq->profile : "",
                           rq->cred_file ? "" : (src_id ? src_id : ""), rq->cred_file ? "" : (src_tok ? src_tok : ""),
                           rq->role_arn ? rq->role_arn : "", rq->session_name ? rq->session_name : "",
                           rq->external_id ? rq->external_id : "", rq->mfa_serial ? rq->mfa_serial : "",
                           rq->duration ? rq->duration : ""};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        crypto_hash_sha256_update(&h, (const uint8_t *)parts[i], strlen(parts[i]));
        crypto_hash_sha256_update(&h, (const uint8_t *)"\n", 1);
    }
    uint8_t d[32];
    crypto_hash_sha256_final(&h, d);
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, d, 16);
    int n = snprintf(out, cap, "%s/sts-%s.json", dir, hex);
    return n > 0 && (size_t)n < cap;
}

static bool cache_read(const char *path, struct kmsctl_sts_creds *c)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return false;
    struct stat st;
    /* Only a private file of ours: anything else is ignored (and replaced). */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077) ||
        st.st_size > 16384) {
        close(fd);
        return false;
    }
    char *buf = core_secmem_alloc(16385);
    if (buf == NULL) {
        close(fd);
        return false;
    }
    ssize_t n = read(fd, buf, 16384);
    close(fd);
    bool ok = false;
    int64_t expires = 0;
    if (n > 0) {
        json_t *j = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
        const char *id = json_string_value(json_object_get(j, "AccessKeyId"));
        const char *sec = json_string_value(json_object_get(j, "SecretAccessKey"));
        const char *tok = json_string_value(json_object_get(j, "SessionToken"));
        const char *exp = json_string_value(json_object_get(j, "Expiration"));
        ok = id && sec && tok && exp && strlen(id) < sizeof c->id && strlen(sec) < sizeof c->secret &&
             strlen(tok) < sizeof c->token && strlen(exp) < sizeof c->expiration &&
             core_ok(core_time_parse_iso8601(exp, strlen(exp), &expires)) &&
             expires - REFRESH_MARGIN_S > (int64_t)time(NULL);
        if (ok) {
            snprintf(c->id, sizeof c->id, "%s", id);
            snprintf(c->secret, sizeof c->secret, "%s", sec);
            snprintf(c->token, sizeof c->token, "%s", tok);
            snprintf(c->expiration, sizeof c->expiration, "%s", exp);
        }
        json_decref(j);
    }
    core_secmem_free(buf, 16385);
    return ok;
}

static void cache_write(const char *dir, const char *path, const struct kmsctl_sts_creds *c)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) return;
    struct stat st;
    if (stat(dir, &st) != 0 || st.st_uid != getuid() || (st.st_mode & 077)) {
        fprintf(stderr, "kmsctl: not caching: %s must be a directory of yours with mode 0700\n", dir);
        return;
    }
    char tmp[1300];
    int tl = snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    if (tl < 0 || (size_t)tl >= sizeof tmp) return;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return;
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        unlink(tmp);
        return;
    }
    /* Every value is [A-Za-z0-9+/=:TZ.-]: nothing to escape. */
    fprintf(f, "{\"Version\": 1, \"AccessKeyId\": \"%s\", \"SecretAccessKey\": \"%s\", \"SessionToken\": \"%s\", "
               "\"Expiration\": \"%s\"}\n",
            c->id, c->secret, c->token, c->expiration);
    bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) unlink(tmp);
}

static void put_quoted(const char *name, const char *value)
{
    printf("export %s='", name);
    for (const char *p = value; *p; p++) {
        if (*p == '\'')
            fputs("'\\''", stdout);
        else
            putchar(*p);
    }
    puts("'");
}

int kmsctl_sts_exec(int argc, char **argv)
{
    bool exec_mode = strcmp(argv[0], "exec") == 0, no_cache = false, session_token = false;
    struct kmsctl_sts_request rq = {.profile = "default"};
    rq.endpoint = getenv("KMSD_ENDPOINT") ? getenv("KMSD_ENDPOINT") : getenv("AWS_ENDPOINT_URL");
    rq.region = getenv("AWS_REGION") ? getenv("AWS_REGION") : "us-east-1";
    const char *cache_dir = getenv("KMSCTL_CACHE_DIR");
    char duration[16], home_cache[1100];
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (!strcmp(a, "--no-cache")) {
            no_cache = true;
            continue;
        }
        if (!strcmp(a, "--session-token")) {
            session_token = true;
            continue;
        }
        if (!strcmp(a, "--help") || !v) return usage();
        if (!strcmp(a, "--endpoint")) rq.endpoint = v;
        else if (!strcmp(a, "--region")) rq.region = v;
        else if (!strcmp(a, "--credentials-file")) rq.cred_file = v;
        else if (!strcmp(a, "--profile")) rq.profile = v;
        else if (!strcmp(a, "--role-arn")) rq.role_arn = v;
        else if (!strcmp(a, "--role-session-name")) rq.session_name = v;
        else if (!strcmp(a, "--external-id")) rq.external_id = v;
        else if (!strcmp(a, "--mfa-serial")) rq.mfa_serial = v;
        else if (!strcmp(a, "--token-code")) rq.token_code = v;
        else if (!strcmp(a, "--cache-dir")) cache_dir = v;
        else if (!strcmp(a, "--duration")) {
            if (!parse_duration(v, duration)) {
                fprintf(stderr, "kmsctl: --duration must be like 3600, 900s, 15m or 1h\n");
                return 2;
            }
            rq.duration = duration;
        } else {
            return usage();
        }
        i++;
    }
    if (session_token && rq.role_arn) {
        fprintf(stderr, "kmsctl: --session-token and --role-arn exclude each other\n");
        return 2;
    }
    if (exec_mode && i >= argc) return usage();
    if (!exec_mode && i < argc) return usage();
    if (!rq.endpoint) {
        fprintf(stderr, "kmsctl: give --endpoint (or set KMSD_ENDPOINT)\n");
        return 2;
    }
    if (!cache_dir) {
        const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
        if (xdg && *xdg)
            snprintf(home_cache, sizeof home_cache, "%s/kmsctl", xdg);
        else
            snprintf(home_cache, sizeof home_cache, "%s/.cache/kmsctl", home ? home : ".");
        cache_dir = home_cache;
    }
    struct kmsctl_sts_creds *c = core_secmem_alloc(sizeof *c);
    if (c == NULL) return 1;
    char path[1200];
    bool cacheable = !no_cache && cache_path(cache_dir, &rq, path, sizeof path);
    if (!(cacheable && cache_read(path, c))) {
        if (rq.mfa_serial && !rq.token_code) {
            fprintf(stderr, "kmsctl: --mfa-serial needs --token-code (no cached credentials)\n");
            core_secmem_free(c, sizeof *c);
            return 2;
        }
        int rc = kmsctl_sts_fetch(&rq, c);
        if (rc) {
            core_secmem_free(c, sizeof *c);
            return rc;
        }
        if (cacheable) {
            if (strchr(cache_dir, '/')) { /* ~/.cache may not exist yet */
                char parent[1100];
                snprintf(parent, sizeof parent, "%s", cache_dir);
                char *slash = strrchr(parent, '/');
                if (slash && slash != parent) {
                    *slash = 0;
                    mkdir(parent, 0700);
                }
            }
            cache_write(cache_dir, path, c);
        }
    }
    if (!exec_mode) {
        put_quoted("AWS_ACCESS_KEY_ID", c->id);
        put_quoted("AWS_SECRET_ACCESS_KEY", c->secret);
        put_quoted("AWS_SESSION_TOKEN", c->token);
        put_quoted("AWS_CREDENTIAL_EXPIRATION", c->expiration);
        put_quoted("AWS_REGION", rq.region);
        put_quoted("AWS_DEFAULT_REGION", rq.region);
        put_quoted("AWS_ENDPOINT_URL", rq.endpoint);
        core_secmem_free(c, sizeof *c);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    /* The child sees only these credentials: no profile, and no long-term
     * KMSD_* keys (a nested exec then chains from the temporary ones). */
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_SECURITY_TOKEN");
    unsetenv("KMSD_ACCESS_KEY_ID");
    unsetenv("KMSD_SECRET_ACCESS_KEY");
    bool ok = setenv("AWS_ACCESS_KEY_ID", c->id, 1) == 0 && setenv("AWS_SECRET_ACCESS_KEY", c->secret, 1) == 0 &&
              setenv("AWS_SESSION_TOKEN", c->token, 1) == 0 &&
              setenv("AWS_CREDENTIAL_EXPIRATION", c->expiration, 1) == 0 && setenv("AWS_REGION", rq.region, 1) == 0 &&
              setenv("AWS_DEFAULT_REGION", rq.region, 1) == 0 && setenv("AWS_ENDPOINT_URL", rq.endpoint, 1) == 0 &&
              setenv("KMSD_ENDPOINT", rq.endpoint, 1) == 0;
    core_secmem_free(c, sizeof *c);
    if (!ok) return 1;
    fflush(stdout);
    execvp(argv[i], argv + i);
    fprintf(stderr, "kmsctl: cannot run %s: %s\n", argv[i], strerror(errno));
    return 127;
}
