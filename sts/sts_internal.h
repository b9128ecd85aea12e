#ifndef STS_INTERNAL_H
#define STS_INTERNAL_H

#include <pthread.h>

#include "iam/iam.h"
#include "sts/sts.h"
#include "sts/sts_saml_module.h"

#define STS_TOKEN_VERSION 1u
#define STS_TOKEN_HEADER 29u   /* version + key id + nonce */
#define STS_MAX_TOKEN_KEYS 16u /* keys kept for opening: the current one and 15 predecessors */
/* Room for session policies, policy ARNs and tags inside a token; what
 * PackedPolicySize reports as a percentage of. Keeps tokens well below
 * CORE_MAX_SESSION_TOKEN_BYTES once base64-encoded. */
#define STS_PACKED_BUDGET 4096u
#define STS_MAX_BODY 5800u

struct sts_token_key {
    uint32_t id;
    struct core_secret key;
};

struct sts_env {
    uint64_t instance; /* unique per sts_env_new in this process: keys the session cache */
    struct keystore *ks;
    struct iam_env *iam;
    char default_region[32];
    pthread_rwlock_t lock; /* guards keys/n_keys/current */
    struct sts_token_key keys[STS_MAX_TOKEN_KEYS];
    size_t n_keys;
    uint32_t current;
    int64_t last_reload_ms; /* real clock; reloads on unknown key ids are rate-limited */
    char oidc_issuer[300];  /* GetWebIdentityToken's "iss" */
    json_t *org;            /* AssumeRoot's organization (sts_assume_root.c), NULL when none */
};

struct sts_action;

struct sts_ctx {
    struct sts_env *env;
    const struct sts_action *action; /* the row of the action being served */
    const struct sts_call *call;
    const struct core_principal *caller;
    struct core_reply *out; /* handlers append the inner XML of <ActionResult> to out->body */
};

typedef core_result (*sts_handler_fn)(struct sts_ctx *ctx);

/* Flags of an STS row beyond CORE_ACTION_* (temporary-credential limits:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_request.html). */
#define STS_IDENTITY_AUTHZ CORE_ACTION_SERVICE          /* the dispatcher authorizes row.iam_action (no resource) */
#define STS_FEDERATED_OK (CORE_ACTION_SERVICE << 1)     /* callable with GetFederationToken credentials */
#define STS_SESSION_TOKEN_OK (CORE_ACTION_SERVICE << 2) /* callable with GetSessionToken credentials */

/* One row per action: row.name "AssumeRole", row.iam_action "sts:AssumeRole" (derived), row.flags. */
struct sts_action {
    struct core_action row; /* first member: core_action_find searches the table by it */
    sts_handler_fn fn;
};
#define STS_ROW(name, fn, flags) {CORE_ACTION_ROW("sts", name, (flags)), (fn)}

extern const struct sts_action sts_actions[];
extern const size_t sts_actions_count;
const struct sts_action *sts_action_find(struct core_cursor action);

enum sts_err {
#define X(e, code, status) e,
#include "sts/sts_errors.def"
#undef X
    STS_E_COUNT
};
extern const struct core_wire_error sts_errors[STS_E_COUNT];
/** Records an STS error of the catalogue (sts_errors.def); 4xx are Sender faults: sts_fail(ctx, STS_E_X, fmt, ...). */
#define sts_fail(ctx, e, ...) core_reply_wire((ctx)->out, &sts_errors[(e)], __VA_ARGS__)

/* ---- token keys in the keystore (sts_token_keys.c) ---- */
#define STS_TOKEN_KEY_BYTES 32u
/** Id of the current token key. Errors: ERR_NOT_FOUND (none yet). */
CORE_RESULT sts_token_key_current(struct keystore_txn *txn, uint32_t *id);
/** Reads one token key into guarded memory. Errors: ERR_NOT_FOUND, ERR_TAMPERED. */
CORE_RESULT sts_token_key_read(struct keystore_txn *txn, uint32_t id, struct core_secret *key);
/** Creates a new random key and makes it current (the first one on an empty keystore). */
CORE_RESULT sts_token_key_create(struct keystore_txn *txn, uint32_t *new_id);

/* Opened session tokens, per thread (sts_token.c); sts_env_free purges the env's entries. */
extern struct core_tlcache_def sts_session_cache;

/** Loads the token keys from the keystore (creating the first one). */
CORE_RESULT sts_keys_load(struct sts_env *env);
void sts_keys_free(struct sts_env *env);
/** Seals body under the current key (AD: header || extra_ad) into base64 out. */
CORE_RESULT sts_seal(struct sts_env *env, struct core_cursor body, const char *extra_ad, struct core_buf *out);
/** Opens a base64 blob from sts_seal into plain (a secret buffer). Errors: ERR_AUTH_BAD_TOKEN. */
CORE_RESULT sts_unseal(struct sts_env *env, struct core_cursor b64, const char *extra_ad, struct core_buf *plain,
                       uint32_t *key_id);

