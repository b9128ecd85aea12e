#ifndef KMS_ACTION_H
#define KMS_ACTION_H

/*
 * The KMS action table's row shape, and the condition-key functions the
 * rows point at. Part of kms_internal.h (included by it); not public.
 */

#include <jansson.h>

#include "core/core.h"

struct kms_ctx;

/* Which identifier forms an operation accepts. */
#define KMS_ID_KEY 1u   /* key id, key ARN */
#define KMS_ID_ALIAS 2u /* alias name, alias ARN */

typedef core_result (*kms_handler_fn)(struct kms_ctx *ctx, const json_t *in);

struct policy_ctx;
struct kms_key;

/* What an action's condition-key function fills: the request context, the
 * key being authorized (NULL for identity-only decisions) and a store for
 * key names it builds (fixed capacity: cursors into it stay valid). */
struct kms_cond {
    struct policy_ctx *pc;
    const struct kms_key *key;
    struct core_buf *store;
};
/**
 * Adds the condition keys an action derives from its request (kms:GrantOperations,
 * kms:EncryptionContext:..., aws:RequestTag/...). Kept in the action's own
 * file, next to the handler that reads the same members.
 * Errors: ERR_LIMIT (context full: the caller refuses), ERR_NOMEM.
 */
typedef core_result (*kms_conditions_fn)(struct kms_ctx *ctx, struct kms_cond *c);

/* Flags of an action row. */
#define KMS_WRITES CORE_ACTION_WRITES                /* changes the keystore: served on the writer pool */
#define KMS_HAS_RESULT CORE_ACTION_HAS_RESULT        /* success returns members; otherwise the reply is {} */
#define KMS_NEEDS_KEY CORE_ACTION_SERVICE            /* acts on a KMS key the request names (key_forms says how) */
#define KMS_CROSS_ACCOUNT (CORE_ACTION_SERVICE << 1) /* "Cross-account use: Yes": another account's key by ARN */

/*
 * One row per operation: every fact the layers need about it. The
 * dispatcher authorizes iam_action (never a string a handler types), the
 * resolver accepts key_forms and refuses another account's key unless
 * KMS_CROSS_ACCOUNT, the writer pool reads KMS_WRITES, and authorization
 * calls conditions for the action's own condition keys.
 */
struct kms_action {
    /* row.name: "Decrypt" (X-Amz-Target without "TrentService."); row.iam_action: "kms:Decrypt";
     * row.flags: KMS_WRITES | KMS_NEEDS_KEY | KMS_HAS_RESULT | KMS_CROSS_ACCOUNT */
    struct core_action row;      /* first member: core_action_find searches the table by it */
    kms_handler_fn fn;
    const char *iam_action_to;   /* a second permission on a second key (kms:ReEncryptTo), else NULL */
    unsigned key_forms;          /* KMS_ID_KEY | KMS_ID_ALIAS accepted for the key; 0 when none */
    kms_conditions_fn conditions;/* NULL: only the keys every KMS request has */
};
/* A row in the order the columns read: operation, handler, IAM action(s), key forms, flags, conditions. */
#define KMS_ROW(operation, fn, iam_action, iam_action_to, key_forms, flags, conditions) \
    {{(operation), (iam_action), (flags), CORE_ACTION_NAME_LEN(operation)}, (fn), (iam_action_to), (key_forms), (conditions)}

/* The sorted action table (kms_dispatch.c) and its size, for tests. */
extern const struct kms_action kms_actions[];
extern const size_t kms_actions_count;
const struct kms_action *kms_action_find(struct core_cursor operation);
/** The permission being authorized now (ctx->action's iam_action or iam_action_to). */
const char *kms_permission(const struct kms_ctx *ctx);

