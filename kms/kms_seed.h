#ifndef KMS_SEED_H
#define KMS_SEED_H

/*
 * Writing KMS keys and aliases from a seed file (seed/): fixed key ids and
 * caller-supplied material, in the caller's write transaction, so a seed
 * either lands whole or not at all. The records are the ones CreateKey and
 * CreateAlias write; the material is sealed by the keystore like any other.
 */

#include "core/core.h"
#include "keystore/keystore.h"

#define KMS_SEED_MAX_VERSIONS 64u
#define KMS_SEED_MAX_TAGS 50u

struct kms_seed_tag {
    struct core_cursor key, value;
};

struct kms_seed_key {
    const char *account;     /* 12 digits */
    const char *region;
    const char *key_id;      /* lowercase UUID */
    struct core_cursor description;
    struct core_cursor policy; /* empty: the AWS default key policy; validated by the caller */
    bool disabled;
    /* Backing keys, oldest first; the last one is current (32 bytes each, secret). */
    const struct core_cursor *materials;
    uint32_t n_materials;
    bool rotation_enabled;
    uint32_t rotation_period_days; /* 0: 365 when rotation is enabled */
    int64_t next_rotation;         /* 0: created + period when rotation is enabled */
    const struct kms_seed_tag *tags;
    size_t n_tags;
    int64_t now;                   /* service clock */
    /* An asymmetric key (Keys.Asymmetric): its private key as PKCS#8 DER
     * (secret, from kms_seed_private_key); materials and rotation unused. */
    bool asymmetric;
    uint8_t spec, usage;           /* KeySpec and KeyUsage (kms_asym.h's enums) */
    struct core_cursor private_der;
};

/**
 * Reads an unencrypted private key in PEM (PKCS#8, PKCS#1 RSA or SEC1 EC)
 * into PKCS#8 DER (secret memory) and the KeySpec it has.
 * Errors: ERR_PARSE (no PEM private key, or an encrypted one),
 * ERR_INVALID_ARG (a key no KeySpec takes, such as RSA-1024).
 */
CORE_RESULT kms_seed_private_key(struct core_cursor pem, uint8_t *spec, struct core_secret *der);
/** The KeySpec name of spec, for messages. */
const char *kms_seed_spec_name(uint8_t spec);
/** True for an RSA KeySpec. */
bool kms_seed_spec_is_rsa(uint8_t spec);
/** True when name is a KeyUsage that spec takes (*usage set); the CreateKey rules. */
bool kms_seed_usage(struct core_cursor name, uint8_t spec, uint8_t *usage);

/** True for a key id a seed may give: a UUID (kms_is_uuid). */
bool kms_seed_key_id_valid(struct core_cursor id);
/** True for an alias name a seed may create: "alias/..." (not "alias/aws/..."), 7..256 of [a-zA-Z0-9:/_-]. */
bool kms_seed_alias_name_valid(struct core_cursor name);

/**
 * Creates the key unless a key with this id exists in that account and
 * Region (then nothing is written and *created is false: seeding is
 * idempotent, as local-kms's is).
 * Errors: ERR_INVALID_ARG (bad id, material not 32 bytes, no material, a
 * usage the spec does not take),
 * ERR_LIMIT, keystore errors (the txn is then poisoned).
 */
CORE_RESULT kms_seed_key(struct keystore_txn *txn, const struct kms_seed_key *k, bool *created);

/**
 * Points alias `name` ("alias/...") of account and Region at key_id unless
 * the alias exists (*created false). The key must exist in the same account
 * and Region.
 * Errors: ERR_NOT_FOUND (no such key), ERR_INVALID_ARG (bad name), keystore errors.
 */
CORE_RESULT kms_seed_alias(struct keystore_txn *txn, const char *account, const char *region,
                           struct core_cursor name, const char *key_id, int64_t now, bool *created);

#endif
