"""KMS responses compared with what AWS returns (issue 17 items 1-7), each
asserting AWS's error code, message and HTTP status through boto3, and
automatic rotation after a long clock jump rotating once, as AWS does
(issue 10 item 11)."""
import os
import time
import unittest

import botocore.exceptions

from kmsd_harness import Kmsd, KmsdTestCase, main

ACCT = "000000000000"
DAY = 86400

KEY_SPECS = ("RSA_2048, RSA_3072, RSA_4096, ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521, ECC_SECG_P256K1, "
             "SYMMETRIC_DEFAULT, HMAC_224, HMAC_256, HMAC_384, HMAC_512, SM2, ML_DSA_44, ML_DSA_65, ML_DSA_87, "
             "ECC_NIST_EDWARDS25519")
KEY_USAGES = "SIGN_VERIFY, ENCRYPT_DECRYPT, GENERATE_VERIFY_MAC, KEY_AGREEMENT"


class Fidelity(KmsdTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.nv = cls.k.client("kms", validate=False)  # the server does the validating

    def fails(self, code, status, fn, *a, **kw):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*a, **kw)
        e = cm.exception.response
        self.assertEqual((e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"]), (code, status),
                         e["Error"].get("Message"))
        return e["Error"].get("Message", "")

    # 17.1
    def test_rotate_key_on_demand_returns_the_key_arn(self):
        md = self.kms.create_key()["KeyMetadata"]
        self.assertEqual(self.kms.rotate_key_on_demand(KeyId=md["KeyId"])["KeyId"], md["Arn"])

    # 17.2
    def test_duplicate_tag_keys(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        m = self.fails("TagException", 400, self.kms.tag_resource, KeyId=kid,
                       Tags=[{"TagKey": "a", "TagValue": "1"}, {"TagKey": "a", "TagValue": "2"}])
        self.assertEqual(m, "Duplicate tag keys")
        m = self.fails("TagException", 400, self.kms.create_key,
                       Tags=[{"TagKey": "a", "TagValue": "1"}, {"TagKey": "a", "TagValue": "1"}])
        self.assertEqual(m, "Duplicate tag keys")
        self.kms.tag_resource(KeyId=kid, Tags=[{"TagKey": "a", "TagValue": "1"}, {"TagKey": "b", "TagValue": "1"}])
        self.assertEqual(len(self.kms.list_resource_tags(KeyId=kid)["Tags"]), 2)

    # 17.3
    def test_on_demand_rotation_limit(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        for _ in range(25):
            self.kms.rotate_key_on_demand(KeyId=kid)
        m = self.fails("LimitExceededException", 400, self.kms.rotate_key_on_demand, KeyId=kid)
        self.assertEqual(m, "The on-demand rotations limit has been reached for the given key.")
        self.assertEqual(len(self.kms.list_key_rotations(KeyId=kid, Limit=100)["Rotations"]), 25)

    # 17.4
    def test_unknown_mrk_key_id(self):
        mrk = "mrk-1234abcd12ab34cd56ef1234567890ab"
        arn = "arn:aws:kms:us-east-1:%s:key/%s" % (ACCT, mrk)
        for ident in (mrk, arn):
            m = self.fails("NotFoundException", 400, self.kms.describe_key, KeyId=ident)
            self.assertEqual(m, "Key '%s' does not exist" % arn)
            m = self.fails("NotFoundException", 400, self.kms.encrypt, KeyId=ident, Plaintext=b"x")
            self.assertEqual(m, "Key '%s' does not exist" % arn)
        m = self.fails("NotFoundException", 400, self.kms.describe_key, KeyId="mrk-nothex")
        self.assertEqual(m, "Invalid keyId 'mrk-nothex'")

    # 17.5
    def test_generate_random_without_number_of_bytes(self):
        m = self.fails("ValidationException", 400, self.nv.generate_random)
        self.assertEqual(m, "NumberOfBytes is required.")
        self.assertEqual(len(self.kms.generate_random(NumberOfBytes=16)["Plaintext"]), 16)

    # 17.6
    def test_long_tag_value_echoed_whole(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        v = "v" * 256 + "X"
        m = self.fails("ValidationException", 400, self.nv.tag_resource, KeyId=kid,
                       Tags=[{"TagKey": "k", "TagValue": v}])
        self.assertEqual(m, "1 validation error detected: Value '%s' at 'tags.1.member.tagValue' failed to satisfy "
                            "constraint: Member must have length less than or equal to 256" % v)
        self.kms.tag_resource(KeyId=kid, Tags=[{"TagKey": "k", "TagValue": "v" * 256}])

    # 17.7
    def test_create_key_usage_required_and_enum_lists(self):
        for spec in ("HMAC_256", "RSA_2048", "ECC_NIST_P256", "ML_DSA_44"):
            m = self.fails("ValidationException", 400, self.kms.create_key, KeySpec=spec)
            self.assertEqual(m, "You must specify a KeyUsage value for all KMS keys except for symmetric "
                                "encryption keys.")
        # after validation, SM2 outside the China Regions is refused (issue 11 made the other specs work)
        self.fails("UnsupportedOperationException", 400, self.kms.create_key, KeySpec="SM2",
                   KeyUsage="SIGN_VERIFY")
        m = self.fails("ValidationException", 400, self.nv.create_key, KeySpec="AES_256")
        self.assertEqual(m, "1 validation error detected: Value 'AES_256' at 'keySpec' failed to satisfy constraint: "
                            "Member must satisfy enum value set: [%s]" % KEY_SPECS)
        m = self.fails("ValidationException", 400, self.nv.create_key, KeyUsage="MAC")
        self.assertEqual(m, "1 validation error detected: Value 'MAC' at 'keyUsage' failed to satisfy constraint: "
                            "Member must satisfy enum value set: [%s]" % KEY_USAGES)
        # the user: a symmetric key needs no KeyUsage
        self.assertEqual(self.kms.create_key()["KeyMetadata"]["KeyUsage"], "ENCRYPT_DECRYPT")
        self.assertEqual(self.kms.create_key(KeySpec="SYMMETRIC_DEFAULT")["KeyMetadata"]["KeySpec"],
                         "SYMMETRIC_DEFAULT")


class RotationAfterClockJump(unittest.TestCase):
    """10.11: "AWS rotates once" - a clock that jumps ten periods ahead gives one rotation, and the next date
    lies ahead of the new time."""

    def setUp(self):
        self.k = Kmsd()
        self.clock = os.path.join(self.k.root, "clock")
        self.set_clock("0")
        self.k.extra_args += ["--clock-file", self.clock]
        self.k.start()
        self.kms = self.k.client("kms")

    def tearDown(self):
        self.k.cleanup()

    def set_clock(self, value):
        tmp = self.clock + ".tmp"
        with open(tmp, "w") as f:
            f.write(value + "\n")
        os.replace(tmp, self.clock)

    def rotations(self, kid):
        return self.kms.list_key_rotations(KeyId=kid, Limit=100)["Rotations"]

    def test_long_jump_rotates_once(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        self.kms.enable_key_rotation(KeyId=kid, RotationPeriodInDays=90)
        self.set_clock("%dd" % (90 * 10 + 5))
        deadline = time.time() + 30
        while time.time() < deadline and not self.rotations(kid):
            time.sleep(0.2)
        time.sleep(2.5)  # the due loop would have replayed the missed periods by now
        rots = self.rotations(kid)
        self.assertEqual([r["RotationType"] for r in rots], ["AUTOMATIC"])
        nxt = self.kms.get_key_rotation_status(KeyId=kid)["NextRotationDate"].timestamp()
        now = time.time() + (90 * 10 + 5) * DAY
        self.assertGreater(nxt, now)
        self.assertLessEqual(nxt, now + 90 * DAY + 60)
        # the user: the next period rotates again, once
        self.set_clock("%dd" % (90 * 11 + 5))
        deadline = time.time() + 30
        while time.time() < deadline and len(self.rotations(kid)) < 2:
            time.sleep(0.2)
        time.sleep(2.5)
        self.assertEqual(len(self.rotations(kid)), 2)


if __name__ == "__main__":
    main()
