"""Access keys acting via an AWS service (kmsctl access-key add --via-service s3):
an S3 emulator doing SSE-KMS with the AWS managed key alias/aws/s3, as S3 does on
the account's behalf on AWS (kms:ViaService = s3.<region>.amazonaws.com,
kms:CallerAccount = the account, aws:ViaAWSService = true), while every other
caller stays refused."""
import json
import unittest

import botocore.exceptions

from kmsd_harness import Kmsd, kmsctl, main

ACCOUNT = "000000000000"
OTHER = "111122223333"
EC = {"aws:s3:arn": "arn:aws:s3:::bucket/key"}

S3 = ("AKIAS3EMULATOR000001", "s3-emulator-secret-0001")        # user/s3-emulator, via s3
PLAIN = ("AKIAS3EMULATORPLAIN1", "s3-emulator-plain-secret")    # the same user, not via a service
OTHER_ROOT = ("AKIAOTHERROOT0000001", "other-account-root-secret")
OTHER_S3 = ("AKIAOTHERS3000000001", "other-account-s3-secret01")  # account OTHER, via s3


def err(e):
    return e.response["Error"]["Code"], e.response["Error"].get("Message", "")


def denied(user, action, arn):
    return ("User: %s is not authorized to perform: %s on resource: %s because no resource-based policy "
            "allows the %s action" % (user, action, arn, action))


