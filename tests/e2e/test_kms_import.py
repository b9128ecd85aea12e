"""Imported key material (issue 12): CreateKey Origin=EXTERNAL,
GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial,
expiry on the service clock, re-import of the same material only.

Key material is wrapped as AWS's developer guide tells users to
(https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-encrypt-key-material.html):
with `openssl pkeyutl` (RSAES_OAEP_SHA_*; the RSA part of RSA_AES_KEY_WRAP_SHA_*),
`openssl enc -id-aes256-wrap-pad -iv A65959A6` (the AES part), and with
Python `cryptography`. After the import, kmsd must decrypt a ciphertext built
outside it from the same material, following docs/ciphertext.md, and its own
ciphertexts must open outside it with that material."""
import base64
import datetime
import os
import struct
import subprocess
import tempfile
import time
import unittest
import uuid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from kmsd_harness import Kmsd, main
from sts_common import expect_error

ACCT = "000000000000"
SHA = {"RSAES_OAEP_SHA_1": "sha1", "RSAES_OAEP_SHA_256": "sha256",
       "RSA_AES_KEY_WRAP_SHA_1": "sha1", "RSA_AES_KEY_WRAP_SHA_256": "sha256"}


def ec_canonical(ec):
    out = struct.pack(">H", len(ec))
    for k in sorted(ec, key=lambda s: s.encode()):
        kb, vb = k.encode(), ec[k].encode()
        out += struct.pack(">H", len(kb)) + kb + struct.pack(">H", len(vb)) + vb
    return out


def outside_ciphertext(material, region, key_id, plaintext, ec, version=1):
    """A ciphertext blob built from docs/ciphertext.md (format version 1), not by kmsd."""
    nonce = os.urandom(12)
    rb = region.encode()
    header = (b"\x01" + ACCT.encode() + bytes([len(rb)]) + rb + uuid.UUID(key_id).bytes +
              struct.pack(">I", version) + nonce)
    return header + AESGCM(material).encrypt(nonce, plaintext, header + ec_canonical(ec))


def outside_decrypt(material, blob, ec):
    r = blob[13]
    hlen = 14 + r + 16 + 4 + 12
    header, body = blob[:hlen], blob[hlen:]
    return AESGCM(material).decrypt(header[-12:], body, header + ec_canonical(ec))


def openssl(*args, stdin=None):
    p = subprocess.run(["openssl"] + list(args), capture_output=True, input=stdin, timeout=60)
    if p.returncode != 0:
        raise AssertionError("openssl %s: %s" % (" ".join(args), p.stderr.decode()))
    return p.stdout


def cli_import_files(tmp, token_b64, wrapped, token_name="token.bin", wrapped_name="EncryptedKeyMaterial.bin"):
    """The import token and the wrapped material as files, for the aws CLI's fileb:// arguments."""
    tokf, wf = os.path.join(tmp, token_name), os.path.join(tmp, wrapped_name)
    with open(tokf, "wb") as f:
        f.write(base64.b64decode(token_b64))
    with open(wf, "wb") as f:
        f.write(wrapped)
    return tokf, wf


