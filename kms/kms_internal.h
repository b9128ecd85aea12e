#ifndef KMS_INTERNAL_H
#define KMS_INTERNAL_H

/* Shared by the KMS dispatcher and the per-operation files; not public. */

#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>

#include "kms/kms.h"
#include "kms/kms_errors.h"
#include "core/core_jflat.h"
#include "policy/policy.h"

struct policy;

struct kms_policy_entry;
#define KMS_POLICY_CACHE_MAX 4096u /* compiled key policies kept; idle ones dropped beyond */

struct kms_env {
    struct keystore *ks;
    char default_region[32];
    EVP_CIPHER *aes_gcm; /* fetched once; EVP_CIPHER_fetch is not free */
    struct iam_env *iam; /* identity side; NULL in unit tests */
    kms_last_usage_fn last_usage; /* GetKeyLastUsage's source; NULL when not recorded */
    /* Compiled key policies by key record id and policy generation (kms_authz.c). */
    struct policy_cache policies; /* compiled key policies (kms_authz.c) */
    /* MAC key of grant tokens (kms_grant.c), sealed in the keystore, shared by processes. */
    struct core_secret grant_token_key;
};

struct kms_action;

/* Per-call context handed to every handler. */
struct kms_ctx {
    struct kms_env *env;
    const struct kms_call *call;
    const struct kms_action *action; /* the row of the operation being served */
    const struct core_principal *caller;
    const char *region;     /* from the credential scope */
    const char *account;    /* caller's account: resources are partitioned by (account, region) */
    struct core_reply *out;
    /* Validation errors collected while reading parameters. */
    unsigned n_invalid;
    struct core_buf invalid;
    /* Authorization inputs: the request document (condition keys come from
     * it), the alias the request used to name the key being authorized now
     * (kms:RequestAlias; kms_resolve() sets it for each key it resolves),
     * and the caller's identity side, acquired on first use and released by
     * kms_handle. */
    const json_t *in;
    /* The flat reader's members when it serves the request (in is NULL then);
     * read them through kms_param_* and kms_in_* (kms_params.c). */
    const struct core_jflat *flat;
    char request_alias[288];
    const struct iam_identity *identity;
    bool identity_failed;
    /* The permission being authorized: the row's iam_action, or (true) its
     * iam_action_to on the second key (ReEncrypt's destination). */
    bool second_key;
    /* kms:ReEncryptOnSameKey, known once ReEncrypt resolved both keys. */
    bool same_key;
};

#include "kms/kms_action.h"


#include "kms/kms_record.h"

/* ---- key states ---------------------------------------------------------- */

/* Which states an operation accepts, after the KMS "key states" table
 * https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html */
enum kms_state_rule {
    KMS_RULE_ANY,            /* DescribeKey, ListResourceTags, GetKeyPolicy, ListAliases */
    KMS_RULE_CRYPTO,         /* Encrypt, Decrypt, ReEncrypt, GenerateDataKey* */
    KMS_RULE_MANAGE,         /* UpdateKeyDescription, Tag/Untag, Create/UpdateAlias, ScheduleKeyDeletion */
    KMS_RULE_ENABLE_DISABLE, /* EnableKey, DisableKey */
    KMS_RULE_CANCEL_DELETION,
    KMS_RULE_ROTATION,       /* Enable/DisableKeyRotation, RotateKeyOnDemand */
    KMS_RULE_ROTATION_READ,  /* GetKeyRotationStatus, ListKeyRotations */
};

/** The AWS error for key in this state under rule, or ERR_OK. */
CORE_RESULT kms_state_check(struct kms_ctx *ctx, const struct kms_key *key, enum kms_state_rule rule);

/* ---- rendering (kms_render.c) ------------------------------------------------ */

/** Renders KeyMetadata as member `name` of the open object. */
CORE_RESULT kms_render_metadata(struct core_jw *w, const char *name, const struct kms_key *k);
/** KeyState's name for a stored state. */
const char *kms_state_name(uint8_t state);

/* ---- identifiers ---------------------------------------------------------- */


