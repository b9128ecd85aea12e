#ifndef POLICY_POLICY_H
#define POLICY_POLICY_H

/*
 * The IAM policy language, shared by KMS (key policies), STS (role trust
 * policies) and IAM (identity policies, permissions boundaries, session
 * policies).
 *
 * Life cycle:
 *   1. policy_parse() once, when a document is stored (PutKeyPolicy,
 *      CreateRole, PutUserPolicy, AssumeRole's Policy parameter...). It
 *      validates the document the way AWS does and compiles it into one
 *      arena: lower-cased action patterns, wildcard/variable patterns,
 *      pre-parsed numbers, dates, CIDRs and base64 values, hashed condition
 *      keys. No JSON survives compilation.
 *   2. Per request, fill a struct policy_ctx on the stack (no heap): the
 *      principal, action, resource and condition keys.
 *   3. policy_evaluate() for one policy, or policy_authorize() for AWS's
 *      whole evaluation flow (explicit deny, resource policy, identity
 *      policies, permissions boundary, session policies).
 *
 * A compiled struct policy is immutable and may be shared by any number of
 * threads. A struct policy_ctx belongs to one request (one thread).
 *
 * The semantics implemented, and where they come from in AWS's IAM User
 * Guide, are written down in docs/policy.md.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core_buf.h"
#include "core/core_identity.h"
#include "core/core_result.h"

/* Parser caps. Document size is the caller's (it differs per service). */
#define POLICY_MAX_STATEMENTS 512u        /* per document */
#define POLICY_MAX_CONDITION_VALUES 4096u /* all condition values of one document */
#define POLICY_MAX_ELEMENT_VALUES 1024u   /* entries of one Action/Resource/Principal list */
#define POLICY_MAX_JSON_DEPTH 8u          /* a valid policy nests 6 deep at most */
#define POLICY_MAX_RAW_BYTES (512u * 1024u)

/* Document size limits AWS applies, for callers to pass as max_bytes. */
#define POLICY_KMS_KEY_POLICY_MAX_BYTES 32768u
#define POLICY_IAM_MANAGED_MAX_CHARS 6144u
#define POLICY_IAM_USER_INLINE_MAX_CHARS 2048u
#define POLICY_IAM_ROLE_INLINE_MAX_CHARS 10240u
#define POLICY_IAM_GROUP_INLINE_MAX_CHARS 5120u
#define POLICY_IAM_TRUST_MAX_CHARS 2048u
#define POLICY_STS_SESSION_MAX_CHARS 2048u

/* Request-context capacity (struct policy_ctx lives on the stack). */
#define POLICY_CTX_MAX_KEYS 160u
#define POLICY_CTX_MAX_VALUES 384u
#define POLICY_CTX_SCRATCH_BYTES 12288u
#define POLICY_CTX_MAX_CHAIN 4u

/** Which validation rules a document follows. */
enum policy_kind {
    /* Identity-based policy, permissions boundary or session policy: no
     * Principal/NotPrincipal; Resource or NotResource required. */
    POLICY_KIND_IDENTITY,
    /* Resource-based policy (KMS key policy): Principal or NotPrincipal
     * required; Resource or NotResource required. */
    POLICY_KIND_RESOURCE,
    /* Role trust policy: Principal or NotPrincipal required; Resource and
     * NotResource prohibited. */
    POLICY_KIND_TRUST,
};

/** What was wrong with a document, for callers that word errors their own way. */
enum policy_problem {
    POLICY_PROBLEM_NONE,
    POLICY_PROBLEM_SYNTAX,       /* not JSON, duplicate key, wrong JSON type, unknown field */
    POLICY_PROBLEM_SIZE,         /* over max_bytes or a count cap (returned as ERR_LIMIT) */
    POLICY_PROBLEM_VERSION,      /* Version not 2008-10-17 / 2012-10-17 */
    POLICY_PROBLEM_STATEMENT,    /* missing/duplicate fields, bad Effect, bad Sid */
    POLICY_PROBLEM_PRINCIPAL,    /* invalid principal, or Principal where not allowed */
    POLICY_PROBLEM_ACTION,       /* bad action */
    POLICY_PROBLEM_RESOURCE,     /* bad resource, or Resource where not allowed */
    POLICY_PROBLEM_CONDITION,    /* unknown operator, bad key, bad value */
};

