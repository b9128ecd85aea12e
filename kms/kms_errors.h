#ifndef KMS_ERRORS_H
#define KMS_ERRORS_H

/* The KMS wire errors (kms_errors.def), for the KMS module and its tests. */

#include "core/core.h"

enum kms_error {
#define X(e, code, status) e,
#include "kms/kms_errors.def"
#undef X
    KMS_E_COUNT
};

/** The AWS error code of e ("NotFoundException"). */
const char *kms_error_code(enum kms_error e);
/** The HTTP status of e. */
unsigned kms_error_status(enum kms_error e);
/**
 * Records error e with a formatted message in out.
 * @return {ERR_API}, for `return kms_reply_fail(...)`.
 */
core_result kms_reply_fail(struct core_reply *out, enum kms_error e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
