#ifndef CORE_LIMITS_H
#define CORE_LIMITS_H

/*
 * Every bound on untrusted input, named in one place. Service-specific
 * constraints from the AWS models (4096-byte plaintext, 1..1024 random bytes)
 * live with their handlers; these are the transport and parser caps.
 */

/* HTTP: a KMS request is small (4 KiB plaintext, 32 KiB policy); IAM policy
 * documents reach 131072 characters, url-encoded up to three times that. */
#define CORE_MAX_BODY_BYTES (512u * 1024u)
#define CORE_MAX_JSON_BODY_BYTES (64u * 1024u)
/* A connection keeps its request-body buffer between requests up to this capacity (wiped after each). */
#define CORE_MAX_KEPT_BODY_BYTES 4096u
#define CORE_MAX_HEADERS 64u
#define CORE_MAX_HEADER_BYTES 16384u /* all header lines of one request */
#define CORE_MAX_QUERY_PARAMS 128u
#define CORE_MAX_FORM_PARAMS 256u
#define CORE_MAX_PATH_BYTES 2048u
#define CORE_MAX_CONNECTIONS 1024u
#define CORE_MAX_CONNECTIONS_PER_IP 512u
#define CORE_CONNECTION_TIMEOUT_S 30u
/* Writer pool: requests that write wait for a durable group commit on these
 * threads, so up to this many writes share one fsync. */
#define CORE_WRITE_THREADS 32u

/* JSON input: nesting depth checked before jansson sees the text. */
#define CORE_MAX_JSON_DEPTH 32u

/* SigV4 */
#define CORE_SIGV4_MAX_SKEW_S (15 * 60)
#define CORE_SIGV4_MAX_PRESIGN_EXPIRES_S (7 * 24 * 3600)
#define CORE_SIGV4_MAX_SIGNED_HEADERS 64u
#define CORE_MAX_ACCESS_KEY_ID_BYTES 128u
#define CORE_MAX_SECRET_KEY_BYTES 128u
#define CORE_MAX_SESSION_TOKEN_BYTES 8192u

/* Identities */
#define CORE_ACCOUNT_ID_LEN 12u
#define CORE_MAX_ARN_BYTES 2048u

/* Keystore records */
#define CORE_MAX_RECORD_BYTES (256u * 1024u)

#endif
