#ifndef IAM_INTERNAL_H
#define IAM_INTERNAL_H

/* Shared by the IAM API files (iam_api_*.c) and iam's unit tests. */

#include <pthread.h>

#include "iam/iam.h"
#include "policy/policy.h"

#define IAM_T_USER "iam_user"
#define IAM_T_ROLE "iam_role"
#define IAM_T_POLICY "iam_policy"
#define IAM_T_OIDC "iam_oidc"
#define IAM_T_SAML "iam_saml"
#define IAM_T_OUTBOUND "iam_outbound"
#define IAM_T_MFA "iam_mfa"
#define IAM_T_ACCESS_KEY "access_key"
#define IAM_T_UID "iam_uid" /* unique id -> {"t":"user"|"role","account","name"} */

#define IAM_MAX_KEYS_PER_USER 2u
#define IAM_MAX_ATTACHED 20u
#define IAM_LIST_DEFAULT 100

#define IAM_AWS_POLICIES_MAX 16u

struct iam_identity_entry;

struct iam_env {
    struct keystore *ks;
    char account[16];
    char oidc_issuer[300]; /* GetWebIdentityToken's issuer (IssuerIdentifier) */
    /* Identity cache (iam_authz.c). */
    struct policy_cache identities;
    uint64_t generation;       /* bumped by every IAM write; entries of older generations are stale */
    struct policy *allow_all;  /* the full-access identity policy */
    const struct policy *allow_all_list[1];
    struct iam_identity full;  /* account root / unverified: never cached, never freed per request */
    struct policy *aws[IAM_AWS_POLICIES_MAX]; /* the shipped AWS managed policies, compiled once */
};

/** Sets up and tears down the identity cache (iam_env_new / iam_env_free). */
CORE_RESULT iam_authz_init(struct iam_env *env);
void iam_authz_free(struct iam_env *env);

struct iam_ctx {
    struct iam_env *env;
    const struct iam_call *call;
    const struct core_form *form;
    struct core_reply *out;
    struct core_buf *b; /* == &out->body: handlers append the inner XML of the Result */
    char account[16];   /* the caller's account: every entity lives in it */
    int64_t now;
    struct keystore_txn *txn; /* the transaction of iam_read/iam_write while fn runs */
};

typedef core_result (*iam_handler_fn)(struct iam_ctx *ctx);
typedef core_result (*iam_txn_fn)(struct iam_ctx *ctx, struct keystore_txn *txn);

/*
 * The resource an action is authorized on, as the Service Authorization
 * Reference lists it per action ("Actions, resources, and condition keys for
 * AWS Identity and Access Management",
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html).
 * The row's param is the one parameter that names it, the same one the
 * handler acts on; no other parameter of the request is looked at.
 */
enum iam_res {
    IAM_RES_ANY,        /* no resource type: "*" (ListUsers, ListRoles, ListOpenIDConnectProviders) */
    IAM_RES_USER,       /* user*: the stored user's ARN, path included */
    IAM_RES_USER_SELF,  /* user*: as IAM_RES_USER, or the calling user when param is absent */
    IAM_RES_USER_NEW,   /* user*: Path + param of the user being created */
    IAM_RES_ROLE,       /* role*: the stored role's ARN, path included */
    IAM_RES_ROLE_NEW,   /* role*: Path + param of the role being created */
    IAM_RES_POLICY,     /* policy*: param is the policy ARN (its path is in it) */
    IAM_RES_POLICY_NEW, /* policy*: Path + param of the policy being created */
    IAM_RES_OIDC,       /* oidc-provider*: param is the provider ARN */
    IAM_RES_OIDC_NEW,   /* oidc-provider*: param is the issuer URL */
    IAM_RES_MFA_NEW,    /* mfa*: Path + param of the device being created */
    IAM_RES_SAML,       /* saml-provider*: param is the provider ARN */
    IAM_RES_SAML_NEW,   /* saml-provider*: param is the new provider's name */
};

