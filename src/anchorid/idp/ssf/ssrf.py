"""The SSRF guard for push endpoints (the receiver chooses the URL the idp will POST to).

A push ``endpoint_url`` must be an absolute ``https`` URL (``http`` only when ``ANCHORID_SSF_ALLOW_INSECURE_HTTP``),
without user info or fragment, and every address its host resolves to must be public: private (RFC 1918, unique
local), loopback, link-local (which holds the cloud metadata address 169.254.169.254), shared (100.64/10),
reserved, multicast and unspecified addresses are refused — IPv4-mapped IPv6 addresses are judged as the IPv4
address they carry. ``ANCHORID_SSF_ALLOW_PRIVATE_NETWORKS`` lifts the address rule, and hosts listed in
``ANCHORID_SSF_PUSH_ALLOWED_HOSTS`` skip it (an operator's allow-list).

The URL is checked when a stream is created or changed and again before each delivery (a host can be re-pointed
after the check: DNS rebinding). The delivery connections (``GuardedHTTPConnection``, ``GuardedHTTPSConnection``) go
further and check the address they are actually connected to, so a resolver that answers differently between the
check and the connect gains nothing.
Redirects are never followed, and no proxy is used (it would hide the peer).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from urllib.parse import urlsplit

from anchorid.idp.ssf import conf

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeEndpoint(ValueError):
    """The push endpoint is refused; the message says why (never an address from a private network map)."""


def address_allowed(address: IpAddress) -> bool:
    """A public unicast address (what a push may reach when private networks are not allowed)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _host_exempt(host: str) -> bool:
    return conf.allow_private_networks() or host.lower().rstrip(".") in conf.push_allowed_hosts()


def check_syntax(url: str) -> tuple[str, int]:
    """Scheme, host and form of the URL; returns (host, port)."""
    if not isinstance(url, str) or not url or len(url) > 2000:
        raise UnsafeEndpoint("endpoint_url must be a URL of at most 2000 characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeEndpoint("endpoint_url is not a valid URL") from None
    if parts.scheme not in ("https", "http"):
        raise UnsafeEndpoint("endpoint_url must be an https URL")
    if parts.scheme == "http" and not conf.allow_insecure_http():
        raise UnsafeEndpoint("endpoint_url must be an https URL (http is not allowed here)")
    if not parts.hostname or parts.username is not None or parts.password is not None or parts.fragment:
        raise UnsafeEndpoint("endpoint_url must have a host and no user info or fragment")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def resolve(host: str, port: int) -> list[IpAddress]:
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise UnsafeEndpoint("the endpoint's host name does not resolve") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def check_url(url: str) -> None:
    """Refuse ``url`` as a push endpoint (``UnsafeEndpoint``) unless it passes every rule above."""
    host, port = check_syntax(url)
    if _host_exempt(host):
        return
    addresses = resolve(host, port)
    if not addresses:
        raise UnsafeEndpoint("the endpoint's host name does not resolve")
    if not all(address_allowed(a) for a in addresses):
        raise UnsafeEndpoint("the endpoint resolves to a private, loopback, link-local or reserved address")


class RefusedPeer(OSError):
    """The connection reached an address the guard refuses (raised after connect, before anything is sent)."""


def _check_peer(host: str, sock: socket.socket) -> None:
    if _host_exempt(host):
        return
    peer = ipaddress.ip_address(str(sock.getpeername()[0]).split("%", 1)[0])
    if not address_allowed(peer):
        sock.close()
        raise RefusedPeer("connected address is private, loopback, link-local or reserved")


class GuardedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection that checks the peer address right after connecting."""

    def connect(self) -> None:
        super().connect()
        assert self.sock is not None
        _check_peer(self.host, self.sock)


class GuardedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection that checks the peer address after the TCP connect, before the TLS handshake."""

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        assert self.sock is not None
        _check_peer(self.host, self.sock)
        context: ssl.SSLContext = self._context  # type: ignore[attr-defined]
        self.sock = context.wrap_socket(self.sock, server_hostname=self.host)


def connection_for(url: str, timeout: float) -> http.client.HTTPConnection:
    """A guarded connection to the URL's origin (not yet connected)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https":
        return GuardedHTTPSConnection(host, parts.port, timeout=timeout, context=ssl.create_default_context())
    return GuardedHTTPConnection(host, parts.port, timeout=timeout)
