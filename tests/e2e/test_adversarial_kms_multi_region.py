"""Multi-Region keys, the attacker's tests (issue 12): replicating across a
partition, another account's key, NUL and overlong Regions, explicit Deny of
kms:ReplicateKey in the key policy and in IAM policies for every kind of
principal, Deny of kms:CreateKey in the replica Region, the replica key
policy deciding UpdatePrimaryRegion, ciphertexts re-targeted to another
account's or an unrelated Region's key, and key material never on disk in
the clear.

Account A (000000000000) owns the keys; account B (222233334444) is another
account on the same server.
https://docs.aws.amazon.com/kms/latest/APIReference/API_ReplicateKey.html
https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-auth.html
"""
import json
import os
import time
import unittest

from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from authz_common import ACCT, allow, deny, doc, error, key_statement, make_user, root_statement, session_creds
from kmsd_harness import Kmsd, kmsctl, main
from test_adversarial_keystore import SEAL_OVERHEAD, hchacha20, material_ad

B = "222233334444"
B_ROOT = ("AKIAACCOUNTB00000019", "account-b-root-secret-0019")


def arn(region, kid, acct=ACCT, partition="aws"):
    return "arn:%s:kms:%s:%s:key/%s" % (partition, region, acct, kid)


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        rc, _, errout = kmsctl("access-key", "add", "--data-dir", cls.k.data_dir, "--id", B_ROOT[0],
                               "--secret", B_ROOT[1], "--account", B)
        assert rc == 0, errout
        cls.kms = cls.k.client("kms")
        cls.eu = cls.k.client("kms", region="eu-west-1")
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def name(self, prefix):
        type(self).n += 1
        return "%s%d" % (prefix, type(self).n)

    def code(self, want, fn, *a, **kw):
        c, m = error(fn, *a, **kw)
        self.assertEqual(c, want, m)
        return m

    def raw(self, op, payload, region=None):
        st, _, body = self.k.send(*self.k.kms_raw(op, payload, region=region))
        j = json.loads(body)
        self.assertEqual(st, 400, body)
        return j["__type"], j.get("message", "")

    def principals(self, policy):
        """A user, an assumed-role session and a federated user, each with policy; their KMS clients."""
        iam = self.k.client("iam")
        u, creds = make_user(self.k, self.name("u"), policy)
        role = iam.create_role(RoleName=self.name("r"), AssumeRolePolicyDocument=doc(
            {"Effect": "Allow", "Principal": {"AWS": ACCT}, "Action": "sts:AssumeRole"}))["Role"]
        iam.put_role_policy(RoleName=role["RoleName"], PolicyName="p", PolicyDocument=policy)
        _, admin_creds = make_user(self.k, self.name("a"), doc(allow("*")))
        c, t = session_creds(self.k.client("sts", creds=admin_creds).assume_role(RoleArn=role["Arn"],
                                                                                 RoleSessionName="ss"))
        # a federated user has its issuing user's permissions (and its session policy's): the same policy
        fed_policy = json.loads(policy)
        fed_policy["Statement"].append(allow("sts:GetFederationToken"))
        fed_user, fed_creds = make_user(self.k, self.name("f"), json.dumps(fed_policy))
        fc, ft = session_creds(self.k.client("sts", creds=fed_creds).get_federation_token(
            Name=self.name("fed"), Policy=doc(allow("*"))))
        out = []
        for who, cr, tok in (("user", creds, None), ("role session", c, t), ("federated user", fc, ft)):
            out.append((who, self.k.client("kms", creds=cr, session_token=tok),
                        self.k.client("kms", creds=cr, session_token=tok, region="eu-west-1")))
        return out


