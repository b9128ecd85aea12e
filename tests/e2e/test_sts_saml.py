"""AssumeRoleWithSAML end to end: a SAML provider created through IAM with a
test IdP's metadata, SAML responses signed with the `xmlsec1` CLI (an
independent implementation) by the IdP's key, called unsigned with boto3 and
the aws CLI. The attacker's cases: unsigned, another key, altered after
signing, XML signature wrapping (a second assertion, a signature moved to
the response, an assertion wrapped in Extensions), a DTD, expiry, the wrong
audience and recipient, an issuer or role pair the assertion does not hold.
"""
import base64
import datetime
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import uuid

import boto3
import botocore
import botocore.config
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from kmsd_harness import Kmsd, main
from sts_common import creds_of, expect_error, trust

ACCT = "000000000000"
IDP = "https://idp.example.test/saml"
SIGNIN = "https://signin.aws.amazon.com/saml"
XMLSEC1 = shutil.which("xmlsec1")


def make_idp(cn):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365)).sign(key, hashes.SHA256()))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return pem, base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def metadata(cert_b64, entity=IDP):
    return ('<?xml version="1.0"?>\n<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            'entityID="%s"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
            '<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data>'
            '<ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>'
            '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
            'Location="https://idp.example.test/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>\n'
            % (entity, cert_b64))


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


SIG_TMPL = ('<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>'
            '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'
            '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
            '<ds:Reference URI="#%s"><ds:Transforms>'
            '<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
            '<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>'
            '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/>'
            '</ds:Reference></ds:SignedInfo><ds:SignatureValue/></ds:Signature>')


def attr(name, *values):
    return ('<saml:Attribute Name="%s">' % name +
            "".join('<saml:AttributeValue>%s</saml:AttributeValue>' % v for v in values) + '</saml:Attribute>')


def assertion(aid, role_pairs, session="alice", name_id="alice@example.test", now=None, issuer=IDP,
              audience=SIGNIN, recipient=SIGNIN, not_after=300, issued=None, extra_attrs="", sign=True,
              session_end=None):
    now = now or int(__import__("time").time())
    issued = now if issued is None else issued
    attrs = attr("https://aws.amazon.com/SAML/Attributes/Role", *role_pairs)
    if session is not None:
        attrs += attr("https://aws.amazon.com/SAML/Attributes/RoleSessionName", session)
    attrs += extra_attrs
    authn = ('<saml:AuthnStatement AuthnInstant="%s"%s><saml:AuthnContext><saml:AuthnContextClassRef>'
             'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef>'
             '</saml:AuthnContext></saml:AuthnStatement>'
             % (iso(issued), ' SessionNotOnOrAfter="%s"' % iso(session_end) if session_end else ""))
    return ('<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="%s" Version="2.0" '
            'IssueInstant="%s"><saml:Issuer>%s</saml:Issuer>%s<saml:Subject>'
            '<saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">%s</saml:NameID>'
            '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
            '<saml:SubjectConfirmationData NotOnOrAfter="%s" Recipient="%s"/></saml:SubjectConfirmation>'
            '</saml:Subject><saml:Conditions NotBefore="%s" NotOnOrAfter="%s"><saml:AudienceRestriction>'
            '<saml:Audience>%s</saml:Audience></saml:AudienceRestriction></saml:Conditions>%s'
            '<saml:AttributeStatement>%s</saml:AttributeStatement></saml:Assertion>'
            % (aid, iso(issued), issuer, SIG_TMPL % aid if sign else "", name_id, iso(now + not_after), recipient,
               iso(now - 60), iso(now + not_after), audience, authn, attrs))


def response(inner, rid, now=None, sign=False, issuer=IDP):
    now = now or int(__import__("time").time())
    return ('<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="%s" Version="2.0" '
            'IssueInstant="%s" Destination="%s"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">'
            '%s</saml:Issuer>%s<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>'
            '</samlp:Status>%s</samlp:Response>'
            % (rid, iso(now), SIGNIN, issuer, SIG_TMPL % rid if sign else "", inner))


