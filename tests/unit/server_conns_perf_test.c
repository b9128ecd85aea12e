/*
 * The body deadline (server_conns.c): once a request head has arrived, its
 * body must arrive within the head deadline again, counted from the end of
 * the head; a body trickled byte by byte does not extend it. A connection
 * whose body completed in time (busy, then idle between keep-alive
 * requests) is not touched. Socketpairs: a shed connection reads
 * end-of-stream.
 */
#include <sys/socket.h>
#include <unistd.h>

#include "server/server_internal.h"
#include "tests/test.h"

struct sock {
    int ours, peer;
    struct server_conn *c;
};

static void open_pair(struct sock *s, uint64_t now)
{
    int sv[2];
    EXPECT_TRUE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    s->ours = sv[0];
    s->peer = sv[1];
    static const uint8_t addr[4] = {127, 0, 0, 1};
    s->c = server_conns_admit(s->ours, addr, sizeof addr, now);
    EXPECT_TRUE(s->c != NULL);
}

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

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    server_conns_init(64, 64, 3); /* 3 s deadlines */
    struct sock slow, done;
    open_pair(&slow, 1000);
    open_pair(&done, 1000);
    /* Both heads arrive at t = 2 s: the head deadline no longer applies. */
    server_conns_head_done(slow.c, 2000);
    server_conns_head_done(done.c, 2000);
    /* done's body completes at once: busy, then idle (keep-alive). */
    server_conns_busy(done.c, 2100);
    server_conns_idle(done.c, 2200);
    /* slow's body trickles: nothing moves it. Just before its deadline it stays. */
    struct server_conns_stats st;
    server_conns_sweep(4999, &st);
    EXPECT_TRUE(!was_shed(&slow) && !was_shed(&done));
    /* At the deadline (end of head + 3 s) the trickled body's connection is shed. */
    server_conns_sweep(5000, &st);
    EXPECT_TRUE(was_shed(&slow));
    EXPECT_TRUE(!was_shed(&done));
    EXPECT_TRUE(st.shed >= 1);
    /* Long after, the idle keep-alive connection is still untouched by deadlines. */
    server_conns_sweep(60000, &st);
    EXPECT_TRUE(!was_shed(&done));
    close_pair(&slow);
    close_pair(&done);
    TEST_MAIN_END();
}