class ReplicaRegionInput(Base):
    def test_other_partition_refused(self):
        kid = self.kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        for region in ("cn-north-1", "us-gov-west-1", "us-isob-east-1", "eu-isoe-west-1"):
            with self.subTest(region=region):
                m = self.code("UnsupportedOperationException", self.kms.replicate_key, KeyId=kid,
                              ReplicaRegion=region)
                self.assertIn("same AWS partition", m)
        # nothing was created there
        cn = self.k.client("kms", region="cn-north-1")
        self.code("NotFoundException", cn.describe_key, KeyId=kid)
        self.assertEqual(self.kms.describe_key(KeyId=kid)["KeyMetadata"]["MultiRegionConfiguration"]["ReplicaKeys"], [])
        # and from China, not out of it
        ckid = cn.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        self.code("UnsupportedOperationException", cn.replicate_key, KeyId=ckid, ReplicaRegion="us-east-1")

    def test_nul_and_overlong_regions(self):
        kid = self.kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        c, m = self.raw("ReplicateKey", {"KeyId": kid, "ReplicaRegion": "eu-west-1\u0000"})
        self.assertEqual(c, "ValidationException")
        self.assertEqual(m, "1 validation error detected: Value 'eu-west-1 ' at 'replicaRegion' failed to satisfy "
                            "constraint: Member must satisfy regular expression pattern: ^([a-z]+-){2,3}\\d+$")
        c, m = self.raw("ReplicateKey", {"KeyId": kid, "ReplicaRegion": "eu\u0000west-1"})
        self.assertEqual(c, "ValidationException")
        long_region = "eu-" + "w" * 40 + "-1"
        c, m = self.raw("ReplicateKey", {"KeyId": kid, "ReplicaRegion": long_region})
        self.assertEqual(c, "ValidationException")
        self.assertIn("Member must have length less than or equal to 32", m)
        c, m = self.raw("ReplicateKey", {"KeyId": kid, "ReplicaRegion": "eu-west-1/../us-east-1"})
        self.assertEqual(c, "ValidationException")
        c, m = self.raw("ReplicateKey", {"KeyId": kid, "ReplicaRegion": ""})
        self.assertEqual(c, "ValidationException")
        c, m = self.raw("ReplicateKey", {"KeyId": kid})
        self.assertEqual((c, m), ("ValidationException", "1 validation error detected: Value null at "
                                                          "'replicaRegion' failed to satisfy constraint: Member must "
                                                          "not be null"))
        c, m = self.raw("UpdatePrimaryRegion", {"KeyId": kid, "PrimaryRegion": "eu-west-1\u0000"})
        self.assertEqual(c, "ValidationException")
        self.assertIn("'primaryRegion'", m)
        # a NUL inside the key id is not the key
        c, m = self.raw("ReplicateKey", {"KeyId": kid + "\u0000", "ReplicaRegion": "eu-west-1"})
        self.assertEqual(c, "NotFoundException")
        self.assertEqual(self.kms.describe_key(KeyId=kid)["KeyMetadata"]["MultiRegionConfiguration"]["ReplicaKeys"], [])


