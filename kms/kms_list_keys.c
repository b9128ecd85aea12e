#include <stdio.h>

#include "kms/kms_internal.h"

/*
 * ListKeys: the caller's keys in this Region, in key-id order. The iterator
 * seeks to the marker, so a page costs what its size costs, however many
 * keys there are. The marker is the next record's key id, base64-encoded:
 * opaque to clients, as AWS's are.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_ListKeys.html
 */
core_result kms_list_keys(struct kms_ctx *ctx, const json_t *in)
{
    int64_t limit = 100;
    bool have_limit, have_marker;
    struct core_cursor marker;
    GUARD(kms_param_int(ctx, in, "Limit", 1, 1000, false, &limit, &have_limit));
    GUARD(kms_param_marker(ctx, in, &marker, &have_marker));
    GUARD(kms_params_done(ctx));
    GUARD(kms_authorize_identity(ctx, NULL));

    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s/%s/", ctx->account, ctx->region);
    DEFER_CLEANUP(struct core_buf from = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&from, 128, 2048));
    GUARD(core_buf_append_str(&from, prefix));
    if (have_marker) {
        GUARD(kms_marker_decode(ctx, marker, &from));
    }

    struct keystore_txn *txn = NULL;
    GUARD(keystore_txn_begin(ctx->env->ks, false, &txn));
    struct keystore_iter *it = NULL;
    core_result r = keystore_iter_begin(txn, "kms_key", core_buf_cursor(&from), &it);
    if (!core_ok(r)) {
        keystore_txn_abort(txn);
        return kms_internal(ctx, r, "ListKeys");
    }
    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    r = core_jw_object_begin(&w, NULL);
    if (core_ok(r)) r = core_jw_array_begin(&w, "Keys");
    int64_t n = 0;
    bool truncated = false;
    struct core_cursor id;
    size_t plen = strlen(prefix);
    char next[64] = "";
    while (core_ok(r) && core_ok(r = keystore_iter_next(it, &id, NULL))) {
        if (!core_cursor_starts_with(id, prefix)) break;
        struct core_cursor kid = core_cursor_from(id.ptr + plen, id.len - plen);
        if (kid.len != KMS_KEY_ID_LEN) continue;
        if (n == limit) {
            truncated = true;
            memcpy(next, kid.ptr, kid.len);
            next[kid.len] = 0;
            break;
        }
        char kids[KMS_KEY_ID_LEN + 1], arn[KMS_MAX_ARN], res[64];
        memcpy(kids, kid.ptr, kid.len);
        kids[kid.len] = 0;
        snprintf(res, sizeof res, "key/%s", kids);
        kms_arn(arn, sizeof arn, ctx->region, ctx->account, res);
        r = core_jw_object_begin(&w, NULL);
        if (core_ok(r)) r = core_jw_cstr(&w, "KeyId", kids);
        if (core_ok(r)) r = core_jw_cstr(&w, "KeyArn", arn);
        if (core_ok(r)) r = core_jw_object_end(&w);
        n++;
    }
    keystore_iter_end(it);
    keystore_txn_abort(txn);
    if (!core_ok(r) && r.err != ERR_NOT_FOUND) return kms_internal(ctx, r, "ListKeys");
    GUARD(core_jw_array_end(&w));
    if (truncated) {
        DEFER_CLEANUP(struct core_buf m = {0}, core_buf_cleanup);
        GUARD(core_buf_init(&m, 64, 256));
        GUARD(kms_marker_encode(core_cursor_str(next), &m));
        GUARD(core_jw_str(&w, "NextMarker", core_buf_cursor(&m)));
    }
    GUARD(core_jw_bool(&w, "Truncated", truncated));
    return core_jw_object_end(&w);
}
