/*
 * Connection admission. Every accepted connection is registered here, in
 * one of three lists:
 *   incomplete: its request (head or body) is still arriving;
 *   busy:       a complete request is being served or answered;
 *   idle:       keep-alive, between requests.
 * incomplete and idle are kept in the order they entered the list.
 *
 * At the connection cap, or at the per-address cap, the oldest incomplete
 * or idle connection is shed to make room (for the per-address cap, the
 * oldest of that address), instead of refusing the new one: a peer that
 * opens connections and goes quiet (a slowloris) then only ever displaces
 * its own connections, and a client with a complete request is served.
 * Only when every connection is busy is the new one refused. A request head
 * also has its own deadline from accept, that trickled bytes do not extend,
 * and its body the same deadline again from the end of the head: a client
 * sending a body at one byte a second is closed then, whatever the idle
 * timeout (which every byte resets) says.
 *
 * A connection is shed with shutdown(2), never close(2): the HTTP library
 * owns the descriptor, sees the end of stream on its own thread and closes
 * the connection, then tells us (server_conns_closed). It does so before it
 * closes the descriptor, and a shed happens under the registry lock that
 * server_conns_closed also takes, so the descriptor shut down is always
 * still this connection's.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "server/server_internal.h"

enum conn_list { LIST_INCOMPLETE, LIST_BUSY, LIST_IDLE, LIST_COUNT };

struct server_conn {
    struct server_conn *prev, *next;
    enum conn_list list;
    bool head_done; /* the request head arrived (the body deadline applies from then) */
    bool shed;      /* shut down; waiting for the library to close it */
    int fd;
    uint64_t since_ms; /* entered its list */
    uint64_t accepted_ms;
    uint8_t addr[16];
    uint8_t addr_len;
    void *spare; /* server_http.c's request state kept for the next request (server_conns_spare) */
};

static struct {
    pthread_mutex_t mu;
    struct server_conn *head[LIST_COUNT], *tail[LIST_COUNT];
    unsigned count; /* registered and not shed */
    unsigned cap, per_addr_cap;
    uint64_t head_deadline_ms;
    uint64_t shed_total, refused_total;
} reg = {.mu = PTHREAD_MUTEX_INITIALIZER};

void server_conns_init(unsigned cap, unsigned per_addr_cap, unsigned head_timeout_s)
{
    pthread_mutex_lock(&reg.mu);
    reg.cap = cap;
    reg.per_addr_cap = per_addr_cap;
    reg.head_deadline_ms = (uint64_t)head_timeout_s * 1000;
    pthread_mutex_unlock(&reg.mu);
}

static void unlink_conn(struct server_conn *c)
{
    if (c->prev) c->prev->next = c->next;
    else reg.head[c->list] = c->next;
    if (c->next) c->next->prev = c->prev;
    else reg.tail[c->list] = c->prev;
    c->prev = c->next = NULL;
}

static void append(struct server_conn *c, enum conn_list list, uint64_t now_ms)
{
    c->list = list;
    c->since_ms = now_ms;
    c->next = NULL;
    c->prev = reg.tail[list];
    if (reg.tail[list]) reg.tail[list]->next = c;
    else reg.head[list] = c;
    reg.tail[list] = c;
}

static void shed(struct server_conn *c)
{
    unlink_conn(c);
    c->shed = true;
    reg.count--;
    reg.shed_total++;
    shutdown(c->fd, SHUT_RDWR);
}

static bool same_addr(const struct server_conn *a, const uint8_t *addr, size_t len)
{
    return core_cursor_eq(core_cursor_from(a->addr, a->addr_len), core_cursor_from(addr, len));
}

/* The oldest sheddable connection (of addr, when given). */
static struct server_conn *oldest_sheddable(const uint8_t *addr, size_t len)
{
    struct server_conn *best = NULL;
    static const enum conn_list lists[] = {LIST_INCOMPLETE, LIST_IDLE};
    for (size_t i = 0; i < 2; i++) {
        for (struct server_conn *c = reg.head[lists[i]]; c; c = c->next) {
            if (addr && !same_addr(c, addr, len)) continue;
            if (best == NULL || c->since_ms < best->since_ms) best = c;
            break; /* lists are in age order: the first match is that list's oldest */
        }
    }
    return best;
}

