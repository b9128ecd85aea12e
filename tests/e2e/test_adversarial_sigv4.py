"""The attacker's tests for SigV4 authentication: requests tampered, replayed,
reordered or re-targeted under a valid signature, parts left unsigned, and
session tokens from another key, another server or past their expiry on the
service clock. Beside each, the real clients (boto3, the aws CLI, the AWS SDK
for JavaScript v3) that must keep working.

Requests here are signed by a small independent signer (sign() below, written
from the SigV4 spec, not kmsd's code) so each test controls exactly which
headers are signed and what payload hash is used.
https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
"""
import datetime
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import time
import unittest
import urllib.parse

from kmsd_harness import Kmsd, SOURCE_DIR, main

KMS_CT = "application/x-amz-json-1.1"
FORM_CT = "application/x-www-form-urlencoded; charset=utf-8"


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _q(s):
    return urllib.parse.quote(s, safe="-_.~")


def canonical_query(query):
    pairs = [p.split("=", 1) if "=" in p else [p, ""] for p in query.split("&") if p]
    pairs = [(_q(urllib.parse.unquote(k)), _q(urllib.parse.unquote(v))) for k, v in pairs]
    return "&".join("%s=%s" % kv for kv in sorted(pairs))


def sign(endpoint, creds, service, region, method="POST", path="/", query="", headers=None, body=b"",
         signed=None, payload_hash=None, when=None, token=None, presign=False, expires=300):
    """Returns (method, target, headers, body) signed with SigV4.
    signed: lowercase header names to sign (default: every header); host is
    always sent. payload_hash: the hashed payload to put in the canonical
    request (default: SHA-256 of body). presign: query-string form."""
    key_id, secret = creds
    host = urllib.parse.urlsplit(endpoint).netloc
    t = datetime.datetime.fromtimestamp(time.time() if when is None else when, tz=datetime.timezone.utc)
    amz_date, day = t.strftime("%Y%m%dT%H%M%SZ"), t.strftime("%Y%m%d")
    scope = "%s/%s/%s/aws4_request" % (day, region, service)
    hdrs = {"Host": host}
    hdrs.update(headers or {})
    if isinstance(body, str):
        body = body.encode()
    if not presign:
        hdrs["X-Amz-Date"] = amz_date
        if token is not None:
            hdrs["X-Amz-Security-Token"] = token
    names = sorted(signed if signed is not None else [h.lower() for h in hdrs])
    if "host" not in names:
        names = sorted(names + ["host"])
    if presign:
        extra = [("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", "%s/%s" % (key_id, scope)),
                 ("X-Amz-Date", amz_date), ("X-Amz-Expires", str(expires)),
                 ("X-Amz-SignedHeaders", ";".join(names))]
        if token is not None:
            extra.append(("X-Amz-Security-Token", token))
        query = "&".join(([query] if query else []) + ["%s=%s" % (k, _q(v)) for k, v in extra])
    lower = {k.lower(): v for k, v in hdrs.items()}
    canon_headers = "".join("%s:%s\n" % (n, " ".join(str(lower[n]).split())) for n in names)
    ph = payload_hash if payload_hash is not None else hashlib.sha256(body).hexdigest()
    creq = "\n".join([method, path, canonical_query(query), canon_headers, ";".join(names), ph])
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret).encode(), day), region), service), "aws4_request")
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    if presign:
        query += "&X-Amz-Signature=" + sig
    else:
        hdrs["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
            key_id, scope, ";".join(names), sig)
    return method, path + ("?" + query if query else ""), hdrs, body


