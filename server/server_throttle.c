/*
 * Throttling emulation (--throttle aws|RATE): token buckets per account,
 * Region and quota, checked after authentication and before the KMS
 * handler runs, so retry logic can be tested against AWS's behaviour.
 *
 * "Request quotas" (AWS KMS developer guide):
 * https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html
 *   - "AWS KMS cryptographic operations share request quotas ... The quotas for
 *     different types of KMS keys are calculated independently. Each quota
 *     applies to all requests for these operations in the AWS account and
 *     Region with the given key type in each one-second interval."
 *   - "Each request quota is calculated independently. For example, requests
 *     for the CreateKey operation have no effect on the request quota for the
 *     CreateAlias operation."
 *   - "For cross-account requests, AWS KMS throttles the account that makes the
 *     requests, not the account that owns the KMS key."
 *   - Throttled requests get "a ThrottlingException error like the following
 *     one": "You have exceeded the rate at which you may call KMS. Reduce the
 *     frequency of your calls." (Status Code: 400; Error Code: ThrottlingException)
 *
 * The quotas below are the table's default values. kmsd serves only
 * symmetric keys, so every cryptographic operation draws on the symmetric
 * shared quota (GenerateMac/VerifyMac on the HMAC one); the RSA (500) and
 * ECC (300) shared quotas need the key's type at this point and apply once
 * asymmetric keys exist. Operations the table does not list are not
 * throttled.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server_internal.h"

#define THROTTLE_SLOTS 8192u /* (account, Region, quota) buckets; the table is reset when full */
#define THROTTLE_MSG "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."

/* Quota names for shared buckets; a per-operation quota uses the operation name. */
#define Q_SYMMETRIC "crypto-symmetric"
#define Q_HMAC "crypto-hmac"

struct quota {
    const char *operation;
    const char *bucket; /* NULL: the operation's own */
    double rate;        /* requests per second; 0 for the Region-dependent symmetric quota */
};

/* Sorted by operation (bsearch). */
static const struct quota quotas[] = {
    {"CancelKeyDeletion", NULL, 5},
    {"ConnectCustomKeyStore", NULL, 5},
    {"CreateAlias", NULL, 5},
    {"CreateCustomKeyStore", NULL, 5},
    {"CreateGrant", NULL, 50},
    {"CreateKey", NULL, 5},
    {"Decrypt", Q_SYMMETRIC, 0},
    {"DeleteAlias", NULL, 15},
    {"DeleteCustomKeyStore", NULL, 5},
    {"DeleteImportedKeyMaterial", NULL, 5},
    {"DescribeCustomKeyStores", NULL, 5},
    {"DescribeKey", NULL, 2000},
    {"DisableKey", NULL, 5},
    {"DisableKeyRotation", NULL, 5},
    {"DisconnectCustomKeyStore", NULL, 5},
    {"EnableKey", NULL, 5},
    {"EnableKeyRotation", NULL, 15},
    {"Encrypt", Q_SYMMETRIC, 0},
    {"GenerateDataKey", Q_SYMMETRIC, 0},
    {"GenerateDataKeyWithoutPlaintext", Q_SYMMETRIC, 0},
    {"GenerateMac", Q_HMAC, 2000},
    {"GenerateRandom", Q_SYMMETRIC, 0},
    {"GetKeyPolicy", NULL, 1000},
    {"GetKeyRotationStatus", NULL, 1000},
    {"GetParametersForImport", NULL, 0.25},
    {"GetPublicKey", NULL, 2000},
    {"ImportKeyMaterial", NULL, 5},
    {"ListAliases", NULL, 500},
    {"ListGrants", NULL, 100},
    {"ListKeyPolicies", NULL, 100},
    {"ListKeys", NULL, 500},
    {"ListResourceTags", NULL, 2000},
    {"ListRetirableGrants", NULL, 100},
    {"PutKeyPolicy", NULL, 15},
    {"ReEncrypt", Q_SYMMETRIC, 0},
    {"ReplicateKey", NULL, 5},
    {"RetireGrant", NULL, 30},
    {"RevokeGrant", NULL, 30},
    {"ScheduleKeyDeletion", NULL, 15},
    {"TagResource", NULL, 10},
    {"UntagResource", NULL, 5},
    {"UpdateAlias", NULL, 5},
    {"UpdateCustomKeyStore", NULL, 5},
    {"UpdateKeyDescription", NULL, 5},
    {"UpdatePrimaryRegion", NULL, 5},
    {"VerifyMac", Q_HMAC, 2000},
};

/* The symmetric shared quota by Region: 100,000 in US East (N. Virginia),
 * US West (Oregon) and Europe (Ireland); 10,000 in US East (Ohio), Asia
 * Pacific (Singapore, Sydney, Tokyo), Europe (Frankfurt, London); 5,500
 * elsewhere. */
