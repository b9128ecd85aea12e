"""AssumeRoleWithWebIdentity end to end: an OIDC provider created through
IAM, its JWKS installed with `kmsctl sts set-jwks`, ID tokens signed by test
RS256 and ES256 key pairs; signature, iss, aud, exp, nbf and trust-policy
sub/aud conditions checked; the call is unsigned, as in AWS."""
import base64
import json
import os
import time
import unittest

import boto3
import botocore
import botocore.config
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from kmsd_harness import Kmsd, kmsctl, main
from sts_common import creds_of, expect_error, trust

ACCT = "000000000000"
ISS = "https://ci.example.test"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def intb(n):
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


class Keys:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @classmethod
    def jwks(cls):
        rn = cls.rsa_key.public_key().public_numbers()
        en = cls.ec_key.public_key().public_numbers()
        return {"keys": [
            {"kty": "RSA", "kid": "r1", "alg": "RS256", "use": "sig", "n": b64u(intb(rn.n)), "e": b64u(intb(rn.e))},
            {"kty": "EC", "kid": "e1", "crv": "P-256", "x": b64u(en.x.to_bytes(32, "big")),
             "y": b64u(en.y.to_bytes(32, "big"))}]}


def jwt(claims, alg="RS256", kid="r1", key=None):
    header = {"alg": alg, "typ": "JWT", "kid": kid}
    signing = (b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(claims).encode())).encode()
    if alg == "RS256":
        sig = (key or Keys.rsa_key).sign(signing, padding.PKCS1v15(), hashes.SHA256())
    else:
        r, s = decode_dss_signature((key or Keys.ec_key).sign(signing, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return signing.decode() + "." + b64u(sig)


def claims(**over):
    now = int(time.time())
    c = {"iss": ISS, "sub": "repo:org/app:ref:refs/heads/main", "aud": "sts.amazonaws.com", "iat": now,
         "nbf": now - 5, "exp": now + 600}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


class WebIdentity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        iam = cls.k.client("iam")
        cls.provider = iam.create_open_id_connect_provider(Url=ISS, ClientIDList=["sts.amazonaws.com"],
                                                           ThumbprintList=["0" * 40])["OpenIDConnectProviderArn"]
        host = "ci.example.test"
        cls.role = iam.create_role(RoleName="ci", AssumeRolePolicyDocument=trust(
            {"Federated": cls.provider}, action="sts:AssumeRoleWithWebIdentity",
            condition={"StringEquals": {host + ":aud": "sts.amazonaws.com"},
                       "StringLike": {host + ":sub": "repo:org/app:*"}}))["Role"]
        iam.put_role_policy(RoleName="ci", PolicyName="kms", PolicyDocument=(
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:GenerateRandom","Resource":"*"}]}'))
        # an unsigned client, as a CI job has no AWS credentials
        cls.anon = boto3.client("sts", endpoint_url=cls.k.endpoint, region_name="us-east-1",
                                config=botocore.config.Config(signature_version=botocore.UNSIGNED,
                                                              retries={"max_attempts": 1}))

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def assume(self, token, **kw):
        return self.anon.assume_role_with_web_identity(RoleArn=self.role["Arn"], RoleSessionName="job-1",
                                                       WebIdentityToken=token, **kw)

    def install_jwks(self):
        path = os.path.join(self.k.root, "jwks.json")
        with open(path, "w") as f:
            json.dump(Keys.jwks(), f)
        rc, out, errout = kmsctl("sts", "set-jwks", "--data-dir", self.k.data_dir, "--url", ISS, "--jwks-file", path)
        self.assertEqual(rc, 0, errout)

    def test_1_without_jwks(self):
        expect_error(self, lambda: self.assume(jwt(claims())), "IDPCommunicationError", 400)

    def test_2_rs256_and_es256(self):
        self.install_jwks()
        for tok in (jwt(claims()), jwt(claims(), alg="ES256", kid="e1")):
            out = self.assume(tok, DurationSeconds=900)
            self.assertEqual(out["SubjectFromWebIdentityToken"], "repo:org/app:ref:refs/heads/main")
            self.assertEqual(out["Audience"], "sts.amazonaws.com")
            self.assertEqual(out["Provider"], self.provider)
            self.assertEqual(out["AssumedRoleUser"]["Arn"], "arn:aws:sts::%s:assumed-role/ci/job-1" % ACCT)
            c, t = creds_of(out["Credentials"])
            self.assertEqual(self.k.client("sts", creds=c, session_token=t).get_caller_identity()["Arn"],
                             out["AssumedRoleUser"]["Arn"])
            self.assertEqual(len(self.k.client("kms", creds=c, session_token=t).generate_random(NumberOfBytes=4)
                                 ["Plaintext"]), 4)
        # the aws CLI, also unsigned
        _, out, _ = self.k.cli("sts", "assume-role-with-web-identity", "--role-arn", self.role["Arn"],
                               "--role-session-name", "cli", "--web-identity-token", jwt(claims()))
        self.assertEqual(out["Audience"], "sts.amazonaws.com")

    def test_3_rejections(self):
        self.install_jwks()
        expect_error(self, lambda: self.assume(jwt(claims(), key=Keys.other)), "InvalidIdentityToken", 400)
        good = jwt(claims())
        h, p, s = good.split(".")
        forged = h + "." + b64u(json.dumps(claims(sub="repo:org/app:evil")).encode()) + "." + s
        expect_error(self, lambda: self.assume(forged), "InvalidIdentityToken", 400)
        expect_error(self, lambda: self.assume(jwt(claims(aud="someone-else"))), "InvalidIdentityToken", 400,
                     "audience")
        expect_error(self, lambda: self.assume(jwt(claims(exp=int(time.time()) - 1))), "ExpiredTokenException", 400)
        expect_error(self, lambda: self.assume(jwt(claims(nbf=int(time.time()) + 600))), "InvalidIdentityToken", 400)
        expect_error(self, lambda: self.assume(jwt(claims(iss="https://other.test"))), "InvalidIdentityToken", 400,
                     "No OpenIDConnect provider")
        expect_error(self, lambda: self.assume(jwt(claims(sub="repo:evil/app:ref"))), "AccessDenied", 403)
        none_alg = b64u(b'{"alg":"none"}') + "." + b64u(json.dumps(claims()).encode()) + "."
        expect_error(self, lambda: self.assume(none_alg), "InvalidIdentityToken", 400)
        expect_error(self, lambda: self.assume("not-a-jwt"), "InvalidIdentityToken", 400)
        # signed STS calls other than the web-identity ones still need a signature
        st, _, body = self.k.send("POST", self.k.endpoint + "/", {"Content-Type": "application/x-www-form-urlencoded"},
                                  b"Action=AssumeRole&Version=2011-06-15")
        self.assertEqual(st, 403)


if __name__ == "__main__":
    main()
