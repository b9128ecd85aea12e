#include "kms/kms_internal.h"

/*
 * ListResourceTags: a key's tags in key order, paginated ("Limit ... between
 * 1 and 50"); the marker is the next tag key, base64-encoded.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_ListResourceTags.html
 */
core_result kms_list_resource_tags(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id, marker;
    bool have_id, have_limit, have_marker;
    int64_t limit = 50;
    GUARD(kms_param_key_id(ctx, in, "KeyId", true, &id, &have_id));
    GUARD(kms_param_int(ctx, in, "Limit", 1, 1000, false, &limit, &have_limit));
    GUARD(kms_param_marker(ctx, in, &marker, &have_marker));
    GUARD(kms_params_done(ctx));
    if (limit > 50) limit = 50;
    DEFER_CLEANUP(struct core_buf from = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&from, 0, 1024));
    if (have_marker) GUARD(kms_marker_decode(ctx, marker, &from));

    DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
    GUARD(kms_key_read(ctx, id, KMS_RULE_ANY, &k));

    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    GUARD(core_jw_object_begin(&w, NULL));
    GUARD(core_jw_array_begin(&w, "Tags"));
    size_t pos = 0;
    struct core_cursor tk, tv;
    int64_t n = 0;
    bool truncated = false;
    struct core_cursor next = {0};
    while (kms_tags_next(&k, &pos, &tk, &tv)) {
        if (have_marker && core_cursor_cmp(tk, core_buf_cursor(&from)) < 0) continue;
        if (n == limit) {
            truncated = true;
            next = tk;
            break;
        }
        GUARD(core_jw_object_begin(&w, NULL));
        GUARD(core_jw_str(&w, "TagKey", tk));
        GUARD(core_jw_str(&w, "TagValue", tv));
        GUARD(core_jw_object_end(&w));
        n++;
    }
    GUARD(core_jw_array_end(&w));
    if (truncated) {
        DEFER_CLEANUP(struct core_buf m = {0}, core_buf_cleanup);
        GUARD(core_buf_init(&m, 64, 2048));
        GUARD(kms_marker_encode(next, &m));
        GUARD(core_jw_str(&w, "NextMarker", core_buf_cursor(&m)));
    }
    GUARD(core_jw_bool(&w, "Truncated", truncated));
    return core_jw_object_end(&w);
}
