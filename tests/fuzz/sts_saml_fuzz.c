/*
 * SAML responses (AssumeRoleWithSAML): the XML a caller sends, base64-encoded
 * as the SAMLAssertion parameter, through sts_saml_verify with the signing
 * certificate of vectors/saml (the corpus holds those vectors, valid and
 * hostile). Checks nothing beyond the sanitizers: any input must end in a
 * status, with facts only when it says OK.
 */
#include <stdlib.h>

#include "sts/sts_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char cert[] =
    "MIICwjCCAaqgAwIBAgIUEVp0h1shYxPYV3fJhAq4lk+FgZkwDQYJKoZIhvcNAQELBQAwGzEZMBcGA1UEAwwQdmVjdG9ycy5pZHAu"
    "dGVzdDAeFw0yNjEyMDEwNjMwNDNaFw0yNzEyMDIwNjMwNDNaMBsxGTAXBgNVBAMMEHZlY3RvcnMuaWRwLnRlc3QwggEiMA0GCSqG"
    "SIb3DQEBAQUAA4IBDwAwggEKAoIBAQC+3CJUs35btBxmOG3rUARlvT57PdCBDgqWjWgKSlarxbP6jOgc5EShT92I/N886yhlNplV"
    "pUvjS4X8R9MwAQu7zpmz0QHD+byRhenlb+gOhu0VwCPikh3hBcd8NLMW6+h54Fk02ZNduooNb9XWjk4HEdXKOUTE/Jf6tlg+jCyU"
    "JYE2wSWJMRKDrK1tMV27JytE8/EWrzwUgkWgWf8AsvelBndPsDP0bdrZs3MycldbZRoz6dD1yBVnl0cnzRLrkksVTVzSsyEXCbKZ"
    "+Tfa8A1yTLbxnrOQDUxiUe+bTPMNEQZmXZN4UXSESrIAkScLXWRau3oawBMriPB6A1UQVydRAgMBAAEwDQYJKoZIhvcNAQELBQAD"
    "ggEBALzOphHIunbqNhiuPWPEWl96SwZw1PZBuUToYX9+JxUd1MoL+MyS5M5D5PWVIT4yvPe1bLH7yw3B5fRxMjc/504FFDqF2jvI"
    "2Zeg98l5Idsb0tUU12LCs5B2nlbagva463bO05TEX+XE6KOooxQIuIZGnku663qoSUGfUCZDbEvYGpZSE4Xs/FEwCjXo2NFyQo89"
    "DE/YRFrrzfzxZCHDn/KurtMqHprZyRi1yK2+QV7Z0f7Y2WXU5czj/Y14kfpPRINQpRLY6QEKJx/0+lZdIqaXaAnACciipais2OIp"
    "qXZzx6rqPVJXvqtWZhPpFlOfhnklCugEqZcGPe2IhcfxNJ0=";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *certs;
    if (!certs) {
        core_json_init();
        certs = json_array();
        json_array_append_new(certs, json_string(cert));
    }
    if (size > 75000) return 0; /* SAMLAssertion is at most 100000 base64 characters */
    struct core_buf b64 = {0};
    if (!core_ok(core_buf_init(&b64, size * 2 + 8, size * 2 + 8))) return 0;
    if (core_ok(core_buf_append_base64(&b64, core_cursor_from(data, size)))) {
        json_t *facts = NULL;
        enum sts_saml_status st = sts_saml_verify(core_buf_cursor(&b64), certs, &facts);
        if ((st == STS_SAML_OK) != (facts != NULL)) abort();
        json_decref(facts);
    }
    core_buf_free(&b64);
    return 0;
}
