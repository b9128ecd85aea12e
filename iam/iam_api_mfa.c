/*
 * Virtual MFA devices: CreateVirtualMFADevice, EnableMFADevice, and the
 * TOTP check GetSessionToken uses. TOTP is RFC 6238 with HMAC-SHA1, six
 * digits and 30-second steps, as authenticator apps compute it:
 * "TOTP = HOTP(K, T), where T is an integer and represents the number of
 * time steps between the initial counter time T0 and the current Unix time"
 * https://www.rfc-editor.org/rfc/rfc6238#section-4.2
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>

#include "iam/iam_internal.h"

#define SEED_BYTES 20u

core_result iam_totp(struct core_cursor seed, int64_t step, char out[7])
{
    uint8_t msg[8], mac[EVP_MAX_MD_SIZE];
    for (int i = 7; i >= 0; i--, step >>= 8) msg[i] = (uint8_t)(step & 0xff);
    unsigned maclen = 0;
    ENSURE(HMAC(EVP_sha1(), seed.ptr, (int)seed.len, msg, sizeof msg, mac, &maclen) != NULL && maclen == 20,
           ERR_CRYPTO);
    /* RFC 4226 5.3 dynamic truncation */
    unsigned off = mac[19] & 0x0f;
    uint32_t bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
                   ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
    core_wipe(mac, sizeof mac);
    snprintf(out, 7, "%06u", bin % 1000000u);
    CORE_OK;
}

static void b32_encode(const uint8_t *in, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    size_t o = 0;
    uint32_t buf = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        buf = (buf << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = a[(buf >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0) out[o++] = a[(buf << (5 - bits)) & 31];
    out[o] = 0;
}

static struct core_cursor serial_name(struct core_cursor serial)
{
    size_t last = 0;
    for (size_t i = 0; i < serial.len; i++)
        if (serial.ptr[i] == '/') last = i + 1;
    return core_cursor_from(serial.ptr + last, serial.len - last);
}

static core_result load_seed(const json_t *rec, struct core_secret *seed)
{
    const char *b64 = iam_js(rec, "seed");
    DEFER_CLEANUP(struct core_buf raw = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&raw, 64));
    GUARD(core_buf_append_unbase64(&raw, core_cursor_str(b64)));
    return core_secret_copy(seed, raw.data, raw.len);
}

static core_result create_mfa_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    struct core_cursor path, name;
    GUARD(iam_param_path(ctx, "Path", &path));
    const struct query_str_spec ns = {.name = "VirtualMFADeviceName", .required = true, .min = 1, .max = 128,
                                    .cs = QUERY_CS_NAME};
    GUARD(query_param_str(ctx->form, ctx->out, &ns, &name, NULL));
    char serial[800], pathz[IAM_MAX_PATH + 1], namez[160];
    snprintf(pathz, sizeof pathz, "%.*s", (int)path.len, (const char *)path.ptr);
    snprintf(namez, sizeof namez, "%.*s", (int)name.len, (const char *)name.ptr);
    iam_arn(serial, sizeof serial, ctx->account, "mfa", pathz, namez);
    uint8_t seed[SEED_BYTES];
    core_random(seed, sizeof seed);
    DEFER_CLEANUP(struct core_buf b64 = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&b64, 64));
    GUARD(core_buf_append_base64(&b64, core_cursor_from(seed, sizeof seed)));
    char b32[40];
    b32_encode(seed, sizeof seed, b32);
    core_wipe(seed, sizeof seed);
    DEFER_CLEANUP(json_t *rec = json_pack("{s:s,s:s%,s:s,s:I}", "serial", serial, "seed", (const char *)b64.data,
                                          b64.len, "user", "", "created", (json_int_t)ctx->now),
                  core_json_cleanup);
    ENSURE(rec != NULL, ERR_NOMEM);
    core_result r = iam_rec_put(txn, IAM_T_MFA, ctx->account, name, rec, KEYSTORE_NO_OVERWRITE);
    if (r.err == ERR_EXISTS)
        return iam_fail(ctx->out, IAM_E_ENTITY_ALREADY_EXISTS, "MFADevice entity at the same path and name "
                                "already exists.");
    GUARD(r);
    GUARD(core_buf_append_str(ctx->b, "<VirtualMFADevice>"));
    GUARD(core_xml_elem_str(ctx->b, "SerialNumber", serial));
    /* A blob: base64 of the base32 text an authenticator app takes. */
    DEFER_CLEANUP(struct core_buf blob = {0}, core_buf_cleanup);
    GUARD(core_buf_init_secret(&blob, 128));
    GUARD(core_buf_append_base64(&blob, core_cursor_str(b32)));
    core_wipe(b32, sizeof b32);
    GUARD(core_xml_elem(ctx->b, "Base32StringSeed", core_buf_cursor(&blob)));
    return core_buf_append_str(ctx->b, "</VirtualMFADevice>");
}

core_result iam_create_virtual_mfa_device(struct iam_ctx *ctx) { return iam_write(ctx, create_mfa_txn); }

