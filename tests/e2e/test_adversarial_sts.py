"""STS, the attacker's tests next to the user's (issue 16 items 3, 4, 8, 9,
11; issue 10's habit list for STS).

- What each kind of temporary credential may call, one test per row of
  docs/authorization.md "Temporary credentials: what each kind may call".
- Session tags: sts:TagSession required; the issuing user's tags reach its
  federated sessions, session tags override them.
- OIDC: a NUL inside a claim, `crit`, a string `nbf`, `iss` compared exactly.
- TOTP: a code is good once (RFC 6238 section 5.2).
- Tokens from another kmsd, one second past expiry, other accounts' principals,
  hostile role-session names, Deny on every principal kind for sts actions.
"""
import base64
import hashlib
import hmac
import json
import os
import struct
import time
import unittest
from urllib.parse import urlencode

import boto3
import botocore
import botocore.config

from authz_common import allow, deny, doc
from kmsd_harness import Kmsd, kmsctl, main
from sts_common import creds_of, err, expect_error, make_user, trust
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from test_sts_web_identity import Keys, b64u, claims, jwt

ACCT = "000000000000"
B = "222233334444"
B_ROOT = ("AKIAACCOUNTB0000STS1", "account-b-root-secret-sts-0001")
ISS = "https://ci.example.test"
HOST = "ci.example.test"
INVALID_TOKEN = ("InvalidClientTokenId", 403)
REFUSED = ("AccessDenied", 403)
OK = "ok"


