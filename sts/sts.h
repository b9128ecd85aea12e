#ifndef STS_H
#define STS_H

/*
 * AWS STS (Query protocol, version 2011-06-15): form-encoded requests, XML
 * responses. The server hands over an authenticated (or, for the
 * web-identity actions, unsigned) call; sts_handle() renders the reply.
 */

#include "core/core.h"
#include "keystore/keystore.h"

#define STS_XMLNS "https://sts.amazonaws.com/doc/2011-06-15/"
#define STS_VERSION "2011-06-15"

struct sts_env;

struct iam_env;

struct sts_env_options {
    struct keystore *ks;
    const char *default_region;
    struct iam_env *iam; /* callers' identity policies (sts:AssumeRole, ...); NULL: not checked */
    const char *oidc_issuer;       /* GetWebIdentityToken's "iss" (no trailing slash); NULL: http://localhost */
    const char *organization_file; /* AssumeRoot's organization (JSON); NULL: none */
};

/*
 * Temporary credentials. A session token is a self-contained blob:
 *   version (1) | token-key id (4, big-endian) | nonce (24) | XChaCha20-Poly1305(body) | tag (16)
 * base64-encoded, with the first 29 bytes as associated data. The body
 * carries the secret, the access key id, expiry, the principal and the
 * session's policies, tags, source identity and flags, so verifying a
 * request signed with temporary credentials reads no database and works in
 * any process that shares the keystore (docs/sts.md, "Session tokens").
 */
#define STS_MAX_POLICY_ARNS 10u
#define STS_MAX_SESSION_TAGS 50u

struct sts_tag {
    struct core_cursor key, value;
};

/* An opened session token. Cursors point into plain (guarded memory). */
struct sts_session {
    struct core_principal principal;    /* type, arn, user_id, account, mfa, token times; temporary=true */
    struct core_buf plain;              /* the opened body; secret, wiped by sts_session_free */
    struct core_cursor secret;          /* the secret access key */
    struct core_cursor role_arn;        /* assumed role: IAM role ARN with path; federated: = issuer_arn */
    /* Federated sessions (GetFederationToken): the IAM user that issued it, as
     * its ARN with path (arn:aws:iam::ACCT:user/PATH/NAME, or ...:root) and its
     * unique id (AIDA..., or the account id for root). Policies naming the
     * issuing user apply to all its federated users ("Deny on an IAM user
     * reaches its federated sessions"). Empty for every other session. */
    struct core_cursor issuer_arn;
    struct core_cursor issuer_id;
    struct core_cursor source_identity; /* empty when none */
    struct core_cursor policy;          /* inline session policy, empty when none */
    struct core_cursor policy_arns[STS_MAX_POLICY_ARNS];
    size_t n_policy_arns;
    struct sts_tag tags[STS_MAX_SESSION_TAGS];
    size_t n_tags;
    struct core_cursor transitive[STS_MAX_SESSION_TAGS]; /* transitive session-tag keys */
    size_t n_transitive;
    bool chained;              /* issued by role chaining */
    bool has_session_policies; /* Policy/PolicyArns given, or a federation token */
    uint32_t key_id;           /* token key that sealed it */
};

/**
 * Opens and checks a session token: the AEAD tag (constant time), that it
 * names access_key_id, and its expiry against now (service clock). Token
 * keys are cached unsealed in guarded memory; a token sealed under a key the
 * cache does not hold yet (rotated by another process) triggers at most one
 * keystore reload per second.
 * @param[in] token base64 text as sent in X-Amz-Security-Token.
 * @param[out] out caller sts_session_free()s, also on failure.
 * Errors: ERR_AUTH_BAD_TOKEN (not ours, altered, unknown key, wrong key id),
 * ERR_AUTH_EXPIRED_TOKEN, ERR_NOMEM.
 */
CORE_RESULT sts_session_open(struct sts_env *env, struct core_cursor token, struct core_cursor access_key_id,
                             int64_t now, struct sts_session *out);
/** Wipes and frees. Safe on a zeroed struct. */
void sts_session_free(struct sts_session *s);

struct iam_session_info;
/**
 * The authorization view of an opened session (role, source identity,
 * session policies and tags), for KMS and IAM authorization.
 * @param[out] out views into s: valid while s is open.
 */
void sts_session_info(const struct sts_session *s, struct iam_session_info *out);

/**
 * Creates a new token key and makes it current; tokens sealed under older
 * keys stay valid until they expire. Running servers pick the new key up
 * within a second of seeing a token sealed with it, and for new tokens at
 * their next issue.
 * Errors: keystore errors.
 */
CORE_RESULT sts_token_key_rotate(struct keystore *ks, uint32_t *new_id);

/**
 * Seals an authorization-failure description (JSON text) into the opaque
 * string AWS puts in "Encoded authorization failure message: ...", which
 * DecodeAuthorizationMessage opens. Uses the current token key with its own
 * associated data, so a message is never mistaken for a session token.
 * @param[out] out receives base64 text.
 * Errors: ERR_LIMIT, ERR_NOMEM, keystore errors.
 */
CORE_RESULT sts_authz_message_encode(struct sts_env *env, struct core_cursor json_text, struct core_buf *out);

CORE_RESULT sts_env_new(const struct sts_env_options *opts, struct sts_env **out);
void sts_env_free(struct sts_env *env);

struct sts_call {
    const struct core_principal *caller; /* anonymous for unsigned actions */
    const struct core_form *form;        /* decoded request parameters */
    const char *request_id;
    const char *source_ip;
    bool secure_transport;
    int64_t now; /* service clock */
    const struct sts_session *session; /* the caller's session (temporary credentials), else NULL */
};

/**
 * Runs one STS call; the reply is always filled (XML result or error).
 * @return the failure class for logging.
 */
CORE_RESULT sts_handle(struct sts_env *env, const struct sts_call *call, struct core_reply *out);

/**
 * The issuer's OIDC documents, served unauthenticated: path (the raw request
 * path) "<issuer path>/.well-known/openid-configuration" or ".../jwks.json".
 * @param[out] out the JSON document; @param[out] found false for any other path.
 * Errors: keystore errors, ERR_TAMPERED, ERR_NOMEM.
 */
CORE_RESULT sts_oidc_well_known(struct sts_env *env, struct core_cursor path, struct core_buf *out, bool *found);

/** True for actions AWS serves without a signature (AssumeRoleWithWebIdentity, ...WithSAML). */
bool sts_action_is_unsigned(struct core_cursor action);
/** True for actions whose row says they write to the keystore (served on the writer pool). */
bool sts_action_writes(struct core_cursor action);

#endif
