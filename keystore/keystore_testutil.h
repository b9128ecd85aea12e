#ifndef KEYSTORE_TESTUTIL_H
#define KEYSTORE_TESTUTIL_H

/*
 * Shared by tests/unit/keystore_*_test.c only: temporary data directories
 * and short ways to write and read one record.
 */

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <sodium.h>

#include "keystore/keystore_internal.h"

/* Creates $TMPDIR/keystore-XXXXXX (or under /tmp); the keystore goes in <it>/data. */
static inline void kst_mkdtemp(char root[PATH_MAX], char dir[PATH_MAX])
{
    const char *t = getenv("TMPDIR");
    int n = snprintf(root, PATH_MAX, "%s/keystore-XXXXXX", t && t[0] ? t : "/tmp");
    if (n < 0 || n >= PATH_MAX - 5 || mkdtemp(root) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
    /* Checked above: "/data" fits (gcc's -Wformat-truncation sees the check). */
    n = snprintf(dir, PATH_MAX, "%s/data", root);
    if (n < 0 || n >= PATH_MAX) exit(2);
}

static inline int kst_rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static inline void kst_rmrf(const char *root) { nftw(root, kst_rm_one, 16, FTW_DEPTH | FTW_PHYS); }

/* Runs each test on a data directory of its own, removed afterwards. */
static inline void kst_each_fresh(void (*const *tests)(const char *dir), size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char root[PATH_MAX], dir[PATH_MAX];
        kst_mkdtemp(root, dir);
        tests[i](dir);
        kst_rmrf(root);
    }
}

static inline struct keystore_options kst_key_file_opts(const char *dir)
{
    return (struct keystore_options){.dir = dir, .source = KEYSTORE_MASTER_KEY_FILE};
}

/* Passphrase options with the cheapest Argon2id cost, so tests stay fast. */
static inline struct keystore_options kst_pass_opts(const char *dir, const char *pass)
{
    return (struct keystore_options){.dir = dir,
                                     .source = KEYSTORE_MASTER_PASSPHRASE,
                                     .passphrase = core_cursor_str(pass),
                                     .pwhash_opslimit = crypto_pwhash_OPSLIMIT_MIN,
                                     .pwhash_memlimit = crypto_pwhash_MEMLIMIT_MIN};
}

static inline core_result kst_put(struct keystore *ks, const char *table, const char *id, const char *val)
{
    struct keystore_txn *txn = NULL;
    GUARD(keystore_txn_begin(ks, true, &txn));
    core_result r = keystore_put(txn, table, core_cursor_str(id), core_cursor_str(val), 0);
    if (!core_ok(r)) {
        keystore_txn_abort(txn);
        return r;
    }
    return keystore_txn_commit(txn);
}

/* Reads table/id in a fresh read txn and compares it with want (NULL: expect the error only). */
static inline core_result kst_get(struct keystore *ks, const char *table, const char *id, struct core_buf *out)
{
    struct keystore_txn *txn = NULL;
    GUARD(keystore_txn_begin(ks, false, &txn));
    core_result r = keystore_get(txn, table, core_cursor_str(id), out);
    keystore_txn_abort(txn);
    return r;
}

static inline bool kst_has(struct keystore *ks, const char *table, const char *id, const char *want)
{
    struct core_buf b = {0};
    if (!core_ok(core_buf_init(&b, 64, CORE_MAX_RECORD_BYTES))) return false;
    bool ok = core_ok(kst_get(ks, table, id, &b)) && core_cursor_eq_str(core_buf_cursor(&b), want);
    core_buf_free(&b);
    return ok;
}

#endif
