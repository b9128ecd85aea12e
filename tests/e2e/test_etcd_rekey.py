"""kmsctl rekey over etcd (docs/scale-out.md, "Runbook"): every record re-sealed
under a new master key in one etcd txn, together with the master record and
verifier. Afterwards kmsd decrypts what it encrypted before, the old key file
opens nothing, and no value in etcd (the current ones, or the history, which
is compacted) opens under the old key. Refused, changing nothing, while a kmsd
node still runs over the prefix."""
import base64
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from etcd_cluster import EtcdCluster  # noqa: E402
from kmsd_harness import KMSCTL_BIN, Kmsd  # noqa: E402


def kmsctl(*args):
    return subprocess.run([KMSCTL_BIN] + list(args), capture_output=True, text=True, timeout=120)


class EtcdRekey(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = EtcdCluster(1).start()

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()

    def kvs(self, prefix, revision=None):
        body = {"key": base64.b64encode(prefix.encode() + b"/").decode(),
                "range_end": base64.b64encode(prefix.encode() + b"0").decode()}
        if revision:
            body["revision"] = revision
        return self.cluster.post(0, "/v3/kv/range", body)

    def test_rekey_over_etcd(self):
        prefix = "rekey1"
        store = ["--store", self.cluster.store, "--etcd-prefix", prefix]
        k = Kmsd(*store)
        try:
            k.start()
            kms = k.client("kms")
            kid = kms.create_key(Description="rekeyed")["KeyMetadata"]["KeyId"]
            kms.create_alias(AliasName="alias/rekeyed", TargetKeyId=kid)
            ct = kms.encrypt(KeyId="alias/rekeyed", Plaintext=b"survives a rekey")["CiphertextBlob"]
            key_path = os.path.join(k.data_dir, "master.key")
            with open(key_path, "rb") as f:
                old_key = f.read()
            before = self.kvs(prefix)
            old_rev = int(before["header"]["revision"])
            old_values = {kv["key"]: kv["value"] for kv in before["kvs"]}

            # While the node runs: refused, nothing changed.
            r = kmsctl("rekey", "--data-dir", k.data_dir, "--new-key-file", *store)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("stop every", r.stderr)
            with open(key_path, "rb") as f:
                self.assertEqual(f.read(), old_key)
            self.assertEqual({kv["key"]: kv["value"] for kv in self.kvs(prefix)["kvs"]}, old_values)

            k.stop()
            shutil.copy(key_path, key_path + ".old")
            r = kmsctl("rekey", "--data-dir", k.data_dir, "--new-key-file", *store)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(key_path, "rb") as f:
                self.assertNotEqual(f.read(), old_key)
            after = {kv["key"]: kv["value"] for kv in self.kvs(prefix)["kvs"]}
            meta = prefix.encode() + b"/."  # .meta/..., .leader (gone with the node)
            records = [x for x in after if not base64.b64decode(x).startswith(meta)]
            self.assertEqual(set(records), {x for x in old_values if not base64.b64decode(x).startswith(meta)})
            self.assertGreater(len(records), 3)
            for name in (b"master", b"verifier"):  # ... the same records, and the master record and verifier
                x = base64.b64encode(meta + b"meta/" + name).decode()
                self.assertNotEqual(after[x], old_values[x])
            for x in records:  # ... every one re-sealed
                self.assertNotEqual(after[x], old_values[x])
            # The history before the rekey is compacted: the old-key values cannot be read back.
            with self.assertRaises(urllib.error.HTTPError):
                self.kvs(prefix, revision=old_rev)

            # The old key file opens nothing; the new one opens everything.
            r = kmsctl("access-key", "list", "--data-dir", k.data_dir, "--key-file", key_path + ".old", *store)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("wrong", r.stderr.lower())
            k.start()
            kms = k.client("kms")
            self.assertEqual(kms.decrypt(CiphertextBlob=ct)["Plaintext"], b"survives a rekey")
            self.assertEqual(kms.describe_key(KeyId="alias/rekeyed")["KeyMetadata"]["KeyId"], kid)
        finally:
            k.cleanup()

    def test_rekey_to_a_passphrase_and_back(self):
        prefix = "rekey2"
        store = ["--store", self.cluster.store, "--etcd-prefix", prefix]
        k = Kmsd(*store)
        try:
            k.start()
            kid = k.client("kms").create_key()["KeyMetadata"]["KeyId"]
            k.stop()
            env = dict(os.environ, NEWPASS="correct horse battery staple")
            r = subprocess.run([KMSCTL_BIN, "rekey", "--data-dir", k.data_dir, "--new-passphrase-env", "NEWPASS",
                                *store], capture_output=True, text=True, timeout=120, env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertFalse(os.path.exists(os.path.join(k.data_dir, "master.key")))
            r = subprocess.run([KMSCTL_BIN, "access-key", "list", "--data-dir", k.data_dir, "--passphrase-env",
                                "NEWPASS", *store], capture_output=True, text=True, timeout=120, env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            k.env = {"NEWPASS": "correct horse battery staple"}
            k.start("--passphrase-env", "NEWPASS")
            self.assertEqual(k.client("kms").describe_key(KeyId=kid)["KeyMetadata"]["KeyId"], kid)
        finally:
            k.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
