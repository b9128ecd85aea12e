"""KMS authorization semantics, attacker's tests beside the user's (issue 18
items 1-5 and 10-12, issue 16 item 2).

Account A (000000000000) owns the keys; account B (222233334444) is another
account on the same server (kmsctl access-key add --account). Each test
names the AWS page whose rule it encodes.
"""
import base64
import json
import os
import time
import unittest

from authz_common import ACCT, allow, deny, doc, error, key_statement, make_user, root_statement, session_creds
from kmsd_harness import Kmsd, kmsctl, main

B = "222233334444"
B_ROOT = ("AKIAACCOUNTB00000009", "account-b-root-secret-0009")


class Base(unittest.TestCase):
    kmsd_args = ()

    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd(*cls.kmsd_args).start()
        rc, _, errout = kmsctl("access-key", "add", "--data-dir", cls.k.data_dir, "--id", B_ROOT[0],
                               "--secret", B_ROOT[1], "--account", B)
        assert rc == 0, errout
        cls.kms = cls.k.client("kms")
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def name(self, prefix):
        type(self).n += 1
        return "%s%d" % (prefix, type(self).n)

    def user(self, *statements):
        u, creds = make_user(self.k, self.name("u"), doc(*statements) if statements else None)
        return u, self.k.client("kms", creds=creds)

    def denied(self, fn, *a, **kw):
        code, msg = error(fn, *a, **kw)
        self.assertEqual(code, "AccessDeniedException", msg)
        return msg


