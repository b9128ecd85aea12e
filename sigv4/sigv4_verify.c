/*
 * Stages 3-5 and the comparison: string to sign, signing key (from the
 * cache), signature, constant-time compare. On a mismatch the client gets
 * AWS's full message with the canonical request and string to sign we
 * computed, so it can find its own canonicalisation bug.
 */
#include "sigv4/sigv4_stages.h"

#include <pthread.h>
#include <stdlib.h>

#include <sodium.h>

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static _Thread_local struct sigv4_scratch scratch_tls;
static _Thread_local bool scratch_ready;

static void scratch_free(void *p)
{
    struct sigv4_scratch *s = p;
    core_buf_free(&s->canon);
    core_buf_free(&s->sts);
    core_buf_free(&s->query);
    scratch_ready = false; /* runs on the exiting thread itself: a later call starts afresh */
}

static void scratch_key_init(void)
{
    if (pthread_key_create(&scratch_key, scratch_free) != 0) abort();
}

core_result sigv4_scratch_get(struct sigv4_scratch **out)
{
    struct sigv4_scratch *s = &scratch_tls;
    if (!scratch_ready) {
        pthread_once(&scratch_once, scratch_key_init);
        /* The canonical request carries the session token: wiping growth. */
        bool ok = core_ok(core_buf_init_wiping(&s->canon, 4096, SIGV4_MAX_CANONICAL_REQUEST_BYTES)) &&
                  core_ok(core_buf_init(&s->sts, SIGV4_MAX_STRING_TO_SIGN_BYTES + 1, SIGV4_MAX_STRING_TO_SIGN_BYTES)) &&
                  core_ok(core_buf_init_wiping(&s->query, 1024, 3u * SIGV4_MAX_QUERY_BYTES)) &&
                  pthread_setspecific(scratch_key, s) == 0;
        if (!ok) {
            scratch_free(s);
            BAIL(ERR_NOMEM);
        }
        scratch_ready = true;
    }
    *out = s;
    CORE_OK;
}

void sigv4_scratch_clear(struct core_buf *b)
{
    if (b->data && (b->wipe || b->secret)) sodium_memzero(b->data, b->len < b->cap ? b->len + 1 : b->cap);
    b->len = 0;
}

core_result sigv4_string_to_sign(const struct sigv4_auth *auth, struct core_cursor canonical_request,
                                 struct core_buf *out)
{
    /* StringToSign = Algorithm + \n + RequestDateTime + \n + CredentialScope + \n + HashedCanonicalRequest */
    char amz[32], hash[65];
    core_time_amz(auth->request_time, amz);
    sigv4_sha256_hex(canonical_request, hash);
    GUARD(core_buf_append_str(out, SIGV4_ALGORITHM "\n"));
    GUARD(core_buf_append_str(out, amz));
    GUARD(core_buf_append_u8(out, '\n'));
    GUARD(core_buf_append_cursor(out, auth->scope_date));
    GUARD(core_buf_append_u8(out, '/'));
    GUARD(core_buf_append_cursor(out, auth->region));
    GUARD(core_buf_append_u8(out, '/'));
    GUARD(core_buf_append_cursor(out, auth->service));
    GUARD(core_buf_append_str(out, "/" SIGV4_TERMINATOR "\n"));
    return core_buf_append(out, hash, 64);
}

static void mismatch_message(struct sigv4_diag *diag, struct core_cursor canon, struct core_cursor sts)
{
    sigv4_diag_str(diag, "The request signature we calculated does not match the signature you provided. Check "
                         "your AWS Secret Access Key and signing method. Consult the service documentation for "
                         "details.\n\nThe Canonical String for this request should have been\n'");
    sigv4_diag_echo(diag, canon, SIGV4_MAX_ECHO_CANONICAL_BYTES, true);
    sigv4_diag_str(diag, "'\n\nThe String-to-Sign should have been\n'");
    sigv4_diag_echo(diag, sts, SIGV4_MAX_STRING_TO_SIGN_BYTES, true);
    sigv4_diag_str(diag, "'\n");
}

core_result sigv4_verify(const struct sigv4_request *req, const struct sigv4_auth *auth, struct core_cursor secret,
                         struct sigv4_key_cache *cache, struct sigv4_diag *diag)
{
    ENSURE_REF(req);
    ENSURE_REF(auth);
    struct sigv4_scratch *s;
    GUARD(sigv4_scratch_get(&s));
    sigv4_scratch_clear(&s->canon);
    sigv4_scratch_clear(&s->sts);
    core_result r = sigv4_canonical_request(req, auth, &s->canon, diag);
    if (core_ok(r)) r = sigv4_string_to_sign(auth, core_buf_cursor(&s->canon), &s->sts);

    struct sigv4_hmac_key key;
    if (core_ok(r)) r = sigv4_key_cache_get_hmac(cache, secret, auth->scope_date, auth->region, auth->service, &key);
    if (core_ok(r)) {
        char sig[SIGV4_HEX_BYTES + 1];
        sigv4_signature_hex_prepared(&key, core_buf_cursor(&s->sts), sig);
        /* Lengths are public; the bytes are compared in constant time. */
        bool ok = auth->signature.len == SIGV4_HEX_BYTES && core_ct_equal(sig, auth->signature.ptr, SIGV4_HEX_BYTES);
        sodium_memzero(sig, sizeof sig);
        if (!ok) {
            mismatch_message(diag, core_buf_cursor(&s->canon), core_buf_cursor(&s->sts));
            r = core_result_fail_at(ERR_AUTH_BAD_SIGNATURE, __FILE__, __LINE__);
        }
    }
    sodium_memzero(&key, sizeof key);
    /* The canonical request holds the session token: wiped now, not at the next request. */
    sigv4_scratch_clear(&s->canon);
    sigv4_scratch_clear(&s->sts);
    return r;
}
