#include "core/core_partition.h"
#include "tests/test.h"

/* Region -> partition, per botocore data/partitions.json regionRegex. */
static void test_regions(void)
{
    static const char *const rows[][2] = {
        {"us-east-1", "aws"},          {"eu-west-3", "aws"},           {"cn-north-1", "aws-cn"},
        {"cn-northwest-1", "aws-cn"},  {"us-gov-west-1", "aws-us-gov"}, {"us-gov-east-1", "aws-us-gov"},
        {"us-iso-east-1", "aws-iso"},  {"us-isob-east-1", "aws-iso-b"}, {"eu-isoe-west-1", "aws-iso-e"},
        {"us-isof-south-1", "aws-iso-f"}, {"eusc-de-east-1", "aws-eusc"}, {"", "aws"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) EXPECT_STR_EQ(core_partition_of(rows[i][0]), rows[i][1]);
    EXPECT_STR_EQ(core_partition_of(NULL), "aws");
    EXPECT_TRUE(core_partition_known(core_cursor_str("aws-iso-b")));
    EXPECT_TRUE(!core_partition_known(core_cursor_str("aws-iso-")));
    EXPECT_TRUE(!core_partition_known(core_cursor_from("aws\0cn", 6)));
}

static void test_match(void)
{
    struct core_cursor part, rest;
    EXPECT_TRUE(core_arn_match(core_cursor_str("arn:aws-cn:iam::111122223333:role/x"), "iam", &part, &rest));
    EXPECT_TRUE(core_cursor_eq_str(part, "aws-cn"));
    EXPECT_TRUE(core_cursor_eq_str(rest, ":111122223333:role/x"));
    EXPECT_TRUE(!core_arn_match(core_cursor_str("arn:aws-xx:iam::111122223333:role/x"), "iam", NULL, NULL));
    EXPECT_TRUE(!core_arn_match(core_cursor_str("arn:aws:sts::111122223333:role/x"), "iam", NULL, NULL));
    EXPECT_TRUE(!core_arn_match(core_cursor_str("arn:aws:iam"), "iam", NULL, NULL));
    EXPECT_TRUE(!core_arn_match(core_cursor_str("ARN:aws:iam::1:x"), "iam", NULL, NULL));
}

static void test_set_partition(void)
{
    char a[64] = "arn:aws:iam::111122223333:user/u";
    EXPECT_OK(core_arn_set_partition(a, sizeof a, "aws-us-gov"));
    EXPECT_STR_EQ(a, "arn:aws-us-gov:iam::111122223333:user/u");
    EXPECT_OK(core_arn_set_partition(a, sizeof a, "aws"));
    EXPECT_STR_EQ(a, "arn:aws:iam::111122223333:user/u");
    char small[36] = "arn:aws:iam::111122223333:user/u";
    EXPECT_ERR(core_arn_set_partition(small, sizeof small, "aws-us-gov"), ERR_LIMIT);
    EXPECT_STR_EQ(small, "arn:aws:iam::111122223333:user/u");
    char other[32] = "not-an-arn";
    EXPECT_OK(core_arn_set_partition(other, sizeof other, "aws-cn"));
    EXPECT_STR_EQ(other, "not-an-arn");
    char empty[8] = "";
    EXPECT_OK(core_arn_set_partition(empty, sizeof empty, "aws-cn"));
    EXPECT_STR_EQ(empty, "");
}

static void test_request_partition(void)
{
    EXPECT_STR_EQ(core_partition_current(), "aws");
    core_partition_set_request_region("us-isob-east-1");
    EXPECT_STR_EQ(core_partition_current(), "aws-iso-b");
    core_partition_set_request_region(NULL);
    EXPECT_STR_EQ(core_partition_current(), "aws");
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    test_regions();
    test_match();
    test_set_partition();
    test_request_partition();
    TEST_MAIN_END();
}
