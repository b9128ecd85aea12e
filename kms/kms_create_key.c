#include <stdio.h>

#include "kms/kms_asym.h"
#include "policy/policy.h"

/*
 * CreateKey: a symmetric encryption key (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT),
 * or an asymmetric or HMAC key of any KeySpec and KeyUsage AWS accepts
 * (kms_asym.c), Origin AWS_KMS or EXTERNAL, single- or multi-Region
 * (MultiRegion: a primary key with a "mrk-" id, kms_multi_region.c). Other
 * origins and custom key stores answer UnsupportedOperationException.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html
 */

static const char *const key_usages[] = {"SIGN_VERIFY", "ENCRYPT_DECRYPT", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT",
                                         NULL};
static const char *const key_specs[] = {"RSA_2048",  "RSA_3072",        "RSA_4096",       "ECC_NIST_P256",
                                        "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1", "SYMMETRIC_DEFAULT",
                                        "HMAC_224",  "HMAC_256",        "HMAC_384",       "HMAC_512",
                                        "SM2",       "ML_DSA_44",       "ML_DSA_65",      "ML_DSA_87",
                                        "ECC_NIST_EDWARDS25519", NULL};
/* The enum lists above and below follow the KMS API model's order and
 * contents (KeyUsageType, KeySpec, CustomerMasterKeySpec), so the
 * "Member must satisfy enum value set: [...]" messages list what AWS lists
 * (issue 17.7). */
/* CustomerMasterKeySpec is the deprecated subset (no ML_DSA_*, no EDWARDS25519). */
static const char *const cmk_specs[] = {"RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384",
                                        "ECC_NIST_P521", "ECC_SECG_P256K1", "SYMMETRIC_DEFAULT", "HMAC_224",
                                        "HMAC_256", "HMAC_384", "HMAC_512", "SM2", NULL};
static const char *const origins[] = {"AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE", NULL};

struct create_arg {
    struct kms_ctx *ctx;
    struct kms_key *key;
    const json_t *tags;
    const struct core_secret *material; /* asymmetric and HMAC keys (kms_asym.c); else NULL */
};

static core_result create_fn(struct keystore_txn *txn, void *argp)
{
    struct create_arg *a = argp;
    if (a->material)
        GUARD(kms_key_add_version_material(txn, a->key, a->key->created, KMS_ROT_INITIAL,
                                           core_secret_cursor(a->material)));
    else if (!a->key->external)
        GUARD(kms_key_add_version(txn, a->key, a->key->created, KMS_ROT_INITIAL));
    if (a->key->mrk.on) GUARD(kms_mrk_save(txn, a->key));
    return kms_key_save(txn, a->key);
}

