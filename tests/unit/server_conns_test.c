/*
 * Admission control (server_conns.c): at the connection cap and at the
 * per-address cap the oldest incomplete or idle connection is shed (its
 * socket shut down), busy ones never; a request head has a deadline from
 * accept. Sockets are socketpairs: a shed one reads end-of-stream.
 */
#include <sys/socket.h>
#include <unistd.h>

#include "server/server_internal.h"
#include "tests/test.h"

struct sock {
    int ours, peer;
    struct server_conn *c;
};

static void open_pair(struct sock *s)
{
    int sv[2];
    EXPECT_TRUE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    s->ours = sv[0];
    s->peer = sv[1];
    s->c = NULL;
}

/* True when the server side of s was shut down. */
static bool was_shed(const struct sock *s)
{
    char b;
    return recv(s->peer, &b, 1, MSG_DONTWAIT) == 0;
}

static void close_pair(struct sock *s)
{
    if (s->c) server_conns_closed(s->c);
    close(s->ours);
    close(s->peer);
}

static const uint8_t ADDR_A[4] = {127, 0, 0, 1}, ADDR_B[4] = {10, 0, 0, 2};

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    enum { N = 6 };
    struct sock s[N + 2];
    uint64_t t = 1000;

    /* Global cap 4, per-address cap 3, head deadline 10 s. */
    server_conns_init(4, 3, 10);
    for (int i = 0; i < 3; i++) {
        open_pair(&s[i]);
        s[i].c = server_conns_admit(s[i].ours, ADDR_A, 4, t + (uint64_t)i);
        EXPECT_TRUE(s[i].c != NULL);
    }
    /* s[0] completes a request and is being served: busy, never shed. */
    server_conns_head_done(s[0].c, t + 10);
    server_conns_busy(s[0].c, t + 10);
    /* A fourth connection from A: per-address cap; the oldest sheddable of A is s[1]. */
    open_pair(&s[3]);
    s[3].c = server_conns_admit(s[3].ours, ADDR_A, 4, t + 20);
    EXPECT_TRUE(s[3].c != NULL);
    EXPECT_TRUE(!was_shed(&s[0]));
    EXPECT_TRUE(was_shed(&s[1]));
    EXPECT_TRUE(!was_shed(&s[2]));
    /* From B: the global cap (4: s0 s2 s3 + B) is reached at the next one. */
    open_pair(&s[4]);
    s[4].c = server_conns_admit(s[4].ours, ADDR_B, 4, t + 30);
    EXPECT_TRUE(s[4].c != NULL);
    EXPECT_TRUE(!was_shed(&s[2]));
    open_pair(&s[5]);
    s[5].c = server_conns_admit(s[5].ours, ADDR_B, 4, t + 40);
    EXPECT_TRUE(s[5].c != NULL);
    EXPECT_TRUE(was_shed(&s[2])); /* the oldest incomplete, whatever its address */
    EXPECT_TRUE(!was_shed(&s[0]));

    /* An idle keep-alive connection is sheddable, by the age of its idleness. */
    server_conns_idle(s[0].c, t + 50);
    open_pair(&s[6]);
    s[6].c = server_conns_admit(s[6].ours, ADDR_B, 4, t + 60);
    EXPECT_TRUE(s[6].c != NULL);
    EXPECT_TRUE(was_shed(&s[3])); /* s3 (t+20) is older than s0's idleness (t+50) */
    EXPECT_TRUE(!was_shed(&s[0]));

    /* The head deadline counts from accept; a completed head stops it. */
    server_conns_head_done(s[4].c, t + 70);
    struct server_conns_stats st;
    server_conns_sweep(t + 30 + 10000, &st);
    EXPECT_TRUE(!was_shed(&s[4]));
    EXPECT_TRUE(!was_shed(&s[5]));
    server_conns_sweep(t + 40 + 10000, &st);
    EXPECT_TRUE(was_shed(&s[5]));
    EXPECT_TRUE(!was_shed(&s[6]));
    EXPECT_TRUE(!was_shed(&s[4]));
    EXPECT_TRUE(st.shed == 4);

    /* All busy at the cap: the new connection is refused, nobody is shed. */
    for (int i = 0; i < N + 1; i++) close_pair(&s[i]);
    server_conns_init(2, 0, 0);
    for (int i = 0; i < 2; i++) {
        open_pair(&s[i]);
        s[i].c = server_conns_admit(s[i].ours, ADDR_A, 4, t);
        server_conns_busy(s[i].c, t);
    }
    open_pair(&s[2]);
    EXPECT_TRUE(server_conns_admit(s[2].ours, ADDR_A, 4, t) == NULL);
    EXPECT_TRUE(!was_shed(&s[0]) && !was_shed(&s[1]));
    for (int i = 0; i < 3; i++) close_pair(&s[i]);
    TEST_MAIN_END();
}
