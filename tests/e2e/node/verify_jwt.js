// Verifies a JWT from kmsd's GetWebIdentityToken with `jose`, against the JWKS
// kmsd publishes (fetched over HTTP, unauthenticated), as an external service
// trusting kmsd's OIDC issuer would. Prints {"header": ..., "payload": ...}.
// Environment: JWKS_URL, TOKEN, ISSUER, AUDIENCE, ALGS (comma list).
// Exits 1 with the error's code when verification fails.
"use strict";
const { createRemoteJWKSet, jwtVerify } = require("jose");

async function main() {
  const jwks = createRemoteJWKSet(new URL(process.env.JWKS_URL));
  try {
    const { payload, protectedHeader } = await jwtVerify(process.env.TOKEN, jwks, {
      issuer: process.env.ISSUER,
      audience: process.env.AUDIENCE,
      algorithms: process.env.ALGS.split(","),
      clockTolerance: process.env.CLOCK_TOLERANCE ? Number(process.env.CLOCK_TOLERANCE) : 0,
    });
    process.stdout.write(JSON.stringify({ header: protectedHeader, payload }));
  } catch (e) {
    process.stdout.write(JSON.stringify({ error: e.code || String(e) }));
    process.exit(1);
  }
}
main();