class Adversary(unittest.TestCase):
    """Helpers shared by the classes below."""

    k = None

    def send(self, method, target, headers, body):
        st, hdrs, data = self.k.send(method, self.k.endpoint + target, headers, body)
        return st, hdrs, data

    def kms(self, op, payload, creds=None, **kw):
        body = json.dumps(payload)
        headers = {"Content-Type": KMS_CT, "X-Amz-Target": "TrentService." + op}
        return sign(self.k.endpoint, creds or self.k.admin, "kms", kw.pop("region", "us-east-1"),
                    headers=headers, body=body, **kw)

    def form(self, service, params, creds=None, **kw):
        version = "2010-05-08" if service == "iam" else "2011-06-15"
        body = urllib.parse.urlencode(dict(params, Version=version))
        return sign(self.k.endpoint, creds or self.k.admin, service, kw.pop("region", "us-east-1"),
                    headers={"Content-Type": FORM_CT}, body=body, **kw)

    def kms_error(self, req, code, status=400, msg=None):
        st, hdrs, data = self.send(*req)
        self.assertEqual(st, status, data)
        j = json.loads(data)
        self.assertEqual(j["__type"], code, data)
        if msg is not None:
            self.assertIn(msg, j.get("message", ""), data)
        return j.get("message", "")

    def xml_error(self, req, code, status, msg=None):
        st, hdrs, data = self.send(*req)
        text = data.decode()
        self.assertEqual(st, status, text)
        self.assertIn("<Code>%s</Code>" % code, text)
        if msg is not None:
            self.assertIn(msg, text)
        return text

    def ok(self, req):
        st, hdrs, data = self.send(*req)
        self.assertEqual(st, 200, data)
        return data


