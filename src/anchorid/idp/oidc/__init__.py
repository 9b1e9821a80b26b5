"""The OpenID Provider (issue #4): OAuth 2.0 / OpenID Connect at the FAPI 2.0 Security Profile level.

One module per specification, named after it (STYLE.md): ``par`` (RFC 9126), ``pkce`` (RFC 7636), ``dpop``
(RFC 9449), ``client_auth`` (RFC 7523 + RFC 6749 §2.3.1), ``tokens`` (OIDC Core §2 ID token, RFC 9068 JWT access
token), ``refresh`` (RFC 6749 §6 + rotation), ``pairwise`` (OIDC Core §8.1), ``ida`` (OpenID Connect for Identity
Assurance 1.0), ``introspection`` (RFC 7662), ``revocation`` (RFC 7009), ``logout`` (RP-Initiated Logout 1.0 and
Back-Channel Logout 1.0), ``discovery`` (OIDC Discovery 1.0 / RFC 8414), ``jwks`` (RFC 7517 + key rotation).
Views (``views``) are thin: they parse the HTTP request and call these functions. See docs/protocols/openid-connect.md.
"""
