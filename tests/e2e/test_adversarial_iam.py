"""Adversarial tests for IAM authorization: for every feature, the
attacker's test beside the user's.

- IAM paths: resource ARNs carry the stored path (issue 10 item 1).
- The resource an action is authorized on is the one the handler acts on,
  named by the action's own parameter (issue 16 item 1).
- NUL and overlong names are ValidationError before any decision.
- Another account's root and users cannot act on this account's entities.
"""
import json
import unittest
from urllib.parse import urlencode

from authz_common import ACCT, allow, deny, doc, error, session_creds
from kmsd_harness import Kmsd, kmsctl, main
from sts_common import expect_error, trust

B = "222233334444"
B_ROOT = ("AKIAACCOUNTB00000009", "account-b-root-secret-0009")


def raw_iam(k, params, creds=None, session_token=None):
    """Sends an IAM Query request as given (botocore would refuse extra or bad parameters)."""
    form = dict(params)
    form.setdefault("Version", "2010-05-08")
    st, _, body = k.send(*k.signed_request("iam", urlencode(form),
                                           {"Content-Type": "application/x-www-form-urlencoded"},
                                           creds=creds, session_token=session_token))
    return st, body.decode("utf-8", "replace")


def user_with(k, name, policy, path="/", boundary=None):
    iam = k.client("iam")
    kw = {"UserName": name, "Path": path}
    if boundary:
        kw["PermissionsBoundary"] = boundary
    iam.create_user(**kw)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return (key["AccessKeyId"], key["SecretAccessKey"])


class IamPaths(unittest.TestCase):
    """A Deny on a path-scoped resource must hold whatever name form the attacker uses."""

    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        cls.iam = cls.k.client("iam")
        cls.iam.create_user(UserName="boss", Path="/admins/")
        cls.iam.create_role(RoleName="ops-admin", Path="/ops/", AssumeRolePolicyDocument=trust({"AWS": ACCT}))
        cls.pol = cls.iam.create_policy(PolicyName="TeamP", Path="/team/",
                                        PolicyDocument=doc(allow("kms:List*")))["Policy"]["Arn"]
        cls.mallory = user_with(cls.k, "mallory", doc(
            allow("iam:*"),
            deny("iam:*", "arn:aws:iam::%s:user/admins/*" % ACCT),
            deny("iam:*", "arn:aws:iam::%s:role/ops/*" % ACCT),
            deny("iam:*", "arn:aws:iam::%s:policy/team/*" % ACCT)))

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def test_attacker_deny_on_user_path_stops_access_key_and_inline_policy(self):
        m = self.k.client("iam", creds=self.mallory)
        for name in ("boss", "BOSS", "Boss"):
            code, msg = error(m.create_access_key, UserName=name)
            self.assertEqual(code, "AccessDenied", msg)
            self.assertIn("on resource: arn:aws:iam::%s:user/admins/boss " % ACCT, msg)
            self.assertIn("explicit deny", msg)
            code, msg = error(m.put_user_policy, UserName=name, PolicyName="own",
                              PolicyDocument=doc(allow("*")))
            self.assertEqual(code, "AccessDenied", msg)
        self.assertEqual(self.iam.list_access_keys(UserName="boss")["AccessKeyMetadata"], [])
        self.assertEqual(self.iam.list_user_policies(UserName="boss")["PolicyNames"], [])

    def test_attacker_deny_on_role_and_policy_path(self):
        m = self.k.client("iam", creds=self.mallory)
        code, msg = error(m.put_role_policy, RoleName="ops-admin", PolicyName="x", PolicyDocument=doc(allow("*")))
        self.assertEqual(code, "AccessDenied", msg)
        self.assertIn("role/ops/ops-admin", msg)
        code, _ = error(m.update_assume_role_policy, RoleName="OPS-ADMIN",
                        PolicyDocument=trust({"AWS": "arn:aws:iam::%s:user/mallory" % ACCT}))
        self.assertEqual(code, "AccessDenied")
        code, msg = error(m.get_policy, PolicyArn=self.pol)
        self.assertEqual(code, "AccessDenied", msg)
        self.assertIn("policy/team/TeamP", msg)

    def test_attacker_case_variant_of_an_arn_does_not_dodge_a_deny(self):
        url = "https://token.example.com"
        arn = self.iam.create_open_id_connect_provider(Url=url, ClientIDList=["sts.amazonaws.com"],
                                                       ThumbprintList=["a" * 40])["OpenIDConnectProviderArn"]
        oscar = user_with(self.k, "oscar", doc(allow("iam:*"), deny("iam:*", arn)))
        o = self.k.client("iam", creds=oscar)
        self.assertEqual(error(o.delete_open_id_connect_provider, OpenIDConnectProviderArn=arn)[0], "AccessDenied")
        for variant in (arn.replace("token.example.com", "TOKEN.example.com"),
                        arn.replace("token.example.com", "Token.Example.Com")):
            self.assertIn(error(o.delete_open_id_connect_provider, OpenIDConnectProviderArn=variant)[0],
                          ("AccessDenied", "NoSuchEntity"))
            self.assertIn(error(o.get_open_id_connect_provider, OpenIDConnectProviderArn=variant)[0],
                          ("AccessDenied", "NoSuchEntity"))
        self.assertEqual(self.iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["Url"],
                         "token.example.com")
        # a policy ARN in another case names no policy either
        self.assertEqual(error(o.get_policy, PolicyArn=self.pol.replace("TeamP", "teamp"))[0], "NoSuchEntity")

    def test_user_path_scoped_allow_works(self):
        alice = user_with(self.k, "alice", doc(allow("iam:*", "arn:aws:iam::%s:user/admins/*" % ACCT)))
        a = self.k.client("iam", creds=alice)
        key = a.create_access_key(UserName="boss")["AccessKey"]
        # responses and the key's principal carry the path
        self.assertEqual(a.get_user(UserName="boss")["User"]["Arn"], "arn:aws:iam::%s:user/admins/boss" % ACCT)
        sts = self.k.client("sts", creds=(key["AccessKeyId"], key["SecretAccessKey"]))
        self.assertEqual(sts.get_caller_identity()["Arn"], "arn:aws:iam::%s:user/admins/boss" % ACCT)
        self.assertEqual(error(a.get_user, UserName="mallory")[0], "AccessDenied")
        a.delete_access_key(UserName="boss", AccessKeyId=key["AccessKeyId"])

    def test_session_arn_has_no_role_path_but_role_arn_has(self):
        out = self.k.client("sts").assume_role(RoleArn="arn:aws:iam::%s:role/ops/ops-admin" % ACCT,
                                               RoleSessionName="s1")
        self.assertEqual(out["AssumedRoleUser"]["Arn"], "arn:aws:sts::%s:assumed-role/ops-admin/s1" % ACCT)
        self.assertEqual(self.iam.get_role(RoleName="ops-admin")["Role"]["Arn"],
                         "arn:aws:iam::%s:role/ops/ops-admin" % ACCT)


