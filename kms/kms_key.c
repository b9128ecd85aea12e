#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kms/kms_record.h"

/*
 * Key records. A key's metadata is one compact binary record in table
 * "kms_key" under "<account>/<region>/<key-id>" (the keystore seals it, with
 * the id as associated data); each generation of its 32-byte material is a
 * separate record in "kms_material" under "<record-id>/<version as %08x>",
 * so metadata reads never pull secrets into ordinary memory. Due rotations
 * and deletions are rows "<due as %016x>/<R|D>/<record-id>" in "kms_due",
 * which kms_run_due() reads in time order without scanning every key.
 *
 * Record layout (all integers big-endian):
 *   u8 format(1) | u8 state | u8 flags (1 AWS managed, 2 rotation enabled)
 *   | be64 created | be64 deletion_date | be32 pending_window_days
 *   | be32 rotation_period_days | be64 next_rotation | be64 on_demand_start
 *   | be32 n_on_demand | be32 len, description | be32 len, policy
 *   | be32 n_tags, be32 len, tags | be32 n_versions, versions (45 bytes each)
 * Format 2 appends be32 policy_gen (format 1 records read as generation 0).
 * Then optional extensions, each u8 tag | u8 len | bytes, unknown tags
 * refused: tag 'S' (len 2) u8 key spec | u8 key usage (kms_asym.h), written
 * only for keys other than SYMMETRIC_DEFAULT / ENCRYPT_DECRYPT, so
 * symmetric records keep their exact bytes.
 */

#define KEY_FORMAT 2u
#define FLAG_AWS_MANAGED 1u
#define FLAG_ROTATION 2u
#define FLAG_EXTERNAL 4u /* Origin EXTERNAL: the import record (kms_import.c) holds the rest */
#define EXT_SPEC 'S'
#define SPEC_SYMMETRIC_DEFAULT 7u /* enum kms_spec */
#define USAGE_ENCRYPT_DECRYPT 1u  /* enum kms_usage */
#define SPEC_COUNT 17u
#define USAGE_COUNT 4u

static const char tbl_key[] = "kms_key";
static const char tbl_material[] = "kms_material";
static const char tbl_due[] = "kms_due";
static const char tbl_alias[] = "kms_alias";

core_result kms_key_init(struct kms_key *k)
{
    /* Every byte but the replica Regions (none is read past n_replicas, kms_multi_region.h): two thirds
     * of the struct, cleared on every key request otherwise. */
    size_t skip = offsetof(struct kms_key, mrk.replicas), end = skip + sizeof k->mrk.replicas;
    memset(k, 0, skip);
    memset((char *)k + end, 0, sizeof *k - end);
    k->spec = SPEC_SYMMETRIC_DEFAULT;
    k->usage = USAGE_ENCRYPT_DECRYPT;
    GUARD(core_buf_init(&k->description, 0, KMS_MAX_DESCRIPTION * 4));
    GUARD(core_buf_init(&k->policy, 0, KMS_MAX_POLICY));
    GUARD(core_buf_init(&k->tags, 0, KMS_MAX_TAGS * (4 + (KMS_MAX_TAG_KEY + KMS_MAX_TAG_VALUE) * 4)));
    GUARD(core_buf_init(&k->versions, 0, CORE_MAX_RECORD_BYTES / 2));
    CORE_OK;
}

void kms_key_free(struct kms_key *k)
{
    core_buf_free(&k->description);
    core_buf_free(&k->policy);
    core_buf_free(&k->tags);
    core_buf_free(&k->versions);
}

/* Ids and ARNs are built with memcpy, not snprintf: they are on every request's path. */
void kms_arn(char *out, size_t cap, const char *region, const char *account, const char *resource)
{
    size_t n = 0;
    out[0] = 0;
    CORE_STR_APPEND_LIT(out, cap, &n, "arn:");
    core_str_append(out, cap, &n, core_partition_of(region));
    CORE_STR_APPEND_LIT(out, cap, &n, ":kms:");
    core_str_append(out, cap, &n, region);
    CORE_STR_APPEND_LIT(out, cap, &n, ":");
    core_str_append(out, cap, &n, account);
    CORE_STR_APPEND_LIT(out, cap, &n, ":");
    core_str_append(out, cap, &n, resource);
}

