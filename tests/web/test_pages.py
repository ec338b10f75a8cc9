"""The web catalogue and the API docs through the real HTTP stack: statuses, the policy header,
content, paging, HTML 404s; README sanitization against hostile markdown and HTML."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from registry.ecosystems.base import ResolvedDependency
from registry.pages import CSP
from registry.readme import render_bounded
from tests.support.factories import make_org, make_user
from tests.support.index import index_repo, scan_of
from tests.support.registry import manifest, publish

Client = TestClient[web.Request, web.Application]

ICON = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
HOSTILE_README = """# Hello

Some **bold** text and [a link](https://example.com/docs).

<script>document.title = "pwned"; window.pwned = true;</script>
<img src=x onerror="document.title='pwned'">
<a href="javascript:alert(1)">click</a> [md](javascript:alert(1))
<p style="position:fixed" onclick="alert(1)">styled</p>
<style>body { display: none }</style>
<iframe src="https://evil.example"></iframe>
"""


async def _page(client: Client, path: str, status: int = 200) -> str:
    response = await client.get(path, headers={"Accept": "text/html"})
    text = await response.text()
    assert response.status == status, text
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Content-Security-Policy"] == CSP
    assert "<script" not in text.lower()
    assert ' style="' not in text and "<style" not in text
    return text


# README sanitization -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markdown", "forbidden"),
    [
        ("<script>alert(1)</script>", ["<script", "alert(1)"]),
        ("<img src=x onerror=alert(1)>", ["onerror"]),
        ("<IMG SRC=x OnErRoR=alert(1)>", ["onerror"]),
        ('<a href="javascript:alert(1)">x</a>', ["javascript:"]),
        ('<a href="JaVaScRiPt:alert(1)">x</a>', ["javascript:"]),
        ('<a href="jav&#x09;ascript:alert(1)">x</a>', ["javascript", "alert"]),
        ("[x](javascript:alert(1))", ["href"]),
        ("![x](javascript:alert(1))", ["<img"]),
        ('<a href="data:text/html,<script>alert(1)</script>">x</a>', ["data:", "<script"]),
        ('<p style="color:red">x</p>', ["style"]),
        ("<style>body{display:none}</style>", ["<style", "display"]),
        ('<svg onload="alert(1)"><circle /></svg>', ["<svg", "onload"]),
        ('<iframe src="https://evil.example"></iframe>', ["<iframe"]),
        ('<form action="/x"><input name="a"></form>', ["<form", "<input"]),
        ('<div id="main" class="site-header">x</div>', ['id="', "class="]),
        ("<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", ["onerror", "<math"]),
        ("<object data=x></object><embed src=x>", ["<object", "<embed"]),
        ('<meta http-equiv="refresh" content="0;url=https://evil.example">', ["<meta", "refresh"]),
        ('<base href="https://evil.example/">', ["<base"]),
        ("<!-- <script>alert(1)</script> -->", ["<!--", "<script"]),
    ],
)
def test_readme_html_is_sanitized(markdown: str, forbidden: list[str]) -> None:
    out = render_bounded(markdown).html.lower()
    for needle in forbidden:
        assert needle.lower() not in out, out


def test_readme_markdown_is_rendered_with_headings_below_the_page_s() -> None:
    out = render_bounded("# Title\n\n## Usage\n\n*em* `code`\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~").html
    assert "<h3>Title</h3>" in out and "<h4>Usage</h4>" in out
    assert "<em>em</em>" in out and "<code>code</code>" in out
    assert "<table>" in out and "<td>1</td>" in out and "<s>old</s>" in out


def test_readme_links_keep_safe_urls_and_gain_rel() -> None:
    out = render_bounded("[docs](https://example.com/a?b=1) <a href='mailto:a@example.com'>mail</a> [rel](./x)").html
    assert 'href="https://example.com/a?b=1"' in out
    assert 'href="mailto:a@example.com"' in out
    assert 'href="./x"' in out
    assert 'rel="noopener noreferrer nofollow ugc"' in out


# Pages ---------------------------------------------------------------------------------------


async def test_the_catalogue_lists_searches_and_filters(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    await publish(client, alice.headers, "alice/word-count", "1.0.0")
    await publish(
        client,
        alice.headers,
        "alice/linter",
        "2.1.0",
        manifest=manifest(title="Lint <all> the things", categories=["Linters"], tags=["lint"]),
    )
    for path in ("/", "/extensions"):
        text = await _page(client, path)
        assert 'href="/extensions/alice/word-count"' in text and 'href="/extensions/alice/linter"' in text
        assert "Lint &lt;all&gt; the things" in text  # escaped, never markup
        for field in ("q", "category", "tag", "sort"):
            assert re.search(rf'<label for="{field}">', text) and f'id="{field}"' in text
    found = await _page(client, "/extensions?q=lint")
    assert "/extensions/alice/linter" in found and "/extensions/alice/word-count" not in found
    by_category = await _page(client, "/extensions?category=Linters")
    assert "/extensions/alice/linter" in by_category and "/extensions/alice/word-count" not in by_category
    by_tag = await _page(client, "/extensions?tag=lint")
    assert "/extensions/alice/linter" in by_tag and "/extensions/alice/word-count" not in by_tag
    from_the_form = await _page(client, "/extensions?q=lint&category=&tag=&sort=")  # empty fields sent
    assert "/extensions/alice/linter" in from_the_form and "/extensions/alice/word-count" not in from_the_form
    nothing = await _page(client, "/extensions?q=zzzz-nothing")
    assert "No extensions match" in nothing


async def test_the_catalogue_pages_with_next_links(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    for n in range(5):
        await publish(client, alice.headers, f"alice/ext-{n}", "1.0.0")
    seen: list[str] = []
    url: str | None = "/extensions?limit=2"
    pages = 0
    while url is not None:
        text = await _page(client, url)
        seen += re.findall(r'href="/extensions/alice/(ext-\d)"', text)
        nxt = re.search(r'<a href="([^"]+)" rel="next">Next</a>', text)
        url = html.unescape(nxt.group(1)) if nxt else None
        pages += 1
    assert pages == 3
    assert seen == [f"ext-{n}" for n in range(5)]


async def test_a_bad_cursor_is_an_html_400(client: Client) -> None:
    text = await _page(client, "/extensions?cursor=nonsense!", status=400)
    assert "cursor" in text


async def test_the_extension_page_shows_everything(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    await publish(client, alice.headers, "alice/wc", "1.0.0", manifest=manifest(readme="old"))
    second = await publish(
        client,
        alice.headers,
        "alice/wc",
        "1.1.0",
        manifest=manifest(readme=HOSTILE_README, icon=ICON, tags=["words"], categories=["Other"]),
    )
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    await db.execute(
        "INSERT INTO registry_extension_downloads (release_id, day, count) VALUES ($1, $2, 7), ($1, $3, 3)",
        second["id"],
        yesterday,
        yesterday - timedelta(days=200),  # outside the chart
    )
    await db.execute("UPDATE registry_extensions SET downloads = 10")
    text = await _page(client, "/extensions/Alice/WC")
    assert "<h1>Word count</h1>" in text
    assert f'src="{ICON}"' in text and 'alt="Word count icon"' in text
    assert 'href="/publishers/alice"' in text
    assert "<code>alice/wc</code>" in text
    assert "1.1.0" in text and "1.0.0" in text
    assert text.index("<td>1.1.0</td>") < text.index("<td>1.0.0</td>")
    assert "<h3>Hello</h3>" in text and "<strong>bold</strong>" in text
    readme = text[text.index('<div class="readme">') :]
    readme = readme[: readme.index("</section>")]
    for needle in ("<script", "onerror", 'href="javascript:', "style=", "<style", "<iframe", "onclick"):
        assert needle not in readme.lower()
    assert "[md](javascript:alert(1))" in readme  # markdown refuses the link: it stays text
    assert re.search(r'<rect class="bar"[^>]*><title>' + yesterday.isoformat() + r": 7</title>", text)
    assert text.count('<rect class="bar"') == 1
    assert "7 downloads in the last 90 days" in text


async def test_an_icon_that_is_not_a_data_image_is_not_shown(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    await publish(client, alice.headers, "alice/wc", "1.0.0")
    await db.execute(
        "UPDATE registry_extensions"
        " SET manifest = jsonb_set(manifest::jsonb, '{icon}', '\"javascript:alert(1)\"')::text"
    )
    text = await _page(client, "/extensions/alice/wc")
    assert "javascript:" not in text and 'class="icon"' not in text


async def test_publisher_pages_for_users_and_orgs(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    await make_org(db, "acme", [alice])
    await publish(client, alice.headers, "alice/mine", "1.0.0")
    await publish(client, alice.headers, "acme/theirs", "1.0.0")
    user_page = await _page(client, "/publishers/alice")
    assert "<h1>alice</h1>" in user_page and "User" in user_page
    assert "/extensions/alice/mine" in user_page and "/extensions/acme/theirs" not in user_page
    org_page = await _page(client, "/publishers/ACME")
    assert "<h1>acme</h1>" in org_page and "Organization" in org_page
    assert "/extensions/acme/theirs" in org_page and "/extensions/alice/mine" not in org_page
    await _page(client, "/publishers/nobody", status=404)


async def test_the_dependents_page_pages(client: Client, db: asyncpg.Connection) -> None:
    for n in range(3):
        await index_repo(db, f"example.com/app{n}", scan_of([("npm", "lodash", f"^4.{n}")]))
    first = await _page(client, "/packages/npm/lodash?limit=2")
    assert "3 repositories" in first and "example.com/app0" in first and "example.com/app2" not in first
    assert "<code>^4.1</code>" in first
    nxt = re.search(r'<a href="([^"]+)" rel="next">Next</a>', first)
    assert nxt is not None
    second = await _page(client, html.unescape(nxt.group(1)))
    assert "example.com/app2" in second and "example.com/app0" not in second
    assert 'rel="next"' not in second
    assert "No indexed repository depends" in await _page(client, "/packages/npm/nothing-here")
    await _page(client, "/packages/cobol/lodash", status=404)


async def test_the_dependents_page_counts_repositories_charts_ranges_and_links_repositories(
    client: Client, db: asyncpg.Connection
) -> None:
    scan = scan_of([("npm", "typescript", "^5.4.0")], packages=[("npm", "@acme/web", "1.0.0")], path="web/package.json")
    for n in range(6):
        more = scan_of([("npm", "typescript", "~5.3.0" if n % 2 else "^5.4.0")], path=f"p{n}/package.json")
        scan.dependencies += more.dependencies
    await index_repo(db, "example.com/acme/mono", scan)
    await index_repo(db, "example.com/old", scan_of([("npm", "typescript", "^4")]))
    text = await _page(client, "/packages/npm/typescript")
    assert re.search(r"2 repositories\s+· 8 packages\s+· 8 declarations", text), text  # a manifest is a package
    assert '<a href="/repos/example.com/acme/mono">example.com/acme/mono</a>' in text
    assert "7 declarations" in text and "and 2 more declarations" in text, "five shown per repository on the page"
    assert "@acme/web" in text, "the package the declaring manifest defines"
    chart = re.search(r'<svg [^>]*role="img"[^>]*>(.*?)</svg>', text, re.S)
    assert chart is not None and chart.group(1).count('<rect class="bar"') == 3, "one bar per declared range"
    assert "<title>^5.4.0: 4</title>" in chart.group(1)
    assert '<th scope="col" class="num">Declarations</th>' in text, "the chart's table"

    filtered = await _page(client, "/packages/npm/typescript?version=5.3.1&advisory=")
    assert "1 repository" in filtered and "3 declarations" in filtered and "example.com/old" not in filtered
    assert 'class="bar-row admits"' in filtered and 'class="bar-row excluded"' in filtered
    assert "Clear filters" in filtered
    assert "No indexed repository depends on typescript as filtered" in await _page(
        client, "/packages/npm/typescript?version=1.0.0"
    )
    await _page(client, "/packages/npm/typescript?advisory=GHSA-0000-0000-0000", status=404)

    repo = await _page(client, "/repos/example.com/acme/mono")
    assert "<code>example.com/acme/mono</code>" in repo and "@acme/web" in repo
    assert '<a href="/packages/npm/typescript">typescript</a>' in repo
    await _page(client, "/repos/example.com/nothing", status=404)


async def test_the_dependents_page_charts_the_versions_lockfiles_resolve(
    client: Client, db: asyncpg.Connection
) -> None:
    for n, versions in enumerate((["5.4.2"], ["5.4.2", "5.3.3"], ["5.3.3"], ["5.4.2"])):
        scan = scan_of([("npm", "typescript", "^5")])
        scan.resolved = [
            ("npm", ResolvedDependency("typescript", v, True, 1, (), False, False, "package-lock.json"))
            for v in versions
        ]
        await index_repo(db, f"example.com/app{n}", scan)
    text = await _page(client, "/packages/npm/typescript?version=5.3.3")
    charts = re.findall(r'<svg [^>]*role="img"[^>]*>(.*?)</svg>', text, re.S)
    assert len(charts) == 2, "declared ranges, then resolved versions"
    assert "<title>5.4.2: 3</title>" in charts[1] and "<title>5.3.3: 2</title>" in charts[1], "repositories per version"
    assert re.search(r'class="bar-row admits">\s*<title>5.3.3', charts[1]), "the version asked about stands out"
    assert "Repositories per resolved version" in text
    assert len(re.findall(r"<svg ", await _page(client, "/packages/npm/left-pad"))) == 0, "no dependents, no chart"


async def test_scoped_package_names_keep_their_slash(client: Client, db: asyncpg.Connection) -> None:
    await index_repo(db, "example.com/app", scan_of([("npm", "@types/node", "^20")]))
    text = await _page(client, "/packages/npm/@types/node")
    assert "example.com/app" in text and "1 repository" in text


async def test_404s_are_html_pages_but_api_404s_stay_problems(client: Client) -> None:
    text = await _page(client, "/extensions/nobody/nothing", status=404)
    assert "No extension nobody/nothing" in text
    unknown = await _page(client, "/no/such/page", status=404)
    assert "Page not found" in unknown
    for path, headers in (("/api/no/such/thing", {"Accept": "text/html"}), ("/no/such/page", {})):
        response = await client.get(path, headers=headers)
        assert response.status == 404
        assert response.headers["Content-Type"] == "application/problem+json"
    api = await client.get("/api/extensions/nobody/nothing", headers={"Accept": "text/html"})
    assert api.headers["Content-Type"] == "application/problem+json"


async def test_the_stylesheet_is_served_and_cached(client: Client) -> None:
    text = await _page(client, "/extensions")
    href = re.search(r'<link rel="stylesheet" href="([^"]+)">', text)
    assert href is not None and href.group(1).startswith("/static/web/site.css?v=")
    response = await client.get(html.unescape(href.group(1)))
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/css")
    assert "immutable" in response.headers["Cache-Control"]
    again = await client.get("/static/web/site.css", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status == 304
    assert (await client.get("/static/web/nothing.css")).status == 404


# API docs ----------------------------------------------------------------------------------


async def test_the_api_docs_list_every_route(client: Client) -> None:
    text = await _page(client, "/api/docs")
    listed = set(re.findall(r'<span class="method method-\w+">(\w+)</span> <code class="route">([^<]+)</code>', text))
    listed = {(method, html.unescape(path)) for method, path in listed}
    missing = []
    for route in client.app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        if (route.method, route.resource.canonical) not in listed:
            missing.append(f"{route.method} {route.resource.canonical}")
    assert missing == []
    # a summary, a parameter table, a request body schema, a response schema and an example
    assert "This API&#39;s documentation, as HTML" in text
    assert "<h4>Parameters</h4>" in text and "<h4>Request body (required)</h4>" in text
    assert "&#34;properties&#34;" in text or "&quot;properties&quot;" in text
    assert "<summary>Example</summary>" in text


async def test_the_api_docs_resolve_references(client: Client) -> None:
    text = html.unescape(await _page(client, "/api/docs"))
    # Unauthorized is a shared response: its description appears instead of the pointer
    assert '"$ref": "#/components/responses/' not in text
    assert '"$ref": "#/components/parameters/' not in text
