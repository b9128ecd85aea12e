/*
 * kmsctl audit verify --data-dir DIR: checks the audit trail's digest chain
 * (docs/audit.md): every sealed file's SHA-256, its Ed25519 signature under
 * the public key kept in the keystore, the link to the previous file's
 * signature, and that no file is missing. Exit 0 when the chain holds, 1
 * when anything was modified, removed or reordered.
 *
 * kmsctl audit lookup --data-dir DIR [--key-id ID] [--principal ARN]
 * [--event-name NAME] [--since WHEN] [--limit N]: prints the matching
 * records (one JSON object per line), oldest first.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "core/core.h"
#include "keystore/keystore.h"
#include "tools/kmsctl.h"

#define MAX_FILES 100000u
#define MAX_LINE (1u << 20)

static int usage(void)
{
    fprintf(stderr, "usage: kmsctl audit verify --data-dir DIR\n"
                    "       kmsctl audit lookup --data-dir DIR [--key-id ID] [--principal ARN] [--event-name NAME]\n"
                    "                           [--since 2026-01-31T00:00:00Z|90m|12h|7d] [--limit N]\n"
                    "  verify opens the keystore:\n" KMSCTL_KS_USAGE);
    return 2;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The audit files' sequence numbers, ascending. */
static size_t list_files(const char *dir, uint32_t *out, size_t cap)
{
    DIR *d = opendir(dir);
    if (d == NULL) return 0;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < cap) {
        char *end;
        if (strncmp(de->d_name, "audit-", 6) != 0 || strlen(de->d_name) != 20) continue;
        unsigned long v = strtoul(de->d_name + 6, &end, 10);
        if (strcmp(end, ".jsonl") == 0 && v > 0 && v < 99999999ul) out[n++] = (uint32_t)v;
    }
    closedir(d);
    qsort(out, n, sizeof *out, cmp_u32);
    return n;
}

/* Calls fn for each line of path (without its newline); stops when fn returns false. */
typedef bool (*line_fn)(void *arg, struct core_cursor line, bool last);
static bool each_line(const char *path, line_fn fn, void *arg)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) return false;
    struct core_buf cur = {0};
    if (!core_ok(core_buf_init(&cur, 4096, MAX_LINE))) {
        fclose(f);
        return false;
    }
    bool ok = true, have = false;
    int ch = 0;
    /* One line of look-ahead so fn learns which line is the last. */
    struct core_buf prev = {0};
    if (!core_ok(core_buf_init(&prev, 4096, MAX_LINE))) ok = false;
    while (ok && (ch = fgetc(f)) != EOF) {
        if (ch == '\n') {
            if (have) ok = fn(arg, core_buf_cursor(&prev), false);
            core_buf_reset(&prev);
            ok = ok && core_ok(core_buf_append_cursor(&prev, core_buf_cursor(&cur)));
            core_buf_reset(&cur);
            have = true;
        } else if (!core_ok(core_buf_append_u8(&cur, (uint8_t)ch))) {
            ok = false;
        }
    }
    if (ok && cur.len) { /* a last line without newline: not a digest line, part of the data */
        if (have) ok = fn(arg, core_buf_cursor(&prev), false);
        have = false;
        ok = ok && fn(arg, core_buf_cursor(&cur), true);
    } else if (ok && have) {
        ok = fn(arg, core_buf_cursor(&prev), true);
    }
    core_buf_free(&cur);
    core_buf_free(&prev);
    fclose(f);
    return ok;
}

/* ---- verify ----------------------------------------------------------------- */

struct vstate {
    crypto_hash_sha256_state h;
    uint64_t records;
    bool sealed;
    json_t *digest; /* the last line, when it is a digest */
    bool unterminated;
};

