"""Round 3 of issue 14 sized the plaintext buffers by the request (Encrypt by
the Plaintext member's decoded length, Decrypt by the ciphertext blob,
GenerateDataKey by the key length) instead of the largest plaintext. The
edges of every size must behave as before: every plaintext length around
the base64 block boundaries and at the 4096-byte limit round-trips, 4097
bytes is the same ValidationException, malformed base64 the same
SerializationException, a damaged or truncated blob InvalidCiphertext, and
data keys of 1 and 1024 bytes come back whole (checked against the blob
with Decrypt, and their lengths independently).
"""
import base64
import json
import os

from kmsd_harness import KmsdTestCase, main


class Sizes(KmsdTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kid = cls.kms.create_key()["KeyMetadata"]["KeyId"]

    def test_every_length_round_trips(self):
        lengths = list(range(1, 40)) + [4093, 4094, 4095, 4096]
        for n in lengths:
            pt = os.urandom(n)
            blob = self.kms.encrypt(KeyId=self.kid, Plaintext=pt)["CiphertextBlob"]
            self.assertEqual(self.kms.decrypt(CiphertextBlob=blob)["Plaintext"], pt, n)

    def test_over_the_limit_is_the_same_validation_error(self):
        for n in (4097, 4098, 4099, 5000):
            st, _, body = self.k.send(*self.k.kms_raw(
                "Encrypt", {"KeyId": self.kid, "Plaintext": base64.b64encode(os.urandom(n)).decode()}))
            j = json.loads(body)
            self.assertEqual((st, j["__type"]), (400, "ValidationException"), body)
            self.assertIn("Member must have length less than or equal to 4096", j["message"])

    def test_malformed_base64_is_refused(self):
        for text in ("QQ", "QQ=", "QQQ\u00c3", "Q===", "!!!!", "QUJD" * 1400 + "Q"):
            st, _, body = self.k.send(*self.k.kms_raw("Encrypt", {"KeyId": self.kid, "Plaintext": text}))
            j = json.loads(body)
            self.assertEqual((st, j["__type"]), (400, "SerializationException"), (text[:12], body))

    def test_damaged_and_truncated_blobs(self):
        pt = os.urandom(4096)
        blob = self.kms.encrypt(KeyId=self.kid, Plaintext=pt)["CiphertextBlob"]
        for bad in (blob[:-1], blob[:-16], blob[:len(blob) // 2], blob[:-1] + bytes([blob[-1] ^ 1]),
                    blob[:100] + bytes([blob[100] ^ 0x80]) + blob[101:], blob + b"\x00"):
            code = self.raises("InvalidCiphertextException", self.kms.decrypt, CiphertextBlob=bad)
            self.assertIsInstance(code, str)
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob)["Plaintext"], pt)

    def test_data_keys_of_every_edge_length(self):
        for n in (1, 2, 3, 16, 32, 33, 1023, 1024):
            r = self.kms.generate_data_key(KeyId=self.kid, NumberOfBytes=n)
            self.assertEqual(len(r["Plaintext"]), n)
            self.assertEqual(self.kms.decrypt(CiphertextBlob=r["CiphertextBlob"])["Plaintext"], r["Plaintext"])
        for spec, n in (("AES_256", 32), ("AES_128", 16)):
            r = self.kms.generate_data_key(KeyId=self.kid, KeySpec=spec)
            self.assertEqual(len(r["Plaintext"]), n)
        self.raises("ValidationException", self.kms.generate_data_key, KeyId=self.kid, NumberOfBytes=1025)


if __name__ == "__main__":
    main()
