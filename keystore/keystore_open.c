#include "keystore/keystore_internal.h"

#include <stdatomic.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Opening, creating and closing a keystore. The order matters for "nothing
 * written with a wrong key": the environment is opened (LMDB reads, never
 * writes, data.mdb for that), meta is read in a read txn, and the master key
 * is checked against the verifier before any write txn exists.
 */

/* What meta says, copied out of the map. */
struct ks_meta {
    struct ks_master_rec rec;
    uint8_t verifier[KS_VERIFIER_SEALED_BYTES];
    bool scrub; /* a destruction's compaction has not run yet */
};

uint64_t ks_new_instance(void)
{
    static _Atomic uint64_t instances;
    return atomic_fetch_add(&instances, 1) + 1;
}

static const char *source_name(unsigned s)
{
    return s == KEYSTORE_MASTER_PASSPHRASE ? "passphrase" : "master key file";
}

static void ks_free(struct keystore *ks)
{
    if (ks == NULL) return;
    if (ks->env) {
        ks_lmdb_unpark_all(ks->env);
        mdb_env_close(ks->env);
    }
    ks_etcd_close(ks);
    core_secret_free(&ks->master);
    if (ks->lock_fd >= 0) close(ks->lock_fd); /* drops the flock */
    if (ks->upgrade_fd >= 0) close(ks->upgrade_fd);
    pthread_cond_destroy(&ks->gc_cv);
    pthread_mutex_destroy(&ks->gc_mu);
    pthread_cond_destroy(&ks->gate_cv);
    pthread_mutex_destroy(&ks->gate_mu);
    core_wipe(ks, sizeof *ks);
    free(ks);
}

static void ks_cleanup(struct keystore **ks) { ks_free(*ks); }

void keystore_close(struct keystore *ks)
{
    if (ks) core_tlcache_purge(&ks_read_cache, ks->instance); /* plaintext of this keystore, in every thread */
    ks_free(ks);
}

/*
 * The data directory, and a shared flock on its lock file for as long as the
 * handle lives. keystore_rekey() takes it exclusively, so a rekey never runs
 * under a live server (whose in-memory key it would make stale).
 */
static core_result prepare_dir(struct keystore *ks, const char *dir)
{
    int n = snprintf(ks->dir, sizeof ks->dir, "%s", dir);
    ENSURE(n > 0 && (size_t)n < sizeof ks->dir, ERR_INVALID_ARG);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        core_log(CORE_LOG_ERROR, "keystore: cannot create data directory %s: %s", dir, strerror(errno));
        BAIL(ERR_IO);
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        core_log(CORE_LOG_ERROR, "keystore: data directory %s is not a directory", dir);
        BAIL(ERR_INVALID_ARG);
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO))
        core_log(CORE_LOG_WARN, "keystore: data directory %s has mode %03o; 700 is expected", dir,
                 (unsigned)(st.st_mode & 0777));
    char lock_path[PATH_MAX];
    GUARD(ks_path_join(lock_path, dir, KS_LOCK_FILE));
    ks->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (ks->lock_fd < 0) {
        core_log(CORE_LOG_ERROR, "keystore: cannot open %s: %s", lock_path, strerror(errno));
        BAIL(ERR_IO);
    }
    /* A compaction by another process holds it exclusively for milliseconds:
     * wait that long; a rekey (seconds) is refused. */
    bool locked = false;
    for (int i = 0; i < 200 && !locked; i++) {
        locked = flock(ks->lock_fd, LOCK_SH | LOCK_NB) == 0;
        if (!locked) usleep(10000);
    }
    if (!locked) {
        core_log(CORE_LOG_ERROR, "keystore: %s is being rekeyed or compacted by another process; try again when it "
                 "ends", dir);
        BAIL(ERR_IO);
    }
    /* Left by a compaction that crashed before its rename: data.mdb is whole. */
    char compact_path[PATH_MAX];
    GUARD(ks_path_join(compact_path, dir, KS_COMPACT_FILE));
    if (unlink(compact_path) == 0) core_log(CORE_LOG_WARN, "keystore: removed %s left by an interrupted compaction",
                                            compact_path);
    CORE_OK;
}

