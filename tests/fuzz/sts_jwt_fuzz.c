/*
 * JSON Web Tokens (sts/sts_jwt.c): the compact-form splitter, base64url and
 * JSON decoding of header and claims, JWK key import (RSA, EC P-256) and
 * RS256/ES256 verification, on hostile input.
 *
 * Input: a token, optionally followed by a newline and a JWKS document that
 * replaces the built-in one. The built-in JWKS holds the public halves of an
 * RSA-2048 and a P-256 key generated for this target (python cryptography);
 * the corpus has one token signed by each. With the built-in JWKS a token
 * that verifies must have exactly the signing input (header.payload) of one
 * of those two tokens: anything else would be a forgery.
 */
#include <stdlib.h>

#include "sts/sts_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char jwks_text[] =
    "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"rsa1\",\"alg\":\"RS256\",\"use\":\"sig\",\"n\":\"wlURXCcNrAOKV6JjqJ-UC4u3n7qjZSck4E"
    "ytpTFC1AKhYAfgXj-umXA64Pl_ZpOodxutig0xPTzScN7HBA-qTAqmXRetxkaOzkTVxsJN6sWWGPV1n_E-p5XkVFJERzr5mNpYpz"
    "qulLN-0lyT7h9Fo-aOV4vqLqaX_mggDKn69mTASuD304K-pINxXydiN9oD1Gcxl9fma136aKQvnmOxyMcyRjgv8X3XSO5HJrqCbk"
    "1GS-gpoT2ApL80oL3NrEPVYmQomC2ESwhUrSdZ5TLfB919aOBYe9ZlXqRw9syyu4Fx1rVaJVaBkhn6Rw9f6X7VvwmqoGdbp5EAjE"
    "qhK_3yqw\",\"e\":\"AQAB\"},{\"kty\":\"EC\",\"kid\":\"ec1\",\"crv\":\"P-256\",\"x\":\"ObgrWNU_2G9kJ3Jykq-rvxt9Q14bZdUJzf7"
    "Iv99T7wA\",\"y\":\"WW8ZQPaGcrHLJcehwlUO3OSVSR-8hC0-48xcnNgWY10\"}]}";

/* header.payload of the two corpus tokens (seed-rs256, seed-es256). */
static const char *const signed_inputs[] = {
    "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYTEiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwczovL29pZGMuZXhhbXBsZS5jb20iL"
    "CJzdWIiOiJ1c2VyLTEiLCJhdWQiOiJzdHMuYW1hem9uYXdzLmNvbSIsImV4cCI6NDEwMjQ0NDgwMCwiaWF0IjoxNzAwMDAwMDAwf"
    "Q",
    "eyJhbGciOiJFUzI1NiIsImtpZCI6ImVjMSIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL29pZGMuZXhhbXBsZS5jb20iLCJ"
    "zdWIiOiJ1c2VyLTEiLCJhdWQiOiJzdHMuYW1hem9uYXdzLmNvbSIsImV4cCI6NDEwMjQ0NDgwMCwiaWF0IjoxNzAwMDAwMDAwfQ",
};

static json_t *builtin_jwks(void)
{
    static json_t *j;
    if (j == NULL) {
        if (!core_ok(core_crypto_init())) abort();
        core_json_init();
        if (!core_ok(core_json_parse(core_cursor_str(jwks_text), CORE_MAX_JSON_DEPTH, &j))) abort();
    }
    return j;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *fixed = builtin_jwks();
    struct core_cursor token = core_cursor_from(data, size), jwks_doc = {0};
    for (size_t i = 0; i < size; i++)
        if (data[i] == '\n') {
            token = core_cursor_from(data, i);
            jwks_doc = core_cursor_from(data + i + 1, size - i - 1);
            break;
        }
    json_t *header = NULL, *claims = NULL;
    if (!core_ok(sts_jwt_decode(token, &header, &claims))) {
        if (header != NULL || claims != NULL) abort();
        return 0;
    }
    if (!json_is_object(header) || !json_is_object(claims)) abort();
    json_t *jwks = NULL;
    if (jwks_doc.len) {
        if (core_ok(core_json_parse(jwks_doc, CORE_MAX_JSON_DEPTH, &jwks)))
            (void)sts_jwt_verify_signature(token, header, jwks);
        json_decref(jwks);
    } else if (sts_jwt_verify_signature(token, header, fixed) == STS_JWT_OK) {
        size_t dot = 0, dots = 0;
        for (size_t i = 0; i < token.len && dots < 2; i++)
            if (token.ptr[i] == '.' && ++dots == 2) dot = i;
        bool known = false;
        for (size_t i = 0; i < sizeof signed_inputs / sizeof signed_inputs[0]; i++)
            known = known || core_cursor_eq(core_cursor_from(token.ptr, dot), core_cursor_str(signed_inputs[i]));
        if (!known) abort(); /* a signature verified over input we never signed */
    }
    json_decref(header);
    json_decref(claims);
    return 0;
}
