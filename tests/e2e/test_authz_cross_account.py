"""Cross-account use of a KMS key: a role in account 222233334444 needs both
the key policy of the key's account and its own IAM policy; either side
alone is refused. The caller names the key by ARN (bare ids and aliases
stay in the caller's account), and Decrypt finds the key from the
ciphertext."""
import unittest

from authz_common import ACCT, allow, doc, error, key_statement, make_user, root_statement, session_creds
from kmsd_harness import Kmsd, kmsctl, main

B = "222233334444"
B_ROOT = ("AKIAACCOUNTB00000001", "account-b-root-secret-0001")


class CrossAccount(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        rc, _, errout = kmsctl("access-key", "add", "--data-dir", cls.k.data_dir, "--id", B_ROOT[0],
                               "--secret", B_ROOT[1], "--account", B)
        assert rc == 0, errout
        # In account B (IAM acts in the caller's account): a user who may assume role "app".
        biam = cls.k.client("iam", creds=B_ROOT)
        cls.role = biam.create_role(RoleName="app", AssumeRolePolicyDocument=doc(
            {"Effect": "Allow", "Principal": {"AWS": B}, "Action": "sts:AssumeRole"}))["Role"]
        cls.dev, cls.dev_creds = make_user(cls.k, "dev", doc(allow("sts:AssumeRole", cls.role["Arn"])), creds=B_ROOT)
        cls.kms = cls.k.client("kms")
        cls.key = cls.kms.create_key(Policy=doc(
            root_statement(),
            key_statement(cls.role["Arn"], ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"], sid="AppInB")))["KeyMetadata"]

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def app_kms(self):
        out = self.k.client("sts", creds=self.dev_creds).assume_role(RoleArn=self.role["Arn"], RoleSessionName="s1")
        c, t = session_creds(out)
        return self.k.client("kms", creds=c, session_token=t), out["AssumedRoleUser"]["Arn"]

    def test_both_sides_needed(self):
        biam = self.k.client("iam", creds=B_ROOT)
        arn = self.key["Arn"]
        kms, who = self.app_kms()
        # key policy allows the role, but its own account grants nothing yet
        code, msg = error(kms.encrypt, KeyId=arn, Plaintext=b"x")
        self.assertEqual(code, "AccessDeniedException")
        self.assertEqual(msg, "User: %s is not authorized to perform: kms:Encrypt on resource: %s because no "
                         "identity-based policy allows the kms:Encrypt action" % (who, arn))
        # both sides: allowed
        biam.put_role_policy(RoleName="app", PolicyName="use-a-key",
                             PolicyDocument=doc(allow(["kms:Encrypt", "kms:Decrypt"], arn)))
        blob = kms.encrypt(KeyId=arn, Plaintext=b"secret")["CiphertextBlob"]
        self.assertEqual(kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"secret")
        # the key's owner can read it too (same ciphertext, the key's own account)
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"secret")
        # a bare key id names a key in the caller's own account: not found there
        self.assertEqual(error(kms.encrypt, KeyId=self.key["KeyId"], Plaintext=b"x")[0], "NotFoundException")
        # IAM side only: the key policy stops naming the role
        self.kms.put_key_policy(KeyId=arn, Policy=doc(root_statement()))
        try:
            code, msg = error(kms.decrypt, CiphertextBlob=blob)
            self.assertEqual(code, "AccessDeniedException")
            self.assertIn("because no resource-based policy allows the kms:Decrypt action", msg)
            # naming the whole account B delegates to B's IAM policies
            self.kms.put_key_policy(KeyId=arn, Policy=doc(root_statement(), key_statement(B, "kms:Decrypt")))
            self.assertEqual(kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"secret")
            self.assertEqual(error(kms.encrypt, KeyId=arn, Plaintext=b"x")[0], "AccessDeniedException")
        finally:
            self.kms.put_key_policy(KeyId=arn, Policy=doc(root_statement(), key_statement(
                self.role["Arn"], ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"])))
            biam.delete_role_policy(RoleName="app", PolicyName="use-a-key")

    def test_account_b_root_and_other_users(self):
        broot = self.k.client("kms", creds=B_ROOT)
        # B's root is not named by the key policy: refused
        self.assertEqual(error(broot.describe_key, KeyId=self.key["Arn"])[0], "AccessDeniedException")
        # B's own keys are B's: A's administrator cannot use them by ARN without B's key policy
        bkey = broot.create_key()["KeyMetadata"]
        self.assertEqual(bkey["AWSAccountId"], B)
        self.assertEqual(error(self.kms.encrypt, KeyId=bkey["Arn"], Plaintext=b"x")[0], "AccessDeniedException")
        broot.encrypt(KeyId=bkey["KeyId"], Plaintext=b"x")
        # the CLI, same story
        rc, _, errout = self.k.cli("kms", "describe-key", "--key-id", bkey["Arn"], check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("AccessDeniedException", errout)


if __name__ == "__main__":
    main()
