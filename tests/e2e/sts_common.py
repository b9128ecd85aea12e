"""Helpers shared by the STS/IAM end-to-end tests."""
import json

import botocore.exceptions


def err(e):
    return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"].get("Message", "")


def trust(principal, action="sts:AssumeRole", condition=None, extra_actions=()):
    st = {"Effect": "Allow", "Principal": principal, "Action": [action] + list(extra_actions)}
    if condition:
        st["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [st]})


def creds_of(c):
    return (c["AccessKeyId"], c["SecretAccessKey"]), c["SessionToken"]


def make_user(k, name):
    iam = k.client("iam")
    u = iam.create_user(UserName=name)["User"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return u, (key["AccessKeyId"], key["SecretAccessKey"])


def expect_error(test, fn, code, status, msg_part=None):
    with test.assertRaises(botocore.exceptions.ClientError) as cm:
        fn()
    c, s, m = err(cm.exception)
    test.assertEqual((c, s), (code, status), m)
    if msg_part:
        test.assertIn(msg_part, m)
    return m
