#ifndef KMS_TESTUTIL_H
#define KMS_TESTUTIL_H

/*
 * Shared by tests/unit/kms_*_test.c only (as keystore/keystore_testutil.h
 * is by the keystore tests): a keystore in a temporary directory with a KMS
 * environment on it, the account root as the caller, and kms_handle()
 * called with an operation name and a JSON body, in memory.
 */

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/core.h"
#include "keystore/keystore.h"
#include "kms/kms.h"
#include "tests/test.h"

#define KMST_ACCOUNT "111122223333"
#define KMST_REGION "us-east-1"

struct kmst {
    char root[PATH_MAX];     /* the temporary directory, removed by kmst_close() */
    char dir[PATH_MAX + 16]; /* <root>/data, the keystore's */
    struct keystore *ks;
    struct kms_env *env;
    struct core_principal caller; /* root of KMST_ACCOUNT, in KMST_REGION */
    int64_t now;                  /* each call's service time */
    const char *source_ip;        /* each call's (NULL: none) */
};

/* Opens a keystore (master key file) in a new $TMPDIR/<tag>-XXXXXX (or under /tmp). False when it fails. */
static inline bool kmst_keystore_open(struct kmst *t, const char *tag)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(t->root, sizeof t->root, "%s/%s-XXXXXX", tmp && tmp[0] ? tmp : "/tmp", tag);
    if (!mkdtemp(t->root)) return false;
    snprintf(t->dir, sizeof t->dir, "%s/data", t->root);
    struct keystore_options o = {.dir = t->dir, .source = KEYSTORE_MASTER_KEY_FILE};
    EXPECT_OK(keystore_open(&o, &t->ks, NULL));
    t->now = 1800000000;
    return true;
}

/* The KMS environment on t->ks (iam may be NULL), with the account root as caller. */
static inline void kmst_env_open(struct kmst *t, struct iam_env *iam)
{
    struct kms_env_options eo = {.ks = t->ks, .default_region = KMST_REGION, .iam = iam};
    EXPECT_OK(kms_env_new(&eo, &t->env));
    t->caller = (struct core_principal){.type = CORE_PRINCIPAL_ROOT};
    snprintf(t->caller.account, sizeof t->caller.account, "%s", KMST_ACCOUNT);
    snprintf(t->caller.arn, sizeof t->caller.arn, "arn:aws:iam::%s:root", KMST_ACCOUNT);
    snprintf(t->caller.region, sizeof t->caller.region, "%s", KMST_REGION);
}

/* kmst_keystore_open() and kmst_env_open() without IAM. False when the directory cannot be made. */
static inline bool kmst_open(struct kmst *t, const char *tag)
{
    if (!kmst_keystore_open(t, tag)) return false;
    kmst_env_open(t, NULL);
    return true;
}

static inline int kmst_rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

/* Frees the environment and the keystore (each may be NULL already). */
static inline void kmst_env_close(struct kmst *t)
{
    kms_env_free(t->env);
    t->env = NULL;
    keystore_close(t->ks);
    t->ks = NULL;
}

/* Removes the temporary directory with everything in it. */
static inline void kmst_rmrf(struct kmst *t) { nftw(t->root, kmst_rm_one, 16, FTW_DEPTH | FTW_PHYS); }

static inline void kmst_close(struct kmst *t)
{
    kmst_env_close(t);
    kmst_rmrf(t);
}

/* Runs TrentService.<op> as who; returns the reply with body and message NUL-terminated (caller frees). */
static inline struct core_reply kmst_call_as(const struct kmst *t, const struct core_principal *who, const char *op,
                                             const char *body)
{
    char target[128];
    snprintf(target, sizeof target, "TrentService.%s", op);
    struct kms_call c = {.caller = who, .target = core_cursor_str(target), .body = core_cursor_str(body),
                         .request_id = "test", .source_ip = t->source_ip, .now = t->now};
    struct core_reply r;
    if (!core_ok(core_reply_init(&r))) abort();
    core_result_ignore(kms_handle(t->env, &c, &r));
    core_result_ignore(core_buf_terminate(&r.body));
    core_result_ignore(core_buf_terminate(&r.message));
    return r;
}

static inline struct core_reply kmst_call(const struct kmst *t, const char *op, const char *body)
{
    return kmst_call_as(t, &t->caller, op, body);
}

/* Expects success and returns the parsed body (caller json_decref()s; an empty object after a failure). */
static inline json_t *kmst_ok(const struct kmst *t, const char *op, const char *body)
{
    struct core_reply r = kmst_call(t, op, body);
    json_t *j = NULL;
    if (core_reply_failed(&r))
        TEST_FAIL("%s %s -> %s: %s", op, body, r.error_code, r.message.data ? (char *)r.message.data : "");
    else if (!core_ok(core_json_parse(core_buf_cursor(&r.body), 32, &j)))
        TEST_FAIL("%s: reply is not JSON", op);
    core_reply_free(&r);
    return j ? j : json_object();
}

/* One hex digit (either case), -1 for anything else. */
static inline int kmst_hexv(uint8_t c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Hex text into out, replacing its contents. False on an odd length, a non-hex digit or a full out. */
static inline bool kmst_unhex(struct core_cursor v, struct core_buf *out)
{
    core_buf_reset(out);
    if (v.len % 2) return false;
    for (size_t i = 0; i < v.len; i += 2) {
        int hi = kmst_hexv(v.ptr[i]), lo = kmst_hexv(v.ptr[i + 1]);
        if (hi < 0 || lo < 0 || !core_ok(core_buf_append_u8(out, (uint8_t)(hi << 4 | lo)))) return false;
    }
    return true;
}

#endif
