"""Multi-Region keys end to end (issue 12): CreateKey MultiRegion, ReplicateKey,
UpdatePrimaryRegion, MultiRegionConfiguration in DescribeKey, ciphertexts,
signatures and MACs made in one Region and used in every related Region,
rotation of the primary reaching the replicas, and deletion through
PendingReplicaDeletion, with boto3 and the aws CLI.

AWS pages: https://docs.aws.amazon.com/kms/latest/APIReference/API_ReplicateKey.html,
API_UpdatePrimaryRegion.html, API_MultiRegionConfiguration.html,
https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-overview.html
"""
import json
import os
import time
import unittest

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kmsd_harness import Kmsd, KmsdTestCase, main

ACCOUNT = "000000000000"
DAY = 86400
MRK = r"^mrk-[0-9a-f]{32}$"


def arn(region, kid, partition="aws"):
    return "arn:%s:kms:%s:%s:key/%s" % (partition, region, ACCOUNT, kid)


def wait_for(pred, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


class MultiRegion(KmsdTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.eu = cls.k.client("kms", region="eu-west-1")
        cls.ap = cls.k.client("kms", region="ap-southeast-2")

    def test_create_multi_region_primary(self):
        md = self.kms.create_key(MultiRegion=True, Description="primary")["KeyMetadata"]
        kid = md["KeyId"]
        self.assertRegex(kid, MRK)
        self.assertEqual(md["Arn"], arn("us-east-1", kid))
        self.assertTrue(md["MultiRegion"])
        self.assertEqual(md["MultiRegionConfiguration"], {
            "MultiRegionKeyType": "PRIMARY",
            "PrimaryKey": {"Arn": arn("us-east-1", kid), "Region": "us-east-1"},
            "ReplicaKeys": []})
        self.assertEqual(self.kms.describe_key(KeyId=kid)["KeyMetadata"], md)
        # a single-Region key has MultiRegion false and no configuration
        single = self.kms.create_key(MultiRegion=False)["KeyMetadata"]
        self.assertFalse(single["MultiRegion"])
        self.assertNotIn("MultiRegionConfiguration", single)
        self.assertIn(kid, [k["KeyId"] for k in self.kms.list_keys(Limit=1000)["Keys"]])

    def test_replicate_symmetric_and_decrypt_in_every_region(self):
        kms, eu, ap = self.kms, self.eu, self.ap
        p = kms.create_key(MultiRegion=True, Description="p", Tags=[{"TagKey": "side", "TagValue": "us"}])["KeyMetadata"]
        kid = p["KeyId"]
        policy = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Sid": "eu", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:root" % ACCOUNT},
             "Action": "kms:*", "Resource": "*"}]})
        r = kms.replicate_key(KeyId=kid, ReplicaRegion="eu-west-1", Description="replica in eu", Policy=policy,
                              Tags=[{"TagKey": "side", "TagValue": "eu"}, {"TagKey": "b", "TagValue": ""}])
        rmd = r["ReplicaKeyMetadata"]
        self.assertEqual(rmd["KeyId"], kid)
        self.assertEqual(rmd["Arn"], arn("eu-west-1", kid))
        self.assertEqual(rmd["Description"], "replica in eu")
        self.assertEqual(rmd["KeySpec"], "SYMMETRIC_DEFAULT")
        self.assertEqual(rmd["CurrentKeyMaterialId"], p["CurrentKeyMaterialId"])
        self.assertEqual(rmd["MultiRegionConfiguration"], {
            "MultiRegionKeyType": "REPLICA",
            "PrimaryKey": {"Arn": arn("us-east-1", kid), "Region": "us-east-1"},
            "ReplicaKeys": [{"Arn": arn("eu-west-1", kid), "Region": "eu-west-1"}]})
        self.assertEqual(r["ReplicaPolicy"], policy)
        self.assertEqual(r["ReplicaTags"], [{"TagKey": "b", "TagValue": ""}, {"TagKey": "side", "TagValue": "eu"}])
        # default policy when none given
        r2 = kms.replicate_key(KeyId=arn("us-east-1", kid), ReplicaRegion="ap-southeast-2")
        self.assertEqual(json.loads(r2["ReplicaPolicy"])["Statement"][0]["Principal"]["AWS"],
                         "arn:aws:iam::%s:root" % ACCOUNT)
        self.assertEqual(r2["ReplicaTags"], [])
        # every related key shows the whole set
        want = [{"Arn": arn("ap-southeast-2", kid), "Region": "ap-southeast-2"},
                {"Arn": arn("eu-west-1", kid), "Region": "eu-west-1"}]
        for c, region, typ in ((kms, "us-east-1", "PRIMARY"), (eu, "eu-west-1", "REPLICA"),
                               (ap, "ap-southeast-2", "REPLICA")):
            md = c.describe_key(KeyId=kid)["KeyMetadata"]
            self.assertEqual(md["Arn"], arn(region, kid))
            self.assertEqual(md["MultiRegionConfiguration"]["MultiRegionKeyType"], typ)
            self.assertEqual(md["MultiRegionConfiguration"]["ReplicaKeys"], want)
        # independent properties: tags, policy, description
        self.assertEqual(kms.list_resource_tags(KeyId=kid)["Tags"], [{"TagKey": "side", "TagValue": "us"}])
        self.assertEqual(eu.get_key_policy(KeyId=kid, PolicyName="default")["Policy"], policy)
        self.assertEqual(kms.describe_key(KeyId=kid)["KeyMetadata"]["Description"], "p")
        # a ciphertext from any Region decrypts in every related Region
        for src in (kms, eu, ap):
            blob = src.encrypt(KeyId=kid, Plaintext=b"across regions", EncryptionContext={"k": "v"})["CiphertextBlob"]
            for dst, region in ((kms, "us-east-1"), (eu, "eu-west-1"), (ap, "ap-southeast-2")):
                d = dst.decrypt(CiphertextBlob=blob, EncryptionContext={"k": "v"})
                self.assertEqual(d["Plaintext"], b"across regions")
                self.assertEqual(d["KeyId"], arn(region, kid))
                # naming the related key of this Region is the right key
                dst.decrypt(CiphertextBlob=blob, EncryptionContext={"k": "v"}, KeyId=kid)
        dk = ap.generate_data_key(KeyId=kid, KeySpec="AES_256")
        self.assertEqual(kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"], dk["Plaintext"])
        re = eu.re_encrypt(CiphertextBlob=dk["CiphertextBlob"], DestinationKeyId=kid)
        self.assertEqual(ap.decrypt(CiphertextBlob=re["CiphertextBlob"])["Plaintext"], dk["Plaintext"])
        # the wrong context still fails in the other Region
        blob = kms.encrypt(KeyId=kid, Plaintext=b"x", EncryptionContext={"k": "v"})["CiphertextBlob"]
        self.raises("InvalidCiphertextException", eu.decrypt, CiphertextBlob=blob, EncryptionContext={"k": "w"})
        # ListKeys in each Region lists its own key
        self.assertIn(arn("eu-west-1", kid), [k["KeyArn"] for k in eu.list_keys(Limit=1000)["Keys"]])

    def test_aliases_are_per_region(self):
        kid = self.kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        self.kms.replicate_key(KeyId=kid, ReplicaRegion="eu-west-1")
        self.kms.create_alias(AliasName="alias/mr-app", TargetKeyId=kid)
        self.raises("NotFoundException", self.eu.describe_key, KeyId="alias/mr-app")
        self.eu.create_alias(AliasName="alias/mr-app", TargetKeyId=kid)
        self.eu.create_alias(AliasName="alias/mr-eu-only", TargetKeyId=kid)
        blob = self.kms.encrypt(KeyId="alias/mr-app", Plaintext=b"a")["CiphertextBlob"]
        self.assertEqual(self.eu.decrypt(CiphertextBlob=blob, KeyId="alias/mr-app")["Plaintext"], b"a")
        eu_names = sorted(a["AliasName"] for a in self.eu.list_aliases(KeyId=kid)["Aliases"])
        us_names = sorted(a["AliasName"] for a in self.kms.list_aliases(KeyId=kid)["Aliases"])
        self.assertEqual(eu_names, ["alias/mr-app", "alias/mr-eu-only"])
        self.assertEqual(us_names, ["alias/mr-app"])

    def test_update_primary_region(self):
        kms, eu = self.kms, self.eu
        kid = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        kms.replicate_key(KeyId=kid, ReplicaRegion="eu-west-1")
        kms.replicate_key(KeyId=kid, ReplicaRegion="ap-southeast-2")
        r = kms.update_primary_region(KeyId=kid, PrimaryRegion="eu-west-1")
        self.assertNotIn("KeyMetadata", r)
        for c in (kms, eu, self.ap):
            cfg = c.describe_key(KeyId=kid)["KeyMetadata"]["MultiRegionConfiguration"]
            self.assertEqual(cfg["PrimaryKey"], {"Arn": arn("eu-west-1", kid), "Region": "eu-west-1"})
            self.assertEqual(cfg["ReplicaKeys"], [{"Arn": arn("ap-southeast-2", kid), "Region": "ap-southeast-2"},
                                                  {"Arn": arn("us-east-1", kid), "Region": "us-east-1"}])
        self.assertEqual(kms.describe_key(KeyId=kid)["KeyMetadata"]["MultiRegionConfiguration"]["MultiRegionKeyType"],
                         "REPLICA")
        # only the new primary replicates; the old one is a replica now
        m = self.raises("UnsupportedOperationException", kms.replicate_key, KeyId=kid, ReplicaRegion="sa-east-1")
        self.assertIn("replica", m)
        eu.replicate_key(KeyId=kid, ReplicaRegion="sa-east-1")
        # and back
        eu.update_primary_region(KeyId=kid, PrimaryRegion="us-east-1")
        self.assertEqual(kms.describe_key(KeyId=kid)["KeyMetadata"]["MultiRegionConfiguration"]["MultiRegionKeyType"],
                         "PRIMARY")
        # errors: no replica there, the primary's own Region, a replica named as KeyId
        m = self.raises("NotFoundException", kms.update_primary_region, KeyId=kid, PrimaryRegion="ca-central-1")
        self.assertEqual(m, "Key '%s' does not exist" % arn("ca-central-1", kid))
        self.raises("UnsupportedOperationException", kms.update_primary_region, KeyId=kid, PrimaryRegion="us-east-1")
        self.raises("UnsupportedOperationException", eu.update_primary_region, KeyId=kid, PrimaryRegion="us-east-1")
        single = kms.create_key()["KeyMetadata"]["KeyId"]
        m = self.raises("UnsupportedOperationException", kms.update_primary_region, KeyId=single,
                        PrimaryRegion="eu-west-1")
        self.assertEqual(m, "%s is not a multi-Region key." % arn("us-east-1", single))

    def test_asymmetric_p256_sign_in_one_region_verify_in_another(self):
        kms, eu = self.kms, self.eu
        md = kms.create_key(MultiRegion=True, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
        kid = md["KeyId"]
        self.assertRegex(kid, MRK)
        rmd = kms.replicate_key(KeyId=kid, ReplicaRegion="eu-west-1")["ReplicaKeyMetadata"]
        self.assertEqual(rmd["KeySpec"], "ECC_NIST_P256")
        self.assertEqual(rmd["KeyUsage"], "SIGN_VERIFY")
        self.assertEqual(rmd["SigningAlgorithms"], ["ECDSA_SHA_256"])
        pub_us = kms.get_public_key(KeyId=kid)["PublicKey"]
        pub_eu = eu.get_public_key(KeyId=kid)["PublicKey"]
        self.assertEqual(pub_us, pub_eu)
        msg = b"signed in us-east-1"
        sig = kms.sign(KeyId=kid, Message=msg, SigningAlgorithm="ECDSA_SHA_256")["Signature"]
        self.assertTrue(eu.verify(KeyId=kid, Message=msg, Signature=sig, SigningAlgorithm="ECDSA_SHA_256")["SignatureValid"])
        # checked independently against the replica's public key
        pk = serialization.load_der_public_key(pub_eu)
        pk.verify(sig, msg, ec.ECDSA(hashes.SHA256()))
        sig2 = eu.sign(KeyId=kid, Message=b"eu", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
        serialization.load_der_public_key(pub_us).verify(sig2, b"eu", ec.ECDSA(hashes.SHA256()))
        self.raises("KMSInvalidSignatureException", kms.verify, KeyId=kid, Message=b"other", Signature=sig2,
                    SigningAlgorithm="ECDSA_SHA_256")
        # rotation is for symmetric keys only, replicas or not
        self.raises("UnsupportedOperationException", eu.enable_key_rotation, KeyId=kid)

    def test_rsa_encrypt_in_one_region_decrypt_in_another(self):
        kms, eu = self.kms, self.eu
        kid = kms.create_key(MultiRegion=True, KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
        kms.replicate_key(KeyId=kid, ReplicaRegion="eu-west-1")
        blob = kms.encrypt(KeyId=kid, Plaintext=b"rsa across", EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
        d = eu.decrypt(CiphertextBlob=blob, KeyId=kid, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
        self.assertEqual(d["Plaintext"], b"rsa across")
        # made outside kmsd with the replica's public key, opened by the primary
        from cryptography.hazmat.primitives.asymmetric import padding
        pub = serialization.load_der_public_key(eu.get_public_key(KeyId=kid)["PublicKey"])
        outside = pub.encrypt(b"outside", padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(),
                                                       label=None))
        self.assertEqual(kms.decrypt(CiphertextBlob=outside, KeyId=kid,
                                     EncryptionAlgorithm="RSAES_OAEP_SHA_256")["Plaintext"], b"outside")

    def test_hmac_generate_in_one_region_verify_in_another(self):
        kms, eu = self.kms, self.eu
        kid = kms.create_key(MultiRegion=True, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
        eu_md = kms.replicate_key(KeyId=kid, ReplicaRegion="eu-west-1")["ReplicaKeyMetadata"]
        self.assertEqual(eu_md["MacAlgorithms"], ["HMAC_SHA_256"])
        mac = kms.generate_mac(KeyId=kid, Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
        self.assertTrue(eu.verify_mac(KeyId=kid, Message=b"m", Mac=mac, MacAlgorithm="HMAC_SHA_256")["MacValid"])
        self.assertEqual(eu.generate_mac(KeyId=kid, Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"], mac)
        self.raises("KMSInvalidMacException", eu.verify_mac, KeyId=kid, Message=b"n", Mac=mac,
                    MacAlgorithm="HMAC_SHA_256")

    def test_rotation_on_demand_reaches_replicas(self):
        kms, eu = self.kms, self.eu
        kid = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        old = kms.encrypt(KeyId=kid, Plaintext=b"v1")["CiphertextBlob"]
        kms.replicate_key(KeyId=kid, ReplicaRegion="eu-west-1")
        kms.rotate_key_on_demand(KeyId=kid)
        us_rot = kms.list_key_rotations(KeyId=kid)["Rotations"]
        eu_rot = eu.list_key_rotations(KeyId=kid)["Rotations"]
        self.assertEqual(len(us_rot), 1)
        strip = lambda rs: [{k: v for k, v in r.items() if k != "KeyId"} for r in rs]
        self.assertEqual(strip(us_rot), strip(eu_rot))
        self.assertEqual(kms.describe_key(KeyId=kid)["KeyMetadata"]["CurrentKeyMaterialId"],
                         eu.describe_key(KeyId=kid)["KeyMetadata"]["CurrentKeyMaterialId"])
        new = kms.encrypt(KeyId=kid, Plaintext=b"v2")["CiphertextBlob"]
        self.assertEqual(eu.decrypt(CiphertextBlob=new)["Plaintext"], b"v2")
        self.assertEqual(eu.decrypt(CiphertextBlob=old)["Plaintext"], b"v1")
        # rotation is managed on the primary
        for call in (eu.enable_key_rotation, eu.disable_key_rotation, eu.rotate_key_on_demand):
            m = self.raises("UnsupportedOperationException", call, KeyId=kid)
            self.assertIn("replica", m)
        kms.enable_key_rotation(KeyId=kid, RotationPeriodInDays=100)
        st = eu.get_key_rotation_status(KeyId=kid)
        self.assertTrue(st["KeyRotationEnabled"])
        self.assertEqual(st["RotationPeriodInDays"], 100)
        kms.disable_key_rotation(KeyId=kid)
        self.assertFalse(eu.get_key_rotation_status(KeyId=kid)["KeyRotationEnabled"])
        # a replica made after a rotation gets every material version
        ap_md = kms.replicate_key(KeyId=kid, ReplicaRegion="ap-southeast-2")["ReplicaKeyMetadata"]
        self.assertEqual(ap_md["CurrentKeyMaterialId"], kms.describe_key(KeyId=kid)["KeyMetadata"]["CurrentKeyMaterialId"])
        self.assertEqual(self.ap.decrypt(CiphertextBlob=old)["Plaintext"], b"v1")

    def test_imported_material_primary(self):
        md = self.kms.create_key(MultiRegion=True, Origin="EXTERNAL")["KeyMetadata"]
        self.assertRegex(md["KeyId"], MRK)
        self.assertEqual(md["KeyState"], "PendingImport")
        rmd = self.kms.replicate_key(KeyId=md["KeyId"], ReplicaRegion="eu-west-1")["ReplicaKeyMetadata"]
        # "the replica key is created with no key material"
        self.assertEqual(rmd["Origin"], "EXTERNAL")
        self.assertEqual(rmd["KeyState"], "PendingImport")
        # custom key stores cannot hold multi-Region keys
        self.raises("UnsupportedOperationException", self.kms.create_key, MultiRegion=True, Origin="AWS_CLOUDHSM")
        self.raises("UnsupportedOperationException", self.kms.create_key, MultiRegion=True,
                    Origin="EXTERNAL_KEY_STORE")

    def test_replicate_key_errors(self):
        kms, eu = self.kms, self.eu
        kid = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        kms.replicate_key(KeyId=kid, ReplicaRegion="eu-west-1")
        m = self.raises("AlreadyExistsException", kms.replicate_key, KeyId=kid, ReplicaRegion="eu-west-1")
        self.assertEqual(m, "Key '%s' already exists" % arn("eu-west-1", kid))
        self.raises("UnsupportedOperationException", kms.replicate_key, KeyId=kid, ReplicaRegion="us-east-1")
        self.raises("UnsupportedOperationException", eu.replicate_key, KeyId=kid, ReplicaRegion="ap-southeast-2")
        single = kms.create_key()["KeyMetadata"]["KeyId"]
        m = self.raises("UnsupportedOperationException", kms.replicate_key, KeyId=single, ReplicaRegion="eu-west-1")
        self.assertEqual(m, "%s is not a multi-Region key." % arn("us-east-1", single))
        m = self.raises("NotFoundException", kms.replicate_key, KeyId="mrk-" + "0" * 32, ReplicaRegion="eu-west-1")
        self.assertEqual(m, "Key '%s' does not exist" % arn("us-east-1", "mrk-" + "0" * 32))
        # aliases are not accepted (key id or key ARN only)
        kms.create_alias(AliasName="alias/mr-err", TargetKeyId=kid)
        self.raises("NotFoundException", kms.replicate_key, KeyId="alias/mr-err", ReplicaRegion="ca-central-1")
        # ReplicaRegion: the model's RegionType
        m = self.raises("ValidationException", kms.replicate_key, KeyId=kid, ReplicaRegion="EU-WEST-1")
        self.assertEqual(m, "1 validation error detected: Value 'EU-WEST-1' at 'replicaRegion' failed to satisfy "
                            "constraint: Member must satisfy regular expression pattern: ^([a-z]+-){2,3}\\d+$")
        # key states: disabled primary, primary pending deletion
        kms.disable_key(KeyId=kid)
        m = self.raises("DisabledException", kms.replicate_key, KeyId=kid, ReplicaRegion="ca-central-1")
        self.assertEqual(m, "%s is disabled." % arn("us-east-1", kid))
        kms.enable_key(KeyId=kid)
        k2 = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        kms.schedule_key_deletion(KeyId=k2, PendingWindowInDays=7)
        m = self.raises("KMSInvalidStateException", kms.replicate_key, KeyId=k2, ReplicaRegion="ca-central-1")
        self.assertEqual(m, "%s is pending deletion." % arn("us-east-1", k2))

    def test_cli_replicate_and_update_primary_region(self):
        _, out, _ = self.k.cli("kms", "create-key", "--multi-region", "--description", "cli")
        kid = out["KeyMetadata"]["KeyId"]
        self.assertRegex(kid, MRK)
        _, out, _ = self.k.cli("kms", "replicate-key", "--key-id", kid, "--replica-region", "eu-west-1",
                               "--tags", "TagKey=via,TagValue=cli")
        self.assertEqual(out["ReplicaKeyMetadata"]["Arn"], arn("eu-west-1", kid))
        self.assertEqual(out["ReplicaTags"], [{"TagKey": "via", "TagValue": "cli"}])
        self.k.cli("kms", "update-primary-region", "--key-id", kid, "--primary-region", "eu-west-1")
        _, out, _ = self.k.cli("kms", "describe-key", "--key-id", kid, region="eu-west-1")
        self.assertEqual(out["KeyMetadata"]["MultiRegionConfiguration"]["MultiRegionKeyType"], "PRIMARY")
        rc, _, err = self.k.cli("kms", "replicate-key", "--key-id", kid, "--replica-region", "cn-north-1",
                                region="eu-west-1", check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("UnsupportedOperationException", err)

    def test_china_partition(self):
        cn = self.k.client("kms", region="cn-north-1")
        kid = cn.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        r = cn.replicate_key(KeyId=kid, ReplicaRegion="cn-northwest-1")["ReplicaKeyMetadata"]
        self.assertEqual(r["Arn"], arn("cn-northwest-1", kid, "aws-cn"))
        self.assertEqual(r["MultiRegionConfiguration"]["PrimaryKey"]["Arn"], arn("cn-north-1", kid, "aws-cn"))
        blob = cn.encrypt(KeyId=kid, Plaintext=b"cn")["CiphertextBlob"]
        self.assertEqual(self.k.client("kms", region="cn-northwest-1").decrypt(CiphertextBlob=blob)["Plaintext"], b"cn")


class MultiRegionClock(unittest.TestCase):
    """Automatic rotation and deletion on the service clock (kmsd --clock-file)."""

    def setUp(self):
        self.k = Kmsd()
        self.clock = os.path.join(self.k.root, "clock")
        self.set_clock("0")
        self.k.extra_args += ["--clock-file", self.clock]
        self.k.start()
        self.kms = self.k.client("kms")
        self.eu = self.k.client("kms", region="eu-west-1")
        self.ap = self.k.client("kms", region="ap-southeast-2")

    def tearDown(self):
        self.k.cleanup()

    def set_clock(self, value):
        tmp = self.clock + ".tmp"
        with open(tmp, "w") as f:
            f.write(value + "\n")
        os.replace(tmp, self.clock)

    def rotations(self, client, kid):
        return client.list_key_rotations(KeyId=kid)["Rotations"]

    def test_automatic_rotation_of_the_primary_reaches_replicas(self):
        kms, eu = self.kms, self.eu
        kid = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        kms.replicate_key(KeyId=kid, ReplicaRegion="eu-west-1")
        kms.enable_key_rotation(KeyId=kid, RotationPeriodInDays=90)
        self.set_clock("91d")
        wait_for(lambda: len(self.rotations(kms, kid)) == 1, "automatic rotation of the primary")
        eu_rot = self.rotations(eu, kid)
        self.assertEqual(len(eu_rot), 1)
        self.assertEqual(eu_rot[0]["RotationType"], "AUTOMATIC")
        self.assertEqual(eu_rot[0]["KeyMaterialId"], self.rotations(kms, kid)[0]["KeyMaterialId"])
        self.assertEqual(eu.get_key_rotation_status(KeyId=kid)["NextRotationDate"],
                         kms.get_key_rotation_status(KeyId=kid)["NextRotationDate"])
        blob = kms.encrypt(KeyId=kid, Plaintext=b"rotated")["CiphertextBlob"]
        self.assertEqual(eu.decrypt(CiphertextBlob=blob)["Plaintext"], b"rotated")
        # the replica never rotates on its own: one rotation in each, after a second while
        time.sleep(2.5)
        self.assertEqual(len(self.rotations(eu, kid)), 1)

    def test_primary_waits_in_pending_replica_deletion(self):
        kms, eu, ap = self.kms, self.eu, self.ap
        kid = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        kms.replicate_key(KeyId=kid, ReplicaRegion="eu-west-1")
        kms.replicate_key(KeyId=kid, ReplicaRegion="ap-southeast-2")
        r = kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=10)
        self.assertEqual(r["KeyState"], "PendingReplicaDeletion")
        self.assertEqual(r["PendingWindowInDays"], 10)
        self.assertNotIn("DeletionDate", r)
        md = kms.describe_key(KeyId=kid)["KeyMetadata"]
        self.assertEqual(md["KeyState"], "PendingReplicaDeletion")
        self.assertFalse(md["Enabled"])
        self.assertEqual(md["PendingDeletionWindowInDays"], 10)
        self.assertNotIn("DeletionDate", md)
        a = arn("us-east-1", kid)
        m = self.raises("KMSInvalidStateException", kms.encrypt, KeyId=kid, Plaintext=b"x")
        self.assertEqual(m, "%s is pending replica deletion." % a)
        self.raises("KMSInvalidStateException", kms.replicate_key, KeyId=kid, ReplicaRegion="sa-east-1")
        self.raises("KMSInvalidStateException", kms.enable_key, KeyId=kid)
        self.raises("KMSInvalidStateException", kms.schedule_key_deletion, KeyId=kid)
        self.raises("KMSInvalidStateException", kms.update_primary_region, KeyId=kid, PrimaryRegion="eu-west-1")
        # replicas are untouched and still work
        blob = eu.encrypt(KeyId=kid, Plaintext=b"still")["CiphertextBlob"]
        self.assertEqual(ap.decrypt(CiphertextBlob=blob)["Plaintext"], b"still")
        # cancel: Disabled, as any cancelled deletion
        kms.cancel_key_deletion(KeyId=kid)
        self.assertEqual(kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"], "Disabled")
        kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=10)
        # delete the replicas: 7 days
        eu.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
        ap.schedule_key_deletion(KeyId=kid, PendingWindowInDays=8)
        self.set_clock("%dh" % (7 * 24 + 1))
        wait_for(lambda: self.gone(eu, kid), "eu replica deleted")
        cfg = kms.describe_key(KeyId=kid)["KeyMetadata"]
        self.assertEqual(cfg["KeyState"], "PendingReplicaDeletion")
        self.assertEqual(cfg["MultiRegionConfiguration"]["ReplicaKeys"],
                         [{"Arn": arn("ap-southeast-2", kid), "Region": "ap-southeast-2"}])
        # a ciphertext of the deleted replica still decrypts with a related key
        self.set_clock("%dh" % (8 * 24 + 1))
        wait_for(lambda: self.gone(ap, kid), "ap replica deleted")
        md = kms.describe_key(KeyId=kid)["KeyMetadata"]
        self.assertEqual(md["KeyState"], "PendingDeletion")
        self.assertEqual(md["MultiRegionConfiguration"]["ReplicaKeys"], [])
        # the waiting period began when the last replica was deleted
        self.assertAlmostEqual(md["DeletionDate"].timestamp(), time.time() + (8 + 10) * DAY + 3600, delta=600)
        self.set_clock("17d")
        time.sleep(2)
        self.assertEqual(kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"], "PendingDeletion")
        self.set_clock("%dh" % (18 * 24 + 2))
        wait_for(lambda: self.gone(kms, kid), "primary deleted")
        # the id can be replicated nowhere now
        self.raises("NotFoundException", kms.replicate_key, KeyId=kid, ReplicaRegion="eu-west-1")

    def gone(self, client, kid):
        try:
            client.describe_key(KeyId=kid)
        except Exception as e:  # noqa: BLE001 - the one expected error is checked
            return "NotFoundException" in str(e)
        return False

    def raises(self, code, fn, *a, **kw):
        import botocore.exceptions
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*a, **kw)
        self.assertEqual(cm.exception.response["Error"]["Code"], code, cm.exception.response["Error"].get("Message"))
        return cm.exception.response["Error"].get("Message", "")


if __name__ == "__main__":
    main()
