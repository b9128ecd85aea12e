#ifndef KMS_MULTI_REGION_API_H
#define KMS_MULTI_REGION_API_H

/*
 * Multi-Region keys above the record layer (kms_multi_region.h): metadata
 * rendering, the RegionType parameter reader, and the ReplicateKey and
 * UpdatePrimaryRegion handlers. Part of kms_internal.h (included at its
 * end); not public.
 */

#include <jansson.h>

#include "core/core.h"

struct kms_key;
struct kms_ctx;
struct kms_cond;
struct core_jw;

/**
 * Renders "MultiRegion" and, for a multi-Region key,
 * "MultiRegionConfiguration" {MultiRegionKeyType, PrimaryKey{Arn,Region},
 * ReplicaKeys[{Arn,Region}]} into the open KeyMetadata object.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_MultiRegionConfiguration.html
 */
CORE_RESULT kms_mrk_render(struct core_jw *w, const struct kms_key *k);
/** The ARN of the key of k's multi-Region set in region (same account and key id) into out (KMS_MAX_ARN). */
void kms_mrk_arn(const struct kms_key *k, const char *region, char *out, size_t cap);
/* Handlers and condition keys (kms_replicate_key.c, kms_update_primary_region.c). */
core_result kms_replicate_key(struct kms_ctx *ctx, const json_t *in);
core_result kms_replicate_key_conditions(struct kms_ctx *ctx, struct kms_cond *c);
core_result kms_update_primary_region(struct kms_ctx *ctx, const json_t *in);
core_result kms_update_primary_region_conditions(struct kms_ctx *ctx, struct kms_cond *c);
/**
 * RegionType (ReplicaRegion, PrimaryRegion): 1..32 characters matching
 * ^([a-z]+-){2,3}\d+$; violations recorded as ValidationException text.
 */
CORE_RESULT kms_param_region(struct kms_ctx *ctx, const json_t *in, const char *member, struct core_cursor *out,
                             bool *present);

#endif
