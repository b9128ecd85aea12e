/*
 * The audit trail (--audit): one JSON record per API call, authentication
 * failures included, in CloudTrail's record schema, written to
 * DATA/audit/audit-NNNNNNNN.jsonl. A file is sealed when it reaches
 * --audit-max-bytes, when it is an hour old, at shutdown, and (after a
 * crash) at the next start: a last line carries the SHA-256 of everything
 * before it, the previous file's signature, and an Ed25519 signature over
 * both made with a key kept sealed in the keystore, so the files form a
 * chain in the way CloudTrail's log-file integrity digests do. `kmsctl
 * audit verify` checks it; format in docs/audit.md.
 *
 * CloudTrail record contents:
 * https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
 * userIdentity: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
 *
 * Never written: plaintexts, ciphertext blobs, key material, secret access
 * keys, session tokens, web-identity tokens, MFA codes, passwords. Request
 * parameters pass through a deny list of such fields; responses are
 * recorded only for successful KMS management writes (as CloudTrail shows
 * CreateKey's keyMetadata) through the same list, and never for STS/IAM
 * (whose responses carry credentials).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "kms/kms_seed.h"
#include "server/server_internal.h"

#define AUDIT_TABLE "audit_key"
#define AUDIT_BUF_BYTES (512u * 1024u)
#define AUDIT_MAX_RECORD_BYTES (64u * 1024u)
#define AUDIT_SEAL_AGE_S 3600

static struct {
    pthread_mutex_t mu;
    bool on;
    char dir[1100];
    uint64_t max_bytes;
    int fd;
    uint32_t seq;
    uint64_t size, records;
    int64_t opened;
    crypto_hash_sha256_state hash;
    char prev_sig[128]; /* base64 of the previous file's signature, "" for the first */
    struct core_buf buf;
    struct core_secret sk; /* Ed25519 secret key (64 bytes, the public half included) */
} au = {.mu = PTHREAD_MUTEX_INITIALIZER, .fd = -1};

static void file_path(uint32_t seq, char *out, size_t cap);

/* ---- last usage per key (GetKeyLastUsage), rebuilt from the trail at start ---- */

#define USAGE_BUCKETS 4096u

struct usage {
    struct usage *next;
    char arn[200];
    struct kms_last_usage u;
};

static struct {
    pthread_mutex_t mu;
    struct usage *b[USAGE_BUCKETS];
    int64_t tracking_start; /* 0: not recording */
} lu = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The operations GetKeyLastUsage reports (KeyLastUsageTrackingOperation in the API model). */
static bool tracked(const char *op)
{
    static const char *const ops[] = {"Decrypt", "DeriveSharedSecret", "Encrypt", "GenerateDataKey",
                                      "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext",
                                      "GenerateDataKeyWithoutPlaintext", "GenerateMac", "ReEncrypt", "Sign",
                                      "Verify", "VerifyMac", NULL};
    for (size_t i = 0; ops[i]; i++)
        if (!strcmp(op, ops[i])) return true;
    return false;
}

static size_t usage_bucket(const char *arn)
{
    uint64_t h = 1469598103934665603ull;
    for (; *arn; arn++) h = (h ^ (uint8_t)*arn) * 1099511628211ull;
    return (size_t)(h % USAGE_BUCKETS);
}

static void usage_note(const char *arn, const char *op, int64_t when, const char *event_id, const char *request_id)
{
    if (strlen(arn) >= sizeof ((struct usage *)0)->arn) return;
    pthread_mutex_lock(&lu.mu);
    size_t i = usage_bucket(arn);
    struct usage *e = lu.b[i];
    while (e && strcmp(e->arn, arn) != 0) e = e->next;
    if (e == NULL && (e = calloc(1, sizeof *e)) != NULL) {
        snprintf(e->arn, sizeof e->arn, "%s", arn);
        e->next = lu.b[i];
        lu.b[i] = e;
    }
    if (e && when >= e->u.timestamp) {
        snprintf(e->u.operation, sizeof e->u.operation, "%s", op);
        e->u.timestamp = when;
        snprintf(e->u.event_id, sizeof e->u.event_id, "%s", event_id);
        snprintf(e->u.request_id, sizeof e->u.request_id, "%s", request_id);
    }
    pthread_mutex_unlock(&lu.mu);
}

