"""Who is making a request, resolved once per request from its Authorization header."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import asyncpg
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from registry.auth import policy
from registry.auth.credentials import PasswordCredential, TokenCredential, parse_authorization, unauthorized
from registry.auth.passwords import PasswordHasher
from registry.auth.throttle import FailureThrottle, FailureWindows
from registry.auth.tokens import Scope, token_digest
from registry.client_address import address_key
from registry.db.database import Database
from registry.domain.actor import ANONYMOUS, Actor
from registry.names import fold_name
from registry.store import tokens as token_store
from registry.store import users as user_store
from registry.store.users import User

_ACTOR = web.RequestKey("actor", Actor)
_H = TypeVar("_H", bound=Callable[..., object])
_API_PREFIXES = ("/api/", "/.api/")
_ACCEPTS_PASSWORD = "wharf_accepts_password"  # noqa: S105 (an attribute name, no secret)


def accepts_password(handler: _H) -> _H:
    """Mark a route that takes a username and password (creating a token); every other route
    takes only tokens, so a password is never sent, and never throttled, anywhere else."""
    setattr(handler, _ACCEPTS_PASSWORD, True)
    return handler


def request_actor(request: web.Request) -> Actor:
    """The actor `actor_middleware` resolved for this request (anonymous outside the APIs)."""
    actor: Actor = request.get(_ACTOR, ANONYMOUS)
    return actor


def actor_middleware(authenticator: Authenticator, database: Database) -> Middleware:
    """Resolve the actor once per API request, before its handler runs and before its body is
    read: bad credentials are refused (401) on every API route, even one that needs none.
    The HTML pages and the operations routes ignore an Authorization header."""

    @web.middleware
    async def resolve(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(_API_PREFIXES) and "Authorization" in request.headers:
            route_handler = request.match_info.handler
            allow_password = getattr(route_handler, _ACCEPTS_PASSWORD, False)
            request[_ACTOR] = await authenticator.actor(request, database.pool, allow_password=allow_password)
        return await handler(request)

    return resolve


USER_CEILING_FACTOR = 10  # failures per username from all addresses together, in per-address budgets


class Authenticator:
    """Resolves credentials to an actor; owns the password hasher and the failure throttles
    (whose windows every node shares: registry.auth.throttle)."""

    def __init__(
        self, hasher: PasswordHasher, windows: FailureWindows, per_user: FailureThrottle, per_address: FailureThrottle
    ) -> None:
        self.hasher = hasher
        self._windows = windows
        self._per_user = per_user  # per username and client address
        self._per_user_anywhere = per_user.scaled(USER_CEILING_FACTOR)  # per username, all addresses
        self._per_address = per_address

    async def actor(self, request: web.Request, pool: asyncpg.Pool, *, allow_password: bool) -> Actor:
        if _ACTOR in request:
            return request[_ACTOR]
        header = request.headers.get("Authorization")
        actor = ANONYMOUS
        if header is not None:
            credential = parse_authorization(header)
            if isinstance(credential, PasswordCredential):
                if not allow_password:
                    raise unauthorized("Passwords are accepted only to create a token (POST /api/tokens).")
                actor = await self._password(pool, credential, request.remote)
            else:
                actor = await self._token(pool, credential, request.remote)
        request[_ACTOR] = actor
        return actor

    async def check_password(self, pool: asyncpg.Pool, username: str, password: str, client: str | None) -> User | None:
        """The user if `password` is theirs; failures count against the user and the client's address
        (`request.remote`, resolved through trusted proxies by registry.client_address).

        The attempt is counted before the (slow) verification and forgiven if it succeeds, so a
        burst of concurrent attempts cannot all get past the throttle (see registry.auth.throttle).
        Unlike a token, a right password is refused while its budget is spent: a throttle that
        verified every guess would tell a guesser which one was right. So that a guesser cannot
        lock its owner out, a username's budget is per client address (`per_user`): wrong guesses
        from one address do not refuse the owner's right password from another. A ceiling of
        `USER_CEILING_FACTOR` times that budget, from all addresses together, bounds guessing
        spread over many addresses. Tokens keep working throughout, and a wrong token does not
        spend the address's password budget.

        The user's key is the name folded as the lookup folds it (registry.names); a string that
        can be no username has no user, is never looked up, and still pays one (decoy) bcrypt.
        """
        address = address_key(client)
        folded = fold_name(username)
        user_key = "user:" + (folded if folded is not None else username)
        budgets = (
            (self._per_address, "addr:" + address),
            (self._per_user, f"{user_key}@{address}"),
            (self._per_user_anywhere, user_key),
        )
        counted = await self._windows.attempt(*budgets)
        failed = False
        try:
            async with pool.acquire() as conn:
                found = await user_store.password_hash(conn, username)
            matched = await self.hasher.verify(password, found[1] if found else None)
            failed = found is None or not matched
        finally:
            if not failed:  # right, or not decided (the database is away): not a failed attempt
                await self._windows.forgive(counted)
        return None if failed or found is None else found[0]

    async def _password(self, pool: asyncpg.Pool, credential: PasswordCredential, client: str | None) -> Actor:
        user = await self.check_password(pool, credential.username, credential.password, client)
        if user is None:
            raise unauthorized("Wrong username or password.")
        return Actor(user, frozenset({Scope.USER_ALL}))

    async def _token(self, pool: asyncpg.Pool, credential: TokenCredential, client: str | None) -> Actor:
        """A valid token always works, from any address: it is looked up first, and only a failure
        is counted (a throttled address gets 429 instead of 401). A token is 256 random bits, so
        letting every guess be checked gains a guesser nothing; refusing valid tokens from an
        address that also sent bad ones would lock out everyone behind the same proxy or NAT."""
        address = "token-addr:" + address_key(client)
        async with pool.acquire() as conn:
            holder = await token_store.token_holder(conn, token_digest(credential.value))
        if holder is None:  # counted on a connection of its own: this one is back in the pool
            await self._windows.attempt((self._per_address, address))
            raise unauthorized("The token is not valid: unknown, deleted, or its user is gone.")
        token_actor = Actor(holder.user, holder.scopes, holder.token_id)
        if credential.sudo_user is None:
            return token_actor
        policy.require_may_sudo(token_actor)
        async with pool.acquire() as conn:
            target = await user_store.user_by_username(conn, credential.sudo_user)
        if target is None:
            raise unauthorized(f"token-sudo names no such user: {credential.sudo_user}.")
        return Actor(target, frozenset({Scope.USER_ALL}), holder.token_id, sudo_by=holder.user)
