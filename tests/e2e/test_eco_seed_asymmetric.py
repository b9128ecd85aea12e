"""Seeding asymmetric keys (docs/seed.md): local-kms's Keys.Asymmetric.Rsa and .Ecc entries with
PrivateKeyPem. The seeded key must be the PEM's key: its GetPublicKey is the PEM's public key, and what
kmsd signs verifies with Python `cryptography` against the ORIGINAL public key (never kmsd itself).
Bad entries are refused with FILE:LINE and nothing is seeded.
"""
import os
import subprocess
import textwrap
import unittest

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from kmsd_harness import KMSD_BIN, Kmsd, err, kmsctl, main

ACCT = "000000000000"


def pem_of(key, fmt=serialization.PrivateFormat.PKCS8, enc=None):
    return key.private_bytes(serialization.Encoding.PEM, fmt,
                             enc or serialization.NoEncryption()).decode()


def der_of(key):
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def spki(key):
    return key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def entry(key_id, pem, usage=None, extra_meta="", extra=""):
    meta = "          KeyId: %s\n" % key_id
    if usage:
        meta += "          KeyUsage: %s\n" % usage
    meta += extra_meta
    return ("      - Metadata:\n" + meta + "        PrivateKeyPem: |\n" +
            textwrap.indent(pem, " " * 10) + extra)


def write(k, name, text):
    path = os.path.join(k.root, name)
    with open(path, "w") as f:
        f.write(text)
    return path


RSA_SIGN = "11111111-0000-4000-8000-000000000001"
RSA_ENC = "11111111-0000-4000-8000-000000000002"
P256 = "11111111-0000-4000-8000-000000000003"
K1 = "11111111-0000-4000-8000-000000000004"
ED = "11111111-0000-4000-8000-000000000005"
P384_AGREE = "11111111-0000-4000-8000-000000000006"


