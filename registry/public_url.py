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

from aiohttp import web

from registry import appkeys
from registry.errors import BadRequest


def is_loopback_host(host: str) -> bool:
    """Whether a Host header value (name or address, with or without a port) names this machine."""
    name = host.strip().lower()
    if name.startswith("["):  # [::1]:8080
        name = name[1 : name.find("]")] if "]" in name else ""
    elif name.count(":") == 1:
        name = name.rsplit(":", 1)[0]
    name = name.rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):  # RFC 6761: always loopback
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def base_url(request: web.Request) -> str:
    """WHARF_PUBLIC_URL, else the request's own origin when its Host is a loopback one; 400 otherwise."""
    configured = request.app[appkeys.CONFIG].public_url
    if configured:
        return configured
    if not is_loopback_host(request.host):
        raise BadRequest(
            "This registry does not know its public URL, so it cannot write absolute URLs for a request "
            "addressed to another host than localhost; its operator sets WHARF_PUBLIC_URL."
        )
    return f"{request.scheme}://{request.host}"
