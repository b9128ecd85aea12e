/*
 * The etcd backend (keystore/keystore_etcd.c) against a real single-member
 * etcd this test starts on free loopback ports with a temporary data
 * directory (installed by scripts/deps.sh --test): the backend contract,
 * optimistic concurrency (a read-modify-write that raced another commit is
 * refused, phantoms included; keystore_write() retries so that concurrent
 * increments from two "nodes" lose nothing), sealing (etcd holds only
 * ciphertext), the shared master key check, and cross-node cache
 * invalidation through keystore_generation().
 */
#include "keystore/keystore_testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "tests/test.h"
#include "tests/unit/keystore_contract.h"

static char store[128];
static pid_t etcd_pid;

static unsigned free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &l) != 0) {
        perror("free port");
        exit(2);
    }
    close(fd);
    return ntohs(a.sin_port);
}

static void ms_sleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void start_etcd(const char *root)
{
    unsigned cp = free_port(), pp = free_port();
    char data[PATH_MAX], client[64], peer[64], cluster[96];
    if (snprintf(data, sizeof data, "%s/etcd", root) >= (int)sizeof data) abort();
    snprintf(client, sizeof client, "http://127.0.0.1:%u", cp);
    snprintf(peer, sizeof peer, "http://127.0.0.1:%u", pp);
    snprintf(cluster, sizeof cluster, "t=%s", peer);
    snprintf(store, sizeof store, "etcd://127.0.0.1:%u", cp);
    etcd_pid = fork();
    if (etcd_pid == 0) {
        /* etcd dies with the test, even when the test aborts. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) _exit(127);
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(127);
        execlp("etcd", "etcd", "--name", "t", "--data-dir", data, "--listen-client-urls", client,
               "--advertise-client-urls", client, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
               "--initial-cluster", cluster, "--max-txn-ops", "10000", (char *)NULL);
        _exit(127);
    }
    if (etcd_pid < 0) exit(2);
}

static void stop_etcd(void)
{
    if (etcd_pid > 0) {
        kill(etcd_pid, SIGTERM);
        waitpid(etcd_pid, NULL, 0);
    }
}

static struct keystore_options etcd_opts(const char *dir, const char *prefix)
{
    struct keystore_options o = kst_key_file_opts(dir);
    o.store = store;
    o.etcd_prefix = prefix;
    return o;
}

/* Opens a node: waits (up to 20 s) for etcd to answer the first time. */
static struct keystore *node(const char *dir, const char *prefix, const char *key_file)
{
    struct keystore_options o = etcd_opts(dir, prefix);
    o.key_file = key_file;
    struct keystore *ks = NULL;
    for (int i = 0; i < 200; i++) {
        core_result r = keystore_open(&o, &ks, NULL);
        if (core_ok(r)) return ks;
        if (r.err != ERR_IO) {
            TEST_FAIL("keystore_open -> %s", core_err_name(r.err));
            return NULL;
        }
        ms_sleep(100);
    }
    TEST_FAIL("etcd did not come up");
    return NULL;
}

static char root_dir[PATH_MAX];

static void sub(char out[PATH_MAX], const char *name)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", root_dir, name);
    if (n < 0 || n >= PATH_MAX) exit(2);
}

static void test_contract(void)
{
    char d[PATH_MAX];
    sub(d, "contract");
    struct keystore *ks = node(d, "contract", NULL);
    if (!ks) return;
    EXPECT_TRUE(!ks->be->nests);
    test_atomicity(ks);
    test_isolation(ks);
    test_order(ks);
    keystore_close(ks);
    /* Durability: a fresh handle (another node) reads what was acknowledged. */
    ks = node(d, "contract", NULL);
    if (!ks) return;
    struct ks_btxn *r = NULL;
    EXPECT_OK(ks->be->txn_begin(ks, NULL, false, &r));
    EXPECT_TRUE(raw_has(ks, r, K("i1"), "new"));
    ks->be->txn_abort(r);
    keystore_close(ks);
}

/* Two nodes (two handles with their own directories, one key file). */
static struct keystore *a_node, *b_node;

static void open_pair(const char *prefix)
{
    char da[PATH_MAX], db[PATH_MAX], kf[PATH_MAX];
    int n = snprintf(da, sizeof da, "%s/%s-a", root_dir, prefix);
    if (n < 0 || n >= PATH_MAX - 16) exit(2);
    n = snprintf(db, sizeof db, "%s/%s-b", root_dir, prefix);
    if (n < 0 || n >= PATH_MAX) exit(2);
    n = snprintf(kf, sizeof kf, "%s/master.key", da);
    if (n < 0 || n >= PATH_MAX) exit(2);
    a_node = node(da, prefix, NULL);
    b_node = node(db, prefix, kf);
}

static void close_pair(void)
{
    keystore_close(a_node);
    keystore_close(b_node);
    a_node = b_node = NULL;
}

static void test_conflicts(void)
{
    open_pair("conflict");
    if (!a_node || !b_node) return;
    EXPECT_OK(kst_put(a_node, "t", "k", "v0"));
    EXPECT_OK(kst_put(a_node, "t", "m", "v0"));
    struct core_buf buf = {0};
    EXPECT_OK(core_buf_init(&buf, 64, 4096));

    /* Lost update: A reads k, B writes k, A's write of k is refused. */
    struct keystore_txn *ta = NULL, *tb = NULL;
    EXPECT_OK(keystore_txn_begin(a_node, true, &ta));
    EXPECT_OK(keystore_get(ta, "t", core_cursor_str("k"), &buf));
    EXPECT_OK(keystore_txn_begin(b_node, true, &tb));
    EXPECT_OK(keystore_get(tb, "t", core_cursor_str("k"), &buf));
    EXPECT_OK(keystore_put(tb, "t", core_cursor_str("k"), core_cursor_str("from b"), 0));
    EXPECT_OK(keystore_txn_commit(tb));
    EXPECT_OK(keystore_put(ta, "t", core_cursor_str("k"), core_cursor_str("from a"), 0));
    EXPECT_ERR(keystore_txn_commit(ta), ERR_CONFLICT);
    EXPECT_TRUE(kst_has(a_node, "t", "k", "from b") || kst_has(b_node, "t", "k", "from b"));

    /* Creation race: both see "n" absent; the second NO_OVERWRITE create is refused. */
    EXPECT_OK(keystore_txn_begin(a_node, true, &ta));
    EXPECT_OK(keystore_txn_begin(b_node, true, &tb));
    EXPECT_OK(keystore_put(ta, "t", core_cursor_str("n"), core_cursor_str("a"), KEYSTORE_NO_OVERWRITE));
    EXPECT_OK(keystore_put(tb, "t", core_cursor_str("n"), core_cursor_str("b"), KEYSTORE_NO_OVERWRITE));
    EXPECT_OK(keystore_txn_commit(tb));
    EXPECT_ERR(keystore_txn_commit(ta), ERR_CONFLICT);

    /* Phantom: A iterates t; B inserts into t; A's commit is refused. */
    EXPECT_OK(keystore_txn_begin(a_node, true, &ta));
    struct keystore_iter *it = NULL;
    struct core_cursor id;
    EXPECT_OK(keystore_iter_begin(ta, "t", core_cursor_from(NULL, 0), &it));
    unsigned seen = 0;
    while (core_ok(keystore_iter_next(it, &id, &buf))) seen++;
    keystore_iter_end(it);
    EXPECT_TRUE(seen == 3);
    EXPECT_OK(kst_put(b_node, "t", "new", "x"));
    EXPECT_OK(keystore_put(ta, "u", core_cursor_str("count"), core_cursor_str("3"), 0));
    EXPECT_ERR(keystore_txn_commit(ta), ERR_CONFLICT);

    /* Deleted under an iteration: refused too. */
    EXPECT_OK(keystore_txn_begin(a_node, true, &ta));
    EXPECT_OK(keystore_iter_begin(ta, "t", core_cursor_from(NULL, 0), &it));
    while (core_ok(keystore_iter_next(it, &id, NULL))) {
    }
    keystore_iter_end(it);
    EXPECT_OK(keystore_txn_begin(b_node, true, &tb));
    EXPECT_OK(keystore_del(tb, "t", core_cursor_str("m")));
    EXPECT_OK(keystore_txn_commit(tb));
    EXPECT_OK(keystore_put(ta, "u", core_cursor_str("count"), core_cursor_str("4"), 0));
    EXPECT_ERR(keystore_txn_commit(ta), ERR_CONFLICT);

    /* Unrelated writes do not conflict. */
    EXPECT_OK(keystore_txn_begin(a_node, true, &ta));
    EXPECT_OK(keystore_get(ta, "t", core_cursor_str("k"), &buf));
    EXPECT_OK(kst_put(b_node, "other", "z", "x"));
    EXPECT_OK(keystore_put(ta, "t", core_cursor_str("k"), core_cursor_str("from a"), 0));
    EXPECT_OK(keystore_txn_commit(ta));
    ms_sleep(300); /* B's read txns read at B's revision, at most ~100 ms old */
    EXPECT_TRUE(kst_has(b_node, "t", "k", "from a"));

    /* A write txn sees its own writes, including deletes, in get and iteration. */
    EXPECT_OK(keystore_txn_begin(a_node, true, &ta));
    EXPECT_OK(keystore_put(ta, "t", core_cursor_str("a0"), core_cursor_str("mine"), 0));
    EXPECT_OK(keystore_del(ta, "t", core_cursor_str("k")));
    EXPECT_ERR(keystore_get(ta, "t", core_cursor_str("k"), &buf), ERR_NOT_FOUND);
    EXPECT_OK(keystore_iter_begin(ta, "t", core_cursor_from(NULL, 0), &it));
    EXPECT_OK(keystore_iter_next(it, &id, &buf));
    EXPECT_TRUE(core_cursor_eq_str(id, "a0") && core_cursor_eq_str(core_buf_cursor(&buf), "mine"));
    while (core_ok(keystore_iter_next(it, &id, NULL))) EXPECT_TRUE(!core_cursor_eq_str(id, "k"));
    keystore_iter_end(it);
    keystore_txn_abort(ta);
    EXPECT_TRUE(kst_has(a_node, "t", "k", "from a"));
    core_buf_free(&buf);
    close_pair();
}

/* Read-modify-write increments through keystore_write() on two nodes at once. */
static core_result incr(struct keystore_txn *txn, void *arg)
{
    (void)arg;
    DEFER_CLEANUP(struct core_buf v = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&v, 32, 31));
    core_result r = keystore_get(txn, "c", core_cursor_str("n"), &v);
    unsigned long n = 0;
    if (core_ok(r)) {
        char s[32];
        memcpy(s, v.data, v.len);
        s[v.len] = 0;
        n = strtoul(s, NULL, 10);
    } else if (r.err != ERR_NOT_FOUND) {
        return r;
    }
    char out[32];
    int l = snprintf(out, sizeof out, "%lu", n + 1);
    return keystore_put(txn, "c", core_cursor_str("n"), core_cursor_from(out, (size_t)l), 0);
}

