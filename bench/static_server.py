"""A plain static file server (aiohttp's own), the ceiling the registry's bundle serving is
compared with: same machine, same 1 MiB file, same client, no database, no logic."""

from __future__ import annotations

import sys

from aiohttp import web

if __name__ == "__main__":
    directory, port = sys.argv[1], int(sys.argv[2])
    app = web.Application()
    app.router.add_static("/", directory)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)