def xmlsec_sign(xml, key_pem, node):
    """Signs the ds:Signature template inside node (Assertion or Response) with the xmlsec1 CLI."""
    d = tempfile.mkdtemp()
    try:
        with open(os.path.join(d, "t.xml"), "w") as f:
            f.write(xml)
        with open(os.path.join(d, "k.pem"), "wb") as f:
            f.write(key_pem)
        ns = {"Assertion": "urn:oasis:names:tc:SAML:2.0:assertion", "Response": "urn:oasis:names:tc:SAML:2.0:protocol"}
        p = subprocess.run([XMLSEC1, "--sign", "--privkey-pem", os.path.join(d, "k.pem"),
                            "--id-attr:ID", "%s:%s" % (ns[node], node), "--node-xpath",
                            "//*[local-name()='%s']/*[local-name()='Signature']" % node,
                            "--output", os.path.join(d, "o.xml"), os.path.join(d, "t.xml")],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise AssertionError("xmlsec1 failed: " + p.stderr)
        with open(os.path.join(d, "o.xml")) as f:
            return f.read()
    finally:
        shutil.rmtree(d)


def b64(xml):
    return base64.b64encode(xml.encode()).decode()


@unittest.skipIf(XMLSEC1 is None, "xmlsec1 CLI missing: run scripts/deps.sh --test")
class SAML(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.key, cls.cert = make_idp("idp.example.test")
        cls.other_key, cls.other_cert = make_idp("evil.example.test")
        cls.k = Kmsd().start()
        cls.iam = cls.k.client("iam")
        cls.provider = cls.iam.create_saml_provider(Name="TestIdP", SAMLMetadataDocument=metadata(cls.cert))[
            "SAMLProviderArn"]
        cls.role = cls.iam.create_role(RoleName="saml-dev", AssumeRolePolicyDocument=trust(
            {"Federated": cls.provider}, action="sts:AssumeRoleWithSAML",
            condition={"StringEquals": {"SAML:aud": SIGNIN}, "StringLike": {"saml:sub": "*@example.test"}}))["Role"]
        cls.pair = "%s,%s" % (cls.role["Arn"], cls.provider)
        cls.anon = boto3.client("sts", endpoint_url=cls.k.endpoint, region_name="us-east-1",
                                config=botocore.config.Config(signature_version=botocore.UNSIGNED,
                                                              retries={"max_attempts": 1}))

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def signed(self, key=None, sign_response=False, **kw):
        """A Response whose Assertion (or, with sign_response, the Response) is signed."""
        aid, rid = "_a" + uuid.uuid4().hex, "_r" + uuid.uuid4().hex
        kw.setdefault("role_pairs", [self.pair])
        a = assertion(aid, sign=not sign_response, **kw)
        xml = response(a, rid, sign=sign_response)
        return xmlsec_sign(xml, key or self.key, "Response" if sign_response else "Assertion")

    def assume(self, xml, role=None, provider=None, **kw):
        return self.anon.assume_role_with_saml(RoleArn=role or self.role["Arn"], PrincipalArn=provider or self.provider,
                                               SAMLAssertion=b64(xml), **kw)

    def test_1_provider_api(self):
        got = self.iam.get_saml_provider(SAMLProviderArn=self.provider)
        self.assertIn(self.cert, got["SAMLMetadataDocument"])
        self.assertTrue(got["SAMLProviderUUID"])
        arns = [p["Arn"] for p in self.iam.list_saml_providers()["SAMLProviderList"]]
        self.assertIn(self.provider, arns)
        expect_error(self, lambda: self.iam.create_saml_provider(Name="TestIdP", SAMLMetadataDocument=metadata(
            self.cert)), "EntityAlreadyExists", 409)
        m = expect_error(self, lambda: self.iam.create_saml_provider(Name="Bad", SAMLMetadataDocument="<x/>" * 300),
                         "InvalidInput", 400)
        self.assertEqual(m, "Could not parse metadata")
        # an X509Certificate that is not a certificate
        expect_error(self, lambda: self.iam.create_saml_provider(Name="Bad", SAMLMetadataDocument=metadata(
            base64.b64encode(b"x" * 900).decode())), "InvalidInput", 400)
        expect_error(self, lambda: self.iam.create_saml_provider(Name="bad name", SAMLMetadataDocument=metadata(
            self.cert)), "ValidationError", 400)
        # update, then delete a second provider; the CLI too
        arn2 = self.iam.create_saml_provider(Name="Second.IdP", SAMLMetadataDocument=metadata(self.cert))[
            "SAMLProviderArn"]
        self.assertEqual(arn2, "arn:aws:iam::%s:saml-provider/Second.IdP" % ACCT)
        self.assertEqual(self.iam.update_saml_provider(SAMLProviderArn=arn2, SAMLMetadataDocument=metadata(
            self.other_cert))["SAMLProviderArn"], arn2)
        self.assertIn(self.other_cert, self.iam.get_saml_provider(SAMLProviderArn=arn2)["SAMLMetadataDocument"])
        _, out, _ = self.k.cli("iam", "get-saml-provider", "--saml-provider-arn", arn2)
        self.assertIn(self.other_cert, out["SAMLMetadataDocument"])
        self.k.cli("iam", "delete-saml-provider", "--saml-provider-arn", arn2)
        expect_error(self, lambda: self.iam.get_saml_provider(SAMLProviderArn=arn2), "NoSuchEntity", 404)
        expect_error(self, lambda: self.iam.delete_saml_provider(SAMLProviderArn=arn2.lower()), "NoSuchEntity", 404)

    def test_2_assume(self):
        out = self.assume(self.signed(), DurationSeconds=900)
        self.assertEqual(out["Subject"], "alice@example.test")
        self.assertEqual(out["SubjectType"], "persistent")
        self.assertEqual(out["Issuer"], IDP)
        self.assertEqual(out["Audience"], SIGNIN)
        nq = base64.b64encode(hashlib.sha1((IDP + ACCT + "/TestIdP").encode()).digest()).decode()
        self.assertEqual(out["NameQualifier"], nq)
        self.assertEqual(out["AssumedRoleUser"]["Arn"], "arn:aws:sts::%s:assumed-role/saml-dev/alice" % ACCT)
        c, t = creds_of(out["Credentials"])
        self.assertEqual(self.k.client("sts", creds=c, session_token=t).get_caller_identity()["Arn"],
                         out["AssumedRoleUser"]["Arn"])
        # a signed Response (not Assertion) is accepted too; role pair in either order
        out = self.assume(self.signed(sign_response=True, role_pairs=["%s,%s" % (self.provider, self.role["Arn"])]))
        self.assertEqual(out["Subject"], "alice@example.test")
        # the aws CLI, unsigned
        _, out, _ = self.k.cli("sts", "assume-role-with-saml", "--role-arn", self.role["Arn"], "--principal-arn",
                               self.provider, "--saml-assertion", b64(self.signed(session="cli-user")))
        self.assertEqual(out["AssumedRoleUser"]["Arn"], "arn:aws:sts::%s:assumed-role/saml-dev/cli-user" % ACCT)
        # the CLI shows the error code and status of a refusal
        rc, _, errout = self.k.cli("sts", "assume-role-with-saml", "--role-arn", self.role["Arn"], "--principal-arn",
                                   self.provider, "--saml-assertion", b64(self.signed(key=self.other_key)),
                                   check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("InvalidIdentityToken", errout)
        self.assertIn("Response signature invalid", errout)

    def test_3_signature_refusals(self):
        aid, rid = "_a" + uuid.uuid4().hex, "_r" + uuid.uuid4().hex
        unsigned = response(assertion(aid, [self.pair], sign=False), rid)
        expect_error(self, lambda: self.assume(unsigned), "InvalidIdentityToken", 400, "Response signature invalid")
        expect_error(self, lambda: self.assume(self.signed(key=self.other_key)), "InvalidIdentityToken", 400,
                     "Response signature invalid")
        good = self.signed()
        altered = good.replace("alice@example.test", "mallory@example.test")
        self.assertNotEqual(altered, good)
        expect_error(self, lambda: self.assume(altered), "InvalidIdentityToken", 400, "Response signature invalid")
        # an empty template (digest and signature value blank) is no signature
        tmpl = response(assertion(aid, [self.pair]), rid)
        expect_error(self, lambda: self.assume(tmpl), "InvalidIdentityToken", 400)

    def test_4_signature_wrapping(self):
        good = self.signed()
        start = good.index("<saml:Assertion")
        end = good.index("</saml:Assertion>") + len("</saml:Assertion>")
        signed_a = good[start:end]
        evil_id = "_evil" + uuid.uuid4().hex
        evil = assertion(evil_id, [self.pair], session="mallory", name_id="mallory@example.test", sign=False)
        # 1: the signed assertion kept beside an unsigned evil one
        w1 = good[:start] + evil + signed_a + good[end:]
        expect_error(self, lambda: self.assume(w1), "InvalidIdentityToken", 400)
        # 2: the signed assertion hidden in Extensions, the evil one (same ID) in its place
        aid = signed_a.split('ID="', 1)[1].split('"', 1)[0]
        evil_same = assertion(aid, [self.pair], session="mallory", name_id="mallory@example.test", sign=False)
        w2 = (good[:start].replace("<samlp:Status>", "<samlp:Extensions>%s</samlp:Extensions><samlp:Status>"
                                   % signed_a) + evil_same + good[end:])
        expect_error(self, lambda: self.assume(w2), "InvalidIdentityToken", 400)
        # 3: the assertion's signature moved up to the Response, still naming the assertion
        sig_start = signed_a.index("<ds:Signature")
        sig_end = signed_a.index("</ds:Signature>") + len("</ds:Signature>")
        sig = signed_a[sig_start:sig_end]
        bare = signed_a[:sig_start] + signed_a[sig_end:]
        w3 = good[:start].replace("<samlp:Status>", sig + "<samlp:Status>") + bare + good[end:]
        expect_error(self, lambda: self.assume(w3), "InvalidIdentityToken", 400)
        # 4: the evil assertion carries the copied signature (its Reference names the original ID)
        evil_sig = evil[:evil.index("<saml:Subject>")] + sig + evil[evil.index("<saml:Subject>"):]
        w4 = good[:start] + evil_sig + good[end:]
        expect_error(self, lambda: self.assume(w4), "InvalidIdentityToken", 400, "Response signature invalid")
        # 5: a DTD (entity tricks) is refused before anything else
        w5 = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "alice@example.test">]>' + good
        expect_error(self, lambda: self.assume(w5), "InvalidIdentityToken", 400)
        # 7: a comment inside the NameID (signed content without comments under exclusive c14n): the
        # whole text is the subject, not the part before the comment, so the trust policy's *@example.test fails
        expect_error(self, lambda: self.assume(self.signed(name_id="alice@example.test<!---->.evil.test")),
                     "AccessDenied", 403)
        # 6: an xml:id elsewhere clashing with the assertion's ID
        w6 = good.replace("<samlp:Status>", '<samlp:Status xml:id="%s">' % aid)
        expect_error(self, lambda: self.assume(w6), "InvalidIdentityToken", 400)

    def test_5_claims(self):
        import time
        now = int(time.time())
        m = expect_error(self, lambda: self.assume(self.signed(now=now - 400, not_after=60, issued=now - 400)),
                         "ExpiredTokenException", 400)
        self.assertEqual(m, "Token must be redeemed within 5 minutes of issuance")
        expect_error(self, lambda: self.assume(self.signed(now=now - 100, not_after=30)), "ExpiredTokenException", 400,
                     "Token expired")
        expect_error(self, lambda: self.assume(self.signed(audience="https://evil.example.test/")),
                     "InvalidIdentityToken", 400, "audience")
        expect_error(self, lambda: self.assume(self.signed(recipient="https://evil.example.test/acs")),
                     "InvalidIdentityToken", 400, "Recipient")
        m = expect_error(self, lambda: self.assume(self.signed(issuer="https://other-idp.example.test")),
                         "InvalidIdentityToken", 400)
        self.assertEqual(m, "Issuer not present in specified provider")
        m = expect_error(self, lambda: self.assume(self.signed(session=None)), "InvalidIdentityToken", 400)
        self.assertEqual(m, "RoleSessionName is required in AuthnResponse")
        expect_error(self, lambda: self.assume(self.signed(session="a b")), "InvalidIdentityToken", 400,
                     "RoleSessionName in AuthnResponse must match")
        # the pair asked for must be in the Role attribute
        other = self.iam.create_role(RoleName="saml-other", AssumeRolePolicyDocument=trust(
            {"Federated": self.provider}, action="sts:AssumeRoleWithSAML"))["Role"]
        m = expect_error(self, lambda: self.assume(self.signed(), role=other["Arn"]), "AccessDenied", 403)
        self.assertEqual(m, "Not authorized to perform sts:AssumeRoleWithSAML")
        # the trust policy's saml:sub condition
        expect_error(self, lambda: self.assume(self.signed(name_id="bob@evil.test")), "AccessDenied", 403)
        m = expect_error(self, lambda: self.assume(self.signed(), provider="arn:aws:iam::%s:saml-provider/Nope"
                                                   % ACCT), "InvalidIdentityToken", 400)
        self.assertEqual(m, "Specified provider doesn't exist")
        expect_error(self, lambda: self.assume(self.signed(), DurationSeconds=7200), "ValidationError", 400,
                     "MaxSessionDuration")
        expect_error(self, lambda: self.anon.assume_role_with_saml(RoleArn=self.role["Arn"], PrincipalArn=self.provider,
                                                                   SAMLAssertion="bm90IHhtbA=="),
                     "InvalidIdentityToken", 400)
        # SessionNotOnOrAfter shortens the session
        out = self.assume(self.signed(session_end=now + 1000))
        exp = out["Credentials"]["Expiration"].timestamp()
        self.assertLessEqual(exp, now + 1000 + 2)
        self.assertEqual(out["AssumedRoleUser"]["Arn"],
                         "arn:aws:sts::%s:assumed-role/%s/alice" % (ACCT, self.role["RoleName"]))
        self.assertTrue(out["AssumedRoleUser"]["AssumedRoleId"].startswith(self.role["RoleId"] + ":alice"))
        # ... and one that has already ended gives no session at all
        m = expect_error(self, lambda: self.assume(self.signed(session_end=now - 10)), "ExpiredTokenException", 400)
        self.assertEqual(m, "The SAML session (SessionNotOnOrAfter) has ended")

    def test_6_tags_and_source_identity(self):
        tags = (attr("https://aws.amazon.com/SAML/Attributes/PrincipalTag:Project", "blue") +
                attr("https://aws.amazon.com/SAML/Attributes/TransitiveTagKeys", "Project"))
        m = expect_error(self, lambda: self.assume(self.signed(extra_attrs=tags)), "AccessDenied", 403)
        self.assertEqual(m, "Not authorized to perform sts:TagSession")
        si = attr("https://aws.amazon.com/SAML/Attributes/SourceIdentity", "alice")
        # a source identity needs sts:SetSourceIdentity in the trust policy, which this role's lacks
        m = expect_error(self, lambda: self.assume(self.signed(extra_attrs=si)), "AccessDenied", 403)
        self.assertEqual(m, "Not authorized to perform sts:SetSourceIdentity")
        self.iam.create_role(RoleName="saml-tags", AssumeRolePolicyDocument=trust(
            {"Federated": self.provider}, action="sts:AssumeRoleWithSAML",
            extra_actions=["sts:TagSession", "sts:SetSourceIdentity"],
            condition={"StringEquals": {"aws:RequestTag/Project": "blue", "saml:iss": IDP,
                                        "saml:doc": ACCT + "/TestIdP", "saml:sub_type": "persistent"}}))
        role = "arn:aws:iam::%s:role/saml-tags" % ACCT
        pair = "%s,%s" % (role, self.provider)
        out = self.assume(self.signed(role_pairs=[self.pair, pair], extra_attrs=tags + si), role=role)
        self.assertEqual(out["SourceIdentity"], "alice")
        self.assertGreater(out["PackedPolicySize"], 0)
        red = attr("https://aws.amazon.com/SAML/Attributes/PrincipalTag:Project", "red")
        expect_error(self, lambda: self.assume(self.signed(role_pairs=[pair], extra_attrs=red), role=role),
                     "AccessDenied", 403)

    def test_7_attacker_on_the_trust_tail(self):
        """The checks after the assume itself (sts_federated_issue): Deny statements for the federated
        principal, a role under an IAM path, another account's role, malformed source identities."""
        fed = {"Federated": self.provider}
        doc = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": fed,
             "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession", "sts:SetSourceIdentity"]},
            {"Effect": "Deny", "Principal": fed, "Action": "sts:SetSourceIdentity",
             "Condition": {"StringEquals": {"sts:SourceIdentity": "mallory"}}},
            {"Effect": "Deny", "Principal": fed, "Action": "sts:TagSession",
             "Condition": {"StringEquals": {"aws:RequestTag/Project": "root"}}}]}
        role = self.iam.create_role(RoleName="saml-pathed", Path="/fed/team/",
                                    AssumeRolePolicyDocument=json.dumps(doc))["Role"]
        self.assertEqual(role["Arn"], "arn:aws:iam::%s:role/fed/team/saml-pathed" % ACCT)
        pair = "%s,%s" % (role["Arn"], self.provider)
        si = lambda v: attr("https://aws.amazon.com/SAML/Attributes/SourceIdentity", v)
        tag = lambda v: attr("https://aws.amazon.com/SAML/Attributes/PrincipalTag:Project", v)
        # allowed: the session ARN names the role without its path
        out = self.assume(self.signed(role_pairs=[pair], extra_attrs=si("alice") + tag("blue")), role=role["Arn"])
        self.assertEqual(out["AssumedRoleUser"]["Arn"], "arn:aws:sts::%s:assumed-role/saml-pathed/alice" % ACCT)
        self.assertEqual(out["SourceIdentity"], "alice")
        # each Deny stops just its action
        m = expect_error(self, lambda: self.assume(self.signed(role_pairs=[pair], extra_attrs=si("mallory")),
                                                   role=role["Arn"]), "AccessDenied", 403)
        self.assertEqual(m, "Not authorized to perform sts:SetSourceIdentity")
        m = expect_error(self, lambda: self.assume(self.signed(role_pairs=[pair], extra_attrs=tag("root")),
                                                   role=role["Arn"]), "AccessDenied", 403)
        self.assertEqual(m, "Not authorized to perform sts:TagSession")
        # the same role name in another account, with this account's provider: refused before any trust
        # policy is read (the provider must be in the role's account)
        other = "arn:aws:iam::111122223333:role/fed/team/saml-pathed"
        m = expect_error(self, lambda: self.assume(self.signed(role_pairs=["%s,%s" % (other, self.provider)]),
                                                   role=other), "ValidationError", 400)
        self.assertEqual(m, "%s is invalid" % self.provider)
        # overlong and out-of-alphabet source identities never reach the trust policy
        for bad in ("a" * 65, "alice/../root", "a"):
            expect_error(self, lambda: self.assume(self.signed(role_pairs=[pair], extra_attrs=si(bad)),
                                                   role=role["Arn"]), "InvalidIdentityToken", 400,
                         "Source Identity must match")


if __name__ == "__main__":
    main()