bool ks_lock_exclusive(struct keystore *ks)
{
    char path[PATH_MAX];
    if (!core_ok(ks_path_join(path, ks->dir, KS_UPGRADE_LOCK_FILE))) return false;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return false;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd); /* another process is converting; our shared lock was never touched */
        return false;
    }
    if (flock(ks->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        /* Others hold it shared. Only converters take it exclusively, and they
         * all need the upgrade lock we hold: taking it shared again cannot block. */
        if (flock(ks->lock_fd, LOCK_SH) != 0) core_log(CORE_LOG_WARN, "keystore: lost the shared lock on %s", ks->dir);
        close(fd);
        return false;
    }
    ks->upgrade_fd = fd;
    return true;
}

void ks_lock_shared(struct keystore *ks)
{
    if (flock(ks->lock_fd, LOCK_SH) != 0) core_log(CORE_LOG_WARN, "keystore: cannot downgrade the lock on %s", ks->dir);
    if (ks->upgrade_fd >= 0) close(ks->upgrade_fd);
    ks->upgrade_fd = -1;
}

static core_result env_open(struct keystore *ks, size_t map_size)
{
    GUARD_MDB(mdb_env_create(&ks->env));
    GUARD_MDB(mdb_env_set_mapsize(ks->env, map_size ? map_size : KS_DEFAULT_MAP_SIZE));
    GUARD_MDB(mdb_env_set_maxdbs(ks->env, 2));
    GUARD_MDB(mdb_env_set_maxreaders(ks->env, KS_MAX_READERS));
    GUARD_MDB(mdb_env_set_userctx(ks->env, ks)); /* keystore_lmdb.c finds ks from a txn */
    /* MDB_NOTLS: read txns are not bound to a thread (one thread may hold
     * several; HTTP workers may hand them on). Durable defaults otherwise:
     * no NOSYNC/NOMETASYNC, and never WRITEMAP or NOMEMINIT. */
    int rc = mdb_env_open(ks->env, ks->dir, MDB_NOTLS, 0600);
    if (rc != MDB_SUCCESS) {
        core_log(CORE_LOG_ERROR, "keystore: cannot open LMDB environment in %s: %s", ks->dir, mdb_strerror(rc));
        return ks_mdb_fail(rc, __FILE__, __LINE__);
    }
    int dead = 0;
    /* Frees reader slots of processes that died (kill -9) holding a read txn. */
    GUARD_MDB(mdb_reader_check(ks->env, &dead));
    if (dead) core_log(CORE_LOG_INFO, "keystore: cleared %d stale reader slot(s)", dead);
    CORE_OK;
}

static core_result meta_get(MDB_txn *txn, MDB_dbi dbi, const char *name, MDB_val *v)
{
    MDB_val k = {strlen(name), (void *)(uintptr_t)name};
    int rc = mdb_get(txn, dbi, &k, v);
    if (rc == MDB_NOTFOUND) {
        core_log(CORE_LOG_ERROR, "keystore: metadata record '%s' is missing", name);
        BAIL(ERR_TAMPERED);
    }
    GUARD_MDB(rc);
    CORE_OK;
}

static core_result read_meta_in(struct keystore *ks, MDB_txn *txn, struct ks_meta *m, bool *exists)
{
    int rc = mdb_dbi_open(txn, KS_DB_META, 0, &ks->meta_dbi);
    if (rc == MDB_NOTFOUND) {
        *exists = false;
        CORE_OK;
    }
    GUARD_MDB(rc);
    *exists = true;
    rc = mdb_dbi_open(txn, KS_DB_RECORDS, 0, &ks->rec_dbi);
    ENSURE(rc != MDB_NOTFOUND, ERR_TAMPERED);
    GUARD_MDB(rc);
    MDB_val v;
    GUARD(meta_get(txn, ks->meta_dbi, KS_META_FORMAT, &v));
    if (v.mv_size != 1 || *(const uint8_t *)v.mv_data != KS_FORMAT_VERSION) {
        core_log(CORE_LOG_ERROR, "keystore: %s holds an unsupported keystore format", ks->dir);
        BAIL(ERR_TAMPERED);
    }
    GUARD(meta_get(txn, ks->meta_dbi, KS_META_MASTER, &v));
    GUARD(ks_master_rec_decode(core_cursor_from(v.mv_data, v.mv_size), &m->rec));
    GUARD(meta_get(txn, ks->meta_dbi, KS_META_VERIFIER, &v));
    ENSURE(v.mv_size == sizeof m->verifier, ERR_TAMPERED);
    memcpy(m->verifier, v.mv_data, sizeof m->verifier);
    MDB_val k = {strlen(KS_META_SCRUB), (void *)(uintptr_t)KS_META_SCRUB};
    rc = mdb_get(txn, ks->meta_dbi, &k, &v);
    m->scrub = rc == MDB_SUCCESS;
    if (rc != MDB_NOTFOUND) GUARD_MDB(rc);
    CORE_OK;
}

