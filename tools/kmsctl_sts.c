/*
 * kmsctl sts ...: credentials and keys for kmsd's STS.
 *
 *   credential-process  prints the AWS CLI credential_process JSON for
 *                       temporary credentials from kmsd (GetSessionToken or
 *                       AssumeRole), signing with long-term keys read from a
 *                       shared-credentials file or the environment.
 *   set-jwks            installs an OIDC provider's signing keys (JWKS) in
 *                       the keystore; kmsd cannot fetch them from the issuer.
 *   rotate-token-key    makes a new session-token key current; tokens sealed
 *                       under older keys stay valid until they expire.
 *
 * credential_process contract:
 * https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-sourcing-external.html
 * "Version": 1 and the four credential fields, Expiration in ISO 8601.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "iam/iam.h"
#include "sigv4/sigv4.h"
#include "sts/sts.h"
#include "tools/kmsctl.h"

#define RESPONSE_MAX (256u * 1024u)

static int usage(void)
{
    fprintf(stderr,
            "usage: kmsctl sts credential-process --endpoint http://HOST:PORT [--region R]\n"
            "           [--credentials-file F [--profile NAME]]   (else KMSD_ACCESS_KEY_ID / KMSD_SECRET_ACCESS_KEY)\n"
            "           [--role-arn ARN [--role-session-name N] [--external-id X]] [--duration-seconds N]\n"
            "       kmsctl sts exec|env ... (kmsctl sts exec --help)\n"
            "       kmsctl sts set-jwks --data-dir DIR --url https://ISSUER --jwks-file keys.json [--account ACCT]\n"
            "       kmsctl sts rotate-token-key --data-dir DIR\n"
            "  set-jwks and rotate-token-key open the keystore:\n" KMSCTL_KS_USAGE);
    return 2;
}

/* ---- a minimal blocking HTTP/1.1 client (plain HTTP to kmsd) ---- */

struct url {
    char host[256];
    char port[8];
};

static bool parse_url(const char *s, struct url *u)
{
    if (strncmp(s, "http://", 7) != 0) return false;
    s += 7;
    size_t hl = strcspn(s, ":/");
    if (hl == 0 || hl >= sizeof u->host) return false;
    memcpy(u->host, s, hl);
    u->host[hl] = 0;
    s += hl;
    snprintf(u->port, sizeof u->port, "80");
    if (*s == ':') {
        s++;
        size_t pl = strspn(s, "0123456789");
        if (pl == 0 || pl >= sizeof u->port) return false;
        memcpy(u->port, s, pl);
        u->port[pl] = 0;
        s += pl;
    }
    return *s == 0 || strcmp(s, "/") == 0;
}

static bool http_post(const struct url *u, const char *headers, struct core_cursor body, struct core_buf *resp)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(u->host, u->port, &hints, &ai) != 0) return false;
    int fd = -1;
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0) continue;
        struct timeval tv = {.tv_sec = 30};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (fd < 0) return false;
    bool ok = true;
    struct core_cursor parts[2] = {core_cursor_str(headers), body};
    for (int i = 0; i < 2 && ok; i++)
        for (size_t off = 0; off < parts[i].len && ok;) {
            ssize_t n = write(fd, parts[i].ptr + off, parts[i].len - off);
            ok = n > 0;
            off += ok ? (size_t)n : 0;
        }
    while (ok) {
        if (!core_ok(core_buf_reserve(resp, 4096))) {
            ok = false;
            break;
        }
        ssize_t n = read(fd, resp->data + resp->len, resp->cap - resp->len);
        if (n == 0) break;
        ok = n > 0;
        if (ok) resp->len += (size_t)n;
    }
    close(fd);
    return ok;
}

/* The text of the first <tag>...</tag>, XML entities decoded, into out. */
static bool xml_text(struct core_cursor doc, const char *tag, char *out, size_t cap)
{
    char open[64], close_[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close_, sizeof close_, "</%s>", tag);
    const char *s = memmem(doc.ptr, doc.len, open, strlen(open));
    if (!s) return false;
    s += strlen(open);
    const char *e = memmem(s, doc.len - (size_t)(s - (const char *)doc.ptr), close_, strlen(close_));
    if (!e) return false;
    size_t o = 0;
    static const struct {
        const char *ent;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    while (s < e && o + 1 < cap) {
        bool done = false;
        for (size_t i = 0; i < 5 && !done; i++)
            if (strncmp(s, ents[i].ent, strlen(ents[i].ent)) == 0) {
                out[o++] = ents[i].c;
                s += strlen(ents[i].ent);
                done = true;
            }
        if (!done) out[o++] = *s++;
    }
    out[o] = 0;
    return s == e;
}

static void form_append(struct core_buf *b, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    core_result_ignore(core_buf_printf(b, "&%s=", name));
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                     strchr("-_.~", *p);
        if (plain)
            core_result_ignore(core_buf_append_u8(b, *p));
        else
            core_result_ignore(core_buf_printf(b, "%%%c%c", hex[*p >> 4], hex[*p & 15]));
    }
}

