"""`kmsctl sts exec` / `kmsctl sts env` end to end (issue 13), the way
aws-vault exec works: a command runs with temporary credentials
(GetSessionToken, AssumeRole, MFA) in its environment; credentials are
cached in a 0600 file until shortly before they expire (a cached exec works
even with kmsd stopped); nested execs chain roles; `env` prints export
lines a shell can eval."""
import base64
import hashlib
import hmac
import json
import os
import stat
import struct
import subprocess
import sys
import time
import unittest

from kmsd_harness import KMSCTL_BIN, Kmsd, main

ACCT = "000000000000"
PRINT_ENV = [sys.executable, "-c",
             "import json,os;print(json.dumps({k:v for k,v in os.environ.items() if k.startswith(('AWS_','KMSD_'))}))"]


def totp(seed, t):
    mac = hmac.new(seed, struct.pack(">Q", int(t) // 30), hashlib.sha1).digest()
    off = mac[19] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


def trust(principal, condition=None):
    st = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
    if condition:
        st["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [st]})


class StsExec(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        iam = cls.k.client("iam")
        allow_assume = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:GetCallerIdentity"], "Resource": "*"}]})
        cls.a = iam.create_role(RoleName="first", AssumeRolePolicyDocument=trust("arn:aws:iam::%s:root" % ACCT))["Role"]
        iam.put_role_policy(RoleName="first", PolicyName="p", PolicyDocument=allow_assume)
        cls.b = iam.create_role(RoleName="second", AssumeRolePolicyDocument=trust(cls.a["Arn"]))["Role"]
        iam.put_role_policy(RoleName="second", PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:GenerateRandom",
                                                    "Resource": "*"}]}))
        cls.mfa_role = iam.create_role(RoleName="mfa-only", AssumeRolePolicyDocument=trust(
            "arn:aws:iam::%s:root" % ACCT, {"Bool": {"aws:MultiFactorAuthPresent": "true"}}))["Role"]

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def env(self, cache):
        e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        e.update({"KMSD_ACCESS_KEY_ID": self.k.admin[0], "KMSD_SECRET_ACCESS_KEY": self.k.admin[1],
                  "KMSD_ENDPOINT": self.k.endpoint, "KMSCTL_CACHE_DIR": cache, "AWS_CONFIG_FILE": "/dev/null",
                  "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1"})
        return e

    def run_(self, args, cache, check=True):
        p = subprocess.run([KMSCTL_BIN] + args, env=self.env(cache), capture_output=True, text=True, timeout=120)
        if check:
            self.assertEqual(p.returncode, 0, p.stderr + p.stdout)
        return p

    def who(self, args, cache):
        p = self.run_(["sts", "exec"] + args + ["--", "aws", "sts", "get-caller-identity", "--output", "json"], cache)
        return json.loads(p.stdout)["Arn"]

    def test_exec_session_token_and_cache(self):
        cache = os.path.join(self.k.root, "cache1")
        out = json.loads(self.run_(["sts", "exec", "--"] + PRINT_ENV, cache).stdout)
        self.assertTrue(out["AWS_ACCESS_KEY_ID"].startswith("ASIA"))
        self.assertTrue(out["AWS_SESSION_TOKEN"])
        self.assertEqual(out["AWS_ENDPOINT_URL"], self.k.endpoint)
        self.assertRegex(out["AWS_CREDENTIAL_EXPIRATION"], r"^\d{4}-\d\d-\d\dT")
        self.assertNotIn("KMSD_ACCESS_KEY_ID", out)  # the long-term key is not passed on
        # the aws CLI inside works as the user who signed GetSessionToken
        self.assertEqual(self.who([], cache), "arn:aws:iam::%s:user/admin" % ACCT)
        # cached: 0600 file in a 0700 directory, same credentials next time
        files = os.listdir(cache)
        self.assertEqual(len(files), 1)
        self.assertEqual(stat.S_IMODE(os.stat(cache).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(cache, files[0])).st_mode), 0o600)
        again = json.loads(self.run_(["sts", "exec", "--"] + PRINT_ENV, cache).stdout)
        self.assertEqual(again["AWS_ACCESS_KEY_ID"], out["AWS_ACCESS_KEY_ID"])
        # near expiry (less than 5 minutes left) the cache is refreshed
        path = os.path.join(cache, files[0])
        with open(path) as f:
            j = json.load(f)
        j["Expiration"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 120))
        with open(path, "w") as f:
            json.dump(j, f)
        fresh = json.loads(self.run_(["sts", "exec", "--"] + PRINT_ENV, cache).stdout)
        self.assertNotEqual(fresh["AWS_ACCESS_KEY_ID"], out["AWS_ACCESS_KEY_ID"])
        # a cache file others can read is ignored
        os.chmod(path, 0o644)
        other = json.loads(self.run_(["sts", "exec", "--"] + PRINT_ENV, cache).stdout)
        self.assertNotEqual(other["AWS_ACCESS_KEY_ID"], fresh["AWS_ACCESS_KEY_ID"])
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)

    def test_role_and_chaining(self):
        cache = os.path.join(self.k.root, "cache2")
        self.assertEqual(self.who(["--role-arn", self.a["Arn"], "--role-session-name", "one"], cache),
                         "arn:aws:sts::%s:assumed-role/first/one" % ACCT)
        # exec inside exec: the second AssumeRole is signed with the first role's temporary credentials
        p = self.run_(["sts", "exec", "--role-arn", self.a["Arn"], "--role-session-name", "one", "--",
                       KMSCTL_BIN, "sts", "exec", "--role-arn", self.b["Arn"], "--role-session-name", "two", "--",
                       "aws", "sts", "get-caller-identity", "--output", "json"], cache)
        self.assertEqual(json.loads(p.stdout)["Arn"], "arn:aws:sts::%s:assumed-role/second/two" % ACCT)
        # ...and the chained role's permissions apply
        p = self.run_(["sts", "exec", "--role-arn", self.a["Arn"], "--", KMSCTL_BIN, "sts", "exec", "--role-arn",
                       self.b["Arn"], "--", "aws", "kms", "generate-random", "--number-of-bytes", "8"], cache)
        self.assertIn("Plaintext", p.stdout)
        # role "second" trusts only "first": directly it is refused
        p = self.run_(["sts", "exec", "--role-arn", self.b["Arn"], "--", "true"], cache, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("AccessDenied", p.stderr)

    def test_cached_exec_needs_no_server(self):
        cache = os.path.join(self.k.root, "cache3")
        k2 = Kmsd()
        try:
            k2.start()
            e = self.env(cache)
            e.update({"KMSD_ACCESS_KEY_ID": k2.admin[0], "KMSD_SECRET_ACCESS_KEY": k2.admin[1],
                      "KMSD_ENDPOINT": k2.endpoint})
            first = subprocess.run([KMSCTL_BIN, "sts", "env"], env=e, capture_output=True, text=True, timeout=60)
            self.assertEqual(first.returncode, 0, first.stderr)
            k2.stop()
            second = subprocess.run([KMSCTL_BIN, "sts", "env"], env=e, capture_output=True, text=True, timeout=60)
            self.assertEqual(second.returncode, 0, second.stderr)
            self.assertEqual(first.stdout, second.stdout)
            nocache = subprocess.run([KMSCTL_BIN, "sts", "env", "--no-cache"], env=e, capture_output=True, text=True,
                                     timeout=60)
            self.assertEqual(nocache.returncode, 1)  # kmsd is down
        finally:
            k2.cleanup()

    def test_env_eval_in_a_shell(self):
        cache = os.path.join(self.k.root, "cache4")
        p = self.run_(["sts", "env", "--role-arn", self.a["Arn"], "--duration", "15m"], cache)
        lines = p.stdout.splitlines()
        self.assertTrue(all(l.startswith("export AWS_") for l in lines), lines)
        e = self.env(cache)
        del e["KMSD_ACCESS_KEY_ID"], e["KMSD_SECRET_ACCESS_KEY"]
        sh = subprocess.run(["bash", "-c", 'eval "$(cat)"; aws sts get-caller-identity --output json'],
                            input=p.stdout, env=e, capture_output=True, text=True, timeout=60)
        self.assertEqual(sh.returncode, 0, sh.stderr)
        self.assertEqual(json.loads(sh.stdout)["Arn"], "arn:aws:sts::%s:assumed-role/first/kmsctl" % ACCT)
        exp = [l for l in lines if l.startswith("export AWS_CREDENTIAL_EXPIRATION=")][0].split("'")[1]
        left = time.mktime(time.strptime(exp, "%Y-%m-%dT%H:%M:%SZ")) - time.mktime(time.gmtime())
        self.assertTrue(800 < left <= 900, left)

    def test_mfa(self):
        cache = os.path.join(self.k.root, "cache5")
        iam = self.k.client("iam")
        dev = iam.create_virtual_mfa_device(VirtualMFADeviceName="admin-mfa")["VirtualMFADevice"]
        seed = base64.b32decode(dev["Base32StringSeed"])
        now = time.time()
        iam.enable_mfa_device(UserName="admin", SerialNumber=dev["SerialNumber"],
                              AuthenticationCode1=totp(seed, now - 30), AuthenticationCode2=totp(seed, now))
        # without MFA the role refuses
        p = self.run_(["sts", "exec", "--role-arn", self.mfa_role["Arn"], "--", "true"], cache, check=False)
        self.assertEqual(p.returncode, 1)
        # a wrong code is refused by STS
        bad = "000000" if totp(seed, time.time()) != "000000" else "111111"
        p = self.run_(["sts", "exec", "--mfa-serial", dev["SerialNumber"], "--token-code", bad, "--", "true"], cache,
                      check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("AccessDenied", p.stderr)
        # --mfa-serial without a code and nothing cached
        p = self.run_(["sts", "exec", "--mfa-serial", dev["SerialNumber"], "--", "true"], cache, check=False)
        self.assertEqual(p.returncode, 2)
        # GetSessionToken with MFA, then the MFA-only role from inside
        arn = json.loads(self.run_(["sts", "exec", "--mfa-serial", dev["SerialNumber"], "--token-code",
                                    totp(seed, time.time()), "--", KMSCTL_BIN, "sts", "exec", "--role-arn",
                                    self.mfa_role["Arn"], "--", "aws", "sts", "get-caller-identity", "--output",
                                    "json"], cache).stdout)["Arn"]
        self.assertEqual(arn, "arn:aws:sts::%s:assumed-role/mfa-only/kmsctl" % ACCT)
        # cached: the next exec needs no code
        self.run_(["sts", "exec", "--mfa-serial", dev["SerialNumber"], "--", "true"], cache)


if __name__ == "__main__":
    main()
