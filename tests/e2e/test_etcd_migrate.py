"""kmsctl migrate (docs/scale-out.md, "Runbook"): an LMDB keystore copied to
etcd and back, sealed as it is; kmsd over the copy decrypts what the
original encrypted, keeps its aliases, and the keystore's values in etcd are
ciphertext only. A destination that already holds records is refused."""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from etcd_cluster import EtcdCluster  # noqa: E402
from kmsd_harness import KMSCTL_BIN, Kmsd  # noqa: E402



def migrate(*args):
    return subprocess.run([KMSCTL_BIN, "migrate"] + list(args), capture_output=True, text=True, timeout=120)


class Migrate(unittest.TestCase):
    def test_lmdb_to_etcd_and_back(self):
        os.environ.pop("KMSD_STORE", None)
        work = tempfile.mkdtemp(prefix="kmsd-migrate-")
        try:
            with EtcdCluster(1) as cl:
                a = Kmsd(data_dir=os.path.join(work, "a")).start()
                kms = a.client("kms")
                kid = kms.create_key(Description="migrated")["KeyMetadata"]["KeyId"]
                kms.create_alias(AliasName="alias/migrated", TargetKeyId=kid)
                ct = kms.encrypt(KeyId="alias/migrated", Plaintext=b"secret-through-migration")["CiphertextBlob"]
                dk = kms.generate_data_key(KeyId=kid, KeySpec="AES_256")
                a.stop()

                r = migrate("--from", "lmdb:" + a.data_dir, "--to", cl.store, "--etcd-prefix", "mig")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("copied", r.stdout)
                # Every value in etcd is sealed: no plaintext of the data key's material.
                body = {"key": base64.b64encode(b"mig/").decode(), "range_end": base64.b64encode(b"mig0").decode()}
                req = urllib.request.Request("http://%s/v3/kv/range" % cl.endpoints, method="POST",
                                             data=json.dumps(body).encode())
                kvs = json.load(urllib.request.urlopen(req, timeout=5))["kvs"]
                self.assertGreater(len(kvs), 3)
                for kv in kvs:
                    self.assertNotIn(b"migrated", base64.b64decode(kv["value"]))
                # Migrating again into the now non-empty prefix is refused.
                r = migrate("--from", "lmdb:" + a.data_dir, "--to", cl.store, "--etcd-prefix", "mig")
                self.assertNotEqual(r.returncode, 0)

                # kmsd over etcd (same data dir: its key file and admin credentials).
                e = Kmsd("--store", cl.store, "--etcd-prefix", "mig", data_dir=a.data_dir).start()
                ekms = e.client("kms")
                self.assertEqual(ekms.decrypt(CiphertextBlob=ct)["Plaintext"], b"secret-through-migration")
                self.assertEqual(ekms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"], dk["Plaintext"])
                aliases = {x["AliasName"]: x.get("TargetKeyId") for x in ekms.list_aliases()["Aliases"]}
                self.assertEqual(aliases.get("alias/migrated"), kid)
                ct2 = ekms.encrypt(KeyId=kid, Plaintext=b"written-over-etcd")["CiphertextBlob"]
                e.stop()

                # And back, into a new LMDB directory, with the same key file.
                bdir = os.path.join(work, "b")
                r = migrate("--from", cl.store, "--etcd-prefix", "mig", "--to", "lmdb:" + bdir,
                            "--key-file", os.path.join(a.data_dir, "master.key"))
                self.assertEqual(r.returncode, 0, r.stderr)
                shutil.copy(os.path.join(a.data_dir, "admin-credentials"), bdir)
                b = Kmsd("--key-file", os.path.join(a.data_dir, "master.key"), data_dir=bdir).start()
                bkms = b.client("kms")
                self.assertEqual(bkms.decrypt(CiphertextBlob=ct)["Plaintext"], b"secret-through-migration")
                self.assertEqual(bkms.decrypt(CiphertextBlob=ct2)["Plaintext"], b"written-over-etcd")
                b.stop()
                for k in (a, e, b):
                    k.cleanup()
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
