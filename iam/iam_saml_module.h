#ifndef IAM_SAML_MODULE_H
#define IAM_SAML_MODULE_H

/*
 * The interface of kmsd-saml-metadata.so (iam/iam_saml_xml.c), the loadable
 * module that holds iam/'s use of libxml2: loaded by
 * iam_saml_metadata_parse() on the first Create/UpdateSAMLProvider, so a
 * kmsd that never sees one never maps libxml2 (core/core_module.h). It
 * links libxml2 and jansson and no kmsd library; it only picks the facts
 * out of the XML, and iam_api_saml.c checks them (certificates, time).
 */

#include <stddef.h>

#include <jansson.h>

#define IAM_SAML_MODULE_FILE "kmsd-saml-metadata.so"
#define IAM_SAML_MODULE_SYMBOL "iam_saml_module_v1"

struct iam_saml_module {
    /**
     * Reads an md:EntityDescriptor (no DTD, no entities, no network).
     * @param[in] max_certs most signing certificates accepted (more: NULL).
     * @return new {"issuer": entityID (1..1024 bytes), "certs": [base64 text
     *     without whitespace, at most max_certs, each 1..16384 bytes],
     *     "valid_until": the attribute's text, absent when there is none},
     *     or NULL when doc is not such metadata or has no signing certificate.
     */
    json_t *(*read)(const unsigned char *doc, size_t len, size_t max_certs);
};

#endif
