"""kmsd and kmsctl over an etcd that demands TLS with client certificates, and
over an etcd with user/password authentication (docs/scale-out.md, "Options").

The user's side: kmsd serves and `kmsctl --store` writes through the same
options, and a write by kmsctl reaches the running kmsd. The attacker's side:
an etcd whose certificate the CA does not vouch for, no client certificate, a
client certificate from another CA, a wrong password, a user without rights
on the prefix: each refused at start with a reason that says so. The password
never shows in logs, errors, /proc/PID/cmdline or /proc/PID/environ, and is
not taken from argv at all.

Needs etcd (scripts/deps.sh --test); certificates are made here with
`cryptography`.
"""
import base64
import datetime
import ipaddress
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from etcd_cluster import EtcdCluster  # noqa: E402
from kmsd_harness import KMSCTL_BIN, Kmsd  # noqa: E402

OTHER_ROOT = ("AKIAETCDTLSOTHER0001", "etcd-tls-other-secret-0000000000000001")


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path, data, mode=0o600):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    return path


class Pki:
    """A CA and certificates it issues, as PEM files in a directory."""

    def __init__(self, d, name):
        self.d = d
        self.name = name
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(minutes=5))
                     .not_valid_after(now + datetime.timedelta(days=1))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                  content_commitment=False, key_encipherment=False,
                                                  data_encipherment=False, key_agreement=False,
                                                  encipher_only=False, decipher_only=False), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.ca = _write(os.path.join(d, name + "-ca.pem"), self.cert.public_bytes(serialization.Encoding.PEM), 0o644)

    def issue(self, cn, server):
        """(cert path, key path). Server certificates name 127.0.0.1 and, as etcd's
        gateway also dials its own port with them, serve as client certificates too."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        eku = [ExtendedKeyUsageOID.CLIENT_AUTH] + ([ExtendedKeyUsageOID.SERVER_AUTH] if server else [])
        b = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(self.cert.subject)
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(minutes=5))
             .not_valid_after(now + datetime.timedelta(days=1))
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.ExtendedKeyUsage(eku), critical=False))
        if server:
            b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                             x509.DNSName("localhost")]), critical=False)
        cert = b.sign(self.key, hashes.SHA256())
        base = os.path.join(self.d, "%s-%s" % (self.name, cn))
        cp = _write(base + ".pem", cert.public_bytes(serialization.Encoding.PEM), 0o644)
        kp = _write(base + "-key.pem", key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
        return cp, kp


def kmsctl(*args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([KMSCTL_BIN] + list(args), capture_output=True, text=True, timeout=120, env=e)
    return p.returncode, p.stdout, p.stderr


def wait_for(fn, timeout=5.0):
    """fn() until it returns without raising; the time it took. The bound a write by
    another process takes to reach kmsd's caches is 100 ms plus an etcd round trip
    (docs/scale-out.md); 5 s leaves room for a loaded CI machine."""
    start = time.time()
    while True:
        try:
            fn()
            return time.time() - start
        except Exception:
            if time.time() - start > timeout:
                raise
            time.sleep(0.05)


class EtcdTls(unittest.TestCase):
    """One etcd member serving https only, client certificates required."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="kmsd-etcd-tls-")
        cls.pki = Pki(cls.dir, "good")
        cls.rogue = Pki(cls.dir, "rogue")
        scert, skey = cls.pki.issue("etcd", server=True)
        cls.cert, cls.key = cls.pki.issue("kmsd", server=False)
        cls.rogue_cert, cls.rogue_key = cls.rogue.issue("kmsd", server=False)
        cls.cluster = EtcdCluster(1, tls={"ca": cls.pki.ca, "cert": scert, "key": skey,
                                          "client_cert": cls.cert, "client_key": cls.key}).start()
        cls.store = cls.cluster.store

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def opts(self, prefix, cacert=True, cert=True, key=True):
        o = ["--store", self.store, "--etcd-prefix", prefix]
        if cacert:
            o += ["--etcd-cacert", self.pki.ca if cacert is True else cacert]
        if cert:
            o += ["--etcd-cert", self.cert if cert is True else cert]
        if key:
            o += ["--etcd-key", self.key if key is True else key]
        return o

    def refused(self, prefix, words, **kw):
        """kmsd and kmsctl with these options both refuse, saying words."""
        k = Kmsd(*self.opts(prefix, **kw))
        try:
            self.assertNotEqual(k.start(expect_fail=True), 0)
            err = k.stderr()
        finally:
            k.cleanup()
        for w in words:
            self.assertIn(w, err.lower(), err)
        d = tempfile.mkdtemp(dir=self.dir)
        rc, _, e = kmsctl("access-key", "list", "--data-dir", d, *self.opts(prefix, **kw))
        self.assertEqual(rc, 1, e)
        self.assertIn("cannot open the keystore at " + self.store, e)
        # Nothing was written under the prefix.
        kvs = self.cluster.post(0, "/v3/kv/range", {"key": base64.b64encode(prefix.encode()).decode(),
                                                    "range_end": base64.b64encode(prefix.encode() + b"\xff").decode()})
        self.assertEqual(kvs.get("kvs", []), [])
        return err

    def test_kmsd_and_kmsctl_over_tls(self):
        with Kmsd(*self.opts("tlsok")) as k:
            kms = k.client("kms")
            kid = kms.create_key(Description="etcd-tls-marker")["KeyMetadata"]["KeyId"]
            blob = kms.encrypt(KeyId=kid, Plaintext=b"over tls")["CiphertextBlob"]
            self.assertEqual(kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"over tls")
            # kmsctl writes through the same options while kmsd runs; kmsd's caches see it.
            rc, out, e = kmsctl("access-key", "add", "--data-dir", k.data_dir, *self.opts("tlsok"),
                                "--account", "111122223333", "--id", OTHER_ROOT[0], "--secret-env", "OTHER_SECRET",
                                env={"OTHER_SECRET": OTHER_ROOT[1]})
            self.assertEqual(rc, 0, e)
            other = k.client("sts", creds=OTHER_ROOT)
            took = wait_for(lambda: self.assertEqual(other.get_caller_identity()["Account"], "111122223333"))
            self.assertLess(took, 5.0)
            rc, out, e = kmsctl("access-key", "list", "--data-dir", k.data_dir, *self.opts("tlsok"))
            self.assertEqual(rc, 0, e)
            self.assertIn(OTHER_ROOT[0], out)
            self.assertFalse(os.path.exists(os.path.join(k.data_dir, "data.mdb")))
        # The records are in etcd, sealed.
        kvs = self.cluster.post(0, "/v3/kv/range", {"key": base64.b64encode(b"tlsok/").decode(),
                                                    "range_end": base64.b64encode(b"tlsok0").decode()})["kvs"]
        keys = [base64.b64decode(kv["key"]) for kv in kvs]
        self.assertTrue(any(kid.encode() in x for x in keys), keys)
        for kv in kvs:
            v = base64.b64decode(kv.get("value", ""))
            self.assertNotIn(b"etcd-tls-marker", v)
            self.assertNotIn(OTHER_ROOT[1].encode(), v)

    def test_server_certificate_from_another_ca_refused(self):
        self.refused("tlsbadca", ["etcd", "certificate"], cacert=self.rogue.ca)

    def test_no_client_certificate_refused(self):
        self.refused("tlsnocert", ["etcd", "cannot reach etcd"], cert=False, key=False)

    def test_client_certificate_from_another_ca_refused(self):
        self.refused("tlsrogue", ["etcd", "cannot reach etcd"], cert=self.rogue_cert, key=self.rogue_key)

    def test_plain_http_to_a_tls_member_refused(self):
        self.refused("tlsplain", ["etcd", "cannot reach etcd"], cacert=False, cert=False, key=False)

    def test_unreadable_certificate_file_named(self):
        err = self.refused("tlsmissing", ["etcd tls"], cacert=os.path.join(self.dir, "absent.pem"))
        self.assertIn("--etcd-cacert", err)

    def test_certificate_without_key_is_a_usage_error(self):
        k = Kmsd(*self.opts("tlshalf", key=False))
        try:
            self.assertEqual(k.start(expect_fail=True), 2)
            self.assertIn("--etcd-cert and --etcd-key go together", k.stderr())
        finally:
            k.cleanup()


