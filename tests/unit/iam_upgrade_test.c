/*
 * A keystore written before the unique-id index and the administrator's
 * AdministratorAccess attachment: iam_env_new indexes its users and roles
 * and gives the bootstrap administrator record the attachment it always
 * implied (issue 10 item 4, issue 16 item 6).
 */
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iam/iam_internal.h"
#include "tests/test.h"

#define ACCT "000000000000"

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* What the bootstrap and CreateRole wrote before: no index entries, no "attached" on admin. */
static core_result old_records(struct keystore_txn *txn, void *arg)
{
    (void)arg;
    json_t *admin = json_pack("{s:s,s:s,s:s,s:I,s:b}", "account", ACCT, "path", "/", "user_id",
                              "AIDAOLDADMIN000000000", "created", (json_int_t)1, "admin", 1);
    json_t *role = json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", "Deploy", "account", ACCT, "path", "/ci/", "role_id",
                             "AROAOLDROLE0000000000", "trust", "{}");
    core_result r = keystore_put(txn, "iam_meta", core_cursor_str("bootstrapped"), core_cursor_str(ACCT), 0);
    if (core_ok(r)) r = iam_rec_put(txn, IAM_T_USER, ACCT, core_cursor_str("admin"), admin, 0);
    if (core_ok(r)) r = iam_rec_put(txn, IAM_T_ROLE, ACCT, core_cursor_str("Deploy"), role, 0);
    json_decref(admin);
    json_decref(role);
    return r;
}

int main(int argc, char **argv)
{
    TEST_MAIN_BEGIN(argc, argv);
    char root[PATH_MAX], dir[PATH_MAX + 16];
    const char *t = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/iam-upgrade-XXXXXX", t && t[0] ? t : "/tmp");
    if (!mkdtemp(root)) return 2;
    snprintf(dir, sizeof dir, "%s/data", root);
    struct keystore *ks = NULL;
    struct keystore_options o = {.dir = dir, .source = KEYSTORE_MASTER_KEY_FILE};
    EXPECT_OK(keystore_open(&o, &ks, NULL));
    EXPECT_OK(keystore_write(ks, old_records, NULL));
    struct iam_env *env = NULL;
    struct iam_env_options io = {.ks = ks, .account = ACCT};
    EXPECT_OK(iam_env_new(&io, &env));
    iam_env_free(env);
    /* twice: the upgrade is idempotent */
    EXPECT_OK(iam_env_new(&io, &env));

    struct keystore_txn *txn = NULL;
    EXPECT_OK(keystore_txn_begin(ks, false, &txn));
    json_t *rec = NULL;
    EXPECT_OK(iam_rec_get(txn, IAM_T_USER, ACCT, core_cursor_str("admin"), &rec));
    const json_t *att = json_object_get(rec, "attached");
    EXPECT_TRUE(json_array_size(att) == 1);
    EXPECT_STR_EQ(json_string_value(json_array_get(att, 0)), "arn:aws:iam::aws:policy/AdministratorAccess");
    EXPECT_STR_EQ(iam_js(rec, "name"), "admin");
    json_decref(rec);
    /* the ids show as the ARNs of the entities they name */
    const char *doc = "{\"Statement\":[{\"Principal\":{\"AWS\":[\"AIDAOLDADMIN000000000\",\"AROAOLDROLE0000000000\"]}}]}";
    struct core_buf out = {0};
    EXPECT_OK(core_buf_init(&out, 256, 4096));
    EXPECT_OK(iam_policy_principals_show(txn, core_cursor_str(doc), &out));
    EXPECT_OK(core_buf_append_u8(&out, 0));
    EXPECT_STR_EQ((const char *)out.data, "{\"Statement\":[{\"Principal\":{\"AWS\":[\"arn:aws:iam::" ACCT
                                          ":user/admin\",\"arn:aws:iam::" ACCT ":role/ci/Deploy\"]}}]}");
    core_buf_free(&out);
    keystore_txn_abort(txn);
    iam_env_free(env);
    keystore_close(ks);
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    TEST_MAIN_END();
}
