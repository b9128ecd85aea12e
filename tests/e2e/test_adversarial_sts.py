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
        iam.put_role_policy(RoleName="alice-only", PolicyName="p", PolicyDocument=doc(
            allow("*"), deny("sts:AssumeRole", "arn:aws:iam::%s:role/denied-target" % ACCT)))
        for name in ("denied-target", "open-target"):
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust({"AWS": ACCT}))

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

    def test_deny_reaches_web_identity_session(self):
        c, t = creds_of(self.assume(jwt(claims(sub="alice")))["Credentials"])
        sts = self.k.client("sts", creds=c, session_token=t)
        expect_error(self, lambda: sts.assume_role(RoleArn="arn:aws:iam::%s:role/denied-target" % ACCT,
                                                   RoleSessionName="chain"), "AccessDenied", 403)
        sts.assume_role(RoleArn="arn:aws:iam::%s:role/open-target" % ACCT, RoleSessionName="chain")
        # and a Deny in the trust policy for one subject
        self.k.client("iam").update_assume_role_policy(RoleName="alice-only", PolicyDocument=doc(
            {"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::%s:oidc-provider/%s" % (ACCT, HOST)},
             "Action": "sts:AssumeRoleWithWebIdentity"},
            {"Effect": "Deny", "Principal": {"Federated": "arn:aws:iam::%s:oidc-provider/%s" % (ACCT, HOST)},
             "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": {HOST + ":sub": "alice"}}}))
        try:
            expect_error(self, lambda: self.assume(jwt(claims(sub="alice"))), "AccessDenied", 403)
            self.assume(jwt(claims(sub="bob")))
        finally:
            self.k.client("iam").update_assume_role_policy(RoleName="alice-only", PolicyDocument=trust(
                {"Federated": "arn:aws:iam::%s:oidc-provider/%s" % (ACCT, HOST)},
                action="sts:AssumeRoleWithWebIdentity",
                condition={"StringEquals": {HOST + ":sub": "alice", HOST + ":aud": "sts.amazonaws.com"}}))

    def test_hostile_session_names(self):
        tok = jwt(claims(sub="alice"))
        for name in ("job\x00evil", "\u0430lice", "x" * 65, "j", "two words"):
            with self.subTest(name=name[:20]):
                form = {"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15", "RoleArn": self.role["Arn"],
                        "RoleSessionName": name, "WebIdentityToken": tok}
                st, _, body = self.k.send("POST", self.k.endpoint + "/",
                                          {"Content-Type": "application/x-www-form-urlencoded"},
                                          urlencode(form).encode())
                self.assertEqual(st, 400, body)
                self.assertIn(b"<Code>ValidationError</Code>", body)
                self.assertNotIn(b"SessionToken", body)

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
        # clients are made here: making boto3 clients is not thread-safe, using them is
        clients = [self.k.client("sts", creds=self.ukey) for _ in range(8)]

        def one(sts):
            results.append(outcome(sts.get_session_token, DurationSeconds=900, SerialNumber=self.serial,
                                   TokenCode=c))
        threads = [threading.Thread(target=one, args=(sts,)) for sts in clients]
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


