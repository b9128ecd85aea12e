"""Helpers shared by the authorization end-to-end tests (test_authz_*.py)."""
import json

import botocore.exceptions

ACCT = "000000000000"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions, resource="*", **extra):
    st = {"Effect": "Allow", "Action": actions, "Resource": resource}
    st.update(extra)
    return st


def deny(actions, resource="*", **extra):
    st = {"Effect": "Deny", "Action": actions, "Resource": resource}
    st.update(extra)
    return st


def key_statement(principal, actions, effect="Allow", condition=None, sid=None):
    st = {"Effect": effect, "Principal": {"AWS": principal}, "Action": actions, "Resource": "*"}
    if condition:
        st["Condition"] = condition
    if sid:
        st["Sid"] = sid
    return st


def root_statement(acct=ACCT):
    return key_statement("arn:aws:iam::%s:root" % acct, "kms:*", sid="Enable IAM User Permissions")


def error(fn, *a, **kw):
    """Runs fn; returns (code, message) of the ClientError it must raise."""
    try:
        fn(*a, **kw)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"].get("Message", "")
    raise AssertionError("no error raised")


def make_user(k, name, policy=None, creds=None):
    iam = k.client("iam", creds=creds)
    u = iam.create_user(UserName=name)["User"]
    if policy:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return u, (key["AccessKeyId"], key["SecretAccessKey"])


def session_creds(out):
    c = out["Credentials"]
    return (c["AccessKeyId"], c["SecretAccessKey"]), c["SessionToken"]
