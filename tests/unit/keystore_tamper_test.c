/*
 * Negative tests for what is on disk: a flipped byte in data.mdb, a sealed
 * value copied onto another record, a wrong master key or passphrase (which
 * must leave data.mdb untouched), and unsafe key files.
 */
#include "keystore/keystore_testutil.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "tests/test.h"

/* Raw LMDB access, as an attacker with the files would have. */
static MDB_env *raw_open(const char *dir, MDB_dbi *dbi, MDB_txn **txn, bool write)
{
    MDB_env *env = NULL;
    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 2) || mdb_env_open(env, dir, 0, 0600) ||
        mdb_txn_begin(env, NULL, write ? 0 : MDB_RDONLY, txn) || mdb_dbi_open(*txn, KS_DB_RECORDS, 0, dbi)) {
        fprintf(stderr, "raw lmdb open failed\n");
        exit(2);
    }
    return env;
}

static MDB_val reckey(const char *table, const char *id, uint8_t buf[KS_MAX_RECKEY_BYTES])
{
    size_t n = 0;
    if (!core_ok(ks_record_key(table, core_cursor_str(id), buf, &n))) exit(2);
    return (MDB_val){n, buf};
}

/* Reads the sealed value of table/id raw. */
static size_t raw_get(const char *dir, const char *table, const char *id, uint8_t *out, size_t cap)
{
    MDB_dbi dbi = 0;
    MDB_txn *txn;
    MDB_env *env = raw_open(dir, &dbi, &txn, false);
    uint8_t kb[KS_MAX_RECKEY_BYTES];
    MDB_val k = reckey(table, id, kb), v;
    size_t n = 0;
    if (mdb_get(txn, dbi, &k, &v) == 0 && v.mv_size <= cap) {
        memcpy(out, v.mv_data, v.mv_size);
        n = v.mv_size;
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return n;
}

static void raw_put(const char *dir, const char *table, const char *id, const uint8_t *val, size_t n)
{
    MDB_dbi dbi = 0;
    MDB_txn *txn;
    MDB_env *env = raw_open(dir, &dbi, &txn, true);
    uint8_t kb[KS_MAX_RECKEY_BYTES];
    MDB_val k = reckey(table, id, kb), v = {n, (void *)(uintptr_t)val};
    if (mdb_put(txn, dbi, &k, &v, 0) || mdb_txn_commit(txn)) exit(2);
    mdb_env_close(env);
}

static size_t read_file(const char *path, uint8_t **data)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *data = calloc(1, (size_t)n + 1);
    size_t got = fread(*data, 1, (size_t)n, f);
    fclose(f);
    return got;
}

/* Finds needle in the file and xors the byte at offset (from the needle)
 * with 1, at every copy: copy-on-write leaves stale copies in free pages. */
static bool flip_in_file(const char *path, const uint8_t *needle, size_t nlen, size_t offset)
{
    uint8_t *data = NULL;
    size_t n = read_file(path, &data);
    int fd = open(path, O_RDWR);
    bool done = false;
    for (size_t i = 0; fd >= 0 && i + nlen <= n; i++) {
        if (memcmp(data + i, needle, nlen) != 0) continue;
        uint8_t b = data[i + offset] ^ 1;
        done = pwrite(fd, &b, 1, (off_t)(i + offset)) == 1;
        i += nlen;
    }
    if (fd >= 0) close(fd);
    free(data);
    return done;
}

static void write_key_file(const char *path, mode_t mode)
{
    uint8_t key[32];
    randombytes_buf(key, sizeof key);
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || write(fd, key, sizeof key) != (ssize_t)sizeof key) exit(2);
    fchmod(fd, mode);
    close(fd);
}

