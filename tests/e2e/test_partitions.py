"""Every AWS partition (issue 12): a kmsd serving cn-north-1, us-gov-west-1 or
us-isob-east-1 shows aws-cn, aws-us-gov and aws-iso-b ARNs in KMS, IAM and
STS, accepts ARNs of that partition in requests (PolicyArns, key ARNs, key
policies) and enforces policies that name them. IAM is global: a client
signs it with the partition's own region (boto3's iam client in cn-north-1
signs for cn-north-1), and that region's partition is the one shown.

Partition table: botocore data/partitions.json (regionRegex per partition)."""
import base64
import json
import os
import time
import unittest

import boto3
import botocore
import botocore.config
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kmsd_harness import Kmsd, kmsctl, main
from sts_common import creds_of, expect_error, trust

ACCT = "000000000000"
ISS = "https://idp.partition.test"
RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(aud="sts.amazonaws.com"):
    now = int(time.time())
    claims = {"iss": ISS, "sub": "job", "aud": aud, "iat": now, "nbf": now - 5, "exp": now + 600}
    signing = (b64u(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "k1"}).encode()) + "." +
               b64u(json.dumps(claims).encode())).encode()
    return signing.decode() + "." + b64u(RSA.sign(signing, padding.PKCS1v15(), hashes.SHA256()))


def jwks():
    n = RSA.public_key().public_numbers()
    return {"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
                      "n": b64u(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
                      "e": b64u(n.e.to_bytes(3, "big"))}]}


def doc(*st):
    return json.dumps({"Version": "2012-10-17", "Statement": list(st)})


