"""Specification of ``monitor.articles``: page bytes → the story's title, body, sentences and metadata."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.figures import CORPUS, load_cases
from monitor.articles import read_article, split_sentences
from monitor.errors import ArticleError
from monitor.records import Fetched

STORY = "<p>Qianhai is now home to 11,020 Hong Kong-funded companies, the zone's administration said.</p>"


def page(
    body: bytes | str, content_type: str | None = "text/html", url: str = "https://news.example/a"
) -> Fetched:
    data = body.encode("utf-8") if isinstance(body, str) else body
    headers = {"content-type": content_type} if content_type else {}
    return Fetched(url=url, final_url=url, status=200, body=data, headers=headers)


def html(body: str, head: str = "") -> str:
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>"


# --- decoding ---------------------------------------------------------------------------------------------

ZH_STORY = "前海累计注册港资企业1.06万家，注册资本达8461.4亿元。"


def test_a_gb2312_label_is_read_as_gb18030_so_characters_beyond_gb2312_survive() -> None:
    text = "珺琦在前海" + ZH_STORY  # 珺 is GBK/GB18030 only
    body = html(f"<article><p>{text}</p></article>", '<meta charset="gb2312">').encode("gb18030")
    assert read_article(page(body, "text/html")).text == text


def test_a_big5_label_is_read_as_big5_hkscs_so_cantonese_characters_survive() -> None:
    text = "佢哋嘅前海港資企業累計達1.06萬家，註冊資本達8461.4億元。"  # 嘅 and 哋 are HKSCS only
    body = html(f"<article><p>{text}</p></article>", '<meta charset="big5">').encode("big5hkscs")
    assert read_article(page(body, "text/html")).text == text


def test_the_http_charset_wins_over_the_meta_declaration() -> None:
    body = html(f"<article><p>{ZH_STORY}</p></article>", '<meta charset="big5">').encode("gb18030")
    assert read_article(page(body, "text/html; charset=GBK")).text == ZH_STORY


def test_a_byte_order_mark_wins_over_every_label() -> None:
    body = b"\xef\xbb\xbf" + html(f"<article><p>{ZH_STORY}</p></article>", '<meta charset="gb2312">').encode(
        "utf-8"
    )
    assert read_article(page(body, "text/html; charset=gb2312")).text == ZH_STORY


def test_an_xml_declaration_names_the_encoding() -> None:
    body = (
        '<?xml version="1.0" encoding="gb18030"?>' + html(f"<article><p>{ZH_STORY}</p></article>")
    ).encode("gb18030")
    assert read_article(page(body, None)).text == ZH_STORY


def test_gbk_bytes_under_a_latin1_header_read_as_the_pages_own_meta_charset_says() -> None:
    """Older Chinese CMSs answer ``charset=ISO-8859-1`` over GBK bytes: the page's <meta> and a strict decode
    win over a Latin-1 header, so the text is Chinese, not mojibake, and its figures are the page's."""
    body = html(f"<article><p>{ZH_STORY}</p></article>", '<meta charset="gbk">').encode("gbk")
    article = read_article(page(body, "text/html; charset=ISO-8859-1"))
    assert article.text == ZH_STORY
    unlabelled = html(f"<article><p>{ZH_STORY * 3}</p></article>").encode("gbk")
    assert read_article(page(unlabelled, "text/html; charset=ISO-8859-1")).text == ZH_STORY * 3


def test_a_feeds_encoding_setting_overrides_every_declared_charset() -> None:
    body = html("<article><p>Macao’s café economy grew 5% in Hengqin this year.</p></article>",
                '<meta charset="utf-8">').encode("cp1252")  # fmt: skip
    article = read_article(page(body, "text/html; charset=utf-8"), encoding="windows-1252")
    assert "Macao’s café economy" in article.text


def test_an_unlabelled_page_is_detected() -> None:
    text = ZH_STORY * 6 + "今年前三季度，深圳外贸进出口同比增长12.5%，增速较上年提高2.3个百分点。"
    body = html(f"<article><p>{text}</p></article>").encode("gb18030")
    assert read_article(page(body, "text/html")).text == text


def test_a_latin1_label_on_utf8_bytes_is_read_as_utf8() -> None:
    text = "Qianhai’s 10,577 Hong Kong-funded enterprises — a record — registered 846.14 billion yuan."
    body = html(f"<article><p>{text}</p></article>").encode("utf-8")
    assert read_article(page(body, "text/html; charset=iso-8859-1")).text == text


# --- finding the body -------------------------------------------------------------------------------------


