"""HTML reduced to text lines for checks, keeping links and marking quoted blocks."""

from __future__ import annotations

import re
from html.parser import HTMLParser

BLOCK_TAGS = {
    "p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "hr", "section", "article", "header", "footer", "td",
}  # fmt: skip
SKIP_TAGS = {"script", "style", "head", "title"}
QUOTE_CLASSES = re.compile(
    r"gmail_quote|yahoo_quoted|moz-cite-prefix|OutlookMessageHeader|divRplyFwdMsg", re.I
)
VOID_TAGS = {"br", "hr", "img", "meta", "link", "input"}  # never on the open-tag stack
SPACES = re.compile(r"[ \t\u00a0]+")


class _Reducer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[str, bool]] = []
        self.current: list[str] = []
        self.skip = 0
        self.quote_depth = 0
        self.stack: list[tuple[str, bool]] = []  # (tag, opened a quote)
        self.links: list[tuple[str, str, int]] = []  # (href, anchor, line index)
        self.href: str | None = None
        self.anchor: list[str] = []

    def updatepos(self, i: int, j: int) -> int:
        # The stock one counts the newlines of every token for getpos(), which nothing here reads.
        return j

    def _break(self) -> None:
        # Most breaks close an empty line (a block tag right after another): no text to clean.
        text = SPACES.sub(" ", "".join(self.current)).strip() if self.current else ""
        if text or (self.lines and self.lines[-1][0]):
            self.lines.append((text, self.quote_depth > 0))
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIP_TAGS:
            self.skip += 1
            return
        if tag in BLOCK_TAGS:
            self._break()
        attr = dict(attrs)
        quote = tag == "blockquote" or bool(
            ("class" in attr and QUOTE_CLASSES.search(attr["class"] or ""))
            or ("id" in attr and QUOTE_CLASSES.search(attr["id"] or ""))
        )
        if tag not in VOID_TAGS:
            self.stack.append((tag, quote))
            if quote:
                self.quote_depth += 1
        if tag == "a" and attr.get("href"):
            self.href = attr["href"]
            self.anchor = []
        if tag == "img" and attr.get("alt"):
            self.current.append(attr["alt"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
            return
        if tag == "a" and self.href is not None:
            self.links.append((self.href, "".join(self.anchor).strip(), len(self.lines)))
            self.href = None
        if tag in BLOCK_TAGS:
            self._break()  # before leaving a quote block, so its last text is still marked quoted
        # Pop to the matching open tag; tolerate unclosed inner tags.
        for k in range(len(self.stack) - 1, -1, -1):
            if self.stack[k][0] == tag:
                for _, was_quote in self.stack[k:]:
                    if was_quote:
                        self.quote_depth -= 1
                del self.stack[k:]
                break

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        self.current.append(data)
        if self.href is not None:
            self.anchor.append(data)


def html_to_lines(html: str) -> tuple[list[tuple[str, bool]], list[tuple[str, str, int]]]:
    """Return ([(line text, inside a quote block)], [(href, anchor text, line index)])."""
    reducer = _Reducer()
    try:
        reducer.feed(html)
        reducer.close()
    except (AssertionError, ValueError):  # html.parser gives up on some malformed markup
        pass
    reducer._break()
    while reducer.lines and not reducer.lines[-1][0]:
        reducer.lines.pop()
    return reducer.lines, reducer.links
