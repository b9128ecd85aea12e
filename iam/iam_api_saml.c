/*
 * SAML 2.0 identity providers: Create/Get/List/Update/DeleteSAMLProvider.
 * The IdP's metadata document is kept as uploaded; what AssumeRoleWithSAML
 * needs from it (the IdP's entityID and its signing certificates) is read
 * once here, with libxml2, and stored beside it, so a malformed document is
 * refused at upload ("Could not parse metadata") and never reaches STS.
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateSAMLProvider.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_saml.html
 */
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/x509.h>

#include "iam/iam_internal.h"

#define MD_NS "urn:oasis:names:tc:SAML:2.0:metadata"
#define DS_NS "http://www.w3.org/2000/09/xmldsig#"
#define MAX_SIGNING_CERTS 8u
#define MAX_CERT_B64 16384u
/* libxml2 names are xmlChar; BAD_CAST drops const (-Wcast-qual). */
#define XC(s) ((const xmlChar *)(s))

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

/* An X509Certificate's text without whitespace, if it is one DER certificate. */
static json_t *cert_b64(const xmlNode *n)
{
    xmlChar *text = xmlNodeGetContent(n);
    if (!text) return NULL;
    char buf[MAX_CERT_B64 + 1];
    size_t o = 0;
    bool ok = true;
    for (const xmlChar *p = text; *p && ok; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') continue;
        if (o == MAX_CERT_B64) ok = false;
        else buf[o++] = (char)*p;
    }
    xmlFree(text);
    if (!ok || o == 0) return NULL;
    struct core_buf der = {0};
    json_t *out = NULL;
    if (core_ok(core_buf_init(&der, o, o)) && core_ok(core_buf_append_unbase64(&der, core_cursor_from(buf, o)))) {
        const unsigned char *p = der.data;
        X509 *x = d2i_X509(NULL, &p, (long)der.len);
        if (x && p == der.data + der.len) out = json_stringn(buf, o);
        X509_free(x);
    }
    core_buf_free(&der);
    return out;
}

