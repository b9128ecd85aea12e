"""Platform end to end: the aws CLI and boto3 against a started kmsd;
authentication failures with AWS's codes and statuses; transport limits;
insecure opt-in mode; graceful shutdown; keystore master-key handling."""
import base64
import json
import os
import socket
import subprocess
import time
import unittest

import botocore.exceptions

from kmsd_harness import Kmsd, kmsctl, main


def err(e):
    return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"].get("Message", "")


class Platform(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def test_cli_get_caller_identity_and_generate_random(self):
        _, out, _ = self.k.cli("sts", "get-caller-identity")
        self.assertEqual(out["Account"], "000000000000")
        self.assertEqual(out["Arn"], "arn:aws:iam::000000000000:user/admin")
        self.assertTrue(out["UserId"].startswith("AIDA"))
        _, out, _ = self.k.cli("kms", "generate-random", "--number-of-bytes", "48")
        self.assertEqual(len(base64.b64decode(out["Plaintext"])), 48)

    def test_boto3_get_caller_identity_and_generate_random(self):
        ident = self.k.client("sts").get_caller_identity()
        self.assertEqual(ident["Arn"], "arn:aws:iam::000000000000:user/admin")
        self.assertIn("x-amzn-requestid", ident["ResponseMetadata"]["HTTPHeaders"])
        kms = self.k.client("kms")
        a = kms.generate_random(NumberOfBytes=32)["Plaintext"]
        b = kms.generate_random(NumberOfBytes=32)["Plaintext"]
        self.assertEqual(len(a), 32)
        self.assertNotEqual(a, b)
        self.assertEqual(len(kms.generate_random(NumberOfBytes=1024)["Plaintext"]), 1024)

    def test_generate_random_validation(self):
        kms = self.k.client("kms", validate=False)  # let the server do the validating
        for n, frag in ((0, "greater than or equal to 1"), (1025, "less than or equal to 1024")):
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                kms.generate_random(NumberOfBytes=n)
            code, status, msg = err(cm.exception)
            self.assertEqual((code, status), ("ValidationException", 400))
            self.assertIn("1 validation error detected: Value '%d' at 'numberOfBytes'" % n, msg)
            self.assertIn(frag, msg)
        # wrong JSON type is a SerializationException
        st, hdr, body = self.k.send(*self.k.kms_raw("GenerateRandom", {"NumberOfBytes": "12"}))
        self.assertEqual(st, 400)
        self.assertEqual(json.loads(body)["__type"], "SerializationException")

    def test_wrong_secret(self):
        bad = (self.k.admin[0], "x" * 40)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.k.client("kms", creds=bad).generate_random(NumberOfBytes=8)
        code, status, msg = err(cm.exception)
        self.assertEqual((code, status), ("InvalidSignatureException", 400))
        self.assertIn("The request signature we calculated does not match", msg)
        self.assertIn("The Canonical String for this request should have been", msg)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.k.client("sts", creds=bad).get_caller_identity()
        self.assertEqual(err(cm.exception)[:2], ("SignatureDoesNotMatch", 403))
        rc, _, stderr = self.k.cli("sts", "get-caller-identity", creds=bad, check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("SignatureDoesNotMatch", stderr)

    def test_tampered_body(self):
        m, url, h, body = self.k.kms_raw("GenerateRandom", {"NumberOfBytes": 8})
        st, hdr, out = self.k.send(m, url, h, body.encode().replace(b"8", b"9"))
        self.assertEqual(st, 400)
        self.assertEqual(json.loads(out)["__type"], "InvalidSignatureException")
        self.assertEqual(hdr.get("x-amzn-errortype"), "InvalidSignatureException")
        self.assertTrue(hdr.get("x-amzn-requestid"))
        st, _, out = self.k.send(m, url, h, body)
        self.assertEqual(st, 200, out)

    def test_stale_date(self):
        old = time.time() - 20 * 60
        st, _, out = self.k.send(*self.k.kms_raw("GenerateRandom", {"NumberOfBytes": 8}, sign_time=old))
        self.assertEqual(st, 400)
        j = json.loads(out)
        self.assertEqual(j["__type"], "InvalidSignatureException")
        self.assertIn("Signature expired", j["message"])
        form = "Action=GetCallerIdentity&Version=2011-06-15"
        st, _, out = self.k.send(*self.k.signed_request(
            "sts", form, {"Content-Type": "application/x-www-form-urlencoded"}, sign_time=old))
        self.assertEqual(st, 403)
        self.assertIn(b"<Code>SignatureDoesNotMatch</Code>", out)
        self.assertIn(b"Signature expired", out)

    def test_unknown_key(self):
        creds = ("AKIAUNKNOWNUNKNOWN00", "y" * 40)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.k.client("kms", creds=creds).generate_random(NumberOfBytes=8)
        self.assertEqual(err(cm.exception)[:2], ("UnrecognizedClientException", 400))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.k.client("sts", creds=creds).get_caller_identity()
        self.assertEqual(err(cm.exception)[:2], ("InvalidClientTokenId", 403))

    def test_missing_authorization(self):
        st, hdr, out = self.k.send("POST", self.k.endpoint + "/", {
            "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.GenerateRandom"},
            b'{"NumberOfBytes": 8}')
        self.assertEqual(st, 400)
        self.assertEqual(json.loads(out)["__type"], "MissingAuthenticationTokenException")
        self.assertTrue(hdr.get("x-amzn-requestid"))
        st, _, out = self.k.send("POST", self.k.endpoint + "/", {
            "Content-Type": "application/x-www-form-urlencoded"}, b"Action=GetCallerIdentity&Version=2011-06-15")
        self.assertEqual(st, 403)
        self.assertIn(b"<Code>MissingAuthenticationToken</Code>", out)

    def test_unknown_operation_bad_json_content_type(self):
        st, _, out = self.k.send(*self.k.kms_raw("NoSuchOperation", {}))
        self.assertEqual((st, json.loads(out)["__type"]), (400, "UnknownOperationException"))
        h = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.GenerateRandom"}
        st, _, out = self.k.send(*self.k.signed_request("kms", "{not json", h))
        self.assertEqual((st, json.loads(out)["__type"]), (400, "SerializationException"))
        h2 = dict(h)
        h2["Content-Type"] = "text/plain"
        st, _, out = self.k.send(*self.k.signed_request("kms", '{"NumberOfBytes": 8}', h2))
        self.assertEqual(st, 400)
        self.assertIn("__type", json.loads(out))
        st, _, out = self.k.send(*self.k.signed_request(
            "sts", "Action=Frobnicate&Version=2011-06-15", {"Content-Type": "application/x-www-form-urlencoded"}))
        self.assertEqual(st, 400)
        self.assertIn(b"<Code>InvalidAction</Code>", out)
        # after all of that, the server still serves
        self.assertEqual(len(self.k.client("kms").generate_random(NumberOfBytes=4)["Plaintext"]), 4)

    def test_oversized_body(self):
        big = json.dumps({"NumberOfBytes": 8, "Pad": "x" * (600 * 1024)})
        m, url, h, body = self.k.kms_raw("GenerateRandom", json.loads(big))
        st, hdr, out = self.k.send(m, url, h, body)
        self.assertEqual(st, 413)
        self.assertTrue(hdr.get("x-amzn-requestid"))
        self.assertEqual(len(self.k.client("kms").generate_random(NumberOfBytes=4)["Plaintext"]), 4)

    def test_slow_client_does_not_pin_the_server(self):
        socks = []
        for _ in range(8):
            s = socket.create_connection(("127.0.0.1", self.k.port))
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
            socks.append(s)
        t0 = time.time()
        self.assertEqual(len(self.k.client("kms").generate_random(NumberOfBytes=4)["Plaintext"]), 4)
        self.assertLess(time.time() - t0, 10)
        for s in socks:
            s.close()

    def test_access_log_has_no_secrets(self):
        kms = self.k.client("kms")
        kms.generate_random(NumberOfBytes=16)
        time.sleep(0.4)  # the log is flushed every 100 ms
        with open(os.path.join(self.k.data_dir, "access.log")) as f:
            lines = [json.loads(l) for l in f if l.strip()]
        self.assertTrue(any(l["operation"] == "GenerateRandom" and l["status"] == 200 for l in lines))
        for l in lines:
            for key in ("request_id", "operation", "principal", "status", "latency_us"):
                self.assertIn(key, l)
        with open(os.path.join(self.k.data_dir, "access.log")) as f:
            text = f.read()
        self.assertNotIn(self.k.admin[1], text)
        self.assertNotIn("Signature=", text)
        self.assertNotIn(self.k.admin[1], self.k.stderr() + self.k.stdout())


class Lifecycle(unittest.TestCase):
    def test_sigterm_is_graceful_and_restart_keeps_credentials(self):
        k = Kmsd()
        try:
            k.start()
            admin = k.admin
            self.assertIn("listening on http://127.0.0.1:%d" % k.port, k.stdout())
            self.assertIn("admin-credentials", k.stdout())
            mode = os.stat(os.path.join(k.data_dir, "admin-credentials")).st_mode & 0o777
            self.assertEqual(mode, 0o600)
            self.assertEqual(k.stop(), 0)
            k.start()
            self.assertEqual(k.admin, admin)
            self.assertEqual(k.client("sts").get_caller_identity()["Account"], "000000000000")
        finally:
            k.cleanup()

    def test_wrong_master_key_refused_and_nothing_written(self):
        k = Kmsd()
        try:
            k.start()
            k.stop()
            other = os.path.join(k.root, "other.key")
            with open(other, "wb") as f:
                f.write(os.urandom(32))
            os.chmod(other, 0o600)
            before = k.stored_bytes()
            self.assertIsNotNone(before)
            rc = k.start("--key-file", other, expect_fail=True)
            self.assertNotEqual(rc, 0)
            self.assertIn("master key", k.stderr().lower())
            self.assertEqual(k.stored_bytes(), before)
        finally:
            k.cleanup()

    def test_passphrase_master_key(self):
        k = Kmsd(env={"KMSD_TEST_PASS": "correct horse battery staple"})
        try:
            k.start("--passphrase-env", "KMSD_TEST_PASS")
            self.assertEqual(k.client("sts").get_caller_identity()["Account"], "000000000000")
            k.stop()
            k.env = {"KMSD_TEST_PASS": "wrong horse"}
            self.assertNotEqual(k.start("--passphrase-env", "KMSD_TEST_PASS", expect_fail=True), 0)
        finally:
            k.cleanup()

    def test_kmsctl_access_key_add_list_delete(self):
        k = Kmsd()
        try:
            k.start()
            rc, out, errout = kmsctl("access-key", "add", "--data-dir", k.data_dir, "--id", "AKIAFIXTURE000000001",
                                     "--secret", "fixture-secret-0001", "--user", "ci")
            self.assertEqual(rc, 0, errout)
            ident = k.client("sts", creds=("AKIAFIXTURE000000001", "fixture-secret-0001")).get_caller_identity()
            self.assertEqual(ident["Arn"], "arn:aws:iam::000000000000:user/ci")
            rc, out, _ = kmsctl("access-key", "list", "--data-dir", k.data_dir)
            self.assertIn(b"AKIAFIXTURE000000001", out)
            self.assertNotIn(b"fixture-secret-0001", out)
            rc, _, _ = kmsctl("access-key", "add", "--data-dir", k.data_dir, "--id", "AKIAFIXTURE000000001",
                              "--secret", "other")
            self.assertEqual(rc, 1)
            rc, _, _ = kmsctl("access-key", "delete", "--data-dir", k.data_dir, "--id", "AKIAFIXTURE000000001")
            self.assertEqual(rc, 0)
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                k.client("sts", creds=("AKIAFIXTURE000000001", "fixture-secret-0001")).get_caller_identity()
            self.assertEqual(err(cm.exception)[0], "InvalidClientTokenId")
        finally:
            k.cleanup()

    def test_rekey_then_restart(self):
        k = Kmsd()
        try:
            k.start()
            admin = k.admin
            k.stop()
            rc, out, errout = kmsctl("rekey", "--data-dir", k.data_dir, "--new-key-file")
            self.assertEqual(rc, 0, errout)
            k.start()
            self.assertEqual(k.admin, admin)
            self.assertEqual(k.client("sts").get_caller_identity()["Arn"], "arn:aws:iam::000000000000:user/admin")
        finally:
            k.cleanup()

    def test_insecure_mode(self):
        k = Kmsd("--insecure-accept-unknown-keys")
        try:
            k.start()
            self.assertIn("INSECURE", k.stderr())
            ident = k.client("sts", creds=("123456789012", "dummy")).get_caller_identity()
            self.assertEqual(ident["Account"], "123456789012")
            self.assertEqual(ident["Arn"], "arn:aws:iam::123456789012:root")
            ident = k.client("sts", creds=("test", "test")).get_caller_identity()
            self.assertEqual(ident["Account"], "000000000000")
            # known keys are still verified
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                k.client("sts", creds=(k.admin[0], "wrong")).get_caller_identity()
            self.assertEqual(err(cm.exception)[0], "SignatureDoesNotMatch")
        finally:
            k.cleanup()
        k = Kmsd("--insecure-accept-unknown-keys", "--listen", "0.0.0.0:0")
        try:
            self.assertNotEqual(k.start(expect_fail=True), 0)
            self.assertIn("refused unless listening on loopback", k.stderr())
        finally:
            k.cleanup()


if __name__ == "__main__":
    main()
