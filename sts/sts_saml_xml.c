/*
 * SAML 2.0 responses for AssumeRoleWithSAML: the XML signature is verified
 * by libxmlsec1 (OpenSSL backend), never by hand, and the shape around it is
 * pinned so that what is read is what was signed (XML signature wrapping,
 * "On Breaking SAML: Be Whoever You Want to Be", USENIX Security 2012):
 *  - the document is a samlp:Response root with no DTD, read without
 *    entity substitution or network access;
 *  - it holds exactly one saml:Assertion anywhere, and that one is a child
 *    of the root; no EncryptedAssertion;
 *  - only the Response's and the Assertion's ID attributes are registered
 *    as IDs (a duplicate, xml:id included, refuses the document);
 *  - a ds:Signature is accepted only as a direct child of the Response or
 *    of the Assertion, with exactly one Reference whose URI is "#" + the ID
 *    of that parent (so the element signed is the one enveloping it, which
 *    is the element read), same-document URIs only, and only the
 *    enveloped-signature and canonicalization transforms;
 *  - the key is one of the provider's signing certificates from its
 *    metadata; a KeyInfo inside the response is never trusted;
 *  - every signature present must verify, and at least one must exist.
 * The facts read from the verified Assertion are returned as JSON, so the
 * handler never touches the XML tree.
 * Built as the loadable module kmsd-saml.so (sts/sts_saml_module.h): it links
 * libxml2, libxmlsec1 and jansson, and no kmsd library.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_saml_assertions.html
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>

#include "iam/iam_saml_dom.h"
#include "sts/sts_saml_module.h"

#define SAMLP_NS "urn:oasis:names:tc:SAML:2.0:protocol"
#define SAML_NS "urn:oasis:names:tc:SAML:2.0:assertion"
#define DS_NS "http://www.w3.org/2000/09/xmldsig#"
#define MAX_ATTR_VALUES 64u
#define MAX_TEXT 4096u

static pthread_once_t xmlsec_once = PTHREAD_ONCE_INIT;
static bool xmlsec_ready;

static void xmlsec_init(void)
{
    xmlInitParser();
    if (xmlSecInit() < 0) return;
    if (xmlSecCheckVersion() != 1) return;
    xmlSecErrorsDefaultCallbackEnableOutput(0); /* failures are reported as one class, not on stderr */
    if (xmlSecCryptoAppInit(NULL) < 0 || xmlSecCryptoInit() < 0) return;
    xmlsec_ready = true;
}


/* Counts elements ns:name in the subtree of n (n included). */
static size_t count(const xmlNode *n, const char *ns, const char *name)
{
    size_t k = 0;
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) continue;
        k += iam_saml_is_elem(n, ns, name);
        k += count(n->children, ns, name);
    }
    return k;
}

/* Signatures anywhere must sit directly under the Response or the Assertion. */
static bool signatures_placed(const xmlNode *n, const xmlNode *root, const xmlNode *assertion)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) continue;
        if (iam_saml_is_elem(n, DS_NS, "Signature") && n->parent != root && n->parent != assertion) return false;
        if (!signatures_placed(n->children, root, assertion)) return false;
    }
    return true;
}

static xmlChar *prop(const xmlNode *n, const char *name) { return xmlGetNoNsProp((xmlNode *)(uintptr_t)n, XC(name)); }

/* Sets key to the element's text (capped) in obj; absent element: nothing. */
static bool put_text(json_t *obj, const char *key, const xmlNode *n)
{
    if (!n) return true;
    xmlChar *t = xmlNodeGetContent(n);
    if (!t) return false;
    size_t len = strlen((const char *)t);
    bool ok = len <= MAX_TEXT && json_object_set_new(obj, key, json_stringn((const char *)t, len)) == 0;
    xmlFree(t);
    return ok;
}

/* kmsd's xs:dateTime reader (core_time_parse_iso8601), passed in by the caller. */
typedef bool (*time_fn)(const char *s, size_t len, int64_t *t);

