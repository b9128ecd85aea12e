/* Query-protocol form bodies (STS, IAM). */
#include "core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct core_form *f = calloc(1, sizeof *f);
    if (!f) return 0;
    if (core_ok(core_form_parse(f, core_cursor_from(data, size)))) {
        struct core_cursor v;
        (void)core_form_get(f, "Action", &v);
        struct core_buf out;
        if (core_ok(core_buf_init(&out, 0, 1 << 20))) {
            for (size_t i = 0; i < f->n; i++) core_result_ignore(core_xml_elem(&out, "V", f->params[i].value));
            core_buf_free(&out);
        }
    }
    core_form_free(f);
    free(f);
    return 0;
}