static core_result read_meta(struct keystore *ks, struct ks_meta *m, bool *exists)
{
    MDB_txn *txn = NULL;
    GUARD_MDB(mdb_txn_begin(ks->env, NULL, MDB_RDONLY, &txn));
    core_result r = read_meta_in(ks, txn, m, exists);
    if (!core_ok(r)) {
        mdb_txn_abort(txn);
        return r;
    }
    /* Committing a read txn keeps the DBI handles it opened. */
    GUARD_MDB(mdb_txn_commit(txn));
    CORE_OK;
}

static core_result key_path_of(const struct keystore_options *opts, const char *dir, char out[PATH_MAX])
{
    if (opts->key_file == NULL || opts->key_file[0] == 0) return ks_path_join(out, dir, KS_KEY_FILE);
    int n = snprintf(out, PATH_MAX, "%s", opts->key_file);
    ENSURE(n > 0 && n < PATH_MAX, ERR_LIMIT);
    CORE_OK;
}

static core_result new_path_of(const char *path, char out[PATH_MAX])
{
    int n = snprintf(out, PATH_MAX, "%s%s", path, KS_NEW_SUFFIX);
    ENSURE(n > 0 && n < PATH_MAX, ERR_LIMIT);
    CORE_OK;
}

/* The key of a new keystore: an existing key file is used (an operator may
 * provision one), otherwise one is created with O_EXCL (a racing process
 * that created it first wins, and we read its key). */
static core_result new_key(struct keystore *ks, const struct keystore_options *opts, const struct ks_master_rec *rec,
                           struct core_secret *key)
{
    if (opts->source == KEYSTORE_MASTER_PASSPHRASE) return ks_derive_passphrase(rec, opts->passphrase, key);
    GUARD(key_path_of(opts, ks->dir, ks->key_path));
    bool missing = false;
    core_result r = ks_keyfile_read(ks->key_path, key, &missing);
    if (core_ok(r) || !missing) return r;
    GUARD(core_secret_random(key, KS_KEY_BYTES));
    r = ks_keyfile_create(ks->key_path, key);
    if (r.err != ERR_EXISTS) return r;
    core_secret_free(key);
    return ks_keyfile_read(ks->key_path, key, &missing);
}

static core_result meta_put(MDB_txn *txn, MDB_dbi dbi, const char *name, const void *p, size_t n)
{
    MDB_val k = {strlen(name), (void *)(uintptr_t)name}, v = {n, (void *)(uintptr_t)p};
    GUARD_MDB(mdb_put(txn, dbi, &k, &v, 0));
    CORE_OK;
}

/* Writes meta for key under rec: the record that says how to get the key,
 * and the verifier sealed under it. */
static core_result write_master_meta(MDB_txn *txn, MDB_dbi dbi, const struct ks_master_rec *rec, const uint8_t *key)
{
    uint8_t mrec[KS_MAX_MASTER_REC_BYTES];
    size_t mlen = ks_master_rec_encode(rec, mrec);
    uint8_t ver[KS_VERIFIER_SEALED_BYTES];
    ks_verifier_seal(key, rec, ver);
    GUARD(meta_put(txn, dbi, KS_META_MASTER, mrec, mlen));
    GUARD(meta_put(txn, dbi, KS_META_VERIFIER, ver, sizeof ver));
    CORE_OK;
}

