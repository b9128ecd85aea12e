#include <stdio.h>

#include "kms/kms_internal.h"

/*
 * Multi-Region keys in replies and requests: MultiRegionConfiguration in
 * KeyMetadata, and the RegionType parameter of ReplicateKey and
 * UpdatePrimaryRegion. The set itself is kms_multi_region.c's.
 */

void kms_mrk_arn(const struct kms_key *k, const char *region, char *out, size_t cap)
{
    char res[64];
    snprintf(res, sizeof res, "key/%s", k->key_id);
    kms_arn(out, cap, region, k->account, res);
}

/* {Arn, Region} of the key of k's set in region, as member name (NULL: an array element). */
static core_result render_member(struct core_jw *w, const char *name, const struct kms_key *k, const char *region)
{
    char arn[KMS_MAX_ARN];
    kms_mrk_arn(k, region, arn, sizeof arn);
    GUARD(core_jw_object_begin(w, name));
    GUARD(core_jw_cstr(w, "Arn", arn));
    GUARD(core_jw_cstr(w, "Region", region));
    return core_jw_object_end(w);
}

/* https://docs.aws.amazon.com/kms/latest/APIReference/API_KeyMetadata.html: "MultiRegion ... True if
 * the KMS key is a multi-Region key"; MultiRegionConfiguration "appears only when the KMS key is a
 * primary or replica of a multi-Region key". PrimaryKey "includes the current KMS key if it is the
 * primary key"; ReplicaKeys "includes the current KMS key if it is a replica key". */
core_result kms_mrk_render(struct core_jw *w, const struct kms_key *k)
{
    GUARD(core_jw_bool(w, "MultiRegion", k->mrk.on));
    if (!k->mrk.on) CORE_OK;
    GUARD(core_jw_object_begin(w, "MultiRegionConfiguration"));
    GUARD(core_jw_cstr(w, "MultiRegionKeyType", kms_mrk_is_primary(k) ? "PRIMARY" : "REPLICA"));
    GUARD(render_member(w, "PrimaryKey", k, k->mrk.primary));
    GUARD(core_jw_array_begin(w, "ReplicaKeys"));
    for (unsigned i = 0; i < k->mrk.n_replicas; i++) GUARD(render_member(w, NULL, k, k->mrk.replicas[i]));
    GUARD(core_jw_array_end(w));
    return core_jw_object_end(w);
}

/* ---- RegionType --------------------------------------------------------------------- */

/* ^([a-z]+-){2,3}\d+$, by hand: 2 or 3 lowercase words each followed by '-', then digits. */
static bool region_pattern(struct core_cursor s)
{
    size_t i = 0, words = 0;
    while (i < s.len) {
        size_t start = i;
        while (i < s.len && s.ptr[i] >= 'a' && s.ptr[i] <= 'z') i++;
        if (i == start || i == s.len || s.ptr[i] != '-') break;
        i++;
        words++;
    }
    if (words < 2 || words > 3) return false;
    size_t digits = i;
    while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') i++;
    return i == s.len && i > digits;
}

core_result kms_param_region(struct kms_ctx *ctx, const json_t *in, const char *member, struct core_cursor *out,
                             bool *present)
{
    GUARD(kms_param_string(ctx, in, member, 1, 32, true, out, present));
    struct core_cursor raw;
    /* The model's pattern, checked on the raw value whatever its length (AWS lists each violation). */
    if (kms_in_string(ctx, member, &raw) && !region_pattern(raw)) {
        kms_invalid_cursor(ctx, member, raw, "Member must satisfy regular expression pattern: ^([a-z]+-){2,3}\\d+$");
        *present = false;
    }
    CORE_OK;
}