core_result iam_saml_metadata_parse(struct core_cursor doc, json_t **out)
{
    *out = NULL;
    ENSURE(doc.len > 0 && doc.len <= IAM_SAML_MAX_METADATA, ERR_PARSE);
    /* No network, no entity substitution, no DTD: the document is data only. */
    xmlDoc *d = xmlReadMemory((const char *)doc.ptr, (int)doc.len, "metadata.xml", NULL,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    ENSURE(d != NULL, ERR_PARSE);
    core_result r = core_result_fail_at(ERR_PARSE, __FILE__, __LINE__);
    json_t *certs = json_array();
    const xmlNode *root = xmlDocGetRootElement(d);
    xmlChar *entity = NULL, *valid_until = NULL;
    if (d->intSubset != NULL || !is_elem(root, MD_NS, "EntityDescriptor") || certs == NULL) goto done;
    entity = xmlGetNoNsProp((xmlNode *)(uintptr_t)root, XC("entityID"));
    valid_until = xmlGetNoNsProp((xmlNode *)(uintptr_t)root, XC("validUntil"));
    size_t elen = entity ? strlen((const char *)entity) : 0;
    if (elen == 0 || elen > 1024) goto done;
    const xmlNode *idp = child(root, MD_NS, "IDPSSODescriptor");
    if (!idp) goto done;
    for (const xmlNode *kd = idp->children; kd; kd = kd->next) {
        if (!is_elem(kd, MD_NS, "KeyDescriptor")) continue;
        xmlChar *use = xmlGetNoNsProp((xmlNode *)(uintptr_t)kd, XC("use"));
        bool signing = use == NULL || xmlStrEqual(use, XC("signing"));
        xmlFree(use);
        if (!signing) continue;
        const xmlNode *x509 = child(child(kd, DS_NS, "KeyInfo"), DS_NS, "X509Data");
        for (const xmlNode *c = x509 ? x509->children : NULL; c; c = c->next) {
            if (!is_elem(c, DS_NS, "X509Certificate")) continue;
            json_t *s = cert_b64(c);
            if (!s || json_array_size(certs) == MAX_SIGNING_CERTS) {
                json_decref(s);
                goto done;
            }
            json_array_append_new(certs, s);
        }
    }
    if (json_array_size(certs) == 0) goto done;
    int64_t vu = 0;
    if (valid_until &&
        !core_ok(core_time_parse_iso8601((const char *)valid_until, strlen((const char *)valid_until), &vu)))
        goto done;
    *out = json_pack("{s:s,s:O,s:I}", "issuer", (const char *)entity, "certs", certs, "valid_until", (json_int_t)vu);
    r = *out ? core_result_ok() : core_result_fail_at(ERR_NOMEM, __FILE__, __LINE__);
done:
    xmlFree(entity);
    xmlFree(valid_until);
    json_decref(certs);
    xmlFreeDoc(d);
    return r;
}

/* "Could not parse metadata" is what IAM answers for a document it cannot read
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_saml.html). */
static core_result read_metadata(struct iam_ctx *ctx, bool required, json_t **meta, struct core_cursor *doc,
                                 bool *have)
{
    const struct query_str_spec ms = {.name = "SAMLMetadataDocument", .required = required, .min = 1000,
                                    .max = 10000000, .cs = QUERY_CS_ANY};
    GUARD(query_param_str(ctx->form, ctx->out, &ms, doc, have));
    if (!*have) CORE_OK;
    if (doc->len > IAM_SAML_MAX_METADATA)
        return iam_fail(ctx->out, IAM_E_LIMIT_EXCEEDED,
                                "SAMLMetadataDocument is longer than kmsd's limit of %u bytes", IAM_SAML_MAX_METADATA);
    if (!core_ok(iam_saml_metadata_parse(*doc, meta)))
        return iam_fail(ctx->out, IAM_E_INVALID_INPUT, "%s", "Could not parse metadata");
    CORE_OK;
}

/* Encrypted assertions (a private key held by IAM) are not served: kmsd verifies signed assertions only. */
static core_result refuse_encryption(struct iam_ctx *ctx)
{
    struct core_cursor v;
    if (core_form_get(ctx->form, "AddPrivateKey", &v) || core_form_get(ctx->form, "RemovePrivateKey", &v) ||
        (core_form_get(ctx->form, "AssertionEncryptionMode", &v) && !core_cursor_eq_str(v, "Allowed")))
        return iam_fail(ctx->out, IAM_E_INVALID_INPUT, "%s",
                                "kmsd does not decrypt SAML assertions: AddPrivateKey, RemovePrivateKey and "
                                "AssertionEncryptionMode=Required are not supported");
    CORE_OK;
}

static core_result create_saml_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    const struct query_str_spec ns = {.name = "Name", .required = true, .min = 1, .max = 128, .cs = QUERY_CS_ANY};
    struct core_cursor name, doc;
    struct query_tag tags[QUERY_MAX_TAGS];
    size_t ntags;
    bool have;
    GUARD(query_param_str(ctx->form, ctx->out, &ns, &name, NULL));
    for (size_t i = 0; i < name.len; i++) { /* the model's pattern [\w._-]+ */
        uint8_t c = name.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-'))
            return iam_fail(ctx->out, IAM_E_VALIDATION,
                                    "1 validation error detected: Value '%.*s' at 'name' failed to satisfy "
                                    "constraint: Member must satisfy regular expression pattern: [\\w._-]+",
                                    (int)name.len, (const char *)name.ptr);
    }
    GUARD(query_param_tags(ctx->form, ctx->out, "Tags", tags, &ntags));
    GUARD(refuse_encryption(ctx));
    DEFER_CLEANUP(json_t *meta = NULL, core_json_cleanup);
    GUARD(read_metadata(ctx, true, &meta, &doc, &have));
    char arn[320], uuid[32];
    snprintf(arn, sizeof arn, "arn:%s:iam::%s:saml-provider/%.*s", core_partition_current(), ctx->account, (int)name.len,
             (const char *)name.ptr);
    iam_generate_unique_id("SAML", uuid);
    DEFER_CLEANUP(json_t *rec = json_pack("{s:s%,s:s,s:s,s:s%,s:O,s:I,s:o}", "name", (const char *)name.ptr, name.len,
                                          "arn", arn, "uuid", uuid, "metadata", (const char *)doc.ptr, doc.len,
                                          "idp", meta, "created", (json_int_t)ctx->now, "tags",
                                          iam_tags_json(tags, ntags)),
                  core_json_cleanup);
    ENSURE(rec != NULL, ERR_NOMEM);
    core_result r = iam_rec_put(txn, IAM_T_SAML, ctx->account, name, rec, KEYSTORE_NO_OVERWRITE);
    if (r.err == ERR_EXISTS)
        return iam_fail(ctx->out, IAM_E_ENTITY_ALREADY_EXISTS, "SAMLProvider %.*s already exists.",
                                (int)name.len, (const char *)name.ptr);
    GUARD(r);
    GUARD(core_xml_elem_str(ctx->b, "SAMLProviderArn", arn));
    return iam_xml_tags(ctx->b, json_object_get(rec, "tags"));
}