/* Appends a string of known length len < cap - *n (the callers' sizes guarantee it). */
static void put(char *out, size_t *n, const char *s, size_t len)
{
    memcpy(out + *n, s, len);
    *n += len;
}

/* The three fields are NUL-terminated within their arrays (lengths at most ACCOUNT_MAX, REGION_MAX and
 * KMS_KEY_ID_LEN), so every piece fits: the record id with two '/', the ARN with a partition name of at most
 * PARTITION_MAX bytes (the longest is "aws-us-gov") and "arn:", ":kms:", ":", ":key/". */
#define ACCOUNT_MAX (sizeof((struct kms_key *)0)->account - 1)
#define REGION_MAX (sizeof((struct kms_key *)0)->region - 1)
#define PARTITION_MAX 32u
_Static_assert(ACCOUNT_MAX + 1 + REGION_MAX + 1 + KMS_KEY_ID_LEN < KMS_MAX_RID, "record id fits");
_Static_assert(4 + PARTITION_MAX + 5 + REGION_MAX + 1 + ACCOUNT_MAX + 5 + KMS_KEY_ID_LEN < KMS_MAX_ARN, "ARN fits");

static size_t record_id(const char *account, size_t alen, const char *region, size_t rlen, const char *key_id,
                        size_t klen, char out[KMS_MAX_RID])
{
    size_t n = 0;
    put(out, &n, account, alen);
    out[n++] = '/';
    put(out, &n, region, rlen);
    out[n++] = '/';
    put(out, &n, key_id, klen);
    out[n] = 0;
    return n;
}

/* arn from k's account, region and key_id, of these lengths. */
static void build_arn(struct kms_key *k, size_t alen, size_t rlen, size_t klen)
{
    const char *part = core_partition_of(k->region);
    size_t plen = strlen(part), n = 0;
    assert(plen <= PARTITION_MAX); /* a static name of core_partition.c */
    put(k->arn, &n, "arn:", 4);
    put(k->arn, &n, part, plen);
    put(k->arn, &n, ":kms:", 5);
    put(k->arn, &n, k->region, rlen);
    k->arn[n++] = ':';
    put(k->arn, &n, k->account, alen);
    put(k->arn, &n, ":key/", 5);
    put(k->arn, &n, k->key_id, klen);
    k->arn[n] = 0;
}

void kms_key_set_arn(struct kms_key *k)
{
    build_arn(k, strnlen(k->account, ACCOUNT_MAX), strnlen(k->region, REGION_MAX), strnlen(k->key_id, KMS_KEY_ID_LEN));
}

size_t kms_key_rid(const struct kms_key *k, char out[KMS_MAX_RID])
{
    /* Built from the fields as they are now, never stored: it keys the compiled-policy cache and names
     * the key's material records, so it cannot go stale (issue 14: with the lengths known it is three
     * copies, no dearer than checking a stored copy). */
    return kms_key_record_id(k->account, k->region, k->key_id, out);
}

size_t kms_key_record_id(const char *account, const char *region, const char *key_id, char out[KMS_MAX_RID])
{
    /* The caps of struct kms_key's fields: longer input is cut there, as a key's own fields are. */
    return record_id(account, strnlen(account, ACCOUNT_MAX), region, strnlen(region, REGION_MAX), key_id,
                     strnlen(key_id, KMS_KEY_ID_LEN), out);
}

