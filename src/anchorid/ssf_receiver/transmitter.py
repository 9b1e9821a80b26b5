"""The transmitter as a receiver sees it: its configuration metadata and its signing keys, fetched and cached.

- SSF 1.0 §7.2: the configuration lives at ``/.well-known/ssf-configuration`` inserted between the issuer's host
  and path; its ``issuer`` must be the issuer we asked about (the same rule as OIDC Discovery §4.3).
- The SETs are verified with the keys at the configuration's ``jwks_uri``. A SET naming a ``kid`` we do not know
  makes one refetch of the JWKS (the transmitter rotated its keys), at most once per ``REFETCH_INTERVAL`` seconds,
  so a stream of forged kids cannot make us hammer the transmitter.
- Metadata is kept for ``METADATA_TTL`` seconds; a failed fetch raises ``TransmitterUnavailable`` (the SET is
  neither accepted nor refused, and the transmitter retries).

One ``Transmitter`` per issuer per process (``transmitter_for``): several receivers in one server (the five sample
providers) share the cache.
"""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from anchorid.common import untrusted_json
from anchorid.common.outgoing_http import RequestIdSession
from anchorid.ssf_receiver.errors import TransmitterUnavailable

WELL_KNOWN = "/.well-known/ssf-configuration"
HTTP_TIMEOUT = 10
METADATA_TTL = 3600.0
REFETCH_INTERVAL = 10.0
MAX_DOCUMENT_BYTES = 256 * 1024


def configuration_url(issuer: str) -> str:
    """SSF 1.0 §7.2: the well-known path goes between the host and the issuer's own path."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, WELL_KNOWN + path, "", ""))


class Transmitter:
    """One SSF transmitter: its configuration and JWKS, cached; thread-safe."""

    def __init__(self, issuer: str, http: requests.Session | None = None) -> None:
        self.issuer = issuer.rstrip("/")
        self.http = http or RequestIdSession()  # the idp logs our calls under our request id
        self._lock = threading.RLock()
        self._configuration: dict[str, Any] | None = None
        self._configuration_at = 0.0
        self._keys: KeySet | None = None
        self._keys_at = 0.0

    def _get_json(self, url: str) -> Any:
        try:
            response = self.http.get(url, timeout=HTTP_TIMEOUT, headers={"Accept": "application/json"})
            response.raise_for_status()
            if len(response.content) > MAX_DOCUMENT_BYTES:
                raise ValueError("document too large")
            return untrusted_json.loads(response.content)
        except (requests.RequestException, ValueError) as error:
            raise TransmitterUnavailable(f"{url}: {type(error).__name__}") from error

    def configuration(self, *, refresh: bool = False) -> dict[str, Any]:
        with self._lock:
            fresh = time.monotonic() - self._configuration_at < METADATA_TTL
            if self._configuration is None or refresh or not fresh:
                document = self._get_json(configuration_url(self.issuer))
                if not isinstance(document, dict) or document.get("issuer") != self.issuer:
                    raise TransmitterUnavailable("the ssf-configuration names another issuer")
                if not isinstance(document.get("jwks_uri"), str):
                    raise TransmitterUnavailable("the ssf-configuration has no jwks_uri")
                self._configuration = document
                self._configuration_at = time.monotonic()
            return self._configuration

    def endpoint(self, name: str) -> str:
        """A URL from the configuration (``configuration_endpoint``, ``verification_endpoint`` …)."""
        value = self.configuration().get(name)
        if not isinstance(value, str) or not value:
            raise TransmitterUnavailable(f"the transmitter publishes no {name}")
        return value

    def _fetch_keys(self) -> KeySet:
        document = self._get_json(self.configuration()["jwks_uri"])
        try:
            keys = KeySet.import_key_set(document)
        except (JoseError, ValueError, TypeError, KeyError) as error:
            raise TransmitterUnavailable("the transmitter's JWKS cannot be read") from error
        self._keys = keys
        self._keys_at = time.monotonic()
        return keys

    def key(self, kid: str) -> ECKey | None:
        """The transmitter's public key ``kid``, refetching the JWKS once when it is unknown (rate-limited)."""
        with self._lock:
            stale = time.monotonic() - self._keys_at >= METADATA_TTL
        keys = self._keys
        if keys is None or stale:
            with self._lock:
                keys = self._fetch_keys()
        found = _find(keys, kid)
        if found is None:
            with self._lock:
                if time.monotonic() - self._keys_at >= REFETCH_INTERVAL:
                    found = _find(self._fetch_keys(), kid)
                else:
                    found = _find(self._keys or keys, kid)
        return found


def _find(keys: KeySet, kid: str) -> ECKey | None:
    for key in keys.keys:
        if key.kid == kid and isinstance(key, ECKey):
            return key
    return None


_registry: dict[str, Transmitter] = {}
_registry_lock = threading.Lock()


def transmitter_for(issuer: str) -> Transmitter:
    """The process's ``Transmitter`` for ``issuer`` (shared by every receiver of that issuer)."""
    issuer = issuer.rstrip("/")
    with _registry_lock:
        if issuer not in _registry:
            _registry[issuer] = Transmitter(issuer)
        return _registry[issuer]


def forget_transmitters() -> None:
    """Drop every cached transmitter (tests; a changed configuration)."""
    with _registry_lock:
        _registry.clear()
