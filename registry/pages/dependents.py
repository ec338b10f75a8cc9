"""What the dependents page (dependents.html) shows: the counts, the repositories with their
declarations, both distributions as charts with their tables, and the links that keep the filters."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from registry import pages
from registry.pages.chart import distribution_chart
from registry.services.package_index import DependentRepos
from registry.store.resolved import VersionCount

SHOWN = 20  # the charts and tables: the most frequent values, the rest summed
DECLARATIONS = 5  # a repository's declarations shown on the page (the rest counted)


def dependents_context(
    found: DependentRepos, resolved: list[VersionCount], *, limit: str, paged: bool
) -> dict[str, Any]:
    """The template's values; `limit` as the request gave it (kept in the pager's links), `paged`
    whether the request was past the first page (it then links back to the first)."""
    version, advisory = found.version, found.advisory
    base = f"/packages/{found.language}/{quote(found.package, safe='/@:')}"
    filters = {"version": version, "advisory": advisory, "limit": limit}
    next_cursor = found.page.next_cursor
    return {
        "language": found.language,
        "package": found.package,
        "base": base,
        "version": version,
        "advisory": advisory,
        "totals": found.totals,
        "unevaluated": found.unevaluated,
        "ranges": found.ranges[:SHOWN],
        "more_ranges": max(len(found.ranges) - SHOWN, 0),
        "range_chart": distribution_chart(
            [(r.declared_range or "(any)", r.count, r.admits) for r in found.ranges], shown=SHOWN
        ),
        "resolved": resolved[:SHOWN],
        "more_resolved": max(len(resolved) - SHOWN, 0),
        "resolved_chart": distribution_chart(
            [(v.version, v.repos, v.version == version if version else None) for v in resolved], shown=SHOWN
        ),
        "repos": found.page.items,
        "matches": found.matches,
        "json_url": pages.query_url(
            "/api/dependents/repositories",
            language=found.language,
            package=found.package,
            version=version,
            advisory=advisory,
        ),
        "next_url": pages.query_url(base, **filters, cursor=next_cursor) if next_cursor else None,
        "first_url": pages.query_url(base, **filters) if paged else None,
    }
