"""The attacker's side of imported key material (issue 12): material that is
not the key spec's (another curve, a public key, an encrypted or malformed
PKCS#8, a trailing byte, a key whose halves disagree, RSA 1024), import
tokens carried to another key, Region or account or replayed, the wrong
wrapping algorithm for a token, hostile KeyMaterialDescription and
KeyMaterialId values, and a Deny of kms:ImportKeyMaterial for every kind of
principal and on the kms:ExpirationModel, kms:WrappingAlgorithm and
kms:WrappingKeySpec condition keys.
https://docs.aws.amazon.com/kms/latest/APIReference/API_ImportKeyMaterial.html
https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html"""
import datetime
import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from authz_common import ACCT, allow, deny, doc, error, key_statement, make_user, root_statement, session_creds
from kmsd_harness import kmsctl, main
from sts_common import expect_error
from test_kms_import import Base, wrap_cryptography

PKCS8 = dict(encoding=serialization.Encoding.DER, format=serialization.PrivateFormat.PKCS8,
             encryption_algorithm=serialization.NoEncryption())
SPKI = dict(encoding=serialization.Encoding.DER, format=serialization.PublicFormat.SubjectPublicKeyInfo)
B = "222233334444"
B_ROOT = ("AKIAACCOUNTB00000009", "account-b-root-secret-0009")
SOON = datetime.timedelta(days=2)