def totp(seed, t):
    mac = hmac.new(seed, struct.pack(">Q", int(t) // 30), hashlib.sha1).digest()
    off = mac[19] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


def outcome(fn, *a, **kw):
    """"ok", or (code, status) of the ClientError fn raises."""
    try:
        fn(*a, **kw)
        return OK
    except botocore.exceptions.ClientError as e:
        c, s, _ = err(e)
        return (c, s)


def install_jwks(k):
    path = os.path.join(k.root, "jwks.json")
    with open(path, "w") as f:
        json.dump(Keys.jwks(), f)
    rc, _, errout = kmsctl("sts", "set-jwks", "--data-dir", k.data_dir, "--url", ISS, "--jwks-file", path)
    assert rc == 0, errout


def anon_sts(k):
    return boto3.client("sts", endpoint_url=k.endpoint, region_name="us-east-1",
                        config=botocore.config.Config(signature_version=botocore.UNSIGNED,
                                                      retries={"max_attempts": 1}))


class TempCredentialLimits(unittest.TestCase):
    """One test per row of the table. The issuing user and the roles may do
    everything by policy, so whatever is refused is refused by the kind of
    credential alone (IAM User Guide, "Comparing the AWS STS API operations",
    id_credentials_temp_request.html#stsapi_comparison)."""

    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        cls.iam = cls.k.client("iam")
        everything = doc(allow("*"))
        cls.user, cls.ukey = make_user(cls.k, "token-app")
        cls.iam.put_user_policy(UserName="token-app", PolicyName="all", PolicyDocument=everything)
        for name in ("worker", "worker2"):
            cls.iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust({"AWS": ACCT}))
            cls.iam.put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=everything)
        cls.worker = "arn:aws:iam::%s:role/worker" % ACCT
        cls.worker2 = "arn:aws:iam::%s:role/worker2" % ACCT
        provider = cls.iam.create_open_id_connect_provider(Url=ISS, ClientIDList=["sts.amazonaws.com"],
                                                           ThumbprintList=["0" * 40])["OpenIDConnectProviderArn"]
        cls.ci = cls.iam.create_role(RoleName="ci", AssumeRolePolicyDocument=trust(
            {"Federated": provider}, action="sts:AssumeRoleWithWebIdentity"))["Role"]
        cls.iam.put_role_policy(RoleName="ci", PolicyName="all", PolicyDocument=everything)
        install_jwks(cls.k)
        dev = cls.iam.create_virtual_mfa_device(VirtualMFADeviceName="token-app-mfa")["VirtualMFADevice"]
        cls.serial = dev["SerialNumber"]
        cls.seed = base64.b32decode(dev["Base32StringSeed"])
        now = time.time()
        cls.iam.enable_mfa_device(UserName="token-app", SerialNumber=cls.serial,
                                  AuthenticationCode1=totp(cls.seed, now - 60),
                                  AuthenticationCode2=totp(cls.seed, now - 30))
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def user_sts(self):
        return self.k.client("sts", creds=self.ukey)

    def fresh(self, prefix):
        TempCredentialLimits.n += 1
        return "%s%d" % (prefix, TempCredentialLimits.n)

    def calls(self, c, t):
        """What these credentials get from each STS action, IAM and KMS."""
        sts = self.k.client("sts", creds=c, session_token=t)
        iam = self.k.client("iam", creds=c, session_token=t)
        kms = self.k.client("kms", creds=c, session_token=t)
        got = {
            "GetCallerIdentity": outcome(sts.get_caller_identity),
            "AssumeRole": outcome(sts.assume_role, RoleArn=self.worker2, RoleSessionName=self.fresh("s")),
            "GetSessionToken": outcome(sts.get_session_token),
            "GetFederationToken": outcome(sts.get_federation_token, Name=self.fresh("f"), Policy=doc(allow("*"))),
            "GetAccessKeyInfo": outcome(sts.get_access_key_info, AccessKeyId=self.ukey[0]),
            "DecodeAuthorizationMessage": outcome(sts.decode_authorization_message, EncodedMessage="x" * 40),
            "iam:ListUsers": outcome(iam.list_users),
            "iam:CreateUser": outcome(iam.create_user, UserName=self.fresh("u")),
            "iam:PutUserPolicy(issuer)": outcome(iam.put_user_policy, UserName="token-app", PolicyName="extra",
                                                 PolicyDocument=doc(allow("*"))),
            "kms:GenerateRandom": outcome(kms.generate_random, NumberOfBytes=8),
        }
        # a junk message is the only failure DecodeAuthorizationMessage may give once it is served
        if got["DecodeAuthorizationMessage"] == ("InvalidAuthorizationMessageException", 400):
            got["DecodeAuthorizationMessage"] = OK
        # GetAccessKeyInfo for a key of one's own account: served
        return got

    def expect(self, c, t, sts_ok, iam):
        got = self.calls(c, t)
        want = {a: (OK if a in sts_ok else REFUSED) for a in
                ("GetCallerIdentity", "AssumeRole", "GetSessionToken", "GetFederationToken", "GetAccessKeyInfo",
                 "DecodeAuthorizationMessage")}
        for a in ("iam:ListUsers", "iam:CreateUser", "iam:PutUserPolicy(issuer)"):
            want[a] = iam
        want["kms:GenerateRandom"] = OK
        self.assertEqual(got, want)

    ROLE_STS = ("GetCallerIdentity", "AssumeRole", "GetAccessKeyInfo", "DecodeAuthorizationMessage")

    def test_row_long_term_user(self):
        # the baseline: long-term keys of the same user may call everything
        self.expect(self.ukey, None, ("GetCallerIdentity", "AssumeRole", "GetSessionToken", "GetFederationToken",
                                      "GetAccessKeyInfo", "DecodeAuthorizationMessage"), OK)

    def test_row_get_session_token_without_mfa(self):
        c, t = creds_of(self.user_sts().get_session_token(DurationSeconds=900)["Credentials"])
        self.expect(c, t, ("GetCallerIdentity", "AssumeRole"), INVALID_TOKEN)

    def test_row_get_session_token_with_mfa(self):
        c, t = creds_of(self.user_sts().get_session_token(
            DurationSeconds=900, SerialNumber=self.serial, TokenCode=totp(self.seed, time.time()))["Credentials"])
        self.expect(c, t, ("GetCallerIdentity", "AssumeRole"), OK)

    def test_row_get_federation_token(self):
        # the attack: a federated session of a user who may do anything, with a session policy allowing
        # everything, created users and a permanent access key for its issuer
        out = self.user_sts().get_federation_token(Name="bob", Policy=doc(allow("*")), DurationSeconds=900)
        c, t = creds_of(out["Credentials"])
        self.expect(c, t, ("GetCallerIdentity",), INVALID_TOKEN)
        before = self.iam.list_access_keys(UserName="token-app")["AccessKeyMetadata"]
        iam = self.k.client("iam", creds=c, session_token=t)
        self.assertEqual(outcome(iam.create_access_key, UserName="token-app"), INVALID_TOKEN)
        self.assertEqual(outcome(iam.create_access_key), INVALID_TOKEN)
        self.assertEqual(self.iam.list_access_keys(UserName="token-app")["AccessKeyMetadata"], before)

    def root_key(self):
        key = ("AKIAROOTOFACCT000STS", "root-secret-of-the-sts-test-account-01")
        if not getattr(TempCredentialLimits, "root_added", False):
            rc, _, errout = kmsctl("access-key", "add", "--data-dir", self.k.data_dir, "--id", key[0],
                                   "--secret", key[1], "--account", ACCT)
            self.assertEqual(rc, 0, errout)
            TempCredentialLimits.root_added = True
        return key

    def test_row_get_federation_token_by_root(self):
        root = self.k.client("sts", creds=self.root_key())
        self.assertEqual(root.get_caller_identity()["Arn"], "arn:aws:iam::%s:root" % ACCT)
        out = root.get_federation_token(Name="rootfed", Policy=doc(allow("*")), DurationSeconds=900)
        c, t = creds_of(out["Credentials"])
        self.expect(c, t, ("GetCallerIdentity",), INVALID_TOKEN)

    def test_row_get_session_token_by_root_without_mfa(self):
        root = self.k.client("sts", creds=self.root_key())
        c, t = creds_of(root.get_session_token(DurationSeconds=900)["Credentials"])
        got = self.calls(c, t)
        # AssumeRole: AWS refuses roots ("Roles may not be assumed by root accounts"), whatever the credential
        self.assertEqual(got.pop("AssumeRole"), REFUSED)
        self.assertEqual(got["GetCallerIdentity"], OK)
        for a in ("GetSessionToken", "GetFederationToken", "GetAccessKeyInfo", "DecodeAuthorizationMessage"):
            self.assertEqual(got[a], REFUSED, a)
        for a in ("iam:ListUsers", "iam:CreateUser", "iam:PutUserPolicy(issuer)"):
            self.assertEqual(got[a], INVALID_TOKEN, a)
        self.assertEqual(got["kms:GenerateRandom"], OK)

    def test_row_assume_role(self):
        c, t = creds_of(self.user_sts().assume_role(RoleArn=self.worker, RoleSessionName="r1")["Credentials"])
        self.expect(c, t, self.ROLE_STS, OK)

    def test_row_role_chaining(self):
        c, t = creds_of(self.user_sts().assume_role(RoleArn=self.worker, RoleSessionName="r1")["Credentials"])
        c2, t2 = creds_of(self.k.client("sts", creds=c, session_token=t).assume_role(
            RoleArn=self.worker2, RoleSessionName="r2")["Credentials"])
        self.expect(c2, t2, self.ROLE_STS, OK)

    def test_row_assume_role_with_web_identity(self):
        out = anon_sts(self.k).assume_role_with_web_identity(RoleArn=self.ci["Arn"], RoleSessionName="job",
                                                             WebIdentityToken=jwt(claims()))
        c, t = creds_of(out["Credentials"])
        self.expect(c, t, self.ROLE_STS, OK)


