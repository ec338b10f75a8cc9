"""What `registry serve` reports to its operator as one line (a taken port, a bad address).

Its own module so that the command line can catch it without importing the server, whose modules
cost the client commands (login, info, search, dependents…) a third of a second at every start.
"""

from __future__ import annotations


class ServeError(RuntimeError):
    pass
