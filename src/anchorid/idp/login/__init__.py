"""Logging in at the platform: the choice page, card login and step-up, logout, and the login rate limits.

Passkey login lives with the passkeys (``anchorid.idp.passkeys``); every path ends in ``sessions.log_in``.
"""
