/*
 * sigv4_http_parse, the raw-request reader of kmsctl sigv4-verify and the
 * vector tests: the request line's method is the first token and its
 * version the last; the target is everything between, spaces included, as
 * AWS's published SigV4 test suite writes "GET /example space/ HTTP/1.1".
 */
#include "sigv4/sigv4_stages.h"
#include "tests/test.h"

static core_result parse(const char *raw, struct sigv4_request *req, struct sigv4_header *h)
{
    struct core_cursor body;
    return sigv4_http_parse(core_cursor_str(raw), h, CORE_MAX_HEADERS, req, &body);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    struct sigv4_header h[CORE_MAX_HEADERS];
    struct sigv4_request req;

    EXPECT_OK(parse("GET /example space/ HTTP/1.1\nHost:example.amazonaws.com\n\n", &req, h));
    EXPECT_TRUE(core_cursor_eq_str(req.method, "GET"));
    EXPECT_TRUE(core_cursor_eq_str(req.path, "/example space/"));
    EXPECT_TRUE(req.query.len == 0);

    EXPECT_OK(parse("GET /a b/c?x=1 2&y HTTP/1.1\r\nHost:h\r\n\r\n", &req, h));
    EXPECT_TRUE(core_cursor_eq_str(req.path, "/a b/c"));
    EXPECT_TRUE(core_cursor_eq_str(req.query, "x=1 2&y"));

    EXPECT_OK(parse("POST / HTTP/1.1\nHost:h\n\n", &req, h));
    EXPECT_TRUE(core_cursor_eq_str(req.path, "/"));

    /* No version, no target, a target that is not a path, an empty method. */
    EXPECT_ERR(parse("GET /example space/\nHost:h\n\n", &req, h), ERR_PARSE);
    EXPECT_ERR(parse("GET HTTP/1.1\nHost:h\n\n", &req, h), ERR_PARSE);
    EXPECT_ERR(parse("GET  HTTP/1.1\nHost:h\n\n", &req, h), ERR_PARSE);
    EXPECT_ERR(parse("GET example HTTP/1.1\nHost:h\n\n", &req, h), ERR_PARSE);
    EXPECT_ERR(parse(" / HTTP/1.1\nHost:h\n\n", &req, h), ERR_PARSE);
    EXPECT_ERR(parse("GET / HTTX/1.1\nHost:h\n\n", &req, h), ERR_PARSE);
    EXPECT_ERR(parse("GET / HTTP/1.1", &req, h), ERR_PARSE); /* unterminated line */
    TEST_MAIN_END();
}
