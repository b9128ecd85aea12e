/*
 * The writer pool's choice (server_request_writes) comes from the action
 * rows of all three services: KMS by X-Amz-Target, IAM and STS by the form's
 * Action. Only POST forms carry a body to read.
 */
#include <string.h>

#include "server/server.h"
#include "tests/test.h"

static bool writes_kms(const char *target)
{
    struct http_request req = {.method = "POST", .n_headers = 1};
    req.headers[0] = (struct sigv4_header){core_cursor_str("X-Amz-Target"), core_cursor_str(target)};
    req.body = core_cursor_str("{}");
    return server_request_writes(&req);
}

static bool writes_form(const char *method, const char *body)
{
    struct http_request req = {.method = method};
    req.body = core_cursor_str(body);
    return server_request_writes(&req);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    EXPECT_TRUE(writes_kms("TrentService.CreateKey"));
    EXPECT_TRUE(writes_kms("TrentService.ScheduleKeyDeletion"));
    EXPECT_TRUE(!writes_kms("TrentService.Encrypt"));
    EXPECT_TRUE(!writes_kms("TrentService.DescribeKey"));
    EXPECT_TRUE(!writes_kms("CreateKey"));
    EXPECT_TRUE(writes_form("POST", "Action=CreateUser&Version=2010-05-08&UserName=u"));
    EXPECT_TRUE(writes_form("POST", "Version=2010-05-08&UserName=u&Action=DeleteRolePolicy"));
    EXPECT_TRUE(writes_form("POST", "Action=EnableMFADevice&Version=2010-05-08"));
    EXPECT_TRUE(!writes_form("POST", "Action=GetUser&Version=2010-05-08"));
    EXPECT_TRUE(!writes_form("POST", "Action=ListRoles&Version=2010-05-08"));
    EXPECT_TRUE(!writes_form("GET", "Action=CreateUser&Version=2010-05-08"));
    EXPECT_TRUE(!writes_form("POST", "Action=AssumeRole&Version=2011-06-15"));
    EXPECT_TRUE(!writes_form("POST", "Action=GetSessionToken&Version=2011-06-15"));
    EXPECT_TRUE(!writes_form("POST", "Version=2010-05-08"));
    TEST_MAIN_END();
}
