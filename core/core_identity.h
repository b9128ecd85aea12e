#ifndef CORE_IDENTITY_H
#define CORE_IDENTITY_H

/*
 * Who made a request, after authentication. Filled by the server from the
 * access-key record (long-term keys) or from the opened session token
 * (temporary credentials); read by handlers and by the policy engine.
 */

#include <stdbool.h>
#include <stdint.h>

enum core_principal_type {
    CORE_PRINCIPAL_ROOT,         /* arn:aws:iam::ACCT:root */
    CORE_PRINCIPAL_USER,         /* arn:aws:iam::ACCT:user/PATH/NAME */
    CORE_PRINCIPAL_ASSUMED_ROLE, /* arn:aws:sts::ACCT:assumed-role/ROLE/SESSION */
    CORE_PRINCIPAL_FEDERATED,    /* arn:aws:sts::ACCT:federated-user/NAME */
    CORE_PRINCIPAL_ANONYMOUS,    /* unsigned calls (AssumeRoleWithWebIdentity) */
};

struct core_principal {
    enum core_principal_type type;
    char account[16];        /* 12 digits */
    char arn[512];           /* the caller's ARN as GetCallerIdentity shows it */
    char user_id[160];       /* AIDA..., AROA...:session, or the account id for root */
    char access_key_id[132]; /* the key that signed the request */
    char region[32];         /* from the credential scope */
    bool temporary;          /* signed with ASIA... + session token */
    bool unverified;         /* accepted by the opt-in --accept-unknown-keys mode */
    bool mfa;                /* aws:MultiFactorAuthPresent */
    int64_t token_issued;    /* aws:TokenIssueTime, temporary credentials only */
    int64_t token_expires;
    /* Long-term keys marked "via service" (kmsctl access-key add --via-service
     * s3): the key stands for that AWS service acting on the account's behalf,
     * so KMS sees kms:ViaService = "<service>.<region>.amazonaws.com". Empty
     * for every other caller; set only from the access-key record. */
    char via_service[40];
    /* CORE_PRINCIPAL_FEDERATED only: the ARN of the IAM user (or the
     * account's root) that called GetFederationToken, from the session token.
     * A resource-policy Deny naming that user also covers its federated
     * sessions (policy/, issue 16 item 5). Empty for every other caller. */
    char issuer_arn[512];
    /* CORE_PRINCIPAL_FEDERATED only: the issuing user's unique id (AIDA...,
     * GetUser's UserId), from the session token. Key and trust policies store
     * a user ARN as this id (iam/iam_principal_ids.c), so the Deny that names
     * the issuing user matches the session by it. Empty for root-issued
     * sessions and every other caller. */
    char issuer_id[32];
};

#endif
