// The reference OpenID Provider for benchmarks/bench_oidc.py: panva's oidc-provider (v9), configured with the
// features AnchorID's idp enforces for FAPI 2.0 clients: PAR required, PKCE S256 required, private_key_jwt (ES256)
// client authentication, DPoP-bound tokens (ES256) with server nonces required, ES256 ID tokens, a refresh token
// on every code exchange and refresh.
//
// Usage: node server.mjs CONFIG.json. CONFIG (written by bench_oidc.py, one per run):
//   port, client_id, client_jwks (public), redirect_uri, resident (the claims),
//   rotate     true: a new refresh token on every use (the idp's ANCHORID_OIDC_REFRESH_ROTATION=all);
//              false: the refresh token stays (the idp's default for confidential clients)
//   workers    processes (node:cluster; 1 = this process serves)
//   adapter    "memory" (oidc-provider's in-process LRU: nothing survives a restart, nothing is shared between
//              workers) or "redis" (redis_url: every model, DPoP jti replay records included, in Redis, shared by
//              the workers; needed for workers > 1, where a PAR, its authorization and its code may reach
//              different workers)
// tests/idp/test_bench_oidc_fairness.py reads this file: keep the settings it checks spelled as they are.
// Interactions (login + consent) are finished automatically for the resident in CONFIG: a load generator's first
// authorization request goes through them once; later ones find the session and the grant, as after a real login.
import cluster from "node:cluster";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import Provider from "oidc-provider";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const workers = config.workers ?? 1;

if (workers > 1 && cluster.isPrimary) {
  // Every worker signs with the same key and reads the same cookies and nonces.
  const shared = {
    BENCH_SIGNING_JWK: JSON.stringify(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" })),
    BENCH_COOKIE_KEY: randomBytes(32).toString("hex"),
    BENCH_NONCE_SECRET: randomBytes(32).toString("hex"),
  };
  for (let i = 0; i < workers; i += 1) cluster.fork(shared);
  let listening = 0;
  cluster.on("listening", () => { listening += 1; if (listening === workers) process.stdout.write("listening\n"); });
  process.on("SIGTERM", () => { for (const worker of Object.values(cluster.workers)) worker.kill(); process.exit(0); });
} else {
  await serve();
}

async function redisAdapter() {
  const { default: Redis } = await import("ioredis");
  const redis = new Redis(config.redis_url);
  const grantable = new Set(["AccessToken", "AuthorizationCode", "RefreshToken", "DeviceCode", "BackchannelAuthenticationRequest"]);
  return class RedisAdapter {
    constructor(name) { this.name = name; }
    key(id) { return `oidc:${this.name}:${id}`; }
    async upsert(id, payload, expiresIn) {
      const key = this.key(id);
      const multi = redis.multi();
      if (expiresIn) multi.set(key, JSON.stringify(payload), "EX", expiresIn); else multi.set(key, JSON.stringify(payload));
      if (grantable.has(this.name) && payload.grantId) {
        const grantKey = `oidc:grant:${payload.grantId}`;
        multi.rpush(grantKey, key);
        if (expiresIn) multi.expire(grantKey, expiresIn, "GT");
      }
      if (payload.uid) multi.set(`oidc:uid:${payload.uid}`, id, "EX", expiresIn || 3600);
      await multi.exec();
    }
    async find(id) { const data = await redis.get(this.key(id)); return data ? JSON.parse(data) : undefined; }
    async findByUid(uid) { const id = await redis.get(`oidc:uid:${uid}`); return id ? this.find(id) : undefined; }
    async findByUserCode() { return undefined; }
    async consume(id) {
      const data = await this.find(id);
      if (data) await redis.set(this.key(id), JSON.stringify({ ...data, consumed: Math.floor(Date.now() / 1000) }), "KEEPTTL");
    }
    async destroy(id) { await redis.del(this.key(id)); }
    async revokeByGrantId(grantId) {
      const grantKey = `oidc:grant:${grantId}`;
      const keys = await redis.lrange(grantKey, 0, -1);
      await redis.del(...keys, grantKey);
    }
  };
}

async function serve() {
  const issuer = `http://127.0.0.1:${config.port}`;
  const signingKey = process.env.BENCH_SIGNING_JWK
    ? JSON.parse(process.env.BENCH_SIGNING_JWK)
    : generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
  const cookieKey = process.env.BENCH_COOKIE_KEY ?? randomBytes(32).toString("hex");
  const nonceSecret = process.env.BENCH_NONCE_SECRET ? Buffer.from(process.env.BENCH_NONCE_SECRET, "hex") : randomBytes(32);
  const resident = config.resident;
  const scopes = "openid profile address";

  const provider = new Provider(issuer, {
    adapter: config.adapter === "redis" ? await redisAdapter() : undefined,
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
    cookies: { keys: [cookieKey] },
    features: {
      devInteractions: { enabled: false },
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: true },
      dPoP: { enabled: true, nonceSecret, requireNonce: () => true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    enabledJWA: { clientAuthSigningAlgValues: ["ES256"], dPoPSigningAlgValues: ["ES256"] },
    pkce: { required: () => true },
    issueRefreshToken: async () => true,
    rotateRefreshToken: () => config.rotate === true,
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
  }).listen(config.port, "127.0.0.1", () => { if (workers === 1) process.stdout.write(`listening ${issuer}\n`); });
}
