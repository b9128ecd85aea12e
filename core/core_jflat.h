#ifndef CORE_JFLAT_H
#define CORE_JFLAT_H

/*
 * A flat, bounded reader for the common shape of a KMS request body: one
 * JSON object whose members are all plain scalars ({"KeyId":"...",
 * "Plaintext":"...","NumberOfBytes":32,"DryRun":false}). It builds no
 * tree and allocates nothing: members are cursors into the request body.
 *
 * It accepts a strict subset of what core_json_parse() accepts and reads it
 * the same way; anything outside the subset is declined, and the caller
 * falls back to the full parser, which then accepts or refuses the text with
 * its usual error. Declined: nested objects and arrays, strings holding an
 * escape, a control character or any byte outside printable ASCII (so a NUL
 * can never appear: "\u0000" is an escape), numbers with a fraction or an
 * exponent or more than 18 digits, duplicate member names, more than
 * CORE_JFLAT_MAX_MEMBERS members, anything after the closing brace but
 * whitespace, and every syntax error. Being a subset, it cannot accept a
 * document the full parser refuses (tests/unit/core_jflat_perf_test.c
 * checks the two readers agree on every document it accepts).
 *
 * No bytes are copied, so a secret member (Encrypt's Plaintext) stays only
 * in the request body buffer, which the server wipes.
 */

#include "core/core_buf.h"

#define CORE_JFLAT_MAX_MEMBERS 16u

enum core_jflat_type { CORE_JFLAT_STRING, CORE_JFLAT_INT, CORE_JFLAT_TRUE, CORE_JFLAT_FALSE, CORE_JFLAT_NULL };

struct core_jflat_member {
    struct core_cursor name;  /* bytes between the quotes (no escapes) */
    struct core_cursor value; /* STRING: bytes between the quotes; others: the literal's text */
    int64_t num;              /* INT */
    enum core_jflat_type type;
};

struct core_jflat {
    struct core_jflat_member m[CORE_JFLAT_MAX_MEMBERS];
    size_t n;
};

/**
 * Reads text as a flat object. An empty text is an empty object (KMS reads
 * an empty body as {}).
 * @return true with out filled, or false when the text needs the full parser.
 */
bool core_jflat_read(struct core_cursor text, struct core_jflat *out);

/** The member called name (compared by length), or NULL. */
const struct core_jflat_member *core_jflat_get(const struct core_jflat *f, struct core_cursor name);

#endif
