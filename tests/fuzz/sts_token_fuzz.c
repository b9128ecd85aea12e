/*
 * STS session tokens (sts/sts_token.c): base64, the sealed header, the AEAD
 * open and the TLV body parser, on hostile input. The keystore holding the
 * token keys is created once in a temporary directory and removed at exit.
 *
 * The first byte picks the mode:
 *  - even: the rest is an X-Amz-Security-Token as a client sends it. Without
 *    our token key it must never open.
 *  - odd: the rest is a token body. It is sealed under the real token key, so
 *    the fuzzer reaches the body parser behind the AEAD; the parsed session
 *    must hold only what the body holds, and the sealed token must not open
 *    in the other use of the same key (DecodeAuthorizationMessage).
 */
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "iam/iam.h"
#include "sts/sts_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[PATH_MAX];
static struct keystore *ks;
static struct sts_env *env;

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static void cleanup(void)
{
    sts_env_free(env);
    keystore_close(ks);
    if (root[0]) nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
    if (env) return;
    if (!core_ok(core_crypto_init())) abort();
    core_json_init();
    const char *t = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/sts-token-fuzz-XXXXXX", t && t[0] ? t : "/tmp");
    if (mkdtemp(root) == NULL) abort();
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s/data", root) >= (int)sizeof dir) abort();
    struct keystore_options o = {.dir = dir, .source = KEYSTORE_MASTER_KEY_FILE};
    if (!core_ok(keystore_open(&o, &ks, NULL))) abort();
    struct sts_env_options so = {.ks = ks, .default_region = "us-east-1"};
    if (!core_ok(sts_env_new(&so, &env))) abort();
    atexit(cleanup);
}

static bool within(struct core_cursor c, const struct core_buf *b)
{
    return c.len == 0 || (c.ptr >= b->data && c.ptr + c.len <= b->data + b->len);
}

static void check_session(const struct sts_session *s)
{
    if (!within(s->secret, &s->plain) || !within(s->role_arn, &s->plain) || !within(s->policy, &s->plain) ||
        !within(s->source_identity, &s->plain))
        abort();
    if (s->n_policy_arns > STS_MAX_POLICY_ARNS || s->n_tags > STS_MAX_SESSION_TAGS ||
        s->n_transitive > STS_MAX_SESSION_TAGS)
        abort();
    for (size_t i = 0; i < s->n_tags; i++)
        if (!within(s->tags[i].key, &s->plain) || !within(s->tags[i].value, &s->plain)) abort();
    if (strnlen(s->principal.arn, sizeof s->principal.arn) == sizeof s->principal.arn ||
        strnlen(s->principal.account, sizeof s->principal.account) == sizeof s->principal.account)
        abort();
}

static void open_token(struct core_cursor token, int64_t now)
{
    struct sts_session s;
    core_result r = sts_session_open(env, token, core_cursor_str("ASIAFUZZEXAMPLE00001"), now, &s);
    if (core_ok(r)) check_session(&s);
    sts_session_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size == 0) return 0;
    struct core_cursor rest = core_cursor_from(data + 1, size - 1);
    if ((data[0] & 1u) == 0) {
        struct sts_session s;
        if (core_ok(sts_session_open(env, rest, core_cursor_str("ASIAFUZZEXAMPLE00001"), 0, &s))) abort();
        sts_session_free(&s);
        return 0;
    }
    if (rest.len > STS_MAX_BODY) return 0;
    struct core_buf tok, plain;
    if (!core_ok(core_buf_init(&tok, 0, CORE_MAX_SESSION_TOKEN_BYTES + 64))) return 0;
    if (core_ok(sts_seal(env, rest, "session", &tok))) {
        open_token(core_buf_cursor(&tok), (int64_t)data[0] << 24);
        if (core_ok(core_buf_init_secret(&plain, STS_MAX_BODY))) {
            uint32_t kid = 0;
            if (core_ok(sts_unseal(env, core_buf_cursor(&tok), "authz-message", &plain, &kid))) abort();
            core_buf_free(&plain);
        }
    }
    core_buf_free(&tok);
    return 0;
}