class ForeignAndExpiredTokens(unittest.TestCase):
    """Session tokens sealed by another kmsd (another token key), tokens whose
    key-id header was re-targeted, and tokens one second past expiry on the
    service clock, for every kind of session and on STS, KMS and IAM."""

    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd()
        cls.clock = os.path.join(cls.k.root, "clock")
        with open(cls.clock, "w") as f:
            f.write("0\n")
        cls.k.extra_args += ["--clock-file", cls.clock]
        cls.k.start()
        cls.other = Kmsd().start()
        for k in (cls.k, cls.other):
            iam = k.client("iam")
            iam.create_user(UserName="app")
            iam.put_user_policy(UserName="app", PolicyName="p", PolicyDocument=doc(allow("*")))
            iam.create_role(RoleName="r", AssumeRolePolicyDocument=trust({"AWS": ACCT}))
            iam.put_role_policy(RoleName="r", PolicyName="p", PolicyDocument=doc(allow("*")))
        key = cls.k.client("iam").create_access_key(UserName="app")["AccessKey"]
        cls.ukey = key["AccessKeyId"], key["SecretAccessKey"]
        okey = cls.other.client("iam").create_access_key(UserName="app")["AccessKey"]
        cls.okey = okey["AccessKeyId"], okey["SecretAccessKey"]

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()
        cls.other.cleanup()

    def set_offset(self, seconds):
        with open(self.clock, "w") as f:
            f.write("%d\n" % seconds)
        time.sleep(1.6)

    def sessions(self, k, key):
        """One session of each kind from kmsd k: (name, creds, token, expiration)."""
        sts = k.client("sts", creds=key)
        outs = [("role", sts.assume_role(RoleArn="arn:aws:iam::%s:role/r" % ACCT, RoleSessionName="s1",
                                         DurationSeconds=900)["Credentials"]),
                ("session", sts.get_session_token(DurationSeconds=900)["Credentials"]),
                ("federated", sts.get_federation_token(Name="fed", Policy=doc(allow("*")),
                                                       DurationSeconds=900)["Credentials"])]
        return [(n,) + creds_of(c) + (c["Expiration"].timestamp(),) for n, c in outs]

    def refused_everywhere(self, k, c, t, sts_code, kms_code):
        self.assertEqual(outcome(k.client("sts", creds=c, session_token=t).get_caller_identity), sts_code)
        self.assertEqual(outcome(k.client("kms", creds=c, session_token=t).generate_random, NumberOfBytes=4),
                         kms_code)
        self.assertEqual(outcome(k.client("iam", creds=c, session_token=t).list_roles), sts_code)

    def test_token_from_another_kmsd(self):
        # both servers' first token key has id 1: only the AEAD key tells them apart
        for name, c, t, _ in self.sessions(self.other, self.okey):
            with self.subTest(kind=name):
                self.assertEqual(outcome(self.other.client("sts", creds=c, session_token=t).get_caller_identity), OK)
                self.refused_everywhere(self.k, c, t, INVALID_TOKEN, ("UnrecognizedClientException", 400))

    def test_retargeted_key_id_and_borrowed_token(self):
        rc, _, errout = kmsctl("sts", "rotate-token-key", "--data-dir", self.k.data_dir)
        self.assertEqual(rc, 0, errout)
        for name, c, t, _ in self.sessions(self.k, self.ukey):
            with self.subTest(kind=name):
                raw = bytearray(base64.b64decode(t))
                self.assertEqual(raw[0], 1)
                key_id = struct.unpack(">I", bytes(raw[1:5]))[0]
                for other_id in (key_id - 1, key_id + 1, 0, 0xFFFFFFFF):
                    raw[1:5] = struct.pack(">I", other_id & 0xFFFFFFFF)
                    bad = base64.b64encode(bytes(raw)).decode()
                    self.refused_everywhere(self.k, c, bad, INVALID_TOKEN, ("UnrecognizedClientException", 400))
                # a valid token presented with a long-term key, or with another session's key id
                self.assertEqual(outcome(self.k.client("sts", creds=self.ukey, session_token=t).get_caller_identity),
                                 INVALID_TOKEN)
                self.assertEqual(outcome(self.k.client("sts", creds=c, session_token=t).get_caller_identity), OK)

    def test_one_second_past_expiry(self):
        sess = self.sessions(self.k, self.ukey)
        exp = max(e for *_, e in sess)
        try:
            # two seconds before the earliest expiry: all still good
            self.set_offset(int(min(e for *_, e in sess) - time.time()) - 4)
            for name, c, t, _ in sess:
                with self.subTest(kind=name, when="before"):
                    self.assertEqual(outcome(self.k.client("sts", creds=c, session_token=t).get_caller_identity), OK)
            # one second past the latest expiry: all refused, on every service
            self.set_offset(int(exp - time.time()) + 2)
            for name, c, t, _ in sess:
                with self.subTest(kind=name, when="after"):
                    self.refused_everywhere(self.k, c, t, ("ExpiredToken", 403), ("ExpiredTokenException", 400))
        finally:
            self.set_offset(0)
        for name, c, t, _ in sess:
            self.assertEqual(outcome(self.k.client("sts", creds=c, session_token=t).get_caller_identity), OK)


