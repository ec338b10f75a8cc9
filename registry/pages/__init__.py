"""The web catalogue's plumbing: templates, the Content-Security-Policy every HTML page carries,
HTML error pages, and the few static files the pages use (served by the app itself).

Pages run no script at all; styles come from one stylesheet of our own; images are our own or
`data:` URIs (extension icons). Everything else is refused by the policy below.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp.typedefs import Handler

from registry.domain.record import Record

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
HTML_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
_PACKAGE = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = _PACKAGE / "templates"
STATIC_DIR = _PACKAGE / "static" / "web"
STATIC_PREFIX = "/static/web"
# Paths whose unmatched requests stay problem+json whatever the client accepts.
_MACHINE_PREFIXES = ("/api/", "/.api/", "/-/")


class StaticFile(Record):
    body: bytes
    content_type: str
    etag: str


STATIC_FILES = web.AppKey("web_static_files", dict[str, StaticFile])
CACHE = web.AppKey("web_cache", dict[str, Any])


def _static_files() -> dict[str, StaticFile]:
    files = {}
    for path in sorted(STATIC_DIR.iterdir()):
        if path.is_file():
            body = path.read_bytes()
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            files[path.name] = StaticFile(body, content_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
    return files


def static_url(files: Mapping[str, StaticFile], name: str) -> str:
    """A static file's URL, versioned by its content (so it can be cached for a year)."""
    return f"{STATIC_PREFIX}/{name}?v={files[name].etag.strip(chr(34))[:12]}"


def query_url(base: str, **params: Any) -> str:
    """`base` with the non-empty `params` as its query string."""
    kept = {key: value for key, value in params.items() if value not in (None, "")}
    return f"{base}?{urlencode(kept)}" if kept else base


def setup(app: web.Application) -> None:
    """Templates and static files for the web pages (called by the app factory)."""
    files = _static_files()
    app[STATIC_FILES] = files
    app[CACHE] = {}
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals["stylesheet"] = static_url(files, "site.css")
    env.filters["path"] = lambda value: quote(str(value), safe="")
    env.globals["query_url"] = query_url


def html_response(
    request: web.Request, template: str, context: Mapping[str, Any], *, status: int = 200
) -> web.Response:
    response = aiohttp_jinja2.render_template(template, request, dict(context), status=status)
    response.headers.update(HTML_HEADERS)
    return response


def error_page(request: web.Request, status: int, title: str, detail: str) -> web.Response:
    return html_response(request, "error.html", {"status": status, "title": title, "detail": detail}, status=status)


def _wants_html(request: web.Request) -> bool:
    if request.method not in ("GET", "HEAD") or request.path.startswith(_MACHINE_PREFIXES) or request.path == "/api":
        return False
    return "text/html" in request.headers.get("Accept", "")


@web.middleware
async def html_not_found_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A browser asking for a page that does not exist (outside the API) gets an HTML 404; every
    other client, and every path under /api, keeps the problem+json answer."""
    match_info = request.match_info
    unmatched = isinstance(match_info, web.UrlMappingMatchInfo) and isinstance(
        match_info.http_exception, web.HTTPNotFound
    )
    if unmatched and _wants_html(request):
        return error_page(request, 404, "Page not found", "There is no page at this address.")
    return await handler(request)
