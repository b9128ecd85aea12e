#ifndef SERVER_INTERNAL_H
#define SERVER_INTERNAL_H

#include "iam/iam.h"
#include "kms/kms.h"
#include "server/server.h"
#include "sts/sts.h"

struct server {
    struct server_config cfg;
    struct keystore *ks;
    struct sigv4_key_cache *key_cache;
    struct kms_env *kms;
    struct sts_env *sts;
    struct iam_env *iam;
    void *daemon;           /* struct MHD_Daemon *, server_http.c only */
    int64_t clock_file_mtime;
};

bool server_parse_duration(const char *s, int64_t *out);

/**
 * The owner and secret of a long-term access key, from this thread's cache
 * when the keystore has not changed since, else from the keystore.
 * @param[out] secret borrowed: valid until this thread's next lookup.
 * Errors: ERR_NOT_FOUND, ERR_NOMEM, keystore errors.
 */
CORE_RESULT server_cred_lookup(struct keystore *ks, struct core_cursor id, struct core_principal *owner,
                               bool *active, struct core_cursor *secret);

#endif