/* Sets key to the epoch seconds of the xs:dateTime attribute; absent: nothing; unreadable: false. */
static bool put_time(time_fn time_parse, json_t *obj, const char *key, const xmlNode *n, const char *attr)
{
    if (!n) return true;
    xmlChar *v = prop(n, attr);
    if (!v) return true;
    int64_t t;
    bool ok = time_parse((const char *)v, strlen((const char *)v), &t) &&
              json_object_set_new(obj, key, json_integer((json_int_t)t)) == 0;
    xmlFree(v);
    return ok;
}

static bool put_attr(json_t *obj, const char *key, const xmlNode *n, const char *attr)
{
    if (!n) return true;
    xmlChar *v = prop(n, attr);
    if (!v) return true;
    size_t len = strlen((const char *)v);
    bool ok = len <= MAX_TEXT && json_object_set_new(obj, key, json_stringn((const char *)v, len)) == 0;
    xmlFree(v);
    return ok;
}

/* The facts AssumeRoleWithSAML uses, from the verified Assertion only. */
static json_t *facts(const xmlNode *a, time_fn time_parse)
{
    json_t *f = json_object(), *aud = json_array(), *attrs = json_object();
    if (!f || !aud || !attrs) goto fail;
    json_object_set_new(f, "audiences", aud);
    json_object_set_new(f, "attrs", attrs);
    const xmlNode *subject = iam_saml_child(a, SAML_NS, "Subject"), *name_id = iam_saml_child(subject, SAML_NS, "NameID");
    const xmlNode *cond = iam_saml_child(a, SAML_NS, "Conditions"), *authn = iam_saml_child(a, SAML_NS, "AuthnStatement");
    if (!put_text(f, "issuer", iam_saml_child(a, SAML_NS, "Issuer")) || !put_text(f, "name_id", name_id) ||
        !put_attr(f, "name_format", name_id, "Format") ||
        !put_time(time_parse, f, "issue_instant", a, "IssueInstant") ||
        !put_time(time_parse, f, "not_before", cond, "NotBefore") ||
        !put_time(time_parse, f, "not_on_or_after", cond, "NotOnOrAfter") ||
        !put_time(time_parse, f, "session_not_on_or_after", authn, "SessionNotOnOrAfter"))
        goto fail;
    size_t n_confirm = 0;
    for (const xmlNode *sc = subject ? subject->children : NULL; sc; sc = sc->next) {
        if (!iam_saml_is_elem(sc, SAML_NS, "SubjectConfirmation")) continue;
        const xmlNode *d = iam_saml_child(sc, SAML_NS, "SubjectConfirmationData");
        n_confirm++;
        if (!put_attr(f, "recipient", d, "Recipient") ||
            !put_time(time_parse, f, "sc_not_on_or_after", d, "NotOnOrAfter") ||
            !put_time(time_parse, f, "sc_not_before", d, "NotBefore"))
            goto fail;
    }
    json_object_set_new(f, "n_confirmations", json_integer((json_int_t)n_confirm));
    for (const xmlNode *ar = cond ? cond->children : NULL; ar; ar = ar->next) {
        if (!iam_saml_is_elem(ar, SAML_NS, "AudienceRestriction")) continue;
        json_object_set_new(f, "has_audience_restriction", json_true());
        for (const xmlNode *x = ar->children; x; x = x->next) {
            if (!iam_saml_is_elem(x, SAML_NS, "Audience")) continue;
            json_t *tmp = json_object();
            if (!tmp || !put_text(tmp, "v", x) || json_array_size(aud) == MAX_ATTR_VALUES) {
                json_decref(tmp);
                goto fail;
            }
            json_array_append(aud, json_object_get(tmp, "v"));
            json_decref(tmp);
        }
    }
    for (const xmlNode *st = a->children; st; st = st->next) {
        if (!iam_saml_is_elem(st, SAML_NS, "AttributeStatement")) continue;
        for (const xmlNode *at = st->children; at; at = at->next) {
            if (!iam_saml_is_elem(at, SAML_NS, "Attribute")) continue;
            xmlChar *name = prop(at, "Name");
            if (!name || strlen((const char *)name) > 512) {
                xmlFree(name);
                goto fail;
            }
            json_t *vals = json_object_get(attrs, (const char *)name);
            if (!vals) {
                vals = json_array();
                json_object_set_new(attrs, (const char *)name, vals);
            }
            xmlFree(name);
            if (!vals) goto fail;
            for (const xmlNode *v = at->children; v; v = v->next) {
                if (!iam_saml_is_elem(v, SAML_NS, "AttributeValue")) continue;
                json_t *tmp = json_object();
                if (!tmp || !put_text(tmp, "v", v) || json_array_size(vals) == MAX_ATTR_VALUES) {
                    json_decref(tmp);
                    goto fail;
                }
                json_array_append(vals, json_object_get(tmp, "v"));
                json_decref(tmp);
            }
        }
    }
    return f;
fail:
    json_decref(f);
    return NULL;
}

