"""Session policy length (issue 12): the Policy parameter of AssumeRole,
GetFederationToken and AssumeRoleWithWebIdentity is at most 2,048
characters, counted on the raw string (whitespace included) and checked
before the policy is parsed or packed:

  ValidationError "1 validation error detected: Value '...' at 'policy'
  failed to satisfy constraint: Member must have length less than or equal
  to 2048"

(https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html,
Request Parameters, Policy: "The plaintext that you use for both inline and
managed session policies can't exceed 2,048 characters.")"""
import base64
import json
import os
import time
import unittest

import boto3
import botocore
import botocore.config
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kmsd_harness import Kmsd, kmsctl, main
from sts_common import expect_error, trust

ACCT = "000000000000"
ISS = "https://idp.length.test"
RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
SUFFIX = "' at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048"
PREFIX = "1 validation error detected: Value '"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt():
    now = int(time.time())
    claims = {"iss": ISS, "sub": "job", "aud": "sts.amazonaws.com", "iat": now, "nbf": now - 5, "exp": now + 600}
    signing = (b64u(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "k1"}).encode()) + "." +
               b64u(json.dumps(claims).encode())).encode()
    return signing.decode() + "." + b64u(RSA.sign(signing, padding.PKCS1v15(), hashes.SHA256()))


BASE = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:GenerateRandom","Resource":"*"}]}'


def padded(n, pad=" "):
    """A valid policy of exactly n characters, made long with whitespace."""
    return BASE[:-1] + pad * (n - len(BASE)) + "}"


def dense(n):
    """A valid policy of exactly n characters with no whitespace at all."""
    head = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:GenerateRandom","Resource":"*",' \
           '"Condition":{"StringEquals":{"aws:PrincipalTag/t":"'
    tail = '"}}}]}'
    return head + "x" * (n - len(head) - len(tail)) + tail


class SessionPolicyLength(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        cls.iam = cls.k.client("iam")
        cls.sts = cls.k.client("sts")
        cls.role = cls.iam.create_role(RoleName="r", AssumeRolePolicyDocument=trust({"AWS": ACCT}))["Role"]
        prov = cls.iam.create_open_id_connect_provider(Url=ISS, ClientIDList=["sts.amazonaws.com"],
                                                       ThumbprintList=["0" * 40])["OpenIDConnectProviderArn"]
        cls.wrole = cls.iam.create_role(RoleName="w", AssumeRolePolicyDocument=trust(
            {"Federated": prov}, action="sts:AssumeRoleWithWebIdentity"))["Role"]
        n = RSA.public_key().public_numbers()
        path = os.path.join(cls.k.root, "jwks.json")
        with open(path, "w") as f:
            json.dump({"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
                                 "n": b64u(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
                                 "e": b64u(n.e.to_bytes(3, "big"))}]}, f)
        rc, _, errout = kmsctl("sts", "set-jwks", "--data-dir", cls.k.data_dir, "--url", ISS, "--jwks-file", path)
        assert rc == 0, errout
        cls.anon = boto3.client("sts", endpoint_url=cls.k.endpoint, region_name="us-east-1",
                                config=botocore.config.Config(signature_version=botocore.UNSIGNED,
                                                              retries={"max_attempts": 1}))

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def calls(self):
        return {
            "AssumeRole": lambda pol: self.sts.assume_role(RoleArn=self.role["Arn"], RoleSessionName="s1",
                                                          Policy=pol),
            "GetFederationToken": lambda pol: self.sts.get_federation_token(Name="fed", Policy=pol),
            "AssumeRoleWithWebIdentity": lambda pol: self.anon.assume_role_with_web_identity(
                RoleArn=self.wrole["Arn"], RoleSessionName="s1", WebIdentityToken=jwt(), Policy=pol),
        }

    def expect_too_long(self, fn, pol):
        m = expect_error(self, lambda: fn(pol), "ValidationError", 400)
        self.assertTrue(m.startswith(PREFIX) and m.endswith(SUFFIX), m)
        # the value is echoed (capped); botocore's XML parsing may fold its whitespace
        echoed = "".join(m[len(PREFIX):-len(SUFFIX)].split())
        self.assertTrue(len(echoed) > 0 and "".join(pol.split()).startswith(echoed), m)

    def test_exactly_2048_accepted(self):
        for name, fn in self.calls().items():
            for pol in (padded(2048), dense(2048), padded(2048, "\n")):
                self.assertEqual(len(pol), 2048)
                out = fn(pol)
                self.assertIn("Credentials", out, name)

    def test_2049_with_whitespace_refused(self):
        # whitespace is not stripped: 2049 raw characters are too long even though
        # the policy without its padding is short
        for name, fn in self.calls().items():
            with self.subTest(name):
                self.expect_too_long(fn, padded(2049))
                self.expect_too_long(fn, padded(4000, "\t"))

    def test_2049_dense_is_validation_not_packed(self):
        for name, fn in self.calls().items():
            with self.subTest(name):
                self.expect_too_long(fn, dense(2049))
                self.expect_too_long(fn, dense(3000))

    def test_latin1_counts_characters(self):
        # \u00e9 is one character (two UTF-8 bytes): 2048 of them-ish is within the limit
        pol = dense(2048).replace("x" * 100, "\u00e9" * 100)
        self.assertEqual(len(pol), 2048)
        self.assertIn("Credentials", self.sts.get_federation_token(Name="fed", Policy=pol))
        self.expect_too_long(self.calls()["GetFederationToken"], pol[:-6] + "\u00e9" + pol[-6:])

    def test_cli(self):
        rc, _, errout = self.k.cli("sts", "get-federation-token", "--name", "fed", "--policy", padded(2049),
                                   check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("(ValidationError)", errout)
        self.assertIn("Member must have length less than or equal to 2048", errout)
        _, out, _ = self.k.cli("sts", "assume-role", "--role-arn", self.role["Arn"], "--role-session-name", "cli",
                               "--policy", padded(2048))
        self.assertIn("Credentials", out)


if __name__ == "__main__":
    main()
