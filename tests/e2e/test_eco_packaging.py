"""Packaging (issue 13): the systemd unit in contrib/ is sandboxed as the
issue asks and passes `systemd-analyze verify`; `kmsd --check-config`
validates options, TLS files and the seed without starting or writing."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from kmsd_harness import KMSD_BIN, SOURCE_DIR, main

UNIT = os.path.join(SOURCE_DIR, "contrib", "kmsd.service")


class Unit(unittest.TestCase):
    def test_sandboxing(self):
        with open(UNIT) as f:
            text = f.read()
        for line in ("ProtectSystem=strict", "NoNewPrivileges=yes", "MemoryDenyWriteExecute=yes",
                     "StateDirectory=kmsd", "StateDirectoryMode=0700", "DynamicUser=yes", "LimitCORE=0",
                     "CapabilityBoundingSet=", "PrivateTmp=yes", "ProtectHome=yes"):
            self.assertRegex(text, r"(?m)^" + re.escape(line) + r"$")
        self.assertIn("ExecStartPre=/usr/local/bin/kmsd --check-config", text)

    def test_systemd_analyze_verify(self):
        tool = shutil.which("systemd-analyze")
        if not tool:
            self.skipTest("systemd-analyze not installed")
        with open(UNIT) as f:
            text = f.read().replace("/usr/local/bin/kmsd", os.path.abspath(KMSD_BIN))
        d = tempfile.mkdtemp()
        try:
            path = os.path.join(d, "kmsd.service")
            with open(path, "w") as f:
                f.write(text)
            p = subprocess.run([tool, "verify", path], capture_output=True, text=True, timeout=60)
            problems = [l for l in (p.stdout + p.stderr).splitlines()
                        if "kmsd.service" in l and "Documentation" not in l]
            self.assertEqual(problems, [], p.stdout + p.stderr)
        finally:
            shutil.rmtree(d)


class CheckConfig(unittest.TestCase):
    def run_(self, *args):
        d = tempfile.mkdtemp()
        try:
            p = subprocess.run([KMSD_BIN, "--check-config", "--data-dir", os.path.join(d, "data")] + list(args),
                               capture_output=True, text=True, timeout=30)
            self.assertFalse(os.path.exists(os.path.join(d, "data")), "--check-config wrote the data directory")
            return p
        finally:
            shutil.rmtree(d)

    def test_valid_and_invalid(self):
        p = self.run_("--listen", "127.0.0.1:0", "--throttle", "aws", "--audit")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("configuration OK", p.stdout)
        for args, msg in ((("--listen", "nonsense"), "invalid value for --listen"),
                          (("--throttle", "fast"), "invalid value for --throttle"),
                          (("--bogus", "x"), "unknown option"),
                          (("--listen", "0.0.0.0:8340"), "needs TLS"),
                          (("--seed", "/nonexistent/seed.yaml"), "cannot be read")):
            p = self.run_(*args)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(msg, p.stderr, args)


if __name__ == "__main__":
    main()