bool server_audit_last_usage(const char *key_arn, struct kms_last_usage *out, int64_t *tracking_start)
{
    pthread_mutex_lock(&lu.mu);
    *tracking_start = lu.tracking_start;
    struct usage *e = lu.b[usage_bucket(key_arn)];
    while (e && strcmp(e->arn, key_arn) != 0) e = e->next;
    if (e) *out = e->u;
    pthread_mutex_unlock(&lu.mu);
    return e != NULL;
}

static void usage_free(void)
{
    pthread_mutex_lock(&lu.mu);
    for (size_t i = 0; i < USAGE_BUCKETS; i++) {
        while (lu.b[i]) {
            struct usage *n = lu.b[i]->next;
            free(lu.b[i]);
            lu.b[i] = n;
        }
    }
    lu.tracking_start = 0;
    pthread_mutex_unlock(&lu.mu);
}

/* Replays one file of the trail into the usage index. */
static void usage_replay(uint32_t seq)
{
    char path[1200];
    file_path(seq, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (f == NULL) return;
    struct core_buf line = {0};
    if (!core_ok(core_buf_init(&line, 4096, AUDIT_MAX_RECORD_BYTES + 4096))) {
        fclose(f);
        return;
    }
    int ch;
    bool overlong = false;
    while ((ch = fgetc(f)) != EOF) {
        if (ch != '\n') {
            overlong = overlong || !core_ok(core_buf_append_u8(&line, (uint8_t)ch));
            continue;
        }
        json_t *rec = NULL;
        if (!overlong && core_ok(core_json_parse(core_buf_cursor(&line), 16, &rec)) && json_is_object(rec)) {
            const char *src = json_string_value(json_object_get(rec, "eventSource"));
            const char *op = json_string_value(json_object_get(rec, "eventName"));
            const char *ts = json_string_value(json_object_get(rec, "eventTime"));
            int64_t t = 0;
            if (src && !strcmp(src, "kms.amazonaws.com") && op && tracked(op) && ts &&
                core_ok(core_time_parse_iso8601(ts, strlen(ts), &t)) && t &&
                !json_object_get(rec, "errorCode")) {
                const char *eid = json_string_value(json_object_get(rec, "eventID"));
                const char *rid = json_string_value(json_object_get(rec, "requestID"));
                size_t i;
                json_t *r;
                json_array_foreach(json_object_get(rec, "resources"), i, r)
                {
                    const char *arn = json_string_value(json_object_get(r, "ARN"));
                    if (arn && eid && rid) usage_note(arn, op, t, eid, rid);
                }
            }
        }
        json_decref(rec);
        core_buf_reset(&line);
        overlong = false;
    }
    core_buf_free(&line);
    fclose(f);
}

/* ---- the signing key (sealed in the keystore) --------------------------- */

struct key_arg {
    struct core_secret *sk;
    int64_t tracking_start; /* when this keystore's trail began (first --audit start) */
};

/* The trail's start, kept with the key: GetKeyLastUsage's TrackingStartDate. */
static core_result tracking_start(struct keystore_txn *txn, int64_t *out)
{
    DEFER_CLEANUP(struct core_buf v = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&v, 16, 16));
    core_result r = keystore_get(txn, AUDIT_TABLE, core_cursor_str("tracking-start"), &v);
    if (core_ok(r)) {
        struct core_cursor c = core_buf_cursor(&v);
        uint64_t t = 0;
        GUARD(core_cursor_read_be64(&c, &t));
        *out = (int64_t)t;
        CORE_OK;
    }
    ENSURE(r.err == ERR_NOT_FOUND, r.err);
    *out = core_clock_service();
    core_buf_reset(&v);
    GUARD(core_buf_append_be64(&v, (uint64_t)*out));
    return keystore_put(txn, AUDIT_TABLE, core_cursor_str("tracking-start"), core_buf_cursor(&v), 0);
}

