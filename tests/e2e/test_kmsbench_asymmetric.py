"""kmsbench's asymmetric and HMAC workloads (issue 11) against a real kmsd:
each sets up its key (and signature), then serves only successful requests."""
import json
import os
import subprocess
import unittest

from kmsd_harness import Kmsd, main

KMSBENCH_BIN = os.environ.get("KMSBENCH_BIN", "build/tools/kmsbench")
WORKLOADS = ["sign-p256", "verify-p256", "sign-ed25519", "verify-ed25519", "sign-rsa2048", "verify-rsa2048",
             "generate-mac", "generate-data-key-pair-rsa2048", "generate-data-key-pair-p256",
             "mix:sign-p256=1,verify-p256=1,generate-mac=1"]


class KmsbenchAsymmetric(unittest.TestCase):
    def test_workloads_succeed(self):
        with Kmsd() as k:
            creds = os.path.join(k.data_dir, "admin-credentials")
            for w in WORKLOADS:
                with self.subTest(workload=w):
                    p = subprocess.run([KMSBENCH_BIN, "--endpoint", k.endpoint, "--credentials-file", creds, "--json",
                                        "-c", "4", "-t", "2", "-d", "1s", "-w", w],
                                       capture_output=True, text=True, timeout=180)
                    lines = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
                    self.assertEqual(len(lines), 1, p.stderr)
                    line = lines[0]
                    self.assertEqual(line["workload"], w)
                    self.assertNotIn("setup:", p.stderr)
                    self.assertGreater(line["ok"], 0, "%s\n%s" % (line, p.stderr))
                    self.assertEqual(line["errors"], 0, "%s\n%s" % (line, p.stderr))

    def test_unknown_workload_refused(self):
        p = subprocess.run([KMSBENCH_BIN, "-w", "sign-p257", "--endpoint", "http://127.0.0.1:1"], capture_output=True,
                           text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)


if __name__ == "__main__":
    main()
