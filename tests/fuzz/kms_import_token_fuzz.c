/* Import tokens (kms_import.c). The first byte picks the way in:
 *  - even: the bytes are a token as a client sends it, opened under a fixed
 *    key (forgeries, truncations, wrong magic: all must fail cleanly);
 *  - odd: the rest is a token plaintext, sealed under that key and opened,
 *    so the parser behind the tag check sees arbitrary layouts too; a token
 *    that opens then has its "private key" used to unwrap a fixed input. */
#include <stdbool.h>
#include <stdlib.h>

#include "kms/kms_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key_bytes[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                      17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Under libFuzzer there is no fuzz_main.c: initialise the crypto
     * libraries (sodium_malloc aborts before sodium_init) once here. */
    static bool ready;
    if (!ready) {
        if (!core_ok(core_crypto_init())) abort();
        ready = true;
    }
    if (size == 0) return 0;
    struct core_cursor key = core_cursor_from(key_bytes, sizeof key_bytes);
    struct core_cursor in = core_cursor_from(data + 1, size - 1);
    struct core_buf sealed = {0};
    if (!core_ok(core_buf_init(&sealed, 64, KMS_IMPORT_TOKEN_MAX + 64))) return 0;
    if (data[0] & 1) {
        if (!core_ok(kms_import_token_seal_raw(key, in, &sealed))) {
            core_buf_free(&sealed);
            return 0;
        }
        in = core_buf_cursor(&sealed);
    }
    struct kms_import_token t = {0};
    if (core_ok(core_buf_init_secret(&t.der, 4096))) {
        if (core_ok(kms_import_token_open(key, in, &t))) {
            struct core_buf mat = {0};
            static const uint8_t wrapped[300] = {0};
            if (core_ok(core_buf_init_secret(&mat, 4096))) {
                core_result_ignore(kms_import_unwrap(&t, core_cursor_from(wrapped, sizeof wrapped), &mat));
                core_buf_free(&mat);
            }
        }
        core_buf_free(&t.der);
    }
    core_buf_free(&sealed);
    return 0;
}