/*
 * One row per action: row.name "CreateUser", row.iam_action "iam:CreateUser"
 * (derived), row.flags CORE_ACTION_WRITES (served on the writer pool) and
 * CORE_ACTION_HAS_RESULT (the output shape has a Result element).
 */
struct iam_action {
    struct core_action row; /* first member: core_action_find searches the table by it */
    iam_handler_fn fn;
    enum iam_res res;   /* the resource type it is authorized on */
    const char *param;  /* the parameter naming that resource; NULL for IAM_RES_ANY */
    /* An action-specific condition key the request sets from one parameter
     * (iam:PolicyARN from PolicyArn, iam:PermissionsBoundary from
     * PermissionsBoundary), as the reference lists it; NULL when none. */
    const char *cond_key, *cond_param;
};

#define IAM_ROW(name, fn, flags, res, param, cond_key, cond_param) \
    {CORE_ACTION_ROW("iam", name, (flags)), (fn), (res), (param), (cond_key), (cond_param)}

extern const struct iam_action iam_actions[];
extern const size_t iam_actions_count;
const struct iam_action *iam_action_find(struct core_cursor action);

/** Runs fn in a group-committed write transaction. */
CORE_RESULT iam_write(struct iam_ctx *ctx, iam_txn_fn fn);
/** Runs fn in a read transaction. */
CORE_RESULT iam_read(struct iam_ctx *ctx, iam_txn_fn fn);

/** "ACCT/lower-case-name" */
void iam_rec_id(char *out, size_t cap, const char *account, struct core_cursor name);
/** Reads a JSON record. Errors: ERR_NOT_FOUND, ERR_TAMPERED, ERR_PARSE. */
CORE_RESULT iam_rec_get(struct keystore_txn *txn, const char *table, const char *account, struct core_cursor name,
                        json_t **out);
CORE_RESULT iam_rec_put(struct keystore_txn *txn, const char *table, const char *account, struct core_cursor name,
                        const json_t *rec, unsigned flags);
CORE_RESULT iam_rec_del(struct keystore_txn *txn, const char *table, const char *account, struct core_cursor name);

/* Iterates the records of one account in a table, starting at marker (a record id) or the start. */
struct iam_list {
    struct keystore_iter *it;
    char prefix[20];
    struct core_buf val;
};
CORE_RESULT iam_list_begin(struct iam_list *l, struct keystore_txn *txn, const char *table, const char *account,
                           struct core_cursor marker);
/** Next record: *rec new reference, *id borrowed until the next call. Errors: ERR_NOT_FOUND at the end. */
CORE_RESULT iam_list_next(struct iam_list *l, struct core_cursor *id, json_t **rec);
void iam_list_end(struct iam_list *l);
/**
 * ListUsers / ListRoles: reads PathPrefix, MaxItems and Marker, walks table
 * from the marker, keeps records whose path (empty means "/") starts with
 * the prefix, renders up to MaxItems of them with member() inside
 * <wrapper>...</wrapper>, then IsTruncated/Marker.
 * @param member gets the record and its name as stored in the record id.
 */
typedef core_result (*iam_member_fn)(struct iam_ctx *ctx, struct core_cursor name, const json_t *rec);
CORE_RESULT iam_list_by_path(struct iam_ctx *ctx, struct keystore_txn *txn, const char *table, const char *wrapper,
                             iam_member_fn member);

/* ---- AWS managed policies (iam_managed.c, iam_managed_policies.def) ---- */

#define IAM_AWS_POLICY_PREFIX "arn:aws:iam::aws:policy/"

struct iam_aws_policy {
    const char *name, *policy_id, *version;
    int64_t created, updated; /* epoch seconds */
    const char *description, *doc;
};
extern const struct iam_aws_policy iam_aws_policies[];
extern const size_t iam_aws_policies_count;
/** The shipped AWS managed policy with this ARN (exact, case-sensitive), else NULL. */
const struct iam_aws_policy *iam_aws_policy_find(struct core_cursor arn);
/** True for "arn:<any partition>:iam::aws:policy/..." (an AWS managed policy's ARN shape). */
bool iam_arn_is_aws_managed(struct core_cursor arn);
/** For "arn:<any partition>:iam::<tail>", *tail = "<tail>" (a view into arn); false for anything else. */
bool iam_arn_tail(struct core_cursor arn, struct core_cursor *tail);
/**
 * How many users and roles of account have arn attached, and have it as
 * their permissions boundary (AttachmentCount, PermissionsBoundaryUsageCount).
 * Errors: keystore errors.
 */
