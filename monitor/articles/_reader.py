"""Page bytes → the article's readable body: title, text, sentences, language, content hash, publication time.

The only user of lxml and BeautifulSoup. Bytes are decoded by ``charsets`` (the order of attempts feeds and
pages share). lxml parses the whole page,
finds the body (the feed's CSS selector; else ``[itemprop=articleBody]``, a known content container,
``<article>``; else the densest block of paragraphs) and strips what is not the story; a CSS selector XPath
cannot say goes through BeautifulSoup (soupsieve). The body's text is read with inline tags kept together and
blocks and table cells apart, at most ``_MAX_LINES`` blocks (logged when cut). Boilerplate lines
(READ MORE, bylines, "Contact the writer", copyright, cookie banners, page counters) go before sentences are
split (``articles._sentences``, which also tells the language). The title and publication time come from
``articles._meta``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from functools import lru_cache

from lxml import etree

from .. import charsets
from ..errors import ArticleError
from ..records import Article, Fetched
from ._layout import joined_lines, script_body
from ._meta import published_of, title_of
from ._sentences import language_of, split_sentences

Element = etree._Element
log = logging.getLogger("monitor.articles")

# fmt: off
_MIN_BODY_CHARS = 25
_MAX_LINES = 5_000
_MIN_CONTAINER_CHARS = 60
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")  # lxml refuses them in text
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_HTML_TYPES = re.compile(r"html|xml|text/plain", re.I)
_TRAILING_MARK = re.compile("\ue001 *$")  # the cell mark after a row's last cell

_DROP_TAGS = (
    "script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe", "svg", "button",
    "select", "textarea", "template", "figcaption", "menu", "dialog", "object", "embed",
)
_JUNK = re.compile(
    r"cookie|consent|gdpr|share|social|related|recommend|breadcrumb|comment|advert|\bads?\b|banner|sidebar|"
    r"subscribe|newsletter|byline|author|copyright|footer|\bnav|menu|\btags?\b|pagination|pager|toolbar|popup|"
    r"modal|promo|sponsor|hot-?news|more-?news|read-?more|also-?read|caption|dateline|\bmeta\b|"
    r"(?:article|post|entry|news)[-_]?(?:info|meta)\b|\binfo-?bar",
    re.I,
)
# Where stories live when no selector is set, best first: microdata, the CMS containers of the region's
# outlets (TRS_Editor and #Zoom are the Chinese government CMSs; #page-container holds a pdf2htmlEX export's
# pages), then the HTML5 elements.
_CONTAINER_MARK = re.compile(
    r"(?:^|\s)(?:Content|content|article-content|articleContent|article_content|ArticleContent|zoom|Zoom|"
    r"main-content|story-body|article-body|articleBody|TRS_Editor|post-content|entry-content|news-content|"
    r"detail-content|newsContent|content-text|article-text|story-content|article-detail|news_txt|text_con|"
    r"detail|detailContent|article__body|story__body|rich-text|pages_content|UCAP-CONTENT|TRS_UEDITOR|"
    r"trs_editor_view|article-main|news_content|zw|pressrelease|main_text|con_text|page-container)(?:\s|$)"
)
_BLOCK_TAGS = (
    "p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "section", "blockquote",
    "pre", "dd", "dt", "ul", "ol", "article", "hr", "caption", "thead", "tbody", "dl", "center",
)
_CELL_TAGS = ("td", "th")
_INLINE_TAGS = (
    "a", "span", "strong", "em", "b", "i", "u", "font", "sup", "sub", "small", "big", "abbr", "cite",
    "code", "mark", "time", "label", "img", "ins", "del", "s", "q", "var", "wbr", "picture", "source",
)

_JUNK_START = re.compile(
    r"(?:READ\s+MORE|ALSO\s+READ|RELATED(?:\s+(?:STORIES|ARTICLES|NEWS|READING))?|MORE\s+ON|SEE\s+ALSO|"
    r"Recommended|Editor'?s?\s+(?:note|pick)|相关阅读|延伸阅读|推荐阅读|相关新闻|阅读更多|更多阅读|相关链接)\s*[:：]?"
    r"|(?:Contact\s+the\s+(?:writer|writers|reporter|author)|Contact\s+us|Follow\s+us|Share\s+(?:this|on|via)|"
    r"Subscribe|Sign\s+up|Click\s+here|Download\s+(?:the|our)\s+app|Share\s*:|Additional\s+reporting\s+by|"
    r"[(（]\s*(?:完|end|ENDS?)\s*[)）]$)"
    # A byline is capitalised names ("By Wendy Lau in Shenzhen |"); "By mid-November, 11,020 firms" is not.
    r"|(?-i:By\s+[A-Z][\w.'’-]*(?:\s+(?:[A-Z][\w.'’-]*|and|in|&))*\s*(?:$|[|/•·—–-]\s))"
    r"|\[?(?:Photo|Photos|Picture|Image|Video)\b[^\]]{0,40}\]?$"
    r"|\(?(?:Source|Editor|Editors|Reporter|Reporters|Photo|Photos|Writer|Author|Edited\s+by|Translated\s+by|"
    r"Updated|Published|Posted|责任编辑|编辑|记者|通讯员|来源|作者|摄影|图|文|审核|校对|发布时间|更新时间)\s*[:：|]"
    r"|(?:Page\s+\d+\s+of\s+\d+|\d+\s*/\s*\d+$|上一页|下一页|首页|尾页|第\s*\d+\s*页|共\s*\d+\s*页)",
    re.I,
)
_JUNK_ANYWHERE = re.compile(
    r"©|\bCopyright\b|\(c\)\s*\d{4}|All\s+rights\s+reserved|版权所有|未经授权|转载请注明|免责声明", re.I
)
_COOKIES = re.compile(
    r"\bcookies?\b.{0,80}\b(?:use|accept|consent|agree|policy|settings)\b|\b(?:use|accept)\b.{0,40}\bcookies?\b",
    re.I,
)
_SPACES = re.compile(r"\s+")
_BREAK, _CELL = (
    "\ue000",
    "\ue001",
)  # block and cell boundaries, marked before the source's own whitespace is folded
# fmt: on


def read_article(page: Fetched, *, selector: str | None = None, encoding: str | None = None) -> Article:
    """The readable article in ``page``; raises ArticleError when the page has no body text. ``encoding``
    (the feed's ``encoding:`` setting) overrides every charset the page or its headers declare."""
    url = page.final_url or page.url
    content_type = page.content_type or ""
    if content_type and not _HTML_TYPES.search(content_type):
        raise ArticleError(f"article: not an HTML page ({content_type.split(';')[0]}) ({url})")
    markup = charsets.decode(page.body, content_type, override=encoding)
    if "text/plain" in content_type.lower():
        lines, title = _plain_lines(markup), ""
    else:
        body = _body(markup, selector, url)
        title = title_of(markup)
        lines = _lines(body)
    if len(lines) > _MAX_LINES:  # a story has a few hundred blocks; past this a page is not one story
        log.warning("article capped url=%s lines=%d kept=%d", url, len(lines), _MAX_LINES)
        lines = lines[:_MAX_LINES]
    lines = joined_lines([line for line in lines if line and line != title and not _is_boilerplate(line)])
    text = "\n".join(lines)
    if len(text.strip()) < _MIN_BODY_CHARS:
        raise ArticleError(f"article: no body found ({url})")
    sentences = tuple(s for line in lines for s in split_sentences(line))
    return Article(
        url=url,
        title=title,
        text=text,
        sentences=sentences,
        lang=language_of(text),
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        published=published_of(markup),
    )


def _plain_lines(text: str) -> list[str]:
    """Paragraphs of a plain-text page: blocks between blank lines (hard-wrapped lines joined), else lines."""
    blocks = re.split(r"\n\s*\n", text.strip())
    if len(blocks) == 1:
        return [" ".join(line.split()) for line in text.splitlines()]
    return [" ".join(block.split()) for block in blocks]


def _is_boilerplate(line: str) -> bool:
    """READ MORE / ALSO READ lines, bylines, "Contact the writer", copyright, cookie notes, page counts."""
    return bool(
        _JUNK_START.match(line) or _JUNK_ANYWHERE.search(line) or ("ookie" in line and _COOKIES.search(line))
    )


# --- str → body -------------------------------------------------------------------------------------------


def _body(markup: str, selector: str | None, url: str) -> Element:
    """The element holding the story, cleaned of everything that is not the story."""
    markup = _XML_DECLARATION.sub("", _CONTROL.sub("", markup), count=1)
    root = _parse(markup)
    if root is None:
        raise ArticleError(f"article: no body found ({url})")
    scripts = root.xpath("//script[@type='application/ld+json' or @id='__NEXT_DATA__']/text()")
    etree.strip_elements(root, *_DROP_TAGS, with_tail=False)
    if selector:
        body = _selected(root, markup, selector, url)
    else:
        marked = [
            (el, f"{el.get('class', '')} {el.get('id', '')}") for el in root.xpath("//*[@class or @id]")
        ]
        page = _text_length(root)
        for element, marks in marked:  # footers, sidebars, share bars ... unless one holds most of the page
            if _junk_marks(marks) and _text_length(element) < 0.4 * page:
                _drop(element)
        body = _container(root, marked)
        # The story the page declares in JSON beats a guess at its markup, and beats a container that shows
        # only a headline and a loading skeleton of it until a script runs
        declared = script_body(scripts) if scripts else None
        if declared is not None and (body is None or 2 * _text_length(body) < _text_length(declared)):
            body = declared
        if body is None and (body := _densest(root)) is not None and (parent := body.getparent()) is not None:
            body = _with_siblings(body, list(parent))  # a PDF export's pages, one <div> each
    if body is None:
        raise ArticleError(f"article: no body found ({url})")
    for element in list(body.iter("*" if selector else ("ul", "ol"))):
        if element is not body and element.getparent() is not None and _is_junk(element):
            _drop(element)
    return body


_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True)