class IamWrongResource(unittest.TestCase):
    """Issue 16 item 1: the resource comes from the action's own parameter."""

    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        cls.iam = cls.k.client("iam")
        cls.iam.create_role(RoleName="admin-role", AssumeRolePolicyDocument=trust({"AWS": "arn:aws:iam::%s:user/admin" % ACCT}))
        cls.iam.put_role_policy(RoleName="admin-role", PolicyName="all", PolicyDocument=doc(allow("*")))
        b = cls.iam.create_policy(PolicyName="SelfOnly", PolicyDocument=doc(
            allow(["iam:*"], "arn:aws:iam::%s:user/${aws:username}" % ACCT),
            allow(["sts:*"])))["Policy"]["Arn"]
        cls.confined = user_with(cls.k, "confined", doc(allow("*")), boundary=b)

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def test_attacker_extra_username_does_not_authorize_role_change(self):
        evil = trust({"AWS": "arn:aws:iam::%s:user/confined" % ACCT})
        before = self.iam.get_role(RoleName="admin-role")["Role"]["AssumeRolePolicyDocument"]
        st, body = raw_iam(self.k, {"Action": "UpdateAssumeRolePolicy", "RoleName": "admin-role",
                                    "UserName": "confined", "PolicyDocument": evil}, creds=self.confined)
        self.assertEqual(st, 403, body)
        self.assertIn("<Code>AccessDenied</Code>", body)
        self.assertIn("role/admin-role", body)
        self.assertEqual(self.iam.get_role(RoleName="admin-role")["Role"]["AssumeRolePolicyDocument"], before)
        # ... and the other actions that name two entities
        for params in ({"Action": "PutRolePolicy", "RoleName": "admin-role", "UserName": "confined",
                        "PolicyName": "x", "PolicyDocument": doc(allow("*"))},
                       {"Action": "AttachRolePolicy", "RoleName": "admin-role", "UserName": "confined",
                        "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
                       {"Action": "CreateRole", "RoleName": "evil", "UserName": "confined",
                        "AssumeRolePolicyDocument": evil},
                       {"Action": "CreateUser", "UserName": "other", "RoleName": "confined"},
                       {"Action": "DeleteRolePolicy", "RoleName": "admin-role", "UserName": "confined",
                        "PolicyName": "all"}):
            st, body = raw_iam(self.k, params, creds=self.confined)
            self.assertEqual(st, 403, (params["Action"], body))
        self.assertEqual(self.iam.list_role_policies(RoleName="admin-role")["PolicyNames"], ["all"])
        self.assertNotIn("evil", [r["RoleName"] for r in self.iam.list_roles()["Roles"]])
        code, _ = error(self.k.client("sts", creds=self.confined).assume_role,
                        RoleArn="arn:aws:iam::%s:role/admin-role" % ACCT, RoleSessionName="xx")
        self.assertEqual(code, "AccessDenied")

    def test_user_confined_user_manages_itself(self):
        c = self.k.client("iam", creds=self.confined)
        self.assertEqual(c.get_user()["User"]["UserName"], "confined")
        k2 = c.create_access_key()["AccessKey"]  # no UserName: the caller itself
        self.assertEqual(k2["UserName"], "confined")
        c.delete_access_key(AccessKeyId=k2["AccessKeyId"])
        c.put_user_policy(UserName="confined", PolicyName="mine", PolicyDocument=doc(allow("kms:List*")))
        c.delete_user_policy(UserName="confined", PolicyName="mine")
        self.assertEqual(error(c.get_user, UserName="admin")[0], "AccessDenied")

    def test_attacker_nul_and_overlong_names_are_validation_errors(self):
        self.iam.create_user(UserName="boss2")
        for params in ({"Action": "CreateAccessKey", "UserName": "confined\x00boss2"},
                       {"Action": "CreateAccessKey", "UserName": "boss2\x00"},
                       {"Action": "PutUserPolicy", "UserName": "confined\x00", "PolicyName": "p",
                        "PolicyDocument": doc(allow("*"))},
                       {"Action": "CreateUser", "UserName": "u" * 65},
                       {"Action": "GetRole", "RoleName": "r" * 65},
                       {"Action": "GetRole", "RoleName": "admin-role\x00"},
                       {"Action": "CreateUser", "UserName": "x", "Path": "/a\x00/"}):
            st, body = raw_iam(self.k, params, creds=self.confined)
            self.assertEqual(st, 400, (params, body))
            self.assertIn("<Code>ValidationError</Code>", body)
        self.assertEqual(self.iam.list_access_keys(UserName="boss2")["AccessKeyMetadata"], [])

    def test_attacker_other_account_cannot_touch_this_accounts_entities(self):
        rc, _, e = kmsctl("access-key", "add", "--data-dir", self.k.data_dir, "--id", B_ROOT[0],
                          "--secret", B_ROOT[1], "--account", B)
        self.assertEqual(rc, 0, e)
        b = self.k.client("iam", creds=B_ROOT)
        # IAM acts in the caller's own account: account A's role is not there
        self.assertEqual(error(b.get_role, RoleName="admin-role")[0], "NoSuchEntity")
        self.assertEqual(error(b.put_role_policy, RoleName="admin-role", PolicyName="x",
                               PolicyDocument=doc(allow("*")))[0], "NoSuchEntity")
        # ... nor by ARN
        code, _ = error(b.attach_user_policy, UserName="boss2",
                        PolicyArn="arn:aws:iam::%s:policy/SelfOnly" % ACCT)
        self.assertIn(code, ("NoSuchEntity",))
        self.assertEqual(error(b.delete_policy, PolicyArn="arn:aws:iam::%s:policy/SelfOnly" % ACCT)[0],
                         "NoSuchEntity")
        names = [u["UserName"] for u in b.list_users()["Users"]]
        self.assertNotIn("confined", names)
        # a user of B holding AdministratorAccess-like rights in B is still in B
        b.create_user(UserName="bob")
        b.put_user_policy(UserName="bob", PolicyName="all", PolicyDocument=doc(allow("*")))
        bk = b.create_access_key(UserName="bob")["AccessKey"]
        bob = self.k.client("iam", creds=(bk["AccessKeyId"], bk["SecretAccessKey"]))
        self.assertEqual(error(bob.get_user, UserName="confined")[0], "NoSuchEntity")
        self.assertEqual(error(bob.create_access_key, UserName="confined")[0], "NoSuchEntity")
        self.assertEqual(self.iam.list_access_keys(UserName="confined")["AccessKeyMetadata"].__len__(), 1)


AWS_POLICY = "arn:aws:iam::aws:policy/"
# The documents as the AWS Managed Policy Reference Guide publishes them.
ADMIN_DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
KMS_POWER_DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
    "kms:CreateAlias", "kms:CreateKey", "kms:DeleteAlias", "kms:Describe*", "kms:GenerateRandom", "kms:Get*",
    "kms:List*", "kms:TagResource", "kms:UntagResource", "iam:ListGroups", "iam:ListRoles", "iam:ListUsers"],
    "Resource": "*"}]}
