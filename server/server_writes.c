/*
 * Which requests may write to the keystore. Writes are durable (each waits
 * for an fsync), so they run on the writer pool (server_http.c) where many
 * can wait at once and share one group commit, instead of pinning the few
 * event-loop threads that serve the cryptographic hot path. Every service's
 * action row says whether it writes (CORE_ACTION_WRITES): KMS through
 * kms_action_writes, IAM through iam_action_writes, STS through
 * sts_action_writes (STS issues tokens without writing). The test runs before
 * authentication; a misclassified request is only served on the other kind
 * of thread, never served differently.
 */
#include "iam/iam.h"
#include "kms/kms.h"
#include "server/server.h"
#include "sts/sts.h"

/* The value of Action= in a form body, without decoding (action names are plain). */
static bool form_action(struct core_cursor body, struct core_cursor *action)
{
    struct core_cursor rest = body, pair;
    while (core_cursor_split(&rest, '&', &pair)) {
        if (core_cursor_starts_with(pair, "Action=")) {
            *action = core_cursor_from(pair.ptr + 7, pair.len - 7);
            return true;
        }
    }
    return false;
}

bool server_request_writes(const struct http_request *req)
{
    struct core_cursor target;
    if (http_request_header(req, "x-amz-target", &target)) return kms_action_writes(target);
    struct core_cursor action;
    if (!core_cursor_eq_str(core_cursor_str(req->method), "POST") || !form_action(req->body, &action)) return false;
    return iam_action_writes(action) || sts_action_writes(action);
}
