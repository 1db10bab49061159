"""Address policy for fetches: which hosts a request may reach, and the checks that keep it there.

Article pages reach only public addresses, except for the kind of address the feed itself is on: a feed on
127.0.0.1 may link to pages on loopback, never to link-local or private ones. A hop's host is resolved and
checked before the request (``check_addresses``), and the socket actually connected is checked again by the
watchdog (``address_kind``, ``ForbiddenPeer``), since DNS may answer differently the second time.
"""

from __future__ import annotations

import functools
import ipaddress
import socket

import httpx

from ..errors import FetchError


@functools.lru_cache(maxsize=1024)  # asked on every request, of a few hundred feed URLs
def host_of(url: str) -> str | None:
    """The URL's host name, or None when it has none or is not a URL."""
    try:
        return httpx.URL(url).host or None
    except (httpx.InvalidURL, ValueError, TypeError):
        return None


@functools.lru_cache(maxsize=1024)
def origin_of(url: str) -> tuple[str, str, int] | None:
    """The URL's origin: scheme, host and port (the scheme's default when none is written); None when it
    is not an http(s) URL with a host."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        return None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return None
    return parsed.scheme, parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80)


def parse_http_url(url: str) -> httpx.URL:
    """The URL parsed, if it is http(s) with a host; else a "refused" FetchError."""
    try:
        target = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise FetchError(f"fetch: invalid URL ({url})", kind="refused", url=url) from exc
    if target.scheme not in ("http", "https") or not target.host:
        raise FetchError(f"fetch: only http(s) URLs are fetched ({url})", kind="refused", url=url)
    return target


def resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every address ``host`` resolves to (itself, if it is an IP literal); OSError when DNS fails."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def address_kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """None for a globally routable unicast address, else what it is ("loopback", "link-local", ...).

    An IPv6 address that carries an IPv4 one (mapped, 6to4 2002::/16, NAT64 64:ff9b::/96) is judged by the
    IPv4 address: a gateway delivers it there. Site-local fec0::/10 is private."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.is_site_local:
            return "private"
        if address in _NAT64:
            return address_kind(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if (embedded := address.ipv4_mapped or address.sixtofour) is not None:
            return address_kind(embedded)
    for kind in ("unspecified", "loopback", "link_local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if address.is_global else "non-global"


def check_addresses(target: httpx.URL, url: str, *, allowed: frozenset[str]) -> None:
    """Resolve the hop's host; every address must be public or of a kind the feed itself is on."""
    host = target.raw_host.decode("ascii")
    try:
        addresses = resolve(host, target.port or (443 if target.scheme == "https" else 80))
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"fetch: cannot resolve {host} ({url})", kind="dns", url=url) from exc
    if not addresses:
        raise FetchError(f"fetch: cannot resolve {host} ({url})", kind="dns", url=url)
    for address in addresses:
        kind = address_kind(address)
        if kind is not None and kind not in allowed:
            raise forbidden(str(address), kind, url)


def forbidden(address: str, kind: str, url: str) -> FetchError:
    """The error for a hop or connection that reached ``address``, of a ``kind`` the feed may not reach."""
    return FetchError(f"fetch: {address} is a {kind} address ({url})", kind="forbidden_address", url=url)


class ForbiddenPeer(Exception):
    """Raised inside httpx's connection trace when the socket reached a forbidden ``address`` of ``kind``.

    It carries no URL (the trace does not know it); the fetcher turns it into ``forbidden(...)`` with the
    request's URL.
    """

    def __init__(self, address: str, kind: str) -> None:
        super().__init__(address)
        self.address = address
        self.kind = kind
