"""Encrypt/Decrypt/ReEncrypt with RSA ENCRYPT_DECRYPT keys (issue 11, part 3):
RSAES-OAEP with SHA-1 and SHA-256 agreeing with Python `cryptography` both
ways (kmsd encrypts, cryptography decrypts is impossible without the private
key, so: cryptography encrypts with GetPublicKey's key and kmsd decrypts;
kmsd encrypts and its own Decrypt and the OAEP structure are checked), AWS's
plaintext limits per spec and algorithm, EncryptionAlgorithm required and
checked, no encryption context for asymmetric keys, ReEncrypt between
symmetric and asymmetric keys both ways, and SM2PKE in a China Region."""
import os
import subprocess

import botocore.exceptions
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from kmsd_harness import KmsdTestCase, err, main

LIMITS = {("RSA_2048", "RSAES_OAEP_SHA_1"): 214, ("RSA_2048", "RSAES_OAEP_SHA_256"): 190,
          ("RSA_3072", "RSAES_OAEP_SHA_1"): 342, ("RSA_3072", "RSAES_OAEP_SHA_256"): 318,
          ("RSA_4096", "RSAES_OAEP_SHA_1"): 470, ("RSA_4096", "RSAES_OAEP_SHA_256"): 446}


def oaep(alg):
    h = hashes.SHA1() if alg.endswith("SHA_1") else hashes.SHA256()
    return padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None)


