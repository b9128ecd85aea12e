#include <stdio.h>

#include "kms/kms_internal.h"

/*
 * ListAliases: the caller's aliases in this Region in name order, or only
 * those of one key (KeyId: key id or key ARN). Pagination seeks to the
 * marker (the next alias record's name, base64-encoded).
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_ListAliases.html
 * "The response might also include aliases that have no TargetKeyId field.
 * These are predefined aliases that AWS has created but has not yet
 * associated with a KMS key." They are listed (name and ARN only) among the
 * stored ones until first use binds them to an AWS managed key.
 */
core_result kms_list_aliases(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor id, marker;
    bool have_id, have_limit, have_marker;
    int64_t limit = 100;
    GUARD(kms_param_key_id(ctx, in, "KeyId", false, &id, &have_id));
    GUARD(kms_param_int(ctx, in, "Limit", 1, 1000, false, &limit, &have_limit));
    GUARD(kms_param_marker(ctx, in, &marker, &have_marker));
    GUARD(kms_params_done(ctx));

    /* "Required permissions: kms:ListAliases (IAM policy)": with or without
     * KeyId, the key policy is not consulted. KeyId names a key of the
     * caller's account ("Cross-account use: No"): another account's key ARN
     * is refused before it is looked up. */
    char filter[KMS_KEY_ID_LEN + 1] = "";
    GUARD(kms_authorize_identity(ctx, NULL));
    if (have_id) {
        DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
        GUARD(kms_key_init(&k));
        struct keystore_txn *t = NULL;
        GUARD(keystore_txn_begin(ctx->env->ks, false, &t));
        struct kms_key_ref ref;
        core_result r = kms_resolve(ctx, t, id, ctx->action->key_forms, &ref, NULL);
        if (core_ok(r)) r = kms_key_load(ctx, t, &ref, &k);
        keystore_txn_abort(t);
        if (!core_ok(r)) return kms_internal(ctx, r, "ListAliases");
        memcpy(filter, k.key_id, sizeof filter);
    }

    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s/%s/", ctx->account, ctx->region);
    size_t plen = strlen(prefix);
    DEFER_CLEANUP(struct core_buf from = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_buf val = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_buf next = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&from, 128, 2048));
    GUARD(core_buf_init(&val, 64, 1024));
    GUARD(core_buf_init(&next, 0, 1024));
    GUARD(core_buf_append_str(&from, prefix));
    if (have_marker) GUARD(kms_marker_decode(ctx, marker, &from));
    else GUARD(core_buf_append_str(&from, "alias/"));

    /* The predefined aliases at or after the starting name (the marker, or the first alias). */
    struct core_cursor start = core_cursor_from(from.data + plen, from.len - plen);
    size_t pi = 0;
    while (pi < kms_predefined_aliases_count && core_cursor_cmp(core_cursor_str(kms_predefined_aliases[pi]), start) < 0)
        pi++;

    struct keystore_txn *txn = NULL;
    GUARD(keystore_txn_begin(ctx->env->ks, false, &txn));
    struct keystore_iter *it = NULL;
    core_result r = keystore_iter_begin(txn, "kms_alias", core_buf_cursor(&from), &it);
    if (!core_ok(r)) {
        keystore_txn_abort(txn);
        return kms_internal(ctx, r, "ListAliases");
    }
    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    r = core_jw_object_begin(&w, NULL);
    if (core_ok(r)) r = core_jw_array_begin(&w, "Aliases");
    int64_t n = 0;
    bool truncated = false, have_rec = false, store_done = false;
    struct core_cursor rid, name = {0}, t = {0};
    uint64_t cr = 0, up = 0;
    while (core_ok(r)) {
        if (!have_rec && !store_done) {
            r = keystore_iter_next(it, &rid, &val);
            if (r.err == ERR_NOT_FOUND || (core_ok(r) && !core_cursor_starts_with(rid, prefix))) {
                r = (core_result){ERR_OK};
                store_done = true;
            } else if (!core_ok(r)) {
                break;
            } else {
                name = core_cursor_from(rid.ptr + plen, rid.len - plen);
                struct core_cursor c = core_buf_cursor(&val);
                if (!core_ok(core_cursor_advance(&c, KMS_KEY_ID_LEN, &t)) || !core_ok(core_cursor_read_be64(&c, &cr)) ||
                    !core_ok(core_cursor_read_be64(&c, &up)))
                    continue;
                have_rec = true;
            }
        }
        /* Stored and predefined aliases merged in name order; a predefined
         * alias that AWS has since bound to its managed key shows once, stored. */
        bool predefined = false;
        struct core_cursor pre = pi < kms_predefined_aliases_count ? core_cursor_str(kms_predefined_aliases[pi])
                                                                    : (struct core_cursor){0};
        if (pi < kms_predefined_aliases_count && have_rec && core_cursor_eq(pre, name)) pi++;
        else if (pi < kms_predefined_aliases_count && (!have_rec || core_cursor_cmp(pre, name) < 0)) predefined = true;
        else if (!have_rec) break;
        struct core_cursor cur = predefined ? pre : name;
        if (predefined) pi++;
        else have_rec = false;
        /* Only aliases of that key: a predefined alias has none. */
        if (filter[0] && (predefined || !core_cursor_eq_str(t, filter))) continue;
        if (n == limit) {
            truncated = true;
            r = core_buf_append_cursor(&next, cur);
            break;
        }
        char nm[300], arn[KMS_MAX_ARN + 300], target[KMS_KEY_ID_LEN + 1];
        size_t l = cur.len < 256 ? cur.len : 256;
        memcpy(nm, cur.ptr, l);
        nm[l] = 0;
        kms_arn(arn, sizeof arn, ctx->region, ctx->account, nm);
        r = core_jw_object_begin(&w, NULL);
        if (core_ok(r)) r = core_jw_cstr(&w, "AliasName", nm);
        if (core_ok(r)) r = core_jw_cstr(&w, "AliasArn", arn);
        if (!predefined) {
            memcpy(target, t.ptr, KMS_KEY_ID_LEN);
            target[KMS_KEY_ID_LEN] = 0;
            if (core_ok(r)) r = core_jw_cstr(&w, "TargetKeyId", target);
            if (core_ok(r)) r = core_jw_time(&w, "CreationDate", (int64_t)cr);
            if (core_ok(r)) r = core_jw_time(&w, "LastUpdatedDate", (int64_t)up);
        }
        if (core_ok(r)) r = core_jw_object_end(&w);
        n++;
    }
    keystore_iter_end(it);
    keystore_txn_abort(txn);
    if (!core_ok(r) && r.err != ERR_NOT_FOUND) return kms_internal(ctx, r, "ListAliases");
    GUARD(core_jw_array_end(&w));
    if (truncated) {
        DEFER_CLEANUP(struct core_buf m = {0}, core_buf_cleanup);
        GUARD(core_buf_init(&m, 64, 2048));
        GUARD(kms_marker_encode(core_buf_cursor(&next), &m));
        GUARD(core_jw_str(&w, "NextMarker", core_buf_cursor(&m)));
    }
    GUARD(core_jw_bool(&w, "Truncated", truncated));
    return core_jw_object_end(&w);
}