/* Reads aws_access_key_id / aws_secret_access_key of [profile] from a shared-credentials file. */
static bool read_credentials(const char *path, const char *profile, char *akid, size_t acap, struct core_buf *secret)
{
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char line[512], section[128] = "";
    bool have_id = false, have_secret = false;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *p = line + strspn(line, " \t");
        if (*p == '[') {
            size_t n = strcspn(p + 1, "]");
            snprintf(section, sizeof section, "%.*s", (int)n, p + 1);
            continue;
        }
        if (strcmp(section, profile) != 0) continue;
        char *eq = strchr(p, '=');
        if (!eq) continue;
        size_t kl = (size_t)(eq - p);
        while (kl && (p[kl - 1] == ' ' || p[kl - 1] == '\t')) kl--;
        char *v = eq + 1 + strspn(eq + 1, " \t");
        size_t vl = strlen(v);
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t')) vl--;
        if (kl == 17 && strncmp(p, "aws_access_key_id", 17) == 0 && vl < acap) {
            memcpy(akid, v, vl);
            akid[vl] = 0;
            have_id = true;
        } else if (kl == 21 && strncmp(p, "aws_secret_access_key", 21) == 0) {
            core_buf_reset(secret);
            have_secret = core_ok(core_buf_append(secret, v, vl));
        }
    }
    core_wipe(line, sizeof line);
    fclose(f);
    return have_id && have_secret;
}

