/*
 * OpenID Connect providers: Create/Get/List/DeleteOpenIDConnectProvider.
 * kmsd has no internet access, so a provider's signing keys (JWKS) are
 * installed locally with `kmsctl sts set-jwks` (iam_oidc_set_jwks) and kept
 * in the provider's record; ThumbprintList is stored and returned only.
 */
#include <stdio.h>

#include "iam/iam_internal.h"

#define MAX_CLIENT_IDS 100u
#define MAX_THUMBPRINTS 5u

/* "https://HOST/PATH" -> "HOST/PATH" */
static bool strip_scheme(struct core_cursor url, struct core_cursor *out)
{
    if (!core_cursor_starts_with(url, "https://") || url.len <= 8) return false;
    *out = core_cursor_from(url.ptr + 8, url.len - 8);
    while (out->len && out->ptr[out->len - 1] == '/') out->len--;
    for (size_t i = 0; i < out->len; i++)
        if (out->ptr[i] <= 0x20 || out->ptr[i] >= 0x7f || out->ptr[i] == '?' || out->ptr[i] == '#') return false;
    return out->len > 0;
}

static core_result create_oidc_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    const struct query_str_spec us = {.name = "Url", .required = true, .min = 1, .max = 255, .cs = QUERY_CS_ANY};
    const struct query_str_spec cs = {.name = "ClientIDList", .min = 1, .max = 255, .cs = QUERY_CS_ANY};
    const struct query_str_spec ts = {.name = "ThumbprintList", .min = 40, .max = 40, .cs = QUERY_CS_WORD};
    struct core_cursor url, host, clients[MAX_CLIENT_IDS], thumbs[MAX_THUMBPRINTS];
    size_t nclients, nthumbs, ntags;
    struct query_tag tags[QUERY_MAX_TAGS];
    GUARD(query_param_str(ctx->form, ctx->out, &us, &url, NULL));
    GUARD(query_param_list(ctx->form, ctx->out, &cs, "", clients, MAX_CLIENT_IDS, &nclients));
    GUARD(query_param_list(ctx->form, ctx->out, &ts, "", thumbs, MAX_THUMBPRINTS, &nthumbs));
    GUARD(query_param_tags(ctx->form, ctx->out, "Tags", tags, &ntags));
    if (!strip_scheme(url, &host))
        return iam_fail(ctx->out, IAM_E_INVALID_INPUT, "Invalid Url: the URL must begin with https://");
    char hostz[272], arn[320];
    snprintf(hostz, sizeof hostz, "%.*s", (int)host.len, (const char *)host.ptr);
    snprintf(arn, sizeof arn, "arn:%s:iam::%s:oidc-provider/%s", core_partition_current(), ctx->account, hostz);
    json_t *jc = json_array(), *jt = json_array();
    for (size_t i = 0; i < nclients; i++) json_array_append_new(jc, json_stringn((const char *)clients[i].ptr, clients[i].len));
    for (size_t i = 0; i < nthumbs; i++) json_array_append_new(jt, json_stringn((const char *)thumbs[i].ptr, thumbs[i].len));
    DEFER_CLEANUP(json_t *rec = json_pack("{s:s,s:s,s:o,s:o,s:I,s:o}", "url", hostz, "arn", arn, "clients", jc,
                                          "thumbprints", jt, "created", (json_int_t)ctx->now, "tags",
                                          iam_tags_json(tags, ntags)),
                  core_json_cleanup);
    ENSURE(rec != NULL, ERR_NOMEM);
    core_result r = iam_rec_put(txn, IAM_T_OIDC, ctx->account, host, rec, KEYSTORE_NO_OVERWRITE);
    if (r.err == ERR_EXISTS)
        return iam_fail(ctx->out, IAM_E_ENTITY_ALREADY_EXISTS, "Provider with url https://%s already exists.",
                                hostz);
    GUARD(r);
    GUARD(core_xml_elem_str(ctx->b, "OpenIDConnectProviderArn", arn));
    return iam_xml_tags(ctx->b, json_object_get(rec, "tags"));
}

core_result iam_create_oidc_provider(struct iam_ctx *ctx) { return iam_write(ctx, create_oidc_txn); }

