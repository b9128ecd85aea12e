"""Asymmetric and HMAC KMS keys end to end (issue 11): CreateKey with every
KeySpec/KeyUsage AWS accepts, DescribeKey metadata, GetPublicKey, Sign and
Verify with every signing algorithm checked by Python `cryptography` with
GetPublicKey's key, GenerateMac/VerifyMac, the negative vectors with AWS's
exact errors, rotation refusals, and the aws CLI."""
import base64
import hashlib
import json
import os
import subprocess
import unittest

import botocore.exceptions
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from kmsd_harness import KmsdTestCase, err, main

RSA_SIGN = ["RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_256",
            "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"]
# KeySpec -> (KeyUsage, list member, algorithms) as DescribeKey shows them on AWS.
EXPECT = {
    ("RSA_2048", "SIGN_VERIFY"): ("SigningAlgorithms", RSA_SIGN),
    ("RSA_3072", "SIGN_VERIFY"): ("SigningAlgorithms", RSA_SIGN),
    ("RSA_4096", "SIGN_VERIFY"): ("SigningAlgorithms", RSA_SIGN),
    ("RSA_2048", "ENCRYPT_DECRYPT"): ("EncryptionAlgorithms", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]),
    ("RSA_4096", "ENCRYPT_DECRYPT"): ("EncryptionAlgorithms", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]),
    ("ECC_NIST_P256", "SIGN_VERIFY"): ("SigningAlgorithms", ["ECDSA_SHA_256"]),
    ("ECC_NIST_P384", "SIGN_VERIFY"): ("SigningAlgorithms", ["ECDSA_SHA_384"]),
    ("ECC_NIST_P521", "SIGN_VERIFY"): ("SigningAlgorithms", ["ECDSA_SHA_512"]),
    ("ECC_NIST_P256", "KEY_AGREEMENT"): ("KeyAgreementAlgorithms", ["ECDH"]),
    ("ECC_NIST_P521", "KEY_AGREEMENT"): ("KeyAgreementAlgorithms", ["ECDH"]),
    ("ECC_SECG_P256K1", "SIGN_VERIFY"): ("SigningAlgorithms", ["ECDSA_SHA_256"]),
    ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY"): ("SigningAlgorithms", ["ED25519_SHA_512", "ED25519_PH_SHA_512"]),
    ("HMAC_224", "GENERATE_VERIFY_MAC"): ("MacAlgorithms", ["HMAC_SHA_224"]),
    ("HMAC_256", "GENERATE_VERIFY_MAC"): ("MacAlgorithms", ["HMAC_SHA_256"]),
    ("HMAC_384", "GENERATE_VERIFY_MAC"): ("MacAlgorithms", ["HMAC_SHA_384"]),
    ("HMAC_512", "GENERATE_VERIFY_MAC"): ("MacAlgorithms", ["HMAC_SHA_512"]),
}
LISTS = ("SigningAlgorithms", "EncryptionAlgorithms", "MacAlgorithms", "KeyAgreementAlgorithms")
HASH = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


def hash_of(alg):
    return HASH[alg.rsplit("_", 1)[1]]()


def digest(alg, msg):
    h = hashes.Hash(hash_of(alg))
    h.update(msg)
    return h.finalize()


def py_verify(pub_der, alg, msg, sig):
    """Raises InvalidSignature unless sig is alg's signature of msg under pub_der (cryptography)."""
    pub = serialization.load_der_public_key(pub_der)
    if alg.startswith("RSASSA_PSS"):
        h = hash_of(alg)
        pub.verify(sig, msg, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), h)
    elif alg.startswith("RSASSA_PKCS1"):
        pub.verify(sig, msg, padding.PKCS1v15(), hash_of(alg))
    elif alg.startswith("ECDSA"):
        pub.verify(sig, msg, ec.ECDSA(hash_of(alg)))
    elif alg == "ED25519_SHA_512":
        pub.verify(sig, msg)
    else:
        raise AssertionError(alg)