class CrossAccount(Base):
    def test_replicate_or_move_another_accounts_key(self):
        # A's key policy gives B everything; ReplicateKey and UpdatePrimaryRegion are not cross-account.
        kid = self.kms.create_key(MultiRegion=True, Policy=doc(root_statement(), key_statement(B, "kms:*"))
                                  )["KeyMetadata"]["KeyId"]
        self.kms.replicate_key(KeyId=kid, ReplicaRegion="ap-southeast-2",
                               Policy=doc(root_statement(), key_statement(B, "kms:*")))
        broot = self.k.client("kms", creds=B_ROOT)
        m = self.code("AccessDeniedException", broot.replicate_key, KeyId=arn("us-east-1", kid),
                      ReplicaRegion="eu-west-1")
        self.assertIn("kms:ReplicateKey on resource: %s" % arn("us-east-1", kid), m)
        m = self.code("AccessDeniedException", broot.update_primary_region, KeyId=arn("us-east-1", kid),
                      PrimaryRegion="ap-southeast-2")
        self.assertIn("kms:UpdatePrimaryRegion", m)
        # nothing happened; B's own Region holds no replica of it either
        cfg = self.kms.describe_key(KeyId=kid)["KeyMetadata"]["MultiRegionConfiguration"]
        self.assertEqual(cfg["PrimaryKey"]["Region"], "us-east-1")
        self.assertEqual([r["Region"] for r in cfg["ReplicaKeys"]], ["ap-southeast-2"])
        self.code("NotFoundException", self.k.client("kms", creds=B_ROOT, region="eu-west-1").describe_key,
                  KeyId=kid)
        # cross-account cryptography in a related Region still works as the replica's policy says
        blob = self.kms.encrypt(KeyId=kid, Plaintext=b"for b")["CiphertextBlob"]
        bap = self.k.client("kms", creds=B_ROOT, region="ap-southeast-2")
        self.assertEqual(bap.decrypt(CiphertextBlob=blob, KeyId=arn("ap-southeast-2", kid))["Plaintext"], b"for b")

    def test_ciphertext_retargeted_to_another_accounts_key(self):
        a_kid = self.kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        self.kms.replicate_key(KeyId=a_kid, ReplicaRegion="eu-west-1")
        broot = self.k.client("kms", creds=B_ROOT)
        b_kid = broot.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        blob = bytearray(self.kms.encrypt(KeyId=a_kid, Plaintext=b"secret of a")["CiphertextBlob"])
        self.assertEqual(blob[0], 2)  # format 2: a multi-Region key's blob
        # header: version | account (12) | region length | region | key id (16) | ...
        rlen = blob[13]
        kid_at = 14 + rlen
        self.assertEqual(bytes(blob[kid_at:kid_at + 16]).hex(), a_kid[4:])
        forged = bytearray(blob)
        forged[1:13] = B.encode()
        forged[kid_at:kid_at + 16] = bytes.fromhex(b_kid[4:])
        for who, client in (("B", broot), ("B in eu", self.k.client("kms", creds=B_ROOT, region="eu-west-1"))):
            with self.subTest(who=who):
                c, m = error(client.decrypt, CiphertextBlob=bytes(forged))
                self.assertIn(c, ("InvalidCiphertextException", "NotFoundException"), m)
        c, m = error(broot.decrypt, CiphertextBlob=bytes(forged), KeyId=b_kid)
        self.assertEqual(c, "InvalidCiphertextException", m)
        # the same id with only the account changed names no key of B
        only_acct = bytearray(blob)
        only_acct[1:13] = B.encode()
        c, m = error(broot.decrypt, CiphertextBlob=bytes(only_acct))
        self.assertIn(c, ("NotFoundException", "InvalidCiphertextException"), m)
        # a format-1 (single-Region) header on a multi-Region blob does not open either
        v1 = bytearray(blob)
        v1[0] = 1
        c, m = error(self.kms.decrypt, CiphertextBlob=bytes(v1))
        self.assertIn(c, ("InvalidCiphertextException", "NotFoundException"), m)
        # the untouched blob still opens in both of A's Regions
        self.assertEqual(self.eu.decrypt(CiphertextBlob=bytes(blob))["Plaintext"], b"secret of a")

    def test_decrypt_in_an_unrelated_region_refused(self):
        kid = self.kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        self.kms.replicate_key(KeyId=kid, ReplicaRegion="eu-west-1")
        blob = self.kms.encrypt(KeyId=kid, Plaintext=b"x")["CiphertextBlob"]
        sa = self.k.client("kms", region="sa-east-1")
        m = self.code("NotFoundException", sa.decrypt, CiphertextBlob=blob)
        self.assertEqual(m, "Key '%s' does not exist" % arn("sa-east-1", kid))
        # a single-Region key's blob decrypts only in its Region, as before
        single = self.kms.create_key()["KeyMetadata"]["KeyId"]
        sblob = self.kms.encrypt(KeyId=single, Plaintext=b"x")["CiphertextBlob"]
        self.assertEqual(sblob[0], 1)
        self.code("InvalidCiphertextException", self.eu.decrypt, CiphertextBlob=sblob)
        # the region inside the header is authenticated: moving it fails the tag
        forged = bytearray(blob)
        forged[14:14 + 9] = b"eu-west-1"
        self.code("InvalidCiphertextException", self.eu.decrypt, CiphertextBlob=bytes(forged))
        # a KeyId naming an unrelated key is IncorrectKeyException
        other = self.eu.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        self.code("IncorrectKeyException", self.eu.decrypt, CiphertextBlob=blob, KeyId=other)


