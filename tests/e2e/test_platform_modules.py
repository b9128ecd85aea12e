"""Loadable modules (issue 14, docs/architecture.md "Loadable modules"): the
SAML code (libxml2, libxmlsec1) and the etcd HTTP client (libcurl) are
shared objects kmsd loads on first use, so an idle kmsd on LMDB without a
SAML provider does not map those libraries (read from /proc/PID/maps: a
property, not a timing). Used, each still works and is then mapped; from an
installed tree (cmake --install) it is found at PREFIX/lib/kmsd; missing, it
gives a clear startup error (etcd) or an AWS-shaped error (SAML), never a
crash."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import uuid

import boto3
import botocore
import botocore.config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kmsd_harness  # noqa: E402
from etcd_cluster import EtcdCluster  # noqa: E402
from kmsd_harness import KMSD_BIN, Kmsd, main  # noqa: E402
from sts_common import expect_error, trust  # noqa: E402
from test_sts_saml import (SIGNIN, XMLSEC1, assertion, b64, make_idp, metadata, response,  # noqa: E402
                           xmlsec_sign)

# Libraries only the modules need (their sonames' stems), and the modules themselves.
SAML_LIBS = ("libxml2.so", "libxmlsec1.so", "libxmlsec1-openssl.so", "libicuuc.so", "libxslt.so")
ETCD_LIBS = ("libcurl.so", "libnghttp2.so", "librtmp.so", "libssh2.so", "libldap", "libgssapi_krb5.so")
MODULES = ("kmsd-saml.so", "kmsd-saml-metadata.so", "kmsd-etcd.so")
BUILD_DIR = os.path.dirname(os.path.dirname(os.path.abspath(KMSD_BIN)))


def mapped(pid):
    """Basenames of the files process pid maps."""
    names = set()
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) == 6 and parts[5].startswith("/"):
                names.add(os.path.basename(parts[5].strip()))
    return names


def mapped_paths(pid):
    with open("/proc/%d/maps" % pid) as f:
        return {line.split(None, 5)[5].strip() for line in f if len(line.split(None, 5)) == 6}


def having(names, stems):
    return sorted(n for n in names if any(n.startswith(s) for s in stems))


class Binary:
    """Swaps the kmsd binary the harness starts (an installed or copied one)."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        self.saved = kmsd_harness.KMSD_BIN
        kmsd_harness.KMSD_BIN = self.path

    def __exit__(self, *exc):
        kmsd_harness.KMSD_BIN = self.saved


def anon_sts(k):
    return boto3.client("sts", endpoint_url=k.endpoint, region_name="us-east-1",
                        config=botocore.config.Config(signature_version=botocore.UNSIGNED,
                                                      retries={"max_attempts": 1}))


def saml_provider(k, cert):
    return k.client("iam").create_saml_provider(Name="ModIdP" + uuid.uuid4().hex[:8],
                                                SAMLMetadataDocument=metadata(cert))["SAMLProviderArn"]


class Idle(unittest.TestCase):
    def test_idle_kmsd_maps_no_module_library(self):
        with Kmsd("--store", "lmdb") as k:
            k.client("kms").create_key()
            k.client("sts").get_caller_identity()
            names = mapped(k.proc.pid)
            self.assertIn("libcrypto.so.3", names)  # the reading works
            self.assertEqual(having(names, SAML_LIBS + ETCD_LIBS + MODULES), [])


