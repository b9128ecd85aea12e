#include "kms/kms_internal.h"

/*
 * GenerateDataKeyWithoutPlaintext: GenerateDataKey without the plaintext in
 * the reply (kms_generate_data_key.c does the work).
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKeyWithoutPlaintext.html
 */
core_result kms_generate_data_key_without_plaintext(struct kms_ctx *ctx, const json_t *in)
{
    return kms_generate_data_key_common(ctx, in, false);
}
