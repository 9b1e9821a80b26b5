"""Adoption statistics: onboarded residents counted by week, coarse age band and sex (docs/city.md, D??).

At onboarding the age band and sex are derived from the verified certificate and one counter is raised; the counter
row carries no account, no birth date and nothing finer than the week. The city reads cumulative counts with cells
under :data:`anchorid.common.adoption_bands.K_ANONYMITY` suppressed (``GET /adoption/v1/counts``, a
client_credentials token with the ``adoption.read`` scope).
"""
