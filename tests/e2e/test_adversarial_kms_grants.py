"""Grants under attack, each attacker's test beside the legitimate user's:
NUL bytes that once cut a constraint value short (issue 10.2), another
account listing this account's retirable grants (10.3), DryRun answering
before authorization and existence are checked (18.6), constraints on
grants that also allow DescribeKey/RetireGrant/CreateGrant and the
"equally strict or stricter" rule for grants made through a grant (18.7),
constraint keys compared without case, values with it (18.8), and
operations or grantees CreateGrant must refuse (18.9)."""
import json
import unittest

from authz_common import ACCT, error, make_user
from kmsd_harness import Kmsd, kmsctl, main

B = "222233334444"
B_ROOT = ("AKIAACCOUNTB00000009", "account-b-root-secret-0009")


class GrantAttacks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        rc, _, errout = kmsctl("access-key", "add", "--data-dir", cls.k.data_dir, "--id", B_ROOT[0],
                               "--secret", B_ROOT[1], "--account", B)
        assert rc == 0, errout
        cls.kms = cls.k.client("kms")
        cls.gina, cls.gina_creds = make_user(cls.k, "gina")
        cls.rita, cls.rita_creds = make_user(cls.k, "rita")
        cls.mallory, cls.mallory_creds = make_user(cls.k, "mallory")
        cls.gkms = cls.k.client("kms", creds=cls.gina_creds)
        cls.rkms = cls.k.client("kms", creds=cls.rita_creds)
        cls.mkms = cls.k.client("kms", creds=cls.mallory_creds)
        cls.bkms = cls.k.client("kms", creds=B_ROOT)
        cls.bob, cls.bob_creds = make_user(cls.k, "bob", creds=B_ROOT)

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def raw(self, op, payload, creds=None):
        st, _, body = self.k.send(*self.k.kms_raw(op, payload, creds=creds))
        j = json.loads(body) if body else {}
        return st, j.get("__type", ""), j.get("message", j.get("Message", "")), j

    # ---- 10.2: NUL bytes ------------------------------------------------------------------------

    def test_nul_in_context_cannot_satisfy_equals_constraint(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        self.kms.create_grant(KeyId=kid, GranteePrincipal=self.gina["Arn"], Operations=["Encrypt", "Decrypt"],
                              Constraints={"EncryptionContextEquals": {"app": "g"}})
        for ec in ({"app": "g\u0000EVIL"}, {"app": "g\u0000"}):
            st, code, msg, _ = self.raw("Encrypt", {"KeyId": kid, "Plaintext": "eA==", "EncryptionContext": ec},
                                        creds=self.gina_creds)
            self.assertEqual((st, code), (400, "ValidationException"), msg)
        # the owner is refused the same way: a NUL is never accepted in an encryption context
        st, code, _, _ = self.raw("Encrypt", {"KeyId": kid, "Plaintext": "eA==", "EncryptionContext":
                                              {"app": "g\u0000EVIL"}})
        self.assertEqual((st, code), (400, "ValidationException"))
        # the user: the exact context works through the grant
        blob = self.gkms.encrypt(KeyId=kid, Plaintext=b"x", EncryptionContext={"app": "g"})["CiphertextBlob"]
        self.assertEqual(self.gkms.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "g"})["Plaintext"], b"x")

    def test_nul_in_context_cannot_satisfy_subset_constraint(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        self.kms.create_grant(KeyId=kid, GranteePrincipal=self.gina["Arn"], Operations=["GenerateDataKey"],
                              Constraints={"EncryptionContextSubset": {"tenant": "acme"}})
        st, code, _, _ = self.raw("GenerateDataKey", {"KeyId": kid, "KeySpec": "AES_256", "EncryptionContext":
                                                      {"tenant": "acme\u0000other", "x": "1"}}, creds=self.gina_creds)
        self.assertEqual((st, code), (400, "ValidationException"))
        self.gkms.generate_data_key(KeyId=kid, KeySpec="AES_256", EncryptionContext={"tenant": "acme", "x": "1"})

    def test_nul_refused_in_constraints_names_tags_aliases_principals(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        base = {"KeyId": kid, "GranteePrincipal": self.gina["Arn"], "Operations": ["Decrypt"]}
        for extra in ({"Constraints": {"EncryptionContextEquals": {"app": "g\u0000"}}},
                      {"Constraints": {"EncryptionContextSubset": {"app": "\u0000"}}},
                      {"Name": "nightly\u0000x"},
                      {"Operations": ["Decrypt\u0000Sign"]},
                      {"GranteePrincipal": self.gina["Arn"] + "\u0000x"},
                      {"RetiringPrincipal": self.rita["Arn"] + "\u0000"}):
            st, code, msg, _ = self.raw("CreateGrant", dict(base, **extra))
            self.assertEqual((st, code), (400, "ValidationException"), (extra, msg))
        self.assertEqual(self.kms.list_grants(KeyId=kid)["Grants"], [])
        st, code, _, _ = self.raw("CreateAlias", {"AliasName": "alias/a\u0000b", "TargetKeyId": kid})
        self.assertEqual((st, code), (400, "ValidationException"))
        for tag in ({"TagKey": "k\u0000", "TagValue": "v"}, {"TagKey": "k", "TagValue": "v\u0000w"}):
            st, code, msg, _ = self.raw("TagResource", {"KeyId": kid, "Tags": [tag]})
            self.assertEqual((st, code, msg), (400, "TagException", "Invalid tag"))
        self.assertEqual(self.kms.list_resource_tags(KeyId=kid)["Tags"], [])
        # the user's ordinary values
        self.kms.tag_resource(KeyId=kid, Tags=[{"TagKey": "team", "TagValue": "a b_c.d:e/f=g+h-i@j"}])
        self.kms.create_alias(AliasName="alias/ok-nul-test", TargetKeyId=kid)
        self.kms.create_grant(KeyId=kid, GranteePrincipal=self.gina["Arn"], Operations=["Decrypt"], Name="nightly",
                              Constraints={"EncryptionContextEquals": {"app": "g"}})

    def test_nul_suffixed_grant_id_names_no_grant(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        g = self.kms.create_grant(KeyId=kid, GranteePrincipal=self.gina["Arn"], RetiringPrincipal=self.rita["Arn"],
                                  Operations=["Decrypt"])
        for op, creds in (("RevokeGrant", None), ("RetireGrant", self.rita_creds)):
            st, code, _, _ = self.raw(op, {"KeyId": kid, "GrantId": g["GrantId"] + "\u0000x"}, creds=creds)
            self.assertEqual((st, code), (400, "NotFoundException"), op)
        self.assertEqual([x["GrantId"] for x in self.kms.list_grants(KeyId=kid)["Grants"]], [g["GrantId"]])
        self.kms.revoke_grant(KeyId=kid, GrantId=g["GrantId"])
        self.assertEqual(self.kms.list_grants(KeyId=kid)["Grants"], [])

    def test_grant_token_for_another_key_grants_nothing(self):
        ka = self.kms.create_key()["KeyMetadata"]["KeyId"]
        kb = self.kms.create_key()["KeyMetadata"]["KeyId"]
        g = self.kms.create_grant(KeyId=ka, GranteePrincipal=self.gina["Arn"], Operations=["Encrypt"])
        code, _ = error(self.gkms.encrypt, KeyId=kb, Plaintext=b"x", GrantTokens=[g["GrantToken"]])
        self.assertEqual(code, "AccessDeniedException")
        self.gkms.encrypt(KeyId=ka, Plaintext=b"x", GrantTokens=[g["GrantToken"]])

    # ---- 10.3: ListRetirableGrants across accounts ------------------------------------------------

    def test_other_account_cannot_list_our_retirable_grants(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        g = self.kms.create_grant(KeyId=kid, GranteePrincipal=self.gina["Arn"], RetiringPrincipal=self.rita["Arn"],
                                  Operations=["Decrypt"], Constraints={"EncryptionContextEquals": {"secret": "s"}})
        for victim in (self.rita["Arn"], "arn:aws:iam::%s:root" % ACCT, ACCT):
            code, msg = error(self.bkms.list_retirable_grants, RetiringPrincipal=victim)
            self.assertEqual(code, "AccessDeniedException", victim)
        # the owner's own listing still works
        ids = [x["GrantId"] for x in self.kms.list_retirable_grants(RetiringPrincipal=self.rita["Arn"])["Grants"]]
        self.assertIn(g["GrantId"], ids)

    def test_list_retirable_is_authorized_on_the_retiring_principal(self):
        # "The authorized resource in ListRetirableGrants calls is the retiring principal specified in the request."
        from authz_common import allow, doc
        _, creds = make_user(self.k, "auditor", doc(allow("kms:ListRetirableGrants", self.rita["Arn"])))
        akms = self.k.client("kms", creds=creds)
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        g = self.kms.create_grant(KeyId=kid, GranteePrincipal=self.gina["Arn"], RetiringPrincipal=self.rita["Arn"],
                                  Operations=["Decrypt"])
        self.assertIn(g["GrantId"], [x["GrantId"] for x in akms.list_retirable_grants(
            RetiringPrincipal=self.rita["Arn"])["Grants"]])
        code, msg = error(akms.list_retirable_grants, RetiringPrincipal=self.gina["Arn"])
        self.assertEqual(code, "AccessDeniedException")
        self.assertIn("on resource: %s" % self.gina["Arn"], msg)

    def test_grants_on_other_accounts_keys_listed_for_our_principal(self):
        # A's key, retiring principal in account B: B lists it (AWS: "can include grants on KMS keys owned by
        # other AWS accounts"); A's principals' grants never show for B's principals.
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        g = self.kms.create_grant(KeyId=kid, GranteePrincipal=self.gina["Arn"], RetiringPrincipal=self.bob["Arn"],
                                  Operations=["Encrypt"])
        other = self.kms.create_grant(KeyId=kid, GranteePrincipal=self.gina["Arn"],
                                      RetiringPrincipal=self.rita["Arn"], Operations=["Encrypt"])
        got = self.bkms.list_retirable_grants(RetiringPrincipal=self.bob["Arn"])["Grants"]
        self.assertEqual([x["GrantId"] for x in got], [g["GrantId"]])
        self.assertEqual(got[0]["KeyId"], "arn:aws:kms:us-east-1:%s:key/%s" % (ACCT, kid))
        self.assertNotIn(other["GrantId"], [x["GrantId"] for x in got])
        # retired: gone from the index
        self.k.client("kms", creds=self.bob_creds).retire_grant(KeyId="arn:aws:kms:us-east-1:%s:key/%s" % (ACCT, kid),
                                                                 GrantId=g["GrantId"])
        self.assertEqual(self.bkms.list_retirable_grants(RetiringPrincipal=self.bob["Arn"])["Grants"], [])

    def test_retirable_listing_pages_and_follows_revoke(self):
        _, carl_creds = make_user(self.k, "carl")
        carl = "arn:aws:iam::%s:user/carl" % ACCT
        kids = [self.kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(3)]
        made = []
        for kid in kids:
            for _ in range(2):
                made.append(self.kms.create_grant(KeyId=kid, GranteePrincipal=self.gina["Arn"],
                                                  RetiringPrincipal=carl, Operations=["Decrypt"])["GrantId"])
        seen, marker = [], None
        while True:
            kw = {"RetiringPrincipal": carl, "Limit": 4}
            if marker:
                kw["Marker"] = marker
            r = self.kms.list_retirable_grants(**kw)
            self.assertLessEqual(len(r["Grants"]), 4)
            seen += [x["GrantId"] for x in r["Grants"]]
            if not r["Truncated"]:
                break
            marker = r["NextMarker"]
        self.assertEqual(sorted(seen), sorted(made))
        self.kms.revoke_grant(KeyId=kids[0], GrantId=made[0])
        left = [x["GrantId"] for x in self.kms.list_retirable_grants(RetiringPrincipal=carl)["Grants"]]
        self.assertNotIn(made[0], left)
        self.assertIn(made[1], left)
        # a marker made for another principal's listing is refused
        st, code, _, _ = self.raw("ListRetirableGrants", {"RetiringPrincipal": self.rita["Arn"], "Marker": marker})
        self.assertEqual((st, code), (400, "InvalidMarkerException"))

    # ---- 18.6: DryRun checks authorization and existence first ----------------------------------

    def test_dry_run_retire_checks_authorization_and_existence(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        g = self.kms.create_grant(KeyId=kid, GranteePrincipal=self.gina["Arn"], RetiringPrincipal=self.rita["Arn"],
                                  Operations=["Decrypt"])
        # mallory is neither retiring principal nor grantee
        code, _ = error(self.mkms.retire_grant, GrantToken=g["GrantToken"], DryRun=True)
        self.assertEqual(code, "AccessDeniedException")
        code, _ = error(self.rkms.retire_grant, KeyId=kid, GrantId="0" * 64, DryRun=True)
        self.assertEqual(code, "NotFoundException")
        # the retiring principal: DryRunOperationException, and the grant is still there
        code, _ = error(self.rkms.retire_grant, GrantToken=g["GrantToken"], DryRun=True)
        self.assertEqual(code, "DryRunOperationException")
        self.assertEqual(len(self.kms.list_grants(KeyId=kid)["Grants"]), 1)

    def test_dry_run_revoke_checks_existence(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        g = self.kms.create_grant(KeyId=kid, GranteePrincipal=self.gina["Arn"], Operations=["Decrypt"])
        code, msg = error(self.kms.revoke_grant, KeyId=kid, GrantId="f" * 64, DryRun=True)
        self.assertEqual(code, "NotFoundException", msg)
        code, _ = error(self.mkms.revoke_grant, KeyId=kid, GrantId=g["GrantId"], DryRun=True)
        self.assertEqual(code, "AccessDeniedException")
        code, _ = error(self.kms.revoke_grant, KeyId=kid, GrantId=g["GrantId"], DryRun=True)
        self.assertEqual(code, "DryRunOperationException")
        self.assertEqual(len(self.kms.list_grants(KeyId=kid)["Grants"]), 1)

    # ---- 18.7: constraints with DescribeKey / RetireGrant / CreateGrant -------------------------

    def test_constraints_allowed_with_describe_retire_create_grant(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        g = self.kms.create_grant(KeyId=kid, GranteePrincipal=self.gina["Arn"],
                                  Operations=["Decrypt", "Encrypt", "DescribeKey", "RetireGrant", "CreateGrant"],
                                  Constraints={"EncryptionContextSubset": {"tenant": "acme"}})
        # "the constraint doesn't apply to these operations"
        self.assertEqual(self.gkms.describe_key(KeyId=kid)["KeyMetadata"]["KeyId"], kid)
        self.gkms.encrypt(KeyId=kid, Plaintext=b"x", EncryptionContext={"tenant": "acme"})
        self.assertEqual(error(self.gkms.encrypt, KeyId=kid, Plaintext=b"x")[0], "AccessDeniedException")
        # grants through the grant: "equally strict or stricter"
        code, _ = error(self.gkms.create_grant, KeyId=kid, GranteePrincipal=self.rita["Arn"], Operations=["Decrypt"])
        self.assertEqual(code, "AccessDeniedException")
        code, _ = error(self.gkms.create_grant, KeyId=kid, GranteePrincipal=self.rita["Arn"], Operations=["Decrypt"],
                        Constraints={"EncryptionContextSubset": {"other": "x"}})
        self.assertEqual(code, "AccessDeniedException")
        code, _ = error(self.gkms.create_grant, KeyId=kid, GranteePrincipal=self.rita["Arn"], Operations=["Decrypt"],
                        Constraints={"EncryptionContextSubset": {"tenant": "ACME"}})
        self.assertEqual(code, "AccessDeniedException")
        # wider operations than the parent grant
        code, _ = error(self.gkms.create_grant, KeyId=kid, GranteePrincipal=self.rita["Arn"],
                        Operations=["GenerateDataKey"], Constraints={"EncryptionContextSubset": {"tenant": "acme"}})
        self.assertEqual(code, "AccessDeniedException")
        # the user: as strict (key case may differ) or stricter
        self.gkms.create_grant(KeyId=kid, GranteePrincipal=self.rita["Arn"], Operations=["Decrypt"],
                               Constraints={"EncryptionContextSubset": {"Tenant": "acme", "env": "prod"}})
        self.gkms.create_grant(KeyId=kid, GranteePrincipal=self.rita["Arn"], Operations=["Decrypt"],
                               Constraints={"EncryptionContextEquals": {"tenant": "acme"}})
        self.gkms.retire_grant(GrantToken=g["GrantToken"])

    def test_constraints_still_refused_with_operations_without_context(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        code, _ = error(self.kms.create_grant, KeyId=kid, GranteePrincipal=self.gina["Arn"],
                        Operations=["Decrypt", "GetPublicKey"],
                        Constraints={"EncryptionContextSubset": {"tenant": "acme"}})
        self.assertEqual(code, "ValidationException")

    # ---- 18.8: constraint keys without case, values with case -----------------------------------

    def test_constraint_keys_ignore_case_values_do_not(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        self.kms.create_grant(KeyId=kid, GranteePrincipal=self.gina["Arn"], Operations=["Encrypt"],
                              Constraints={"EncryptionContextSubset": {"Tenant": "acme"}})
        self.assertEqual(error(self.gkms.encrypt, KeyId=kid, Plaintext=b"x", EncryptionContext={"tenant": "ACME"})[0],
                         "AccessDeniedException")
        self.assertEqual(error(self.gkms.encrypt, KeyId=kid, Plaintext=b"x", EncryptionContext={"tenant2": "acme"})[0],
                         "AccessDeniedException")
        self.gkms.encrypt(KeyId=kid, Plaintext=b"x", EncryptionContext={"tenant": "acme"})
        self.gkms.encrypt(KeyId=kid, Plaintext=b"x", EncryptionContext={"TENANT": "acme", "more": "1"})
        kid2 = self.kms.create_key()["KeyMetadata"]["KeyId"]
        self.kms.create_grant(KeyId=kid2, GranteePrincipal=self.gina["Arn"], Operations=["Encrypt"],
                              Constraints={"EncryptionContextEquals": {"App": "g"}})
        self.assertEqual(error(self.gkms.encrypt, KeyId=kid2, Plaintext=b"x", EncryptionContext={"app": "G"})[0],
                         "AccessDeniedException")
        self.assertEqual(error(self.gkms.encrypt, KeyId=kid2, Plaintext=b"x",
                               EncryptionContext={"app": "g", "b": "1"})[0], "AccessDeniedException")
        self.gkms.encrypt(KeyId=kid2, Plaintext=b"x", EncryptionContext={"app": "g"})

    # ---- 18.9: operations and grantees CreateGrant refuses --------------------------------------

    def test_create_grant_refuses_operations_that_do_not_fit_the_key(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        for ops in (["Sign"], ["Decrypt", "GenerateMac"], ["Verify"], ["VerifyMac"], ["GetPublicKey"],
                    ["DeriveSharedSecret"]):
            st, code, msg, _ = self.raw("CreateGrant", {"KeyId": kid, "GranteePrincipal": self.gina["Arn"],
                                                        "Operations": ops})
            self.assertEqual((st, code), (400, "ValidationException"), ops)
            self.assertIn(ops[-1], msg)
        # also under DryRun (the answer must not depend on it)
        st, code, _, _ = self.raw("CreateGrant", {"KeyId": kid, "GranteePrincipal": self.gina["Arn"],
                                                  "Operations": ["Sign"], "DryRun": True})
        self.assertEqual((st, code), (400, "ValidationException"))
        self.assertEqual(self.kms.list_grants(KeyId=kid)["Grants"], [])
        self.kms.create_grant(KeyId=kid, GranteePrincipal=self.gina["Arn"],
                              Operations=["Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
                                          "ReEncryptFrom", "ReEncryptTo", "DescribeKey", "RetireGrant",
                                          "CreateGrant"])

    def test_create_grant_refuses_only_create_grant(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        st, code, msg, _ = self.raw("CreateGrant", {"KeyId": kid, "GranteePrincipal": self.gina["Arn"],
                                                    "Operations": ["CreateGrant"]})
        self.assertEqual((st, code, msg), (400, "ValidationException",
                                           "Grants must not contain only the CreateGrant operation."))
        self.kms.create_grant(KeyId=kid, GranteePrincipal=self.gina["Arn"], Operations=["CreateGrant", "Decrypt"])

    def test_create_grant_refuses_invalid_grantee(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        st, code, msg, _ = self.raw("CreateGrant", {"KeyId": kid, "GranteePrincipal": "*", "Operations": ["Decrypt"]})
        self.assertEqual((st, code), (400, "ValidationException"))
        self.assertEqual(msg, "1 validation error detected: Value '*' at 'granteePrincipal' failed to satisfy "
                              "constraint: Member must satisfy regular expression pattern: ^[\\w+=,.@:/-]+$")
        for bad in ("not-an-arn", "arn:aws:iam::12:user/x", "arn:aws:s3:::bucket", "arn:aws:iam::%s:group/g" % ACCT):
            st, code, msg, _ = self.raw("CreateGrant", {"KeyId": kid, "GranteePrincipal": bad,
                                                        "Operations": ["Decrypt"]})
            self.assertEqual((st, code), (400, "ValidationException"), bad)
        st, code, _, _ = self.raw("CreateGrant", {"KeyId": kid, "GranteePrincipal": self.gina["Arn"],
                                                  "RetiringPrincipal": "*", "Operations": ["Decrypt"]})
        self.assertEqual((st, code), (400, "ValidationException"))
        self.assertEqual(self.kms.list_grants(KeyId=kid)["Grants"], [])
        for good in (self.gina["Arn"], "arn:aws:iam::%s:root" % B, "arn:aws:iam::%s:role/app" % ACCT,
                     "arn:aws:sts::%s:assumed-role/app/s1" % ACCT, "arn:aws:iam::%s:user/path/to/u" % ACCT):
            self.kms.create_grant(KeyId=kid, GranteePrincipal=good, Operations=["Decrypt"])


if __name__ == "__main__":
    main()
