"""Several imported key materials per symmetric key (issue 12): ImportType,
KeyMaterialDescription and KeyMaterialId as the current botocore model
defines them. NEW_KEY_MATERIAL stages material (KeyMaterialState
PENDING_ROTATION); RotateKeyOnDemand makes it current; old ciphertexts keep
opening with their material; DeleteImportedKeyMaterial with a KeyMaterialId
deletes that material and makes the key unusable until it is imported again.
https://docs.aws.amazon.com/kms/latest/APIReference/API_ImportKeyMaterial.html
https://docs.aws.amazon.com/kms/latest/APIReference/API_RotationsListEntry.html

Ciphertexts are checked outside kmsd with the material (docs/ciphertext.md)."""
import datetime
import os
import time

from kmsd_harness import main
from sts_common import expect_error
from test_kms_import import Base, outside_ciphertext, outside_decrypt, wrap_cryptography


class Rotation(Base):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.probe = cls.kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]

    def rotations(self, kid, inc="ALL_KEY_MATERIAL"):
        return self.kms.list_key_rotations(KeyId=kid, IncludeKeyMaterial=inc)["Rotations"]

    def state(self, kid):
        return self.kms.describe_key(KeyId=kid)["KeyMetadata"]

    def test_new_material_rotates_on_demand(self):
        kid = self.external_key()
        m1, m2 = os.urandom(32), os.urandom(32)
        id1 = self.import_material(kid, m1, KeyMaterialDescription="first batch")["KeyMaterialId"]
        ct1 = self.kms.encrypt(KeyId=kid, Plaintext=b"under m1")["CiphertextBlob"]
        self.assertEqual(outside_decrypt(m1, ct1, {}), b"under m1")
        r = self.import_material(kid, m2, ImportType="NEW_KEY_MATERIAL", KeyMaterialDescription="second batch",
                                 alg="RSA_AES_KEY_WRAP_SHA_256", how="openssl")
        id2 = r["KeyMaterialId"]
        self.assertNotEqual(id1, id2)
        self.assertEqual(len(id2), 64)
        md = self.state(kid)
        self.assertEqual((md["KeyState"], md["CurrentKeyMaterialId"]), ("Enabled", id1))
        rots = self.rotations(kid)
        self.assertEqual([(x["KeyMaterialId"], x["KeyMaterialState"], x["ImportState"]) for x in rots],
                         [(id1, "CURRENT", "IMPORTED"), (id2, "PENDING_ROTATION", "IMPORTED")])
        self.assertEqual(rots[1]["KeyMaterialDescription"], "second batch")
        self.assertEqual(rots[1]["ExpirationModel"], "KEY_MATERIAL_DOES_NOT_EXPIRE")
        self.assertNotIn("RotationDate", rots[1])
        self.assertNotIn("RotationType", rots[1])
        self.assertEqual(self.rotations(kid, "ROTATIONS_ONLY"), [])
        # staged material is not used yet
        self.assertEqual(outside_decrypt(m1, self.kms.encrypt(KeyId=kid, Plaintext=b"x")["CiphertextBlob"], {}),
                         b"x")

        self.assertEqual(self.kms.rotate_key_on_demand(KeyId=kid)["KeyId"].split("/")[-1], kid)
        md = self.state(kid)
        self.assertEqual((md["KeyState"], md["CurrentKeyMaterialId"]), ("Enabled", id2))
        rots = self.rotations(kid)
        self.assertEqual([(x["KeyMaterialId"], x["KeyMaterialState"]) for x in rots],
                         [(id1, "NON_CURRENT"), (id2, "CURRENT")])
        self.assertEqual(rots[1]["RotationType"], "ON_DEMAND")
        self.assertIn("RotationDate", rots[1])
        self.assertEqual([x["KeyMaterialId"] for x in self.rotations(kid, "ROTATIONS_ONLY")], [id2])
        ct2 = self.kms.encrypt(KeyId=kid, Plaintext=b"under m2")["CiphertextBlob"]
        self.assertEqual(outside_decrypt(m2, ct2, {}), b"under m2")
        # old ciphertexts keep decrypting with their material; outside-made ones for each version too
        self.assertEqual(self.kms.decrypt(CiphertextBlob=ct1)["Plaintext"], b"under m1")
        out2 = outside_ciphertext(m2, self.REGION, kid, b"outside v2", {"k": "v"}, version=2)
        self.assertEqual(self.kms.decrypt(CiphertextBlob=out2, EncryptionContext={"k": "v"})["Plaintext"],
                         b"outside v2")
        # nothing staged: on-demand rotation is refused
        m = expect_error(self, lambda: self.kms.rotate_key_on_demand(KeyId=kid), "KMSInvalidStateException", 400)
        self.assertIn("PENDING_ROTATION", m)

        # deleting the old material makes the key unusable, old and new ciphertexts alike
        r = self.kms.delete_imported_key_material(KeyId=kid, KeyMaterialId=id1)
        self.assertEqual(r["KeyMaterialId"], id1)
        self.assertEqual(self.state(kid)["KeyState"], "PendingImport")
        for blob in (ct1, ct2):
            expect_error(self, lambda: self.kms.decrypt(CiphertextBlob=blob), "KMSInvalidStateException", 400,
                         "is pending import.")
        rots = self.rotations(kid)
        self.assertEqual([(x["KeyMaterialId"], x["ImportState"]) for x in rots],
                         [(id1, "PENDING_IMPORT"), (id2, "IMPORTED")])
        # the right material with the wrong id, or the wrong material: refused
        expect_error(self, lambda: self.import_material(kid, m1, ImportType="EXISTING_KEY_MATERIAL",
                                                        KeyMaterialId=id2), "IncorrectKeyMaterialException", 400)
        expect_error(self, lambda: self.import_material(kid, os.urandom(32)), "IncorrectKeyMaterialException", 400)
        r = self.import_material(kid, m1, ImportType="EXISTING_KEY_MATERIAL", KeyMaterialId=id1)
        self.assertEqual(r["KeyMaterialId"], id1)
        self.assertEqual(self.state(kid)["KeyState"], "Enabled")
        self.assertEqual(self.kms.decrypt(CiphertextBlob=ct1)["Plaintext"], b"under m1")
        self.assertEqual(self.kms.decrypt(CiphertextBlob=ct2)["Plaintext"], b"under m2")
        # the description is kept when a re-import gives none
        self.assertEqual(self.rotations(kid)[0]["KeyMaterialDescription"], "first batch")
        # without KeyMaterialId, DeleteImportedKeyMaterial deletes the current material
        self.assertEqual(self.kms.delete_imported_key_material(KeyId=kid)["KeyMaterialId"], id2)
        self.assertEqual([x["ImportState"] for x in self.rotations(kid)], ["IMPORTED", "PENDING_IMPORT"])
        # ImportType omitted after the first import means EXISTING_KEY_MATERIAL
        self.import_material(kid, m2)
        self.assertEqual(self.kms.decrypt(CiphertextBlob=ct2)["Plaintext"], b"under m2")

    def test_pending_material_rules(self):
        kid = self.external_key()
        m1, m2, m3 = os.urandom(32), os.urandom(32), os.urandom(32)
        id1 = self.import_material(kid, m1)["KeyMaterialId"]
        # NEW_KEY_MATERIAL with the key's own material, or with a KeyMaterialId: refused
        expect_error(self, lambda: self.import_material(kid, m1, ImportType="NEW_KEY_MATERIAL"),
                     "IncorrectKeyMaterialException", 400)
        expect_error(self, lambda: self.import_material(kid, m2, ImportType="NEW_KEY_MATERIAL", KeyMaterialId=id1),
                     "ValidationException", 400,
                     "You cannot specify a key material ID with ImportType set to NEW_KEY_MATERIAL.")
        id2 = self.import_material(kid, m2, ImportType="NEW_KEY_MATERIAL")["KeyMaterialId"]
        # one staged material at a time
        m = expect_error(self, lambda: self.import_material(kid, m3, ImportType="NEW_KEY_MATERIAL"),
                         "KMSInvalidStateException", 400)
        self.assertIn(id2, m)
        # the staged material can be re-imported (new description), then deleted: the key is unchanged
        self.import_material(kid, m2, ImportType="EXISTING_KEY_MATERIAL", KeyMaterialId=id2,
                             KeyMaterialDescription="restaged")
        self.assertEqual(self.rotations(kid)[1]["KeyMaterialDescription"], "restaged")
        self.assertEqual(self.kms.delete_imported_key_material(KeyId=kid, KeyMaterialId=id2)["KeyMaterialId"], id2)
        md = self.state(kid)
        self.assertEqual((md["KeyState"], md["CurrentKeyMaterialId"]), ("Enabled", id1))
        self.assertEqual([x["KeyMaterialId"] for x in self.rotations(kid)], [id1])
        expect_error(self, lambda: self.kms.rotate_key_on_demand(KeyId=kid), "KMSInvalidStateException", 400)
        # once deleted, the staged material is unknown to the key
        expect_error(self, lambda: self.kms.delete_imported_key_material(KeyId=kid, KeyMaterialId=id2),
                     "NotFoundException", 400)
        expect_error(self, lambda: self.import_material(kid, m2, ImportType="EXISTING_KEY_MATERIAL"),
                     "IncorrectKeyMaterialException", 400)
        # a disabled key is not rotated
        self.import_material(kid, m3, ImportType="NEW_KEY_MATERIAL")
        self.kms.disable_key(KeyId=kid)
        expect_error(self, lambda: self.kms.rotate_key_on_demand(KeyId=kid), "DisabledException", 400,
                     "is disabled.")
        self.kms.enable_key(KeyId=kid)
        self.kms.rotate_key_on_demand(KeyId=kid)
        self.assertEqual(len(self.rotations(kid, "ROTATIONS_ONLY")), 1)
        # automatic rotation stays unsupported for imported material
        expect_error(self, lambda: self.kms.enable_key_rotation(KeyId=kid), "UnsupportedOperationException", 400)