/*
 * The incomplete list is in since_ms order: accept time for a head still
 * arriving, end of the head for a body still arriving (server_conns_head_done
 * moves it to the back). Each is shed once its deadline passed.
 */
static void sweep_locked(uint64_t now_ms)
{
    if (reg.head_deadline_ms == 0) return;
    struct server_conn *c = reg.head[LIST_INCOMPLETE];
    while (c && c->since_ms + reg.head_deadline_ms <= now_ms) {
        struct server_conn *next = c->next;
        if (c->head_done || c->accepted_ms + reg.head_deadline_ms <= now_ms) shed(c);
        c = next;
    }
}

struct server_conn *server_conns_admit(int fd, const void *addr, size_t addr_len, uint64_t now_ms)
{
    struct server_conn *c = calloc(1, sizeof *c);
    if (c == NULL) return NULL;
    c->fd = fd;
    c->accepted_ms = now_ms;
    c->addr_len = (uint8_t)(addr_len <= sizeof c->addr ? addr_len : 0);
    if (c->addr_len) memcpy(c->addr, addr, c->addr_len);

    pthread_mutex_lock(&reg.mu);
    sweep_locked(now_ms);
    bool ok = true;
    if (reg.per_addr_cap) {
        unsigned same = 0;
        for (size_t l = 0; l < LIST_COUNT; l++)
            for (struct server_conn *o = reg.head[l]; o; o = o->next) same += same_addr(o, c->addr, c->addr_len);
        if (same >= reg.per_addr_cap) {
            struct server_conn *victim = oldest_sheddable(c->addr, c->addr_len);
            if (victim) shed(victim);
            else ok = false;
        }
    }
    if (ok && reg.cap && reg.count >= reg.cap) {
        struct server_conn *victim = oldest_sheddable(NULL, 0);
        if (victim) shed(victim);
        else ok = false;
    }
    if (ok) {
        append(c, LIST_INCOMPLETE, now_ms);
        reg.count++;
    } else {
        reg.refused_total++;
    }
    pthread_mutex_unlock(&reg.mu);
    if (!ok) {
        free(c);
        return NULL;
    }
    return c;
}

void server_conns_head_done(struct server_conn *c, uint64_t now_ms)
{
    if (c == NULL) return;
    pthread_mutex_lock(&reg.mu);
    if (!c->shed) {
        /* The body may still be arriving: incomplete, but past the head deadline. */
        unlink_conn(c);
        c->head_done = true;
        append(c, LIST_INCOMPLETE, now_ms);
    }
    pthread_mutex_unlock(&reg.mu);
}

void server_conns_busy(struct server_conn *c, uint64_t now_ms)
{
    if (c == NULL) return;
    pthread_mutex_lock(&reg.mu);
    if (!c->shed && c->list != LIST_BUSY) {
        unlink_conn(c);
        append(c, LIST_BUSY, now_ms);
    }
    pthread_mutex_unlock(&reg.mu);
}

void server_conns_idle(struct server_conn *c, uint64_t now_ms)
{
    if (c == NULL) return;
    pthread_mutex_lock(&reg.mu);
    if (!c->shed) {
        unlink_conn(c);
        append(c, LIST_IDLE, now_ms);
    }
    pthread_mutex_unlock(&reg.mu);
}

void **server_conns_spare(struct server_conn *c) { return c ? &c->spare : NULL; }

void server_conns_closed(struct server_conn *c)
{
    if (c == NULL) return;
    pthread_mutex_lock(&reg.mu);
    if (!c->shed) {
        unlink_conn(c);
        reg.count--;
    }
    pthread_mutex_unlock(&reg.mu);
    free(c);
}

void server_conns_stats_get(struct server_conns_stats *stats)
{
    pthread_mutex_lock(&reg.mu);
    *stats = (struct server_conns_stats){reg.count, reg.shed_total, reg.refused_total};
    pthread_mutex_unlock(&reg.mu);
}

void server_conns_sweep(uint64_t now_ms, struct server_conns_stats *stats)
{
    pthread_mutex_lock(&reg.mu);
    sweep_locked(now_ms);
    if (stats) *stats = (struct server_conns_stats){reg.count, reg.shed_total, reg.refused_total};
    pthread_mutex_unlock(&reg.mu);
}
