"""What the registry's rules are made of, with no transport in sight: errors, pages, the actor.

Nothing here imports aiohttp or asyncpg: the services, the HTTP handlers, the GraphQL endpoint
and the CLI all speak these types, and only the HTTP layer (registry.problems) turns them into
problem+json.
"""
