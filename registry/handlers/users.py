"""Users: sign-up, profiles, renames, soft deletion, and their email addresses."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from aiohttp import web

from registry import appkeys
from registry.auth import policy
from registry.auth.actor import request_actor
from registry.auth.passwords import MAX_PASSWORD_BYTES
from registry.domain.actor import Actor
from registry.domain.errors import Conflict, Forbidden, NotFound, Unprocessable
from registry.handlers.common import connection, json_body, pool, transaction
from registry.http import json_response
from registry.store import discussions as discussion_store
from registry.store import emails as email_store
from registry.store import invitations as invitation_store
from registry.store import tokens as token_store
from registry.store import users as user_store
from registry.store.emails import Email
from registry.store.users import User

routes = web.RouteTableDef()


def render_user(user: User, *, private: bool = False, emails: list[Email] | None = None) -> dict[str, Any]:
    """The public profile; `private` adds what only the user and site admins see."""
    body: dict[str, Any] = {
        "username": user.username,
        "display_name": user.display_name,
        "avatar_url": user.avatar_url,
        "created_at": user.created_at,
    }
    if private:
        body.update(id=user.id, site_admin=user.site_admin, updated_at=user.updated_at)
        if emails is not None:
            body["emails"] = [render_email(email) for email in emails]
    return body


def render_email(email: Email) -> dict[str, Any]:
    return {"email": email.email, "created_at": email.created_at, "verified_at": email.verified_at}


def _check_password_length(password: str, pointer: str) -> None:
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise Unprocessable.at(pointer, f"must be at most {MAX_PASSWORD_BYTES} bytes in UTF-8")


async def _send_verification(request: web.Request, email: str, code: str) -> None:
    await request.app[appkeys.MAILER].send(
        email, "Verify your email address for Wharf", f"Your verification code is: {code}"
    )


async def _user_or_404(request: web.Request, username: str) -> User:
    async with connection(request) as conn:
        user = await user_store.user_by_username(conn, username)
    if user is None:
        raise NotFound(f"No user named {username}.")
    return user


async def _managed_user(request: web.Request) -> tuple[Actor, User]:
    """The actor and the user named in the path, which the actor must be (or administer)."""
    actor = request_actor(request)
    subject = await _user_or_404(request, request.match_info["username"])
    policy.require_self_or_site_admin(actor, subject)
    return actor, subject


@routes.post("/api/users")
async def sign_up(request: web.Request) -> web.Response:
    """Create a user. The first user of a site becomes its site admin; with open sign-up off,
    only site admins create users. Sign-ups and their verification mails are limited per client
    address (and mails per recipient); site admins are not limited."""
    actor = request_actor(request)
    if not request.app[appkeys.CONFIG].open_signup:
        policy.require_site_admin(actor)
    body = await json_body(request, "SignUp")
    _check_password_length(body["password"], "/password")
    if not policy.is_site_admin(actor):  # before the bcrypt hash: a flood costs the site nothing
        limits = request.app[appkeys.RATE_LIMITS]
        limits.sign_up(request.remote)
        limits.verification_mail(request.remote, body["email"])
    password_hash = await request.app[appkeys.AUTH].hasher.hash(body["password"])
    code = secrets.token_urlsafe(24)
    async with transaction(request) as conn:
        first = not await user_store.site_initialized(conn) and not await user_store.site_initialized(conn, lock=True)
        user = await user_store.insert_user(
            conn,
            username=body["username"],
            display_name=body.get("display_name"),
            password_hash=password_hash,
            site_admin=first,
        )
        await user_store.claim_name(conn, user.username, user_id=user.id)
        email = await email_store.insert_email(conn, user.id, body["email"], code)
        if first:
            await user_store.mark_site_initialized(conn)
    await _send_verification(request, email.email, code)
    return json_response(
        render_user(user, private=True, emails=[email]),
        status=201,
        headers={"Location": f"/api/users/{user.username}"},
    )


@routes.get("/api/user")
async def me(request: web.Request) -> web.Response:
    """The credential's own user; any valid token may ask who it belongs to."""
    actor = request_actor(request)
    if actor.user is None:
        policy.signed_in(actor)
    assert actor.user is not None
    async with connection(request) as conn:
        emails = await email_store.list_emails(conn, actor.user.id)
    return json_response(render_user(actor.user, private=True, emails=emails))


@routes.get("/api/users/{username}")
async def get_user(request: web.Request) -> web.Response:
    actor = request_actor(request)
    user = await _user_or_404(request, request.match_info["username"])
    if actor.user is not None and (
        (actor.user.id == user.id and "user:all" in actor.scopes) or policy.is_site_admin(actor)
    ):
        async with connection(request) as conn:
            emails = await email_store.list_emails(conn, user.id)
        return json_response(render_user(user, private=True, emails=emails))
    return json_response(render_user(user))


