/* JSON request bodies: depth pre-check, duplicate-key rejection, and the
 * base64 decoder KMS blobs go through. */
#include "core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *v = NULL;
    if (core_ok(core_json_parse(core_cursor_from(data, size), CORE_MAX_JSON_DEPTH, &v))) {
        struct core_buf out;
        if (core_ok(core_buf_init(&out, 0, 1 << 20))) {
            core_result_ignore(core_json_dump(v, &out));
            core_buf_free(&out);
        }
        json_decref(v);
    }
    struct core_buf b;
    if (core_ok(core_buf_init(&b, 0, 8192))) {
        core_result_ignore(core_buf_append_unbase64(&b, core_cursor_from(data, size)));
        core_buf_reset(&b);
        core_result_ignore(core_buf_append_unbase64url(&b, core_cursor_from(data, size)));
        core_buf_free(&b);
    }
    return 0;
}