class CrossAccountManagement(Base):
    """Issue 18 item 1. "Cross-account use: No" on each management API page;
    the permissions reference tabulates it: "If you give a principal in a
    different account a permission that cannot be used on a cross-account
    resource, the permission is not effective."
    https://docs.aws.amazon.com/kms/latest/developerguide/kms-api-permissions-reference.html"""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A's key: its policy gives account B everything.
        cls.key = cls.kms.create_key(Policy=doc(root_statement(), key_statement(B, "kms:*")))["KeyMetadata"]
        cls.arn = cls.key["Arn"]
        cls.broot = cls.k.client("kms", creds=B_ROOT)
        biam = cls.k.client("iam", creds=B_ROOT)
        _, bcreds = make_user(cls.k, "b-admin", doc(allow("*")), creds=B_ROOT)
        cls.buser = cls.k.client("kms", creds=bcreds)
        role = biam.create_role(RoleName="b-ops", AssumeRolePolicyDocument=doc(
            {"Effect": "Allow", "Principal": {"AWS": B}, "Action": "sts:AssumeRole"}))["Role"]
        biam.put_role_policy(RoleName="b-ops", PolicyName="all", PolicyDocument=doc(allow("*")))
        out = cls.k.client("sts", creds=bcreds).assume_role(RoleArn=role["Arn"], RoleSessionName="ss")
        c, t = session_creds(out)
        cls.brole = cls.k.client("kms", creds=c, session_token=t)
        fed = cls.k.client("sts", creds=bcreds).get_federation_token(Name="b-fed", Policy=doc(allow("*")))
        c, t = session_creds(fed)
        cls.bfed = cls.k.client("kms", creds=c, session_token=t)

    def management_calls(self):
        arn = self.arn
        return [
            ("PutKeyPolicy", lambda k: k.put_key_policy(KeyId=arn, PolicyName="default",
                                                        Policy=doc(key_statement(B, "kms:*")))),
            ("ScheduleKeyDeletion", lambda k: k.schedule_key_deletion(KeyId=arn, PendingWindowInDays=7)),
            ("CancelKeyDeletion", lambda k: k.cancel_key_deletion(KeyId=arn)),
            ("DisableKey", lambda k: k.disable_key(KeyId=arn)),
            ("EnableKey", lambda k: k.enable_key(KeyId=arn)),
            ("TagResource", lambda k: k.tag_resource(KeyId=arn, Tags=[{"TagKey": "owner", "TagValue": "b"}])),
            ("UntagResource", lambda k: k.untag_resource(KeyId=arn, TagKeys=["owner"])),
            ("UpdateKeyDescription", lambda k: k.update_key_description(KeyId=arn, Description="b was here")),
            ("EnableKeyRotation", lambda k: k.enable_key_rotation(KeyId=arn)),
            ("DisableKeyRotation", lambda k: k.disable_key_rotation(KeyId=arn)),
            ("RotateKeyOnDemand", lambda k: k.rotate_key_on_demand(KeyId=arn)),
            ("GetKeyPolicy", lambda k: k.get_key_policy(KeyId=arn, PolicyName="default")),
            ("ListResourceTags", lambda k: k.list_resource_tags(KeyId=arn)),
            ("ListKeyPolicies", lambda k: k.list_key_policies(KeyId=arn)),
            ("ListKeyRotations", lambda k: k.list_key_rotations(KeyId=arn)),
        ]

    def test_other_account_cannot_manage_even_with_kms_star(self):
        for who, client in (("B root", self.broot), ("B admin user", self.buser), ("B role session", self.brole),
                            ("B federated user", self.bfed)):
            for op, call in self.management_calls():
                with self.subTest(who=who, op=op):
                    msg = self.denied(call, client)
                    self.assertIn("kms:%s on resource: %s" % (op, self.arn), msg)
        # nothing changed on A's side
        md = self.kms.describe_key(KeyId=self.arn)["KeyMetadata"]
        self.assertEqual(md["KeyState"], "Enabled")
        self.assertEqual(md["Description"], "")
        self.assertIn(ACCT, self.kms.get_key_policy(KeyId=self.arn, PolicyName="default")["Policy"])
        self.assertEqual(self.kms.list_resource_tags(KeyId=self.arn)["Tags"], [])
        self.assertFalse(self.kms.get_key_rotation_status(KeyId=self.arn)["KeyRotationEnabled"])

    def test_refusal_does_not_reveal_whether_the_key_exists(self):
        ghost = "arn:aws:kms:us-east-1:%s:key/00000000-1111-2222-3333-444444444444" % ACCT
        self.assertIn("kms:ScheduleKeyDeletion on resource: %s" % ghost,
                      self.denied(self.broot.schedule_key_deletion, KeyId=ghost, PendingWindowInDays=7))

    def test_nul_and_overlong_key_ids_from_another_account(self):
        # a NUL or junk after the key ARN is not the key ARN
        for kid in (self.arn + "\x00", self.arn + "\x00/../x", self.arn + "x" * 1900):
            with self.subTest(kid=kid[-8:]):
                st, _, body = self.k.send(*self.k.kms_raw("ScheduleKeyDeletion", {"KeyId": kid,
                                                                                 "PendingWindowInDays": 7},
                                                           creds=B_ROOT))
                self.assertEqual(st, 400, body)
        self.assertEqual(self.kms.describe_key(KeyId=self.arn)["KeyMetadata"]["KeyState"], "Enabled")

    def test_other_account_alias_cannot_point_at_a_key(self):
        for op in ("create_alias", "update_alias"):
            with self.subTest(op=op):
                if op == "update_alias":
                    own = self.broot.create_key()["KeyMetadata"]
                    self.broot.create_alias(AliasName="alias/b-own", TargetKeyId=own["KeyId"])
                    self.denied(self.broot.update_alias, AliasName="alias/b-own", TargetKeyId=self.arn)
                    al = [a for a in self.broot.list_aliases()["Aliases"] if a["AliasName"] == "alias/b-own"]
                    self.assertEqual(al[0]["TargetKeyId"], own["KeyId"])
                else:
                    self.denied(self.broot.create_alias, AliasName="alias/dangling", TargetKeyId=self.arn)
                    names = [a["AliasName"] for a in self.broot.list_aliases()["Aliases"]]
                    self.assertNotIn("alias/dangling", names)

    def test_user_cross_account_use_still_works(self):
        # "Cross-account use: Yes": the cryptographic operations, DescribeKey, GetKeyRotationStatus, grants
        for client in (self.broot, self.buser, self.brole, self.bfed):
            blob = client.encrypt(KeyId=self.arn, Plaintext=b"hello")["CiphertextBlob"]
            self.assertEqual(client.decrypt(CiphertextBlob=blob)["Plaintext"], b"hello")
            client.generate_data_key(KeyId=self.arn, KeySpec="AES_256")
            client.generate_data_key_without_plaintext(KeyId=self.arn, KeySpec="AES_256")
            client.re_encrypt(CiphertextBlob=blob, DestinationKeyId=self.arn)
            self.assertEqual(client.describe_key(KeyId=self.arn)["KeyMetadata"]["Arn"], self.arn)
            client.get_key_rotation_status(KeyId=self.arn)
            client.list_grants(KeyId=self.arn)
        # and the owner still manages its key
        self.kms.tag_resource(KeyId=self.arn, Tags=[{"TagKey": "t", "TagValue": "v"}])
        self.kms.untag_resource(KeyId=self.arn, TagKeys=["t"])
        self.kms.update_key_description(KeyId=self.arn, Description="")