static core_result create_in(struct keystore *ks, MDB_txn *txn, const struct ks_master_rec *rec, const uint8_t *key,
                             bool *raced)
{
    GUARD_MDB(mdb_dbi_open(txn, KS_DB_META, MDB_CREATE, &ks->meta_dbi));
    MDB_val k = {strlen(KS_META_MASTER), (void *)(uintptr_t)KS_META_MASTER}, v;
    int rc = mdb_get(txn, ks->meta_dbi, &k, &v);
    *raced = rc == MDB_SUCCESS; /* another process created it first */
    if (*raced) CORE_OK;
    if (rc != MDB_NOTFOUND) GUARD_MDB(rc);
    GUARD_MDB(mdb_dbi_open(txn, KS_DB_RECORDS, MDB_CREATE, &ks->rec_dbi));
    const uint8_t version = KS_FORMAT_VERSION;
    GUARD(meta_put(txn, ks->meta_dbi, KS_META_FORMAT, &version, 1));
    return write_master_meta(txn, ks->meta_dbi, rec, key);
}

static core_result create(struct keystore *ks, const struct keystore_options *opts, bool *created)
{
    struct ks_master_rec rec;
    GUARD(ks_master_rec_new(opts, 1, &rec));
    DEFER_CLEANUP(struct core_secret key = {0}, core_secret_cleanup);
    GUARD(new_key(ks, opts, &rec, &key));
    MDB_txn *txn = NULL;
    GUARD_MDB(mdb_txn_begin(ks->env, NULL, 0, &txn));
    bool raced = false;
    core_result r = create_in(ks, txn, &rec, key.ptr, &raced);
    if (!core_ok(r) || raced) {
        mdb_txn_abort(txn);
        *created = false;
        return r;
    }
    GUARD_MDB(mdb_txn_commit(txn));
    /* LMDB syncs file contents, not directory entries: make the new files
     * (and the directory itself) survive a power cut too. */
    char data_path[PATH_MAX];
    GUARD(ks_path_join(data_path, ks->dir, "data.mdb"));
    GUARD(ks_fsync_parent(data_path));
    GUARD(ks_fsync_parent(ks->dir));
    ks->master = key;
    key = (struct core_secret){0};
    ks->rec = rec;
    *created = true;
    if (opts->source == KEYSTORE_MASTER_KEY_FILE)
        core_log(CORE_LOG_INFO, "keystore: created %s with master key file %s", ks->dir, ks->key_path);
    else
        core_log(CORE_LOG_INFO, "keystore: created %s with an Argon2id passphrase key", ks->dir);
    CORE_OK;
}

/*
 * Key files at open. master.key.new exists only between a rekey writing it
 * and installing it. If it opens the verifier the rekey committed: finish
 * the rename. Otherwise the rekey never committed: it is stale.
 */
static core_result unlock_key_file(struct keystore *ks, const struct keystore_options *opts, const struct ks_meta *m)
{
    GUARD(key_path_of(opts, ks->dir, ks->key_path));
    char new_path[PATH_MAX];
    GUARD(new_path_of(ks->key_path, new_path));
    DEFER_CLEANUP(struct core_secret cur = {0}, core_secret_cleanup);
    DEFER_CLEANUP(struct core_secret next = {0}, core_secret_cleanup);
    bool cur_missing = false, next_missing = false;
    core_result r = ks_keyfile_read(ks->key_path, &cur, &cur_missing);
    if (!core_ok(r) && !cur_missing) return r;
    r = ks_keyfile_read(new_path, &next, &next_missing);
    if (!core_ok(r) && !next_missing) return r;

    if (next.ptr && ks_verifier_check(next.ptr, &m->rec, core_cursor_from(m->verifier, sizeof m->verifier))) {
        if (rename(new_path, ks->key_path) != 0) {
            core_log(CORE_LOG_ERROR, "keystore: cannot install %s as %s: %s", new_path, ks->key_path,
                     strerror(errno));
            BAIL(ERR_IO);
        }
        GUARD(ks_fsync_parent(ks->key_path));
        core_log(CORE_LOG_WARN, "keystore: finished an interrupted rekey: installed %s", ks->key_path);
        ks->master = next;
        next = (struct core_secret){0};
        CORE_OK;
    }
    if (cur.ptr && ks_verifier_check(cur.ptr, &m->rec, core_cursor_from(m->verifier, sizeof m->verifier))) {
        if (!next_missing && unlink(new_path) == 0)
            core_log(CORE_LOG_WARN, "keystore: removed %s left by a rekey that did not commit", new_path);
        ks->master = cur;
        cur = (struct core_secret){0};
        CORE_OK;
    }
    if (cur_missing && next_missing) {
        core_log(CORE_LOG_ERROR, "keystore: master key file %s not found; %s is sealed under a key file",
                 ks->key_path, ks->dir);
        BAIL(ERR_IO);
    }
    core_log(CORE_LOG_ERROR, "keystore: master key file %s does not open %s (wrong key)", ks->key_path, ks->dir);
    BAIL(ERR_WRONG_MASTER_KEY);
}

