"""The rules of discussions, without HTTP: who may change what, what an archived thread refuses,
how reports count, and what a mail reply token is good for."""

from __future__ import annotations

import re
from typing import NamedTuple

import asyncpg
import pytest

from registry.domain.actor import ANONYMOUS, Actor
from registry.domain.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable
from registry.domain.page import PageRequest
from registry.services import Services
from registry.services.discussions import MAX_CONTENTS_BYTES, AlreadyReported, DiscussionsService, ThreadArchived
from registry.store.discussions import Target, Thread
from tests.support.actors import actor_of
from tests.support.factories import make_user

REPO = "example.com/discussed"


class People(NamedTuple):
    alice: Actor  # who writes
    bob: Actor  # who does not
    root: Actor  # a site admin


@pytest.fixture
async def people(services: Services, db: asyncpg.Connection) -> People:
    users = [await make_user(db, "alice"), await make_user(db, "bob"), await make_user(db, "root", site_admin=True)]
    return People(*[await actor_of(services, user) for user in users])


@pytest.fixture
def svc(services: Services) -> DiscussionsService:
    return services.discussions


@pytest.fixture
async def thread(svc: DiscussionsService, people: People) -> Thread:
    """A thread alice started, titled "t", with no comments yet."""
    return (await svc.create_thread(people.alice, "t")).thread


async def test_an_archived_thread_takes_no_comments_edits_reply_tokens_or_mail_replies(
    svc: DiscussionsService, people: People
) -> None:
    alice = people.alice
    created = await svc.create_thread(alice, "Why?", contents="first")
    assert created.comment is not None
    token = await svc.reply_token(alice, created.thread.id)
    archived = await svc.archive_thread(alice, created.thread.id)
    assert archived.archived_at is not None
    again = await svc.archive_thread(alice, created.thread.id)
    assert again.archived_at == archived.archived_at, "archiving twice keeps the first time"
    for refused in (
        svc.add_comment(alice, created.thread.id, "more"),
        svc.edit_comment(alice, created.comment.id, "changed"),
        svc.reply_token(alice, created.thread.id),
        svc.mail_reply(token.token, "by mail"),
    ):
        with pytest.raises(ThreadArchived, match="is archived"):
            await refused
    comments = await svc.comments(created.thread.id, PageRequest())
    assert [c.contents for c in comments.items] == ["first"]


async def test_only_the_author_edits_a_comment_and_the_author_or_a_site_admin_deletes_it(
    svc: DiscussionsService, people: People, thread: Thread
) -> None:
    alice, bob, root = people
    comment = await svc.add_comment(alice, thread.id, "mine")
    for other in (bob, root):
        with pytest.raises(Forbidden, match="Only the author of this comment may edit it"):
            await svc.edit_comment(other, comment.id, "theirs")
    assert (await svc.edit_comment(alice, comment.id, "still mine")).contents == "still mine"
    with pytest.raises(Forbidden, match="Only the author of this comment or a site admin"):
        await svc.delete_comment(bob, comment.id)
    await svc.delete_comment(root, comment.id)
    with pytest.raises(NotFound, match=f"No discussion comment {comment.id}."):
        await svc.edit_comment(alice, comment.id, "gone")


async def test_only_the_author_or_a_site_admin_archives_or_deletes_a_thread(
    svc: DiscussionsService, people: People, thread: Thread
) -> None:
    _, bob, root = people
    for change in (svc.archive_thread, svc.delete_thread):
        with pytest.raises(Forbidden, match="Only the author of this thread or a site admin"):
            await change(bob, thread.id)
    await svc.delete_thread(root, thread.id)
    with pytest.raises(NotFound, match=f"No discussion thread {thread.id}."):
        await svc.thread(thread.id)
    with pytest.raises(NotFound):
        await svc.comments(thread.id, PageRequest())


async def test_reporting_twice_counts_once_and_only_site_admins_see_reports(
    svc: DiscussionsService, people: People, thread: Thread
) -> None:
    alice, bob, root = people
    comment = await svc.add_comment(alice, thread.id, "spam?")
    await svc.report_comment(bob, comment.id, "spam")
    with pytest.raises(AlreadyReported) as refused:
        await svc.report_comment(bob, comment.id, "still spam")
    assert isinstance(refused.value, Conflict)
    await svc.report_comment(alice, comment.id, "my own")
    with pytest.raises(Forbidden):
        await svc.reported_comments(bob, PageRequest())
    reported = await svc.reported_comments(root, PageRequest())
    assert [(r.comment.id, r.report_count) for r in reported.items] == [(comment.id, 2)]
    assert [(r.reporter, r.reason) for r in reported.items[0].reports] == [("bob", "spam"), ("alice", "my own")]


