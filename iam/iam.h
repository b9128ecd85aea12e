#ifndef IAM_H
#define IAM_H

/*
 * IAM identities as the server needs them: accounts, users and their access
 * keys, stored in the keystore. The IAM Query API (CreateUser, CreateRole,
 * ...) is served from this module too; this header is what the server and
 * kmsctl use to authenticate requests and bootstrap the administrator.
 */

#include "core/core.h"
#include "keystore/keystore.h"
#include "query/query.h"

#define IAM_ACCESS_KEY_ID_LEN 20u
#define IAM_SECRET_KEY_LEN 40u

/* A service name for a key acting via an AWS service ("s3"): [a-z0-9-], 2..32 chars. */
#define IAM_VIA_SERVICE_MIN 2u
#define IAM_VIA_SERVICE_MAX 32u

/* A long-term access key and the identity it belongs to. */
struct iam_access_key {
    char id[IAM_ACCESS_KEY_ID_LEN + 12]; /* AKIA + 16 base32 chars (fixtures may differ) */
    struct core_principal owner;         /* who signs with it; owner.via_service from the record */
    char user_name[72];                  /* IAM user name, "" for root */
    bool active;                         /* Active / Inactive */
    int64_t created;                     /* epoch seconds, service clock */
    struct core_secret secret;           /* guarded memory; iam_access_key_free wipes it */
};

/**
 * True when s names an AWS service the way a "via service" access key
 * stores it: IAM_VIA_SERVICE_MIN..IAM_VIA_SERVICE_MAX characters of
 * [a-z0-9-] ("s3", "secretsmanager").
 */
bool iam_via_service_valid(const char *s);

/** Wipes and frees the secret. Safe on a zeroed struct. */
void iam_access_key_free(struct iam_access_key *k);

/**
 * Reads an access key, owner.via_service included ("" when the record has
 * no "via_service", as every record written before it existed).
 * @param[out] out secret in guarded memory; caller iam_access_key_free()s.
 * Errors: ERR_NOT_FOUND, ERR_TAMPERED, ERR_PARSE (also a via_service that
 *     iam_via_service_valid() refuses).
 */
CORE_RESULT iam_access_key_get(struct keystore_txn *txn, struct core_cursor id, struct iam_access_key *out);
/**
 * Stores an access key; "via_service" only when owner.via_service is set.
 * Errors: ERR_EXISTS (id taken), ERR_INVALID_ARG (invalid via_service),
 *     keystore errors.
 */
CORE_RESULT iam_access_key_put(struct keystore_txn *txn, const struct iam_access_key *k);
/** Errors: ERR_NOT_FOUND. */
CORE_RESULT iam_access_key_delete(struct keystore_txn *txn, struct core_cursor id);

/** Generates an access key id: prefix ("AKIA"/"ASIA") + 16 chars of [A-Z2-7]. */
void iam_generate_key_id(const char *prefix, char out[IAM_ACCESS_KEY_ID_LEN + 1]);
/** Generates a 40-character secret access key into guarded memory. */
CORE_RESULT iam_generate_secret(struct core_secret *out);
/** Generates a unique id such as "AIDA" + 17 chars of [A-Z2-7]. */
void iam_generate_unique_id(const char *prefix, char out[32]);

/** Fills a principal for an IAM user of the account. */
void iam_principal_user(struct core_principal *p, const char *account, const char *path, const char *name,
                        const char *user_id);
/** Fills a principal for an account's root user. */
void iam_principal_root(struct core_principal *p, const char *account);

/**
 * On an empty keystore, creates the administrator user "admin" of account,
 * holding arn:aws:iam::aws:policy/AdministratorAccess like any user could,
 * and an access key for it. With an existing keystore, does nothing.
 * @param[out] admin receives the new key when created (else zeroed);
 * caller iam_access_key_free()s.
 * @param[out] created whether the administrator was created now.
 */
CORE_RESULT iam_bootstrap(struct keystore *ks, const char *account, struct iam_access_key *admin, bool *created);

/* ------------------------------------------------------------------------
 * Entities the STS side reads (roles, users, OIDC providers, managed
 * policies). Records live in the keystore, one JSON document per entity,
 * keyed "ACCOUNT/lower-case-name" so names are unique case-insensitively as
 * in AWS ("names are not distinguished by case").
 * ------------------------------------------------------------------------ */

#define IAM_MAX_NAME 64u
#define IAM_MAX_PATH 512u

/* A role as AssumeRole needs it. */
struct iam_role {
    char account[16];
    char name[IAM_MAX_NAME + 8];
    char path[IAM_MAX_PATH + 8];
    char arn[IAM_MAX_PATH + IAM_MAX_NAME + 64]; /* arn:aws:iam::ACCT:role/PATH/NAME */
    char role_id[32];                           /* AROA... */
    unsigned max_session;                       /* seconds, 3600..43200 */
    struct core_buf trust;                      /* the trust policy document as stored */
};
void iam_role_free(struct iam_role *r);

