"""`registry serve`: one process, or N processes sharing the port with SO_REUSEPORT."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

from aiohttp import web

from registry.app import create_app
from registry.config import Config
from registry.public_url import is_loopback_address
from registry.serve_errors import ServeError

log = logging.getLogger("wharf.serve")

_SHUTDOWN_TIMEOUT = 30.0
_LINGERING_TIME = 2.0  # seconds spent reading (and dropping) the unread rest of a refused body


def _run_one(config: Config, *, reuse_port: bool, migrate: bool) -> None:
    try:
        web.run_app(
            create_app(config, migrate=migrate),
            host=config.host,
            port=config.port,
            reuse_port=reuse_port or None,
            access_log=None,  # the observability middleware writes JSON lines instead
            shutdown_timeout=_SHUTDOWN_TIMEOUT,
            # A slow client is cut off: aiohttp's keep-alive deadline runs from the connection's
            # start (or the previous response) until a request's headers are complete, so it also
            # bounds a request line or headers dribbled byte by byte. Bodies: see registry.app.
            keepalive_timeout=config.keepalive_timeout,
            # The rest reach aiohttp's RequestHandler as they are (run_app passes its extra keyword
            # arguments through; an unknown one would make aiohttp silently drop them *all*,
            # access_log=None included, so tests/abuse checks that none is dropped).
            max_line_size=config.max_header_bytes,
            max_field_size=config.max_header_bytes,
            max_headers=config.max_headers,
            lingering_time=_LINGERING_TIME,
            print=lambda message: log.info("%s", message),
        )
    except OSError as exc:
        raise ServeError(f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}") from exc


def _worker(config: Config, migrate: bool) -> None:
    """One server process. A signal that arrives while it is still starting (before aiohttp has
    installed its handlers) is a request to stop, not a failure."""
    logging.getLogger().setLevel(config.log_level)
    try:
        _run_one(config, reuse_port=True, migrate=migrate)
    except ServeError as exc:
        log.error("%s", exc)
        sys.exit(1)
    except (KeyboardInterrupt, SystemExit) as stop:
        if isinstance(stop, SystemExit) and stop.code not in (None, 0, 128 + signal.SIGTERM):
            raise
        return


def serve(config: Config, *, migrate: bool = False) -> None:
    """Serve until SIGINT/SIGTERM; with workers > 1 the parent supervises and forwards signals.
    `migrate`: each process migrates once the database answers (under the migrators' lock)."""
    if config.public_url is None and not is_loopback_address(config.host):
        log.warning(
            "listening on %s without WHARF_PUBLIC_URL: requests that need absolute URLs (publish, "
            "Sourcegraph listings) are refused unless addressed to localhost; set WHARF_PUBLIC_URL",
            config.host,
        )
    if config.workers == 1:
        _run_one(config, reuse_port=False, migrate=migrate)
        return
    shared = None
    if config.asset_directory is None:  # one asset cache for the host's workers, not one each
        shared = tempfile.mkdtemp(prefix="wharf-assets-")
        config = config.with_overrides(asset_cache_dir=Path(shared))
    try:
        _supervise(config, migrate)
    finally:
        if shared is not None:
            shutil.rmtree(shared, ignore_errors=True)


def _supervise(config: Config, migrate: bool) -> None:
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_worker, args=(config, migrate), name=f"wharf-worker-{n}") for n in range(config.workers)
    ]
    for process in workers:
        process.start()
    log.info("%d workers serving on http://%s:%d", len(workers), config.host, config.port)

    def forward(signum: int, _frame: FrameType | None) -> None:
        for process in workers:
            if process.pid is not None and process.is_alive():
                os.kill(process.pid, signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for process in workers:
            process.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    failed = [p.name for p in workers if p.exitcode not in (0, None, -signal.SIGTERM, -signal.SIGINT)]
    if failed:
        raise ServeError(f"workers exited with an error: {', '.join(failed)}")