struct kms_key_ref {
    char account[16];
    char region[32];
    char key_id[KMS_KEY_ID_LEN + 1];
};

/**
 * Resolves a key identifier in txn. A missing alias/aws/<service> sets
 * *managed_missing (when forms allow aliases) so the caller can create the
 * AWS managed key and retry; otherwise a missing alias is NotFoundException.
 * Errors: ERR_API (reply filled), keystore errors.
 */
CORE_RESULT kms_resolve(struct kms_ctx *ctx, struct keystore_txn *txn, struct core_cursor id, unsigned forms,
                        struct kms_key_ref *ref, bool *managed_missing);
/**
 * kms_resolve() without side effects: true when id names a key reference
 * (ref filled); the reply and kms:RequestAlias are left as they were
 * either way. For facts about a second key (kms:ReEncryptOnSameKey).
 */
bool kms_resolve_peek(struct kms_ctx *ctx, struct keystore_txn *txn, struct core_cursor id, struct kms_key_ref *ref);
/** Echoes an identifier in a message: capped at 256 bytes, control characters replaced. */
void kms_echo(struct core_cursor s, char out[300]);
/** Loads ref's key; NotFoundException in AWS's wording when absent. */
CORE_RESULT kms_key_load(struct kms_ctx *ctx, struct keystore_txn *txn, const struct kms_key_ref *ref,
                         struct kms_key *key);
/** Creates the AWS managed key and alias for alias/aws/<service> unless present. */
CORE_RESULT kms_managed_key_ensure(struct kms_ctx *ctx, struct core_cursor alias_name);
/** True when name (after "alias/aws/") is a service with an AWS managed key. */
bool kms_managed_service(struct core_cursor alias_name);
/** The predefined alias/aws/<service> names ListAliases shows without a TargetKeyId, sorted (kms_resolve.c). */
extern const char *const kms_predefined_aliases[];
extern const size_t kms_predefined_aliases_count;

/** The ARN of alias `name` (as requested, capped at 256 chars) in the caller's account and region. */
void kms_alias_arn(const struct kms_ctx *ctx, struct core_cursor name, char *out, size_t cap);
/**
 * Authorizes iam_action on the key an alias points at now (Update/DeleteAlias
 * need it on that key too); a target already deleted needs nothing.
 */
CORE_RESULT kms_alias_authorize_target(struct kms_ctx *ctx, struct keystore_txn *txn, const struct kms_alias *al);
/**
 * The aliases-per-key quota: LimitExceededException when key already has
 * KMS_MAX_ALIASES_PER_KEY aliases. Errors: ERR_API (reply filled), keystore errors.
 */
CORE_RESULT kms_alias_quota_check(struct kms_ctx *ctx, struct keystore_txn *txn, const struct kms_key *key);

/** AliasName (AliasNameType: 1..256, ^[a-zA-Z0-9:/_-]+$). */
CORE_RESULT kms_param_alias_name(struct kms_ctx *ctx, const json_t *in, struct core_cursor *out, bool *present);
/** Alias names callers may create, update or delete: "alias/...", not "alias/aws/...". */
CORE_RESULT kms_alias_name_check(struct kms_ctx *ctx, struct core_cursor name);

/**
 * Opens a key for a read-only operation: begins a read txn, resolves,
 * creates an AWS managed key on first use of alias/aws/<service>, loads,
 * authorizes the row's permission and checks the state rule. id is read
 * in the row's key_forms.
 * @param[out] txn open read txn on success; the caller aborts it.
 * Errors: ERR_API (reply filled), keystore errors.
 */
CORE_RESULT kms_key_open(struct kms_ctx *ctx, struct core_cursor id, enum kms_state_rule rule, struct keystore_txn **txn,
                         struct kms_key *key);
/**
 * kms_key_open() for a handler that needs only the key: sets up key
 * (kms_key_init), opens it and ends the read txn.
 * @param[out] key the key; the caller kms_key_free()s it, on failure too.
 * Errors: as kms_key_open(), ERR_NOMEM.
 */