/**
 * Reads a role by name (case-insensitive).
 * @param[out] out caller iam_role_free()s, also on failure.
 * Errors: ERR_NOT_FOUND, ERR_TAMPERED, ERR_PARSE, ERR_NOMEM.
 */
CORE_RESULT iam_role_get(struct keystore_txn *txn, const char *account, struct core_cursor name,
                         struct iam_role *out);

/**
 * Splits "arn:aws:iam::ACCT:role/PATH/NAME".
 * @param[out] account 12 digits + NUL. @param[out] name borrowed view into arn.
 * Errors: ERR_PARSE.
 */
CORE_RESULT iam_parse_role_arn(struct core_cursor arn, char account[16], struct core_cursor *name);

/** Reads a user (case-insensitive name) into a principal. Errors: ERR_NOT_FOUND, ERR_PARSE. */
CORE_RESULT iam_user_principal(struct keystore_txn *txn, const char *account, struct core_cursor name,
                               struct core_principal *out);

/**
 * The user name of account (case-insensitive) as a principal, creating the
 * user (path "/", no policies, a new AIDA id) when it does not exist; for
 * tools that issue keys outside the IAM API (kmsctl access-key add --user).
 * @param[out] out the user's principal: stored path, name and unique id.
 * @param[out] user_name the name as stored (at most IAM_MAX_NAME + NUL).
 * @param[out] created whether the user was created now.
 * Errors: ERR_INVALID_ARG (not an IAM user name: 1..64 of [\w+=,.@-]),
 *     ERR_PARSE (unreadable record), keystore errors.
 */
CORE_RESULT iam_user_ensure(struct keystore_txn *txn, const char *account, struct core_cursor name, int64_t now,
                            struct core_principal *out, char user_name[IAM_MAX_NAME + 1], bool *created);

/**
 * Principals of resource and trust policies are stored as unique ids
 * (docs/authorization.md, "Principal unique ids"). Rewrites every IAM user
 * or role ARN in a Principal/NotPrincipal "AWS" entry of doc to the unique
 * id (AIDA.../AROA...) of the user or role it names; unique ids are kept
 * when they name a live user or role. Everything else is copied byte for
 * byte. Call it on a document the policy engine accepts.
 * @param[out] out the document to store (core_buf_init'ed by the caller,
 *     room for doc.len bytes at least).
 * @param[out] bad on ERR_PARSE, the principal that names no user or role
 *     (NUL-terminated, capped to bad_cap); may be NULL.
 * Errors: ERR_PARSE (invalid principal), ERR_LIMIT (out full), keystore errors.
 */
CORE_RESULT iam_policy_principals_store(struct keystore_txn *txn, struct core_cursor doc, struct core_buf *out,
                                        char *bad, size_t bad_cap);
/**
 * The reverse, for display: unique ids of users and roles that still exist
 * become their ARNs (path included); ids of deleted principals stay.
 * Errors: ERR_LIMIT (out full: give it room for the ARNs), keystore errors.
 */
CORE_RESULT iam_policy_principals_show(struct keystore_txn *txn, struct core_cursor doc, struct core_buf *out);
/** Either of the two above in a read transaction of its own (store: true for _store). */
CORE_RESULT iam_policy_principals_ks(struct keystore *ks, bool store, struct core_cursor doc, struct core_buf *out,
                                     char *bad, size_t bad_cap);

/** True when a managed policy with this ARN exists. Errors: keystore errors. */
CORE_RESULT iam_managed_policy_exists(struct keystore_txn *txn, struct core_cursor arn, bool *exists);

/* An OpenID Connect provider: where its tokens come from and which keys sign them. */
struct iam_oidc_provider {
    char arn[320];  /* arn:aws:iam::ACCT:oidc-provider/HOST/PATH */
    char url[272];  /* HOST/PATH: the issuer without "https://" */
    json_t *client_ids; /* array of strings */
    json_t *jwks;       /* {"keys":[...]} or NULL when none was supplied */
};
void iam_oidc_provider_free(struct iam_oidc_provider *p);
/**
 * Reads the provider whose issuer is url ("https://" already stripped).
 * Errors: ERR_NOT_FOUND, ERR_TAMPERED, ERR_PARSE.
 */
CORE_RESULT iam_oidc_get(struct keystore_txn *txn, const char *account, struct core_cursor url,
                         struct iam_oidc_provider *out);
/**
 * Installs the provider's signing keys (a JWKS document, {"keys":[...]}),
 * since kmsd cannot fetch them from the issuer. The provider must exist.
 * Errors: ERR_NOT_FOUND, ERR_PARSE (not a JWKS), ERR_LIMIT, keystore errors.
 */