class HostilePrincipals(unittest.TestCase):
    """AssumeRole by another account's principals; role-session names, names
    and tags with NUL, confusable or overlong text; an explicit Deny on sts
    actions for every kind of principal and from every kind of policy."""

    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        rc, _, errout = kmsctl("access-key", "add", "--data-dir", cls.k.data_dir, "--id", B_ROOT[0],
                               "--secret", B_ROOT[1], "--account", B)
        assert rc == 0, errout
        cls.iam = cls.k.client("iam")
        cls.user, cls.ukey = make_user(cls.k, "alice")
        cls.iam.put_user_policy(UserName="alice", PolicyName="all", PolicyDocument=doc(allow("*")))
        cls.same = cls.iam.create_role(RoleName="same-account", AssumeRolePolicyDocument=trust(
            {"AWS": ACCT}, extra_actions=["sts:TagSession", "sts:SetSourceIdentity"]))["Role"]
        cls.iam.put_role_policy(RoleName="same-account", PolicyName="all", PolicyDocument=doc(allow("*")))
        cls.shared = cls.iam.create_role(RoleName="shared-with-b", AssumeRolePolicyDocument=trust(
            {"AWS": "arn:aws:iam::%s:user/partner" % B}, condition={"StringEquals": {"sts:ExternalId": "x-1"}}))["Role"]
        biam = cls.k.client("iam", creds=B_ROOT)
        biam.create_user(UserName="partner")
        k = biam.create_access_key(UserName="partner")["AccessKey"]
        cls.partner = k["AccessKeyId"], k["SecretAccessKey"]
        biam.create_user(UserName="stranger")
        biam.put_user_policy(UserName="stranger", PolicyName="all", PolicyDocument=doc(allow("*")))
        k = biam.create_access_key(UserName="stranger")["AccessKey"]
        cls.stranger = k["AccessKeyId"], k["SecretAccessKey"]
        # a role in B that account A's alice may try to reach
        cls.b_role = biam.create_role(RoleName="b-internal", AssumeRolePolicyDocument=trust({"AWS": B}))["Role"]

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def sts(self, creds, token=None):
        return self.k.client("sts", creds=creds, session_token=token)

    def test_other_accounts_principals(self):
        # a role trusting only its own account: B's root, B's users (even with sts:* on their side) are refused
        for who in (B_ROOT, self.stranger, self.partner):
            expect_error(self, lambda: self.sts(who).assume_role(RoleArn=self.same["Arn"], RoleSessionName="x1"),
                         "AccessDenied", 403)
        # A's alice cannot reach into B either
        expect_error(self, lambda: self.sts(self.ukey).assume_role(RoleArn=self.b_role["Arn"], RoleSessionName="x1"),
                     "AccessDenied", 403)
        # a role trusting B's partner by name: partner needs its own account's permission too (cross-account)
        expect_error(self, lambda: self.sts(self.partner).assume_role(
            RoleArn=self.shared["Arn"], RoleSessionName="x1", ExternalId="x-1"), "AccessDenied", 403)
        # B's stranger has sts:* at home but is not the user the trust policy names
        expect_error(self, lambda: self.sts(self.stranger).assume_role(
            RoleArn=self.shared["Arn"], RoleSessionName="x1", ExternalId="x-1"), "AccessDenied", 403)
        # a session of a role in B trusted by nothing in A: refused
        c, t = creds_of(self.sts(self.stranger).assume_role(RoleArn=self.b_role["Arn"],
                                                            RoleSessionName="b1")["Credentials"])
        expect_error(self, lambda: self.sts(c, t).assume_role(RoleArn=self.same["Arn"], RoleSessionName="x1"),
                     "AccessDenied", 403)
        # the legitimate partner: permission at home, the right external id
        self.k.client("iam", creds=B_ROOT).put_user_policy(UserName="partner", PolicyName="go", PolicyDocument=doc(
            allow("sts:AssumeRole", self.shared["Arn"])))
        try:
            expect_error(self, lambda: self.sts(self.partner).assume_role(
                RoleArn=self.shared["Arn"], RoleSessionName="x1", ExternalId="x-2"), "AccessDenied", 403)
            out = self.sts(self.partner).assume_role(RoleArn=self.shared["Arn"], RoleSessionName="x1",
                                                     ExternalId="x-1")
            self.assertEqual(out["AssumedRoleUser"]["Arn"], "arn:aws:sts::%s:assumed-role/shared-with-b/x1" % ACCT)
        finally:
            self.k.client("iam", creds=B_ROOT).delete_user_policy(UserName="partner", PolicyName="go")

    def test_unreadable_identity_does_not_skip_its_deny(self):
        # the attack: a user denied sts:AssumeRole grows past the per-principal policy cap (64) so its
        # policies cannot be compiled; the identity side was then treated as empty and a trust policy
        # naming the user directly carried the call, Deny skipped
        u, key = make_user(self.k, "bloated")
        self.iam.put_user_policy(UserName="bloated", PolicyName="deny", PolicyDocument=doc(deny("sts:*")))
        self.iam.create_role(RoleName="direct", AssumeRolePolicyDocument=trust({"AWS": u["Arn"]}))
        sts = self.sts(key)
        arn = "arn:aws:iam::%s:role/direct" % ACCT
        expect_error(self, lambda: sts.assume_role(RoleArn=arn, RoleSessionName="x1"), "AccessDenied", 403)
        for i in range(70):
            self.iam.put_user_policy(UserName="bloated", PolicyName="p%d" % i,
                                     PolicyDocument=doc(allow("kms:DescribeKey")))
        expect_error(self, lambda: sts.assume_role(RoleArn=arn, RoleSessionName="x1"), "AccessDenied", 403)
        expect_error(self, lambda: sts.get_federation_token(Name="fed1", Policy=doc(allow("*"))), "AccessDenied", 403)
        # the legitimate user: once its policies can be read again, its Deny (gone) no longer applies
        for i in range(70):
            self.iam.delete_user_policy(UserName="bloated", PolicyName="p%d" % i)
        self.iam.delete_user_policy(UserName="bloated", PolicyName="deny")
        self.assertTrue(sts.assume_role(RoleArn=arn, RoleSessionName="x1")["Credentials"]["AccessKeyId"])

    def raw_assume(self, **params):
        form = {"Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": self.same["Arn"]}
        form.update(params)
        st, _, body = self.k.send(*self.k.signed_request(
            "sts", urlencode(form), {"Content-Type": "application/x-www-form-urlencoded"}, creds=self.ukey))
        return st, body

    def test_hostile_names(self):
        # NUL, confusable (Cyrillic a), space, overlong: refused with a ValidationError, nothing issued
        for name in ("ok\x00evil", "\u0430lice", "two words", "x" * 65, "a", "new\nline"):
            with self.subTest(name=name):
                st, body = self.raw_assume(RoleSessionName=name)
                self.assertEqual(st, 400, body)
                self.assertIn(b"<Code>ValidationError</Code>", body)
                self.assertNotIn(b"SessionToken", body)
        for field, value in (("SourceIdentity", "al\x00ice"), ("SourceIdentity", "y" * 65),
                             ("ExternalId", "x-1\x00z"), ("Tags.member.1.Key", "team\x00x"),
                             ("Tags.member.1.Key", "k" * 129)):
            with self.subTest(field=field, value=value[:20]):
                extra = {"Tags.member.1.Value": "v"} if field.startswith("Tags") else {}
                st, body = self.raw_assume(RoleSessionName="ok", **{field: value}, **extra)
                self.assertEqual(st, 400, body)
                self.assertNotIn(b"SessionToken", body)
        st, body = self.raw_assume(RoleSessionName="ok", **{"Tags.member.1.Key": "team",
                                                           "Tags.member.1.Value": "high\x00low"})
        self.assertEqual(st, 400, body)
        for name in ("ok\x00evil", "n" * 33, "b"):
            with self.subTest(federated=name):
                form = {"Action": "GetFederationToken", "Version": "2011-06-15", "Name": name}
                st, _, body = self.k.send(*self.k.signed_request(
                    "sts", urlencode(form), {"Content-Type": "application/x-www-form-urlencoded"}, creds=self.ukey))
                self.assertEqual(st, 400, body)
                self.assertIn(b"<Code>ValidationError</Code>", body)
        # 64 characters of the allowed set are fine
        st, body = self.raw_assume(RoleSessionName="a=b,c.d@e-f_+" + "z" * 51)
        self.assertEqual(st, 200, body)

    def with_policy(self, kind, name, document):
        """Attaches an inline policy to a user or role; returns an undo function."""
        if kind == "user":
            self.iam.put_user_policy(UserName=name, PolicyName="deny", PolicyDocument=document)
            return lambda: self.iam.delete_user_policy(UserName=name, PolicyName="deny")
        self.iam.put_role_policy(RoleName=name, PolicyName="deny", PolicyDocument=document)
        return lambda: self.iam.delete_role_policy(RoleName=name, PolicyName="deny")

    def test_deny_for_every_principal_kind(self):
        target = self.same["Arn"]
        deny_assume = doc(deny("sts:AssumeRole"))
        role_creds = lambda: creds_of(self.sts(self.ukey).assume_role(RoleArn=target, RoleSessionName="d1")[
            "Credentials"])
        # the user with long-term keys
        undo = self.with_policy("user", "alice", deny_assume)
        try:
            expect_error(self, lambda: self.sts(self.ukey).assume_role(RoleArn=target, RoleSessionName="d1"),
                         "AccessDenied", 403)
            # its GetSessionToken session carries the user's policies, Deny included
            c, t = creds_of(self.sts(self.ukey).get_session_token(DurationSeconds=900)["Credentials"])
            expect_error(self, lambda: self.sts(c, t).assume_role(RoleArn=target, RoleSessionName="d1"),
                         "AccessDenied", 403)
            # AWS: no policy controls GetSessionToken or GetCallerIdentity
            self.with_policy("user", "alice", doc(deny(["sts:AssumeRole", "sts:GetSessionToken",
                                                        "sts:GetCallerIdentity"])))
            self.sts(self.ukey).get_session_token(DurationSeconds=900)
            self.assertEqual(self.sts(self.ukey).get_caller_identity()["Arn"], self.user["Arn"])
        finally:
            undo()
        # a role session: the Deny in the role's policy stops chaining
        c, t = role_creds()
        undo = self.with_policy("role", "same-account", doc(deny(["sts:AssumeRole", "sts:GetAccessKeyInfo"])))
        try:
            expect_error(self, lambda: self.sts(c, t).assume_role(RoleArn=target, RoleSessionName="d2"),
                         "AccessDenied", 403)
            expect_error(self, lambda: self.sts(c, t).get_access_key_info(AccessKeyId=self.ukey[0]),
                         "AccessDenied", 403)
            self.sts(c, t).get_caller_identity()
        finally:
            undo()
        # a session policy's Deny (and an Allow it lacks) stops the session
        out = self.sts(self.ukey).assume_role(RoleArn=target, RoleSessionName="d3",
                                              Policy=doc(allow("*"), deny("sts:AssumeRole")))
        sc, st = creds_of(out["Credentials"])
        expect_error(self, lambda: self.sts(sc, st).assume_role(RoleArn=target, RoleSessionName="d4"),
                     "AccessDenied", 403)
        # the federated user: the issuer's Deny on sts:GetFederationToken stops issuing
        undo = self.with_policy("user", "alice", doc(deny("sts:GetFederationToken")))
        try:
            expect_error(self, lambda: self.sts(self.ukey).get_federation_token(Name="fed1"), "AccessDenied", 403)
        finally:
            undo()
        # ... and a Deny on sts:TagSession / sts:SetSourceIdentity stops just those
        undo = self.with_policy("user", "alice", doc(deny(["sts:TagSession", "sts:SetSourceIdentity"])))
        try:
            expect_error(self, lambda: self.sts(self.ukey).get_federation_token(
                Name="fed2", Tags=[{"Key": "a", "Value": "b"}]), "AccessDenied", 403)
            expect_error(self, lambda: self.sts(self.ukey).assume_role(
                RoleArn=target, RoleSessionName="d5", Tags=[{"Key": "a", "Value": "b"}]), "AccessDenied", 403)
            expect_error(self, lambda: self.sts(self.ukey).assume_role(
                RoleArn=target, RoleSessionName="d5", SourceIdentity="alice"), "AccessDenied", 403)
            self.sts(self.ukey).assume_role(RoleArn=target, RoleSessionName="d5")
        finally:
            undo()
        # the trust policy's own Deny naming the user (resource side)
        self.iam.update_assume_role_policy(RoleName="same-account", PolicyDocument=doc(
            {"Effect": "Allow", "Principal": {"AWS": ACCT}, "Action": ["sts:AssumeRole", "sts:TagSession",
                                                                      "sts:SetSourceIdentity"]},
            {"Effect": "Deny", "Principal": {"AWS": self.user["Arn"]}, "Action": "sts:AssumeRole"}))
        try:
            expect_error(self, lambda: self.sts(self.ukey).assume_role(RoleArn=target, RoleSessionName="d6"),
                         "AccessDenied", 403)
        finally:
            self.iam.update_assume_role_policy(RoleName="same-account", PolicyDocument=trust(
                {"AWS": ACCT}, extra_actions=["sts:TagSession", "sts:SetSourceIdentity"]))
        # a permissions boundary that does not allow sts:AssumeRole: the bounded role's sessions cannot chain
        arn = self.iam.create_policy(PolicyName="kms-only", PolicyDocument=doc(allow("kms:*")))["Policy"]["Arn"]
        self.iam.create_role(RoleName="bounded", PermissionsBoundary=arn,
                             AssumeRolePolicyDocument=trust({"AWS": ACCT}))
        self.iam.put_role_policy(RoleName="bounded", PolicyName="all", PolicyDocument=doc(allow("*")))
        c, t = creds_of(self.sts(self.ukey).assume_role(RoleArn="arn:aws:iam::%s:role/bounded" % ACCT,
                                                        RoleSessionName="b1")["Credentials"])
        expect_error(self, lambda: self.sts(c, t).assume_role(RoleArn=target, RoleSessionName="d7"),
                     "AccessDenied", 403)
        self.assertEqual(outcome(self.k.client("kms", creds=c, session_token=t).generate_random, NumberOfBytes=4), OK)
        # with every Deny gone, alice assumes the role again
        self.sts(self.ukey).assume_role(RoleArn=target, RoleSessionName="d8")

