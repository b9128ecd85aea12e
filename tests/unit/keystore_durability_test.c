/*
 * kill -9 durability. A child process writes through keystore_write() from
 * several threads and acknowledges each id over a pipe only after
 * keystore_write() returned success. The parent SIGKILLs it mid-load,
 * reopens the keystore and checks that every acknowledged write is there,
 * intact. Three rounds, so later rounds also recover from a killed writer
 * (LMDB's robust writer mutex, stale reader slots).
 */
#include "keystore/keystore_testutil.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "tests/test.h"

enum { CHILD_THREADS = 4, ROUNDS = 3, MAX_ACKS = 400 };

struct ack {
    uint32_t round, thread, seq;
};

static void value_of(struct ack a, char *out, size_t cap)
{
    /* ~200 bytes so pages fill and split while the child is killed. */
    int n = snprintf(out, cap, "r%u-t%u-s%u:", a.round, a.thread, a.seq);
    for (size_t i = (size_t)n; i + 1 < cap && i < 200; i++) out[i] = (char)('a' + (i + a.seq) % 26);
    out[cap - 1 < 200 ? cap - 1 : 200] = 0;
}

static void id_of(struct ack a, char out[48]) { snprintf(out, 48, "r%u-t%u-s%08u", a.round, a.thread, a.seq); }

struct child_arg {
    struct keystore *ks;
    int fd;
    struct ack a;
};

static core_result put_fn(struct keystore_txn *txn, void *arg)
{
    const struct ack *a = arg;
    char id[48], val[256];
    id_of(*a, id);
    value_of(*a, val, sizeof val);
    return keystore_put(txn, "kms_key", core_cursor_str(id), core_cursor_str(val), KEYSTORE_NO_OVERWRITE);
}

static void *child_writer(void *p)
{
    struct child_arg *c = p;
    for (uint32_t seq = 0;; seq++) {
        c->a.seq = seq;
        if (!core_ok(keystore_write(c->ks, put_fn, &c->a))) _exit(3);
        /* sizeof(struct ack) < PIPE_BUF: each ack is one atomic write. */
        if (write(c->fd, &c->a, sizeof c->a) != (ssize_t)sizeof c->a) _exit(4);
    }
    return NULL;
}

static void run_child(const char *dir, uint32_t round, int fd)
{
    struct keystore_options o = kst_key_file_opts(dir);
    struct keystore *ks = NULL;
    if (!core_ok(keystore_open(&o, &ks, NULL))) _exit(2);
    static struct child_arg args[CHILD_THREADS];
    pthread_t t[CHILD_THREADS];
    for (uint32_t i = 0; i < CHILD_THREADS; i++) {
        args[i] = (struct child_arg){.ks = ks, .fd = fd, .a = {.round = round, .thread = i}};
        pthread_create(&t[i], NULL, child_writer, &args[i]);
    }
    for (;;) pause();
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One round; returns the number of acknowledged writes checked. */
static size_t round_trip(const char *dir, uint32_t round)
{
    int p[2];
    if (pipe(p) != 0) exit(2);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        run_child(dir, round, p[1]);
    }
    close(p[1]);
    static struct ack acks[1 << 16];
    size_t n = 0;
    double deadline = now_s() + 0.5;
    while (n < MAX_ACKS && now_s() < deadline) {
        struct pollfd pfd = {.fd = p[0], .events = POLLIN};
        if (poll(&pfd, 1, 50) <= 0) continue;
        ssize_t got = read(p[0], &acks[n], sizeof acks[n]);
        if (got == (ssize_t)sizeof acks[n]) n++;
        else if (got <= 0) break;
    }
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    /* Acks already in the pipe were sent after a successful return, too. */
    ssize_t got;
    while (n < sizeof acks / sizeof acks[0] && (got = read(p[0], &acks[n], sizeof acks[n])) == (ssize_t)sizeof acks[n])
        n++;
    close(p[0]);

    struct keystore_options o = kst_key_file_opts(dir);
    struct keystore *ks = NULL;
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    if (!ks) return 0;
    struct core_buf v = {0};
    EXPECT_OK(core_buf_init(&v, 256, 256));
    size_t missing = 0;
    for (size_t i = 0; i < n; i++) {
        char id[48], want[256];
        id_of(acks[i], id);
        value_of(acks[i], want, sizeof want);
        core_result r = kst_get(ks, "kms_key", id, &v);
        if (!core_ok(r) || !core_cursor_eq_str(core_buf_cursor(&v), want)) {
            if (missing++ < 5) TEST_FAIL("acknowledged write %s: %s", id, core_err_name(r.err));
        }
    }
    EXPECT_TRUE(missing == 0);
    /* The keystore still takes writes after recovering. */
    EXPECT_OK(kst_put(ks, "kms_key", "after-kill", "ok"));
    core_buf_free(&v);
    keystore_close(ks);
    printf("round %u: %zu acknowledged writes survived SIGKILL\n", round, n);
    return n;
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    char root[PATH_MAX], dir[PATH_MAX];
    kst_mkdtemp(root, dir);
    struct keystore_options o = kst_key_file_opts(dir);
    struct keystore *ks = NULL;
    EXPECT_OK(keystore_open(&o, &ks, NULL)); /* create the key before forking */
    keystore_close(ks);
    size_t total = 0;
    for (uint32_t r = 0; r < ROUNDS; r++) total += round_trip(dir, r);
    EXPECT_TRUE(total > 0);
    kst_rmrf(root);
    TEST_MAIN_END();
}