/* Condition-key helpers for the actions' condition functions (kms_authz.c). */
/** kms:EncryptionContext:<key> (keys differing only by case share one, multivalued) and kms:EncryptionContextKeys. */
CORE_RESULT kms_cond_ec(struct kms_ctx *ctx, struct kms_cond *c, const char *member);
/** kms_cond_ec() for the pairs of one or two maps (either may be NULL). */
CORE_RESULT kms_cond_ec_maps(struct kms_cond *c, const json_t *a, const json_t *b);
/** kms:EncryptionAlgorithm from member, SYMMETRIC_DEFAULT when absent (member NULL: always SYMMETRIC_DEFAULT). */
CORE_RESULT kms_cond_algorithm(struct kms_ctx *ctx, struct kms_cond *c, const char *member);
/** aws:TagKeys, and aws:RequestTag/<key> when the list holds Tag objects. */
CORE_RESULT kms_cond_request_tags(struct kms_ctx *ctx, struct kms_cond *c, const char *member, bool tag_objects);
/** An integer member as key, dflt when absent. */
CORE_RESULT kms_cond_int(struct kms_ctx *ctx, struct kms_cond *c, const char *member, const char *key, int64_t dflt);
/** A string member as key; dflt when absent (dflt NULL: key left out). */
CORE_RESULT kms_cond_string(struct kms_ctx *ctx, struct kms_cond *c, const char *member, const char *key,
                            const char *dflt);
/** A list-of-strings member as a multivalued key (more than 64 values: ERR_LIMIT, never truncated). */
CORE_RESULT kms_cond_strings(struct kms_ctx *ctx, struct kms_cond *c, const char *member, const char *key);
/** The names (of the NULL-terminated names) present in object member, as a multivalued key; none: key left out. */
CORE_RESULT kms_cond_present(struct kms_ctx *ctx, struct kms_cond *c, const char *member, const char *const *names,
                             const char *key);
/** A boolean member as key ("false" when absent). */
CORE_RESULT kms_cond_bool(struct kms_ctx *ctx, struct kms_cond *c, const char *member, const char *key);
/** kms:GrantIsForAWSResource (false: kmsd serves no AWS service integrations): ListGrants, RevokeGrant, CreateGrant. */
core_result kms_grant_is_for_aws_conditions(struct kms_ctx *ctx, struct kms_cond *c);

/* Condition-key functions of the action rows, each in its action's file. */
core_result kms_create_grant_conditions(struct kms_ctx *ctx, struct kms_cond *c);
core_result kms_create_key_conditions(struct kms_ctx *ctx, struct kms_cond *c);
core_result kms_decrypt_conditions(struct kms_ctx *ctx, struct kms_cond *c);
core_result kms_enable_key_rotation_conditions(struct kms_ctx *ctx, struct kms_cond *c);
core_result kms_encrypt_conditions(struct kms_ctx *ctx, struct kms_cond *c);
core_result kms_generate_data_key_conditions(struct kms_ctx *ctx, struct kms_cond *c);
core_result kms_get_parameters_for_import_conditions(struct kms_ctx *ctx, struct kms_cond *c);
core_result kms_import_key_material_conditions(struct kms_ctx *ctx, struct kms_cond *c);
core_result kms_generate_mac_conditions(struct kms_ctx *ctx, struct kms_cond *c);
core_result kms_derive_shared_secret_conditions(struct kms_ctx *ctx, struct kms_cond *c);
core_result kms_generate_data_key_pair_conditions(struct kms_ctx *ctx, struct kms_cond *c);
core_result kms_sign_conditions(struct kms_ctx *ctx, struct kms_cond *c);
core_result kms_put_key_policy_conditions(struct kms_ctx *ctx, struct kms_cond *c);
core_result kms_re_encrypt_conditions(struct kms_ctx *ctx, struct kms_cond *c);
core_result kms_schedule_key_deletion_conditions(struct kms_ctx *ctx, struct kms_cond *c);
core_result kms_tag_resource_conditions(struct kms_ctx *ctx, struct kms_cond *c);
core_result kms_untag_resource_conditions(struct kms_ctx *ctx, struct kms_cond *c);

#endif
