/*
 * --tls-cert / --tls-key: the certificate chain and private key, read once
 * and checked with OpenSSL (a PEM certificate, a PEM private key, and the
 * key matching the certificate) so a mistake is a clear error at start or
 * at --check-config rather than a handshake failure later. libmicrohttpd
 * (GnuTLS) serves them from memory; the key's PEM lives in guarded memory,
 * wiped when the server stops.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "server/server_internal.h"

#define TLS_MAX_PEM_BYTES (256u * 1024u)

/* Reads path into out (NUL-terminated); secret files into guarded memory. */
static core_result read_pem(const char *path, bool secret, struct core_buf *out)
{
    GUARD(secret ? core_buf_init_secret(out, TLS_MAX_PEM_BYTES) : core_buf_init(out, 4096, TLS_MAX_PEM_BYTES));
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        core_log(CORE_LOG_ERROR, "tls: cannot read %s", path);
        BAIL(ERR_IO);
    }
    uint8_t chunk[4096];
    size_t n = 0;
    core_result r = core_result_ok();
    while (core_ok(r) && (n = fread(chunk, 1, sizeof chunk, f)) > 0) r = core_buf_append(out, chunk, n);
    fclose(f);
    core_wipe(chunk, sizeof chunk);
    if (!core_ok(r)) {
        core_log(CORE_LOG_ERROR, "tls: %s is larger than %u bytes", path, TLS_MAX_PEM_BYTES);
        return r;
    }
    return core_buf_terminate(out);
}

core_result server_tls_load(const struct server_config *cfg, struct server_tls *out)
{
    *out = (struct server_tls){0};
    if (!cfg->tls_cert[0] && !cfg->tls_key[0]) CORE_OK;
    if (!cfg->tls_cert[0] || !cfg->tls_key[0]) {
        core_log(CORE_LOG_ERROR, "tls: --tls-cert and --tls-key go together");
        BAIL(ERR_INVALID_ARG);
    }
    struct stat st;
    if (stat(cfg->tls_key, &st) == 0 && (st.st_mode & 077))
        core_log(CORE_LOG_WARN, "tls: %s is readable by other users (mode %03o); chmod 600 it", cfg->tls_key,
                 (unsigned)(st.st_mode & 0777));
    GUARD(read_pem(cfg->tls_cert, false, &out->cert));
    core_result r = read_pem(cfg->tls_key, true, &out->key);
    if (!core_ok(r)) {
        server_tls_free(out);
        return r;
    }
    BIO *cb = BIO_new_mem_buf(out->cert.data, (int)out->cert.len);
    BIO *kb = BIO_new_mem_buf(out->key.data, (int)out->key.len);
    X509 *x = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    EVP_PKEY *k = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    const char *problem = NULL;
    if (x == NULL)
        problem = "the certificate file holds no PEM certificate";
    else if (k == NULL)
        problem = "the key file holds no unencrypted PEM private key";
    else if (X509_check_private_key(x, k) != 1)
        problem = "the private key does not match the certificate";
    if (x && !problem && X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
        core_log(CORE_LOG_WARN, "tls: the certificate in %s has expired", cfg->tls_cert);
    X509_free(x);
    EVP_PKEY_free(k);
    BIO_free(cb);
    BIO_free(kb);
    if (problem) {
        core_log(CORE_LOG_ERROR, "tls: %s (%s, %s)", problem, cfg->tls_cert, cfg->tls_key);
        server_tls_free(out);
        BAIL(ERR_INVALID_ARG);
    }
    out->on = true;
    CORE_OK;
}

void server_tls_free(struct server_tls *t)
{
    core_buf_free(&t->cert);
    core_buf_free(&t->key);
    t->on = false;
}
