#include <string.h>

#include "core/core_action.h"

/* core_cursor_cmp(name, row's name), with the row's length from the table (no strlen per probe:
 * issue 14, round 5). */
static int row_cmp(struct core_cursor name, const struct core_action *row)
{
    size_t n = name.len < row->name_len ? name.len : row->name_len;
    int c = n ? memcmp(name.ptr, row->name, n) : 0;
    if (c) return c;
    return name.len < row->name_len ? -1 : name.len > row->name_len;
}

const struct core_action *core_action_find(const void *table, size_t count, size_t row_size,
                                           struct core_cursor name)
{
    if (name.len == 0) return NULL;
    const char *base = table;
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct core_action *row = (const void *)(base + mid * row_size); /* the first member of every row */
        int c = row_cmp(name, row);
        if (c == 0) return row;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

bool core_action_table_sorted(const void *table, size_t count, size_t row_size)
{
    const char *base = table;
    for (size_t i = 0; i < count; i++) { /* each row's name_len is its name's length */
        const struct core_action *row = (const void *)(base + i * row_size);
        if (strlen(row->name) != row->name_len) return false;
    }
    for (size_t i = 1; i < count; i++) {
        const struct core_action *prev = (const void *)(base + (i - 1) * row_size);
        const struct core_action *cur = (const void *)(base + i * row_size);
        if (core_cursor_cmp(core_cursor_str(prev->name), core_cursor_str(cur->name)) >= 0) return false;
    }
    return true;
}