class ResourceAliases(Base):
    """Issue 18 item 2. kms:ResourceAliases is a key of every KMS key
    operation, evaluated in every policy: IAM, boundary, session and key.
    https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-resource-aliases"""

    def setUp(self):
        self.key = self.kms.create_key()["KeyMetadata"]
        self.alias = "alias/" + self.name("prod-")
        self.kms.create_alias(AliasName=self.alias, TargetKeyId=self.key["KeyId"])
        self.plain = self.kms.create_key()["KeyMetadata"]

    def test_iam_deny_on_resource_aliases_applies(self):
        _, kms = self.user(allow("kms:*"), deny("kms:Encrypt", Condition={
            "ForAnyValue:StringLike": {"kms:ResourceAliases": "alias/prod-*"}}))
        self.denied(kms.encrypt, KeyId=self.key["KeyId"], Plaintext=b"x")
        # user: a key with no matching alias is not caught by the Deny
        kms.encrypt(KeyId=self.plain["KeyId"], Plaintext=b"x")

    def test_session_policy_deny_on_resource_aliases_applies(self):
        iam = self.k.client("iam")
        acct_trust = doc({"Effect": "Allow", "Principal": {"AWS": ACCT}, "Action": "sts:AssumeRole"})
        role = iam.create_role(RoleName=self.name("r"), AssumeRolePolicyDocument=acct_trust)["Role"]
        iam.put_role_policy(RoleName=role["RoleName"], PolicyName="p", PolicyDocument=doc(allow("kms:*")))
        out = self.k.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="ss", Policy=doc(
            allow("kms:*"), deny("kms:Encrypt", Condition={
                "ForAnyValue:StringLike": {"kms:ResourceAliases": "alias/prod-*"}})))
        c, t = session_creds(out)
        kms = self.k.client("kms", creds=c, session_token=t)
        self.denied(kms.encrypt, KeyId=self.key["KeyId"], Plaintext=b"x")
        kms.encrypt(KeyId=self.plain["KeyId"], Plaintext=b"x")

    def test_key_policy_spelling_the_key_with_a_json_escape(self):
        u, kms = self.user(allow("kms:*"))
        text = json.dumps({"Version": "2012-10-17", "Statement": [
            root_statement(),
            {"Effect": "Deny", "Principal": {"AWS": u["Arn"]}, "Action": "kms:Encrypt", "Resource": "*",
             "Condition": {"ForAnyValue:StringLike": {"kms:ResourceAliasXX": "alias/prod-*"}}}]})
        text = text.replace("kms:ResourceAliasXX", "kms:Resource\\u0041liases")
        self.kms.put_key_policy(KeyId=self.key["KeyId"], PolicyName="default", Policy=text)
        self.denied(kms.encrypt, KeyId=self.key["KeyId"], Plaintext=b"x")

    def test_key_policy_deny_reaches_the_administrator(self):
        # a Deny for every principal ("*") on the alias binds the account's administrator too
        self.kms.put_key_policy(KeyId=self.key["KeyId"], PolicyName="default", Policy=doc(
            root_statement(),
            {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:Encrypt", "Resource": "*",
             "Condition": {"ForAnyValue:StringLike": {"kms:ResourceAliases": "alias/prod-*"}}}))
        self.denied(self.kms.encrypt, KeyId=self.key["KeyId"], Plaintext=b"x")
        self.kms.delete_alias(AliasName=self.alias)
        self.kms.encrypt(KeyId=self.key["KeyId"], Plaintext=b"x")

    def test_user_allow_on_resource_aliases(self):
        _, kms = self.user(allow("kms:Encrypt", Condition={
            "ForAnyValue:StringEquals": {"kms:ResourceAliases": self.alias}}))
        kms.encrypt(KeyId=self.key["KeyId"], Plaintext=b"x")
        self.denied(kms.encrypt, KeyId=self.plain["KeyId"], Plaintext=b"x")