static bool verify_line(void *arg, struct core_cursor line, bool last)
{
    struct vstate *v = arg;
    if (last && core_cursor_starts_with(line, "{\"kmsdAuditDigest\":")) {
        json_t *j = json_loadb((const char *)line.ptr, line.len, JSON_REJECT_DUPLICATES, NULL);
        json_t *d = j ? json_object_get(j, "kmsdAuditDigest") : NULL;
        if (json_is_object(d)) {
            v->digest = json_incref(d);
            v->sealed = true;
            json_decref(j);
            return true;
        }
        json_decref(j);
    }
    crypto_hash_sha256_update(&v->h, line.ptr, line.len);
    crypto_hash_sha256_update(&v->h, (const uint8_t *)"\n", 1);
    v->records++;
    return true;
}

static int verify(const char *dir, struct keystore *ks)
{
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    struct keystore_txn *txn = NULL;
    struct core_buf v = {0};
    core_result r = core_buf_init(&v, 64, 64);
    if (core_ok(r)) r = keystore_txn_begin(ks, false, &txn);
    if (core_ok(r)) {
        r = keystore_get(txn, "audit_key", core_cursor_str("ed25519-public"), &v);
        keystore_txn_abort(txn);
    }
    if (!core_ok(r) || v.len != sizeof pk) {
        fprintf(stderr, "kmsctl: no audit signing key in this keystore (was kmsd run with --audit?)\n");
        core_buf_free(&v);
        return 1;
    }
    memcpy(pk, v.data, sizeof pk);
    core_buf_free(&v);

    static uint32_t seqs[MAX_FILES];
    size_t n = list_files(dir, seqs, MAX_FILES);
    if (n == 0) {
        fprintf(stderr, "kmsctl: no audit files in %s\n", dir);
        return 1;
    }
    int bad = 0;
    char prev_sig[128] = "";
    uint64_t total = 0;
    if (seqs[0] != 1) {
        printf("audit-%08u.jsonl and earlier are missing: the chain starts at file %u\n", seqs[0] - 1, seqs[0]);
        bad = 1;
    }
    for (size_t i = 0; i < n; i++) {
        char name[40], path[1300];
        snprintf(name, sizeof name, "audit-%08u.jsonl", seqs[i]);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (i > 0 && seqs[i] != seqs[i - 1] + 1) {
            printf("%s: files %u..%u are missing\n", name, seqs[i - 1] + 1, seqs[i] - 1);
            bad = 1;
        }
        struct vstate st = {0};
        crypto_hash_sha256_init(&st.h);
        if (!each_line(path, verify_line, &st)) {
            printf("%s: cannot be read\n", name);
            bad = 1;
            continue;
        }
        if (!st.sealed) {
            if (i + 1 == n) {
                printf("%s: open (not sealed yet): %llu records not covered by a digest\n", name,
                       (unsigned long long)st.records);
            } else {
                printf("%s: NOT SEALED although later files exist (digest line missing or altered)\n", name);
                bad = 1;
            }
            prev_sig[0] = 0;
            continue;
        }
        uint8_t sha[32];
        char hex[65];
        crypto_hash_sha256_final(&st.h, sha);
        sodium_bin2hex(hex, sizeof hex, sha, sizeof sha);
        json_t *d = st.digest;
        const char *dfile = json_string_value(json_object_get(d, "file"));
        const char *dsha = json_string_value(json_object_get(d, "sha256"));
        const char *dsig = json_string_value(json_object_get(d, "signature"));
        json_t *dprev = json_object_get(d, "previousSignature");
        json_int_t dseq = json_integer_value(json_object_get(d, "sequence"));
        json_int_t drec = json_integer_value(json_object_get(d, "records"));
        const char *problem = NULL;
        if (!dfile || !dsha || !dsig || (!json_is_null(dprev) && !json_is_string(dprev)))
            problem = "digest line is malformed";
        else if (strcmp(dfile, name) != 0 || dseq != (json_int_t)seqs[i])
            problem = "digest names another file (files renamed or swapped)";
        else if (strcmp(dsha, hex) != 0)
            problem = "contents do not match the digest (modified after sealing)";
        else if (drec != (json_int_t)st.records)
            problem = "record count does not match the digest";
        else if (i > 0 && strcmp(json_is_string(dprev) ? json_string_value(dprev) : "", prev_sig) != 0)
            problem = "does not chain to the previous file's signature";
        else if (i == 0 && seqs[0] == 1 && !json_is_null(dprev))
            problem = "the first file must not name a previous signature";
        if (!problem) {
            char msg[512];
            int ml = snprintf(msg, sizeof msg, "kmsd-audit-digest-v1\n%s\n%u\n%llu\n%s\n%s\n", name, seqs[i],
                              (unsigned long long)st.records, hex,
                              json_is_string(dprev) ? json_string_value(dprev) : "-");
            uint8_t sig[crypto_sign_BYTES];
            size_t sl = 0;
            if (ml <= 0 || (size_t)ml >= sizeof msg ||
                sodium_base642bin(sig, sizeof sig, dsig, strlen(dsig), NULL, &sl, NULL,
                                  sodium_base64_VARIANT_ORIGINAL) != 0 ||
                sl != sizeof sig ||
                crypto_sign_verify_detached(sig, (const uint8_t *)msg, (unsigned long long)ml, pk) != 0)
                problem = "signature does not verify under the keystore's audit key";
        }
        if (problem) {
            printf("%s: %s\n", name, problem);
            bad = 1;
        } else {
            printf("%s: OK (%llu records)\n", name, (unsigned long long)st.records);
            total += st.records;
        }
        snprintf(prev_sig, sizeof prev_sig, "%s", dsig ? dsig : "");
        json_decref(d);
    }
    if (bad) {
        printf("audit chain BROKEN\n");
        return 1;
    }
    printf("audit chain verified: %zu files, %llu sealed records\n", n, (unsigned long long)total);
    return 0;
}

