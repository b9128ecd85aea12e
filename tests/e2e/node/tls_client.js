// The AWS SDK for JavaScript v3 against kmsd over TLS: trusting kmsd's
// self-signed certificate through an https.Agent CA, a KMS round trip and
// STS GetCallerIdentity succeed; without the CA the handshake is refused.
// Prints one JSON line.
'use strict'
const fs = require('fs')
const https = require('https')
const { NodeHttpHandler } = require('@smithy/node-http-handler')
const { KMSClient, EncryptCommand, DecryptCommand, CreateKeyCommand } = require('@aws-sdk/client-kms')
const { STSClient, GetCallerIdentityCommand } = require('@aws-sdk/client-sts')

const endpoint = process.env.KMSD_ENDPOINT
const credentials = { accessKeyId: process.env.KMSD_AKID, secretAccessKey: process.env.KMSD_SECRET }
const region = 'us-east-1'

async function main () {
  const ca = fs.readFileSync(process.env.KMSD_CA)
  const requestHandler = new NodeHttpHandler({ httpsAgent: new https.Agent({ ca }) })
  const kms = new KMSClient({ endpoint, credentials, region, requestHandler, maxAttempts: 1 })
  const key = await kms.send(new CreateKeyCommand({ Description: 'node over tls' }))
  const enc = await kms.send(new EncryptCommand({ KeyId: key.KeyMetadata.KeyId, Plaintext: Buffer.from('over tls') }))
  const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }))
  const sts = new STSClient({ endpoint, credentials, region, requestHandler, maxAttempts: 1 })
  const who = await sts.send(new GetCallerIdentityCommand({}))

  // The same client without the CA: Node's default trust store refuses the self-signed certificate.
  let untrusted = null
  try {
    const bare = new KMSClient({ endpoint, credentials, region, maxAttempts: 1 })
    await bare.send(new CreateKeyCommand({}))
  } catch (e) { untrusted = e.code || e.name }
  console.log(JSON.stringify({ plaintext: Buffer.from(dec.Plaintext).toString(), arn: who.Arn, untrusted }))
}

main().catch(e => { console.error(e); process.exit(1) })
