"""Sample private providers (electricity, water, bank, carrier, post) as relying parties and SSF receivers.

One server (``anchorid serve providers``) holds the five, each under its own path with its own client registration
at the idp, its own keys, its own customers (keyed by its own pairwise ``sub``) and its own push endpoint. A
customer signs up with "login with AnchorID" consenting to their name and address; a claims-change event from the
idp updates the address on file and is acknowledged (RFC 8935 202). See docs/providers.md.
"""
