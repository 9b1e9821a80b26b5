"""PKI code every CA we run shares: the simulated J-LIS (``anchorid.jlis``), the platform CA
(``anchorid.idp.deviceca``) and the JPKI profiles (``anchorid.jpki``).

Party-neutral: nothing here imports a party's models. ``certificates``, ``crl`` and ``ocsp`` need only
cryptography; ``presigned`` works on any Django model with the pre-signed-response columns.
"""