static void test_flip_on_disk(const char *dir)
{
    struct keystore_options o = kst_key_file_opts(dir);
    struct keystore *ks = NULL;
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    EXPECT_OK(kst_put(ks, "kms_key", "victim", "the plaintext of the victim record"));
    EXPECT_OK(kst_put(ks, "kms_key", "bystander", "unrelated"));
    keystore_close(ks);

    uint8_t sealed[256];
    size_t n = raw_get(dir, "kms_key", "victim", sealed, sizeof sealed);
    EXPECT_TRUE(n == 34 + KS_SEAL_OVERHEAD && sealed[0] == KS_FORMAT_VERSION);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    /* The nonce (bytes 1..24) is random, so it locates the value in the
     * file. Flip a ciphertext byte, then a tag byte, then the nonce. */
    const size_t offsets[] = {KS_NONCE_BYTES + 3, KS_NONCE_BYTES + 34 + 5, 0};
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        uint8_t nonce[KS_NONCE_BYTES];
        n = raw_get(dir, "kms_key", "victim", sealed, sizeof sealed);
        memcpy(nonce, sealed + 1, sizeof nonce);
        EXPECT_TRUE(flip_in_file(path, nonce, sizeof nonce, offsets[i]));
        EXPECT_OK(keystore_open(&o, &ks, NULL));
        struct core_buf b = {0};
        EXPECT_OK(core_buf_init_secret(&b, 256));
        EXPECT_ERR(kst_get(ks, "kms_key", "victim", &b), ERR_TAMPERED);
        EXPECT_TRUE(b.len == 0);
        EXPECT_TRUE(kst_has(ks, "kms_key", "bystander", "unrelated"));
        /* Iteration meets the same record and refuses it too. */
        struct keystore_txn *txn = NULL;
        struct keystore_iter *it = NULL;
        struct core_cursor id;
        EXPECT_OK(keystore_txn_begin(ks, false, &txn));
        EXPECT_OK(keystore_iter_begin(txn, "kms_key", core_cursor_str("v"), &it));
        EXPECT_ERR(keystore_iter_next(it, &id, &b), ERR_TAMPERED);
        keystore_iter_end(it);
        keystore_txn_abort(txn);
        core_buf_free(&b);
        keystore_close(ks);
        /* restore for the next round */
        raw_put(dir, "kms_key", "victim", sealed, n);
    }
    /* The version byte: find it via the nonce that follows it. */
    n = raw_get(dir, "kms_key", "victim", sealed, sizeof sealed);
    sealed[0] = 2;
    raw_put(dir, "kms_key", "victim", sealed, n);
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    struct core_buf b = {0};
    EXPECT_OK(core_buf_init(&b, 16, 256));
    EXPECT_ERR(kst_get(ks, "kms_key", "victim", &b), ERR_TAMPERED);
    /* A truncated value. */
    keystore_close(ks);
    raw_put(dir, "kms_key", "victim", sealed, KS_SEAL_OVERHEAD - 1);
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    EXPECT_ERR(kst_get(ks, "kms_key", "victim", &b), ERR_TAMPERED);
    core_buf_free(&b);
    keystore_close(ks);
}

