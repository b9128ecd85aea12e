/* STS's error catalogue (sts_errors.def). */
#include <stdio.h>

#include "sts/sts_internal.h"

const struct core_wire_error sts_errors[STS_E_COUNT] = {
#define X(e, code, status) [e] = {code, status},
#include "sts/sts_errors.def"
#undef X
};

