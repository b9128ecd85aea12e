"""Seed files end to end (issue 13): local-kms's documented seed.yaml gives
the same key ids and aliases, the seeded material is really the one used
(checked with python `cryptography` against docs/ciphertext.md, both ways),
seeding is idempotent and survives restarts, `kmsctl seed` works on a data
directory, kmsd's superset (accounts, Regions, key policies, tags,
rotation, IAM users with fixed keys, roles, OIDC providers with JWKS) is
usable by real clients, and a bad seed fails the start with FILE:LINE:
reason and changes nothing."""
import base64
import json
import os
import struct
import subprocess
import time
import unittest
import uuid

import boto3
import botocore
import botocore.config
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kmsd_harness import KMSD_BIN, Kmsd, err, kmsctl, main

# local-kms's README, "Seeding file format": the multi-key example, verbatim
# (https://github.com/nsmithuk/local-kms#seeding-file-format).
LOCAL_KMS_EXAMPLE = """\
Keys:
  Symmetric:
    Aes:
      - Metadata:
          KeyId: bc436485-5092-42b8-92a3-0aa8b93536dc
        BackingKeys:
          - 34743777217A25432A46294A404E635266556A586E3272357538782F413F4428
          - 614E645267556B58703273357638792F423F4528472B4B6250655368566D5971
      
      - Metadata:
          KeyId: 49c5492b-b1bc-42a8-9a5c-b2015e810c1c
        BackingKeys:
          - 5cdaead27fe7da2de47945d73cd6d79e36494e73802f3cd3869f1d2cb0b5d7a9


Aliases:
  - AliasName: alias/dev
    TargetKeyId: bc436485-5092-42b8-92a3-0aa8b93536dc

  - AliasName: alias/test
    TargetKeyId: 49c5492b-b1bc-42a8-9a5c-b2015e810c1c

"""
K1 = "bc436485-5092-42b8-92a3-0aa8b93536dc"
K1_V1 = bytes.fromhex("34743777217A25432A46294A404E635266556A586E3272357538782F413F4428")
K1_V2 = bytes.fromhex("614E645267556B58703273357638792F423F4528472B4B6250655368566D5971")
K2 = "49c5492b-b1bc-42a8-9a5c-b2015e810c1c"
K2_V1 = bytes.fromhex("5cdaead27fe7da2de47945d73cd6d79e36494e73802f3cd3869f1d2cb0b5d7a9")
ACCT = "000000000000"


# --- docs/ciphertext.md, format version 1, written independently of kmsd ---
def canonical_context(ec):
    items = sorted((k.encode(), v.encode()) for k, v in ec.items())
    out = struct.pack(">H", len(items))
    for k, v in items:
        out += struct.pack(">H", len(k)) + k + struct.pack(">H", len(v)) + v
    return out


def parse_blob(blob):
    assert blob[0] == 1
    account = blob[1:13].decode()
    r = blob[13]
    region = blob[14:14 + r].decode()
    key_id = str(uuid.UUID(bytes=blob[14 + r:30 + r]))
    version = struct.unpack(">I", blob[30 + r:34 + r])[0]
    nonce = blob[34 + r:46 + r]
    return account, region, key_id, version, nonce, blob[:46 + r], blob[46 + r:]


def open_blob(material, blob, ec):
    _, _, _, _, nonce, header, body = parse_blob(blob)
    return AESGCM(material).decrypt(nonce, body, header + canonical_context(ec))


def seal(material, account, region, key_id, version, ec, plaintext):
    r = region.encode()
    nonce = os.urandom(12)
    h = (b"\x01" + account.encode() + bytes([len(r)]) + r + uuid.UUID(key_id).bytes + struct.pack(">I", version)
         + nonce)
    return h + AESGCM(material).encrypt(nonce, plaintext, h + canonical_context(ec))


def write(k, name, text):
    path = os.path.join(k.root, name)
    with open(path, "w") as f:
        f.write(text)
    return path