core_result iam_create_saml_provider(struct iam_ctx *ctx) { return iam_write(ctx, create_saml_txn); }

static core_result load_by_arn(struct iam_ctx *ctx, struct keystore_txn *txn, json_t **rec, struct core_cursor *name)
{
    const struct query_str_spec as = {.name = "SAMLProviderArn", .required = true, .min = 20, .max = 2048,
                                    .cs = QUERY_CS_ANY};
    struct core_cursor arn;
    GUARD(query_param_str(ctx->form, ctx->out, &as, &arn, NULL));
    char prefix[64];
    snprintf(prefix, sizeof prefix, "arn:%s:iam::%s:saml-provider/", core_partition_current(), ctx->account);
    if (!core_arn_match(arn, "iam", NULL, NULL))
        return iam_fail(ctx->out, IAM_E_INVALID_INPUT, "Invalid ARN: %.*s",
                                (int)(arn.len > 256 ? 256 : arn.len), (const char *)arn.ptr);
    core_result r = {ERR_NOT_FOUND};
    if (core_cursor_starts_with(arn, prefix)) {
        *name = core_cursor_from(arn.ptr + strlen(prefix), arn.len - strlen(prefix));
        r = iam_rec_get(txn, IAM_T_SAML, ctx->account, *name, rec);
        /* Records are found case-insensitively; only the provider's own ARN, as authorized, names it. */
        if (core_ok(r) && !core_cursor_eq_str(arn, iam_js(*rec, "arn"))) {
            json_decref(*rec);
            *rec = NULL;
            r.err = ERR_NOT_FOUND;
        }
    }
    if (r.err == ERR_NOT_FOUND)
        return iam_fail(ctx->out, IAM_E_NO_SUCH_ENTITY, "Manifest not found for arn %.*s",
                                (int)(arn.len > 256 ? 256 : arn.len), (const char *)arn.ptr);
    return r;
}

static core_result xml_valid_until(struct core_buf *b, const json_t *rec)
{
    json_int_t vu = json_integer_value(json_object_get(json_object_get(rec, "idp"), "valid_until"));
    return vu > 0 ? iam_xml_time(b, "ValidUntil", (int64_t)vu) : core_result_ok();
}

static core_result get_saml_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    struct core_cursor name;
    GUARD(load_by_arn(ctx, txn, &rec, &name));
    GUARD(core_xml_elem_str(ctx->b, "SAMLProviderUUID", iam_js(rec, "uuid")));
    const json_t *md = json_object_get(rec, "metadata");
    GUARD(core_xml_elem(ctx->b, "SAMLMetadataDocument",
                        core_cursor_from(json_string_value(md), json_string_length(md))));
    GUARD(iam_xml_time(ctx->b, "CreateDate", (int64_t)json_integer_value(json_object_get(rec, "created"))));
    GUARD(xml_valid_until(ctx->b, rec));
    GUARD(core_xml_elem_str(ctx->b, "AssertionEncryptionMode", "Allowed"));
    return iam_xml_tags(ctx->b, json_object_get(rec, "tags"));
}

