"""What the providers add to the shared Content-Security-Policy (:mod:`anchorid.common.csp`): the sign-up and
logout buttons are answered with a redirect to the idp, so ``form-action`` names the issuer's origin, from the
first configured provider, as the city does (``ANCHORID_CSP_FORM_TARGETS`` in the providers' settings)."""

from __future__ import annotations


def form_targets() -> list[str | None]:
    from anchorid.common.rp.setup import configured_issuer
    from anchorid.common.settings_base import DATA_DIR
    from anchorid.providersim.providers import SERVICES as PROVIDERS

    for provider in PROVIDERS.values():
        issuer = configured_issuer(provider.data_dir(DATA_DIR))
        if issuer:
            return [issuer]
    return []
