"""Store modules: one per domain, plain SQL through asyncpg, frozen dataclasses out.

Every function takes the connection first and never opens its own transaction: the caller owns
the boundary. Every query starts with a comment naming where it lives, so a slow one can be
traced from PostgreSQL's logs. Soft-deleted rows are excluded everywhere unless a name says so.
"""
