/*
 * core_cursor_eq_icase compares eight bytes at a time (a name of eight or
 * more ends with an overlapping word; a shorter one goes byte by byte):
 * every pair of bytes, at every position of names of every length up to 17
 * (word lanes, the overlapping last word, the byte loop), must give what the
 * byte-by-byte ASCII fold gives.
 */
#include "tests/test.h"

static uint8_t fold(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c; }

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    uint8_t a[17], b[17];
    memcpy(a, "x-amz-content-sha", 17);
    memcpy(b, "X-AMZ-CONTENT-SHA", 17);
    EXPECT_TRUE(core_cursor_eq_icase(core_cursor_from(a, 17), core_cursor_from(b, 17)));
    unsigned wrong = 0;
    for (size_t len = 1; len <= 17; len++)
        for (size_t pos = 0; pos < len; pos++) {
            for (unsigned x = 0; x < 256; x++)
                for (unsigned y = 0; y < 256; y++) {
                    uint8_t sa = a[pos], sb = b[pos];
                    a[pos] = (uint8_t)x;
                    b[pos] = (uint8_t)y;
                    bool want = fold((uint8_t)x) == fold((uint8_t)y);
                    wrong += core_cursor_eq_icase(core_cursor_from(a, len), core_cursor_from(b, len)) != want;
                    a[pos] = sa;
                    b[pos] = sb;
                }
        }
    EXPECT_TRUE(wrong == 0);
    EXPECT_TRUE(!core_cursor_eq_icase(core_cursor_from(a, 17), core_cursor_from(b, 16)));
    TEST_MAIN_END();
}
