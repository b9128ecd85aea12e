"""Imported key material for HMAC and asymmetric KMS keys (issue 12).

HMAC keys take raw key bytes (AWS's length rules per spec); asymmetric keys
take the private key as PKCS#8 DER, wrapped as AWS's developer guide says
(https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-encrypt-key-material.html):
RSA private keys need RSA_AES_KEY_WRAP_SHA_* (`openssl pkeyutl` for the AES key,
`openssl enc -id-aes256-wrap-pad` for the material), smaller ones also fit
RSAES_OAEP_SHA_*. Every result is checked with Python `cryptography` and the
ORIGINAL key, never with kmsd itself."""
import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

from kmsd_harness import main
from sts_common import expect_error
from test_kms_import import Base, cli_import_files, openssl, wrap_cryptography, wrap_openssl

PKCS8 = dict(encoding=serialization.Encoding.DER, format=serialization.PrivateFormat.PKCS8,
             encryption_algorithm=serialization.NoEncryption())
SPKI = dict(encoding=serialization.Encoding.DER, format=serialization.PublicFormat.SubjectPublicKeyInfo)
CURVES = {"ECC_NIST_P256": ec.SECP256R1, "ECC_NIST_P384": ec.SECP384R1, "ECC_NIST_P521": ec.SECP521R1,
          "ECC_SECG_P256K1": ec.SECP256K1}
ECDSA = {"ECC_NIST_P256": ("ECDSA_SHA_256", hashes.SHA256()), "ECC_NIST_P384": ("ECDSA_SHA_384", hashes.SHA384()),
         "ECC_NIST_P521": ("ECDSA_SHA_512", hashes.SHA512()), "ECC_SECG_P256K1": ("ECDSA_SHA_256", hashes.SHA256())}
HMAC = {"HMAC_224": (28, 64, "sha224"), "HMAC_256": (32, 64, "sha256"), "HMAC_384": (48, 128, "sha384"),
        "HMAC_512": (64, 128, "sha512")}


