#ifndef SIGV4_STAGES_H
#define SIGV4_STAGES_H

/*
 * The stages of SigV4 verification, after aws-c-auth's staged signer, exposed
 * so tests (and kmsctl sigv4-verify --show) can check each artefact against a
 * vector. Included only by sigv4/, its tests and the kmsctl debugging tool.
 *
 *   sigv4_parse_authorization  Authorization header or presigned query -> auth
 *   sigv4_check_time           skew (header form) or validity window (presigned)
 *   sigv4_canonical_request    method, URI, query, headers, signed list, hash
 *   sigv4_string_to_sign       algorithm, timestamp, scope, hash of the above
 *   sigv4_signing_key          kDate -> kRegion -> kService -> kSigning
 *   sigv4_verify (public)      recompute and compare in constant time
 *
 * Spec: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 */

#include "sigv4/sigv4.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR "aws4_request"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define SIGV4_KEY_BYTES 32u
#define SIGV4_HEX_BYTES 64u

/*
 * Bounds private to SigV4 (the transport caps are in core/core_limits.h).
 * A canonical request holds at most CORE_MAX_HEADER_BYTES of header text,
 * a path of CORE_MAX_PATH_BYTES that can triple when encoded, and a query
 * that can triple as well.
 */
#define SIGV4_MAX_QUERY_BYTES 8192u
#define SIGV4_MAX_CANONICAL_REQUEST_BYTES (CORE_MAX_HEADER_BYTES + 3u * CORE_MAX_PATH_BYTES + 3u * SIGV4_MAX_QUERY_BYTES + 1024u)
#define SIGV4_MAX_SCOPE_PART_BYTES 64u /* date, region, service, terminator */
#define SIGV4_MAX_STRING_TO_SIGN_BYTES 512u
#define SIGV4_MAX_AUTHORIZATION_BYTES 4096u
#define SIGV4_MAX_ECHO_BYTES 256u            /* a value quoted in a message */
#define SIGV4_MAX_ECHO_CANONICAL_BYTES 8192u /* the canonical request in a mismatch message */

/**
 * Finds the form (Authorization header or presigned query) and parses it,
 * without looking at the clock. Checks the algorithm, the presence of every
 * part, the credential shape, the terminator, the scope date against
 * X-Amz-Date (or Date), X-Amz-Expires bounds, and that the signed-header list
 * is sorted, lowercase, names host and names only headers that are present.
 * @param[in] req the request.
 * @param[out] auth views into req (see struct sigv4_auth).
 * @param[out] diag may be NULL; AWS's message is appended on failure.
 * Errors: ERR_AUTH_MISSING, ERR_AUTH_INCOMPLETE, ERR_AUTH_BAD_SIGNATURE,
 * ERR_AUTH_EXPIRED (X-Amz-Expires over 7 days), ERR_LIMIT.
 */
CORE_RESULT sigv4_parse_authorization(const struct sigv4_request *req, struct sigv4_auth *auth,
                                      struct sigv4_diag *diag);

/**
 * Header form: |req->now - auth->request_time| <= CORE_SIGV4_MAX_SKEW_S.
 * Presigned: request_time - CORE_SIGV4_MAX_SKEW_S <= now <= request_time + expires.
 * Errors: ERR_AUTH_EXPIRED.
 */
CORE_RESULT sigv4_check_time(const struct sigv4_request *req, const struct sigv4_auth *auth,
                             struct sigv4_diag *diag);

/**
 * Canonical URI of a raw path, appended to out. With normalize (every service
 * but S3) dot segments and empty segments are removed and every byte but
 * RFC 3986 unreserved characters and '/' is percent-encoded, so an already
 * encoded "%2F" becomes "%252F" (botocore's quote(normalize_url_path(p),
 * safe='/~')). Without normalize the raw path is used as sent. Empty is "/".
 * Errors: ERR_LIMIT.
 */
CORE_RESULT sigv4_canonical_uri(struct core_cursor path, bool normalize, struct core_buf *out);

/**
 * Canonical query string, appended to out: each name and value decoded
 * (%XX; '+' stays a plus) and re-encoded (unreserved kept, %XX uppercase),
 * a missing '=' read as an empty value, sorted by encoded name then value,
 * repeated names kept. exclude_signature drops X-Amz-Signature (presigned).
 * scratch is emptied and used for the encoded pairs.
 * Errors: ERR_LIMIT (more than CORE_MAX_QUERY_PARAMS or too long).
 */
CORE_RESULT sigv4_canonical_query(struct core_cursor query, bool exclude_signature, struct core_buf *out,
                                  struct core_buf *scratch);

/**
 * The canonical request of req under auth, appended to out.
 * The payload hash is the x-amz-content-sha256 header when present
 * ("UNSIGNED-PAYLOAD" literally; any other value must equal
 * req->payload_hash when that is set), else req->payload_hash, else (S3
 * presigned) UNSIGNED-PAYLOAD.
 * Errors: ERR_AUTH_BAD_SIGNATURE (x-amz-content-sha256 disagrees with the
 * body), ERR_AUTH_INCOMPLETE (a signed header is absent), ERR_INVALID_ARG
 * (no payload hash at all), ERR_LIMIT.
 */
CORE_RESULT sigv4_canonical_request(const struct sigv4_request *req, const struct sigv4_auth *auth,
                                    struct core_buf *out, struct sigv4_diag *diag);

/**
 * "AWS4-HMAC-SHA256\n<amz date>\n<scope>\n<hex sha256(canonical request)>",
 * appended to out. Errors: ERR_LIMIT.
 */
CORE_RESULT sigv4_string_to_sign(const struct sigv4_auth *auth, struct core_cursor canonical_request,
                                 struct core_buf *out);