void kms_new_uuid(char out[KMS_KEY_ID_LEN + 1])
{
    uint8_t r[16];
    core_random(r, sizeof r);
    r[6] = (uint8_t)((r[6] & 0x0f) | 0x40);
    r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
    snprintf(out, KMS_KEY_ID_LEN + 1, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0],
             r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

/* Whether all eight bytes of x are hex digits (either case): lane-wise range tests on the low seven
 * bits (0x80 + lane - k stays within 1..0xff, so no lane borrows from the next), and no top bit. */
static bool hex8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, tops = 0x8080808080808080ull;
    uint64_t h = (x & ~tops) | tops;
#define IN(lo, hi) ((h - (lo) * ones) & ~(h - ((hi) + 1) * ones))
    uint64_t ok = IN('0', '9') | IN('a', 'f') | IN('A', 'F');
#undef IN
    return ((ok & ~x) & tops) == tops;
}

bool kms_is_uuid(struct core_cursor s)
{
    /* Every request that names a key by id asks (issue 14, round 5: a byte loop cost 460 instructions):
     * the four dashes checked, then replaced by digits in a copy read eight bytes at a time. */
    if (s.len != KMS_KEY_ID_LEN || s.ptr[8] != '-' || s.ptr[13] != '-' || s.ptr[18] != '-' || s.ptr[23] != '-')
        return false;
    uint8_t b[KMS_KEY_ID_LEN];
    memcpy(b, s.ptr, sizeof b);
    b[8] = b[13] = b[18] = b[23] = '0';
    uint64_t w[5];
    memcpy(&w[0], b, 8);
    memcpy(&w[1], b + 8, 8);
    memcpy(&w[2], b + 16, 8);
    memcpy(&w[3], b + 24, 8);
    memcpy(&w[4], b + 28, 8); /* overlaps the word before: every byte is read at least once */
    return hex8(w[0]) && hex8(w[1]) && hex8(w[2]) && hex8(w[3]) && hex8(w[4]);
}