CORE_RESULT kms_key_read(struct kms_ctx *ctx, struct core_cursor id, enum kms_state_rule rule, struct kms_key *key);
/**
 * The first steps of every key operation, in txn: resolves id (in the
 * row's key_forms), loads the key and authorizes the row's permission on
 * it. No key-state check: kms_key_open() and kms_key_mutate() apply a rule
 * after it; ReplicateKey and UpdatePrimaryRegion check their own facts first.
 * @param[out] managed_missing as kms_resolve() (NULL: not wanted); when set,
 * nothing is loaded.
 * Errors: ERR_API (reply filled), keystore errors.
 */
CORE_RESULT kms_key_load_authorized(struct kms_ctx *ctx, struct keystore_txn *txn, struct core_cursor id,
                                    bool *managed_missing, struct kms_key *key);

/* A change to one key, made in a group-committed write. */
struct kms_mutation;
typedef core_result (*kms_apply_fn)(struct kms_mutation *m, struct keystore_txn *txn);
struct kms_mutation {
    struct kms_ctx *ctx;
    struct core_cursor id; /* read in the row's key_forms */
    enum kms_state_rule rule;
    kms_apply_fn apply; /* may be NULL: state and authz only */
    void *arg;
    struct kms_key key; /* the key after apply; caller kms_key_free()s */
};
/**
 * Resolves, loads, authorizes and checks m->key in a write, calls apply and
 * saves the key. The reply is filled on failure.
 */
CORE_RESULT kms_key_mutate(struct kms_mutation *m);
/** Renders members after KeyId in kms_key_mutate_reply()'s reply. */
typedef core_result (*kms_reply_fn)(struct core_jw *w, const struct kms_mutation *m);
/**
 * kms_key_mutate(), then the reply {"KeyId": <key ARN>, ...more}; frees
 * m->key. what names the operation in the log of an internal failure.
 */
CORE_RESULT kms_key_mutate_reply(struct kms_mutation *m, const char *what, kms_reply_fn more);
/**
 * CreateAlias / UpdateAlias: reads AliasName and TargetKeyId, checks the
 * name, authorizes the action on the alias and (in the write) on the target
 * key, then calls apply with m->arg pointing at the alias name cursor.
 */
CORE_RESULT kms_alias_point(struct kms_ctx *ctx, const json_t *in, kms_apply_fn apply);

/* ---- authorization -------------------------------------------------------- */

/**
 * The one place that decides whether the caller may perform iam_action on
 * key: the key policy (compiled, cached), the caller's identity side where
 * the key policy delegates to the account (POLICY_MODE_KMS), then grants
 * (read in txn). AccessDeniedException in AWS's wording when not.
 */
CORE_RESULT kms_authorize(struct kms_ctx *ctx, struct keystore_txn *txn, const struct kms_key *key);
/**
 * Identity-only authorization for actions on no key (kms:CreateKey,
 * kms:ListKeys, kms:ListAliases, kms:GenerateRandom, kms:ListRetirableGrants)
 * and for the alias half of CreateAlias/UpdateAlias/DeleteAlias (resource =
 * alias ARN), for the row's permission. resource NULL means "*".
 */
CORE_RESULT kms_authorize_identity(struct kms_ctx *ctx, const char *resource);
/** kms_authorize_identity() on the alias ARN of name in the caller's account and Region. */
CORE_RESULT kms_authorize_alias(struct kms_ctx *ctx, struct core_cursor name);
/**
 * The refusal of a key in another account for an operation whose row is
 * not KMS_CROSS_ACCOUNT: "Cross-account use: No" on its API page.
 * @return ERR_API, AccessDeniedException filled.
 */
CORE_RESULT kms_deny_cross_account(struct kms_ctx *ctx, const char *arn);

/**
 * The lockout safety check: would the caller still be allowed
 * kms:PutKeyPolicy on key under policy_text? Errors: ERR_API
 * (MalformedPolicyDocumentException filled) when not.
 */
