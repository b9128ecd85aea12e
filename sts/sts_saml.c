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
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_saml_assertions.html
 */
#include <pthread.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>

#include "sts/sts_internal.h"

#define SAMLP_NS "urn:oasis:names:tc:SAML:2.0:protocol"
#define SAML_NS "urn:oasis:names:tc:SAML:2.0:assertion"
#define DS_NS "http://www.w3.org/2000/09/xmldsig#"
#define MAX_ATTR_VALUES 64u
#define MAX_TEXT 4096u
/* libxml2 names are xmlChar; BAD_CAST drops const (-Wcast-qual). */
#define XC(s) ((const xmlChar *)(s))

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

static bool is_elem(const xmlNode *n, const char *ns, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href && xmlStrEqual(n->ns->href, XC(ns)) &&
           xmlStrEqual(n->name, XC(name));
}

static const xmlNode *child(const xmlNode *n, const char *ns, const char *name)
{
    for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (is_elem(c, ns, name)) return c;
    return NULL;
}

/* Counts elements ns:name in the subtree of n (n included). */
static size_t count(const xmlNode *n, const char *ns, const char *name)
{
    size_t k = 0;
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) continue;
        k += is_elem(n, ns, name);
        k += count(n->children, ns, name);
    }
    return k;
}

/* Signatures anywhere must sit directly under the Response or the Assertion. */
static bool signatures_placed(const xmlNode *n, const xmlNode *root, const xmlNode *assertion)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) continue;
        if (is_elem(n, DS_NS, "Signature") && n->parent != root && n->parent != assertion) return false;
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

