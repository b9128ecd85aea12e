/*
 * A destroying compaction leaves no plaintext of the keystore in any worker
 * thread's read cache (ks_read_cache, core_tlcache): a thread that read a
 * record before the destroy finds nothing under the old instance afterwards,
 * even though it never touched the keystore again. (Before core_tlcache the
 * guarantee was a flush counter each thread checked at its next read.)
 */
#include "keystore/keystore_testutil.h"

#include <pthread.h>

#include "core/core_tlcache.h"
#include "tests/test.h"

struct reader {
    struct keystore *ks;
    uint64_t instance, snap; /* where the thread cached the record */
    uint8_t key[KS_MAX_RECKEY_BYTES];
    size_t key_len;
    bool read_ok, cached;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stage; /* 0: read; 1: read done; 2: destroyed, look again; 3: looked */
    bool still_cached;
};

static void wait_stage(struct reader *r, int s)
{
    pthread_mutex_lock(&r->mu);
    while (r->stage < s) pthread_cond_wait(&r->cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
}

static void set_stage(struct reader *r, int s)
{
    pthread_mutex_lock(&r->mu);
    r->stage = s;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void *reader_main(void *p)
{
    struct reader *r = p;
    struct core_buf b = {0};
    struct keystore_txn *txn = NULL;
    if (core_ok(core_buf_init(&b, 64, CORE_MAX_RECORD_BYTES)) && core_ok(keystore_txn_begin(r->ks, false, &txn))) {
        r->instance = r->ks->instance;
        r->snap = r->ks->be->txn_snapshot(txn->bt);
        r->read_ok = core_ok(keystore_get(txn, "kms_material", core_cursor_str("victim"), &b)) &&
                     core_cursor_eq_str(core_buf_cursor(&b), "secret plaintext of the victim");
        keystore_txn_abort(txn);
        struct core_cursor hit;
        r->cached = core_tlcache_get(&ks_read_cache, r->instance, r->snap, core_cursor_from(r->key, r->key_len), &hit);
    }
    core_buf_free(&b);
    set_stage(r, 1);
    wait_stage(r, 2);
    struct core_cursor hit;
    r->still_cached =
        core_tlcache_get(&ks_read_cache, r->instance, r->snap, core_cursor_from(r->key, r->key_len), &hit);
    set_stage(r, 3);
    return NULL;
}

static core_result destroy_fn(struct keystore_txn *txn, void *argp)
{
    (void)argp;
    return keystore_destroy(txn, "kms_material", core_cursor_str("victim"));
}

static void compaction_wipes_other_threads(const char *dir)
{
    struct keystore *ks = NULL;
    struct keystore_options o = kst_key_file_opts(dir);
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    if (!ks) return;
    EXPECT_OK(kst_put(ks, "kms_material", "victim", "secret plaintext of the victim"));
    struct reader r = {.ks = ks, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    EXPECT_OK(ks_record_key("kms_material", core_cursor_str("victim"), r.key, &r.key_len));
    pthread_t t;
    EXPECT_TRUE(pthread_create(&t, NULL, reader_main, &r) == 0);
    wait_stage(&r, 1);
    EXPECT_TRUE(r.read_ok);
    EXPECT_TRUE(r.cached); /* the reader thread holds the plaintext */
    EXPECT_OK(keystore_write(ks, destroy_fn, NULL));
    EXPECT_TRUE(ks->instance != r.instance); /* the compaction swapped the file */
    set_stage(&r, 2);
    wait_stage(&r, 3);
    pthread_join(t, NULL);
    EXPECT_TRUE(!r.still_cached);
    keystore_close(ks);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    void (*const tests[])(const char *) = {compaction_wipes_other_threads};
    kst_each_fresh(tests, sizeof tests / sizeof tests[0]);
    TEST_MAIN_END();
}
