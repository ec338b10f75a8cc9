"""Extension READMEs: markdown rendered with markdown-it-py, then sanitized with nh3.

A README is written by whoever publishes the extension, so the HTML it becomes is treated as
hostile: raw HTML is allowed through the renderer (READMEs use it) and everything is then cleaned
against a short allow-list. No script, no event handler, no `style`, no `id`/`class` (no DOM
clobbering, no borrowing the page's styles), and links only to http, https and mailto (or
relative). The page's Content-Security-Policy is the second line of defence, not the first.
"""

from __future__ import annotations

from functools import cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

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


def render_readme(markdown: str) -> str:
    """The README as sanitized HTML, safe to insert into a page as is."""
    md = _markdown()
    env: dict[str, object] = {}
    tokens = md.parse(markdown, env)
    _shift_headings(tokens)
    return sanitize_html(md.renderer.render(tokens, md.options, env))