static core_result unlock(struct keystore *ks, const struct keystore_options *opts, const struct ks_meta *m)
{
    if (m->rec.source != (uint8_t)opts->source) {
        core_log(CORE_LOG_ERROR, "keystore: %s is sealed under a %s, but a %s was given", ks->dir,
                 source_name(m->rec.source), source_name(opts->source));
        BAIL(ERR_WRONG_MASTER_KEY);
    }
    ks->rec = m->rec;
    if (opts->source == KEYSTORE_MASTER_KEY_FILE) return unlock_key_file(ks, opts, m);
    DEFER_CLEANUP(struct core_secret key = {0}, core_secret_cleanup);
    GUARD(ks_derive_passphrase(&m->rec, opts->passphrase, &key));
    if (!ks_verifier_check(key.ptr, &m->rec, core_cursor_from(m->verifier, sizeof m->verifier))) {
        core_log(CORE_LOG_ERROR, "keystore: wrong passphrase for %s", ks->dir);
        BAIL(ERR_WRONG_MASTER_KEY);
    }
    ks->master = key;
    key = (struct core_secret){0};
    CORE_OK;
}

/* ---- etcd: the same meta, at <prefix>/.meta/<name> ---------------------- */

static core_result etcd_read_meta(struct keystore *ks, struct ks_meta *m, bool *exists)
{
    DEFER_CLEANUP(struct core_buf v = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&v, 64, 4096));
    core_result r = ks_etcd_meta_get(ks, KS_META_MASTER, &v);
    *exists = r.err != ERR_NOT_FOUND;
    if (!*exists) CORE_OK;
    GUARD(r);
    GUARD(ks_master_rec_decode(core_buf_cursor(&v), &m->rec));
    r = ks_etcd_meta_get(ks, KS_META_FORMAT, &v);
    if (r.err == ERR_NOT_FOUND) BAIL(ERR_TAMPERED);
    GUARD(r);
    if (v.len != 1 || v.data[0] != KS_FORMAT_VERSION) {
        core_log(CORE_LOG_ERROR, "keystore: the etcd keystore holds an unsupported keystore format");
        BAIL(ERR_TAMPERED);
    }
    r = ks_etcd_meta_get(ks, KS_META_VERIFIER, &v);
    if (r.err == ERR_NOT_FOUND) BAIL(ERR_TAMPERED);
    GUARD(r);
    ENSURE(v.len == sizeof m->verifier, ERR_TAMPERED);
    memcpy(m->verifier, v.data, sizeof m->verifier);
    m->scrub = false;
    CORE_OK;
}

static core_result etcd_create(struct keystore *ks, const struct keystore_options *opts, bool *created)
{
    struct ks_master_rec rec;
    GUARD(ks_master_rec_new(opts, 1, &rec));
    DEFER_CLEANUP(struct core_secret key = {0}, core_secret_cleanup);
    GUARD(new_key(ks, opts, &rec, &key));
    uint8_t mrec[KS_MAX_MASTER_REC_BYTES];
    size_t mlen = ks_master_rec_encode(&rec, mrec);
    uint8_t ver[KS_VERIFIER_SEALED_BYTES];
    ks_verifier_seal(key.ptr, &rec, ver);
    const uint8_t version = KS_FORMAT_VERSION;
    const struct ks_etcd_meta m[] = {
        {KS_META_MASTER, {mrec, mlen}},
        {KS_META_VERIFIER, {ver, sizeof ver}},
        {KS_META_FORMAT, {&version, 1}},
    };
    bool raced = false;
    GUARD(ks_etcd_meta_create(ks, m, sizeof m / sizeof m[0], &raced));
    *created = !raced;
    if (raced) CORE_OK; /* another node created it first */
    ks->master = key;
    key = (struct core_secret){0};
    ks->rec = rec;
    core_log(CORE_LOG_INFO, "keystore: created the etcd keystore at %s", opts->store);
    CORE_OK;
}