static core_result key_fn(struct keystore_txn *txn, void *argp)
{
    struct key_arg *a = argp;
    GUARD(tracking_start(txn, &a->tracking_start));
    DEFER_CLEANUP(struct core_buf v = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&v, 128));
    core_result r = keystore_get(txn, AUDIT_TABLE, core_cursor_str("ed25519"), &v);
    if (core_ok(r)) {
        ENSURE(v.len == crypto_sign_SECRETKEYBYTES, ERR_TAMPERED);
        return core_secret_copy(a->sk, v.data, v.len);
    }
    ENSURE(r.err == ERR_NOT_FOUND, r.err);
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    GUARD(core_secret_alloc(a->sk, crypto_sign_SECRETKEYBYTES));
    crypto_sign_keypair(pk, a->sk->ptr);
    GUARD(keystore_put(txn, AUDIT_TABLE, core_cursor_str("ed25519"), core_secret_cursor(a->sk), 0));
    /* The public half on its own, so verifying never reads the secret. */
    return keystore_put(txn, AUDIT_TABLE, core_cursor_str("ed25519-public"), core_cursor_from(pk, sizeof pk), 0);
}

/* ---- files ----------------------------------------------------------------- */

static void file_name(uint32_t seq, char out[40]) { snprintf(out, 40, "audit-%08u.jsonl", seq); }

static void file_path(uint32_t seq, char *out, size_t cap)
{
    char name[40];
    file_name(seq, name);
    snprintf(out, cap, "%s/%s", au.dir, name);
}

static bool write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w <= 0) {
            if (w < 0 && errno == EINTR) continue;
            return false;
        }
        b += w;
        n -= (size_t)w;
    }
    return true;
}

/* The digest line for file seq whose content hashed to sha (32 bytes). */
static core_result digest_line(uint32_t seq, uint64_t records, const uint8_t sha[32], struct core_buf *out,
                               char sig_b64[128])
{
    char name[40], hex[65];
    file_name(seq, name);
    sodium_bin2hex(hex, sizeof hex, sha, 32);
    /* The signed message: docs/audit.md, "Digest". */
    char msg[512];
    int n = snprintf(msg, sizeof msg, "kmsd-audit-digest-v1\n%s\n%u\n%llu\n%s\n%s\n", name, seq,
                     (unsigned long long)records, hex, au.prev_sig[0] ? au.prev_sig : "-");
    ENSURE(n > 0 && (size_t)n < sizeof msg, ERR_LIMIT);
    uint8_t sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, NULL, (const uint8_t *)msg, (unsigned long long)n, au.sk.ptr);
    sodium_bin2base64(sig_b64, 128, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
    return core_buf_printf(out,
                           "{\"kmsdAuditDigest\":{\"version\":1,\"file\":\"%s\",\"sequence\":%u,\"records\":%llu,"
                           "\"sha256\":\"%s\",\"previousSignature\":%s%s%s,\"signature\":\"%s\"}}\n",
                           name, seq, (unsigned long long)records, hex, au.prev_sig[0] ? "\"" : "",
                           au.prev_sig[0] ? au.prev_sig : "null", au.prev_sig[0] ? "\"" : "", sig_b64);
}

/* Reads the signature of sealed file seq into out (""/false when it is not sealed). */
static bool read_signature(uint32_t seq, char out[128], bool *sealed, uint64_t *size)
{
    char path[1200];
    file_path(seq, path, sizeof path);
    *sealed = false;
    out[0] = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) return false;
    char line[1024], last[1024] = "";
    bool last_complete = true;
    while (fgets(line, sizeof line, f)) {
        size_t l = strlen(line);
        last_complete = l && line[l - 1] == '\n';
        memcpy(last, line, l + 1);
    }
    *size = (uint64_t)ftell(f);
    fclose(f);
    const char *k = "{\"kmsdAuditDigest\":";
    if (!last_complete || strncmp(last, k, strlen(k)) != 0) return true;
    const char *s = strstr(last, "\"signature\":\"");
    if (s == NULL) return true;
    s += 13;
    size_t n = strcspn(s, "\"");
    if (n == 0 || n >= 128) return true;
    memcpy(out, s, n);
    out[n] = 0;
    *sealed = true;
    return true;
}

