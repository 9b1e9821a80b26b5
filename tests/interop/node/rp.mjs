// The second independent relying party: panva's openid-client (v6) drives AnchorID's idp through the whole flow.
//
// The Python test owns the browser part (the resident's session, the consent form) and talks to this script over
// stdin/stdout, one JSON object per line:
//   -> {"authorize_url", "state"}             (after discovery + PAR with private_key_jwt and a DPoP proof)
//   <- {"callback_url"}                        (where the idp redirected the browser)
//   -> {"id_token_claims", "userinfo", "refreshed_userinfo", "rotated", "first_refresh_token_again", "logout_url", ...}
// Usage: node rp.mjs CONFIG.json   (issuer, client_id, client_jwk (private), redirect_uri, post_logout_redirect_uri,
//                                    scope, claims, public)
import { webcrypto } from "node:crypto";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import * as client from "openid-client";

// Node.js 18 (Debian 12's) has WebCrypto but not yet as the globals `crypto` and `CryptoKey` that openid-client
// uses; Node.js 20+ has them.
globalThis.crypto ??= webcrypto;
globalThis.CryptoKey ??= webcrypto.CryptoKey;

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
// An OAuth error code from openid-client's errors (token endpoint: .error; resource server: WWW-Authenticate).
const errorCode = (error) => error.error ?? error.cause?.[0]?.parameters?.error ?? error.code ?? String(error);
const send = (value) => process.stdout.write(JSON.stringify(value) + "\n");
const receive = async () => JSON.parse((await lines.next()).value);

// A confidential client authenticates with private_key_jwt; a public one ("public": true) with none.
let clientAuth = client.None();
if (!config.public) {
  const { kid, ...jwk } = config.client_jwk;
  const key = await crypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  clientAuth = client.PrivateKeyJwt({ key, kid });
}
const server = await client.discovery(
  new URL(config.issuer),
  config.client_id,
  { token_endpoint_auth_signing_alg: "ES256", id_token_signed_response_alg: "ES256" },
  clientAuth,
  { execute: [client.allowInsecureRequests] }, // the test servers speak http on localhost
);
const dpop = client.getDPoPHandle(server, await client.randomDPoPKeyPair("ES256"));

const codeVerifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const nonce = client.randomNonce();
const authorizeUrl = await client.buildAuthorizationUrlWithPAR(
  server,
  {
    redirect_uri: config.redirect_uri,
    scope: config.scope,
    claims: JSON.stringify(config.claims),
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: "S256",
    state,
    nonce,
  },
  { DPoP: dpop },
);
send({ authorize_url: authorizeUrl.href, state });

const { callback_url: callbackUrl } = await receive();
const tokens = await client.authorizationCodeGrant(
  server,
  new URL(callbackUrl),
  { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true },
  undefined,
  { DPoP: dpop },
);
const claims = tokens.claims();
const userinfo = await client.fetchUserInfo(server, tokens.access_token, claims.sub, { DPoP: dpop });

const refreshed = await client.refreshTokenGrant(server, tokens.refresh_token, undefined, { DPoP: dpop });
const refreshedUserinfo = await client.fetchUserInfo(server, refreshed.access_token, claims.sub, { DPoP: dpop });
// Present the first refresh token again: a confidential client keeps it (FAPI 2.0); a public client's was rotated,
// so this is reuse, and the provider revokes the grant — the rotated refresh token then fails too.
const attempt = async (refreshToken) => {
  try {
    await client.refreshTokenGrant(server, refreshToken, undefined, { DPoP: dpop });
    return "ok";
  } catch (error) {
    return errorCode(error);
  }
};
const firstAgain = await attempt(tokens.refresh_token);
const rotatedAfterReuse = config.public ? await attempt(refreshed.refresh_token) : null;

const logoutState = client.randomState();
const logoutUrl = client.buildEndSessionUrl(server, {
  id_token_hint: tokens.id_token,
  post_logout_redirect_uri: config.post_logout_redirect_uri,
  state: logoutState,
});
send({
  token_type: tokens.token_type,
  id_token_claims: claims,
  userinfo,
  refreshed_token_type: refreshed.token_type,
  rotated: refreshed.refresh_token !== undefined && refreshed.refresh_token !== tokens.refresh_token,
  refreshed_userinfo: refreshedUserinfo,
  first_refresh_token_again: firstAgain,
  rotated_after_reuse: rotatedAfterReuse,
  logout_url: logoutUrl.href,
  logout_state: logoutState,
  access_token: refreshed.access_token,
});

// After the logout the relying party revokes its refresh token (RFC 7009) and checks it no longer works.
await receive();
await client.tokenRevocation(server, refreshed.refresh_token ?? tokens.refresh_token);
send({
  refresh_after_revocation: await attempt(refreshed.refresh_token ?? tokens.refresh_token),
  userinfo_after_revocation: await client
    .fetchUserInfo(server, refreshed.access_token, claims.sub, { DPoP: dpop })
    .then(() => "ok", errorCode),
});
process.exit(0);