struct policy_parse_opts {
    enum policy_kind kind;
    /* Size cap; 0 means POLICY_KMS_KEY_POLICY_MAX_BYTES. Counted in bytes
     * of UTF-8 (so never more lenient than AWS's character count). */
    size_t max_bytes;
    /* IAM does not count whitespace outside strings toward the size quota;
     * KMS counts every byte. */
    bool ignore_whitespace;
};

/** A compiled, immutable policy document (opaque). */
struct policy;

/**
 * Validates and compiles a policy document.
 *
 * @param[in] opts kind and size cap.
 * @param[in] text the JSON document; not retained.
 * @param[out] out on success a new policy owned by the caller
 *     (policy_free()); NULL on failure.
 * @param[out] reason optional: on ERR_PARSE/ERR_LIMIT receives a message in
 *     AWS's MalformedPolicyDocument wording ("Policy document should not
 *     specify a principal."), with echoed values escaped and capped. May be
 *     NULL.
 * @param[out] problem optional: the class of problem. May be NULL.
 * Errors: ERR_PARSE (malformed), ERR_LIMIT (size or count cap),
 *     ERR_NOMEM, ERR_INVALID_ARG (NULL opts/out).
 */
CORE_RESULT policy_parse(const struct policy_parse_opts *opts, struct core_cursor text,
                         struct policy **out, struct core_buf *reason, enum policy_problem *problem);

/** Frees a policy from policy_parse(); NULL is a no-op. */
void policy_free(struct policy *p);
/** DEFER_CLEANUP adaptor. */
void policy_cleanup(struct policy **p);

/**
 * 'U' when s is an IAM user's unique id ("AIDA" + 17 of [A-Z0-9]), 'R' for
 * a role's ("AROA" + 17), else 0.
 */
char policy_unique_id_kind(struct core_cursor s);

/** Number of statements. */
size_t policy_statement_count(const struct policy *p);
/** Sid of statement i, or an empty cursor; borrowed until policy_free(). */
struct core_cursor policy_statement_sid(const struct policy *p, size_t i);
/** True when the document's Version is 2012-10-17 (variables are live). */
bool policy_version_2012(const struct policy *p);
/** Bytes the compiled form occupies (for cache accounting). */
size_t policy_compiled_bytes(const struct policy *p);

/* ------------------------------------------------------------------------
 * Request context
 * ------------------------------------------------------------------------ */

/* One link of the caller's identity chain, used for Principal matching. */
enum policy_id_kind {
    POLICY_ID_ACCOUNT,   /* value: 12-digit account id */
    POLICY_ID_ROOT,      /* value: account id; the caller IS the account root */
    POLICY_ID_USER,      /* value: user ARN */
    POLICY_ID_ROLE,      /* value: role name; account from the chain */
    POLICY_ID_SESSION,   /* value: assumed-role or federated-user ARN */
    POLICY_ID_SERVICE,   /* value: service principal, "kms.amazonaws.com" */
    POLICY_ID_FEDERATED, /* value: identity provider (host or provider ARN) */
    POLICY_ID_ANONYMOUS, /* matched only by "*" */
    /* value: ARN of the IAM user that issued a federated session. Matched
     * only by a Deny statement's Principal naming that user. */
    POLICY_ID_ISSUER,
};

struct policy_ctx_id {
    enum policy_id_kind kind;
    struct core_cursor value;
    /* POLICY_ID_USER and POLICY_ID_ISSUER: the user's unique id (AIDA...);
     * POLICY_ID_ROLE: the role's (AROA...). Matched by Principal entries
     * stored as unique ids. */
    struct core_cursor uid;
};

struct policy_ctx_entry {
    struct core_cursor key;
    uint32_t hash; /* case-folded */
    uint16_t first, count;
};

/*
 * Per-request context. Fill with policy_ctx_init() and the setters; fields
 * are private. All cursors handed to the setters are BORROWED: the bytes
 * must stay valid until the last evaluation with this context. Strings the
 * helpers format (times, ARNs, lower-cased action) live in the context's own
 * scratch space. Lookups are case-insensitive on the key.
 */
