"""Discussion threads, comments and reported comments as the JSON API shows them."""

from __future__ import annotations

from typing import Any

from registry.store.discussions import Comment, ReportedComment, Target, Thread
from registry.views.common import record_json


def render_target(target: Target) -> dict[str, Any]:
    return {"repo": target.repo, **target.fields()}


def render_thread(thread: Thread) -> dict[str, Any]:
    target = render_target(thread.target) if thread.target else None
    return {**record_json(thread, "id", "title", "author", "created_at", "updated_at", "archived_at"), "target": target}


def render_comment(comment: Comment) -> dict[str, Any]:
    return record_json(comment, "id", "thread_id", "author", "contents", "created_at", "updated_at")


def render_reported(reported: ReportedComment) -> dict[str, Any]:
    return {
        **render_comment(reported.comment),
        "report_count": reported.report_count,
        "reports": [{"reporter": r.reporter, "reason": r.reason} for r in reported.reports],
    }
