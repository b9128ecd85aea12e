#include <stdio.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "kms/kms_asym.h"
#include "kms/kms_seed.h"

/*
 * Seeded keys: the same records CreateKey writes (kms_key.c), with a fixed
 * id and one material version per backing key. Material version n is the
 * n-th backing key, so a seed that lists the material of a key rotated
 * twice recreates a key whose ciphertexts name versions 1..3.
 */

static const char tbl_material[] = "kms_material";

static core_result put_material(struct keystore_txn *txn, struct kms_key *k, struct core_cursor mat, int64_t now,
                                uint8_t type)
{
    ENSURE(mat.len == KMS_MATERIAL_BYTES, ERR_INVALID_ARG);
    uint32_t n = k->n_versions + 1;
    char mid[160];
    snprintf(mid, sizeof mid, "%s/%s/%s/%08x", k->account, k->region, k->key_id, n);
    GUARD(keystore_put(txn, tbl_material, core_cursor_str(mid), mat, KEYSTORE_NO_OVERWRITE));
    uint8_t id[KMS_MATERIAL_ID_BYTES];
    core_random(id, sizeof id);
    GUARD(core_buf_append_be32(&k->versions, n));
    GUARD(core_buf_append_be64(&k->versions, (uint64_t)now));
    GUARD(core_buf_append_u8(&k->versions, type));
    GUARD(core_buf_append(&k->versions, id, sizeof id));
    k->n_versions = n;
    CORE_OK;
}

bool kms_seed_key_id_valid(struct core_cursor id) { return kms_is_uuid(id); }

/* AliasNameType: "^[a-zA-Z0-9:/_-]+$", 1..256, "alias/" prefix; alias/aws/ is reserved for AWS managed keys.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html */
bool kms_seed_alias_name_valid(struct core_cursor name)
{
    if (!core_cursor_starts_with(name, "alias/") || name.len <= 6 || name.len > 256 ||
        core_cursor_starts_with(name, "alias/aws/"))
        return false;
    for (size_t i = 0; i < name.len; i++) {
        uint8_t c = name.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' || c == '/' ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Refuses encrypted PEM: a seed carries no passphrase. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

core_result kms_seed_private_key(struct core_cursor pem, uint8_t *spec, struct core_secret *der)
{
    ENSURE(pem.len > 0 && pem.len <= 16384, ERR_PARSE);
    BIO *bio = BIO_new_mem_buf(pem.ptr, (int)pem.len);
    ENSURE(bio != NULL, ERR_NOMEM);
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    ERR_clear_error();
    ENSURE(pkey != NULL, ERR_PARSE);
    core_result r = kms_asym_spec_of(pkey, spec);
    if (core_ok(r)) r = kms_asym_private_der(pkey, der);
    EVP_PKEY_free(pkey);
    return r;
}

const char *kms_seed_spec_name(uint8_t spec) { return kms_spec_name(spec); }
bool kms_seed_spec_is_rsa(uint8_t spec) { return kms_spec_is_rsa(spec); }

bool kms_seed_usage(struct core_cursor name, uint8_t spec, uint8_t *usage)
{
    for (uint8_t u = 0; kms_key_usage_names[u]; u++)
        if (core_cursor_eq_str(name, kms_key_usage_names[u])) {
            *usage = u;
            return kms_usage_fits(spec, u);
        }
    return false;
}

core_result kms_seed_key(struct keystore_txn *txn, const struct kms_seed_key *s, bool *created)
{
    *created = false;
    ENSURE(kms_is_uuid(core_cursor_str(s->key_id)), ERR_INVALID_ARG);
    if (s->asymmetric)
        ENSURE(s->private_der.len > 0 && s->spec < KMS_SPEC_COUNT && !kms_spec_is_hmac(s->spec) &&
                   s->spec != KMS_SPEC_SYMMETRIC_DEFAULT && kms_usage_fits(s->spec, s->usage) && !s->rotation_enabled,
               ERR_INVALID_ARG);
    else
        ENSURE(s->n_materials >= 1 && s->n_materials <= KMS_SEED_MAX_VERSIONS, ERR_INVALID_ARG);
    ENSURE(s->n_tags <= KMS_SEED_MAX_TAGS, ERR_LIMIT);
    DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
    GUARD(kms_key_init(&k));
    core_result r = kms_key_get(txn, s->account, s->region, s->key_id, &k);
    if (core_ok(r)) CORE_OK; /* exists: seeding never overwrites */
    if (r.err != ERR_NOT_FOUND) return r;
    kms_key_free(&k);
    GUARD(kms_key_init(&k));
    snprintf(k.account, sizeof k.account, "%s", s->account);
    snprintf(k.region, sizeof k.region, "%s", s->region);
    snprintf(k.key_id, sizeof k.key_id, "%s", s->key_id);
    kms_key_set_arn(&k);
    k.state = s->disabled ? KMS_STATE_DISABLED : KMS_STATE_ENABLED;
    k.created = s->now;
    GUARD(core_buf_append_cursor(&k.description, s->description));
    if (s->policy.len)
        GUARD(core_buf_append_cursor(&k.policy, s->policy));
    else
        GUARD(kms_default_policy(core_partition_of(s->region), s->account, &k.policy));
    for (size_t i = 0; i < s->n_tags; i++) {
        ENSURE(s->tags[i].key.len <= KMS_MAX_TAG_KEY && s->tags[i].value.len <= KMS_MAX_TAG_VALUE, ERR_LIMIT);
        GUARD(kms_tags_set(&k, s->tags[i].key, s->tags[i].value));
    }
    if (s->asymmetric) {
        k.spec = s->spec;
        k.usage = s->usage;
        GUARD(kms_key_add_version_material(txn, &k, s->now, KMS_ROT_INITIAL, s->private_der));
    }
    for (uint32_t i = 0; !s->asymmetric && i < s->n_materials; i++)
        GUARD(put_material(txn, &k, s->materials[i], s->now, i == 0 ? KMS_ROT_INITIAL : KMS_ROT_AUTOMATIC));
    if (s->rotation_enabled) {
        k.rotation_enabled = true;
        k.rotation_period_days = s->rotation_period_days ? s->rotation_period_days : KMS_DEFAULT_ROTATION_DAYS;
        k.next_rotation = s->next_rotation ? s->next_rotation : s->now + (int64_t)k.rotation_period_days * KMS_DAY;
    }
    GUARD(kms_key_save(txn, &k));
    *created = true;
    CORE_OK;
}

core_result kms_seed_alias(struct keystore_txn *txn, const char *account, const char *region,
                           struct core_cursor name, const char *key_id, int64_t now, bool *created)
{
    *created = false;
    ENSURE(kms_seed_alias_name_valid(name) && kms_seed_key_id_valid(core_cursor_str(key_id)), ERR_INVALID_ARG);
    struct kms_alias a = {0};
    core_result r = kms_alias_get(txn, account, region, name, &a);
    if (core_ok(r)) CORE_OK;
    if (r.err != ERR_NOT_FOUND) return r;
    DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
    GUARD(kms_key_init(&k));
    GUARD(kms_key_get(txn, account, region, key_id, &k));
    snprintf(a.target, sizeof a.target, "%s", key_id);
    a.created = a.updated = now;
    GUARD(kms_alias_put(txn, account, region, name, &a, KEYSTORE_NO_OVERWRITE));
    *created = true;
    CORE_OK;
}