CORE_RESULT iam_oidc_set_jwks(struct keystore_txn *txn, const char *account, struct core_cursor url,
                              struct core_cursor jwks_json);

/* A SAML 2.0 identity provider as AssumeRoleWithSAML needs it (iam_api_saml.c). */
#define IAM_SAML_MAX_METADATA 200000u /* bytes of metadata kept per provider (record cap) */
#define IAM_SAML_MAX_CERTS 8u          /* signing certificates kept per provider */
struct iam_saml_provider {
    char arn[320];     /* arn:aws:iam::ACCT:saml-provider/NAME */
    char name[136];    /* NAME as created */
    char issuer[1032]; /* the IdP's entityID from its metadata */
    json_t *certs;     /* array of base64 DER signing certificates (at least one) */
};
void iam_saml_provider_free(struct iam_saml_provider *p);
/**
 * Reads the provider name of account (case-insensitive lookup: compare
 * out->arn with the ARN asked for).
 * @param[out] out caller iam_saml_provider_free()s, also on failure.
 * Errors: ERR_NOT_FOUND, ERR_TAMPERED, ERR_PARSE.
 */
CORE_RESULT iam_saml_get(struct keystore_txn *txn, const char *account, struct core_cursor name,
                         struct iam_saml_provider *out);
/**
 * Reads SAML 2.0 metadata (an md:EntityDescriptor with an IDPSSODescriptor)
 * with libxml2: no DTD, no entities, no network. The XML is read by the
 * loadable module kmsd-saml-metadata.so (iam/iam_saml_module.h), loaded on
 * the first call.
 * @param[out] out new {"issuer": entityID, "certs": [base64 DER...], "valid_until": epoch or 0}.
 * Errors: ERR_PARSE (not metadata, no signing certificate, a certificate that is not X.509),
 * ERR_IO (kmsd-saml-metadata.so cannot be loaded; logged).
 */
CORE_RESULT iam_saml_metadata_parse(struct core_cursor doc, json_t **out);

/** Whether outbound identity federation (GetWebIdentityToken) is on for account. Errors: keystore errors. */
CORE_RESULT iam_outbound_enabled(struct keystore_txn *txn, const char *account, bool *enabled);

/* TOTP (RFC 6238): HMAC-SHA1, 6 digits, 30-second steps. */
CORE_RESULT iam_totp(struct core_cursor seed, int64_t step, char out[7]);
/**
 * Checks a 6-digit code against the user's enabled virtual MFA device
 * serial, at now with one step of tolerance either way. A code of a time
 * step at or before the device's last used step ("last_step", set by
 * iam_mfa_set_last_step) is refused: "The verifier MUST NOT accept the
 * second attempt of the OTP after the successful validation has been issued
 * for the first OTP" (RFC 6238 section 5.2).
 * @param[out] step the time step the code belongs to (for iam_mfa_set_last_step).
 * Errors: ERR_NOT_FOUND (no such device / not enabled for the user),
 * ERR_AUTH_BAD_SIGNATURE (wrong or already used code).
 */
CORE_RESULT iam_mfa_check_code(struct keystore_txn *txn, const char *account, struct core_cursor serial,
                               const char *user_arn, struct core_cursor code, int64_t now, int64_t *step);
/**
 * Records step as the device's last used time step, in the same write
 * transaction as the iam_mfa_check_code() that returned it, so two requests
 * with one code cannot both pass.
 * Errors: ERR_NOT_FOUND, keystore errors.
 */
CORE_RESULT iam_mfa_set_last_step(struct keystore_txn *txn, const char *account, struct core_cursor serial,
                                  int64_t step);


/* ------------------------------------------------------------------------
 * The IAM Query API (version 2010-05-08), served on the same endpoint.
 * ------------------------------------------------------------------------ */

#define IAM_XMLNS "https://iam.amazonaws.com/doc/2010-05-08/"
#define IAM_API_VERSION "2010-05-08"

struct iam_env;

struct iam_env_options {
    struct keystore *ks;
    const char *account; /* the server's account, for ids it issues */
    const char *oidc_issuer; /* GetWebIdentityToken's issuer URL; NULL: http://localhost */
};

CORE_RESULT iam_env_new(const struct iam_env_options *opts, struct iam_env **out);
void iam_env_free(struct iam_env *env);

struct iam_call {
    const struct core_principal *caller;
    const struct core_form *form;
    const char *request_id;
    int64_t now; /* service clock */
    const struct iam_session_info *session; /* temporary credentials, else NULL */
    const char *source_ip;
    bool secure_transport;
};

/**
 * Runs one IAM call; the reply is always filled (XML or error).
 * @return the failure class for logging.
 */
CORE_RESULT iam_handle(struct iam_env *env, const struct iam_call *call, struct core_reply *out);
/** True for IAM actions whose row says they write to the keystore (served on the writer pool). */
bool iam_action_writes(struct core_cursor action);

