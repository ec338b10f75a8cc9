"""The rules of accounts, without HTTP: who may act on users, tokens, orgs and invitations."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import asyncpg
import pytest

from registry.auth.tokens import Scope
from registry.domain.actor import ANONYMOUS, Actor
from registry.domain.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable
from registry.domain.page import PageRequest
from registry.services import Services
from registry.services.accounts.invitations import InvitationLapsed
from registry.services.accounts.orgs import LastMember
from registry.services.accounts.users import LastSiteAdmin, SignUp, UserUpdate
from registry.store import users as user_store
from registry.store.invitations import Invitation
from registry.store.users import User
from tests.support.factories import PASSWORD, make_org, make_token, make_user


async def _actor(db: asyncpg.Connection, username: str, scopes: Iterable[str] = (Scope.USER_ALL,)) -> Actor:
    user = await user_store.user_by_username(db, username)
    assert user is not None
    return Actor(user, frozenset(scopes))


async def _user(db: asyncpg.Connection, username: str) -> User:
    user = await user_store.user_by_username(db, username)
    assert user is not None
    return user


async def _never(username: str, password: str) -> bool:
    return False


def _sign_up(username: str, n: int = 0) -> SignUp:
    return SignUp(username, f"{username}{n}@example.com", PASSWORD)


# --- users -------------------------------------------------------------------------------------


async def test_the_first_user_becomes_site_admin_and_the_next_does_not(
    services: Services, db: asyncpg.Connection
) -> None:
    await user_store.ensure_site_config(db)
    first = await services.users.sign_up(ANONYMOUS, _sign_up("alice"), "192.0.2.1")
    second = await services.users.sign_up(ANONYMOUS, _sign_up("bob"), "192.0.2.1")
    assert (first.user.site_admin, second.user.site_admin) == (True, False)


async def test_one_winner_among_concurrent_sign_ups_for_one_name(services: Services, db: asyncpg.Connection) -> None:
    await user_store.ensure_site_config(db)
    outcomes = await asyncio.gather(
        *(services.users.sign_up(ANONYMOUS, _sign_up("alice", n), f"192.0.2.{n}") for n in range(1, 6)),
        return_exceptions=True,
    )
    assert sum(not isinstance(outcome, BaseException) for outcome in outcomes) == 1
    assert all(isinstance(outcome, Conflict) for outcome in outcomes if isinstance(outcome, BaseException))
    assert await db.fetchval("SELECT count(*) FROM users WHERE site_admin") == 1


async def test_a_username_freed_by_deletion_can_be_taken_by_someone_else(
    services: Services, db: asyncpg.Connection
) -> None:
    await make_user(db, "alice")
    await services.users.delete(await _actor(db, "alice"), "alice")
    again = await services.users.sign_up(ANONYMOUS, _sign_up("alice", 2), "192.0.2.1")
    assert again.user.username == "alice"


async def test_a_deleted_publishers_name_cannot_be_retaken_by_someone_else(
    services: Services, db: asyncpg.Connection
) -> None:
    await make_user(db, "alice")
    await db.execute(
        "INSERT INTO registry_published_versions (publisher, extension, version_key, version, release_id)"
        " VALUES ('alice', 'lint', '1.0.0', '1.0.0', 1)"
    )
    await services.users.delete(await _actor(db, "alice"), "alice")
    with pytest.raises(Conflict, match="published under"):
        await services.users.sign_up(ANONYMOUS, _sign_up("alice", 2), "192.0.2.1")


async def test_only_the_user_or_a_site_admin_manages_a_user(services: Services, db: asyncpg.Connection) -> None:
    await make_user(db, "alice")
    await make_user(db, "bob")
    await make_user(db, "root", site_admin=True)
    with pytest.raises(Forbidden, match="Only alice or a site admin"):
        await services.users.managed(await _actor(db, "bob"), "alice")
    with pytest.raises(Unauthorized):
        await services.users.managed(ANONYMOUS, "alice")
    assert (await services.users.managed(await _actor(db, "root"), "alice")).username == "alice"


async def test_an_unknown_user_is_not_found_before_anything_is_decided(services: Services) -> None:
    with pytest.raises(NotFound, match="No user named nobody"):
        await services.users.managed(ANONYMOUS, "nobody")


async def test_a_site_admin_may_act_on_anyone(services: Services, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    await make_user(db, "root", site_admin=True)
    root = await _actor(db, "root")
    renamed = await services.users.update(root, await _user(db, "alice"), UserUpdate({"display_name": "A."}), _never)
    assert renamed.user.display_name == "A."
    await services.users.update(root, renamed.user, UserUpdate(password="another long one"), _never)
    token_id = await db.fetchval(
        "SELECT id FROM access_tokens WHERE subject_user_id = $1 AND deleted_at IS NOT NULL", alice.id
    )
    assert token_id is not None, "no current password asked of a site admin; the change ended alice's tokens"
    await make_token(db, alice.id)
    live = await db.fetchval("SELECT id FROM access_tokens WHERE subject_user_id = $1 AND deleted_at IS NULL", alice.id)
    await services.tokens.delete(root, live)
    await services.orgs.create(root, "acme", None)
    await services.users.delete(root, "alice")


async def test_only_a_site_admin_grants_site_admin(services: Services, db: asyncpg.Connection) -> None:
    await make_user(db, "alice")
    with pytest.raises(Forbidden, match="Only site admins may grant"):
        await services.users.update(
            await _actor(db, "alice"), await _user(db, "alice"), UserUpdate(site_admin=True), _never
        )


async def test_a_user_changes_their_password_only_with_the_current_one(
    services: Services, db: asyncpg.Connection
) -> None:
    await make_user(db, "alice")
    alice, subject = await _actor(db, "alice"), await _user(db, "alice")
    with pytest.raises(Unprocessable, match="current password"):
        await services.users.update(alice, subject, UserUpdate(password="new and long", current_password="x"), _never)


async def test_the_last_site_admin_can_be_neither_deleted_nor_demoted(
    services: Services, db: asyncpg.Connection
) -> None:
    await make_user(db, "root", site_admin=True)
    root = await _actor(db, "root")
    with pytest.raises(LastSiteAdmin):
        await services.users.delete(root, "root")
    with pytest.raises(LastSiteAdmin):
        await services.users.update(root, await _user(db, "root"), UserUpdate(site_admin=False), _never)


async def test_a_private_profile_is_shown_to_its_user_and_site_admins_only(
    services: Services, db: asyncpg.Connection
) -> None:
    await make_user(db, "alice", email="alice@example.com")
    await make_user(db, "bob")
    await make_user(db, "root", site_admin=True)
    assert (await services.users.profile(await _actor(db, "alice"), "alice")).emails is not None
    assert (await services.users.profile(await _actor(db, "root"), "alice")).private
    assert not (await services.users.profile(await _actor(db, "bob"), "alice")).private
    assert not (await services.users.profile(await _actor(db, "alice", [Scope.PUBLISH]), "alice")).private


# --- tokens ------------------------------------------------------------------------------------


async def test_a_tokens_scopes_bound_what_it_may_do(services: Services, db: asyncpg.Connection) -> None:
    await make_user(db, "alice")
    publisher = await _actor(db, "alice", [Scope.PUBLISH])
    assert (await services.users.me(publisher)).user.username == "alice", "any token may ask who it is"
    with pytest.raises(Forbidden, match="do not include user:all"):
        await services.tokens.create(publisher, "more", [Scope.USER_ALL])
    with pytest.raises(Forbidden, match="do not include user:all"):
        await services.orgs.create(publisher, "acme", None)


async def test_only_a_site_admin_makes_a_sudo_token(services: Services, db: asyncpg.Connection) -> None:
    await make_user(db, "alice")
    await make_user(db, "root", site_admin=True)
    with pytest.raises(Forbidden, match="site-admin:sudo"):
        await services.tokens.create(await _actor(db, "alice"), "sudo", [Scope.SUDO])
    made = await services.tokens.create(await _actor(db, "root"), "sudo", [Scope.SUDO, Scope.SUDO])
    assert made.token.scopes == (Scope.SUDO,)


async def test_another_users_token_is_not_found_rather_than_forbidden(
    services: Services, db: asyncpg.Connection
) -> None:
    alice = await make_user(db, "alice")
    await make_user(db, "bob")
    token_id = await db.fetchval("SELECT id FROM access_tokens WHERE subject_user_id = $1", alice.id)
    with pytest.raises(NotFound, match=f"You have no token {token_id}"):
        await services.tokens.delete(await _actor(db, "bob"), token_id)
    page = await services.tokens.list_tokens(await _actor(db, "bob"), PageRequest())
    assert token_id not in [token.id for token in page.items]


# --- orgs and invitations ----------------------------------------------------------------------


async def _alice_invites_carol_to_acme(services: Services, db: asyncpg.Connection) -> Invitation:
    """alice, bob and carol; acme, whose one member is alice; alice's invitation of carol to acme."""
    alice = await make_user(db, "alice")
    await make_user(db, "bob")
    await make_user(db, "carol")
    await make_org(db, "acme", [alice])
    alices_acme = await services.orgs.managed(await _actor(db, "alice"), "acme")
    return await services.invitations.invite(await _actor(db, "alice"), alices_acme, "carol")