static void test_swap(const char *dir)
{
    struct keystore_options o = kst_key_file_opts(dir);
    struct keystore *ks = NULL;
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    EXPECT_OK(kst_put(ks, "access_key", "AKIAALICE", "alice secret"));
    EXPECT_OK(kst_put(ks, "access_key", "AKIAMALLORY", "mallory secret"));
    EXPECT_OK(kst_put(ks, "grant", "AKIAALICE", "same id, other table"));
    keystore_close(ks);

    uint8_t a[256], m[256], g[256];
    size_t an = raw_get(dir, "access_key", "AKIAALICE", a, sizeof a);
    size_t mn = raw_get(dir, "access_key", "AKIAMALLORY", m, sizeof m);
    size_t gn = raw_get(dir, "grant", "AKIAALICE", g, sizeof g);
    EXPECT_TRUE(an && mn && gn);
    /* Alice's sealed value onto Mallory's id, and the other table's value onto Alice's. */
    raw_put(dir, "access_key", "AKIAMALLORY", a, an);
    raw_put(dir, "access_key", "AKIAALICE", g, gn);
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    struct core_buf b = {0};
    EXPECT_OK(core_buf_init(&b, 16, 256));
    EXPECT_ERR(kst_get(ks, "access_key", "AKIAMALLORY", &b), ERR_TAMPERED);
    EXPECT_ERR(kst_get(ks, "access_key", "AKIAALICE", &b), ERR_TAMPERED);
    EXPECT_TRUE(kst_has(ks, "grant", "AKIAALICE", "same id, other table"));
    /* In a write txn, tampering poisons. */
    struct keystore_txn *txn = NULL;
    EXPECT_OK(keystore_txn_begin(ks, true, &txn));
    EXPECT_OK(keystore_put(txn, "grant", core_cursor_str("new"), core_cursor_str("v"), 0));
    EXPECT_ERR(keystore_get(txn, "access_key", core_cursor_str("AKIAALICE"), &b), ERR_TAMPERED);
    EXPECT_ERR(keystore_txn_commit(txn), ERR_TXN_POISONED);
    EXPECT_ERR(kst_get(ks, "grant", "new", &b), ERR_NOT_FOUND);
    core_buf_free(&b);
    keystore_close(ks);
}

struct snapshot {
    uint8_t *data;
    size_t len;
    struct timespec mtime;
};

static struct snapshot snap(const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    struct snapshot s = {0};
    s.len = read_file(path, &s.data);
    struct stat st;
    if (stat(path, &st) == 0) s.mtime = st.st_mtim;
    return s;
}

static bool snap_same(struct snapshot a, struct snapshot b)
{
    return a.len == b.len && a.len > 0 && memcmp(a.data, b.data, a.len) == 0 && a.mtime.tv_sec == b.mtime.tv_sec &&
           a.mtime.tv_nsec == b.mtime.tv_nsec;
}

static void test_wrong_key_file(const char *dir)
{
    struct keystore_options o = kst_key_file_opts(dir);
    struct keystore *ks = NULL;
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    EXPECT_OK(kst_put(ks, "kms_key", "k", "v"));
    keystore_close(ks);

    char path[PATH_MAX], saved[PATH_MAX];
    snprintf(path, sizeof path, "%s/master.key", dir);
    snprintf(saved, sizeof saved, "%s/master.key.saved", dir);
    EXPECT_TRUE(rename(path, saved) == 0);
    write_key_file(path, 0600);
    struct snapshot before = snap(dir);
    EXPECT_ERR(keystore_open(&o, &ks, NULL), ERR_WRONG_MASTER_KEY);
    EXPECT_TRUE(ks == NULL);
    struct snapshot after = snap(dir);
    EXPECT_TRUE(snap_same(before, after));
    free(before.data);
    free(after.data);

    /* A passphrase on a key-file keystore is a wrong key too. */
    struct keystore_options po = kst_pass_opts(dir, "some passphrase");
    EXPECT_ERR(keystore_open(&po, &ks, NULL), ERR_WRONG_MASTER_KEY);

    /* Missing, world-readable, wrong-sized key files are refused. */
    unlink(path);
    EXPECT_ERR(keystore_open(&o, &ks, NULL), ERR_IO);
    EXPECT_TRUE(rename(saved, path) == 0);
    chmod(path, 0640);
    EXPECT_ERR(keystore_open(&o, &ks, NULL), ERR_INVALID_ARG);
    chmod(path, 0604);
    EXPECT_ERR(keystore_open(&o, &ks, NULL), ERR_INVALID_ARG);
    chmod(path, 0600);
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    EXPECT_TRUE(ks && kst_has(ks, "kms_key", "k", "v"));
    keystore_close(ks);
    truncate(path, 31) == 0 ? (void)0 : exit(2);
    EXPECT_ERR(keystore_open(&o, &ks, NULL), ERR_INVALID_ARG);
}

