"""The e2e suite, reduced for CI time, against kmsd over a 3-member etcd
(docs/scale-out.md): the same tests as over LMDB, run unchanged with
KMSD_STORE set so every kmsd the harness starts uses the cluster (each under
a prefix of its own). Set KMSD_ETCD_SUITE to a comma-separated list of test
modules to run more (the full suite: every tests/e2e/test_*.py module).
"""
import importlib
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from etcd_cluster import EtcdCluster  # noqa: E402

class OverEtcd(unittest.TestCase):
    """The harness's kmsd really keeps its records in etcd, sealed."""

    def test_records_live_in_etcd(self):
        import base64
        import hashlib
        import json
        import urllib.request
        from kmsd_harness import Kmsd
        with Kmsd() as k:
            kid = k.client("kms").create_key(Description="over-etcd-marker")["KeyMetadata"]["KeyId"]
            self.assertFalse(os.path.exists(os.path.join(k.data_dir, "data.mdb")))
            prefix = "e2e-" + hashlib.sha256(os.path.abspath(k.data_dir).encode()).hexdigest()[:16] + "/"
            ep = os.environ["KMSD_STORE"][len("etcd://"):].split(",")[0]
            body = {"key": base64.b64encode(prefix.encode()).decode(),
                    "range_end": base64.b64encode(prefix[:-1].encode() + b"0").decode()}
            req = urllib.request.Request("http://%s/v3/kv/range" % ep, data=json.dumps(body).encode(), method="POST")
            kvs = json.load(urllib.request.urlopen(req, timeout=5)).get("kvs", [])
            keys = [base64.b64decode(kv["key"]) for kv in kvs]
            self.assertTrue(any(kid.encode() in key for key in keys), keys)
            for kv in kvs:
                self.assertNotIn(b"over-etcd-marker", base64.b64decode(kv.get("value", "")))


REDUCED = ["test_kms_keys", "test_kms_aliases", "test_kms_crypto", "test_kms_states", "test_authz_grants",
           "test_sts_assume_role"]


def main():
    names = [n for n in os.environ.get("KMSD_ETCD_SUITE", ",".join(REDUCED)).split(",") if n]
    with EtcdCluster(3) as cluster:
        os.environ["KMSD_STORE"] = cluster.store
        suite = unittest.TestSuite()
        suite.addTests(unittest.defaultTestLoader.loadTestsFromTestCase(OverEtcd))
        for n in names:
            suite.addTests(unittest.defaultTestLoader.loadTestsFromModule(importlib.import_module(n)))
        result = unittest.TextTestRunner(verbosity=1).run(suite)
        print("over etcd %s: %d tests, %d failures, %d errors, %d skipped" %
              (cluster.endpoints, result.testsRun, len(result.failures), len(result.errors), len(result.skipped)))
        return 0 if result.wasSuccessful() and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