async def test_an_org_member_may_invite_but_a_non_member_may_not(services: Services, db: asyncpg.Connection) -> None:
    invitation = await _alice_invites_carol_to_acme(services, db)
    assert (invitation.org, invitation.sender, invitation.recipient) == ("acme", "alice", "carol")
    with pytest.raises(Forbidden, match="Only members of acme or a site admin"):
        await services.orgs.managed(await _actor(db, "bob"), "acme")


async def test_an_org_loaded_for_one_user_grants_nothing_to_another(services: Services, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    await make_user(db, "bob")
    await make_org(db, "acme", [alice])
    alices_view = await services.orgs.managed(await _actor(db, "alice"), "acme")
    with pytest.raises(Forbidden):
        await services.invitations.invite(await _actor(db, "bob"), alices_view, "bob")


async def test_an_org_keeps_its_last_member(services: Services, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    await make_org(db, "acme", [alice])
    with pytest.raises(LastMember):
        await services.orgs.remove_member(await _actor(db, "alice"), "acme", "alice")


async def test_an_invitation_lapses_when_its_sender_leaves_the_org(services: Services, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    bob = await make_user(db, "bob")
    await make_user(db, "carol")
    await make_org(db, "acme", [alice, bob])
    invitation = await services.invitations.invite(
        await _actor(db, "bob"), await services.orgs.managed(await _actor(db, "bob"), "acme"), "carol"
    )
    await db.execute("DELETE FROM org_members WHERE user_id = $1", bob.id)
    with pytest.raises(InvitationLapsed):
        await services.invitations.respond(await _actor(db, "carol"), invitation.id, True)
    declined = await services.invitations.respond(await _actor(db, "carol"), invitation.id, False)
    assert declined.accepted is False, "a lapsed invitation may still be declined"


async def test_only_the_recipient_answers_and_the_recipient_does_not_revoke(
    services: Services, db: asyncpg.Connection
) -> None:
    invitation = await _alice_invites_carol_to_acme(services, db)
    with pytest.raises(NotFound, match="You have no invitation"):
        await services.invitations.respond(await _actor(db, "bob"), invitation.id, True)
    with pytest.raises(NotFound, match="No invitation"):
        await services.invitations.revoke(await _actor(db, "bob"), invitation.id)
    with pytest.raises(Forbidden, match="The recipient declines"):
        await services.invitations.revoke(await _actor(db, "carol"), invitation.id)
    accepted = await services.invitations.respond(await _actor(db, "carol"), invitation.id, True)
    assert accepted.accepted is True
    assert (await services.orgs.managed(await _actor(db, "carol"), "acme")).member
