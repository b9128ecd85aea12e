/* Policy documents: parse + validate + compile as each kind, then evaluate
 * the compiled form against a fixed request context. */
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum policy_kind kinds[] = {POLICY_KIND_IDENTITY, POLICY_KIND_RESOURCE, POLICY_KIND_TRUST};
    for (size_t k = 0; k < 3; k++) {
        struct policy_parse_opts o = {.kind = kinds[k], .max_bytes = 131072};
        struct policy *p = NULL;
        struct core_buf reason;
        enum policy_problem prob;
        if (!core_ok(core_buf_init(&reason, 0, 4096))) return 0;
        if (core_ok(policy_parse(&o, core_cursor_from(data, size), &p, &reason, &prob))) {
            struct policy_ctx ctx;
            policy_ctx_init(&ctx);
            struct core_principal who = {.type = CORE_PRINCIPAL_USER};
            memcpy(who.account, "111122223333", 13);
            memcpy(who.arn, "arn:aws:iam::111122223333:user/alice", 37);
            memcpy(who.user_id, "AIDAEXAMPLE", 12);
            core_result_ignore(policy_ctx_set_action(&ctx, core_cursor_str("kms:Decrypt")));
            policy_ctx_set_resource(&ctx, core_cursor_str("arn:aws:kms:us-east-1:111122223333:key/k"));
            core_result_ignore(policy_ctx_set_principal(&ctx, &who, core_cursor_str("")));
            core_result_ignore(policy_ctx_add(&ctx, core_cursor_str("kms:EncryptionContext:a"), core_cursor_str("b")));
            core_result_ignore(policy_ctx_set_time(&ctx, 1700000000));
            struct policy_result res;
            core_result_ignore(policy_evaluate(p, &ctx, &res));
            policy_free(p);
        }
        core_buf_free(&reason);
    }
    return 0;
}
