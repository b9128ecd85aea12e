/*
 * keystore_rekey(): every source pairing, the records intact under the new
 * key, the old key refused, and the crash windows of the key-file install
 * (a stale master.key.new before the commit; an unrenamed one after it).
 */
#include "keystore/keystore_testutil.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tests/test.h"

enum { RECORDS = 300 };

static void fill(struct keystore *ks)
{
    struct keystore_txn *txn = NULL;
    EXPECT_OK(keystore_txn_begin(ks, true, &txn));
    char id[32], val[64];
    for (int i = 0; i < RECORDS; i++) {
        snprintf(id, sizeof id, "id-%04d", i);
        snprintf(val, sizeof val, "secret value number %d", i);
        EXPECT_OK(keystore_put(txn, i % 2 ? "kms_key" : "access_key", core_cursor_str(id), core_cursor_str(val), 0));
    }
    EXPECT_OK(keystore_txn_commit(txn));
}

static bool intact(struct keystore *ks)
{
    char id[32], val[64];
    for (int i = 0; i < RECORDS; i++) {
        snprintf(id, sizeof id, "id-%04d", i);
        snprintf(val, sizeof val, "secret value number %d", i);
        if (!kst_has(ks, i % 2 ? "kms_key" : "access_key", id, val)) return false;
    }
    return true;
}

static bool read_key(const char *path, uint8_t key[32])
{
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    bool ok = fread(key, 1, 32, f) == 32;
    fclose(f);
    return ok;
}

static void write_key(const char *path, const uint8_t key[32])
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || write(fd, key, 32) != 32) exit(2);
    close(fd);
}

static bool exists(const char *path) { return access(path, F_OK) == 0; }

static void test_key_file_to_key_file(const char *dir)
{
    struct keystore_options o = kst_key_file_opts(dir);
    struct keystore *ks = NULL;
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    if (!ks) return;
    fill(ks);
    char path[PATH_MAX], newp[PATH_MAX];
    snprintf(path, sizeof path, "%s/master.key", dir);
    snprintf(newp, sizeof newp, "%s/master.key.new", dir);
    uint8_t old_key[32], new_key[32];
    EXPECT_TRUE(read_key(path, old_key));
    EXPECT_OK(keystore_rekey(ks, &o));
    /* The handle goes on under the new key, reads and writes. */
    EXPECT_TRUE(intact(ks));
    EXPECT_OK(kst_put(ks, "kms_key", "after", "rekey"));
    keystore_close(ks);
    EXPECT_TRUE(!exists(newp));
    struct stat st;
    EXPECT_TRUE(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    EXPECT_TRUE(read_key(path, new_key) && memcmp(old_key, new_key, 32) != 0);

    ks = NULL;
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    EXPECT_TRUE(ks && intact(ks) && kst_has(ks, "kms_key", "after", "rekey"));
    keystore_close(ks);

    /* The old key no longer opens it. */
    write_key(path, old_key);
    EXPECT_ERR(keystore_open(&o, &ks, NULL), ERR_WRONG_MASTER_KEY);

    /* Crash after the commit, before the rename: master.key still holds the
     * old key, master.key.new the committed one. Open finishes the install. */
    write_key(newp, new_key);
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    EXPECT_TRUE(ks && intact(ks));
    keystore_close(ks);
    uint8_t now[32];
    EXPECT_TRUE(!exists(newp) && read_key(path, now) && memcmp(now, new_key, 32) == 0);

    /* Crash before the commit: a master.key.new that opens nothing is
     * removed, the current key goes on working. */
    uint8_t junk[32];
    randombytes_buf(junk, sizeof junk);
    write_key(newp, junk);
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    EXPECT_TRUE(ks && intact(ks));
    keystore_close(ks);
    EXPECT_TRUE(!exists(newp));
    /* Only the new file, never committed, and no current file: refused. */
    EXPECT_TRUE(rename(path, newp) == 0);
    write_key(newp, junk);
    EXPECT_ERR(keystore_open(&o, &ks, NULL), ERR_WRONG_MASTER_KEY);
}

static void test_key_file_passphrase_round_trip(const char *dir)
{
    struct keystore_options kf = kst_key_file_opts(dir);
    struct keystore_options pa = kst_pass_opts(dir, "first passphrase");
    struct keystore_options pb = kst_pass_opts(dir, "second passphrase");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/master.key", dir);
    struct keystore *ks = NULL;
    EXPECT_OK(keystore_open(&kf, &ks, NULL));
    if (!ks) return;
    fill(ks);
    uint8_t old_key[32];
    EXPECT_TRUE(read_key(path, old_key));

    /* key file -> passphrase: the old key file is removed. */
    EXPECT_OK(keystore_rekey(ks, &pa));
    keystore_close(ks);
    EXPECT_TRUE(!exists(path));
    write_key(path, old_key);
    EXPECT_ERR(keystore_open(&kf, &ks, NULL), ERR_WRONG_MASTER_KEY);
    EXPECT_ERR(keystore_open(&pb, &ks, NULL), ERR_WRONG_MASTER_KEY);
    unlink(path);
    EXPECT_OK(keystore_open(&pa, &ks, NULL));
    if (!ks) return;
    EXPECT_TRUE(intact(ks));

    /* passphrase -> passphrase */
    EXPECT_OK(keystore_rekey(ks, &pb));
    keystore_close(ks);
    EXPECT_ERR(keystore_open(&pa, &ks, NULL), ERR_WRONG_MASTER_KEY);
    EXPECT_OK(keystore_open(&pb, &ks, NULL));
    if (!ks) return;
    EXPECT_TRUE(intact(ks));

    /* passphrase -> key file at a custom path */
    char custom[PATH_MAX];
    snprintf(custom, sizeof custom, "%s/../custom.key", dir);
    struct keystore_options kc = kf;
    kc.key_file = custom;
    EXPECT_OK(keystore_rekey(ks, &kc));
    keystore_close(ks);
    EXPECT_ERR(keystore_open(&pb, &ks, NULL), ERR_WRONG_MASTER_KEY);
    EXPECT_ERR(keystore_open(&kf, &ks, NULL), ERR_IO); /* default path: no such file */
    EXPECT_OK(keystore_open(&kc, &ks, NULL));
    EXPECT_TRUE(ks && intact(ks));
    keystore_close(ks);
    unlink(custom);
}

static void test_rekey_refuses_tampered(const char *dir)
{
    struct keystore_options o = kst_key_file_opts(dir);
    struct keystore *ks = NULL;
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    if (!ks) return;
    fill(ks);
    keystore_close(ks);
    /* Copy one sealed value onto another id, raw. */
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi = 0;
    EXPECT_TRUE(mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 2) == 0 && mdb_env_open(env, dir, 0, 0600) == 0);
    EXPECT_TRUE(mdb_txn_begin(env, NULL, 0, &txn) == 0 && mdb_dbi_open(txn, KS_DB_RECORDS, 0, &dbi) == 0);
    uint8_t ka[64], kb[64];
    size_t la = 0, lb = 0;
    EXPECT_OK(ks_record_key("kms_key", core_cursor_str("id-0001"), ka, &la));
    EXPECT_OK(ks_record_key("kms_key", core_cursor_str("id-0003"), kb, &lb));
    MDB_val k1 = {la, ka}, k2 = {lb, kb}, v;
    EXPECT_TRUE(mdb_get(txn, dbi, &k1, &v) == 0);
    uint8_t copy[256];
    memcpy(copy, v.mv_data, v.mv_size);
    v.mv_data = copy;
    EXPECT_TRUE(mdb_put(txn, dbi, &k2, &v, 0) == 0 && mdb_txn_commit(txn) == 0);
    mdb_env_close(env);

    char path[PATH_MAX], newp[PATH_MAX];
    snprintf(path, sizeof path, "%s/master.key", dir);
    snprintf(newp, sizeof newp, "%s/master.key.new", dir);
    uint8_t before[32], after[32];
    EXPECT_TRUE(read_key(path, before));
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    if (!ks) return;
    EXPECT_ERR(keystore_rekey(ks, &o), ERR_TAMPERED);
    /* Nothing changed: same key, no leftover, other records fine. */
    EXPECT_TRUE(!exists(newp) && read_key(path, after) && memcmp(before, after, 32) == 0);
    EXPECT_TRUE(kst_has(ks, "kms_key", "id-0001", "secret value number 1"));
    keystore_close(ks);
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    EXPECT_TRUE(ks && kst_has(ks, "access_key", "id-0000", "secret value number 0"));
    keystore_close(ks);
}

