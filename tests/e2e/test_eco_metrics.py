"""Prometheus metrics end to end (issue 13): --metrics serves the text
exposition format on its own loopback listener; a small strict parser in
this file checks the syntax (HELP/TYPE before samples, label syntax,
cumulative histogram buckets ending in +Inf = count); the counters follow
real traffic (requests by service/operation/code, latency, auth failures by
reason, keystore size and commit latency, cache hits, connections, process
CPU and RSS); no key id, ARN, access key id or secret appears anywhere in a
scrape; operation labels cannot be invented by clients."""
import json
import math
import re
import subprocess
import unittest
import urllib.error
import urllib.request

import botocore.exceptions

from kmsd_harness import KMSD_BIN, Kmsd, main

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE = re.compile(r"^(" + NAME + r")(\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')


def parse(text):
    """Parses the text format strictly; returns (types, samples) where
    samples is a list of (name, {labels}, value)."""
    types, helps, samples = {}, {}, []
    assert text.endswith("\n"), "exposition must end with a newline"
    for ln, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            assert re.fullmatch(NAME, name), (ln, line)
            assert name not in helps, ("HELP twice", ln, line)
            helps[name] = True
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ")
            assert typ in ("counter", "gauge", "histogram", "summary", "untyped"), (ln, line)
            assert name not in types, ("TYPE twice", ln, line)
            types[name] = typ
            continue
        assert not line.startswith("#") and line, ("stray line", ln, line)
        m = SAMPLE.match(line)
        assert m, ("bad sample", ln, line)
        name, _, body, value = m.groups()
        labels = {}
        if body:
            pos = 0
            while pos < len(body):
                lm = LABEL.match(body, pos)
                assert lm, ("bad labels", ln, line)
                assert lm.group(1) not in labels, ("label twice", ln, line)
                labels[lm.group(1)] = lm.group(2)
                pos = lm.end()
        v = float(value)  # raises on garbage; "+Inf"/"NaN" are valid floats too
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        family = name if name in types else base
        assert family in types, ("sample before its TYPE", ln, line)
        if types[family] == "counter":
            assert v >= 0 and not math.isnan(v), (ln, line)
        samples.append((name, labels, v))
    # histograms: cumulative buckets, +Inf bucket == _count
    for fam, typ in types.items():
        if typ != "histogram":
            continue
        groups = {}
        for name, labels, v in samples:
            if name == fam + "_bucket":
                key = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
                groups.setdefault(key, []).append((labels["le"], v))
        for key, buckets in groups.items():
            vals = [v for _, v in buckets]
            assert vals == sorted(vals), ("buckets not cumulative", fam, key)
            assert buckets[-1][0] == "+Inf", (fam, key)
            count = [v for n, l, v in samples if n == fam + "_count"
                     and tuple(sorted(l.items())) == key]
            assert count == [buckets[-1][1]], ("+Inf != count", fam, key, count)
    return types, samples


def value(samples, name, **labels):
    vals = [v for n, l, v in samples if n == name and all(l.get(k) == x for k, x in labels.items())]
    return sum(vals) if vals else None


class Metrics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd("--metrics", "127.0.0.1:0").start()
        m = re.search(r"kmsd metrics on (http://127\.0\.0\.1:\d+/metrics)", cls.k.stdout())
        assert m, cls.k.stdout()
        cls.url = m.group(1)

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def scrape(self):
        with urllib.request.urlopen(self.url, timeout=10) as r:
            self.assertEqual(r.status, 200)
            self.assertTrue(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
            return r.read().decode()

    def test_counters_follow_traffic_and_nothing_leaks(self):
        text0 = self.scrape()
        _, s0 = parse(text0)
        enc0 = value(s0, "kmsd_requests_total", service="kms", operation="Encrypt", code="ok") or 0
        kms = self.k.client("kms")
        key = kms.create_key(Description="metrics")["KeyMetadata"]
        for _ in range(3):
            kms.encrypt(KeyId=key["KeyId"], Plaintext=b"m")
        missing = "11111111-2222-4333-8444-555555555555"
        with self.assertRaises(botocore.exceptions.ClientError):
            kms.describe_key(KeyId=missing)
        self.k.client("sts").get_caller_identity()
        bad = self.k.client("kms", creds=(self.k.admin[0], "wrong-secret-" + "x" * 27))
        with self.assertRaises(botocore.exceptions.ClientError):
            bad.list_keys()
        # a client-chosen operation name never becomes a label
        st, _, _ = self.k.send(*self.k.kms_raw("Evil_op-with.odd", {}))
        self.assertEqual(st, 400)
        st, _, _ = self.k.send(*self.k.signed_request("sts", "Action=Evil%22%7D&Version=2011-06-15",
                                                      {"Content-Type": "application/x-www-form-urlencoded"}))

        text = self.scrape()
        types, s = parse(text)
        self.assertEqual(value(s, "kmsd_requests_total", service="kms", operation="Encrypt", code="ok"), enc0 + 3)
        self.assertGreaterEqual(value(s, "kmsd_requests_total", service="kms", operation="DescribeKey",
                                      code="NotFoundException"), 1)
        self.assertGreaterEqual(value(s, "kmsd_requests_total", service="sts", operation="GetCallerIdentity",
                                      code="ok"), 1)
        self.assertGreaterEqual(value(s, "kmsd_requests_total", service="kms", operation="unauthenticated",
                                      code="InvalidSignatureException"), 1)
        self.assertGreaterEqual(value(s, "kmsd_auth_failures_total", reason="bad_signature"), 1)
        self.assertGreaterEqual(value(s, "kmsd_requests_total", service="kms", operation="unknown"), 1)
        self.assertNotIn("Evil", text)
        ops = {l["operation"] for n, l, v in s if n == "kmsd_requests_total"}
        for op in ops:
            self.assertRegex(op, r"^[A-Za-z]+$")
        self.assertEqual(types["kmsd_request_duration_seconds"], "histogram")
        self.assertGreaterEqual(value(s, "kmsd_request_duration_seconds_count", service="kms"), 6)
        self.assertGreater(value(s, "kmsd_keystore_file_bytes"), 0)
        self.assertGreaterEqual(value(s, "kmsd_keystore_commit_duration_seconds_count"), 1)
        self.assertGreater(value(s, "kmsd_cache_hits_total", cache="sigv4_signing_key"), 0)
        self.assertGreater(value(s, "kmsd_cache_hits_total", cache="credentials"), 0)
        self.assertIsNotNone(value(s, "kmsd_kms_rotations_total"))
        self.assertIsNotNone(value(s, "kmsd_kms_deletions_total"))
        self.assertGreaterEqual(value(s, "kmsd_connections_open"), 0)
        self.assertGreater(value(s, "process_cpu_seconds_total"), 0)
        self.assertGreater(value(s, "process_resident_memory_bytes"), 1 << 20)
        # no key id, ARN, account-specific value, access key id or secret anywhere
        for secret in (key["KeyId"], key["Arn"], missing, self.k.admin[0], self.k.admin[1], "arn:aws"):
            self.assertNotIn(secret, text)

    def test_only_get_metrics(self):
        base = self.url.rsplit("/", 1)[0]
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(base + "/", timeout=10)
        self.assertEqual(cm.exception.code, 404)
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(urllib.request.Request(self.url, data=b"x", method="POST"), timeout=10)
        self.assertEqual(cm.exception.code, 405)

    def test_parser_rejects_bad_text(self):
        for bad in ("x 1\n", "# TYPE x counter\nx{a=b} 1\n", "# TYPE x counter\nx -1\n",
                    "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",
                    "# TYPE x counter\nx 1"):
            with self.assertRaises((AssertionError, ValueError)):
                parse(bad)


class MetricsOptions(unittest.TestCase):
    def test_loopback_only(self):
        for addr in ("0.0.0.0:9999", "10.0.0.1:9999", "nonsense"):
            p = subprocess.run([KMSD_BIN, "--metrics", addr, "--check-config"], capture_output=True, text=True,
                               timeout=30)
            self.assertEqual(p.returncode, 2, addr)
            self.assertIn("--metrics must be a loopback HOST:PORT", p.stderr)

    def test_off_by_default(self):
        with Kmsd() as k:
            self.assertNotIn("metrics on", k.stdout())


if __name__ == "__main__":
    main()