class UnsignedParts(Adversary):
    """Issue 10 item 6: every part of a KMS, STS or IAM request is signed."""

    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        sts = cls.k.client("sts")
        c = sts.get_session_token(DurationSeconds=900)["Credentials"]
        cls.temp = (c["AccessKeyId"], c["SecretAccessKey"])
        cls.token = c["SessionToken"]

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def test_own_signer_is_accepted(self):
        """The signer below is right: a fully signed request of each service passes."""
        self.ok(self.kms("ListKeys", {}))
        self.ok(self.form("sts", {"Action": "GetCallerIdentity"}))
        self.ok(self.form("iam", {"Action": "ListUsers"}))
        self.ok(self.kms("ListKeys", {}, creds=self.temp, token=self.token))

    # --- UNSIGNED-PAYLOAD: JSON and Query services hash the real body -------
    def test_unsigned_payload_kms_body_swapped(self):
        req = sign(self.k.endpoint, self.k.admin, "kms", "us-east-1",
                   headers={"Content-Type": KMS_CT, "X-Amz-Target": "TrentService.GenerateRandom",
                            "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"},
                   body=json.dumps({"NumberOfBytes": 16}), payload_hash="UNSIGNED-PAYLOAD")
        tampered = (req[0], req[1], req[2], json.dumps({"NumberOfBytes": 1024}).encode())
        self.kms_error(tampered, "InvalidSignatureException")
        # not even the body it was signed with: KMS does not support unsigned payloads
        self.kms_error(req, "InvalidSignatureException")

    def test_unsigned_payload_kms_create_key_not_created(self):
        before = len(self.k.client("kms").list_keys()["Keys"])
        req = sign(self.k.endpoint, self.k.admin, "kms", "us-east-1",
                   headers={"Content-Type": KMS_CT, "X-Amz-Target": "TrentService.ListKeys",
                            "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"},
                   body="{}", payload_hash="UNSIGNED-PAYLOAD")
        self.kms_error(req, "InvalidSignatureException")
        self.assertEqual(len(self.k.client("kms").list_keys()["Keys"]), before)

    def test_unsigned_payload_sts_and_iam(self):
        for service, action, evil in (("sts", "GetCallerIdentity", "GetSessionToken"),
                                      ("iam", "ListUsers", "CreateUser&UserName=mallory")):
            with self.subTest(service=service):
                version = "2010-05-08" if service == "iam" else "2011-06-15"
                body = "Action=%s&Version=%s" % (action, version)
                req = sign(self.k.endpoint, self.k.admin, service, "us-east-1",
                           headers={"Content-Type": FORM_CT, "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"},
                           body=body, payload_hash="UNSIGNED-PAYLOAD")
                tampered = (req[0], req[1], req[2], ("Action=%s&Version=%s" % (evil, version)).encode())
                self.xml_error(tampered, "SignatureDoesNotMatch", 403)
                self.xml_error(req, "SignatureDoesNotMatch", 403)
        self.assertNotIn("mallory", [u["UserName"] for u in self.k.client("iam").list_users()["Users"]])

    def test_content_sha256_of_another_body(self):
        """A signed x-amz-content-sha256 naming another body than the one sent."""
        signed_body = json.dumps({"NumberOfBytes": 16})
        req = sign(self.k.endpoint, self.k.admin, "kms", "us-east-1",
                   headers={"Content-Type": KMS_CT, "X-Amz-Target": "TrentService.GenerateRandom",
                            "X-Amz-Content-Sha256": hashlib.sha256(signed_body.encode()).hexdigest()},
                   body=signed_body)
        self.ok(req)
        self.kms_error((req[0], req[1], req[2], b'{"NumberOfBytes": 17}'), "InvalidSignatureException")

    # --- headers that must be signed ----------------------------------------
    def test_target_swapped_under_one_signature(self):
        """Only host and x-amz-date signed: X-Amz-Target ListKeys swapped for ListAliases."""
        req = self.kms("ListKeys", {}, signed=["host", "x-amz-date"])
        req[2]["X-Amz-Target"] = "TrentService.ListAliases"
        self.kms_error(req, "IncompleteSignatureException", msg="X-Amz-Target")
        req[2]["X-Amz-Target"] = "TrentService.ListKeys"
        self.kms_error(req, "IncompleteSignatureException", msg="X-Amz-Target")

    def test_signed_target_swapped(self):
        req = self.kms("ListKeys", {})
        req[2]["X-Amz-Target"] = "TrentService.ListAliases"
        self.kms_error(req, "InvalidSignatureException", msg="does not match")

    def test_content_type_unsigned(self):
        req = self.kms("ListKeys", {}, signed=["host", "x-amz-date", "x-amz-target"])
        self.kms_error(req, "IncompleteSignatureException", msg="Content-Type")
        req = self.form("sts", {"Action": "GetCallerIdentity"}, signed=["host", "x-amz-date"])
        self.xml_error(req, "IncompleteSignature", 400, "Content-Type")

    def test_unsigned_x_amz_header(self):
        req = self.kms("ListKeys", {}, signed=["content-type", "host", "x-amz-date", "x-amz-target"])
        req[2]["X-Amz-Meta-Anything"] = "injected"
        self.kms_error(req, "IncompleteSignatureException", msg="x-amz-meta-anything")
        req = self.form("iam", {"Action": "ListUsers"})
        req[2]["x-amz-user-agent"] = "injected"
        self.xml_error(req, "IncompleteSignature", 400, "x-amz-user-agent")

    def test_unsigned_x_amz_date(self):
        """X-Amz-Date is what the skew window checks: it must be signed."""
        req = self.kms("ListKeys", {}, signed=["content-type", "host", "x-amz-target"])
        self.kms_error(req, "IncompleteSignatureException", msg="x-amz-date")

    def test_unsigned_security_token(self):
        req = self.kms("ListKeys", {}, creds=self.temp, token=self.token,
                       signed=["content-type", "host", "x-amz-date", "x-amz-target"])
        self.kms_error(req, "IncompleteSignatureException", msg="x-amz-security-token")
        req = self.form("sts", {"Action": "GetCallerIdentity"}, creds=self.temp, token=self.token,
                        signed=["content-type", "host", "x-amz-date"])
        self.xml_error(req, "IncompleteSignature", 400, "x-amz-security-token")

    # --- presigned (query-string) form ----------------------------------------
    def test_presigned_sts_get_is_accepted(self):
        req = sign(self.k.endpoint, self.k.admin, "sts", "us-east-1", method="GET",
                   query="Action=GetCallerIdentity&Version=2011-06-15", presign=True)
        self.ok(req)

    def test_presigned_unsigned_target_and_content_type(self):
        req = sign(self.k.endpoint, self.k.admin, "kms", "us-east-1",
                   headers={"Content-Type": KMS_CT, "X-Amz-Target": "TrentService.ListKeys"},
                   body="{}", signed=["host"], presign=True)
        self.kms_error(req, "IncompleteSignatureException", msg="X-Amz-Target")

    def test_presigned_unsigned_payload_body_swapped(self):
        req = sign(self.k.endpoint, self.k.admin, "kms", "us-east-1",
                   headers={"Content-Type": KMS_CT, "X-Amz-Target": "TrentService.GenerateRandom"},
                   body=json.dumps({"NumberOfBytes": 16}), payload_hash="UNSIGNED-PAYLOAD", presign=True)
        self.kms_error((req[0], req[1], req[2], b'{"NumberOfBytes": 1000}'), "InvalidSignatureException")

    def test_presigned_unsigned_x_amz_header(self):
        req = sign(self.k.endpoint, self.k.admin, "sts", "us-east-1", method="GET",
                   query="Action=GetCallerIdentity&Version=2011-06-15", presign=True)
        req[2]["X-Amz-Security-Token"] = self.token
        self.xml_error(req, "IncompleteSignature", 400, "x-amz-security-token")

    def test_presigned_query_changed(self):
        req = sign(self.k.endpoint, self.k.admin, "sts", "us-east-1", method="GET",
                   query="Action=GetCallerIdentity&Version=2011-06-15", presign=True)
        target = req[1].replace("GetCallerIdentity", "GetSessionToken")
        self.xml_error((req[0], target, req[2], req[3]), "SignatureDoesNotMatch", 403)

    def test_presigned_expired(self):
        req = sign(self.k.endpoint, self.k.admin, "sts", "us-east-1", method="GET",
                   query="Action=GetCallerIdentity&Version=2011-06-15", presign=True,
                   when=time.time() - 120, expires=60)
        self.xml_error(req, "SignatureDoesNotMatch", 403, "Request has expired")