IAM_RO_DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
    "iam:GenerateCredentialReport", "iam:GenerateServiceLastAccessedDetails", "iam:Get*", "iam:List*",
    "iam:SimulateCustomPolicy", "iam:SimulatePrincipalPolicy"], "Resource": "*"}]}


class ManagedPolicies(unittest.TestCase):
    """Issue 10 item 8: a catalogue of AWS managed policies with their real documents."""

    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        cls.iam = cls.k.client("iam")

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def test_user_get_policy_and_version(self):
        for name, version, document in (("AdministratorAccess", "v1", ADMIN_DOC),
                                        ("AWSKeyManagementServicePowerUser", "v2", KMS_POWER_DOC),
                                        ("IAMReadOnlyAccess", "v4", IAM_RO_DOC),
                                        ("IAMFullAccess", "v2", None), ("PowerUserAccess", "v12", None)):
            p = self.iam.get_policy(PolicyArn=AWS_POLICY + name)["Policy"]
            self.assertEqual((p["PolicyName"], p["Arn"], p["Path"], p["DefaultVersionId"], p["IsAttachable"]),
                             (name, AWS_POLICY + name, "/", version, True))
            self.assertTrue(p["PolicyId"].startswith("ANPA") and len(p["PolicyId"]) == 21)
            self.assertEqual(p["CreateDate"].year, 2015)
            v = self.iam.get_policy_version(PolicyArn=AWS_POLICY + name, VersionId=version)["PolicyVersion"]
            self.assertTrue(v["IsDefaultVersion"])
            if document:
                self.assertEqual(v["Document"], document)
            self.assertEqual(error(self.iam.get_policy_version, PolicyArn=AWS_POLICY + name, VersionId="v99")[0],
                             "NoSuchEntity")

    def test_user_attach_and_use(self):
        self.iam.create_user(UserName="reader")
        key = self.iam.create_access_key(UserName="reader")["AccessKey"]
        creds = (key["AccessKeyId"], key["SecretAccessKey"])
        r = self.k.client("iam", creds=creds)
        self.assertEqual(error(r.list_users)[0], "AccessDenied")
        self.iam.attach_user_policy(UserName="reader", PolicyArn=AWS_POLICY + "IAMReadOnlyAccess")
        self.iam.attach_user_policy(UserName="reader", PolicyArn=AWS_POLICY + "AWSKeyManagementServicePowerUser")
        self.assertIn("reader", [u["UserName"] for u in r.list_users()["Users"]])
        self.assertEqual(error(r.create_user, UserName="x")[0], "AccessDenied")
        kms = self.k.client("kms", creds=creds)
        kid = kms.create_key()["KeyMetadata"]["KeyId"]
        self.assertEqual(error(kms.schedule_key_deletion, KeyId=kid)[0], "AccessDeniedException")
        att = self.iam.list_attached_user_policies(UserName="reader")["AttachedPolicies"]
        self.assertIn({"PolicyName": "IAMReadOnlyAccess", "PolicyArn": AWS_POLICY + "IAMReadOnlyAccess"}, att)
        self.assertEqual(self.iam.get_policy(PolicyArn=AWS_POLICY + "IAMReadOnlyAccess")["Policy"]["AttachmentCount"], 1)
        self.iam.create_role(RoleName="ops", AssumeRolePolicyDocument=trust({"AWS": ACCT}))
        self.iam.attach_role_policy(RoleName="ops", PolicyArn=AWS_POLICY + "PowerUserAccess")
        self.assertEqual(self.iam.get_policy(PolicyArn=AWS_POLICY + "PowerUserAccess")["Policy"]["AttachmentCount"], 1)
        s = session_creds(self.k.client("sts").assume_role(RoleArn="arn:aws:iam::%s:role/ops" % ACCT,
                                                           RoleSessionName="s1"))
        self.k.client("kms", creds=s[0], session_token=s[1]).list_keys()
        self.assertEqual(error(self.k.client("iam", creds=s[0], session_token=s[1]).create_user,
                               UserName="y")[0], "AccessDenied")  # PowerUserAccess: NotAction iam:*
        self.iam.detach_user_policy(UserName="reader", PolicyArn=AWS_POLICY + "IAMReadOnlyAccess")
        self.assertEqual(self.iam.get_policy(PolicyArn=AWS_POLICY + "IAMReadOnlyAccess")["Policy"]["AttachmentCount"], 0)
        # a boundary from the catalogue
        self.iam.create_user(UserName="bounded", PermissionsBoundary=AWS_POLICY + "IAMReadOnlyAccess")
        self.assertEqual(self.iam.get_user(UserName="bounded")["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"],
                         AWS_POLICY + "IAMReadOnlyAccess")

    def test_user_policy_arn_condition_limits_what_can_be_attached(self):
        self.iam.create_user(UserName="delegate")
        self.iam.create_user(UserName="target")
        self.iam.put_user_policy(UserName="delegate", PolicyName="p", PolicyDocument=doc(
            allow(["iam:AttachUserPolicy", "iam:DetachUserPolicy"],
                  Condition={"ArnEquals": {"iam:PolicyARN": AWS_POLICY + "IAMReadOnlyAccess"}}),
            allow("iam:CreateUser", Condition={"StringEquals": {"iam:PermissionsBoundary":
                                                                AWS_POLICY + "IAMReadOnlyAccess"}})))
        key = self.iam.create_access_key(UserName="delegate")["AccessKey"]
        d = self.k.client("iam", creds=(key["AccessKeyId"], key["SecretAccessKey"]))
        d.attach_user_policy(UserName="target", PolicyArn=AWS_POLICY + "IAMReadOnlyAccess")
        d.detach_user_policy(UserName="target", PolicyArn=AWS_POLICY + "IAMReadOnlyAccess")
        d.create_user(UserName="bounded2", PermissionsBoundary=AWS_POLICY + "IAMReadOnlyAccess")
        # attacker's side: anything else is refused
        self.assertEqual(error(d.attach_user_policy, UserName="target",
                               PolicyArn=AWS_POLICY + "AdministratorAccess")[0], "AccessDenied")
        self.assertEqual(error(d.attach_user_policy, UserName="delegate",
                               PolicyArn=AWS_POLICY + "AdministratorAccess")[0], "AccessDenied")
        self.assertEqual(error(d.create_user, UserName="unbounded")[0], "AccessDenied")
        self.assertEqual(error(d.create_user, UserName="adminbound",
                               PermissionsBoundary=AWS_POLICY + "AdministratorAccess")[0], "AccessDenied")

    def test_attacker_unknown_or_unshipped_aws_policies_are_refused(self):
        self.iam.create_user(UserName="eve")
        for name in ("ReadOnlyAccess", "Bogus", "administratoraccess", "AdministratorAccess\x00"):
            code, msg = error(self.iam.attach_user_policy, UserName="eve", PolicyArn=AWS_POLICY + name)
            self.assertIn(code, ("NoSuchEntity", "ValidationError"), msg)
            self.assertEqual(error(self.iam.get_policy, PolicyArn=AWS_POLICY + name)[0] in
                             ("NoSuchEntity", "ValidationError"), True)
        self.assertEqual(self.iam.list_attached_user_policies(UserName="eve")["AttachedPolicies"], [])
        code, _ = error(self.iam.create_user, UserName="eve2", PermissionsBoundary=AWS_POLICY + "ReadOnlyAccess")
        self.assertEqual(code, "NoSuchEntity")
        # AWS managed policies belong to AWS: they cannot be deleted
        self.assertEqual(error(self.iam.delete_policy, PolicyArn=AWS_POLICY + "AdministratorAccess")[0],
                         "AccessDenied")
        self.iam.get_policy(PolicyArn=AWS_POLICY + "AdministratorAccess")
        # a user cannot attach AdministratorAccess to itself without iam:AttachUserPolicy
        key = self.iam.create_access_key(UserName="eve")["AccessKey"]
        eve = self.k.client("iam", creds=(key["AccessKeyId"], key["SecretAccessKey"]))
        self.assertEqual(error(eve.attach_user_policy, UserName="eve", PolicyArn=AWS_POLICY + "AdministratorAccess")[0],
                         "AccessDenied")

    def test_attacker_other_account_does_not_see_this_accounts_attachments(self):
        rc, _, e = kmsctl("access-key", "add", "--data-dir", self.k.data_dir, "--id", B_ROOT[0],
                          "--secret", B_ROOT[1], "--account", B)
        self.assertEqual(rc, 0, e)
        self.iam.create_user(UserName="counted")
        self.iam.attach_user_policy(UserName="counted", PolicyArn=AWS_POLICY + "IAMFullAccess")
        b = self.k.client("iam", creds=B_ROOT)
        self.assertEqual(b.get_policy(PolicyArn=AWS_POLICY + "IAMFullAccess")["Policy"]["AttachmentCount"], 0)
        self.assertEqual(self.iam.get_policy(PolicyArn=AWS_POLICY + "IAMFullAccess")["Policy"]["AttachmentCount"], 1)


