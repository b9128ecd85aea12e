#ifndef STS_SAML_MODULE_H
#define STS_SAML_MODULE_H

/*
 * The interface of kmsd-saml.so (sts/sts_saml_xml.c), the loadable module
 * that holds every use of libxml2 and libxmlsec1 in sts/: loaded by
 * sts_saml_verify() on the first AssumeRoleWithSAML, so a kmsd that never
 * sees one never maps those libraries (core/core_module.h). The module
 * links no kmsd library: what it needs from kmsd (the xs:dateTime reader)
 * is passed in, and it answers in jansson values, which it shares with
 * kmsd (the same libjansson, the same wiping allocator).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define STS_SAML_MODULE_FILE "kmsd-saml.so"
#define STS_SAML_MODULE_SYMBOL "sts_saml_module_v1"

enum sts_saml_status {
    STS_SAML_OK,
    STS_SAML_MALFORMED,     /* not a single-assertion samlp:Response we can read */
    STS_SAML_BAD_SIGNATURE, /* unsigned, wrong key, altered, or a signature not on the element read */
    STS_SAML_UNAVAILABLE,   /* kmsd-saml.so could not be loaded (sts_saml_verify only) */
};

/** One DER certificate (borrowed). */
struct sts_saml_der {
    const unsigned char *ptr;
    size_t len;
};

struct sts_saml_module {
    /**
     * Verifies the signature(s) of the SAML Response xml with one of certs
     * and reads its Assertion (sts_saml_verify() has the rules).
     * @param[in] time_parse reads an xs:dateTime into epoch seconds; false: unreadable.
     * @param[out] out new JSON on STS_SAML_OK, else NULL.
     * @return STS_SAML_OK, STS_SAML_MALFORMED or STS_SAML_BAD_SIGNATURE.
     */
    enum sts_saml_status (*verify)(const unsigned char *xml, size_t len, const struct sts_saml_der *certs,
                                   size_t n_certs, bool (*time_parse)(const char *s, size_t len, int64_t *t),
                                   json_t **out);
};

#endif