class SessionTags(unittest.TestCase):
    """sts:TagSession is required to pass session tags (IAM User Guide,
    id_session-tags.html, "Permissions required to add session tags"), and a
    federated session's principal tags are its issuing user's tags plus the
    session tags, the session tags overriding a user tag with the same key,
    regardless of case."""

    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        cls.iam = cls.k.client("iam")
        kms = cls.k.client("kms")
        cls.key = kms.create_key(Policy=doc(
            # no root statement: encrypting needs the tag-conditioned statement below
            {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:user/admin" % ACCT},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "Cleared", "Effect": "Allow", "Principal": {"AWS": ACCT}, "Action": "kms:Encrypt",
             "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/clearance": "high"}}},
            {"Sid": "Describe", "Effect": "Allow", "Principal": {"AWS": ACCT}, "Action": "kms:DescribeKey",
             "Resource": "*"},
            {"Sid": "Quarantine", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*",
             "Condition": {"StringEquals": {"aws:PrincipalTag/team": "quarantine"}}}))["KeyMetadata"]
        base = ["sts:GetFederationToken", "sts:AssumeRole", "kms:Encrypt", "kms:DescribeKey"]
        cls.mallory = cls.user("mallory", base)
        cls.trusted = cls.user("trusted", base + ["sts:TagSession"])
        cls.quarantined = cls.user("quarantined", base, tags=[{"Key": "team", "Value": "quarantine"},
                                                                {"Key": "clearance", "Value": "high"}])
        cls.cleaner = cls.user("cleaner", base + ["sts:TagSession"],
                               tags=[{"Key": "team", "Value": "quarantine"}, {"Key": "clearance", "Value": "high"}])
        # a role whose trust policy names the account only: sts:TagSession is the callers' to grant
        cls.role = cls.iam.create_role(RoleName="tagged-role", AssumeRolePolicyDocument=trust(
            {"AWS": ACCT}, extra_actions=["sts:TagSession"]))["Role"]
        cls.iam.put_role_policy(RoleName="tagged-role", PolicyName="kms",
                                PolicyDocument=doc(allow(["kms:Encrypt", "kms:DescribeKey"])))

    @classmethod
    def user(cls, name, actions, tags=None):
        kw = {"Tags": tags} if tags else {}
        cls.iam.create_user(UserName=name, **kw)
        cls.iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=doc(allow(actions)))
        key = cls.iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def federate(self, creds, name, tags=None):
        kw = {"Tags": tags} if tags is not None else {}
        out = self.k.client("sts", creds=creds).get_federation_token(
            Name=name, Policy=doc(allow("kms:*")), DurationSeconds=900, **kw)
        return self.k.client("kms", **dict(zip(("creds", "session_token"), creds_of(out["Credentials"]))))

    def encrypt(self, kms):
        return outcome(kms.encrypt, KeyId=self.key["Arn"], Plaintext=b"x")

    def describe(self, kms):
        return outcome(kms.describe_key, KeyId=self.key["Arn"])

    def test_federation_tags_need_tag_session(self):
        # the attack: mallory gives its federated session clearance=high
        expect_error(self, lambda: self.federate(self.mallory, "spoof", [{"Key": "clearance", "Value": "high"}]),
                     "AccessDenied", 403, "sts:TagSession")
        # without tags it is served, and the session has no clearance
        fed = self.federate(self.mallory, "plain")
        self.assertEqual(self.encrypt(fed), ("AccessDeniedException", 400))
        self.assertEqual(self.describe(fed), OK)

    def test_federation_tags_with_tag_session(self):
        fed = self.federate(self.trusted, "cleared", [{"Key": "clearance", "Value": "high"}])
        self.assertEqual(self.encrypt(fed), OK)

    def test_tag_session_conditions_see_request_tags(self):
        self.iam.put_user_policy(UserName="trusted", PolicyName="only-low", PolicyDocument=doc(
            deny("sts:TagSession", Condition={"StringNotEquals": {"aws:RequestTag/clearance": "low"}})))
        try:
            expect_error(self, lambda: self.federate(self.trusted, "greedy", [{"Key": "clearance", "Value": "high"}]),
                         "AccessDenied", 403)
            self.federate(self.trusted, "modest", [{"Key": "clearance", "Value": "low"}])
        finally:
            self.iam.delete_user_policy(UserName="trusted", PolicyName="only-low")

    def test_assume_role_tags_need_tag_session(self):
        sts = self.k.client("sts", creds=self.mallory)
        expect_error(self, lambda: sts.assume_role(RoleArn=self.role["Arn"], RoleSessionName="spoof",
                                                   Tags=[{"Key": "clearance", "Value": "high"}]),
                     "AccessDenied", 403)
        out = self.k.client("sts", creds=self.trusted).assume_role(
            RoleArn=self.role["Arn"], RoleSessionName="ok", Tags=[{"Key": "clearance", "Value": "high"}])
        c, t = creds_of(out["Credentials"])
        self.assertEqual(self.encrypt(self.k.client("kms", creds=c, session_token=t)), OK)

    def test_user_tag_deny_reaches_federated_session(self):
        # the user itself is denied by its tag
        self.assertEqual(self.describe(self.k.client("kms", creds=self.quarantined)), ("AccessDeniedException", 400))
        # the attack: a federated session of the same user dropped the user's tags and escaped the Deny
        fed = self.federate(self.quarantined, "escape")
        self.assertEqual(self.describe(fed), ("AccessDeniedException", 400))
        self.assertEqual(self.encrypt(fed), ("AccessDeniedException", 400))

    def test_session_tag_overrides_user_tag(self):
        # AWS's precedence: a session tag overrides the user's tag with the same key, whatever its case
        fed = self.federate(self.cleaner, "cleared", [{"Key": "Team", "Value": "audited"}])
        self.assertEqual(self.describe(fed), OK)
        # the user's other tags stay: clearance=high still lets it encrypt
        self.assertEqual(self.encrypt(fed), OK)


