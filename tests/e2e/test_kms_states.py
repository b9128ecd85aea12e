"""KMS key states end to end: every operation on a key in each reachable
state (Enabled, Disabled, PendingDeletion) answers as the key-states table
of the KMS developer guide says, with AWS's messages; CancelKeyDeletion
returns a key to Disabled. (PendingImport and Unavailable cannot be reached
through the API yet; tests/unit/kms_handlers_test.c covers them.)"""
import unittest

import botocore.exceptions

from kmsd_harness import Kmsd, main

OK = None
DIS = "DisabledException"
INV = "KMSInvalidStateException"


class States(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        cls.kms = cls.k.client("kms")

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def key_in(self, state):
        kms = self.kms
        kid = kms.create_key()["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=kid, Plaintext=b"state")["CiphertextBlob"]
        other = kms.create_key()["KeyMetadata"]["KeyId"]
        other_blob = kms.encrypt(KeyId=other, Plaintext=b"other")["CiphertextBlob"]
        kms.create_alias(AliasName="alias/st-" + kid, TargetKeyId=kid)
        if state == "Disabled":
            kms.disable_key(KeyId=kid)
        elif state == "PendingDeletion":
            kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
        self.assertEqual(kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"], state)
        return kid, blob, other, other_blob

    def operations(self, kid, blob, other, other_blob):
        kms = self.kms
        arn = kms.describe_key(KeyId=kid)["KeyMetadata"]["Arn"]
        return arn, [
            # (name, call, Enabled, Disabled, PendingDeletion)
            ("Encrypt", lambda: kms.encrypt(KeyId=kid, Plaintext=b"x"), OK, DIS, INV),
            ("Decrypt", lambda: kms.decrypt(CiphertextBlob=blob), OK, DIS, INV),
            ("GenerateDataKey", lambda: kms.generate_data_key(KeyId=kid, KeySpec="AES_256"), OK, DIS, INV),
            ("GenerateDataKeyWithoutPlaintext",
             lambda: kms.generate_data_key_without_plaintext(KeyId=kid, NumberOfBytes=16), OK, DIS, INV),
            ("ReEncrypt(source)", lambda: kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=other), OK, DIS, INV),
            ("ReEncrypt(destination)", lambda: kms.re_encrypt(CiphertextBlob=other_blob, DestinationKeyId=kid),
             OK, DIS, INV),
            ("DescribeKey", lambda: kms.describe_key(KeyId=kid), OK, OK, OK),
            ("ListResourceTags", lambda: kms.list_resource_tags(KeyId=kid), OK, OK, OK),
            ("ListAliases", lambda: kms.list_aliases(KeyId=kid), OK, OK, OK),
            ("GetKeyPolicy", lambda: kms.get_key_policy(KeyId=kid, PolicyName="default"), OK, OK, OK),
            ("GetKeyRotationStatus", lambda: kms.get_key_rotation_status(KeyId=kid), OK, OK, OK),
            ("ListKeyRotations", lambda: kms.list_key_rotations(KeyId=kid), OK, OK, OK),
            ("UpdateKeyDescription", lambda: kms.update_key_description(KeyId=kid, Description="d"), OK, OK, INV),
            ("TagResource", lambda: kms.tag_resource(KeyId=kid, Tags=[{"TagKey": "a", "TagValue": "b"}]),
             OK, OK, INV),
            ("UntagResource", lambda: kms.untag_resource(KeyId=kid, TagKeys=["a"]), OK, OK, INV),
            ("CreateAlias", lambda: kms.create_alias(AliasName="alias/new-" + kid, TargetKeyId=kid), OK, OK, INV),
            ("UpdateAlias", lambda: kms.update_alias(AliasName="alias/st-" + kid, TargetKeyId=kid), OK, OK, INV),
            ("EnableKeyRotation", lambda: kms.enable_key_rotation(KeyId=kid), OK, DIS, INV),
            ("DisableKeyRotation", lambda: kms.disable_key_rotation(KeyId=kid), OK, DIS, INV),
            ("RotateKeyOnDemand", lambda: kms.rotate_key_on_demand(KeyId=kid), OK, DIS, INV),
            ("CancelKeyDeletion", lambda: kms.cancel_key_deletion(KeyId=kid), INV, INV, OK),
            ("DeleteAlias", lambda: kms.delete_alias(AliasName="alias/st-" + kid), OK, OK, OK),
            ("ScheduleKeyDeletion", lambda: kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7), OK, OK, INV),
            ("DisableKey", lambda: kms.disable_key(KeyId=kid), OK, OK, INV),
            ("EnableKey", lambda: kms.enable_key(KeyId=kid), OK, OK, INV),
        ]

    def run_state(self, state, col):
        kid, blob, other, other_blob = self.key_in(state)
        arn, ops = self.operations(kid, blob, other, other_blob)
        messages = {DIS: "%s is disabled." % arn, INV: "%s is pending deletion." % arn}
        for row in ops:
            name, call, want = row[0], row[1], row[col]
            # state-changing rows run last; re-establish the state before each
            cur = self.kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"]
            if cur != state:
                if cur == "PendingDeletion":
                    self.kms.cancel_key_deletion(KeyId=kid)
                if state == "Enabled":
                    self.kms.enable_key(KeyId=kid)
                elif state == "Disabled":
                    self.kms.disable_key(KeyId=kid)
                else:
                    self.kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
            with self.subTest(state=state, operation=name):
                if want is OK:
                    call()
                    continue
                with self.assertRaises(botocore.exceptions.ClientError) as cm:
                    call()
                code = cm.exception.response["Error"]["Code"]
                msg = cm.exception.response["Error"]["Message"]
                self.assertEqual(code, want, msg)
                if name == "CancelKeyDeletion":
                    self.assertEqual(msg, "%s is not pending deletion." % arn)
                else:
                    self.assertEqual(msg, messages[want])

    def test_enabled(self):
        self.run_state("Enabled", 2)

    def test_disabled(self):
        self.run_state("Disabled", 3)

    def test_pending_deletion(self):
        self.run_state("PendingDeletion", 4)

    def test_schedule_and_cancel(self):
        kms = self.kms
        kid = kms.create_key()["KeyMetadata"]["KeyId"]
        r = kms.schedule_key_deletion(KeyId=kid)
        self.assertEqual(r["PendingWindowInDays"], 30)
        self.assertEqual(r["KeyState"], "PendingDeletion")
        self.assertTrue(r["KeyId"].endswith(kid))
        md = kms.describe_key(KeyId=kid)["KeyMetadata"]
        self.assertEqual((md["KeyState"], md["Enabled"], md["PendingDeletionWindowInDays"]),
                         ("PendingDeletion", False, 30))
        self.assertEqual(md["DeletionDate"], r["DeletionDate"])
        self.assertEqual(kms.cancel_key_deletion(KeyId=kid)["KeyId"], md["Arn"])
        md = kms.describe_key(KeyId=kid)["KeyMetadata"]
        self.assertEqual(md["KeyState"], "Disabled")
        self.assertNotIn("DeletionDate", md)
        for days in (6, 31):
            st, _, body = self.k.send(*self.k.kms_raw("ScheduleKeyDeletion", {"KeyId": kid,
                                                                              "PendingWindowInDays": days}))
            self.assertEqual(st, 400)
            self.assertIn(b"ValidationException", body)
            self.assertIn(("Value '%d' at 'pendingWindowInDays'" % days).encode(), body)
        _, out, _ = self.k.cli("kms", "schedule-key-deletion", "--key-id", kid, "--pending-window-in-days", "7")
        self.assertEqual(out["PendingWindowInDays"], 7)
        self.k.cli("kms", "cancel-key-deletion", "--key-id", kid)


if __name__ == "__main__":
    main()
