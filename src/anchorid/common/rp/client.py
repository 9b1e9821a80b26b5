"""Login with AnchorID: the relying party's side of the authorization code flow at the FAPI 2.0 level.

Authlib's requests client (``OAuth2Session``) does the grammar: PKCE S256 (RFC 7636), private_key_jwt client
authentication (RFC 7523, ``PrivateKeyJWT``), the token and refresh requests, ID token claim checks
(``CodeIDToken``). What Authlib 1.9 lacks is added here and kept small:

- PAR (RFC 9126): the authorization parameters Authlib builds are pushed to the
  ``pushed_authorization_request_endpoint`` with client authentication; the browser only carries
  ``client_id`` and the returned ``request_uri``.
- DPoP (RFC 9449): :class:`DPoPOAuth2Session` signs a proof for PAR, token, refresh and userinfo requests and
  retries once when the server asks for a nonce (see ``dpop.py``).
- RFC 9207: the authorization response's ``iss`` must be the issuer we sent the resident to.

Nothing here imports Django: the city's and the sample providers' views call it, and so do the interop tests.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Auth, OAuth2Session  # type: ignore[import-untyped]
from authlib.oauth2.rfc7523 import PrivateKeyJWT  # type: ignore[import-untyped]
from authlib.oauth2.rfc7523.assertion import private_key_jwt_sign  # type: ignore[import-untyped]
from authlib.oidc.core import CodeIDToken  # type: ignore[import-untyped]
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from anchorid.common import request_id, untrusted_json
from anchorid.common.outgoing_http import RequestIdSession
from anchorid.common.rp.dpop import (
    DPOP_HEADER,
    DPOP_TOKEN_TYPE,
    DPoPKey,
    asks_for_nonce,
    bound_access_token,
    target_uri,
)

CLIENT_ASSERTION_ALGORITHM = "ES256"
PRIVATE_KEY_JWT = "private_key_jwt"
ID_TOKEN_ALGORITHMS = ["ES256", "PS256"]
#: A client assertion lives one minute: long enough for the request, short enough to be useless afterwards.
CLIENT_ASSERTION_LIFETIME = 60
CLOCK_LEEWAY = 30
HTTP_TIMEOUT = 10
UNAVAILABLE = "temporarily_unavailable"
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 (a grant type URN)
TOKEN_EXCHANGE_ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105 (a token type URN)
BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


class LoginError(Exception):
    """The provider or the response refused the login; ``code`` is the OAuth error code or ours."""

    def __init__(self, code: str, description: str = "") -> None:
        super().__init__(f"{code}: {description}" if description else code)
        self.code = code
        self.description = description


def add_dpop_token(token: str, uri: str, headers: dict[str, str], body: Any, placement: str = "header") -> Any:
    """RFC 9449 §7.1: a DPoP-bound access token travels in ``Authorization: DPoP <token>`` (the proof is added
    when the request is sent, once the header is final)."""
    headers["Authorization"] = f"{DPOP_TOKEN_TYPE} {token}"
    return uri, headers, body


class DPoPTokenAuth(OAuth2Auth):  # type: ignore[misc]
    """Authlib's token auth, knowing the ``DPoP`` token type beside ``Bearer``."""

    SIGN_METHODS: ClassVar[dict[str, Any]] = {**OAuth2Auth.SIGN_METHODS, "dpop": add_dpop_token}


class ShortLivedPrivateKeyJWT(PrivateKeyJWT):  # type: ignore[misc]
    """Authlib's private_key_jwt with the audience set to the issuer (FAPI 2.0 Security Profile §5.3.2.1: the
    authorization server accepts its issuer identifier) and a one-minute lifetime instead of Authlib's hour."""

    alg = CLIENT_ASSERTION_ALGORITHM

    def __init__(self, audience: str, key_id: str) -> None:
        super().__init__(token_endpoint=audience, headers={"kid": key_id})

    def sign(self, auth: Any, token_endpoint: str) -> Any:
        now = int(time.time())
        return private_key_jwt_sign(
            auth.client_secret,
            client_id=auth.client_id,
            token_endpoint=token_endpoint,
            claims={"iat": now, "exp": now + CLIENT_ASSERTION_LIFETIME, "jti": secrets.token_urlsafe(24)},
            header=dict(self.headers or {}),
            alg=self.alg,
        )


