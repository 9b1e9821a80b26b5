"""What the city adds to the shared Content-Security-Policy (:mod:`anchorid.common.csp`): its login and logout
buttons are answered with a redirect to the idp, so ``form-action`` names the configured issuer's origin
(``ANCHORID_CSP_FORM_TARGETS`` in the city's settings)."""

from __future__ import annotations


def form_targets() -> list[str | None]:
    from anchorid.city.rp.setup import configured_issuer
    from anchorid.common.settings_base import DATA_DIR

    return [configured_issuer(DATA_DIR)]
