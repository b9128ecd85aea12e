// The AWS Encryption SDK for JavaScript and the AWS SDK for JavaScript v3,
// unmodified, against kmsd: envelope-encrypt 1 MiB under a KMS keyring,
// decrypt it byte-identically, and check that a wrong encryption context
// and a key the caller names wrongly are refused. Prints one JSON line.
'use strict'
const crypto = require('crypto')
const { KmsKeyringNode, buildClient, CommitmentPolicy, getClient } = require('@aws-crypto/client-node')
const { KMS, KMSClient, GenerateDataKeyCommand, DecryptCommand } = require('@aws-sdk/client-kms')

const endpoint = process.env.KMSD_ENDPOINT
const credentials = { accessKeyId: process.env.KMSD_AKID, secretAccessKey: process.env.KMSD_SECRET }
const keyArn = process.env.KMSD_KEY_ARN
const region = keyArn.split(':')[3]

async function main () {
  const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
  const clientProvider = getClient(KMS, { endpoint, credentials })
  const keyring = new KmsKeyringNode({ clientProvider, generatorKeyId: keyArn })
  const plaintext = crypto.randomBytes(1024 * 1024)
  const context = { purpose: 'kmsd-e2e', tenant: 'acme' }
  const { result } = await encrypt(keyring, plaintext, { encryptionContext: context })
  const { plaintext: back, messageHeader } = await decrypt(keyring, result)
  if (!back.equals(plaintext)) throw new Error('round trip differs')
  if (messageHeader.encryptionContext.tenant !== 'acme') throw new Error('context lost')

  // The data key's own KMS ciphertext binds the SDK's context: a raw
  // Decrypt of it with another context must fail InvalidCiphertextException.
  const kms = new KMSClient({ endpoint, credentials, region })
  const edk = messageHeader.encryptedDataKeys[0]
  let refused = null
  try {
    await kms.send(new DecryptCommand({ CiphertextBlob: edk.encryptedDataKey, EncryptionContext: { tenant: 'evil' } }))
  } catch (e) { refused = e.name }
  if (refused !== 'InvalidCiphertextException') throw new Error('wrong context not refused: ' + refused)

  // The S3 SSE-KMS pattern with a customer managed key and an aws:s3:arn context. The AWS managed
  // key alias/aws/s3 is usable only through S3 (its key policy requires kms:ViaService), so a
  // direct call is refused, as in AWS.
  const s3ctx = { 'aws:s3:arn': 'arn:aws:s3:::bucket/object' }
  let direct = null
  try {
    await kms.send(new GenerateDataKeyCommand({ KeyId: 'alias/aws/s3', KeySpec: 'AES_256', EncryptionContext: s3ctx }))
  } catch (e) { direct = e.name }
  if (direct !== 'AccessDeniedException') throw new Error('direct use of aws/s3 not refused: ' + direct)
  const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: process.env.KMSD_KEY_ARN, KeySpec: 'AES_256', EncryptionContext: s3ctx }))
  const dec = await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: s3ctx }))
  if (!Buffer.from(dec.Plaintext).equals(Buffer.from(dk.Plaintext))) throw new Error('s3 data key differs')
  if (!dec.KeyId.includes(':key/')) throw new Error('Decrypt KeyId is not a key ARN: ' + dec.KeyId)

  console.log(JSON.stringify({ ok: true, bytes: plaintext.length, ciphertext: result.length, refused, s3KeyId: dec.KeyId }))
}

main().catch(e => { console.error(e && e.stack ? e.stack : e); process.exit(1) })