int kmsctl_sts_fetch(const struct kmsctl_sts_request *rq, struct kmsctl_sts_creds *out)
{
    struct url u;
    if (!rq->endpoint || !parse_url(rq->endpoint, &u)) {
        fprintf(stderr, "kmsctl: --endpoint must be http://HOST[:PORT]\n");
        return 2;
    }
    char akid[CORE_MAX_ACCESS_KEY_ID_BYTES + 1] = "";
    DEFER_CLEANUP(struct core_buf secret = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_buf session = {0}, core_buf_cleanup);
    if (!core_ok(core_buf_init_secret(&secret, CORE_MAX_SECRET_KEY_BYTES)) ||
        !core_ok(core_buf_init_secret(&session, CORE_MAX_SESSION_TOKEN_BYTES)))
        return 1;
    if (rq->cred_file) {
        if (!read_credentials(rq->cred_file, rq->profile, akid, sizeof akid, &secret)) {
            fprintf(stderr, "kmsctl: no credentials for [%s] in %s\n", rq->profile, rq->cred_file);
            return 1;
        }
    } else {
        /* KMSD_* first; else the AWS_* of the environment, temporary ones included,
         * so `kmsctl sts exec` can run inside another one (role chaining). */
        const char *id = getenv("KMSD_ACCESS_KEY_ID"), *sec = getenv("KMSD_SECRET_ACCESS_KEY"), *tok = NULL;
        if (!id || !sec) {
            id = getenv("AWS_ACCESS_KEY_ID");
            sec = getenv("AWS_SECRET_ACCESS_KEY");
            tok = getenv("AWS_SESSION_TOKEN");
        }
        if (!id || !sec || strlen(id) >= sizeof akid || !core_ok(core_buf_append_str(&secret, sec)) ||
            (tok && !core_ok(core_buf_append_str(&session, tok)))) {
            fprintf(stderr, "kmsctl: pass --credentials-file or set KMSD_ACCESS_KEY_ID and KMSD_SECRET_ACCESS_KEY "
                            "(or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)\n");
            return 1;
        }
        snprintf(akid, sizeof akid, "%s", id);
    }

    DEFER_CLEANUP(struct core_buf body = {0}, core_buf_cleanup);
    if (!core_ok(core_buf_init(&body, 512, 8192))) return 1;
    core_result_ignore(core_buf_append_str(&body, rq->role_arn ? "Action=AssumeRole" : "Action=GetSessionToken"));
    form_append(&body, "Version", "2011-06-15");
    if (rq->role_arn) {
        form_append(&body, "RoleArn", rq->role_arn);
        form_append(&body, "RoleSessionName", rq->session_name ? rq->session_name : "kmsctl");
        if (rq->external_id) form_append(&body, "ExternalId", rq->external_id);
    }
    if (rq->mfa_serial) form_append(&body, "SerialNumber", rq->mfa_serial);
    if (rq->token_code) form_append(&body, "TokenCode", rq->token_code);
    if (rq->duration) form_append(&body, "DurationSeconds", rq->duration);

    char host[300], amz_date[32], hash[65];
    snprintf(host, sizeof host, "%s:%s", u.host, u.port);
    core_time_amz(core_clock_real(), amz_date);
    sigv4_sha256_hex(core_buf_cursor(&body), hash);
    struct sigv4_header hdrs[4] = {
        {core_cursor_str("host"), core_cursor_str(host)},
        {core_cursor_str("content-type"), core_cursor_str("application/x-www-form-urlencoded; charset=utf-8")},
        {core_cursor_str("x-amz-date"), core_cursor_str(amz_date)},
        {core_cursor_str("x-amz-security-token"), core_buf_cursor(&session)},
    };
    struct sigv4_request req = {.method = core_cursor_str("POST"), .path = core_cursor_str("/"),
                                .headers = hdrs, .n_headers = session.len ? 4 : 3,
                                .payload_hash = core_cursor_from(hash, 64), .now = core_clock_real()};
    struct sigv4_credentials creds = {.access_key_id = core_cursor_str(akid), .secret = core_buf_cursor(&secret),
                                      .session_token = core_buf_cursor(&session)};
    DEFER_CLEANUP(struct core_buf authz = {0}, core_buf_cleanup);
    if (!core_ok(core_buf_init(&authz, 256, 1024)) ||
        !core_ok(sigv4_sign(&req, &creds, core_cursor_str(rq->region), core_cursor_str("sts"),
                            core_cursor_str(amz_date), NULL, &authz)) ||
        !core_ok(core_buf_terminate(&authz))) {
        fprintf(stderr, "kmsctl: cannot sign the request\n");
        return 1;
    }
    DEFER_CLEANUP(struct core_buf head = {0}, core_buf_cleanup);
    if (!core_ok(core_buf_init_secret(&head, 4096 + CORE_MAX_SESSION_TOKEN_BYTES)) ||
        !core_ok(core_buf_printf(&head,
                                 "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded; "
                                 "charset=utf-8\r\nX-Amz-Date: %s\r\nAuthorization: %s\r\nContent-Length: %zu\r\n"
                                 "Connection: close\r\n",
                                 host, amz_date, (const char *)authz.data, body.len)) ||
        (session.len && (!core_ok(core_buf_append_str(&head, "X-Amz-Security-Token: ")) ||
                         !core_ok(core_buf_append_cursor(&head, core_buf_cursor(&session))) ||
                         !core_ok(core_buf_append_str(&head, "\r\n")))) ||
        !core_ok(core_buf_append_str(&head, "\r\n")) || !core_ok(core_buf_terminate(&head)))
        return 1;
    DEFER_CLEANUP(struct core_buf resp = {0}, core_buf_cleanup);
    if (!core_ok(core_buf_init_secret(&resp, RESPONSE_MAX)) ||
        !http_post(&u, (const char *)head.data, core_buf_cursor(&body), &resp)) {
        fprintf(stderr, "kmsctl: no response from %s\n", rq->endpoint);
        return 1;
    }
    struct core_cursor doc = core_buf_cursor(&resp);
    char code[128], msg[1024];
    if (xml_text(doc, "Code", code, sizeof code)) {
        if (!xml_text(doc, "Message", msg, sizeof msg)) msg[0] = 0;
        fprintf(stderr, "kmsctl: %s: %s\n", code, msg);
        return 1;
    }
    if (!xml_text(doc, "AccessKeyId", out->id, sizeof out->id) ||
        !xml_text(doc, "SecretAccessKey", out->secret, sizeof out->secret) ||
        !xml_text(doc, "SessionToken", out->token, sizeof out->token) ||
        !xml_text(doc, "Expiration", out->expiration, sizeof out->expiration)) {
        fprintf(stderr, "kmsctl: unexpected response from %s\n", rq->endpoint);
        return 1;
    }
    return 0;
}