CORE_RESULT kms_lockout_check(struct kms_ctx *ctx, const struct kms_key *key, const struct policy *new_policy);
/**
 * Validates a key policy document (CreateKey Policy, PutKeyPolicy):
 * MalformedPolicyDocumentException / LimitExceededException with AWS's
 * reason; principals naming no IAM user or role: "Policy contains a
 * statement with one or more invalid principals."
 * @param[out] stored the text to store: user and role ARNs as unique ids
 *     (iam_policy_principals_store); caller core_buf_free()s, also on failure.
 * @param[out] out the stored text compiled, caller policy_free()s.
 */
CORE_RESULT kms_policy_compile(struct kms_ctx *ctx, struct core_cursor text, struct core_buf *stored,
                               struct policy **out);
/** True for the account root and unverified-mode callers. */
bool kms_caller_full_access(struct kms_ctx *ctx);
/** Releases the identity acquired during the call (kms_handle). */
void kms_authz_end(struct kms_ctx *ctx);
CORE_RESULT kms_authz_env_init(struct kms_env *env);
void kms_authz_env_free(struct kms_env *env);

/* ---- grants (kms_grant.c) ----------------------------------------------------- */

/**
 * Whether a grant on key lets the caller perform iam_action (with the
 * request's encryption context in ctx->in). Explicit denies were handled
 * before. Errors: keystore errors.
 */
CORE_RESULT kms_grants_allow(struct kms_ctx *ctx, struct keystore_txn *txn, const struct kms_key *key,
                             const char *iam_action, bool *allowed);
CORE_RESULT kms_grant_env_init(struct kms_env *env);
/** Verifies a grant token's MAC. */
bool kms_grant_token_valid(const struct kms_env *env, struct core_cursor token);
/** True when the caller is principal_arn for grant purposes (user/session ARN, or the role of a session). */
bool kms_caller_is(const struct kms_ctx *ctx, struct core_cursor principal_arn);
/** The AWS default key policy for account (pretty-printed JSON). */
CORE_RESULT kms_default_policy(const char *partition, const char *account, struct core_buf *out);
/** The policy AWS attaches to the AWS managed key of service. */
CORE_RESULT kms_managed_policy(const char *account, const char *region, const char *service, struct core_buf *out);

/* ---- ciphertext ----------------------------------------------------------- */

#define KMS_CT_VERSION 1u
#define KMS_CT_VERSION_MRK 2u /* format 1 with a multi-Region key id ("mrk-" + the 16 bytes as hex) */
#define KMS_CT_NONCE_BYTES 12u
#define KMS_CT_TAG_BYTES 16u

struct kms_ct_header {
    uint8_t version;
    char account[16];
    char region[32];
    char key_id[KMS_KEY_ID_LEN + 1];
    uint32_t material_version;
    uint8_t nonce[KMS_CT_NONCE_BYTES];
    size_t header_len; /* bytes before the encrypted payload */
};

/**
 * Canonical encryption context (AAD): be16 count, then pairs sorted by key
 * bytes, each be16 length-prefixed. ec may be NULL (empty context).
 * Errors: ERR_LIMIT, ERR_INVALID_ARG (a value is not a string).
 */
CORE_RESULT kms_ec_canonical(const json_t *ec, struct core_buf *out);
/** kms_ec_canonical() into aad (initialised here), or ValidationException when the context is too large. */
CORE_RESULT kms_ec_aad(struct kms_ctx *ctx, const json_t *ec, struct core_buf *aad);
/** Parses the header of blob. Errors: ERR_BAD_CIPHERTEXT. */
CORE_RESULT kms_ct_parse(struct core_cursor blob, struct kms_ct_header *h);
/**
 * Encrypts plaintext under material into out, with header h (nonce taken
 * from h). Errors: ERR_CRYPTO, ERR_LIMIT.
 */
CORE_RESULT kms_ct_seal(const EVP_CIPHER *cipher, const struct kms_ct_header *h, struct core_cursor material,
                        struct core_cursor ec_canonical, struct core_cursor plaintext, struct core_buf *out);
