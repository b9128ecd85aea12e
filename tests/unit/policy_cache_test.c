/*
 * The reference-counted compiled-policy cache (policy/policy_cache.c): hits
 * need the key and generation (and an age under max_age_ns); a stale
 * version is dropped from the cache but freed only by its last holder;
 * beyond max, idle objects are freed and held ones kept.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/policy.h"
#include "tests/test.h"

struct obj {
    struct policy_cache_item item;
    int value;
};

static int freed;
static void free_obj(struct policy_cache_item *it)
{
    freed++;
    free(it);
}

static struct obj *make(struct policy_cache *c, const char *key, uint64_t gen, int value)
{
    struct obj *o = calloc(1, sizeof *o);
    o->value = value;
    policy_cache_insert(c, &o->item, key, gen, 0);
    return o;
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    struct policy_cache c;
    EXPECT_OK(policy_cache_init(&c, 3, free_obj));
    EXPECT_TRUE(policy_cache_acquire(&c, "a", 1, 0) == NULL);
    struct obj *a1 = make(&c, "a", 1, 10);
    struct policy_cache_item *it = policy_cache_acquire(&c, "a", 1, 0);
    EXPECT_TRUE(it == &a1->item && ((struct obj *)(void *)it)->value == 10);
    EXPECT_TRUE(policy_cache_acquire(&c, "A", 1, 0) == NULL);
    EXPECT_TRUE(policy_cache_acquire(&c, "ab", 1, 0) == NULL);
    /* a new generation drops the old version; its two holders keep it alive */
    EXPECT_TRUE(policy_cache_acquire(&c, "a", 2, 0) == NULL);
    EXPECT_TRUE(freed == 0);
    policy_cache_release(&c, it);
    EXPECT_TRUE(freed == 0);
    policy_cache_release(&c, &a1->item);
    EXPECT_TRUE(freed == 1);
    struct obj *a2 = make(&c, "a", 2, 20);
    policy_cache_release(&c, &a2->item); /* idle, still cached */
    it = policy_cache_acquire(&c, "a", 2, 0);
    EXPECT_TRUE(it == &a2->item);
    policy_cache_release(&c, it);
    EXPECT_TRUE(freed == 1);
    /* over max (3): idle objects go, held ones stay */
    struct obj *b = make(&c, "b", 1, 1);
    struct obj *d = make(&c, "d", 1, 1);
    policy_cache_release(&c, &d->item);
    struct obj *e = make(&c, "e", 1, 1); /* 4 > 3: a2 and d are idle and freed */
    EXPECT_TRUE(freed == 3);
    EXPECT_TRUE(policy_cache_acquire(&c, "a", 2, 0) == NULL);
    it = policy_cache_acquire(&c, "b", 1, 0);
    EXPECT_TRUE(it == &b->item);
    policy_cache_release(&c, it);
    /* an age limit: an object older than max_age_ns is dropped */
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
    EXPECT_TRUE(policy_cache_acquire(&c, "e", 1, 1000000) == NULL);
    EXPECT_TRUE(freed == 3); /* e is still held */
    policy_cache_release(&c, &e->item);
    EXPECT_TRUE(freed == 4);
    policy_cache_release(&c, &b->item);
    policy_cache_destroy(&c); /* frees b */
    EXPECT_TRUE(freed == 5);
    TEST_MAIN_END();
}