enum verdict { V_OK, V_BAD, V_ERROR };

/* Verifies one enveloped signature of parent (whose ID is id) with one certificate. */
static enum verdict verify_with(xmlNode *sig, const xmlChar *id, const struct sts_saml_der *der)
{
    xmlSecKeyPtr key = xmlSecCryptoAppKeyLoadMemory(der->ptr, (xmlSecSize)der->len, xmlSecKeyDataFormatCertDer, NULL,
                                                    NULL, NULL);
    if (!key) return V_ERROR;
    xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(NULL);
    if (!ctx) {
        xmlSecKeyDestroy(key);
        return V_ERROR;
    }
    ctx->signKey = key; /* owned by ctx from here */
    ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
    /* Canonicalization, digests and signature methods SAML IdPs use; no XPath, XSLT or base64 transforms. */
    const xmlSecTransformId sig_ids[] = {xmlSecTransformExclC14NId,  xmlSecTransformExclC14NWithCommentsId,
                                         xmlSecTransformInclC14NId,  xmlSecTransformInclC14NWithCommentsId,
                                         xmlSecTransformRsaSha1Id,   xmlSecTransformRsaSha256Id,
                                         xmlSecTransformRsaSha384Id, xmlSecTransformRsaSha512Id,
                                         xmlSecTransformEcdsaSha256Id, xmlSecTransformEcdsaSha384Id,
                                         xmlSecTransformEcdsaSha512Id};
    const xmlSecTransformId ref_ids[] = {xmlSecTransformEnvelopedId, xmlSecTransformExclC14NId,
                                         xmlSecTransformExclC14NWithCommentsId, xmlSecTransformInclC14NId,
                                         xmlSecTransformInclC14NWithCommentsId, xmlSecTransformSha1Id,
                                         xmlSecTransformSha256Id, xmlSecTransformSha384Id,
                                         xmlSecTransformSha512Id};
    enum verdict v = V_ERROR;
    for (size_t i = 0; i < sizeof sig_ids / sizeof sig_ids[0]; i++)
        if (xmlSecDSigCtxEnableSignatureTransform(ctx, sig_ids[i]) < 0) goto done;
    for (size_t i = 0; i < sizeof ref_ids / sizeof ref_ids[0]; i++)
        if (xmlSecDSigCtxEnableReferenceTransform(ctx, ref_ids[i]) < 0) goto done;
    v = V_BAD;
    if (xmlSecDSigCtxVerify(ctx, sig) < 0 || ctx->status != xmlSecDSigStatusSucceeded) goto done;
    /* Exactly one reference, naming the signature's own parent. */
    if (xmlSecPtrListGetSize(&ctx->signedInfoReferences) != 1) goto done;
    xmlSecDSigReferenceCtxPtr ref = xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0);
    if (!ref || !ref->uri || ref->uri[0] != '#' || !xmlStrEqual(ref->uri + 1, id) ||
        ref->status != xmlSecDSigStatusSucceeded)
        goto done;
    v = V_OK;