/**
 * Authenticates and decrypts blob (whose header h came from kms_ct_parse)
 * into plaintext, which should be a secret buffer; nothing is left in it on
 * failure. Errors: ERR_BAD_CIPHERTEXT.
 */
CORE_RESULT kms_ct_open(const EVP_CIPHER *cipher, struct core_cursor blob, const struct kms_ct_header *h,
                        struct core_cursor material, struct core_cursor ec_canonical, struct core_buf *plaintext);
/**
 * InvalidKeyUsageException unless key is a symmetric encryption key ("<arn>
 * key usage is SIGN_VERIFY which is not valid for Encrypt.", kms_asym.c).
 */
CORE_RESULT kms_symmetric_usage_check(struct kms_ctx *ctx, const struct kms_key *key);
/** Encrypts with the key's newest material (the shared step of Encrypt, GenerateDataKey*, ReEncrypt). */
CORE_RESULT kms_encrypt_with_key(struct kms_ctx *ctx, struct keystore_txn *txn, const struct kms_key *key,
                                 struct core_cursor ec_canonical, struct core_cursor plaintext,
                                 struct core_buf *blob);

/**
 * The shared step of Decrypt and ReEncrypt: finds the key the blob names
 * (checking a given key identifier names the same key, else
 * IncorrectKeyException), authorizes iam_action, checks the key state and
 * opens the blob into plaintext (a secret buffer). *version gets the
 * material version used. Every failure after the header parses is
 * InvalidCiphertextException; the reason goes to the log only.
 */
CORE_RESULT kms_open_blob(struct kms_ctx *ctx, struct core_cursor blob, const struct core_cursor *key_id,
                          const json_t *ec, struct kms_key *key, uint32_t *version, struct core_buf *plaintext);
/** GenerateDataKey and GenerateDataKeyWithoutPlaintext. */
CORE_RESULT kms_generate_data_key_common(struct kms_ctx *ctx, const json_t *in, bool with_plaintext);
/** Renders the hex material id of version n of key as member name. */
CORE_RESULT kms_render_material_id(struct core_jw *w, const char *name, const struct kms_key *key, uint32_t n);

/* ---- rotation and deletion ------------------------------------------------ */

/** Rotates key now (new material version). Errors: keystore errors. */
CORE_RESULT kms_rotate(struct keystore_txn *txn, struct kms_key *key, int64_t now, uint8_t type);

/*
 * Parameter readers. Each reads one member of the request object, checks it
 * against the model's constraints, and on a violation records AWS's
 * validation message ("Value 'x' at 'keyId' failed to satisfy constraint:
 * ...") in ctx and returns false; a value of the wrong JSON type raises
 * SerializationException at once (returned as ERR_API). They return true
 * when the member is present and valid. kms_params_done() turns collected
 * violations into one ValidationException.
 */
CORE_RESULT kms_param_string(struct kms_ctx *ctx, const json_t *in, const char *member, size_t min, size_t max,
                             bool required, struct core_cursor *out, bool *present);
CORE_RESULT kms_param_int(struct kms_ctx *ctx, const json_t *in, const char *member, int64_t min, int64_t max,
                          bool required, int64_t *out, bool *present);
CORE_RESULT kms_param_bool(struct kms_ctx *ctx, const json_t *in, const char *member, bool *out, bool *present);
/**
 * Base64 blob, decoded into out. sensitive: never echo the value. A secret
 * out buffer (core_buf_init_secret) is decoded in constant time; any other
 * with the table decoder, so secret bytes must go into a secret buffer.
 */
/**
 * The capacity a secret buffer needs for member's base64 value: an upper bound of its decoded
 * length, at most max (0 when the member is absent or not a string). Lets a handler size a
 * plaintext buffer, and its wipe, by the request instead of the largest plaintext.
 */
size_t kms_param_blob_cap(const struct kms_ctx *ctx, const json_t *in, const char *member, size_t max);
CORE_RESULT kms_param_blob(struct kms_ctx *ctx, const json_t *in, const char *member, size_t min, size_t max,
                           bool required, struct core_buf *out, bool *present);
