"""A small HTTP client for the Wharf API: tokens in `Authorization`, problem+json turned into
`ApiError`, and every way of not reaching the server turned into `Unreachable`."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import aiohttp

from registry import __version__
from registry.client.config import UsageError

USER_AGENT = f"wharf-registry-cli/{__version__}"
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 300.0


@dataclass
class ApiError(Exception):
    """The server answered, and refused (exit status 1)."""

    status: int
    title: str
    detail: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    body: dict[str, Any] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """`<status> <title>: <detail>`, then one `<pointer>: <message>` line per violation."""
        head = f"{self.status} {self.title}"
        if self.detail:
            head += f": {self.detail}"
        return [head, *(f"  {e.get('pointer') or '(body)'}: {e.get('message', '')}" for e in self.errors)]

    def __str__(self) -> str:
        return "\n".join(self.lines())


class Unreachable(Exception):
    """The server could not be reached, or the connection broke (exit status 3)."""


@dataclass
class Response:
    status: int
    body: Any
    headers: Mapping[str, str]


def _error_from(status: int, reason: str | None, payload: Any) -> ApiError:
    if not isinstance(payload, dict):
        return ApiError(status, reason or "Error")
    errors = payload.get("errors")
    return ApiError(
        status,
        str(payload.get("title") or reason or "Error"),
        str(payload["detail"]) if payload.get("detail") else None,
        [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else [],
        payload,
    )


class Api:
    """`async with Api(server, token) as api: await api.get("/api/user")`."""

    def __init__(self, server: str, token: str | None = None) -> None:
        self.server = server
        self.token = token
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Api:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, connect=CONNECT_TIMEOUT, sock_read=READ_TIMEOUT),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json, application/problem+json"},
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()

    def url(self, path: str) -> str:
        """An absolute URL for a server path (kept as is when already absolute)."""
        return path if path.startswith(("http://", "https://")) else self.server + path

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: bytes | AsyncIterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: aiohttp.BasicAuth | None = None,
        authenticated: bool = True,
    ) -> Response:
        assert self._session is not None, "use Api as an async context manager"
        sent = dict(headers or {})
        if authenticated and self.token and auth is None:
            sent["Authorization"] = f"token {self.token}"
        try:
            async with self._session.request(
                method, self.url(path), params=params, json=json_body, data=data, headers=sent, auth=auth
            ) as response:
                raw = await response.read()
                payload: Any = None
                if raw:
                    try:
                        payload = json.loads(raw)
                    except ValueError:
                        payload = None
                if response.status >= 400:
                    raise _error_from(response.status, response.reason, payload)
                return Response(response.status, payload, response.headers)
        except aiohttp.InvalidURL as exc:
            raise UsageError(f"invalid server URL: {exc}") from None
        except aiohttp.ClientConnectorError as exc:
            error = exc.os_error
            if error.errno and error.errno > 0:
                reason = os.strerror(error.errno)  # not asyncio's "Connect call failed ('127.0.0.1', 9)"
            else:
                reason = error.strerror or str(error) or type(error).__name__
            raise Unreachable(f"cannot reach {self.server}: {reason}") from None
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, aiohttp.ClientPayloadError) as exc:
            raise Unreachable(f"lost the connection to {self.server}: {exc or type(exc).__name__}") from None
        except TimeoutError:
            raise Unreachable(f"{self.server} did not answer in time") from None
        except aiohttp.ClientError as exc:
            raise Unreachable(f"talking to {self.server} failed: {type(exc).__name__}: {exc}") from None

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return (await self.request("GET", path, params=params)).body