class AdminIsAUser(unittest.TestCase):
    """Issue 10 item 4: the bootstrap administrator holds AdministratorAccess and
    is evaluated like any other user; only the account root is beyond IAM policies."""

    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        cls.iam = cls.k.client("iam")

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def tearDown(self):
        for name in self.iam.list_user_policies(UserName="admin")["PolicyNames"]:
            self.iam.delete_user_policy(UserName="admin", PolicyName=name)

    def test_user_admin_holds_administrator_access(self):
        att = self.iam.list_attached_user_policies(UserName="admin")["AttachedPolicies"]
        self.assertEqual(att, [{"PolicyName": "AdministratorAccess", "PolicyArn": AWS_POLICY + "AdministratorAccess"}])
        self.assertGreaterEqual(self.iam.get_policy(PolicyArn=AWS_POLICY + "AdministratorAccess")["Policy"]
                                ["AttachmentCount"], 1)
        self.k.client("kms").create_key()
        self.iam.create_user(UserName="made-by-admin")

    def test_attacker_deny_on_admin_takes_effect_everywhere(self):
        kms, sts = self.k.client("kms"), self.k.client("sts")
        fed = sts.get_federation_token(Name="fed", Policy=doc(allow("*")))["Credentials"]
        fkms = self.k.client("kms", creds=(fed["AccessKeyId"], fed["SecretAccessKey"]),
                             session_token=fed["SessionToken"])
        fkms.create_key()
        self.iam.put_user_policy(UserName="admin", PolicyName="no", PolicyDocument=doc(
            deny(["kms:CreateKey", "iam:CreateUser", "sts:GetFederationToken"])))
        code, msg = error(kms.create_key)
        self.assertEqual(code, "AccessDeniedException", msg)
        self.assertIn("explicit deny in an identity-based policy", msg)
        code, msg = error(self.iam.create_user, UserName="blocked")
        self.assertEqual(code, "AccessDenied", msg)
        self.assertEqual(error(sts.get_federation_token, Name="fed2")[0], "AccessDenied")
        # the admin's federated session is bound by the admin's Deny too
        self.assertEqual(error(fkms.create_key)[0], "AccessDeniedException")
        # what is not denied still works
        kms.list_keys()
        self.iam.delete_user_policy(UserName="admin", PolicyName="no")
        kms.create_key()

    def test_attacker_deny_on_role_session_with_administrator_access(self):
        self.iam.create_role(RoleName="adm", AssumeRolePolicyDocument=trust({"AWS": ACCT}))
        self.iam.attach_role_policy(RoleName="adm", PolicyArn=AWS_POLICY + "AdministratorAccess")
        self.iam.put_role_policy(RoleName="adm", PolicyName="no", PolicyDocument=doc(deny("kms:CreateKey")))
        s = session_creds(self.k.client("sts").assume_role(RoleArn="arn:aws:iam::%s:role/adm" % ACCT,
                                                           RoleSessionName="s1"))
        skms = self.k.client("kms", creds=s[0], session_token=s[1])
        self.assertEqual(error(skms.create_key)[0], "AccessDeniedException")
        skms.list_keys()

    def test_user_detaching_administrator_access_leaves_admin_nothing(self):
        # detaching AdministratorAccess leaves the administrator with nothing, as on AWS
        self.iam.create_user(UserName="second")
        self.iam.attach_user_policy(UserName="second", PolicyArn=AWS_POLICY + "AdministratorAccess")
        key = self.iam.create_access_key(UserName="second")["AccessKey"]
        second = (key["AccessKeyId"], key["SecretAccessKey"])
        self.k.client("iam", creds=second).detach_user_policy(UserName="admin",
                                                              PolicyArn=AWS_POLICY + "AdministratorAccess")
        try:
            self.assertEqual(error(self.k.client("kms").create_key)[0], "AccessDeniedException")
        finally:
            self.k.client("iam", creds=second).attach_user_policy(UserName="admin",
                                                                  PolicyArn=AWS_POLICY + "AdministratorAccess")
        self.k.client("kms").create_key()

    def test_user_root_stays_full_access(self):
        root = ("AKIAROOTA00000000009", "root-secret-a-0009")
        rc, _, e = kmsctl("access-key", "add", "--data-dir", self.k.data_dir, "--id", root[0], "--secret", root[1])
        self.assertEqual(rc, 0, e)
        self.k.client("kms", creds=root).create_key()
        self.k.client("iam", creds=root).create_user(UserName="by-root")