class SeededAsymmetric(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rsa_sign = rsa.generate_private_key(65537, 2048)
        cls.rsa_enc = rsa.generate_private_key(65537, 3072)
        cls.p256 = ec.generate_private_key(ec.SECP256R1())
        cls.k1 = ec.generate_private_key(ec.SECP256K1())
        cls.ed = ed25519.Ed25519PrivateKey.generate()
        cls.p384 = ec.generate_private_key(ec.SECP384R1())
        cls.text = ("Keys:\n  Asymmetric:\n    Rsa:\n" +
                    entry(RSA_SIGN, pem_of(cls.rsa_sign, serialization.PrivateFormat.TraditionalOpenSSL),
                          "SIGN_VERIFY", "          Description: seeded rsa\n") +
                    entry(RSA_ENC, pem_of(cls.rsa_enc), "ENCRYPT_DECRYPT", "          KeySpec: RSA_3072\n") +
                    "    Ecc:\n" +
                    entry(P256, pem_of(cls.p256, serialization.PrivateFormat.TraditionalOpenSSL)) +
                    entry(K1, pem_of(cls.k1), "SIGN_VERIFY", "          KeySpec: ECC_SECG_P256K1\n") +
                    entry(ED, pem_of(cls.ed)) +
                    entry(P384_AGREE, pem_of(cls.p384), "KEY_AGREEMENT") +
                    "Aliases:\n  - AliasName: alias/seeded-signer\n    TargetKeyId: %s\n" % RSA_SIGN)

    def setUp(self):
        self.k = Kmsd()
        self.seed = write(self.k, "seed.yaml", self.text)

    def tearDown(self):
        self.k.cleanup()

    def test_seeded_keys_are_the_pem_keys(self):
        self.k.start("--seed", self.seed)
        kms = self.k.client("kms")
        want = {RSA_SIGN: (self.rsa_sign, "RSA_2048", "SIGN_VERIFY"),
                RSA_ENC: (self.rsa_enc, "RSA_3072", "ENCRYPT_DECRYPT"),
                P256: (self.p256, "ECC_NIST_P256", "SIGN_VERIFY"),
                K1: (self.k1, "ECC_SECG_P256K1", "SIGN_VERIFY"),
                ED: (self.ed, "ECC_NIST_EDWARDS25519", "SIGN_VERIFY"),
                P384_AGREE: (self.p384, "ECC_NIST_P384", "KEY_AGREEMENT")}
        for kid, (key, spec, usage) in want.items():
            md = kms.describe_key(KeyId=kid)["KeyMetadata"]
            self.assertEqual((md["KeySpec"], md["KeyUsage"], md["KeyState"]), (spec, usage, "Enabled"), kid)
            self.assertEqual(kms.get_public_key(KeyId=kid)["PublicKey"], spki(key), kid)
        self.assertEqual(kms.describe_key(KeyId="alias/seeded-signer")["KeyMetadata"]["Description"],
                         "seeded rsa")

        msg = b"signed by a seeded key"
        sig = kms.sign(KeyId=RSA_SIGN, Message=msg, SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
        self.rsa_sign.public_key().verify(sig, msg, padding.PSS(padding.MGF1(hashes.SHA256()), 32),
                                          hashes.SHA256())
        for kid, key in ((P256, self.p256), (K1, self.k1)):
            sig = kms.sign(KeyId=kid, Message=msg, SigningAlgorithm="ECDSA_SHA_256")["Signature"]
            key.public_key().verify(sig, msg, ec.ECDSA(hashes.SHA256()))
        sig = kms.sign(KeyId=ED, Message=msg, SigningAlgorithm="ED25519_SHA_512")["Signature"]
        self.ed.public_key().verify(sig, msg)

        ct = self.rsa_enc.public_key().encrypt(b"sealed outside", padding.OAEP(padding.MGF1(hashes.SHA256()),
                                                                            hashes.SHA256(), None))
        pt = kms.decrypt(KeyId=RSA_ENC, CiphertextBlob=ct, EncryptionAlgorithm="RSAES_OAEP_SHA_256")["Plaintext"]
        self.assertEqual(pt, b"sealed outside")

        peer = ec.generate_private_key(ec.SECP384R1())
        shared = kms.derive_shared_secret(KeyId=P384_AGREE, KeyAgreementAlgorithm="ECDH",
                                          PublicKey=spki(peer))["SharedSecret"]
        self.assertEqual(shared, peer.exchange(ec.ECDH(), self.p384.public_key()))

        # seeding again is idempotent: nothing changes, nothing is duplicated
        self.k.stop()
        self.k.start("--seed", self.seed)
        kms = self.k.client("kms")
        self.assertEqual(kms.get_public_key(KeyId=P256)["PublicKey"], spki(self.p256))

    def test_private_keys_are_sealed_on_disk(self):
        self.k.start("--seed", self.seed)
        self.k.stop()
        raw = b""
        for name in os.listdir(self.k.data_dir):
            p = os.path.join(self.k.data_dir, name)
            if os.path.isfile(p):
                with open(p, "rb") as f:
                    raw += f.read()
        for key in (self.rsa_sign, self.rsa_enc, self.p256, self.k1, self.ed, self.p384):
            der = der_of(key)
            self.assertNotIn(der, raw)
            self.assertNotIn(der[-40:], raw)  # the tail holds the private scalar / last CRT values
        d = self.rsa_sign.private_numbers().d.to_bytes(256, "big")
        self.assertNotIn(d[:64], raw)

    def test_kmsctl_seed_and_rotation_refused_at_runtime(self):
        rc, out, e = kmsctl("seed", "--data-dir", self.k.data_dir, self.seed)
        self.assertEqual(rc, 0, e)
        self.assertIn(b"seeded 6 keys, 1 aliases", out)
        self.k.start()
        kms = self.k.client("kms")
        # an asymmetric key does not rotate, as on AWS
        with self.assertRaises(Exception) as cm:
            kms.enable_key_rotation(KeyId=RSA_SIGN)
        self.assertEqual(err(cm.exception)[0], "UnsupportedOperationException")


class BadAsymmetricSeeds(unittest.TestCase):
    """Each bad entry is refused with FILE:LINE: reason, and nothing is seeded (not even the good key)."""

    GOOD = ("Keys:\n  Symmetric:\n    Aes:\n      - Metadata:\n          KeyId: bc436485-5092-42b8-92a3-0aa8b93536dc\n"
            "        BackingKeys:\n          - " + "ab" * 32 + "\n  Asymmetric:\n")

    def setUp(self):
        self.k = Kmsd()

    def tearDown(self):
        self.k.cleanup()

    def refused(self, body, line, reason, *extra_args):
        """line: the 1-based line number, or the text that starts the line the error is on."""
        text = self.GOOD + body
        if isinstance(line, str):
            line = next(i + 1 for i, t in enumerate(text.split("\n")) if t.lstrip().startswith(line))
        path = write(self.k, "bad.yaml", text)
        p = subprocess.run([KMSD_BIN, "--check-config", "--seed", path, *extra_args], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("%s:%d: %s" % (path, line, reason), p.stderr)
        rc, _, e = kmsctl("seed", "--data-dir", self.k.data_dir, *extra_args, path)
        self.assertEqual(rc, 1)
        self.assertIn(("%s:%d: %s" % (path, line, reason)).encode(), e)
        self.k.start()
        keys = [k["KeyId"] for k in self.k.client("kms").list_keys()["Keys"]]
        self.assertNotIn("bc436485-5092-42b8-92a3-0aa8b93536dc", keys)
        self.k.stop()

    # The entry's PrivateKeyPem scalar starts on line 13 (GOOD is 8 lines, then Rsa/Ecc, "- Metadata", KeyId,
    # KeyUsage).
    def test_encrypted_pem(self):
        key = ec.generate_private_key(ec.SECP256R1())
        pem = pem_of(key, enc=serialization.BestAvailableEncryption(b"pw"))
        self.refused("    Ecc:\n" + entry(P256, pem, "SIGN_VERIFY"), 13,
                     "PrivateKeyPem is not an unencrypted PEM private key")

    def test_public_key_and_garbage(self):
        key = ec.generate_private_key(ec.SECP256R1())
        pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        self.refused("    Ecc:\n" + entry(P256, pub, "SIGN_VERIFY"), 13,
                     "PrivateKeyPem is not an unencrypted PEM private key")
        self.refused("    Ecc:\n" + entry(P256, "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
                                          "SIGN_VERIFY"), 13, "PrivateKeyPem is not an unencrypted PEM private key")
        self.refused("    Ecc:\n" + entry(P256, "not a key at all\n", "SIGN_VERIFY"), 13,
                     "PrivateKeyPem is not an unencrypted PEM private key")

    def test_key_no_spec_takes(self):
        weak = rsa.generate_private_key(65537, 1024)
        self.refused("    Rsa:\n" + entry(RSA_SIGN, pem_of(weak), "SIGN_VERIFY"), 13,
                     "PrivateKeyPem holds a key no KMS KeySpec takes")
        other_curve = ec.generate_private_key(ec.SECP224R1())
        self.refused("    Ecc:\n" + entry(P256, pem_of(other_curve), "SIGN_VERIFY"), 13,
                     "PrivateKeyPem holds a key no KMS KeySpec takes")

    def test_wrong_list_spec_and_usage(self):
        p384 = ec.generate_private_key(ec.SECP384R1())
        self.refused("    Rsa:\n" + entry(RSA_SIGN, pem_of(p384), "SIGN_VERIFY"), 13,
                     "PrivateKeyPem holds a ECC_NIST_P384 key, which belongs under Keys.Asymmetric.Ecc")
        r = rsa.generate_private_key(65537, 2048)
        self.refused("    Ecc:\n" + entry(P256, pem_of(r), "SIGN_VERIFY"), 13,
                     "PrivateKeyPem holds a RSA_2048 key, which belongs under Keys.Asymmetric.Rsa")
        self.refused("    Rsa:\n" + entry(RSA_SIGN, pem_of(r), "SIGN_VERIFY", "          KeySpec: RSA_4096\n"), 13,
                     "KeySpec does not match PrivateKeyPem, a RSA_2048 key")
        self.refused("    Rsa:\n" + entry(RSA_SIGN, pem_of(r), "KEY_AGREEMENT"), 12,
                     "KeyUsage KEY_AGREEMENT is not valid for a RSA_2048 key")
        self.refused("    Rsa:\n" + entry(RSA_SIGN, pem_of(r)), 12,
                     "an Rsa key needs Metadata.KeyUsage")
        k1 = ec.generate_private_key(ec.SECP256K1())
        self.refused("    Ecc:\n" + entry(K1, pem_of(k1), "KEY_AGREEMENT"), 12,
                     "KeyUsage KEY_AGREEMENT is not valid for a ECC_SECG_P256K1 key")
        self.refused("    Ecc:\n" + entry(K1, pem_of(k1), '"SIGN_VERIFY\\0"'), 12,
                     "KeyUsage must not contain a NUL character")
        self.refused("    Ecc:\n" + entry(K1, pem_of(k1), "SIGN_VERIFY" * 4), 12, "KeyUsage must be")

    def test_rotation_and_backing_keys_refused(self):
        key = ec.generate_private_key(ec.SECP256R1())
        self.refused("    Ecc:\n" + entry(P256, pem_of(key), "SIGN_VERIFY", extra="        EnableKeyRotation: true\n"),
                     "EnableKeyRotation:", "EnableKeyRotation applies to Aes keys only")
        self.refused("    Ecc:\n" + entry(P256, pem_of(key), "SIGN_VERIFY",
                                          extra="        BackingKeys: [%s]\n" % ("cd" * 32)),
                     "BackingKeys: [cd", "BackingKeys applies to Aes keys only")

    def test_pem_in_an_aes_key(self):
        key = ec.generate_private_key(ec.SECP256R1())
        body = ("  Symmetric:\n    Aes:\n      - Metadata: {KeyId: %s}\n        BackingKeys: [%s]\n"
                "        PrivateKeyPem: |\n%s" % (P256, "cd" * 32, textwrap.indent(pem_of(key), " " * 10)))
        path = write(self.k, "bad.yaml", "Keys:\n" + body)
        p = subprocess.run([KMSD_BIN, "--check-config", "--seed", path], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("PrivateKeyPem applies to Keys.Asymmetric entries, not Aes keys", p.stderr)

    def test_sm2_outside_china(self):
        p = subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2"],
                           capture_output=True, text=True, timeout=30)
        if p.returncode != 0 or "PRIVATE KEY" not in p.stdout:
            self.skipTest("this openssl cannot generate SM2 keys")
        self.refused("    Ecc:\n" + entry(P256, p.stdout, "SIGN_VERIFY"), 13,
                     "SM2 keys are supported only in the China Regions, not in us-east-1")


if __name__ == "__main__":
    main()