def _parse(markup: str) -> Element | None:
    try:
        return etree.fromstring(markup, _PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None


def _drop(element: Element) -> None:
    """Removes an element and its text, keeping the text that follows it."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _selected(root: Element, markup: str, selector: str, url: str) -> Element | None:
    """The elements a feed's CSS selector names, as one element: simple selectors (tag, #id, .class, [attr=v],
    descendant and child combinators, lists) as XPath on the parsed page; others through BeautifulSoup's
    soupsieve on the whole page, which is slower."""
    path = _xpath_of(selector)
    if path is not None:
        found = root.xpath(path)
        if not found:
            return None
        whole = etree.Element("div")
        whole.extend(el for el in found if not _nested(el, found))
        return whole
    # imported here: only a selector XPath cannot say needs it, and it takes a tenth of a second to load
    from bs4 import BeautifulSoup

    try:
        selected = BeautifulSoup(markup, "lxml").select(selector)
    except Exception as error:  # soupsieve's SelectorSyntaxError and friends: the feed's setting is wrong
        raise ArticleError(f"article: selector {selector!r} is not CSS soupsieve reads ({url})") from error
    if not selected:
        return None
    page = _parse("<html><body><div>" + "".join(str(el) for el in selected) + "</div></body></html>")
    fragment = page.find("body/div") if page is not None else None
    if fragment is not None:
        etree.strip_elements(fragment, *_DROP_TAGS, with_tail=False)
    return fragment


@lru_cache(maxsize=4096)
def _junk_marks(marks: str) -> bool:
    """Class and id words of boilerplate (pages repeat a few hundred of them: teasers, menu items)."""
    return bool(_JUNK.search(marks)) and not _container_marks(marks)


@lru_cache(maxsize=4096)
def _container_marks(marks: str) -> bool:
    return bool(_CONTAINER_MARK.search(marks))


_SIMPLE_STEP = re.compile(r"([A-Za-z][\w-]*|\*)?((?:[#.][\w-]+|\[[\w-]+(?:=[\"']?[^\"'\]]*[\"']?)?\])*)$")
_PART = re.compile(r"([#.])([\w-]+)|\[([\w-]+)(?:=[\"']?([^\"'\]]*)[\"']?)?\]")


@lru_cache(maxsize=256)
def _xpath_of(selector: str) -> str | None:
    """XPath for a simple CSS selector ("#pressrelease", "div.article-body p", "main > .story, .content"),
    else None."""
    paths = []
    for group in selector.split(","):
        path, axis = "", "//"
        for token in group.replace(">", " > ").split():
            if token == ">":
                axis = "/"
                continue
            step = _SIMPLE_STEP.match(token)
            if not step or not (step.group(1) or step.group(2)):
                return None
            tests = []
            for kind, name, attr, value in _PART.findall(step.group(2)):
                if kind == "#":
                    tests.append(f"@id='{name}'")
                elif kind == ".":
                    tests.append(f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')")
                else:
                    tests.append(f"@{attr}='{value}'" if value else f"@{attr}")
            path += axis + (step.group(1) or "*") + "".join(f"[{t}]" for t in tests)
            axis = "//"
        if not path:
            return None
        paths.append(path)
    return " | ".join(paths)


def _is_junk(element: Element) -> bool:
    if not isinstance(element.tag, str):
        return False
    if _junk_marks(f"{element.get('class', '')} {element.get('id', '')}"):
        return True
    if element.tag in ("ul", "ol"):  # a list of links: related stories, tags, menus
        text = _text_length(element)
        links = sum(_text_length(a) for a in element.iter("a"))
        return text > 0 and links >= 0.8 * text
    return False


def _container(root: Element, marked: list[tuple[Element, str]]) -> Element | None:
    """The story's container: ``[itemprop=articleBody]``; else, of the known content containers and the
    ``<article>``/``<main>`` elements, the innermost that holds most (60%) of the largest one's text, so that
    ``<div id="content">`` around everything yields to the ``<article>`` inside it."""
    for found in (
        root.xpath("//*[@itemprop='articleBody']"),
        [el for el, marks in marked if _container_marks(marks) and el.getparent() is not None]
        + root.xpath("//article|//main"),
    ):
        kept = [el for el in found if not _is_junk(el)]
        sized = [(el, size) for el in kept if (size := _text_length(el)) >= _MIN_CONTAINER_CHARS]
        if sized:
            largest = max(size for _, size in sized)
            fitting = [el for el, size in sized if size >= 0.6 * largest]
            best = max(fitting, key=lambda el: sum(1 for _ in el.iterancestors()))
            return _with_siblings(best, kept)
    return None


def _with_siblings(best: Element, found: list[Element]) -> Element:
    """A story split into several containers of the same class (around an advert, say) is read whole."""
    if not best.get("class"):
        return best
    parts = [
        el
        for el in found
        if el.get("class") == best.get("class")
        and el.tag == best.tag
        and el.getparent() is best.getparent()
        and not _nested(el, found)
    ]
    if len(parts) < 2 or best not in parts:
        return best
    whole = etree.Element("div")
    for part in parts:  # in document order, as the search found them
        whole.append(part)
    return whole


def _nested(element: Element, others: list[Element]) -> bool:
    return any(other is not element and other in element.iterancestors() for other in others)


# An element's text as XPath's string(): lxml joins it in C, about three times as fast as joining itertext()
_STRING = etree.XPath("string()")


def _text_length(element: Element) -> int:
    return len(str(_STRING(element)).strip())


def _densest(root: Element) -> Element | None:
    """The element whose own paragraphs (p, or runs of text between <br>s) hold the most non-link text."""
    scores: dict[Element, float] = {}
    for element in root.iter("p", "div", "td", "section", "span"):
        if element.tag == "p":
            length = _text_length(element) - sum(_text_length(a) for a in element.iter("a"))
            holder = element.getparent()
        else:
            own = (element.text or "") + "".join(child.tail or "" for child in element)
            length, holder = len(own.strip()), element
        if length < 20 or holder is None:
            continue
        scores[holder] = scores.get(holder, 0.0) + length  # not the grandparent: a rail of teasers is one
    if not scores:
        body = root.find("body")
        return body if body is not None and _text_length(body) >= _MIN_BODY_CHARS else None
    return max(scores, key=scores.__getitem__)


# --- body → lines -----------------------------------------------------------------------------------------


def _lines(body: Element) -> list[str]:
    """The body's text, one line per block; inline tags joined, table cells separated by tabs."""
    for sup in body.iter("sup"):  # a footnote mark after a number ("5.2<sup>3</sup>") is no digit of it
        previous, parent = sup.getprevious(), sup.getparent()
        before = previous.tail if previous is not None else parent.text if parent is not None else None
        if re.fullmatch(r"\s*\d{1,2}\s*", sup.text or "") and re.search(r"\d\s*$", before or ""):
            sup.text = ""
    etree.strip_tags(body, *_INLINE_TAGS)  # their text stays in place, joined to the words around it
    for element in body.iter(*_BLOCK_TAGS, *_CELL_TAGS):
        mark = _CELL if element.tag in _CELL_TAGS else _BREAK
        element.tail = mark + (element.tail or "")
        if mark is _BREAK:
            element.text = _BREAK + (element.text or "")
    # the tree's own text and tails, in document order: what BeautifulSoup's get_text() gives after a
    # serialize-and-reparse, at a tenth of the cost on a page of many small blocks
    text = _SPACES.sub(" ", "".join(t for t in body.itertext() if isinstance(t, str)))
    # a row keeps its empty cells ("Total<TAB>117<TAB>" under three headers): only the mark after its last
    # cell goes, so its numbers stay under their own columns
    return [
        _TRAILING_MARK.sub("", line.strip(" ")).replace(_CELL, "\t").strip(" ") for line in text.split(_BREAK)
    ]
