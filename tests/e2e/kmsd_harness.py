"""Start a real kmsd on a free loopback port with a fresh data directory,
and talk to it with boto3, the aws CLI, or raw signed HTTP.

Used by every tests/e2e/test_*.py. Environment: KMSD_BIN, KMSCTL_BIN
(set by ctest), KMSD_SOURCE_DIR.
"""
import hashlib
import configparser
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials

KMSD_BIN = os.environ.get("KMSD_BIN", "build/server/kmsd")
KMSCTL_BIN = os.environ.get("KMSCTL_BIN", "build/tools/kmsctl")
SOURCE_DIR = os.environ.get("KMSD_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def store_args(data_dir):
    """KMSD_STORE=etcd://...: the e2e suite over etcd (tests/e2e/test_etcd_suite.py).
    Each data directory gets a keystore of its own under its own prefix; kmsd and
    every kmsctl that opens that directory's keystore get the same options."""
    if not os.environ.get("KMSD_STORE"):
        return []
    return ["--store", os.environ["KMSD_STORE"], "--etcd-prefix",
            "e2e-" + hashlib.sha256(os.path.abspath(data_dir).encode()).hexdigest()[:16]]


# kmsctl subcommands that open the keystore of their --data-dir.
KMSCTL_KEYSTORE_COMMANDS = (("access-key",), ("seed",), ("rekey",), ("audit", "verify"), ("sts", "set-jwks"),
                            ("sts", "rotate-token-key"))


def kmsctl_args(args):
    """args with the store options of its --data-dir added, for a subcommand that opens it."""
    args = list(args)
    if "--store" in args or "--data-dir" not in args or args.index("--data-dir") + 1 >= len(args):
        return args
    if not any(tuple(args[:len(c)]) == c for c in KMSCTL_KEYSTORE_COMMANDS):
        return args
    return args + store_args(args[args.index("--data-dir") + 1])


class Kmsd:
    """One kmsd process. Use as a context manager or call start()/stop()."""

    def __init__(self, *extra_args, data_dir=None, region="us-east-1", env=None):
        self.own_dir = data_dir is None
        self.root = tempfile.mkdtemp(prefix="kmsd-e2e-")
        self.data_dir = data_dir or os.path.join(self.root, "data")
        self.extra_args = list(extra_args)
        self.region = region
        self.env = env
        self.proc = None
        self.port = None

    def start(self, *more_args, expect_fail=False, timeout=20):
        if self.proc is not None and self.proc.poll() is None:
            # A second start would orphan the running server (it outlived the suite before).
            raise RuntimeError("kmsd is already running (stop() it first)")
        port_file = os.path.join(self.root, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        self.stdout_path = os.path.join(self.root, "stdout.log")
        self.stderr_path = os.path.join(self.root, "stderr.log")
        args = [KMSD_BIN, "--listen", "127.0.0.1:0", "--data-dir", self.data_dir,
                "--port-file", port_file, "--region", self.region] + self.extra_args + list(more_args)
        if "--store" not in args:
            args += store_args(self.data_dir)
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        self.proc = subprocess.Popen(args, stdout=open(self.stdout_path, "ab"),
                                     stderr=open(self.stderr_path, "ab"), env=env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if os.path.exists(port_file):
                with open(port_file) as f:
                    self.port = int(f.read().strip())
                break
            if self.proc.poll() is not None:
                if expect_fail:
                    return self.proc.returncode
                raise RuntimeError("kmsd exited with %s:\n%s" % (self.proc.returncode, self.stderr()))
            time.sleep(0.02)
        else:
            self.stop()
            raise RuntimeError("kmsd did not start:\n" + self.stderr())
        if expect_fail:
            raise AssertionError("kmsd started although it should have refused")
        self.endpoint = "http://127.0.0.1:%d" % self.port
        self.admin = self.read_admin_credentials()
        return self

    def stored_bytes(self):
        """Everything this kmsd's keystore holds at rest, as one bytes value (None: nothing
        yet): LMDB's data file, or over etcd (KMSD_STORE) every key and value under the
        keystore's prefix. For tests that check what reaches storage (sealed, unchanged)."""
        if not os.environ.get("KMSD_STORE"):
            path = os.path.join(self.data_dir, "data.mdb")
            if not os.path.exists(path):
                return None
            with open(path, "rb") as f:
                return f.read()
        import base64
        import urllib.request
        prefix = store_args(self.data_dir)[3].encode()
        body = {"key": base64.b64encode(prefix + b"/").decode(), "range_end": base64.b64encode(prefix + b"0").decode()}
        out = []
        for ep in os.environ["KMSD_STORE"][len("etcd://"):].split(","):
            try:
                req = urllib.request.Request("http://%s/v3/kv/range" % ep, data=json.dumps(body).encode(),
                                             method="POST")
                kvs = json.load(urllib.request.urlopen(req, timeout=5)).get("kvs", [])
                break
            except OSError:
                continue
        else:
            raise RuntimeError("no etcd member of %s answered" % os.environ["KMSD_STORE"])
        for kv in kvs:
            out += [base64.b64decode(kv["key"]), base64.b64decode(kv.get("value", ""))]
        return b"\0".join(out) if out else None

    def stderr(self):
        try:
            with open(self.stderr_path) as f:
                return f.read()
        except OSError:
            return ""

    def stdout(self):
        try:
            with open(self.stdout_path) as f:
                return f.read()
        except OSError:
            return ""

    def read_admin_credentials(self):
        cp = configparser.ConfigParser()
        cp.read(os.path.join(self.data_dir, "admin-credentials"))
        return (cp["kmsd"]["aws_access_key_id"], cp["kmsd"]["aws_secret_access_key"])

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        return rc

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    # --- clients -----------------------------------------------------
    def client(self, service, creds=None, region=None, session_token=None, retries=0, validate=True):
        key, secret = creds or self.admin
        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=region or self.region,
            aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=session_token,
            config=botocore.config.Config(retries={"max_attempts": retries + 1, "mode": "standard"},
                                          read_timeout=60, connect_timeout=10,
                                          parameter_validation=validate))

    def cli(self, *args, creds=None, session_token=None, region=None, check=True, extra_env=None):
        """Runs the aws CLI against this server; returns (rc, parsed-json-or-text, stderr)."""
        key, secret = creds or self.admin
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("AWS_"):
                del env[k]
        env.update({"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret,
                    "AWS_DEFAULT_REGION": region or self.region, "AWS_CONFIG_FILE": "/dev/null",
                    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_MAX_ATTEMPTS": "1",
                    "AWS_PAGER": ""})
        if session_token:
            env["AWS_SESSION_TOKEN"] = session_token
        if extra_env:
            env.update(extra_env)
        p = subprocess.run(["aws", "--endpoint-url", self.endpoint, "--output", "json"] + list(args),
                           env=env, capture_output=True, text=True, timeout=120)
        out = p.stdout
        try:
            out = json.loads(p.stdout) if p.stdout.strip() else {}
        except ValueError:
            pass
        if check and p.returncode != 0:
            raise AssertionError("aws %s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr))
        return p.returncode, out, p.stderr

    # --- raw signed HTTP ---------------------------------------------
    def signed_request(self, service, body, headers, creds=None, region=None, method="POST", path="/",
                       session_token=None, sign_time=None, query=""):
        """Signs with botocore's SigV4Auth and returns (method, url, headers, body) for send()."""
        key, secret = creds or self.admin
        url = self.endpoint + path + (("?" + query) if query else "")
        req = botocore.awsrequest.AWSRequest(method=method, url=url, data=body, headers=dict(headers))
        c = botocore.credentials.Credentials(key, secret, session_token)
        signer = botocore.auth.SigV4Auth(c, service, region or self.region)
        if sign_time is not None:
            import datetime
            from unittest import mock
            fixed = datetime.datetime.fromtimestamp(sign_time, tz=datetime.timezone.utc).replace(tzinfo=None)
            with mock.patch("botocore.auth.get_current_datetime", return_value=fixed):
                signer.add_auth(req)
        else:
            signer.add_auth(req)
        prepared = req.prepare()
        return prepared.method, prepared.url, dict(prepared.headers), prepared.body

    def send(self, method, url, headers, body):
        """Sends raw HTTP; returns (status, headers, body-bytes)."""
        from urllib.parse import urlsplit
        u = urlsplit(url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        target = u.path + (("?" + u.query) if u.query else "")
        if isinstance(body, str):
            body = body.encode()
        conn.request(method, target, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        conn.close()
        return r.status, hdrs, data

    def kms_raw(self, op, payload, **kw):
        body = json.dumps(payload)
        headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService." + op}
        return self.signed_request("kms", body, headers, **kw)


def kmsctl(*args, input=None):
    p = subprocess.run([KMSCTL_BIN] + kmsctl_args(args), input=input, capture_output=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def main():
    unittest.main(verbosity=2)


def err(e):
    """(code, message) of a botocore ClientError."""
    return e.response["Error"]["Code"], e.response["Error"].get("Message", "")


class KmsdTestCase(unittest.TestCase):
    """One kmsd for the whole class (cls.k) and a boto3 KMS client for its
    administrator (cls.kms). Subclasses that need more set-up extend
    setUpClass and call super().setUpClass() first."""

    kmsd_args = ()

    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd(*cls.kmsd_args).start()
        cls.kms = cls.k.client("kms")

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def raw(self, op, payload):
        """Sends a signed KMS request with a hand-made payload; expects a 400; returns (code, message)."""
        st, _, body = self.k.send(*self.k.kms_raw(op, payload))
        j = json.loads(body)
        self.assertEqual(st, 400, body)
        return j["__type"], j.get("message", "")

    def raises(self, code, fn, *a, **kw):
        """Calls fn, expects a ClientError with this code; returns its message."""
        import botocore.exceptions
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*a, **kw)
        c, m = err(cm.exception)
        self.assertEqual(c, code, m)
        return m