class ViaService(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        cls.admin = cls.k.client("kms")
        d = cls.k.data_dir
        for args in (("--id", S3[0], "--secret", S3[1], "--user", "s3-emulator", "--via-service", "s3"),
                     ("--id", PLAIN[0], "--secret", PLAIN[1], "--user", "s3-emulator"),
                     ("--id", OTHER_ROOT[0], "--secret", OTHER_ROOT[1], "--account", OTHER),
                     ("--id", OTHER_S3[0], "--secret", OTHER_S3[1], "--account", OTHER, "--user", "s3-emulator",
                      "--via-service", "s3")):
            rc, out, errout = kmsctl("access-key", "add", "--data-dir", d, *args)
            assert rc == 0, errout
        cls.s3 = cls.k.client("kms", creds=S3)
        cls.plain = cls.k.client("kms", creds=PLAIN)

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def raises(self, code, fn, *a, **kw):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*a, **kw)
        c, m = err(cm.exception)
        self.assertEqual(c, code, m)
        return m

    def test_kmsctl_flag(self):
        rc, out, _ = kmsctl("access-key", "list", "--data-dir", self.k.data_dir)
        self.assertEqual(rc, 0)
        lines = {l.split(b"\t")[0]: l for l in out.splitlines()}
        self.assertEqual(lines[S3[0].encode()],
                         b"%s\tActive\tarn:aws:iam::%s:user/s3-emulator\tvia-service=s3" % (S3[0].encode(),
                                                                                          ACCOUNT.encode()))
        # ordinary keys keep the three-column form
        self.assertEqual(lines[PLAIN[0].encode()].count(b"\t"), 2)
        for bad in ("S3", "s", "s3_x", "s3.us-east-1", "x" * 33, ""):
            rc, _, errout = kmsctl("access-key", "add", "--data-dir", self.k.data_dir, "--id", "AKIABADVIASERVICE001",
                                   "--secret", "s", "--via-service", bad)
            self.assertEqual(rc, 2, bad)
        rc, _, _ = kmsctl("access-key", "delete", "--data-dir", self.k.data_dir, "--id", "AKIABADVIASERVICE001")
        self.assertEqual(rc, 1)  # nothing was stored
        # the principal is the key's owner, as for any key
        ident = self.k.client("sts", creds=S3).get_caller_identity()
        self.assertEqual(ident["Arn"], "arn:aws:iam::%s:user/s3-emulator" % ACCOUNT)

    def test_managed_key_through_s3(self):
        r = self.s3.generate_data_key(KeyId="alias/aws/s3", KeySpec="AES_256", EncryptionContext=EC)
        md = self.admin.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
        self.assertEqual(r["KeyId"], md["Arn"])
        self.assertEqual(md["KeyManager"], "AWS")
        self.assertEqual(len(r["Plaintext"]), 32)
        blob = r["CiphertextBlob"]
        d = self.s3.decrypt(CiphertextBlob=blob, EncryptionContext=EC)
        self.assertEqual(d["Plaintext"], r["Plaintext"])
        self.assertEqual(d["KeyId"], md["Arn"])
        self.raises("InvalidCiphertextException", self.s3.decrypt, CiphertextBlob=blob,
                    EncryptionContext={"aws:s3:arn": "arn:aws:s3:::bucket/other"})
        self.raises("InvalidCiphertextException", self.s3.decrypt, CiphertextBlob=blob)
        # the rest of what the managed key policy allows through the service
        self.s3.generate_data_key_without_plaintext(KeyId="alias/aws/s3", KeySpec="AES_256", EncryptionContext=EC)
        e = self.s3.encrypt(KeyId="alias/aws/s3", Plaintext=b"object key", EncryptionContext=EC)["CiphertextBlob"]
        ec2 = {"aws:s3:arn": "arn:aws:s3:::bucket/copy"}
        re = self.s3.re_encrypt(CiphertextBlob=e, SourceEncryptionContext=EC, DestinationKeyId="alias/aws/s3",
                                DestinationEncryptionContext=ec2)["CiphertextBlob"]
        self.assertEqual(self.s3.decrypt(CiphertextBlob=re, EncryptionContext=ec2)["Plaintext"], b"object key")
        self.assertEqual(self.s3.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["KeyId"], md["KeyId"])
        # not beyond it: the policy allows no changes, and no identity policy adds any
        m = self.raises("AccessDeniedException", self.s3.update_key_description, KeyId=md["KeyId"], Description="x")
        self.assertIn("kms:UpdateKeyDescription", m)

        # the administrator calling directly is refused, as on AWS
        admin_arn = "arn:aws:iam::%s:user/admin" % ACCOUNT
        m = self.raises("AccessDeniedException", self.admin.generate_data_key, KeyId="alias/aws/s3",
                        KeySpec="AES_256", EncryptionContext=EC)
        self.assertEqual(m, denied(admin_arn, "kms:GenerateDataKey", md["Arn"]))
        m = self.raises("AccessDeniedException", self.admin.decrypt, CiphertextBlob=blob, EncryptionContext=EC)
        self.assertEqual(m, denied(admin_arn, "kms:Decrypt", md["Arn"]))
        # and so is the same user with a key not marked via s3: only the flag differs
        user_arn = "arn:aws:iam::%s:user/s3-emulator" % ACCOUNT
        m = self.raises("AccessDeniedException", self.plain.generate_data_key, KeyId="alias/aws/s3",
                        KeySpec="AES_256", EncryptionContext=EC)
        self.assertEqual(m, denied(user_arn, "kms:GenerateDataKey", md["Arn"]))
        m = self.raises("AccessDeniedException", self.plain.decrypt, CiphertextBlob=blob, EncryptionContext=EC)
        self.assertEqual(m, denied(user_arn, "kms:Decrypt", md["Arn"]))

    def test_other_accounts_managed_key(self):
        other_root = self.k.client("kms", creds=OTHER_ROOT)
        other_s3 = self.k.client("kms", creds=OTHER_S3)
        theirs = other_root.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
        self.assertIn(":%s:key/" % OTHER, theirs["Arn"])
        # account OTHER's S3 uses its own managed key
        r = other_s3.generate_data_key(KeyId="alias/aws/s3", KeySpec="AES_256", EncryptionContext=EC)
        self.assertEqual(r["KeyId"], theirs["Arn"])
        # but not through our S3: kms:CallerAccount is ours, and the policy names theirs
        m = self.raises("AccessDeniedException", self.s3.generate_data_key, KeyId=theirs["Arn"],
                        KeySpec="AES_256", EncryptionContext=EC)
        self.assertIn("kms:GenerateDataKey", m)
        self.assertIn(theirs["Arn"], m)
        m = self.raises("AccessDeniedException", self.s3.decrypt, CiphertextBlob=r["CiphertextBlob"],
                        EncryptionContext=EC)
        self.assertIn(theirs["Arn"], m)
        # nor the other way round
        ours = self.s3.generate_data_key(KeyId="alias/aws/s3", KeySpec="AES_256", EncryptionContext=EC)
        self.raises("AccessDeniedException", other_s3.decrypt, CiphertextBlob=ours["CiphertextBlob"],
                    EncryptionContext=EC)

    def test_region_from_credential_scope(self):
        region = "us-west-2"
        s3 = self.k.client("kms", creds=S3, region=region)
        r = s3.generate_data_key(KeyId="alias/aws/s3", KeySpec="AES_256", EncryptionContext=EC)
        kms = self.k.client("kms", region=region)
        md = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
        self.assertEqual(r["KeyId"], md["Arn"])
        self.assertTrue(md["Arn"].startswith("arn:aws:kms:us-west-2:"))
        pol = json.loads(kms.get_key_policy(KeyId=md["Arn"], PolicyName="default")["Policy"])
        self.assertEqual(pol["Statement"][0]["Condition"]["StringEquals"]["kms:ViaService"],
                         "s3.us-west-2.amazonaws.com")
        self.assertEqual(s3.decrypt(CiphertextBlob=r["CiphertextBlob"], EncryptionContext=EC)["Plaintext"],
                         r["Plaintext"])
        # a customer key there that names another Region's S3 endpoint is not usable
        east = kms.create_key(Policy=self.customer_policy("s3.us-east-1.amazonaws.com"))["KeyMetadata"]
        west = kms.create_key(Policy=self.customer_policy("s3.us-west-2.amazonaws.com"))["KeyMetadata"]
        self.raises("AccessDeniedException", s3.generate_data_key, KeyId=east["KeyId"], KeySpec="AES_256")
        s3.generate_data_key(KeyId=west["KeyId"], KeySpec="AES_256")

    @staticmethod
    def customer_policy(via, condition=None):
        return json.dumps({
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "Key administration", "Effect": "Allow",
                 "Principal": {"AWS": "arn:aws:iam::%s:root" % ACCOUNT},
                 "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"],
                 "Resource": "*"},
                {"Sid": "Use through S3 only", "Effect": "Allow",
                 "Principal": {"AWS": "arn:aws:iam::%s:user/s3-emulator" % ACCOUNT},
                 "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                            "kms:DescribeKey"],
                 "Resource": "*",
                 "Condition": condition or {"StringEquals": {"kms:ViaService": via}}},
            ]})

    def test_customer_key_with_via_service_condition(self):
        key = self.admin.create_key(Policy=self.customer_policy("s3.us-east-1.amazonaws.com"))["KeyMetadata"]
        r = self.s3.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256", EncryptionContext=EC)
        self.assertEqual(self.s3.decrypt(CiphertextBlob=r["CiphertextBlob"], EncryptionContext=EC)["Plaintext"],
                         r["Plaintext"])
        admin_arn = "arn:aws:iam::%s:user/admin" % ACCOUNT
        m = self.raises("AccessDeniedException", self.admin.generate_data_key, KeyId=key["KeyId"],
                        KeySpec="AES_256", EncryptionContext=EC)
        self.assertEqual(m, denied(admin_arn, "kms:GenerateDataKey", key["Arn"]))
        m = self.raises("AccessDeniedException", self.admin.decrypt, CiphertextBlob=r["CiphertextBlob"],
                        EncryptionContext=EC)
        self.assertEqual(m, denied(admin_arn, "kms:Decrypt", key["Arn"]))
        self.raises("AccessDeniedException", self.plain.generate_data_key, KeyId=key["KeyId"], KeySpec="AES_256")
        # the administration statement still works for the administrator
        self.assertEqual(self.admin.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyManager"], "CUSTOMER")
        # another service's endpoint is not ours
        other = self.admin.create_key(Policy=self.customer_policy("ebs.us-east-1.amazonaws.com"))["KeyMetadata"]
        self.raises("AccessDeniedException", self.s3.generate_data_key, KeyId=other["KeyId"], KeySpec="AES_256")

    def test_global_keys(self):
        # aws:ViaAWSService is true for the S3-acting key only
        via = self.admin.create_key(Policy=self.customer_policy(
            None, {"Bool": {"aws:ViaAWSService": "true"}}))["KeyMetadata"]
        self.s3.encrypt(KeyId=via["KeyId"], Plaintext=b"x")
        self.raises("AccessDeniedException", self.plain.encrypt, KeyId=via["KeyId"], Plaintext=b"x")
        # a Deny on direct calls (aws:ViaAWSService false) leaves the S3 path open
        pol = json.loads(self.customer_policy("s3.us-east-1.amazonaws.com"))
        del pol["Statement"][1]["Condition"]
        pol["Statement"].append({"Sid": "No direct use", "Effect": "Deny", "Principal": {"AWS": "*"},
                                 "Action": "kms:Encrypt", "Resource": "*",
                                 "Condition": {"Bool": {"aws:ViaAWSService": "false"}}})
        direct = self.admin.create_key(Policy=json.dumps(pol))["KeyMetadata"]
        self.s3.encrypt(KeyId=direct["KeyId"], Plaintext=b"x")
        m = self.raises("AccessDeniedException", self.plain.encrypt, KeyId=direct["KeyId"], Plaintext=b"x")
        self.assertIn("with an explicit deny in a resource-based policy", m)
        self.plain.generate_data_key(KeyId=direct["KeyId"], KeySpec="AES_256")  # not denied, allowed to the user
        # S3 is not among the services that record aws:CalledVia, so SSE-KMS requests have none (as on AWS)
        cv = self.admin.create_key(Policy=self.customer_policy(
            None, {"ForAnyValue:StringEquals": {"aws:CalledVia": "s3.amazonaws.com"}}))["KeyMetadata"]
        self.raises("AccessDeniedException", self.s3.encrypt, KeyId=cv["KeyId"], Plaintext=b"x")
        # kms:ViaService comes from the key's marking, never from the request
        raw = self.k.kms_raw("GenerateDataKey", {"KeyId": "alias/aws/s3", "KeySpec": "AES_256",
                                                 "ViaService": "s3.us-east-1.amazonaws.com"},
                             creds=PLAIN)
        status, _, body = self.k.send(*raw)
        self.assertEqual(status, 400, body)
        self.assertEqual(json.loads(body)["__type"], "AccessDeniedException")


if __name__ == "__main__":
    main()
