"""Destruction over etcd (docs/scale-out.md, "Destruction over etcd"): once a key
scheduled for deletion is destroyed, its material is gone from the current
keyspace AND from etcd's history (compacted), so no older revision still
serves the sealed material. The LMDB counterpart, which scans data.mdb, is
test_adversarial_keystore.Destruction."""
import base64
import os
import sys
import time
import unittest
import urllib.error

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from etcd_cluster import EtcdCluster  # noqa: E402
from kmsd_harness import Kmsd  # noqa: E402

DAY = 86400


class EtcdDestroy(unittest.TestCase):
    def setUp(self):
        self.cluster = EtcdCluster(1).start()
        self.addCleanup(self.cluster.stop)
        self.k = Kmsd("--store", self.cluster.store, "--etcd-prefix", "destroy")
        self.addCleanup(self.k.cleanup)
        self.clock = os.path.join(self.k.root, "clock")
        self.days_ahead(0)
        self.k.extra_args += ["--clock-file", self.clock]
        self.kms = self.k.start().client("kms")

    def days_ahead(self, days):
        with open(self.clock + ".tmp", "w") as f:
            f.write("%ds\n" % (days * DAY))
        os.replace(self.clock + ".tmp", self.clock)

    def kvs(self, revision=None):
        body = {"key": base64.b64encode(b"destroy/").decode(), "range_end": base64.b64encode(b"destroy0").decode()}
        if revision:
            body["revision"] = revision
        j = self.cluster.post(0, "/v3/kv/range", body)
        return int(j["header"]["revision"]), [(base64.b64decode(kv["key"]), base64.b64decode(kv.get("value", "")))
                                              for kv in j.get("kvs", [])]

    def test_destroyed_material_leaves_etcd_history(self):
        kms = self.kms
        doomed = kms.create_key()["KeyMetadata"]["KeyId"]
        keep = kms.create_key()["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=doomed, Plaintext=b"secret")["CiphertextBlob"]
        kept = kms.encrypt(KeyId=keep, Plaintext=b"kept")["CiphertextBlob"]
        kms.rotate_key_on_demand(KeyId=doomed)
        rev, kvs = self.kvs()
        doomed_records = [k for k, _ in kvs if doomed.encode() in k]
        self.assertGreaterEqual(len(doomed_records), 2, [k for k, _ in kvs])  # metadata and material

        kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
        # Still readable at the older revision before the destruction: what the compaction must end.
        _, old = self.kvs(revision=rev)
        self.assertTrue(any(doomed.encode() in k for k, _ in old))
        self.days_ahead(8)
        deadline = time.time() + 30
        while True:
            try:
                kms.describe_key(KeyId=doomed)
            except kms.exceptions.NotFoundException:
                break
            self.assertLess(time.time(), deadline, "key not destroyed after its deletion date")
            time.sleep(0.2)
        with self.assertRaises(Exception):
            kms.decrypt(CiphertextBlob=blob)
        _, now = self.kvs()
        self.assertEqual([k for k, _ in now if doomed.encode() in k], [])
        # The history up to the destruction is compacted: no revision that held the material answers.
        with self.assertRaises(urllib.error.HTTPError) as cm:
            self.kvs(revision=rev)
        self.assertIn(b"compacted", cm.exception.read())
        self.assertEqual(kms.decrypt(CiphertextBlob=kept)["Plaintext"], b"kept")


if __name__ == "__main__":
    unittest.main(verbosity=2)
