"""CI smoke of kmsbench, so the tool never rots: every workload runs for a
second against a real kmsd and a second against the in-process bare-HTTP
floor, and the --json lines must parse and show successful requests. No
timing thresholds: CI machines are too noisy for them (docs/performance.md
holds the figures).

Every request must succeed: a run with any failed request, a failed set-up
step or a skipped workload fails the test (test_broken_setup_fails shows the
check failing when kmsbench signs with a wrong secret).
"""
import json
import os
import subprocess
import unittest

from kmsd_harness import Kmsd, main

KMSBENCH_BIN = os.environ.get("KMSBENCH_BIN", "build/tools/kmsbench")
WORKLOADS = [
    "generate-random",
    "get-caller-identity",
    "encrypt32",
    "encrypt4k",
    "decrypt",
    "generate-data-key",
    "reencrypt",
    "create-key",
    "assume-role",
    "mix:encrypt32=2,decrypt=2,generate-data-key=1,generate-random=1",
]
LOAD = ["-c", "8", "-t", "2", "-d", "1s"]


def bench(*args, timeout=180):
    p = subprocess.run([KMSBENCH_BIN] + list(args), capture_output=True, text=True, timeout=timeout)
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    return p.returncode, lines, p.stderr


class KmsbenchSmoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        cls.creds = os.path.join(cls.k.data_dir, "admin-credentials")

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def against_kmsd(self, *args):
        return bench("--endpoint", self.k.endpoint, "--credentials-file", self.creds, "--json", *LOAD, *args)

    def check_line(self, line, target, workload):
        self.assertEqual(line["target"], target)
        self.assertEqual(line["workload"], workload)
        for field in ("rps", "ok", "errors", "seconds", "latency_ms", "errors_by_code"):
            self.assertIn(field, line)
        for q in ("p50", "p90", "p99", "p999", "max"):
            self.assertGreaterEqual(line["latency_ms"][q], 0)

    def assert_all_ok(self, line, stderr):
        """The run served requests and every one of them succeeded."""
        self.assertNotIn("skipped", line, stderr)
        self.assertNotIn("setup:", stderr)
        self.assertGreater(line["ok"], 0, "%s\n%s" % (line, stderr))
        self.assertEqual(line["errors"], 0, "%s\n%s" % (line, stderr))
        self.assertEqual(line["errors_by_code"], {}, stderr)

    def test_broken_setup_fails(self):
        """The check above cannot pass when requests fail: kmsbench signing
        with a wrong secret gets only errors, and assert_all_ok says so."""
        bad = os.path.join(self.k.root, "wrong-credentials")
        with open(self.creds) as f, open(bad, "w") as g:
            for l in f:
                g.write("aws_secret_access_key = wrongwrongwrongwrongwrongwrongwrongwrong\n"
                        if l.startswith("aws_secret_access_key") else l)
        for w in ("generate-random", "encrypt32", "generate-random@temp"):
            with self.subTest(workload=w):
                rc, lines, err = bench("--endpoint", self.k.endpoint, "--credentials-file", bad, "--json", *LOAD,
                                       "-w", w)
                self.assertEqual(len(lines), 1, err)
                with self.assertRaises(AssertionError):
                    self.assert_all_ok(lines[0], err)

    @unittest.skipIf(os.environ.get("KMSD_STORE"), "kmsbench --cold-start execs kmsd on a copy of an LMDB data "
                     "directory; over etcd a node keeps no records to copy and kmsbench passes no --store")
    def test_cold_start(self):
        # A second server on the same keystore would contend for it: use a copy.
        import shutil
        import tempfile
        from kmsd_harness import KMSD_BIN
        d = tempfile.mkdtemp(prefix="kmsd-cold-")
        try:
            data = os.path.join(d, "data")
            shutil.copytree(self.k.data_dir, data, ignore=shutil.ignore_patterns("*.lock", "lock.mdb", "access.log"))
            rc, lines, err = bench("--cold-start", KMSD_BIN, "--data-dir", data, "--trials", "2",
                                   "--credentials-file", os.path.join(data, "admin-credentials"), "--json")
            self.assertEqual(rc, 0, err)
            j = lines[-1]
            self.assertEqual(j["measure"], "cold-start")
            self.assertGreater(j["median_ms"], 0)
            self.assertGreater(j["idle_rss_kib"], 0)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_help(self):
        p = subprocess.run([KMSBENCH_BIN, "--help"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0)
        self.assertIn("--floor", p.stdout)

    def test_bad_option_is_refused(self):
        p = subprocess.run([KMSBENCH_BIN, "--no-such-option"], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        p = subprocess.run([KMSBENCH_BIN, "--floor", "-w", "no-such-workload"], capture_output=True, text=True,
                           timeout=30)
        self.assertNotEqual(p.returncode, 0)

    def test_floor_only(self):
        rc, lines, err = bench("--floor", "--json", *LOAD, "-w", "encrypt32", "-w", "get-caller-identity@temp")
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(lines), 2, err)
        self.check_line(lines[0], "floor", "encrypt32")
        for line in lines:
            self.assertGreater(line["ok"], 0)
            self.assertEqual(line["errors"], 0)

    def test_every_workload_against_kmsd_and_floor(self):
        for w in WORKLOADS:
            with self.subTest(workload=w):
                rc, lines, err = self.against_kmsd("--floor", "-w", w)
                self.assertEqual(rc, 0, err)
                self.assertEqual([l["target"] for l in lines], ["floor", "kmsd"], err)
                floor, kmsd = lines
                self.check_line(floor, "floor", w)
                self.check_line(kmsd, "kmsd", w)
                self.assertGreater(floor["ok"], 0)
                self.assertEqual(floor["errors"], 0)
                self.assertIn("ratio", kmsd)
                self.assert_all_ok(kmsd, err)

    def test_temporary_credentials(self):
        rc, lines, err = self.against_kmsd("-w", "generate-random@temp")
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(lines), 1, err)
        self.assert_all_ok(lines[0], err)
        self.assertTrue(lines[0]["temp_creds"])

    def test_rate_mode(self):
        rc, lines, err = self.against_kmsd("-w", "get-caller-identity", "--rate", "200")
        self.assertEqual(rc, 0, err)
        self.assertEqual([l["mode"] for l in lines], ["closed", "rate"], err)
        self.assertAlmostEqual(lines[1]["offered_rps"], 200, delta=1)
        for line in lines:
            self.assert_all_ok(line, err)

    def test_request_count(self):
        rc, lines, err = bench("--endpoint", self.k.endpoint, "--credentials-file", self.creds, "--json",
                               "-c", "4", "-t", "2", "-n", "300", "-w", "generate-random")
        self.assertEqual(rc, 0, err)
        self.assertEqual(lines[0]["requests"], 300, err)
        self.assertEqual(lines[0]["ok"], 300, err)
        self.assert_all_ok(lines[0], err)


if __name__ == "__main__":
    main()