class PartitionBase:
    REGION = None
    PARTITION = None

    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd(region=cls.REGION).start()
        cls.kms = cls.k.client("kms")
        cls.iam = cls.k.client("iam")
        cls.sts = cls.k.client("sts")

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def p(self, rest):
        return "arn:%s:%s" % (self.PARTITION, rest)

    def test_1_kms_create_key(self):
        md = self.kms.create_key(Description="part")["KeyMetadata"]
        self.assertEqual(md["Arn"], self.p("kms:%s:%s:key/%s" % (self.REGION, ACCT, md["KeyId"])))
        pol = json.loads(self.kms.get_key_policy(KeyId=md["KeyId"], PolicyName="default")["Policy"])
        self.assertEqual(pol["Statement"][0]["Principal"]["AWS"], self.p("iam::%s:root" % ACCT))
        # the key's own ARN resolves; the same ARN in another partition names no key here
        self.assertEqual(self.kms.describe_key(KeyId=md["Arn"])["KeyMetadata"]["KeyId"], md["KeyId"])
        wrong = "arn:aws:kms:%s:%s:key/%s" % (self.REGION, ACCT, md["KeyId"])
        expect_error(self, lambda: self.kms.describe_key(KeyId=wrong), "NotFoundException", 400)
        self.kms.create_alias(AliasName="alias/part", TargetKeyId=md["KeyId"])
        al = [a for a in self.kms.list_aliases()["Aliases"] if a["AliasName"] == "alias/part"][0]
        self.assertEqual(al["AliasArn"], self.p("kms:%s:%s:alias/part" % (self.REGION, ACCT)))
        # the aws CLI
        _, out, _ = self.k.cli("kms", "create-key")
        self.assertTrue(out["KeyMetadata"]["Arn"].startswith(self.p("kms:%s:" % self.REGION)), out)

    def test_2_iam_and_sts(self):
        me = self.sts.get_caller_identity()
        self.assertEqual(me["Arn"], self.p("iam::%s:user/admin" % ACCT))
        u = self.iam.create_user(UserName="alice")["User"]
        self.assertEqual(u["Arn"], self.p("iam::%s:user/alice" % ACCT))
        self.assertEqual(self.iam.get_user(UserName="alice")["User"]["Arn"], u["Arn"])
        key = self.iam.create_access_key(UserName="alice")["AccessKey"]
        alice = (key["AccessKeyId"], key["SecretAccessKey"])
        self.assertEqual(self.k.client("sts", creds=alice).get_caller_identity()["Arn"], u["Arn"])
        role = self.iam.create_role(RoleName="worker", AssumeRolePolicyDocument=trust(
            {"AWS": self.p("iam::%s:root" % ACCT)}))["Role"]
        self.assertEqual(role["Arn"], self.p("iam::%s:role/worker" % ACCT))
        pol = self.iam.create_policy(PolicyName="rand", PolicyDocument=doc(
            {"Effect": "Allow", "Action": "kms:GenerateRandom", "Resource": "*"}))["Policy"]
        self.assertEqual(pol["Arn"], self.p("iam::%s:policy/rand" % ACCT))
        # AssumeRole with a role ARN of this partition and PolicyArns of this partition
        out = self.sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s1", PolicyArns=[{"arn": pol["Arn"]}])
        self.assertEqual(out["AssumedRoleUser"]["Arn"], self.p("sts::%s:assumed-role/worker/s1" % ACCT))
        c, t = creds_of(out["Credentials"])
        self.assertEqual(self.k.client("sts", creds=c, session_token=t).get_caller_identity()["Arn"],
                         out["AssumedRoleUser"]["Arn"])
        # GetFederationToken, PolicyArns in this partition (AWS managed and customer managed)
        self.iam.put_user_policy(UserName="alice", PolicyName="fed", PolicyDocument=doc(
            {"Effect": "Allow", "Action": ["sts:GetFederationToken", "kms:GenerateRandom"], "Resource": "*"}))
        fed = self.k.client("sts", creds=alice).get_federation_token(
            Name="fed1", PolicyArns=[{"arn": pol["Arn"]},
                                     {"arn": self.p("iam::aws:policy/AWSKeyManagementServicePowerUser")}])
        self.assertEqual(fed["FederatedUser"]["Arn"], self.p("sts::%s:federated-user/fed1" % ACCT))
        c, t = creds_of(fed["Credentials"])
        self.assertEqual(self.k.client("sts", creds=c, session_token=t).get_caller_identity()["Arn"],
                         fed["FederatedUser"]["Arn"])
        self.assertEqual(len(self.k.client("kms", creds=c, session_token=t).generate_random(NumberOfBytes=8)
                             ["Plaintext"]), 8)
        # a malformed policy ARN is still refused
        expect_error(self, lambda: self.sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s2",
                                                        PolicyArns=[{"arn": "arn:nope:iam::%s:policy/rand" % ACCT}]),
                     "ValidationError", 400, "Invalid ARN")
        # the aws CLI
        _, out, _ = self.k.cli("sts", "get-caller-identity")
        self.assertEqual(out["Arn"], self.p("iam::%s:user/admin" % ACCT))
        _, out, _ = self.k.cli("iam", "create-user", "--user-name", "carol")
        self.assertEqual(out["User"]["Arn"], self.p("iam::%s:user/carol" % ACCT))

    def test_3_web_identity(self):
        prov = self.iam.create_open_id_connect_provider(Url=ISS, ClientIDList=["sts.amazonaws.com"],
                                                        ThumbprintList=["0" * 40])["OpenIDConnectProviderArn"]
        self.assertEqual(prov, self.p("iam::%s:oidc-provider/idp.partition.test" % ACCT))
        role = self.iam.create_role(RoleName="ci", AssumeRolePolicyDocument=trust(
            {"Federated": prov}, action="sts:AssumeRoleWithWebIdentity"))["Role"]
        path = os.path.join(self.k.root, "jwks.json")
        with open(path, "w") as f:
            json.dump(jwks(), f)
        rc, _, errout = kmsctl("sts", "set-jwks", "--data-dir", self.k.data_dir, "--url", ISS, "--jwks-file", path)
        self.assertEqual(rc, 0, errout)
        anon = boto3.client("sts", endpoint_url=self.k.endpoint, region_name=self.REGION,
                            config=botocore.config.Config(signature_version=botocore.UNSIGNED,
                                                          retries={"max_attempts": 1}))
        out = anon.assume_role_with_web_identity(RoleArn=role["Arn"], RoleSessionName="job",
                                                 WebIdentityToken=jwt())
        self.assertEqual(out["AssumedRoleUser"]["Arn"], self.p("sts::%s:assumed-role/ci/job" % ACCT))
        self.assertEqual(out["Provider"], prov)
        c, t = creds_of(out["Credentials"])
        self.assertEqual(self.k.client("sts", creds=c, session_token=t).get_caller_identity()["Arn"],
                         out["AssumedRoleUser"]["Arn"])

    def test_4_policies_naming_partition_arns_enforced(self):
        md = self.kms.create_key()["KeyMetadata"]
        u = self.iam.create_user(UserName="bob")["User"]
        key = self.iam.create_access_key(UserName="bob")["AccessKey"]
        bob = self.k.client("kms", creds=(key["AccessKeyId"], key["SecretAccessKey"]))
        self.iam.create_user(UserName="eve")
        ekey = self.iam.create_access_key(UserName="eve")["AccessKey"]
        eve = self.k.client("kms", creds=(ekey["AccessKeyId"], ekey["SecretAccessKey"]))
        # key policy naming bob by his ARN in this partition
        self.kms.put_key_policy(KeyId=md["KeyId"], PolicyName="default", Policy=doc(
            {"Effect": "Allow", "Principal": {"AWS": self.p("iam::%s:root" % ACCT)}, "Action": "kms:*",
             "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": u["Arn"]}, "Action": "kms:Encrypt", "Resource": "*"}))
        bob.encrypt(KeyId=md["KeyId"], Plaintext=b"x")
        expect_error(self, lambda: eve.encrypt(KeyId=md["KeyId"], Plaintext=b"x"), "AccessDeniedException", 400)
        # identity policies naming key ARNs: this partition's ARN allows, the "aws" partition's does not
        self.iam.put_user_policy(UserName="eve", PolicyName="p", PolicyDocument=doc(
            {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": md["Arn"]},
            {"Effect": "Allow", "Action": "kms:DescribeKey",
             "Resource": "arn:aws:kms:%s:%s:key/%s" % (self.REGION, ACCT, md["KeyId"])}))
        eve.encrypt(KeyId=md["KeyId"], Plaintext=b"x")
        m = expect_error(self, lambda: eve.describe_key(KeyId=md["KeyId"]), "AccessDeniedException", 400)
        self.assertIn(self.p("iam::%s:user/eve" % ACCT), m)
        self.assertIn(md["Arn"], m)
        # the aws-partition spelling of bob names no principal here: an invalid principal, as AWS says
        expect_error(self, lambda: self.kms.put_key_policy(KeyId=md["KeyId"], PolicyName="default", Policy=doc(
            {"Effect": "Allow", "Principal": {"AWS": self.p("iam::%s:root" % ACCT)}, "Action": "kms:*",
             "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:user/bob" % ACCT}, "Action": "kms:Encrypt",
             "Resource": "*"})), "MalformedPolicyDocumentException", 400, "invalid principals")
        # a Deny naming eve in this partition holds
        self.kms.put_key_policy(KeyId=md["KeyId"], PolicyName="default", Policy=doc(
            {"Effect": "Allow", "Principal": {"AWS": self.p("iam::%s:root" % ACCT)}, "Action": "kms:*",
             "Resource": "*"},
            {"Effect": "Deny", "Principal": {"AWS": self.p("iam::%s:user/eve" % ACCT)}, "Action": "kms:Encrypt",
             "Resource": "*"}))
        expect_error(self, lambda: eve.encrypt(KeyId=md["KeyId"], Plaintext=b"x"), "AccessDeniedException", 400)
        expect_error(self, lambda: bob.encrypt(KeyId=md["KeyId"], Plaintext=b"x"), "AccessDeniedException", 400)
        # aws:PrincipalArn in this partition
        self.iam.put_user_policy(UserName="bob", PolicyName="p", PolicyDocument=doc(
            {"Effect": "Allow", "Action": "kms:GenerateRandom", "Resource": "*",
             "Condition": {"ArnEquals": {"aws:PrincipalArn": self.p("iam::%s:user/bob" % ACCT)}}}))
        self.assertEqual(len(bob.generate_random(NumberOfBytes=4)["Plaintext"]), 4)
        self.iam.put_user_policy(UserName="bob", PolicyName="p", PolicyDocument=doc(
            {"Effect": "Allow", "Action": "kms:GenerateRandom", "Resource": "*",
             "Condition": {"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::%s:user/bob" % ACCT}}}))
        expect_error(self, lambda: bob.generate_random(NumberOfBytes=4), "AccessDeniedException", 400)


class China(PartitionBase, unittest.TestCase):
    REGION = "cn-north-1"
    PARTITION = "aws-cn"


class GovCloud(PartitionBase, unittest.TestCase):
    REGION = "us-gov-west-1"
    PARTITION = "aws-us-gov"


class IsoB(PartitionBase, unittest.TestCase):
    REGION = "us-isob-east-1"
    PARTITION = "aws-iso-b"


if __name__ == "__main__":
    main()