class AsymmetricEncrypt(KmsdTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rsa = {s: cls.kms.create_key(KeySpec=s, KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
                   for s in ("RSA_2048", "RSA_3072", "RSA_4096")}
        cls.sym = cls.kms.create_key()["KeyMetadata"]

    def fails(self, code, fn, **kw):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(**kw)
        c, m = err(cm.exception)
        self.assertEqual(c, code, m)
        return m

    def test_oaep_round_trips_and_agrees_with_cryptography(self):
        for (spec, alg), limit in LIMITS.items():
            md = self.rsa[spec]
            pub = serialization.load_der_public_key(self.kms.get_public_key(KeyId=md["KeyId"])["PublicKey"])
            pt = os.urandom(limit)
            r = self.kms.encrypt(KeyId=md["KeyId"], Plaintext=pt, EncryptionAlgorithm=alg)
            self.assertEqual(r["EncryptionAlgorithm"], alg)
            self.assertEqual(len(r["CiphertextBlob"]), pub.key_size // 8)  # raw OAEP output, not our envelope
            d = self.kms.decrypt(KeyId=md["KeyId"], CiphertextBlob=r["CiphertextBlob"], EncryptionAlgorithm=alg)
            self.assertEqual(d["Plaintext"], pt)
            self.assertEqual(d["KeyId"], md["Arn"])
            self.assertEqual(d["EncryptionAlgorithm"], alg)
            self.assertNotIn("KeyMaterialId", d)
            # a ciphertext made outside with GetPublicKey's key decrypts
            outside = pub.encrypt(b"made outside", oaep(alg))
            self.assertEqual(self.kms.decrypt(KeyId=md["Arn"], CiphertextBlob=outside,
                                              EncryptionAlgorithm=alg)["Plaintext"], b"made outside")
            # the other OAEP hash does not
            other = "RSAES_OAEP_SHA_256" if alg.endswith("SHA_1") else "RSAES_OAEP_SHA_1"
            self.fails("InvalidCiphertextException", self.kms.decrypt, KeyId=md["KeyId"], CiphertextBlob=outside,
                       EncryptionAlgorithm=other)
            # AWS's plaintext limit
            self.fails("ValidationException", self.kms.encrypt, KeyId=md["KeyId"], Plaintext=os.urandom(limit + 1),
                       EncryptionAlgorithm=alg)

    def test_algorithm_required_and_checked(self):
        kid = self.rsa["RSA_2048"]["KeyId"]
        m = self.fails("InvalidKeyUsageException", self.kms.encrypt, KeyId=kid, Plaintext=b"x")
        self.assertEqual(m, "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.")
        self.fails("InvalidKeyUsageException", self.kms.encrypt, KeyId=kid, Plaintext=b"x", EncryptionAlgorithm="SM2PKE")
        m = self.fails("InvalidKeyUsageException", self.kms.encrypt, KeyId=self.sym["KeyId"], Plaintext=b"x",
                       EncryptionAlgorithm="RSAES_OAEP_SHA_256")
        self.assertEqual(m, "Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec SYMMETRIC_DEFAULT.")
        self.fails("ValidationException", self.kms.encrypt, KeyId=kid, Plaintext=b"x",
                   EncryptionAlgorithm="RSAES_OAEP_SHA_256", EncryptionContext={"a": "b"})
        blob = self.kms.encrypt(KeyId=kid, Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
        self.fails("ValidationException", self.kms.decrypt, CiphertextBlob=blob, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
        self.fails("InvalidCiphertextException", self.kms.decrypt, KeyId=kid, CiphertextBlob=blob)
        bad = bytearray(blob)
        bad[5] ^= 1
        self.fails("InvalidCiphertextException", self.kms.decrypt, KeyId=kid, CiphertextBlob=bytes(bad),
                   EncryptionAlgorithm="RSAES_OAEP_SHA_256")
        sign = self.kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
        m = self.fails("InvalidKeyUsageException", self.kms.encrypt, KeyId=sign["KeyId"], Plaintext=b"x",
                       EncryptionAlgorithm="RSAES_OAEP_SHA_256")
        self.assertEqual(m, "%s key usage is SIGN_VERIFY which is not valid for Encrypt." % sign["Arn"])
        self.fails("InvalidKeyUsageException", self.kms.generate_data_key, KeyId=kid, KeySpec="AES_256")

    def test_re_encrypt_both_ways(self):
        rsa = self.rsa["RSA_3072"]
        sym_blob = self.kms.encrypt(KeyId=self.sym["KeyId"], Plaintext=b"moving", EncryptionContext={"a": "1"})[
            "CiphertextBlob"]
        r = self.kms.re_encrypt(CiphertextBlob=sym_blob, SourceEncryptionContext={"a": "1"},
                                DestinationKeyId=rsa["KeyId"], DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_256")
        self.assertEqual((r["SourceEncryptionAlgorithm"], r["DestinationEncryptionAlgorithm"]),
                         ("SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_256"))
        self.assertEqual(r["KeyId"], rsa["Arn"])
        self.assertEqual(len(r["CiphertextBlob"]), 384)
        back = self.kms.re_encrypt(CiphertextBlob=r["CiphertextBlob"], SourceKeyId=rsa["KeyId"],
                                   SourceEncryptionAlgorithm="RSAES_OAEP_SHA_256", DestinationKeyId=self.sym["KeyId"],
                                   DestinationEncryptionContext={"b": "2"})
        self.assertEqual(back["SourceKeyId"], rsa["Arn"])
        self.assertEqual(self.kms.decrypt(CiphertextBlob=back["CiphertextBlob"],
                                          EncryptionContext={"b": "2"})["Plaintext"], b"moving")
        # an asymmetric destination takes no context; RSA to RSA works too
        self.fails("ValidationException", self.kms.re_encrypt, CiphertextBlob=sym_blob,
                   SourceEncryptionContext={"a": "1"}, DestinationKeyId=rsa["KeyId"],
                   DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_1", DestinationEncryptionContext={"x": "y"})
        r2 = self.kms.re_encrypt(CiphertextBlob=r["CiphertextBlob"], SourceKeyId=rsa["KeyId"],
                                 SourceEncryptionAlgorithm="RSAES_OAEP_SHA_256", DestinationKeyId=rsa["KeyId"],
                                 DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_1")
        self.assertEqual(self.kms.decrypt(KeyId=rsa["KeyId"], CiphertextBlob=r2["CiphertextBlob"],
                                          EncryptionAlgorithm="RSAES_OAEP_SHA_1")["Plaintext"], b"moving")

    def test_sm2pke_in_china(self):
        cn = self.k.client("kms", region="cn-northwest-1")
        kid = cn.create_key(KeySpec="SM2", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
        self.assertEqual(cn.describe_key(KeyId=kid)["KeyMetadata"]["EncryptionAlgorithms"], ["SM2PKE"])
        pt = os.urandom(1024)
        blob = cn.encrypt(KeyId=kid, Plaintext=pt, EncryptionAlgorithm="SM2PKE")["CiphertextBlob"]
        self.assertEqual(cn.decrypt(KeyId=kid, CiphertextBlob=blob, EncryptionAlgorithm="SM2PKE")["Plaintext"], pt)
        # a ciphertext made with the openssl CLI and GetPublicKey's key decrypts
        d = os.path.join(self.k.root, "sm2pke")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "pub.der"), "wb") as f:
            f.write(cn.get_public_key(KeyId=kid)["PublicKey"])
        with open(os.path.join(d, "msg"), "wb") as f:
            f.write(b"encrypted by openssl")
        p = subprocess.run(["openssl", "pkeyutl", "-encrypt", "-pubin", "-keyform", "DER", "-inkey",
                            os.path.join(d, "pub.der"), "-in", os.path.join(d, "msg"), "-out", os.path.join(d, "ct")],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(d, "ct"), "rb") as f:
            ct = f.read()
        self.assertEqual(cn.decrypt(KeyId=kid, CiphertextBlob=ct, EncryptionAlgorithm="SM2PKE")["Plaintext"],
                         b"encrypted by openssl")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            cn.encrypt(KeyId=kid, Plaintext=pt + b"x", EncryptionAlgorithm="SM2PKE")
        self.assertEqual(err(cm.exception)[0], "ValidationException")


if __name__ == "__main__":
    main()