bool kms_is_key_id(struct core_cursor s)
{
    if (kms_is_uuid(s)) return true;
    /* A multi-Region key id: "mrk-" and 32 hex digits ("mrk-1234abcd12ab34cd56ef1234567890ab").
     * https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-overview.html
     * None exists here, so naming one is NotFoundException "Key '<arn>' does
     * not exist", as AWS answers an unknown one (issue 17.4), not "Invalid keyId". */
    if (s.len != 36 || !core_cursor_starts_with(s, "mrk-")) return false;
    for (size_t i = 4; i < s.len; i++) {
        uint8_t c = s.ptr[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
    }
    return true;
}

void kms_material_id_hex(const uint8_t id[KMS_MATERIAL_ID_BYTES], char out[65])
{
    _Static_assert(KMS_MATERIAL_ID_BYTES == 32, "64 hex digits");
    core_hex_lower(id, KMS_MATERIAL_ID_BYTES, out);
    out[64] = 0;
}

/* Due times the index holds for a key in this state. */
static int64_t due_rotation(const struct kms_key *k)
{
    /* A multi-Region replica rotates with its primary (kms_mrk_sync), never on its own. */
    if (kms_mrk_is_replica(k)) return 0;
    return (k->rotation_enabled && k->state == KMS_STATE_ENABLED) ? k->next_rotation : 0;
}
static int64_t due_deletion(const struct kms_key *k)
{
    return k->state == KMS_STATE_PENDING_DELETION ? k->deletion_date : 0;
}
/* Imported material that expires is deleted at ValidTo (kms_run_due, kind 'E'). */
static int64_t due_expiry(const struct kms_key *k)
{
    return (k->external && k->imported && k->expiration_model == KMS_EXP_EXPIRES) ? k->valid_to : 0;
}

static core_result read_lv(struct core_cursor *c, struct core_buf *out)
{
    uint32_t n;
    struct core_cursor v;
    GUARD(core_cursor_read_be32(c, &n));
    GUARD(core_cursor_advance(c, n, &v));
    core_buf_reset(out);
    return core_buf_append_cursor(out, v);
}

static core_result decode(struct core_cursor c, struct kms_key *k)
{
    uint8_t fmt, flags;
    uint64_t created, del, next, ods;
    uint32_t n;
    GUARD(core_cursor_read_u8(&c, &fmt));
    ENSURE(fmt == 1 || fmt == KEY_FORMAT, ERR_PARSE);
    GUARD(core_cursor_read_u8(&c, &k->state));
    GUARD(core_cursor_read_u8(&c, &flags));
    GUARD(core_cursor_read_be64(&c, &created));
    GUARD(core_cursor_read_be64(&c, &del));
    GUARD(core_cursor_read_be32(&c, &k->pending_window_days));
    GUARD(core_cursor_read_be32(&c, &k->rotation_period_days));
    GUARD(core_cursor_read_be64(&c, &next));
    GUARD(core_cursor_read_be64(&c, &ods));
    GUARD(core_cursor_read_be32(&c, &k->n_on_demand));
    GUARD(read_lv(&c, &k->description));
    GUARD(read_lv(&c, &k->policy));
    GUARD(core_cursor_read_be32(&c, &k->n_tags));
    GUARD(read_lv(&c, &k->tags));
    GUARD(core_cursor_read_be32(&c, &n));
    struct core_cursor v;
    ENSURE(n <= c.len / KMS_VERSION_REC_BYTES, ERR_PARSE);
    GUARD(core_cursor_advance(&c, (size_t)n * KMS_VERSION_REC_BYTES, &v));
    k->policy_gen = 0;
    if (fmt == KEY_FORMAT) GUARD(core_cursor_read_be32(&c, &k->policy_gen));
    k->spec = SPEC_SYMMETRIC_DEFAULT;
    k->usage = USAGE_ENCRYPT_DECRYPT;
    while (fmt == KEY_FORMAT && c.len > 0) {
        uint8_t tag, len;
        struct core_cursor ext;
        GUARD(core_cursor_read_u8(&c, &tag));
        GUARD(core_cursor_read_u8(&c, &len));
        GUARD(core_cursor_advance(&c, len, &ext));
        ENSURE(tag == EXT_SPEC && len == 2, ERR_PARSE);
        k->spec = ext.ptr[0];
        k->usage = ext.ptr[1];
        ENSURE(k->spec < SPEC_COUNT && k->usage < USAGE_COUNT, ERR_PARSE);
    }
    core_buf_reset(&k->versions);
    GUARD(core_buf_append_cursor(&k->versions, v));
    k->n_versions = n;
    k->aws_managed = flags & FLAG_AWS_MANAGED;
    k->rotation_enabled = flags & FLAG_ROTATION;
    k->external = flags & FLAG_EXTERNAL;
    k->created = (int64_t)created;
    k->deletion_date = (int64_t)del;
    k->next_rotation = (int64_t)next;
    k->on_demand_start = (int64_t)ods;
    ENSURE(k->state >= KMS_STATE_ENABLED && k->state <= KMS_STATE_PENDING_REPLICA_DELETION, ERR_PARSE);
    CORE_OK;
}

static core_result encode(const struct kms_key *k, struct core_buf *out)
{
    GUARD(core_buf_append_u8(out, KEY_FORMAT));
    GUARD(core_buf_append_u8(out, k->state));
    GUARD(core_buf_append_u8(out, (uint8_t)((k->aws_managed ? FLAG_AWS_MANAGED : 0) |
                                            (k->rotation_enabled ? FLAG_ROTATION : 0) |
                                            (k->external ? FLAG_EXTERNAL : 0))));
    GUARD(core_buf_append_be64(out, (uint64_t)k->created));
    GUARD(core_buf_append_be64(out, (uint64_t)k->deletion_date));
    GUARD(core_buf_append_be32(out, k->pending_window_days));
    GUARD(core_buf_append_be32(out, k->rotation_period_days));
    GUARD(core_buf_append_be64(out, (uint64_t)k->next_rotation));
    GUARD(core_buf_append_be64(out, (uint64_t)k->on_demand_start));
    GUARD(core_buf_append_be32(out, k->n_on_demand));
    GUARD(core_buf_append_be32(out, (uint32_t)k->description.len));
    GUARD(core_buf_append_cursor(out, core_buf_cursor(&k->description)));
    GUARD(core_buf_append_be32(out, (uint32_t)k->policy.len));
    GUARD(core_buf_append_cursor(out, core_buf_cursor(&k->policy)));
    GUARD(core_buf_append_be32(out, k->n_tags));
    GUARD(core_buf_append_be32(out, (uint32_t)k->tags.len));
    GUARD(core_buf_append_cursor(out, core_buf_cursor(&k->tags)));
    GUARD(core_buf_append_be32(out, k->n_versions));
    GUARD(core_buf_append_cursor(out, core_buf_cursor(&k->versions)));
    GUARD(core_buf_append_be32(out, k->policy_gen));
    if (k->spec != SPEC_SYMMETRIC_DEFAULT || k->usage != USAGE_ENCRYPT_DECRYPT) {
        GUARD(core_buf_append_u8(out, EXT_SPEC));
        GUARD(core_buf_append_u8(out, 2));
        GUARD(core_buf_append_u8(out, k->spec));
        GUARD(core_buf_append_u8(out, k->usage));
    }
    CORE_OK;
}

core_result kms_key_get(struct keystore_txn *txn, const char *account, const char *region, const char *key_id,
                        struct kms_key *out)
{
    /* Each length taken once (the fields' caps cut longer input, as core_str_copy did). */
    size_t alen = strnlen(account, ACCOUNT_MAX), rlen = strnlen(region, REGION_MAX),
           klen = strnlen(key_id, KMS_KEY_ID_LEN);
    char rid[KMS_MAX_RID];
    size_t rid_len = record_id(account, alen, region, rlen, key_id, klen, rid);
    DEFER_CLEANUP(struct core_buf raw = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&raw, 512, CORE_MAX_RECORD_BYTES));
    GUARD(keystore_get(txn, tbl_key, core_cursor_from(rid, rid_len), &raw));
    GUARD(decode(core_buf_cursor(&raw), out));
    memcpy(out->account, account, alen);
    out->account[alen] = 0;
    memcpy(out->region, region, rlen);
    out->region[rlen] = 0;
    memcpy(out->key_id, key_id, klen);
    out->key_id[klen] = 0;
    build_arn(out, alen, rlen, klen);
    GUARD(kms_mrk_load(txn, out)); /* before the due dates: a replica holds no rotation row */
    if (out->external) {
        core_result r = kms_import_load(txn, out);
        if (!core_ok(r) && r.err != ERR_NOT_FOUND) return r;
    }
    out->loaded_next_rotation = due_rotation(out);
    out->loaded_deletion_date = due_deletion(out);
    out->loaded_expiry = due_expiry(out);
    out->loaded = true;
    /* "When the key material expires, AWS KMS deletes the key material and the KMS key becomes unusable"
     * (importing-keys.html): on the service clock, at once, even before the sweeper deletes it. */
    if (out->loaded_expiry && out->loaded_expiry <= core_clock_service() &&
        (out->state == KMS_STATE_ENABLED || out->state == KMS_STATE_DISABLED))
        out->state = KMS_STATE_PENDING_IMPORT;
    CORE_OK;
}

