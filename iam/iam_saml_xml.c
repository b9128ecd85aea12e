/*
 * SAML 2.0 IdP metadata read with libxml2: the loadable module
 * kmsd-saml-metadata.so (iam/iam_saml_module.h). It picks the IdP's entityID,
 * its signing certificates (KeyDescriptor use="signing" or without use) and
 * validUntil out of an md:EntityDescriptor; iam_api_saml.c checks them.
 * Links libxml2 and jansson, and no kmsd library.
 * https://docs.oasis-open.org/security/saml/v2.0/saml-metadata-2.0-os.pdf
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "iam/iam_saml_module.h"
#include "iam/iam_saml_dom.h"

#define MD_NS "urn:oasis:names:tc:SAML:2.0:metadata"
#define DS_NS "http://www.w3.org/2000/09/xmldsig#"
#define MAX_CERT_B64 16384u
#define MAX_ENTITY_ID 1024u


/* An X509Certificate's text without whitespace; NULL when empty or too long. */
static json_t *cert_b64(const xmlNode *n)
{
    xmlChar *text = xmlNodeGetContent(n);
    if (!text) return NULL;
    char buf[MAX_CERT_B64];
    size_t o = 0;
    bool ok = true;
    for (const xmlChar *p = text; *p && ok; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') continue;
        if (o == MAX_CERT_B64) ok = false;
        else buf[o++] = (char)*p;
    }
    xmlFree(text);
    return ok && o > 0 ? json_stringn(buf, o) : NULL;
}

static json_t *metadata_read(const unsigned char *doc, size_t len, size_t max_certs)
{
    if (len == 0 || len > INT32_MAX) return NULL;
    /* No network, no entity substitution, no DTD: the document is data only. */
    xmlDoc *d = xmlReadMemory((const char *)doc, (int)len, "metadata.xml", NULL,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (d == NULL) return NULL;
    json_t *out = NULL, *certs = json_array();
    const xmlNode *root = xmlDocGetRootElement(d);
    xmlChar *entity = NULL, *valid_until = NULL;
    if (d->intSubset != NULL || !iam_saml_is_elem(root, MD_NS, "EntityDescriptor") || certs == NULL) goto done;
    entity = xmlGetNoNsProp((xmlNode *)(uintptr_t)root, XC("entityID"));
    valid_until = xmlGetNoNsProp((xmlNode *)(uintptr_t)root, XC("validUntil"));
    size_t elen = entity ? strlen((const char *)entity) : 0;
    if (elen == 0 || elen > MAX_ENTITY_ID) goto done;
    const xmlNode *idp = iam_saml_child(root, MD_NS, "IDPSSODescriptor");
    if (!idp) goto done;
    for (const xmlNode *kd = idp->children; kd; kd = kd->next) {
        if (!iam_saml_is_elem(kd, MD_NS, "KeyDescriptor")) continue;
        xmlChar *use = xmlGetNoNsProp((xmlNode *)(uintptr_t)kd, XC("use"));
        bool signing = use == NULL || xmlStrEqual(use, XC("signing"));
        xmlFree(use);
        if (!signing) continue;
        const xmlNode *x509 = iam_saml_child(iam_saml_child(kd, DS_NS, "KeyInfo"), DS_NS, "X509Data");
        for (const xmlNode *c = x509 ? x509->children : NULL; c; c = c->next) {
            if (!iam_saml_is_elem(c, DS_NS, "X509Certificate")) continue;
            json_t *s = cert_b64(c);
            if (!s || json_array_size(certs) == max_certs) {
                json_decref(s);
                goto done;
            }
            if (json_array_append_new(certs, s) != 0) goto done;
        }
    }
    if (json_array_size(certs) == 0) goto done;
    out = json_pack("{s:s,s:O}", "issuer", (const char *)entity, "certs", certs);
    if (out && valid_until && json_object_set_new(out, "valid_until", json_string((const char *)valid_until)) != 0) {
        json_decref(out);
        out = NULL;
    }
done:
    xmlFree(entity);
    xmlFree(valid_until);
    json_decref(certs);
    xmlFreeDoc(d);
    return out;
}

/* The module's one export (iam/iam_saml_module.h). */
__attribute__((visibility("default"))) const struct iam_saml_module iam_saml_module_v1 = {.read = metadata_read};
