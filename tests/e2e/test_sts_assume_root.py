"""AssumeRoot end to end: an organization declared with --organization
(management account 000000000000, members 111111111111 and 222222222222,
centralized root access on). The management account's administrator gets a
member's root session scoped by a root-task policy, with boto3 and the aws
CLI; the session can do that task's actions and nothing else. Refusals: root
user credentials, a caller outside the management account, a target that is
not a member (or is the management account), a task policy that is not one of
AWS's, a duration over 900 s, an identity policy's sts:TaskPolicyArn
condition, no organization or centralized root access off."""
import json
import os
import shutil
import unittest

from kmsd_harness import Kmsd, kmsctl, main
from sts_common import creds_of, expect_error, make_user

MGMT, M1, M2, OUTSIDE = "000000000000", "111111111111", "222222222222", "333333333333"
TASK = "arn:aws:iam::aws:policy/root-task/"
ROOT_KEY = ("AKIAROOTMGMT00000001", "rootsecretrootsecretrootsecretrootsecret")
OUT_KEY = ("AKIAOUTSIDE000000001", "outsidesecretoutsidesecretoutsidesecre1")


def org_file(root, **over):
    org = {"id": "o-abcdef1234", "management_account": MGMT, "member_accounts": [M1, M2],
           "centralized_root_access": True}
    org.update(over)
    path = os.path.join(root, "org-%d.json" % len(os.listdir(root)))
    with open(path, "w") as f:
        json.dump(org, f)
    return path