done:
    xmlSecDSigCtxDestroy(ctx);
    return v;
}

/* A signature (direct child of parent) verified by one of the provider's certificates. */
static enum verdict verify_signature(xmlNode *sig, const xmlNode *parent, const struct sts_saml_der *certs,
                                     size_t n_certs)
{
    xmlChar *id = prop(parent, "ID");
    if (!id) return V_BAD;
    enum verdict v = V_BAD;
    for (size_t i = 0; i < n_certs && v != V_OK; i++) v = verify_with(sig, id, &certs[i]);
    xmlFree(id);
    return v;
}

/* Registers n's ID attribute as the document's only ID of that value. */
static bool register_id(xmlDoc *doc, xmlNode *n)
{
    xmlAttr *a = xmlHasNsProp(n, XC("ID"), NULL);
    if (!a) return true; /* unsigned element: nothing can reference it */
    xmlChar *v = xmlNodeListGetString(doc, a->children, 1);
    if (!v || !v[0]) {
        xmlFree(v);
        return false;
    }
    bool ok = xmlAddID(NULL, doc, v, a) != NULL;
    xmlFree(v);
    return ok;
}

static enum sts_saml_status saml_verify(const unsigned char *xml, size_t len, const struct sts_saml_der *certs,
                                        size_t n_certs, bool (*tp)(const char *s, size_t len, int64_t *t),
                                        json_t **out)
{
    *out = NULL;
    pthread_once(&xmlsec_once, xmlsec_init);
    if (!xmlsec_ready) return STS_SAML_MALFORMED;
    enum sts_saml_status st = STS_SAML_MALFORMED;
    if (len == 0 || len > INT32_MAX) return st;
    xmlDoc *doc = xmlReadMemory((const char *)xml, (int)len, "saml.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc || doc->intSubset != NULL) goto done;
    xmlNode *root = xmlDocGetRootElement(doc);
    if (!iam_saml_is_elem(root, SAMLP_NS, "Response")) goto done;
    if (count(root, SAML_NS, "EncryptedAssertion") != 0 || count(root, SAML_NS, "Assertion") != 1) goto done;
    xmlNode *assertion = (xmlNode *)(uintptr_t)iam_saml_child(root, SAML_NS, "Assertion");
    if (!assertion || count(root, DS_NS, "Signature") > 2 || !signatures_placed(root, root, assertion)) goto done;
    if (!register_id(doc, root) || !register_id(doc, assertion)) goto done;
    xmlNode *sig_r = (xmlNode *)(uintptr_t)iam_saml_child(root, DS_NS, "Signature");
    xmlNode *sig_a = (xmlNode *)(uintptr_t)iam_saml_child(assertion, DS_NS, "Signature");
    st = STS_SAML_BAD_SIGNATURE;
    if (!sig_r && !sig_a) goto done; /* unsigned */
    if (sig_a && verify_signature(sig_a, assertion, certs, n_certs) != V_OK) goto done;
    if (sig_r && verify_signature(sig_r, root, certs, n_certs) != V_OK) goto done;
    st = STS_SAML_MALFORMED;
    json_t *f = facts(assertion, tp);
    if (!f) goto done;
    /* The Response's own status must be Success when it says one. */
    const xmlNode *status = iam_saml_child(iam_saml_child(root, SAMLP_NS, "Status"), SAMLP_NS, "StatusCode");
    xmlChar *sv = status ? prop(status, "Value") : NULL;
    bool success = !status || (sv && xmlStrEqual(sv, XC("urn:oasis:names:tc:SAML:2.0:status:Success")));
    xmlFree(sv);
    if (!success) {
        json_decref(f);
        goto done;
    }
    *out = f;
    st = STS_SAML_OK;
done:
    if (doc) xmlFreeDoc(doc);
    return st;
}

/* The module's one export (sts/sts_saml_module.h). */
__attribute__((visibility("default"))) const struct sts_saml_module sts_saml_module_v1 = {.verify = saml_verify};
