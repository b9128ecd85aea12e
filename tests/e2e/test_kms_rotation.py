"""KMS rotation and deletion with a controlled service clock (kmsd
--clock-file): automatic rotation when due (while running and after a
restart that missed the date), on-demand rotation, ListKeyRotations,
old ciphertexts decrypting after three rotations and a restart, ReEncrypt
to the newest material, and keys really destroyed when their deletion date
passes."""
import os
import time
import unittest

import botocore.exceptions

from kmsd_harness import Kmsd, main

DAY = 86400


def wait_for(pred, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


class Rotation(unittest.TestCase):
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

    def materials(self, kid):
        r = self.kms.list_key_rotations(KeyId=kid, IncludeKeyMaterial="ALL_KEY_MATERIAL")
        return r["Rotations"]

    def test_automatic_rotation_when_due_and_old_ciphertexts(self):
        kms = self.kms
        kid = kms.create_key()["KeyMetadata"]["KeyId"]
        blobs = [kms.encrypt(KeyId=kid, Plaintext=b"gen0", EncryptionContext={"g": "0"})["CiphertextBlob"]]
        st = kms.get_key_rotation_status(KeyId=kid)
        self.assertFalse(st["KeyRotationEnabled"])
        self.assertNotIn("NextRotationDate", st)
        kms.enable_key_rotation(KeyId=kid, RotationPeriodInDays=90)
        st = kms.get_key_rotation_status(KeyId=kid)
        self.assertTrue(st["KeyRotationEnabled"])
        self.assertEqual(st["RotationPeriodInDays"], 90)
        first_due = st["NextRotationDate"].timestamp()
        self.assertAlmostEqual(first_due, time.time() + 90 * DAY, delta=120)
        self.assertEqual(kms.list_key_rotations(KeyId=kid)["Rotations"], [])

        # day 91: one automatic rotation
        self.set_clock("91d")
        wait_for(lambda: len(self.materials(kid)) == 2, "first automatic rotation")
        rots = kms.list_key_rotations(KeyId=kid)["Rotations"]
        self.assertEqual(len(rots), 1)
        self.assertEqual(rots[0]["RotationType"], "AUTOMATIC")
        self.assertEqual(rots[0]["KeyMaterialState"], "CURRENT")
        st = kms.get_key_rotation_status(KeyId=kid)
        self.assertAlmostEqual(st["NextRotationDate"].timestamp(), first_due + 90 * DAY, delta=5)
        blobs.append(kms.encrypt(KeyId=kid, Plaintext=b"gen1", EncryptionContext={"g": "1"})["CiphertextBlob"])
        d = kms.decrypt(CiphertextBlob=blobs[1], EncryptionContext={"g": "1"})
        self.assertEqual(d["KeyMaterialId"], rots[0]["KeyMaterialId"])
        self.assertEqual(kms.describe_key(KeyId=kid)["KeyMetadata"]["CurrentKeyMaterialId"], rots[0]["KeyMaterialId"])

        # on-demand rotation: a third generation
        self.assertTrue(kms.rotate_key_on_demand(KeyId=kid)["KeyId"].endswith(kid))
        blobs.append(kms.encrypt(KeyId=kid, Plaintext=b"gen2", EncryptionContext={"g": "2"})["CiphertextBlob"])
        # day 181 + a bit: the second automatic rotation (schedule unchanged by on-demand)
        self.set_clock("182d")
        wait_for(lambda: len(self.materials(kid)) == 4, "second automatic rotation")
        blobs.append(kms.encrypt(KeyId=kid, Plaintext=b"gen3", EncryptionContext={"g": "3"})["CiphertextBlob"])
        mats = self.materials(kid)
        self.assertEqual([m.get("RotationType") for m in mats], [None, "AUTOMATIC", "ON_DEMAND", "AUTOMATIC"])
        self.assertEqual([m["KeyMaterialState"] for m in mats], ["NON_CURRENT"] * 3 + ["CURRENT"])
        self.assertEqual(len({m["KeyMaterialId"] for m in mats}), 4)
        for i, b in enumerate(blobs):
            d = kms.decrypt(CiphertextBlob=b, EncryptionContext={"g": str(i)})
            self.assertEqual(d["Plaintext"], b"gen%d" % i)
            self.assertEqual(d["KeyMaterialId"], mats[i]["KeyMaterialId"])
        # ReEncrypt moves the oldest blob to the newest material
        r = kms.re_encrypt(CiphertextBlob=blobs[0], SourceEncryptionContext={"g": "0"}, DestinationKeyId=kid,
                           DestinationEncryptionContext={"g": "0"})
        self.assertEqual(r["SourceKeyMaterialId"], mats[0]["KeyMaterialId"])
        self.assertEqual(r["DestinationKeyMaterialId"], mats[3]["KeyMaterialId"])
        self.assertEqual(kms.decrypt(CiphertextBlob=r["CiphertextBlob"], EncryptionContext={"g": "0"})
                         ["KeyMaterialId"], mats[3]["KeyMaterialId"])
        # pagination of rotations
        p1 = kms.list_key_rotations(KeyId=kid, Limit=2)
        self.assertTrue(p1["Truncated"])
        p2 = kms.list_key_rotations(KeyId=kid, Limit=2, Marker=p1["NextMarker"])
        self.assertFalse(p2["Truncated"])
        self.assertEqual([m["KeyMaterialId"] for m in p1["Rotations"] + p2["Rotations"]],
                         [m["KeyMaterialId"] for m in mats[1:]])

        # restart: everything still decrypts
        self.k.stop()
        self.k.start()
        self.kms = kms = self.k.client("kms")
        for i, b in enumerate(blobs):
            self.assertEqual(kms.decrypt(CiphertextBlob=b, EncryptionContext={"g": str(i)})["Plaintext"],
                             b"gen%d" % i)
        # disabling rotation stops it
        kms.disable_key_rotation(KeyId=kid)
        self.assertFalse(kms.get_key_rotation_status(KeyId=kid)["KeyRotationEnabled"])
        self.set_clock("400d")
        time.sleep(2.5)
        self.assertEqual(len(self.materials(kid)), 4)

    def test_missed_rotation_caught_up_on_restart(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        blob = self.kms.encrypt(KeyId=kid, Plaintext=b"before")["CiphertextBlob"]
        self.kms.enable_key_rotation(KeyId=kid)  # default 365 days
        self.assertEqual(self.kms.get_key_rotation_status(KeyId=kid)["RotationPeriodInDays"], 365)
        self.k.stop()
        # the server is down while the date passes (twice over)
        self.set_clock("731d")
        self.k.start()
        self.kms = self.k.client("kms")
        # two periods missed, one rotation: AWS rotates once (issue 10.11)
        mats = wait_for(lambda: (lambda m: m if len(m) == 2 else None)(self.materials(kid)),
                        "the missed rotation at start")
        time.sleep(2.5)
        mats = self.materials(kid)
        self.assertEqual([m.get("RotationType") for m in mats], [None, "AUTOMATIC"])
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"before")
        nxt = self.kms.get_key_rotation_status(KeyId=kid)["NextRotationDate"].timestamp()
        self.assertGreater(nxt, time.time() + 731 * DAY)

    def test_rotation_validation(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        for days in (89, 2561):
            st, _, body = self.k.send(*self.k.kms_raw("EnableKeyRotation", {"KeyId": kid,
                                                                            "RotationPeriodInDays": days}))
            self.assertEqual(st, 400)
            self.assertIn(("Value '%d' at 'rotationPeriodInDays' failed to satisfy constraint" % days).encode(), body)
        self.kms.enable_key_rotation(KeyId=kid, RotationPeriodInDays=2560)
        self.assertEqual(self.kms.get_key_rotation_status(KeyId=kid)["RotationPeriodInDays"], 2560)
        _, out, _ = self.k.cli("kms", "get-key-rotation-status", "--key-id", kid)
        self.assertTrue(out["KeyRotationEnabled"])
        _, out, _ = self.k.cli("kms", "rotate-key-on-demand", "--key-id", kid)
        _, out, _ = self.k.cli("kms", "list-key-rotations", "--key-id", kid)
        self.assertEqual(out["Rotations"][0]["RotationType"], "ON_DEMAND")

    def test_deletion_when_date_passes(self):
        kms = self.kms
        kid = kms.create_key()["KeyMetadata"]["KeyId"]
        keep = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/doomed", TargetKeyId=kid)
        kms.create_alias(AliasName="alias/kept", TargetKeyId=keep)
        blob = kms.encrypt(KeyId=kid, Plaintext=b"gone soon")["CiphertextBlob"]
        arn = kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)["KeyId"]
        self.set_clock("6d")
        time.sleep(2.5)
        self.assertEqual(kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"], "PendingDeletion")

        def gone():
            try:
                kms.describe_key(KeyId=kid)
                return False
            except botocore.exceptions.ClientError as e:
                return e.response["Error"]["Code"] == "NotFoundException"
        self.set_clock("8d")
        wait_for(gone, "key deletion")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            kms.describe_key(KeyId=kid)
        self.assertEqual(cm.exception.response["Error"]["Message"], "Key '%s' does not exist" % arn)
        for call in (lambda: kms.decrypt(CiphertextBlob=blob), lambda: kms.encrypt(KeyId=kid, Plaintext=b"x"),
                     lambda: kms.cancel_key_deletion(KeyId=kid), lambda: kms.describe_key(KeyId="alias/doomed")):
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                call()
            self.assertEqual(cm.exception.response["Error"]["Code"], "NotFoundException")
        self.assertNotIn(kid, [k["KeyId"] for k in kms.list_keys()["Keys"]])
        # (the predefined alias/aws/* aliases are listed too, without a key: issue 12)
        self.assertEqual([a["AliasName"] for a in kms.list_aliases()["Aliases"]
                          if not a["AliasName"].startswith("alias/aws/")], ["alias/kept"])
        self.assertEqual(kms.describe_key(KeyId="alias/kept")["KeyMetadata"]["KeyState"], "Enabled")
        # still gone after a restart
        self.k.stop()
        self.k.start()
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.k.client("kms").describe_key(KeyId=kid)
        self.assertEqual(cm.exception.response["Error"]["Code"], "NotFoundException")

    def test_cancelled_deletion_does_not_happen(self):
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        self.kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
        self.kms.cancel_key_deletion(KeyId=kid)
        self.set_clock("30d")
        time.sleep(2.5)
        self.assertEqual(self.kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"], "Disabled")


if __name__ == "__main__":
    main()
