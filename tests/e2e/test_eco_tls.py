"""TLS end to end (issue 13): `kmsctl tls self-signed` makes a key (0600)
and a certificate for localhost; kmsd serves HTTPS with it through
libmicrohttpd's GnuTLS; the aws CLI with --ca-bundle, boto3 with verify=
and the AWS SDK for JavaScript v3 all work, and refuse the certificate
without it; plain HTTP on the TLS port gets no answer; aws:SecureTransport
is true over TLS; listening off loopback needs TLS unless
--insecure-plain-http; bad certificate files fail the start and
--check-config."""
import json
import os
import shutil
import socket
import ssl
import stat
import subprocess
import unittest

import boto3
import botocore.config
import botocore.exceptions

from kmsd_harness import KMSD_BIN, Kmsd, err, kmsctl, main

NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")


def make_pair(root):
    d = os.path.join(root, "tls")
    rc, out, e = kmsctl("tls", "self-signed", "--data-dir", d)
    assert rc == 0, e
    return os.path.join(d, "tls-cert.pem"), os.path.join(d, "tls-key.pem")


class Tls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd()
        cls.cert, cls.key = make_pair(cls.k.root)
        cls.k.start("--tls-cert", cls.cert, "--tls-key", cls.key)
        cls.k.endpoint = "https://localhost:%d" % cls.k.port

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def client(self, service, verify, creds=None):
        key, secret = creds or self.k.admin
        return boto3.client(service, endpoint_url=self.k.endpoint, region_name="us-east-1", verify=verify,
                            aws_access_key_id=key, aws_secret_access_key=secret,
                            config=botocore.config.Config(retries={"max_attempts": 1}))

    def test_self_signed_files(self):
        self.assertEqual(stat.S_IMODE(os.stat(self.key).st_mode), 0o600)
        self.assertIn("kmsd listening on https://127.0.0.1:%d" % self.k.port, self.k.stdout())
        # a second run does not overwrite them without --force
        rc, _, e = kmsctl("tls", "self-signed", "--data-dir", os.path.dirname(self.key))
        self.assertEqual(rc, 1)
        self.assertIn(b"--force", e)

    def test_boto3_verify(self):
        kms = self.client("kms", self.cert)
        kid = kms.create_key(Description="tls")["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=kid, Plaintext=b"over tls")["CiphertextBlob"]
        self.assertEqual(kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"over tls")
        self.assertEqual(self.client("sts", self.cert).get_caller_identity()["Account"], "000000000000")
        # also by IP address (the certificate names 127.0.0.1)
        ip = boto3.client("kms", endpoint_url="https://127.0.0.1:%d" % self.k.port, region_name="us-east-1",
                          verify=self.cert, aws_access_key_id=self.k.admin[0],
                          aws_secret_access_key=self.k.admin[1])
        self.assertEqual(len(ip.generate_random(NumberOfBytes=8)["Plaintext"]), 8)
        # without the CA bundle the certificate is not trusted
        with self.assertRaises(botocore.exceptions.SSLError):
            self.client("kms", True).list_keys()

    def test_aws_cli_ca_bundle(self):
        rc, out, e = self.k.cli("--ca-bundle", self.cert, "kms", "generate-random", "--number-of-bytes", "16")
        self.assertEqual(rc, 0, e)
        self.assertTrue(out["Plaintext"])
        rc, out, e = self.k.cli("--ca-bundle", self.cert, "sts", "get-caller-identity")
        self.assertEqual(out["Arn"], "arn:aws:iam::000000000000:user/admin")
        rc, out, e = self.k.cli("kms", "list-keys", check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("SSL", e)

    def test_js_sdk(self):
        node = shutil.which("node")
        if not node or not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "@aws-sdk", "client-kms")):
            if os.environ.get("CI"):
                self.fail("node or tests/e2e/node/node_modules missing; scripts/deps.sh --test installs them")
            self.skipTest("node packages not installed")
        env = dict(os.environ, KMSD_ENDPOINT=self.k.endpoint, KMSD_AKID=self.k.admin[0],
                   KMSD_SECRET=self.k.admin[1], KMSD_CA=self.cert)
        env.pop("NODE_EXTRA_CA_CERTS", None)
        p = subprocess.run([node, "tls_client.js"], cwd=NODE_DIR, env=env, capture_output=True, text=True,
                           timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr + p.stdout)
        out = json.loads(p.stdout.strip().splitlines()[-1])
        self.assertEqual(out["plaintext"], "over tls")
        self.assertEqual(out["arn"], "arn:aws:iam::000000000000:user/admin")
        self.assertIn(out["untrusted"], ("SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT"))

    def test_plain_http_on_tls_port_gets_nothing(self):
        s = socket.create_connection(("127.0.0.1", self.k.port), timeout=5)
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        try:
            data = s.recv(100)
        except (ConnectionResetError, socket.timeout):
            data = b""
        s.close()
        self.assertNotIn(b"HTTP/1.1", data)

    def test_negotiates_tls12_or_13(self):
        ctx = ssl.create_default_context(cafile=self.cert)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        with socket.create_connection(("127.0.0.1", self.k.port), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname="localhost") as t:
                self.assertIn(t.version(), ("TLSv1.2", "TLSv1.3"))

    def test_secure_transport_condition(self):
        iam = self.client("iam", self.cert)
        iam.create_user(UserName="tlsonly")
        ak = iam.create_access_key(UserName="tlsonly")["AccessKey"]
        iam.put_user_policy(UserName="tlsonly", PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "kms:GenerateRandom", "Resource": "*",
                 "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}))
        kms = self.client("kms", self.cert, creds=(ak["AccessKeyId"], ak["SecretAccessKey"]))
        self.assertEqual(len(kms.generate_random(NumberOfBytes=4)["Plaintext"]), 4)


class PlainHttpRules(unittest.TestCase):
    def test_non_loopback_needs_tls(self):
        k = Kmsd("--listen", "0.0.0.0:0")
        try:
            self.assertEqual(k.start(expect_fail=True), 2)
            self.assertIn("needs TLS (--tls-cert/--tls-key", k.stderr())
        finally:
            k.cleanup()
        k = Kmsd("--listen", "0.0.0.0:0", "--insecure-plain-http")
        try:
            k.start()
            self.assertIn("over PLAIN HTTP (--insecure-plain-http)", k.stderr())
            k.endpoint = "http://127.0.0.1:%d" % k.port
            self.assertEqual(k.client("sts").get_caller_identity()["Account"], "000000000000")
        finally:
            k.cleanup()
        k = Kmsd()
        try:
            cert, key = make_pair(k.root)
            k.start("--listen", "0.0.0.0:0", "--tls-cert", cert, "--tls-key", key)
            k.endpoint = "https://127.0.0.1:%d" % k.port
            sts = boto3.client("sts", endpoint_url=k.endpoint, region_name="us-east-1", verify=cert,
                               aws_access_key_id=k.admin[0], aws_secret_access_key=k.admin[1])
            self.assertEqual(sts.get_caller_identity()["Account"], "000000000000")
        finally:
            k.cleanup()

    def test_bad_certificate_files(self):
        k = Kmsd()
        try:
            cert, key = make_pair(k.root)
            os.mkdir(os.path.join(k.root, "other"))
            other_cert, other_key = make_pair(os.path.join(k.root, "other"))
            junk = os.path.join(k.root, "junk.pem")
            with open(junk, "w") as f:
                f.write("not a certificate\n")
            cases = [
                (("--tls-cert", cert, "--tls-key", other_key), "the private key does not match the certificate"),
                (("--tls-cert", junk, "--tls-key", key), "holds no PEM certificate"),
                (("--tls-cert", cert, "--tls-key", junk), "holds no unencrypted PEM private key"),
                (("--tls-cert", cert), "--tls-cert and --tls-key go together"),
                (("--tls-cert", cert, "--tls-key", os.path.join(k.root, "missing")), "cannot read"),
            ]
            for args, msg in cases:
                self.assertNotEqual(k.start(*args, expect_fail=True), 0, msg)
                self.assertIn(msg, k.stderr())
                p = subprocess.run([KMSD_BIN, "--check-config"] + list(args), capture_output=True, text=True,
                                   timeout=30)
                self.assertEqual(p.returncode, 2, msg)
                self.assertIn(msg, p.stderr)
            p = subprocess.run([KMSD_BIN, "--check-config", "--tls-cert", cert, "--tls-key", key],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 0, p.stderr)
        finally:
            k.cleanup()


if __name__ == "__main__":
    main()
