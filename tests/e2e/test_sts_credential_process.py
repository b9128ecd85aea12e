"""credential_process: an ~/.aws/config profile runs `kmsctl sts
credential-process`, which signs GetSessionToken or AssumeRole with long-term
keys (the project's own SigV4 signer) and prints the JSON the CLI expects."""
import json
import os
import subprocess
import unittest

from kmsd_harness import KMSCTL_BIN, Kmsd, kmsctl, main
from sts_common import make_user, trust

ACCT = "000000000000"


class CredentialProcess(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        cls.user, cls.ukey = make_user(cls.k, "ci")
        cls.role = cls.k.client("iam").create_role(RoleName="deployer", AssumeRolePolicyDocument=trust(
            {"AWS": cls.user["Arn"]}, condition={"StringEquals": {"sts:ExternalId": "e-1"}}))["Role"]
        cls.k.client("iam").put_role_policy(RoleName="deployer", PolicyName="kms", PolicyDocument=(
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:GenerateRandom","Resource":"*"}]}'))
        cls.creds = os.path.join(cls.k.root, "kmsd-credentials")
        with open(cls.creds, "w") as f:
            f.write("[ci]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % cls.ukey)
        os.chmod(cls.creds, 0o600)
        cls.config = os.path.join(cls.k.root, "config")
        base = "%s sts credential-process --endpoint %s --credentials-file %s --profile ci" % (
            KMSCTL_BIN, cls.k.endpoint, cls.creds)
        with open(cls.config, "w") as f:
            f.write("[profile session]\nregion = us-east-1\ncredential_process = %s --duration-seconds 900\n\n" % base)
            f.write("[profile deploy]\nregion = us-east-1\ncredential_process = %s --role-arn %s "
                    "--role-session-name cp --external-id e-1\n" % (base, cls.role["Arn"]))

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def aws(self, profile, *args):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"AWS_CONFIG_FILE": self.config, "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PAGER": ""})
        p = subprocess.run(["aws", "--profile", profile, "--endpoint-url", self.k.endpoint, "--output", "json"]
                           + list(args), env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)

    def test_json_shape(self):
        rc, out, errout = kmsctl("sts", "credential-process", "--endpoint", self.k.endpoint,
                                 "--credentials-file", self.creds, "--profile", "ci")
        self.assertEqual(rc, 0, errout)
        j = json.loads(out)
        self.assertEqual(j["Version"], 1)
        self.assertTrue(j["AccessKeyId"].startswith("ASIA"))
        self.assertEqual(len(j["SecretAccessKey"]), 40)
        self.assertTrue(j["SessionToken"])
        self.assertTrue(j["Expiration"].endswith("Z"))

    def test_get_session_token_profile(self):
        out = self.aws("session", "sts", "get-caller-identity")
        self.assertEqual(out["Arn"], self.user["Arn"])

    def test_assume_role_profile(self):
        out = self.aws("deploy", "sts", "get-caller-identity")
        self.assertEqual(out["Arn"], "arn:aws:sts::%s:assumed-role/deployer/cp" % ACCT)
        out = self.aws("deploy", "kms", "generate-random", "--number-of-bytes", "16")
        self.assertIn("Plaintext", out)

    def test_errors(self):
        rc, _, errout = kmsctl("sts", "credential-process", "--endpoint", self.k.endpoint,
                               "--credentials-file", self.creds, "--profile", "ci", "--role-arn", self.role["Arn"],
                               "--external-id", "wrong")
        self.assertEqual(rc, 1)
        self.assertIn(b"AccessDenied", errout)
        rc, _, errout = kmsctl("sts", "credential-process", "--endpoint", self.k.endpoint,
                               "--credentials-file", self.creds, "--profile", "nope")
        self.assertEqual(rc, 1)
        rc, _, _ = kmsctl("sts", "credential-process", "--endpoint", "ftp://x")
        self.assertEqual(rc, 2)

    def test_rotate_token_key(self):
        before = self.aws("session", "sts", "get-caller-identity")
        rc, out, errout = kmsctl("sts", "rotate-token-key", "--data-dir", self.k.data_dir)
        self.assertEqual(rc, 0, errout)
        self.assertIn(b"is now current", out)
        # new tokens are sealed under the new key; the running server picks it up
        self.assertEqual(self.aws("session", "sts", "get-caller-identity")["Arn"], before["Arn"])


if __name__ == "__main__":
    main()
