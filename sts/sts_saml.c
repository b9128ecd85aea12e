/*
 * AssumeRoleWithSAML's verifier, seen from sts/: the base64 form value and
 * the provider's certificates are decoded here, and the XML work (libxml2,
 * libxmlsec1: sts/sts_saml_xml.c) runs in the loadable module kmsd-saml.so,
 * loaded on the first call (core/core_module.h). An idle kmsd, or one that
 * never serves a SAML call, does not map those libraries.
 */
#include <pthread.h>
#include <string.h>

#include "core/core_module.h"
#include "sts/sts_internal.h"

#define MAX_CERTS 8u /* iam_saml_metadata_parse keeps at most 8 signing certificates */

static pthread_once_t module_once = PTHREAD_ONCE_INIT;
static const struct sts_saml_module *module;

static void module_load(void)
{
    void *sym = NULL;
    if (core_ok(core_module_symbol(STS_SAML_MODULE_FILE, STS_SAML_MODULE_SYMBOL, &sym))) module = sym;
}

static bool time_parse(const char *s, size_t len, int64_t *t) { return core_ok(core_time_parse_iso8601(s, len, t)); }

enum sts_saml_status sts_saml_verify(struct core_cursor b64, const json_t *certs, json_t **out)
{
    *out = NULL;
    pthread_once(&module_once, module_load);
    if (module == NULL) return STS_SAML_UNAVAILABLE;
    /* The form value is base64; IdPs may wrap it in lines. */
    struct core_buf compact = {0}, xml = {0}, der[MAX_CERTS] = {{0}};
    struct sts_saml_der keys[MAX_CERTS];
    size_t n_keys = 0;
    enum sts_saml_status st = STS_SAML_MALFORMED;
    if (!core_ok(core_buf_init(&compact, b64.len, b64.len)) || !core_ok(core_buf_init(&xml, b64.len, b64.len)))
        goto done;
    for (size_t i = 0; i < b64.len; i++)
        if (b64.ptr[i] != '\r' && b64.ptr[i] != '\n' && b64.ptr[i] != ' ' && b64.ptr[i] != '\t')
            core_result_ignore(core_buf_append(&compact, b64.ptr + i, 1));
    if (!core_ok(core_buf_append_unbase64(&xml, core_buf_cursor(&compact))) || xml.len == 0 || xml.len > INT32_MAX)
        goto done;
    /* A certificate that does not decode is skipped: another may verify. */
    size_t i;
    const json_t *c;
    json_array_foreach(certs, i, c) {
        size_t n = json_string_length(c);
        if (n_keys == MAX_CERTS) break;
        if (!json_is_string(c) || !core_ok(core_buf_init(&der[n_keys], n, n)) ||
            !core_ok(core_buf_append_unbase64(&der[n_keys], core_cursor_from(json_string_value(c), n)))) {
            core_buf_free(&der[n_keys]);
            continue;
        }
        keys[n_keys] = (struct sts_saml_der){der[n_keys].data, der[n_keys].len};
        n_keys++;
    }
    st = module->verify(xml.data, xml.len, keys, n_keys, time_parse, out);
done:
    for (size_t k = 0; k < MAX_CERTS; k++) core_buf_free(&der[k]);
    core_buf_free(&compact);
    core_buf_free(&xml);
    return st;
}