CORE_RESULT iam_aws_policy_counts(struct keystore_txn *txn, const char *account, const char *arn, int64_t *attached,
                                  int64_t *boundaries);

/* ---- the unique-id index (iam_principal_ids.c) ---- */

/** Records that uid names the user/role (type "user"/"role") name of account. */
CORE_RESULT iam_uid_put(struct keystore_txn *txn, const char *uid, const char *type, const char *account,
                        const char *name);
/** Drops uid from the index (absent is fine). */
CORE_RESULT iam_uid_del(struct keystore_txn *txn, const char *uid);
/**
 * At start (iam_env_new): indexes users and roles stored before the index
 * existed, and gives a bootstrap administrator record of that time its
 * AdministratorAccess attachment.
 */
CORE_RESULT iam_uid_backfill(struct keystore *ks);

/* ---- errors (iam_errors.c, iam_errors.def) ---- */

enum iam_err {
#define X(e, code, status) e,
#include "iam/iam_errors.def"
#undef X
    IAM_E_COUNT
};
extern const struct core_wire_error iam_errors[IAM_E_COUNT];
/**
 * Records an IAM error of the catalogue in out (4xx are Sender faults): iam_fail(out, IAM_E_X, fmt, ...).
 * @return {ERR_API}, for `return iam_fail(...)`.
 */
#define iam_fail(out, e, ...) core_reply_wire((out), &iam_errors[(e)], __VA_ARGS__)
/** A handler's failure that recorded no reply: NoSuchEntity, EntityAlreadyExists or ServiceFailure. */
void iam_reply_from_err(enum core_err err, struct core_reply *out);

/* Helpers for handlers. */
const char *iam_js(const json_t *o, const char *key); /* string member or "" */
core_result iam_no_such(struct iam_ctx *ctx, const char *kind, struct core_cursor name);
core_result iam_exists(struct iam_ctx *ctx, const char *kind, struct core_cursor name);
/** Validates a policy document with the policy module; MalformedPolicyDocument on failure. */
CORE_RESULT iam_check_policy(struct iam_ctx *ctx, struct core_cursor doc, int kind, size_t max_chars);
/** Writes <Tags><member><Key/><Value/></member>...</Tags> from a JSON array; nothing when empty. */
CORE_RESULT iam_xml_tags(struct core_buf *b, const json_t *tags);
json_t *iam_tags_json(const struct query_tag *tags, size_t n);
/** ARN: arn:aws:iam::ACCT:KIND + path + name */
void iam_arn(char *out, size_t cap, const char *account, const char *kind, const char *path, const char *name);
/** Reads the common MaxItems/Marker pair. */
CORE_RESULT iam_param_paging(struct iam_ctx *ctx, int64_t *max_items, struct core_cursor *marker);
CORE_RESULT iam_xml_paging_end(struct iam_ctx *ctx, bool truncated, struct core_cursor next_marker);
/** Path parameter ("/" when absent). */
CORE_RESULT iam_param_path(struct iam_ctx *ctx, const char *name, struct core_cursor *path);

/* Access-key metadata of one user (never the secret). */
struct iam_key_meta {
    char id[IAM_ACCESS_KEY_ID_LEN + 12];
    bool active;
    int64_t created;
};
/** Lists the keys of user (name as stored) in account; at most cap. */
CORE_RESULT iam_user_keys(struct keystore_txn *txn, const char *account, const char *user, struct iam_key_meta *out,
                          size_t cap, size_t *n);
