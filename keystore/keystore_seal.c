#include "keystore/keystore_internal.h"

#include <errno.h>
#include <sodium.h>

/*
 * Record sealing. Every stored value is
 *   version(1) | nonce(24) | XChaCha20-Poly1305 ciphertext | tag(16)
 * with AD = version | table NUL id, so the value only opens at the address
 * it was written to, under the format it was written with.
 */

_Static_assert(KS_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key size");
_Static_assert(KS_NONCE_BYTES == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce size");
_Static_assert(KS_TAG_BYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag size");
_Static_assert(KS_MAX_RECKEY_BYTES <= 511, "LMDB's default maximum key size");

core_result ks_mdb_fail(int rc, const char *file, int line)
{
    enum core_err e;
    switch (rc) {
    case MDB_NOTFOUND: e = ERR_NOT_FOUND; break;
    case MDB_KEYEXIST: e = ERR_EXISTS; break;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
    case MDB_READERS_FULL:
    case MDB_BAD_VALSIZE:
    case MDB_CURSOR_FULL:
        e = ERR_LIMIT;
        break;
    case ENOMEM: e = ERR_NOMEM; break;
    default: e = ERR_IO; break;
    }
    if (e != ERR_NOT_FOUND && e != ERR_EXISTS)
        core_log(CORE_LOG_ERROR, "keystore: lmdb: %s (%d)", mdb_strerror(rc), rc);
    return core_result_fail_at(e, file, line);
}

core_result ks_record_key(const char *table, struct core_cursor id, uint8_t *out, size_t *len)
{
    ENSURE_REF(table);
    size_t tlen = strlen(table);
    ENSURE(tlen > 0 && tlen <= KEYSTORE_MAX_TABLE_BYTES, ERR_INVALID_ARG);
    for (size_t i = 0; i < tlen; i++) {
        char c = table[i];
        ENSURE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_', ERR_INVALID_ARG);
    }
    ENSURE(id.len <= KEYSTORE_MAX_ID_BYTES, ERR_LIMIT);
    ENSURE(id.len == 0 || id.ptr != NULL, ERR_INVALID_ARG);
    memcpy(out, table, tlen);
    out[tlen] = 0;
    if (id.len) memcpy(out + tlen + 1, id.ptr, id.len);
    *len = tlen + 1 + id.len;
    CORE_OK;
}

size_t ks_record_ad(struct core_cursor reckey, uint8_t ad[KS_MAX_AD_BYTES])
{
    ad[0] = KS_FORMAT_VERSION;
    memcpy(ad + 1, reckey.ptr, reckey.len);
    return 1 + reckey.len;
}

void ks_seal(const uint8_t *key, struct core_cursor ad, struct core_cursor pt, uint8_t *out)
{
    out[0] = KS_FORMAT_VERSION;
    uint8_t *nonce = out + 1;
    randombytes_buf(nonce, KS_NONCE_BYTES);
    unsigned long long clen = 0;
    /* Cannot fail for lengths below 2^64 - 17; a failure is a bug. */
    int rc = crypto_aead_xchacha20poly1305_ietf_encrypt(out + 1 + KS_NONCE_BYTES, &clen, pt.ptr, pt.len,
                                                        ad.ptr, ad.len, NULL, nonce, key);
    if (rc != 0 || clen != pt.len + KS_TAG_BYTES) abort();
}

core_result ks_open(const uint8_t *key, struct core_cursor ad, struct core_cursor sealed, uint8_t *out,
                    size_t *out_len)
{
    *out_len = 0;
    ENSURE(sealed.len >= KS_SEAL_OVERHEAD && sealed.ptr[0] == KS_FORMAT_VERSION, ERR_TAMPERED);
    size_t n = sealed.len - KS_SEAL_OVERHEAD;
    unsigned long long mlen = 0;
    /* libsodium checks the tag before it writes any plaintext; the wipe
     * below is for the reader, who must not have to know that. */
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen, NULL, sealed.ptr + 1 + KS_NONCE_BYTES,
                                                   sealed.len - 1 - KS_NONCE_BYTES, ad.ptr, ad.len,
                                                   sealed.ptr + 1, key) != 0 ||
        mlen != n) {
        core_wipe(out, n);
        BAIL(ERR_TAMPERED);
    }
    *out_len = n;
    CORE_OK;
}
