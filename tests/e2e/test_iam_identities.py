"""IAM API end to end: users, access keys, roles, inline and managed
policies, OIDC providers; shapes parsed by botocore, AWS's error codes."""
import json
import os
import subprocess
import unittest

from kmsd_harness import Kmsd, main
from sts_common import err, expect_error, make_user, trust

ACCT = "000000000000"


class Identities(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        cls.iam = cls.k.client("iam")

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def test_users(self):
        u = self.iam.create_user(UserName="Bob", Path="/eng/", Tags=[{"Key": "team", "Value": "kms"}])["User"]
        self.assertEqual(u["Arn"], "arn:aws:iam::%s:user/eng/Bob" % ACCT)
        self.assertTrue(u["UserId"].startswith("AIDA") and len(u["UserId"]) == 21)
        self.assertEqual(u["Path"], "/eng/")
        self.assertEqual(u["Tags"], [{"Key": "team", "Value": "kms"}])
        got = self.iam.get_user(UserName="bob")["User"]  # names are case-insensitive
        self.assertEqual(got["UserId"], u["UserId"])
        expect_error(self, lambda: self.iam.create_user(UserName="BOB"), "EntityAlreadyExists", 409)
        expect_error(self, lambda: self.iam.get_user(UserName="nobody"), "NoSuchEntity", 404,
                     "The user with name nobody cannot be found.")
        expect_error(self, lambda: self.iam.create_user(UserName="bad name!"), "ValidationError", 400,
                     "regular expression pattern")
        names = [x["UserName"] for x in self.iam.list_users()["Users"]]
        self.assertIn("admin", names)
        self.assertIn("Bob", names)
        self.assertEqual([x["UserName"] for x in self.iam.list_users(PathPrefix="/eng/")["Users"]], ["Bob"])
        page = self.iam.list_users(MaxItems=1)
        self.assertTrue(page["IsTruncated"])
        rest = self.iam.list_users(Marker=page["Marker"])["Users"]
        self.assertEqual(len(rest) + 1, len(names))
        self.assertEqual(self.iam.get_user()["User"]["UserName"], "admin")  # the caller
        self.iam.delete_user(UserName="Bob")
        expect_error(self, lambda: self.iam.delete_user(UserName="Bob"), "NoSuchEntity", 404)

    def test_access_keys(self):
        self.iam.create_user(UserName="carol")
        k1 = self.iam.create_access_key(UserName="carol")["AccessKey"]
        self.assertTrue(k1["AccessKeyId"].startswith("AKIA") and len(k1["AccessKeyId"]) == 20)
        self.assertEqual(len(k1["SecretAccessKey"]), 40)
        self.assertEqual(k1["Status"], "Active")
        sts = self.k.client("sts", creds=(k1["AccessKeyId"], k1["SecretAccessKey"]))
        self.assertEqual(sts.get_caller_identity()["Arn"], "arn:aws:iam::%s:user/carol" % ACCT)
        self.iam.create_access_key(UserName="carol")
        expect_error(self, lambda: self.iam.create_access_key(UserName="carol"), "LimitExceeded", 409)
        meta = self.iam.list_access_keys(UserName="carol")["AccessKeyMetadata"]
        self.assertEqual(len(meta), 2)
        self.assertNotIn("SecretAccessKey", json.dumps(meta, default=str))
        self.iam.update_access_key(UserName="carol", AccessKeyId=k1["AccessKeyId"], Status="Inactive")
        expect_error(self, sts.get_caller_identity, "InvalidClientTokenId", 403)
        self.iam.update_access_key(UserName="carol", AccessKeyId=k1["AccessKeyId"], Status="Active")
        sts.get_caller_identity()
        expect_error(self, lambda: self.iam.delete_user(UserName="carol"), "DeleteConflict", 409)
        expect_error(self, lambda: self.iam.delete_access_key(UserName="admin", AccessKeyId=k1["AccessKeyId"]),
                     "NoSuchEntity", 404)
        for m in meta:
            self.iam.delete_access_key(UserName="carol", AccessKeyId=m["AccessKeyId"])
        expect_error(self, sts.get_caller_identity, "InvalidClientTokenId", 403)
        self.iam.delete_user(UserName="carol")
        # the secret is stored sealed: never in clear on disk (or in etcd)
        self.assertNotIn(k1["SecretAccessKey"].encode(), self.k.stored_bytes())

    def test_roles(self):
        doc = trust({"AWS": "arn:aws:iam::%s:root" % ACCT})
        r = self.iam.create_role(RoleName="deploy", Path="/ci/", AssumeRolePolicyDocument=doc,
                                 Description="d", MaxSessionDuration=7200,
                                 Tags=[{"Key": "a", "Value": "b"}])["Role"]
        self.assertEqual(r["Arn"], "arn:aws:iam::%s:role/ci/deploy" % ACCT)
        self.assertTrue(r["RoleId"].startswith("AROA"))
        self.assertEqual(r["AssumeRolePolicyDocument"], json.loads(doc))
        self.assertEqual(r["MaxSessionDuration"], 7200)
        expect_error(self, lambda: self.iam.create_role(RoleName="deploy", AssumeRolePolicyDocument=doc),
                     "EntityAlreadyExists", 409)
        expect_error(self, lambda: self.iam.create_role(RoleName="bad", AssumeRolePolicyDocument="{not json"),
                     "MalformedPolicyDocument", 400)
        nopr = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]})
        expect_error(self, lambda: self.iam.create_role(RoleName="bad", AssumeRolePolicyDocument=nopr),
                     "MalformedPolicyDocument", 400)
        # botocore validates ranges client-side: send the form raw
        from urllib.parse import urlencode
        form = urlencode({"Action": "CreateRole", "Version": "2010-05-08", "RoleName": "bad",
                          "AssumeRolePolicyDocument": doc, "MaxSessionDuration": "60"})
        st, _, body = self.k.send(*self.k.signed_request(
            "iam", form, {"Content-Type": "application/x-www-form-urlencoded"}))
        self.assertEqual(st, 400)
        self.assertIn(b"<Code>ValidationError</Code>", body)
        self.assertIn(b"Member must have value greater than or equal to 3600", body)
        self.iam.update_role(RoleName="deploy", MaxSessionDuration=3600, Description="new")
        g = self.iam.get_role(RoleName="deploy")["Role"]
        self.assertEqual((g["MaxSessionDuration"], g["Description"]), (3600, "new"))
        doc2 = trust({"AWS": "arn:aws:iam::%s:user/admin" % ACCT})
        self.iam.update_assume_role_policy(RoleName="deploy", PolicyDocument=doc2)
        self.assertEqual(self.iam.get_role(RoleName="deploy")["Role"]["AssumeRolePolicyDocument"], json.loads(doc2))
        self.assertIn("deploy", [x["RoleName"] for x in self.iam.list_roles()["Roles"]])
        expect_error(self, lambda: self.iam.get_role(RoleName="nope"), "NoSuchEntity", 404)
        self.iam.delete_role(RoleName="deploy")
        expect_error(self, lambda: self.iam.get_role(RoleName="deploy"), "NoSuchEntity", 404)

    def test_policies(self):
        self.iam.create_user(UserName="dave")
        self.iam.create_role(RoleName="r1", AssumeRolePolicyDocument=trust({"AWS": ACCT}))
        pdoc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*",
                                                                    "Resource": "*"}]})
        self.iam.put_user_policy(UserName="dave", PolicyName="inline1", PolicyDocument=pdoc)
        got = self.iam.get_user_policy(UserName="dave", PolicyName="inline1")
        self.assertEqual(got["PolicyDocument"], json.loads(pdoc))
        self.assertEqual(self.iam.list_user_policies(UserName="dave")["PolicyNames"], ["inline1"])
        self.iam.put_role_policy(RoleName="r1", PolicyName="rp", PolicyDocument=pdoc)
        self.assertEqual(self.iam.list_role_policies(RoleName="r1")["PolicyNames"], ["rp"])
        self.assertEqual(self.iam.get_role_policy(RoleName="r1", PolicyName="rp")["PolicyDocument"], json.loads(pdoc))
        withpr = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*",
                                                                      "Resource": "*", "Principal": "*"}]})
        expect_error(self, lambda: self.iam.put_user_policy(UserName="dave", PolicyName="x", PolicyDocument=withpr),
                     "MalformedPolicyDocument", 400)
        expect_error(self, lambda: self.iam.get_user_policy(UserName="dave", PolicyName="nope"), "NoSuchEntity", 404)
        expect_error(self, lambda: self.iam.delete_role(RoleName="r1"), "DeleteConflict", 409)
        # managed
        p = self.iam.create_policy(PolicyName="KmsAll", Path="/team/", PolicyDocument=pdoc, Description="all")["Policy"]
        self.assertEqual(p["Arn"], "arn:aws:iam::%s:policy/team/KmsAll" % ACCT)
        self.assertEqual(p["DefaultVersionId"], "v1")
        expect_error(self, lambda: self.iam.create_policy(PolicyName="KmsAll", PolicyDocument=pdoc),
                     "EntityAlreadyExists", 409)
        self.assertEqual(self.iam.get_policy(PolicyArn=p["Arn"])["Policy"]["PolicyName"], "KmsAll")
        v = self.iam.get_policy_version(PolicyArn=p["Arn"], VersionId="v1")["PolicyVersion"]
        self.assertEqual(v["Document"], json.loads(pdoc))
        self.assertTrue(v["IsDefaultVersion"])
        self.iam.attach_user_policy(UserName="dave", PolicyArn=p["Arn"])
        self.iam.attach_role_policy(RoleName="r1", PolicyArn=p["Arn"])
        self.assertEqual(self.iam.get_policy(PolicyArn=p["Arn"])["Policy"]["AttachmentCount"], 2)
        att = self.iam.list_attached_user_policies(UserName="dave")["AttachedPolicies"]
        self.assertEqual(att, [{"PolicyName": "KmsAll", "PolicyArn": p["Arn"]}])
        self.assertEqual(len(self.iam.list_attached_role_policies(RoleName="r1")["AttachedPolicies"]), 1)
        expect_error(self, lambda: self.iam.delete_policy(PolicyArn=p["Arn"]), "DeleteConflict", 409)
        bogus = "arn:aws:iam::%s:policy/Nope" % ACCT
        expect_error(self, lambda: self.iam.attach_user_policy(UserName="dave", PolicyArn=bogus), "NoSuchEntity", 404)
        self.iam.detach_user_policy(UserName="dave", PolicyArn=p["Arn"])
        self.iam.detach_role_policy(RoleName="r1", PolicyArn=p["Arn"])
        expect_error(self, lambda: self.iam.detach_role_policy(RoleName="r1", PolicyArn=p["Arn"]), "NoSuchEntity", 404)
        self.iam.delete_policy(PolicyArn=p["Arn"])
        expect_error(self, lambda: self.iam.get_policy(PolicyArn=p["Arn"]), "NoSuchEntity", 404)
        self.iam.delete_user_policy(UserName="dave", PolicyName="inline1")
        self.iam.delete_role_policy(RoleName="r1", PolicyName="rp")
        self.iam.delete_role(RoleName="r1")
        self.iam.delete_user(UserName="dave")

    def test_oidc_providers(self):
        arn = self.iam.create_open_id_connect_provider(
            Url="https://ci.example.test/", ClientIDList=["sts.amazonaws.com"],
            ThumbprintList=["a" * 40])["OpenIDConnectProviderArn"]
        self.assertEqual(arn, "arn:aws:iam::%s:oidc-provider/ci.example.test" % ACCT)
        g = self.iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
        self.assertEqual(g["Url"], "ci.example.test")
        self.assertEqual(g["ClientIDList"], ["sts.amazonaws.com"])
        self.assertEqual(g["ThumbprintList"], ["a" * 40])
        self.assertIn({"Arn": arn}, self.iam.list_open_id_connect_providers()["OpenIDConnectProviderList"])
        expect_error(self, lambda: self.iam.create_open_id_connect_provider(Url="https://ci.example.test",
                                                                            ClientIDList=["x"]),
                     "EntityAlreadyExists", 409)
        expect_error(self, lambda: self.iam.create_open_id_connect_provider(Url="http://insecure.test",
                                                                            ClientIDList=["x"]),
                     "InvalidInput", 400)
        self.iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
        expect_error(self, lambda: self.iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn),
                     "NoSuchEntity", 404)

    def test_cli(self):
        _, out, _ = self.k.cli("iam", "create-user", "--user-name", "erin")
        self.assertEqual(out["User"]["UserName"], "erin")
        _, out, _ = self.k.cli("iam", "create-access-key", "--user-name", "erin")
        key = (out["AccessKey"]["AccessKeyId"], out["AccessKey"]["SecretAccessKey"])
        _, ident, _ = self.k.cli("sts", "get-caller-identity", creds=key)
        self.assertEqual(ident["Arn"], "arn:aws:iam::%s:user/erin" % ACCT)
        _, out, _ = self.k.cli("iam", "create-role", "--role-name", "cli-role", "--assume-role-policy-document",
                               trust({"AWS": ident["Arn"]}))
        self.assertEqual(out["Role"]["RoleName"], "cli-role")
        rc, _, stderr = self.k.cli("iam", "get-user", "--user-name", "ghost", check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("NoSuchEntity", stderr)

    def test_unknown_action(self):
        st, _, body = self.k.send(*self.k.signed_request(
            "iam", "Action=Frobnicate&Version=2010-05-08", {"Content-Type": "application/x-www-form-urlencoded"}))
        self.assertEqual(st, 400)
        self.assertIn(b"<Code>InvalidAction</Code>", body)
        self.assertIn(b"https://iam.amazonaws.com/doc/2010-05-08/", body)


if __name__ == "__main__":
    main()