static core_result enable_mfa_txn(struct iam_ctx *ctx, struct keystore_txn *txn)
{
    const struct query_str_spec us = {.name = "UserName", .required = true, .min = 1, .max = 128, .cs = QUERY_CS_NAME};
    const struct query_str_spec ss = {.name = "SerialNumber", .required = true, .min = 9, .max = 256, .cs = QUERY_CS_SERIAL};
    const struct query_str_spec c1 = {.name = "AuthenticationCode1", .required = true, .min = 6, .max = 6,
                                    .cs = QUERY_CS_DIGITS};
    const struct query_str_spec c2 = {.name = "AuthenticationCode2", .required = true, .min = 6, .max = 6,
                                    .cs = QUERY_CS_DIGITS};
    struct core_cursor uname, serial, code1, code2;
    GUARD(query_param_str(ctx->form, ctx->out, &us, &uname, NULL));
    GUARD(query_param_str(ctx->form, ctx->out, &ss, &serial, NULL));
    GUARD(query_param_str(ctx->form, ctx->out, &c1, &code1, NULL));
    GUARD(query_param_str(ctx->form, ctx->out, &c2, &code2, NULL));
    DEFER_CLEANUP(json_t *user = NULL, core_json_cleanup);
    GUARD(iam_load_user(ctx, txn, uname, &user));
    DEFER_CLEANUP(json_t *dev = NULL, core_json_cleanup);
    core_result r = iam_rec_get(txn, IAM_T_MFA, ctx->account, serial_name(serial), &dev);
    if (r.err == ERR_NOT_FOUND || (core_ok(r) && !core_cursor_eq_str(serial, iam_js(dev, "serial"))))
        return iam_fail(ctx->out, IAM_E_NO_SUCH_ENTITY, "VirtualMFADevice with serial number %.*s doesn't exist.",
                                (int)serial.len, (const char *)serial.ptr);
    GUARD(r);
    if (*iam_js(dev, "user"))
        return iam_fail(ctx->out, IAM_E_ENTITY_ALREADY_EXISTS, "MFA Device is already in use.");
    DEFER_CLEANUP(struct core_secret seed = {0}, core_secret_cleanup);
    GUARD(load_seed(dev, &seed));
    /* Two consecutive codes, as the console asks for: search a few steps back. */
    int64_t now_step = ctx->now / 30;
    bool ok = false;
    for (int64_t t = now_step - 10; t <= now_step + 1 && !ok; t++) {
        char a[7], b[7];
        GUARD(iam_totp(core_secret_cursor(&seed), t, a));
        GUARD(iam_totp(core_secret_cursor(&seed), t + 1, b));
        ok = core_ct_equal_cursor(core_cursor_str(a), code1) && core_ct_equal_cursor(core_cursor_str(b), code2);
    }
    if (!ok) return iam_fail(ctx->out, IAM_E_INVALID_AUTHENTICATION_CODE, "Authentication code for device is not valid.");
    char n[IAM_MAX_NAME + 1], arn[700];
    const char *stored = iam_user_name(user, uname, n, sizeof n);
    iam_arn(arn, sizeof arn, ctx->account, "user", iam_js(user, "path")[0] ? iam_js(user, "path") : "/", stored);
    json_object_set_new(dev, "user", json_string(arn));
    json_object_set_new(dev, "enabled", json_integer(ctx->now));
    json_object_set_new(user, "mfa", json_string(iam_js(dev, "serial")));
    GUARD(iam_rec_put(txn, IAM_T_MFA, ctx->account, serial_name(serial), dev, 0));
    return iam_rec_put(txn, IAM_T_USER, ctx->account, uname, user, 0);
}

core_result iam_enable_mfa_device(struct iam_ctx *ctx) { return iam_write(ctx, enable_mfa_txn); }

core_result iam_mfa_check_code(struct keystore_txn *txn, const char *account, struct core_cursor serial,
                               const char *user_arn, struct core_cursor code, int64_t now, int64_t *step)
{
    DEFER_CLEANUP(json_t *dev = NULL, core_json_cleanup);
    GUARD(iam_rec_get(txn, IAM_T_MFA, account, serial_name(serial), &dev));
    ENSURE(core_cursor_eq_str(serial, iam_js(dev, "serial")), ERR_NOT_FOUND);
    ENSURE(strcmp(iam_js(dev, "user"), user_arn) == 0, ERR_NOT_FOUND);
    DEFER_CLEANUP(struct core_secret seed = {0}, core_secret_cleanup);
    GUARD(load_seed(dev, &seed));
    /* Steps at or before the last one used are spent (RFC 6238 section 5.2). */
    const json_t *last = json_object_get(dev, "last_step");
    int64_t spent = json_is_integer(last) ? (int64_t)json_integer_value(last) : INT64_MIN;
    bool ok = false;
    for (int64_t t = now / 30 - 1; t <= now / 30 + 1; t++) {
        char c[7];
        GUARD(iam_totp(core_secret_cursor(&seed), t, c));
        bool match = core_ct_equal_cursor(core_cursor_str(c), code) && t > spent;
        if (match && !ok) *step = t;
        ok |= match;
    }
    ENSURE(ok, ERR_AUTH_BAD_SIGNATURE);
    CORE_OK;
}

core_result iam_mfa_set_last_step(struct keystore_txn *txn, const char *account, struct core_cursor serial,
                                  int64_t step)
{
    DEFER_CLEANUP(json_t *dev = NULL, core_json_cleanup);
    GUARD(iam_rec_get(txn, IAM_T_MFA, account, serial_name(serial), &dev));
    ENSURE(core_cursor_eq_str(serial, iam_js(dev, "serial")), ERR_NOT_FOUND);
    ENSURE(json_object_set_new(dev, "last_step", json_integer((json_int_t)step)) == 0, ERR_NOMEM);
    return iam_rec_put(txn, IAM_T_MFA, account, serial_name(serial), dev, 0);
}
