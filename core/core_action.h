#ifndef CORE_ACTION_H
#define CORE_ACTION_H

/*
 * The row shape every service's action table starts with (kms_actions[],
 * sts_actions[], iam_actions[]), as redis's command table carries each
 * command's facts: the wire name, the IAM action authorization evaluates,
 * and the flags the layers read (the writer pool reads CORE_ACTION_WRITES,
 * authentication CORE_ACTION_UNSIGNED, the envelope CORE_ACTION_HAS_RESULT).
 * A service row embeds it as its first member, `row`, and adds its handler
 * and service facts after it; no layer guesses an action's class from its
 * name, and no handler types its own IAM action.
 */

#include <stdbool.h>
#include <stddef.h>

#include "core/core_buf.h"

#define CORE_ACTION_WRITES 0x1u     /* changes the keystore: served on the writer pool (server_writes.c) */
#define CORE_ACTION_HAS_RESULT 0x2u /* success returns members (a Result element / a non-empty object) */
#define CORE_ACTION_UNSIGNED 0x4u   /* AWS serves it without a signature (AssumeRoleWithWebIdentity) */
#define CORE_ACTION_SERVICE 0x100u  /* a service numbers its own flags from this bit up */

struct core_action {
    const char *name;       /* the wire name: "Decrypt", "AssumeRole", "CreateUser" */
    const char *iam_action; /* what authorization evaluates: "kms:Decrypt", "sts:AssumeRole" */
    unsigned flags;         /* CORE_ACTION_* and the service's own bits */
    size_t name_len;        /* strlen(name), from CORE_ACTION_NAME_LEN: the search needs no strlen */
};

/* The length of a row's name, which must be a string literal ("" name "" does not compile otherwise). */
#define CORE_ACTION_NAME_LEN(name) (sizeof("" name "") - 1)
/* A row whose IAM action is "<service>:<name>", spelled once: CORE_ACTION_ROW("sts", "AssumeRole", 0). */
#define CORE_ACTION_ROW(service, name, flags) {(name), service ":" name, (flags), CORE_ACTION_NAME_LEN(name)}

/**
 * Finds the row named name in a table sorted by name whose rows each begin
 * with a struct core_action (row_size apart), by length-aware comparison:
 * "Decrypt\0x" names no row.
 * @return the row, or NULL (also for an empty name).
 */
const struct core_action *core_action_find(const void *table, size_t count, size_t row_size,
                                           struct core_cursor name);
/** True when the table's names are strictly ascending and each name_len is right (what core_action_find
 * needs); for tests. */
bool core_action_table_sorted(const void *table, size_t count, size_t row_size);
/** True when the row is present and has every bit of flag. */
static inline bool core_action_has(const struct core_action *row, unsigned flag)
{
    return row != NULL && (row->flags & flag) == flag;
}

#endif
