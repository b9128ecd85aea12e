"""GetWebIdentityToken end to end: kmsd as an OIDC issuer. Outbound
federation switched on through IAM; tokens asked for with boto3 and the aws
CLI; each verified independently, with `jose` from npm (tests/e2e/node/
verify_jwt.js) against the JWKS kmsd publishes unauthenticated, and with
python `cryptography`. Negative cases: the feature off, an unsupported
algorithm, an identity policy that does not allow the audience or duration,
a role session asking past its own expiry, a token altered after signing.
Rotation: a key older than 30 days on the service clock is replaced, the old
one stays published."""
import base64
import json
import os
import shutil
import subprocess
import time
import unittest
import urllib.error
import urllib.request

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from kmsd_harness import Kmsd, main
from sts_common import creds_of, expect_error, make_user, trust

ACCT = "000000000000"
ISSUER = "https://issuer.kmsd.test/tenant1"
NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def verify_py(token, jwks):
    """Checks the signature with python `cryptography`; returns (header, claims)."""
    h, p, s = token.split(".")
    header = json.loads(b64d(h))
    key = [k for k in jwks["keys"] if k["kid"] == header["kid"]][0]
    data, sig = (h + "." + p).encode(), b64d(s)
    if header["alg"] == "RS256":
        pub = rsa.RSAPublicNumbers(int.from_bytes(b64d(key["e"]), "big"),
                                   int.from_bytes(b64d(key["n"]), "big")).public_key()
        pub.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
    else:
        assert header["alg"] == "ES384" and key["crv"] == "P-384" and len(sig) == 96
        pub = ec.EllipticCurvePublicNumbers(int.from_bytes(b64d(key["x"]), "big"),
                                            int.from_bytes(b64d(key["y"]), "big"), ec.SECP384R1()).public_key()
        pub.verify(encode_dss_signature(int.from_bytes(sig[:48], "big"), int.from_bytes(sig[48:], "big")), data,
                   ec.ECDSA(hashes.SHA384()))
    return header, json.loads(b64d(p))


