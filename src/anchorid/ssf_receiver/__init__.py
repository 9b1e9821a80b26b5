"""A reusable Shared Signals receiver: what a relying party of AnchorID needs to take events from the idp.

A Django app (the ``ReceivedSet`` table) plus plain functions, used by the sample providers
(``anchorid.providersim``) and the city's departments (``anchorid.city.departments``):

- ``transmitter``: the transmitter's configuration (SSF 1.0 §7.1, ``/.well-known/ssf-configuration``) and its
  JWKS, fetched and cached; one refetch when a SET names an unknown key.
- ``verify``: a pushed or polled Security Event Token (RFC 8417) checked the SSF way: compact JWS, ``typ``
  ``secevent+jwt``, ES256 only, the right ``iss`` and ``aud``, a known ``kid``, a sane ``iat``, the required claims,
  exactly one event. Failures carry RFC 8935's error codes (``errors``).
- ``receive``: the jti recorded (unique per receiver and issuer) and the event applied by the receiver's handler in
  one database transaction: at-least-once delivery, exactly-once effect. A byte-identical retransmission is
  accepted again without being applied again; another SET reusing a known jti is refused.
- ``push``: the RFC 8935 endpoint (202, or 400 with ``{"err", "description"}``).
- ``poll``: the RFC 8936 client (acknowledgements and ``setErrs``).
- ``streams``: the stream management client (a client_credentials token by private_key_jwt at the idp; create or
  update the receiver's stream; ask for a verification event).
"""
