"""Specification of monitor.feeds: feed bytes → entries, keyword relevance, canonical URLs."""

from __future__ import annotations

import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.errors import FeedError
from monitor.feeds import canonical_url, matched_keywords, parse_entries
from monitor.records import Entry, Fetched

FEEDS = Path(__file__).parent / "data" / "feeds"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "feeds" / "feedparser-tests"
MAX_EXTRA_BYTES = 100 * 1024 * 1024


def fetched(body: bytes, *, url: str = "https://news.example.com/feed.xml", content_type: str | None = None):
    headers = {"content-type": content_type} if content_type else {}
    return Fetched(url=url, final_url=url, status=200, body=body, headers=headers)


def parse(body: bytes, **kwargs) -> list[Entry]:
    return parse_entries(fetched(body, **kwargs), feed="test")


def fixture(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def peak_extra_bytes(call) -> tuple[int, object]:
    """Peak heap growth during call(); expat allocates through Python's allocator, so it is counted."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        try:
            outcome = call()
        except FeedError as error:
            outcome = error
        return tracemalloc.get_traced_memory()[1] - before, outcome
    finally:
        tracemalloc.stop()


# --- entries -------------------------------------------------------------------------------------------


def test_rss_entries_have_plain_text_absolute_links_and_utc_dates():
    first, second = parse(fixture("rss-basic.xml"))
    assert first.feed == "test"
    assert first.title == "Qianhai & Hong Kong: 12,000 Hong Kong-funded enterprises"
    assert first.link == "https://news.example.com/en/2025/qianhai-hk-firms.html?utm_source=rss"
    assert first.guid == "qh-2025-0001"
    assert first.summary == "Qianhai now hosts 12,000 Hong Kong-funded enterprises & counting."
    assert first.published == datetime(2025, 3, 4, 1, 30, tzinfo=UTC)
    assert second.title == "前海深港现代服务业合作区：港资企业突破1.2万家"
    assert second.summary == "前海合作区实际使用港资持续增长。"


def test_atom_links_resolve_against_xml_base_and_html_titles_become_text():
    (entry,) = parse(fixture("atom-basic.xml"))
    assert entry.title == "Cross-border wealth connect"
    assert entry.link == "https://gba.example.org/articles/wmc.html"
    assert entry.guid == "urn:example:gba:1"
    assert entry.summary == "Turnover reached HK$ 1.2 billion."
    assert entry.published == datetime(2025, 3, 6, 0, 0, tzinfo=UTC)
    assert entry.updated == datetime(2025, 3, 6, 10, 0, tzinfo=UTC)


def test_relative_links_of_a_local_feed_resolve_to_file_uris_beside_it(tmp_path):
    feed = tmp_path / "feed.xml"
    body = fixture("rss-basic.xml").replace(b"/en/2025/qianhai-hk-firms.html", b"articles/one.html")
    entries = parse_entries(
        Fetched(url=str(feed), final_url=feed.as_uri(), status=200, body=body), feed="local"
    )
    assert entries[0].link.startswith((tmp_path / "articles" / "one.html").as_uri())


def test_links_with_other_schemes_are_dropped():
    body = fixture("rss-basic.xml").replace(
        b"/en/2025/qianhai-hk-firms.html?utm_source=rss", b"javascript:alert(1)"
    )
    assert parse(body)[0].link is None


@pytest.mark.parametrize(
    "content_type", ["text/html; charset=utf-8", "text/plain", "application/octet-stream"]
)
def test_feed_served_with_a_wrong_content_type_still_parses(content_type):
    assert len(parse(fixture("rss-basic.xml"), content_type=content_type)) == 2


def test_not_modified_response_has_no_entries():
    response = Fetched(url="https://x.test/f", final_url="https://x.test/f", status=304, body=b"")
    assert parse_entries(response, feed="test") == []


def test_well_formed_feed_without_items_has_no_entries():
    assert parse(b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>') == []


def test_broken_feed_still_yields_the_entries_it_can():
    entries = parse(fixture("bozo-recoverable.xml"))
    assert [e.link for e in entries] == [
        "https://news.example.com/broken/1",
        "https://news.example.com/broken/2",
    ]
    assert entries[0].title == "Shenzhen & Hong Kong sign 8 agreements"


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"", None, "empty body"),
        (b"\x00\xff\x13garbage\x9c" * 50, None, "not a feed"),
        ((FEEDS / "truncated.xml").read_bytes(), "application/rss+xml", "not a feed"),
        ((FEEDS / "html-page.html").read_bytes(), "text/html; charset=utf-8", "an HTML page"),
        ((FEEDS / "html-page.html").read_bytes(), "application/rss+xml", "an HTML page"),
        (b'{"items": []}', "application/json", "not a feed"),
    ],
    ids=["empty", "garbage", "truncated", "html", "html-labelled-rss", "json"],
)
def test_what_is_not_a_feed_is_a_feed_error(body, content_type, reason):
    with pytest.raises(FeedError, match=r"^feed: not a feed \(") as caught:
        parse(body, content_type=content_type)
    assert reason in str(caught.value)
    assert "https://news.example.com/feed.xml" in str(caught.value)


def test_html_page_error_points_to_the_pages_own_feed():
    with pytest.raises(FeedError, match=r"its feed may be https://news\.example\.com/rss/news\.xml"):
        parse(fixture("html-page.html"), content_type="text/html")


def test_body_that_looks_like_a_path_or_url_is_parsed_as_bytes_never_opened(site):
    """feedparser, handed a str, would read a local file or fetch a URL; it only ever gets io.BytesIO."""
    site.route("/feed.xml", lambda request: pytest.fail("feedparser fetched a URL"))
    for body in (b"/etc/passwd", site.url("/feed.xml").encode(), b"file:///etc/passwd"):
        with pytest.raises(FeedError):
            parse(body)
    assert site.requests == []


# --- hostile XML ---------------------------------------------------------------------------------------


def quadratic_blowup(
    *, entity_bytes: int = 50_000, references: int = 20_000, in_comment: bool = False
) -> bytes:
    """One 50 KB internal entity referenced 20,000 times: 1 GB once expanded, from a ~150 KB feed."""
    doctype = f'<!DOCTYPE rss [\n<!ENTITY big "{"B" * entity_bytes}">\n]>'
    if in_comment:  # inert to expat, but feedparser's DOCTYPE regex revives it for its fallback parser
        doctype = f"<!--\n{doctype}\n-->"
    return (
        f'<?xml version="1.0"?>\n{doctype}\n'
        '<rss version="2.0"><channel><title>Q</title><item><title>Quadratic</title>'
        f"<link>https://news.example.com/q</link><description>{'&big;' * references}</description>"
        "</item></channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    "body",
    [
        fixture("billion-laughs.xml"),
        quadratic_blowup(),
        quadratic_blowup().replace(b"</rss>", b"<unclosed"),
        quadratic_blowup(in_comment=True),
    ],
    ids=["billion-laughs", "quadratic-blowup", "quadratic-blowup-bozo", "quadratic-blowup-in-comment"],
)
def test_entity_expansion_cannot_blow_up_memory(body):
    extra, outcome = peak_extra_bytes(lambda: parse(body))
    print(f"peak extra memory: {extra / 1e6:.1f} MB")
    assert extra < MAX_EXTRA_BYTES
    if isinstance(outcome, list):  # recovered entries must not carry the expansion either
        assert all(len(e.title) + len(e.summary) < len(body) for e in outcome)
        assert not any("lollol" in e.summary or "BBBB" in e.summary for e in outcome)


def test_external_entities_are_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    body = fixture("xxe-file.xml").replace(b"file:///etc/hostname", secret.as_uri().encode())
    extra, outcome = peak_extra_bytes(lambda: parse(body))
    print(f"peak extra memory: {extra / 1e6:.1f} MB")
    assert extra < MAX_EXTRA_BYTES
    assert isinstance(outcome, list)
    text = " ".join(f"{e.title} {e.summary}" for e in outcome)
    assert "TOP-SECRET-MARKER" not in text
    assert "root:" not in text


def test_external_dtd_and_parameter_entities_are_never_fetched(site):
    site.route("/evil.dtd", lambda request: pytest.fail("the parser fetched an external DTD"))
    dtd = site.url("/evil.dtd")
    body = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss SYSTEM "{dtd}" [<!ENTITY % ext SYSTEM "{dtd}"> %ext;]>\n'
        '<rss version="2.0"><channel><item><title>P</title><link>https://news.example.com/p</link></item>'
        "</channel></rss>"
    ).encode()
    assert [e.title for e in parse(body)] == ["P"]
    assert site.requests == []


# --- charsets ------------------------------------------------------------------------------------------

SIMPLIFIED = "前海深港现代服务业合作区：港资企业突破1.2万家，实际使用外资增长"
TRADITIONAL = "前海深港現代服務業合作區：港資企業突破1.2萬家，實際使用外資增長"
LATIN = "Café “Connect” – Macau’s €1.5 billion deal"


def feed_in(title: str, codec: str, *, declared: str | None) -> bytes:
    declaration = f'<?xml version="1.0" encoding="{declared}"?>' if declared else '<?xml version="1.0"?>'
    return (
        f'{declaration}\n<rss version="2.0"><channel><title>{title}</title><item><title>{title}</title>'
        f"<link>https://news.example.com/1</link><description>{title}</description></item></channel></rss>"
    ).encode(codec)


@pytest.mark.parametrize(
    ("title", "codec", "declared", "content_type"),
    [
        (SIMPLIFIED, "gb2312", "gb2312", None),
        (SIMPLIFIED, "gb2312", "utf-8", None),
        (SIMPLIFIED, "gb2312", None, None),
        (SIMPLIFIED, "gb2312", None, "text/xml; charset=ISO-8859-1"),
        (SIMPLIFIED, "gbk", "gbk", "application/rss+xml; charset=ISO-8859-1"),
        (TRADITIONAL, "big5", "big5", "text/xml; charset=iso-8859-1"),
        (SIMPLIFIED, "gbk", "utf-8", "application/rss+xml; charset=utf-8"),
        (SIMPLIFIED, "gb18030", "big5", None),
        (TRADITIONAL, "big5", "big5", None),
        (TRADITIONAL, "big5", "utf-8", None),
        (TRADITIONAL, "big5", "gb2312", None),
        (TRADITIONAL, "big5", None, "application/xml; charset=windows-1252"),
        (LATIN, "windows-1252", None, None),
        (LATIN, "windows-1252", "utf-8", None),
        (LATIN, "windows-1252", "iso-8859-1", None),
        (LATIN, "utf-16", "utf-16", None),
        (SIMPLIFIED, "utf-8-sig", None, "text/xml; charset=gb2312"),
    ],
)
def test_wrong_or_missing_charset_is_decoded_correctly(title, codec, declared, content_type):
    (entry,) = parse(feed_in(title, codec, declared=declared), content_type=content_type)
    assert entry.title == title
    assert entry.summary == title


def test_a_feeds_encoding_setting_overrides_the_declared_charset():
    body = feed_in(LATIN, "windows-1252", declared="utf-8")
    (entry,) = parse_entries(
        fetched(body, content_type="text/xml; charset=utf-8"), feed="t", encoding="cp1252"
    )
    assert entry.title == LATIN


# --- robustness ----------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_random_bytes_raise_nothing_but_feed_error(body):
    try:
        entries = parse(body)
    except FeedError:
        return
    assert all(isinstance(e, Entry) for e in entries)


SEEDS = [fixture(name) for name in ("rss-basic.xml", "atom-basic.xml", "bozo-recoverable.xml")]


@st.composite
def mutated_feeds(draw) -> bytes:
    """A real feed with a few bytes flipped, inserted, deleted or the tail cut off."""
    body = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(body)))
        action = draw(st.sampled_from(["flip", "insert", "delete", "cut", "markup"]))
        if action == "flip" and at < len(body):
            body[at] = draw(st.integers(0, 255))
        elif action == "insert":
            body[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del body[at : at + draw(st.integers(1, 16))]
        elif action == "cut":
            del body[at:]
        elif action == "markup":
            body[at:at] = draw(
                st.sampled_from([b"<", b"&", b"]]>", b"<![CDATA[", b"<!DOCTYPE x [", b"<!ENTITY", b"\x00"])
            )
    return bytes(body)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_feeds(), st.sampled_from([None, "application/rss+xml", "text/html", "text/xml; charset=big5"]))
def test_mutated_feeds_raise_nothing_but_feed_error(body, content_type):
    try:
        entries = parse(body, content_type=content_type)
    except FeedError:
        return
    for entry in entries:
        assert isinstance(entry.title, str) and isinstance(entry.summary, str)
        assert entry.link is None or entry.link.startswith(("http://", "https://"))
        for moment in (entry.published, entry.updated):
            assert moment is None or moment.utcoffset() is not None


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus/feeds/feedparser-tests is not present")
@pytest.mark.slow
def test_feedparser_corpus_goes_through_without_an_uncaught_exception():
    files = sorted(CORPUS.rglob("*.xml"))
    with_entries = errors = 0
    for path in files:
        try:
            entries = parse_entries(
                Fetched(url=path.as_uri(), final_url=path.as_uri(), status=200, body=path.read_bytes()),
                feed="corpus",
            )
        except FeedError:
            errors += 1
            continue
        with_entries += bool(entries)
    print(f"corpus: {with_entries} of {len(files)} files yield entries, {errors} are feed errors")
    assert files and with_entries > 0


# --- keywords ------------------------------------------------------------------------------------------


def entry(title: str, summary: str = "") -> Entry:
    return Entry(feed="test", title=title, link=None, summary=summary)


@pytest.mark.parametrize(
    ("title", "keywords", "expected"),
    [
        ("GBA firms grow", ["GBA"], ("GBA",)),
        ("GBAX index launched", ["GBA"], ()),
        ("the gba's plan", ["GBA"], ("GBA",)),
        ("Hong Kong's investors", ["Hong Kong"], ("Hong Kong",)),
        ("Hong\nKong  investors", ["hong kong"], ("hong kong",)),
        ("Hongkongers", ["Hong Kong"], ()),
        ("Qianhai-Shenzhen link", ["Qianhai", "Shenzhen", "Macau"], ("Qianhai", "Shenzhen")),
        ("前海合作区港资企业", ["前海", "横琴"], ("前海",)),
        ("大湾区GBA发展", ["GBA"], ("GBA",)),
        ("ＧＢＡ full-width", ["GBA"], ("GBA",)),
        ("Nothing here", [], ()),
        ("Qianhai", ["", "  ", "Qianhai", "Qianhai"], ("Qianhai",)),
    ],
)
def test_matched_keywords(title, keywords, expected):
    assert matched_keywords(entry(title), keywords) == expected


def test_keywords_are_found_in_the_summary_too():
    assert matched_keywords(entry("Markets", "Nansha port volumes rose"), ["Nansha"]) == ("Nansha",)


# --- canonical URLs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://News.Example.COM:443/a/b?utm_source=rss&id=7#top", "https://news.example.com/a/b?id=7"),
        ("http://example.com:80", "http://example.com/"),
        ("http://example.com:8080/x", "http://example.com:8080/x"),
        (
            "https://example.com/p?b=2&a=1&fbclid=x&gclid=y&spm=z&from=timeline&share=1",
            "https://example.com/p?a=1&b=2",
        ),
        ("https://example.com/p?UTM_Campaign=x", "https://example.com/p"),
        ("https://example.com/p?q=a+b&empty=", "https://example.com/p?empty=&q=a+b"),
        ("https://example.com/Case/Sensitive.html", "https://example.com/Case/Sensitive.html"),
        ("http://[::1]:80/x", "http://[::1]/x"),
        ("file:///tmp/feeds/a.html#frag", "file:///tmp/feeds/a.html"),
        ("http://[broken/", "http://[broken/"),
    ],
)
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected


def test_canonical_url_is_idempotent():
    url = "https://Example.com/p?z=1&utm_medium=x&a=2#f"
    assert canonical_url(canonical_url(url)) == canonical_url(url)


# --- bounded work ---------------------------------------------------------------------------------------


def _flood(unit: str, count: int) -> bytes:
    """A feed whose one summary is ``unit`` ``count`` times: an unclosed opener that a naive scan looks past
    to the end of the summary, once per opener."""
    flood = unit * count
    return (
        '<rss version="2.0"><channel><title>t</title><item><title>x</title>'
        f"<link>https://news.example.com/1</link><description><![CDATA[{flood}]]></description>"
        "</item></channel></rss>"
    ).encode()


def _best_of_three(body: bytes) -> float:
    """The least CPU time of three parses: this process's own work, whatever else the machine runs."""
    timings = []
    for _ in range(3):
        started = time.thread_time()
        parse(body)
        timings.append(time.thread_time() - started)
    return min(timings)


@pytest.mark.parametrize("unit", ["<!--", "<!--x>", "<script>", "<style a=1>x</script>", "<br", "<a "])
def test_parsing_time_grows_linearly_with_repeated_unclosed_markup(unit):
    """Eight times the openers cost about eight times the time (64 times was quadratic: feedparser's sanitizer
    on "<!--" took 35 s for 0.56 MB), so a feed at the 5 MB cap parses in seconds. The assertion is on growth,
    not on a wall-clock limit."""
    small, large = _best_of_three(_flood(unit, 2_500)), _best_of_three(_flood(unit, 20_000))
    assert large / max(small, 1e-4) < 24, (small, large)
