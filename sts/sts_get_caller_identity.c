#include "sts/sts_internal.h"

/*
 * GetCallerIdentity: who signed this request. Needs no permission: "No
 * permissions are required to perform this operation."
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
 */
core_result sts_get_caller_identity(struct sts_ctx *ctx)
{
    const struct core_principal *p = ctx->caller;
    struct core_buf *b = &ctx->out->body;
    GUARD(core_xml_elem_str(b, "Arn", p->arn));
    GUARD(core_xml_elem_str(b, "UserId", p->user_id));
    return core_xml_elem_str(b, "Account", p->account);
}