class AliasQuota(Base):
    """Issue 18 item 3. "Aliases per KMS key: 50" (resource quotas), and no
    alias may drop out of kms:ResourceAliases.
    https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html#aliases-per-key"""

    def test_fifty_first_alias_is_refused(self):
        key = self.kms.create_key()["KeyMetadata"]["KeyId"]
        for i in range(50):
            self.kms.create_alias(AliasName="alias/a-%02d" % i, TargetKeyId=key)
        code, msg = error(self.kms.create_alias, AliasName="alias/zz-prod-1", TargetKeyId=key)
        self.assertEqual(code, "LimitExceededException", msg)
        other = self.kms.create_key()["KeyMetadata"]["KeyId"]
        self.kms.create_alias(AliasName="alias/zz-prod-2", TargetKeyId=other)
        code, _ = error(self.kms.update_alias, AliasName="alias/zz-prod-2", TargetKeyId=key)
        self.assertEqual(code, "LimitExceededException")
        # the other key's alias did not move
        al = [a for a in self.kms.list_aliases(KeyId=other)["Aliases"]]
        self.assertEqual([a["AliasName"] for a in al], ["alias/zz-prod-2"])
        # user: after deleting one, the key takes a new alias again
        self.kms.delete_alias(AliasName="alias/a-00")
        self.kms.create_alias(AliasName="alias/zz-prod-1", TargetKeyId=key)

    def test_deny_on_the_last_sorting_alias_still_applies(self):
        key = self.kms.create_key()["KeyMetadata"]["KeyId"]
        for i in range(49):
            self.kms.create_alias(AliasName="alias/b-%02d" % i, TargetKeyId=key)
        self.kms.create_alias(AliasName="alias/zz-prod-x", TargetKeyId=key)
        _, kms = self.user(allow("kms:*"), deny("kms:*", Condition={
            "ForAnyValue:StringLike": {"kms:ResourceAliases": "alias/zz-prod-*"}}))
        self.denied(kms.encrypt, KeyId=key, Plaintext=b"x")
        self.kms.delete_alias(AliasName="alias/zz-prod-x")
        kms.encrypt(KeyId=key, Plaintext=b"x")


