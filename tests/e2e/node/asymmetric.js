// Independent checks of kmsd's asymmetric keys from Node: every signing
// algorithm verified with Node's crypto using GetPublicKey's key; JWTs
// (RS256, ES256, PS256, EdDSA) signed through kmsd's Sign and verified with
// `jose`; a secp256k1 DIGEST signature turned into an Ethereum (r, s, v)
// that recovers the key's address with `ethers`. Prints one JSON line.
'use strict'
const crypto = require('crypto')
const { KMSClient, CreateKeyCommand, SignCommand, GetPublicKeyCommand } = require('@aws-sdk/client-kms')
const jose = require('jose')
const ethers = require('ethers')

const endpoint = process.env.KMSD_ENDPOINT
const credentials = { accessKeyId: process.env.KMSD_AKID, secretAccessKey: process.env.KMSD_SECRET }
const kms = new KMSClient({ endpoint, credentials, region: 'us-east-1' })

async function key (spec) {
  const r = await kms.send(new CreateKeyCommand({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY' }))
  const pub = await kms.send(new GetPublicKeyCommand({ KeyId: r.KeyMetadata.KeyId }))
  return { id: r.KeyMetadata.KeyId, der: Buffer.from(pub.PublicKey) }
}

async function sign (id, alg, message, type) {
  const r = await kms.send(new SignCommand({ KeyId: id, Message: message, SigningAlgorithm: alg, MessageType: type || 'RAW' }))
  return Buffer.from(r.Signature)
}

function hashOf (alg) {
  if (alg.startsWith('ED25519')) return null
  return 'sha' + alg.slice(-3)
}

function nodeVerify (der, alg, msg, sig) {
  const key = crypto.createPublicKey({ key: der, format: 'der', type: 'spki' })
  const opts = { key }
  if (alg.startsWith('RSASSA_PSS')) {
    opts.padding = crypto.constants.RSA_PKCS1_PSS_PADDING
    opts.saltLength = crypto.constants.RSA_PSS_SALTLEN_DIGEST
  }
  return crypto.verify(hashOf(alg), msg, opts, sig)
}

// ECDSA DER (SEQUENCE { INTEGER r, INTEGER s }) to fixed-width r, s.
function derToRS (sig, width) {
  let i = 2
  if (sig[1] & 0x80) i = 2 + (sig[1] & 0x7f)
  const rlen = sig[i + 1]
  const r = sig.subarray(i + 2, i + 2 + rlen)
  i = i + 2 + rlen
  const slen = sig[i + 1]
  const s = sig.subarray(i + 2, i + 2 + slen)
  const fix = (b) => {
    const t = b[0] === 0 ? b.subarray(1) : b
    return Buffer.concat([Buffer.alloc(width - t.length), t])
  }
  return [fix(r), fix(s)]
}

const b64u = (b) => Buffer.from(b).toString('base64url')
const pem = (der) => '-----BEGIN PUBLIC KEY-----\n' + der.toString('base64').match(/.{1,64}/g).join('\n') + '\n-----END PUBLIC KEY-----\n'

async function jwt (k, jwtAlg, kmsAlg) {
  const header = b64u(JSON.stringify({ alg: jwtAlg, typ: 'JWT' }))
  const payload = b64u(JSON.stringify({ sub: 'kmsd', iat: 1700000000, aud: 'e2e' }))
  const input = Buffer.from(header + '.' + payload)
  let sig = await sign(k.id, kmsAlg, input)
  if (jwtAlg === 'ES256') sig = Buffer.concat(derToRS(sig, 32))
  const token = header + '.' + payload + '.' + b64u(sig)
  const pub = await jose.importSPKI(pem(k.der), jwtAlg)
  const { payload: claims } = await jose.jwtVerify(token, pub, { audience: 'e2e' })
  if (claims.sub !== 'kmsd') throw new Error(jwtAlg + ': claims')
  // a tampered payload must fail
  const bad = header + '.' + b64u(JSON.stringify({ sub: 'evil', iat: 1700000000, aud: 'e2e' })) + '.' + b64u(sig)
  let refused = false
  try { await jose.jwtVerify(bad, pub, { audience: 'e2e' }) } catch (e) { refused = true }
  if (!refused) throw new Error(jwtAlg + ': tampered token accepted')
  return true
}

async function ethereum () {
  const k = await key('ECC_SECG_P256K1')
  const pubPoint = k.der.subarray(k.der.length - 65) // uncompressed 04 || X || Y
  const address = ethers.computeAddress('0x' + pubPoint.toString('hex'))
  const message = 'kmsd signs for Ethereum'
  const digest = ethers.hashMessage(message) // EIP-191, keccak-256
  const der = await sign(k.id, 'ECDSA_SHA_256', Buffer.from(digest.slice(2), 'hex'), 'DIGEST')
  let [r, s] = derToRS(der, 32)
  const n = BigInt('0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141')
  let sv = BigInt('0x' + s.toString('hex'))
  if (sv > n / 2n) sv = n - sv // EIP-2: low s
  const sHex = '0x' + sv.toString(16).padStart(64, '0')
  const rHex = '0x' + r.toString('hex')
  let recovered = null
  for (const v of [27, 28]) {
    const a = ethers.recoverAddress(digest, { r: rHex, s: sHex, v })
    if (a === address) recovered = v
  }
  if (recovered === null) throw new Error('no v recovers the address')
  const serialized = ethers.Signature.from({ r: rHex, s: sHex, v: recovered }).serialized
  if (ethers.verifyMessage(message, serialized) !== address) throw new Error('verifyMessage')
  return { address, v: recovered }
}

async function main () {
  const cases = [
    ['RSA_2048', ['RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512', 'RSASSA_PKCS1_V1_5_SHA_256',
      'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512']],
    ['ECC_NIST_P256', ['ECDSA_SHA_256']], ['ECC_NIST_P384', ['ECDSA_SHA_384']], ['ECC_NIST_P521', ['ECDSA_SHA_512']],
    ['ECC_SECG_P256K1', ['ECDSA_SHA_256']], ['ECC_NIST_EDWARDS25519', ['ED25519_SHA_512']]
  ]
  const verified = []
  const keys = {}
  const msg = crypto.randomBytes(777)
  for (const [spec, algs] of cases) {
    const k = keys[spec] = await key(spec)
    for (const alg of algs) {
      const sig = await sign(k.id, alg, msg)
      if (!nodeVerify(k.der, alg, msg, sig)) throw new Error(alg + ' RAW does not verify')
      if (nodeVerify(k.der, alg, Buffer.concat([msg, Buffer.from('!')]), sig)) throw new Error(alg + ' verifies a changed message')
      if (hashOf(alg)) {
        const d = crypto.createHash(hashOf(alg)).update(msg).digest()
        const ds = await sign(k.id, alg, d, 'DIGEST')
        if (!nodeVerify(k.der, alg, msg, ds)) throw new Error(alg + ' DIGEST does not verify')
      }
      verified.push(spec + '/' + alg)
    }
  }
  const jwts = []
  for (const [jwtAlg, spec, kmsAlg] of [['RS256', 'RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_256'],
    ['PS256', 'RSA_2048', 'RSASSA_PSS_SHA_256'], ['ES256', 'ECC_NIST_P256', 'ECDSA_SHA_256'],
    ['EdDSA', 'ECC_NIST_EDWARDS25519', 'ED25519_SHA_512']]) {
    await jwt(keys[spec], jwtAlg, kmsAlg)
    jwts.push(jwtAlg)
  }
  const eth = await ethereum()
  console.log(JSON.stringify({ ok: true, verified, jwts, eth }))
}

main().catch((e) => { console.error(e); process.exit(1) })
