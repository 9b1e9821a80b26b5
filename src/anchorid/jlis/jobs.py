"""jlis's background job (``anchorid.common.worker``), under its lease:

- ``ocsp-crl-refresh``: re-sign the stored OCSP responses whose nextUpdate is near, and rebuild each CRL whose
  nextUpdate is near (``ANCHORID_JLIS_REFRESH_SECONDS``, default 3600; 0 off). Both are also refreshed on demand
  when asked for; the job keeps the stored ones fresh for the fast path. ``anchorid jlis refresh`` does it by hand
  (and reissues both CRLs).
"""

from __future__ import annotations

import logging

from anchorid.common import config
from anchorid.common.worker.registry import Job

log = logging.getLogger(__name__)


def refresh() -> None:
    from anchorid.jlis.crl import current_crl
    from anchorid.jlis.models import CertificateAuthority
    from anchorid.jlis.ocsp import refresh_stale_responses

    resigned = refresh_stale_responses()
    for kind in CertificateAuthority.objects.values_list("kind", flat=True):  # the CAs made so far (jlis init)
        current_crl(kind)
    if resigned:
        log.info("%d OCSP response(s) re-signed", resigned)


def jobs() -> list[Job]:
    return [Job("ocsp-crl-refresh", config.JLIS_REFRESH_SECONDS.value(), refresh)]
