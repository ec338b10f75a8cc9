"""Where clients reach this registry, for the absolute URLs written into bundles at publish and
into Sourcegraph's listings.

WHARF_PUBLIC_URL says it. Without it, the request's own `Host` is used only when it names this
machine (localhost, a loopback address): a `Host` header is whatever the client sends, so taking
any would let one client write its own origin into a bundle everyone else downloads (or, through
DNS rebinding, a web page do so via a browser on this machine). Any other `Host` is refused
(400) with what to set.
"""

from __future__ import annotations

import ipaddress
import re

from aiohttp import web

from registry import appkeys
from registry.domain.errors import BadRequest

# RFC 9110 section 7.2: Host = uri-host [ ":" port ]. Only what could name this machine is
# matched: a bracketed IPv6 address (no zone), or a dotted name or IPv4 address; a port of ASCII
# digits. Everything else (`localhost:80@evil.com`, `127.0.0.1:1,evil.com`, `[::1]/x`) is no Host.
_AUTHORITY = re.compile(r"(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9.-]+))(?::(?P<port>[0-9]{1,5}))?")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def is_loopback_address(name: str) -> bool:
    """Whether a host name or address, without a port (IPv6 unbracketed, as given to listen on),
    names this machine: localhost and its subdomains (RFC 6761) or a loopback address."""
    name = name.lower().removesuffix(".")
    if name == "localhost" or (name.endswith(".localhost") and all(map(_LABEL.fullmatch, name.split(".")))):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def loopback_authority(host: str) -> str | None:
    """A Host header value as the authority of this machine's URLs (lower case, the port as a
    number from 1 to 65535), or None when it is not exactly `host[:port]` naming this machine."""
    parts = _AUTHORITY.fullmatch(host)
    if parts is None:
        return None
    port = parts["port"]
    if port is not None and not 1 <= int(port) <= 65535:
        return None
    suffix = "" if port is None else f":{int(port)}"
    if parts["ipv6"] is not None:
        try:
            address = ipaddress.IPv6Address(parts["ipv6"])
        except ValueError:
            return None
        return f"[{address.compressed}]{suffix}" if address.is_loopback else None
    name = parts["name"].lower()
    return f"{name}{suffix}" if is_loopback_address(name) else None


def base_url(request: web.Request) -> str:
    """WHARF_PUBLIC_URL, else the request's own origin when its Host is a loopback one; 400 otherwise.
    Every absolute URL the registry writes starts here."""
    configured = request.app[appkeys.CONFIG].public_url
    if configured:
        return configured
    authority = loopback_authority(request.host)
    if authority is None:
        raise BadRequest(
            "This registry does not know its public URL, so it writes absolute URLs only for a request whose "
            "Host is localhost or a loopback address (with at most a port); its operator sets WHARF_PUBLIC_URL."
        )
    return f"{request.scheme}://{authority}"