/** One of the NULL-terminated allowed values; *index set. */
CORE_RESULT kms_param_enum(struct kms_ctx *ctx, const json_t *in, const char *member, const char *const *allowed,
                           bool required, size_t *index, bool *present);
/** KeyIdType: a string of 1..2048. */
CORE_RESULT kms_param_key_id(struct kms_ctx *ctx, const json_t *in, const char *member, bool required,
                             struct core_cursor *out, bool *present);
/** EncryptionContextType: a map of string to string; *out borrowed from in (NULL when absent). */
CORE_RESULT kms_param_ec(struct kms_ctx *ctx, const json_t *in, const char *member, const json_t **out);
/** GrantTokens (list of 1..8192 strings, at most 10): checked, then ignored. */
CORE_RESULT kms_param_grant_tokens(struct kms_ctx *ctx, const json_t *in);
/** EncryptionAlgorithm member: only SYMMETRIC_DEFAULT applies to symmetric keys. */
CORE_RESULT kms_param_algorithm(struct kms_ctx *ctx, const json_t *in, const char *member);
/** Marker (1..1024 chars of U+0020..U+00FF). */
CORE_RESULT kms_param_marker(struct kms_ctx *ctx, const json_t *in, struct core_cursor *out, bool *present);
/** Tags list: each {TagKey 1..128, TagValue 0..256}; *out borrowed (NULL when absent). */
CORE_RESULT kms_param_tags(struct kms_ctx *ctx, const json_t *in, const char *member, bool required,
                           const json_t **out);
/** Records a violation by hand (same wording rules). */
void kms_invalid(struct kms_ctx *ctx, const char *member, const char *value, const char *constraint);
/** kms_invalid() with the value read by its length (a NUL inside is echoed as a space, not an end). */
void kms_invalid_cursor(struct kms_ctx *ctx, const char *member, struct core_cursor value, const char *constraint);
/** ValidationException for a NUL inside an encryption-context value of member. */
CORE_RESULT kms_ec_nul_error(struct kms_ctx *ctx, const char *member);
/** ValidationException when any violation was recorded. */
CORE_RESULT kms_params_done(struct kms_ctx *ctx);
/**
 * Reads the request body: with the flat reader when the action and the
 * document allow it (ctx->flat set, ctx->in NULL), else into a jansson tree
 * (*tree, owned by the caller; ctx->in points to it). A malformed body is
 * refused with SerializationException, as before.
 */
CORE_RESULT kms_params_read(struct kms_ctx *ctx, struct core_cursor body, struct core_jflat *flat, json_t **tree);
/* A scalar request member for condition keys, from whichever reader serves the request. */
bool kms_in_string(const struct kms_ctx *ctx, const char *member, struct core_cursor *out);
bool kms_in_int(const struct kms_ctx *ctx, const char *member, int64_t *out);
bool kms_in_true(const struct kms_ctx *ctx, const char *member);
/** Reads DryRun into *dry. */
CORE_RESULT kms_dry_run(struct kms_ctx *ctx, const json_t *in, bool *dry);
/** DryRunOperationException in AWS's words (a request with DryRun set that passed every check). */
CORE_RESULT kms_dry_run_refuse(struct kms_ctx *ctx);

/** Validates tag keys/values semantically (aws: prefix) and the count after merge. */
CORE_RESULT kms_tags_apply(struct kms_ctx *ctx, struct kms_key *key, const json_t *tags);

/** Opaque pagination markers: the next record id, base64-encoded. */
CORE_RESULT kms_marker_encode(struct core_cursor next_id, struct core_buf *out);
CORE_RESULT kms_marker_decode(struct kms_ctx *ctx, struct core_cursor marker, struct core_buf *out);