static void due_id(int64_t when, char kind, const char *rid, char out[192])
{
    snprintf(out, 192, "%016llx/%c/%s", (unsigned long long)when, kind, rid);
}

static core_result due_move(struct keystore_txn *txn, const char *rid, char kind, int64_t old_t, int64_t new_t)
{
    if (old_t == new_t) CORE_OK;
    char id[192];
    if (old_t) {
        due_id(old_t, kind, rid, id);
        core_result r = keystore_del(txn, tbl_due, core_cursor_str(id));
        if (!core_ok(r) && r.err != ERR_NOT_FOUND) return r;
    }
    if (new_t) {
        due_id(new_t, kind, rid, id);
        GUARD(keystore_put(txn, tbl_due, core_cursor_str(id), core_cursor_str("1"), 0));
    }
    CORE_OK;
}

core_result kms_key_save(struct keystore_txn *txn, struct kms_key *k)
{
    char rid[128];
    kms_key_record_id(k->account, k->region, k->key_id, rid);
    DEFER_CLEANUP(struct core_buf raw = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&raw, 512, CORE_MAX_RECORD_BYTES));
    GUARD(encode(k, &raw));
    GUARD(keystore_put(txn, tbl_key, core_cursor_str(rid), core_buf_cursor(&raw), k->loaded ? 0 : KEYSTORE_NO_OVERWRITE));
    GUARD(due_move(txn, rid, 'R', k->loaded ? k->loaded_next_rotation : 0, due_rotation(k)));
    GUARD(due_move(txn, rid, 'D', k->loaded ? k->loaded_deletion_date : 0, due_deletion(k)));
    GUARD(due_move(txn, rid, 'E', k->loaded ? k->loaded_expiry : 0, due_expiry(k)));
    if (k->external) GUARD(kms_import_save(txn, k));
    k->loaded_next_rotation = due_rotation(k);
    k->loaded_deletion_date = due_deletion(k);
    k->loaded_expiry = due_expiry(k);
    k->loaded = true;
    CORE_OK;
}