class ReEncryptKeys(Base):
    """Issue 18 items 4 and 5: kms:ReEncryptOnSameKey, and kms:RequestAlias
    per key in ReEncrypt.
    https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-reencrypt-on-same-key
    https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-request-alias"""

    def setUp(self):
        self.k1 = self.kms.create_key()["KeyMetadata"]["KeyId"]
        self.k2 = self.kms.create_key()["KeyMetadata"]["KeyId"]
        self.blob = self.kms.encrypt(KeyId=self.k1, Plaintext=b"data")["CiphertextBlob"]

    def test_deny_reencrypt_on_same_key(self):
        _, kms = self.user(allow("kms:*"), deny("kms:ReEncrypt*", Condition={
            "Bool": {"kms:ReEncryptOnSameKey": "true"}}))
        self.denied(kms.re_encrypt, CiphertextBlob=self.blob, DestinationKeyId=self.k1)
        # the same key named by alias is still the same key
        a = "alias/" + self.name("same-")
        self.kms.create_alias(AliasName=a, TargetKeyId=self.k1)
        self.denied(kms.re_encrypt, CiphertextBlob=self.blob, DestinationKeyId=a)
        # user: another key is allowed
        kms.re_encrypt(CiphertextBlob=self.blob, DestinationKeyId=self.k2)

    def test_allow_only_on_another_key(self):
        _, kms = self.user(allow("kms:ReEncrypt*", Condition={"Bool": {"kms:ReEncryptOnSameKey": "false"}}))
        out = kms.re_encrypt(CiphertextBlob=self.blob, DestinationKeyId=self.k2)
        self.assertTrue(out["KeyId"].endswith(self.k2))
        self.denied(kms.re_encrypt, CiphertextBlob=self.blob, DestinationKeyId=self.k1)

    def test_request_alias_of_the_source_does_not_reach_the_destination(self):
        blessed = "alias/" + self.name("blessed-")
        self.kms.create_alias(AliasName=blessed, TargetKeyId=self.k1)
        _, kms = self.user(allow("kms:ReEncryptFrom"), allow("kms:ReEncryptTo", Condition={
            "StringEquals": {"kms:RequestAlias": blessed}}))
        # attacker: names the source by the blessed alias, the destination by id
        self.denied(kms.re_encrypt, CiphertextBlob=self.blob, SourceKeyId=blessed, DestinationKeyId=self.k2)
        # user: the destination named by the blessed alias passes
        kms.re_encrypt(CiphertextBlob=self.blob, DestinationKeyId=blessed)

    def test_request_alias_of_the_destination_does_not_reach_the_source(self):
        dst = "alias/" + self.name("dst-")
        self.kms.create_alias(AliasName=dst, TargetKeyId=self.k2)
        _, kms = self.user(allow("kms:ReEncryptTo"), allow("kms:ReEncryptFrom", Condition={
            "StringEquals": {"kms:RequestAlias": dst}}))
        self.denied(kms.re_encrypt, CiphertextBlob=self.blob, DestinationKeyId=dst)