class KmsctlUsers(unittest.TestCase):
    """Issue 10 item 9: `kmsctl access-key add --user NAME` creates the user when
    it does not exist (in the key's account), and uses it as stored when it does."""

    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        cls.iam = cls.k.client("iam")

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def add(self, *args):
        return kmsctl("access-key", "add", "--data-dir", self.k.data_dir, *args)

    def test_user_missing_user_is_created_and_usable(self):
        rc, out, e = self.add("--id", "AKIAKMSCTLUSER000001", "--secret", "s1", "--user", "ci")
        self.assertEqual(rc, 0, e)
        self.assertIn(b"created user arn:aws:iam::%s:user/ci" % ACCT.encode(), out)
        u = self.iam.get_user(UserName="ci")["User"]
        self.iam.attach_user_policy(UserName="ci", PolicyArn=AWS_POLICY + "AWSKeyManagementServicePowerUser")
        sts = self.k.client("sts", creds=("AKIAKMSCTLUSER000001", "s1"))
        ident = sts.get_caller_identity()
        self.assertEqual((ident["Arn"], ident["UserId"]), (u["Arn"], u["UserId"]))
        self.k.client("kms", creds=("AKIAKMSCTLUSER000001", "s1")).create_key()
        keys = [m["AccessKeyId"] for m in self.iam.list_access_keys(UserName="ci")["AccessKeyMetadata"]]
        self.assertEqual(keys, ["AKIAKMSCTLUSER000001"])
        # a second key for the same user: same user, same id
        rc, out, e = self.add("--id", "AKIAKMSCTLUSER000002", "--secret", "s2", "--user", "CI")
        self.assertEqual(rc, 0, e)
        self.assertNotIn(b"created user", out)
        ident2 = self.k.client("sts", creds=("AKIAKMSCTLUSER000002", "s2")).get_caller_identity()
        self.assertEqual((ident2["Arn"], ident2["UserId"]), (u["Arn"], u["UserId"]))

    def test_user_existing_user_keeps_its_path(self):
        u = self.iam.create_user(UserName="pathy", Path="/teams/kms/")["User"]
        rc, _, e = self.add("--id", "AKIAKMSCTLUSER000003", "--secret", "s3", "--user", "pathy")
        self.assertEqual(rc, 0, e)
        ident = self.k.client("sts", creds=("AKIAKMSCTLUSER000003", "s3")).get_caller_identity()
        self.assertEqual((ident["Arn"], ident["UserId"]), (u["Arn"], u["UserId"]))

    def test_attacker_bad_names_and_other_accounts(self):
        for bad in ("x" * 65, "bad name", "a/b", ""):
            rc, _, e = self.add("--id", "AKIAKMSCTLUSER000009", "--secret", "s", "--user", bad)
            self.assertEqual(rc, 2, (bad, e))
        self.assertEqual(error(self.iam.get_user, UserName="x" * 64)[0], "NoSuchEntity")
        # --account B: the user is created in B, not in the default account
        rc, out, e = self.add("--id", "AKIAKMSCTLUSER000004", "--secret", "s4", "--user", "bee", "--account", B)
        self.assertEqual(rc, 0, e)
        self.assertIn(b"arn:aws:iam::%s:user/bee" % B.encode(), out)
        self.assertEqual(error(self.iam.get_user, UserName="bee")[0], "NoSuchEntity")
        bee = self.k.client("iam", creds=("AKIAKMSCTLUSER000004", "s4"))
        self.assertEqual(error(bee.list_users)[0], "AccessDenied")  # a new user holds no policies