/** Records AWS error e (code and status from kms_errors.def) in ctx->out. @return ERR_API. */
core_result kms_fail(struct kms_ctx *ctx, enum kms_error e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/** Logs a failure of our own with the request id and renders KMSInternalException. */
core_result kms_internal(struct kms_ctx *ctx, core_result r, const char *what);

/* Handlers, one file each. */
core_result kms_cancel_key_deletion(struct kms_ctx *ctx, const json_t *in);
core_result kms_create_alias(struct kms_ctx *ctx, const json_t *in);
core_result kms_create_grant(struct kms_ctx *ctx, const json_t *in);
core_result kms_create_key(struct kms_ctx *ctx, const json_t *in);
core_result kms_list_grants(struct kms_ctx *ctx, const json_t *in);
core_result kms_list_key_policies(struct kms_ctx *ctx, const json_t *in);
core_result kms_list_retirable_grants(struct kms_ctx *ctx, const json_t *in);
core_result kms_put_key_policy(struct kms_ctx *ctx, const json_t *in);
core_result kms_retire_grant(struct kms_ctx *ctx, const json_t *in);
core_result kms_revoke_grant(struct kms_ctx *ctx, const json_t *in);
core_result kms_decrypt(struct kms_ctx *ctx, const json_t *in);
core_result kms_delete_alias(struct kms_ctx *ctx, const json_t *in);
core_result kms_describe_key(struct kms_ctx *ctx, const json_t *in);
core_result kms_delete_imported_key_material(struct kms_ctx *ctx, const json_t *in);
core_result kms_get_parameters_for_import(struct kms_ctx *ctx, const json_t *in);
core_result kms_import_key_material(struct kms_ctx *ctx, const json_t *in);
core_result kms_disable_key(struct kms_ctx *ctx, const json_t *in);
core_result kms_disable_key_rotation(struct kms_ctx *ctx, const json_t *in);
core_result kms_enable_key(struct kms_ctx *ctx, const json_t *in);
core_result kms_enable_key_rotation(struct kms_ctx *ctx, const json_t *in);
core_result kms_encrypt(struct kms_ctx *ctx, const json_t *in);
core_result kms_generate_data_key(struct kms_ctx *ctx, const json_t *in);
core_result kms_generate_data_key_without_plaintext(struct kms_ctx *ctx, const json_t *in);
core_result kms_generate_random(struct kms_ctx *ctx, const json_t *in);
core_result kms_get_key_last_usage(struct kms_ctx *ctx, const json_t *in);
core_result kms_generate_mac(struct kms_ctx *ctx, const json_t *in);
core_result kms_derive_shared_secret(struct kms_ctx *ctx, const json_t *in);
core_result kms_generate_data_key_pair(struct kms_ctx *ctx, const json_t *in);
core_result kms_generate_data_key_pair_without_plaintext(struct kms_ctx *ctx, const json_t *in);
core_result kms_get_public_key(struct kms_ctx *ctx, const json_t *in);
core_result kms_sign(struct kms_ctx *ctx, const json_t *in);
core_result kms_verify(struct kms_ctx *ctx, const json_t *in);
core_result kms_verify_mac(struct kms_ctx *ctx, const json_t *in);
core_result kms_get_key_policy(struct kms_ctx *ctx, const json_t *in);
core_result kms_get_key_rotation_status(struct kms_ctx *ctx, const json_t *in);
core_result kms_list_aliases(struct kms_ctx *ctx, const json_t *in);
core_result kms_list_key_rotations(struct kms_ctx *ctx, const json_t *in);
core_result kms_list_keys(struct kms_ctx *ctx, const json_t *in);
core_result kms_list_resource_tags(struct kms_ctx *ctx, const json_t *in);
core_result kms_re_encrypt(struct kms_ctx *ctx, const json_t *in);
core_result kms_rotate_key_on_demand(struct kms_ctx *ctx, const json_t *in);
core_result kms_schedule_key_deletion(struct kms_ctx *ctx, const json_t *in);
core_result kms_tag_resource(struct kms_ctx *ctx, const json_t *in);
core_result kms_untag_resource(struct kms_ctx *ctx, const json_t *in);
core_result kms_update_alias(struct kms_ctx *ctx, const json_t *in);
core_result kms_update_key_description(struct kms_ctx *ctx, const json_t *in);


#include "kms/kms_multi_region_api.h"

#endif
