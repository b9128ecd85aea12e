"""KMS aliases and AWS managed keys end to end: CreateAlias, UpdateAlias,
DeleteAlias, ListAliases (all, by key, paginated), the reserved alias/aws/
prefix, and AWS managed keys created on first use of alias/aws/<service>."""
import json
import unittest


from kmsd_harness import KmsdTestCase, main

ACCOUNT = "000000000000"


class Aliases(KmsdTestCase):
    def test_create_update_delete(self):
        a = self.kms.create_key()["KeyMetadata"]
        b = self.kms.create_key()["KeyMetadata"]
        self.kms.create_alias(AliasName="alias/app", TargetKeyId=a["Arn"])
        self.assertEqual(self.kms.describe_key(KeyId="alias/app")["KeyMetadata"]["KeyId"], a["KeyId"])
        m = self.raises("AlreadyExistsException", self.kms.create_alias, AliasName="alias/app", TargetKeyId=b["KeyId"])
        self.assertEqual(m, "An alias with the name arn:aws:kms:us-east-1:%s:alias/app already exists" % ACCOUNT)
        blob = self.kms.encrypt(KeyId="alias/app", Plaintext=b"before update")["CiphertextBlob"]
        self.kms.update_alias(AliasName="alias/app", TargetKeyId=b["KeyId"])
        self.assertEqual(self.kms.describe_key(KeyId="alias/app")["KeyMetadata"]["KeyId"], b["KeyId"])
        # the blob still names key a
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob)["KeyId"], a["Arn"])
        self.raises("IncorrectKeyException", self.kms.decrypt, CiphertextBlob=blob, KeyId="alias/app")
        self.kms.delete_alias(AliasName="alias/app")
        m = self.raises("NotFoundException", self.kms.describe_key, KeyId="alias/app")
        self.assertEqual(m, "Alias arn:aws:kms:us-east-1:%s:alias/app is not found." % ACCOUNT)
        self.raises("NotFoundException", self.kms.delete_alias, AliasName="alias/app")
        self.raises("NotFoundException", self.kms.update_alias, AliasName="alias/app", TargetKeyId=a["KeyId"])
        # the key is unaffected
        self.assertEqual(self.kms.describe_key(KeyId=a["KeyId"])["KeyMetadata"]["KeyState"], "Enabled")

    def test_alias_validation(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        m = self.raises("ValidationException", self.kms.create_alias, AliasName="noprefix", TargetKeyId=kid)
        self.assertIn('Alias must start with the prefix "alias/"', m)
        m = self.raises("ValidationException", self.kms.create_alias, AliasName="alias/bad name", TargetKeyId=kid)
        self.assertIn("Value 'alias/bad name' at 'aliasName' failed to satisfy constraint: Member must satisfy regular "
                      "expression pattern: ^[a-zA-Z0-9:/_-]+$", m)
        self.raises("ValidationException", self.kms.create_alias, AliasName="alias/a:b", TargetKeyId=kid)
        for name in ("alias/aws/s3", "alias/aws/mine"):
            self.raises("NotAuthorizedException", self.kms.create_alias, AliasName=name, TargetKeyId=kid)
        self.raises("NotAuthorizedException", self.kms.delete_alias, AliasName="alias/aws/s3")
        self.raises("NotAuthorizedException", self.kms.update_alias, AliasName="alias/aws/s3", TargetKeyId=kid)
        # an alias cannot target an alias
        self.kms.create_alias(AliasName="alias/target", TargetKeyId=kid)
        self.raises("NotFoundException", self.kms.create_alias, AliasName="alias/chain", TargetKeyId="alias/target")
        self.raises("NotFoundException", self.kms.create_alias, AliasName="alias/ghost",
                    TargetKeyId="11111111-2222-4333-8444-555555555555")

    def test_list_aliases_paginated_and_by_key(self):
        region = "sa-east-1"
        kms = self.k.client("kms", region=region)
        k1 = kms.create_key()["KeyMetadata"]["KeyId"]
        k2 = kms.create_key()["KeyMetadata"]["KeyId"]
        names = ["alias/list-%02d" % i for i in range(17)]
        for i, n in enumerate(names):
            kms.create_alias(AliasName=n, TargetKeyId=k1 if i % 3 else k2)
        got, marker, pages = [], None, 0
        while True:
            r = kms.list_aliases(Limit=4, **({"Marker": marker} if marker else {}))
            pages += 1
            for e in r["Aliases"]:
                self.assertEqual(e["AliasArn"], "arn:aws:kms:%s:%s:%s" % (region, ACCOUNT, e["AliasName"]))
                if e["AliasName"].startswith("alias/aws/"):  # predefined: listed without a key (issue 12)
                    continue
                self.assertIn("CreationDate", e)
                self.assertIn("LastUpdatedDate", e)
            got += [e["AliasName"] for e in r["Aliases"] if not e["AliasName"].startswith("alias/aws/")]
            if not r["Truncated"]:
                break
            marker = r["NextMarker"]
        self.assertEqual(got, names)
        self.assertEqual(pages, 8)  # 17 aliases + the 12 predefined alias/aws/* ones, 4 a page
        by2 = kms.list_aliases(KeyId=k2)["Aliases"]
        self.assertEqual([e["AliasName"] for e in by2], [n for i, n in enumerate(names) if i % 3 == 0])
        self.assertTrue(all(e["TargetKeyId"] == k2 for e in by2))
        arn1 = "arn:aws:kms:%s:%s:key/%s" % (region, ACCOUNT, k1)
        got1, marker = [], None
        while True:
            r = kms.list_aliases(KeyId=arn1, Limit=3, **({"Marker": marker} if marker else {}))
            got1 += [e["AliasName"] for e in r["Aliases"]]
            if not r["Truncated"]:
                break
            marker = r["NextMarker"]
        self.assertEqual(got1, [n for i, n in enumerate(names) if i % 3])
        self.raises("NotFoundException", kms.list_aliases, KeyId="11111111-2222-4333-8444-555555555555")
        _, out, _ = self.k.cli("kms", "list-aliases", "--key-id", k2, region=region)
        self.assertEqual(len(out["Aliases"]), 6)

    def test_aws_managed_key(self):
        region = "us-west-1"
        kms = self.k.client("kms", region=region)
        # Created on first use; usable for cryptography only through its service (the key policy
        # requires kms:ViaService), so a direct call is refused as in AWS.
        m = self.raises("AccessDeniedException", kms.generate_data_key, KeyId="alias/aws/s3", KeySpec="AES_256")
        md = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
        self.assertIn(md["Arn"], m)
        self.assertEqual(md["KeyManager"], "AWS")
        self.assertIn("S3", md["Description"])
        # the same key on every later use, also through the alias ARN
        m = self.raises("AccessDeniedException", kms.encrypt,
                        KeyId="arn:aws:kms:%s:%s:alias/aws/s3" % (region, ACCOUNT), Plaintext=b"x")
        self.assertIn(md["Arn"], m)
        aliases = {a["AliasName"]: a for a in kms.list_aliases()["Aliases"]}
        self.assertEqual(aliases["alias/aws/s3"]["TargetKeyId"], md["KeyId"])
        rot = kms.get_key_rotation_status(KeyId=md["KeyId"])
        self.assertTrue(rot["KeyRotationEnabled"])
        self.assertEqual(rot["RotationPeriodInDays"], 365)
        pol = json.loads(kms.get_key_policy(KeyId=md["KeyId"])["Policy"])
        self.assertEqual(pol["Statement"][0]["Condition"]["StringEquals"]["kms:ViaService"],
                         "s3.%s.amazonaws.com" % region)
        # its policy, description, rotation and lifecycle are not the caller's to change
        for fn, kw in ((kms.update_key_description, {"Description": "mine"}),
                       (kms.disable_key_rotation, {}), (kms.enable_key_rotation, {}),
                       (kms.disable_key, {}), (kms.schedule_key_deletion, {"PendingWindowInDays": 7}),
                       (kms.tag_resource, {"Tags": [{"TagKey": "a", "TagValue": "b"}]}),
                       (kms.rotate_key_on_demand, {})):
            m = self.raises("AccessDeniedException", fn, KeyId=md["KeyId"], **kw)
            self.assertIn("is not authorized to perform: kms:", m)
            self.assertIn(md["Arn"], m)
        self.raises("AccessDeniedException", kms.create_alias, AliasName="alias/to-managed", TargetKeyId=md["KeyId"])
        # another service gets its own key; unknown services have no managed key
        ebs = kms.describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]
        self.assertNotEqual(ebs["KeyId"], md["KeyId"])
        self.raises("NotFoundException", kms.describe_key, KeyId="alias/aws/not-a-service")
        # AWS managed keys are per Region
        self.assertNotEqual(self.kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["KeyId"], md["KeyId"])


if __name__ == "__main__":
    main()
