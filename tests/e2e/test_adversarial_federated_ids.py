"""A key-policy Deny naming an IAM user reaches the federated user sessions
that user issued with GetFederationToken -- also now that a saved key policy
holds the user as its unique id (AIDA...) rather than its ARN:

  "specifying the ARN of IAM user token-app in the policy will result in
   denying access to all federated users created by token-app"
  -- IAM User Guide, "Disabling permissions for temporary security credentials"
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_disable-perms.html

  "When you save the policy, AWS transforms the ARN to a unique principal ID
   [...] if you delete the role or user, then the relationship is broken."
  -- IAM User Guide, role trust policy examples
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_policy-examples.html

Real kmsd, boto3 clients."""
import json
import unittest

from authz_common import ACCT, allow, doc, error, key_statement, root_statement, session_creds
from kmsd_harness import Kmsd, main

ISSUER_POLICY = doc(allow(["kms:*", "sts:GetFederationToken"]))
SESSION_POLICY = doc(allow("kms:*"))


class FederatedIssuerIds(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        cls.iam = cls.k.client("iam")
        cls.kms = cls.k.client("kms")

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def make_issuer(self, name, path="/"):
        u = self.iam.create_user(UserName=name, Path=path)["User"]
        self.iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=ISSUER_POLICY)
        k = self.iam.create_access_key(UserName=name)["AccessKey"]
        return u, (k["AccessKeyId"], k["SecretAccessKey"])

    def drop_user(self, name, creds):
        self.iam.delete_access_key(UserName=name, AccessKeyId=creds[0])
        self.iam.delete_user_policy(UserName=name, PolicyName="p")
        self.iam.delete_user(UserName=name)

    def federated_kms(self, creds, name="Bob"):
        c, t = session_creds(self.k.client("sts", creds=creds).get_federation_token(Name=name, Policy=SESSION_POLICY))
        return self.k.client("kms", creds=c, session_token=t)

    def deny_principals(self, key):
        pol = json.loads(self.kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
        return [s["Principal"]["AWS"] for s in pol["Statement"] if s["Effect"] == "Deny"]

    def test_saved_deny_on_issuer_reaches_its_sessions(self):
        tok, tok_creds = self.make_issuer("token-app", "/apps/")
        _, other_creds = self.make_issuer("other-app")
        policy = doc(root_statement(), key_statement(tok["Arn"], "kms:*", effect="Deny"))
        key = self.kms.create_key(Policy=policy)["KeyMetadata"]["KeyId"]
        # saved as token-app's id, shown back as its ARN (path included)
        self.assertEqual(self.deny_principals(key), [tok["Arn"]])

        # attacker: token-app's federated users, whatever their names, are denied like token-app itself
        for name in ("Bob", "Eve"):
            with self.subTest(session=name):
                code, msg = error(self.federated_kms(tok_creds, name).encrypt, KeyId=key, Plaintext=b"x")
                self.assertEqual(code, "AccessDeniedException", msg)
        code, msg = error(self.k.client("kms", creds=tok_creds).encrypt, KeyId=key, Plaintext=b"x")
        self.assertEqual(code, "AccessDeniedException", msg)
        # the legitimate user: another issuer's federated user is served
        self.assertTrue(self.federated_kms(other_creds).encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"])

        # token-app deleted and created again is another user: the saved Deny names the old id only
        self.drop_user("token-app", tok_creds)
        self.assertTrue(self.deny_principals(key)[0].startswith("AIDA"))
        tok2, tok2_creds = self.make_issuer("token-app", "/apps/")
        self.assertNotEqual(tok2["UserId"], tok["UserId"])
        self.assertTrue(self.federated_kms(tok2_creds).encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"])
        # saving the policy again binds the new token-app, and its sessions are denied again
        self.kms.put_key_policy(KeyId=key, PolicyName="default", Policy=policy)
        code, msg = error(self.federated_kms(tok2_creds).encrypt, KeyId=key, Plaintext=b"x")
        self.assertEqual(code, "AccessDeniedException", msg)

    def test_allow_naming_issuer_grants_sessions_nothing(self):
        # an Allow naming the issuer (saved as its id) is no grant to its federated users: with no account
        # statement, the session has no key-policy permission (the issuer itself is served)
        iss, creds = self.make_issuer("grantor")
        key = self.kms.create_key(Policy=doc(key_statement(iss["Arn"], "kms:*"),
                                             key_statement("arn:aws:iam::%s:root" % ACCT, "kms:PutKeyPolicy")),
                                  BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["KeyId"]
        self.assertTrue(self.k.client("kms", creds=creds).encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"])
        code, msg = error(self.federated_kms(creds).encrypt, KeyId=key, Plaintext=b"x")
        self.assertEqual(code, "AccessDeniedException", msg)


if __name__ == "__main__":
    main()