class WebIdentityToken(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = Kmsd().root
        cls.clock = os.path.join(cls.root, "clock")
        with open(cls.clock, "w") as f:
            f.write("0\n")
        cls.k = Kmsd("--oidc-issuer", ISSUER, "--clock-file", cls.clock).start()
        cls.iam = cls.k.client("iam")
        cls.sts = cls.k.client("sts")
        cls.jwks_url = cls.k.endpoint + "/tenant1/.well-known/jwks.json"

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()
        shutil.rmtree(cls.root, ignore_errors=True)

    def get(self, path):
        """An unsigned GET, as a verifier fetching the issuer's documents."""
        with urllib.request.urlopen(self.k.endpoint + path, timeout=10) as r:
            self.assertEqual(r.status, 200)
            self.assertTrue(r.headers["Content-Type"].startswith("application/json"))
            return json.loads(r.read())

    def jose(self, token, audience, algs="RS256,ES384"):
        node = shutil.which("node")
        if not node or not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "jose")):
            if os.environ.get("KMSD_REQUIRE_NODE"):
                self.fail("node or jose missing; scripts/deps.sh --test installs them")
            self.skipTest("node packages not installed")
        env = dict(os.environ, JWKS_URL=self.jwks_url, TOKEN=token, ISSUER=ISSUER, AUDIENCE=audience, ALGS=algs)
        p = subprocess.run([node, "verify_jwt.js"], cwd=NODE_DIR, env=env, capture_output=True, text=True,
                           timeout=60)
        return p.returncode, json.loads(p.stdout or "{}")

    def test_1_feature_switch(self):
        expect_error(self, lambda: self.sts.get_web_identity_token(Audience=["https://api.example.test"],
                                                                    SigningAlgorithm="RS256"),
                     "OutboundWebIdentityFederationDisabledException", 403)
        expect_error(self, lambda: self.iam.get_outbound_web_identity_federation_info(), "FeatureDisabled", 404)
        out = self.iam.enable_outbound_web_identity_federation()
        self.assertEqual(out["IssuerIdentifier"], ISSUER)
        expect_error(self, lambda: self.iam.enable_outbound_web_identity_federation(), "FeatureEnabled", 409)
        info = self.iam.get_outbound_web_identity_federation_info()
        self.assertEqual((info["IssuerIdentifier"], info["JwtVendingEnabled"]), (ISSUER, True))

    def test_2_tokens_verify(self):
        doc = self.get("/tenant1/.well-known/openid-configuration")
        self.assertEqual(doc["issuer"], ISSUER)
        self.assertEqual(doc["jwks_uri"], ISSUER + "/.well-known/jwks.json")
        self.assertEqual(sorted(doc["id_token_signing_alg_values_supported"]), ["ES384", "RS256"])
        # the issuer's documents live under its path only
        with self.assertRaises(urllib.error.HTTPError):
            urllib.request.urlopen(self.k.endpoint + "/.well-known/jwks.json", timeout=10)
        for alg in ("RS256", "ES384"):
            before = int(time.time())
            out = self.sts.get_web_identity_token(Audience=["https://api.example.test"], SigningAlgorithm=alg,
                                                  Tags=[{"Key": "job", "Value": "nightly"}])
            token = out["WebIdentityToken"]
            header, claims = verify_py(token, self.get("/tenant1/.well-known/jwks.json"))
            self.assertEqual(header["alg"], alg)
            self.assertEqual(claims["iss"], ISSUER)
            self.assertEqual(claims["aud"], "https://api.example.test")
            self.assertEqual(claims["sub"], "arn:aws:iam::%s:user/admin" % ACCT)
            self.assertEqual(claims["exp"] - claims["iat"], 300)
            self.assertGreaterEqual(claims["iat"], before - 2)
            self.assertEqual(int(out["Expiration"].timestamp()), claims["exp"])
            ns = claims["https://sts.amazonaws.com/"]
            self.assertEqual((ns["aws_account"], ns["source_region"]), (ACCT, "us-east-1"))
            self.assertEqual(ns["request_tags"], {"job": "nightly"})
            self.assertTrue(claims["jti"])
            rc, got = self.jose(token, "https://api.example.test")
            self.assertEqual(rc, 0, got)
            self.assertEqual(got["payload"]["sub"], claims["sub"])
            # jose refuses it for another audience, and once altered
            rc, got = self.jose(token, "https://other.example.test")
            self.assertEqual((rc, got.get("error")), (1, "ERR_JWT_CLAIM_VALIDATION_FAILED"))
            h, p, s = token.split(".")
            forged = h + "." + base64.urlsafe_b64encode(json.dumps(dict(claims, sub="arn:aws:iam::%s:root" % ACCT))
                                                        .encode()).rstrip(b"=").decode() + "." + s
            rc, got = self.jose(forged, "https://api.example.test")
            self.assertEqual((rc, got.get("error")), (1, "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"))
        # the published keys are public halves only
        for key in self.get("/tenant1/.well-known/jwks.json")["keys"]:
            self.assertFalse({"d", "p", "q", "dp", "dq", "qi"} & set(key), key)
            self.assertEqual(key["use"], "sig")
        # several audiences: an array; a longer duration
        out = self.sts.get_web_identity_token(Audience=["a1", "a2"], SigningAlgorithm="ES384", DurationSeconds=3600)
        _, claims = verify_py(out["WebIdentityToken"], self.get("/tenant1/.well-known/jwks.json"))
        self.assertEqual((claims["aud"], claims["exp"] - claims["iat"]), (["a1", "a2"], 3600))
        # the aws CLI (an audience that is not a URL: the CLI v1 would fetch a URL parameter's content)
        _, out, _ = self.k.cli("sts", "get-web-identity-token", "--audience", "urn:example:cli",
                               "--signing-algorithm", "RS256")
        rc, got = self.jose(out["WebIdentityToken"], "urn:example:cli")
        self.assertEqual(rc, 0, got)

    def test_3_refusals(self):
        expect_error(self, lambda: self.sts.get_web_identity_token(Audience=["x"], SigningAlgorithm="HS256"),
                     "ValidationError", 400, "RS256")
        expect_error(self, lambda: self.sts.get_web_identity_token(Audience=["x"], SigningAlgorithm="RS256",
                                                                    DurationSeconds=3601), "ValidationError", 400)
        # identity policy with the action's condition keys
        _, creds = make_user(self.k, "wit-user")
        self.iam.put_user_policy(UserName="wit-user", PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "sts:GetWebIdentityToken", "Resource": "*",
                "Condition": {"ForAllValues:StringEquals": {"sts:IdentityTokenAudience": "https://ok.test"},
                              "NumericLessThanEquals": {"sts:DurationSeconds": 300},
                              "StringEquals": {"sts:SigningAlgorithm": "ES384"}}}]}))
        sts = self.k.client("sts", creds=creds)
        out = sts.get_web_identity_token(Audience=["https://ok.test"], SigningAlgorithm="ES384")
        _, claims = verify_py(out["WebIdentityToken"], self.get("/tenant1/.well-known/jwks.json"))
        self.assertEqual(claims["sub"], "arn:aws:iam::%s:user/wit-user" % ACCT)
        for kw in ({"Audience": ["https://evil.test"], "SigningAlgorithm": "ES384"},
                   {"Audience": ["https://ok.test"], "SigningAlgorithm": "ES384", "DurationSeconds": 301},
                   {"Audience": ["https://ok.test"], "SigningAlgorithm": "RS256"}):
            expect_error(self, lambda: sts.get_web_identity_token(**kw), "AccessDenied", 403,
                         "sts:GetWebIdentityToken")
        # a role session: sub is the role's ARN, principal_tags its tags; no escalation past the session
        role = self.iam.create_role(RoleName="wit-role", Path="/apps/", AssumeRolePolicyDocument=trust(
            {"AWS": "arn:aws:iam::%s:root" % ACCT}), Tags=[{"Key": "team", "Value": "data"}])["Role"]
        self.iam.put_role_policy(RoleName="wit-role", PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:GetWebIdentityToken",
                                                    "Resource": "*"}]}))
        c, t = creds_of(self.sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s1",
                                             DurationSeconds=900)["Credentials"])
        rs = self.k.client("sts", creds=c, session_token=t)
        out = rs.get_web_identity_token(Audience=["https://ok.test"], SigningAlgorithm="RS256")
        _, claims = verify_py(out["WebIdentityToken"], self.get("/tenant1/.well-known/jwks.json"))
        self.assertEqual(claims["sub"], role["Arn"])
        self.assertEqual(claims["https://sts.amazonaws.com/"]["principal_tags"], {"team": "data"})
        expect_error(self, lambda: rs.get_web_identity_token(Audience=["https://ok.test"], SigningAlgorithm="RS256",
                                                              DurationSeconds=3600),
                     "SessionDurationEscalationException", 403)

    def test_4_rotation(self):
        old = self.sts.get_web_identity_token(Audience=["rot"], SigningAlgorithm="RS256")["WebIdentityToken"]
        old_kid = json.loads(b64d(old.split(".")[0]))["kid"]
        with open(self.clock, "w") as f:
            f.write("31d\n")
        time.sleep(2.5)  # the server re-reads the clock file every second
        new = self.sts.get_web_identity_token(Audience=["rot"], SigningAlgorithm="RS256")["WebIdentityToken"]
        new_kid = json.loads(b64d(new.split(".")[0]))["kid"]
        self.assertNotEqual(old_kid, new_kid)
        jwks = self.get("/tenant1/.well-known/jwks.json")
        kids = [k["kid"] for k in jwks["keys"] if k["alg"] == "RS256"]
        self.assertIn(old_kid, kids)
        self.assertEqual(kids[-1], new_kid)
        verify_py(old, jwks)
        verify_py(new, jwks)
        rc, got = self.jose(old, "rot")
        self.assertEqual(rc, 0, got)
        with open(self.clock, "w") as f:
            f.write("0\n")
        time.sleep(2.5)

    def test_5_disable(self):
        self.iam.disable_outbound_web_identity_federation()
        expect_error(self, lambda: self.iam.disable_outbound_web_identity_federation(), "FeatureDisabled", 404)
        expect_error(self, lambda: self.sts.get_web_identity_token(Audience=["x"], SigningAlgorithm="RS256"),
                     "OutboundWebIdentityFederationDisabledException", 403)
        self.iam.enable_outbound_web_identity_federation()
        # the discovery documents need no credentials; other GETs still do
        req = urllib.request.Request(self.k.endpoint + "/?Action=GetCallerIdentity&Version=2011-06-15")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req, timeout=10)
        self.assertEqual(cm.exception.code, 403)


if __name__ == "__main__":
    main()