static int credential_process(int argc, char **argv)
{
    struct kmsctl_sts_request rq = {.region = "us-east-1", .profile = "default"};
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return usage();
        if (strcmp(a, "--endpoint") == 0) rq.endpoint = v;
        else if (strcmp(a, "--region") == 0) rq.region = v;
        else if (strcmp(a, "--credentials-file") == 0) rq.cred_file = v;
        else if (strcmp(a, "--profile") == 0) rq.profile = v;
        else if (strcmp(a, "--role-arn") == 0) rq.role_arn = v;
        else if (strcmp(a, "--role-session-name") == 0) rq.session_name = v;
        else if (strcmp(a, "--external-id") == 0) rq.external_id = v;
        else if (strcmp(a, "--duration-seconds") == 0) rq.duration = v;
        else return usage();
    }
    struct kmsctl_sts_creds *c = core_secmem_alloc(sizeof *c);
    if (c == NULL) return 1;
    int rc = kmsctl_sts_fetch(&rq, c);
    if (rc == 0) {
        /* Every value is [A-Za-z0-9+/=:TZ-]: nothing to escape in JSON. */
        printf("{\"Version\": 1, \"AccessKeyId\": \"%s\", \"SecretAccessKey\": \"%s\", \"SessionToken\": \"%s\", "
               "\"Expiration\": \"%s\"}\n",
               c->id, c->secret, c->token, c->expiration);
        rc = fflush(stdout) == 0 ? 0 : 1;
    }
    core_secmem_free(c, sizeof *c);
    return rc;
}

/* ---- keystore-side commands ---- */

struct jwks_arg {
    const char *account;
    struct core_cursor url, jwks;
};

static core_result jwks_txn(struct keystore_txn *txn, void *varg)
{
    struct jwks_arg *a = varg;
    return iam_oidc_set_jwks(txn, a->account, a->url, a->jwks);
}

static int store_command(int argc, char **argv, bool jwks)
{
    struct kmsctl_ks_args ka = {0};
    const char *url = NULL, *file = NULL, *account = "000000000000";
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int st = kmsctl_ks_arg(&ka, a, v);
        if (st < 0) return 2;
        if (st > 0) continue;
        if (!v) return usage();
        if (jwks && strcmp(a, "--url") == 0) url = v;
        else if (jwks && strcmp(a, "--jwks-file") == 0) file = v;
        else if (jwks && strcmp(a, "--account") == 0) account = v;
        else return usage();
    }
    if (!ka.data_dir || (jwks && (!url || !file))) return usage();
    struct keystore *ks = NULL;
    if (kmsctl_ks_open(&ka, &ks, NULL)) return 1;
    core_result r;
    uint32_t id = 0;
    if (jwks) {
        struct core_buf text = {0};
        r = core_buf_init(&text, 4096, 64 * 1024);
        FILE *f = fopen(file, "r");
        if (core_ok(r) && f) {
            text.len = fread(text.data, 1, text.cap, f);
            r = ferror(f) ? (core_result){ERR_IO} : core_result_ok();
        } else if (core_ok(r)) {
            r = (core_result){ERR_IO};
        }
        if (f) fclose(f);
        struct core_cursor host = core_cursor_str(url);
        if (core_cursor_starts_with(host, "https://")) host.ptr += 8, host.len -= 8;
        while (host.len && host.ptr[host.len - 1] == '/') host.len--;
        struct jwks_arg a = {account, host, core_buf_cursor(&text)};
        if (core_ok(r)) r = keystore_write(ks, jwks_txn, &a);
        core_buf_free(&text);
        if (r.err == ERR_NOT_FOUND)
            fprintf(stderr, "kmsctl: no OpenID Connect provider for %s in account %s (create it first with aws iam "
                            "create-open-id-connect-provider)\n", url, account);
        else if (r.err == ERR_PARSE)
            fprintf(stderr, "kmsctl: %s is not a JWKS document ({\"keys\": [...]})\n", file);
    } else {
        r = sts_token_key_rotate(ks, &id);
        if (core_ok(r)) printf("session-token key %u is now current\n", id);
    }
    keystore_close(ks);
    if (!core_ok(r)) {
        if (r.err != ERR_NOT_FOUND && r.err != ERR_PARSE) fprintf(stderr, "kmsctl: failed: %s\n", core_err_desc(r.err));
        return 1;
    }
    return 0;
}

int kmsctl_sts(int argc, char **argv)
{
    if (argc < 2) return usage();
    if (strcmp(argv[1], "exec") == 0 || strcmp(argv[1], "env") == 0) return kmsctl_sts_exec(argc - 1, argv + 1);
    if (strcmp(argv[1], "credential-process") == 0) return credential_process(argc - 1, argv + 1);
    if (strcmp(argv[1], "set-jwks") == 0) return store_command(argc - 1, argv + 1, true);
    if (strcmp(argv[1], "rotate-token-key") == 0) return store_command(argc - 1, argv + 1, false);
    return usage();
}