class LocalKmsExample(unittest.TestCase):
    def setUp(self):
        self.k = Kmsd()
        self.seed = write(self.k, "seed.yaml", LOCAL_KMS_EXAMPLE)

    def tearDown(self):
        self.k.cleanup()

    def test_same_ids_aliases_and_material(self):
        self.k.start("--seed", self.seed)
        self.assertIn("seed: %s applied: 2 keys, 2 aliases" % self.seed, self.k.stderr())
        kms = self.k.client("kms")
        for kid in (K1, K2):
            md = kms.describe_key(KeyId=kid)["KeyMetadata"]
            self.assertEqual(md["KeyId"], kid)
            self.assertEqual(md["Arn"], "arn:aws:kms:us-east-1:%s:key/%s" % (ACCT, kid))
            self.assertEqual(md["KeyState"], "Enabled")
            self.assertEqual(md["KeySpec"], "SYMMETRIC_DEFAULT")
        aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
        self.assertEqual(aliases.get("alias/dev"), K1)
        self.assertEqual(aliases.get("alias/test"), K2)

        # kmsd encrypts under the LAST backing key (version 2), and that is
        # the seeded material: python opens the blob with it, not with v1.
        ec = {"app": "seed"}
        blob = kms.encrypt(KeyId="alias/dev", Plaintext=b"seeded secret", EncryptionContext=ec)["CiphertextBlob"]
        account, region, kid, version, *_ = parse_blob(blob)
        self.assertEqual((account, region, kid, version), (ACCT, "us-east-1", K1, 2))
        self.assertEqual(open_blob(K1_V2, blob, ec), b"seeded secret")
        with self.assertRaises(Exception):
            open_blob(K1_V1, blob, ec)
        blob2 = kms.encrypt(KeyId="alias/test", Plaintext=b"other")["CiphertextBlob"]
        self.assertEqual(parse_blob(blob2)[3], 1)
        self.assertEqual(open_blob(K2_V1, blob2, {}), b"other")

        # Ciphertexts made by python from the same material, for the older
        # version too (a key "rotated" by listing two backing keys), decrypt.
        for material, version in ((K1_V1, 1), (K1_V2, 2)):
            mine = seal(material, ACCT, "us-east-1", K1, version, ec, b"made by python v%d" % version)
            out = kms.decrypt(CiphertextBlob=mine, EncryptionContext=ec)
            self.assertEqual(out["Plaintext"], b"made by python v%d" % version)
            self.assertEqual(out["KeyId"], "arn:aws:kms:us-east-1:%s:key/%s" % (ACCT, K1))
        # ... and a wrong material does not.
        bad = seal(K2_V1, ACCT, "us-east-1", K1, 1, ec, b"x")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            kms.decrypt(CiphertextBlob=bad, EncryptionContext=ec)
        self.assertEqual(err(cm.exception)[0], "InvalidCiphertextException")

        # Idempotent: a restart with the same seed changes nothing, the blob still decrypts.
        created = kms.describe_key(KeyId=K1)["KeyMetadata"]["CreationDate"]
        self.k.stop()
        self.k.start("--seed", self.seed)
        self.assertIn("0 keys, 0 aliases, 0 users, 0 access keys, 0 roles, 0 OIDC providers created; 4 already existed",
                      self.k.stderr())
        kms = self.k.client("kms")
        self.assertEqual(kms.describe_key(KeyId=K1)["KeyMetadata"]["CreationDate"], created)
        self.assertEqual(kms.decrypt(CiphertextBlob=blob, EncryptionContext=ec)["Plaintext"], b"seeded secret")
        # and without the seed, the keys are kept (they are in the keystore, sealed).
        self.k.stop()
        self.k.start()
        self.assertEqual(self.k.client("kms").decrypt(CiphertextBlob=blob2)["Plaintext"], b"other")

    def test_next_key_rotation_in_the_past_rotates_at_start(self):
        # local-kms: "If the date is in the past, rotation will happen the first time the key is accessed."
        seed = write(self.k, "rot.yaml", """\
Keys:
  Symmetric:
    Aes:
      - Metadata:
          KeyId: bc436485-5092-42b8-92a3-0aa8b93536dc
        NextKeyRotation: "2019-09-12T15:19:21+00:00"
        BackingKeys:
          - 34743777217A25432A46294A404E635266556A586E3272357538782F413F4428
""")
        self.k.start("--seed", seed)
        kms = self.k.client("kms")
        rot = kms.get_key_rotation_status(KeyId=K1)
        self.assertTrue(rot["KeyRotationEnabled"])
        versions = kms.list_key_rotations(KeyId=K1)["Rotations"]
        self.assertEqual(len(versions), 1, versions)  # rotated once, at start
        blob = kms.encrypt(KeyId=K1, Plaintext=b"after rotation")["CiphertextBlob"]
        self.assertEqual(parse_blob(blob)[3], 2)
        with self.assertRaises(Exception):
            open_blob(K1_V1, blob, {})  # new material, not the seeded one
        old = seal(K1_V1, ACCT, "us-east-1", K1, 1, {}, b"before rotation")
        self.assertEqual(kms.decrypt(CiphertextBlob=old)["Plaintext"], b"before rotation")

    def test_material_is_sealed_on_disk(self):
        self.k.start("--seed", self.seed)
        self.k.stop()
        raw = b""
        for name in os.listdir(self.k.data_dir):
            p = os.path.join(self.k.data_dir, name)
            if os.path.isfile(p):
                with open(p, "rb") as f:
                    raw += f.read()
        for m in (K1_V1, K1_V2, K2_V1):
            self.assertNotIn(m, raw)
            self.assertNotIn(m.hex().encode(), raw)
            self.assertNotIn(m.hex().upper().encode(), raw)

    def test_kmsctl_seed_on_a_data_directory(self):
        rc, out, e = kmsctl("seed", "--data-dir", self.k.data_dir, self.seed)
        self.assertEqual(rc, 0, e)
        self.assertIn(b"seeded 2 keys, 2 aliases", out)
        rc, out, e = kmsctl("seed", "--data-dir", self.k.data_dir, self.seed)
        self.assertEqual(rc, 0, e)
        self.assertIn(b"seeded 0 keys, 0 aliases", out)
        self.assertIn(b"4 already existed", out)
        self.k.start()
        kms = self.k.client("kms")
        blob = seal(K2_V1, ACCT, "us-east-1", K2, 1, {}, b"via kmsctl")
        self.assertEqual(kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"via kmsctl")
        # while kmsd runs, too (the keystore is multi-process safe)
        more = write(self.k, "more.yaml", """\
Keys:
  Symmetric:
    Aes:
      - Metadata: {KeyId: 11111111-2222-4333-8444-555555555555, Description: added live}
        BackingKeys: [%s]
""" % ("ab" * 32))
        rc, out, e = kmsctl("seed", "--data-dir", self.k.data_dir, more)
        self.assertEqual(rc, 0, e)
        md = kms.describe_key(KeyId="11111111-2222-4333-8444-555555555555")["KeyMetadata"]
        self.assertEqual(md["Description"], "added live")