class RotationExpiry(Base):
    """Each material has its own ValidTo; DescribeKey's ValidTo is the earliest (API_KeyMetadata)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.probe = cls.kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]

    def test_expiring_rotated_material(self):
        kid = self.external_key()
        m1, m2 = os.urandom(32), os.urandom(32)
        self.import_material(kid, m1, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
        ct1 = self.kms.encrypt(KeyId=kid, Plaintext=b"m1")["CiphertextBlob"]
        valid_to = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
        id2 = self.import_material(kid, m2, ImportType="NEW_KEY_MATERIAL", ValidTo=valid_to)["KeyMaterialId"]
        # staged material is not yet permanently associated: no key-level ValidTo
        md = self.kms.describe_key(KeyId=kid)["KeyMetadata"]
        self.assertEqual(md["ExpirationModel"], "KEY_MATERIAL_DOES_NOT_EXPIRE")
        self.assertNotIn("ValidTo", md)
        self.kms.rotate_key_on_demand(KeyId=kid)
        md = self.kms.describe_key(KeyId=kid)["KeyMetadata"]
        self.assertEqual(md["ExpirationModel"], "KEY_MATERIAL_EXPIRES")
        self.assertAlmostEqual(md["ValidTo"].timestamp(), valid_to.timestamp(), delta=2)
        ct2 = self.kms.encrypt(KeyId=kid, Plaintext=b"m2")["CiphertextBlob"]
        self.set_clock("2d")
        self.wait_clock(2 * 86400)
        self.assertEqual(self.kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"], "PendingImport")
        expect_error(self, lambda: self.kms.decrypt(CiphertextBlob=ct1), "KMSInvalidStateException", 400,
                     "is pending import.")
        deadline = time.time() + 20
        while time.time() < deadline:
            rots = self.kms.list_key_rotations(KeyId=kid, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
            if [x["ImportState"] for x in rots] == ["IMPORTED", "PENDING_IMPORT"]:
                break
            time.sleep(0.3)
        self.assertEqual([(x["ImportState"], x["KeyMaterialState"]) for x in rots],
                         [("IMPORTED", "NON_CURRENT"), ("PENDING_IMPORT", "CURRENT")])
        self.import_material(kid, m2, KeyMaterialId=id2, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
        md = self.kms.describe_key(KeyId=kid)["KeyMetadata"]
        self.assertEqual((md["KeyState"], md["ExpirationModel"]), ("Enabled", "KEY_MATERIAL_DOES_NOT_EXPIRE"))
        self.assertEqual(self.kms.decrypt(CiphertextBlob=ct1)["Plaintext"], b"m1")
        self.assertEqual(outside_decrypt(m2, ct2, {}), b"m2")
        self.assertEqual(self.kms.decrypt(CiphertextBlob=ct2)["Plaintext"], b"m2")


class MultiRegionImport(Base):
    """Imported material in multi-Region keys: a replica takes only its primary's material (API_ImportKeyMaterial:
    "You cannot directly import new key material into the replica Region keys"), and a primary pending replica
    deletion refuses the import operations as PendingDeletion does."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.probe = cls.kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]

    def test_replica_takes_only_the_primary_material(self):
        kid = self.kms.create_key(Origin="EXTERNAL", MultiRegion=True)["KeyMetadata"]["KeyId"]
        self.assertTrue(kid.startswith("mrk-"))
        m1, m2 = os.urandom(32), os.urandom(32)
        self.import_material(kid, m1)
        west = self.k.client("kms", region="us-west-2")
        self.kms.replicate_key(KeyId=kid, ReplicaRegion="us-west-2")
        self.assertEqual(west.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"], "PendingImport")

        def imp_west(material, **kw):
            p = west.get_parameters_for_import(KeyId=kid, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                               WrappingKeySpec="RSA_2048")
            return west.import_key_material(KeyId=kid, ImportToken=p["ImportToken"], EncryptedKeyMaterial=(
                wrap_cryptography(p["PublicKey"], material, "RSAES_OAEP_SHA_256")), **kw)

        for kw in ({}, {"ImportType": "EXISTING_KEY_MATERIAL"}):
            expect_error(self, lambda: imp_west(os.urandom(32), **kw), "IncorrectKeyMaterialException", 400)
        self.assertEqual(west.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"], "PendingImport")
        imp_west(m1)
        md = west.describe_key(KeyId=kid)["KeyMetadata"]
        self.assertEqual(md["KeyState"], "Enabled")
        ct = self.kms.encrypt(KeyId=kid, Plaintext=b"east")["CiphertextBlob"]
        self.assertEqual(west.decrypt(CiphertextBlob=ct)["Plaintext"], b"east")
        # new material goes into the primary only; the replica then imports it too
        id2 = self.import_material(kid, m2, ImportType="NEW_KEY_MATERIAL")["KeyMaterialId"]
        expect_error(self, lambda: imp_west(m2, ImportType="NEW_KEY_MATERIAL"), "IncorrectKeyMaterialException", 400)
        expect_error(self, lambda: imp_west(m2), "IncorrectKeyMaterialException", 400)
        self.kms.rotate_key_on_demand(KeyId=kid)
        expect_error(self, lambda: west.rotate_key_on_demand(KeyId=kid), "UnsupportedOperationException", 400)
        self.assertEqual(imp_west(m2, KeyMaterialId=id2)["KeyMaterialId"], id2)
        ct2 = self.kms.encrypt(KeyId=kid, Plaintext=b"east v2")["CiphertextBlob"]
        self.assertEqual(outside_decrypt(m2, ct2, {}), b"east v2")
        self.assertEqual(west.decrypt(CiphertextBlob=ct2)["Plaintext"], b"east v2")
        self.assertEqual(west.describe_key(KeyId=kid)["KeyMetadata"]["CurrentKeyMaterialId"], id2)

    def test_pending_replica_deletion(self):
        kid = self.kms.create_key(Origin="EXTERNAL", MultiRegion=True)["KeyMetadata"]["KeyId"]
        material = os.urandom(32)
        self.import_material(kid, material)
        self.kms.replicate_key(KeyId=kid, ReplicaRegion="eu-west-1")
        self.kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
        self.assertEqual(self.kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"], "PendingReplicaDeletion")
        for fn in (lambda: self.params(kid), lambda: self.import_material(kid, material),
                   lambda: self.kms.delete_imported_key_material(KeyId=kid)):
            expect_error(self, fn, "KMSInvalidStateException", 400, "is pending replica deletion.")
        self.assertEqual(self.kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"], "PendingReplicaDeletion")


if __name__ == "__main__":
    main()
