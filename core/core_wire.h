#ifndef CORE_WIRE_H
#define CORE_WIRE_H

/*
 * Small writers and readers for the two AWS wire protocols: a JSON object
 * writer that appends straight into a core_buf (no json_t on the hot path),
 * an escaping XML writer for Query-protocol responses, and the
 * application/x-www-form-urlencoded reader for Query-protocol requests.
 */

#include "core/core_buf.h"

/* JSON: writes {"a":"x","b":1,...} with commas tracked per nesting level. */
struct core_jw {
    struct core_buf *out;
    unsigned depth;
    uint32_t need_comma; /* bit per depth */
};

void core_jw_init(struct core_jw *w, struct core_buf *out);
CORE_RESULT core_jw_object_begin(struct core_jw *w, const char *key); /* key NULL at top or in arrays */
CORE_RESULT core_jw_object_end(struct core_jw *w);
CORE_RESULT core_jw_array_begin(struct core_jw *w, const char *key);
CORE_RESULT core_jw_array_end(struct core_jw *w);
CORE_RESULT core_jw_str(struct core_jw *w, const char *key, struct core_cursor v);
CORE_RESULT core_jw_cstr(struct core_jw *w, const char *key, const char *v);
CORE_RESULT core_jw_base64(struct core_jw *w, const char *key, struct core_cursor bytes);
/** For public bytes only (ciphertext blobs): see core_buf_append_base64_public. */
CORE_RESULT core_jw_base64_public(struct core_jw *w, const char *key, struct core_cursor bytes);
CORE_RESULT core_jw_int(struct core_jw *w, const char *key, int64_t v);
CORE_RESULT core_jw_bool(struct core_jw *w, const char *key, bool v);
/** An epoch-seconds timestamp as AWS JSON protocols send them (a number). */
CORE_RESULT core_jw_time(struct core_jw *w, const char *key, int64_t epoch_seconds);

/** Appends s with XML escaping (&<>"'), dropping bytes invalid in XML 1.0. */
CORE_RESULT core_xml_escape(struct core_buf *out, struct core_cursor s);
/** Appends <tag>escaped value</tag>. */
CORE_RESULT core_xml_elem(struct core_buf *out, const char *tag, struct core_cursor value);
CORE_RESULT core_xml_elem_str(struct core_buf *out, const char *tag, const char *value);

/**
 * Query-protocol response envelope: <ActionResponse xmlns="ns"><ActionResult>
 * ... </ActionResult><ResponseMetadata><RequestId>..</RequestId>...
 * open writes up to and including <ActionResult>; close writes the rest.
 * An action whose output shape is empty omits the Result element (has_result false).
 */
CORE_RESULT core_xml_response_open(struct core_buf *out, struct core_cursor action, const char *ns, bool has_result);
CORE_RESULT core_xml_response_close(struct core_buf *out, struct core_cursor action, const char *request_id,
                                    bool has_result);
/** <ErrorResponse xmlns=ns><Error><Type>..</Type><Code>..</Code><Message>..</Message></Error><RequestId>.. */
CORE_RESULT core_xml_error(struct core_buf *out, const char *ns, bool sender, const char *code,
                           struct core_cursor message, const char *request_id);

/**
 * The dotted-quad text of an IPv4 address (network byte order), exactly as
 * inet_ntop(AF_INET) writes it ("127.0.0.1"), NUL-terminated, at most 16
 * bytes. glibc's inet_ntop formats through sprintf, which cost a tenth of
 * the server's own work per request (issue 14).
 */
void core_ipv4_text(const uint8_t addr[4], char out[16]);

/* Query-protocol forms: name=value pairs, percent- and '+'-decoded. */
struct core_form_param {
    struct core_cursor name;
    struct core_cursor value;
};

struct core_form {
    struct core_form_param params[256]; /* CORE_MAX_FORM_PARAMS */
    size_t n;
    struct core_buf storage; /* decoded bytes; params point into it */
};

/**
 * Decodes an application/x-www-form-urlencoded body.
 * Errors: ERR_LIMIT (too many params or bytes), ERR_PARSE (bad % escape).
 */
CORE_RESULT core_form_parse(struct core_form *f, struct core_cursor body);
void core_form_free(struct core_form *f);
/** The value of the first param called name, or false when absent. */
bool core_form_get(const struct core_form *f, const char *name, struct core_cursor *value);

#endif
