"""STS end to end: AssumeRole with trust policies and ExternalId, temporary
credentials on KMS/STS/IAM, role chaining and its one-hour cap, expiry under
the controlled clock, tampered tokens, GetSessionToken with TOTP MFA,
GetFederationToken, GetAccessKeyInfo, DecodeAuthorizationMessage."""
import base64
import hashlib
import hmac
import json
import os
import struct
import time
import unittest
from urllib.parse import urlencode

from kmsd_harness import Kmsd, main
from sts_common import creds_of, err, expect_error, make_user, trust

ACCT = "000000000000"


def totp(seed, t):
    mac = hmac.new(seed, struct.pack(">Q", int(t) // 30), hashlib.sha1).digest()
    off = mac[19] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


class AssumeRole(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd()
        cls.clock = os.path.join(cls.k.root, "clock")
        with open(cls.clock, "w") as f:
            f.write("0\n")
        cls.k.extra_args += ["--clock-file", cls.clock]
        cls.k.start()
        cls.iam = cls.k.client("iam")
        cls.user, cls.ukey = make_user(cls.k, "alice")
        cls.role = cls.iam.create_role(
            RoleName="ops", MaxSessionDuration=7200,
            AssumeRolePolicyDocument=trust({"AWS": cls.user["Arn"]},
                                           condition={"StringEquals": {"sts:ExternalId": "ext-123"}}))["Role"]
        cls.open_role = cls.iam.create_role(
            RoleName="open", AssumeRolePolicyDocument=trust({"AWS": ACCT}, extra_actions=["sts:TagSession",
                                                                                       "sts:SetSourceIdentity"]))["Role"]
        # Identity policies: a trust policy naming only the account needs the caller's sts:AssumeRole
        # (and sts:TagSession / sts:SetSourceIdentity) too, and IAM/KMS calls need their actions.
        allow = lambda actions: json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": actions, "Resource": "*"}]})
        cls.iam.put_user_policy(UserName="alice", PolicyName="sts", PolicyDocument=allow(["sts:*", "iam:ListUsers"]))
        cls.iam.put_role_policy(RoleName="open", PolicyName="kms", PolicyDocument=allow(["kms:GenerateRandom", "sts:AssumeRole", "iam:GetRole"]))

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def set_clock(self, v):
        with open(self.clock, "w") as f:
            f.write(v + "\n")
        time.sleep(1.6)  # kmsd re-reads the file every second

    def sts(self, creds=None, token=None):
        return self.k.client("sts", creds=creds or self.ukey, session_token=token)

    def test_external_id(self):
        sts = self.sts()
        out = sts.assume_role(RoleArn=self.role["Arn"], RoleSessionName="s1", ExternalId="ext-123",
                              DurationSeconds=7200)
        self.assertEqual(out["AssumedRoleUser"]["Arn"], "arn:aws:sts::%s:assumed-role/ops/s1" % ACCT)
        self.assertEqual(out["AssumedRoleUser"]["AssumedRoleId"], self.role["RoleId"] + ":s1")
        c = out["Credentials"]
        self.assertTrue(c["AccessKeyId"].startswith("ASIA"))
        self.assertLess(len(c["SessionToken"]), 8192)
        left = c["Expiration"].timestamp() - time.time()
        self.assertTrue(7100 < left <= 7200, left)
        m = expect_error(self, lambda: sts.assume_role(RoleArn=self.role["Arn"], RoleSessionName="s1",
                                                       ExternalId="wrong"), "AccessDenied", 403)
        self.assertEqual(m, "User: %s is not authorized to perform: sts:AssumeRole on resource: %s"
                         % (self.user["Arn"], self.role["Arn"]))
        expect_error(self, lambda: sts.assume_role(RoleArn=self.role["Arn"], RoleSessionName="s1"),
                     "AccessDenied", 403)
        expect_error(self, lambda: sts.assume_role(RoleArn=self.role["Arn"], RoleSessionName="s1",
                                                   ExternalId="ext-123", DurationSeconds=9000),
                     "ValidationError", 400, "MaxSessionDuration")
        expect_error(self, lambda: sts.assume_role(RoleArn="arn:aws:iam::%s:role/ghost" % ACCT,
                                                   RoleSessionName="s1"), "AccessDenied", 403)
        # without ExternalId, on a role whose trust policy does not ask for one (the CLI this time)
        _, out, _ = self.k.cli("sts", "assume-role", "--role-arn", self.open_role["Arn"], "--role-session-name",
                               "cli", creds=self.ukey)
        self.assertEqual(out["AssumedRoleUser"]["Arn"], "arn:aws:sts::%s:assumed-role/open/cli" % ACCT)

    def test_temporary_credentials_everywhere(self):
        c, tok = creds_of(self.sts().assume_role(RoleArn=self.open_role["Arn"], RoleSessionName="use")["Credentials"])
        ident = self.sts(c, tok).get_caller_identity()
        self.assertEqual(ident["Arn"], "arn:aws:sts::%s:assumed-role/open/use" % ACCT)
        self.assertEqual(ident["UserId"], self.open_role["RoleId"] + ":use")
        self.assertEqual(len(self.k.client("kms", creds=c, session_token=tok).generate_random(NumberOfBytes=8)
                             ["Plaintext"]), 8)
        self.assertEqual(self.k.client("iam", creds=c, session_token=tok).get_role(RoleName="open")["Role"]
                         ["RoleName"], "open")
        _, out, _ = self.k.cli("kms", "generate-random", "--number-of-bytes", "4", creds=c, session_token=tok)
        self.assertEqual(len(base64.b64decode(out["Plaintext"])), 4)
        # tampered, truncated and foreign tokens
        raw = bytearray(base64.b64decode(tok))
        raw[40] ^= 1
        bad = base64.b64encode(bytes(raw)).decode()
        expect_error(self, self.sts(c, bad).get_caller_identity, "InvalidClientTokenId", 403)
        expect_error(self, lambda: self.k.client("kms", creds=c, session_token=bad).generate_random(NumberOfBytes=8),
                     "UnrecognizedClientException", 400)
        expect_error(self, self.sts(c, tok[:-8]).get_caller_identity, "InvalidClientTokenId", 403)
        expect_error(self, self.sts(c, "AQoDYXdzEJr" + "A" * 200).get_caller_identity, "InvalidClientTokenId", 403)
        # the token names its access key id: another ASIA id with the same token is refused
        other = ("ASIA" + "A" * 16, c[1])
        expect_error(self, self.sts(other, tok).get_caller_identity, "InvalidClientTokenId", 403)
        # the right token with the wrong secret is a signature mismatch
        expect_error(self, self.sts((c[0], "x" * 40), tok).get_caller_identity, "SignatureDoesNotMatch", 403)

    def test_role_chaining_cap(self):
        c, tok = creds_of(self.sts().assume_role(RoleArn=self.open_role["Arn"], RoleSessionName="first",
                                                 Tags=[{"Key": "project", "Value": "x"}],
                                                 TransitiveTagKeys=["project"], SourceIdentity="alice-src")
                          ["Credentials"])
        chained = self.sts(c, tok)
        expect_error(self, lambda: chained.assume_role(RoleArn=self.open_role["Arn"], RoleSessionName="second",
                                                       DurationSeconds=3601),
                     "ValidationError", 400, "exceeds the 1 hour session limit for roles assumed by role chaining")
        out = chained.assume_role(RoleArn=self.open_role["Arn"], RoleSessionName="second", DurationSeconds=3600)
        self.assertEqual(out["SourceIdentity"], "alice-src")
        left = out["Credentials"]["Expiration"].timestamp() - time.time()
        self.assertTrue(3500 < left <= 3600, left)
        c2, tok2 = creds_of(out["Credentials"])
        self.assertEqual(self.sts(c2, tok2).get_caller_identity()["Arn"],
                         "arn:aws:sts::%s:assumed-role/open/second" % ACCT)
        # the ops role trusts only alice: a role session is refused
        expect_error(self, lambda: chained.assume_role(RoleArn=self.role["Arn"], RoleSessionName="xx",
                                                       ExternalId="ext-123"), "AccessDenied", 403)

    def test_session_policy_and_packed_size(self):
        pol = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]}'
        out = self.sts().assume_role(RoleArn=self.open_role["Arn"], RoleSessionName="pp", Policy=pol,
                                     PolicyArns=[{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}])
        self.assertGreater(out["PackedPolicySize"], 0)
        self.assertLessEqual(out["PackedPolicySize"], 100)
        expect_error(self, lambda: self.sts().assume_role(RoleArn=self.open_role["Arn"], RoleSessionName="pp",
                                                          Policy='{"Version":"2012-10-17"'),
                     "MalformedPolicyDocument", 400)
        tags = [{"Key": "k%02d" % i, "Value": "v" * 256} for i in range(50)]
        expect_error(self, lambda: self.sts().assume_role(RoleArn=self.open_role["Arn"], RoleSessionName="pp",
                                                          Tags=tags), "PackedPolicyTooLarge", 400)

    def test_session_token_expiry_under_controlled_clock(self):
        out = self.sts().get_session_token(DurationSeconds=900)["Credentials"]
        c, tok = creds_of(out)
        s = self.sts(c, tok)
        self.assertEqual(s.get_caller_identity()["Arn"], self.user["Arn"])
        # GetSessionToken credentials cannot call GetSessionToken or IAM without MFA
        expect_error(self, lambda: s.get_session_token(), "AccessDenied", 403)
        expect_error(self, lambda: self.k.client("iam", creds=c, session_token=tok).list_users(),
                     "InvalidClientTokenId", 403)
        r, rt = creds_of(self.sts().assume_role(RoleArn=self.open_role["Arn"], RoleSessionName="exp",
                                                DurationSeconds=900)["Credentials"])
        try:
            self.set_clock("870")
            s.get_caller_identity()
            self.set_clock("905")
            expect_error(self, s.get_caller_identity, "ExpiredToken", 403, "expired")
            expect_error(self, lambda: self.k.client("kms", creds=r, session_token=rt).generate_random(
                NumberOfBytes=4), "ExpiredTokenException", 400)
        finally:
            self.set_clock("0")
        self.assertEqual(s.get_caller_identity()["Arn"], self.user["Arn"])

    def test_get_session_token_durations(self):
        form = urlencode({"Action": "GetSessionToken", "Version": "2011-06-15", "DurationSeconds": "899"})
        st, _, body = self.k.send(*self.k.signed_request(
            "sts", form, {"Content-Type": "application/x-www-form-urlencoded"}, creds=self.ukey))
        self.assertEqual(st, 400)
        self.assertIn(b"<Code>ValidationError</Code>", body)
        self.assertIn(b"greater than or equal to 900", body)
        out = self.sts().get_session_token(DurationSeconds=129600)["Credentials"]
        self.assertTrue(129500 < out["Expiration"].timestamp() - time.time() <= 129600)

    def test_mfa(self):
        iam = self.iam
        dev = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice-mfa")["VirtualMFADevice"]
        seed = base64.b32decode(dev["Base32StringSeed"])
        now = time.time()
        iam.enable_mfa_device(UserName="alice", SerialNumber=dev["SerialNumber"],
                              AuthenticationCode1=totp(seed, now - 30), AuthenticationCode2=totp(seed, now))
        expect_error(self, lambda: self.sts().get_session_token(SerialNumber=dev["SerialNumber"], TokenCode="000000"
                                                                if totp(seed, now) != "000000" else "111111"),
                     "AccessDenied", 403)
        c, tok = creds_of(self.sts().get_session_token(SerialNumber=dev["SerialNumber"],
                                                       TokenCode=totp(seed, time.time()))["Credentials"])
        # with MFA, IAM is allowed
        self.assertIn("alice", [u["UserName"] for u in self.k.client("iam", creds=c, session_token=tok)
                                .list_users()["Users"]])

    def test_federation_token(self):
        pol = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}'
        out = self.sts().get_federation_token(Name="bob", Policy=pol, DurationSeconds=900)
        self.assertEqual(out["FederatedUser"]["Arn"], "arn:aws:sts::%s:federated-user/bob" % ACCT)
        self.assertEqual(out["FederatedUser"]["FederatedUserId"], ACCT + ":bob")
        c, tok = creds_of(out["Credentials"])
        fed = self.sts(c, tok)
        self.assertEqual(fed.get_caller_identity()["Arn"], "arn:aws:sts::%s:federated-user/bob" % ACCT)
        expect_error(self, lambda: fed.assume_role(RoleArn=self.open_role["Arn"], RoleSessionName="xx"),
                     "AccessDenied", 403)

    def test_access_key_info_and_decode(self):
        sts = self.sts()
        self.assertEqual(sts.get_access_key_info(AccessKeyId=self.ukey[0])["Account"], ACCT)
        expect_error(self, lambda: sts.decode_authorization_message(EncodedMessage="bm90LWEtbWVzc2FnZQ=="),
                     "InvalidAuthorizationMessageException", 400)

    def test_root_cannot_assume(self):
        # the bootstrap admin is a user; a role trusting the account admits it
        out = self.k.client("sts").assume_role(RoleArn=self.open_role["Arn"], RoleSessionName="adm")
        self.assertIn("assumed-role/open/adm", out["AssumedRoleUser"]["Arn"])


if __name__ == "__main__":
    main()