class Denies(Base):
    def test_key_policy_deny_of_replicate_key(self):
        # the key policy denies ReplicateKey to everyone but allows everything else through IAM
        kid = self.kms.create_key(MultiRegion=True, Policy=doc(
            root_statement(), key_statement("*", "kms:ReplicateKey", effect="Deny"))
        )["KeyMetadata"]["KeyId"]
        for who, us, _ in self.principals(doc(allow("kms:*"))):
            with self.subTest(who=who):
                m = self.code("AccessDeniedException", us.replicate_key, KeyId=kid, ReplicaRegion="eu-west-1")
                self.assertIn("kms:ReplicateKey", m)
                self.assertIn("explicit deny in a resource-based policy", m)
        # the account's administrator too
        self.code("AccessDeniedException", self.kms.replicate_key, KeyId=kid, ReplicaRegion="eu-west-1")
        self.code("NotFoundException", self.eu.describe_key, KeyId=kid)

    def test_key_policy_deny_by_replica_region_condition(self):
        kid = self.kms.create_key(MultiRegion=True, Policy=doc(
            root_statement(), key_statement("*", "kms:ReplicateKey", effect="Deny",
                                            condition={"StringEquals": {"kms:ReplicaRegion": "eu-west-1"}}))
        )["KeyMetadata"]["KeyId"]
        self.code("AccessDeniedException", self.kms.replicate_key, KeyId=kid, ReplicaRegion="eu-west-1")
        self.kms.replicate_key(KeyId=kid, ReplicaRegion="eu-west-2")

    def test_iam_deny_of_replicate_key_for_every_principal(self):
        kid = self.kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        for who, us, _ in self.principals(doc(allow("kms:*"), deny("kms:ReplicateKey"))):
            with self.subTest(who=who):
                m = self.code("AccessDeniedException", us.replicate_key, KeyId=kid, ReplicaRegion="eu-west-1")
                self.assertIn("kms:ReplicateKey", m)
                self.assertIn("explicit deny in an identity-based policy", m)
                # other operations on the key still work for them
                us.describe_key(KeyId=kid)
        self.code("NotFoundException", self.eu.describe_key, KeyId=kid)

    def test_iam_deny_of_create_key_in_the_replica_region(self):
        kid = self.kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        policy = doc(allow("kms:*"), deny("kms:CreateKey", Condition={"StringEquals": {
            "aws:RequestedRegion": "eu-west-1"}}))
        for who, us, eu in self.principals(policy):
            with self.subTest(who=who):
                m = self.code("AccessDeniedException", us.replicate_key, KeyId=kid, ReplicaRegion="eu-west-1")
                self.assertIn("kms:CreateKey", m)
                self.code("AccessDeniedException", eu.create_key)
                # CreateKey in us-east-1 and replication into another Region are allowed
                us.create_key()
        who, us, _ = self.principals(policy)[0]
        us.replicate_key(KeyId=kid, ReplicaRegion="eu-west-3")
        self.code("NotFoundException", self.eu.describe_key, KeyId=kid)

    def test_create_key_condition_keys_in_the_replica_region(self):
        # kms:MultiRegionKeyType REPLICA is what CreateKey sees when the replica is made
        kid = self.kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        policy = doc(allow("kms:*"), deny("kms:CreateKey", Condition={"StringEquals": {
            "kms:MultiRegionKeyType": "REPLICA"}}))
        who, us, _ = self.principals(policy)[0]
        self.code("AccessDeniedException", us.replicate_key, KeyId=kid, ReplicaRegion="eu-west-1")
        us.create_key(MultiRegion=True)

    def test_create_key_multi_region_key_type_primary(self):
        # kms:MultiRegionKeyType PRIMARY on CreateKey MultiRegion=true (conditions-kms.html)
        who, us, _ = self.principals(doc(allow("kms:*"), deny("kms:CreateKey", Condition={"StringEquals": {
            "kms:MultiRegionKeyType": "PRIMARY"}})))[0]
        m = self.code("AccessDeniedException", us.create_key, MultiRegion=True)
        self.assertIn("kms:CreateKey", m)
        self.assertFalse(us.create_key()["KeyMetadata"]["MultiRegion"])
        who, us, _ = self.principals(doc(allow("kms:*"), deny("kms:CreateKey", Condition={"Bool": {
            "kms:MultiRegion": "true"}})))[0]
        self.code("AccessDeniedException", us.create_key, MultiRegion=True)
        us.create_key(MultiRegion=False)

    def test_tags_need_tag_resource_in_the_replica_region(self):
        kid = self.kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        who, us, _ = self.principals(doc(allow(["kms:ReplicateKey", "kms:CreateKey", "kms:DescribeKey"])))[0]
        m = self.code("AccessDeniedException", us.replicate_key, KeyId=kid, ReplicaRegion="eu-west-1",
                      Tags=[{"TagKey": "t", "TagValue": "v"}])
        self.assertIn("kms:TagResource on resource: %s" % arn("eu-west-1", kid), m)
        us.replicate_key(KeyId=kid, ReplicaRegion="eu-west-1")

    def test_update_primary_region_needs_the_replica_key_policy_too(self):
        kid = self.kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        self.kms.replicate_key(KeyId=kid, ReplicaRegion="eu-west-1", Policy=doc(
            root_statement(), key_statement("*", "kms:UpdatePrimaryRegion", effect="Deny")))
        m = self.code("AccessDeniedException", self.kms.update_primary_region, KeyId=kid, PrimaryRegion="eu-west-1")
        self.assertIn("kms:UpdatePrimaryRegion on resource: %s" % arn("eu-west-1", kid), m)
        self.assertEqual(self.kms.describe_key(KeyId=kid)["KeyMetadata"]["MultiRegionConfiguration"][
            "MultiRegionKeyType"], "PRIMARY")
        # kms:PrimaryRegion in an IAM deny
        k2 = self.kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        self.kms.replicate_key(KeyId=k2, ReplicaRegion="eu-west-1")
        for who, us, _ in self.principals(doc(allow("kms:*"), deny("kms:UpdatePrimaryRegion", Condition={
                "StringEquals": {"kms:PrimaryRegion": "eu-west-1"}}))):
            with self.subTest(who=who):
                self.code("AccessDeniedException", us.update_primary_region, KeyId=k2, PrimaryRegion="eu-west-1")

    def test_multi_region_condition_keys_on_keys(self):
        # kms:MultiRegion and kms:MultiRegionKeyType on a key: a replica can be walled off
        kid = self.kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        self.kms.replicate_key(KeyId=kid, ReplicaRegion="eu-west-1")
        single = self.eu.create_key()["KeyMetadata"]["KeyId"]
        who, us, eu = self.principals(doc(allow("kms:*"), deny("kms:Encrypt", Condition={"StringEquals": {
            "kms:MultiRegionKeyType": "REPLICA"}})))[0]
        us.encrypt(KeyId=kid, Plaintext=b"p")
        self.code("AccessDeniedException", eu.encrypt, KeyId=kid, Plaintext=b"p")
        eu.encrypt(KeyId=single, Plaintext=b"p")
        who, us, eu = self.principals(doc(allow("kms:*"), deny("kms:Encrypt", Condition={"Bool": {
            "kms:MultiRegion": "true"}})))[0]
        self.code("AccessDeniedException", us.encrypt, KeyId=kid, Plaintext=b"p")
        eu.encrypt(KeyId=single, Plaintext=b"p")


