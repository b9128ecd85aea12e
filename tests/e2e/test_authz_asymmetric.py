"""Authorization of the asymmetric, HMAC and key-agreement operations (issue
11, part 6): key policies with kms:SigningAlgorithm, kms:MessageType,
kms:MacAlgorithm, kms:EncryptionAlgorithm, kms:KeyAgreementAlgorithm,
kms:KeySpec, kms:KeyUsage and kms:DataKeyPairSpec; grants for the new
operations (a grant for Verify alone does not allow Sign); CreateGrant
accepts the new operations only for keys they fit."""
import hashlib
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from authz_common import ACCT, allow, doc, error, key_statement, make_user, root_statement
from kmsd_harness import KmsdTestCase, main


class AsymmetricAuthz(KmsdTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user, creds = make_user(cls.k, "signer")
        cls.ukms = cls.k.client("kms", creds=creds)
        cls.other, ocreds = make_user(cls.k, "grantee")
        cls.okms = cls.k.client("kms", creds=ocreds)

    def key(self, spec, usage, *statements):
        policy = doc(root_statement(), *statements)
        return self.kms.create_key(KeySpec=spec, KeyUsage=usage, Policy=policy)["KeyMetadata"]["KeyId"]

    def denied(self, fn, **kw):
        self.assertEqual(error(fn, **kw)[0], "AccessDeniedException")

    def test_signing_algorithm_condition(self):
        rsa = self.key("RSA_2048", "SIGN_VERIFY", key_statement(self.user["Arn"], "kms:Sign", condition={
            "StringEquals": {"kms:SigningAlgorithm": "RSASSA_PSS_SHA_256"}}))
        self.ukms.sign(KeyId=rsa, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")
        self.denied(self.ukms.sign, KeyId=rsa, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_384")
        self.denied(self.ukms.sign, KeyId=rsa, Message=b"m", SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")
        # ECDSA_SHA_256 only: the case, on a key whose spec takes both requests up to the policy
        p256 = self.key("ECC_NIST_P256", "SIGN_VERIFY", key_statement(self.user["Arn"], "kms:Sign", condition={
            "StringEquals": {"kms:SigningAlgorithm": "ECDSA_SHA_256"}}))
        self.ukms.sign(KeyId=p256, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
        self.denied(self.ukms.sign, KeyId=p256, Message=b"m", SigningAlgorithm="ECDSA_SHA_384")

    def test_message_type_condition(self):
        kid = self.key("ECC_SECG_P256K1", "SIGN_VERIFY", key_statement(self.user["Arn"], ["kms:Sign", "kms:Verify"],
                                                                        condition={"StringEquals": {
                                                                            "kms:MessageType": "DIGEST"}}))
        d = hashlib.sha256(b"tx").digest()
        sig = self.ukms.sign(KeyId=kid, Message=d, MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
        self.denied(self.ukms.sign, KeyId=kid, Message=b"tx", SigningAlgorithm="ECDSA_SHA_256")  # RAW by default
        self.denied(self.ukms.sign, KeyId=kid, Message=b"tx", MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256")
        self.ukms.verify(KeyId=kid, Message=d, MessageType="DIGEST", Signature=sig, SigningAlgorithm="ECDSA_SHA_256")
        self.denied(self.ukms.verify, KeyId=kid, Message=b"tx", Signature=sig, SigningAlgorithm="ECDSA_SHA_256")
        # Deny on RAW holds even for the key's administrator policy
        kid2 = self.key("ECC_NIST_P256", "SIGN_VERIFY",
                        key_statement(self.user["Arn"], "kms:Sign"),
                        key_statement(self.user["Arn"], "kms:Sign", effect="Deny",
                                      condition={"StringEquals": {"kms:MessageType": "RAW"}}))
        self.ukms.sign(KeyId=kid2, Message=hashlib.sha256(b"x").digest(), MessageType="DIGEST",
                       SigningAlgorithm="ECDSA_SHA_256")
        self.denied(self.ukms.sign, KeyId=kid2, Message=b"x", SigningAlgorithm="ECDSA_SHA_256")

    def test_mac_algorithm_and_key_facts(self):
        kid = self.key("HMAC_384", "GENERATE_VERIFY_MAC", key_statement(self.user["Arn"], "kms:GenerateMac", condition={
            "StringEquals": {"kms:MacAlgorithm": "HMAC_SHA_384", "kms:KeySpec": "HMAC_384",
                             "kms:KeyUsage": "GENERATE_VERIFY_MAC"}}))
        self.ukms.generate_mac(KeyId=kid, Message=b"m", MacAlgorithm="HMAC_SHA_384")
        # a policy naming another key spec does not match this key
        kid2 = self.key("HMAC_256", "GENERATE_VERIFY_MAC", key_statement(self.user["Arn"], "kms:GenerateMac", condition={
            "StringEquals": {"kms:KeySpec": "HMAC_384"}}))
        self.denied(self.ukms.generate_mac, KeyId=kid2, Message=b"m", MacAlgorithm="HMAC_SHA_256")
        # IAM policy on kms:KeyUsage
        u, creds = make_user(self.k, "macuser", doc(allow("kms:GenerateMac", Condition={
            "StringEquals": {"kms:KeyUsage": "SIGN_VERIFY"}})))
        mk = self.k.client("kms", creds=creds)
        kid3 = self.kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
        self.denied(mk.generate_mac, KeyId=kid3, Message=b"m", MacAlgorithm="HMAC_SHA_256")

    def test_encryption_algorithm_and_data_key_pair_spec(self):
        rsa = self.key("RSA_2048", "ENCRYPT_DECRYPT", key_statement(self.user["Arn"], "kms:Encrypt", condition={
            "StringEquals": {"kms:EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}}))
        self.ukms.encrypt(KeyId=rsa, Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")
        self.denied(self.ukms.encrypt, KeyId=rsa, Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_1")
        st = key_statement(self.user["Arn"], "kms:GenerateDataKeyPair*", condition={
            "StringEquals": {"kms:DataKeyPairSpec": "ECC_NIST_P256", "kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}})
        sym = self.kms.create_key(Policy=doc(root_statement(), st))["KeyMetadata"]["KeyId"]
        self.ukms.generate_data_key_pair(KeyId=sym, KeyPairSpec="ECC_NIST_P256")
        self.ukms.generate_data_key_pair_without_plaintext(KeyId=sym, KeyPairSpec="ECC_NIST_P256")
        self.denied(self.ukms.generate_data_key_pair, KeyId=sym, KeyPairSpec="RSA_2048")

    def test_key_agreement_algorithm(self):
        kid = self.key("ECC_NIST_P256", "KEY_AGREEMENT", key_statement(self.user["Arn"], "kms:DeriveSharedSecret",
                                                                       condition={"StringEquals": {
                                                                           "kms:KeyAgreementAlgorithm": "ECDH"}}))
        peer = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.ukms.derive_shared_secret(KeyId=kid, KeyAgreementAlgorithm="ECDH", PublicKey=peer)
        kid2 = self.key("ECC_NIST_P256", "KEY_AGREEMENT", key_statement(self.user["Arn"], "kms:DeriveSharedSecret",
                                                                        condition={"StringEquals": {
                                                                            "kms:KeyAgreementAlgorithm": "OTHER"}}))
        self.denied(self.ukms.derive_shared_secret, KeyId=kid2, KeyAgreementAlgorithm="ECDH", PublicKey=peer)

    def test_grants(self):
        kid = self.kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        sig = self.kms.sign(KeyId=kid, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
        self.denied(self.okms.verify, KeyId=kid, Message=b"m", Signature=sig, SigningAlgorithm="ECDSA_SHA_256")
        self.kms.create_grant(KeyId=kid, GranteePrincipal=self.other["Arn"], Operations=["Verify"])
        self.assertTrue(self.okms.verify(KeyId=kid, Message=b"m", Signature=sig,
                                         SigningAlgorithm="ECDSA_SHA_256")["SignatureValid"])
        self.denied(self.okms.sign, KeyId=kid, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
        self.denied(self.okms.get_public_key, KeyId=kid)
        self.kms.create_grant(KeyId=kid, GranteePrincipal=self.other["Arn"], Operations=["Sign", "GetPublicKey"])
        self.okms.sign(KeyId=kid, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
        self.okms.get_public_key(KeyId=kid)
        # operations must fit the key
        for ops in (["Encrypt"], ["GenerateMac"], ["GenerateDataKey"], ["DeriveSharedSecret"]):
            code, msg = error(self.kms.create_grant, KeyId=kid, GranteePrincipal=self.other["Arn"], Operations=ops)
            self.assertEqual(code, "ValidationException", ops)
            self.assertIn(ops[0], msg)
        hmac = self.kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
        self.kms.create_grant(KeyId=hmac, GranteePrincipal=self.other["Arn"], Operations=["GenerateMac", "VerifyMac"])
        mac = self.okms.generate_mac(KeyId=hmac, Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
        self.okms.verify_mac(KeyId=hmac, Message=b"m", Mac=mac, MacAlgorithm="HMAC_SHA_256")
        self.assertEqual(error(self.kms.create_grant, KeyId=hmac, GranteePrincipal=self.other["Arn"],
                               Operations=["GetPublicKey"])[0], "ValidationException")
        agree = self.kms.create_key(KeySpec="ECC_NIST_P384", KeyUsage="KEY_AGREEMENT")["KeyMetadata"]["KeyId"]
        self.kms.create_grant(KeyId=agree, GranteePrincipal=self.other["Arn"], Operations=["DeriveSharedSecret"])
        rsa = self.kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
        self.kms.create_grant(KeyId=rsa, GranteePrincipal=self.other["Arn"], Operations=["Encrypt", "Decrypt"])
        blob = self.okms.encrypt(KeyId=rsa, Plaintext=b"g", EncryptionAlgorithm="RSAES_OAEP_SHA_1")["CiphertextBlob"]
        self.assertEqual(self.okms.decrypt(KeyId=rsa, CiphertextBlob=blob,
                                           EncryptionAlgorithm="RSAES_OAEP_SHA_1")["Plaintext"], b"g")
        # no encryption-context constraints on asymmetric keys
        code, _ = error(self.kms.create_grant, KeyId=rsa, GranteePrincipal=self.other["Arn"], Operations=["Decrypt"],
                        Constraints={"EncryptionContextSubset": {"a": "b"}})
        self.assertEqual(code, "ValidationException")
        # the symmetric key's grants take GenerateDataKeyPair*
        sym = self.kms.create_key()["KeyMetadata"]["KeyId"]
        self.kms.create_grant(KeyId=sym, GranteePrincipal=self.other["Arn"], Operations=["GenerateDataKeyPair"])
        self.okms.generate_data_key_pair(KeyId=sym, KeyPairSpec="ECC_NIST_P256")
        self.denied(self.okms.generate_data_key_pair_without_plaintext, KeyId=sym, KeyPairSpec="ECC_NIST_P256")

    def test_account_and_region_in_arns(self):
        kid = self.key("ECC_NIST_P256", "SIGN_VERIFY")
        self.assertIn(":%s:" % ACCT, self.kms.describe_key(KeyId=kid)["KeyMetadata"]["Arn"])
        self.assertEqual(json.loads(self.kms.get_key_policy(KeyId=kid)["Policy"])["Statement"][0]["Action"], "kms:*")


if __name__ == "__main__":
    main()