/**
 * kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
 * "aws4_request"). Every intermediate is wiped.
 * @param[out] key 32 bytes; the caller wipes it.
 * Errors: ERR_INVALID_ARG (secret longer than CORE_MAX_SECRET_KEY_BYTES).
 */
CORE_RESULT sigv4_signing_key(struct core_cursor secret, struct core_cursor date, struct core_cursor region,
                              struct core_cursor service, uint8_t key[SIGV4_KEY_BYTES]);

/** Lowercase hex HMAC-SHA256(key, string_to_sign), NUL-terminated. */
void sigv4_signature_hex(const uint8_t key[SIGV4_KEY_BYTES], struct core_cursor string_to_sign,
                         char out[SIGV4_HEX_BYTES + 1]);

/*
 * A signing key ready for HMAC: the key, and the SHA-256 states after its
 * inner and outer padded blocks ("the intermediate results ... may be
 * precomputed only once at the time of generation of the key K, or before
 * its first use", RFC 2104 section 4, https://www.rfc-editor.org/rfc/rfc2104#section-4).
 * Each signature then hashes only the string to sign and the inner digest:
 * two SHA-256 blocks fewer per request. The states sign as the key does:
 * secret, kept in guarded memory by the cache and wiped by every holder.
 */
#define SIGV4_HMAC_PADS_BYTES 240u
struct sigv4_hmac_key {
    uint8_t key[SIGV4_KEY_BYTES];
    uint8_t pads[SIGV4_HMAC_PADS_BYTES]; /* inner then outer state, when prepared */
    uint8_t prepared;                    /* 0: sign from key alone (no low-level SHA-256) */
};

/** Fills hk from key: the key, and the padded-key states. The caller wipes hk. */
void sigv4_hmac_key_prepare(const uint8_t key[SIGV4_KEY_BYTES], struct sigv4_hmac_key *hk);

/** sigv4_signature_hex() with a prepared key: the same lowercase hex HMAC-SHA256, NUL-terminated. */
void sigv4_signature_hex_prepared(const struct sigv4_hmac_key *hk, struct core_cursor string_to_sign,
                                  char out[SIGV4_HEX_BYTES + 1]);

/**
 * The signing key for (secret, date, region, service) from cache, deriving
 * and inserting it on a miss. cache may be NULL.
 * Errors: as sigv4_signing_key.
 */
CORE_RESULT sigv4_key_cache_get(struct sigv4_key_cache *cache, struct core_cursor secret, struct core_cursor date,
                                struct core_cursor region, struct core_cursor service,
                                uint8_t key[SIGV4_KEY_BYTES]);

/**
 * As sigv4_key_cache_get, the key prepared for HMAC (the cache holds it so).
 * @param[out] hk the caller wipes it.
 * Errors: as sigv4_signing_key.
 */
CORE_RESULT sigv4_key_cache_get_hmac(struct sigv4_key_cache *cache, struct core_cursor secret,
                                     struct core_cursor date, struct core_cursor region, struct core_cursor service,
                                     struct sigv4_hmac_key *hk);

/** Sums of the cache's hit and miss counters (tests, metrics). */
void sigv4_key_cache_stats(struct sigv4_key_cache *cache, uint64_t *hits, uint64_t *misses);

/**
 * Splits one raw HTTP/1.1 request (request line, headers, blank line, body;
 * CRLF or LF; obs-fold continuation lines stay inside the value, where
 * canonicalisation folds them) into req and body. req->payload_hash and
 * req->now are left for the caller. Views borrow raw.
 * Errors: ERR_PARSE, ERR_LIMIT (more than max_headers headers).
 */
CORE_RESULT sigv4_http_parse(struct core_cursor raw, struct sigv4_header *headers, size_t max_headers,
                             struct sigv4_request *req, struct core_cursor *body);

/*
 * Splits *list at the next sep. When enc is "2F" or "3B", the percent-encoded
 * separator ("%2F", "%3b") splits too: presigned query values are still
 * encoded. Returns false once *list is exhausted.
 */
bool sigv4_split_list(struct core_cursor *list, uint8_t sep, const char *enc, struct core_cursor *tok);

/*
 * Per-thread working buffers, allocated on a thread's first request and
 * freed when it exits, so verification does not allocate per request.
 * canon and sts are used by sigv4_verify, query by sigv4_canonical_request.
 */
struct sigv4_scratch {
    struct core_buf canon, sts, query;
};
CORE_RESULT sigv4_scratch_get(struct sigv4_scratch **out);
/**
 * Empties a scratch buffer, wiping the bytes it holds (len, plus the
 * terminator's byte) rather than its whole capacity: these buffers are only
 * appended to, and buf_move wipes what it leaves behind, so nothing was
 * ever written past len + 1 except by canonical-URI dot-segment removal,
 * which shortens only the path part (public, and before any header).
 */
void sigv4_scratch_clear(struct core_buf *b);

/* Message helpers (sigv4_diag.c). All tolerate diag == NULL and never fail. */
void sigv4_diag_str(struct sigv4_diag *diag, const char *s);
/* Echo of an untrusted value: capped at cap bytes ("..." marks a cut); bytes
 * outside printable ASCII become \xHH, newlines too unless keep_newlines. */
void sigv4_diag_echo(struct sigv4_diag *diag, struct core_cursor v, size_t cap, bool keep_newlines);
void sigv4_diag_time(struct sigv4_diag *diag, int64_t t);

/* SHA-256 of data (OpenSSL, algorithm fetched once, context per thread). */
void sigv4_sha256(struct core_cursor data, uint8_t out[32]);

#endif
