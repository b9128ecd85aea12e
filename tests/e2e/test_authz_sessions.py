"""Identity side: IAM actions need iam:* permissions; sts:AssumeRole needs
the caller's identity policy where the trust policy names only the
account; a session policy narrows an assumed role; a permissions boundary
caps a user; DecodeAuthorizationMessage needs its permission."""
import json
import unittest

from authz_common import ACCT, allow, doc, error, make_user, session_creds
from kmsd_harness import Kmsd, main


class Sessions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        cls.iam = cls.k.client("iam")
        cls.kms = cls.k.client("kms")
        cls.key = cls.kms.create_key()["KeyMetadata"]
        cls.role = cls.iam.create_role(RoleName="worker", AssumeRolePolicyDocument=doc(
            {"Effect": "Allow", "Principal": {"AWS": ACCT}, "Action": "sts:AssumeRole"}))["Role"]
        cls.iam.put_role_policy(RoleName="worker", PolicyName="kms", PolicyDocument=doc(
            allow(["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"], cls.key["Arn"])))
        cls.user, cls.creds = make_user(cls.k, "ursula", doc(allow("sts:AssumeRole", cls.role["Arn"])))

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def test_iam_actions_need_permission(self):
        uiam = self.k.client("iam", creds=self.creds)
        code, msg = error(uiam.create_user, UserName="mallory")
        self.assertEqual(code, "AccessDenied")
        self.assertEqual(msg, "User: %s is not authorized to perform: iam:CreateUser on resource: "
                         "arn:aws:iam::%s:user/mallory because no identity-based policy allows the iam:CreateUser "
                         "action" % (self.user["Arn"], ACCT))
        self.assertEqual(error(uiam.put_user_policy, UserName="ursula", PolicyName="esc",
                               PolicyDocument=doc(allow("*")))[0], "AccessDenied")
        self.iam.put_user_policy(UserName="ursula", PolicyName="self", PolicyDocument=doc(
            allow(["iam:GetUser", "iam:ListAccessKeys"], self.user["Arn"])))
        try:
            self.assertEqual(uiam.get_user()["User"]["UserName"], "ursula")
            self.assertEqual(error(uiam.get_user, UserName="admin")[0], "AccessDenied")
        finally:
            self.iam.delete_user_policy(UserName="ursula", PolicyName="self")
        self.assertEqual(error(uiam.get_user)[0], "AccessDenied")   # removal takes effect at once

    def test_assume_role_needs_identity_side(self):
        sts = self.k.client("sts", creds=self.creds)
        c, t = session_creds(sts.assume_role(RoleArn=self.role["Arn"], RoleSessionName="w1"))
        self.k.client("kms", creds=c, session_token=t).encrypt(KeyId=self.key["KeyId"], Plaintext=b"x")
        # without the identity policy the account-level trust is not enough
        other, ocreds = make_user(self.k, "oscar")
        code, msg = error(self.k.client("sts", creds=ocreds).assume_role, RoleArn=self.role["Arn"],
                          RoleSessionName="w1")
        self.assertEqual(code, "AccessDenied")
        self.assertIn("sts:AssumeRole on resource: %s" % self.role["Arn"], msg)

    def test_session_policy_narrows_role(self):
        sts = self.k.client("sts", creds=self.creds)
        narrow = doc(allow("kms:Encrypt"))
        out = sts.assume_role(RoleArn=self.role["Arn"], RoleSessionName="narrow", Policy=narrow)
        c, t = session_creds(out)
        kms = self.k.client("kms", creds=c, session_token=t)
        blob = kms.encrypt(KeyId=self.key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
        code, msg = error(kms.decrypt, CiphertextBlob=blob)
        self.assertEqual(code, "AccessDeniedException")
        self.assertIn("because no session policy allows the kms:Decrypt action", msg)
        # the session policy cannot widen: GenerateRandom is in neither the role's policy nor... the role lacks it
        out = sts.assume_role(RoleArn=self.role["Arn"], RoleSessionName="wide", Policy=doc(allow("kms:*")))
        c, t = session_creds(out)
        kms = self.k.client("kms", creds=c, session_token=t)
        self.assertEqual(error(kms.generate_random, NumberOfBytes=8)[0], "AccessDeniedException")
        kms.decrypt(CiphertextBlob=blob)
        # a managed policy passed as PolicyArns narrows the same way
        p = self.iam.create_policy(PolicyName="describe-only", PolicyDocument=doc(allow("kms:DescribeKey")))["Policy"]
        out = sts.assume_role(RoleArn=self.role["Arn"], RoleSessionName="arns", PolicyArns=[{"arn": p["Arn"]}])
        c, t = session_creds(out)
        kms = self.k.client("kms", creds=c, session_token=t)
        kms.describe_key(KeyId=self.key["KeyId"])
        self.assertEqual(error(kms.encrypt, KeyId=self.key["KeyId"], Plaintext=b"x")[0], "AccessDeniedException")

    def test_permissions_boundary(self):
        b = self.iam.create_policy(PolicyName="kms-read", PolicyDocument=doc(allow(["kms:Describe*", "kms:List*"])))
        self.iam.create_user(UserName="bounded", PermissionsBoundary=b["Policy"]["Arn"])
        self.iam.put_user_policy(UserName="bounded", PolicyName="all", PolicyDocument=doc(allow("kms:*")))
        key = self.iam.create_access_key(UserName="bounded")["AccessKey"]
        kms = self.k.client("kms", creds=(key["AccessKeyId"], key["SecretAccessKey"]))
        kms.describe_key(KeyId=self.key["KeyId"])
        code, msg = error(kms.encrypt, KeyId=self.key["KeyId"], Plaintext=b"x")
        self.assertEqual(code, "AccessDeniedException")
        self.assertIn("because no permissions boundary allows the kms:Encrypt action", msg)

    def test_decode_authorization_message_needs_permission(self):
        sts = self.k.client("sts", creds=self.creds)
        code, msg = error(sts.decode_authorization_message, EncodedMessage="bm90LWEtbWVzc2FnZQ==")
        self.assertEqual(code, "AccessDenied")
        self.assertIn("sts:DecodeAuthorizationMessage", msg)
        self.assertEqual(error(self.k.client("sts").decode_authorization_message,
                               EncodedMessage="bm90LWEtbWVzc2FnZQ==")[0], "InvalidAuthorizationMessageException")

    def test_root_and_admin_keep_full_control(self):
        self.iam.list_users()
        self.assertTrue(self.kms.list_keys()["Keys"])
        self.kms.generate_random(NumberOfBytes=4)


if __name__ == "__main__":
    main()