core_result kms_create_key(struct kms_ctx *ctx, const json_t *in)
{
    struct core_cursor policy, desc, store, xks;
    bool have_policy, have_desc, have_usage, have_spec, have_cmk, have_origin, have_store, have_bypass, have_multi,
        have_xks;
    size_t usage = 1, spec = 7, cmk = 7, origin = 0;
    bool bypass = false, multi = false;
    const json_t *tags;
    GUARD(kms_param_string(ctx, in, "Policy", 1, 131072, false, &policy, &have_policy));
    GUARD(kms_param_string(ctx, in, "Description", 0, KMS_MAX_DESCRIPTION, false, &desc, &have_desc));
    GUARD(kms_param_enum(ctx, in, "KeyUsage", key_usages, false, &usage, &have_usage));
    GUARD(kms_param_enum(ctx, in, "CustomerMasterKeySpec", cmk_specs, false, &cmk, &have_cmk));
    GUARD(kms_param_enum(ctx, in, "KeySpec", key_specs, false, &spec, &have_spec));
    GUARD(kms_param_enum(ctx, in, "Origin", origins, false, &origin, &have_origin));
    GUARD(kms_param_string(ctx, in, "CustomKeyStoreId", 1, 64, false, &store, &have_store));
    GUARD(kms_param_bool(ctx, in, "BypassPolicyLockoutSafetyCheck", &bypass, &have_bypass));
    GUARD(kms_param_tags(ctx, in, "Tags", false, &tags));
    GUARD(kms_param_bool(ctx, in, "MultiRegion", &multi, &have_multi));
    GUARD(kms_param_string(ctx, in, "XksKeyId", 1, 128, false, &xks, &have_xks));
    GUARD(kms_params_done(ctx));

    if (have_spec && have_cmk)
        return kms_fail(ctx, KMS_E_VALIDATION, "%s",
                        "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. "
                        "CustomerMasterKeySpec parameter is deprecated. Use KeySpec instead.");
    const char *spec_name = have_cmk ? cmk_specs[cmk] : key_specs[spec];
    bool symmetric = strcmp(spec_name, "SYMMETRIC_DEFAULT") == 0;
    /* "KeyUsage ... This parameter is optional when you are creating a
     * symmetric encryption KMS key; otherwise, it is required." AWS's
     * recorded answer (issue 17.7) begins "You must specify a KeyUsage
     * value"; completed per the CreateKey API page.
     * https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html */
    if (!symmetric && !have_usage)
        return kms_fail(ctx, KMS_E_VALIDATION, "%s",
                        "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.");
    uint8_t spec_id = (uint8_t)(have_cmk ? cmk : spec);
    if (!kms_usage_fits(spec_id, (uint8_t)usage))
        return kms_fail(ctx, KMS_E_VALIDATION, "KeyUsage %s is not compatible with KeySpec %s", key_usages[usage],
                        spec_name);
    /* "SM2 (China Regions only)" (developer guide, key spec reference; AWS
     * publishes no wording for the refusal elsewhere). */
    if (spec_id == KMS_SPEC_SM2 && strncmp(ctx->region, "cn-", 3) != 0)
        return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION,
                        "KeySpec SM2 is supported only in the China Regions (cn-north-1, cn-northwest-1), not in %s.",
                        ctx->region);
    const char *why;
    if (!kms_spec_available(spec_id, &why))
        return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION, "KeySpec %s is not supported by this server: %s.",
                        spec_name, why);
    /* Origin EXTERNAL: a key with no key material, PendingImport until ImportKeyMaterial (kms_import.c). */
    bool external = origin == 1;
    /* Imported material is implemented for symmetric encryption keys only so far. */
    if (external && !symmetric)
        return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION,
                        "Origin EXTERNAL with KeySpec %s is not supported by this server yet; imported key material "
                        "is supported for SYMMETRIC_DEFAULT keys.",
                        spec_name);
    /* "You can create a symmetric or asymmetric multi-Region key, and you can create a multi-Region
     * key with imported key material. However, you cannot create a multi-Region key in a custom key
     * store." (CreateKey, MultiRegion). AWS publishes no wording for the refusal. */
    if (have_multi && multi && (origin == 2 || origin == 3 || have_store))
        return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION, "%s",
                        "You cannot create a multi-Region key in a custom key store.");
    if (origin != 0 && !external)
        return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION,
                        "Origin %s is not supported by this server yet; only AWS_KMS and EXTERNAL keys are.",
                        origins[origin]);
    if (have_store)
        return kms_fail(ctx, KMS_E_CUSTOM_KEY_STORE_NOT_FOUND, "Custom key store '%.*s' does not exist.",
                        (int)store.len, (const char *)store.ptr);

    /* kms:CreateKey is an IAM-policy permission (there is no key yet). */
    GUARD(kms_authorize_identity(ctx, NULL));
    DEFER_CLEANUP(struct kms_key k = {0}, kms_key_free);
    GUARD(kms_key_init(&k));
    snprintf(k.account, sizeof k.account, "%s", ctx->account);
    snprintf(k.region, sizeof k.region, "%s", ctx->region);
    if (multi) {
        /* "multi-Region keys have a distinctive key ID that begins with mrk-" (mrk-how-it-works.html) */
        kms_mrk_new_id(k.key_id);
        k.mrk.on = true;
        snprintf(k.mrk.primary, sizeof k.mrk.primary, "%s", ctx->region);
    } else {
        kms_new_uuid(k.key_id);
    }
    kms_key_set_arn(&k);
    if (have_policy) {
        /* Validated and compiled by the policy engine; the caller must not lock itself out. */
        DEFER_CLEANUP(struct policy *p = NULL, policy_cleanup);
        DEFER_CLEANUP(struct core_buf stored = {0}, core_buf_cleanup); /* principals as unique ids */
        GUARD(kms_policy_compile(ctx, policy, &stored, &p));
        if (!bypass) GUARD(kms_lockout_check(ctx, &k, p));
        GUARD(core_buf_append_cursor(&k.policy, core_buf_cursor(&stored)));
    } else {
        GUARD(kms_default_policy(core_partition_of(ctx->region), ctx->account, &k.policy));
    }
    k.state = external ? KMS_STATE_PENDING_IMPORT : KMS_STATE_ENABLED;
    k.external = external;
    k.created = ctx->call->now;
    k.spec = spec_id;
    k.usage = (uint8_t)usage;
    /* Private material is made before the write (RSA generation is slow)
     * and handed to it in guarded memory. */
    DEFER_CLEANUP(struct core_secret material = {0}, core_secret_cleanup);
    if (!symmetric) {
        core_result g = kms_asym_generate(spec_id, &material);
        if (!core_ok(g)) return kms_internal(ctx, g, "CreateKey key generation");
    }
    if (have_desc) GUARD(core_buf_append_cursor(&k.description, desc));
    if (tags) GUARD(kms_tags_apply(ctx, &k, tags));

    struct create_arg a = {.ctx = ctx, .key = &k, .tags = tags, .material = symmetric ? NULL : &material};
    core_result r = keystore_write(ctx->env->ks, create_fn, &a);
    if (!core_ok(r)) return kms_internal(ctx, r, "CreateKey write");

    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    GUARD(core_jw_object_begin(&w, NULL));
    GUARD(kms_render_metadata(&w, "KeyMetadata", &k));
    return core_jw_object_end(&w);
}

/*
 * CreateKey's condition keys (an IAM-policy permission: no key yet):
 * kms:BypassPolicyLockoutSafetyCheck, kms:KeySpec, kms:KeyUsage,
 * kms:KeyOrigin, kms:MultiRegion, kms:MultiRegionKeyType (PRIMARY, for a
 * multi-Region key: "allow principals to create only multi-Region primary
 * keys"), aws:RequestTag/<key>, aws:TagKeys.
 * https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html
 */
core_result kms_create_key_conditions(struct kms_ctx *ctx, struct kms_cond *c)
{
    GUARD(kms_cond_bool(ctx, c, "BypassPolicyLockoutSafetyCheck", "kms:BypassPolicyLockoutSafetyCheck"));
    GUARD(kms_cond_string(ctx, c, "KeySpec", "kms:KeySpec", "SYMMETRIC_DEFAULT"));
    GUARD(kms_cond_string(ctx, c, "KeyUsage", "kms:KeyUsage", "ENCRYPT_DECRYPT"));
    GUARD(kms_cond_string(ctx, c, "Origin", "kms:KeyOrigin", "AWS_KMS"));
    GUARD(kms_cond_bool(ctx, c, "MultiRegion", "kms:MultiRegion"));
    if (kms_in_true(ctx, "MultiRegion")) GUARD(policy_ctx_add_str(c->pc, "kms:MultiRegionKeyType", "PRIMARY"));
    return kms_cond_request_tags(ctx, c, "Tags", true);
}