#define INCR_THREADS 4
#define INCR_EACH 15

static void *incr_main(void *arg)
{
    struct keystore *ks = arg;
    for (int i = 0; i < INCR_EACH; i++) EXPECT_OK(keystore_write(ks, incr, NULL));
    return NULL;
}

static void test_no_lost_update(void)
{
    open_pair("counter");
    if (!a_node || !b_node) return;
    pthread_t th[INCR_THREADS];
    for (int i = 0; i < INCR_THREADS; i++) pthread_create(&th[i], NULL, incr_main, i % 2 ? b_node : a_node);
    for (int i = 0; i < INCR_THREADS; i++) pthread_join(th[i], NULL);
    char want[16];
    snprintf(want, sizeof want, "%d", INCR_THREADS * INCR_EACH);
    ms_sleep(300);
    EXPECT_TRUE(kst_has(a_node, "c", "n", want));
    close_pair();
}

/* etcd holds only ciphertext, bound to its address; a wrong key file is refused. */
static void test_sealed_and_key_check(void)
{
    open_pair("sealed");
    if (!a_node || !b_node) return;
    const char *secret = "plaintext-that-must-not-reach-etcd";
    EXPECT_OK(kst_put(a_node, "t", "s", secret));
    struct ks_btxn *r = NULL;
    struct core_cursor v = {0};
    EXPECT_OK(a_node->be->txn_begin(a_node, NULL, false, &r));
    static const uint8_t rk[] = {'t', 0, 's'};
    EXPECT_OK(a_node->be->get(r, core_cursor_from(rk, sizeof rk), &v));
    EXPECT_TRUE(v.len == strlen(secret) + KS_SEAL_OVERHEAD);
    bool found = false;
    for (size_t i = 0; i + strlen(secret) <= v.len; i++)
        if (memcmp(v.ptr + i, secret, strlen(secret)) == 0) found = true;
    EXPECT_TRUE(!found);
    a_node->be->txn_abort(r);
    /* Created through A a moment ago: B finds it at once (a first read's
     * "not found" is confirmed at the current revision). */
    EXPECT_TRUE(kst_has(b_node, "t", "s", secret));
    close_pair();

    /* A node with another master key file is refused before anything is written. */
    char d[PATH_MAX];
    sub(d, "sealed-c");
    struct keystore_options o = etcd_opts(d, "sealed");
    char kf[PATH_MAX];
    sub(kf, "other.key");
    FILE *f = fopen(kf, "wb");
    uint8_t k[32];
    randombytes_buf(k, sizeof k);
    if (f) {
        fwrite(k, 1, sizeof k, f);
        fclose(f);
    }
    chmod(kf, 0600);
    o.key_file = kf;
    struct keystore *ks = NULL;
    EXPECT_ERR(keystore_open(&o, &ks, NULL), ERR_WRONG_MASTER_KEY);
    EXPECT_TRUE(ks == NULL);
}