@unittest.skipIf(XMLSEC1 is None, "xmlsec1 CLI missing: run scripts/deps.sh --test")
class Saml(unittest.TestCase):
    def test_saml_loads_its_modules_when_used(self):
        key, cert = make_idp("idp.example.test")
        with Kmsd("--store", "lmdb") as k:
            provider = saml_provider(k, cert)
            names = mapped(k.proc.pid)
            self.assertIn("kmsd-saml-metadata.so", names)
            self.assertTrue(having(names, ("libxml2.so",)), names)
            self.assertNotIn("kmsd-saml.so", names)  # the verifier waits for the first AssumeRoleWithSAML
            role = k.client("iam").create_role(RoleName="mod-saml", AssumeRolePolicyDocument=trust(
                {"Federated": provider}, action="sts:AssumeRoleWithSAML"))["Role"]["Arn"]
            aid, rid = "_a" + uuid.uuid4().hex, "_r" + uuid.uuid4().hex
            xml = xmlsec_sign(response(assertion(aid, ["%s,%s" % (role, provider)]), rid), key, "Assertion")
            out = anon_sts(k).assume_role_with_saml(RoleArn=role, PrincipalArn=provider, SAMLAssertion=b64(xml))
            self.assertEqual(out["Audience"], SIGNIN)
            names = mapped(k.proc.pid)
            self.assertIn("kmsd-saml.so", names)
            self.assertTrue(having(names, ("libxmlsec1.so",)), names)
            self.assertEqual(having(names, ETCD_LIBS + ("kmsd-etcd.so",)), [])

    def test_missing_modules_answer_aws_errors(self):
        key, cert = make_idp("idp.example.test")
        root = tempfile.mkdtemp(prefix="kmsd-nomod-")
        try:
            os.makedirs(os.path.join(root, "bin"))
            os.makedirs(os.path.join(root, "lib", "kmsd"))
            shutil.copy(KMSD_BIN, os.path.join(root, "bin", "kmsd"))
            with Binary(os.path.join(root, "bin", "kmsd")), Kmsd("--store", "lmdb") as k:
                # no kmsd-saml-metadata.so: CreateSAMLProvider is a service failure, the server lives on
                expect_error(self, lambda: saml_provider(k, cert), "ServiceFailure", 500, "kmsd-saml-metadata.so")
                self.assertIn("kmsd-saml-metadata.so", k.stderr())
                # with it but without kmsd-saml.so: AssumeRoleWithSAML is an InternalFailure
                shutil.copy(os.path.join(BUILD_DIR, "lib", "kmsd", "kmsd-saml-metadata.so"),
                            os.path.join(root, "lib", "kmsd"))
                k.stop()
                k.start()
                provider = saml_provider(k, cert)
                role = k.client("iam").create_role(RoleName="mod-saml", AssumeRolePolicyDocument=trust(
                    {"Federated": provider}, action="sts:AssumeRoleWithSAML"))["Role"]["Arn"]
                aid, rid = "_a" + uuid.uuid4().hex, "_r" + uuid.uuid4().hex
                xml = xmlsec_sign(response(assertion(aid, ["%s,%s" % (role, provider)]), rid), key, "Assertion")
                expect_error(self, lambda: anon_sts(k).assume_role_with_saml(
                    RoleArn=role, PrincipalArn=provider, SAMLAssertion=b64(xml)), "InternalFailure", 500,
                    "kmsd-saml.so")
                self.assertIsNone(k.proc.poll())
                k.client("sts").get_caller_identity()
        finally:
            shutil.rmtree(root)


class Etcd(unittest.TestCase):
    @unittest.skipIf(shutil.which("etcd") is None, "etcd missing: run scripts/deps.sh --test")
    def test_etcd_store_loads_its_module(self):
        with EtcdCluster(1) as cluster, Kmsd("--store", cluster.store, "--etcd-prefix", "mod") as k:
            kid = k.client("kms").create_key()["KeyMetadata"]["KeyId"]
            self.assertEqual(k.client("kms").describe_key(KeyId=kid)["KeyMetadata"]["KeyId"], kid)
            names = mapped(k.proc.pid)
            self.assertIn("kmsd-etcd.so", names)
            self.assertTrue(having(names, ("libcurl.so",)), names)
            self.assertEqual(having(names, SAML_LIBS + ("kmsd-saml",)), [])

    def test_missing_etcd_module_is_a_startup_error(self):
        root = os.path.realpath(tempfile.mkdtemp(prefix="kmsd-nomod-"))
        try:
            os.makedirs(os.path.join(root, "bin"))
            shutil.copy(KMSD_BIN, os.path.join(root, "bin", "kmsd"))
            p = subprocess.run([os.path.join(root, "bin", "kmsd"), "--listen", "127.0.0.1:0", "--data-dir",
                                os.path.join(root, "data"), "--store", "etcd://127.0.0.1:1"],
                               capture_output=True, text=True, timeout=60)
            self.assertGreater(p.returncode, 0, p.stderr)  # an exit status, not a signal
            self.assertIn("kmsd-etcd.so", p.stderr)
            self.assertIn(os.path.join(root, "bin", "../lib/kmsd/kmsd-etcd.so"), p.stderr)
        finally:
            shutil.rmtree(root)


class Installed(unittest.TestCase):
    """`cmake --install BUILD --prefix P`: P/bin/kmsd loads P/lib/kmsd/*.so."""

    @unittest.skipIf(XMLSEC1 is None, "xmlsec1 CLI missing: run scripts/deps.sh --test")
    def test_installed_kmsd_finds_its_modules(self):
        prefix = os.path.realpath(tempfile.mkdtemp(prefix="kmsd-prefix-"))
        try:
            p = subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", prefix], capture_output=True, text=True,
                               timeout=120)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            for m in MODULES:
                self.assertTrue(os.path.isfile(os.path.join(prefix, "lib", "kmsd", m)), m)
            self.assertTrue(os.access(os.path.join(prefix, "bin", "kmsctl"), os.X_OK))
            _, cert = make_idp("idp.example.test")
            with Binary(os.path.join(prefix, "bin", "kmsd")), Kmsd("--store", "lmdb") as k:
                saml_provider(k, cert)
                self.assertIn(os.path.join(prefix, "lib", "kmsd", "kmsd-saml-metadata.so"),
                              {os.path.realpath(x) for x in mapped_paths(k.proc.pid)})
        finally:
            shutil.rmtree(prefix)


if __name__ == "__main__":
    main()
