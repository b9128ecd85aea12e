#include "keystore/keystore_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

/*
 * Master key sources (a key file or an Argon2id-stretched passphrase), the
 * unencrypted "master" meta record that says which one is current, and the
 * verifier that tells a wrong key apart from a damaged store.
 */

size_t ks_master_rec_encode(const struct ks_master_rec *r, uint8_t out[KS_MAX_MASTER_REC_BYTES])
{
    size_t n = 0;
    out[n++] = r->source;
    for (int s = 56; s >= 0; s -= 8) out[n++] = (uint8_t)(r->generation >> s);
    if (r->source == KEYSTORE_MASTER_PASSPHRASE) {
        out[n++] = r->alg;
        for (int s = 56; s >= 0; s -= 8) out[n++] = (uint8_t)(r->opslimit >> s);
        for (int s = 56; s >= 0; s -= 8) out[n++] = (uint8_t)(r->memlimit >> s);
        memcpy(out + n, r->salt, KS_SALT_BYTES);
        n += KS_SALT_BYTES;
    }
    return n;
}

core_result ks_master_rec_decode(struct core_cursor in, struct ks_master_rec *r)
{
    *r = (struct ks_master_rec){0};
    /* This record is not sealed (it says how to derive the key); a damaged
     * one is reported as tampering, and the verifier's AD covers it all. */
    ENSURE(core_ok(core_cursor_read_u8(&in, &r->source)), ERR_TAMPERED);
    ENSURE(core_ok(core_cursor_read_be64(&in, &r->generation)), ERR_TAMPERED);
    if (r->source == KEYSTORE_MASTER_KEY_FILE) {
        ENSURE(in.len == 0, ERR_TAMPERED);
        CORE_OK;
    }
    ENSURE(r->source == KEYSTORE_MASTER_PASSPHRASE, ERR_TAMPERED);
    struct core_cursor salt;
    ENSURE(core_ok(core_cursor_read_u8(&in, &r->alg)), ERR_TAMPERED);
    ENSURE(core_ok(core_cursor_read_be64(&in, &r->opslimit)), ERR_TAMPERED);
    ENSURE(core_ok(core_cursor_read_be64(&in, &r->memlimit)), ERR_TAMPERED);
    ENSURE(core_ok(core_cursor_advance(&in, KS_SALT_BYTES, &salt)) && in.len == 0, ERR_TAMPERED);
    memcpy(r->salt, salt.ptr, KS_SALT_BYTES);
    /* Bounds keep a doctored record from asking for unbounded work. */
    ENSURE(r->alg == crypto_pwhash_ALG_ARGON2ID13, ERR_TAMPERED);
    ENSURE(r->opslimit >= crypto_pwhash_OPSLIMIT_MIN && r->opslimit <= KS_MAX_PWHASH_OPSLIMIT, ERR_TAMPERED);
    ENSURE(r->memlimit >= crypto_pwhash_MEMLIMIT_MIN && r->memlimit <= KS_MAX_PWHASH_MEMLIMIT, ERR_TAMPERED);
    CORE_OK;
}

core_result ks_master_rec_new(const struct keystore_options *opts, uint64_t generation, struct ks_master_rec *r)
{
    *r = (struct ks_master_rec){.source = (uint8_t)opts->source, .generation = generation};
    if (opts->source == KEYSTORE_MASTER_KEY_FILE) CORE_OK;
    ENSURE(opts->source == KEYSTORE_MASTER_PASSPHRASE, ERR_INVALID_ARG);
    r->alg = crypto_pwhash_ALG_ARGON2ID13;
    r->opslimit = opts->pwhash_opslimit ? opts->pwhash_opslimit : crypto_pwhash_OPSLIMIT_MODERATE;
    r->memlimit = opts->pwhash_memlimit ? opts->pwhash_memlimit : crypto_pwhash_MEMLIMIT_MODERATE;
    ENSURE(r->opslimit >= crypto_pwhash_OPSLIMIT_MIN && r->opslimit <= KS_MAX_PWHASH_OPSLIMIT, ERR_INVALID_ARG);
    ENSURE(r->memlimit >= crypto_pwhash_MEMLIMIT_MIN && r->memlimit <= KS_MAX_PWHASH_MEMLIMIT, ERR_INVALID_ARG);
    randombytes_buf(r->salt, KS_SALT_BYTES);
    CORE_OK;
}