async def test_reported_comments_come_most_reported_first_a_page_at_a_time(
    svc: DiscussionsService, people: People, thread: Thread
) -> None:
    alice, bob, root = people
    once, twice, also_once = [await svc.add_comment(alice, thread.id, str(n)) for n in range(3)]
    for reporter, comment in ((bob, once), (bob, twice), (root, twice), (bob, also_once)):
        await svc.report_comment(reporter, comment.id, "why")
    first = await svc.reported_comments(root, PageRequest(2))
    rest = await svc.reported_comments(root, PageRequest(2, first.next_cursor))
    assert [r.comment.id for r in first.items + rest.items] == [twice.id, also_once.id, once.id]
    assert rest.next_cursor is None


async def test_a_thread_about_code_needs_a_known_repository_and_a_sane_range(
    svc: DiscussionsService, people: People, db: asyncpg.Connection
) -> None:
    alice = people.alice
    with pytest.raises(Unprocessable, match="/target/repo names no known repository"):
        await svc.create_thread(alice, "t", target=Target(REPO, path="a.py"))
    await db.execute("INSERT INTO repo (uri) VALUES ($1)", REPO)
    with pytest.raises(Unprocessable, match="/target/end_line must be at least start_line") as refused:
        await svc.create_thread(alice, "t", target=Target(REPO, path="a.py", start_line=5, end_line=4))
    assert refused.value.errors == [{"pointer": "/target/end_line", "message": "must be at least start_line"}]
    with pytest.raises(Unprocessable, match="/target/end_line needs start_line"):
        await svc.create_thread(alice, "t", target=Target(REPO, end_line=4))
    with pytest.raises(Unprocessable, match="/contents must be at most"):
        await svc.create_thread(alice, "t", contents="x" * (MAX_CONTENTS_BYTES + 1))
    created = await svc.create_thread(alice, "t", target=Target(REPO, path="a.py", start_line=1, end_line=2))
    assert created.thread.target == Target(REPO, path="a.py", start_line=1, end_line=2)
    at_path = await svc.threads(REPO, "a.py", include_archived=False, page=PageRequest())
    elsewhere = await svc.threads(REPO, "b.py", include_archived=False, page=PageRequest())
    assert [t.id for t in at_path.items] == [created.thread.id] and elsewhere.items == []
    with pytest.raises(NotFound, match=re.escape("No repository example.com/unknown.")):
        await svc.threads("example.com/unknown", None, include_archived=False, page=PageRequest())


async def test_archived_threads_are_listed_only_when_asked(
    svc: DiscussionsService, people: People, db: asyncpg.Connection
) -> None:
    alice = people.alice
    await db.execute("INSERT INTO repo (uri) VALUES ($1)", REPO)
    kept = (await svc.create_thread(alice, "kept", target=Target(REPO))).thread
    archived = (await svc.create_thread(alice, "archived", target=Target(REPO))).thread
    await svc.archive_thread(alice, archived.id)
    listed = await svc.threads(REPO, None, include_archived=False, page=PageRequest())
    everything = await svc.threads(REPO, None, include_archived=True, page=PageRequest())
    assert [t.id for t in listed.items] == [kept.id]
    assert [t.id for t in everything.items] == [kept.id, archived.id]


async def test_a_reply_token_is_one_per_user_and_thread_and_stops_working_when_revoked(
    svc: DiscussionsService, people: People, thread: Thread
) -> None:
    bob = people.bob
    issued = await svc.reply_token(bob, thread.id)
    again = await svc.reply_token(bob, thread.id)
    assert issued.created and not again.created and again.token == issued.token
    comment = await svc.mail_reply(issued.token, "by mail")
    assert (comment.author, comment.thread_id) == ("bob", thread.id)
    await svc.revoke_reply_token(bob, thread.id)
    with pytest.raises(Unauthorized, match="The reply token is not valid"):
        await svc.mail_reply(issued.token, "again")
    with pytest.raises(NotFound, match=f"You have no live reply token for thread {thread.id}."):
        await svc.revoke_reply_token(bob, thread.id)


async def test_writing_needs_a_signed_in_user_and_reading_does_not(svc: DiscussionsService, people: People) -> None:
    alice = people.alice
    thread = (await svc.create_thread(alice, "t", contents="hello")).thread
    with pytest.raises(Unauthorized):
        await svc.create_thread(ANONYMOUS, "t")
    with pytest.raises(Unauthorized):
        await svc.add_comment(ANONYMOUS, thread.id, "hi")
    with pytest.raises(Unauthorized):
        await svc.report_comment(ANONYMOUS, 1, "why")
    assert (await svc.thread(thread.id)).title == "t"
    assert [c.contents for c in (await svc.comments(thread.id, PageRequest())).items] == ["hello"]