/* What a new session is made of (the sealed token's body). */
struct sts_issue {
    enum core_principal_type type;
    const char *account, *arn, *user_id, *role_arn;
    const char *issuer_arn, *issuer_id; /* federated sessions: the issuing user; NULL otherwise */
    int64_t issued, expires;
    bool mfa, chained, has_session_policies;
    struct core_cursor source_identity, policy;
    const struct core_cursor *policy_arns;
    size_t n_policy_arns;
    const struct sts_tag *tags;
    size_t n_tags;
    const struct core_cursor *transitive;
    size_t n_transitive;
};

/** Bytes of session data that count toward STS_PACKED_BUDGET. */
size_t sts_packed_bytes(const struct sts_issue *in);
/**
 * Mints credentials: ASIA key id, secret, sealed token; writes
 * <Credentials>...</Credentials> into the reply body.
 */
CORE_RESULT sts_issue_credentials(struct sts_ctx *ctx, const struct sts_issue *in);

/* Session parameters shared by AssumeRole*, GetFederationToken. */
struct sts_session_params {
    struct core_cursor policy;
    bool have_policy;
    struct core_cursor policy_arns[STS_MAX_POLICY_ARNS];
    size_t n_policy_arns;
    struct query_tag tags[QUERY_MAX_TAGS];
    size_t n_tags;
    struct core_cursor transitive[QUERY_MAX_TAGS];
    size_t n_transitive;
};
/** Reads and validates Policy, PolicyArns (.member.N.arn), Tags, TransitiveTagKeys. */
CORE_RESULT sts_read_session_params(struct sts_ctx *ctx, struct sts_session_params *p, bool tags_allowed);
/**
 * The request's tag keys into pc: aws:RequestTag/<key>, aws:TagKeys and
 * sts:TransitiveTagKeys (what sts:TagSession statements condition on).
 * Errors: ERR_LIMIT (context full).
 */
CORE_RESULT sts_request_tags_context(struct policy_ctx *pc, const struct sts_session_params *sp);
/**
 * Checks an MFA code of the caller's device and spends its time step, in
 * one keystore write: a code is good once (RFC 6238 section 5.2), also when
 * two requests carry it at the same moment.
 * Errors: ERR_NOT_FOUND (no such device for the caller), ERR_AUTH_BAD_SIGNATURE
 * (wrong or already used code), keystore errors.
 */
CORE_RESULT sts_mfa_use_code(struct sts_ctx *ctx, struct core_cursor serial, struct core_cursor code);
/** PackedPolicyTooLarge when over budget; else the percentage. */
CORE_RESULT sts_check_packed(struct sts_ctx *ctx, const struct sts_issue *in, unsigned *percent);

/**
 * Evaluates the role's trust policy for action against ctx_prepared.
 * @param[out] allowed
 */
struct policy_ctx;
CORE_RESULT sts_trust_allows(struct sts_ctx *ctx, const struct iam_role *role, const struct policy_ctx *pctx,
                             bool *allowed);

/* An assumed-role session from an identity provider's assertion (SAML, web identity). */
struct sts_federated_session {
    const struct iam_role *role;
    const struct sts_session_params *sp; /* the provider's session tags */
    struct core_cursor session_name, source_identity; /* source_identity: len 0 when absent */
    int64_t now, expires;
    /* An element the response has between <Credentials> and <AssumedRoleUser>, or NULL. */
    const char *between_name;
    struct core_cursor between_value;
};
/**
 * The end of AssumeRoleWithSAML and AssumeRoleWithWebIdentity, once pc
 * (the trust context) allowed the assume itself: session tags and a source
 * identity from the provider each need their own action allowed by the same
 * trust policy in the same context (sts:TagSession, sts:SetSourceIdentity;
 * pc's action is replaced); then the session is issued and <Credentials>,
 * the between element, <AssumedRoleUser> and <PackedPolicySize> written.
 * Errors: AccessDenied, ExpiredToken (expires not after now),
 * PackedPolicyTooLarge, keystore errors.
 */
CORE_RESULT sts_federated_issue(struct sts_ctx *ctx, struct policy_ctx *pc, const struct sts_federated_session *s);

/* The caller's identity side for one request (sts_authz.c). */
struct sts_identity {
    struct iam_session_info info;
    const struct iam_session_info *session; /* &info, or NULL for long-term credentials */
    const struct iam_identity *id;          /* NULL: no identity-based permissions */
    bool failed; /* the caller's policies could not be read: its explicit Denies are unknown, so refuse */
};
/** The authorization view of an opened session. */
void sts_session_info(const struct sts_session *s, struct iam_session_info *out);
/** Acquires the caller's identity policies (release with sts_identity_end). */
CORE_RESULT sts_identity_begin(struct sts_ctx *ctx, struct sts_identity *out);
void sts_identity_end(struct sts_ctx *ctx, struct sts_identity *id);
/** The global condition keys of this request into pc (principal, time, IP, tags...). */
CORE_RESULT sts_request_context(struct sts_ctx *ctx, const struct sts_identity *id, struct policy_ctx *pc);
/** action allowed by the caller's identity-based policies, else AccessDenied (403) in AWS's words. */
CORE_RESULT sts_authorize_identity(struct sts_ctx *ctx, const char *action, const char *resource);
/** The same, with the request's session tags in the context (aws:RequestTag/KEY, aws:TagKeys); sp may be NULL. */
CORE_RESULT sts_authorize_identity_tags(struct sts_ctx *ctx, const char *action, const char *resource,
                                        const struct sts_session_params *sp);