def jwt_with_header(header, body):
    """An RS256 token with this exact header (kid r1 signs it)."""
    signing = (b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(body).encode())).encode()
    sig = Keys.rsa_key.sign(signing, padding.PKCS1v15(), hashes.SHA256())
    return signing.decode() + "." + b64u(sig)


class WebIdentityAttacks(unittest.TestCase):
    """AssumeRoleWithWebIdentity with hostile ID tokens, each validly signed
    by the provider's key: a NUL inside a claim (item 8), `crit` (RFC 7515
    section 4.1.11), a string `nbf` (RFC 7519 section 2, NumericDate), an `iss`
    that matches the provider URL only loosely (item 11)."""

    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        iam = cls.k.client("iam")
        provider = iam.create_open_id_connect_provider(Url=ISS, ClientIDList=["sts.amazonaws.com"],
                                                       ThumbprintList=["0" * 40])["OpenIDConnectProviderArn"]
        cls.role = iam.create_role(RoleName="alice-only", AssumeRolePolicyDocument=trust(
            {"Federated": provider}, action="sts:AssumeRoleWithWebIdentity",
            condition={"StringEquals": {HOST + ":sub": "alice", HOST + ":aud": "sts.amazonaws.com"}}))["Role"]
        install_jwks(cls.k)
        cls.anon = anon_sts(cls.k)

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def assume(self, token):
        return self.anon.assume_role_with_web_identity(RoleArn=self.role["Arn"], RoleSessionName="job",
                                                       WebIdentityToken=token)

    def refused(self, token, msg_part=None):
        expect_error(self, lambda: self.assume(token), "InvalidIdentityToken", 400, msg_part)

    def test_legitimate_alice(self):
        out = self.assume(jwt(claims(sub="alice")))
        self.assertEqual(out["SubjectFromWebIdentityToken"], "alice")
        self.assertEqual(out["Audience"], "sts.amazonaws.com")

    def test_nul_in_sub(self):
        # the attack: matched the trust condition on "alice" and was reported as alice
        self.refused(jwt(claims(sub="alice\u0000-impersonated")))

    def test_nul_in_aud_and_iss_and_other_claims(self):
        self.refused(jwt(claims(sub="alice", aud="sts.amazonaws.com\u0000.evil")))
        self.refused(jwt(claims(sub="alice", aud=["x", "sts.amazonaws.com\u0000.evil"])))
        self.refused(jwt(claims(sub="alice", iss=ISS + "\u0000.evil")))
        self.refused(jwt(claims(sub="alice", email="a\u0000b")))

    def test_nul_in_header(self):
        self.refused(jwt_with_header({"alg": "RS256", "typ": "JWT", "kid": "r1\u0000x"}, claims(sub="alice")))

    def test_crit_header(self):
        self.refused(jwt_with_header({"alg": "RS256", "kid": "r1", "crit": ["exp"]}, claims(sub="alice")))
        self.refused(jwt_with_header({"alg": "RS256", "kid": "r1", "crit": []}, claims(sub="alice")))
        # the same header without crit is fine
        self.assume(jwt_with_header({"alg": "RS256", "kid": "r1"}, claims(sub="alice")))

    def test_string_nbf_and_exp(self):
        now = int(time.time())
        self.refused(jwt(claims(sub="alice", nbf=str(now + 3600))))
        self.refused(jwt(claims(sub="alice", nbf="soon")))
        self.refused(jwt(claims(sub="alice", nbf=None, exp=str(now + 600))))
        self.refused(jwt(claims(sub="alice", nbf=True)))
        # numbers are fine, fractions too
        self.assume(jwt(claims(sub="alice", nbf=now - 1.5, exp=now + 600.25)))

    def test_iss_exact(self):
        for iss in (ISS + "/", "https://CI.example.test", "HTTPS://ci.example.test", "ci.example.test",
                    "http://ci.example.test", ISS + "//"):
            with self.subTest(iss=iss):
                self.refused(jwt(claims(sub="alice", iss=iss)))
        self.assume(jwt(claims(sub="alice", iss=ISS)))


