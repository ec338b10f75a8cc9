"""Discussion threads, comments and reported comments as the JSON API shows them."""

from __future__ import annotations

from typing import Any

from registry.store.discussions import Comment, ReportedComment, Target, Thread


def render_target(target: Target) -> dict[str, Any]:
    return {"repo": target.repo, **target.fields()}


def render_thread(thread: Thread) -> dict[str, Any]:
    return {
        "id": thread.id,
        "title": thread.title,
        "author": thread.author,
        "created_at": thread.created_at,
        "updated_at": thread.updated_at,
        "archived_at": thread.archived_at,
        "target": render_target(thread.target) if thread.target else None,
    }


def render_comment(comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.id,
        "thread_id": comment.thread_id,
        "author": comment.author,
        "contents": comment.contents,
        "created_at": comment.created_at,
        "updated_at": comment.updated_at,
    }


def render_reported(reported: ReportedComment) -> dict[str, Any]:
    return {
        **render_comment(reported.comment),
        "report_count": reported.report_count,
        "reports": [{"reporter": r.reporter, "reason": r.reason} for r in reported.reports],
    }
