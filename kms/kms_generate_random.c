#include "kms/kms_internal.h"

/*
 * GenerateRandom: NumberOfBytes (1..1024) random bytes from the CSPRNG.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateRandom.html
 * No key is involved, so no key policy applies; the action is authorized
 * by identity policy alone (kms:GenerateRandom).
 */
core_result kms_generate_random(struct kms_ctx *ctx, const json_t *in)
{
    int64_t nbytes = 0;
    bool have_n, have_store;
    struct core_cursor store;
    GUARD(kms_param_int(ctx, in, "NumberOfBytes", 1, 1024, false, &nbytes, &have_n));
    GUARD(kms_param_string(ctx, in, "CustomKeyStoreId", 1, 64, false, &store, &have_store));
    GUARD(kms_params_done(ctx));
    /* NumberOfBytes is optional in the model but "This parameter is
     * required" (API page); AWS's recorded answer without it is this
     * ValidationException (issue 17.5), before any authorization.
     * https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateRandom.html */
    if (!have_n) return kms_fail(ctx, KMS_E_VALIDATION, "%s", "NumberOfBytes is required.");
    GUARD(kms_authorize_identity(ctx, NULL));
    if (have_store)
        return kms_fail(ctx, KMS_E_CUSTOM_KEY_STORE_NOT_FOUND, "Custom key store '%.*s' does not exist.",
                        (int)(store.len > 64 ? 64 : store.len), (const char *)store.ptr);
    if (json_object_get(in, "Recipient") && !json_is_null(json_object_get(in, "Recipient")))
        return kms_fail(ctx, KMS_E_UNSUPPORTED_OPERATION, "%s",
                        "Recipient attestation documents are not supported by this server.");

    /* Per-request secret bytes live in guarded memory and are wiped after rendering. */
    DEFER_CLEANUP(struct core_buf rnd = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&rnd, 1024));
    core_random(rnd.data, (size_t)nbytes);
    rnd.len = (size_t)nbytes;
    struct core_jw w;
    core_jw_init(&w, &ctx->out->body);
    GUARD(core_jw_object_begin(&w, NULL));
    GUARD(core_jw_base64(&w, "Plaintext", core_buf_cursor(&rnd)));
    return core_jw_object_end(&w);
}