class BadSeeds(unittest.TestCase):
    """A bad seed fails the start with FILE:LINE: reason and writes nothing."""

    def setUp(self):
        self.k = Kmsd()

    def tearDown(self):
        self.k.cleanup()

    GOOD_KEY = """\
Keys:
  Symmetric:
    Aes:
      - Metadata:
          KeyId: bc436485-5092-42b8-92a3-0aa8b93536dc
        BackingKeys:
          - 5cdaead27fe7da2de47945d73cd6d79e36494e73802f3cd3869f1d2cb0b5d7a9
"""

    def refused(self, text, line, reason):
        path = write(self.k, "bad.yaml", text)
        rc = self.k.start("--seed", path, expect_fail=True)
        self.assertNotEqual(rc, 0)
        self.assertIn("%s:%d: %s" % (path, line, reason), self.k.stderr())
        self.assertIn("nothing was seeded", self.k.stderr())
        # --check-config says the same, and exits 2
        p = subprocess.run([KMSD_BIN, "--check-config", "--seed", path], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn("%s:%d: %s" % (path, line, reason), p.stderr)
        # kmsctl seed too, with status 1
        rc, _, e = kmsctl("seed", "--data-dir", self.k.data_dir, path)
        self.assertEqual(rc, 1)
        self.assertIn(("%s:%d: %s" % (path, line, reason)).encode(), e)
        # nothing was written: the good key before the error does not exist
        self.k.start()
        keys = [k["KeyId"] for k in self.k.client("kms").list_keys()["Keys"]]
        self.assertNotIn("bc436485-5092-42b8-92a3-0aa8b93536dc", keys)
        self.k.stop()

    def test_broken_asymmetric_key_refused_with_line(self):
        self.refused(self.GOOD_KEY + """\
  Asymmetric:
    Rsa:
      - Metadata:
          KeyId: ff275b92-0def-4dfc-b0f6-87c96b26c6c7
          KeyUsage: SIGN_VERIFY
        PrivateKeyPem: |
          -----BEGIN PRIVATE KEY-----
          MIIE
          -----END PRIVATE KEY-----
""", 13, "PrivateKeyPem is not an unencrypted PEM private key")

    def test_bad_backing_key(self):
        self.refused(self.GOOD_KEY + """\
      - Metadata:
          KeyId: 49c5492b-b1bc-42a8-9a5c-b2015e810c1c
        BackingKeys:
          - 5cdaead27fe7da2de47945d73cd6d79e36494e73802f3cd3869f1d2cb0b5d7
""", 11, "a backing key must be hex encoded and exactly 32 bytes (256 bit), found 62 characters")
        self.refused(self.GOOD_KEY + """\
      - Metadata:
          KeyId: 49c5492b-b1bc-42a8-9a5c-b2015e810c1c
        BackingKeys: []
""", 10, "At least one backing key must be supplied")

    def test_alias_to_missing_key_and_typo(self):
        self.refused(self.GOOD_KEY + """\
Aliases:
  - AliasName: alias/x
    TargetKeyId: 49c5492b-b1bc-42a8-9a5c-b2015e810c1c
""", 10, "TargetKeyId 49c5492b-b1bc-42a8-9a5c-b2015e810c1c: no such key in account 000000000000, Region us-east-1")
        self.refused(self.GOOD_KEY + """\
Aliases:
  - AliasNmae: alias/x
""", 9, "an alias: unknown field 'AliasNmae'")

    def test_bad_policy_and_yaml(self):
        self.refused(self.GOOD_KEY + """\
        Policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}'
""", 8, "Policy is not a valid policy: Missing required field Principal")
        self.refused(self.GOOD_KEY + "  : [\n", 8, "not valid YAML")

    def test_alias_bomb_is_bounded(self):
        # YAML aliases: 9 levels of 10 references would be 10^9 nodes once expanded.
        lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
        for i in range(1, 10):
            lines.append("a%d: &a%d [%s]" % (i, i, ",".join(["*a%d" % (i - 1)] * 10)))
        bomb = "\n".join("          " + l for l in lines)
        text = self.GOOD_KEY + "        Policy:\n" + bomb + "\n"
        path = write(self.k, "bomb.yaml", text)
        t = time.time()
        rc, _, e = kmsctl("seed", "--check", path)
        self.assertEqual(rc, 1)
        self.assertIn(b"the seed is too large", e)
        self.assertLess(time.time() - t, 20)

    def test_docs_example_is_valid(self):
        import re
        from kmsd_harness import SOURCE_DIR
        with open(os.path.join(SOURCE_DIR, "docs", "seed.md")) as f:
            doc = f.read()
        example = doc.split("## A complete example", 1)[1]
        block = re.search(r"```yaml\n(.*?)```", example, re.S).group(1)
        path = write(self.k, "doc.yaml", block)
        rc, out, e = kmsctl("seed", "--check", path)
        self.assertEqual(rc, 0, e)
        rc, out, e = kmsctl("seed", "--data-dir", self.k.data_dir, path)
        self.assertEqual(rc, 0, e)
        self.assertIn(b"seeded 2 keys, 1 aliases, 1 users, 1 access keys, 2 roles, 1 OIDC providers", out)

    def test_valid_check_config(self):
        path = write(self.k, "ok.yaml", LOCAL_KMS_EXAMPLE)
        p = subprocess.run([KMSD_BIN, "--check-config", "--seed", path], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("configuration OK", p.stdout)
        self.assertFalse(os.path.exists(self.k.data_dir))  # validating writes nothing


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Superset(unittest.TestCase):
    """kmsd's additions: another account and Region, a key policy, tags,
    rotation, an IAM user with a fixed access key, a role, an OIDC provider."""

    OTHER = "111122223333"

    @classmethod
    def setUpClass(cls):
        cls.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        n = cls.rsa.public_key().public_numbers()
        jwks = {"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "n": b64u(n.n.to_bytes(256, "big")),
                          "e": b64u(n.e.to_bytes(3, "big"))}]}
        cls.material = os.urandom(32)
        cls.k = Kmsd()
        cls.policy = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:root" % cls.OTHER},
             "Action": "kms:*", "Resource": "*"}]})
        seed = """\
Account: "%(acct)s"
Region: eu-west-1
Keys:
  Symmetric:
    Aes:
      - Metadata:
          KeyId: 0f0e0d0c-0b0a-4908-8706-050403020100
          Description: app key
        BackingKeysBase64: ["%(mat)s"]
        Policy: '%(policy)s'
        Tags:
          - {TagKey: team, TagValue: payments}
        RotationPeriodInDays: 180
      - Metadata: {KeyId: 9a9a9a9a-0000-4000-8000-000000000001}
        Account: "000000000000"
        Region: us-east-1
        BackingKeys: ["%(hex)s"]
Aliases:
  - {AliasName: alias/app, TargetKeyId: 0f0e0d0c-0b0a-4908-8706-050403020100}
Iam:
  Users:
    - UserName: ci
      AccessKeys:
        - AccessKeyId: AKIASEEDEDCI00000001
          SecretAccessKey: seeded/secret/for/ci/0000000000000000000
      Policies:
        - PolicyName: crypto
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:ListResourceTags",
                         "kms:GetKeyPolicy", "kms:GetKeyRotationStatus"]
                Resource: "*"
              - {Effect: Allow, Action: "sts:AssumeRole", Resource: "*"}
  Roles:
    - RoleName: deployer
      MaxSessionDuration: 7200
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {AWS: "arn:aws:iam::%(acct)s:user/ci"}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: random
          PolicyDocument: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:GenerateRandom","Resource":"*"}]}'
    - RoleName: web
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Federated: "arn:aws:iam::%(acct)s:oidc-provider/idp.example.test"}
            Action: sts:AssumeRoleWithWebIdentity
            Condition: {StringEquals: {"idp.example.test:aud": "my-client"}}
  OpenIDConnectProviders:
    - Url: https://idp.example.test
      ClientIDList: [my-client]
      ThumbprintList: ["%(thumb)s"]
      Jwks: '%(jwks)s'
""" % {"acct": cls.OTHER, "mat": base64.b64encode(cls.material).decode(), "policy": cls.policy,
       "hex": "cd" * 32, "thumb": "0" * 40, "jwks": json.dumps(jwks)}
        cls.seed = write(cls.k, "seed.yaml", seed)
        cls.k.start("--seed", cls.seed)
        cls.ci = ("AKIASEEDEDCI00000001", "seeded/secret/for/ci/0000000000000000000")

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def test_seeded_user_uses_seeded_key_in_other_account_and_region(self):
        kms = self.k.client("kms", creds=self.ci, region="eu-west-1")
        md = kms.describe_key(KeyId="alias/app")["KeyMetadata"]
        self.assertEqual(md["Arn"], "arn:aws:kms:eu-west-1:%s:key/0f0e0d0c-0b0a-4908-8706-050403020100" % self.OTHER)
        self.assertEqual(md["Description"], "app key")
        blob = kms.encrypt(KeyId="alias/app", Plaintext=b"hello")["CiphertextBlob"]
        self.assertEqual(parse_blob(blob)[:4], (self.OTHER, "eu-west-1", md["KeyId"], 1))
        self.assertEqual(open_blob(self.material, blob, {}), b"hello")
        self.assertEqual(kms.list_resource_tags(KeyId=md["KeyId"])["Tags"],
                         [{"TagKey": "team", "TagValue": "payments"}])
        self.assertEqual(json.loads(kms.get_key_policy(KeyId=md["KeyId"], PolicyName="default")["Policy"]),
                         json.loads(self.policy))
        rot = kms.get_key_rotation_status(KeyId=md["KeyId"])
        self.assertTrue(rot["KeyRotationEnabled"])
        self.assertEqual(rot["RotationPeriodInDays"], 180)
        sts = self.k.client("sts", creds=self.ci, region="eu-west-1")
        ident = sts.get_caller_identity()
        self.assertEqual(ident["Arn"], "arn:aws:iam::%s:user/ci" % self.OTHER)
        # the administrator's account and Region keep their own key
        admin = self.k.client("kms")
        self.assertEqual(admin.describe_key(KeyId="9a9a9a9a-0000-4000-8000-000000000001")["KeyMetadata"]["KeyState"],
                         "Enabled")
        with self.assertRaises(botocore.exceptions.ClientError):
            kms.describe_key(KeyId="9a9a9a9a-0000-4000-8000-000000000001")

    def test_wrong_secret_is_refused(self):
        kms = self.k.client("kms", creds=(self.ci[0], "x" * 39), region="eu-west-1")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            kms.describe_key(KeyId="alias/app")
        self.assertEqual(err(cm.exception)[0], "InvalidSignatureException")

    def test_seeded_role_and_its_policy(self):
        sts = self.k.client("sts", creds=self.ci, region="eu-west-1")
        c = sts.assume_role(RoleArn="arn:aws:iam::%s:role/deployer" % self.OTHER, RoleSessionName="s1",
                            DurationSeconds=7200)["Credentials"]
        kms = self.k.client("kms", creds=(c["AccessKeyId"], c["SecretAccessKey"]), session_token=c["SessionToken"],
                            region="eu-west-1")
        self.assertEqual(len(kms.generate_random(NumberOfBytes=16)["Plaintext"]), 16)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            kms.encrypt(KeyId="alias/app", Plaintext=b"x")
        self.assertEqual(err(cm.exception)[0], "AccessDeniedException")

    def test_seeded_oidc_provider_with_jwks(self):
        now = int(time.time())
        header = {"alg": "RS256", "typ": "JWT", "kid": "k1"}
        claims = {"iss": "https://idp.example.test", "sub": "job", "aud": "my-client", "iat": now, "exp": now + 300}
        signing = (b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(claims).encode())).encode()
        token = signing.decode() + "." + b64u(self.rsa.sign(signing, padding.PKCS1v15(), hashes.SHA256()))
        anon = boto3.client("sts", endpoint_url=self.k.endpoint, region_name="eu-west-1",
                            config=botocore.config.Config(signature_version=botocore.UNSIGNED))
        r = anon.assume_role_with_web_identity(RoleArn="arn:aws:iam::%s:role/web" % self.OTHER,
                                               RoleSessionName="job", WebIdentityToken=token)
        self.assertTrue(r["Credentials"]["AccessKeyId"].startswith("ASIA"))


if __name__ == "__main__":
    main()