struct policy_ctx {
    struct core_cursor action;      /* as sent, for messages */
    struct core_cursor action_lc;   /* lower-cased, for matching */
    struct core_cursor resource;    /* resource ARN; empty when none */
    struct core_cursor account;     /* principal's account */
    struct core_cursor principal_arn;
    enum core_principal_type principal_type;
    bool has_principal;
    size_t nchain, nkeys, nvals, scratch_used;
    struct policy_ctx_id chain[POLICY_CTX_MAX_CHAIN];
    struct policy_ctx_entry keys[POLICY_CTX_MAX_KEYS];
    struct core_cursor vals[POLICY_CTX_MAX_VALUES];
    char scratch[POLICY_CTX_SCRATCH_BYTES];
};

/** Empties a context (cheap: no memset of the arrays). */
void policy_ctx_init(struct policy_ctx *ctx);

/**
 * Sets the action ("kms:Decrypt"). Matching is case-insensitive.
 * Errors: ERR_LIMIT (scratch full), ERR_INVALID_ARG (empty).
 */
CORE_RESULT policy_ctx_set_action(struct policy_ctx *ctx, struct core_cursor action);

/** Sets the resource ARN (borrowed). An empty cursor matches only "*". */
void policy_ctx_set_resource(struct policy_ctx *ctx, struct core_cursor arn);

/**
 * Sets the calling principal: builds the identity chain used to match
 * Principal/NotPrincipal and adds aws:PrincipalArn, aws:PrincipalAccount,
 * aws:PrincipalType, aws:userid, aws:username (IAM users only),
 * aws:MultiFactorAuthPresent and aws:TokenIssueTime (temporary credentials
 * only). For a federated user, p->issuer_arn (the IAM user or root that
 * called GetFederationToken, same account) joins the chain, with the user's
 * unique id p->issuer_id, so that a Deny naming that user -- by ARN or by
 * the unique id a saved policy holds -- covers the session (ERR_PARSE when
 * issuer_id is set and not a user's id). Reads p now; keeps no pointer to it.
 *
 * @param[in] role_arn for CORE_PRINCIPAL_ASSUMED_ROLE: the role's IAM ARN
 *     with its path ("arn:aws:iam::111122223333:role/ops/Admin"), used as
 *     aws:PrincipalArn; empty to derive "arn:aws:iam::ACCT:role/NAME" from
 *     the session ARN. Borrowed.
 * Errors: ERR_PARSE (an ARN that does not have the shape of its type),
 *     ERR_LIMIT (context full), ERR_INVALID_ARG (set twice).
 */
CORE_RESULT policy_ctx_set_principal(struct policy_ctx *ctx, const struct core_principal *p,
                                     struct core_cursor role_arn);

/**
 * Sets a service principal caller ("events.amazonaws.com"); adds
 * aws:PrincipalServiceName and aws:PrincipalIsAWSService.
 * Errors: ERR_LIMIT, ERR_INVALID_ARG (principal already set).
 */
CORE_RESULT policy_ctx_set_service(struct policy_ctx *ctx, struct core_cursor service);

/**
 * Sets a web-identity/SAML caller for trust policies: the provider as a
 * Federated principal names it, either the host ("accounts.google.com") or
 * the provider ARN ("arn:aws:iam::ACCT:oidc-provider/HOST"). aws:FederatedProvider
 * is added. Errors: ERR_LIMIT, ERR_INVALID_ARG.
 */
CORE_RESULT policy_ctx_set_federated(struct policy_ctx *ctx, struct core_cursor provider);

/**
 * Adds a single-valued condition key. Key and value are borrowed.
 * Errors: ERR_LIMIT (full), ERR_EXISTS (key already present),
 *     ERR_INVALID_ARG (empty key).
 */
