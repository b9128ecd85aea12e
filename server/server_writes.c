/*
 * Which requests may write to the keystore. Writes are durable (each waits
 * for an fsync), so they run on the writer pool (server_http.c) where many
 * can wait at once and share one group commit, instead of pinning the few
 * event-loop threads that serve the cryptographic hot path. KMS operations
 * say so in their action row (kms_action_writes); IAM ones are told by
 * name. The test runs before authentication; a misclassified request is
 * only served on the other kind of thread, never served differently.
 */
#include <string.h>

#include "kms/kms.h"
#include "server/server.h"

static bool has_prefix(struct core_cursor op, const char *const *prefixes)
{
    for (size_t i = 0; prefixes[i]; i++)
        if (core_cursor_starts_with(op, prefixes[i])) return true;
    return false;
}

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
    /* IAM: everything but reads. STS issues tokens without writing. */
    static const char *const iam_writes[] = {"Add", "Attach", "Change", "Create", "Deactivate", "Delete", "Disable",
                                             "Detach", "Enable", "Put", "Remove", "Resync", "Set",
                                             "Tag", "Untag", "Update", "Upload", NULL};
    struct core_cursor target;
    if (http_request_header(req, "x-amz-target", &target)) return kms_action_writes(target);
    struct core_cursor action;
    if (strcmp(req->method, "POST") != 0 || !form_action(req->body, &action)) return false;
    return has_prefix(action, iam_writes);
}
