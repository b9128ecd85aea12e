#ifndef KMS_H
#define KMS_H

/*
 * AWS KMS (JSON 1.1 protocol, target prefix TrentService). The server hands
 * over an authenticated call; kms_handle() parses, authorizes, acts and
 * renders into a core_reply, success or AWS-shaped error. Handlers never see
 * the HTTP library.
 */

#include "core/core.h"
#include "iam/iam.h"
#include "keystore/keystore.h"

struct kms_env;

/* The last successful cryptographic use of a key, for GetKeyLastUsage. */
struct kms_last_usage {
    char operation[40];  /* "Encrypt", "Decrypt", ... */
    int64_t timestamp;   /* service clock */
    char event_id[40];   /* the audit record's eventID (CloudTrail event id) */
    char request_id[40];
};
/**
 * Where usage is recorded (the server's audit trail). Returns true and
 * fills out when key_arn was used since *tracking_start; *tracking_start
 * is when recording began (0: usage is not being recorded).
 */
typedef bool (*kms_last_usage_fn)(const char *key_arn, struct kms_last_usage *out, int64_t *tracking_start);

struct kms_env_options {
    struct keystore *ks;
    const char *default_region; /* used when a call carries none */
    /* The caller's identity-based policies come from here; NULL means no
     * identity side (only key policies and grants decide - unit tests). */
    struct iam_env *iam;
    kms_last_usage_fn last_usage; /* NULL: usage is not recorded */
};

/** Errors: ERR_NOMEM, ERR_CRYPTO. @param[out] out kms_env_free() it. */
CORE_RESULT kms_env_new(const struct kms_env_options *opts, struct kms_env **out);
void kms_env_free(struct kms_env *env);

struct kms_call {
    const struct core_principal *caller; /* authenticated; region from the credential scope */
    struct core_cursor target;           /* X-Amz-Target, e.g. "TrentService.Encrypt" */
    struct core_cursor body;             /* JSON request text */
    const char *request_id;
    const char *source_ip;
    bool secure_transport;
    int64_t now;                         /* service clock, seconds */
    const struct iam_session_info *session; /* temporary credentials, else NULL */
};

/**
 * Runs one KMS call. The reply always ends up filled: a JSON body on
 * success, or error_code/status/message on failure.
 * @return the failure class for logging (ERR_OK on success).
 */
CORE_RESULT kms_handle(struct kms_env *env, const struct kms_call *call, struct core_reply *out);

/**
 * True when the operation X-Amz-Target names ("TrentService.CreateKey")
 * writes to the keystore (its action row's KMS_WRITES flag); false for
 * reads and unknown targets.
 */
bool kms_action_writes(struct core_cursor target);

/** Maps a core error to KMS's wire error in out (no-op for ERR_API). */
void kms_reply_from_err(enum core_err err, struct core_reply *out);

/**
 * Background work that is due at the service time now: automatic key
 * rotations and deletions whose date passed. Safe to call from a timer
 * thread while requests run; also called once at start.
 */
CORE_RESULT kms_run_due(struct kms_env *env, int64_t now);

/** Automatic rotations and deletions kms_run_due() has done in this process (for metrics). */
void kms_due_stats(uint64_t *rotations, uint64_t *deletions);

#endif
