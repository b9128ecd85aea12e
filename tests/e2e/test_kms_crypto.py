"""KMS cryptography end to end: Encrypt, Decrypt, ReEncrypt,
GenerateDataKey(WithoutPlaintext) with every key-identifier form,
encryption-context binding, tampered blobs, IncorrectKeyException, DryRun,
validation messages, a 1 MiB client-side envelope round trip, and the aws
CLI's encrypt/decrypt."""
import base64
import json
import os
import subprocess
import tempfile
import unittest

import botocore.exceptions
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kmsd_harness import KmsdTestCase, err, main

ACCOUNT = "000000000000"


class Crypto(KmsdTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        md = cls.kms.create_key(Description="crypto")["KeyMetadata"]
        cls.kid, cls.arn = md["KeyId"], md["Arn"]
        cls.kms.create_alias(AliasName="alias/crypto", TargetKeyId=cls.kid)
        cls.other = cls.kms.create_key()["KeyMetadata"]["KeyId"]

    def raw(self, op, payload):
        st, _, body = self.k.send(*self.k.kms_raw(op, payload))
        j = json.loads(body)
        return st, j.get("__type"), j.get("message", j)

    def idents(self):
        return (self.kid, self.arn, "alias/crypto", "arn:aws:kms:us-east-1:%s:alias/crypto" % ACCOUNT)

    def test_encrypt_decrypt_every_identifier_form(self):
        for ident in self.idents():
            r = self.kms.encrypt(KeyId=ident, Plaintext=b"data for " + ident.encode())
            self.assertEqual(r["KeyId"], self.arn)
            self.assertEqual(r["EncryptionAlgorithm"], "SYMMETRIC_DEFAULT")
            d = self.kms.decrypt(CiphertextBlob=r["CiphertextBlob"])
            self.assertEqual(d["Plaintext"], b"data for " + ident.encode())
            self.assertEqual(d["KeyId"], self.arn)
            self.assertRegex(d["KeyMaterialId"], r"^[0-9a-f]{64}$")
            # Decrypt with KeyId in any form naming the same key
            d = self.kms.decrypt(CiphertextBlob=r["CiphertextBlob"], KeyId=ident,
                                 EncryptionAlgorithm="SYMMETRIC_DEFAULT")
            self.assertEqual(d["KeyId"], self.arn)

    def test_fresh_nonce_and_sizes(self):
        a = self.kms.encrypt(KeyId=self.kid, Plaintext=b"same")["CiphertextBlob"]
        b = self.kms.encrypt(KeyId=self.kid, Plaintext=b"same")["CiphertextBlob"]
        self.assertNotEqual(a, b)
        big = os.urandom(4096)
        blob = self.kms.encrypt(KeyId=self.kid, Plaintext=big)["CiphertextBlob"]
        self.assertLessEqual(len(blob), 6144)
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob)["Plaintext"], big)
        st, code, msg = self.raw("Encrypt", {"KeyId": self.kid, "Plaintext": base64.b64encode(b"x" * 4097).decode()})
        self.assertEqual((st, code), (400, "ValidationException"))
        self.assertEqual(msg, "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
                              "Member must have length less than or equal to 4096")
        st, code, msg = self.raw("Encrypt", {"KeyId": self.kid, "Plaintext": ""})
        self.assertEqual(code, "ValidationException")
        self.assertIn("Member must have length greater than or equal to 1", msg)
        st, code, msg = self.raw("Encrypt", {"KeyId": self.kid, "Plaintext": "!!!not base64"})
        self.assertEqual(code, "SerializationException")
        st, code, msg = self.raw("Encrypt", {"KeyId": self.kid})
        self.assertEqual(msg, "1 validation error detected: Value null at 'plaintext' failed to satisfy constraint: "
                              "Member must not be null")
        st, code, msg = self.raw("Encrypt", {})
        self.assertTrue(msg.startswith("2 validation errors detected: "), msg)

    def test_encryption_context_binding(self):
        ctx = {"purpose": "test", "Department": "10"}
        blob = self.kms.encrypt(KeyId=self.kid, Plaintext=b"ctx", EncryptionContext=ctx)["CiphertextBlob"]
        # order of pairs does not matter
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob, EncryptionContext=dict(reversed(list(ctx.items()))))
                         ["Plaintext"], b"ctx")
        for bad in ({}, {"purpose": "test"}, {"purpose": "test", "Department": "11"},
                    dict(ctx, extra="x"), {"purpose": "test", "department": "10"}):
            kw = {"EncryptionContext": bad} if bad else {}
            self.raises("InvalidCiphertextException", self.kms.decrypt, CiphertextBlob=blob, **kw)
        plain = self.kms.encrypt(KeyId=self.kid, Plaintext=b"no ctx")["CiphertextBlob"]
        self.raises("InvalidCiphertextException", self.kms.decrypt, CiphertextBlob=plain, EncryptionContext={"a": "b"})
        st, code, _ = self.raw("Encrypt", {"KeyId": self.kid, "Plaintext": "eA==", "EncryptionContext": {"a": 1}})
        self.assertEqual(code, "SerializationException")
        st, code, _ = self.raw("Encrypt", {"KeyId": self.kid, "Plaintext": "eA==", "EncryptionContext": ["a"]})
        self.assertEqual(code, "SerializationException")

    def test_tampered_and_foreign_blobs(self):
        blob = bytearray(self.kms.encrypt(KeyId=self.kid, Plaintext=b"tamper me")["CiphertextBlob"])
        for i in range(0, len(blob), 3):
            bad = bytearray(blob)
            bad[i] ^= 0x20
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                self.kms.decrypt(CiphertextBlob=bytes(bad))
            self.assertIn(err(cm.exception)[0], ("InvalidCiphertextException", "NotFoundException",
                                                  "AccessDeniedException"), i)
        self.raises("InvalidCiphertextException", self.kms.decrypt, CiphertextBlob=bytes(blob[:-1]))
        self.raises("InvalidCiphertextException", self.kms.decrypt, CiphertextBlob=os.urandom(100))
        self.raises("InvalidCiphertextException", self.kms.decrypt, CiphertextBlob=b"\x01")
        # the server still serves after garbage
        self.assertEqual(self.kms.decrypt(CiphertextBlob=bytes(blob))["Plaintext"], b"tamper me")

    def test_incorrect_key(self):
        blob = self.kms.encrypt(KeyId=self.kid, Plaintext=b"k")["CiphertextBlob"]
        m = self.raises("IncorrectKeyException", self.kms.decrypt, CiphertextBlob=blob, KeyId=self.other)
        self.assertIn("does not identify", m)
        self.raises("NotFoundException", self.kms.decrypt, CiphertextBlob=blob,
                    KeyId="11111111-2222-4333-8444-555555555555")
        self.raises("NotFoundException", self.kms.decrypt, CiphertextBlob=blob, KeyId="alias/nothing-here")

    def test_other_region_cannot_decrypt(self):
        blob = self.kms.encrypt(KeyId=self.kid, Plaintext=b"regional")["CiphertextBlob"]
        self.raises("InvalidCiphertextException", self.k.client("kms", region="eu-west-1").decrypt,
                    CiphertextBlob=blob)

    def test_re_encrypt(self):
        blob = self.kms.encrypt(KeyId=self.kid, Plaintext=b"move me", EncryptionContext={"a": "1"})["CiphertextBlob"]
        r = self.kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext={"a": "1"},
                                DestinationKeyId=self.other, DestinationEncryptionContext={"b": "2"})
        self.assertEqual(r["SourceKeyId"], self.arn)
        self.assertEqual(r["KeyId"], "arn:aws:kms:us-east-1:%s:key/%s" % (ACCOUNT, self.other))
        self.assertEqual(r["SourceEncryptionAlgorithm"], "SYMMETRIC_DEFAULT")
        self.assertEqual(r["DestinationEncryptionAlgorithm"], "SYMMETRIC_DEFAULT")
        self.assertRegex(r["SourceKeyMaterialId"], "^[0-9a-f]{64}$")
        d = self.kms.decrypt(CiphertextBlob=r["CiphertextBlob"], EncryptionContext={"b": "2"})
        self.assertEqual((d["Plaintext"], d["KeyId"]), (b"move me", r["KeyId"]))
        self.raises("InvalidCiphertextException", self.kms.decrypt, CiphertextBlob=r["CiphertextBlob"])
        self.raises("InvalidCiphertextException", self.kms.re_encrypt, CiphertextBlob=blob,
                    DestinationKeyId=self.other)
        self.raises("IncorrectKeyException", self.kms.re_encrypt, CiphertextBlob=blob, SourceKeyId=self.other,
                    SourceEncryptionContext={"a": "1"}, DestinationKeyId=self.kid)
        for ident in self.idents():
            r = self.kms.re_encrypt(CiphertextBlob=blob, SourceKeyId=ident, SourceEncryptionContext={"a": "1"},
                                    DestinationKeyId=ident)
            self.assertEqual(self.kms.decrypt(CiphertextBlob=r["CiphertextBlob"])["Plaintext"], b"move me")
        self.raises("NotFoundException", self.kms.re_encrypt, CiphertextBlob=blob, SourceEncryptionContext={"a": "1"},
                    DestinationKeyId="alias/none")

    def test_generate_data_key(self):
        for ident in self.idents():
            r = self.kms.generate_data_key(KeyId=ident, KeySpec="AES_256", EncryptionContext={"f": "x"})
            self.assertEqual(len(r["Plaintext"]), 32)
            self.assertEqual(r["KeyId"], self.arn)
            d = self.kms.decrypt(CiphertextBlob=r["CiphertextBlob"], EncryptionContext={"f": "x"})
            self.assertEqual(d["Plaintext"], r["Plaintext"])
        self.assertEqual(len(self.kms.generate_data_key(KeyId=self.kid, KeySpec="AES_128")["Plaintext"]), 16)
        for n in (1, 64, 1024):
            r = self.kms.generate_data_key(KeyId=self.kid, NumberOfBytes=n)
            self.assertEqual(len(r["Plaintext"]), n)
        r = self.kms.generate_data_key_without_plaintext(KeyId="alias/crypto", KeySpec="AES_256")
        self.assertNotIn("Plaintext", r)
        self.assertEqual(len(self.kms.decrypt(CiphertextBlob=r["CiphertextBlob"])["Plaintext"]), 32)
        r = self.kms.generate_data_key_without_plaintext(KeyId=self.kid, NumberOfBytes=7)
        self.assertEqual(len(self.kms.decrypt(CiphertextBlob=r["CiphertextBlob"])["Plaintext"]), 7)
        for op in ("GenerateDataKey", "GenerateDataKeyWithoutPlaintext"):
            st, code, msg = self.raw(op, {"KeyId": self.kid})
            self.assertEqual(code, "ValidationException", msg)
            st, code, msg = self.raw(op, {"KeyId": self.kid, "KeySpec": "AES_256", "NumberOfBytes": 32})
            self.assertEqual(code, "ValidationException", msg)
            st, code, msg = self.raw(op, {"KeyId": self.kid, "NumberOfBytes": 1025})
            self.assertIn("Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value "
                          "less than or equal to 1024", msg)
            st, code, msg = self.raw(op, {"KeyId": self.kid, "KeySpec": "AES_512"})
            self.assertIn("Member must satisfy enum value set: [AES_256, AES_128]", msg)

    def test_dry_run_grant_tokens_algorithm(self):
        self.raises("DryRunOperationException", self.kms.encrypt, KeyId=self.kid, Plaintext=b"x", DryRun=True)
        # grant tokens are checked: one this server did not issue is refused, as AWS does
        self.raises("InvalidGrantTokenException", self.kms.encrypt, KeyId=self.kid, Plaintext=b"x",
                    GrantTokens=["tok1", "tok2"])
        blob = self.kms.encrypt(KeyId=self.kid, Plaintext=b"x")["CiphertextBlob"]
        self.raises("DryRunOperationException", self.kms.decrypt, CiphertextBlob=blob, DryRun=True)
        self.raises("DryRunOperationException", self.kms.generate_data_key, KeyId=self.kid, KeySpec="AES_256",
                    DryRun=True)
        self.raises("DryRunOperationException", self.kms.re_encrypt, CiphertextBlob=blob, DestinationKeyId=self.kid,
                    DryRun=True)
        st, _, _ = self.raw("Encrypt", {"KeyId": self.kid, "Plaintext": "eA==", "DryRun": True})
        self.assertEqual(st, 412)
        st, code, msg = self.raw("Encrypt", {"KeyId": self.kid, "Plaintext": "eA==", "GrantTokens": ["t"] * 11})
        self.assertEqual(code, "ValidationException")
        self.assertIn("'grantTokens'", msg)
        self.raises("InvalidKeyUsageException", self.kms.encrypt, KeyId=self.kid, Plaintext=b"x",
                    EncryptionAlgorithm="RSAES_OAEP_SHA_256")
        st, code, msg = self.raw("Encrypt", {"KeyId": self.kid, "Plaintext": "eA==", "EncryptionAlgorithm": "AES"})
        self.assertIn("Member must satisfy enum value set: [SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1", msg)

    def test_envelope_encryption_1mib(self):
        data = os.urandom(1 << 20)
        r = self.kms.generate_data_key(KeyId="alias/crypto", KeySpec="AES_256", EncryptionContext={"file": "big"})
        nonce = os.urandom(12)
        sealed = AESGCM(r["Plaintext"]).encrypt(nonce, data, b"big")
        wrapped = r["CiphertextBlob"]
        del r  # discard the plaintext data key
        key = self.kms.decrypt(CiphertextBlob=wrapped, EncryptionContext={"file": "big"})["Plaintext"]
        self.assertEqual(AESGCM(key).decrypt(nonce, sealed, b"big"), data)

    def test_cli_encrypt_decrypt(self):
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "plain.bin")
            with open(src, "wb") as f:
                f.write(b"cli secret \x00\x01\x02")
            _, out, _ = self.k.cli("kms", "encrypt", "--key-id", "alias/crypto", "--plaintext", "fileb://" + src,
                                   "--encryption-context", "app=cli")
            self.assertEqual(out["KeyId"], self.arn)
            blob = os.path.join(d, "blob.bin")
            with open(blob, "wb") as f:
                f.write(base64.b64decode(out["CiphertextBlob"]))
            _, out, _ = self.k.cli("kms", "decrypt", "--ciphertext-blob", "fileb://" + blob,
                                   "--encryption-context", "app=cli")
            self.assertEqual(base64.b64decode(out["Plaintext"]), b"cli secret \x00\x01\x02")
            rc, _, stderr = self.k.cli("kms", "decrypt", "--ciphertext-blob", "fileb://" + blob, check=False)
            self.assertNotEqual(rc, 0)
            self.assertIn("InvalidCiphertextException", stderr)
            _, out, _ = self.k.cli("kms", "generate-data-key", "--key-id", self.kid, "--key-spec", "AES_128")
            self.assertEqual(len(base64.b64decode(out["Plaintext"])), 16)
            _, out, _ = self.k.cli("kms", "re-encrypt", "--ciphertext-blob", "fileb://" + blob,
                                   "--source-encryption-context", "app=cli", "--destination-key-id", self.other)
            self.assertTrue(out["KeyId"].endswith(self.other))


if __name__ == "__main__":
    main()