class Retargeting(Adversary):
    """Signatures reused for another body, header, query, region, service or
    time; tokens from another key, another server, or past expiry."""

    @classmethod
    def setUpClass(cls):
        cls.root = Kmsd().root
        cls.clock = os.path.join(cls.root, "clock")
        with open(cls.clock, "w") as f:
            f.write("0\n")
        cls.k = Kmsd("--clock-file", cls.clock).start()
        iam = cls.k.client("iam")
        iam.create_user(UserName="alice")
        iam.put_user_policy(UserName="alice", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        a = iam.create_access_key(UserName="alice")["AccessKey"]
        cls.alice = (a["AccessKeyId"], a["SecretAccessKey"])

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()
        shutil.rmtree(cls.root, ignore_errors=True)

    def session(self, creds=None, duration=900):
        c = self.k.client("sts", creds=creds).get_session_token(DurationSeconds=duration)["Credentials"]
        return (c["AccessKeyId"], c["SecretAccessKey"]), c["SessionToken"]

    def test_body_changed(self):
        req = self.kms("GenerateRandom", {"NumberOfBytes": 16})
        self.kms_error((req[0], req[1], req[2], b'{"NumberOfBytes": 32}'), "InvalidSignatureException")

    def test_header_reordered_duplicate(self):
        """A second X-Amz-Target after the signed one changes the canonical value."""
        m, t, h, b = self.kms("ListKeys", {})
        lines = [(k, v) for k, v in h.items()] + [("X-Amz-Target", "TrentService.ListAliases")]
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.k.port, timeout=30)
        conn.putrequest(m, t, skip_host=True, skip_accept_encoding=True)
        for k, v in lines:
            conn.putheader(k, v)
        conn.endheaders(b)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        self.assertEqual(r.status, 400, data)
        self.assertEqual(json.loads(data)["__type"], "InvalidSignatureException", data)

    def test_region_retargeted(self):
        """The scope's region cannot be edited: the signing key derives from it."""
        m, t, h, b = self.kms("ListKeys", {})
        h = dict(h, Authorization=h["Authorization"].replace("/us-east-1/", "/eu-west-1/"))
        self.kms_error((m, t, h, b), "InvalidSignatureException")
        # and a request really signed for another region sees that region's keys only
        self.k.client("kms").create_key(Description="east")
        west = json.loads(self.ok(self.kms("ListKeys", {}, region="eu-west-1")))
        self.assertEqual(west["Keys"], [])

    def test_service_retargeted(self):
        """kms → sts: a KMS-scoped signature on an STS call, and the scope edited."""
        req = self.form("sts", {"Action": "GetCallerIdentity"})
        h = dict(req[2], Authorization=req[2]["Authorization"].replace("/sts/", "/kms/"))
        self.xml_error((req[0], req[1], h, req[3]), "SignatureDoesNotMatch", 403)
        signed_for_kms = sign(self.k.endpoint, self.k.admin, "kms", "us-east-1",
                              headers={"Content-Type": FORM_CT},
                              body="Action=GetCallerIdentity&Version=2011-06-15")
        self.xml_error(signed_for_kms, "SignatureDoesNotMatch", 403, "scoped to correct service")
        signed_for_sts = sign(self.k.endpoint, self.k.admin, "sts", "us-east-1",
                              headers={"Content-Type": KMS_CT, "X-Amz-Target": "TrentService.ListKeys"},
                              body="{}")
        self.kms_error(signed_for_sts, "InvalidSignatureException", msg="scoped to correct service")

    def test_replay_past_skew_window(self):
        old = self.kms("ListKeys", {}, when=time.time() - 16 * 60)
        self.kms_error(old, "InvalidSignatureException", msg="Signature expired")
        future = self.kms("ListKeys", {}, when=time.time() + 16 * 60)
        self.kms_error(future, "InvalidSignatureException", msg="Signature not yet current")
        within = self.kms("ListKeys", {}, when=time.time() - 10 * 60)
        self.ok(within)

    def test_date_edited_under_signature(self):
        """Moving X-Amz-Date back into the window invalidates the signature."""
        m, t, h, b = self.kms("ListKeys", {}, when=time.time() - 16 * 60)
        h = dict(h, **{"X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())})
        self.kms_error((m, t, h, b), "InvalidSignatureException")

    def test_session_token_from_another_key(self):
        admin_creds, admin_token = self.session()
        alice_creds, alice_token = self.session(self.alice)
        self.ok(self.kms("ListKeys", {}, creds=alice_creds, token=alice_token))
        # alice's key id and secret with the administrator's token
        self.kms_error(self.kms("ListKeys", {}, creds=alice_creds, token=admin_token),
                       "UnrecognizedClientException")
        # a long-term key with a session token attached
        self.kms_error(self.kms("ListKeys", {}, creds=self.alice, token=alice_token),
                       "UnrecognizedClientException")

    def test_session_token_altered(self):
        creds, token = self.session()
        flipped = token[:40] + ("A" if token[40] != "A" else "B") + token[41:]
        self.kms_error(self.kms("ListKeys", {}, creds=creds, token=flipped), "UnrecognizedClientException")
        self.kms_error(self.kms("ListKeys", {}, creds=creds, token=token[:-8]), "UnrecognizedClientException")

    def test_session_token_from_another_server(self):
        with Kmsd() as other:
            c = other.client("sts").get_session_token(DurationSeconds=900)["Credentials"]
        creds, token = (c["AccessKeyId"], c["SecretAccessKey"]), c["SessionToken"]
        self.kms_error(self.kms("ListKeys", {}, creds=creds, token=token), "UnrecognizedClientException")

    def test_session_token_past_expiry_on_service_clock(self):
        creds, token = self.session(duration=900)
        self.ok(self.kms("ListKeys", {}, creds=creds, token=token))
        try:
            with open(self.clock, "w") as f:
                f.write("901\n")
            deadline = time.time() + 5
            while True:
                st, _, data = self.send(*self.kms("ListKeys", {}, creds=creds, token=token))
                if st != 200 or time.time() > deadline:
                    break
                time.sleep(0.2)
            self.assertEqual(st, 400, data)
            self.assertEqual(json.loads(data)["__type"], "ExpiredTokenException", data)
        finally:
            with open(self.clock, "w") as f:
                f.write("0\n")
            time.sleep(1.3)


class InsecureMode(Adversary):
    """Issue 10 item 7: --insecure-accept-unknown-keys accepts unknown keys
    unverified, but a known key or a session token is always verified."""

    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd("--insecure-accept-unknown-keys").start()
        c = cls.k.client("sts").get_session_token(DurationSeconds=900)["Credentials"]
        cls.temp = (c["AccessKeyId"], c["SecretAccessKey"])
        cls.token = c["SessionToken"]

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def test_unknown_key_is_accepted_as_documented(self):
        st, _, data = self.send(*self.kms("ListKeys", {}, creds=("test", "test")))
        self.assertEqual(st, 200, data)
        st, _, data = self.send(*self.form("sts", {"Action": "GetCallerIdentity"},
                                           creds=("222233334444", "x")))
        self.assertEqual(st, 200, data)
        self.assertIn(b"222233334444", data)

    def test_known_key_wrong_secret_refused(self):
        self.kms_error(self.kms("ListKeys", {}, creds=(self.k.admin[0], "wrong")), "InvalidSignatureException")

    def test_garbage_token_refused(self):
        self.kms_error(self.kms("ListKeys", {}, creds=("ASIAGARBAGE000000000", "x"), token="garbage"),
                       "UnrecognizedClientException")
        self.xml_error(self.form("sts", {"Action": "GetCallerIdentity"}, creds=("test", "test"), token="x"),
                       "InvalidClientTokenId", 403)

    def test_real_token_with_wrong_secret_or_key_refused(self):
        self.kms_error(self.kms("ListKeys", {}, creds=(self.temp[0], "wrong"), token=self.token),
                       "InvalidSignatureException")
        self.kms_error(self.kms("ListKeys", {}, creds=("test", "test"), token=self.token),
                       "UnrecognizedClientException")
        self.kms_error(self.kms("ListKeys", {}, creds=self.temp, token=self.token[:-4]),
                       "UnrecognizedClientException")
        self.ok(self.kms("ListKeys", {}, creds=self.temp, token=self.token))


class RealClients(Adversary):
    """The clients that must keep passing: boto3, the aws CLI and the AWS SDK
    for JavaScript v3 sign everything the checks above require."""

    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def test_boto3(self):
        kms = self.k.client("kms")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
        self.assertEqual(kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"x")
        c = self.k.client("sts").get_session_token()["Credentials"]
        tk = self.k.client("kms", creds=(c["AccessKeyId"], c["SecretAccessKey"]), session_token=c["SessionToken"])
        tk.list_keys()
        self.k.client("iam").list_users()
        self.k.client("sts").get_caller_identity()

    def test_aws_cli(self):
        self.k.cli("kms", "list-keys")
        self.k.cli("sts", "get-caller-identity")
        self.k.cli("iam", "list-users")
        _, c, _ = self.k.cli("sts", "get-session-token")
        c = c["Credentials"]
        self.k.cli("kms", "generate-random", "--number-of-bytes", "8",
                   creds=(c["AccessKeyId"], c["SecretAccessKey"]), session_token=c["SessionToken"])

    def test_js_sdk_v3(self):
        node_dir = os.path.join(SOURCE_DIR, "tests", "e2e", "node")
        if not shutil.which("node") or not os.path.isdir(os.path.join(node_dir, "node_modules", "@aws-sdk")):
            self.fail("node and tests/e2e/node/node_modules are needed (npm ci in tests/e2e/node)")
        script = r"""
const {KMSClient, ListKeysCommand, GenerateRandomCommand, CreateKeyCommand, EncryptCommand} = require("@aws-sdk/client-kms");
const {STSClient, GetCallerIdentityCommand, GetSessionTokenCommand} = require("@aws-sdk/client-sts");
(async () => {
  const [endpoint, id, secret] = process.argv.slice(1);
  const base = {endpoint, region: "us-east-1", credentials: {accessKeyId: id, secretAccessKey: secret}};
  const kms = new KMSClient(base), sts = new STSClient(base);
  const who = await sts.send(new GetCallerIdentityCommand({}));
  const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata.KeyId;
  await kms.send(new EncryptCommand({KeyId: key, Plaintext: Buffer.from("hi")}));
  const c = (await sts.send(new GetSessionTokenCommand({}))).Credentials;
  const tkms = new KMSClient({endpoint, region: "us-east-1", credentials: {accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken}});
  const r = await tkms.send(new GenerateRandomCommand({NumberOfBytes: 8}));
  const keys = await kms.send(new ListKeysCommand({}));
  console.log(JSON.stringify({arn: who.Arn, n: keys.Keys.length, random: r.Plaintext.length}));
})().catch(e => { console.error(e.name + ": " + e.message); process.exit(1); });
"""
        p = subprocess.run(["node", "-e", script, self.k.endpoint, *self.k.admin], capture_output=True, text=True,
                           timeout=120, cwd=node_dir, env=dict(os.environ, NODE_PATH=os.path.join(node_dir, "node_modules")))
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout.strip().splitlines()[-1])
        self.assertEqual(out["random"], 8)
        self.assertGreaterEqual(out["n"], 1)


class KmsctlVerify(unittest.TestCase):
    """Issue 10 item 14: kmsctl sigv4-verify reads the request line as AWS's
    test suite writes it, and tells malformed input (exit 2) from an invalid
    signature (exit 1)."""

    SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

    def verify(self, raw, *args):
        from kmsd_harness import KMSCTL_BIN
        return subprocess.run([KMSCTL_BIN, "sigv4-verify", "--secret-key", self.SECRET, *args], input=raw,
                              capture_output=True, timeout=60)

    def space_request(self):
        # Signed over the canonical URI /example%20space/; sent with the space raw.
        m, target, h, b = sign("http://example.amazonaws.com", ("AKIDEXAMPLE", self.SECRET), "service",
                               "us-east-1", method="GET", path="/example%20space/")
        lines = ["GET /example space/ HTTP/1.1"] + ["%s:%s" % kv for kv in h.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def test_literal_space_in_path(self):
        raw = self.space_request()
        r = self.verify(raw, "--show")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"GET\n/example%20space/\n", r.stdout)
        # the space is part of the signed path: another path fails the signature
        r = self.verify(raw.replace(b"/example space/", b"/example  space/"))
        self.assertEqual(r.returncode, 1, r.stderr)

    def test_request_line_shapes(self):
        raw = self.space_request()
        for bad in (b"GET HTTP/1.1", b"GET /example space/", b"GET /x HTTX/1.1", b"GET example HTTP/1.1"):
            r = self.verify(raw.replace(b"GET /example space/ HTTP/1.1", bad))
            self.assertEqual(r.returncode, 2, (bad, r.stderr))

    def test_missing_signature_component_is_malformed(self):
        with open(os.path.join(SOURCE_DIR, "vectors", "sigv4", "neg-missing-signature", "request.txt"), "rb") as f:
            raw = f.read()
        r = self.verify(raw)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(b"Authorization header requires 'Signature' parameter.", r.stderr)
        for part in (b"Credential=", b"SignedHeaders="):
            mangled = raw.replace(part, b"X" + part)
            self.assertEqual(self.verify(mangled).returncode, 2, part)
        no_auth = b"\n".join(l for l in self.space_request().split(b"\r\n") if not l.startswith(b"Authorization"))
        self.assertEqual(self.verify(no_auth).returncode, 2)

    def test_wrong_signature_is_still_invalid(self):
        raw = self.space_request()
        i = raw.index(b"Signature=") + 12
        flipped = raw[:i] + (b"0" if raw[i:i + 1] != b"0" else b"1") + raw[i + 1:]
        self.assertEqual(self.verify(flipped).returncode, 1)


if __name__ == "__main__":
    main()