class WebIdentitySessionTags(unittest.TestCase):
    """Session tags in an ID token ("https://aws.amazon.com/tags": principal_tags,
    transitive_tag_keys) need sts:TagSession in the role's trust policy; "the
    AssumeRole operation will fail for any role connected to an IdP that is
    passing session tags without this permission" (IAM User Guide,
    id_session-tags.html)."""

    TAGS = {"principal_tags": {"team": ["ci"], "project": ["kmsd"]}, "transitive_tag_keys": ["project"]}

    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        iam = cls.k.client("iam")
        cls.provider = iam.create_open_id_connect_provider(Url=ISS, ClientIDList=["sts.amazonaws.com"],
                                                           ThumbprintList=["0" * 40])["OpenIDConnectProviderArn"]
        fed = {"Federated": cls.provider}
        iam.create_role(RoleName="no-tags", AssumeRolePolicyDocument=trust(fed, action="sts:AssumeRoleWithWebIdentity"))
        iam.create_role(RoleName="tags-ok", AssumeRolePolicyDocument=trust(
            fed, action="sts:AssumeRoleWithWebIdentity", extra_actions=["sts:TagSession"]))
        # sts:TagSession only for team=ci
        iam.create_role(RoleName="ci-only", AssumeRolePolicyDocument=doc(
            {"Effect": "Allow", "Principal": fed, "Action": "sts:AssumeRoleWithWebIdentity"},
            {"Effect": "Allow", "Principal": fed, "Action": "sts:TagSession",
             "Condition": {"StringEquals": {"aws:RequestTag/team": "ci"}}}))
        probe = doc(allow("sts:AssumeRole"), allow("sts:GetAccessKeyInfo", Condition={
            "StringEquals": {"aws:PrincipalTag/team": "ci"}}), allow("sts:DecodeAuthorizationMessage", Condition={
            "StringEquals": {"aws:PrincipalTag/project": "kmsd"}}))
        for r in ("no-tags", "tags-ok", "ci-only", "next"):
            if r == "next":
                iam.create_role(RoleName="next", AssumeRolePolicyDocument=trust({"AWS": ACCT}))
            iam.put_role_policy(RoleName=r, PolicyName="probe", PolicyDocument=probe)
        install_jwks(cls.k)
        cls.anon = anon_sts(cls.k)

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def assume(self, role, tags):
        c = claims(sub="alice")
        if tags is not None:
            c["https://aws.amazon.com/tags"] = tags
        return self.anon.assume_role_with_web_identity(RoleArn="arn:aws:iam::%s:role/%s" % (ACCT, role),
                                                       RoleSessionName="job", WebIdentityToken=jwt(c))

    def probe(self, out):
        c, t = creds_of(out["Credentials"])
        sts = self.k.client("sts", creds=c, session_token=t)
        team = outcome(sts.get_access_key_info, AccessKeyId="AKIAIOSFODNN7EXAMPLE")
        project = outcome(sts.decode_authorization_message, EncodedMessage="x" * 40)
        return (team == OK or team[0] != "AccessDenied",
                project == OK or project[0] != "AccessDenied"), (c, t)

    def test_tags_need_tag_session(self):
        # the attack: an IdP passes tags to a role that never allowed sts:TagSession
        expect_error(self, lambda: self.assume("no-tags", self.TAGS), "AccessDenied", 403)
        expect_error(self, lambda: self.assume("ci-only", {"principal_tags": {"team": ["admin"]}}),
                     "AccessDenied", 403)
        # without tags the same role is fine, and the session has none
        self.assertEqual(self.probe(self.assume("no-tags", None))[0], (False, False))

    def test_tags_become_principal_tags_and_transitive_ones_follow(self):
        out = self.assume("tags-ok", self.TAGS)
        self.assertGreater(out["PackedPolicySize"], 0)
        tags, (c, t) = self.probe(out)
        self.assertEqual(tags, (True, True))
        out2 = self.k.client("sts", creds=c, session_token=t).assume_role(
            RoleArn="arn:aws:iam::%s:role/next" % ACCT, RoleSessionName="chain")
        # project was transitive, team was not
        self.assertEqual(self.probe(out2)[0], (False, True))
        self.assertEqual(self.probe(self.assume("ci-only", {"principal_tags": {"team": ["ci"]}}))[0], (True, False))

    def test_malformed_tag_claims(self):
        for bad in ({"principal_tags": {"team": ["ci", "cd"]}},          # multi-valued
                    {"principal_tags": {"team": [1]}},
                    {"principal_tags": {"aws:team": ["x"]}},               # reserved prefix
                    {"principal_tags": {"k" * 129: ["x"]}},
                    {"principal_tags": {"team": ["v" * 257]}},
                    {"principal_tags": {"Team": ["a"], "team": ["b"]}},   # duplicate regardless of case
                    {"principal_tags": {"team": ["a"]}, "transitive_tag_keys": ["other"]},
                    {"principal_tags": ["team"]},
                    "tags",
                    {"principal_tags": {"t%d" % i: ["v"] for i in range(51)}}):
            with self.subTest(bad=str(bad)[:60]):
                expect_error(self, lambda: self.assume("tags-ok", bad), "InvalidIdentityToken", 400)


if __name__ == "__main__":
    main()
