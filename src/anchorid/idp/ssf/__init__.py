"""Shared Signals Framework 1.0 transmitter of the ID platform (issue #5).

- ``emit``: the functions the rest of the idp calls inside the transaction that makes a change; each writes one
  outbox row (one Security Event Token) per receiving stream.
- ``models``: streams (one per client), subjects the receiver removed, the outbox, residents' forwarding choices.
- ``events``: event type URIs (CAEP 1.0, RISC 1.0, SSF 1.0) and SET (RFC 8417) construction and signing.
- ``ssrf``: the push endpoint guard. ``delivery``: the push worker (RFC 8935). ``poll``: RFC 8936.
- ``streams``/``views``: the stream management API and ``/.well-known/ssf-configuration``.
- ``moving``: the resident's "I moved" page.
"""
