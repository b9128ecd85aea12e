/*
 * docs/authorization.md's "KMS operations" table against the action rows
 * (kms_actions[]): one table row per operation and one operation per table
 * row; the permission, the cross-account rule and the key forms match the
 * row; the condition keys listed are exactly those the row's condition
 * function adds for a request that carries every member it reads; every
 * row cites its AWS API page.
 */
#include <jansson.h>

#include "kms/kms_internal.h"
#include "policy/policy.h"
#include "tests/test.h"

#define MAX_ROWS 64
#define MAX_CELL 512

struct doc_row {
    char cell[6][MAX_CELL];
    bool seen;
};

static void trim(char *s)
{
    size_t n = strlen(s), i = 0;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\r')) s[--n] = 0;
    while (s[i] == ' ') i++;
    memmove(s, s + i, n - i + 1);
}

/* Reads the table under "### KMS operations": rows start with "| " and have six cells. */
static size_t read_table(const char *path, struct doc_row *rows)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        TEST_FAIL("cannot open %s", path);
        return 0;
    }
    char line[4096];
    bool in = false;
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "### KMS operations", 18) == 0) {
            in = true;
            continue;
        }
        if (!in) continue;
        if (strncmp(line, "#", 1) == 0) break;
        if (strncmp(line, "| ", 2) != 0 || strncmp(line, "| ---", 5) == 0 || strncmp(line, "| Operation", 11) == 0)
            continue;
        if (n == MAX_ROWS) {
            TEST_FAIL("table too long");
            break;
        }
        char *p = line + 1;
        int c = 0;
        for (char *bar; c < 6 && (bar = strchr(p, '|')) != NULL; c++, p = bar + 1) {
            size_t len = (size_t)(bar - p);
            if (len >= MAX_CELL) len = MAX_CELL - 1;
            memcpy(rows[n].cell[c], p, len);
            rows[n].cell[c][len] = 0;
            trim(rows[n].cell[c]);
        }
        if (c != 6) TEST_FAIL("row with %d cells: %s", c, line);
        rows[n].seen = false;
        n++;
    }
    fclose(f);
    return n;
}

/* "kms:EncryptionContext:app" -> "kms:EncryptionContext:<key>", "aws:RequestTag/t" -> "aws:RequestTag/<key>". */
static void normalize(struct core_cursor k, char *out, size_t cap)
{
    static const char *const prefixes[] = {"kms:EncryptionContext:", "aws:RequestTag/", NULL};
    for (size_t i = 0; prefixes[i]; i++)
        if (core_cursor_starts_with(k, prefixes[i])) {
            snprintf(out, cap, "%s<key>", prefixes[i]);
            return;
        }
    snprintf(out, cap, "%.*s", (int)k.len, (const char *)k.ptr);
}

/* Sorted, ", "-joined set of the keys the row's condition function adds. */
static void keys_of(const struct kms_action *a, const json_t *in, char *out, size_t cap)
{
    char names[32][96];
    size_t n = 0;
    for (int pass = 0; pass < (a->iam_action_to ? 2 : 1); pass++) {
        struct kms_ctx ctx = {.action = a, .in = in, .second_key = pass == 1};
        struct policy_ctx pc;
        policy_ctx_init(&pc);
        struct core_buf store = {0};
        EXPECT_OK(core_buf_init(&store, 4096, 4096));
        struct kms_cond c = {.pc = &pc, .key = NULL, .store = &store};
        if (a->conditions) EXPECT_OK(a->conditions(&ctx, &c));
        for (size_t i = 0; i < pc.nkeys; i++) {
            char k[96];
            normalize(pc.keys[i].key, k, sizeof k);
            bool dup = false;
            for (size_t j = 0; j < n; j++) dup |= strcmp(names[j], k) == 0;
            if (!dup && n < 32) snprintf(names[n++], sizeof names[0], "%s", k);
        }
        core_buf_free(&store);
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char t[96];
            memcpy(t, names[j], sizeof t);
            memcpy(names[j], names[j - 1], sizeof t);
            memcpy(names[j - 1], t, sizeof t);
        }
    out[0] = 0;
    if (n == 0) snprintf(out, cap, "–");
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(out);
        snprintf(out + l, cap - l, "%s%s", i ? ", " : "", names[i]);
    }
}

