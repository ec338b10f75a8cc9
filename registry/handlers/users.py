"""Users: sign-up, profiles, renames, soft deletion, and their email addresses."""

from __future__ import annotations

from aiohttp import web

from registry import appkeys
from registry.auth.authentication import request_actor
from registry.handlers.common import json_body, no_content, pool, services
from registry.http import json_response
from registry.services.accounts.users import PasswordCheck, SignUp, UserUpdate
from registry.views.accounts import email_json, profile_json

routes = web.RouteTableDef()

_PROFILE_FIELDS = ("username", "display_name", "avatar_url")


def _password_check(request: web.Request) -> PasswordCheck:
    """The authenticator's throttled password check, counted against this request's client."""
    authenticator = request.app[appkeys.AUTH]

    async def check(username: str, password: str) -> bool:
        return await authenticator.check_password(pool(request), username, password, request.remote) is not None

    return check


@routes.post("/api/users")
async def sign_up(request: web.Request) -> web.Response:
    """Create a user (the first of a site becomes its site admin); see Users.sign_up."""
    actor, svc = request_actor(request), services(request).users
    svc.authorize_sign_up(actor)
    body = await json_body(request, "SignUp")
    form = SignUp(body["username"], body["email"], body["password"], body.get("display_name"))
    profile = await svc.sign_up(actor, form, request.remote)
    return json_response(profile_json(profile), status=201, headers={"Location": f"/api/users/{profile.user.username}"})


@routes.get("/api/user")
async def me(request: web.Request) -> web.Response:
    """The credential's own user; any valid token may ask who it belongs to."""
    return json_response(profile_json(await services(request).users.me(request_actor(request))))


@routes.get("/api/users/{username}")
async def get_user(request: web.Request) -> web.Response:
    profile = await services(request).users.profile(request_actor(request), request.match_info["username"])
    return json_response(profile_json(profile))


@routes.patch("/api/users/{username}")
async def update_user(request: web.Request) -> web.Response:
    """Change a profile; a new password also ends the user's other tokens (Users.update)."""
    actor, svc = request_actor(request), services(request).users
    subject = await svc.managed(actor, request.match_info["username"])
    body = await json_body(request, "UserUpdate")
    update = UserUpdate(
        {key: body[key] for key in _PROFILE_FIELDS if key in body},
        body.get("site_admin"),
        body.get("password"),
        body.get("current_password"),
    )
    return json_response(profile_json(await svc.update(actor, subject, update, _password_check(request))))


@routes.delete("/api/users/{username}")
async def delete_user(request: web.Request) -> web.Response:
    """Soft delete; the username is freed, or retired if it has been published under."""
    return await no_content(services(request).users.delete(request_actor(request), request.match_info["username"]))


@routes.get("/api/users/{username}/emails")
async def list_emails(request: web.Request) -> web.Response:
    emails = await services(request).emails.list_emails(request_actor(request), request.match_info["username"])
    return json_response({"items": [email_json(email) for email in emails], "next_cursor": None})


@routes.post("/api/users/{username}/emails")
async def add_email(request: web.Request) -> web.Response:
    actor, svc = request_actor(request), services(request)
    subject = await svc.users.managed(actor, request.match_info["username"])
    body = await json_body(request, "EmailAdd")
    email = await svc.emails.add(actor, subject, body["email"], request.remote)
    return json_response(email_json(email), status=201)


@routes.post("/api/users/{username}/emails/verify")
async def verify_email(request: web.Request) -> web.Response:
    """Verify with the mailed code (site admins may verify without one). Idempotent."""
    actor, svc = request_actor(request), services(request)
    subject = await svc.users.managed(actor, request.match_info["username"])
    body = await json_body(request, "EmailVerify")
    return json_response(email_json(await svc.emails.verify(actor, subject, body["email"], body.get("code"))))


@routes.delete("/api/users/{username}/emails/{email}")
async def delete_email(request: web.Request) -> web.Response:
    username, email = request.match_info["username"], request.match_info["email"]
    return await no_content(services(request).emails.delete(request_actor(request), username, email))
