/*
 * Region -> partition, and partition-aware ARN matching. See core_partition.h
 * for the table's source (botocore data/partitions.json).
 */
#include "core/core_partition.h"

#include <string.h>

struct partition_row {
    const char *region_prefix; /* region starts with this */
    size_t len;                /* its length: no strlen per row on every request (issue 14) */
    const char *partition;
};

#define ROW(prefix, partition) {prefix, sizeof prefix - 1, partition}
/* Longest prefixes first: "us-isob-" before "us-iso-" would not matter since
 * "us-iso-" does not prefix "us-isob-", but keep the specific rows first. */
static const struct partition_row rows[] = {
    ROW("cn-", "aws-cn"),        ROW("us-gov-", "aws-us-gov"), ROW("us-iso-", "aws-iso"),  ROW("us-isob-", "aws-iso-b"),
    ROW("eu-isoe-", "aws-iso-e"), ROW("us-isof-", "aws-iso-f"), ROW("eusc-", "aws-eusc"),
};
#undef ROW

static const char *const partitions[] = {"aws",       "aws-cn",    "aws-us-gov", "aws-iso",
                                         "aws-iso-b", "aws-iso-e", "aws-iso-f",  "aws-eusc"};

const char *core_partition_of_cursor(struct core_cursor region)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (region.len >= rows[i].len && region.ptr[0] == (uint8_t)rows[i].region_prefix[0] &&
            memcmp(region.ptr, rows[i].region_prefix, rows[i].len) == 0)
            return rows[i].partition;
    return "aws";
}

const char *core_partition_of(const char *region)
{
    if (region == NULL) return "aws";
    return core_partition_of_cursor(core_cursor_str(region));
}

bool core_partition_known(struct core_cursor p)
{
    for (size_t i = 0; i < sizeof partitions / sizeof partitions[0]; i++)
        if (core_cursor_eq_str(p, partitions[i])) return true;
    return false;
}

bool core_arn_match(struct core_cursor arn, const char *service, struct core_cursor *partition,
                    struct core_cursor *rest)
{
    struct core_cursor c = arn, f0, f1, f2;
    if (!core_cursor_split(&c, ':', &f0) || c.ptr == NULL || !core_cursor_eq_str(f0, "arn")) return false;
    if (!core_cursor_split(&c, ':', &f1) || c.ptr == NULL || !core_partition_known(f1)) return false;
    if (!core_cursor_split(&c, ':', &f2) || c.ptr == NULL || !core_cursor_eq_str(f2, service)) return false;
    /* c.ptr == NULL would mean there was no ':' after the service. */
    size_t used = 4 + f1.len + 1 + f2.len + 1;
    if (used > arn.len) return false;
    if (partition) *partition = f1;
    if (rest) *rest = core_cursor_from(arn.ptr + used, arn.len - used);
    return true;
}

core_result core_arn_set_partition(char *arn, size_t cap, const char *partition)
{
    size_t len = strlen(arn);
    if (len < 5 || strncmp(arn, "arn:", 4) != 0) CORE_OK;
    const char *p = arn + 4;
    const char *end = memchr(p, ':', len - 4);
    if (end == NULL || !core_partition_known(core_cursor_from(p, (size_t)(end - p)))) CORE_OK;
    size_t old = (size_t)(end - p), neu = strlen(partition);
    ENSURE(len - old + neu < cap, ERR_LIMIT);
    memmove(arn + 4 + neu, end, len - 4 - old + 1); /* the tail and its NUL */
    memcpy(arn + 4, partition, neu);
    CORE_OK;
}

static _Thread_local const char *request_partition;

const char *core_partition_current(void) { return request_partition ? request_partition : "aws"; }

void core_partition_set_request_region(const char *region)
{
    request_partition = region ? core_partition_of(region) : NULL;
}
