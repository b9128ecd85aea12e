/* Raw HTTP request -> sigv4_http_parse -> sigv4_parse -> sigv4_verify:
 * the Authorization parser and canonicalisation on hostile input. */
#include "sigv4/sigv4.h"
#include "sigv4/sigv4_stages.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sigv4_header headers[64];
    struct sigv4_request req;
    struct core_cursor body;
    if (!core_ok(sigv4_http_parse(core_cursor_from(data, size), headers, 64, &req, &body))) return 0;
    char hash[65];
    sigv4_sha256_hex(body, hash);
    req.payload_hash = core_cursor_from(hash, 64);
    req.now = 1440938160; /* the vectors' date: lets well-formed inputs reach verify */
    struct sigv4_auth auth;
    struct sigv4_diag diag;
    if (!core_ok(core_buf_init(&diag.message, 0, 16384))) return 0;
    if (core_ok(sigv4_parse(&req, &auth, &diag)))
        core_result_ignore(sigv4_verify(&req, &auth, core_cursor_str("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                                        NULL, &diag));
    core_buf_free(&diag.message);
    return 0;
}