class EncryptionAlgorithm(Base):
    """Issue 18 item 10. kms:EncryptionAlgorithm applies to Decrypt, Encrypt,
    GenerateDataKey, GenerateDataKeyPair, GenerateDataKeyPairWithoutPlaintext,
    GenerateDataKeyWithoutPlaintext and ReEncrypt; kms:EncryptionContext:
    and kms:EncryptionContextKeys to the same symmetric operations.
    https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-encryption-algorithm"""

    def setUp(self):
        self.key = self.kms.create_key()["KeyMetadata"]["KeyId"]
        self.blob = self.kms.encrypt(KeyId=self.key, Plaintext=b"d",
                                     EncryptionContext={"app": "x"})["CiphertextBlob"]

    def calls(self, kms):
        key, blob = self.key, self.blob
        return {
            "kms:Encrypt": lambda: kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"app": "x"}),
            "kms:Decrypt": lambda: kms.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "x"}),
            "kms:GenerateDataKey": lambda: kms.generate_data_key(KeyId=key, KeySpec="AES_256",
                                                                 EncryptionContext={"app": "x"}),
            "kms:GenerateDataKeyWithoutPlaintext": lambda: kms.generate_data_key_without_plaintext(
                KeyId=key, NumberOfBytes=16, EncryptionContext={"app": "x"}),
            "kms:ReEncrypt*": lambda: kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext={"app": "x"},
                                                     DestinationKeyId=key,
                                                     DestinationEncryptionContext={"app": "x"}),
        }

    def test_deny_on_algorithm_applies_to_every_operation(self):
        for action in self.calls(None):
            with self.subTest(action=action):
                _, kms = self.user(allow("kms:*"), deny(action, Condition={
                    "StringEquals": {"kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}}))
                self.denied(self.calls(kms)[action])

    def test_user_allow_on_algorithm_for_every_operation(self):
        for action in self.calls(None):
            with self.subTest(action=action):
                _, kms = self.user(allow(action, Condition={
                    "StringEquals": {"kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}}))
                self.calls(kms)[action]()

    def test_encryption_context_keys_for_every_operation(self):
        for action in self.calls(None):
            with self.subTest(action=action):
                _, kms = self.user(allow(action, Condition={
                    "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": "app"},
                    "StringEquals": {"kms:EncryptionContext:app": "x"}}))
                self.calls(kms)[action]()
                _, kms = self.user(allow("kms:*"), deny(action, Condition={
                    "StringEquals": {"kms:EncryptionContext:app": "x"}}))
                self.denied(self.calls(kms)[action])

    def test_create_grant_context_keys_come_from_its_constraints(self):
        # the condition-key page lists CreateGrant for kms:EncryptionContext:* and kms:EncryptionContextKeys
        grantee = "arn:aws:iam::%s:user/grantee" % ACCT
        _, kms = self.user(allow("kms:CreateGrant", Condition={
            "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": "app"},
            "StringEquals": {"kms:EncryptionContext:app": "x"}}))
        kms.create_grant(KeyId=self.key, GranteePrincipal=grantee, Operations=["Decrypt"],
                         Constraints={"EncryptionContextSubset": {"app": "x"}})
        kms.create_grant(KeyId=self.key, GranteePrincipal=grantee, Operations=["Decrypt"],
                         Constraints={"EncryptionContextEquals": {"app": "x"}})
        # attacker: an unconstrained grant, or one for another context, does not satisfy the condition;
        # kms:EncryptionContextKeys compares keys case-sensitively under StringEquals
        self.denied(kms.create_grant, KeyId=self.key, GranteePrincipal=grantee, Operations=["Decrypt"],
                    Constraints={"EncryptionContextEquals": {"App": "x"}})
        self.denied(kms.create_grant, KeyId=self.key, GranteePrincipal=grantee, Operations=["Decrypt"])
        self.denied(kms.create_grant, KeyId=self.key, GranteePrincipal=grantee, Operations=["Decrypt"],
                    Constraints={"EncryptionContextSubset": {"app": "y"}})
        _, kms = self.user(allow("kms:*"), deny("kms:CreateGrant", Condition={
            "StringEquals": {"kms:EncryptionContext:app": "secret"}}))
        self.denied(kms.create_grant, KeyId=self.key, GranteePrincipal=grantee, Operations=["Decrypt"],
                    Constraints={"EncryptionContextEquals": {"APP": "secret"}})
        kms.create_grant(KeyId=self.key, GranteePrincipal=grantee, Operations=["Decrypt"],
                         Constraints={"EncryptionContextEquals": {"app": "public"}})

    def test_nul_in_a_context_value_does_not_match(self):
        _, kms = self.user(allow("kms:Encrypt", Condition={"StringEquals": {"kms:EncryptionContext:app": "x"}}))
        # a NUL is refused before authorization with the validation error (issue 10 item 2: "Reject NUL in
        # encryption-context keys and values ... with AWS's validation error"); never taken as "x"
        code, msg = error(kms.encrypt, KeyId=self.key, Plaintext=b"x", EncryptionContext={"app": "x\x00y"})
        self.assertEqual(code, "ValidationException", msg)
        # the condition itself still decides for clean values
        self.denied(kms.encrypt, KeyId=self.key, Plaintext=b"x", EncryptionContext={"app": "xy"})
        kms.encrypt(KeyId=self.key, Plaintext=b"x", EncryptionContext={"app": "x"})
        st, _, body = self.k.send(*self.k.kms_raw("Encrypt", {"KeyId": self.key, "Plaintext": "eA==",
                                                             "EncryptionContext": {"ap\u0000p": "x"}}))
        self.assertEqual(st, 400, body)


class FailClosed(Base):
    """Issue 16 item 2: an error building the request context is a refusal no
    grant can lift; encryption-context keys differing only by case are
    accepted, as AWS accepts them ("the key ... is not case sensitive" for
    kms:EncryptionContext:context-key).
    https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-encryption-context"""

    def grant_user(self, *statements):
        u, kms = self.user(*statements)
        key = self.kms.create_key()["KeyMetadata"]["KeyId"]
        self.kms.create_grant(KeyId=key, GranteePrincipal=u["Arn"], Operations=["Encrypt", "Decrypt"])
        return u, kms, key

    def test_iam_deny_not_lifted_by_a_grant_when_context_fails(self):
        _, kms, key = self.grant_user(deny("kms:*"))
        self.denied(kms.encrypt, KeyId=key, Plaintext=b"x", EncryptionContext={"a": "1", "A": "1"})
        many = {"k%03d" % i: "v" for i in range(100)}
        self.denied(kms.encrypt, KeyId=key, Plaintext=b"x", EncryptionContext=many)
        self.denied(kms.encrypt, KeyId=key, Plaintext=b"x")

    def test_key_policy_deny_not_lifted_by_a_grant_when_context_fails(self):
        u, kms = self.user()
        key = self.kms.create_key(Policy=doc(root_statement(), key_statement(u["Arn"], "kms:*", effect="Deny")))
        key = key["KeyMetadata"]["KeyId"]
        self.kms.create_grant(KeyId=key, GranteePrincipal=u["Arn"], Operations=["Encrypt"])
        many = {"k%03d" % i: "v" for i in range(100)}
        self.denied(kms.encrypt, KeyId=key, Plaintext=b"x", EncryptionContext=many)
        self.denied(kms.encrypt, KeyId=key, Plaintext=b"x", EncryptionContext={"a": "1", "A": "1"})

    def test_role_session_deny_not_lifted_by_a_grant(self):
        iam = self.k.client("iam")
        trust = doc({"Effect": "Allow", "Principal": {"AWS": ACCT}, "Action": "sts:AssumeRole"})
        role = iam.create_role(RoleName=self.name("fc"), AssumeRolePolicyDocument=trust)["Role"]
        iam.put_role_policy(RoleName=role["RoleName"], PolicyName="p", PolicyDocument=doc(deny("kms:*")))
        key = self.kms.create_key()["KeyMetadata"]["KeyId"]
        self.kms.create_grant(KeyId=key, GranteePrincipal=role["Arn"], Operations=["Encrypt"])
        out = self.k.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="ss")
        c, t = session_creds(out)
        kms = self.k.client("kms", creds=c, session_token=t)
        self.denied(kms.encrypt, KeyId=key, Plaintext=b"x", EncryptionContext={"a": "1", "A": "1"})
        self.denied(kms.encrypt, KeyId=key, Plaintext=b"x")

    def test_user_context_keys_differing_by_case(self):
        _, kms = self.user(allow(["kms:Encrypt", "kms:Decrypt"]))
        key = self.kms.create_key()["KeyMetadata"]["KeyId"]
        ec = {"purpose": "1", "Purpose": "2"}
        blob = kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext=ec)["CiphertextBlob"]
        self.assertEqual(kms.decrypt(CiphertextBlob=blob, EncryptionContext=ec)["Plaintext"], b"x")
        # the grant path too
        _, gkms, gkey = self.grant_user()
        gblob = gkms.encrypt(KeyId=gkey, Plaintext=b"y", EncryptionContext=ec)["CiphertextBlob"]
        self.assertEqual(gkms.decrypt(CiphertextBlob=gblob, EncryptionContext=ec)["Plaintext"], b"y")

    def test_deny_on_one_spelling_catches_the_other(self):
        _, kms = self.user(allow("kms:*"), deny("kms:Encrypt", Condition={
            "StringEquals": {"kms:EncryptionContext:purpose": "forbidden"}}))
        key = self.kms.create_key()["KeyMetadata"]["KeyId"]
        self.denied(kms.encrypt, KeyId=key, Plaintext=b"x", EncryptionContext={"purpose": "ok", "PURPOSE": "forbidden"})
        kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"purpose": "ok", "PURPOSE": "fine"})


class ListAliasesByKey(Base):
    """Issue 18 item 11. ListAliases: "Required permissions: kms:ListAliases
    (IAM policy)"; the key policy is not consulted.
    https://docs.aws.amazon.com/kms/latest/APIReference/API_ListAliases.html"""

    def test_iam_permission_alone_suffices(self):
        admin_arn = "arn:aws:iam::%s:user/kmsd-admin" % ACCT
        try:
            admin_arn = self.k.client("sts").get_caller_identity()["Arn"]
        except Exception:
            pass
        key = self.kms.create_key(Policy=doc(key_statement(admin_arn, "kms:*")),
                                  BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["KeyId"]
        self.kms.create_alias(AliasName="alias/listed", TargetKeyId=key)
        _, kms = self.user(allow("kms:ListAliases"))
        names = [a["AliasName"] for a in kms.list_aliases(KeyId=key)["Aliases"]]
        self.assertEqual(names, ["alias/listed"])
        # attacker: an IAM Deny applies; a key policy Allow alone does not help
        _, dkms = self.user(allow("kms:*"), deny("kms:ListAliases"))
        self.denied(dkms.list_aliases, KeyId=key)
        u3, nkms = self.user()
        self.denied(nkms.list_aliases, KeyId=key)

    def test_other_account_key_is_refused(self):
        key = self.kms.create_key(Policy=doc(root_statement(), key_statement(B, "kms:*")))["KeyMetadata"]
        self.kms.create_alias(AliasName="alias/secret-name", TargetKeyId=key["KeyId"])
        broot = self.k.client("kms", creds=B_ROOT)
        code, msg = error(broot.list_aliases, KeyId=key["Arn"])
        self.assertNotIn("secret-name", msg)
        self.assertIn(code, ("AccessDeniedException", "NotFoundException"))


class PolicyTime(Base):
    """Issue 18 item 12. aws:CurrentTime and aws:EpochTime follow the service
    clock (--clock-offset / --clock-file), as rotation, deletion and
    credential expiry do (README "Controlled clock")."""

    kmsd_args = ("--clock-offset", "400d")

    def test_policy_time_is_service_time(self):
        shifted = time.time() + 400 * 86400
        future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 200 * 86400))
        key = self.kms.create_key()["KeyMetadata"]["KeyId"]
        _, kms = self.user(allow("kms:Encrypt", Condition={"DateGreaterThan": {"aws:CurrentTime": future}}))
        kms.encrypt(KeyId=key, Plaintext=b"x")
        _, kms = self.user(allow("kms:*"), deny("kms:Encrypt", Condition={
            "NumericGreaterThan": {"aws:EpochTime": str(int(shifted - 3600))}}))
        self.denied(kms.encrypt, KeyId=key, Plaintext=b"x")
        _, kms = self.user(allow("kms:Encrypt", Condition={"DateLessThan": {"aws:CurrentTime": future}}))
        self.denied(kms.encrypt, KeyId=key, Plaintext=b"x")


if __name__ == "__main__":
    main()