void kms_key_version_at(const struct kms_key *k, uint32_t i, struct kms_key_version *v)
{
    struct core_cursor c = core_cursor_from(k->versions.data + (size_t)i * KMS_VERSION_REC_BYTES,
                                            KMS_VERSION_REC_BYTES);
    uint64_t t;
    struct core_cursor id;
    /* The record decoded with exactly n_versions entries, so these reads cannot fail. */
    core_result_ignore(core_cursor_read_be32(&c, &v->n));
    core_result_ignore(core_cursor_read_be64(&c, &t));
    core_result_ignore(core_cursor_read_u8(&c, &v->type));
    core_result_ignore(core_cursor_advance(&c, KMS_MATERIAL_ID_BYTES, &id));
    v->created = (int64_t)t;
    memcpy(v->material_id, id.ptr, KMS_MATERIAL_ID_BYTES);
}

/* "<record id>/<n as %08x>"; returns its length. */
static size_t material_id(const struct kms_key *k, uint32_t n, char out[KMS_MAX_RID + 9])
{
    size_t o = kms_key_rid(k, out);
    out[o++] = '/';
    out[o] = 0;
    core_str_append_hex32(out, KMS_MAX_RID + 9, &o, n);
    return o;
}

core_result kms_key_add_version(struct keystore_txn *txn, struct kms_key *k, int64_t now, uint8_t type)
{
    DEFER_CLEANUP(struct core_secret mat = {0}, core_secret_cleanup);
    GUARD(core_secret_random(&mat, KMS_MATERIAL_BYTES));
    return kms_key_add_version_material(txn, k, now, type, core_secret_cursor(&mat));
}

/* A new version with the given material (asymmetric and HMAC keys: kms_asym.c) and a random material id. */
core_result kms_key_add_version_material(struct keystore_txn *txn, struct kms_key *k, int64_t now, uint8_t type,
                                         struct core_cursor mat)
{
    uint8_t id[KMS_MATERIAL_ID_BYTES];
    core_random(id, sizeof id);
    return kms_key_add_material(txn, k, now, type, mat, id);
}

core_result kms_material_put(struct keystore_txn *txn, const struct kms_key *k, uint32_t n,
                             struct core_cursor material)
{
    /* Any material kind (re-imported HMAC and asymmetric material too); kms_material_get checks 32 bytes. */
    ENSURE(material.len > 0 && material.len <= 8192u, ERR_INVALID_ARG);
    char mid[KMS_MAX_RID + 9];
    material_id(k, n, mid);
    return keystore_put(txn, tbl_material, core_cursor_str(mid), material, 0);
}

core_result kms_material_del(struct keystore_txn *txn, const struct kms_key *k, uint32_t n)
{
    char mid[KMS_MAX_RID + 9];
    material_id(k, n, mid);
    /* Destroyed, not just unlinked: no copy survives in the data file (docs/keystore.md). */
    core_result r = keystore_destroy(txn, tbl_material, core_cursor_str(mid));
    if (r.err == ERR_NOT_FOUND) CORE_OK;
    return r;
}

