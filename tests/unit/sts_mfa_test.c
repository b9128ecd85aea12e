/*
 * TOTP codes are good once (issue 16 item 9; RFC 6238 section 5.2: "the
 * verifier MUST NOT accept the second attempt of the OTP after the
 * successful validation has been issued for the first OTP"), in memory:
 * GetSessionToken and AssumeRole with the same code, an older code inside
 * the tolerance window, the next step's code, and eight threads racing with
 * one code (exactly one wins).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "keystore/keystore_testutil.h"
#include "sts/sts_internal.h"
#include "tests/test.h"

#define ACCT "111122223333"
#define T0 1800000010 /* service clock: inside a 30-second step, 10 s after its start */

struct world {
    struct keystore *ks;
    struct iam_env *iam;
    struct sts_env *sts;
    struct core_principal root, user;
    uint8_t seed[64];
    size_t seed_len;
};

static void enc(struct core_buf *b, const char *v)
{
    for (const char *p = v; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.' || c == '~')
            EXPECT_OK(core_buf_append_u8(b, c));
        else
            EXPECT_OK(core_buf_printf(b, "%%%02X", c));
    }
}

/* Runs one call (IAM when iam is true) with name=value pairs; returns the status, the body into body_out. */
static unsigned call(struct world *w, bool iam, const struct core_principal *caller, int64_t now,
                     const char *const *kv, char *body_out, size_t cap)
{
    struct core_form *f = calloc(1, sizeof *f);
    struct core_buf body;
    EXPECT_OK(core_buf_init(&body, 512, 16384));
    for (size_t i = 0; kv[i]; i += 2) {
        if (i) EXPECT_OK(core_buf_append_u8(&body, '&'));
        EXPECT_OK(core_buf_append_str(&body, kv[i]));
        EXPECT_OK(core_buf_append_u8(&body, '='));
        enc(&body, kv[i + 1]);
    }
    EXPECT_OK(core_form_parse(f, core_buf_cursor(&body)));
    struct core_reply reply;
    EXPECT_OK(core_reply_init(&reply));
    if (iam) {
        struct iam_call c = {.caller = caller, .form = f, .request_id = "t", .now = now};
        core_result_ignore(iam_handle(w->iam, &c, &reply));
    } else {
        struct sts_call c = {.caller = caller, .form = f, .request_id = "t", .now = now};
        core_result_ignore(sts_handle(w->sts, &c, &reply));
    }
    unsigned st = reply.status;
    if (body_out) {
        const struct core_buf *src = st == 200 ? &reply.body : &reply.message;
        size_t n = src->len < cap - 1 ? src->len : cap - 1;
        memcpy(body_out, src->data, n);
        body_out[n] = 0;
    }
    core_reply_free(&reply);
    core_form_free(f);
    free(f);
    core_buf_free(&body);
    return st;
}

static bool between(const char *s, const char *open, const char *close_, char *out, size_t cap)
{
    const char *a = strstr(s, open);
    if (!a) return false;
    a += strlen(open);
    const char *b = strstr(a, close_);
    if (!b || (size_t)(b - a) >= cap) return false;
    memcpy(out, a, (size_t)(b - a));
    out[b - a] = 0;
    return true;
}

/* RFC 4648 base32, no padding. */
static size_t b32_decode(const char *in, uint8_t *out, size_t cap)
{
    uint32_t buf = 0;
    int bits = 0;
    size_t n = 0;
    for (; *in && *in != '='; in++) {
        const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        const char *p = strchr(alpha, *in);
        if (!p) return 0;
        buf = (buf << 5) | (uint32_t)(p - alpha);
        bits += 5;
        if (bits >= 8 && n < cap) {
            out[n++] = (uint8_t)(buf >> (bits - 8));
            bits -= 8;
        }
    }
    return n;
}

static void code_at(struct world *w, int64_t t, char out[7])
{
    EXPECT_OK(iam_totp(core_cursor_from(w->seed, w->seed_len), t / 30, out));
}

static unsigned session_token(struct world *w, const char *code, int64_t now)
{
    const char *kv[] = {"Action", "GetSessionToken", "Version", "2011-06-15", "SerialNumber",
                        "arn:aws:iam::" ACCT ":mfa/alice-mfa", "TokenCode", code, NULL};
    char msg[512];
    unsigned st = call(w, false, &w->user, now, kv, msg, sizeof msg);
    if (st != 200) EXPECT_STR_EQ(msg, "MultiFactorAuthentication failed with invalid MFA one time pass code.");
    return st;
}

static unsigned assume(struct world *w, const char *code, int64_t now)
{
    const char *kv[] = {"Action", "AssumeRole", "Version", "2011-06-15", "RoleArn",
                        "arn:aws:iam::" ACCT ":role/mfa-role", "RoleSessionName", "s1", "SerialNumber",
                        "arn:aws:iam::" ACCT ":mfa/alice-mfa", "TokenCode", code, NULL};
    return call(w, false, &w->user, now, kv, NULL, 0);
}

struct race {
    struct world *w;
    char code[7];
    unsigned status;
};