class ReplicaRecreated(unittest.TestCase):
    """A replica deleted and made again has the same record id ("<account>/<region>/mrk-..."): the
    compiled key policy of the old replica must not answer for the new one (a stale Allow where the new
    policy denies)."""

    def setUp(self):
        self.k = Kmsd()
        self.clock = os.path.join(self.k.root, "clock")
        self.set_hours(0)
        self.k.extra_args += ["--clock-file", self.clock]
        self.k.start()
        self.addCleanup(self.k.cleanup)

    def set_hours(self, h):
        with open(self.clock + ".tmp", "w") as f:
            f.write("%dh\n" % h)
        os.replace(self.clock + ".tmp", self.clock)

    def test_new_replica_policy_decides(self):
        kms, eu = self.k.client("kms"), self.k.client("kms", region="eu-west-1")
        kid = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        kms.replicate_key(KeyId=kid, ReplicaRegion="eu-west-1")
        eu.encrypt(KeyId=kid, Plaintext=b"old replica allows")  # its policy is compiled and cached now
        eu.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
        self.set_hours(7 * 24 + 2)
        deadline = time.time() + 30
        while time.time() < deadline and error_or_none(eu.describe_key, KeyId=kid) != "NotFoundException":
            time.sleep(0.2)
        self.assertEqual(error_or_none(eu.describe_key, KeyId=kid), "NotFoundException")
        kms.replicate_key(KeyId=kid, ReplicaRegion="eu-west-1", BypassPolicyLockoutSafetyCheck=True, Policy=doc(
            root_statement(), key_statement("*", "kms:Encrypt", effect="Deny")))
        c, m = error(eu.encrypt, KeyId=kid, Plaintext=b"new replica denies")
        self.assertEqual(c, "AccessDeniedException", m)
        self.assertIn("explicit deny in a resource-based policy", m)


