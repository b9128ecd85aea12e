#!/usr/bin/env python3
"""kmsctl sigv4-verify against the botocore-generated vectors in vectors/sigv4.

Env: KMSCTL_BIN (path to kmsctl), KMSD_SOURCE_DIR (repo root; defaults to
this file's ../..). Plain unittest; exits non-zero on failure.
"""

import json
import os
import subprocess
import sys
import unittest

ROOT = os.environ.get("KMSD_SOURCE_DIR") or os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
VECTORS = os.path.join(ROOT, "vectors", "sigv4")
KMSCTL = os.environ.get("KMSCTL_BIN", "kmsctl")


def load(case):
    d = os.path.join(VECTORS, case)
    with open(os.path.join(d, "context.json")) as f:
        ctx = json.load(f)
    with open(os.path.join(d, "request.txt"), "rb") as f:
        raw = f.read()
    return d, ctx, raw


def verify(raw, *args, secret=None):
    cmd = [KMSCTL, "sigv4-verify"]
    if secret is not None:
        cmd += ["--secret-key", secret]
    cmd += list(args)
    return subprocess.run(cmd, input=raw, capture_output=True, timeout=60)


class SigV4VerifyCli(unittest.TestCase):
    def test_every_positive_vector_verifies(self):
        cases = sorted(c for c in os.listdir(VECTORS) if os.path.isdir(os.path.join(VECTORS, c)))
        self.assertGreaterEqual(len(cases), 30)
        checked = 0
        for case in cases:
            _, ctx, raw = load(case)
            if ctx["expect"] != "ok":
                continue
            args = ["--now", ctx["now"]]
            if not ctx["normalize"]:
                args.append("--no-normalize-path")
            token = ctx["credentials"].get("session_token")
            if token:
                args += ["--session-token", token]
            r = verify(raw, *args, secret=ctx["credentials"]["secret_access_key"])
            self.assertEqual(r.returncode, 0, f"{case}: {r.stderr.decode(errors='replace')}")
            checked += 1
        self.assertGreaterEqual(checked, 20)

    def test_show_prints_the_vector_artefacts(self):
        for case in ("kms-json-post", "presigned-token", "multi-line-header", "dot-segments"):
            d, ctx, raw = load(case)
            r = verify(raw, "--show", secret=ctx["credentials"]["secret_access_key"])
            self.assertEqual(r.returncode, 0, r.stderr)
            out = r.stdout.decode()
            with open(os.path.join(d, "canonical-request.txt")) as f:
                cr = f.read()
            with open(os.path.join(d, "string-to-sign.txt")) as f:
                sts = f.read()
            with open(os.path.join(d, "signature.txt")) as f:
                sig = f.read().strip()
            want = (f"--- canonical request ---\n{cr}\n--- string to sign ---\n{sts}\n"
                    f"--- signature ---\n{sig}\n")
            self.assertEqual(out, want, case)

    def test_tampered_body_is_invalid(self):
        _, ctx, raw = load("neg-tampered-body")
        r = verify(raw, "--show", secret=ctx["credentials"]["secret_access_key"])
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"The request signature we calculated does not match", r.stderr)
        self.assertIn(b"--- canonical request ---", r.stdout)

    def test_wrong_secret_is_invalid(self):
        _, _, raw = load("get-simple")
        self.assertEqual(verify(raw, secret="not-the-secret").returncode, 1)

    def test_saved_request_verifies_later_unless_now_given(self):
        _, ctx, raw = load("neg-stale-date")
        secret = ctx["credentials"]["secret_access_key"]
        self.assertEqual(verify(raw, secret=secret).returncode, 0)
        r = verify(raw, "--now", ctx["now"], secret=secret)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"Signature expired: 20150830T123600Z is now earlier than", r.stderr)

    def test_session_token(self):
        _, ctx, raw = load("session-token-header")
        secret = ctx["credentials"]["secret_access_key"]
        token = ctx["credentials"]["session_token"]
        self.assertEqual(verify(raw, "--session-token", token, secret=secret).returncode, 0)
        self.assertEqual(verify(raw, "--session-token", token + "x", secret=secret).returncode, 1)
        _, ctx, raw = load("presigned-token")
        self.assertEqual(verify(raw, "--session-token", token, secret=secret).returncode, 0)
        self.assertEqual(verify(raw, "--session-token", "other", secret=secret).returncode, 1)
        _, _, raw = load("get-simple")
        self.assertEqual(verify(raw, "--session-token", token, secret=secret).returncode, 1)

    def test_malformed_input_and_usage(self):
        self.assertEqual(verify(b"not http\n", secret="x").returncode, 2)
        self.assertEqual(verify(b"", secret="x").returncode, 2)
        _, _, raw = load("get-simple")
        self.assertEqual(verify(raw).returncode, 2)  # no --secret-key
        self.assertEqual(verify(raw, "--bogus", secret="x").returncode, 2)
        self.assertEqual(verify(raw, "--now", "yesterday", secret="x").returncode, 2)


if __name__ == "__main__":
    prog = unittest.main(exit=False, verbosity=2)
    sys.exit(0 if prog.result.wasSuccessful() else 1)
