/*
 * KMS grant tokens (kms/kms_grant.c): base64, version, record-id length and
 * HMAC check on hostile input.
 *
 * The first byte picks the mode:
 *  - even: the rest is a GrantTokens entry as a client sends it, opened under
 *    a fixed token key. A forged token must not open: any token that does
 *    open must be exactly what kms_grant_token_make() gives for its id.
 *  - odd: the rest is a grant record id. A token made for it must open to
 *    the same id, and must stop opening once any one of its base64
 *    characters is changed to another base64 character.
 */
#include <stdlib.h>

#include "kms/kms_grant.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct kms_env *env(void)
{
    static struct kms_env e;
    static bool ready;
    if (!ready) {
        if (!core_ok(core_crypto_init())) abort();
        static const uint8_t key[32] = "kmsd fuzz grant-token key 32 b.";
        if (!core_ok(core_secret_copy(&e.grant_token_key, key, sizeof key))) abort();
        ready = true;
    }
    return &e;
}

static void open_token(struct core_cursor token)
{
    char rid[256];
    if (!core_ok(kms_grant_token_open(env(), token, rid))) return;
    /* Opened: it must be the token we would have made for rid. */
    struct core_buf again;
    if (!core_ok(core_buf_init(&again, 0, 8192))) return;
    if (!core_ok(kms_grant_token_make(env(), rid, &again))) abort();
    if (!core_cursor_eq(core_buf_cursor(&again), token)) {
        /* Base64 decoders may accept non-canonical text; the decoded bytes
         * then still carry a valid MAC, so compare those instead. */
        struct core_buf a, b;
        if (core_ok(core_buf_init(&a, 0, 8192)) && core_ok(core_buf_init(&b, 0, 8192)) &&
            core_ok(core_buf_append_unbase64(&a, token)) && core_ok(core_buf_append_unbase64(&b, core_buf_cursor(&again))) &&
            !core_cursor_eq(core_buf_cursor(&a), core_buf_cursor(&b)))
            abort();
        core_buf_free(&a);
        core_buf_free(&b);
    }
    core_buf_free(&again);
}

static void round_trip(uint8_t sel, struct core_cursor id)
{
    char rid[256];
    /* Record ids are never empty; kms_grant_token_open() refuses a token without one. */
    if (id.len == 0 || id.len >= sizeof rid) return;
    memcpy(rid, id.ptr, id.len);
    rid[id.len] = 0;
    if (strlen(rid) != id.len) return; /* record ids are C strings */
    struct core_buf tok;
    if (!core_ok(core_buf_init(&tok, 0, 8192))) return;
    if (!core_ok(kms_grant_token_make(env(), rid, &tok))) abort();
    char back[256];
    if (!core_ok(kms_grant_token_open(env(), core_buf_cursor(&tok), back))) abort();
    if (strcmp(back, rid) != 0) abort();
    /* Change one character of the base64 text (not the padding). */
    size_t at = (size_t)sel * 13u % tok.len;
    if (tok.data[at] != '=') {
        tok.data[at] = tok.data[at] == 'A' ? 'B' : 'A';
        struct core_buf raw;
        if (core_ok(core_buf_init(&raw, 0, 8192)) && core_ok(core_buf_append_unbase64(&raw, core_buf_cursor(&tok))) &&
            core_ok(kms_grant_token_open(env(), core_buf_cursor(&tok), back))) {
            /* A change confined to padding bits decodes to the same bytes. */
            struct core_buf orig;
            if (!core_ok(core_buf_init(&orig, 0, 8192)) || !core_ok(kms_grant_token_make(env(), rid, &orig))) abort();
            struct core_buf oraw;
            if (!core_ok(core_buf_init(&oraw, 0, 8192)) || !core_ok(core_buf_append_unbase64(&oraw, core_buf_cursor(&orig))))
                abort();
            if (!core_cursor_eq(core_buf_cursor(&raw), core_buf_cursor(&oraw))) abort();
            core_buf_free(&orig);
            core_buf_free(&oraw);
        }
        core_buf_free(&raw);
    }
    core_buf_free(&tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)env();
    if (size == 0) return 0;
    struct core_cursor rest = core_cursor_from(data + 1, size - 1);
    if ((data[0] & 1u) == 0)
        open_token(rest);
    else
        round_trip((uint8_t)(data[0] >> 1), rest);
    return 0;
}
