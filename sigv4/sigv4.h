#ifndef SIGV4_H
#define SIGV4_H

/*
 * AWS Signature Version 4, as a pure library: no sockets, no clock, no
 * storage. The server (and kmsctl sigv4-verify) fill a struct sigv4_request
 * with what arrived on the wire; sigv4_parse() finds the credential;
 * the caller looks the secret up; sigv4_verify() recomputes and compares.
 * The same canonicalisation signs requests for kmsbench and tests.
 *
 * Spec: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 */

#include <stdbool.h>
#include <stdint.h>

#include "core/core.h"

struct sigv4_header {
    struct core_cursor name;  /* as received, any case */
    struct core_cursor value; /* as received, untrimmed */
};

/*
 * The request's headers sorted by lowercase name (stable: arrival order among
 * equal names), built once per request and used by every stage's header
 * lookup. sigv4_header_index.c.
 */
#define SIGV4_KNOWN_HEADERS 8u /* names every request looks up: host, date, x-amz-date, ... (sigv4_index.c) */
/* The known names, in the order of sigv4_index.c's table. */
enum sigv4_known {
    SIGV4_H_HOST,
    SIGV4_H_DATE,
    SIGV4_H_X_AMZ_DATE,
    SIGV4_H_AUTHORIZATION,
    SIGV4_H_CONTENT_TYPE,
    SIGV4_H_X_AMZ_TARGET,
    SIGV4_H_X_AMZ_CONTENT_SHA256,
    SIGV4_H_X_AMZ_SECURITY_TOKEN,
};
struct sigv4_header_index {
    size_t n;
    uint64_t key[CORE_MAX_HEADERS]; /* first 8 bytes of the lowercase name, big-endian, zero-padded */
    uint8_t pos[CORE_MAX_HEADERS];  /* the header's position in sigv4_request.headers */
    uint8_t known_at[SIGV4_KNOWN_HEADERS], known_n[SIGV4_KNOWN_HEADERS]; /* each known name's entries */
};

struct sigv4_request {
    struct core_cursor method;       /* "POST" */
    struct core_cursor path;         /* raw path as on the wire, no query */
    struct core_cursor query;        /* raw query string without '?', may be empty */
    const struct sigv4_header *headers; /* in arrival order, duplicates kept */
    size_t n_headers;
    struct core_cursor payload_hash; /* lowercase hex SHA-256 of the body */
    int64_t now;                     /* real time (seconds) for skew/expiry checks */
    bool no_normalize_path;          /* S3's rules: no dot-segment removal, no double-encoding;
                                        UNSIGNED-PAYLOAD honoured; Content-Type may go unsigned */
    const struct sigv4_header_index *index; /* of headers, from sigv4_header_index_build; NULL: each
                                               stage builds its own */
};

/**
 * Sorts the headers' positions by lowercase name into idx.
 * n must be at most CORE_MAX_HEADERS (checked by assert: callers bound it).
 */
void sigv4_header_index_build(const struct sigv4_header *headers, size_t n, struct sigv4_header_index *idx);

/**
 * Number of headers named name (ASCII case ignored, as core_cursor_eq_icase);
 * *at (may be NULL) receives the index entry of the first of them in arrival
 * order: headers[idx->pos[*at + k]] for k below the count.
 */
size_t sigv4_header_index_find(const struct sigv4_header_index *idx, const struct sigv4_header *headers,
                               struct core_cursor name, size_t *at);

/**
 * sigv4_header_index_find for a known name (issue 14, round 5: no key to compute, no table to scan):
 * the same count and *at as a find of that name would give.
 */
static inline size_t sigv4_header_index_known(const struct sigv4_header_index *idx, enum sigv4_known k, size_t *at)
{
    if (at) *at = idx->known_n[k] ? idx->known_at[k] : idx->n;
    return idx->known_n[k];
}

/** req->index, or one built into local when req has none. */
const struct sigv4_header_index *sigv4_header_index_of(const struct sigv4_request *req,
                                                       struct sigv4_header_index *local);

enum sigv4_form {
    SIGV4_FORM_HEADER,    /* Authorization: AWS4-HMAC-SHA256 ... */
    SIGV4_FORM_PRESIGNED, /* X-Amz-Algorithm=... in the query */
};

/* Views into the request; valid as long as the request's memory is. */
struct sigv4_auth {
    enum sigv4_form form;
    struct core_cursor access_key_id;
    struct core_cursor scope_date;     /* YYYYMMDD */
    struct core_cursor region;
    struct core_cursor service;
    struct core_cursor signed_headers; /* "host;x-amz-date" */
    struct core_cursor signature;      /* 64 lowercase hex chars when well-formed; anything else
                                          simply fails sigv4_verify */
    struct core_cursor amz_date;       /* YYYYMMDDTHHMMSSZ (the Date header's value when there is no X-Amz-Date) */
    struct core_cursor security_token; /* X-Amz-Security-Token, empty when absent; raw, so still
                                          percent-encoded in presigned form: use
                                          sigv4_auth_security_token() for the decoded value */
    int64_t request_time;              /* amz_date parsed */
    int64_t expires;                   /* presigned: X-Amz-Expires seconds; else 0 */
};

