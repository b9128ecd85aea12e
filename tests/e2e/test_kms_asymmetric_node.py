"""kmsd's signatures checked from Node (issue 11): tests/e2e/node/asymmetric.js
uses the AWS SDK for JavaScript v3 against kmsd and verifies every signing
algorithm with Node's crypto (GetPublicKey's key), JWTs (RS256, PS256, ES256,
EdDSA) with `jose`, and a secp256k1 DIGEST signature as an Ethereum (r, s, v)
recovering the key's address with `ethers`. Skipped only when node or the
npm packages are missing (scripts/deps.sh --test installs them)."""
import json
import os
import shutil
import subprocess
import unittest

from kmsd_harness import Kmsd, main

NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")


class AsymmetricNode(unittest.TestCase):
    def test_node_crypto_jose_ethers(self):
        node = shutil.which("node")
        mods = [os.path.join(NODE_DIR, "node_modules", m) for m in ("@aws-sdk", "jose", "ethers")]
        if not node or not all(os.path.isdir(m) for m in mods):
            if os.environ.get("CI"):
                self.fail("node or tests/e2e/node/node_modules missing; scripts/deps.sh --test installs them")
            self.skipTest("node packages not installed")
        with Kmsd() as k:
            env = dict(os.environ, KMSD_ENDPOINT=k.endpoint, KMSD_AKID=k.admin[0], KMSD_SECRET=k.admin[1])
            p = subprocess.run([node, "asymmetric.js"], cwd=NODE_DIR, env=env, capture_output=True, text=True,
                               timeout=600)
            self.assertEqual(p.returncode, 0, p.stderr + p.stdout)
            out = json.loads(p.stdout.strip().splitlines()[-1])
            self.assertTrue(out["ok"])
            self.assertEqual(len(out["verified"]), 11)
            self.assertEqual(out["jwts"], ["RS256", "PS256", "ES256", "EdDSA"])
            self.assertRegex(out["eth"]["address"], "^0x[0-9a-fA-F]{40}$")
            self.assertIn(out["eth"]["v"], (27, 28))


if __name__ == "__main__":
    main()