class MfaReplay(unittest.TestCase):
    """"The verifier MUST NOT accept the second attempt of the OTP after the
    successful validation has been issued for the first OTP, which ensures
    one-time only use of an OTP." (RFC 6238 section 5.2). kmsd remembers the
    last time step used per MFA device; a code of that step or an earlier one
    is refused with AWS's invalid-code error."""

    MSG = "MultiFactorAuthentication failed with invalid MFA one time pass code."

    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd()
        cls.clock = os.path.join(cls.k.root, "clock")
        cls.offset = 0
        with open(cls.clock, "w") as f:
            f.write("0\n")
        cls.k.extra_args += ["--clock-file", cls.clock]
        cls.k.start()
        cls.iam = cls.k.client("iam")
        cls.user, cls.ukey = make_user(cls.k, "mfa-user")
        cls.iam.put_user_policy(UserName="mfa-user", PolicyName="sts", PolicyDocument=doc(allow("sts:*")))
        cls.role = cls.iam.create_role(RoleName="mfa-role", AssumeRolePolicyDocument=trust(
            {"AWS": cls.user["Arn"]}, condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))["Role"]
        dev = cls.iam.create_virtual_mfa_device(VirtualMFADeviceName="mfa-user")["VirtualMFADevice"]
        cls.serial = dev["SerialNumber"]
        cls.seed = base64.b32decode(dev["Base32StringSeed"])
        now = time.time()
        cls.iam.enable_mfa_device(UserName="mfa-user", SerialNumber=cls.serial,
                                  AuthenticationCode1=totp(cls.seed, now - 90),
                                  AuthenticationCode2=totp(cls.seed, now - 60))

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def advance(self, seconds):
        """Moves the service clock forward (kmsd re-reads the file every second)."""
        MfaReplay.offset += seconds
        with open(self.clock, "w") as f:
            f.write("%d\n" % MfaReplay.offset)
        time.sleep(1.6)

    def code(self, delta=0):
        return totp(self.seed, time.time() + self.offset + delta)

    def session_token(self, code):
        return self.k.client("sts", creds=self.ukey).get_session_token(
            DurationSeconds=900, SerialNumber=self.serial, TokenCode=code)

    def assume(self, code):
        return self.k.client("sts", creds=self.ukey).assume_role(
            RoleArn=self.role["Arn"], RoleSessionName="mfa", SerialNumber=self.serial, TokenCode=code)

    def test_1_code_used_twice(self):
        self.advance(60)
        c = self.code()
        self.session_token(c)
        # the attack: the same code again, by GetSessionToken and by AssumeRole
        expect_error(self, lambda: self.session_token(c), "AccessDenied", 403, self.MSG)
        expect_error(self, lambda: self.assume(c), "AccessDenied", 403, self.MSG)
        # an older code still inside the tolerance window is refused too (steps only move forward)
        expect_error(self, lambda: self.session_token(self.code(-30)), "AccessDenied", 403, self.MSG)
        # the user's next code works, once
        self.advance(30)
        c2 = self.code()
        out = self.assume(c2)
        self.assertTrue(out["Credentials"]["AccessKeyId"].startswith("ASIA"))
        expect_error(self, lambda: self.assume(c2), "AccessDenied", 403, self.MSG)

    def test_2_concurrent_uses_of_one_code(self):
        import threading
        self.advance(60)
        c = self.code()
        results = []

        def one():
            results.append(outcome(self.session_token, c))
        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(results, key=str), [("AccessDenied", 403)] * 7 + [OK])

    def test_3_wrong_code_does_not_burn_the_next(self):
        self.advance(60)
        good = self.code()
        wrong = "%06d" % ((int(good) + 1) % 1000000)
        expect_error(self, lambda: self.session_token(wrong), "AccessDenied", 403, self.MSG)
        self.session_token(good)


if __name__ == "__main__":
    main()