class AssumeRoot(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = Kmsd().root
        cls.k = Kmsd("--organization", org_file(cls.root)).start()
        cls.sts = cls.k.client("sts")

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()
        shutil.rmtree(cls.root, ignore_errors=True)

    def assume(self, client=None, target=M1, task="IAMAuditRootUserCredentials", **kw):
        return (client or self.sts).assume_root(TargetPrincipal=target, TaskPolicyArn={"arn": TASK + task}, **kw)

    def test_1_root_session_scoped_by_task(self):
        out = self.assume()
        c, t = creds_of(out["Credentials"])
        exp = out["Credentials"]["Expiration"].timestamp()
        me = self.k.client("sts", creds=c, session_token=t).get_caller_identity()
        self.assertEqual((me["Arn"], me["Account"]), ("arn:aws:iam::%s:root" % M1, M1))
        iam = self.k.client("iam", creds=c, session_token=t)
        # an audit action of the task policy is allowed ...
        self.assertEqual(iam.get_user()["User"]["Arn"], "arn:aws:iam::%s:root" % M1)
        # ... anything else is not, though it is the account's root
        expect_error(self, lambda: iam.create_user(UserName="x"), "AccessDenied", 403)
        kms = self.k.client("kms", creds=c, session_token=t)
        expect_error(self, lambda: kms.create_key(), "AccessDeniedException", 400)
        # 900 s by default, at most
        import time
        self.assertLessEqual(exp - time.time(), 901)
        out = self.assume(target="arn:aws:iam::%s:root" % M2, task="S3UnlockBucketPolicy", DurationSeconds=60)
        self.assertLessEqual(out["Credentials"]["Expiration"].timestamp() - time.time(), 61)
        # the aws CLI
        _, out, _ = self.k.cli("sts", "assume-root", "--target-principal", M2, "--task-policy-arn",
                               "arn=" + TASK + "SQSUnlockQueuePolicy")
        self.assertTrue(out["Credentials"]["SessionToken"])

    def test_2_refusals(self):
        m = expect_error(self, lambda: self.assume(target=MGMT), "AccessDenied", 403)
        self.assertIn("not a member account", m)
        expect_error(self, lambda: self.assume(target=OUTSIDE), "AccessDenied", 403, "not a member account")
        expect_error(self, lambda: self.assume(task="AdministratorAccess"), "ValidationError", 400)
        expect_error(self, lambda: self.sts.assume_root(TargetPrincipal=M1, TaskPolicyArn={
            "arn": "arn:aws:iam::aws:policy/AdministratorAccess"}), "ValidationError", 400, "root task")
        expect_error(self, lambda: self.assume(target="not-an-account"), "ValidationError", 400)
        raw = self.k.client("sts", validate=False)
        expect_error(self, lambda: self.assume(client=raw, DurationSeconds=901), "ValidationError", 400)
        # the management account's root user may not call it
        rc, _, e = kmsctl("access-key", "add", "--data-dir", self.k.data_dir, "--id", ROOT_KEY[0], "--secret",
                          ROOT_KEY[1], "--account", MGMT)
        self.assertEqual(rc, 0, e)
        expect_error(self, lambda: self.assume(client=self.k.client("sts", creds=ROOT_KEY)), "AccessDenied", 403,
                     "root user credentials")
        # a caller outside the management account, even with full access in its own account
        rc, _, e = kmsctl("access-key", "add", "--data-dir", self.k.data_dir, "--id", OUT_KEY[0], "--secret",
                          OUT_KEY[1], "--account", OUTSIDE)
        self.assertEqual(rc, 0, e)
        outsider_iam = self.k.client("iam", creds=OUT_KEY)
        outsider_iam.create_user(UserName="ops")
        outsider_iam.put_user_policy(UserName="ops", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        k = outsider_iam.create_access_key(UserName="ops")["AccessKey"]
        ops = self.k.client("sts", creds=(k["AccessKeyId"], k["SecretAccessKey"]))
        expect_error(self, lambda: self.assume(client=ops), "AccessDenied", 403, "management account")
        # identity policy: sts:AssumeRoot only for the audit task
        iam = self.k.client("iam")
        _, creds = make_user(self.k, "auditor")
        iam.put_user_policy(UserName="auditor", PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "sts:AssumeRoot", "Resource": "arn:aws:iam::%s:root" % M1,
                "Condition": {"StringEquals": {"sts:TaskPolicyArn": TASK + "IAMAuditRootUserCredentials"}}}]}))
        auditor = self.k.client("sts", creds=creds)
        self.assume(client=auditor)
        expect_error(self, lambda: self.assume(client=auditor, task="IAMDeleteRootUserCredentials"),
                     "AccessDenied", 403, "sts:AssumeRoot")
        expect_error(self, lambda: self.assume(client=auditor, target=M2), "AccessDenied", 403)
        # a role session's source identity follows into the root session
        role = iam.create_role(RoleName="root-ops", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:root" % MGMT},
                           "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"]}]}))["Role"]
        iam.put_role_policy(RoleName="root-ops", PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoot", "Resource": "*"}]}))
        c, t = creds_of(self.sts.assume_role(RoleArn=role["Arn"], RoleSessionName="ops",
                                             SourceIdentity="carol")["Credentials"])
        out = self.assume(client=self.k.client("sts", creds=c, session_token=t))
        self.assertEqual(out["SourceIdentity"], "carol")
        # a root session cannot chain into another
        c, t = creds_of(self.assume()["Credentials"])
        expect_error(self, lambda: self.assume(client=self.k.client("sts", creds=c, session_token=t)),
                     "AccessDenied", 403)

    def test_3_no_organization(self):
        for args in ((), ("--organization", org_file(self.root, centralized_root_access=False))):
            with Kmsd(*args) as k:  # __enter__ starts it
                m = expect_error(self, lambda: k.client("sts").assume_root(
                    TargetPrincipal=M1, TaskPolicyArn={"arn": TASK + "IAMAuditRootUserCredentials"}),
                    "AccessDenied", 403)
                self.assertIn("centralized root access is not enabled", m)
        # an unreadable organization file stops the server at start
        bad = os.path.join(self.root, "bad.json")
        with open(bad, "w") as f:
            f.write('{"id": "o-1", "management_account": "12"}')
        k = Kmsd("--organization", bad)
        try:
            self.assertNotEqual(k.start(expect_fail=True), 0)
        finally:
            k.cleanup()

    def test_4_delegated_gdat(self):
        # GetDelegatedAccessToken: answered with a clear error (docs/sts.md explains why)
        m = expect_error(self, lambda: self.sts.get_delegated_access_token(TradeInToken="x" * 40),
                         "NotImplemented", 501)
        self.assertIn("trade-in token", m)


if __name__ == "__main__":
    main()