/* A request carrying every member any condition function reads. */
static const char sample[] =
    "{\"EncryptionContext\":{\"app\":\"x\"},\"SourceEncryptionContext\":{\"app\":\"x\"},"
    "\"DestinationEncryptionContext\":{\"app\":\"y\"},\"EncryptionAlgorithm\":\"SYMMETRIC_DEFAULT\","
    "\"Operations\":[\"Encrypt\",\"Decrypt\"],\"GranteePrincipal\":\"arn:aws:iam::111122223333:user/g\","
    "\"RetiringPrincipal\":\"arn:aws:iam::111122223333:user/r\","
    "\"Constraints\":{\"EncryptionContextSubset\":{\"a\":\"b\"}},"
    "\"Tags\":[{\"TagKey\":\"t\",\"TagValue\":\"v\"}],\"TagKeys\":[\"t\"],\"RotationPeriodInDays\":90,"
    "\"PendingWindowInDays\":7,\"BypassPolicyLockoutSafetyCheck\":false,\"KeySpec\":\"SYMMETRIC_DEFAULT\","
    "\"KeyUsage\":\"ENCRYPT_DECRYPT\",\"Origin\":\"AWS_KMS\",\"MultiRegion\":false,"
    "\"SigningAlgorithm\":\"ECDSA_SHA_256\",\"MessageType\":\"RAW\",\"MacAlgorithm\":\"HMAC_SHA_256\","
    "\"KeyPairSpec\":\"RSA_2048\",\"KeyAgreementAlgorithm\":\"ECDH\","
    "\"ReplicaRegion\":\"eu-west-1\",\"PrimaryRegion\":\"eu-west-1\"}";

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    char path[1024];
    snprintf(path, sizeof path, "%s/../docs/authorization.md", test_vectors_dir);
    static struct doc_row rows[MAX_ROWS];
    size_t n = read_table(path, rows);
    EXPECT_TRUE(n == kms_actions_count);
    json_error_t e;
    json_t *in = json_loads(sample, 0, &e);
    EXPECT_TRUE(in != NULL);

    for (size_t i = 0; i < kms_actions_count; i++) {
        const struct kms_action *a = &kms_actions[i];
        struct doc_row *r = NULL;
        for (size_t j = 0; j < n; j++)
            if (strcmp(rows[j].cell[0], a->row.name) == 0) r = &rows[j];
        if (r == NULL) {
            TEST_FAIL("%s has no row in docs/authorization.md", a->row.name);
            continue;
        }
        r->seen = true;
        char want[MAX_CELL];
        if (a->iam_action_to) snprintf(want, sizeof want, "%s, %s", a->row.iam_action, a->iam_action_to);
        else snprintf(want, sizeof want, "%s", a->row.iam_action);
        if (strcmp(r->cell[1], want) != 0) TEST_FAIL("%s: permission \"%s\", row says \"%s\"", a->row.name, r->cell[1], want);
        const char *cross = (a->row.flags & KMS_CROSS_ACCOUNT) ? "Yes" : "No";
        if (strcmp(r->cell[2], cross) != 0) TEST_FAIL("%s: cross-account \"%s\", row says %s", a->row.name, r->cell[2], cross);
        const char *forms = a->key_forms == (KMS_ID_KEY | KMS_ID_ALIAS) ? "key, alias"
                            : a->key_forms == KMS_ID_KEY                  ? "key"
                                                                          : "–";
        if (strcmp(r->cell[3], forms) != 0) TEST_FAIL("%s: key forms \"%s\", row says %s", a->row.name, r->cell[3], forms);
        char keys[MAX_CELL];
        keys_of(a, in, keys, sizeof keys);
        if (strcmp(r->cell[4], keys) != 0)
            TEST_FAIL("%s: condition keys \"%s\", the row's function adds \"%s\"", a->row.name, r->cell[4], keys);
        char page[256];
        snprintf(page, sizeof page, "(https://docs.aws.amazon.com/kms/latest/APIReference/API_%s.html)", a->row.name);
        if (strstr(r->cell[5], page) == NULL) TEST_FAIL("%s: no link to its API page", a->row.name);
    }
    for (size_t j = 0; j < n; j++)
        if (!rows[j].seen) TEST_FAIL("docs row %s has no action row", rows[j].cell[0]);
    json_decref(in);
    TEST_MAIN_END();
}