/* ---- lookup ------------------------------------------------------------------ */

struct lookup {
    const char *key_id, *principal, *event_name;
    char since[32];
    unsigned long limit, printed;
};

static bool key_matches(const json_t *rec, const char *id)
{
    size_t il = strlen(id);
    const json_t *res = json_object_get(rec, "resources");
    size_t i = 0;
    const json_t *r;
    json_array_foreach((json_t *)(uintptr_t)res, i, r)
    {
        const char *arn = json_string_value(json_object_get(r, "ARN"));
        if (!arn) continue;
        size_t al = strlen(arn);
        if (!strcmp(arn, id) || (al > il && arn[al - il - 1] == '/' && !strcmp(arn + al - il, id))) return true;
    }
    const char *kid = json_string_value(json_object_get(json_object_get(rec, "requestParameters"), "keyId"));
    return kid && !strcmp(kid, id);
}

static bool lookup_line(void *arg, struct core_cursor line, bool last)
{
    (void)last;
    struct lookup *q = arg;
    if (q->limit && q->printed >= q->limit) return false;
    if (core_cursor_starts_with(line, "{\"kmsdAuditDigest\":")) return true;
    json_t *rec = json_loadb((const char *)line.ptr, line.len, 0, NULL);
    if (!json_is_object(rec)) {
        json_decref(rec);
        return true;
    }
    bool ok = true;
    const char *t = json_string_value(json_object_get(rec, "eventTime"));
    if (q->since[0]) ok = t && strcmp(t, q->since) >= 0; /* same fixed ISO 8601 form: string order is time order */
    if (ok && q->event_name) {
        const char *e = json_string_value(json_object_get(rec, "eventName"));
        ok = e && !strcmp(e, q->event_name);
    }
    if (ok && q->principal) {
        const json_t *u = json_object_get(rec, "userIdentity");
        const char *arn = json_string_value(json_object_get(u, "arn"));
        const char *pid = json_string_value(json_object_get(u, "principalId"));
        const char *iss = json_string_value(json_object_get(json_object_get(json_object_get(u, "sessionContext"),
                                                                            "sessionIssuer"),
                                                            "arn"));
        ok = (arn && !strcmp(arn, q->principal)) || (pid && !strcmp(pid, q->principal)) ||
             (iss && !strcmp(iss, q->principal));
    }
    if (ok && q->key_id) ok = key_matches(rec, q->key_id);
    json_decref(rec);
    if (ok) {
        fwrite(line.ptr, 1, line.len, stdout);
        fputc('\n', stdout);
        q->printed++;
    }
    return true;
}

