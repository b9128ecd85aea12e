"""ListAliases lists the predefined alias/aws/* aliases without a
TargetKeyId (issue 12):
  "The response might also include aliases that have no TargetKeyId field.
   These are predefined aliases that AWS has created but has not yet
   associated with a KMS key."
  https://docs.aws.amazon.com/kms/latest/APIReference/API_ListAliases.html
The set is the one AWS answers for a new account; an alias that first use
binds to its AWS managed key is then listed once, with its key."""
import unittest

from kmsd_harness import KmsdTestCase, main

ACCT = "000000000000"
PREDEFINED = ["alias/aws/dynamodb", "alias/aws/ebs", "alias/aws/elasticfilesystem", "alias/aws/es",
              "alias/aws/glue", "alias/aws/kinesisvideo", "alias/aws/rds", "alias/aws/redshift", "alias/aws/s3",
              "alias/aws/secretsmanager", "alias/aws/ssm", "alias/aws/xray"]


class PredefinedAliases(KmsdTestCase):
    def all_aliases(self, kms, **kw):
        got, marker = [], None
        while True:
            r = kms.list_aliases(**kw, **({"Marker": marker} if marker else {}))
            got += r["Aliases"]
            if not r["Truncated"]:
                self.assertNotIn("NextMarker", r)
                return got
            marker = r["NextMarker"]

    def test_1_fresh_region_lists_predefined_without_target(self):
        kms = self.k.client("kms", region="eu-central-1")
        al = kms.list_aliases()["Aliases"]
        self.assertEqual([a["AliasName"] for a in al], PREDEFINED)
        for a in al:
            self.assertEqual(set(a), {"AliasName", "AliasArn"}, a)
            self.assertEqual(a["AliasArn"], "arn:aws:kms:eu-central-1:%s:%s" % (ACCT, a["AliasName"]))
        # the aws CLI shows the same
        _, out, _ = self.k.cli("kms", "list-aliases", region="eu-central-1")
        self.assertEqual([a["AliasName"] for a in out["Aliases"]], PREDEFINED)
        self.assertFalse(any("TargetKeyId" in a for a in out["Aliases"]))
        # partitions: the ARN follows the region's partition
        cn = self.k.client("kms", region="cn-north-1").list_aliases()["Aliases"]
        self.assertEqual(cn[0]["AliasArn"], "arn:aws-cn:kms:cn-north-1:%s:alias/aws/dynamodb" % ACCT)

    def test_2_merged_in_order_and_paginated(self):
        kms = self.k.client("kms", region="ap-south-1")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        mine = ["alias/a-first", "alias/aws-not-reserved-x", "alias/zzz"]
        for n in mine:
            if n.startswith("alias/aws-"):
                continue
            kms.create_alias(AliasName=n, TargetKeyId=key)
        mine = ["alias/a-first", "alias/zzz"]
        want = sorted(mine + PREDEFINED)
        for limit in (1, 2, 5, 13, 100):
            with self.subTest(limit=limit):
                got = self.all_aliases(kms, Limit=limit)
                self.assertEqual([a["AliasName"] for a in got], want)
                for a in got:
                    self.assertEqual("TargetKeyId" in a, a["AliasName"] in mine, a)
        # only the key's aliases when KeyId is given: the predefined ones have no key
        by_key = self.all_aliases(kms, KeyId=key, Limit=1)
        self.assertEqual([a["AliasName"] for a in by_key], mine)

    def test_3_first_use_binds_the_predefined_alias(self):
        kms = self.k.client("kms", region="ca-central-1")
        ct = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]  # first use creates the AWS managed key
        al = {a["AliasName"]: a for a in self.all_aliases(kms, Limit=3)}
        self.assertEqual(sorted(al), PREDEFINED)
        self.assertEqual(al["alias/aws/s3"]["TargetKeyId"], ct["KeyId"].split("/")[-1])
        self.assertIn("CreationDate", al["alias/aws/s3"])
        self.assertNotIn("TargetKeyId", al["alias/aws/ebs"])
        # a predefined alias with a key is listed by that key
        by_key = kms.list_aliases(KeyId=ct["KeyId"])["Aliases"]
        self.assertEqual([a["AliasName"] for a in by_key], ["alias/aws/s3"])
        # an AWS managed alias outside the predefined set appears once created
        kms.describe_key(KeyId="alias/aws/lambda")
        names = [a["AliasName"] for a in self.all_aliases(kms)]
        self.assertEqual(names, sorted(PREDEFINED + ["alias/aws/lambda"]))

    def test_4_predefined_aliases_stay_reserved(self):
        kms = self.k.client("kms", region="eu-north-1")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        self.raises("NotAuthorizedException", kms.create_alias, AliasName="alias/aws/ebs", TargetKeyId=key)
        self.raises("NotAuthorizedException", kms.delete_alias, AliasName="alias/aws/ebs")


if __name__ == "__main__":
    main()
