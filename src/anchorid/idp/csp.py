"""The idp's Content-Security-Policy is the shared one, :mod:`anchorid.common.csp`: import it from there. These
names stay importable from here only so that a module written against this older path keeps working."""

from anchorid.common.csp import CSP_HEADER, ContentSecurityPolicyMiddleware, allow_form_targets

__all__ = ["CSP_HEADER", "ContentSecurityPolicyMiddleware", "allow_form_targets"]