static core_result open_etcd(struct keystore *ks, const struct keystore_options *opts, bool *is_new)
{
    GUARD(ks_etcd_open(ks, opts));
    struct ks_meta m;
    bool exists = false;
    GUARD(etcd_read_meta(ks, &m, &exists));
    if (!exists) {
        GUARD(etcd_create(ks, opts, is_new));
        if (!*is_new) GUARD(etcd_read_meta(ks, &m, &exists));
    }
    if (!*is_new) GUARD(unlock(ks, opts, &m));
    CORE_OK;
}

core_result keystore_open(const struct keystore_options *opts, struct keystore **out, bool *created)
{
    ENSURE_REF(out);
    *out = NULL;
    if (created) *created = false;
    ENSURE_REF(opts);
    ENSURE(opts->dir != NULL && opts->dir[0] != 0, ERR_INVALID_ARG);
    ENSURE(opts->source == KEYSTORE_MASTER_KEY_FILE || opts->source == KEYSTORE_MASTER_PASSPHRASE, ERR_INVALID_ARG);
    ENSURE(opts->source != KEYSTORE_MASTER_PASSPHRASE || (opts->passphrase.ptr && opts->passphrase.len),
           ERR_INVALID_ARG);

    DEFER_CLEANUP(struct keystore *ks = calloc(1, sizeof *ks), ks_cleanup);
    ENSURE(ks != NULL, ERR_NOMEM);
    ks->instance = ks_new_instance();
    ks->be = &ks_lmdb_backend;
    ks->lock_fd = -1;
    ks->upgrade_fd = -1;
    ks->map_size = opts->map_size;
    ENSURE(pthread_mutex_init(&ks->gc_mu, NULL) == 0, ERR_NOMEM);
    ENSURE(pthread_cond_init(&ks->gc_cv, NULL) == 0, ERR_NOMEM);
    ENSURE(pthread_mutex_init(&ks->gate_mu, NULL) == 0, ERR_NOMEM);
    ENSURE(pthread_cond_init(&ks->gate_cv, NULL) == 0, ERR_NOMEM);
    GUARD(prepare_dir(ks, opts->dir));
    if (ks_store_is_etcd(opts->store)) {
        bool is_new = false;
        GUARD(open_etcd(ks, opts, &is_new));
        if (created) *created = is_new;
        *out = ks;
        ks = NULL;
        CORE_OK;
    }
    if (opts->store && opts->store[0] && strcmp(opts->store, "lmdb") != 0) {
        core_log(CORE_LOG_ERROR, "keystore: unknown store %s (lmdb, or etcd://HOST:PORT[,HOST:PORT...])", opts->store);
        BAIL(ERR_INVALID_ARG);
    }
    GUARD(env_open(ks, opts->map_size));

    struct ks_meta m;
    bool exists = false, is_new = false;
    GUARD(read_meta(ks, &m, &exists));
    if (!exists) {
        GUARD(create(ks, opts, &is_new));
        if (!is_new) GUARD(read_meta(ks, &m, &exists)); /* lost a creation race */
    }
    if (!is_new) GUARD(unlock(ks, opts, &m));
    /* A destruction whose compaction never ran (crash, or another process
     * had the keystore open): do it before anything else. */
    if (!is_new && m.scrub) ks_scrub(ks, false);
    if (created) *created = is_new;
    *out = ks;
    ks = NULL;
    CORE_OK;
}

core_result ks_env_reopen(struct keystore *ks)
{
    GUARD(env_open(ks, ks->map_size));
    struct ks_meta m;
    bool exists = false;
    GUARD(read_meta(ks, &m, &exists));
    ENSURE(exists, ERR_TAMPERED);
    /* The file now in place must be ours, under the key we hold. */
    ENSURE(ks_verifier_check(ks->master.ptr, &m.rec, core_cursor_from(m.verifier, sizeof m.verifier)), ERR_TAMPERED);
    CORE_OK;
}

core_result keystore_storage_bytes(struct keystore *ks, uint64_t *file_bytes, uint64_t *allocated_bytes)
{
    *file_bytes = *allocated_bytes = 0;
    if (ks->etcd) {
        GUARD(ks_etcd_db_size(ks, file_bytes));
        *allocated_bytes = *file_bytes;
        CORE_OK;
    }
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/data.mdb", ks->dir);
    struct stat st;
    ENSURE(stat(path, &st) == 0, ERR_IO);
    *file_bytes = (uint64_t)st.st_size;
    *allocated_bytes = (uint64_t)st.st_blocks * 512u;
    CORE_OK;
}

