#include <stdlib.h>

#include "core/core_action.h"

static int row_cmp(const void *key, const void *elem)
{
    const struct core_cursor *name = key;
    const struct core_action *row = elem; /* the first member of every service row */
    return core_cursor_cmp(*name, core_cursor_str(row->name));
}

const struct core_action *core_action_find(const void *table, size_t count, size_t row_size,
                                           struct core_cursor name)
{
    if (name.len == 0) return NULL;
    return bsearch(&name, table, count, row_size, row_cmp);
}

bool core_action_table_sorted(const void *table, size_t count, size_t row_size)
{
    const char *base = table;
    for (size_t i = 1; i < count; i++) {
        const struct core_action *prev = (const void *)(base + (i - 1) * row_size);
        const struct core_action *cur = (const void *)(base + i * row_size);
        if (core_cursor_cmp(core_cursor_str(prev->name), core_cursor_str(cur->name)) >= 0) return false;
    }
    return true;
}