/* Seals an unsealed file left by a previous run (a crash): hash it as it is and append the digest. */
static core_result seal_leftover(uint32_t seq)
{
    char path[1200];
    file_path(seq, path, sizeof path);
    int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
    ENSURE(fd >= 0, ERR_IO);
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    uint8_t chunk[65536];
    ssize_t n;
    uint64_t lines = 0;
    uint8_t lastc = '\n';
    off_t off = 0;
    while ((n = pread(fd, chunk, sizeof chunk, off)) > 0) {
        crypto_hash_sha256_update(&h, chunk, (unsigned long long)n);
        for (ssize_t i = 0; i < n; i++) lines += chunk[i] == '\n';
        lastc = chunk[n - 1];
        off += n;
    }
    if (lastc != '\n') { /* a record cut short by the crash: end its line */
        if (!write_all(fd, "\n", 1)) {
            close(fd);
            BAIL(ERR_IO);
        }
        crypto_hash_sha256_update(&h, (const uint8_t *)"\n", 1);
        lines++;
    }
    uint8_t sha[32];
    crypto_hash_sha256_final(&h, sha);
    DEFER_CLEANUP(struct core_buf d = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&d, 512, 2048));
    char sig[128];
    core_result r = digest_line(seq, lines, sha, &d, sig);
    if (core_ok(r) && !(write_all(fd, d.data, d.len) && fsync(fd) == 0)) r = core_result_fail_at(ERR_IO, __FILE__, __LINE__);
    close(fd);
    GUARD(r);
    snprintf(au.prev_sig, sizeof au.prev_sig, "%s", sig);
    core_log(CORE_LOG_WARN, "audit: sealed %s left open by an earlier run (%llu records)", path,
             (unsigned long long)lines);
    CORE_OK;
}

static core_result open_next(void)
{
    au.seq++;
    char path[1200];
    file_path(au.seq, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    ENSURE(fd >= 0, ERR_IO);
    au.fd = fd;
    au.size = 0;
    au.records = 0;
    au.opened = core_clock_real();
    crypto_hash_sha256_init(&au.hash);
    CORE_OK;
}

/* Caller holds au.mu. */
static void flush_locked(void)
{
    if (au.fd < 0 || au.buf.len == 0) return;
    if (!write_all(au.fd, au.buf.data, au.buf.len))
        core_log(CORE_LOG_ERROR, "audit: write failed: %s", strerror(errno));
    crypto_hash_sha256_update(&au.hash, au.buf.data, au.buf.len);
    au.size += au.buf.len;
    au.buf.len = 0;
}

/* Caller holds au.mu: flush, append the digest, fsync, close. */
static core_result seal_locked(void)
{
    if (au.fd < 0) CORE_OK;
    flush_locked();
    uint8_t sha[32];
    crypto_hash_sha256_final(&au.hash, sha);
    DEFER_CLEANUP(struct core_buf d = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&d, 512, 2048));
    char sig[128];
    GUARD(digest_line(au.seq, au.records, sha, &d, sig));
    bool ok = write_all(au.fd, d.data, d.len) && fsync(au.fd) == 0;
    close(au.fd);
    au.fd = -1;
    ENSURE(ok, ERR_IO);
    snprintf(au.prev_sig, sizeof au.prev_sig, "%s", sig);
    CORE_OK;
}

core_result server_audit_open(struct server *srv)
{
    const struct server_config *cfg = server_get_config(srv);
    if (!cfg->audit) CORE_OK;
    snprintf(au.dir, sizeof au.dir, "%s/audit", cfg->data_dir);
    if (mkdir(au.dir, 0700) != 0 && errno != EEXIST) {
        core_log(CORE_LOG_ERROR, "audit: cannot create %s: %s", au.dir, strerror(errno));
        BAIL(ERR_IO);
    }
    au.max_bytes = cfg->audit_max_bytes;
    struct key_arg ka = {.sk = &au.sk};
    GUARD(keystore_write(server_get_keystore(srv), key_fn, &ka));
    /* The newest file: sealed (chain from its signature) or left open by a crash (seal it now). */
    DIR *d = opendir(au.dir);
    ENSURE(d != NULL, ERR_IO);
    uint32_t max = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        unsigned long v;
        char *end;
        if (strncmp(de->d_name, "audit-", 6) != 0 || strlen(de->d_name) != 20) continue;
        v = strtoul(de->d_name + 6, &end, 10);
        if (strcmp(end, ".jsonl") == 0 && v > max && v < 99999999ul) max = (uint32_t)v;
    }
    closedir(d);
    au.seq = max;
    /* GetKeyLastUsage is served from the trail: replay it. */
    for (uint32_t s = 1; s <= max; s++) usage_replay(s);
    lu.tracking_start = ka.tracking_start;
    if (max) {
        bool sealed = 0;
        uint64_t size = 0;
        char sig[128];
        read_signature(max, sig, &sealed, &size);
        if (sealed) {
            snprintf(au.prev_sig, sizeof au.prev_sig, "%s", sig);
        } else {
            if (max > 1) {
                read_signature(max - 1, sig, &sealed, &size);
                snprintf(au.prev_sig, sizeof au.prev_sig, "%s", sealed ? sig : "");
            }
            GUARD(seal_leftover(max));
        }
    }
    GUARD(core_buf_init(&au.buf, 65536, AUDIT_BUF_BYTES + AUDIT_MAX_RECORD_BYTES));
    GUARD(open_next());
    au.on = true;
    core_log(CORE_LOG_INFO, "audit trail in %s (file %u)", au.dir, au.seq);
    CORE_OK;
}