def wrap_openssl(pub_der, material, alg, tmp):
    """The developer guide's OpenSSL commands, run as written there."""
    pub = os.path.join(tmp, "pub.der")
    mat = os.path.join(tmp, "material.bin")
    with open(pub, "wb") as f:
        f.write(pub_der)
    with open(mat, "wb") as f:
        f.write(material)
    if alg == "SM2PKE":
        out = os.path.join(tmp, "wrapped.bin")
        openssl("pkeyutl", "-encrypt", "-pubin", "-keyform", "DER", "-inkey", pub, "-in", mat, "-out", out)
        return open(out, "rb").read()
    md = SHA[alg]
    oaep = ["-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:" + md, "-pkeyopt", "rsa_mgf1_md:" + md]
    if alg.startswith("RSAES_OAEP"):
        out = os.path.join(tmp, "wrapped.bin")
        openssl("pkeyutl", "-encrypt", "-in", mat, "-out", out, "-inkey", pub, "-keyform", "DER", "-pubin", *oaep)
        return open(out, "rb").read()
    aes = os.path.join(tmp, "aes-key.bin")
    openssl("rand", "-out", aes, "32")
    aes_hex = open(aes, "rb").read().hex()
    kw = os.path.join(tmp, "key-material-wrapped.bin")
    openssl("enc", "-id-aes256-wrap-pad", "-K", aes_hex, "-iv", "A65959A6", "-in", mat, "-out", kw)
    rw = os.path.join(tmp, "aes-key-wrapped.bin")
    openssl("pkeyutl", "-encrypt", "-in", aes, "-out", rw, "-inkey", pub, "-keyform", "DER", "-pubin", *oaep)
    return open(rw, "rb").read() + open(kw, "rb").read()


def wrap_cryptography(pub_der, material, alg):
    pub = serialization.load_der_public_key(pub_der)
    h = hashes.SHA1() if SHA[alg] == "sha1" else hashes.SHA256()
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=h), algorithm=h, label=None)
    if alg.startswith("RSAES_OAEP"):
        return pub.encrypt(material, oaep)
    aes = os.urandom(32)
    return pub.encrypt(aes, oaep) + aes_key_wrap_with_padding(aes, material)


class Base(unittest.TestCase):
    REGION = "us-east-1"

    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd(region=cls.REGION)
        cls.clock = os.path.join(cls.k.root, "clock")
        cls.set_clock("0")
        cls.k.extra_args += ["--clock-file", cls.clock]
        cls.k.start()
        cls.kms = cls.k.client("kms")
        cls.tmp = tempfile.mkdtemp(dir=cls.k.root)

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    @classmethod
    def set_clock(cls, value):
        tmp = cls.clock + ".tmp"
        with open(tmp, "w") as f:
            f.write(value + "\n")
        os.replace(tmp, cls.clock)

    def wait_clock(self, offset):
        """Waits until the service clock (seen in ParametersValidTo) has moved by offset seconds."""
        deadline = time.time() + 20
        while time.time() < deadline:
            p = self.kms.get_parameters_for_import(KeyId=self.probe, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                                   WrappingKeySpec="RSA_2048")
            if abs(p["ParametersValidTo"].timestamp() - (time.time() + 86400 + offset)) < 60:
                return
            time.sleep(0.2)
        raise AssertionError("service clock did not move")

    def external_key(self, **kw):
        md = self.kms.create_key(Origin="EXTERNAL", **kw)["KeyMetadata"]
        self.assertEqual(md["Origin"], "EXTERNAL")
        self.assertEqual(md["KeyState"], "PendingImport")
        self.assertFalse(md["Enabled"])
        self.assertNotIn("ExpirationModel", md)
        return md["KeyId"]

    def params(self, kid, alg="RSAES_OAEP_SHA_256", spec="RSA_2048", kms=None):
        return (kms or self.kms).get_parameters_for_import(KeyId=kid, WrappingAlgorithm=alg, WrappingKeySpec=spec)

    def import_material(self, kid, material, alg="RSAES_OAEP_SHA_256", spec="RSA_2048", how="cryptography", **kw):
        p = self.params(kid, alg, spec)
        wrapped = (wrap_openssl(p["PublicKey"], material, alg, self.tmp) if how == "openssl"
                   else wrap_cryptography(p["PublicKey"], material, alg))
        return self.kms.import_key_material(KeyId=kid, ImportToken=p["ImportToken"], EncryptedKeyMaterial=wrapped,
                                            **kw)

    def check_material(self, kid, material):
        """kmsd decrypts a ciphertext made outside; its own ciphertext opens outside."""
        ec = {"purpose": "import-test", "b": "2"}
        blob = outside_ciphertext(material, self.REGION, kid, b"made outside kmsd", ec)
        d = self.kms.decrypt(CiphertextBlob=blob, EncryptionContext=ec)
        self.assertEqual(d["Plaintext"], b"made outside kmsd")
        self.assertEqual(d["KeyId"], "arn:%s:kms:%s:%s:key/%s" % (
            "aws-cn" if self.REGION.startswith("cn-") else "aws", self.REGION, ACCT, kid))
        e = self.kms.encrypt(KeyId=kid, Plaintext=b"made by kmsd", EncryptionContext=ec)
        self.assertEqual(outside_decrypt(material, e["CiphertextBlob"], ec), b"made by kmsd")
        # the same blob with a different context does not open
        expect_error(self, lambda: self.kms.decrypt(CiphertextBlob=blob, EncryptionContext={"purpose": "x"}),
                     "InvalidCiphertextException", 400)