PASSWORD = "pw-" + base64.b32encode(os.urandom(15)).decode().lower()


class EtcdAuth(unittest.TestCase):
    """One etcd member with authentication on: root, and a user kmsd whose role may
    read and write the prefix "authp" only."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="kmsd-etcd-auth-")
        cls.cluster = EtcdCluster(1).start()
        cls.store = cls.cluster.store
        ep = ["--endpoints", cls.cluster.endpoints]
        root_pw = "root-" + PASSWORD

        def ctl(*a):
            p = subprocess.run(["etcdctl"] + ep + list(a), capture_output=True, text=True, timeout=30,
                               env=dict(os.environ, ETCDCTL_API="3"))
            if p.returncode != 0:
                raise RuntimeError("etcdctl %s: %s" % (a[:2], p.stderr))

        ctl("user", "add", "root:" + root_pw, "--interactive=false")
        ctl("user", "grant-role", "root", "root")
        ctl("role", "add", "kmsd")
        ctl("role", "grant-permission", "kmsd", "readwrite", "authp", "authq")
        ctl("user", "add", "kmsd:" + PASSWORD, "--interactive=false")
        ctl("user", "grant-role", "kmsd", "kmsd")
        ctl("auth", "enable")
        cls.pwfile = _write(os.path.join(cls.dir, "etcd-password"), (PASSWORD + "\n").encode())
        cls.wrongfile = _write(os.path.join(cls.dir, "wrong-password"), b"not-" + PASSWORD.encode())

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def opts(self, prefix="authp", user="kmsd", pwfile=None):
        o = ["--store", self.store, "--etcd-prefix", prefix]
        if user:
            o += ["--etcd-user", user]
        if pwfile:
            o += ["--etcd-password-file", pwfile]
        return o

    def assertNoPassword(self, *texts):
        for t in texts:
            self.assertNotIn(PASSWORD, t)

    def test_kmsd_and_kmsctl_with_a_password(self):
        k = Kmsd(*self.opts(pwfile=self.pwfile))
        k2 = Kmsd(*self.opts(), "--etcd-password-env", "KMSD_ETCD_PW", "--key-file",
                  os.path.join(k.data_dir, "master.key"), env={"KMSD_ETCD_PW": PASSWORD})
        try:
            k.start()
            kms = k.client("kms")
            kid = kms.create_key(Description="etcd-auth")["KeyMetadata"]["KeyId"]
            blob = kms.encrypt(KeyId=kid, Plaintext=b"authenticated")["CiphertextBlob"]
            rc, _, e = kmsctl("access-key", "add", "--data-dir", k.data_dir, *self.opts(), "--etcd-password-env",
                              "PW", "--account", "111122223333", "--id", OTHER_ROOT[0], "--secret-env", "SEC",
                              env={"PW": PASSWORD, "SEC": OTHER_ROOT[1]})
            self.assertEqual(rc, 0, e)
            other = k.client("sts", creds=OTHER_ROOT)
            wait_for(lambda: self.assertEqual(other.get_caller_identity()["Account"], "111122223333"))
            # A second node over the same prefix, its password from the environment: it shares the
            # master key file and sees what the first node wrote.
            os.makedirs(k2.data_dir, mode=0o700)
            shutil.copy(os.path.join(k.data_dir, "admin-credentials"), k2.data_dir)
            k2.start()
            self.assertEqual(k2.client("kms").decrypt(CiphertextBlob=blob)["Plaintext"], b"authenticated")
            for proc in (k.proc, k2.proc):
                with open("/proc/%d/cmdline" % proc.pid, "rb") as f:
                    self.assertNotIn(PASSWORD.encode(), f.read())
                with open("/proc/%d/environ" % proc.pid, "rb") as f:
                    self.assertNotIn(PASSWORD.encode(), f.read())
            k.stop()
            k2.stop()
            for kk in (k, k2):
                logs = [kk.stderr(), kk.stdout()]
                for name in os.listdir(kk.data_dir):
                    p = os.path.join(kk.data_dir, name)
                    if os.path.isfile(p):
                        with open(p, "rb") as f:
                            logs.append(f.read().decode("latin-1"))
                self.assertNoPassword(*logs)
        finally:
            k.cleanup()
            k2.cleanup()

    def refused(self, *opts, rc=None, words=()):
        k = Kmsd(*opts)
        try:
            got = k.start(expect_fail=True)
            err = k.stderr() + k.stdout()
        finally:
            k.cleanup()
        self.assertNotEqual(got, 0)
        if rc is not None:
            self.assertEqual(got, rc, err)
        for w in words:
            self.assertIn(w, err.lower(), err)
        d = tempfile.mkdtemp(dir=self.dir)
        krc, out, e = kmsctl("access-key", "list", "--data-dir", d, *opts)
        self.assertNotEqual(krc, 0)
        for w in words:
            self.assertIn(w, e.lower(), e)
        self.assertNoPassword(err, out, e)
        return err, e

    def test_wrong_password_refused(self):
        self.refused(*self.opts(pwfile=self.wrongfile), words=["authentication failed"])

    def test_wrong_password_from_env_refused(self):
        os.environ["KMSD_TEST_WRONG_PW"] = "x" + PASSWORD
        try:
            err, e = self.refused(*self.opts(), "--etcd-password-env", "KMSD_TEST_WRONG_PW",
                                  words=["authentication failed"])
            self.assertNotIn("x" + PASSWORD, err + e)
        finally:
            del os.environ["KMSD_TEST_WRONG_PW"]

    def test_no_credentials_refused(self):
        self.refused(*self.opts(user=None), words=["etcd"])

    def test_user_without_rights_on_the_prefix_refused(self):
        self.refused(*self.opts(prefix="elsewhere", pwfile=self.pwfile), words=["permission denied"])

    def test_password_on_argv_refused_without_echo(self):
        err, e = self.refused(*self.opts(), "--etcd-password", PASSWORD, rc=2, words=["file or the environment"])

    def test_user_without_password_source_is_a_usage_error(self):
        self.refused(*self.opts(), rc=2, words=["--etcd-user needs"])

    def test_password_file_without_user_is_a_usage_error(self):
        self.refused(*self.opts(user=None, pwfile=self.pwfile), rc=2, words=["--etcd-user needs"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
