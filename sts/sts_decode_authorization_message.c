/*
 * DecodeAuthorizationMessage: opens the "Encoded authorization failure
 * message" that this server's access-denied errors carry (sealed by
 * sts_authz_message_encode under the token key, with its own associated data).
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_DecodeAuthorizationMessage.html
 */
#include "sts/sts_internal.h"

core_result sts_decode_authorization_message(struct sts_ctx *ctx)
{
    const struct query_str_spec ms = {.name = "EncodedMessage", .required = true, .min = 1, .max = 10240,
                                    .cs = QUERY_CS_ANY};
    struct core_cursor msg;
    GUARD(query_param_str(ctx->call->form, ctx->out, &ms, &msg, NULL));
    if (ctx->caller->type == CORE_PRINCIPAL_ANONYMOUS)
        return sts_fail(ctx, STS_E_ACCESS_DENIED, "Not authorized to perform sts:DecodeAuthorizationMessage");
    DEFER_CLEANUP(struct core_buf plain = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&plain, STS_MAX_BODY, STS_MAX_BODY));
    uint32_t key_id;
    core_result r = sts_unseal(ctx->env, msg, "authz-message", &plain, &key_id);
    if (!core_ok(r))
        return sts_fail(ctx, STS_E_INVALID_AUTHORIZATION_MESSAGE,
                        "The encoded authorization message is invalid.");
    return core_xml_elem(&ctx->out->body, "DecodedMessage", core_buf_cursor(&plain));
}