/* Someone with write access to etcd moves a sealed value onto another
 * record: refused (the AEAD binds a value to its table and id); ids with a
 * '/' keep to their table. */
static void test_tamper_and_slashes(void)
{
    open_pair("tamper");
    if (!a_node || !b_node) return;
    EXPECT_OK(kst_put(a_node, "t", "victim", "victim's value"));
    EXPECT_OK(kst_put(a_node, "t", "a/b", "slash id"));
    EXPECT_OK(kst_put(a_node, "t0", "x", "other table"));
    struct ks_btxn *r = NULL, *w = NULL;
    struct core_cursor v = {0};
    static const uint8_t from[] = {'t', 0, 'a', '/', 'b'}, to[] = {'t', 0, 'v', 'i', 'c', 't', 'i', 'm'};
    EXPECT_OK(a_node->be->txn_begin(a_node, NULL, false, &r));
    EXPECT_OK(a_node->be->get(r, core_cursor_from(from, sizeof from), &v));
    uint8_t copy[256];
    size_t n = v.len < sizeof copy ? v.len : sizeof copy;
    memcpy(copy, v.ptr, n);
    a_node->be->txn_abort(r);
    EXPECT_OK(a_node->be->txn_begin(a_node, NULL, true, &w));
    uint8_t *dst = NULL;
    EXPECT_OK(a_node->be->put_reserve(w, core_cursor_from(to, sizeof to), n, false, &dst));
    if (dst) memcpy(dst, copy, n);
    EXPECT_OK(a_node->be->txn_commit(w));
    struct core_buf b = {0};
    EXPECT_OK(core_buf_init(&b, 64, 4096));
    EXPECT_ERR(kst_get(a_node, "t", "victim", &b), ERR_TAMPERED);
    EXPECT_TRUE(b.len == 0);
    EXPECT_TRUE(kst_has(a_node, "t", "a/b", "slash id"));
    /* Table t lists its two ids, not t0's. */
    struct keystore_txn *txn = NULL;
    struct keystore_iter *it = NULL;
    struct core_cursor id;
    EXPECT_OK(keystore_txn_begin(a_node, false, &txn));
    EXPECT_OK(keystore_iter_begin(txn, "t", core_cursor_from(NULL, 0), &it));
    unsigned count = 0;
    while (core_ok(keystore_iter_next(it, &id, NULL))) count++;
    keystore_iter_end(it);
    keystore_txn_abort(txn);
    EXPECT_TRUE(count == 2);
    core_buf_free(&b);
    close_pair();
}

