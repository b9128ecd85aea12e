/*
 * kms_is_uuid reads a key id eight bytes at a time (issue 14, round 5). Against
 * the byte loop it replaced: every byte value at every position of a valid
 * id, each case of the hex digits, the neighbours of every range ('/' ':' '@'
 * 'G' '`' 'g', bytes from 0x80 up, NUL), other lengths, and ids through
 * kms_is_key_id (the "mrk-" form keeps its own loop).
 */
#include "kms/kms_internal.h"
#include "tests/test.h"

static bool reference_uuid(struct core_cursor s)
{
    if (s.len != KMS_KEY_ID_LEN) return false;
    for (size_t i = 0; i < s.len; i++) {
        uint8_t c = s.ptr[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    static const char *valid[] = {"1234abcd-12ab-34cd-56ef-1234567890ab", "FFFFFFFF-AAAA-0000-9999-abcdefABCDEF",
                                  "00000000-0000-0000-0000-000000000000"};
    unsigned accepted = 0, refused = 0;
    for (size_t k = 0; k < sizeof valid / sizeof valid[0]; k++) {
        uint8_t id[KMS_KEY_ID_LEN + 1];
        memcpy(id, valid[k], sizeof id);
        EXPECT_TRUE(kms_is_uuid(core_cursor_from(id, KMS_KEY_ID_LEN)));
        for (size_t at = 0; at < KMS_KEY_ID_LEN; at++) {
            for (unsigned v = 0; v < 256; v++) {
                uint8_t keep = id[at];
                id[at] = (uint8_t)v;
                struct core_cursor c = core_cursor_from(id, KMS_KEY_ID_LEN);
                bool want = reference_uuid(c);
                EXPECT_TRUE(kms_is_uuid(c) == want);
                EXPECT_TRUE(kms_is_key_id(c) == want);
                want ? accepted++ : refused++;
                id[at] = keep;
            }
        }
        /* other lengths */
        for (size_t len = 0; len <= KMS_KEY_ID_LEN + 1; len++)
            EXPECT_TRUE(kms_is_uuid(core_cursor_from(id, len)) == (len == KMS_KEY_ID_LEN));
    }
    EXPECT_TRUE(accepted > 3 * 32 * 20 && refused > 3 * 36 * 200);
    EXPECT_TRUE(kms_is_key_id(core_cursor_str("mrk-1234abcd12ab34cd56ef1234567890ab")));
    EXPECT_TRUE(!kms_is_uuid(core_cursor_str("mrk-1234abcd12ab34cd56ef1234567890ab")));
    EXPECT_TRUE(!kms_is_key_id(core_cursor_str("mrk-1234abcd12ab34cd56ef1234567890ag")));
    TEST_MAIN_END();
}