def test_the_feeds_selector_names_the_body() -> None:
    markup = html(
        f'<div id="story">{STORY}</div><div class="other"><p>{"Unrelated 999 words here. " * 9}</p></div>'
    )
    assert "11,020" in read_article(page(markup), selector="#story").text
    assert "999" not in read_article(page(markup), selector="#story").text


def test_an_article_element_is_the_body_when_no_selector_is_set() -> None:
    markup = html(f"<div><p>{'Sidebar talk of 42 things. ' * 3}</p></div><article>{STORY * 2}</article>")
    assert "42" not in read_article(page(markup)).text


@pytest.mark.parametrize(
    "container",
    [
        'itemprop="articleBody"',
        'class="TRS_Editor"',
        'id="Content"',
        'class="article-content"',
        'class="post-content"',
        'class="story-body"',
    ],
)
def test_a_known_content_container_is_the_body(container: str) -> None:
    markup = html(
        f"<div><p>{'Other text with 77 numbers in it. ' * 8}</p></div><div {container}>{STORY * 2}</div>"
    )
    text = read_article(page(markup)).text
    assert "11,020" in text and "77" not in text


def declared(body: str) -> str:
    """A schema.org JSON-LD block declaring ``body`` as the story's text."""
    data = {"@type": "NewsArticle", "headline": "Qianhai", "articleBody": body}
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def test_a_container_showing_only_a_loading_skeleton_yields_to_the_story_the_page_declares() -> None:
    story = (
        "Qianhai is now home to 11,020 Hong Kong-funded companies, the zone's administration said.\n\n"
        "More than 370 financial institutions from Hong Kong have set up in the zone since 2015."
    )
    markup = html(
        "<main><h1>Qianhai draws Hong Kong firms to its financial district</h1>"
        "<div class='skeleton'>Loading article...</div></main>" + declared(story)
    )
    text = read_article(page(markup)).text
    assert "11,020" in text and "370 financial institutions" in text and "Loading" not in text


def test_a_container_holding_the_story_is_read_even_when_the_page_also_declares_it() -> None:
    table = "<table><tr><th>Year</th><th>Firms</th></tr><tr><td>2024</td><td>11,020</td></tr></table>"
    story = declared("Qianhai is home to 11,020 firms. " * 3)
    markup = html(f"<article>{STORY * 2}{table}</article>{story}")
    assert "2024\t11,020" in read_article(page(markup)).text


def test_a_pdf2htmlex_export_is_read_across_its_pages_one_positioned_line_after_another() -> None:
    """pdf2htmlEX writes each printed line as its own <div class="t ... y3aa">, a class per position, in one
    <div class="pf"> per page; the pages sit in #page-container beside an outline sidebar."""
    printed = [
        ["Guangdong's total imports and exports hit a record 8.3 trillion RMB in 2023,",
         "an increase of 0.3 percent over 2022, customs figures released on Tuesday show."],
        ["The number of foreign trade enterprises in Guangdong reached a new high of",
         "130,000, an increase of 9.4 percent on the previous year."],
    ]  # fmt: skip
    pages = "".join(
        f'<div id="pf{n}" class="pf w0 h0"><div class="pc pc{n} w0 h0">'
        + "".join(f'<div class="t m0 x2 h2 y{n}{i}a ff2 fs2">{line}</div>' for i, line in enumerate(lines))
        + "</div></div>"
        for n, lines in enumerate(printed, 1)
    )
    outline = '<div id="sidebar"><ul><li><a href="#pf1">Trade 2023</a></li></ul></div>'
    text = read_article(page(html(f'{outline}<div id="page-container">{pages}</div>'))).text
    assert text.splitlines() == [" ".join(lines) for lines in printed]


def test_without_any_container_the_densest_block_of_paragraphs_is_the_body() -> None:
    markup = html(
        f'<div class="x"><a href="/">Home</a> <a href="/2">Page 2</a></div><div class="y">{STORY * 3}</div>'
    )
    assert read_article(page(markup)).text.startswith("Qianhai is now home")