class ImportAsym(Base):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.probe = cls.kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]

    def ext(self, spec, usage):
        md = self.kms.create_key(Origin="EXTERNAL", KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
        self.assertEqual((md["Origin"], md["KeyState"], md["KeySpec"], md["KeyUsage"]),
                         ("EXTERNAL", "PendingImport", spec, usage))
        return md["KeyId"]

    def imp(self, kid, material, alg="RSA_AES_KEY_WRAP_SHA_256", spec="RSA_4096", how="cryptography", **kw):
        p = self.params(kid, alg, spec)
        wrapped = (wrap_openssl(p["PublicKey"], material, alg, self.tmp) if how == "openssl"
                   else wrap_cryptography(p["PublicKey"], material, alg))
        kw.setdefault("ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE")
        return self.kms.import_key_material(KeyId=kid, ImportToken=p["ImportToken"], EncryptedKeyMaterial=wrapped,
                                            **kw)

    def test_hmac_every_spec_and_length(self):
        for spec, (lo, hi, md) in HMAC.items():
            for n, how in ((lo, "openssl"), (hi, "cryptography")):
                with self.subTest(spec=spec, n=n):
                    kid = self.ext(spec, "GENERATE_VERIFY_MAC")
                    key = os.urandom(n)
                    self.imp(kid, key, alg="RSAES_OAEP_SHA_256", spec="RSA_2048", how=how)
                    d = self.kms.describe_key(KeyId=kid)["KeyMetadata"]
                    self.assertEqual((d["KeyState"], d["ExpirationModel"]), ("Enabled", "KEY_MATERIAL_DOES_NOT_EXPIRE"))
                    mac_alg = "HMAC_SHA_" + spec.split("_")[1]
                    msg = b"imported hmac " + spec.encode()
                    mac = self.kms.generate_mac(KeyId=kid, Message=msg, MacAlgorithm=mac_alg)["Mac"]
                    self.assertEqual(mac, hmac.new(key, msg, getattr(hashlib, md)).digest())
                    self.assertTrue(self.kms.verify_mac(KeyId=kid, Message=msg, MacAlgorithm=mac_alg,
                                                        Mac=mac)["MacValid"])
            # one byte too short or too long: not this spec's key
            for n in (lo - 1, hi + 1):
                with self.subTest(spec=spec, bad=n):
                    kid = self.ext(spec, "GENERATE_VERIFY_MAC")
                    expect_error(self, lambda: self.imp(kid, os.urandom(n), alg="RSA_AES_KEY_WRAP_SHA_1"),
                                 "IncorrectKeyMaterialException", 400)
                    self.assertEqual(self.kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"], "PendingImport")

    def test_ecc_sign_verifies_with_original_public_key(self):
        for spec, curve in CURVES.items():
            for alg, wspec in (("RSAES_OAEP_SHA_256", "RSA_4096"), ("RSA_AES_KEY_WRAP_SHA_1", "RSA_2048")):
                with self.subTest(spec=spec, alg=alg):
                    priv = ec.generate_private_key(curve())
                    kid = self.ext(spec, "SIGN_VERIFY")
                    self.imp(kid, priv.private_bytes(**PKCS8), alg=alg, spec=wspec, how="openssl")
                    pub = self.kms.get_public_key(KeyId=kid)
                    self.assertEqual(pub["PublicKey"], priv.public_key().public_bytes(**SPKI))
                    sig_alg, h = ECDSA[spec]
                    msg = b"signed by the imported " + spec.encode()
                    sig = self.kms.sign(KeyId=kid, Message=msg, SigningAlgorithm=sig_alg)["Signature"]
                    priv.public_key().verify(sig, msg, ec.ECDSA(h))
                    digest = hashes.Hash(h)
                    digest.update(msg)
                    d = digest.finalize()
                    sig = self.kms.sign(KeyId=kid, Message=d, MessageType="DIGEST",
                                        SigningAlgorithm=sig_alg)["Signature"]
                    priv.public_key().verify(sig, d, ec.ECDSA(utils.Prehashed(h)))

    def test_p521_needs_a_larger_wrapping_key_or_rsa_aes(self):
        # "You cannot use an RSA_2048 public key to directly wrap an ECC_NIST_P521 private key" (WrappingKeySpec)
        kid = self.ext("ECC_NIST_P521", "SIGN_VERIFY")
        for alg in ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"):
            expect_error(self, lambda: self.params(kid, alg, "RSA_2048"), "ValidationException", 400,
                         "You cannot use an RSA_2048 public key to directly wrap an ECC_NIST_P521 private key.")
        self.params(kid, "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048")
        self.params(kid, "RSAES_OAEP_SHA_256", "RSA_3072")
        # symmetric and HMAC material fits every algorithm
        for spec, usage in (("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"), ("HMAC_512", "GENERATE_VERIFY_MAC")):
            kid = self.ext(spec, usage)
            for alg in ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1",
                        "RSA_AES_KEY_WRAP_SHA_256"):
                self.params(kid, alg, "RSA_2048")

    def test_ed25519_from_openssl_genpkey(self):
        # the developer guide's way: openssl genpkey, then PKCS#8 DER
        pem = openssl("genpkey", "-algorithm", "ED25519")
        der = openssl("pkcs8", "-topk8", "-outform", "DER", "-nocrypt", stdin=pem)
        priv = serialization.load_der_private_key(der, None)
        self.assertIsInstance(priv, ed25519.Ed25519PrivateKey)
        kid = self.ext("ECC_NIST_EDWARDS25519", "SIGN_VERIFY")
        self.imp(kid, der, alg="RSAES_OAEP_SHA_1", spec="RSA_3072", how="openssl")
        msg = b"ed25519 imported"
        sig = self.kms.sign(KeyId=kid, Message=msg, SigningAlgorithm="ED25519_SHA_512")["Signature"]
        priv.public_key().verify(sig, msg)
        self.assertEqual(self.kms.get_public_key(KeyId=kid)["PublicKey"], priv.public_key().public_bytes(**SPKI))

    def test_rsa_sign_and_decrypt(self):
        for bits in (2048, 3072, 4096):
            with self.subTest(bits=bits):
                priv = rsa.generate_private_key(public_exponent=65537, key_size=bits)
                spec = "RSA_%d" % bits
                # an RSA private key is larger than RSAES_OAEP can carry: AWS allows only RSA_AES_KEY_WRAP_*
                kid = self.ext(spec, "SIGN_VERIFY")
                for alg in ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"):
                    expect_error(self, lambda: self.params(kid, alg, "RSA_4096"), "ValidationException", 400,
                                 "RSA_AES_KEY_WRAP")
                self.imp(kid, priv.private_bytes(**PKCS8), alg="RSA_AES_KEY_WRAP_SHA_256", spec="RSA_3072",
                         how="openssl")
                msg = b"rsa imported %d" % bits
                sig = self.kms.sign(KeyId=kid, Message=msg, SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
                priv.public_key().verify(sig, msg, padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                                               salt_length=32), hashes.SHA256())
                sig = self.kms.sign(KeyId=kid, Message=msg,
                                    SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_512")["Signature"]
                priv.public_key().verify(sig, msg, padding.PKCS1v15(), hashes.SHA512())
        priv = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        kid = self.ext("RSA_3072", "ENCRYPT_DECRYPT")
        self.imp(kid, priv.private_bytes(**PKCS8), alg="RSA_AES_KEY_WRAP_SHA_1", spec="RSA_2048")
        ct = priv.public_key().encrypt(b"made outside kmsd", padding.OAEP(
            mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
        d = self.kms.decrypt(KeyId=kid, CiphertextBlob=ct, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
        self.assertEqual(d["Plaintext"], b"made outside kmsd")

    def test_ecdh_key_agreement(self):
        priv = ec.generate_private_key(ec.SECP384R1())
        kid = self.ext("ECC_NIST_P384", "KEY_AGREEMENT")
        self.imp(kid, priv.private_bytes(**PKCS8))
        peer = ec.generate_private_key(ec.SECP384R1())
        r = self.kms.derive_shared_secret(KeyId=kid, KeyAgreementAlgorithm="ECDH",
                                          PublicKey=peer.public_key().public_bytes(**SPKI))
        self.assertEqual(r["SharedSecret"], peer.exchange(ec.ECDH(), priv.public_key()))

    def test_reimport_same_material_only(self):
        priv = ec.generate_private_key(ec.SECP256R1())
        kid = self.ext("ECC_NIST_P256", "SIGN_VERIFY")
        self.imp(kid, priv.private_bytes(**PKCS8))
        self.kms.delete_imported_key_material(KeyId=kid)
        d = self.kms.describe_key(KeyId=kid)["KeyMetadata"]
        self.assertEqual(d["KeyState"], "PendingImport")
        expect_error(self, lambda: self.kms.sign(KeyId=kid, Message=b"x", SigningAlgorithm="ECDSA_SHA_256"),
                     "KMSInvalidStateException", 400, "is pending import.")
        # another P-256 key: refused
        other = ec.generate_private_key(ec.SECP256R1())
        expect_error(self, lambda: self.imp(kid, other.private_bytes(**PKCS8)), "IncorrectKeyMaterialException", 400)
        # the same key in another PKCS#8 encoding (openssl's, from PEM) is the same material
        pem = priv.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                 serialization.NoEncryption())
        der = openssl("pkcs8", "-topk8", "-outform", "DER", "-nocrypt", stdin=pem)
        self.imp(kid, der, how="openssl")
        sig = self.kms.sign(KeyId=kid, Message=b"back", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
        priv.public_key().verify(sig, b"back", ec.ECDSA(hashes.SHA256()))
        # asymmetric keys cannot take new key material
        expect_error(self, lambda: self.imp(kid, other.private_bytes(**PKCS8), ImportType="NEW_KEY_MATERIAL"),
                     "IncorrectKeyMaterialException", 400)

    def test_expiring_hmac_material(self):
        import datetime
        kid = self.ext("HMAC_256", "GENERATE_VERIFY_MAC")
        valid_to = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3)
        self.imp(kid, os.urandom(32), alg="RSAES_OAEP_SHA_256", ExpirationModel="KEY_MATERIAL_EXPIRES",
                 ValidTo=valid_to)
        d = self.kms.describe_key(KeyId=kid)["KeyMetadata"]
        self.assertEqual(d["ExpirationModel"], "KEY_MATERIAL_EXPIRES")
        self.assertAlmostEqual(d["ValidTo"].timestamp(), valid_to.timestamp(), delta=2)

    def test_cli_import_of_an_ecc_key(self):
        priv = ec.generate_private_key(ec.SECP256R1())
        kid = self.k.cli("kms", "create-key", "--origin", "EXTERNAL", "--key-spec", "ECC_NIST_P256",
                         "--key-usage", "SIGN_VERIFY")[1]["KeyMetadata"]["KeyId"]
        _, p, _ = self.k.cli("kms", "get-parameters-for-import", "--key-id", kid, "--wrapping-algorithm",
                             "RSA_AES_KEY_WRAP_SHA_256", "--wrapping-key-spec", "RSA_4096")
        wrapped = wrap_openssl(base64.b64decode(p["PublicKey"]), priv.private_bytes(**PKCS8),
                               "RSA_AES_KEY_WRAP_SHA_256", self.tmp)
        tokf, wf = cli_import_files(self.tmp, p["ImportToken"], wrapped, "ecc-token.bin", "ecc-wrapped.bin")
        self.k.cli("kms", "import-key-material", "--key-id", kid, "--encrypted-key-material", "fileb://" + wf,
                   "--import-token", "fileb://" + tokf, "--expiration-model", "KEY_MATERIAL_DOES_NOT_EXPIRE")
        msgf = os.path.join(self.tmp, "msg.bin")
        with open(msgf, "wb") as f:
            f.write(b"cli message")
        _, s, _ = self.k.cli("kms", "sign", "--key-id", kid, "--message", "fileb://" + msgf,
                             "--signing-algorithm", "ECDSA_SHA_256")
        priv.public_key().verify(base64.b64decode(s["Signature"]), b"cli message", ec.ECDSA(hashes.SHA256()))

    def test_unsupported_specs(self):
        m = expect_error(self, lambda: self.kms.create_key(Origin="EXTERNAL", KeySpec="SM2", KeyUsage="SIGN_VERIFY"),
                         "UnsupportedOperationException", 400)
        self.assertIn("China", m)


class ImportSm2(Base):
    """SM2 key material and the SM2 wrapping key (SM2PKE): China Regions only."""
    REGION = "cn-north-1"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.probe = cls.kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]

    def test_sm2_signing_key(self):
        # the original key, made outside kmsd with openssl; its public key as DER
        pem = openssl("genpkey", "-algorithm", "SM2")
        der = openssl("pkcs8", "-topk8", "-outform", "DER", "-nocrypt", stdin=pem)
        pub = openssl("pkey", "-pubout", "-outform", "DER", stdin=pem)
        kid = self.kms.create_key(Origin="EXTERNAL", KeySpec="SM2", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        # a P-256 key is not SM2 material
        p = self.params(kid, "SM2PKE", "SM2")
        other = ec.generate_private_key(ec.SECP256R1()).private_bytes(**PKCS8)
        expect_error(self, lambda: self.kms.import_key_material(
            KeyId=kid, ImportToken=p["ImportToken"], EncryptedKeyMaterial=wrap_openssl(p["PublicKey"], other,
                                                                                      "SM2PKE", self.tmp)),
            "IncorrectKeyMaterialException", 400)
        self.kms.import_key_material(KeyId=kid, ImportToken=p["ImportToken"],
                                     EncryptedKeyMaterial=wrap_openssl(p["PublicKey"], der, "SM2PKE", self.tmp),
                                     ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
        self.assertEqual(self.kms.get_public_key(KeyId=kid)["PublicKey"], pub)
        sig = self.kms.sign(KeyId=kid, Message=b"sm2 imported", SigningAlgorithm="SM2DSA")["Signature"]
        # verified with the openssl CLI and the ORIGINAL public key (distinguishing ID 1234567812345678)
        files = {}
        for name, data in (("sm2pub.der", pub), ("sm2msg", b"sm2 imported"), ("sm2.sig", sig)):
            files[name] = os.path.join(self.tmp, name)
            with open(files[name], "wb") as f:
                f.write(data)
        openssl("pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", files["sm2pub.der"], "-rawin",
                "-digest", "sm3", "-pkeyopt", "distid:1234567812345678", "-in", files["sm2msg"], "-sigfile",
                files["sm2.sig"])


if __name__ == "__main__":
    main()
