"""The lifecycle watcher: every account's anchor certificate checked against J-LIS, attributes refreshed with consent.

docs/lifecycle.md is the reference: the CRL sweep (``sweep``), the database-backed job runner (``jobs``),
just-in-time OCSP at login (``jit``), the resident's refresh consent (``consent``) and the consented refresh
(``refresh``), the notices and e-mails (``notices``).
"""
