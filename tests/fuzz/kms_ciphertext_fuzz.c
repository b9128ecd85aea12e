/*
 * KMS ciphertext blobs (kms/kms_ciphertext.c, docs/ciphertext.md): the header
 * parser, AES-GCM open and the canonical encryption context, on hostile input.
 *
 * The first byte picks the mode:
 *  - even: the rest is a CiphertextBlob as a client sends it. It is parsed and
 *    opened under the material of vectors/kms/ciphertext_v1.txt's first row,
 *    so that row's blob (in the corpus) reaches a successful open.
 *  - odd: the rest is "<encryption context JSON> NUL <plaintext>". The context
 *    is canonicalised, the plaintext sealed, and the blob parsed and opened
 *    again: it must round-trip, and must no longer open once any one byte
 *    (chosen by the first byte) is flipped or the context changes.
 */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "kms/kms_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t material[KMS_MATERIAL_BYTES] = {
    0xc2, 0x1d, 0xf4, 0xe0, 0x26, 0x33, 0x36, 0xe8, 0xaa, 0xb4, 0x30, 0xb8, 0x72, 0xbe, 0xff, 0x9c,
    0xbf, 0xd6, 0x5c, 0x58, 0xa3, 0x09, 0xa2, 0xf7, 0xf2, 0x5e, 0x55, 0x56, 0x39, 0xbf, 0x2d, 0xf2,
};

static EVP_CIPHER *cipher(void)
{
    static EVP_CIPHER *c;
    if (c == NULL) {
        if (!core_ok(core_crypto_init())) abort();
        core_json_init();
        c = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
        if (c == NULL) abort();
    }
    return c;
}

static void open_blob(struct core_cursor blob)
{
    struct kms_ct_header h;
    if (!core_ok(kms_ct_parse(blob, &h))) return;
    if (h.header_len > blob.len || h.account[12] != 0) abort();
    struct core_buf pt;
    if (!core_ok(core_buf_init_secret(&pt, KMS_MAX_PLAINTEXT_BYTES + 16))) return;
    struct core_cursor mat = core_cursor_from(material, sizeof material);
    uint8_t empty_ec[2] = {0, 0};
    core_result_ignore(kms_ct_open(cipher(), blob, &h, mat, core_cursor_from(empty_ec, 2), &pt));
    core_buf_free(&pt);
}

static void round_trip(uint8_t sel, struct core_cursor in)
{
    struct core_cursor ec_text = in, plaintext = {0};
    for (size_t i = 0; i < in.len; i++)
        if (in.ptr[i] == 0) {
            ec_text = core_cursor_from(in.ptr, i);
            plaintext = core_cursor_from(in.ptr + i + 1, in.len - i - 1);
            break;
        }
    if (plaintext.len > KMS_MAX_PLAINTEXT_BYTES) return;
    json_t *ec = NULL;
    if (ec_text.len && !core_ok(core_json_parse(ec_text, CORE_MAX_JSON_DEPTH, &ec))) return;
    struct core_buf canon = {0}, blob = {0}, pt = {0};
    if (!core_ok(core_buf_init(&canon, 64, KMS_MAX_EC_BYTES + 2)) ||
        !core_ok(core_buf_init(&blob, 256, 1 << 16)) || !core_ok(core_buf_init_secret(&pt, KMS_MAX_PLAINTEXT_BYTES + 16)))
        goto done;
    if (!core_ok(kms_ec_canonical(ec, &canon))) goto done;
    struct kms_ct_header h = {.version = KMS_CT_VERSION, .material_version = 1u + sel};
    snprintf(h.account, sizeof h.account, "111122223333");
    snprintf(h.region, sizeof h.region, "us-east-1");
    snprintf(h.key_id, sizeof h.key_id, "a3b9a3d3-4275-417b-98a9-787dbdbb1ef9");
    memset(h.nonce, sel, sizeof h.nonce);
    struct core_cursor mat = core_cursor_from(material, sizeof material);
    if (!core_ok(kms_ct_seal(cipher(), &h, mat, core_buf_cursor(&canon), plaintext, &blob))) abort();
    struct kms_ct_header got;
    if (!core_ok(kms_ct_parse(core_buf_cursor(&blob), &got))) abort();
    if (!core_ok(kms_ct_open(cipher(), core_buf_cursor(&blob), &got, mat, core_buf_cursor(&canon), &pt))) abort();
    if (!core_cursor_eq(core_buf_cursor(&pt), plaintext)) abort();
    /* Any flipped byte: either the header no longer parses or the tag fails. */
    blob.data[(size_t)sel * 7u % blob.len] ^= (uint8_t)(1u << (sel % 8u));
    if (core_ok(kms_ct_parse(core_buf_cursor(&blob), &got)) &&
        core_ok(kms_ct_open(cipher(), core_buf_cursor(&blob), &got, mat, core_buf_cursor(&canon), &pt)))
        abort();
    blob.data[(size_t)sel * 7u % blob.len] ^= (uint8_t)(1u << (sel % 8u));
    /* Another context (one byte more) must not open it either. */
    if (!core_ok(core_buf_append_u8(&canon, 0))) goto done;
    if (core_ok(kms_ct_open(cipher(), core_buf_cursor(&blob), &got, mat, core_buf_cursor(&canon), &pt))) abort();
done:
    json_decref(ec);
    core_buf_free(&canon);
    core_buf_free(&blob);
    core_buf_free(&pt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)cipher();
    if (size == 0) return 0;
    struct core_cursor rest = core_cursor_from(data + 1, size - 1);
    if ((data[0] & 1u) == 0) {
        open_blob(rest);
        /* The same bytes as the base64 text of a CiphertextBlob field. */
        struct core_buf raw;
        if (core_ok(core_buf_init(&raw, 0, 8192))) {
            if (core_ok(core_buf_append_unbase64(&raw, rest))) open_blob(core_buf_cursor(&raw));
            core_buf_free(&raw);
        }
    } else {
        round_trip((uint8_t)(data[0] >> 1), rest);
    }
    return 0;
}