/* "2026-01-31T00:00:00Z" as is, or 90m / 12h / 7d before now. */
static bool parse_since(const char *s, char out[32])
{
    size_t n = strlen(s);
    if (n == 20 && s[4] == '-' && s[10] == 'T' && s[19] == 'Z') {
        memcpy(out, s, 21);
        return true;
    }
    if (n < 2) return false;
    uint64_t v = 0;
    int64_t unit = s[n - 1] == 'd' ? 86400 : s[n - 1] == 'h' ? 3600 : s[n - 1] == 'm' ? 60 : s[n - 1] == 's' ? 1 : 0;
    if (!unit || !core_ok(core_cursor_to_u64(core_cursor_from(s, n - 1), 100000ull * 86400, &v))) return false;
    core_time_iso8601(core_clock_service() - (int64_t)v * unit, out);
    return true;
}

static int lookup(const char *dir, struct lookup *q)
{
    static uint32_t seqs[MAX_FILES];
    size_t n = list_files(dir, seqs, MAX_FILES);
    for (size_t i = 0; i < n && (!q->limit || q->printed < q->limit); i++) {
        char path[1300];
        snprintf(path, sizeof path, "%s/audit-%08u.jsonl", dir, seqs[i]);
        each_line(path, lookup_line, q);
    }
    fflush(stdout);
    return 0;
}

int kmsctl_audit(int argc, char **argv)
{
    if (argc < 2) return usage();
    bool is_verify = !strcmp(argv[1], "verify");
    if (!is_verify && strcmp(argv[1], "lookup") != 0) return usage();
    struct kmsctl_ks_args ka = {0};
    struct lookup q = {0};
    for (int i = 2; i < argc; i += 2) { /* every option takes a value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t lim = 0;
        int st = kmsctl_ks_arg(&ka, a, v);
        if (st < 0) return 2;
        if (st > 0) continue;
        if (!v) return usage();
        if (!strcmp(a, "--key-id") && !is_verify) q.key_id = v;
        else if (!strcmp(a, "--principal") && !is_verify) q.principal = v;
        else if (!strcmp(a, "--event-name") && !is_verify) q.event_name = v;
        else if (!strcmp(a, "--since") && !is_verify) {
            if (!parse_since(v, q.since)) return usage();
        } else if (!strcmp(a, "--limit") && !is_verify && core_ok(core_cursor_to_u64(core_cursor_str(v), 1000000, &lim)))
            q.limit = (unsigned long)lim;
        else
            return usage();
    }
    if (!ka.data_dir) return usage();
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/audit", ka.data_dir);
    if (!is_verify) return lookup(dir, &q);
    char mdb[1200];
    snprintf(mdb, sizeof mdb, "%s/data.mdb", ka.data_dir);
    FILE *probe = kmsctl_ks_is_etcd(&ka) ? NULL : fopen(mdb, "rb");
    if (probe == NULL && !kmsctl_ks_is_etcd(&ka)) {
        fprintf(stderr, "kmsctl: no keystore in %s\n", ka.data_dir);
        return 1;
    }
    if (probe) fclose(probe);
    struct keystore *ks = NULL;
    if (kmsctl_ks_open(&ka, &ks, NULL)) return 1;
    int rc = verify(dir, ks);
    keystore_close(ks);
    return rc;
}