class AdversarialImport(Base):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.probe = cls.kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
        rc, _, errout = kmsctl("access-key", "add", "--data-dir", cls.k.data_dir, "--id", B_ROOT[0],
                               "--secret", B_ROOT[1], "--account", B)
        assert rc == 0, errout

    def ext(self, spec="SYMMETRIC_DEFAULT", usage="ENCRYPT_DECRYPT", kms=None, **kw):
        return (kms or self.kms).create_key(Origin="EXTERNAL", KeySpec=spec, KeyUsage=usage, **kw)["KeyMetadata"]

    def wrapped(self, kid, material, alg="RSA_AES_KEY_WRAP_SHA_256", spec="RSA_4096", kms=None):
        p = (kms or self.kms).get_parameters_for_import(KeyId=kid, WrappingAlgorithm=alg, WrappingKeySpec=spec)
        return p["ImportToken"], wrap_cryptography(p["PublicKey"], material, alg)

    def imp(self, kid, material, kms=None, **kw):
        tok, w = self.wrapped(kid, material, kms=kms)
        return (kms or self.kms).import_key_material(KeyId=kid, ImportToken=tok, EncryptedKeyMaterial=w, **kw)

    def test_material_that_is_not_the_key_spec(self):
        p256 = ec.generate_private_key(ec.SECP256R1())
        good = p256.private_bytes(**PKCS8)
        # the same key with another key's public point: its halves disagree
        other_pub = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        self.assertEqual(good[-65:], p256.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))
        mismatched = good[:-65] + other_pub
        encrypted = p256.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(b"passphrase"))
        bad = {
            "P-384 key": ec.generate_private_key(ec.SECP384R1()).private_bytes(**PKCS8),
            "secp256k1 key": ec.generate_private_key(ec.SECP256K1()).private_bytes(**PKCS8),
            "Ed25519 key": ed25519.Ed25519PrivateKey.generate().private_bytes(**PKCS8),
            "public key": p256.public_key().public_bytes(**SPKI),
            "encrypted PKCS#8": encrypted,
            "garbage DER": b"\x30\x82\x01\x00" + os.urandom(256),
            "trailing byte": good + b"\x00",
            "truncated": good[:-1],
            "SEC1 ECPrivateKey": p256.private_bytes(serialization.Encoding.DER,
                                                    serialization.PrivateFormat.TraditionalOpenSSL,
                                                    serialization.NoEncryption()),
            "halves disagree": mismatched,
        }
        kid = self.ext("ECC_NIST_P256", "SIGN_VERIFY")["KeyId"]
        for what, material in bad.items():
            with self.subTest(what=what):
                expect_error(self, lambda: self.imp(kid, material), "IncorrectKeyMaterialException", 400,
                             "does not meet expectations")
        self.assertEqual(self.kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"], "PendingImport")
        self.imp(kid, good)
        self.assertEqual(self.kms.get_public_key(KeyId=kid)["PublicKey"], p256.public_key().public_bytes(**SPKI))

        rsa_kid = self.ext("RSA_2048", "SIGN_VERIFY")["KeyId"]
        for what, key in (("RSA 1024", rsa.generate_private_key(public_exponent=65537, key_size=1024)),
                          ("RSA 3072", rsa.generate_private_key(public_exponent=65537, key_size=3072))):
            with self.subTest(what=what):
                expect_error(self, lambda: self.imp(rsa_kid, key.private_bytes(**PKCS8)),
                             "IncorrectKeyMaterialException", 400)
        expect_error(self, lambda: self.imp(rsa_kid, good), "IncorrectKeyMaterialException", 400)
        # an EC key is no HMAC key, and 32 raw bytes are no EC key
        hmac_kid = self.ext("HMAC_256", "GENERATE_VERIFY_MAC")["KeyId"]
        expect_error(self, lambda: self.imp(hmac_kid, good), "IncorrectKeyMaterialException", 400)
        expect_error(self, lambda: self.imp(self.ext("ECC_NIST_P256", "SIGN_VERIFY")["KeyId"], os.urandom(32)),
                     "IncorrectKeyMaterialException", 400)

    def test_token_from_another_key_region_or_account(self):
        material = os.urandom(32)
        mine = self.ext()["KeyId"]
        # another key of mine
        tok, w = self.wrapped(self.ext()["KeyId"], material)
        expect_error(self, lambda: self.kms.import_key_material(KeyId=mine, ImportToken=tok, EncryptedKeyMaterial=w),
                     "InvalidImportTokenException", 400, "associated with a different KMS key")
        # another Region, same account
        west = self.k.client("kms", region="us-west-2")
        tok, w = self.wrapped(self.ext(kms=west)["KeyId"], material, kms=west)
        expect_error(self, lambda: self.kms.import_key_material(KeyId=mine, ImportToken=tok, EncryptedKeyMaterial=w),
                     "InvalidImportTokenException", 400)
        # another account, both ways
        bkms = self.k.client("kms", creds=B_ROOT)
        bkey = self.ext(kms=bkms)["KeyId"]
        tok, w = self.wrapped(bkey, material, kms=bkms)
        expect_error(self, lambda: self.kms.import_key_material(KeyId=mine, ImportToken=tok, EncryptedKeyMaterial=w),
                     "InvalidImportTokenException", 400)
        tok, w = self.wrapped(mine, material)
        expect_error(self, lambda: bkms.import_key_material(KeyId=bkey, ImportToken=tok, EncryptedKeyMaterial=w),
                     "InvalidImportTokenException", 400)
        self.assertEqual(self.kms.describe_key(KeyId=mine)["KeyMetadata"]["KeyState"], "PendingImport")

    def test_replayed_token(self):
        material = os.urandom(32)
        kid = self.ext()["KeyId"]
        tok, w = self.wrapped(kid, material)
        first = self.kms.import_key_material(KeyId=kid, ImportToken=tok, EncryptedKeyMaterial=w)["KeyMaterialId"]
        self.kms.delete_imported_key_material(KeyId=kid)
        # a replay within the token's 24 hours brings back only that same material (a re-import)...
        again = self.kms.import_key_material(KeyId=kid, ImportToken=tok, EncryptedKeyMaterial=w)["KeyMaterialId"]
        self.assertEqual(again, first)
        # ...never other material under the same token, never into another key
        self.kms.delete_imported_key_material(KeyId=kid)
        p = self.kms.get_parameters_for_import(KeyId=kid, WrappingAlgorithm="RSA_AES_KEY_WRAP_SHA_256",
                                               WrappingKeySpec="RSA_4096")
        self.assertNotEqual(p["ImportToken"], tok)
        expect_error(self, lambda: self.kms.import_key_material(
            KeyId=kid, ImportToken=tok, EncryptedKeyMaterial=wrap_cryptography(
                p["PublicKey"], os.urandom(32), "RSA_AES_KEY_WRAP_SHA_256")), "InvalidCiphertextException", 400)
        other = self.ext()["KeyId"]
        expect_error(self, lambda: self.kms.import_key_material(KeyId=other, ImportToken=tok, EncryptedKeyMaterial=w),
                     "InvalidImportTokenException", 400)
        # staged rotation material deleted, then its import replayed as NEW: only the same material comes back
        self.kms.import_key_material(KeyId=kid, ImportToken=tok, EncryptedKeyMaterial=w)
        m2 = os.urandom(32)
        tok2, w2 = self.wrapped(kid, m2)
        staged = self.kms.import_key_material(KeyId=kid, ImportToken=tok2, EncryptedKeyMaterial=w2,
                                              ImportType="NEW_KEY_MATERIAL")["KeyMaterialId"]
        self.kms.delete_imported_key_material(KeyId=kid, KeyMaterialId=staged)
        expect_error(self, lambda: self.kms.import_key_material(KeyId=kid, ImportToken=tok2, EncryptedKeyMaterial=w2),
                     "IncorrectKeyMaterialException", 400)
        # scheduled for deletion: no replay restores anything
        self.kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
        expect_error(self, lambda: self.kms.import_key_material(KeyId=kid, ImportToken=tok, EncryptedKeyMaterial=w),
                     "KMSInvalidStateException", 400, "is pending deletion.")

    def test_wrong_wrapping_algorithm_for_the_token(self):
        material = os.urandom(32)
        kid = self.ext()["KeyId"]
        cases = (("RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_256"), ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"),
                 ("RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"),
                 ("RSA_AES_KEY_WRAP_SHA_256", "RSAES_OAEP_SHA_256"))
        for token_alg, used in cases:
            with self.subTest(token=token_alg, used=used):
                p = self.kms.get_parameters_for_import(KeyId=kid, WrappingAlgorithm=token_alg,
                                                       WrappingKeySpec="RSA_3072")
                expect_error(self, lambda: self.kms.import_key_material(
                    KeyId=kid, ImportToken=p["ImportToken"],
                    EncryptedKeyMaterial=wrap_cryptography(p["PublicKey"], material, used)),
                    "InvalidCiphertextException", 400)
        self.assertEqual(self.kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"], "PendingImport")

    def test_description_and_material_id_values(self):
        kid = self.ext()["KeyId"]
        material = os.urandom(32)
        tok, w = self.wrapped(kid, material)
        for desc, part in (("g\u0000x", "regular expression pattern"), ("x" * 257, "length less than or equal to 256"),
                           ("<script>", "regular expression pattern"), ("", "regular expression pattern"),
                           ("caf\u00e9", "regular expression pattern")):
            with self.subTest(desc=desc[:10]):
                m = expect_error(self, lambda: self.k.client("kms", validate=False).import_key_material(
                    KeyId=kid, ImportToken=tok, EncryptedKeyMaterial=w, KeyMaterialDescription=desc),
                    "ValidationException", 400, part)
                self.assertIn("keyMaterialDescription", m)
        raw = self.k.client("kms", validate=False)  # the server's own checks, not botocore's
        for mid, part in (("A" * 64, "regular expression pattern"), ("a" * 63, "length greater than or equal to 64"),
                          ("a" * 65, "length less than or equal to 64"), ("g" * 64, "regular expression pattern")):
            with self.subTest(mid=mid[:5]):
                expect_error(self, lambda: raw.import_key_material(
                    KeyId=kid, ImportToken=tok, EncryptedKeyMaterial=w, KeyMaterialId=mid), "ValidationException",
                    400, part)
                expect_error(self, lambda: raw.delete_imported_key_material(KeyId=kid, KeyMaterialId=mid),
                             "ValidationException", 400, part)
        self.assertEqual(self.kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"], "PendingImport")
        # the longest allowed description, with every allowed kind of character, is kept as given
        ok = ("Batch-7 of hsm:/vault_a.b\t" * 10)[:256]
        self.kms.import_key_material(KeyId=kid, ImportToken=tok, EncryptedKeyMaterial=w, KeyMaterialDescription=ok)
        rots = self.kms.list_key_rotations(KeyId=kid, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
        self.assertEqual(rots[0]["KeyMaterialDescription"], ok)

    def test_deny_import_for_every_principal_kind(self):
        iam = self.k.client("iam")
        role = iam.create_role(RoleName="importer-role", AssumeRolePolicyDocument=doc(
            {"Effect": "Allow", "Principal": {"AWS": ACCT}, "Action": "sts:AssumeRole"}))["Role"]
        iam.put_role_policy(RoleName="importer-role", PolicyName="p", PolicyDocument=doc(allow("kms:*")))
        user, ucreds = make_user(self.k, "importer-user", doc(allow(["kms:*", "sts:*"])))
        c, t = session_creds(self.k.client("sts", creds=ucreds).assume_role(RoleArn=role["Arn"],
                                                                             RoleSessionName="s1"))
        role_kms = self.k.client("kms", creds=c, session_token=t)
        fed = self.k.client("sts", creds=ucreds).get_federation_token(Name="importer-fed", Policy=doc(allow("*")))
        fc, ft = session_creds(fed)
        fed_kms = self.k.client("kms", creds=fc, session_token=ft)
        fed_arn = fed["FederatedUser"]["Arn"]
        principals = {"user": (self.k.client("kms", creds=ucreds), user["Arn"]), "role session": (role_kms,
                                                                                                  role["Arn"]),
                      "federated user": (fed_kms, fed_arn), "account root": (self.kms, "arn:aws:iam::%s:root" % ACCT)}
        for kind, (kms, arn) in principals.items():
            with self.subTest(kind=kind):
                denied = self.ext(Policy=doc(root_statement(), key_statement(arn, "kms:ImportKeyMaterial",
                                                                             effect="Deny")),
                                  BypassPolicyLockoutSafetyCheck=True)["KeyId"]
                control = self.ext()["KeyId"]
                material = os.urandom(32)
                for kid in (denied, control):
                    tok, w = self.wrapped(kid, material, kms=kms)  # GetParametersForImport stays allowed
                    call = (lambda kid=kid, tok=tok, w=w: kms.import_key_material(
                        KeyId=kid, ImportToken=tok, EncryptedKeyMaterial=w))
                    if kid == denied:
                        code, msg = error(call)
                        self.assertEqual(code, "AccessDeniedException", msg)
                        self.assertIn("kms:ImportKeyMaterial", msg)
                    else:
                        call()
                self.assertEqual(self.kms.describe_key(KeyId=denied)["KeyMetadata"]["KeyState"], "PendingImport")
                self.assertEqual(self.kms.describe_key(KeyId=control)["KeyMetadata"]["KeyState"], "Enabled")

    def test_deny_on_condition_keys(self):
        _, creds = make_user(self.k, "cond-user", doc(
            allow("kms:*"),
            deny("kms:ImportKeyMaterial", Condition={"StringEquals": {"kms:ExpirationModel": "KEY_MATERIAL_EXPIRES"}}),
            deny("kms:GetParametersForImport",
                 Condition={"StringEquals": {"kms:WrappingAlgorithm": "RSAES_OAEP_SHA_1"}}),
            deny("kms:GetParametersForImport", Condition={"StringEquals": {"kms:WrappingKeySpec": "RSA_2048"}})))
        kms = self.k.client("kms", creds=creds)
        kid = self.ext()["KeyId"]
        for alg, spec in (("RSAES_OAEP_SHA_1", "RSA_4096"), ("RSAES_OAEP_SHA_256", "RSA_2048")):
            with self.subTest(alg=alg, spec=spec):
                code, msg = error(kms.get_parameters_for_import, KeyId=kid, WrappingAlgorithm=alg,
                                  WrappingKeySpec=spec)
                self.assertEqual(code, "AccessDeniedException", msg)
                self.assertIn("kms:GetParametersForImport", msg)
        material = os.urandom(32)
        p = kms.get_parameters_for_import(KeyId=kid, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                          WrappingKeySpec="RSA_4096")
        w = wrap_cryptography(p["PublicKey"], material, "RSAES_OAEP_SHA_256")
        valid_to = datetime.datetime.now(datetime.timezone.utc) + SOON
        for kw in ({"ValidTo": valid_to}, {"ValidTo": valid_to, "ExpirationModel": "KEY_MATERIAL_EXPIRES"}):
            with self.subTest(kw=list(kw)):
                code, msg = error(kms.import_key_material, KeyId=kid, ImportToken=p["ImportToken"],
                                  EncryptedKeyMaterial=w, **kw)
                self.assertEqual(code, "AccessDeniedException", msg)
        kms.import_key_material(KeyId=kid, ImportToken=p["ImportToken"], EncryptedKeyMaterial=w,
                                ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
        self.assertEqual(self.kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"], "Enabled")


if __name__ == "__main__":
    main()