def error_or_none(fn, *a, **kw):
    try:
        fn(*a, **kw)
    except Exception as e:  # noqa: BLE001 - only the code is wanted
        return getattr(e, "response", {}).get("Error", {}).get("Code", str(e))
    return None


class MaterialSealed(unittest.TestCase):
    """The shared key material is stored only sealed, once per Region under that Region's record id: an
    attacker holding data.mdb without the master key finds no copy of it; with the master key (an
    independent opener, test_adversarial_keystore.py) each Region's record holds the same 32 bytes, and
    they open a ciphertext made in another Region with python cryptography's AESGCM (docs/ciphertext.md)."""

    def open_records(self, data, master, ad, pt_len=32):
        found = []
        sl = pt_len + SEAL_OVERHEAD
        off = data.find(b"\x01")
        while off >= 0 and off + sl <= len(data):
            nonce = data[off + 1:off + 25]
            try:
                found.append(ChaCha20Poly1305(hchacha20(master, nonce[:16])).decrypt(
                    b"\x00" * 4 + nonce[16:], data[off + 25:off + sl], ad))
            except Exception:  # noqa: BLE001 - most offsets are not this record
                pass
            off = data.find(b"\x01", off + 1)
        return found

    def test_replicated_material_sealed_and_shared(self):
        k = Kmsd().start()
        self.addCleanup(k.cleanup)
        kms = k.client("kms")
        kid = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        kms.replicate_key(KeyId=kid, ReplicaRegion="eu-west-1")
        kms.replicate_key(KeyId=kid, ReplicaRegion="ap-southeast-2")
        out = k.client("kms", region="ap-southeast-2").encrypt(KeyId=kid, Plaintext=b"made in ap",
                                                                 EncryptionContext={"a": "b"})
        blob = out["CiphertextBlob"]
        k.stop()
        data = k.stored_bytes()  # data.mdb, or over etcd every record under the keystore's prefix
        with open(os.path.join(k.data_dir, "master.key"), "rb") as f:
            master = f.read()
        materials = {}
        for region in ("us-east-1", "eu-west-1", "ap-southeast-2"):
            got = set(self.open_records(data, master, material_ad(ACCT, region, kid, 1)))
            self.assertEqual(len(got), 1, region)
            materials[region] = got.pop()
        self.assertEqual(len(set(materials.values())), 1, "one material shared by the three Regions")
        material = materials["us-east-1"]
        self.assertEqual(len(material), 32)
        self.assertNotIn(material, data, "key material in the clear in storage")
        # independent check: the shared material opens the ap blob (format 2, AES-256-GCM)
        rlen = blob[13]
        hlen = 14 + rlen + 16 + 4 + 12
        header, nonce = blob[:hlen], blob[hlen - 12:hlen]
        ec = b"\x00\x01" + b"\x00\x01a" + b"\x00\x01b"
        self.assertEqual(AESGCM(material).decrypt(nonce, blob[hlen:], header + ec), b"made in ap")


if __name__ == "__main__":
    main()
