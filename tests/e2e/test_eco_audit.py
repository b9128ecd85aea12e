"""Audit trail end to end (issue 13): --audit writes one CloudTrail-shaped
record per call (authentication failures included) with no plaintext,
ciphertext, data key, secret or session token in it; files rotate and are
sealed into a signed digest chain that `kmsctl audit verify` checks, and a
one-byte edit, a removed file, a forged signature or a crash-truncated
file are each detected or handled; `kmsctl audit lookup` answers by key id,
principal, event name and time.

GetKeyLastUsage is not served: the installed botocore KMS model has no such
operation (test_botocore_has_no_get_key_last_usage records that fact)."""
import base64
import glob
import json
import os
import re
import unittest

import botocore
import botocore.exceptions

from kmsd_harness import Kmsd, err, kmsctl, main

FIELDS = ("eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
          "userAgent", "requestParameters", "responseElements", "requestID", "eventID", "readOnly", "resources",
          "eventType", "managementEvent", "recipientAccountId")


def records(data_dir):
    out = []
    for path in sorted(glob.glob(os.path.join(data_dir, "audit", "audit-*.jsonl"))):
        with open(path) as f:
            for line in f:
                j = json.loads(line)
                if "kmsdAuditDigest" not in j:
                    out.append(j)
    return out


def files(data_dir):
    return sorted(glob.glob(os.path.join(data_dir, "audit", "audit-*.jsonl")))