static void *race_one(void *arg)
{
    struct race *r = arg;
    r->status = session_token(r->w, r->code, T0 + 300);
    return NULL;
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    char root[PATH_MAX], dir[PATH_MAX];
    kst_mkdtemp(root, dir);
    struct keystore_options ko = kst_key_file_opts(dir);
    static struct world w;
    bool created;
    EXPECT_OK(keystore_open(&ko, &w.ks, &created));
    struct iam_env_options io = {.ks = w.ks, .account = ACCT};
    EXPECT_OK(iam_env_new(&io, &w.iam));
    struct sts_env_options so = {.ks = w.ks, .iam = w.iam};
    EXPECT_OK(sts_env_new(&so, &w.sts));
    if (!w.sts || !w.iam) return 1;
    iam_principal_root(&w.root, ACCT);

    static char out[8192];
    const char *mk_user[] = {"Action", "CreateUser", "Version", "2010-05-08", "UserName", "alice", NULL};
    EXPECT_TRUE(call(&w, true, &w.root, T0, mk_user, out, sizeof out) == 200);
    const char *mk_role[] = {"Action", "CreateRole", "Version", "2010-05-08", "RoleName", "mfa-role",
                             "AssumeRolePolicyDocument",
                             "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
                             "\"arn:aws:iam::" ACCT ":user/alice\"},\"Action\":\"sts:AssumeRole\"}]}",
                             NULL};
    EXPECT_TRUE(call(&w, true, &w.root, T0, mk_role, out, sizeof out) == 200);
    const char *mk_dev[] = {"Action", "CreateVirtualMFADevice", "Version", "2010-05-08", "VirtualMFADeviceName",
                            "alice-mfa", NULL};
    EXPECT_TRUE(call(&w, true, &w.root, T0, mk_dev, out, sizeof out) == 200);
    char blob[256], b32[128];
    EXPECT_TRUE(between(out, "<Base32StringSeed>", "</Base32StringSeed>", blob, sizeof blob));
    struct core_buf raw;
    EXPECT_OK(core_buf_init(&raw, 128, 256));
    EXPECT_OK(core_buf_append_unbase64(&raw, core_cursor_str(blob)));
    EXPECT_TRUE(raw.len < sizeof b32);
    memcpy(b32, raw.data, raw.len);
    b32[raw.len] = 0;
    core_buf_free(&raw);
    w.seed_len = b32_decode(b32, w.seed, sizeof w.seed);
    EXPECT_TRUE(w.seed_len == 20);
    char c1[7], c2[7];
    code_at(&w, T0 - 90, c1);
    code_at(&w, T0 - 60, c2);
    const char *enable[] = {"Action", "EnableMFADevice", "Version", "2010-05-08", "UserName", "alice",
                            "SerialNumber", "arn:aws:iam::" ACCT ":mfa/alice-mfa", "AuthenticationCode1", c1,
                            "AuthenticationCode2", c2, NULL};
    EXPECT_TRUE(call(&w, true, &w.root, T0, enable, out, sizeof out) == 200);
    struct keystore_txn *txn = NULL;
    EXPECT_OK(keystore_txn_begin(w.ks, false, &txn));
    EXPECT_OK(iam_user_principal(txn, ACCT, core_cursor_str("alice"), &w.user));
    keystore_txn_abort(txn);

    /* A code works once, whichever action spends it. */
    char now_code[7], prev_code[7], next_code[7];
    code_at(&w, T0, now_code);
    code_at(&w, T0 - 30, prev_code);
    EXPECT_TRUE(session_token(&w, now_code, T0) == 200);
    EXPECT_TRUE(session_token(&w, now_code, T0) == 403);
    EXPECT_TRUE(session_token(&w, now_code, T0 + 15) == 403); /* still inside the window a step later */
    EXPECT_TRUE(assume(&w, now_code, T0) == 403);
    /* an older code that the tolerance window would accept: the device's steps only move forward */
    EXPECT_TRUE(session_token(&w, prev_code, T0) == 403);
    /* a wrong code spends nothing: the next step's code still works, once, through AssumeRole */
    code_at(&w, T0 + 30, next_code);
    char wrong[16];
    snprintf(wrong, sizeof wrong, "%06u", (unsigned)(atoi(next_code) + 1) % 1000000u);
    EXPECT_TRUE(session_token(&w, wrong, T0 + 30) == 403);
    EXPECT_TRUE(assume(&w, next_code, T0 + 30) == 200);
    EXPECT_TRUE(assume(&w, next_code, T0 + 30) == 403);
    EXPECT_TRUE(session_token(&w, next_code, T0 + 31) == 403);

    /* Eight requests with one fresh code at the same moment: exactly one is served. */
    static struct race r[8];
    pthread_t th[8];
    char race_code[7];
    code_at(&w, T0 + 300, race_code);
    for (int i = 0; i < 8; i++) {
        r[i].w = &w;
        memcpy(r[i].code, race_code, 7);
        EXPECT_TRUE(pthread_create(&th[i], NULL, race_one, &r[i]) == 0);
    }
    int served = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        served += r[i].status == 200;
        EXPECT_TRUE(r[i].status == 200 || r[i].status == 403);
    }
    EXPECT_TRUE(served == 1);

    sts_env_free(w.sts);
    iam_env_free(w.iam);
    keystore_close(w.ks);
    kst_rmrf(root);
    TEST_MAIN_END();
}