static double symmetric_rate(const char *region)
{
    static const char *const r100k[] = {"us-east-1", "us-west-2", "eu-west-1"};
    static const char *const r10k[] = {"us-east-2",      "ap-southeast-1", "ap-southeast-2",
                                       "ap-northeast-1", "eu-central-1",   "eu-west-2"};
    for (size_t i = 0; i < sizeof r100k / sizeof *r100k; i++)
        if (!strcmp(region, r100k[i])) return 100000;
    for (size_t i = 0; i < sizeof r10k / sizeof *r10k; i++)
        if (!strcmp(region, r10k[i])) return 10000;
    return 5500;
}

struct bucket {
    char key[128]; /* "account/region/quota"; "" when free */
    double tokens;
    uint64_t last_ns;
};

static struct {
    pthread_mutex_t mu;
    enum server_throttle_mode mode;
    double rate; /* --throttle RATE */
    struct bucket *slots;
    size_t used;
} th = {.mu = PTHREAD_MUTEX_INITIALIZER};

core_result server_throttle_init(const struct server_config *cfg)
{
    th.mode = cfg->throttle_mode;
    th.rate = cfg->throttle_rate;
    if (th.mode == SERVER_THROTTLE_OFF) CORE_OK;
    /* One zeroed object holding the whole table (tools/lint.sh's allocation rule). */
    struct bucket_table {
        struct bucket slots[THROTTLE_SLOTS];
    } *table = calloc(1, sizeof *table);
    ENSURE(table != NULL, ERR_NOMEM);
    th.slots = table->slots;
    core_log(CORE_LOG_INFO, "throttling emulation on: %s", th.mode == SERVER_THROTTLE_AWS
                                                                 ? "AWS KMS request quotas"
                                                                 : "a custom rate for every KMS quota");
    CORE_OK;
}

void server_throttle_free(void)
{
    free(th.slots);
    th.slots = NULL;
    th.used = 0;
}

static int cmp_quota(const void *k, const void *e)
{
    return strcmp((const char *)k, ((const struct quota *)e)->operation);
}

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* Takes one token from the bucket `key` (rate per second, burst max(rate, 1)). Caller holds th.mu. */
static bool take(const char *key, double rate, uint64_t now)
{
    double burst = rate < 1 ? 1 : rate;
    if (th.used >= THROTTLE_SLOTS * 3 / 4) {
        /* Bounded memory: forget every bucket (they refill to full anyway). */
        memset(th.slots, 0, THROTTLE_SLOTS * sizeof *th.slots);
        th.used = 0;
    }
    size_t i = (size_t)(fnv(key) % THROTTLE_SLOTS);
    while (th.slots[i].key[0] && strcmp(th.slots[i].key, key) != 0) i = (i + 1) % THROTTLE_SLOTS;
    struct bucket *b = &th.slots[i];
    if (!b->key[0]) {
        snprintf(b->key, sizeof b->key, "%s", key);
        b->tokens = burst;
        b->last_ns = now;
        th.used++;
    }
    double refill = (double)(now - b->last_ns) / 1e9 * rate;
    b->tokens = b->tokens + refill > burst ? burst : b->tokens + refill;
    b->last_ns = now;
    if (b->tokens < 1) return false;
    b->tokens -= 1;
    return true;
}

bool server_throttle_admit(enum server_svc svc, const char *operation, const struct core_principal *caller,
                           struct core_reply *out)
{
    if (th.mode == SERVER_THROTTLE_OFF || svc != SERVER_SVC_KMS || !caller->account[0]) return true;
    const struct quota *q = bsearch(operation, quotas, sizeof quotas / sizeof *quotas, sizeof *quotas, cmp_quota);
    if (q == NULL) return true;
    const char *region = caller->region[0] ? caller->region : "us-east-1";
    double rate = th.mode == SERVER_THROTTLE_RATE ? th.rate : q->rate ? q->rate : symmetric_rate(region);
    char key[128];
    snprintf(key, sizeof key, "%s/%s/%s", caller->account, region, q->bucket ? q->bucket : q->operation);
    pthread_mutex_lock(&th.mu);
    bool ok = take(key, rate, core_clock_mono_ns());
    pthread_mutex_unlock(&th.mu);
    if (ok) return true;
    core_result_ignore(core_reply_error(out, 400, "ThrottlingException", "%s", THROTTLE_MSG));
    return false;
}

bool server_throttle_quotas_sorted(void)
{
    for (size_t i = 1; i < sizeof quotas / sizeof *quotas; i++)
        if (strcmp(quotas[i - 1].operation, quotas[i].operation) >= 0) return false;
    return true;
}
