"""Extension READMEs: markdown rendered with markdown-it-py, then sanitized with nh3.

A README is written by whoever publishes the extension, so the HTML it becomes is treated as
hostile: raw HTML is allowed through the renderer (READMEs use it) and everything is then cleaned
against a short allow-list. No script, no event handler, no `style`, no `id`/`class` (no DOM
clobbering, no borrowing the page's styles), and links only to http, https and mailto (or
relative). The page's Content-Security-Policy is the second line of defence, not the first.

Rendering costs time on hostile input: markdown-it is pure Python (about 1 s for a plain 366 KB
README here), and nh3 (html5ever) is quadratic in how deeply elements nest (`'<div>' * 60000` took
4 s, 30,000 `<b x=N>` 15 s). So a README is rendered once, when it is published, in a worker
process (registry.offload) with a deadline, and kept; HTML nested deeper than `MAX_NESTING` is
never handed to the sanitizer; and whatever is refused or overruns is shown as plain text.
"""

from __future__ import annotations

import html
import re
from functools import cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from registry.db.queries import FromRow
from registry.offload import WorkerPool, WorkTimeout

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em",
        "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "samp",
        "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
        "tr", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "code": set(),
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# The page's own headings are h1 (the extension) and h2 (its sections): a README's headings
# start below them, so the outline stays in order.
_HEADING_SHIFT = 2
# The deepest element nesting sanitized (GitHub's own READMEs stay under 30); deeper is shown as text.
MAX_NESTING = 100
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)\b[^>]*?(/?)>")
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
)


class RenderedReadme(FromRow):
    """A README as HTML safe to insert into a page; `plain` when it is the text fallback."""

    html: str
    plain: bool


@cache
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    return md


def _shift_headings(tokens: list[Token]) -> None:
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            level = min(int(token.tag[1]) + _HEADING_SHIFT, 6)
            token.tag = f"h{level}"


def sanitize_html(html: str) -> str:
    """Clean `html` against the README allow-list."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow ugc",
        strip_comments=True,
    )


def nesting_depth(html_text: str, limit: int) -> int:
    """How deeply the elements of `html_text` nest (an over-estimate: a closing tag closes only an
    element open under that name, as in HTML), counting up to `limit` + 1 and stopping there;
    linear in the length for a bounded `limit`."""
    open_names: list[str] = []
    for match in _TAG.finditer(html_text):
        closing, name, self_closing = match[1], match[2].lower(), match[3]
        if name in _VOID or self_closing:
            continue
        if not closing:
            open_names.append(name)
            if len(open_names) > limit:
                break
        elif name in open_names:
            del open_names[len(open_names) - 1 - open_names[::-1].index(name) :]
    return len(open_names)


def plain_readme(markdown: str) -> RenderedReadme:
    """The README as preformatted text: no markup of the author's survives, nothing is parsed."""
    return RenderedReadme(f'<pre class="readme-text">{html.escape(markdown)}</pre>', plain=True)


def render_bounded(markdown: str, max_nesting: int = MAX_NESTING) -> RenderedReadme:
    """The README rendered and sanitized, or as plain text when its HTML nests deeper than
    `max_nesting` (what would make the sanitizer quadratic). Runs in a worker process."""
    md = _markdown()
    env: dict[str, object] = {}
    tokens = md.parse(markdown, env)
    _shift_headings(tokens)
    rendered = md.renderer.render(tokens, md.options, env)
    if nesting_depth(rendered, max_nesting) > max_nesting:
        return plain_readme(markdown)
    return RenderedReadme(sanitize_html(rendered), plain=False)


async def render_once(parsers: WorkerPool, markdown: str) -> RenderedReadme:
    """`render_bounded` in a worker process; the plain text when it overruns its deadline."""
    try:
        return await parsers.run(render_bounded, markdown)
    except WorkTimeout:
        return plain_readme(markdown)


def readme_text(manifest: dict[str, object]) -> str | None:
    """The manifest's README, when it has one worth showing."""
    readme = manifest.get("readme")
    return readme if isinstance(readme, str) and readme.strip() else None