/*
 * Failure detail in AWS's words. The server chooses the wire code per
 * service from the core_err (e.g. ERR_AUTH_BAD_SIGNATURE is KMS's
 * InvalidSignatureException and STS's SignatureDoesNotMatch) and sends
 * message as the error message.
 */
struct sigv4_diag {
    struct core_buf message; /* caller-initialised (core_buf_init), appended to */
};

/**
 * Finds and parses the SigV4 authentication of a request.
 * @param[in] req the request; not modified.
 * @param[out] auth views into req.
 * @param[out] diag may be NULL; receives AWS's message on failure.
 * Errors: ERR_AUTH_MISSING (no Authorization header and no X-Amz-Algorithm
 * query parameter), ERR_AUTH_INCOMPLETE (malformed or missing parts, with
 * AWS's "Authorization header requires 'Credential' parameter..." messages;
 * also an unsupported algorithm), ERR_AUTH_BAD_SIGNATURE (scope terminator
 * or date inconsistent with X-Amz-Date), ERR_AUTH_EXPIRED (header form:
 * more than 15 minutes of skew against req->now; presigned: now past
 * X-Amz-Date + X-Amz-Expires, or expiry beyond 7 days).
 * Host must be among the signed headers, and so must every x-amz-* header
 * present (X-Amz-Target, X-Amz-Security-Token, X-Amz-Date...), the Date
 * header when it gives the time, and Content-Type outside S3's rules
 * (ERR_AUTH_INCOMPLETE otherwise, with AWS's message).
 * ERR_LIMIT when a bound is exceeded (headers, query parameters, signed headers).
 */
CORE_RESULT sigv4_parse(const struct sigv4_request *req, struct sigv4_auth *auth, struct sigv4_diag *diag);

/*
 * Cache of derived signing keys, keyed by (secret, date, region, service).
 * Thread-safe; each thread keeps its own most recently used keys
 * (core_tlcache), so lookups take no shared lock. Entries live in guarded
 * memory and are wiped on eviction, at thread end and by
 * sigv4_key_cache_free. capacity (1..2^20) is checked; each thread holds at
 * most 32 keys of the cache.
 */
struct sigv4_key_cache;
CORE_RESULT sigv4_key_cache_new(size_t capacity, struct sigv4_key_cache **out);
void sigv4_key_cache_free(struct sigv4_key_cache *cache);
/** Lookups served from the cache and computed afresh, all stripes (for metrics). */
void sigv4_key_cache_stats(struct sigv4_key_cache *cache, uint64_t *hits, uint64_t *misses);

/**
 * Recomputes the signature of req with secret and compares in constant time.
 * @param cache may be NULL (derive every time).
 * @param diag may be NULL; on mismatch receives AWS's full message including
 * "The Canonical String for this request should have been" and "The
 * String-to-Sign should have been" sections.
 * Errors: ERR_AUTH_BAD_SIGNATURE, ERR_AUTH_INCOMPLETE, ERR_LIMIT, ERR_CRYPTO.
 */
CORE_RESULT sigv4_verify(const struct sigv4_request *req, const struct sigv4_auth *auth,
                         struct core_cursor secret, struct sigv4_key_cache *cache,
                         struct sigv4_diag *diag);

/* Signing, for clients of this library (kmsbench, tests). */
struct sigv4_credentials {
    struct core_cursor access_key_id;
    struct core_cursor secret;
    struct core_cursor session_token; /* empty for long-term keys */
};

/**
 * Computes the Authorization header value for req, signed over every header
 * in req (which must include host and x-amz-date, and x-amz-security-token
 * when the credentials carry one).
 * @param[out] authorization receives "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
 * Errors: ERR_INVALID_ARG, ERR_LIMIT, ERR_CRYPTO.
 */
CORE_RESULT sigv4_sign(const struct sigv4_request *req, const struct sigv4_credentials *creds,
                       struct core_cursor region, struct core_cursor service, struct core_cursor amz_date,
                       struct sigv4_key_cache *cache, struct core_buf *authorization);

/** Lowercase hex SHA-256 of data (64 chars + NUL). */
void sigv4_sha256_hex(struct core_cursor data, char out[65]);

/**
 * The session token of the request, decoded: the X-Amz-Security-Token
 * header value as is (header form) or the percent-decoded query value
 * (presigned form, where auth->security_token is the raw, still-encoded
 * view). Appends nothing when there is no token.
 * @param[out] out appended to.
 * Errors: ERR_LIMIT (longer than CORE_MAX_SESSION_TOKEN_BYTES or out full).
 */
CORE_RESULT sigv4_auth_security_token(const struct sigv4_auth *auth, struct core_buf *out);

/**
 * Checks the credential scope against the service's own region and signing
 * name, with AWS's messages ("Credential should be scoped to a valid region,
 * not 'x'." / "Credential should be scoped to correct service: 'kms'.").
 * Errors: ERR_AUTH_BAD_SIGNATURE.
 */
CORE_RESULT sigv4_check_scope(const struct sigv4_auth *auth, struct core_cursor region, struct core_cursor service,
                              struct sigv4_diag *diag);

#endif
