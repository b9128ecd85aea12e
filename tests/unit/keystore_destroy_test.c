/*
 * Destruction is real: once keystore_destroy() commits, no copy of the
 * destroyed value is left anywhere in data.mdb (LMDB keeps superseded pages
 * as free pages, so a plain delete leaves the sealed value behind, and
 * anyone holding the master key could open it). The attacker here holds the
 * data directory and the master key: the test scans the raw bytes of
 * data.mdb and tries to open a sealed record at every offset, for every
 * record it knows, with the master key.
 *
 * Also: the swap is safe while other threads read; a destroy while another
 * process has the keystore open is finished at the first commit after that
 * process leaves; and after a rekey no record sealed under the old key is
 * left in the file.
 */
#include "keystore/keystore_testutil.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "tests/test.h"

enum { KEYS = 12, VERSIONS = 4, MATERIAL = 32, FILLER = 120 };

struct target {
    const char *table;
    char id[32];
    size_t len; /* plaintext length */
};

static bool read_key(const char *dir, uint8_t key[32])
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s/master.key", dir) >= (int)sizeof p) return false;
    FILE *f = fopen(p, "rb");
    if (!f) return false;
    bool ok = fread(key, 1, 32, f) == 32;
    fclose(f);
    return ok;
}

static uint8_t *slurp(const char *dir, size_t *n)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s/data.mdb", dir) >= (int)sizeof p) return NULL;
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return NULL;
    }
    uint8_t *b = malloc((size_t)st.st_size + 1);
    *n = b ? fread(b, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    return b;
}

/*
 * For each target, how many places in data.mdb hold a sealed value that
 * opens, under key, as that record (AD = version | table NUL id).
 */
static void count_copies(const char *dir, const uint8_t key[32], const struct target *t, size_t nt, int *copies)
{
    size_t n = 0;
    uint8_t *file = slurp(dir, &n);
    EXPECT_TRUE(file != NULL && n > 0);
    for (size_t j = 0; j < nt; j++) copies[j] = 0;
    if (!file) return;
    uint8_t pt[512];
    for (size_t off = 0; off < n; off++) {
        if (file[off] != KS_FORMAT_VERSION) continue;
        for (size_t j = 0; j < nt; j++) {
            size_t sl = t[j].len + KS_SEAL_OVERHEAD;
            if (off + sl > n) continue;
            uint8_t kb[KS_MAX_RECKEY_BYTES], ad[KS_MAX_AD_BYTES];
            size_t kl = 0, got = 0;
            if (!core_ok(ks_record_key(t[j].table, core_cursor_str(t[j].id), kb, &kl))) continue;
            size_t adl = ks_record_ad(core_cursor_from(kb, kl), ad);
            if (core_ok(ks_open(key, core_cursor_from(ad, adl), core_cursor_from(file + off, sl), pt, &got))) copies[j]++;
        }
    }
    free(file);
}

static void material_value(int k, int v, uint8_t out[MATERIAL])
{
    for (int i = 0; i < MATERIAL; i++) out[i] = (uint8_t)(k * 31 + v * 7 + i * 13);
}

static void material_id(int k, int v, char out[32]) { snprintf(out, 32, "acct/key-%02d/%d", k, v); }

/*
 * Keys get material versions in rounds, each round its own commit, with
 * filler records rewritten in between: the leaf pages holding earlier
 * material are copied on write again and again, leaving old copies in
 * LMDB's free pages, as a running kmsd does.
 */