/**
 * The role's trust policy combined with the caller's identity side (AWS's
 * evaluation: a trust policy naming the caller directly suffices in the
 * same account; otherwise the identity policies must allow too).
 */
CORE_RESULT sts_trust_authorize(struct sts_ctx *ctx, const struct sts_identity *id, const struct iam_role *role,
                                const struct policy_ctx *pc, bool *allowed);

/* JWT (RFC 7519) with RS256/ES256 against a JWKS. */
enum sts_jwt_status {
    STS_JWT_OK,
    STS_JWT_MALFORMED,
    STS_JWT_BAD_SIGNATURE,
    STS_JWT_NO_KEY,
};
/** Splits and decodes; *header and *claims new references. Errors: ERR_PARSE. */
CORE_RESULT sts_jwt_decode(struct core_cursor token, json_t **header, json_t **claims);
/** Verifies the signature with a key from jwks. */
enum sts_jwt_status sts_jwt_verify_signature(struct core_cursor token, const json_t *header, const json_t *jwks);

/* kmsd's own OIDC issuer (sts_oidc.c), for GetWebIdentityToken. */
#define STS_OIDC_ROTATE_S (30 * 86400) /* a signing key older than this is replaced at the next token */
#define STS_OIDC_KEEP 3u               /* keys kept (and published) per algorithm */
struct evp_pkey_st;
/** Base64url without padding (RFC 7515 section 2), appended. */
CORE_RESULT sts_b64url(struct core_buf *out, struct core_cursor in);
/**
 * The current signing key for alg ("RS256" or "ES384"), created or rotated
 * first when it is missing or older than STS_OIDC_ROTATE_S at now.
 * @param[out] key caller EVP_PKEY_free()s. @param[out] kid its key id.
 * Errors: ERR_INVALID_ARG (alg), ERR_CRYPTO, ERR_TAMPERED, keystore errors.
 */
CORE_RESULT sts_oidc_signing_key(struct sts_env *env, const char *alg, int64_t now, struct evp_pkey_st **key,
                                 char kid[40]);
/** Signs claims as a compact JWS (header alg, kid, typ JWT) appended to out. Errors: ERR_CRYPTO, ERR_LIMIT. */
CORE_RESULT sts_jwt_sign(struct evp_pkey_st *key, const char *alg, const char *kid, const json_t *claims,
                         struct core_buf *out);

/* AssumeRoot's organization (sts_assume_root.c). */
/** Reads the organization file given to sts_env_new. Errors: ERR_IO, ERR_PARSE. */
CORE_RESULT sts_org_load(struct sts_env *env, const char *path);

/* SAML 2.0 responses (sts_saml.c): signature verified with libxmlsec1, in
 * the loadable module kmsd-saml.so (sts/sts_saml_module.h). */
/**
 * Decodes the base64 SAMLResponse, verifies its signature(s) with one of
 * certs (base64 DER, from the provider's metadata) and reads the Assertion.
 * @param[out] out new JSON on STS_SAML_OK: issuer, name_id, name_format,
 *     recipient, audiences[], has_audience_restriction, n_confirmations,
 *     issue_instant, not_before, not_on_or_after, sc_not_on_or_after,
 *     session_not_on_or_after (epoch seconds, each absent when the
 *     assertion has none) and attrs {Name: [values]}.
 * @return STS_SAML_UNAVAILABLE when kmsd-saml.so cannot be loaded (logged).
 */
enum sts_saml_status sts_saml_verify(struct core_cursor b64, const json_t *certs, json_t **out);

core_result sts_get_caller_identity(struct sts_ctx *ctx);
core_result sts_assume_role_with_saml(struct sts_ctx *ctx);
core_result sts_get_web_identity_token(struct sts_ctx *ctx);
core_result sts_assume_root(struct sts_ctx *ctx);
core_result sts_get_delegated_access_token(struct sts_ctx *ctx);
core_result sts_get_session_token(struct sts_ctx *ctx);
core_result sts_assume_role(struct sts_ctx *ctx);
core_result sts_assume_role_with_web_identity(struct sts_ctx *ctx);
core_result sts_get_federation_token(struct sts_ctx *ctx);
core_result sts_get_access_key_info(struct sts_ctx *ctx);
core_result sts_decode_authorization_message(struct sts_ctx *ctx);

#endif