/* ---- rekey --------------------------------------------------------------- */

struct rekey_work {
    struct keystore *ks;
    const uint8_t *new_key;
    const struct ks_master_rec *new_rec;
    struct core_secret scratch; /* one record's plaintext */
    struct core_buf sealed;
    size_t count;
};

static core_result reseal_records(struct rekey_work *w, MDB_cursor *cur)
{
    MDB_val k, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        ENSURE(k.mv_size <= KS_MAX_RECKEY_BYTES, ERR_TAMPERED);
        ENSURE(v.mv_size >= KS_SEAL_OVERHEAD && v.mv_size - KS_SEAL_OVERHEAD <= w->scratch.len, ERR_TAMPERED);
        uint8_t kb[KS_MAX_RECKEY_BYTES];
        memcpy(kb, k.mv_data, k.mv_size);
        struct core_cursor reckey = core_cursor_from(kb, k.mv_size);
        uint8_t ad[KS_MAX_AD_BYTES];
        size_t adlen = ks_record_ad(reckey, ad);
        size_t n = 0;
        if (!core_ok(ks_open(w->ks->master.ptr, core_cursor_from(ad, adlen), core_cursor_from(v.mv_data, v.mv_size),
                             w->scratch.ptr, &n))) {
            core_log(CORE_LOG_ERROR, "keystore: rekey aborted: a record in table '%s' fails authentication",
                     (const char *)kb);
            BAIL(ERR_TAMPERED);
        }
        ks_seal(w->new_key, core_cursor_from(ad, adlen), core_cursor_from(w->scratch.ptr, n), w->sealed.data);
        core_wipe(w->scratch.ptr, n);
        MDB_val nk = {reckey.len, kb}, nv = {n + KS_SEAL_OVERHEAD, w->sealed.data};
        GUARD_MDB(mdb_cursor_put(cur, &nk, &nv, MDB_CURRENT));
        w->count++;
    }
    if (rc != MDB_NOTFOUND) GUARD_MDB(rc);
    CORE_OK;
}

static core_result reseal_in(struct rekey_work *w, MDB_txn *txn)
{
    MDB_cursor *cur = NULL;
    GUARD_MDB(mdb_cursor_open(txn, w->ks->rec_dbi, &cur));
    core_result r = reseal_records(w, cur);
    mdb_cursor_close(cur);
    GUARD(r);
    /* Same txn: the records and the key that opens them change together,
     * and the old-key copies left in free pages are marked for compaction. */
    GUARD(ks_scrub_mark(w->ks, txn));
    return write_master_meta(txn, w->ks->meta_dbi, w->new_rec, w->new_key);
}

static core_result reseal_all(struct rekey_work *w)
{
    GUARD(core_secret_alloc(&w->scratch, CORE_MAX_RECORD_BYTES));
    GUARD(core_buf_init(&w->sealed, CORE_MAX_RECORD_BYTES + KS_SEAL_OVERHEAD,
                        CORE_MAX_RECORD_BYTES + KS_SEAL_OVERHEAD));
    MDB_txn *txn = NULL;
    GUARD_MDB(mdb_txn_begin(w->ks->env, NULL, 0, &txn));
    core_result r = reseal_in(w, txn);
    if (!core_ok(r)) {
        mdb_txn_abort(txn);
        return r;
    }
    GUARD_MDB(mdb_txn_commit(txn)); /* the switch-over point */
    CORE_OK;
}

/* Over etcd: the same switch-over, as one etcd txn (ks_etcd_rekey). */
static core_result reseal_etcd(struct rekey_work *w)
{
    uint8_t mrec[KS_MAX_MASTER_REC_BYTES];
    size_t mlen = ks_master_rec_encode(w->new_rec, mrec);
    uint8_t ver[KS_VERIFIER_SEALED_BYTES];
    ks_verifier_seal(w->new_key, w->new_rec, ver);
    const struct ks_etcd_meta m[] = {
        {KS_META_MASTER, {mrec, mlen}},
        {KS_META_VERIFIER, {ver, sizeof ver}},
    };
    return ks_etcd_rekey(w->ks, w->new_key, m, sizeof m / sizeof m[0], &w->count);
}