def test_boilerplate_elements_and_lines_are_dropped() -> None:
    body = (
        "<nav>Home 1 2 3</nav><header>Hotline: 2811 4477</header><article>"
        "<p>By Sally Wong in Shenzhen</p>"
        f"{STORY}"
        "<p><strong>READ MORE:</strong> <a href='/x'>Hetao: Zone of talent</a></p>"
        "<p>ALSO READ: Experts on 5 things</p>"
        "<p>Startups raised over 6.8 billion yuan in funding.</p>"
        "<figure><img src='a.jpg'><figcaption>A photo of 3 towers</figcaption></figure>"
        "<div class='related-stories'><ul><li><a href='/y'>Related: 8 more stories</a></li></ul></div>"
        "<p>Contact the writer at sally@example.com</p>"
        "<p>Copyright 1995-2025 China Daily. All rights reserved.</p>"
        "<div class='cookie-banner'>We use cookies to improve your experience.</div>"
        "<script>var n = 12345;</script><style>.a{width:100px}</style></article>"
        "<aside>Most read 9</aside><footer>Page 2 of 5</footer><form>Subscribe 10</form>"
    )
    article = read_article(page(html(body)))
    assert article.sentences == (
        "Qianhai is now home to 11,020 Hong Kong-funded companies, the zone's administration said.",
        "Startups raised over 6.8 billion yuan in funding.",
    )


@pytest.mark.parametrize(
    "line",
    [
        "By mid-November, 11,020 Hong Kong-funded companies had registered in the zone.",
        "By November, more than 370 financial institutions had opened in Qianhai.",
        "By the end of June, Hengqin was home to 27,000 Macao residents.",
    ],
)
def test_a_sentence_that_starts_with_by_is_not_taken_for_a_byline(line: str) -> None:
    body = f"<article><p>By Sally Wong in Shenzhen</p>{STORY}<p>{line}</p></article>"
    article = read_article(page(html(body)))
    assert article.sentences[-1] == line


def test_inline_tags_keep_their_phrase_together() -> None:
    markup = html(
        "<article><p>A total of <strong>10,577</strong> Hong Kong-<em>funded</em> enterprises have "
        "<a href='/q'>set up</a> in Qianhai, officials said on Tuesday in a briefing.</p></article>"
    )
    assert (
        "A total of 10,577 Hong Kong-funded enterprises have set up in Qianhai"
        in read_article(page(markup)).text
    )


def test_table_cells_and_blocks_stay_apart() -> None:
    markup = html(
        "<article><p>Quarterly figures for the region were published on Monday by the bureau.</p><table>"
        "<tr><th>City</th><th>GDP</th><th>Change</th></tr><tr><td>Shenzhen</td><td>9,391</td><td>-1.5%</td></tr>"
        "</table><div>Next block</div></article>"
    )
    text = read_article(page(markup)).text
    assert "9,391-1.5%" not in text and "9,391\t-1.5%" in text and "bureau.\nCity" in text


# --- sentences, language, metadata ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "Capital reached 846.14 billion yuan. It grew 5.5%.",
            ["Capital reached 846.14 billion yuan.", "It grew 5.5%."],
        ),
        (
            "The U.S. Treasury and Mr. Li met at 10 a.m. on Monday.",
            ["The U.S. Treasury and Mr. Li met at 10 a.m. on Monday."],
        ),
        ("“It grew,” he said. Then 3 more came!", ["“It grew,” he said.", "Then 3 more came!"]),
        (
            "前海港资企业达1.06万家。注册资本8461.4亿元；同比增长5%！",
            ["前海港资企业达1.06万家。", "注册资本8461.4亿元；", "同比增长5%！"],
        ),
    ],
)
def test_sentences_split_on_sentence_ends_only(line: str, expected: list[str]) -> None:
    assert split_sentences(line) == expected


def test_a_page_of_chinese_text_is_chinese_and_an_english_one_english() -> None:
    zh = read_article(page(html(f"<article><p>{ZH_STORY} Qianhai Hong Kong GBA</p></article>")))
    en = read_article(page(html(f"<article>{STORY}<p>前海 means Qianhai.</p></article>")))
    assert (zh.lang, en.lang) == ("zh", "en")


def test_the_content_hash_is_the_sha256_of_the_body_text() -> None:
    article = read_article(page(html(f"<article>{STORY}</article>")))
    assert article.content_hash == hashlib.sha256(article.text.encode("utf-8")).hexdigest()


def test_the_title_comes_from_og_title_then_h1_then_the_title_element() -> None:
    body = f"<article><h1>Heading</h1>{STORY}</article>"
    assert (
        read_article(
            page(html(body, '<meta property="og:title" content="OG &amp; title"><title>T</title>'))
        ).title
        == "OG & title"
    )
    assert read_article(page(html(body, "<title>T</title>"))).title == "Heading"
    assert (
        read_article(page(html(f"<article>{STORY}</article>", "<title>Only title</title>"))).title
        == "Only title"
    )