/* A write on node A moves node B's generation (its caches drop) within the
 * documented bound, and B then reads the new value. */
static void test_cross_node_invalidation(void)
{
    open_pair("inval");
    if (!a_node || !b_node) return;
    EXPECT_OK(kst_put(a_node, "t", "x", "enabled"));
    ms_sleep(300);
    EXPECT_TRUE(kst_has(b_node, "t", "x", "enabled"));
    uint64_t g = keystore_generation(b_node);
    EXPECT_OK(kst_put(a_node, "t", "x", "disabled"));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long waited = 0;
    while (keystore_generation(b_node) == g && waited < 5000) {
        ms_sleep(5);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        waited = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    }
    fprintf(stderr, "node B saw node A's write after %ld ms\n", waited);
    EXPECT_TRUE(waited < 1000); /* docs/scale-out.md: ET_POLL_MS (100 ms) plus a round trip */
    EXPECT_TRUE(kst_has(b_node, "t", "x", "disabled"));
    close_pair();
}

/* Exactly one node leads background jobs; when it closes, the other takes over. */
static void test_leader(void)
{
    open_pair("leader");
    if (!a_node || !b_node) return;
    int waited = 0;
    while (!(keystore_leads(a_node) ^ keystore_leads(b_node)) && waited < 5000) {
        ms_sleep(50);
        waited += 50;
    }
    EXPECT_TRUE(keystore_leads(a_node) ^ keystore_leads(b_node));
    struct keystore *leader = keystore_leads(a_node) ? a_node : b_node;
    struct keystore *other = leader == a_node ? b_node : a_node;
    ms_sleep(1500); /* still exactly one */
    EXPECT_TRUE(keystore_leads(leader) && !keystore_leads(other));
    keystore_close(leader); /* revokes its lease */
    waited = 0;
    while (!keystore_leads(other) && waited < 6000) {
        ms_sleep(50);
        waited += 50;
    }
    fprintf(stderr, "the other node leads %d ms after the leader closed\n", waited);
    EXPECT_TRUE(keystore_leads(other));
    keystore_close(other);
    a_node = b_node = NULL;
}

