"""Links between two services for one resident: offers, consents, exchanges (docs/protocols/token-exchange.md)."""