CORE_RESULT policy_ctx_add(struct policy_ctx *ctx, struct core_cursor key, struct core_cursor value);
/** policy_ctx_add() for C strings (borrowed). */
CORE_RESULT policy_ctx_add_str(struct policy_ctx *ctx, const char *key, const char *value);
/**
 * Adds a multivalued key (aws:TagKeys, kms:GrantOperations). n may be 0: the
 * key is then present with an empty set (ForAllValues true, ForAnyValue
 * false, every other operator treats it as absent). The cursor array is
 * copied; the bytes are borrowed.
 * Errors: as policy_ctx_add().
 */
CORE_RESULT policy_ctx_add_multi(struct policy_ctx *ctx, struct core_cursor key,
                                 const struct core_cursor *vals, size_t n);
/** Adds "true"/"false". Key borrowed. Errors: as policy_ctx_add(). */
CORE_RESULT policy_ctx_add_bool(struct policy_ctx *ctx, struct core_cursor key, bool v);
/** Adds a decimal integer (formatted into scratch). Errors: as policy_ctx_add(). */
CORE_RESULT policy_ctx_add_int(struct policy_ctx *ctx, struct core_cursor key, int64_t v);
/**
 * Adds aws:PrincipalTag/<tag> = value (the key is built in scratch).
 * Errors: as policy_ctx_add().
 */
CORE_RESULT policy_ctx_add_principal_tag(struct policy_ctx *ctx, struct core_cursor tag,
                                         struct core_cursor value);
/**
 * Adds <prefix><name> = value, e.g. "kms:EncryptionContext:" + context key,
 * "aws:RequestTag/" + tag key. The key is built in scratch.
 * Errors: as policy_ctx_add().
 */
CORE_RESULT policy_ctx_add_prefixed(struct policy_ctx *ctx, const char *prefix, struct core_cursor name,
                                    struct core_cursor value);
/**
 * Adds aws:CurrentTime (ISO 8601) and aws:EpochTime for now (seconds).
 * Errors: as policy_ctx_add().
 */
CORE_RESULT policy_ctx_set_time(struct policy_ctx *ctx, int64_t now);

/**
 * Looks a key up, case-insensitively. Returns the number of values (0 for
 * an empty set) and points *vals at them, or -1 when the key is absent.
 */
int policy_ctx_get(const struct policy_ctx *ctx, struct core_cursor key, const struct core_cursor **vals);

/* ------------------------------------------------------------------------
 * Evaluation
 * ------------------------------------------------------------------------ */

enum policy_decision {
    POLICY_NO_MATCH,      /* implicit deny as far as this policy goes */
    POLICY_ALLOW,
    POLICY_EXPLICIT_DENY,
};

/*
 * How directly a resource policy's matching Allow named the caller. Ordered:
 * a higher grant subsumes a lower one.
 */
enum policy_grant {
    POLICY_GRANT_NONE,
    /* Principal is the caller's account (12 digits or :root) and the caller
     * is not the root user: the account delegates to its IAM policies (the
     * KMS "Enable IAM User Permissions" statement). */
    POLICY_GRANT_ACCOUNT,
    /* Principal is the IAM role whose session is calling: the grant counts
     * without an identity policy but stays inside the permissions boundary
     * and session policies. */
    POLICY_GRANT_ROLE,
    /* Principal names the caller itself: "*", the user ARN, the
     * assumed-role/federated-user session ARN, the root user, a service or
     * a federated provider. Not limited by boundary or session policies. */
    POLICY_GRANT_DIRECT,
};

struct policy_result {
    enum policy_decision decision;
    /* The deciding statement (first matching Deny, else the strongest
     * Allow), -1 when none. */
    int statement;
    /* For POLICY_ALLOW: the strongest grant among matching Allow
     * statements; always POLICY_GRANT_DIRECT for identity-kind policies. */
    enum policy_grant grant;
};

/**
 * Evaluates one compiled policy against a request.
 *
 * An explicit Deny wins over any Allow in the same document. For resource
 * and trust policies, the Principal/NotPrincipal element is matched against
 * the caller's identity chain; identity-kind policies apply to the caller
 * implicitly.
 *
 * @param[out] out decision, deciding statement and grant.
 * Errors: ERR_INVALID_ARG (no action set), ERR_NOMEM (a pattern with
 *     variables resolved beyond the stack buffer and allocation failed).
 *     On any error *out is POLICY_EXPLICIT_DENY: callers that ignore the
 *     result still fail closed.
 */