def test_the_publication_time_comes_from_the_pages_metadata() -> None:
    meta = '<meta property="article:published_time" content="2025-10-28T09:30:00+08:00">'
    assert read_article(page(html(f"<article>{STORY}</article>", meta))).published == datetime(
        2025, 10, 28, 1, 30, tzinfo=UTC
    )
    timed = html(f'<article><time datetime="2025-11-24 10:00">Nov 24</time>{STORY}</article>')
    assert read_article(page(timed)).published == datetime(
        2025, 11, 24, 2, 0, tzinfo=UTC
    )  # naive: China time
    assert read_article(page(html(f"<article>{STORY}</article>"))).published is None


# --- failures ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", "text/html"),
        (html("<nav>Home</nav><footer>Copyright</footer>").encode(), "text/html"),
        (b"%PDF-1.7 binary", "application/pdf"),
    ],
)
def test_a_page_without_a_readable_body_is_an_article_error(body: bytes, content_type: str) -> None:
    with pytest.raises(ArticleError, match=r"^article: .*\(https://news.example/a\)$"):
        read_article(page(body, content_type))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000) | st.text(max_size=400).map(lambda t: html(f"<p>{t}</p>").encode()))
def test_any_bytes_give_an_article_or_an_article_error(body: bytes) -> None:
    try:
        article = read_article(page(body, "text/html"))
    except ArticleError:
        return
    assert article.lang in ("en", "zh") and article.text


@pytest.mark.skipif(not any(CORPUS.glob("*.html")), reason="no labelled pages in tests/data/articles")
def test_every_labelled_page_reads_in_its_labelled_language() -> None:
    for case in load_cases():
        fetched = Fetched(url=case.name, final_url=case.name, status=200, body=case.html)
        assert read_article(fetched, selector=case.selector).lang == case.lang, case.name


def test_a_story_split_around_an_advert_is_read_whole() -> None:
    markup = html(
        f'<div class="article-content">{STORY}</div><div class="ad">Advert 50% off</div>'
        '<div class="article-content"><p>Startups raised over 6.8 billion yuan in funding.</p></div>'
    )
    assert read_article(page(markup)).sentences[-1] == "Startups raised over 6.8 billion yuan in funding."


@pytest.mark.parametrize(
    "selector", ["#story", "div#story", "body > div.main", "div:not(.other)", "[data-x=y]"]
)
def test_simple_and_complex_selectors_name_the_same_body(selector: str) -> None:
    markup = html(
        f'<div id="story" class="main" data-x="y">{STORY}</div>'
        f'<div class="other"><p>{"Other 999. " * 9}</p></div>'
    )
    assert read_article(page(markup), selector=selector).text.startswith("Qianhai is now home")


def test_a_selector_that_is_not_css_is_an_article_error() -> None:
    with pytest.raises(ArticleError, match="selector"):
        read_article(page(html(f"<div>{STORY}</div>")), selector="div[[")


def test_a_plain_text_page_is_read_paragraph_by_paragraph() -> None:
    text = (
        "Qianhai is now home to 11,020 Hong Kong-funded\ncompanies, officials said.\n\n"
        "READ MORE: Other\n\nStartups raised 6.8 billion yuan."
    )
    article = read_article(page(text, "text/plain; charset=utf-8"))
    assert article.sentences == (
        "Qianhai is now home to 11,020 Hong Kong-funded companies, officials said.",
        "Startups raised 6.8 billion yuan.",
    )


def test_the_innermost_container_holding_most_of_the_text_is_the_body() -> None:
    markup = html(
        f'<div id="content"><h2>Market data: HSI 25,830 up 1.2%</h2><article>{STORY * 3}</article>'
        "<p>Advertisement: 50% off</p></div>"
    )
    text = read_article(page(markup)).text
    assert "25,830" not in text and "50%" not in text and text.startswith("Qianhai is now home")


def test_teaser_cards_beside_the_story_are_not_part_of_it() -> None:
    teasers = "".join(
        f"<article><p>Teaser {i}: GBA output up {i}.5% this year, analysts said.</p></article>"
        for i in range(3)
    )
    markup = html(f"<main><article>{STORY * 3}</article>{teasers}</main>")
    assert "Teaser" not in read_article(page(markup)).text


def test_a_page_of_navigation_only_has_no_body_found_and_is_never_read_from_its_menus() -> None:
    nav = '<nav><a href="/">Home</a> <a href="/n">GBA output up 5%</a></nav><div class="menu"><ul>'
    nav += "".join(f'<li><a href="/s/{i}">Story {i}: 1,200 firms</a></li>' for i in range(30)) + "</ul></div>"
    with pytest.raises(ArticleError, match=r"^article: no body found \(https://news.example/a\)$"):
        read_article(page(html(nav)))