static void fill(struct keystore *ks, bool overflow)
{
    char id[32];
    uint8_t m[MATERIAL];
    char filler[300], big[2600];
    memset(filler, 'f', sizeof filler - 1);
    filler[sizeof filler - 1] = 0;
    for (int v = 1; v <= VERSIONS; v++) {
        for (int k = 0; k < KEYS; k++) {
            struct keystore_txn *txn = NULL;
            EXPECT_OK(keystore_txn_begin(ks, true, &txn));
            material_id(k, v, id);
            material_value(k, v, m);
            EXPECT_OK(keystore_put(txn, "kms_material", core_cursor_str(id), core_cursor_from(m, sizeof m), 0));
            for (int f = 0; f < FILLER && !overflow; f += 7) {
                snprintf(id, sizeof id, "filler-%03d", (f + k + v) % FILLER);
                filler[0] = (char)('a' + v);
                EXPECT_OK(keystore_put(txn, "kms_key", core_cursor_str(id), core_cursor_str(filler), 0));
            }
            if (overflow) { /* test_destroy_overflow_tails */
                memset(big, 'a' + (v * KEYS + k) % 26, sizeof big);
                snprintf(id, sizeof id, "big-%02d", k % 3);
                EXPECT_OK(keystore_put(txn, "kms_key", core_cursor_str(id), core_cursor_from(big, sizeof big), 0));
            }
            EXPECT_OK(keystore_txn_commit(txn));
        }
    }
}

static size_t targets_of(int k, struct target *t)
{
    for (int v = 1; v <= VERSIONS; v++) {
        t[v - 1] = (struct target){.table = "kms_material", .len = MATERIAL};
        material_id(k, v, t[v - 1].id);
    }
    return VERSIONS;
}

static int sum(const int *c, size_t n)
{
    int s = 0;
    for (size_t i = 0; i < n; i++) s += c[i];
    return s;
}

/* Sealed copies of key k's material versions anywhere in data.mdb. */
static int copies_of_key(const char *dir, const uint8_t key[32], int k)
{
    struct target t[VERSIONS];
    int c[VERSIONS];
    size_t nt = targets_of(k, t);
    count_copies(dir, key, t, nt, c);
    return sum(c, nt);
}

/* A keystore in dir with fill()'s records; key gets its master key. */
static struct keystore *open_filled(const char *dir, struct keystore_options *o, uint8_t key[32], bool overflow)
{
    *o = kst_key_file_opts(dir);
    struct keystore *ks = NULL;
    EXPECT_OK(keystore_open(o, &ks, NULL));
    if (!ks) return NULL;
    fill(ks, overflow);
    EXPECT_TRUE(read_key(dir, key));
    return ks;
}

static bool material_intact(struct keystore *ks, int k)
{
    struct core_buf b = {0};
    if (!core_ok(core_buf_init_secret(&b, 64))) return false;
    bool ok = true;
    for (int v = 1; v <= VERSIONS && ok; v++) {
        char id[32];
        uint8_t m[MATERIAL];
        material_id(k, v, id);
        material_value(k, v, m);
        ok = core_ok(kst_get(ks, "kms_material", id, &b)) && core_cursor_eq(core_buf_cursor(&b), core_cursor_from(m, MATERIAL));
    }
    core_buf_free(&b);
    return ok;
}

/* ---- destroy in a txn, while other threads read ------------------------ */

struct reader {
    struct keystore *ks;
    atomic_bool stop;
    atomic_int reads, failures;
};

static void *reader_main(void *p)
{
    struct reader *r = p;
    struct core_buf b = {0};
    if (!core_ok(core_buf_init_secret(&b, 64))) return NULL;
    while (!atomic_load(&r->stop)) {
        /* Keys 6..11 are never destroyed: every read must succeed. */
        int k = 6 + atomic_load(&r->reads) % 6;
        if (!material_intact(r->ks, k)) atomic_fetch_add(&r->failures, 1);
        atomic_fetch_add(&r->reads, 1);
    }
    core_buf_free(&b);
    return NULL;
}

static void destroy_key_in_txn(struct keystore *ks, int k)
{
    struct keystore_txn *txn = NULL;
    EXPECT_OK(keystore_txn_begin(ks, true, &txn));
    char id[32];
    for (int v = 1; v <= VERSIONS; v++) {
        material_id(k, v, id);
        EXPECT_OK(keystore_destroy(txn, "kms_material", core_cursor_str(id)));
    }
    EXPECT_OK(keystore_txn_commit(txn));
}

