#ifndef CORE_PARTITION_H
#define CORE_PARTITION_H

/*
 * AWS partitions: the one place that maps a region to the partition every ARN
 * of that region carries ("arn:<partition>:<service>:..."), and that knows
 * which partition names an ARN may carry. The table follows the regionRegex
 * entries of botocore's data/partitions.json:
 *   aws         ^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$   (and anything unknown)
 *   aws-cn      ^cn-\w+-\d+$
 *   aws-us-gov  ^us-gov-\w+-\d+$
 *   aws-iso     ^us-iso-\w+-\d+$
 *   aws-iso-b   ^us-isob-\w+-\d+$
 *   aws-iso-e   ^eu-isoe-\w+-\d+$
 *   aws-iso-f   ^us-isof-\w+-\d+$
 *   aws-eusc    ^eusc-(de)-\w+-\d+$
 */

#include <stdbool.h>
#include <stddef.h>

#include "core/core_buf.h"
#include "core/core_result.h"

/** The partition of region ("aws-cn" for "cn-north-1"); "aws" for NULL, empty or unknown regions. Static. */
const char *core_partition_of(const char *region);
/** core_partition_of for a region given as a view. */
const char *core_partition_of_cursor(struct core_cursor region);

/** True when p is the name of a partition ("aws", "aws-cn", ...). NOT CONSTANT TIME. */
bool core_partition_known(struct core_cursor p);

/**
 * Matches "arn:<partition>:<service>:" for any known partition.
 * @param[in]  arn      the ARN, untrusted
 * @param[in]  service  "iam", "sts", "kms", ...
 * @param[out] rest     (may be NULL) the part after that prefix ("<region>:<account>:<resource>"), a view into arn
 * @param[out] partition (may be NULL) the partition field, a view into arn
 * @return true on a match.
 */
bool core_arn_match(struct core_cursor arn, const char *service, struct core_cursor *partition,
                    struct core_cursor *rest);

/**
 * Replaces the partition field of the NUL-terminated ARN in arn (capacity cap)
 * with partition. Leaves anything that is not "arn:<known partition>:..."
 * alone. ERR_LIMIT when the result would not fit (arn is then unchanged).
 */
CORE_RESULT core_arn_set_partition(char *arn, size_t cap, const char *partition);

/**
 * The partition of the request this thread is serving. server/ sets it from
 * the request's SigV4 credential-scope region (IAM, a global service, is
 * signed with the partition's own region: cn-north-1 in China, us-gov-west-1
 * in GovCloud) before any handler runs, and resets it afterwards. Code that
 * has the region at hand uses core_partition_of(region) instead; this exists
 * for builders deep inside IAM's stored-record paths (role and policy ARNs,
 * unique-id rewriting) that run only inside a request. "aws" outside a request.
 */
const char *core_partition_current(void);
/** Sets the thread's request partition from region (NULL resets it to "aws"). */
void core_partition_set_request_region(const char *region);

#endif