/* ------------------------------------------------------------------------
 * Authorization: the caller's identity side (docs/authorization.md).
 *
 * For a principal (and its session, for temporary credentials) the compiled
 * identity-based policies (user: inline + attached managed; role session:
 * the role's inline + attached managed), the permissions boundary and the
 * session policies (inline Policy + PolicyArns), compiled once and kept in a
 * small per-process cache keyed by principal (or by session for sessions
 * with session policies). Every IAM write in this process invalidates the
 * cache at once (a generation counter); writes by other processes sharing
 * the keystore are picked up within IAM_AUTHZ_TTL_MS.
 * ------------------------------------------------------------------------ */


#define IAM_AUTHZ_TTL_MS 2000
#define IAM_AUTHZ_CACHE_MAX 1024u  /* entries; idle ones are dropped beyond this */
#define IAM_AUTHZ_MAX_POLICIES 64u /* identity policies of one principal (inline + attached) */

struct policy;
struct policy_ctx;
struct policy_verdict;

/* What a session token says about the caller's permissions; borrowed views. */
struct iam_session_info {
    struct core_cursor role_arn;        /* assumed role: role ARN with path; federated: issuing user's ARN */
    struct core_cursor source_identity; /* empty when none */
    struct core_cursor policy;          /* inline session policy, empty when none */
    struct core_cursor policy_arns[10];
    size_t n_policy_arns;
    bool has_session_policies;
    struct query_tag tags[QUERY_MAX_TAGS];  /* session tags */
    size_t n_tags;
};

/* A caller's compiled identity side. Immutable while acquired. */
struct iam_identity {
    const struct policy *const *identity; /* identity-based policies */
    size_t identity_count;
    const struct policy *boundary;        /* NULL when none */
    const struct policy *const *session;  /* session policies */
    size_t session_count;
    bool has_session_policies;
    bool full_access;                     /* account root, unverified mode (never an IAM user) */
    const struct query_tag *tags;           /* the user's or role's tags (aws:PrincipalTag) */
    size_t n_tags;
};

/**
 * The identity side of p. Roots and principals of the opt-in unverified
 * mode get full access (an allow-all identity policy): IAM policies cannot
 * restrict an account's root user. The bootstrap administrator is an
 * ordinary user holding AdministratorAccess. Anonymous callers get nothing.
 * @param[in] s the caller's session (temporary credentials), else NULL.
 * @param[out] out valid until iam_identity_release(env, *out).
 * Errors: ERR_NOMEM, keystore errors; ERR_PARSE when a stored document no
 *     longer compiles (callers deny).
 */
CORE_RESULT iam_identity_acquire(struct iam_env *env, const struct core_principal *p,
                                 const struct iam_session_info *s, const struct iam_identity **out);
/** Releases an identity from iam_identity_acquire(); NULL is a no-op. */
void iam_identity_release(struct iam_env *env, const struct iam_identity *id);
/** Drops every cached identity (called by IAM writes). */
void iam_identity_invalidate(struct iam_env *env);

/* What a request context needs besides action and resource. */
struct iam_request_facts {
    const struct core_principal *principal;
    const struct iam_session_info *session; /* NULL for long-term credentials */
    const struct iam_identity *identity;    /* NULL: no principal tags */
    const char *source_ip;                  /* NULL or "" when unknown */
    bool secure_transport;
    const char *region;                     /* aws:RequestedRegion */
    int64_t now;                            /* service clock, seconds */
};

/**
 * Fills the global condition keys every service shares: the principal
 * (aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType, aws:userid,
 * aws:username), aws:CurrentTime, aws:EpochTime, aws:SourceIp,
 * aws:SecureTransport, aws:MultiFactorAuthPresent, aws:MultiFactorAuthAge,
 * aws:TokenIssueTime, aws:SourceIdentity, aws:PrincipalTag/<k> (session tags
 * override the user's or role's), aws:ViaAWSService (true only for keys
 * acting via a service, principal->via_service) and aws:RequestedRegion.
 * Cursors are borrowed from f (keep it alive while pc is used).
 * Errors: ERR_LIMIT (context full), ERR_PARSE (principal ARN shape).
 */
CORE_RESULT iam_request_context(struct policy_ctx *pc, const struct iam_request_facts *f);

/**
 * Identity-side-only evaluation (IAM, STS and KMS actions with no key):
 * the identity policies, boundary and session policies of id.
 * Errors: as policy_authorize().
 */
CORE_RESULT iam_authorize_identity(const struct iam_identity *id, const struct policy_ctx *pc,
                                   struct policy_verdict *out);

/** Appends <tag>ISO 8601 time</tag>. */
CORE_RESULT iam_xml_time(struct core_buf *b, const char *tag, int64_t t);

#endif
