/*
 * The thread-local cache (core/core_tlcache.c): a hit needs the same scope,
 * generation and key (by length: "k\0x" is not "k"); eviction is least
 * recently used and never answers with another key's value; oversize keys
 * and values are not stored; each thread has its own table; a purge wipes a
 * scope's entries in every thread.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "tests/test.h"

static struct core_tlcache_def def = {.name = "test", .ways = 4, .key_max = 16, .value_max = 32};
static struct core_tlcache_def named = {.name = "public", .ways = 2, .key_max = 16, .value_max = 8, .public_keys = true};

/* Many threads using a def for the first time at once agree on its number. */
static struct core_tlcache_def raced = {.name = "raced", .ways = 1, .key_max = 4, .value_max = 4};
static pthread_barrier_t start_line;
static void *first_use(void *arg)
{
    (void)arg;
    struct core_cursor v;
    pthread_barrier_wait(&start_line);
    core_tlcache_put(&raced, 1, 1, core_cursor_str("k"), core_cursor_str("v"), NULL);
    EXPECT_TRUE(core_tlcache_get(&raced, 1, 1, core_cursor_str("k"), &v));
    return NULL;
}

static bool get(uint64_t scope, uint64_t gen, const char *key, char *out, size_t cap)
{
    struct core_cursor v;
    if (!core_tlcache_get(&def, scope, gen, core_cursor_str(key), &v)) return false;
    snprintf(out, cap, "%.*s", (int)v.len, (const char *)v.ptr);
    return true;
}

static bool put(uint64_t scope, uint64_t gen, const char *key, const char *value)
{
    return core_tlcache_put(&def, scope, gen, core_cursor_str(key), core_cursor_str(value), NULL);
}

static uint64_t shared_scope;
static void *other_thread(void *arg)
{
    (void)arg;
    char got[64];
    /* another thread's table is its own */
    EXPECT_TRUE(!get(shared_scope, 1, "k", got, sizeof got));
    struct core_cursor stored;
    EXPECT_TRUE(core_tlcache_put(&def, shared_scope, 1, core_cursor_str("k"), core_cursor_str("theirs"), &stored));
    EXPECT_TRUE(stored.len == 6);
    return NULL;
}

