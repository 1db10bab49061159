"""Story bodies in layouts beyond an HTML container: rendered into a JSON blob, or cut into PDF lines.

Private helpers of ``articles._reader``: ``script_body`` reads a story that a page keeps in a ``<script>``
(``application/ld+json`` ``articleBody``, Next.js ``__NEXT_DATA__``) rather than in its markup;
``joined_lines`` mends paragraphs that a PDF-to-HTML export cut into one ``<p>`` per printed line.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator, Sequence

from lxml import etree

# fmt: off
# Where the story's text lives in a page's JSON: schema.org's articleBody, and what JS frameworks call it
_BODY_KEYS = frozenset(
    {"articleBody", "articlebody", "body", "content", "contentHtml", "bodyHtml", "html", "text"}
)
_MIN_SCRIPT_BODY_CHARS = 80
_HTML_START = re.compile(r"^\s*<(?:p|div|h\d|section|article|figure|span|br)\b", re.I)
_PARAGRAPHS = re.compile(r"\n\s*\n|\r\n\s*\r\n|(?<=[.!?。！？])\n")
# A printed line that does not end a paragraph: no closing punctuation, and long enough to be a full line
_LINE_END = re.compile(r"[.!?。！？:：;；\"”’)）]$")
_CONTINUES = re.compile(r"^[a-z0-9(“\"'‘]|^[\u4e00-\u9fff]")
_MIN_EN_LINE, _MIN_ZH_LINE = 30, 15
_CJK = re.compile(r"[\u4e00-\u9fff]")
_OPEN_END = re.compile(
    r"(?i:\b(?:in|of|the|and|or|to|by|a|an|for|with|at|from|on|as|than|its|their|some|about))$|,$"
)
# fmt: on


def script_body(scripts: Sequence[str]) -> etree._Element | None:
    """The longest story text the page's JSON scripts hold, as an element of paragraphs; None if none."""
    best = ""
    for script in scripts:
        try:
            data = json.loads(script)
        except ValueError:
            continue
        for text in _bodies(data):
            if len(text) > len(best):
                best = text
    if len(best) < _MIN_SCRIPT_BODY_CHARS:
        return None
    if _HTML_START.match(best):
        fragment = etree.fromstring(f"<html><body><div>{best}</div></body></html>", etree.HTMLParser())
        return fragment.find("body/div") if fragment is not None else None
    body = etree.Element("div")
    for paragraph in _PARAGRAPHS.split(best):
        if paragraph.strip():
            etree.SubElement(body, "p").text = paragraph.strip()
    return body


def _bodies(data: object, depth: int = 0) -> Iterator[str]:
    """Every candidate story text, however deep (bounded) the JSON nests it: a string under a body-like key,
    and a list of paragraph blocks ("paragraphs": ["…", "…"], "content": [{"c": "…"}, …]) joined."""
    if depth > 12:
        return
    if isinstance(data, dict):
        for key, value in data.items():
            if key in _BODY_KEYS and isinstance(value, str):
                yield value
            elif isinstance(value, dict | list):
                yield from _bodies(value, depth + 1)
    elif isinstance(data, list):
        blocks = [_block_text(item) for item in data]
        if sum(bool(b) for b in blocks) >= 2:
            yield "\n\n".join(b for b in blocks if b)
        for item in data:
            yield from _bodies(item, depth + 1)


def _block_text(item: object) -> str:
    """A paragraph block's text: the string itself, or the longest string field of a block object."""
    if isinstance(item, str):
        return item.strip()
    if isinstance(item, dict):
        return max((v.strip() for v in item.values() if isinstance(v, str)), key=len, default="")
    return ""


def joined_lines(lines: list[str]) -> list[str]:
    """``lines`` with each full printed line that does not end its paragraph joined to the line after it
    ("The number of Hong Kong-funded enterprises in" + "Qianhai reached 11,020 ..."); headings and short
    lines stay apart. Only a page that reads so throughout (a third of its lines run on) is mended: a
    heading without a full stop in an ordinary page stays its own line."""
    runs = sum(_runs_on(a, b) for a, b in itertools.pairwise(lines))
    if runs < max(2, len(lines) / 3):
        return lines
    joined: list[str] = []
    for line in lines:
        if joined and _runs_on(joined[-1], line):
            glue = "" if _CJK.search(joined[-1][-1:]) and _CJK.match(line) else " "
            joined[-1] = joined[-1] + glue + line
        else:
            joined.append(line)
    return joined


def _runs_on(previous: str, line: str) -> bool:
    if not previous or not line or "\t" in previous or "\t" in line or _LINE_END.search(previous):
        return False
    zh = bool(_CJK.search(previous[-1:]))
    continues = _CONTINUES.match(line) or (not zh and _OPEN_END.search(previous))
    return len(previous) >= (_MIN_ZH_LINE if zh else _MIN_EN_LINE) and bool(continues)