/* A second process with the keystore open blocks a rekey. */
static void test_rekey_refuses_while_open_elsewhere(const char *dir)
{
    struct keystore_options o = kst_key_file_opts(dir);
    struct keystore *ks = NULL;
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    if (!ks) return;
    fill(ks);
    keystore_close(ks);
    int ready[2], quit[2];
    if (pipe(ready) || pipe(quit)) exit(2);
    pid_t pid = fork();
    if (pid == 0) {
        struct keystore *child = NULL;
        char c = core_ok(keystore_open(&o, &child, NULL)) ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1) _exit(2);
        if (read(quit[0], &c, 1) < 0) _exit(2);
        keystore_close(child);
        _exit(0);
    }
    char c = 0;
    EXPECT_TRUE(read(ready[0], &c, 1) == 1 && c == 'y');
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    if (ks) {
        EXPECT_ERR(keystore_rekey(ks, &o), ERR_IO);
        EXPECT_TRUE(intact(ks)); /* still usable, still the old key */
    }
    if (write(quit[1], "q", 1) != 1) exit(2);
    int status = 0;
    waitpid(pid, &status, 0);
    if (ks) {
        EXPECT_OK(keystore_rekey(ks, &o));
        EXPECT_TRUE(intact(ks));
        keystore_close(ks);
    }
    close(ready[0]);
    close(ready[1]);
    close(quit[0]);
    close(quit[1]);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    void (*const tests[])(const char *) = {test_key_file_to_key_file, test_key_file_passphrase_round_trip,
                                           test_rekey_refuses_tampered, test_rekey_refuses_while_open_elsewhere};
    kst_each_fresh(tests, sizeof tests / sizeof tests[0]);
    TEST_MAIN_END();
}