class Audit(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd("--audit", "--audit-max-bytes", "4096")
        cls.k.start()
        k = cls.k
        kms = k.client("kms")
        cls.key = kms.create_key(Description="audited")["KeyMetadata"]
        cls.plaintext = b"TOP-SECRET-PLAINTEXT-0123456789"
        enc = kms.encrypt(KeyId=cls.key["KeyId"], Plaintext=cls.plaintext, EncryptionContext={"app": "audit"})
        cls.blob = enc["CiphertextBlob"]
        cls.enc_request_id = enc["ResponseMetadata"]["RequestId"]
        kms.decrypt(CiphertextBlob=cls.blob, EncryptionContext={"app": "audit"})
        cls.dk = kms.generate_data_key(KeyId=cls.key["KeyId"], KeySpec="AES_256")
        with cls.assertRaises(unittest.TestCase(), botocore.exceptions.ClientError):
            k.client("kms", creds=(k.admin[0], "w" * 40)).list_keys()
        sts = k.client("sts")
        cls.session = sts.get_session_token()["Credentials"]
        c = cls.session
        temp = k.client("kms", creds=(c["AccessKeyId"], c["SecretAccessKey"]), session_token=c["SessionToken"])
        temp.describe_key(KeyId=cls.key["KeyId"])
        iam = k.client("iam")
        iam.create_user(UserName="audited")
        cls.new_key = iam.create_access_key(UserName="audited")["AccessKey"]
        for i in range(30):  # enough records to rotate files of 4 KiB several times
            kms.describe_key(KeyId=cls.key["KeyId"])
        k.stop()  # seals the last file
        cls.recs = records(k.data_dir)

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def by(self, name):
        return [r for r in self.recs if r["eventName"] == name]

    def test_schema_and_contents(self):
        self.assertGreaterEqual(len(self.recs), 38)
        for r in self.recs:
            for f in FIELDS:
                self.assertIn(f, r, (f, r))
            self.assertEqual(r["eventVersion"], "1.08")
            self.assertEqual(r["eventType"], "AwsApiCall")
            self.assertRegex(r["eventTime"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            self.assertRegex(r["eventID"], r"^[0-9a-f-]{36}$")
        enc = self.by("Encrypt")[0]
        self.assertEqual(enc["eventSource"], "kms.amazonaws.com")
        self.assertEqual(enc["requestID"], self.enc_request_id)
        self.assertEqual(enc["requestParameters"], {"keyId": self.key["KeyId"],
                                                    "encryptionContext": {"app": "audit"}})
        self.assertIsNone(enc["responseElements"])
        self.assertTrue(enc["readOnly"])
        self.assertEqual(enc["resources"], [{"accountId": "000000000000", "type": "AWS::KMS::Key",
                                             "ARN": self.key["Arn"]}])
        ui = enc["userIdentity"]
        self.assertEqual((ui["type"], ui["arn"], ui["accountId"], ui["accessKeyId"], ui["userName"]),
                         ("IAMUser", "arn:aws:iam::000000000000:user/admin", "000000000000", self.k.admin[0],
                          "admin"))
        self.assertTrue(ui["principalId"].startswith("AIDA"))
        self.assertIn("Boto3", enc["userAgent"])
        # Decrypt names the key from the ciphertext
        self.assertEqual(self.by("Decrypt")[0]["resources"][0]["ARN"], self.key["Arn"])
        # CreateKey shows the new key's metadata, as CloudTrail does
        ck = self.by("CreateKey")[0]
        self.assertFalse(ck["readOnly"])
        self.assertEqual(ck["responseElements"]["keyMetadata"]["keyId"], self.key["KeyId"])
        # authentication failure recorded
        fails = [r for r in self.recs if r.get("errorCode") == "InvalidSignatureException"]
        self.assertEqual(len(fails), 1)
        self.assertEqual(fails[0]["userIdentity"], {"type": "Unknown", "accessKeyId": self.k.admin[0]})
        self.assertEqual(fails[0]["eventName"], "ListKeys")
        self.assertIn("errorMessage", fails[0])
        # temporary credentials carry a session context
        dk = [r for r in self.by("DescribeKey") if r["userIdentity"]["accessKeyId"] == self.session["AccessKeyId"]]
        self.assertEqual(len(dk), 1)
        self.assertEqual(dk[0]["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"], "false")
        st = self.by("GetSessionToken")[0]
        self.assertEqual(st["eventSource"], "sts.amazonaws.com")
        self.assertIsNone(st["responseElements"])
        cu = self.by("CreateUser")[0]
        self.assertEqual((cu["eventSource"], cu["requestParameters"]), ("iam.amazonaws.com", {"userName": "audited"}))

    def test_no_secrets_anywhere(self):
        raw = b"".join(open(p, "rb").read() for p in files(self.k.data_dir))
        secrets = [self.plaintext, base64.b64encode(self.plaintext), base64.b64encode(self.blob),
                   base64.b64encode(self.dk["Plaintext"]), base64.b64encode(self.dk["CiphertextBlob"]),
                   self.session["SessionToken"].encode(), self.session["SecretAccessKey"].encode(),
                   self.new_key["SecretAccessKey"].encode(), self.k.admin[1].encode()]
        for s in secrets:
            self.assertNotIn(s, raw)
        self.assertEqual(os.stat(files(self.k.data_dir)[0]).st_mode & 0o077, 0)

    def test_verify_and_tamper(self):
        fs = files(self.k.data_dir)
        self.assertGreaterEqual(len(fs), 3, "files did not rotate at 4 KiB")
        rc, out, e = kmsctl("audit", "verify", "--data-dir", self.k.data_dir)
        self.assertEqual(rc, 0, out + e)
        self.assertIn(b"audit chain verified: %d files" % len(fs), out)

        victim = fs[1]
        with open(victim, "rb") as f:
            orig = f.read()
        try:
            # one byte of a record
            i = orig.index(b'"eventName":"') + 13
            edited = orig[:i] + bytes([orig[i] ^ 0x01]) + orig[i + 1:]
            with open(victim, "wb") as f:
                f.write(edited)
            rc, out, _ = kmsctl("audit", "verify", "--data-dir", self.k.data_dir)
            self.assertEqual(rc, 1)
            self.assertIn(os.path.basename(victim).encode() + b": contents do not match the digest", out)
            # a record removed and the digest recomputed without the key: the signature fails
            lines = orig.split(b"\n")
            digest = json.loads(lines[-2])["kmsdAuditDigest"]
            body = b"\n".join(lines[1:-2]) + b"\n"
            import hashlib
            digest["sha256"] = hashlib.sha256(body).hexdigest()
            digest["records"] -= 1
            with open(victim, "wb") as f:
                f.write(body + json.dumps({"kmsdAuditDigest": digest}, separators=(",", ":")).encode() + b"\n")
            rc, out, _ = kmsctl("audit", "verify", "--data-dir", self.k.data_dir)
            self.assertEqual(rc, 1)
            self.assertIn(b"signature does not verify", out)
            # a whole file removed
            os.unlink(victim)
            rc, out, _ = kmsctl("audit", "verify", "--data-dir", self.k.data_dir)
            self.assertEqual(rc, 1)
            self.assertIn(b"missing", out)
        finally:
            with open(victim, "wb") as f:
                f.write(orig)
        rc, out, e = kmsctl("audit", "verify", "--data-dir", self.k.data_dir)
        self.assertEqual(rc, 0, out + e)

    def test_lookup(self):
        def lookup(*args):
            rc, out, e = kmsctl("audit", "lookup", "--data-dir", self.k.data_dir, *args)
            self.assertEqual(rc, 0, e)
            return [json.loads(l) for l in out.decode().splitlines()]
        by_key = lookup("--key-id", self.key["KeyId"])
        names = {r["eventName"] for r in by_key}
        self.assertTrue({"CreateKey", "Encrypt", "Decrypt", "GenerateDataKey", "DescribeKey"} <= names, names)
        self.assertNotIn("GetSessionToken", names)
        self.assertEqual(len(lookup("--key-id", self.key["Arn"])), len(by_key))
        dec = lookup("--event-name", "Decrypt")
        self.assertEqual([r["eventName"] for r in dec], ["Decrypt"])
        admin = lookup("--principal", "arn:aws:iam::000000000000:user/admin", "--event-name", "CreateUser")
        self.assertEqual(len(admin), 1)
        self.assertEqual(len(lookup("--since", "1h", "--event-name", "Encrypt")), 1)
        self.assertEqual(lookup("--since", "2999-01-01T00:00:00Z"), [])
        self.assertEqual(len(lookup("--limit", "3")), 3)



class LastUsage(unittest.TestCase):
    """GetKeyLastUsage, served from the trail, with the botocore model's shape."""

    def test_matches_the_last_decrypt_and_survives_restart(self):
        k = Kmsd("--audit")
        try:
            k.start()
            kms = k.client("kms")
            md = kms.create_key()["KeyMetadata"]
            unused = kms.create_key()["KeyMetadata"]
            blob = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"x")["CiphertextBlob"]
            dec = kms.decrypt(CiphertextBlob=blob)
            kms.describe_key(KeyId=md["KeyId"])  # not cryptographic: does not count
            r = kms.get_key_last_usage(KeyId=md["KeyId"])
            self.assertEqual(r["KeyId"], md["Arn"])
            lu = r["KeyLastUsage"]
            self.assertEqual(lu["Operation"], "Decrypt")
            self.assertEqual(lu["KmsRequestId"], dec["ResponseMetadata"]["RequestId"])
            self.assertEqual(r["KeyCreationDate"], md["CreationDate"])
            self.assertEqual(r["TrackingStartDate"], md["CreationDate"])  # tracking began before the key
            self.assertLessEqual(abs((lu["Timestamp"] - md["CreationDate"]).total_seconds()), 60)
            # the CloudTrail event id is the Decrypt record's eventID in the trail
            import time
            time.sleep(0.3)
            rc, out, e = kmsctl("audit", "lookup", "--data-dir", k.data_dir, "--event-name", "Decrypt")
            recs = [json.loads(l) for l in out.decode().splitlines()]
            self.assertEqual([x["eventID"] for x in recs], [lu["CloudTrailEventId"]])
            self.assertEqual(recs[0]["requestID"], lu["KmsRequestId"])
            # an unused key has no KeyLastUsage
            self.assertNotIn("KeyLastUsage", kms.get_key_last_usage(KeyId=unused["Arn"]))
            # aliases are not accepted
            kms.create_alias(AliasName="alias/lu", TargetKeyId=md["KeyId"])
            with self.assertRaises(botocore.exceptions.ClientError):
                kms.get_key_last_usage(KeyId="alias/lu")
            # after a restart the answer comes from the trail on disk
            k.stop()
            k.start()
            r2 = k.client("kms").get_key_last_usage(KeyId=md["KeyId"])
            self.assertEqual(r2["KeyLastUsage"], lu)
            self.assertEqual(r2["TrackingStartDate"], r["TrackingStartDate"])
        finally:
            k.cleanup()

    def test_without_audit_nothing_is_tracked(self):
        with Kmsd() as k:
            kms = k.client("kms")
            md = kms.create_key()["KeyMetadata"]
            kms.encrypt(KeyId=md["KeyId"], Plaintext=b"x")
            r = kms.get_key_last_usage(KeyId=md["KeyId"])
            self.assertNotIn("KeyLastUsage", r)
            self.assertGreaterEqual(r["TrackingStartDate"], md["CreationDate"])


class CrashRecovery(unittest.TestCase):
    def test_file_left_open_is_sealed_at_next_start(self):
        k = Kmsd("--audit")
        try:
            k.start()
            kms = k.client("kms")
            kms.create_key()
            import time
            time.sleep(0.5)  # flushed by the 100 ms tick, not sealed
            k.kill9()
            # cut the last record short, as a crash mid-write would
            f = files(k.data_dir)[-1]
            with open(f, "rb") as fh:
                data = fh.read()
            self.assertNotIn(b"kmsdAuditDigest", data)
            with open(f, "wb") as fh:
                fh.write(data[:-20])
            k.start()
            self.assertIn("left open by an earlier run", k.stderr())
            kms = k.client("kms")
            kms.list_keys()
            k.stop()
            rc, out, e = kmsctl("audit", "verify", "--data-dir", k.data_dir)
            self.assertEqual(rc, 0, out + e)
            self.assertIn(b"audit chain verified: 2 files", out)
        finally:
            k.cleanup()

    def test_verify_without_audit_key(self):
        with Kmsd() as k:
            rc, _, e = kmsctl("audit", "verify", "--data-dir", k.data_dir)
            self.assertEqual(rc, 1)
            self.assertIn(b"no audit signing key", e)


if __name__ == "__main__":
    main()