static void *other_thread_lookup(void *arg)
{
    char got[64];
    *(bool *)arg = get(shared_scope, 1, "k", got, sizeof got);
    return NULL;
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    char got[64];
    uint64_t a = core_tlcache_new_scope(), b = core_tlcache_new_scope();
    EXPECT_TRUE(a != 0 && b != 0 && a != b);

    EXPECT_TRUE(!get(a, 1, "k", got, sizeof got));
    EXPECT_TRUE(put(a, 1, "k", "v1"));
    EXPECT_TRUE(get(a, 1, "k", got, sizeof got));
    EXPECT_STR_EQ(got, "v1");
    /* another generation, another scope, another key, a key with a NUL: misses */
    EXPECT_TRUE(!get(a, 2, "k", got, sizeof got));
    EXPECT_TRUE(!get(b, 1, "k", got, sizeof got));
    EXPECT_TRUE(!get(a, 1, "K", got, sizeof got));
    struct core_cursor v;
    EXPECT_TRUE(!core_tlcache_get(&def, a, 1, core_cursor_from("k\0x", 3), &v));
    EXPECT_TRUE(!core_tlcache_get(&def, a, 1, core_cursor_from("", 0), &v));
    /* scope 0 is nobody's */
    EXPECT_TRUE(!put(0, 1, "z", "v"));
    /* the same key under a new generation replaces the entry */
    EXPECT_TRUE(put(a, 2, "k", "v2"));
    EXPECT_TRUE(get(a, 2, "k", got, sizeof got));
    EXPECT_STR_EQ(got, "v2");
    EXPECT_TRUE(!get(a, 1, "k", got, sizeof got));
    /* oversize key or value: not stored */
    EXPECT_TRUE(!put(a, 1, "0123456789abcdefX", "v"));
    EXPECT_TRUE(!put(a, 1, "big", "0123456789abcdef0123456789abcdefX"));
    EXPECT_TRUE(!get(a, 1, "big", got, sizeof got));

    /* LRU over 4 ways: k is used, so x1 (oldest unused) goes first */
    EXPECT_TRUE(put(a, 2, "x1", "1"));
    EXPECT_TRUE(put(a, 2, "x2", "2"));
    EXPECT_TRUE(put(a, 2, "x3", "3"));
    EXPECT_TRUE(get(a, 2, "k", got, sizeof got));
    EXPECT_TRUE(put(a, 2, "x4", "4"));
    EXPECT_TRUE(!get(a, 2, "x1", got, sizeof got));
    EXPECT_TRUE(get(a, 2, "k", got, sizeof got) && strcmp(got, "v2") == 0);
    /* many more keys than ways: every hit is the right value */
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 40; i++) {
            char k[16], val[16];
            snprintf(k, sizeof k, "key%d", i);
            snprintf(val, sizeof val, "val%d", i);
            if (get(a, 3, k, got, sizeof got)) EXPECT_STR_EQ(got, val);
            else EXPECT_TRUE(put(a, 3, k, val));
        }

    /* public names are compared by length and bytes too */
    EXPECT_TRUE(core_tlcache_put(&named, a, 1, core_cursor_str("AKIAX"), core_cursor_str("s"), NULL));
    EXPECT_TRUE(core_tlcache_get(&named, a, 1, core_cursor_str("AKIAX"), &v));
    EXPECT_TRUE(!core_tlcache_get(&named, a, 1, core_cursor_from("AKIAX\0", 6), &v));
    EXPECT_TRUE(!core_tlcache_get(&named, a, 1, core_cursor_str("AKIAY"), &v));
    /* 16 threads racing on a def's first use: no kind number is wasted (the process holds at most 8 defs) */
    pthread_t many[16];
    pthread_barrier_init(&start_line, NULL, 16);
    for (int i = 0; i < 16; i++) EXPECT_TRUE(pthread_create(&many[i], NULL, first_use, NULL) == 0);
    for (int i = 0; i < 16; i++) pthread_join(many[i], NULL);
    pthread_barrier_destroy(&start_line);
    EXPECT_TRUE(atomic_load(&raced.kind) == 3); /* def, named, raced: in first-use order */
    static struct core_tlcache_def after = {.name = "after", .ways = 1, .key_max = 4, .value_max = 4};
    EXPECT_TRUE(core_tlcache_put(&after, 1, 1, core_cursor_str("k"), core_cursor_str("v"), NULL));
    EXPECT_TRUE(atomic_load(&after.kind) == 4); /* the next number: none was burnt by the race */

    /* per thread, and a purge reaches the other thread's entries */
    shared_scope = core_tlcache_new_scope();
    EXPECT_TRUE(put(shared_scope, 1, "k", "mine"));
    EXPECT_TRUE(put(b, 1, "keep", "x"));
    pthread_t th;
    /* a thread that stays alive while we purge: create, let it store, then check after purge */
    EXPECT_TRUE(pthread_create(&th, NULL, other_thread, NULL) == 0);
    pthread_join(th, NULL); /* its table is freed (wiped) at thread end */
    EXPECT_TRUE(get(shared_scope, 1, "k", got, sizeof got) && strcmp(got, "mine") == 0);
    core_tlcache_purge(&def, shared_scope);
    EXPECT_TRUE(!get(shared_scope, 1, "k", got, sizeof got));
    EXPECT_TRUE(get(b, 1, "keep", got, sizeof got)); /* other scopes stay */
    bool seen = true;
    EXPECT_TRUE(pthread_create(&th, NULL, other_thread_lookup, &seen) == 0);
    pthread_join(th, NULL);
    EXPECT_TRUE(!seen);
    TEST_MAIN_END();
}