core_result kms_key_add_material(struct keystore_txn *txn, struct kms_key *k, int64_t now, uint8_t type,
                                 struct core_cursor material, const uint8_t id[KMS_MATERIAL_ID_BYTES])
{
    uint32_t n = k->n_versions + 1;
    char mid[KMS_MAX_RID + 9];
    material_id(k, n, mid);
    GUARD(keystore_put(txn, tbl_material, core_cursor_str(mid), material, KEYSTORE_NO_OVERWRITE));
    GUARD(core_buf_append_be32(&k->versions, n));
    GUARD(core_buf_append_be64(&k->versions, (uint64_t)now));
    GUARD(core_buf_append_u8(&k->versions, type));
    GUARD(core_buf_append(&k->versions, id, KMS_MATERIAL_ID_BYTES));
    k->n_versions = n;
    CORE_OK;
}

core_result kms_material_get(struct keystore_txn *txn, const struct kms_key *k, uint32_t n, struct core_buf *out)
{
    ENSURE(n >= 1 && n <= k->n_versions, ERR_NOT_FOUND);
    char mid[KMS_MAX_RID + 9];
    size_t mlen = material_id(k, n, mid);
    GUARD(keystore_get(txn, tbl_material, core_cursor_from(mid, mlen), out));
    ENSURE(out->len == KMS_MATERIAL_BYTES, ERR_TAMPERED);
    CORE_OK;
}

core_result kms_material_get_any(struct keystore_txn *txn, const struct kms_key *k, uint32_t n, struct core_buf *out)
{
    ENSURE(n >= 1 && n <= k->n_versions, ERR_NOT_FOUND);
    char mid[KMS_MAX_RID + 9];
    material_id(k, n, mid);
    return keystore_get(txn, tbl_material, core_cursor_str(mid), out);
}

/* An alias record starts with the id of the key it targets: keep those of other keys. */
static bool alias_elsewhere(void *key_id, struct core_cursor value)
{
    return !(value.len >= KMS_KEY_ID_LEN &&
             core_cursor_eq_str(core_cursor_from(value.ptr, KMS_KEY_ID_LEN), (const char *)key_id));
}

core_result kms_key_destroy(struct keystore_txn *txn, struct kms_key *k)
{
    char rid[KMS_MAX_RID], mid[KMS_MAX_RID + 9];
    kms_key_record_id(k->account, k->region, k->key_id, rid);
    for (uint32_t n = 1; n <= k->n_versions; n++) {
        material_id(k, n, mid);
        /* Destroyed, not just deleted: no copy may stay in the data file. */
        core_result r = keystore_destroy(txn, tbl_material, core_cursor_str(mid));
        if (!core_ok(r) && r.err != ERR_NOT_FOUND) return r;
    }
    GUARD(due_move(txn, rid, 'R', k->loaded_next_rotation, 0));
    GUARD(due_move(txn, rid, 'D', k->loaded_deletion_date, 0));
    GUARD(due_move(txn, rid, 'E', k->loaded_expiry, 0));
    if (k->external) GUARD(kms_import_destroy(txn, k));
    GUARD(keystore_del(txn, tbl_key, core_cursor_str(rid)));
    GUARD(kms_grants_destroy(txn, k));

    /* Aliases that point at the key go with it. */
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s/%s/alias/", k->account, k->region);
    return kms_delete_prefixed(txn, tbl_alias, prefix, 1024, alias_elsewhere, (void *)(uintptr_t)k->key_id);
}