class Import(Base):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.probe = cls.kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]

    def test_01_every_algorithm_and_spec(self):
        cases = [(alg, "RSA_3072", how) for alg in SHA for how in ("openssl", "cryptography")]
        cases += [("RSAES_OAEP_SHA_256", "RSA_2048", "openssl"), ("RSA_AES_KEY_WRAP_SHA_256", "RSA_4096", "openssl"),
                  ("RSAES_OAEP_SHA_1", "RSA_4096", "cryptography")]
        for alg, spec, how in cases:
            with self.subTest(alg=alg, spec=spec, how=how):
                kid = self.external_key()
                p = self.params(kid, alg, spec)
                self.assertEqual(p["KeyId"], "arn:aws:kms:%s:%s:key/%s" % (self.REGION, ACCT, kid))
                pub = serialization.load_der_public_key(p["PublicKey"])
                self.assertEqual(pub.key_size, int(spec.split("_")[1]))
                self.assertAlmostEqual(p["ParametersValidTo"].timestamp(), time.time() + 86400, delta=120)
                material = os.urandom(32)
                wrapped = (wrap_openssl(p["PublicKey"], material, alg, self.tmp) if how == "openssl"
                           else wrap_cryptography(p["PublicKey"], material, alg))
                r = self.kms.import_key_material(KeyId=kid, ImportToken=p["ImportToken"],
                                                 EncryptedKeyMaterial=wrapped,
                                                 ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
                self.assertEqual(len(r["KeyMaterialId"]), 64)
                md = self.kms.describe_key(KeyId=kid)["KeyMetadata"]
                self.assertEqual((md["KeyState"], md["Enabled"], md["Origin"], md["ExpirationModel"]),
                                 ("Enabled", True, "EXTERNAL", "KEY_MATERIAL_DOES_NOT_EXPIRE"))
                self.assertNotIn("ValidTo", md)
                self.assertEqual(md["CurrentKeyMaterialId"], r["KeyMaterialId"])
                self.check_material(kid, material)

    def test_02_pending_import_state(self):
        kid = self.external_key()
        for fn in (lambda: self.kms.encrypt(KeyId=kid, Plaintext=b"x"),
                   lambda: self.kms.generate_data_key(KeyId=kid, KeySpec="AES_256"),
                   lambda: self.kms.enable_key(KeyId=kid)):
            m = expect_error(self, fn, "KMSInvalidStateException", 400)
            self.assertTrue(m.endswith("is pending import."), m)
        blob = outside_ciphertext(os.urandom(32), self.REGION, kid, b"x", {})
        expect_error(self, lambda: self.kms.decrypt(CiphertextBlob=blob), "KMSInvalidStateException", 400,
                     "is pending import.")
        m = expect_error(self, lambda: self.kms.enable_key_rotation(KeyId=kid), "UnsupportedOperationException", 400)
        self.assertIn("origin is EXTERNAL which is not valid for this operation", m)
        self.assertEqual(self.kms.list_key_rotations(KeyId=kid, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"],
                         [])
        self.kms.update_key_description(KeyId=kid, Description="still manageable")
        self.kms.tag_resource(KeyId=kid, Tags=[{"TagKey": "t", "TagValue": "v"}])

    def test_03_aws_kms_key_and_bad_parameters(self):
        own = self.kms.create_key()["KeyMetadata"]
        m = expect_error(self, lambda: self.params(own["KeyId"]), "UnsupportedOperationException", 400)
        self.assertEqual(m, "%s origin is AWS_KMS which is not valid for this operation." % own["Arn"])
        kid = self.external_key()
        expect_error(self, lambda: self.params(kid, alg="RSAES_PKCS1_V1_5"), "UnsupportedOperationException", 400)
        expect_error(self, lambda: self.params(kid, spec="SM2", alg="SM2PKE"), "UnsupportedOperationException", 400,
                     "China")
        expect_error(self, lambda: self.params(kid, alg="RSAES_OAEP_SHA_1", spec="RSA_1024"), "ValidationException",
                     400, "Member must satisfy enum value set")
        expect_error(self, lambda: self.kms.get_parameters_for_import(
            KeyId="alias/nope", WrappingAlgorithm="RSAES_OAEP_SHA_1", WrappingKeySpec="RSA_2048"),
            "NotFoundException", 400)
        # a token, then tampering
        material = os.urandom(32)
        p = self.params(kid)
        wrapped = wrap_cryptography(p["PublicKey"], material, "RSAES_OAEP_SHA_256")
        tok = bytearray(p["ImportToken"])
        tok[len(tok) // 2] ^= 1
        expect_error(self, lambda: self.kms.import_key_material(KeyId=kid, ImportToken=bytes(tok),
                                                                EncryptedKeyMaterial=wrapped),
                     "InvalidImportTokenException", 400)
        expect_error(self, lambda: self.kms.import_key_material(KeyId=kid, ImportToken=p["ImportToken"][:-1],
                                                                EncryptedKeyMaterial=wrapped),
                     "InvalidImportTokenException", 400)
        # a token issued for another key
        other = self.external_key()
        expect_error(self, lambda: self.kms.import_key_material(KeyId=other, ImportToken=p["ImportToken"],
                                                                EncryptedKeyMaterial=wrapped),
                     "InvalidImportTokenException", 400, "associated with a different KMS key")
        # material wrapped with another public key, or not at all
        p2 = self.params(kid)
        expect_error(self, lambda: self.kms.import_key_material(KeyId=kid, ImportToken=p["ImportToken"],
                                                                EncryptedKeyMaterial=wrap_cryptography(
                                                                    p2["PublicKey"], material, "RSAES_OAEP_SHA_256")),
                     "InvalidCiphertextException", 400)
        expect_error(self, lambda: self.kms.import_key_material(KeyId=kid, ImportToken=p["ImportToken"],
                                                                EncryptedKeyMaterial=material),
                     "InvalidCiphertextException", 400)
        # wrapped with SHA-1 under a SHA-256 token
        expect_error(self, lambda: self.kms.import_key_material(KeyId=kid, ImportToken=p["ImportToken"],
                                                                EncryptedKeyMaterial=wrap_cryptography(
                                                                    p["PublicKey"], material, "RSAES_OAEP_SHA_1")),
                     "InvalidCiphertextException", 400)
        # symmetric material is 256 bits
        expect_error(self, lambda: self.kms.import_key_material(KeyId=kid, ImportToken=p["ImportToken"],
                                                                EncryptedKeyMaterial=wrap_cryptography(
                                                                    p["PublicKey"], os.urandom(16),
                                                                    "RSAES_OAEP_SHA_256")),
                     "IncorrectKeyMaterialException", 400)
        # ExpirationModel / ValidTo rules
        soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)
        for kw, part in (({"ExpirationModel": "KEY_MATERIAL_EXPIRES"}, "validTo date must be set"),
                         ({"ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE", "ValidTo": soon}, "must not be set"),
                         ({"ValidTo": datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5)},
                          "between 15 minutes and 365 days"),
                         ({"ValidTo": datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=400)},
                          "between 15 minutes and 365 days"),
                         ({"ImportType": "EXISTING_KEY_MATERIAL"}, None)):
            with self.subTest(kw=kw):
                code = "IncorrectKeyMaterialException" if part is None else "ValidationException"
                expect_error(self, lambda: self.kms.import_key_material(
                    KeyId=kid, ImportToken=p["ImportToken"], EncryptedKeyMaterial=wrapped, **kw), code, 400, part)
        self.assertEqual(self.kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"], "PendingImport")
        # and the good one still works
        self.kms.import_key_material(KeyId=kid, ImportToken=p["ImportToken"], EncryptedKeyMaterial=wrapped)
        self.check_material(kid, material)

    def test_04_delete_and_reimport_same_material_only(self):
        kid = self.external_key()
        material = os.urandom(32)
        first = self.import_material(kid, material, KeyMaterialDescription="hsm batch 7")["KeyMaterialId"]
        blob = self.kms.encrypt(KeyId=kid, Plaintext=b"survives")["CiphertextBlob"]
        rots = self.kms.list_key_rotations(KeyId=kid, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
        self.assertEqual(len(rots), 1)
        self.assertEqual((rots[0]["KeyMaterialId"], rots[0]["ImportState"], rots[0]["KeyMaterialState"],
                          rots[0]["ExpirationModel"], rots[0]["KeyMaterialDescription"]),
                         (first, "IMPORTED", "CURRENT", "KEY_MATERIAL_DOES_NOT_EXPIRE", "hsm batch 7"))
        r = self.kms.delete_imported_key_material(KeyId=kid)
        self.assertEqual(r["KeyMaterialId"], first)
        md = self.kms.describe_key(KeyId=kid)["KeyMetadata"]
        self.assertEqual(md["KeyState"], "PendingImport")
        expect_error(self, lambda: self.kms.decrypt(CiphertextBlob=blob), "KMSInvalidStateException", 400,
                     "is pending import.")
        rots = self.kms.list_key_rotations(KeyId=kid, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
        self.assertEqual(rots[0]["ImportState"], "PENDING_IMPORT")
        # different material is refused, as is NEW_KEY_MATERIAL for the same material
        expect_error(self, lambda: self.import_material(kid, os.urandom(32)), "IncorrectKeyMaterialException", 400)
        expect_error(self, lambda: self.import_material(kid, material, ImportType="NEW_KEY_MATERIAL"),
                     "IncorrectKeyMaterialException", 400)
        expect_error(self, lambda: self.import_material(kid, material, ImportType="EXISTING_KEY_MATERIAL",
                                                        KeyMaterialId="0" * 64),
                     "IncorrectKeyMaterialException", 400)
        # the same material, through the openssl route this time
        again = self.import_material(kid, material, alg="RSA_AES_KEY_WRAP_SHA_256", how="openssl",
                                     ImportType="EXISTING_KEY_MATERIAL", KeyMaterialId=first)
        self.assertEqual(again["KeyMaterialId"], first)
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"survives")
        self.check_material(kid, material)
        # DeleteImportedKeyMaterial naming material the key does not have
        expect_error(self, lambda: self.kms.delete_imported_key_material(KeyId=kid, KeyMaterialId="a" * 64),
                     "NotFoundException", 400)
        # not for AWS_KMS keys
        own = self.kms.create_key()["KeyMetadata"]
        m = expect_error(self, lambda: self.kms.delete_imported_key_material(KeyId=own["KeyId"]),
                         "UnsupportedOperationException", 400)
        self.assertIn("origin is AWS_KMS", m)
        # pending deletion
        self.kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
        for fn in (lambda: self.params(kid), lambda: self.kms.delete_imported_key_material(KeyId=kid),
                   lambda: self.import_material(kid, material)):
            expect_error(self, fn, "KMSInvalidStateException", 400, "is pending deletion.")

    def test_05_cli(self):
        kid = self.k.cli("kms", "create-key", "--origin", "EXTERNAL")[1]["KeyMetadata"]["KeyId"]
        _, p, _ = self.k.cli("kms", "get-parameters-for-import", "--key-id", kid, "--wrapping-algorithm",
                             "RSAES_OAEP_SHA_256", "--wrapping-key-spec", "RSA_4096")
        material = os.urandom(32)
        wrapped = wrap_openssl(base64.b64decode(p["PublicKey"]), material, "RSAES_OAEP_SHA_256", self.tmp)
        tokf, wf = cli_import_files(self.tmp, p["ImportToken"], wrapped)
        _, out, _ = self.k.cli("kms", "import-key-material", "--key-id", kid, "--encrypted-key-material",
                               "fileb://" + wf, "--import-token", "fileb://" + tokf, "--expiration-model",
                               "KEY_MATERIAL_DOES_NOT_EXPIRE")
        self.assertEqual(len(out["KeyMaterialId"]), 64)
        self.check_material(kid, material)
        rc, _, err = self.k.cli("kms", "import-key-material", "--key-id", kid, "--encrypted-key-material",
                                "fileb://" + wf, "--import-token", "fileb://" + wf, check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("InvalidImportTokenException", err)

    def test_06_authorization(self):
        kid = self.external_key()
        iam = self.k.client("iam")
        iam.create_user(UserName="importer")
        iam.put_user_policy(UserName="importer", PolicyName="p", PolicyDocument=(
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:GetParametersForImport",'
            '"Resource":"*","Condition":{"StringEquals":{"kms:WrappingAlgorithm":"RSAES_OAEP_SHA_256"}}}]}'))
        key = iam.create_access_key(UserName="importer")["AccessKey"]
        kms = self.k.client("kms", creds=(key["AccessKeyId"], key["SecretAccessKey"]))
        self.params(kid, kms=kms)
        expect_error(self, lambda: self.params(kid, alg="RSAES_OAEP_SHA_1", kms=kms), "AccessDeniedException", 400,
                     "kms:GetParametersForImport")
        p = self.params(kid)
        expect_error(self, lambda: kms.import_key_material(
            KeyId=kid, ImportToken=p["ImportToken"],
            EncryptedKeyMaterial=wrap_cryptography(p["PublicKey"], os.urandom(32), "RSAES_OAEP_SHA_256")),
            "AccessDeniedException", 400, "kms:ImportKeyMaterial")
        expect_error(self, lambda: kms.delete_imported_key_material(KeyId=kid), "AccessDeniedException", 400,
                     "kms:DeleteImportedKeyMaterial")

    def test_07_cancel_deletion_without_material(self):
        # never imported: cancelling the deletion leaves a key awaiting import, not an enableable empty key
        kid = self.external_key()
        self.kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
        self.kms.cancel_key_deletion(KeyId=kid)
        self.assertEqual(self.kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"], "PendingImport")
        expect_error(self, lambda: self.kms.enable_key(KeyId=kid), "KMSInvalidStateException", 400,
                     "is pending import.")
        # imported, then material deleted while pending deletion is refused; with material: Disabled
        material = os.urandom(32)
        self.import_material(kid, material)
        self.kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
        self.kms.cancel_key_deletion(KeyId=kid)
        self.assertEqual(self.kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"], "Disabled")
        self.kms.enable_key(KeyId=kid)
        self.check_material(kid, material)
        # deleted material, then scheduled and cancelled: PendingImport again
        self.kms.delete_imported_key_material(KeyId=kid)
        self.kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
        self.kms.cancel_key_deletion(KeyId=kid)
        self.assertEqual(self.kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"], "PendingImport")


class Expiry(Base):
    """ValidTo and the import token's 24 hours, on the service clock (--clock-file)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.probe = cls.kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]

    def test_expiry_and_token_lifetime(self):
        kid = self.external_key()
        material = os.urandom(32)
        valid_to = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
        self.import_material(kid, material, ValidTo=valid_to)
        md = self.kms.describe_key(KeyId=kid)["KeyMetadata"]
        self.assertEqual(md["ExpirationModel"], "KEY_MATERIAL_EXPIRES")
        self.assertAlmostEqual(md["ValidTo"].timestamp(), valid_to.timestamp(), delta=2)
        blob = self.kms.encrypt(KeyId=kid, Plaintext=b"before expiry")["CiphertextBlob"]
        rots = self.kms.list_key_rotations(KeyId=kid, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
        self.assertEqual(rots[0]["ExpirationModel"], "KEY_MATERIAL_EXPIRES")
        self.assertAlmostEqual(rots[0]["ValidTo"].timestamp(), valid_to.timestamp(), delta=2)
        # a token issued now, used after 24 hours
        p = self.params(kid)
        wrapped = wrap_cryptography(p["PublicKey"], material, "RSAES_OAEP_SHA_256")
        # one second before ValidTo: still usable
        self.set_clock(str(int(valid_to.timestamp() - time.time()) - 30))
        self.wait_clock(int(valid_to.timestamp() - time.time()) - 30)
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"before expiry")
        # past ValidTo: PendingImport at once
        self.set_clock("2d")
        self.wait_clock(2 * 86400)
        md = self.kms.describe_key(KeyId=kid)["KeyMetadata"]
        self.assertEqual(md["KeyState"], "PendingImport")
        expect_error(self, lambda: self.kms.decrypt(CiphertextBlob=blob), "KMSInvalidStateException", 400,
                     "is pending import.")
        m = expect_error(self, lambda: self.kms.import_key_material(KeyId=kid, ImportToken=p["ImportToken"],
                                                                    EncryptedKeyMaterial=wrapped),
                         "ExpiredImportTokenException", 400)
        self.assertIn("Use GetParametersForImport to get a new import token", m)
        # the sweeper deletes the expired material: ImportState says so
        deadline = time.time() + 20
        while time.time() < deadline:
            rots = self.kms.list_key_rotations(KeyId=kid, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
            if rots[0]["ImportState"] == "PENDING_IMPORT":
                break
            time.sleep(0.3)
        self.assertEqual(rots[0]["ImportState"], "PENDING_IMPORT")
        # re-import the same material with a fresh token: usable again, old ciphertexts open
        self.import_material(kid, material, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
        md = self.kms.describe_key(KeyId=kid)["KeyMetadata"]
        self.assertEqual((md["KeyState"], md["ExpirationModel"]), ("Enabled", "KEY_MATERIAL_DOES_NOT_EXPIRE"))
        self.assertNotIn("ValidTo", md)
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"before expiry")


class China(Base):
    """SM2 wrapping keys and SM2PKE: China Regions only."""
    REGION = "cn-north-1"

    def test_sm2(self):
        kid = self.external_key()
        p = self.params(kid, alg="SM2PKE", spec="SM2")
        # cryptography has no SM2: check the SubjectPublicKeyInfo with openssl
        der = os.path.join(self.tmp, "sm2pub.der")
        with open(der, "wb") as f:
            f.write(p["PublicKey"])
        text = openssl("pkey", "-pubin", "-inform", "DER", "-in", der, "-text", "-noout").decode()
        self.assertIn("SM2", text)
        material = os.urandom(32)
        wrapped = wrap_openssl(p["PublicKey"], material, "SM2PKE", self.tmp)
        self.kms.import_key_material(KeyId=kid, ImportToken=p["ImportToken"], EncryptedKeyMaterial=wrapped)
        self.check_material(kid, material)
        expect_error(self, lambda: self.params(kid, alg="RSAES_OAEP_SHA_256", spec="SM2"), "ValidationException", 400,
                     "not compatible")
        # RSA wrapping works in China too
        kid2 = self.external_key()
        material2 = os.urandom(32)
        self.import_material(kid2, material2, alg="RSAES_OAEP_SHA_1", how="openssl")
        self.check_material(kid2, material2)


if __name__ == "__main__":
    main()
