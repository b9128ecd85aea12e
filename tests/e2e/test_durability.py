"""Acknowledged writes survive kill -9: drive CreateKey from several
threads, SIGKILL kmsd mid-load, restart on the same data directory and
check that every key whose CreateKey was acknowledged is there."""
import threading
import time
import unittest

import botocore.exceptions

from kmsd_harness import Kmsd, main


class Durability(unittest.TestCase):
    def test_kill9_mid_load_keeps_every_acknowledged_create_key(self):
        k = Kmsd()
        try:
            k.start()
            acked = []
            lock = threading.Lock()
            stop = threading.Event()

            def writer(n):
                kms = k.client("kms")
                i = 0
                while not stop.is_set():
                    try:
                        meta = kms.create_key(Description="durability %d/%d" % (n, i))["KeyMetadata"]
                    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                        return  # the server died under us: this write was never acknowledged
                    with lock:
                        acked.append((meta["KeyId"], "durability %d/%d" % (n, i)))
                    i += 1

            threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
            for t in threads:
                t.start()
            deadline = time.time() + 30
            while time.time() < deadline:
                with lock:
                    if len(acked) >= 150:
                        break
                time.sleep(0.01)
            k.kill9()
            stop.set()
            for t in threads:
                t.join(timeout=60)
            self.assertGreater(len(acked), 20, "too few writes acknowledged before the kill")

            k.start()
            kms = k.client("kms")
            for key_id, desc in acked:
                meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
                self.assertEqual(meta["Description"], desc)
                self.assertEqual(meta["KeyState"], "Enabled")
            # the keys are usable, not just listed
            key_id = acked[-1][0]
            blob = kms.encrypt(KeyId=key_id, Plaintext=b"survived")["CiphertextBlob"]
            self.assertEqual(kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"survived")
        finally:
            k.cleanup()


if __name__ == "__main__":
    main()
