/*
 * SAML 2.0 identity providers: Create/Get/List/Update/DeleteSAMLProvider.
 * The IdP's metadata document is kept as uploaded; what AssumeRoleWithSAML
 * needs from it (the IdP's entityID and its signing certificates) is read
 * once here, with libxml2 (in the loadable module kmsd-saml-metadata.so,
 * iam/iam_saml_xml.c), and stored beside it, so a malformed document is
 * refused at upload ("Could not parse metadata") and never reaches STS.
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateSAMLProvider.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_saml.html
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/x509.h>

#include "core/core_module.h"
#include "iam/iam_internal.h"
#include "iam/iam_saml_module.h"

static pthread_once_t module_once = PTHREAD_ONCE_INIT;
static const struct iam_saml_module *module;

static void module_load(void)
{
    void *sym = NULL;
    if (core_ok(core_module_symbol(IAM_SAML_MODULE_FILE, IAM_SAML_MODULE_SYMBOL, &sym))) module = sym;
}

/* Whether b64 is the base64 of exactly one DER X.509 certificate. */
static bool is_certificate(const json_t *b64)
{
    size_t n = json_string_length(b64);
    struct core_buf der = {0};
    bool ok = false;
    if (json_is_string(b64) && core_ok(core_buf_init(&der, n, n)) &&
        core_ok(core_buf_append_unbase64(&der, core_cursor_from(json_string_value(b64), n)))) {
        const unsigned char *p = der.data;
        X509 *x = d2i_X509(NULL, &p, (long)der.len);
        ok = x && p == der.data + der.len;
        X509_free(x);
    }
    core_buf_free(&der);
    return ok;
}

core_result iam_saml_metadata_parse(struct core_cursor doc, json_t **out)
{
    *out = NULL;
    ENSURE(doc.len > 0 && doc.len <= IAM_SAML_MAX_METADATA, ERR_PARSE);
    pthread_once(&module_once, module_load);
    ENSURE(module != NULL, ERR_IO);
    DEFER_CLEANUP(json_t *m = module->read(doc.ptr, doc.len, IAM_SAML_MAX_CERTS), core_json_cleanup);
    ENSURE(m != NULL, ERR_PARSE);
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(m, "certs"), i, c) ENSURE(is_certificate(c), ERR_PARSE);
    int64_t vu = 0;
    const json_t *v = json_object_get(m, "valid_until");
    if (v)
        ENSURE(json_is_string(v) &&
                   core_ok(core_time_parse_iso8601(json_string_value(v), json_string_length(v), &vu)),
               ERR_PARSE);
    ENSURE(json_object_set_new(m, "valid_until", json_integer((json_int_t)vu)) == 0, ERR_NOMEM);
    *out = m;
    m = NULL;
    CORE_OK;
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
    core_result r = iam_saml_metadata_parse(*doc, meta);
    if (r.err == ERR_IO)
        return iam_fail(ctx->out, IAM_E_SERVICE_FAILURE, "%s",
                        "SAML support is not available: kmsd could not load its module kmsd-saml-metadata.so");
    if (!core_ok(r)) return iam_fail(ctx->out, IAM_E_INVALID_INPUT, "%s", "Could not parse metadata");
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