class DPoPOAuth2Session(OAuth2Session):  # type: ignore[misc]
    """Authlib's ``OAuth2Session`` that proves possession of ``dpop_key`` (RFC 9449).

    A proof goes with every request to an endpoint in ``dpop_endpoints`` and with every request carrying a
    DPoP-bound access token. Client authentication runs again on a nonce retry, so the retried request has a
    fresh client assertion as well as a fresh proof.
    """

    token_auth_class = DPoPTokenAuth

    def __init__(self, *args: Any, dpop_key: DPoPKey, dpop_endpoints: set[str], **kwargs: Any) -> None:
        self.dpop_key = dpop_key
        self.dpop_endpoints = {target_uri(url) for url in dpop_endpoints}
        super().__init__(*args, **kwargs)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        response: requests.Response = super().request(method, url, *args, **kwargs)
        if self.dpop_key.remember_nonce(response) and asks_for_nonce(response):
            response = super().request(method, url, *args, **kwargs)
            self.dpop_key.remember_nonce(response)
        return response

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        request.headers.update(request_id.outgoing_headers())  # the idp logs our calls under our request id
        access_token = bound_access_token(request)
        if request.url and (access_token or target_uri(request.url) in self.dpop_endpoints):
            request.headers[DPOP_HEADER] = self.dpop_key.proof(request.method or "GET", request.url,
                                                               access_token=access_token)  # fmt: skip
        response: requests.Response = super().send(request, **kwargs)
        return response


@dataclass(frozen=True)
class ClientConfig:
    """What the relying party registered at the idp, and its two keys."""

    issuer: str
    client_id: str
    redirect_uri: str
    client_key: ECKey
    dpop_key: ECKey
    scope: str = "openid"
    #: The OIDC ``claims`` request parameter (Core §5.5), e.g. ``{"userinfo": {"name": {"essential": True}}}``.
    claims: dict[str, Any] | None = None
    post_logout_redirect_uri: str | None = None


@dataclass(frozen=True)
class PendingLogin:
    """What the relying party keeps (in the resident's session) between sending them to the idp and their return."""

    state: str
    nonce: str
    code_verifier: str

    def as_dict(self) -> dict[str, str]:
        return {"state": self.state, "nonce": self.nonce, "code_verifier": self.code_verifier}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> PendingLogin:
        return cls(state=data["state"], nonce=data["nonce"], code_verifier=data["code_verifier"])


@dataclass
class Login:
    """A finished login: the token response, the ID token's claims and what userinfo said."""

    token: dict[str, Any]
    id_token_claims: dict[str, Any]
    userinfo: dict[str, Any] = field(default_factory=dict)


