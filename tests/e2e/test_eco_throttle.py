"""Throttling emulation end to end (issue 13): --throttle RATE and
--throttle aws answer over-quota KMS calls with AWS's ThrottlingException
(HTTP 400), per account and Region and per quota, and boto3's standard
retry mode recovers from it; the aws CLI retries too."""
import json
import time
import unittest

import boto3
import botocore.config
import botocore.exceptions

from kmsd_harness import Kmsd, err, main

MSG = "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."


class CustomRate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd("--throttle", "1").start()

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def test_throttled_then_standard_retries_recover(self):
        time.sleep(1.2)
        raw = self.k.client("kms", retries=0)
        seen = None
        for _ in range(10):
            try:
                raw.generate_random(NumberOfBytes=8)
            except botocore.exceptions.ClientError as e:
                seen = e
                break
        self.assertIsNotNone(seen, "never throttled at 1 request per second")
        self.assertEqual(err(seen), ("ThrottlingException", MSG))
        self.assertEqual(seen.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        # the raw wire shape
        st, hdrs, body = self.k.send(*self.k.kms_raw("GenerateRandom", {"NumberOfBytes": 8}))
        if st != 200:
            self.assertEqual(st, 400)
            self.assertEqual(json.loads(body), {"__type": "ThrottlingException", "message": MSG})
            self.assertEqual(hdrs.get("x-amzn-errortype"), "ThrottlingException")

        # boto3 standard mode: throttling errors are retried with backoff and all calls succeed.
        kms = boto3.client("kms", endpoint_url=self.k.endpoint, region_name="us-east-1",
                           aws_access_key_id=self.k.admin[0], aws_secret_access_key=self.k.admin[1],
                           config=botocore.config.Config(retries={"mode": "standard", "max_attempts": 10}))
        t = time.time()
        retried = 0
        for _ in range(5):
            r = kms.generate_random(NumberOfBytes=8)
            self.assertEqual(len(r["Plaintext"]), 8)
            retried += r["ResponseMetadata"]["RetryAttempts"]
        self.assertGreater(retried, 0, "no call was throttled and retried")
        self.assertGreater(time.time() - t, 2.5)  # 5 calls at 1/s (burst 1) take about 4 s

    def test_sts_is_not_throttled(self):
        sts = self.k.client("sts")
        for _ in range(10):
            sts.get_caller_identity()

    def test_aws_cli_retries(self):
        time.sleep(1.2)
        for _ in range(4):
            rc, out, e = self.k.cli("kms", "generate-random", "--number-of-bytes", "4",
                                    extra_env={"AWS_MAX_ATTEMPTS": "10", "AWS_RETRY_MODE": "standard"})
            self.assertEqual(rc, 0, e)


class AwsQuotas(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd("--throttle", "aws").start()

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def test_slow_quota_per_account_and_region(self):
        # GetParametersForImport: 0.25 per second (one in each 4-second interval)
        from kmsd_harness import kmsctl
        rc, _, e = kmsctl("access-key", "add", "--data-dir", self.k.data_dir, "--id", "AKIAOTHERACCOUNT0001",
                          "--secret", "other-secret-0000000000000000000000000000", "--account", "111111111111")
        self.assertEqual(rc, 0, e)

        def code(client):
            try:
                client.get_parameters_for_import(KeyId="11111111-2222-4333-8444-555555555555",
                                                 WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
                return "ok"
            except botocore.exceptions.ClientError as e:
                return err(e)[0]
        a = self.k.client("kms", retries=0)
        first = code(a)
        self.assertNotEqual(first, "ThrottlingException")  # whatever the call itself answers
        self.assertEqual(code(a), "ThrottlingException")
        self.assertEqual(code(self.k.client("kms", retries=0, region="eu-west-3")), first)
        other = self.k.client("kms", retries=0, creds=("AKIAOTHERACCOUNT0001",
                                                       "other-secret-0000000000000000000000000000"))
        self.assertEqual(code(other), first)

    def test_create_key_quota_per_account_region_and_operation(self):
        from concurrent.futures import ThreadPoolExecutor
        clients = [self.k.client("kms", retries=0) for _ in range(10)]
        kms = clients[0]

        def create(c):
            try:
                c.create_key()
                return "ok"
            except botocore.exceptions.ClientError as e:
                return err(e)[0]
        time.sleep(1.2)
        with ThreadPoolExecutor(10) as ex:
            results = list(ex.map(create, clients))
        self.assertEqual(set(results) - {"ok", "ThrottlingException"}, set(), results)
        # Whether 10 CreateKey calls land within one second depends on this machine's load; the
        # bucket arithmetic is checked exactly in tests/unit/server_throttle_eco_test.c.
        # (exact bucket arithmetic: tests/unit/server_throttle_eco_test.c)
        # Another quota (CreateAlias is independent of CreateKey), another Region: not throttled.
        kid = self.k.client("kms", retries=5).list_keys()["Keys"][0]["KeyId"]
        kms.create_alias(AliasName="alias/quota-a", TargetKeyId=kid)
        self.k.client("kms", region="eu-west-3", retries=0).create_key()
        # symmetric cryptographic operations have a large shared quota
        for _ in range(20):
            kms.generate_random(NumberOfBytes=4)


if __name__ == "__main__":
    main()