static core_result load_by_arn(struct iam_ctx *ctx, struct keystore_txn *txn, json_t **rec, struct core_cursor *host)
{
    const struct query_str_spec as = {.name = "OpenIDConnectProviderArn", .required = true, .min = 20, .max = 2048,
                                    .cs = QUERY_CS_ANY};
    struct core_cursor arn;
    GUARD(query_param_str(ctx->form, ctx->out, &as, &arn, NULL));
    char prefix[64];
    snprintf(prefix, sizeof prefix, "arn:%s:iam::%s:oidc-provider/", core_partition_current(), ctx->account);
    struct core_cursor tail;
    if (!iam_arn_tail(arn, &tail))
        return iam_fail(ctx->out, IAM_E_INVALID_INPUT, "Invalid ARN: %.*s", (int)(arn.len > 256 ? 256 : arn.len),
                                (const char *)arn.ptr);
    core_result r = {ERR_NOT_FOUND};
    if (core_cursor_starts_with(arn, prefix)) {
        *host = core_cursor_from(arn.ptr + strlen(prefix), arn.len - strlen(prefix));
        r = iam_rec_get(txn, IAM_T_OIDC, ctx->account, *host, rec);
        /* Records are found case-insensitively; the ARN must be the provider's own, as
         * authorized (iam_dispatch.c): "TOKEN.example.com" names no provider. */
        if (core_ok(r) && !core_cursor_eq_str(arn, iam_js(*rec, "arn"))) {
            json_decref(*rec);
            *rec = NULL;
            r.err = ERR_NOT_FOUND;
        }
    }
    if (r.err == ERR_NOT_FOUND)
        return iam_fail(ctx->out, IAM_E_NO_SUCH_ENTITY, "OpenIDConnect Provider not found for arn %.*s",
                                (int)(arn.len > 256 ? 256 : arn.len), (const char *)arn.ptr);
    return r;
}

static core_result get_oidc_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    struct core_cursor host;
    GUARD(load_by_arn(ctx, txn, &rec, &host));
    GUARD(core_xml_elem_str(ctx->b, "Url", iam_js(rec, "url")));
    size_t i;
    json_t *v;
    GUARD(core_buf_append_str(ctx->b, "<ClientIDList>"));
    json_array_foreach(json_object_get(rec, "clients"), i, v) GUARD(core_xml_elem_str(ctx->b, "member", json_string_value(v)));
    GUARD(core_buf_append_str(ctx->b, "</ClientIDList><ThumbprintList>"));
    json_array_foreach(json_object_get(rec, "thumbprints"), i, v)
        GUARD(core_xml_elem_str(ctx->b, "member", json_string_value(v)));
    GUARD(core_buf_append_str(ctx->b, "</ThumbprintList>"));
    GUARD(iam_xml_time(ctx->b, "CreateDate", (int64_t)json_integer_value(json_object_get(rec, "created"))));
    return iam_xml_tags(ctx->b, json_object_get(rec, "tags"));
}

core_result iam_get_oidc_provider(struct iam_ctx *ctx) { return iam_read(ctx, get_oidc_txn); }

static core_result list_oidc_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    DEFER_CLEANUP(struct iam_list l = {0}, iam_list_end);
    GUARD(iam_list_begin(&l, txn, IAM_T_OIDC, ctx->account, core_cursor_str("")));
    GUARD(core_buf_append_str(ctx->b, "<OpenIDConnectProviderList>"));
    for (;;) {
        struct core_cursor id;
        DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
        core_result r = iam_list_next(&l, &id, &rec);
        if (r.err == ERR_NOT_FOUND) break;
        GUARD(r);
        GUARD(core_buf_append_str(ctx->b, "<member>"));
        GUARD(core_xml_elem_str(ctx->b, "Arn", iam_js(rec, "arn")));
        GUARD(core_buf_append_str(ctx->b, "</member>"));
    }
    return core_buf_append_str(ctx->b, "</OpenIDConnectProviderList>");
}

core_result iam_list_oidc_providers(struct iam_ctx *ctx) { return iam_read(ctx, list_oidc_txn); }

static core_result delete_oidc_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    DEFER_CLEANUP(json_t *rec = NULL, core_json_cleanup);
    struct core_cursor host;
    GUARD(load_by_arn(ctx, txn, &rec, &host));
    return iam_rec_del(txn, IAM_T_OIDC, ctx->account, host);
}

core_result iam_delete_oidc_provider(struct iam_ctx *ctx) { return iam_write(ctx, delete_oidc_txn); }
