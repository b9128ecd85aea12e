#ifndef QUERY_H
#define QUERY_H

/*
 * The AWS Query protocol as IAM and STS speak it: form parameters read with
 * the service models' constraints, the action lookup every Query request
 * starts with, and the protocol's error catalogue (query_errors.def). The
 * XML envelope writers are in core/core_wire.h. Used by iam/ and sts/; uses
 * only core/.
 */

#include "core/core.h"

/* ---- errors ---------------------------------------------------------------- */

enum query_err {
#define X(e, code, status) e,
#include "query/query_errors.def"
#undef X
    QUERY_E_COUNT
};

extern const struct core_wire_error query_errors[QUERY_E_COUNT];
/**
 * Records a catalogue error in out (4xx are Sender faults): query_fail(out, QUERY_E_X, fmt, ...).
 * @return {ERR_API}, for `return query_fail(...)`.
 */
#define query_fail(out, e, ...) core_reply_wire((out), &query_errors[(e)], __VA_ARGS__)
/** Records a core error as its Query-protocol error with AWS's generic message (no-op for ERR_OK and ERR_API). */
void query_reply_from_err(enum core_err err, struct core_reply *out);

/* ---- the action ------------------------------------------------------------ */

/**
 * Reads Action and Version and finds the action's row in a table of rows
 * that begin with struct core_action (core_action_find). Records
 * MissingAction, or InvalidAction ("Could not find operation X for version
 * V") when the action is unknown or Version is not version.
 * @param[out] action the Action parameter (borrowed from f).
 * @param[out] row the row found.
 * Errors: ERR_API (reply recorded).
 */
CORE_RESULT query_action(const struct core_form *f, const char *version, const void *table, size_t count,
                         size_t row_size, struct core_reply *out, struct core_cursor *action,
                         const struct core_action **row);

/* ---- parameters ------------------------------------------------------------ */

/*
 * Each reader records AWS's "1 validation error detected: Value 'x' at
 * 'roleSessionName' failed to satisfy constraint: ..." in out
 * (ValidationError, 400) and returns ERR_API.
 */

struct query_tag {
    struct core_cursor key, value;
};
#define QUERY_MAX_TAGS 50u

enum query_charset {
    QUERY_CS_ANY,         /* printable text, tab, CR, LF, and bytes >= 0x80 */
    QUERY_CS_NAME,        /* [\w+=,.@-] */
    QUERY_CS_EXTERNAL_ID, /* [\w+=,.@:\/-] */
    QUERY_CS_SERIAL,      /* [\w+=/:,.@-] */
    QUERY_CS_DIGITS,      /* [\d] */
    QUERY_CS_WORD,        /* [\w] */
    QUERY_CS_PATH,        /* "/" or "/[\x21-\x7e]+/" */
    QUERY_CS_TAG,         /* [\p{L}\p{Z}\p{N}_.:/=+\-@] (ASCII part checked; non-ASCII letters accepted) */
};

struct query_str_spec {
    const char *name; /* form parameter name, "RoleSessionName" */
    bool required;
    size_t min, max;  /* length in characters */
    enum query_charset cs;
};

/** Reads a string parameter. *v is empty and *present false when absent (and not required). */
CORE_RESULT query_param_str(const struct core_form *f, struct core_reply *out, const struct query_str_spec *spec,
                            struct core_cursor *v, bool *present);
/** Reads an integer parameter within [min, max]. */
CORE_RESULT query_param_int(const struct core_form *f, struct core_reply *out, const char *name, bool required,
                            int64_t min, int64_t max, int64_t *v, bool *present);
/**
 * Reads a list "Name.member.N" (N = 1, 2, ... without gaps) whose members
 * follow spec (spec->name is the list name; suffix "" for scalar members or
 * ".arn" style for one-field structures). At most cap members (else
 * ValidationError "Member must have length less than or equal to cap").
 */
CORE_RESULT query_param_list(const struct core_form *f, struct core_reply *out, const struct query_str_spec *spec,
                             const char *suffix, struct core_cursor *vals, size_t cap, size_t *n);

/** Reads Tags.member.N.Key/Value: at most 50, no duplicate keys (case-insensitive, InvalidInput). */
CORE_RESULT query_param_tags(const struct core_form *f, struct core_reply *out, const char *list_name,
                             struct query_tag *tags, size_t *n);

#endif