void server_audit_tick(void)
{
    if (!au.on) return;
    pthread_mutex_lock(&au.mu);
    flush_locked();
    bool full = au.size >= au.max_bytes;
    bool old = au.records && core_clock_real() - au.opened >= AUDIT_SEAL_AGE_S;
    if (full || old) {
        core_result r = seal_locked();
        if (core_ok(r)) r = open_next();
        if (!core_ok(r)) core_log(CORE_LOG_ERROR, "audit: cannot rotate: %s", core_err_desc(r.err));
    }
    pthread_mutex_unlock(&au.mu);
}

void server_audit_close(void)
{
    if (!au.on) return;
    pthread_mutex_lock(&au.mu);
    core_result r = seal_locked();
    if (!core_ok(r)) core_log(CORE_LOG_ERROR, "audit: cannot seal the last file: %s", core_err_desc(r.err));
    au.on = false;
    usage_free();
    core_buf_free(&au.buf);
    core_secret_free(&au.sk);
    pthread_mutex_unlock(&au.mu);
}

/* ---- records ------------------------------------------------------------- */

/* Client-supplied text as a JSON string: printable ASCII kept, the rest '?', capped. */
static json_t *safe_str(struct core_cursor s, size_t cap)
{
    char buf[1024];
    size_t n = s.len < cap ? s.len : cap;
    if (n > sizeof buf - 1) n = sizeof buf - 1;
    for (size_t i = 0; i < n; i++) buf[i] = (s.ptr[i] >= 0x20 && s.ptr[i] < 0x7f) ? (char)s.ptr[i] : '?';
    return json_stringn(buf, n);
}

/* Fields never written, whatever the operation (request and response). */
static bool secret_field(const char *k)
{
    static const char *const deny[] = {
        "Plaintext",        "CiphertextBlob",  "CiphertextForRecipient", "KeyMaterial",     "EncryptedKeyMaterial",
        "ImportToken",      "PrivateKeyPlaintext", "PrivateKeyCiphertextBlob", "GrantToken", "GrantTokens",
        "SecretAccessKey",  "SessionToken",    "WebIdentityToken",       "SAMLAssertion",   "TokenCode",
        "Password",         "NewPassword",     "OldPassword",            "PrivateKey",      "Credentials",
        "AccessKey",        "Base32StringSeed", "QRCodePNG",             "AuthenticationCode1", "AuthenticationCode2",
        "Recipient",        "Mac",             "Signature",              "Message",         NULL};
    for (size_t i = 0; deny[i]; i++)
        if (!strcmp(k, deny[i])) return true;
    return false;
}

/* CloudTrail writes parameter names in lowerCamelCase ("keyId", "encryptionContext"). */
static void lower_first(const char *k, char *out, size_t cap)
{
    snprintf(out, cap, "%s", k);
    if (out[0] >= 'A' && out[0] <= 'Z') out[0] = (char)(out[0] - 'A' + 'a');
}

/* A copy of a JSON object with lowerCamelCase keys and no secret fields (top level and nested objects). */
static json_t *clean_json(const json_t *in, unsigned depth)
{
    if (json_is_object(in) && depth < 6) {
        json_t *o = json_object();
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)(uintptr_t)in, k, v)
        {
            if (secret_field(k)) continue;
            char lk[128];
            lower_first(k, lk, sizeof lk);
            /* Encryption-context keys are data, not field names: keep them as they are. */
            json_object_set_new(o, lk, strcmp(k, "EncryptionContext") && strcmp(k, "SourceEncryptionContext") &&
                                               strcmp(k, "DestinationEncryptionContext")
                                           ? clean_json(v, depth + 1)
                                           : json_deep_copy(v));
        }
        return o;
    }
    if (json_is_array(in) && depth < 6) {
        json_t *a = json_array();
        size_t i = 0;
        json_t *v;
        json_array_foreach((json_t *)(uintptr_t)in, i, v) json_array_append_new(a, clean_json(v, depth + 1));
        return a;
    }
    return json_deep_copy(in);
}

