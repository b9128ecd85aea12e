/*
 * Messages in AWS's words. Values echoed back to the client are untrusted:
 * they are length-capped and every byte outside printable ASCII is shown as
 * \xHH, so a reply can carry no raw control character (redis strips CR/LF in
 * addReplyError* for the same reason) and stays valid UTF-8 for the JSON and
 * XML writers. Only the canonical request keeps its own newlines.
 */
#include "sigv4/sigv4_stages.h"

static void put(struct sigv4_diag *diag, const void *p, size_t n)
{
    /* A full message buffer truncates the message; it never fails the request path. */
    core_result_ignore(core_buf_append(&diag->message, p, n));
}

void sigv4_diag_str(struct sigv4_diag *diag, const char *s)
{
    if (diag == NULL) return;
    put(diag, s, strlen(s));
}

void sigv4_diag_echo(struct sigv4_diag *diag, struct core_cursor v, size_t cap, bool keep_newlines)
{
    static const char hx[] = "0123456789abcdef";
    if (diag == NULL) return;
    size_t n = v.len > cap ? cap : v.len;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = v.ptr[i];
        if ((c >= 0x20 && c < 0x7f) || (keep_newlines && c == '\n')) {
            put(diag, &c, 1);
        } else {
            char e[4] = {'\\', 'x', hx[c >> 4], hx[c & 15]};
            put(diag, e, sizeof e);
        }
    }
    if (n < v.len) put(diag, "...", 3);
}

void sigv4_diag_time(struct sigv4_diag *diag, int64_t t)
{
    if (diag == NULL) return;
    char s[32];
    core_time_amz(t, s);
    put(diag, s, strlen(s));
}

core_result sigv4_check_scope(const struct sigv4_auth *auth, struct core_cursor region, struct core_cursor service,
                              struct sigv4_diag *diag)
{
    if (!core_cursor_eq(auth->region, region)) {
        sigv4_diag_str(diag, "Credential should be scoped to a valid region, not '");
        sigv4_diag_echo(diag, auth->region, SIGV4_MAX_ECHO_BYTES, false);
        sigv4_diag_str(diag, "'.");
        BAIL(ERR_AUTH_BAD_SIGNATURE);
    }
    if (!core_cursor_eq(auth->service, service)) {
        sigv4_diag_str(diag, "Credential should be scoped to correct service: '");
        sigv4_diag_echo(diag, service, SIGV4_MAX_ECHO_BYTES, false);
        sigv4_diag_str(diag, "'.");
        BAIL(ERR_AUTH_BAD_SIGNATURE);
    }
    CORE_OK;
}
