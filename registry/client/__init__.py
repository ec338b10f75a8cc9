"""The publishing client inside the `registry` command: login, publish, yank, info, search, dependents.

It talks to a Wharf server over HTTP only (never to a database), so it runs anywhere a CI job can
reach the registry.
"""