static void test_wrong_passphrase(const char *dir)
{
    struct keystore_options o = kst_pass_opts(dir, "correct horse battery staple");
    struct keystore *ks = NULL;
    bool created = false;
    EXPECT_OK(keystore_open(&o, &ks, &created));
    EXPECT_TRUE(created);
    EXPECT_OK(kst_put(ks, "kms_key", "k", "v"));
    keystore_close(ks);

    struct snapshot before = snap(dir);
    struct keystore_options bad = kst_pass_opts(dir, "correct horse battery stapler");
    EXPECT_ERR(keystore_open(&bad, &ks, NULL), ERR_WRONG_MASTER_KEY);
    /* A key file on a passphrase keystore: refused, and no key file made. */
    struct keystore_options kf = kst_key_file_opts(dir);
    EXPECT_ERR(keystore_open(&kf, &ks, NULL), ERR_WRONG_MASTER_KEY);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/master.key", dir);
    EXPECT_TRUE(access(path, F_OK) != 0);
    struct snapshot after = snap(dir);
    EXPECT_TRUE(snap_same(before, after));
    free(before.data);
    free(after.data);

    /* The stored cost parameters are used, not the caller's. */
    o.pwhash_opslimit = 0;
    o.pwhash_memlimit = 0;
    EXPECT_OK(keystore_open(&o, &ks, &created));
    EXPECT_TRUE(!created && ks && kst_has(ks, "kms_key", "k", "v"));
    keystore_close(ks);

    struct keystore_options empty = kst_pass_opts(dir, "");
    EXPECT_ERR(keystore_open(&empty, &ks, NULL), ERR_INVALID_ARG);
}

static void test_tampered_meta(const char *dir)
{
    struct keystore_options o = kst_pass_opts(dir, "pw");
    struct keystore *ks = NULL;
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    keystore_close(ks);
    /* Raise the stored Argon2id memory cost beyond the bound. */
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi meta = 0;
    EXPECT_TRUE(mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 2) == 0 && mdb_env_open(env, dir, 0, 0600) == 0);
    EXPECT_TRUE(mdb_txn_begin(env, NULL, 0, &txn) == 0 && mdb_dbi_open(txn, KS_DB_META, 0, &meta) == 0);
    MDB_val k = {strlen(KS_META_MASTER), (void *)(uintptr_t)KS_META_MASTER}, v;
    EXPECT_TRUE(mdb_get(txn, meta, &k, &v) == 0 && v.mv_size == KS_MASTER_REC_PASSPHRASE_BYTES);
    uint8_t rec[KS_MASTER_REC_PASSPHRASE_BYTES];
    memcpy(rec, v.mv_data, sizeof rec);
    uint8_t orig[sizeof rec];
    memcpy(orig, rec, sizeof rec);
    rec[1 + 8 + 1 + 8] = 0xff; /* memlimit's top byte */
    v = (MDB_val){sizeof rec, rec};
    EXPECT_TRUE(mdb_put(txn, meta, &k, &v, 0) == 0 && mdb_txn_commit(txn) == 0);
    EXPECT_ERR(keystore_open(&o, &ks, NULL), ERR_TAMPERED);
    /* A changed salt derives another key: wrong master key. */
    memcpy(rec, orig, sizeof rec);
    rec[sizeof rec - 1] ^= 1;
    EXPECT_TRUE(mdb_txn_begin(env, NULL, 0, &txn) == 0);
    v = (MDB_val){sizeof rec, rec};
    EXPECT_TRUE(mdb_put(txn, meta, &k, &v, 0) == 0 && mdb_txn_commit(txn) == 0);
    EXPECT_ERR(keystore_open(&o, &ks, NULL), ERR_WRONG_MASTER_KEY);
    mdb_env_close(env);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    void (*const tests[])(const char *) = {test_flip_on_disk, test_swap, test_wrong_key_file, test_wrong_passphrase,
                                           test_tampered_meta};
    kst_each_fresh(tests, sizeof tests / sizeof tests[0]);
    TEST_MAIN_END();
}
