/*
 * kmsctl tls self-signed --data-dir DIR [--days N] [--name HOST]...: an
 * ECDSA P-256 key (DIR/tls-key.pem, mode 0600) and a self-signed
 * certificate for localhost, 127.0.0.1 and ::1 (DIR/tls-cert.pem), for
 * kmsd --tls-cert/--tls-key. Clients trust it with the certificate itself
 * as their CA bundle (aws --ca-bundle, boto3 verify=, NODE_EXTRA_CA_CERTS).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/core.h"
#include "tools/kmsctl.h"

#define MAX_NAMES 16

static int usage(void)
{
    fprintf(stderr, "usage: kmsctl tls self-signed --data-dir DIR [--days N] [--name HOST]... [--force]\n"
                    "  writes DIR/tls-key.pem (0600) and DIR/tls-cert.pem for localhost, 127.0.0.1, ::1\n"
                    "  (and each --name); then: kmsd --tls-cert DIR/tls-cert.pem --tls-key DIR/tls-key.pem\n");
    return 2;
}

static bool add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (e == NULL) return false;
    bool ok = X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok;
}

static bool write_pem(const char *path, mode_t mode, bool force, EVP_PKEY *key, X509 *cert)
{
    int fd = open(path, O_WRONLY | O_CREAT | (force ? O_TRUNC : O_EXCL) | O_CLOEXEC, mode);
    if (fd < 0) {
        fprintf(stderr, "kmsctl: cannot create %s: %s%s\n", path, strerror(errno),
                errno == EEXIST ? " (use --force to replace it)" : "");
        return false;
    }
    if (fchmod(fd, mode) != 0) {
        close(fd);
        return false;
    }
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        return false;
    }
    bool ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1 : PEM_write_X509(f, cert) == 1;
    ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
    return fclose(f) == 0 && ok;
}

static int self_signed(int argc, char **argv)
{
    const char *dir = NULL, *names[MAX_NAMES];
    size_t n_names = 0;
    unsigned long long days = 365;
    bool force = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t d = 0;
        if (!strcmp(a, "--force")) {
            force = true;
        } else if (!strcmp(a, "--data-dir") && v) {
            dir = v, i++;
        } else if (!strcmp(a, "--days") && v && core_ok(core_cursor_to_u64(core_cursor_str(v), 3650, &d)) && d) {
            days = d, i++;
        } else if (!strcmp(a, "--name") && v && n_names < MAX_NAMES && strlen(v) < 200 &&
                   strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:") == strlen(v)) {
            names[n_names++] = v, i++;
        } else {
            return usage();
        }
    }
    if (!dir) return usage();
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "kmsctl: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char san[4096] = "DNS:localhost,IP:127.0.0.1,IP:::1";
    for (size_t i = 0; i < n_names; i++) {
        /* An address is an IP SAN, anything else a DNS name. */
        bool ip = strspn(names[i], "0123456789.") == strlen(names[i]) || strchr(names[i], ':') != NULL;
        size_t l = strlen(san);
        snprintf(san + l, sizeof san - l, ",%s:%s", ip ? "IP" : "DNS", names[i]);
    }
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    bool ok = key && x;
    uint8_t serial[16];
    core_random(serial, sizeof serial);
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    ok = ok && bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    ok = ok && X509_set_version(x, 2) == 1;
    ok = ok && X509_gmtime_adj(X509_getm_notBefore(x), -300) && X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400);
    X509_NAME *name = ok ? X509_get_subject_name(x) : NULL;
    ok = ok && X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"kmsd", -1, -1, 0) == 1 &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0) == 1;
    ok = ok && X509_set_issuer_name(x, name) == 1 && X509_set_pubkey(x, key) == 1;
    /* A self-signed certificate that clients use as their own trust anchor. */
    ok = ok && add_ext(x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
         add_ext(x, NID_key_usage, "critical,digitalSignature,keyCertSign") &&
         add_ext(x, NID_ext_key_usage, "serverAuth") && add_ext(x, NID_subject_key_identifier, "hash") &&
         add_ext(x, NID_authority_key_identifier, "keyid:always") && add_ext(x, NID_subject_alt_name, san);
    ok = ok && X509_sign(x, key, EVP_sha256()) > 0;
    char kpath[1200], cpath[1200];
    snprintf(kpath, sizeof kpath, "%s/tls-key.pem", dir);
    snprintf(cpath, sizeof cpath, "%s/tls-cert.pem", dir);
    if (!ok) fprintf(stderr, "kmsctl: cannot make the certificate\n");
    ok = ok && write_pem(kpath, 0600, force, key, NULL) && write_pem(cpath, 0644, force, NULL, x);
    EVP_PKEY_free(key);
    X509_free(x);
    if (!ok) return 1;
    printf("%s\n%s\nkmsd --tls-cert %s --tls-key %s\n", cpath, kpath, cpath, kpath);
    return 0;
}

int kmsctl_tls(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "self-signed")) return self_signed(argc - 1, argv + 1);
    return usage();
}