/** Reads a user record by name; NoSuchEntity in the reply when absent. */
CORE_RESULT iam_load_user(struct iam_ctx *ctx, struct keystore_txn *txn, struct core_cursor name, json_t **rec);
/** Reads a role record by name; NoSuchEntity in the reply when absent. */
CORE_RESULT iam_load_role(struct iam_ctx *ctx, struct keystore_txn *txn, struct core_cursor name, json_t **rec);
/** The user's name as stored ("admin"'s bootstrap record has none: the id's suffix). */
const char *iam_user_name(const json_t *rec, struct core_cursor fallback, char *buf, size_t cap);
/** <User>...</User> */
CORE_RESULT iam_xml_user(struct core_buf *b, const char *elem, const json_t *rec, const char *name);

/**
 * <tag>url-encoded document</tag>: IAM returns policy documents URL-encoded
 * (RFC 3986), and SDKs decode them (botocore's json_decode_policies).
 */
CORE_RESULT iam_xml_policy_doc(struct core_buf *b, const char *tag, const char *doc);

/* Handlers. */
core_result iam_create_user(struct iam_ctx *ctx);
core_result iam_get_user(struct iam_ctx *ctx);
core_result iam_list_users(struct iam_ctx *ctx);
core_result iam_delete_user(struct iam_ctx *ctx);
core_result iam_create_access_key(struct iam_ctx *ctx);
core_result iam_list_access_keys(struct iam_ctx *ctx);
core_result iam_update_access_key(struct iam_ctx *ctx);
core_result iam_delete_access_key(struct iam_ctx *ctx);
core_result iam_create_role(struct iam_ctx *ctx);
core_result iam_get_role(struct iam_ctx *ctx);
core_result iam_list_roles(struct iam_ctx *ctx);
core_result iam_delete_role(struct iam_ctx *ctx);
core_result iam_update_assume_role_policy(struct iam_ctx *ctx);
core_result iam_update_role(struct iam_ctx *ctx);
core_result iam_put_user_policy(struct iam_ctx *ctx);
core_result iam_get_user_policy(struct iam_ctx *ctx);
core_result iam_delete_user_policy(struct iam_ctx *ctx);
core_result iam_list_user_policies(struct iam_ctx *ctx);
core_result iam_put_role_policy(struct iam_ctx *ctx);
core_result iam_get_role_policy(struct iam_ctx *ctx);
core_result iam_delete_role_policy(struct iam_ctx *ctx);
core_result iam_list_role_policies(struct iam_ctx *ctx);
core_result iam_create_policy(struct iam_ctx *ctx);
core_result iam_get_policy(struct iam_ctx *ctx);
core_result iam_get_policy_version(struct iam_ctx *ctx);
core_result iam_delete_policy(struct iam_ctx *ctx);
core_result iam_attach_user_policy(struct iam_ctx *ctx);
core_result iam_detach_user_policy(struct iam_ctx *ctx);
core_result iam_list_attached_user_policies(struct iam_ctx *ctx);
core_result iam_attach_role_policy(struct iam_ctx *ctx);
core_result iam_detach_role_policy(struct iam_ctx *ctx);
core_result iam_list_attached_role_policies(struct iam_ctx *ctx);
core_result iam_create_oidc_provider(struct iam_ctx *ctx);
core_result iam_get_oidc_provider(struct iam_ctx *ctx);
core_result iam_list_oidc_providers(struct iam_ctx *ctx);
core_result iam_delete_oidc_provider(struct iam_ctx *ctx);
core_result iam_create_virtual_mfa_device(struct iam_ctx *ctx);
core_result iam_enable_outbound_federation(struct iam_ctx *ctx);
core_result iam_disable_outbound_federation(struct iam_ctx *ctx);
core_result iam_get_outbound_federation_info(struct iam_ctx *ctx);
core_result iam_create_saml_provider(struct iam_ctx *ctx);
core_result iam_get_saml_provider(struct iam_ctx *ctx);
core_result iam_list_saml_providers(struct iam_ctx *ctx);
core_result iam_update_saml_provider(struct iam_ctx *ctx);
core_result iam_delete_saml_provider(struct iam_ctx *ctx);
core_result iam_enable_mfa_device(struct iam_ctx *ctx);

#endif