CORE_RESULT policy_evaluate(const struct policy *p, const struct policy_ctx *ctx, struct policy_result *out);

/**
 * Whether evaluating p can read any key of the request context: true when a
 * statement has a Condition, or a policy variable (${...}) in an Action or
 * Resource pattern. When false, evaluation reads only the context's action,
 * resource and principal (its identity chain, account and type), so a
 * context holding just those gives p the same result as a full one.
 * Computed once, when p is compiled. p NULL: false.
 */
bool policy_reads_context(const struct policy *p);

/**
 * True when a statement of p has a condition on key (compared
 * case-insensitively, as condition keys are; JSON escapes in the document
 * are already resolved). Lets a caller fill an expensive context key only
 * when a policy in play reads it. p NULL: false.
 */
bool policy_has_condition_key(const struct policy *p, struct core_cursor key);

/**
 * How the caller's Principal element matches, without evaluating actions,
 * resources or conditions. For NotPrincipal statements returns the grant the
 * statement would give (POLICY_GRANT_DIRECT when the caller is not
 * excluded). Exposed for the KMS lockout-safety check and for tests.
 */
enum policy_grant policy_statement_principal_match(const struct policy *p, size_t i,
                                                   const struct policy_ctx *ctx);

/* ------------------------------------------------------------------------
 * AWS's combined evaluation
 * ------------------------------------------------------------------------ */

enum policy_resource_mode {
    /* IAM, STS trust policies, most services: within one account an
     * identity-policy Allow suffices without a resource policy. */
    POLICY_MODE_STANDARD,
    /* KMS: identity policies (and a role grant's boundary path) only count
     * where the key policy itself allows the request with the caller's
     * account as principal (POLICY_GRANT_ACCOUNT or stronger). */
    POLICY_MODE_KMS,
};

struct policy_set {
    enum policy_resource_mode mode;
    const struct policy *resource;           /* key/trust policy; NULL if the resource has none */
    const struct policy *const *identity;    /* identity-based policies (user/role + groups) */
    size_t identity_count;
    const struct policy *boundary;           /* permissions boundary; NULL if none */
    const struct policy *const *session;     /* session policies */
    size_t session_count;
    /* True when session policies apply (the credentials were minted with
     * Policy/PolicyArns). A present-but-empty list grants nothing. */
    bool has_session_policies;
    /* True when the caller's account owns the resource. */
    bool same_account;
};

enum policy_reason {
    POLICY_REASON_ALLOWED,
    POLICY_REASON_DENY_RESOURCE,    /* "with an explicit deny in a resource-based policy" */
    POLICY_REASON_DENY_IDENTITY,    /* "with an explicit deny in an identity-based policy" */
    POLICY_REASON_DENY_BOUNDARY,    /* "with an explicit deny in a permissions boundary" */
    POLICY_REASON_DENY_SESSION,     /* "with an explicit deny in a session policy" */
    POLICY_REASON_NO_IDENTITY,      /* "because no identity-based policy allows the X action" */
    POLICY_REASON_NO_RESOURCE,      /* "because no resource-based policy allows the X action" */
    POLICY_REASON_NO_BOUNDARY,      /* "because no permissions boundary allows the X action" */
    POLICY_REASON_NO_SESSION,       /* "because no session policy allows the X action" */
};

enum policy_source {
    POLICY_SOURCE_NONE,
    POLICY_SOURCE_RESOURCE,
    POLICY_SOURCE_IDENTITY,
    POLICY_SOURCE_BOUNDARY,
    POLICY_SOURCE_SESSION,
};

struct policy_verdict {
    bool allowed;
    enum policy_reason reason;
    enum policy_source source; /* which policy decided (deny or allow) */
    size_t policy_index;       /* index within identity[]/session[] */
    int statement;             /* deciding statement, -1 if none */
};