async def _checked_changes(request: web.Request, subject: User, body: dict[str, Any]) -> dict[str, Any]:
    """The column changes a PATCH asks for, after the rules only code can check."""
    actor = request_actor(request)
    admin = policy.is_site_admin(actor)
    changes: dict[str, Any] = {key: body[key] for key in ("username", "display_name", "avatar_url") if key in body}
    if "site_admin" in body:
        if not admin:
            raise Forbidden("Only site admins may grant or revoke site admin.")
        changes["site_admin"] = body["site_admin"]
    if "password" in body:
        _check_password_length(body["password"], "/password")
        if not admin:
            current = body.get("current_password")
            auth = request.app[appkeys.AUTH]
            if (
                current is None
                or await auth.check_password(pool(request), subject.username, current, request.remote) is None
            ):
                raise Unprocessable.at("/current_password", "must be the current password")
        changes["passwd"] = await request.app[appkeys.AUTH].hasher.hash(body["password"])
    return changes


@routes.patch("/api/users/{username}")
async def update_user(request: web.Request) -> web.Response:
    """Change a profile. A new password also deletes the user's access tokens, all but the one making
    the change, and revokes their mail reply tokens: whoever changes a password may be shutting out
    someone who learned the old one, and any token minted with it is as suspect as the password.
    The requesting token is kept so the tool making the change is not cut off mid-session (it is
    the user's own, or a site admin's)."""
    actor, subject = await _managed_user(request)
    body = await json_body(request, "UserUpdate")
    changes = await _checked_changes(request, subject, body)
    async with transaction(request) as conn:
        if changes.get("site_admin") is False and subject.site_admin and await user_store.count_site_admins(conn) <= 1:
            raise Conflict("This is the last site admin; make another user site admin first.")
        updated = await user_store.update_user(conn, subject.id, changes) if changes else subject
        if updated is None:
            raise NotFound(f"No user named {subject.username}.")
        if updated.username != subject.username:
            await user_store.rename_user_name(conn, subject.id, updated.username)
        if "passwd" in changes:
            await token_store.delete_tokens_of(conn, subject.id, keep=actor.token_id)
            await discussion_store.revoke_all_reply_tokens(conn, subject.id)
        emails = await email_store.list_emails(conn, subject.id)
    return json_response(render_user(updated, private=True, emails=emails))


@routes.delete("/api/users/{username}")
async def delete_user(request: web.Request) -> web.Response:
    """Soft delete: the user's tokens stop working at once; the username is freed, unless it has
    been published under: then it is retired (migration 6), never someone else's."""
    _, subject = await _managed_user(request)
    async with transaction(request) as conn:
        if subject.site_admin and await user_store.count_site_admins(conn) <= 1:
            raise Conflict("This is the last site admin; make another user site admin first.")
        if not await user_store.soft_delete_user(conn, subject.id):
            raise NotFound(f"No user named {subject.username}.")
        await user_store.release_name(conn, user_id=subject.id)
        await invitation_store.revoke_sent_by(conn, subject.id)  # they carried the user's authority
    return web.Response(status=204)


@routes.get("/api/users/{username}/emails")
async def list_emails(request: web.Request) -> web.Response:
    _, subject = await _managed_user(request)
    async with connection(request) as conn:
        emails = await email_store.list_emails(conn, subject.id)
    return json_response({"items": [render_email(email) for email in emails], "next_cursor": None})


@routes.post("/api/users/{username}/emails")
async def add_email(request: web.Request) -> web.Response:
    actor, subject = await _managed_user(request)
    body = await json_body(request, "EmailAdd")
    if not policy.is_site_admin(actor):
        request.app[appkeys.RATE_LIMITS].verification_mail(request.remote, body["email"])
    code = secrets.token_urlsafe(24)
    async with transaction(request) as conn:
        email = await email_store.insert_email(conn, subject.id, body["email"], code)
    await _send_verification(request, email.email, code)
    return json_response(render_email(email), status=201)


@routes.post("/api/users/{username}/emails/verify")
async def verify_email(request: web.Request) -> web.Response:
    """Verify with the mailed code (site admins may verify without one). Idempotent."""
    actor, subject = await _managed_user(request)
    body = await json_body(request, "EmailVerify")
    async with transaction(request) as conn:
        pending = await email_store.verification_of(conn, subject.id, body["email"])
        if pending is None:
            raise NotFound(f"{subject.username} has no email address {body['email']}.")
        if pending.verified_at is None:
            code = body.get("code")
            if code is None:
                accepted = policy.is_site_admin(actor)
            else:
                accepted = hmac.compare_digest((pending.code or "").encode(), code.encode())
            if not accepted:
                raise Unprocessable.at("/code", "must be the code sent to the address")
            await email_store.mark_verified(conn, subject.id, pending.email)
        emails = await email_store.list_emails(conn, subject.id)
    verified = next(email for email in emails if email.email.lower() == pending.email.lower())
    return json_response(render_email(verified))


@routes.delete("/api/users/{username}/emails/{email}")
async def delete_email(request: web.Request) -> web.Response:
    _, subject = await _managed_user(request)
    async with transaction(request) as conn:
        if not await email_store.delete_email(conn, subject.id, request.match_info["email"]):
            raise NotFound(f"{subject.username} has no email address {request.match_info['email']}.")
    return web.Response(status=204)
