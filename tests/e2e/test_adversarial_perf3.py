"""Round 4 of issue 14: a connection keeps its request-body buffer between
requests when it is small (CORE_MAX_KEPT_BODY_BYTES, 4 KiB), wiped after
each request, instead of allocating and freeing one per request. Requests of
alternating sizes on one keep-alive connection (bodies below, at and above
the kept size, so the buffer is kept, grown past it and freed, then started
again) must each read exactly their own body: every plaintext round-trips
and a short body after a long one is not read with the long one's tail.
"""
import os

from kmsd_harness import KmsdTestCase, main


class KeptBody(KmsdTestCase):
    def test_alternating_sizes_on_one_connection(self):
        kms = self.k.client("kms")  # one client, calls in sequence: urllib3 keeps one connection alive
        kid = kms.create_key()["KeyMetadata"]["KeyId"]
        sizes = [1, 4096, 1, 2000, 3, 4096, 4095, 1, 2900, 2, 1, 4096]
        blobs = []
        for n in sizes:
            pt = os.urandom(n)
            blob = kms.encrypt(KeyId=kid, Plaintext=pt)["CiphertextBlob"]
            blobs.append((pt, blob))
            self.assertEqual(kms.decrypt(CiphertextBlob=blob)["Plaintext"], pt, n)
        for pt, blob in reversed(blobs):
            self.assertEqual(kms.decrypt(CiphertextBlob=blob)["Plaintext"], pt, len(pt))


if __name__ == "__main__":
    main()