INVALID_KMS = "Policy contains a statement with one or more invalid principals."


def key_doc(*principals, actions=("kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"), effect="Allow", extra=()):
    sts = [{"Sid": "Enable IAM User Permissions", "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::%s:root" % ACCT}, "Action": "kms:*", "Resource": "*"}]
    if principals:
        sts.append({"Sid": "Named", "Effect": effect, "Principal": {"AWS": list(principals)},
                    "Action": list(actions), "Resource": "*"})
    sts.extend(extra)
    return json.dumps({"Version": "2012-10-17", "Statement": sts})


class PrincipalUniqueIds(unittest.TestCase):
    """Issue 16 item 6: principals in key and trust policies are stored as unique ids."""

    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()
        cls.iam = cls.k.client("iam")
        cls.kms = cls.k.client("kms")
        rc, _, e = kmsctl("access-key", "add", "--data-dir", cls.k.data_dir, "--id", B_ROOT[0],
                          "--secret", B_ROOT[1], "--account", B)
        assert rc == 0, e

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def new_user(self, name, policy=None, creds=None, path="/"):
        iam = self.k.client("iam", creds=creds)
        u = iam.create_user(UserName=name, Path=path)["User"]
        if policy:
            iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return u, (key["AccessKeyId"], key["SecretAccessKey"])

    def drop_user(self, name, creds=None):
        iam = self.k.client("iam", creds=creds)
        for m in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
            iam.delete_access_key(UserName=name, AccessKeyId=m["AccessKeyId"])
        for p in iam.list_user_policies(UserName=name)["PolicyNames"]:
            iam.delete_user_policy(UserName=name, PolicyName=p)
        iam.delete_user(UserName=name)

    def test_attacker_recreated_user_does_not_inherit_trust(self):
        u, creds = self.new_user("alice", doc(allow("sts:AssumeRole")))
        self.iam.create_role(RoleName="target", AssumeRolePolicyDocument=trust({"AWS": u["Arn"]}))
        arn = "arn:aws:iam::%s:role/target" % ACCT
        self.k.client("sts", creds=creds).assume_role(RoleArn=arn, RoleSessionName="s1")
        shown = self.iam.get_role(RoleName="target")["Role"]["AssumeRolePolicyDocument"]
        self.assertEqual(shown["Statement"][0]["Principal"]["AWS"], u["Arn"])
        self.drop_user("alice")
        u2, creds2 = self.new_user("alice", doc(allow("sts:AssumeRole")))
        self.assertNotEqual(u["UserId"], u2["UserId"])
        code, _ = error(self.k.client("sts", creds=creds2).assume_role, RoleArn=arn, RoleSessionName="s2")
        self.assertEqual(code, "AccessDenied")
        # the deleted principal shows as its unique id
        shown = self.iam.get_role(RoleName="target")["Role"]["AssumeRolePolicyDocument"]
        self.assertEqual(shown["Statement"][0]["Principal"]["AWS"], u["UserId"])
        # saving the ARN again binds the new user
        self.iam.update_assume_role_policy(RoleName="target", PolicyDocument=trust({"AWS": u2["Arn"]}))
        self.k.client("sts", creds=creds2).assume_role(RoleArn=arn, RoleSessionName="s3")

    def test_attacker_recreated_role_does_not_inherit_key_policy(self):
        tr = trust({"AWS": ACCT})
        role = self.iam.create_role(RoleName="app", Path="/svc/", AssumeRolePolicyDocument=tr)["Role"]
        kid = self.kms.create_key(Policy=key_doc(role["Arn"]))["KeyMetadata"]["KeyId"]

        def session_kms():
            s = session_creds(self.k.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="s1"))
            return self.k.client("kms", creds=s[0], session_token=s[1])

        session_kms().encrypt(KeyId=kid, Plaintext=b"x")
        pol = json.loads(self.kms.get_key_policy(KeyId=kid)["Policy"])
        self.assertEqual(pol["Statement"][1]["Principal"]["AWS"], [role["Arn"]])
        self.iam.delete_role(RoleName="app")
        role2 = self.iam.create_role(RoleName="app", Path="/svc/", AssumeRolePolicyDocument=tr)["Role"]
        self.assertNotEqual(role["RoleId"], role2["RoleId"])
        code, msg = error(session_kms().encrypt, KeyId=kid, Plaintext=b"x")
        self.assertEqual(code, "AccessDeniedException", msg)
        pol = json.loads(self.kms.get_key_policy(KeyId=kid)["Policy"])
        self.assertEqual(pol["Statement"][1]["Principal"]["AWS"], [role["RoleId"]])
        # a dangling id cannot be saved back: it names no principal
        code, msg = error(self.kms.put_key_policy, KeyId=kid, PolicyName="default", Policy=json.dumps(pol))
        self.assertEqual((code, msg), ("MalformedPolicyDocumentException", INVALID_KMS))

    def test_attacker_recreated_user_does_not_inherit_key_policy_deny_or_allow(self):
        u, creds = self.new_user("kuser")
        kid = self.kms.create_key(Policy=key_doc(u["Arn"]))["KeyMetadata"]["KeyId"]
        self.k.client("kms", creds=creds).encrypt(KeyId=kid, Plaintext=b"x")
        self.drop_user("kuser")
        u2, creds2 = self.new_user("kuser")
        self.assertEqual(error(self.k.client("kms", creds=creds2).encrypt, KeyId=kid, Plaintext=b"x")[0],
                         "AccessDeniedException")

    def test_attacker_nonexistent_principals_are_refused(self):
        self.new_user("present", path="/p/")
        ghosts = ["arn:aws:iam::%s:user/ghost" % ACCT, "arn:aws:iam::%s:role/ghost" % ACCT,
                  "arn:aws:iam::%s:user/present" % ACCT,          # wrong path: names no user
                  "arn:aws:iam::%s:user/other/p/present" % ACCT,
                  "AIDAAAAAAAAAAAAAAAAAA", "AROAAAAAAAAAAAAAAAAAA",
                  "arn:aws:iam::%s:user/present" % B]             # no such user in account B
        for g in ghosts:
            code, msg = error(self.kms.create_key, Policy=key_doc(g))
            self.assertEqual((code, msg), ("MalformedPolicyDocumentException", INVALID_KMS), g)
            nd = key_doc(extra=[{"Effect": "Deny", "NotPrincipal": {"AWS": [g]}, "Action": "kms:Decrypt",
                                 "Resource": "*"}])
            self.assertEqual(error(self.kms.create_key, Policy=nd)[0], "MalformedPolicyDocumentException", g)
            code, msg = error(self.iam.create_role, RoleName="r-ghost", AssumeRolePolicyDocument=trust({"AWS": g}))
            self.assertEqual(code, "MalformedPolicyDocument", g)
            self.assertEqual(msg, 'Invalid principal in policy: "AWS":"%s"' % g)
        kid = self.kms.create_key()["KeyMetadata"]["KeyId"]
        code, msg = error(self.kms.put_key_policy, KeyId=kid, PolicyName="default", Policy=key_doc(ghosts[0]))
        self.assertEqual((code, msg), ("MalformedPolicyDocumentException", INVALID_KMS))
        self.iam.create_role(RoleName="r-real", AssumeRolePolicyDocument=trust({"AWS": ACCT}))
        code, msg = error(self.iam.update_assume_role_policy, RoleName="r-real",
                          PolicyDocument=trust({"AWS": [ACCT, ghosts[1]]}))
        self.assertEqual((code, msg), ("MalformedPolicyDocument", 'Invalid principal in policy: "AWS":"%s"' % ghosts[1]))

    def test_user_principals_round_trip(self):
        u, _ = self.new_user("rt", path="/teams/")
        role = self.iam.create_role(RoleName="rt-role", AssumeRolePolicyDocument=trust({"AWS": ACCT}))["Role"]
        bu = self.k.client("iam", creds=B_ROOT).create_user(UserName="b-user")["User"]
        principals = [u["Arn"], role["Arn"], "arn:aws:iam::%s:root" % B, ACCT, bu["Arn"]]
        text = key_doc(*principals, extra=[{"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
                                            "Action": "kms:Decrypt", "Resource": "*"}])
        kid = self.kms.create_key(Policy=text)["KeyMetadata"]["KeyId"]
        self.assertEqual(json.loads(self.kms.get_key_policy(KeyId=kid)["Policy"]), json.loads(text))
        # a unique id of an existing principal is accepted and shown as its ARN
        self.kms.put_key_policy(KeyId=kid, PolicyName="default", Policy=key_doc(u["UserId"], role["RoleId"]))
        self.assertEqual(json.loads(self.kms.get_key_policy(KeyId=kid)["Policy"])["Statement"][1]["Principal"]["AWS"],
                         [u["Arn"], role["Arn"]])
        # the account root only: stored byte for byte
        plain = key_doc()
        kid2 = self.kms.create_key(Policy=plain)["KeyMetadata"]["KeyId"]
        self.assertEqual(self.kms.get_key_policy(KeyId=kid2)["Policy"], plain)
        # trust policies too
        t = trust({"AWS": [u["Arn"], "arn:aws:iam::%s:root" % B]})
        r = self.iam.create_role(RoleName="rt-role2", AssumeRolePolicyDocument=t)["Role"]
        self.assertEqual(r["AssumeRolePolicyDocument"], json.loads(t))
        self.assertEqual(self.iam.get_role(RoleName="rt-role2")["Role"]["AssumeRolePolicyDocument"], json.loads(t))

    def test_attacker_other_account_recreated_user_loses_cross_account_access(self):
        b = self.k.client("iam", creds=B_ROOT)
        u, creds = self.new_user("xacct", policy=doc(allow("kms:*")), creds=B_ROOT)
        kid = self.kms.create_key(Policy=key_doc(u["Arn"]))["KeyMetadata"]["Arn"]
        self.k.client("kms", creds=creds).encrypt(KeyId=kid, Plaintext=b"x")
        self.drop_user("xacct", creds=B_ROOT)
        u2, creds2 = self.new_user("xacct", policy=doc(allow("kms:*")), creds=B_ROOT)
        self.assertEqual(error(self.k.client("kms", creds=creds2).encrypt, KeyId=kid, Plaintext=b"x")[0],
                         "AccessDeniedException")
        self.assertTrue(b.get_user(UserName="xacct"))


if __name__ == "__main__":
    main()
