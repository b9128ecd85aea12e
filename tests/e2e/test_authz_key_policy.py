"""Key policies enforced: the default policy and IAM delegation, a key usable
only with one encryption context, explicit deny beating allow, the lockout
safety check, GetKeyPolicy/PutKeyPolicy/ListKeyPolicies, malformed policies,
AccessDenied wording; with boto3 and the aws CLI."""
import json
import time
import unittest

from authz_common import ACCT, allow, deny, doc, error, key_statement, make_user, root_statement
from kmsd_harness import Kmsd, main


class KeyPolicies(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        cls.kms = cls.k.client("kms")
        cls.alice, cls.alice_creds = make_user(cls.k, "alice", doc(allow(["kms:Encrypt", "kms:Decrypt",
                                                                          "kms:PutKeyPolicy", "kms:CreateKey",
                                                                          "kms:GetKeyPolicy", "kms:DescribeKey"])))
        cls.bob, cls.bob_creds = make_user(cls.k, "bob")
        cls.akms = cls.k.client("kms", creds=cls.alice_creds)
        cls.bkms = cls.k.client("kms", creds=cls.bob_creds)

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def test_default_policy_delegates_to_iam(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        pol = json.loads(self.kms.get_key_policy(KeyId=kid, PolicyName="default")["Policy"])
        self.assertEqual(pol["Statement"][0]["Principal"]["AWS"], "arn:aws:iam::%s:root" % ACCT)
        self.assertEqual(self.kms.list_key_policies(KeyId=kid)["PolicyNames"], ["default"])
        blob = self.akms.encrypt(KeyId=kid, Plaintext=b"hi")["CiphertextBlob"]
        self.assertEqual(self.akms.decrypt(CiphertextBlob=blob)["Plaintext"], b"hi")
        # bob has no identity policy: the default key policy gives nothing by itself
        arn = self.kms.describe_key(KeyId=kid)["KeyMetadata"]["Arn"]
        code, msg = error(self.bkms.decrypt, CiphertextBlob=blob)
        self.assertEqual(code, "AccessDeniedException")
        self.assertEqual(msg, "User: %s is not authorized to perform: kms:Decrypt on resource: %s because no "
                         "identity-based policy allows the kms:Decrypt action" % (self.bob["Arn"], arn))
        # not allowed by alice's policy either
        code, msg = error(self.akms.schedule_key_deletion, KeyId=kid, PendingWindowInDays=7)
        self.assertEqual(code, "AccessDeniedException")
        self.assertIn("kms:ScheduleKeyDeletion", msg)
        # ListKeys is an IAM permission bob lacks
        code, msg = error(self.bkms.list_keys)
        self.assertEqual(code, "AccessDeniedException")
        self.assertIn("kms:ListKeys because no identity-based policy allows the kms:ListKeys action", msg)

    def test_key_usable_only_with_encryption_context(self):
        pol = doc(root_statement(),
                  key_statement(self.bob["Arn"], ["kms:Encrypt", "kms:Decrypt"],
                                condition={"StringEquals": {"kms:EncryptionContext:app": "billing"}}))
        kid = self.kms.create_key(Policy=pol)["KeyMetadata"]["KeyId"]
        blob = self.bkms.encrypt(KeyId=kid, Plaintext=b"x", EncryptionContext={"app": "billing"})["CiphertextBlob"]
        self.assertEqual(self.bkms.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "billing"})["Plaintext"],
                         b"x")
        # (condition key names are case-insensitive in AWS, so {"App": "billing"} would match too)
        for ec in ({}, {"app": "payroll"}, {"team": "billing"}):
            code, msg = error(self.bkms.encrypt, KeyId=kid, Plaintext=b"x", EncryptionContext=ec)
            self.assertEqual(code, "AccessDeniedException", ec)
            # the key policy's root statement still delegates to bob's (absent) IAM policies
            self.assertIn("because no identity-based policy allows the kms:Encrypt action", msg)
        self.assertEqual(error(self.bkms.decrypt, CiphertextBlob=blob)[0], "AccessDeniedException")
        # and through the aws CLI
        rc, _, errout = self.k.cli("kms", "encrypt", "--key-id", kid, "--plaintext", "eA==",
                                   creds=self.bob_creds, check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("AccessDeniedException", errout)
        rc, out, errout = self.k.cli("kms", "encrypt", "--key-id", kid, "--plaintext", "eA==",
                                     "--encryption-context", "app=billing", creds=self.bob_creds)
        self.assertIn("CiphertextBlob", out)

    def test_explicit_deny_beats_allow(self):
        pol = doc(root_statement(),
                  key_statement(self.bob["Arn"], "kms:*", sid="BobAll"),
                  key_statement("*", "kms:Decrypt", effect="Deny", sid="NoDecryptOutsideTag",
                                condition={"StringNotEquals": {"aws:PrincipalTag/team": "core"}}))
        kid = self.kms.create_key(Policy=pol, BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["KeyId"]
        blob = self.bkms.encrypt(KeyId=kid, Plaintext=b"x")["CiphertextBlob"]
        code, msg = error(self.bkms.decrypt, CiphertextBlob=blob)
        self.assertEqual(code, "AccessDeniedException")
        self.assertIn("with an explicit deny in a resource-based policy", msg)
        # the administrator is denied too: an explicit deny beats the identity policy's allow
        code, msg = error(self.kms.decrypt, CiphertextBlob=blob)
        self.assertEqual(code, "AccessDeniedException")
        # an identity-policy deny beats the key policy's allow for bob's other actions
        self.k.client("iam").put_user_policy(UserName="bob", PolicyName="deny",
                                              PolicyDocument=doc(deny("kms:Encrypt")))
        try:
            code, msg = error(self.bkms.encrypt, KeyId=kid, Plaintext=b"x")
            self.assertEqual(code, "AccessDeniedException")
            self.assertIn("with an explicit deny in an identity-based policy", msg)
        finally:
            self.k.client("iam").delete_user_policy(UserName="bob", PolicyName="deny")
        self.bkms.encrypt(KeyId=kid, Plaintext=b"x")

    def test_lockout_safety_check(self):
        kid = self.akms.create_key()["KeyMetadata"]["KeyId"]
        locking = doc(key_statement(self.bob["Arn"], "kms:*"))
        code, msg = error(self.akms.put_key_policy, KeyId=kid, PolicyName="default", Policy=locking)
        self.assertEqual(code, "MalformedPolicyDocumentException")
        self.assertIn("will not allow you to update the key policy in the future", msg)
        code, _ = error(self.akms.create_key, Policy=locking)
        self.assertEqual(code, "MalformedPolicyDocumentException")
        # the key is unchanged: alice still manages it
        self.assertIn("Enable IAM User Permissions", self.akms.get_key_policy(KeyId=kid, PolicyName="default")["Policy"])
        # a policy that keeps alice's kms:PutKeyPolicy passes
        keeps = doc(key_statement(self.alice["Arn"], ["kms:PutKeyPolicy", "kms:GetKeyPolicy", "kms:DescribeKey"]),
                    key_statement(self.bob["Arn"], "kms:Encrypt"))
        self.akms.put_key_policy(KeyId=kid, PolicyName="default", Policy=keeps)
        self.assertEqual(json.loads(self.akms.get_key_policy(KeyId=kid)["Policy"]), json.loads(keeps))
        self.bkms.encrypt(KeyId=kid, Plaintext=b"x")  # takes effect at once
        # Bypass: alice locks herself out on purpose
        self.akms.put_key_policy(KeyId=kid, Policy=locking, BypassPolicyLockoutSafetyCheck=True)
        self.assertEqual(error(self.akms.get_key_policy, KeyId=kid)[0], "AccessDeniedException")
        self.assertEqual(error(self.akms.put_key_policy, KeyId=kid, Policy=keeps)[0], "AccessDeniedException")
        # root-free admin is locked out too: the key policy is the primary control
        self.assertEqual(error(self.kms.describe_key, KeyId=kid)[0], "AccessDeniedException")

    def test_malformed_policies(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        for bad, part in (("not json", ""),
                          (doc({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}), "rincipal"),
                          (doc({"Effect": "Maybe", "Principal": "*", "Action": "kms:*", "Resource": "*"}), "")):
            code, msg = error(self.kms.put_key_policy, KeyId=kid, PolicyName="default", Policy=bad)
            self.assertEqual(code, "MalformedPolicyDocumentException", bad)
            self.assertTrue(msg, bad)
            self.assertIn(part, msg)
            self.assertEqual(error(self.kms.create_key, Policy=bad)[0], "MalformedPolicyDocumentException")
        code, _ = error(self.kms.put_key_policy, KeyId=kid, PolicyName="other", Policy=doc(root_statement()))
        self.assertEqual(code, "NotFoundException")
        big = doc(root_statement(), *[key_statement("arn:aws:iam::%s:user/u%05d" % (ACCT, i), "kms:Encrypt")
                                      for i in range(300)])
        self.assertEqual(error(self.kms.put_key_policy, KeyId=kid, Policy=big)[0], "LimitExceededException")

    def test_condition_keys(self):
        # kms:CallerAccount, aws:SourceIp, kms:RequestAlias, aws:ResourceTag, kms:ResourceAliases
        pol = doc(root_statement(),
                  key_statement(self.bob["Arn"], "kms:Encrypt", condition={
                      "StringEquals": {"kms:CallerAccount": ACCT, "aws:ResourceTag/env": "prod"},
                      "IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}),
                  key_statement(self.bob["Arn"], "kms:GenerateDataKey", condition={
                      "StringEquals": {"kms:RequestAlias": "alias/bob-gdk"}}),
                  key_statement(self.bob["Arn"], "kms:DescribeKey", condition={
                      "ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/bob-gdk"}}))
        kid = self.kms.create_key(Policy=pol, Tags=[{"TagKey": "env", "TagValue": "prod"}])["KeyMetadata"]["KeyId"]
        self.kms.create_alias(AliasName="alias/bob-gdk", TargetKeyId=kid)
        self.bkms.encrypt(KeyId=kid, Plaintext=b"x")
        self.kms.tag_resource(KeyId=kid, Tags=[{"TagKey": "env", "TagValue": "dev"}])
        self.assertEqual(error(self.bkms.encrypt, KeyId=kid, Plaintext=b"x")[0], "AccessDeniedException")
        self.bkms.generate_data_key(KeyId="alias/bob-gdk", KeySpec="AES_256")
        self.assertEqual(error(self.bkms.generate_data_key, KeyId=kid, KeySpec="AES_256")[0],
                         "AccessDeniedException")
        self.bkms.describe_key(KeyId=kid)
        self.kms.delete_alias(AliasName="alias/bob-gdk")
        self.assertEqual(error(self.bkms.describe_key, KeyId=kid)[0], "AccessDeniedException")

    def test_alias_needs_permission_on_alias_and_key(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        carol, creds = make_user(self.k, "carol", doc(allow("kms:CreateAlias", [
            "arn:aws:kms:us-east-1:%s:alias/carol-*" % ACCT, "arn:aws:kms:us-east-1:%s:key/*" % ACCT])))
        ckms = self.k.client("kms", creds=creds)
        ckms.create_alias(AliasName="alias/carol-1", TargetKeyId=kid)
        code, msg = error(ckms.create_alias, AliasName="alias/other", TargetKeyId=kid)
        self.assertEqual(code, "AccessDeniedException")
        self.assertIn("alias/other", msg)
        # permission on the alias only: a key whose policy does not delegate refuses
        kid2 = self.kms.create_key(Policy=doc(root_statement(), key_statement(self.bob["Arn"], "kms:Encrypt")),
                                   BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["KeyId"]
        self.kms.put_key_policy(KeyId=kid2, Policy=doc(key_statement("arn:aws:iam::%s:user/admin" % ACCT, "kms:*")))
        code, msg = error(ckms.create_alias, AliasName="alias/carol-2", TargetKeyId=kid2)
        self.assertEqual(code, "AccessDeniedException")
        self.assertIn(":key/" + kid2, msg)


if __name__ == "__main__":
    main()
