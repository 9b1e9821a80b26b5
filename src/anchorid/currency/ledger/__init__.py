"""The currency's ledger: TigerBeetle's semantics (accounts, immutable transfers, two-phase, linked chains) on our
databases (SQLite or PostgreSQL), plus expiry lots. See :mod:`anchorid.currency.ledger.service` and docs/currency.md."""
