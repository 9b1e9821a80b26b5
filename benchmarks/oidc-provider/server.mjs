// The reference OpenID Provider for benchmarks/bench_oidc.py: panva's oidc-provider (v9), in-memory adapter,
// configured with the features AnchorID's idp enforces for FAPI 2.0 clients: PAR required, PKCE S256 required,
// private_key_jwt (ES256) client authentication, DPoP-bound tokens (ES256) with server nonces required, ES256 ID
// tokens, refresh tokens rotated on every use.
//
// Usage: node server.mjs CONFIG.json   (port, client_id, client_jwks (public), redirect_uri, claims of the resident)
// Interactions (login + consent) are finished automatically for the resident in CONFIG: a load generator's first
// authorization request goes through them once; later ones find the session and the grant, as after a real login.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { generateKeyPairSync } from "node:crypto";
import Provider from "oidc-provider";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const issuer = `http://127.0.0.1:${config.port}`;
const signingKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
const resident = config.resident;
const scopes = "openid profile address";

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: config.client_id,
      token_endpoint_auth_method: "private_key_jwt",
      token_endpoint_auth_signing_alg: "ES256",
      id_token_signed_response_alg: "ES256",
      jwks: config.client_jwks,
      redirect_uris: [config.redirect_uri],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      dpop_bound_access_tokens: true,
    },
  ],
  jwks: { keys: [{ ...signingKey, kid: "bench-es256", alg: "ES256", use: "sig" }] },
  claims: { openid: ["sub"], profile: ["name", "birthdate", "gender"], address: ["address"] },
  cookies: { keys: [randomBytes(32).toString("hex")] },
  features: {
    devInteractions: { enabled: false },
    pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: true },
    dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  enabledJWA: { clientAuthSigningAlgValues: ["ES256"], dPoPSigningAlgValues: ["ES256"] },
  pkce: { required: () => true },
  issueRefreshToken: async () => true,
  rotateRefreshToken: () => true,
  ttl: { AccessToken: 300, AuthorizationCode: 60, IdToken: 300, RefreshToken: 30 * 24 * 3600, Session: 3600,
         Interaction: 600, Grant: 30 * 24 * 3600, PushedAuthorizationRequest: 300 },
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub, ...resident }) }),
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
});

async function finishInteraction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const grant = new provider.Grant({ accountId: "resident-1", clientId: details.params.client_id });
  grant.addOIDCScope(scopes);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { login: { accountId: "resident-1" }, consent: { grantId } },
    { mergeWithLastSubmission: false });
}

const callback = provider.callback();
createServer((req, res) => {
  if (req.url.startsWith("/interaction/")) {
    finishInteraction(req, res).catch((error) => { res.statusCode = 500; res.end(String(error)); });
    return;
  }
  callback(req, res);
}).listen(config.port, "127.0.0.1", () => process.stdout.write(`listening ${issuer}\n`));