/* Sets key to the epoch seconds of the xs:dateTime attribute; absent: nothing; unreadable: false. */
static bool put_time(json_t *obj, const char *key, const xmlNode *n, const char *attr)
{
    if (!n) return true;
    xmlChar *v = prop(n, attr);
    if (!v) return true;
    int64_t t;
    bool ok = core_ok(core_time_parse_iso8601((const char *)v, strlen((const char *)v), &t)) &&
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
static json_t *facts(const xmlNode *a)
{
    json_t *f = json_object(), *aud = json_array(), *attrs = json_object();
    if (!f || !aud || !attrs) goto fail;
    json_object_set_new(f, "audiences", aud);
    json_object_set_new(f, "attrs", attrs);
    const xmlNode *subject = child(a, SAML_NS, "Subject"), *name_id = child(subject, SAML_NS, "NameID");
    const xmlNode *cond = child(a, SAML_NS, "Conditions"), *authn = child(a, SAML_NS, "AuthnStatement");
    if (!put_text(f, "issuer", child(a, SAML_NS, "Issuer")) || !put_text(f, "name_id", name_id) ||
        !put_attr(f, "name_format", name_id, "Format") || !put_time(f, "issue_instant", a, "IssueInstant") ||
        !put_time(f, "not_before", cond, "NotBefore") || !put_time(f, "not_on_or_after", cond, "NotOnOrAfter") ||
        !put_time(f, "session_not_on_or_after", authn, "SessionNotOnOrAfter"))
        goto fail;
    size_t n_confirm = 0;
    for (const xmlNode *sc = subject ? subject->children : NULL; sc; sc = sc->next) {
        if (!is_elem(sc, SAML_NS, "SubjectConfirmation")) continue;
        const xmlNode *d = child(sc, SAML_NS, "SubjectConfirmationData");
        n_confirm++;
        if (!put_attr(f, "recipient", d, "Recipient") || !put_time(f, "sc_not_on_or_after", d, "NotOnOrAfter") ||
            !put_time(f, "sc_not_before", d, "NotBefore"))
            goto fail;
    }
    json_object_set_new(f, "n_confirmations", json_integer((json_int_t)n_confirm));
    for (const xmlNode *ar = cond ? cond->children : NULL; ar; ar = ar->next) {
        if (!is_elem(ar, SAML_NS, "AudienceRestriction")) continue;
        json_object_set_new(f, "has_audience_restriction", json_true());
        for (const xmlNode *x = ar->children; x; x = x->next) {
            if (!is_elem(x, SAML_NS, "Audience")) continue;
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
        if (!is_elem(st, SAML_NS, "AttributeStatement")) continue;
        for (const xmlNode *at = st->children; at; at = at->next) {
            if (!is_elem(at, SAML_NS, "Attribute")) continue;
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
                if (!is_elem(v, SAML_NS, "AttributeValue")) continue;
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
static enum verdict verify_with(xmlNode *sig, const xmlChar *id, struct core_cursor der)
{
    xmlSecKeyPtr key = xmlSecCryptoAppKeyLoadMemory(der.ptr, (xmlSecSize)der.len, xmlSecKeyDataFormatCertDer, NULL,
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
static enum verdict verify_signature(xmlNode *sig, const xmlNode *parent, const json_t *certs)
{
    xmlChar *id = prop(parent, "ID");
    if (!id) return V_BAD;
    enum verdict v = V_BAD;
    size_t i;
    const json_t *c;
    json_array_foreach(certs, i, c) {
        struct core_buf der = {0};
        size_t n = json_string_length(c);
        if (!json_is_string(c) || !core_ok(core_buf_init(&der, n, n)) ||
            !core_ok(core_buf_append_unbase64(&der, core_cursor_from(json_string_value(c), n)))) {
            core_buf_free(&der);
            continue;
        }
        v = verify_with(sig, id, core_buf_cursor(&der));
        core_buf_free(&der);
        if (v == V_OK) break;
    }
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

enum sts_saml_status sts_saml_verify(struct core_cursor b64, const json_t *certs, json_t **out)
{
    *out = NULL;
    pthread_once(&xmlsec_once, xmlsec_init);
    if (!xmlsec_ready) return STS_SAML_MALFORMED;
    /* The form value is base64; IdPs may wrap it in lines. */
    struct core_buf compact = {0}, xml = {0};
    enum sts_saml_status st = STS_SAML_MALFORMED;
    xmlDoc *doc = NULL;
    if (!core_ok(core_buf_init(&compact, b64.len, b64.len)) || !core_ok(core_buf_init(&xml, b64.len, b64.len)))
        goto done;
    for (size_t i = 0; i < b64.len; i++)
        if (b64.ptr[i] != '\r' && b64.ptr[i] != '\n' && b64.ptr[i] != ' ' && b64.ptr[i] != '\t')
            core_result_ignore(core_buf_append(&compact, b64.ptr + i, 1));
    if (!core_ok(core_buf_append_unbase64(&xml, core_buf_cursor(&compact))) || xml.len == 0 || xml.len > INT32_MAX)
        goto done;
    doc = xmlReadMemory((const char *)xml.data, (int)xml.len, "saml.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc || doc->intSubset != NULL) goto done;
    xmlNode *root = xmlDocGetRootElement(doc);
    if (!is_elem(root, SAMLP_NS, "Response")) goto done;
    if (count(root, SAML_NS, "EncryptedAssertion") != 0 || count(root, SAML_NS, "Assertion") != 1) goto done;
    xmlNode *assertion = (xmlNode *)(uintptr_t)child(root, SAML_NS, "Assertion");
    if (!assertion || count(root, DS_NS, "Signature") > 2 || !signatures_placed(root, root, assertion)) goto done;
    if (!register_id(doc, root) || !register_id(doc, assertion)) goto done;
    xmlNode *sig_r = (xmlNode *)(uintptr_t)child(root, DS_NS, "Signature");
    xmlNode *sig_a = (xmlNode *)(uintptr_t)child(assertion, DS_NS, "Signature");
    st = STS_SAML_BAD_SIGNATURE;
    if (!sig_r && !sig_a) goto done; /* unsigned */
    if (sig_a && verify_signature(sig_a, assertion, certs) != V_OK) goto done;
    if (sig_r && verify_signature(sig_r, root, certs) != V_OK) goto done;
    st = STS_SAML_MALFORMED;
    json_t *f = facts(assertion);
    if (!f) goto done;
    /* The Response's own status must be Success when it says one. */
    const xmlNode *status = child(child(root, SAMLP_NS, "Status"), SAMLP_NS, "StatusCode");
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
    core_buf_free(&compact);
    core_buf_free(&xml);
    return st;
}