/* After the commit: the new key is current. Install it; failures here are
 * repaired by the next open (see unlock_key_file), so they only warn. */
static void install(struct keystore *ks, const char *new_path, const char *tmp_path)
{
    char old_path[PATH_MAX];
    memcpy(old_path, ks->key_path, sizeof old_path);
    if (new_path[0]) {
        if (rename(tmp_path, new_path) != 0 || !core_ok(ks_fsync_parent(new_path)))
            core_log(CORE_LOG_WARN, "keystore: rekey committed but %s could not be renamed to %s (%s); "
                     "the next open finishes it", tmp_path, new_path, strerror(errno));
    }
    /* The old key file opens nothing current any more; it would only open
     * old backups. Remove it rather than leave key material behind. */
    if (old_path[0] && strcmp(old_path, new_path) != 0) {
        if (unlink(old_path) == 0) core_result_ignore(ks_fsync_parent(old_path));
        else core_log(CORE_LOG_WARN, "keystore: could not remove old key file %s", old_path);
    }
    snprintf(ks->key_path, sizeof ks->key_path, "%s", new_path);
}

static core_result rekey_locked(struct keystore *ks, const struct keystore_options *new_opts)
{
    struct ks_master_rec rec;
    GUARD(ks_master_rec_new(new_opts, ks->rec.generation + 1, &rec));
    DEFER_CLEANUP(struct core_secret key = {0}, core_secret_cleanup);
    char new_path[PATH_MAX] = "", tmp_path[PATH_MAX] = "";
    if (new_opts->source == KEYSTORE_MASTER_KEY_FILE) {
        GUARD(key_path_of(new_opts, ks->dir, new_path));
        GUARD(new_path_of(new_path, tmp_path));
        GUARD(core_secret_random(&key, KS_KEY_BYTES));
        if (unlink(tmp_path) == 0) core_log(CORE_LOG_WARN, "keystore: replaced stale %s", tmp_path);
        GUARD(ks_keyfile_create(tmp_path, &key)); /* durable before the commit can name it */
    } else {
        GUARD(ks_derive_passphrase(&rec, new_opts->passphrase, &key));
    }

    struct rekey_work w = {.ks = ks, .new_key = key.ptr, .new_rec = &rec};
    core_result r = ks->etcd ? reseal_etcd(&w) : reseal_all(&w);
    core_secret_free(&w.scratch);
    core_buf_free(&w.sealed);
    if (!core_ok(r)) {
        if (tmp_path[0] && unlink(tmp_path) == 0) core_result_ignore(ks_fsync_parent(tmp_path));
        return r;
    }
    core_secret_free(&ks->master);
    ks->master = key;
    key = (struct core_secret){0};
    ks->rec = rec;
    install(ks, new_path, tmp_path);
    core_log(CORE_LOG_INFO, "keystore: re-sealed %zu record(s) in %s under a new %s (generation %llu)", w.count,
             ks->dir, source_name(rec.source), (unsigned long long)rec.generation);
    /* Every value sealed under the old key now sits in a free page (LMDB;
     * etcd's history was compacted past them at the commit). */
    if (!ks->etcd) ks_scrub(ks, true);
    CORE_OK;
}

core_result keystore_rekey(struct keystore *ks, const struct keystore_options *new_opts)
{
    ENSURE_REF(ks);
    ENSURE_REF(new_opts);
    ENSURE(new_opts->source == KEYSTORE_MASTER_KEY_FILE || new_opts->source == KEYSTORE_MASTER_PASSPHRASE,
           ERR_INVALID_ARG);
    assert(ks_tls_write_depth == 0 && "keystore_rekey() while this thread holds a write txn");
    /* Over etcd no file lock reaches the other nodes: ks_etcd_rekey()
     * refuses while one of them holds the leader key instead. */
    if (ks->etcd) return rekey_locked(ks, new_opts);
    /* Exclusive across processes: a server holding the old key in memory
     * would otherwise go on sealing records under it. Converting the lock
     * may drop it for a moment; it is taken back shared below either way. */
    if (!ks_lock_exclusive(ks)) {
        core_log(CORE_LOG_ERROR, "keystore: another process has %s open; stop kmsd before rekeying", ks->dir);
        BAIL(ERR_IO);
    }
    core_result r = rekey_locked(ks, new_opts);
    ks_lock_shared(ks);
    return r;
}
