"""Grants: CreateGrant with an EncryptionContextSubset constraint used at
once via its grant token, then retired; ListGrants, ListRetirableGrants,
RevokeGrant, Name idempotency, only the granted operations, and tokens that
were not issued here are refused."""
import unittest

from authz_common import ACCT, doc, error, key_statement, make_user, root_statement
from kmsd_harness import Kmsd, main


class Grants(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        cls.kms = cls.k.client("kms")
        cls.gina, cls.gina_creds = make_user(cls.k, "gina")      # grantee, no policies at all
        cls.rita, cls.rita_creds = make_user(cls.k, "rita")      # retiring principal
        cls.gkms = cls.k.client("kms", creds=cls.gina_creds)
        cls.rkms = cls.k.client("kms", creds=cls.rita_creds)

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def test_subset_constraint_token_then_retire(self):
        key = self.kms.create_key()["KeyMetadata"]
        kid = key["KeyId"]
        ec = {"tenant": "acme", "purpose": "backup"}
        blob = self.kms.encrypt(KeyId=kid, Plaintext=b"data", EncryptionContext=ec)["CiphertextBlob"]
        self.assertEqual(error(self.gkms.decrypt, CiphertextBlob=blob, EncryptionContext=ec)[0],
                         "AccessDeniedException")
        g = self.kms.create_grant(KeyId=kid, GranteePrincipal=self.gina["Arn"], RetiringPrincipal=self.rita["Arn"],
                                  Operations=["Decrypt", "GenerateDataKey"],
                                  Constraints={"EncryptionContextSubset": {"tenant": "acme"}})
        tok = g["GrantToken"]
        self.assertEqual(len(g["GrantId"]), 64)
        # immediately, with the token
        self.assertEqual(self.gkms.decrypt(CiphertextBlob=blob, EncryptionContext=ec, GrantTokens=[tok])["Plaintext"],
                         b"data")
        self.gkms.generate_data_key(KeyId=key["Arn"], KeySpec="AES_256", EncryptionContext={"tenant": "acme"},
                                    GrantTokens=[tok])
        # the constraint holds: a context without tenant=acme is refused
        self.assertEqual(error(self.gkms.generate_data_key, KeyId=kid, KeySpec="AES_256",
                               EncryptionContext={"tenant": "other"})[0], "AccessDeniedException")
        self.assertEqual(error(self.gkms.generate_data_key, KeyId=kid, KeySpec="AES_256")[0], "AccessDeniedException")
        # only the granted operations
        code, msg = error(self.gkms.encrypt, KeyId=kid, Plaintext=b"x", EncryptionContext={"tenant": "acme"})
        self.assertEqual(code, "AccessDeniedException")
        self.assertIn("kms:Encrypt", msg)
        # a forged or altered token is refused
        bad = tok[:-6] + ("AAAAAA" if not tok.endswith("AAAAAA") else "BBBBBB")
        self.assertEqual(error(self.gkms.decrypt, CiphertextBlob=blob, EncryptionContext=ec, GrantTokens=[bad])[0],
                         "InvalidGrantTokenException")
        # listed for the key and for the retiring principal
        grants = self.kms.list_grants(KeyId=kid)["Grants"]
        self.assertEqual([x["GrantId"] for x in grants], [g["GrantId"]])
        self.assertEqual(grants[0]["GranteePrincipal"], self.gina["Arn"])
        self.assertEqual(grants[0]["Constraints"], {"EncryptionContextSubset": {"tenant": "acme"}})
        self.assertEqual(grants[0]["IssuingAccount"], "arn:aws:iam::%s:root" % ACCT)
        self.assertEqual(sorted(grants[0]["Operations"]), ["Decrypt", "GenerateDataKey"])
        ret = self.kms.list_retirable_grants(RetiringPrincipal=self.rita["Arn"])["Grants"]
        self.assertIn(g["GrantId"], [x["GrantId"] for x in ret])
        # the grantee cannot retire it (RetireGrant is not among its operations); the retiring principal can
        self.assertEqual(error(self.gkms.retire_grant, GrantToken=tok)[0], "AccessDeniedException")
        self.rkms.retire_grant(GrantToken=tok)
        self.assertEqual(error(self.gkms.decrypt, CiphertextBlob=blob, EncryptionContext=ec, GrantTokens=[tok])[0],
                         "AccessDeniedException")
        self.assertEqual(self.kms.list_grants(KeyId=kid)["Grants"], [])
        self.assertEqual(error(self.rkms.retire_grant, GrantToken=tok)[0], "NotFoundException")

    def test_equals_constraint_name_idempotency_revoke(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        args = dict(KeyId=kid, GranteePrincipal=self.gina["Arn"], Operations=["Encrypt", "Decrypt"],
                    Constraints={"EncryptionContextEquals": {"a": "1"}}, Name="nightly")
        g1 = self.kms.create_grant(**args)
        g2 = self.kms.create_grant(**args)
        self.assertEqual(g1["GrantId"], g2["GrantId"])
        blob = self.gkms.encrypt(KeyId=kid, Plaintext=b"x", EncryptionContext={"a": "1"})["CiphertextBlob"]
        self.assertEqual(error(self.gkms.encrypt, KeyId=kid, Plaintext=b"x",
                               EncryptionContext={"a": "1", "b": "2"})[0], "AccessDeniedException")
        self.gkms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "1"})
        # the grantee cannot revoke (needs kms:RevokeGrant by policy); the administrator can
        self.assertEqual(error(self.gkms.revoke_grant, KeyId=kid, GrantId=g1["GrantId"])[0], "AccessDeniedException")
        self.kms.revoke_grant(KeyId=kid, GrantId=g1["GrantId"])
        self.assertEqual(error(self.gkms.decrypt, CiphertextBlob=blob, EncryptionContext={"a": "1"})[0],
                         "AccessDeniedException")
        self.assertEqual(error(self.kms.revoke_grant, KeyId=kid, GrantId=g1["GrantId"])[0], "NotFoundException")
        # the grantee may retire a grant that includes RetireGrant, by key and grant id
        g3 = self.kms.create_grant(KeyId=kid, GranteePrincipal=self.gina["Arn"], Operations=["RetireGrant", "DescribeKey"])
        self.gkms.describe_key(KeyId=kid)
        self.gkms.retire_grant(KeyId=kid, GrantId=g3["GrantId"])
        self.assertEqual(error(self.gkms.describe_key, KeyId=kid)[0], "AccessDeniedException")

    def test_validation_and_policy_conditions(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        # constraints may sit beside DescribeKey (issue 18.7), not beside an operation without a context
        self.assertEqual(error(self.kms.create_grant, KeyId=kid, GranteePrincipal=self.gina["Arn"],
                               Operations=["DescribeKey", "GetPublicKey"],
                               Constraints={"EncryptionContextSubset": {"a": "b"}})[0], "ValidationException")
        self.assertEqual(error(self.kms.retire_grant, GrantToken="bm90LWEtdG9rZW4=")[0], "InvalidGrantTokenException")
        # kms:GrantOperations / kms:GranteePrincipal in a key policy limit who may grant what
        pol = doc(root_statement(),
                  key_statement(self.rita["Arn"], "kms:CreateGrant", condition={
                      "ForAllValues:StringEquals": {"kms:GrantOperations": ["Decrypt"]},
                      "StringEquals": {"kms:GranteePrincipal": self.gina["Arn"]},
                      "Bool": {"kms:GrantIsForAWSResource": "false"}}))
        kid2 = self.kms.create_key(Policy=pol)["KeyMetadata"]["KeyId"]
        self.rkms.create_grant(KeyId=kid2, GranteePrincipal=self.gina["Arn"], Operations=["Decrypt"])
        self.assertEqual(error(self.rkms.create_grant, KeyId=kid2, GranteePrincipal=self.gina["Arn"],
                               Operations=["Decrypt", "Encrypt"])[0], "AccessDeniedException")
        self.assertEqual(error(self.rkms.create_grant, KeyId=kid2, GranteePrincipal=self.rita["Arn"],
                               Operations=["Decrypt"])[0], "AccessDeniedException")
        # and with the aws CLI
        rc, out, _ = self.k.cli("kms", "list-grants", "--key-id", kid2)
        self.assertEqual(len(out["Grants"]), 1)


if __name__ == "__main__":
    main()
