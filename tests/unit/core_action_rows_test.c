/*
 * The shared action-row shape (core/core_action.h): lookup by length (a NUL
 * inside a name is data), the empty name, rows of any size after the shared
 * first member, and the sortedness check the service tables' tests use.
 */
#include <string.h>

#include "core/core.h"
#include "tests/test.h"

struct row {
    struct core_action row;
    int payload[5]; /* a service's own columns make rows bigger than struct core_action */
};

static const struct row table[] = {
    {CORE_ACTION_ROW("svc", "Alpha", 0), {1}},
    {CORE_ACTION_ROW("svc", "Beta", CORE_ACTION_WRITES), {2}},
    {CORE_ACTION_ROW("svc", "Gamma", CORE_ACTION_UNSIGNED | CORE_ACTION_HAS_RESULT), {3}},
};
static const size_t n = sizeof table / sizeof table[0];

static const struct row *find(struct core_cursor name)
{
    return (const struct row *)core_action_find(table, n, sizeof table[0], name);
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    EXPECT_TRUE(core_action_table_sorted(table, n, sizeof table[0]));
    for (size_t i = 0; i < n; i++) EXPECT_TRUE(find(core_cursor_str(table[i].row.name)) == &table[i]);
    /* the IAM action is spelled from the name once */
    EXPECT_STR_EQ(table[1].row.iam_action, "svc:Beta");
    /* by length: "Beta\0x" names no row, nor a prefix, nor a longer name, nor nothing */
    EXPECT_TRUE(find(core_cursor_from("Beta\0x", 6)) == NULL);
    EXPECT_TRUE(find(core_cursor_str("Bet")) == NULL);
    EXPECT_TRUE(find(core_cursor_str("Betas")) == NULL);
    EXPECT_TRUE(find(core_cursor_str("beta")) == NULL);
    EXPECT_TRUE(find(core_cursor_from("", 0)) == NULL);
    /* The search compares with the row's stored length (issue 14, round 5): against a scan with
     * core_cursor_eq, for every row's name, each prefix, each one-byte change (every value, NUL and
     * 0x80 up included) and each one-byte extension, on tables of 1 to 7 rows (every shape of the
     * search's halving). */
    static const struct row wide[] = {
        {CORE_ACTION_ROW("svc", "A", 0), {0}},      {CORE_ACTION_ROW("svc", "Ab", 0), {0}},
        {CORE_ACTION_ROW("svc", "Abc", 0), {0}},    {CORE_ACTION_ROW("svc", "B", 0), {0}},
        {CORE_ACTION_ROW("svc", "Ba", 0), {0}},     {CORE_ACTION_ROW("svc", "Bz\x7f", 0), {0}},
        {CORE_ACTION_ROW("svc", "Z\xc3\xa9", 0), {0}},
    };
    unsigned probes = 0;
    for (size_t count = 1; count <= sizeof wide / sizeof wide[0]; count++) {
        EXPECT_TRUE(core_action_table_sorted(wide, count, sizeof wide[0]));
        for (size_t r = 0; r < sizeof wide / sizeof wide[0]; r++) {
            uint8_t name[8];
            size_t len = strlen(wide[r].row.name);
            for (size_t plen = 0; plen <= len + 1; plen++) {
                for (unsigned v = 0; v < 256; v++) {
                    for (size_t at = 0; at <= plen && at < sizeof name; at++) {
                        memcpy(name, wide[r].row.name, len < plen ? len : plen);
                        if (plen > len) name[len] = 'a';
                        if (at < plen) name[at] = (uint8_t)v;
                        else if (v) continue; /* unchanged: probed once */
                        struct core_cursor c = core_cursor_from(name, plen);
                        const struct core_action *want = NULL;
                        for (size_t k = 0; k < count; k++)
                            if (core_cursor_eq(c, core_cursor_str(wide[k].row.name))) want = &wide[k].row;
                        EXPECT_TRUE(core_action_find(wide, count, sizeof wide[0], c) == want);
                        probes++;
                    }
                }
            }
        }
    }
    EXPECT_TRUE(probes > 10000);
    /* flags */
    EXPECT_TRUE(core_action_has(&table[1].row, CORE_ACTION_WRITES));
    EXPECT_TRUE(!core_action_has(&table[0].row, CORE_ACTION_WRITES));
    EXPECT_TRUE(core_action_has(&table[2].row, CORE_ACTION_UNSIGNED | CORE_ACTION_HAS_RESULT));
    EXPECT_TRUE(!core_action_has(&table[2].row, CORE_ACTION_UNSIGNED | CORE_ACTION_WRITES));
    EXPECT_TRUE(!core_action_has(NULL, CORE_ACTION_WRITES));
    /* an unsorted table is seen as one */
    struct row bad[2] = {table[1], table[0]};
    EXPECT_TRUE(!core_action_table_sorted(bad, 2, sizeof bad[0]));
    struct row dup[2] = {table[0], table[0]};
    EXPECT_TRUE(!core_action_table_sorted(dup, 2, sizeof dup[0]));
    /* a wrong name_len too */
    struct row len[2] = {table[0], table[1]};
    len[1].row.name_len++;
    EXPECT_TRUE(!core_action_table_sorted(len, 2, sizeof len[0]));
    TEST_MAIN_END();
}
