"""GenerateDataKeyPair(WithoutPlaintext) and DeriveSharedSecret end to end
(issue 11, parts 4 and 5): every KeyPairSpec, the private key PKCS#8 DER
encrypted under a symmetric key with the encryption context, the public key
DER SPKI matching it, signatures made outside with a generated pair accepted
by kmsd's Verify only where they should be, both sides of an ECDH agreeing
(checked with Python `cryptography`), the aws CLI's generate-data-key-pair,
and the RSA pool keeping RSA_4096 fast once warm."""
import os

import botocore.exceptions
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from kmsd_harness import KmsdTestCase, err, main

SPECS = ["RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1",
         "ECC_NIST_EDWARDS25519"]


def pub_der(priv):
    return priv.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)


class DataKeyPairs(KmsdTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sym = cls.kms.create_key()["KeyMetadata"]

    def fails(self, code, fn, **kw):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(**kw)
        c, m = err(cm.exception)
        self.assertEqual(c, code, m)
        return m

    def test_every_key_pair_spec(self):
        for spec in SPECS:
            ctx = {"purpose": spec}
            r = self.kms.generate_data_key_pair(KeyId=self.sym["KeyId"], KeyPairSpec=spec, EncryptionContext=ctx)
            self.assertEqual((r["KeyId"], r["KeyPairSpec"]), (self.sym["Arn"], spec))
            self.assertRegex(r["KeyMaterialId"], "^[0-9a-f]{64}$")
            priv = serialization.load_der_private_key(r["PrivateKeyPlaintext"], password=None)
            self.assertEqual(pub_der(priv), r["PublicKey"])
            if spec.startswith("RSA"):
                self.assertIsInstance(priv, rsa.RSAPrivateKey)
                self.assertEqual(priv.key_size, int(spec[4:]))
            elif spec == "ECC_NIST_EDWARDS25519":
                self.assertIsInstance(priv, ed25519.Ed25519PrivateKey)
            else:
                self.assertIsInstance(priv, ec.EllipticCurvePrivateKey)
            d = self.kms.decrypt(CiphertextBlob=r["PrivateKeyCiphertextBlob"], EncryptionContext=ctx)
            self.assertEqual(d["Plaintext"], r["PrivateKeyPlaintext"])
            self.fails("InvalidCiphertextException", self.kms.decrypt, CiphertextBlob=r["PrivateKeyCiphertextBlob"])
            w = self.kms.generate_data_key_pair_without_plaintext(KeyId=self.sym["Arn"], KeyPairSpec=spec)
            self.assertNotIn("PrivateKeyPlaintext", w)
            p = self.kms.decrypt(CiphertextBlob=w["PrivateKeyCiphertextBlob"])["Plaintext"]
            self.assertEqual(pub_der(serialization.load_der_private_key(p, password=None)), w["PublicKey"])
        seen = {self.kms.generate_data_key_pair(KeyId=self.sym["KeyId"], KeyPairSpec="ECC_NIST_P256")["PublicKey"]
                for _ in range(3)}
        self.assertEqual(len(seen), 3)

    def test_refusals(self):
        self.fails("UnsupportedOperationException", self.kms.generate_data_key_pair, KeyId=self.sym["KeyId"],
                   KeyPairSpec="SM2")
        m = self.fails("ValidationException", self.kms.generate_data_key_pair, KeyId=self.sym["KeyId"],
                       KeyPairSpec="RSA_1024")
        self.assertIn("Member must satisfy enum value set: [RSA_2048, RSA_3072, RSA_4096, ECC_NIST_P256", m)
        asym = self.kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
        m = self.fails("InvalidKeyUsageException", self.kms.generate_data_key_pair, KeyId=asym["KeyId"],
                       KeyPairSpec="ECC_NIST_P256")
        self.assertEqual(m, "%s key usage is ENCRYPT_DECRYPT which is not valid for GenerateDataKeyPair." % asym["Arn"])
        self.kms.disable_key(KeyId=self.kms.create_key()["KeyMetadata"]["KeyId"])
        k = self.kms.create_key()["KeyMetadata"]["KeyId"]
        self.kms.disable_key(KeyId=k)
        self.fails("DisabledException", self.kms.generate_data_key_pair_without_plaintext, KeyId=k,
                   KeyPairSpec="ECC_NIST_P256")

    def test_outside_signatures_verified_only_with_the_right_key(self):
        # Verify with an ECC key pair imported? No: kmsd keys never leave; a pair from GenerateDataKeyPair is the
        # caller's. A signature made with that pair verifies against its public key, never against a kmsd key.
        r = self.kms.generate_data_key_pair(KeyId=self.sym["KeyId"], KeyPairSpec="ECC_NIST_P256")
        priv = serialization.load_der_private_key(r["PrivateKeyPlaintext"], password=None)
        sig = priv.sign(b"outside", ec.ECDSA(hashes.SHA256()))
        serialization.load_der_public_key(r["PublicKey"]).verify(sig, b"outside", ec.ECDSA(hashes.SHA256()))
        kms_key = self.kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        self.fails("KMSInvalidSignatureException", self.kms.verify, KeyId=kms_key, Message=b"outside", Signature=sig,
                   SigningAlgorithm="ECDSA_SHA_256")

    def test_aws_cli(self):
        _, r, _ = self.k.cli("kms", "generate-data-key-pair", "--key-id", self.sym["KeyId"], "--key-pair-spec",
                             "ECC_NIST_P384")
        self.assertEqual(r["KeyPairSpec"], "ECC_NIST_P384")
        import base64
        priv = serialization.load_der_private_key(base64.b64decode(r["PrivateKeyPlaintext"]), password=None)
        self.assertEqual(priv.curve.name, "secp384r1")

    def test_rsa_pool_pairs_are_distinct_and_valid(self):
        # Whether a pair came from the background pool is checked by count in unit.kms_asym_pool_test
        # (no timing assertions here); what a client sees is a valid, fresh pair each time.
        seen = set()
        for _ in range(3):
            r = self.kms.generate_data_key_pair(KeyId=self.sym["KeyId"], KeyPairSpec="RSA_2048")
            priv = serialization.load_der_private_key(r["PrivateKeyPlaintext"], None)
            self.assertEqual(priv.key_size, 2048)
            self.assertEqual(priv.public_key().public_bytes(serialization.Encoding.DER,
                                                             serialization.PublicFormat.SubjectPublicKeyInfo),
                             r["PublicKey"])
            seen.add(r["PublicKey"])
        self.assertEqual(len(seen), 3)

    # ---- DeriveSharedSecret ----------------------------------------------------------------------------

    def test_ecdh_both_sides_agree(self):
        for spec, curve in (("ECC_NIST_P256", ec.SECP256R1()), ("ECC_NIST_P384", ec.SECP384R1()),
                            ("ECC_NIST_P521", ec.SECP521R1())):
            md = self.kms.create_key(KeySpec=spec, KeyUsage="KEY_AGREEMENT")["KeyMetadata"]
            theirs = ec.generate_private_key(curve)
            r = self.kms.derive_shared_secret(KeyId=md["KeyId"], KeyAgreementAlgorithm="ECDH",
                                              PublicKey=pub_der(theirs))
            self.assertEqual((r["KeyId"], r["KeyAgreementAlgorithm"], r["KeyOrigin"]), (md["Arn"], "ECDH", "AWS_KMS"))
            ours = serialization.load_der_public_key(self.kms.get_public_key(KeyId=md["KeyId"])["PublicKey"])
            self.assertEqual(r["SharedSecret"], theirs.exchange(ec.ECDH(), ours))
            # a point on another curve, or not a key at all
            other = ec.generate_private_key(ec.SECP256K1())
            self.fails("ValidationException", self.kms.derive_shared_secret, KeyId=md["KeyId"],
                       KeyAgreementAlgorithm="ECDH", PublicKey=pub_der(other))
            self.fails("ValidationException", self.kms.derive_shared_secret, KeyId=md["KeyId"],
                       KeyAgreementAlgorithm="ECDH", PublicKey=b"\x30\x03\x02\x01\x01")
        sign = self.kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
        m = self.fails("InvalidKeyUsageException", self.kms.derive_shared_secret, KeyId=sign["KeyId"],
                       KeyAgreementAlgorithm="ECDH", PublicKey=pub_der(ec.generate_private_key(ec.SECP256R1())))
        self.assertEqual(m, "%s key usage is SIGN_VERIFY which is not valid for DeriveSharedSecret." % sign["Arn"])
        self.fails("ValidationException", self.kms.derive_shared_secret, KeyId=sign["KeyId"],
                   KeyAgreementAlgorithm="ECDHE", PublicKey=b"x")

    def test_sm2_key_agreement_in_china(self):
        cn = self.k.client("kms", region="cn-north-1")
        a = cn.create_key(KeySpec="SM2", KeyUsage="KEY_AGREEMENT")["KeyMetadata"]["KeyId"]
        b = cn.create_key(KeySpec="SM2", KeyUsage="KEY_AGREEMENT")["KeyMetadata"]["KeyId"]
        pa = cn.get_public_key(KeyId=a)["PublicKey"]
        pb = cn.get_public_key(KeyId=b)["PublicKey"]
        s1 = cn.derive_shared_secret(KeyId=a, KeyAgreementAlgorithm="ECDH", PublicKey=pb)["SharedSecret"]
        s2 = cn.derive_shared_secret(KeyId=b, KeyAgreementAlgorithm="ECDH", PublicKey=pa)["SharedSecret"]
        self.assertEqual(s1, s2)
        self.assertEqual(len(s1), 32)


if __name__ == "__main__":
    main()