core_result ks_derive_passphrase(const struct ks_master_rec *r, struct core_cursor pass, struct core_secret *key)
{
    ENSURE(pass.len > 0 && pass.ptr != NULL, ERR_INVALID_ARG);
    ENSURE(pass.len <= crypto_pwhash_PASSWD_MAX, ERR_LIMIT);
    GUARD(core_secret_alloc(key, KS_KEY_BYTES));
    if (crypto_pwhash(key->ptr, KS_KEY_BYTES, (const char *)pass.ptr, pass.len, r->salt, r->opslimit,
                      (size_t)r->memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        core_secret_free(key);
        core_log(CORE_LOG_ERROR, "keystore: Argon2id with %llu MiB failed (out of memory?)",
                 (unsigned long long)(r->memlimit >> 20));
        BAIL(ERR_NOMEM);
    }
    CORE_OK;
}

/* AD = version | NUL | "verifier" | master record: a table name is never
 * empty, so this cannot collide with a record's AD, and it binds the salt,
 * cost and generation to the key that opens it. */
static size_t verifier_ad(const struct ks_master_rec *r, uint8_t ad[KS_MAX_AD_BYTES])
{
    static const char label[] = KS_META_VERIFIER;
    size_t n = 0;
    ad[n++] = KS_FORMAT_VERSION;
    ad[n++] = 0;
    memcpy(ad + n, label, sizeof label - 1);
    n += sizeof label - 1;
    return n + ks_master_rec_encode(r, ad + n);
}
_Static_assert(2 + sizeof(KS_META_VERIFIER) - 1 + KS_MAX_MASTER_REC_BYTES <= KS_MAX_AD_BYTES, "AD room");

void ks_verifier_seal(const uint8_t *key, const struct ks_master_rec *r, uint8_t *out)
{
    uint8_t ad[KS_MAX_AD_BYTES];
    size_t adlen = verifier_ad(r, ad);
    ks_seal(key, core_cursor_from(ad, adlen), core_cursor_str(KS_VERIFIER_TEXT), out);
}

bool ks_verifier_check(const uint8_t *key, const struct ks_master_rec *r, struct core_cursor sealed)
{
    uint8_t ad[KS_MAX_AD_BYTES];
    size_t adlen = verifier_ad(r, ad);
    uint8_t text[sizeof KS_VERIFIER_TEXT];
    size_t n = 0;
    if (sealed.len != KS_VERIFIER_SEALED_BYTES) return false;
    if (!core_ok(ks_open(key, core_cursor_from(ad, adlen), sealed, text, &n))) return false;
    return core_cursor_eq(core_cursor_from(text, n), core_cursor_str(KS_VERIFIER_TEXT));
}

core_result ks_path_join(char out[PATH_MAX], const char *a, const char *b)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", a, b);
    ENSURE(n > 0 && n < PATH_MAX, ERR_LIMIT);
    CORE_OK;
}

core_result ks_fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    size_t n = strlen(path);
    ENSURE(n < sizeof dir, ERR_LIMIT);
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    if (slash == NULL) {
        dir[0] = '.';
        dir[1] = 0;
    } else if (slash == dir) {
        dir[1] = 0;
    } else {
        *slash = 0;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ENSURE(fd >= 0, ERR_IO);
    int rc = fsync(fd);
    close(fd);
    ENSURE(rc == 0, ERR_IO);
    CORE_OK;
}

core_result ks_keyfile_read(const char *path, struct core_secret *key, bool *missing)
{
    *missing = false;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        *missing = true;
        BAIL(ERR_NOT_FOUND);
    }
    if (fd < 0) {
        core_log(CORE_LOG_ERROR, "keystore: cannot open master key file %s: %s", path, strerror(errno));
        BAIL(ERR_IO);
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        core_log(CORE_LOG_ERROR, "keystore: master key file %s is not a regular file", path);
        BAIL(ERR_INVALID_ARG);
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        core_log(CORE_LOG_ERROR,
                 "keystore: refusing master key file %s: mode %03o gives group/other access; "
                 "run chmod 600 on it (and check who may have copied it)",
                 path, (unsigned)(st.st_mode & 0777));
        BAIL(ERR_INVALID_ARG);
    }
    if (st.st_size != (off_t)KS_KEY_BYTES) {
        close(fd);
        core_log(CORE_LOG_ERROR, "keystore: master key file %s has %lld bytes, expected %u", path,
                 (long long)st.st_size, KS_KEY_BYTES);
        BAIL(ERR_INVALID_ARG);
    }
    core_result r = core_secret_alloc(key, KS_KEY_BYTES);
    if (!core_ok(r)) {
        close(fd);
        return r;
    }
    size_t got = 0;
    while (got < KS_KEY_BYTES) {
        ssize_t n = read(fd, key->ptr + got, KS_KEY_BYTES - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    if (got != KS_KEY_BYTES) {
        core_secret_free(key);
        core_log(CORE_LOG_ERROR, "keystore: short read from master key file %s", path);
        BAIL(ERR_IO);
    }
    CORE_OK;
}

core_result ks_keyfile_create(const char *path, const struct core_secret *key)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) BAIL(ERR_EXISTS);
    if (fd < 0) {
        core_log(CORE_LOG_ERROR, "keystore: cannot create master key file %s: %s", path, strerror(errno));
        BAIL(ERR_IO);
    }
    bool ok = fchmod(fd, 0600) == 0; /* a umask may have taken owner bits */
    size_t put = 0;
    while (ok && put < key->len) {
        ssize_t n = write(fd, key->ptr + put, key->len - put);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) ok = false;
        else put += (size_t)n;
    }
    ok = ok && fsync(fd) == 0;
    ok = (close(fd) == 0) && ok;
    if (!ok) {
        core_log(CORE_LOG_ERROR, "keystore: cannot write master key file %s: %s", path, strerror(errno));
        unlink(path);
        BAIL(ERR_IO);
    }
    GUARD(ks_fsync_parent(path));
    CORE_OK;
}
