"""The AWS Encryption SDK for JavaScript (and the JS SDK v3) against kmsd,
unmodified: tests/e2e/node/encryption_sdk.js. Skipped only when node or the
npm packages are not installed (scripts/deps.sh --test installs them)."""
import json
import os
import shutil
import subprocess
import unittest

from kmsd_harness import Kmsd, main

NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")


class EncryptionSdk(unittest.TestCase):
    def test_encryption_sdk_round_trip_1mib(self):
        node = shutil.which("node")
        if not node or not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "@aws-crypto")):
            if os.environ.get("CI"):
                self.fail("node or tests/e2e/node/node_modules missing; scripts/deps.sh --test installs them")
            self.skipTest("node packages not installed")
        with Kmsd() as k:
            key = k.client("kms").create_key(Description="encryption sdk")["KeyMetadata"]
            env = dict(os.environ, KMSD_ENDPOINT=k.endpoint, KMSD_AKID=k.admin[0], KMSD_SECRET=k.admin[1],
                       KMSD_KEY_ARN=key["Arn"])
            p = subprocess.run([node, "encryption_sdk.js"], cwd=NODE_DIR, env=env, capture_output=True, text=True,
                               timeout=300)
            self.assertEqual(p.returncode, 0, p.stderr + p.stdout)
            out = json.loads(p.stdout.strip().splitlines()[-1])
            self.assertTrue(out["ok"])
            self.assertEqual(out["bytes"], 1024 * 1024)
            self.assertEqual(out["refused"], "InvalidCiphertextException")


if __name__ == "__main__":
    main()