static bool is_crypto(const char *op)
{
    static const char *const ops[] = {"Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey",
                                      "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair",
                                      "GenerateDataKeyPairWithoutPlaintext", "GenerateRandom", "GenerateMac",
                                      "VerifyMac", "Sign", "Verify", "DeriveSharedSecret", NULL};
    for (size_t i = 0; ops[i]; i++)
        if (!strcmp(op, ops[i])) return true;
    return false;
}

/* The access key id named in an Authorization header (for records of failed authentication). */
static json_t *header_key_id(const struct http_request *req)
{
    struct core_cursor auth = {0};
    if (!http_request_header(req, "authorization", &auth)) return NULL;
    for (size_t i = 0; i + 11 < auth.len; i++)
        if (core_cursor_starts_with(core_cursor_from(auth.ptr + i, auth.len - i), "Credential=")) {
            struct core_cursor c = core_cursor_from(auth.ptr + i + 11, auth.len - i - 11), id = {0};
            core_cursor_split(&c, '/', &id);
            for (size_t j = 0; j < id.len; j++)
                if (!((id.ptr[j] >= 'A' && id.ptr[j] <= 'Z') || (id.ptr[j] >= '0' && id.ptr[j] <= '9'))) return NULL;
            return id.len && id.len <= 128 ? json_stringn((const char *)id.ptr, id.len) : NULL;
        }
    return NULL;
}

static json_t *user_identity(const struct server_audit_event *ev)
{
    const struct core_principal *p = &ev->caller->principal;
    json_t *u = json_object();
    if (!p->account[0]) { /* not authenticated, or an unsigned call */
        json_object_set_new(u, "type", json_string(!strcmp(ev->operation, "AssumeRoleWithWebIdentity")
                                                       ? "WebIdentityUser"
                                                       : "Unknown"));
        json_t *kid = header_key_id(ev->req);
        if (kid) json_object_set_new(u, "accessKeyId", kid);
        return u;
    }
    static const char *const types[] = {"Root", "IAMUser", "AssumedRole", "FederatedUser", "Unknown"};
    json_object_set_new(u, "type", json_string(types[p->type]));
    json_object_set_new(u, "principalId", json_string(p->user_id));
    json_object_set_new(u, "arn", json_string(p->arn));
    json_object_set_new(u, "accountId", json_string(p->account));
    if (p->access_key_id[0]) json_object_set_new(u, "accessKeyId", json_string(p->access_key_id));
    if (p->type == CORE_PRINCIPAL_USER) {
        const char *slash = strrchr(p->arn, '/');
        if (slash) json_object_set_new(u, "userName", json_string(slash + 1));
    }
    if (!p->temporary) return u;
    json_t *sc = json_object(), *attrs = json_object();
    char ts[32];
    core_time_iso8601(p->token_issued, ts);
    json_object_set_new(attrs, "creationDate", json_string(ts));
    json_object_set_new(attrs, "mfaAuthenticated", json_string(p->mfa ? "true" : "false"));
    json_object_set_new(sc, "attributes", attrs);
    if (ev->caller->has_session && ev->caller->session_info.role_arn.len &&
        (p->type == CORE_PRINCIPAL_ASSUMED_ROLE || p->type == CORE_PRINCIPAL_FEDERATED)) {
        struct core_cursor issuer = ev->caller->session_info.role_arn;
        json_t *si = json_object();
        bool role = p->type == CORE_PRINCIPAL_ASSUMED_ROLE;
        json_object_set_new(si, "type", json_string(role ? "Role" : "IAMUser"));
        if (role) {
            size_t colon = strcspn(p->user_id, ":");
            json_object_set_new(si, "principalId", json_stringn(p->user_id, colon));
        }
        json_object_set_new(si, "arn", safe_str(issuer, 600));
        json_object_set_new(si, "accountId", json_string(p->account));
        size_t last = issuer.len;
        while (last > 0 && issuer.ptr[last - 1] != '/') last--;
        json_object_set_new(si, "userName", safe_str(core_cursor_from(issuer.ptr + last, issuer.len - last), 128));
        json_object_set_new(sc, "sessionIssuer", si);
    }
    json_object_set_new(u, "sessionContext", sc);
    return u;
}

