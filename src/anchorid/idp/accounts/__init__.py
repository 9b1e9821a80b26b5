"""Accounts: one per person, anchored on a JPKI signature certificate, attributes encrypted at rest."""