core_result iam_get_saml_provider(struct iam_ctx *ctx) { return iam_read(ctx, get_saml_txn); }

static core_result list_saml_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    DEFER_CLEANUP(struct iam_list l = {0}, iam_list_end);
    GUARD(iam_list_begin(&l, txn, IAM_T_SAML, ctx->account, core_cursor_str("")));
    GUARD(core_buf_append_str(ctx->b, "<SAMLProviderList>"));
    for (;;) {
        struct core_cursor id;
        DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
        core_result r = iam_list_next(&l, &id, &rec);
        if (r.err == ERR_NOT_FOUND) break;
        GUARD(r);
        GUARD(core_buf_append_str(ctx->b, "<member>"));
        GUARD(core_xml_elem_str(ctx->b, "Arn", iam_js(rec, "arn")));
        GUARD(xml_valid_until(ctx->b, rec));
        GUARD(iam_xml_time(ctx->b, "CreateDate", (int64_t)json_integer_value(json_object_get(rec, "created"))));
        GUARD(core_buf_append_str(ctx->b, "</member>"));
    }
    return core_buf_append_str(ctx->b, "</SAMLProviderList>");
}

core_result iam_list_saml_providers(struct iam_ctx *ctx) { return iam_read(ctx, list_saml_txn); }

static core_result update_saml_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    DEFER_CLEANUP(json_t *meta = NULL, core_json_cleanup);
    struct core_cursor name, doc;
    bool have;
    GUARD(load_by_arn(ctx, txn, &rec, &name));
    GUARD(refuse_encryption(ctx));
    GUARD(read_metadata(ctx, false, &meta, &doc, &have));
    if (have) {
        ENSURE(json_object_set_new(rec, "metadata", json_stringn((const char *)doc.ptr, doc.len)) == 0, ERR_NOMEM);
        ENSURE(json_object_set(rec, "idp", meta) == 0, ERR_NOMEM);
        GUARD(iam_rec_put(txn, IAM_T_SAML, ctx->account, name, rec, 0));
    }
    return core_xml_elem_str(ctx->b, "SAMLProviderArn", iam_js(rec, "arn"));
}

core_result iam_update_saml_provider(struct iam_ctx *ctx) { return iam_write(ctx, update_saml_txn); }

static core_result delete_saml_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    struct core_cursor name;
    GUARD(load_by_arn(ctx, txn, &rec, &name));
    return iam_rec_del(txn, IAM_T_SAML, ctx->account, name);
}

core_result iam_delete_saml_provider(struct iam_ctx *ctx) { return iam_write(ctx, delete_saml_txn); }

void iam_saml_provider_free(struct iam_saml_provider *p)
{
    if (!p) return;
    json_decref(p->certs);
    *p = (struct iam_saml_provider){0};
}

core_result iam_saml_get(struct keystore_txn *txn, const char *account, struct core_cursor name,
                         struct iam_saml_provider *out)
{
    *out = (struct iam_saml_provider){0};
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    GUARD(iam_rec_get(txn, IAM_T_SAML, account, name, &rec));
    const json_t *idp = json_object_get(rec, "idp");
    const char *arn = iam_js(rec, "arn"), *nm = iam_js(rec, "name"), *iss = iam_js(idp, "issuer");
    ENSURE(strlen(arn) < sizeof out->arn && strlen(nm) < sizeof out->name && strlen(iss) < sizeof out->issuer &&
               json_is_array(json_object_get(idp, "certs")),
           ERR_PARSE);
    snprintf(out->arn, sizeof out->arn, "%s", arn);
    snprintf(out->name, sizeof out->name, "%s", nm);
    snprintf(out->issuer, sizeof out->issuer, "%s", iss);
    out->certs = json_incref(json_object_get(idp, "certs"));
    CORE_OK;
}