static void uuid4(char out[40])
{
    uint8_t r[16];
    core_random(r, sizeof r);
    r[6] = (uint8_t)((r[6] & 0x0f) | 0x40);
    r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
    snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3],
             r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

/* The KMS key the call was about, as an ARN: from the response, else from the request. */
static void kms_resource(const struct server_audit_event *ev, const json_t *in, const json_t *out, json_t *resources,
                         char *recipient, size_t cap)
{
    const char *arn = NULL;
    char built[256];
    const json_t *md = out ? json_object_get(out, "KeyMetadata") : NULL;
    const char *cands[] = {md ? json_string_value(json_object_get(md, "Arn")) : NULL,
                           out ? json_string_value(json_object_get(out, "KeyId")) : NULL,
                           in ? json_string_value(json_object_get(in, "KeyId")) : NULL,
                           in ? json_string_value(json_object_get(in, "DestinationKeyId")) : NULL};
    for (size_t i = 0; i < 4 && !arn; i++)
        if (cands[i] && !strncmp(cands[i], "arn:", 4) && strstr(cands[i], ":key/")) arn = cands[i];
    const char *id = in ? json_string_value(json_object_get(in, "KeyId")) : NULL;
    if (!arn && id && kms_seed_key_id_valid(core_cursor_str(id)) && ev->caller->principal.account[0]) {
        const char *region = ev->caller->principal.region[0] ? ev->caller->principal.region : "us-east-1";
        snprintf(built, sizeof built, "arn:%s:kms:%s:%s:key/%s", core_partition_of(region), region, ev->caller->principal.account, id);
        arn = built;
    }
    const char *src = out ? json_string_value(json_object_get(out, "SourceKeyId")) : NULL;
    if (src && !strncmp(src, "arn:", 4) && strstr(src, ":key/") && strlen(src) < 200 && (!arn || strcmp(src, arn))) {
        json_t *r = json_object();
        const char *q = src;
        for (int i = 0; i < 4 && q; i++) q = strchr(q, ':') ? strchr(q, ':') + 1 : NULL;
        json_object_set_new(r, "accountId", json_stringn(q ? q : "", q ? strcspn(q, ":") : 0));
        json_object_set_new(r, "type", json_string("AWS::KMS::Key"));
        json_object_set_new(r, "ARN", json_string(src));
        json_array_append_new(resources, r);
    }
    if (!arn || strlen(arn) > 200) return;
    /* arn:aws:kms:REGION:ACCOUNT:key/ID */
    const char *p = arn;
    for (int i = 0; i < 4 && p; i++) p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL;
    char account[16] = "";
    if (p) snprintf(account, sizeof account, "%.*s", (int)strcspn(p, ":"), p);
    json_t *r = json_object();
    json_object_set_new(r, "accountId", json_string(account));
    json_object_set_new(r, "type", json_string("AWS::KMS::Key"));
    json_object_set_new(r, "ARN", json_string(arn));
    json_array_append_new(resources, r);
    if (account[0]) snprintf(recipient, cap, "%s", account);
}