class Asymmetric(KmsdTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.keys = {}
        for spec, usage in EXPECT:
            cls.keys[(spec, usage)] = cls.kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]

    def key(self, spec, usage="SIGN_VERIFY"):
        return self.keys[(spec, usage)]["KeyId"]

    def fails(self, code, fn, **kw):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(**kw)
        c, m = err(cm.exception)
        self.assertEqual(c, code, m)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        return m

    # ---- CreateKey and metadata ----------------------------------------------------------

    def test_metadata_of_every_spec(self):
        for (spec, usage), md in self.keys.items():
            member, algs = EXPECT[(spec, usage)]
            d = self.kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]
            self.assertEqual(d, md)
            self.assertEqual(d["KeySpec"], spec)
            self.assertEqual(d["CustomerMasterKeySpec"] if spec != "ECC_NIST_EDWARDS25519" else spec, spec)
            if spec == "ECC_NIST_EDWARDS25519":
                self.assertNotIn("CustomerMasterKeySpec", d)
            self.assertEqual(d["KeyUsage"], usage)
            self.assertEqual(d[member], algs, spec)
            for other in LISTS:
                if other != member:
                    self.assertNotIn(other, d, (spec, other))
            self.assertNotIn("CurrentKeyMaterialId", d)
            self.assertEqual(d["Origin"], "AWS_KMS")
        ids = set()
        for page in self.kms.get_paginator("list_keys").paginate():
            ids |= {k["KeyId"] for k in page["Keys"]}
        self.assertTrue({md["KeyId"] for md in self.keys.values()} <= ids)

    def test_create_key_refusals(self):
        m = self.fails("ValidationException", self.kms.create_key, KeySpec="RSA_2048")
        self.assertEqual(m, "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.")
        for spec, usage in (("RSA_2048", "GENERATE_VERIFY_MAC"), ("RSA_2048", "KEY_AGREEMENT"),
                            ("ECC_NIST_P256", "ENCRYPT_DECRYPT"), ("ECC_SECG_P256K1", "KEY_AGREEMENT"),
                            ("ECC_NIST_EDWARDS25519", "ENCRYPT_DECRYPT"), ("HMAC_256", "SIGN_VERIFY"),
                            ("SYMMETRIC_DEFAULT", "SIGN_VERIFY"), ("ECC_NIST_EDWARDS25519", "KEY_AGREEMENT")):
            m = self.fails("ValidationException", self.kms.create_key, KeySpec=spec, KeyUsage=usage)
            self.assertEqual(m, "KeyUsage %s is not compatible with KeySpec %s" % (usage, spec))
        m = self.fails("UnsupportedOperationException", self.kms.create_key, KeySpec="SM2", KeyUsage="SIGN_VERIFY")
        self.assertIn("China Regions", m)
        m = self.fails("UnsupportedOperationException", self.kms.create_key, KeySpec="ML_DSA_44",
                       KeyUsage="SIGN_VERIFY")
        self.assertIn("ML-DSA", m)
        self.assertIn("OpenSSL", m)

    def test_sm2_in_china_regions(self):
        cn = self.k.client("kms", region="cn-north-1")
        for usage in ("SIGN_VERIFY", "ENCRYPT_DECRYPT", "KEY_AGREEMENT"):
            md = cn.create_key(KeySpec="SM2", KeyUsage=usage)["KeyMetadata"]
            self.assertTrue(md["Arn"].startswith("arn:aws-cn:kms:cn-north-1:"), md["Arn"])
            self.assertEqual(md["KeySpec"], "SM2")
        kid = cn.create_key(KeySpec="SM2", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        self.assertEqual(cn.describe_key(KeyId=kid)["KeyMetadata"]["SigningAlgorithms"], ["SM2DSA"])
        # A RAW SM2DSA signature verifies with the openssl CLI: SM3 over Z (distinguishing ID
        # 1234567812345678, as AWS documents) and the message, with GetPublicKey's key.
        pub = cn.get_public_key(KeyId=kid)["PublicKey"]
        d = os.path.join(self.k.root, "sm2")
        os.makedirs(d, exist_ok=True)
        for name, data in (("pub.der", pub), ("msg", b"sm2 message")):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        sig = cn.sign(KeyId=kid, Message=b"sm2 message", SigningAlgorithm="SM2DSA")["Signature"]
        for name, data in (("good.sig", sig), ("bad.sig", sig[:-1] + bytes([sig[-1] ^ 1]))):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        cmd = ["openssl", "pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", os.path.join(d, "pub.der"),
               "-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678", "-in", os.path.join(d, "msg"),
               "-sigfile"]
        ok = subprocess.run(cmd + [os.path.join(d, "good.sig")], capture_output=True, text=True)
        self.assertEqual(ok.returncode, 0, ok.stderr + ok.stdout)
        bad = subprocess.run(cmd + [os.path.join(d, "bad.sig")], capture_output=True, text=True)
        self.assertNotEqual(bad.returncode, 0)
        for mtype, msg in (("RAW", b"sm2 message"), ("DIGEST", os.urandom(32))):
            sig = cn.sign(KeyId=kid, Message=msg, MessageType=mtype, SigningAlgorithm="SM2DSA")["Signature"]
            self.assertTrue(cn.verify(KeyId=kid, Message=msg, MessageType=mtype, Signature=sig,
                                      SigningAlgorithm="SM2DSA")["SignatureValid"])
            bad = bytearray(sig)
            bad[-1] ^= 1
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                cn.verify(KeyId=kid, Message=msg, MessageType=mtype, Signature=bytes(bad), SigningAlgorithm="SM2DSA")
            self.assertEqual(err(cm.exception)[0], "KMSInvalidSignatureException")

    # ---- GetPublicKey -------------------------------------------------------------------------

    def test_get_public_key(self):
        for (spec, usage), md in self.keys.items():
            if spec.startswith("HMAC"):
                m = self.fails("UnsupportedOperationException", self.kms.get_public_key, KeyId=md["KeyId"])
                self.assertIn("GENERATE_VERIFY_MAC", m)
                continue
            r = self.kms.get_public_key(KeyId=md["KeyId"])
            self.assertEqual(r["KeyId"], md["Arn"])
            self.assertEqual((r["KeySpec"], r["KeyUsage"]), (spec, usage))
            member, algs = EXPECT[(spec, usage)]
            self.assertEqual(r[member], algs)
            pub = serialization.load_der_public_key(r["PublicKey"])
            if spec.startswith("RSA"):
                self.assertIsInstance(pub, rsa.RSAPublicKey)
                self.assertEqual(pub.key_size, int(spec[4:]))
            elif spec == "ECC_NIST_EDWARDS25519":
                self.assertIsInstance(pub, ed25519.Ed25519PublicKey)
            else:
                curve = {"ECC_NIST_P256": "secp256r1", "ECC_NIST_P384": "secp384r1", "ECC_NIST_P521": "secp521r1",
                         "ECC_SECG_P256K1": "secp256k1"}[spec]
                self.assertEqual(pub.curve.name, curve)
        sym = self.kms.create_key()["KeyMetadata"]["KeyId"]
        self.fails("UnsupportedOperationException", self.kms.get_public_key, KeyId=sym)

    # ---- Sign and Verify ------------------------------------------------------------------------

    def sign_cases(self):
        for spec in ("RSA_2048", "RSA_3072", "RSA_4096"):
            for alg in RSA_SIGN:
                yield spec, alg
        yield "ECC_NIST_P256", "ECDSA_SHA_256"
        yield "ECC_NIST_P384", "ECDSA_SHA_384"
        yield "ECC_NIST_P521", "ECDSA_SHA_512"
        yield "ECC_SECG_P256K1", "ECDSA_SHA_256"

    def test_every_algorithm_verifies_with_cryptography(self):
        msg = b"message signed by kmsd " + os.urandom(16)
        for spec, alg in self.sign_cases():
            kid = self.key(spec)
            pub = self.kms.get_public_key(KeyId=kid)["PublicKey"]
            r = self.kms.sign(KeyId=kid, Message=msg, SigningAlgorithm=alg)
            self.assertEqual(r["SigningAlgorithm"], alg)
            py_verify(pub, alg, msg, r["Signature"])
            with self.assertRaises(InvalidSignature):
                py_verify(pub, alg, msg + b"!", r["Signature"])
            self.assertTrue(self.kms.verify(KeyId=kid, Message=msg, Signature=r["Signature"],
                                            SigningAlgorithm=alg)["SignatureValid"])
            # DIGEST: the algorithm's hash of the message, signed as is: the same signature semantics.
            d = digest(alg, msg)
            r = self.kms.sign(KeyId=kid, Message=d, MessageType="DIGEST", SigningAlgorithm=alg)
            py_verify(pub, alg, msg, r["Signature"])
            self.assertTrue(self.kms.verify(KeyId=kid, Message=d, MessageType="DIGEST", Signature=r["Signature"],
                                            SigningAlgorithm=alg)["SignatureValid"])
            # A RAW verify of the digest hashes it again: not valid.
            self.fails("KMSInvalidSignatureException", self.kms.verify, KeyId=kid, Message=d,
                       Signature=r["Signature"], SigningAlgorithm=alg)

    def test_ed25519(self):
        kid = self.key("ECC_NIST_EDWARDS25519")
        pub = self.kms.get_public_key(KeyId=kid)["PublicKey"]
        msg = b"pure ed25519 over the whole message" * 100
        sig = self.kms.sign(KeyId=kid, Message=msg, SigningAlgorithm="ED25519_SHA_512")["Signature"]
        self.assertEqual(len(sig), 64)
        py_verify(pub, "ED25519_SHA_512", msg, sig)
        self.assertTrue(self.kms.verify(KeyId=kid, Message=msg, Signature=sig,
                                        SigningAlgorithm="ED25519_SHA_512")["SignatureValid"])
        m = self.fails("ValidationException", self.kms.sign, KeyId=kid, Message=hashlib.sha512(msg).digest(),
                       MessageType="DIGEST", SigningAlgorithm="ED25519_SHA_512")
        self.assertIn("DIGEST", m)
        # Ed25519ph (RFC 8032 HashEdDSA): RAW hashes with SHA-512, DIGEST is that hash; the two agree.
        ph = hashlib.sha512(msg).digest()
        s1 = self.kms.sign(KeyId=kid, Message=msg, SigningAlgorithm="ED25519_PH_SHA_512")["Signature"]
        s2 = self.kms.sign(KeyId=kid, Message=ph, MessageType="DIGEST",
                           SigningAlgorithm="ED25519_PH_SHA_512")["Signature"]
        self.assertEqual(s1, s2)  # deterministic
        with self.assertRaises(InvalidSignature):  # not a pure Ed25519 signature
            py_verify(pub, "ED25519_SHA_512", msg, s1)
        self.assertTrue(self.kms.verify(KeyId=kid, Message=ph, MessageType="DIGEST", Signature=s1,
                                        SigningAlgorithm="ED25519_PH_SHA_512")["SignatureValid"])
        self.fails("KMSInvalidSignatureException", self.kms.verify, KeyId=kid, Message=msg, Signature=s1,
                   SigningAlgorithm="ED25519_SHA_512")

    def test_externally_signed_with_the_right_key_only(self):
        # Verify accepts a signature only when it was made with the key's own private key.
        kid = self.key("ECC_NIST_P256")
        other = ec.generate_private_key(ec.SECP256R1())
        msg = b"signed elsewhere"
        sig = other.sign(msg, ec.ECDSA(hashes.SHA256()))
        self.fails("KMSInvalidSignatureException", self.kms.verify, KeyId=kid, Message=msg, Signature=sig,
                   SigningAlgorithm="ECDSA_SHA_256")

    def test_sign_negative_vectors(self):
        p256 = self.key("ECC_NIST_P256")
        arn = self.keys[("ECC_NIST_P256", "SIGN_VERIFY")]["Arn"]
        # wrong algorithm for the key spec
        m = self.fails("InvalidKeyUsageException", self.kms.sign, KeyId=p256, Message=b"x",
                       SigningAlgorithm="ECDSA_SHA_384")
        self.assertEqual(m, "Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256.")
        self.fails("InvalidKeyUsageException", self.kms.sign, KeyId=self.key("RSA_2048"), Message=b"x",
                   SigningAlgorithm="ECDSA_SHA_256")
        # a DIGEST of the wrong length
        m = self.fails("ValidationException", self.kms.sign, KeyId=p256, Message=b"\x01" * 31, MessageType="DIGEST",
                       SigningAlgorithm="ECDSA_SHA_256")
        self.assertEqual(m, "Digest is invalid length for algorithm ECDSA_SHA_256.")
        self.fails("ValidationException", self.kms.sign, KeyId=self.key("RSA_2048"), Message=b"\x01" * 32,
                   MessageType="DIGEST", SigningAlgorithm="RSASSA_PSS_SHA_512")
        # a message over 4096 bytes
        m = self.fails("ValidationException", self.kms.sign, KeyId=p256, Message=b"a" * 4097,
                       SigningAlgorithm="ECDSA_SHA_256")
        self.assertIn("at 'message' failed to satisfy constraint: Member must have length less than or equal to 4096",
                      m)
        self.kms.sign(KeyId=p256, Message=b"a" * 4096, SigningAlgorithm="ECDSA_SHA_256")
        # a tampered signature
        sig = bytearray(self.kms.sign(KeyId=p256, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")["Signature"])
        sig[10] ^= 0x40
        self.fails("KMSInvalidSignatureException", self.kms.verify, KeyId=p256, Message=b"m", Signature=bytes(sig),
                   SigningAlgorithm="ECDSA_SHA_256")
        # the key's usage
        sym = self.kms.create_key()["KeyMetadata"]
        m = self.fails("InvalidKeyUsageException", self.kms.sign, KeyId=sym["KeyId"], Message=b"x",
                       SigningAlgorithm="ECDSA_SHA_256")
        self.assertEqual(m, "%s key usage is ENCRYPT_DECRYPT which is not valid for Sign." % sym["Arn"])
        m = self.fails("InvalidKeyUsageException", self.kms.encrypt, KeyId=p256, Plaintext=b"x")
        self.assertEqual(m, "%s key usage is SIGN_VERIFY which is not valid for Encrypt." % arn)
        self.fails("InvalidKeyUsageException", self.kms.generate_data_key, KeyId=p256, KeySpec="AES_256")
        # SigningAlgorithm is required
        self.fails("ValidationException", self.raw_sign, KeyId=p256, Message=base64.b64encode(b"x").decode())

    def raw_sign(self, **payload):
        st, _, body = self.k.send(*self.k.kms_raw("Sign", payload))
        j = json.loads(body)
        if st != 200:
            raise botocore.exceptions.ClientError({"Error": {"Code": j["__type"], "Message": j.get("message", "")},
                                                   "ResponseMetadata": {"HTTPStatusCode": st}}, "Sign")
        return j

    def test_disabled_and_pending_deletion(self):
        md = self.kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
        kid, arn = md["KeyId"], md["Arn"]
        sig = self.kms.sign(KeyId=kid, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
        self.kms.disable_key(KeyId=kid)
        m = self.fails("DisabledException", self.kms.sign, KeyId=kid, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
        self.assertEqual(m, "%s is disabled." % arn)
        self.fails("DisabledException", self.kms.verify, KeyId=kid, Message=b"m", Signature=sig,
                   SigningAlgorithm="ECDSA_SHA_256")
        self.fails("DisabledException", self.kms.get_public_key, KeyId=kid)
        self.kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
        m = self.fails("KMSInvalidStateException", self.kms.sign, KeyId=kid, Message=b"m",
                       SigningAlgorithm="ECDSA_SHA_256")
        self.assertEqual(m, "%s is pending deletion." % arn)
        self.fails("KMSInvalidStateException", self.kms.get_public_key, KeyId=kid)
        h = self.kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
        self.kms.disable_key(KeyId=h)
        self.fails("DisabledException", self.kms.generate_mac, KeyId=h, Message=b"m", MacAlgorithm="HMAC_SHA_256")

    def test_rotation_refused(self):
        for spec, usage in (("RSA_2048", "SIGN_VERIFY"), ("HMAC_256", "GENERATE_VERIFY_MAC")):
            md = self.keys[(spec, usage)]
            for fn in (self.kms.enable_key_rotation, self.kms.rotate_key_on_demand,
                       self.kms.get_key_rotation_status):
                self.fails("UnsupportedOperationException", fn, KeyId=md["KeyId"])

    def test_dry_run(self):
        kid = self.key("ECC_NIST_P256")
        self.assertEqual(self.raw_sign_status(kid), 412)

    def raw_sign_status(self, kid):
        st, _, body = self.k.send(*self.k.kms_raw("Sign", {
            "KeyId": kid, "Message": base64.b64encode(b"x").decode(), "SigningAlgorithm": "ECDSA_SHA_256",
            "DryRun": True}))
        self.assertEqual(json.loads(body)["__type"], "DryRunOperationException")
        return st

    # ---- HMAC ------------------------------------------------------------------------------------

    def test_generate_and_verify_mac(self):
        for n in ("224", "256", "384", "512"):
            kid = self.key("HMAC_" + n, "GENERATE_VERIFY_MAC")
            alg = "HMAC_SHA_" + n
            r = self.kms.generate_mac(KeyId=kid, Message=b"mac me", MacAlgorithm=alg)
            self.assertEqual(len(r["Mac"]), int(n) // 8)
            self.assertEqual(r["MacAlgorithm"], alg)
            self.assertEqual(self.kms.generate_mac(KeyId=kid, Message=b"mac me", MacAlgorithm=alg)["Mac"], r["Mac"])
            self.assertTrue(self.kms.verify_mac(KeyId=kid, Message=b"mac me", Mac=r["Mac"],
                                                MacAlgorithm=alg)["MacValid"])
            bad = bytearray(r["Mac"])
            bad[0] ^= 1
            self.fails("KMSInvalidMacException", self.kms.verify_mac, KeyId=kid, Message=b"mac me", Mac=bytes(bad),
                       MacAlgorithm=alg)
            self.fails("KMSInvalidMacException", self.kms.verify_mac, KeyId=kid, Message=b"mac me",
                       Mac=r["Mac"][:-1], MacAlgorithm=alg)
            self.fails("KMSInvalidMacException", self.kms.verify_mac, KeyId=kid, Message=b"mac mE", Mac=r["Mac"],
                       MacAlgorithm=alg)
        k256 = self.key("HMAC_256", "GENERATE_VERIFY_MAC")
        m = self.fails("InvalidKeyUsageException", self.kms.generate_mac, KeyId=k256, Message=b"m",
                       MacAlgorithm="HMAC_SHA_512")
        self.assertEqual(m, "Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256.")
        self.fails("InvalidKeyUsageException", self.kms.generate_mac, KeyId=self.key("ECC_NIST_P256"), Message=b"m",
                   MacAlgorithm="HMAC_SHA_256")
        self.fails("InvalidKeyUsageException", self.kms.sign, KeyId=k256, Message=b"m",
                   SigningAlgorithm="ECDSA_SHA_256")
        self.fails("ValidationException", self.kms.generate_mac, KeyId=k256, Message=b"m" * 4097,
                   MacAlgorithm="HMAC_SHA_256")

    # ---- aws CLI ------------------------------------------------------------------------------------

    def test_aws_cli(self):
        kid = self.key("ECC_NIST_P256")
        msg_file = os.path.join(self.k.root, "cli-msg.bin")
        with open(msg_file, "wb") as f:
            f.write(b"signed through the aws CLI")
        _, r, _ = self.k.cli("kms", "sign", "--key-id", kid, "--message", "fileb://" + msg_file,
                             "--signing-algorithm", "ECDSA_SHA_256")
        sig = base64.b64decode(r["Signature"])
        _, pub, _ = self.k.cli("kms", "get-public-key", "--key-id", kid)
        self.assertEqual(pub["KeySpec"], "ECC_NIST_P256")
        py_verify(base64.b64decode(pub["PublicKey"]), "ECDSA_SHA_256", b"signed through the aws CLI", sig)
        sig_file = os.path.join(self.k.root, "cli-sig.bin")
        with open(sig_file, "wb") as f:
            f.write(sig)
        _, v, _ = self.k.cli("kms", "verify", "--key-id", kid, "--message", "fileb://" + msg_file,
                             "--signature", "fileb://" + sig_file, "--signing-algorithm", "ECDSA_SHA_256")
        self.assertTrue(v["SignatureValid"])
        h = self.key("HMAC_256", "GENERATE_VERIFY_MAC")
        _, mac, _ = self.k.cli("kms", "generate-mac", "--key-id", h, "--message", "fileb://" + msg_file,
                               "--mac-algorithm", "HMAC_SHA_256")
        self.assertEqual(len(base64.b64decode(mac["Mac"])), 32)


if __name__ == "__main__":
    main()
