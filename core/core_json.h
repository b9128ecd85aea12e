#ifndef CORE_JSON_H
#define CORE_JSON_H

/*
 * jansson with our rules: a wiping allocator (GenerateDataKey plaintext passes
 * through jansson strings), duplicate keys rejected, nesting depth checked
 * before jansson sees the text.
 */

#include <jansson.h>

#include "core/core_buf.h"

/** Installs the wiping allocator; call once at start, before any json_t. */
void core_json_init(void);
/**
 * Parses one JSON document of at most max_depth nesting.
 * @param[out] out new reference, caller json_decref()s.
 * Errors: ERR_PARSE (syntax, duplicate key, trailing data), ERR_LIMIT (depth).
 */
CORE_RESULT core_json_parse(struct core_cursor text, unsigned max_depth, json_t **out);
/**
 * Appends the compact serialisation of v to out.
 * Errors: ERR_LIMIT, ERR_NOMEM.
 */
CORE_RESULT core_json_dump(const json_t *v, struct core_buf *out);
/** Appends s as a JSON string literal (quotes and escapes included). */
CORE_RESULT core_json_append_string(struct core_buf *out, struct core_cursor s);
/** json_decref adaptor for DEFER_CLEANUP. */
void core_json_cleanup(json_t **v);

#endif
