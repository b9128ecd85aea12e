#include "kms/kms_internal.h"

/*
 * GenerateDataKey and GenerateDataKeyWithoutPlaintext: a random data key
 * (KeySpec AES_128/AES_256, or NumberOfBytes 1..1024) returned encrypted
 * under the KMS key and, for GenerateDataKey, in plaintext too. The
 * plaintext lives in guarded memory and goes straight into the reply body,
 * which the server wipes on free.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKey.html
 */

core_result kms_generate_data_key(struct kms_ctx *ctx, const json_t *in)
{
    return kms_generate_data_key_common(ctx, in, true);
}

/*
 * GenerateDataKey and GenerateDataKeyWithoutPlaintext set
 * kms:EncryptionContext:*, kms:EncryptionContextKeys and
 * kms:EncryptionAlgorithm; they take no algorithm parameter, and the data
 * key is encrypted with SYMMETRIC_DEFAULT ("kms:EncryptionAlgorithm ...
 * GenerateDataKey, GenerateDataKeyWithoutPlaintext").
 * https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-encryption-algorithm
 */
core_result kms_generate_data_key_conditions(struct kms_ctx *ctx, struct kms_cond *c)
{
    GUARD(kms_cond_ec(ctx, c, "EncryptionContext"));
    return kms_cond_algorithm(ctx, c, NULL);
}