/* etcd authentication: with auth enabled, a node without credentials or
 * with a wrong password is refused; with the right ones it works. Runs
 * last: it leaves auth on. */
static void test_auth(void)
{
    char cmd[512];
    const char *ep = store + strlen("etcd://");
    snprintf(cmd, sizeof cmd,
             "etcdctl --endpoints=%s user add root:s3cret-pw >/dev/null && "
             "etcdctl --endpoints=%s auth enable >/dev/null", ep, ep);
    EXPECT_TRUE(system(cmd) == 0);
    char d[PATH_MAX];
    sub(d, "auth-a");
    struct keystore_options o = etcd_opts(d, "auth");
    struct keystore *ks = NULL;
    EXPECT_ERR(keystore_open(&o, &ks, NULL), ERR_IO); /* no credentials */
    o.etcd_user = "root";
    o.etcd_password = core_cursor_str("wrong");
    EXPECT_ERR(keystore_open(&o, &ks, NULL), ERR_IO);
    EXPECT_TRUE(ks == NULL);
    o.etcd_password = core_cursor_str("s3cret-pw");
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    if (!ks) return;
    EXPECT_OK(kst_put(ks, "t", "k", "behind auth"));
    EXPECT_TRUE(kst_has(ks, "t", "k", "behind auth"));
    struct core_buf b = {0};
    EXPECT_OK(core_buf_init(&b, 64, 4096));
    EXPECT_OK(kst_get(ks, "t", "k", &b));
    core_buf_free(&b);
    keystore_close(ks);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    char dir[PATH_MAX];
    kst_mkdtemp(root_dir, dir);
    start_etcd(root_dir);
    test_contract();
    test_conflicts();
    test_no_lost_update();
    test_sealed_and_key_check();
    test_cross_node_invalidation();
    test_leader();
    test_tamper_and_slashes();
    test_auth();
    stop_etcd();
    kst_rmrf(root_dir);
    TEST_MAIN_END();
}