struct destroy_arg {
    int k;
};

static core_result destroy_fn(struct keystore_txn *txn, void *argp)
{
    struct destroy_arg *a = argp;
    char id[32];
    for (int v = 1; v <= VERSIONS; v++) {
        material_id(a->k, v, id);
        GUARD(keystore_destroy(txn, "kms_material", core_cursor_str(id)));
    }
    CORE_OK;
}

static void test_destroy(const char *dir)
{
    struct keystore_options o;
    uint8_t key[32];
    struct keystore *ks = open_filled(dir, &o, key, false);
    if (!ks) return;

    struct target t[VERSIONS];
    int copies[VERSIONS];
    size_t nt = targets_of(0, t);
    count_copies(dir, key, t, nt, copies);
    /* The scanner finds the live records (and here, older page copies too). */
    for (size_t j = 0; j < nt; j++) EXPECT_TRUE(copies[j] >= 1);
    fprintf(stderr, "key 0: %d sealed copies of its %d material versions before destruction\n", sum(copies, nt),
            VERSIONS);

    /* Readers run throughout: the swap under them must not disturb them. */
    struct reader rd = {.ks = ks};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) EXPECT_TRUE(pthread_create(&th[i], NULL, reader_main, &rd) == 0);
    while (atomic_load(&rd.reads) < 50) usleep(1000);

    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    destroy_key_in_txn(ks, 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    fprintf(stderr, "destroy + compaction: %.1f ms\n", (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
    EXPECT_TRUE(copies_of_key(dir, key, 0) == 0);

    /* The same through the group-commit path. */
    struct destroy_arg da = {.k = 1};
    EXPECT_OK(keystore_write(ks, destroy_fn, &da));
    EXPECT_TRUE(copies_of_key(dir, key, 1) == 0);

    int before = atomic_load(&rd.reads);
    while (atomic_load(&rd.reads) < before + 50) usleep(1000);
    atomic_store(&rd.stop, true);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    EXPECT_TRUE(atomic_load(&rd.failures) == 0);

    /* Everything not destroyed is still there, in memory and on disk. */
    struct core_buf v = {0};
    EXPECT_OK(core_buf_init_secret(&v, 64));
    EXPECT_ERR(kst_get(ks, "kms_material", "acct/key-00/1", &v), ERR_NOT_FOUND);
    core_buf_free(&v);
    for (int k = 2; k < KEYS; k++) EXPECT_TRUE(material_intact(ks, k));
    EXPECT_OK(kst_put(ks, "kms_key", "after", "still writable"));
    keystore_close(ks);
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    if (!ks) return;
    for (int k = 2; k < KEYS; k++) EXPECT_TRUE(material_intact(ks, k));
    EXPECT_TRUE(kst_has(ks, "kms_key", "after", "still writable"));
    nt = targets_of(5, t);
    count_copies(dir, key, t, nt, copies);
    for (size_t j = 0; j < nt; j++) EXPECT_TRUE(copies[j] == 1);
    keystore_close(ks);
}

/* ---- values on overflow pages ------------------------------------------ */

/*
 * A value larger than half a page (a key policy, a key with many tags) goes
 * to an overflow page of its own, and LMDB writes that page from a buffer it
 * reuses from an earlier commit without clearing it: the page's tail, past
 * the value, keeps bytes of whatever page the buffer held before, such as a
 * leaf of material records. A page-for-page copy (mdb_env_copyfd2, even
 * MDB_CP_COMPACT) carries those tails into the new file, and with them
 * copies of destroyed material. fill(ks, true) puts each material next to a
 * fresh large value, as a kmsd tagging and rotating keys does.
 */
static void test_destroy_overflow_tails(const char *dir)
{
    struct keystore_options o;
    uint8_t key[32];
    struct keystore *ks = open_filled(dir, &o, key, true);
    if (!ks) return;
    int before = copies_of_key(dir, key, 0);
    EXPECT_TRUE(before >= VERSIONS);
    destroy_key_in_txn(ks, 0);
    int after = copies_of_key(dir, key, 0);
    if (after != 0) fprintf(stderr, "overflow tails: %d copies of destroyed material left (%d before)\n", after, before);
    EXPECT_TRUE(after == 0);
    for (int k = 1; k < KEYS; k++) EXPECT_TRUE(material_intact(ks, k));
    keystore_close(ks);
}

/* ---- destroys while other threads write and read ------------------------ */

struct writer {
    struct keystore *ks;
    int no;
    atomic_bool *stop;
    int acked; /* puts whose keystore_write() returned success */
    int failed;
};

struct put_arg {
    char id[32];
};

static core_result put_fn(struct keystore_txn *txn, void *argp)
{
    struct put_arg *a = argp;
    return keystore_put(txn, "kms_alias", core_cursor_str(a->id), core_cursor_str(a->id), 0);
}

static void *writer_main(void *p)
{
    struct writer *w = p;
    while (!atomic_load(w->stop)) {
        struct put_arg a;
        snprintf(a.id, sizeof a.id, "w%d-%06d", w->no, w->acked);
        if (core_ok(keystore_write(w->ks, put_fn, &a))) w->acked++;
        else w->failed++;
    }
    return NULL;
}

static void test_destroy_under_load(const char *dir)
{
    struct keystore_options o;
    uint8_t key[32];
    struct keystore *ks = open_filled(dir, &o, key, false);
    if (!ks) return;
    atomic_bool stop = false;
    struct writer w[4];
    pthread_t wt[4], rt[2];
    struct reader rd = {.ks = ks};
    for (int i = 0; i < 4; i++) {
        w[i] = (struct writer){.ks = ks, .no = i, .stop = &stop};
        EXPECT_TRUE(pthread_create(&wt[i], NULL, writer_main, &w[i]) == 0);
    }
    for (int i = 0; i < 2; i++) EXPECT_TRUE(pthread_create(&rt[i], NULL, reader_main, &rd) == 0);
    for (int k = 0; k < 3; k++) {
        usleep(20000);
        struct destroy_arg da = {.k = k};
        EXPECT_OK(keystore_write(ks, destroy_fn, &da));
        EXPECT_TRUE(copies_of_key(dir, key, k) == 0);
    }
    atomic_store(&stop, true);
    atomic_store(&rd.stop, true);
    for (int i = 0; i < 4; i++) pthread_join(wt[i], NULL);
    for (int i = 0; i < 2; i++) pthread_join(rt[i], NULL);
    EXPECT_TRUE(atomic_load(&rd.failures) == 0);
    /* Every acknowledged write is there, across all the swaps and a reopen. */
    keystore_close(ks);
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    if (!ks) return;
    int total = 0;
    for (int i = 0; i < 4; i++) {
        EXPECT_TRUE(w[i].failed == 0);
        for (int n = 0; n < w[i].acked; n++) {
            char id[32];
            snprintf(id, sizeof id, "w%d-%06d", i, n);
            EXPECT_TRUE(kst_has(ks, "kms_alias", id, id));
        }
        total += w[i].acked;
    }
    fprintf(stderr, "under load: %d acknowledged writes by 4 writers across 3 destroying compactions\n", total);
    EXPECT_TRUE(total > 0);
    keystore_close(ks);
}

/* ---- another process has the keystore open ------------------------------ */

/* Forks a process (kmsctl, say) that holds the keystore open until killed;
 * returns once it has it open. */
static pid_t fork_holder(const struct keystore_options *o)
{
    int pipefd[2];
    EXPECT_TRUE(pipe(pipefd) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        struct keystore *other = NULL;
        if (!core_ok(keystore_open(o, &other, NULL))) _exit(3);
        if (write(pipefd[1], "r", 1) != 1) _exit(4);
        pause();
        _exit(0);
    }
    char c;
    EXPECT_TRUE(read(pipefd[0], &c, 1) == 1);
    close(pipefd[0]);
    close(pipefd[1]);
    return pid;
}

static void end_holder(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void test_destroy_deferred(const char *dir)
{
    struct keystore_options o;
    uint8_t key[32];
    struct keystore *ks = open_filled(dir, &o, key, false);
    if (!ks) return;

    pid_t holder = fork_holder(&o);
    destroy_key_in_txn(ks, 3); /* commits; the compaction must wait */
    struct core_buf v = {0};
    EXPECT_OK(core_buf_init_secret(&v, 64));
    EXPECT_ERR(kst_get(ks, "kms_material", "acct/key-03/1", &v), ERR_NOT_FOUND);
    core_buf_free(&v);

    end_holder(holder);
    /* The next transaction (a read, as kmsd's ticker begins every second),
     * once the other process is gone, finishes the job. */
    EXPECT_TRUE(copies_of_key(dir, key, 3) > 0);
    sleep(1);
    EXPECT_TRUE(material_intact(ks, 5));
    EXPECT_TRUE(copies_of_key(dir, key, 3) == 0);
    EXPECT_OK(kst_put(ks, "kms_key", "later", "x"));
    EXPECT_TRUE(material_intact(ks, 5));
    keystore_close(ks);
}

/* ---- a crash after the destroying commit -------------------------------- */

static void test_destroy_crash(const char *dir)
{
    struct keystore_options o;
    uint8_t key[32];
    struct keystore *ks = open_filled(dir, &o, key, false);
    if (!ks) return;
    keystore_close(ks);

    pid_t holder = fork_holder(&o);
    /* The destroyer commits while the holder blocks the compaction, then dies. */
    pid_t destroyer = fork();
    if (destroyer == 0) {
        struct keystore *mine = NULL;
        if (!core_ok(keystore_open(&o, &mine, NULL))) _exit(3);
        destroy_key_in_txn(mine, 4);
        kill(getpid(), SIGKILL);
    }
    int st = 0;
    waitpid(destroyer, &st, 0);
    EXPECT_TRUE(WIFSIGNALED(st));
    end_holder(holder);

    /* The obligation was committed with the delete: the next open does it. */
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    if (!ks) return;
    EXPECT_TRUE(copies_of_key(dir, key, 4) == 0);
    EXPECT_TRUE(material_intact(ks, 5));
    keystore_close(ks);
}

/* ---- rekey: nothing sealed under the old key survives ------------------ */

static void test_rekey(const char *dir)
{
    struct keystore_options o;
    uint8_t old_key[32];
    struct keystore *ks = open_filled(dir, &o, old_key, false);
    if (!ks) return;
    struct target t[KEYS * VERSIONS];
    int copies[KEYS * VERSIONS];
    size_t nt = 0;
    for (int k = 0; k < KEYS; k++) nt += targets_of(k, t + nt);
    count_copies(dir, old_key, t, nt, copies);
    EXPECT_TRUE(sum(copies, nt) >= (int)nt);

    EXPECT_OK(keystore_rekey(ks, &o));
    count_copies(dir, old_key, t, nt, copies);
    EXPECT_TRUE(sum(copies, nt) == 0);
    uint8_t new_key[32];
    EXPECT_TRUE(read_key(dir, new_key));
    count_copies(dir, new_key, t, nt, copies);
    for (size_t j = 0; j < nt; j++) EXPECT_TRUE(copies[j] == 1);
    for (int k = 0; k < KEYS; k++) EXPECT_TRUE(material_intact(ks, k));
    keystore_close(ks);
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    if (!ks) return;
    for (int k = 0; k < KEYS; k++) EXPECT_TRUE(material_intact(ks, k));
    keystore_close(ks);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    void (*const tests[])(const char *) = {test_destroy, test_destroy_overflow_tails, test_destroy_under_load, test_destroy_deferred,
                                           test_destroy_crash, test_rekey};
    kst_each_fresh(tests, sizeof tests / sizeof tests[0]);
    TEST_MAIN_END();
}