void server_audit_record(struct server *srv, const struct server_audit_event *ev)
{
    (void)srv;
    if (!au.on) return;
    static const char *const sources[] = {"kms.amazonaws.com", "sts.amazonaws.com", "iam.amazonaws.com"};
    const struct core_principal *p = &ev->caller->principal;
    json_t *rec = json_object();
    char ts[32], eid[40], recipient[16];
    core_time_iso8601(core_clock_service(), ts);
    uuid4(eid);
    snprintf(recipient, sizeof recipient, "%s", p->account);
    json_object_set_new(rec, "eventVersion", json_string("1.08"));
    json_object_set_new(rec, "userIdentity", user_identity(ev));
    json_object_set_new(rec, "eventTime", json_string(ts));
    json_object_set_new(rec, "eventSource", json_string(sources[ev->svc]));
    json_object_set_new(rec, "eventName", json_string(ev->operation[0] ? ev->operation : "Unknown"));
    json_object_set_new(rec, "awsRegion", json_string(p->region[0] ? p->region : server_get_config(srv)->region));
    json_object_set_new(rec, "sourceIPAddress", json_string(ev->req->source_ip));
    struct core_cursor ua = {0};
    http_request_header(ev->req, "user-agent", &ua);
    json_object_set_new(rec, "userAgent", safe_str(ua, 512));
    if (ev->error_code[0]) {
        json_object_set_new(rec, "errorCode", json_string(ev->error_code));
        json_object_set_new(rec, "errorMessage", safe_str(ev->error_message, 1000));
    }

    json_t *params = json_null(), *response = json_null(), *resources = json_array();
    DEFER_CLEANUP(json_t *in = NULL, core_json_cleanup);
    DEFER_CLEANUP(json_t *out = NULL, core_json_cleanup);
    if (ev->svc == SERVER_SVC_KMS) {
        if (core_ok(core_json_parse(ev->req->body, 16, &in)) && json_is_object(in)) {
            json_decref(params);
            params = clean_json(in, 0);
        }
        if (!ev->error_code[0] && ev->resp->body.len &&
            core_ok(core_json_parse(core_buf_cursor(&ev->resp->body), 16, &out)) && json_is_object(out) &&
            !is_crypto(ev->operation) && server_request_writes(ev->req)) {
            json_decref(response);
            response = clean_json(out, 0);
        }
        kms_resource(ev, in, out, resources, recipient, sizeof recipient);
    } else if (ev->form && ev->form->n) {
        json_decref(params);
        params = json_object();
        for (size_t i = 0; i < ev->form->n; i++) {
            const struct core_form_param *fp = &ev->form->params[i];
            char key[128];
            size_t kl = fp->name.len < sizeof key - 1 ? fp->name.len : sizeof key - 1;
            memcpy(key, fp->name.ptr, kl);
            key[kl] = 0;
            bool printable = true;
            for (size_t j = 0; j < kl; j++) printable = printable && key[j] > 0x20 && key[j] < 0x7f;
            if (!printable || !strcmp(key, "Action") || !strcmp(key, "Version") || secret_field(key)) continue;
            char lk[128];
            lower_first(key, lk, sizeof lk);
            json_object_set_new(params, lk, safe_str(fp->value, 1000));
        }
    }
    if (ev->svc == SERVER_SVC_KMS && !ev->error_code[0] && tracked(ev->operation)) {
        int64_t now = core_clock_service();
        size_t i;
        json_t *r;
        json_array_foreach(resources, i, r)
        {
            const char *arn = json_string_value(json_object_get(r, "ARN"));
            if (arn) usage_note(arn, ev->operation, now, eid, ev->resp->request_id);
        }
    }
    json_object_set_new(rec, "requestParameters", params);
    json_object_set_new(rec, "responseElements", response);
    json_object_set_new(rec, "requestID", json_string(ev->resp->request_id));
    json_object_set_new(rec, "eventID", json_string(eid));
    json_object_set_new(rec, "readOnly", json_boolean(!server_request_writes(ev->req)));
    json_object_set_new(rec, "resources", resources);
    json_object_set_new(rec, "eventType", json_string("AwsApiCall"));
    json_object_set_new(rec, "managementEvent", json_true());
    json_object_set_new(rec, "recipientAccountId", json_string(recipient[0] ? recipient : p->account));
    json_object_set_new(rec, "eventCategory", json_string("Management"));

    DEFER_CLEANUP(struct core_buf line = {0}, core_buf_cleanup);
    core_result r = core_buf_init(&line, 2048, AUDIT_MAX_RECORD_BYTES);
    if (core_ok(r)) r = core_json_dump(rec, &line);
    if (r.err == ERR_LIMIT) { /* an oversized request: keep the record, drop the parameters */
        json_object_set_new(rec, "requestParameters", json_pack("{s:b}", "truncated", 1));
        json_object_set_new(rec, "responseElements", json_null());
        core_buf_reset(&line);
        r = core_json_dump(rec, &line);
    }
    json_decref(rec);
    if (core_ok(r)) r = core_buf_append_u8(&line, '\n');
    if (!core_ok(r)) {
        core_log(CORE_LOG_ERROR, "audit: record for request %s not written: %s", ev->resp->request_id,
                 core_err_desc(r.err));
        return;
    }
    pthread_mutex_lock(&au.mu);
    if (au.buf.len + line.len > AUDIT_BUF_BYTES) flush_locked();
    core_result_ignore(core_buf_append(&au.buf, line.data, line.len));
    au.records++;
    pthread_mutex_unlock(&au.mu);
}
