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
    TEST_MAIN_END();
}