/**
 * AWS's evaluation flow for one request (docs/policy.md, "Combined
 * evaluation"): any explicit deny wins; otherwise the resource policy, the
 * identity policies, the permissions boundary and the session policies are
 * combined according to the caller kind, same_account and mode.
 *
 * The account root user gets no implicit allow here: IAM callers that want
 * AWS's "root can do anything in its account" add it before calling; KMS
 * must not (a key policy can lock root out).
 *
 * @param[out] out the verdict. On error, out->allowed is false.
 * Errors: as policy_evaluate().
 */
CORE_RESULT policy_authorize(const struct policy_set *set, const struct policy_ctx *ctx,
                             struct policy_verdict *out);

/**
 * The reason phrase AWS appends to AccessDenied messages, appended to out:
 * "because no identity-based policy allows the kms:Decrypt action" or
 * "with an explicit deny in a resource-based policy". Nothing for
 * POLICY_REASON_ALLOWED.
 * Errors: ERR_LIMIT, ERR_NOMEM.
 */
CORE_RESULT policy_reason_append(struct core_buf *out, enum policy_reason reason, struct core_cursor action);

/**
 * The whole message: "User: ARN is not authorized to perform: ACTION on
 * resource: RES because ..." (" on resource: RES" omitted when the context
 * has no resource). Uses the context's principal ARN and action.
 * Errors: ERR_LIMIT, ERR_NOMEM.
 */
CORE_RESULT policy_denied_message(struct core_buf *out, const struct policy_ctx *ctx,
                                  const struct policy_verdict *v);

/** Stable names for logs and vectors: "ALLOW", "EXPLICIT_DENY", "NO_MATCH". */
const char *policy_decision_name(enum policy_decision d);
/** "ALLOWED", "DENY_RESOURCE", ..., "NO_SESSION". */
const char *policy_reason_name(enum policy_reason r);
/** "NONE", "ACCOUNT", "ROLE", "DIRECT". */
const char *policy_grant_name(enum policy_grant g);

/* ------------------------------------------------------------------------
 * The reference-counted cache of compiled policies, shared by iam_authz.c
 * (a caller's compiled identity) and kms_authz.c (a key's compiled key
 * policy). A cached object embeds a struct policy_cache_item; the cache
 * finds it by key, hands out references, drops a stale version when a
 * newer generation is asked for, and frees idle objects (free_item) beyond
 * max entries. Objects in use are never freed under their holder: an
 * unlinked object is freed by its last release.
 * ------------------------------------------------------------------------ */

#define POLICY_CACHE_BUCKETS 256u
#define POLICY_CACHE_KEY_MAX 200u

struct policy_cache_item {
    struct policy_cache_item *next;
    char key[POLICY_CACHE_KEY_MAX];
    uint32_t hash;
    uint64_t generation;
    uint64_t built_ns; /* core_clock_mono_ns() at insert */
    unsigned refs;
    bool linked;
};

struct policy_cache {
    pthread_mutex_t lock;
    struct policy_cache_item *buckets[POLICY_CACHE_BUCKETS];
    size_t count, max;
    void (*free_item)(struct policy_cache_item *it);
};

/** Errors: ERR_NOMEM. */
CORE_RESULT policy_cache_init(struct policy_cache *c, size_t max, void (*free_item)(struct policy_cache_item *));
/** Frees every cached object (none may be held any more). */
void policy_cache_destroy(struct policy_cache *c);
/**
 * The object cached under key for generation, built less than max_age_ns
 * ago (0: any age), with a reference taken; NULL on a miss. Keys are
 * names the caller builds (record ids, principal names), NUL-terminated. An object of
 * the key with another generation, or too old, is dropped.
 */
struct policy_cache_item *policy_cache_acquire(struct policy_cache *c, const char *key, uint64_t generation,
                                               uint64_t max_age_ns);
/**
 * Caches it (just built by the caller, who holds its one reference) under
 * key and generation; idle objects are freed when the cache is over max.
 * built_ns: core_clock_mono_ns() from before the caller read what it built
 * from (its age counts from there), or 0 for now.
 */
void policy_cache_insert(struct policy_cache *c, struct policy_cache_item *it, const char *key, uint64_t generation,
                         uint64_t built_ns);
/** Drops a reference from policy_cache_acquire or policy_cache_insert. */
void policy_cache_release(struct policy_cache *c, struct policy_cache_item *it);

#endif