class AnchorIDClient:
    """One relying party talking to one AnchorID issuer. Discovery and JWKS are fetched once and cached."""

    def __init__(self, config: ClientConfig, http: requests.Session | None = None) -> None:
        self.config = config
        self.http = http or RequestIdSession()  # the idp logs our calls under our request id
        self.dpop = DPoPKey(config.dpop_key)
        self._metadata: dict[str, Any] | None = None
        self._jwks: KeySet | None = None

    # --- the provider ------------------------------------------------------------------------------------------

    @property
    def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
            metadata: dict[str, Any] = self._get_json(url)
            if metadata.get("issuer") != self.config.issuer:  # OIDC Discovery §4.3
                raise LoginError("invalid_issuer", "the discovery document names another issuer")
            self._metadata = metadata
        return self._metadata

    def jwks(self, *, refresh: bool = False) -> KeySet:
        if self._jwks is None or refresh:
            self._jwks = KeySet.import_key_set(self._get_json(self.metadata["jwks_uri"]))
        return self._jwks

    def _get_json(self, url: str) -> Any:
        try:
            response = self.http.get(url, timeout=HTTP_TIMEOUT)
            response.raise_for_status()
            return untrusted_json.loads(response.content)
        except (requests.RequestException, ValueError) as error:
            raise LoginError(UNAVAILABLE, "the provider could not be reached") from error

    def _verify_jwt(self, token: str) -> jwt.Token:
        """Verify a JWT the issuer signed; one JWKS refetch when its key is unknown (the idp rotated keys)."""
        if not isinstance(token, str) or token.count(".") != 2:
            raise ValueError("not a compact JWS")
        untrusted_json.compact_jose_header(token)  # joserfc's own json.loads has no depth limit
        try:
            return jwt.decode(token, self.jwks(), algorithms=ID_TOKEN_ALGORITHMS)
        except (JoseError, ValueError):
            return jwt.decode(token, self.jwks(refresh=True), algorithms=ID_TOKEN_ALGORITHMS)

    def verify_idp_jwt(self, token: str) -> jwt.Token:
        """A JWT the idp signed (e.g. an access token presented to this service's API), signature checked only."""
        return self._verify_jwt(token)

    def oauth_session(self, token: dict[str, Any] | None = None) -> DPoPOAuth2Session:
        """Authlib's session, authenticating with private_key_jwt and proving possession of the DPoP key."""
        metadata = self.metadata
        dpop_endpoints = {metadata["token_endpoint"], metadata["pushed_authorization_request_endpoint"]}
        if metadata.get("userinfo_endpoint"):
            dpop_endpoints.add(metadata["userinfo_endpoint"])
        session = DPoPOAuth2Session(
            client_id=self.config.client_id,
            client_secret=self.config.client_key,
            token_endpoint_auth_method=PRIVATE_KEY_JWT,
            revocation_endpoint_auth_method=PRIVATE_KEY_JWT,
            scope=self.config.scope,
            redirect_uri=self.config.redirect_uri,
            code_challenge_method="S256",
            token=token,
            token_endpoint=metadata["token_endpoint"],
            default_timeout=HTTP_TIMEOUT,
            dpop_key=self.dpop,
            dpop_endpoints=dpop_endpoints,
        )
        key_id = self.config.client_key.kid or self.config.client_key.thumbprint()
        session.register_client_auth_method(ShortLivedPrivateKeyJWT(self.config.issuer, key_id))
        return session

    # --- the flow ------------------------------------------------------------------------------------------------

    def start_login(self, **extra: str) -> tuple[str, PendingLogin]:
        """Push the authorization request (PAR) and return the URL to send the browser to, and what to keep."""
        pending = PendingLogin(
            state=secrets.token_urlsafe(24), nonce=secrets.token_urlsafe(24), code_verifier=secrets.token_urlsafe(48)
        )
        session = self.oauth_session()
        params: dict[str, Any] = {"nonce": pending.nonce, **extra}
        if self.config.claims:
            params["claims"] = json.dumps(self.config.claims, separators=(",", ":"))
        url, _ = session.create_authorization_url(
            self.metadata["authorization_endpoint"], state=pending.state, code_verifier=pending.code_verifier, **params
        )
        pushed = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
        try:
            response = session.post(
                self.metadata["pushed_authorization_request_endpoint"],
                data=pushed,
                auth=session.client_auth(PRIVATE_KEY_JWT),
                withhold_token=True,
                headers={"Accept": "application/json"},
            )
        except requests.RequestException as error:
            raise LoginError(UNAVAILABLE, "the provider could not be reached") from error
        if response.status_code != 201:
            raise LoginError(*_oauth_error(response))
        request_uri = untrusted_json.loads(response.content)["request_uri"]
        query = urlencode({"client_id": self.config.client_id, "request_uri": request_uri})
        return f"{self.metadata['authorization_endpoint']}?{query}", pending

    def finish_login(self, callback_url: str, pending: PendingLogin) -> Login:
        """Check the authorization response, redeem the code, verify the ID token, call userinfo."""
        params = {key: values[0] for key, values in parse_qs(urlsplit(callback_url).query).items()}
        if not secrets.compare_digest(params.get("state", ""), pending.state):
            raise LoginError("invalid_state", "the response does not answer our request")
        if params.get("iss") != self.config.issuer:  # RFC 9207 §2.4
            raise LoginError("invalid_issuer", "the response names another issuer")
        if "error" in params:
            raise LoginError(params["error"], params.get("error_description", ""))
        if "code" not in params:
            raise LoginError("invalid_response", "no code in the response")
        session = self.oauth_session()
        token = self._token(
            lambda: session.fetch_token(
                code=params["code"], code_verifier=pending.code_verifier, redirect_uri=self.config.redirect_uri
            )
        )
        claims = self.verify_id_token(token["id_token"], nonce=pending.nonce, access_token=token["access_token"])
        login = Login(token=dict(token), id_token_claims=claims)
        login.userinfo = self.userinfo(login.token, subject=claims["sub"])
        return login

    def _token(self, call: Any) -> dict[str, Any]:
        try:
            token: dict[str, Any] = dict(call())
        except requests.RequestException as error:
            raise LoginError(UNAVAILABLE, "the provider could not be reached") from error
        except Exception as error:  # Authlib raises its OAuthError with the provider's error code
            code = getattr(error, "error", None)
            if not isinstance(code, str):
                raise
            raise LoginError(code, getattr(error, "description", "") or "") from error
        if str(token.get("token_type", "")).lower() != "dpop":  # RFC 9449 §5: we asked for a bound token
            raise LoginError("invalid_token_type", "the provider issued an unbound token")
        return token

    def verify_id_token(self, id_token: str, *, nonce: str | None, access_token: str | None = None) -> dict[str, Any]:
        try:
            decoded = self._verify_jwt(id_token)
        except (JoseError, ValueError) as error:
            raise LoginError("invalid_id_token", "signature") from error
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            options={"iss": {"essential": True, "value": self.config.issuer},
                     "aud": {"essential": True, "value": self.config.client_id}},
            params={"nonce": nonce, "access_token": access_token} if nonce else {"access_token": access_token},
        )  # fmt: skip
        try:
            claims.validate(leeway=CLOCK_LEEWAY)
        except JoseError as error:
            raise LoginError("invalid_id_token", error.error) from error
        return dict(decoded.claims)

    def userinfo(self, token: dict[str, Any], *, subject: str) -> dict[str, Any]:
        session = self.oauth_session(token)
        try:
            response = session.get(self.metadata["userinfo_endpoint"], headers={"Accept": "application/json"})
        except requests.RequestException as error:
            raise LoginError(UNAVAILABLE, "the provider could not be reached") from error
        if response.status_code != 200:
            raise LoginError(*_oauth_error(response))
        claims: dict[str, Any] = untrusted_json.loads(response.content)
        if claims.get("sub") != subject:  # Core §5.3.2: the sub must match the ID token's
            raise LoginError("invalid_userinfo", "userinfo is about another subject")
        return claims

    def refresh(self, token: dict[str, Any]) -> dict[str, Any]:
        """Redeem the refresh token (rotated by the provider: keep the new one)."""
        session = self.oauth_session(token)
        return self._token(lambda: session.refresh_token(self.metadata["token_endpoint"]))

    def revoke(self, token: str, hint: str = "refresh_token") -> None:
        endpoint = self.metadata.get("revocation_endpoint")
        if endpoint:
            self.oauth_session().revoke_token(endpoint, token=token, token_type_hint=hint)

    # --- links between services (RFC 8693, docs/protocols/token-exchange.md) -------------------------------------

    def exchange_token(
        self,
        *,
        subject_token: str,
        audience: str,
        scope: str | None = None,
        authorization_details: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Exchange the resident's access token (ours) for a token toward ``audience`` under their link consent.
        Returns the token response (``access_token``, ``token_type: DPoP``, ``expires_in``, ``scope``, …); raises
        ``LoginError`` with the idp's error code (``invalid_grant``: no live link, e.g. withdrawn)."""
        session = self.oauth_session()
        session.scope = None  # Authlib would otherwise send our login scope
        params: dict[str, str] = {
            "subject_token": subject_token,
            "subject_token_type": TOKEN_EXCHANGE_ACCESS_TOKEN,
            "audience": audience,
        }
        if scope is not None:
            params["scope"] = scope
        if authorization_details is not None:
            params["authorization_details"] = json.dumps(authorization_details, separators=(",", ":"))
        endpoint = self.metadata["token_endpoint"]
        return self._token(lambda: session.fetch_token(endpoint, grant_type=TOKEN_EXCHANGE_GRANT, **params))

    def linked_request(self, method: str, url: str, token: dict[str, Any], **kwargs: Any) -> requests.Response:
        """Call another service's API with an exchanged token: ``Authorization: DPoP`` and a proof with ``ath``
        (a retry with the service's nonce when it asks for one)."""
        session = self.oauth_session({**token, "token_type": DPOP_TOKEN_TYPE})
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        response: requests.Response = session.request(method, url, **kwargs)
        return response

    def logout_url(self, id_token: str, state: str) -> str:
        """RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2)."""
        params = {"id_token_hint": id_token, "client_id": self.config.client_id, "state": state}
        if self.config.post_logout_redirect_uri:
            params["post_logout_redirect_uri"] = self.config.post_logout_redirect_uri
        return f"{self.metadata['end_session_endpoint']}?{urlencode(params)}"

    def verify_logout_token(self, logout_token: str) -> dict[str, Any]:
        """OpenID Connect Back-Channel Logout 1.0 §2.6: signature, iss, aud, iat, exp, the event, sub or sid, and
        no nonce. (The caller checks ``jti`` for replay.)"""
        try:
            decoded = self._verify_jwt(logout_token)
        except (JoseError, ValueError) as error:
            raise LoginError("invalid_request", "logout token signature") from error
        claims = decoded.claims
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        now = time.time()
        problems = [
            claims.get("iss") != self.config.issuer,
            self.config.client_id not in audiences,
            not isinstance(claims.get("iat"), int) or claims["iat"] > now + CLOCK_LEEWAY,
            isinstance(claims.get("exp"), int) and claims["exp"] < now - CLOCK_LEEWAY,
            not isinstance(claims.get("events"), dict) or BACKCHANNEL_LOGOUT_EVENT not in claims["events"],
            "nonce" in claims,
            not claims.get("sub") and not claims.get("sid"),
            not claims.get("jti"),
        ]
        if any(problems):
            raise LoginError("invalid_request", "logout token claims")
        return dict(claims)


def _oauth_error(response: requests.Response) -> tuple[str, str]:
    try:
        body = untrusted_json.loads(response.content)
    except ValueError:
        return "server_error", f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return "server_error", f"HTTP {response.status_code}"
    return str(body.get("error", "server_error")), str(body.get("error_description", ""))
