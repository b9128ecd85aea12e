/*
 * The reference-counted compiled-policy cache (policy/policy_cache.c): hits
 * need the key and generation (and an age under max_age_ns); a stale
 * version is dropped from the cache but freed only by its last holder;
 * beyond max, idle objects are freed and held ones kept. The bucket hash
 * (eight bytes per step) finds every key of every length up to the cap and
 * spreads keys that differ only in their first or last bytes.
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

static void noop_free(struct policy_cache_item *it) { (void)it; }

static size_t buckets_used(const struct policy_cache *c)
{
    size_t used = 0;
    for (size_t b = 0; b < POLICY_CACHE_BUCKETS; b++) used += c->buckets[b] != NULL;
    return used;
}

static void test_hash(void)
{
    static struct obj items[2 * POLICY_CACHE_KEY_MAX];
    static char keys[2 * POLICY_CACHE_KEY_MAX][POLICY_CACHE_KEY_MAX + 2];
    struct policy_cache c;
    EXPECT_OK(policy_cache_init(&c, 4 * POLICY_CACHE_KEY_MAX, noop_free));
    /* Every length up to the cap (199), each key also one byte longer: all found, none mistaken. */
    for (size_t len = 0; len + 1 < POLICY_CACHE_KEY_MAX; len++) {
        for (size_t i = 0; i < len; i++) keys[2 * len][i] = (char)('!' + (i * 7 + len) % 90);
        memcpy(keys[2 * len + 1], keys[2 * len], len);
        keys[2 * len + 1][len] = 'x'; /* one longer */
        for (int v = 0; v < 2; v++) {
            items[2 * len + v].value = (int)(2 * len + v);
            policy_cache_insert(&c, &items[2 * len + v].item, keys[2 * len + v], 1, 0);
        }
    }
    for (size_t k = 0; k < 2 * POLICY_CACHE_KEY_MAX - 2; k++) {
        struct policy_cache_item *it = policy_cache_acquire(&c, keys[k], 1, 0);
        EXPECT_TRUE(it == &items[k].item);
        if (it) policy_cache_release(&c, it);
    }
    for (size_t k = 0; k < 2 * POLICY_CACHE_KEY_MAX - 2; k++) policy_cache_release(&c, &items[k].item);
    policy_cache_destroy(&c);
    /* 256 record ids differing only in the last two or the first two bytes: spread over many buckets
     * (a uniform hash fills about 162 of 256). */
    for (int where = 0; where < 2; where++) {
        EXPECT_OK(policy_cache_init(&c, 1024, noop_free));
        for (unsigned i = 0; i < 256; i++) {
            if (where)
                snprintf(keys[i], sizeof keys[i], "%02x1122223333/us-east-1/1234abcd-12ab-34cd-56ef-1234567890ab", i);
            else
                snprintf(keys[i], sizeof keys[i], "111122223333/us-east-1/1234abcd-12ab-34cd-56ef-1234567890%02x", i);
            policy_cache_insert(&c, &items[i].item, keys[i], 1, 0);
        }
        EXPECT_TRUE(buckets_used(&c) >= 120);
        for (unsigned i = 0; i < 256; i++) policy_cache_release(&c, &items[i].item);
        policy_cache_destroy(&c);
    }
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    test_hash();
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