core_result kms_delete_prefixed(struct keystore_txn *txn, const char *table, const char *prefix, size_t value_max,
                                kms_keep_fn keep, void *arg)
{
    DEFER_CLEANUP(struct core_buf doomed = {0}, core_buf_cleanup);
    DEFER_CLEANUP(struct core_buf val = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&doomed, 0, 1u << 20));
    GUARD(core_buf_init(&val, 64, value_max));
    struct keystore_iter *it = NULL;
    GUARD(keystore_iter_begin(txn, table, core_cursor_str(prefix), &it));
    core_result r;
    struct core_cursor id;
    while (core_ok(r = keystore_iter_next(it, &id, keep ? &val : NULL))) {
        if (!core_cursor_starts_with(id, prefix)) break;
        if (keep && keep(arg, core_buf_cursor(&val))) continue;
        r = core_buf_append_be16(&doomed, (uint16_t)id.len);
        if (core_ok(r)) r = core_buf_append_cursor(&doomed, id);
        if (!core_ok(r)) break;
    }
    keystore_iter_end(it);
    if (!core_ok(r) && r.err != ERR_NOT_FOUND) return r;
    struct core_cursor c = core_buf_cursor(&doomed);
    while (c.len) {
        uint16_t n;
        struct core_cursor did;
        GUARD(core_cursor_read_be16(&c, &n));
        GUARD(core_cursor_advance(&c, n, &did));
        GUARD(keystore_del(txn, table, did));
    }
    CORE_OK;
}

/* ---- tags ------------------------------------------------------------------ */

bool kms_tags_next(const struct kms_key *k, size_t *pos, struct core_cursor *key, struct core_cursor *value)
{
    if (*pos >= k->tags.len) return false; /* also: no tags yet, data may be NULL */
    struct core_cursor c = core_cursor_from(k->tags.data + *pos, k->tags.len - *pos);
    uint16_t kl, vl;
    if (!core_ok(core_cursor_read_be16(&c, &kl)) || !core_ok(core_cursor_advance(&c, kl, key)) ||
        !core_ok(core_cursor_read_be16(&c, &vl)) || !core_ok(core_cursor_advance(&c, vl, value)))
        return false;
    *pos = k->tags.len - c.len;
    return true;
}

/* Rebuilds the list with key removed and, when value is given, inserted in order. */
static core_result tags_rebuild(struct kms_key *k, struct core_cursor key, const struct core_cursor *value)
{
    DEFER_CLEANUP(struct core_buf nb = {0}, core_buf_cleanup);
    GUARD(core_buf_init(&nb, k->tags.len + 512, k->tags.max));
    size_t pos = 0;
    struct core_cursor tk, tv;
    uint32_t n = 0;
    bool placed = value == NULL;
    while (kms_tags_next(k, &pos, &tk, &tv)) {
        int cmp = core_cursor_cmp(tk, key);
        if (!placed && cmp >= 0) {
            GUARD(core_buf_append_be16(&nb, (uint16_t)key.len));
            GUARD(core_buf_append_cursor(&nb, key));
            GUARD(core_buf_append_be16(&nb, (uint16_t)value->len));
            GUARD(core_buf_append_cursor(&nb, *value));
            n++;
            placed = true;
        }
        if (cmp == 0) continue;
        GUARD(core_buf_append_be16(&nb, (uint16_t)tk.len));
        GUARD(core_buf_append_cursor(&nb, tk));
        GUARD(core_buf_append_be16(&nb, (uint16_t)tv.len));
        GUARD(core_buf_append_cursor(&nb, tv));
        n++;
    }
    if (!placed) {
        GUARD(core_buf_append_be16(&nb, (uint16_t)key.len));
        GUARD(core_buf_append_cursor(&nb, key));
        GUARD(core_buf_append_be16(&nb, (uint16_t)value->len));
        GUARD(core_buf_append_cursor(&nb, *value));
        n++;
    }
    core_buf_free(&k->tags);
    k->tags = nb;
    nb = (struct core_buf){0};
    k->n_tags = n;
    CORE_OK;
}

core_result kms_tags_set(struct kms_key *k, struct core_cursor key, struct core_cursor value)
{
    return tags_rebuild(k, key, &value);
}

void kms_tags_remove(struct kms_key *k, struct core_cursor key)
{
    /* Removing never grows the list, so the rebuild cannot hit a limit. */
    core_result_ignore(tags_rebuild(k, key, NULL));
}
