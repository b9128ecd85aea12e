"""KMS key lifecycle end to end: CreateKey, DescribeKey (every identifier
form), ListKeys pagination, EnableKey/DisableKey, UpdateKeyDescription,
tags (TagResource, UntagResource, ListResourceTags) and their validation,
with boto3 and the aws CLI against a started kmsd."""
import json
import unittest


from kmsd_harness import KmsdTestCase, main

ACCOUNT = "000000000000"


class Keys(KmsdTestCase):
    def test_create_key_metadata(self):
        md = self.kms.create_key(Description="first key")["KeyMetadata"]
        kid = md["KeyId"]
        self.assertRegex(kid, r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        self.assertEqual(md["Arn"], "arn:aws:kms:us-east-1:%s:key/%s" % (ACCOUNT, kid))
        expect = {"AWSAccountId": ACCOUNT, "Enabled": True, "Description": "first key", "KeyUsage": "ENCRYPT_DECRYPT",
                  "KeyState": "Enabled", "Origin": "AWS_KMS", "KeyManager": "CUSTOMER",
                  "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT", "KeySpec": "SYMMETRIC_DEFAULT",
                  "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"], "MultiRegion": False}
        for f, v in expect.items():
            self.assertEqual(md[f], v, f)
        self.assertIn("CreationDate", md)
        self.assertRegex(md["CurrentKeyMaterialId"], r"^[0-9a-f]{64}$")
        self.assertNotIn("DeletionDate", md)
        self.assertEqual(self.kms.describe_key(KeyId=kid)["KeyMetadata"], md)
        # defaults: empty description, default key policy naming the account root
        md2 = self.kms.create_key()["KeyMetadata"]
        self.assertEqual(md2["Description"], "")
        pol = json.loads(self.kms.get_key_policy(KeyId=md2["KeyId"], PolicyName="default")["Policy"])
        self.assertEqual(pol["Statement"][0]["Principal"]["AWS"], "arn:aws:iam::%s:root" % ACCOUNT)
        self.assertEqual(pol["Statement"][0]["Action"], "kms:*")

    def test_create_key_parameters(self):
        md = self.kms.create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT", Origin="AWS_KMS",
                                 MultiRegion=False, BypassPolicyLockoutSafetyCheck=False)["KeyMetadata"]
        self.assertEqual(md["KeyState"], "Enabled")
        md = self.kms.create_key(CustomerMasterKeySpec="SYMMETRIC_DEFAULT")["KeyMetadata"]
        self.assertEqual(md["KeySpec"], "SYMMETRIC_DEFAULT")
        policy = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:root" % ACCOUNT}, "Action": "kms:*",
             "Resource": "*"}]})
        kid = self.kms.create_key(Policy=policy)["KeyMetadata"]["KeyId"]
        self.assertEqual(self.kms.get_key_policy(KeyId=kid)["Policy"], policy)
        self.raises("MalformedPolicyDocumentException", self.kms.create_key, Policy="{not json")
        self.raises("UnsupportedOperationException", self.kms.create_key, KeySpec="SM2", KeyUsage="SIGN_VERIFY")
        # multi-Region keys are served (test_kms_multi_region.py), but not in a custom key store
        self.raises("UnsupportedOperationException", self.kms.create_key, MultiRegion=True, Origin="AWS_CLOUDHSM")
        # Origin EXTERNAL is served since issue 12 (test_kms_import.py); custom key store origins are not
        self.raises("UnsupportedOperationException", self.kms.create_key, Origin="AWS_CLOUDHSM")
        self.raises("ValidationException", self.kms.create_key, KeyUsage="SIGN_VERIFY")
        m = self.raises("ValidationException", self.kms.create_key, KeySpec="AES_256")
        self.assertIn("1 validation error detected: Value 'AES_256' at 'keySpec' failed to satisfy constraint: "
                      "Member must satisfy enum value set: [RSA_2048", m)
        m = self.raises("ValidationException", self.kms.create_key, Description="d" * 8193)
        self.assertIn("at 'description' failed to satisfy constraint: Member must have length less than or equal "
                      "to 8192", m)
        self.raises("TagException", self.kms.create_key, Tags=[{"TagKey": "aws:x", "TagValue": "y"}])
        # wrong JSON types are SerializationException; unknown members are ignored
        st, _, body = self.k.send(*self.k.kms_raw("CreateKey", {"Description": 5}))
        self.assertEqual((st, json.loads(body)["__type"]), (400, "SerializationException"))
        st, _, body = self.k.send(*self.k.kms_raw("CreateKey", {"NoSuchMember": 1, "Description": "x"}))
        self.assertEqual(st, 200, body)

    def test_describe_key_identifier_forms(self):
        md = self.kms.create_key()["KeyMetadata"]
        kid, arn = md["KeyId"], md["Arn"]
        self.kms.create_alias(AliasName="alias/describe-forms", TargetKeyId=kid)
        alias_arn = "arn:aws:kms:us-east-1:%s:alias/describe-forms" % ACCOUNT
        for ident in (kid, arn, "alias/describe-forms", alias_arn):
            self.assertEqual(self.kms.describe_key(KeyId=ident)["KeyMetadata"]["KeyId"], kid, ident)
        missing = "11111111-2222-4333-8444-555555555555"
        m = self.raises("NotFoundException", self.kms.describe_key, KeyId=missing)
        self.assertEqual(m, "Key 'arn:aws:kms:us-east-1:%s:key/%s' does not exist" % (ACCOUNT, missing))
        m = self.raises("NotFoundException", self.kms.describe_key, KeyId="alias/nope")
        self.assertEqual(m, "Alias arn:aws:kms:us-east-1:%s:alias/nope is not found." % ACCOUNT)
        m = self.raises("NotFoundException", self.kms.describe_key, KeyId="not-a-key")
        self.assertEqual(m, "Invalid keyId 'not-a-key'")
        # botocore refuses these client-side, so send them raw
        code, m = self.raw("DescribeKey", {"KeyId": ""})
        self.assertEqual(code, "ValidationException")
        self.assertIn("at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1", m)
        code, m = self.raw("DescribeKey", {})
        self.assertEqual((code, m), ("ValidationException", "1 validation error detected: Value null at 'keyId' "
                                     "failed to satisfy constraint: Member must not be null"))
        # key ids only for management operations: an alias is not accepted
        self.raises("NotFoundException", self.kms.enable_key, KeyId="alias/describe-forms")
        self.kms.enable_key(KeyId=arn)
        # other region: the same key id does not exist there
        other = self.k.client("kms", region="eu-west-1")
        self.raises("NotFoundException", other.describe_key, KeyId=kid)
        self.raises("NotFoundException", other.describe_key, KeyId=arn)

    def test_list_keys_pagination(self):
        other = self.k.client("kms", region="ap-south-1")
        made = {other.create_key()["KeyMetadata"]["KeyId"] for _ in range(23)}
        seen, marker, pages = [], None, 0
        while True:
            kw = {"Limit": 5}
            if marker:
                kw["Marker"] = marker
            r = other.list_keys(**kw)
            pages += 1
            self.assertLessEqual(len(r["Keys"]), 5)
            for e in r["Keys"]:
                self.assertEqual(e["KeyArn"], "arn:aws:kms:ap-south-1:%s:key/%s" % (ACCOUNT, e["KeyId"]))
            seen += [e["KeyId"] for e in r["Keys"]]
            if not r["Truncated"]:
                self.assertNotIn("NextMarker", r)
                break
            marker = r["NextMarker"]
        self.assertEqual(pages, 5)
        self.assertEqual(set(seen), made)
        self.assertEqual(len(seen), len(made))
        # the paginator and the CLI walk the same keys
        got = [k["KeyId"] for p in other.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 4})
               for k in p["Keys"]]
        self.assertEqual(sorted(got), sorted(made))
        _, out, _ = self.k.cli("kms", "list-keys", "--page-size", "3", region="ap-south-1")
        self.assertEqual(sorted(k["KeyId"] for k in out["Keys"]), sorted(made))
        m = self.raises("ValidationException", other.list_keys, Limit=1001)
        self.assertIn("Value '1001' at 'limit' failed to satisfy constraint: Member must have value less than or "
                      "equal to 1000", m)
        self.assertEqual(self.raw("ListKeys", {"Limit": 0})[0], "ValidationException")
        self.assertEqual(self.raw("ListKeys", {"Limit": "5"})[0], "SerializationException")

    def test_enable_disable_update_description(self):
        kid = self.kms.create_key(Description="before")["KeyMetadata"]["KeyId"]
        self.kms.disable_key(KeyId=kid)
        md = self.kms.describe_key(KeyId=kid)["KeyMetadata"]
        self.assertEqual((md["KeyState"], md["Enabled"]), ("Disabled", False))
        self.kms.disable_key(KeyId=kid)  # idempotent
        self.kms.enable_key(KeyId=kid)
        md = self.kms.describe_key(KeyId=kid)["KeyMetadata"]
        self.assertEqual((md["KeyState"], md["Enabled"]), ("Enabled", True))
        self.kms.update_key_description(KeyId=kid, Description="after")
        self.assertEqual(self.kms.describe_key(KeyId=kid)["KeyMetadata"]["Description"], "after")
        self.kms.update_key_description(KeyId=kid, Description="")
        self.assertEqual(self.kms.describe_key(KeyId=kid)["KeyMetadata"]["Description"], "")
        self.raises("ValidationException", self.kms.update_key_description, KeyId=kid, Description="x" * 8193)

    def test_tags(self):
        kid = self.kms.create_key(Tags=[{"TagKey": "team", "TagValue": "a"}])["KeyMetadata"]["KeyId"]
        self.kms.tag_resource(KeyId=kid, Tags=[{"TagKey": "env", "TagValue": "prod"},
                                               {"TagKey": "team", "TagValue": "b"},
                                               {"TagKey": "empty", "TagValue": ""}])
        tags = self.kms.list_resource_tags(KeyId=kid)
        self.assertEqual(tags["Tags"], [{"TagKey": "empty", "TagValue": ""}, {"TagKey": "env", "TagValue": "prod"},
                                        {"TagKey": "team", "TagValue": "b"}])
        self.assertFalse(tags["Truncated"])
        self.kms.untag_resource(KeyId=kid, TagKeys=["env", "absent"])
        self.assertEqual([t["TagKey"] for t in self.kms.list_resource_tags(KeyId=kid)["Tags"]], ["empty", "team"])
        # limits and validation
        m = self.raises("ValidationException", self.kms.tag_resource, KeyId=kid,
                        Tags=[{"TagKey": "k" * 129, "TagValue": "v"}])
        self.assertIn("at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less than or "
                      "equal to 128", m)
        m = self.raises("ValidationException", self.kms.tag_resource, KeyId=kid,
                        Tags=[{"TagKey": "ok", "TagValue": "v"}, {"TagKey": "k", "TagValue": "v" * 257}])
        self.assertIn("at 'tags.2.member.tagValue'", m)
        self.raises("TagException", self.kms.tag_resource, KeyId=kid, Tags=[{"TagKey": "aws:reserved", "TagValue": "v"}])
        self.raises("TagException", self.kms.tag_resource, KeyId=kid,
                    Tags=[{"TagKey": "t%02d" % i, "TagValue": "v"} for i in range(50)])
        self.kms.tag_resource(KeyId=kid, Tags=[{"TagKey": "t%02d" % i, "TagValue": "v"} for i in range(48)])
        # pagination over 50 tags
        got, marker = [], None
        while True:
            r = self.kms.list_resource_tags(KeyId=kid, Limit=7, **({"Marker": marker} if marker else {}))
            got += [t["TagKey"] for t in r["Tags"]]
            if not r["Truncated"]:
                break
            marker = r["NextMarker"]
        self.assertEqual(len(got), 50)
        self.assertEqual(got, sorted(got))
        self.raises("NotFoundException", self.kms.list_resource_tags, KeyId="11111111-2222-4333-8444-555555555555")

    def test_cli_key_lifecycle(self):
        _, out, _ = self.k.cli("kms", "create-key", "--description", "from the cli", "--tags",
                               "TagKey=a,TagValue=b")
        kid = out["KeyMetadata"]["KeyId"]
        _, out, _ = self.k.cli("kms", "describe-key", "--key-id", kid)
        self.assertEqual(out["KeyMetadata"]["Description"], "from the cli")
        self.k.cli("kms", "disable-key", "--key-id", kid)
        self.k.cli("kms", "enable-key", "--key-id", kid)
        self.k.cli("kms", "update-key-description", "--key-id", kid, "--description", "changed")
        _, out, _ = self.k.cli("kms", "list-resource-tags", "--key-id", kid)
        self.assertEqual(out["Tags"], [{"TagKey": "a", "TagValue": "b"}])
        rc, _, stderr = self.k.cli("kms", "describe-key", "--key-id", "alias/none", check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("NotFoundException", stderr)


if __name__ == "__main__":
    main()
