"""Specification of ``monitor.figures``: which numbers in an article are figures, and what each measures."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.figures import CORPUS, HOLDOUT, is_whole_number, load_cases, score_corpus
from monitor.articles import read_article
from monitor.figures import EXTRACTOR_VERSION, extract_figures
from monitor.records import Article, Fetched, Figure
from monitor.settings import TrackedMetric

TABLE = Path(__file__).parent / "data" / "figures" / "sentences.json"
SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "qianhai-two-years.txt"
CASES = json.loads(TABLE.read_text(encoding="utf-8"))


def article_of(*sentences: str, lang: str = "en", title: str = "") -> Article:
    return Article(
        url="https://example.com/a", title=title, text=" ".join(sentences), sentences=sentences, lang=lang
    )


def figures_in(*sentences: str, lang: str = "en", metrics: tuple[TrackedMetric, ...] = ()) -> list[Figure]:
    return extract_figures(article_of(*sentences, lang=lang), metrics=metrics)


def matches(figure: Figure, expected: dict) -> bool:
    unit = expected["unit"]
    return math.isclose(figure.value, expected["value"], rel_tol=1e-6) and (not unit or figure.unit == unit)


@pytest.mark.parametrize("case", CASES, ids=[c["sentence"][:48] for c in CASES])
def test_sentence_table_yields_exactly_the_expected_figures(case: dict) -> None:
    """Each sentence of tests/data/figures/sentences.json gives its figures, in order, and nothing else."""
    found = figures_in(case["sentence"], lang=case["lang"])
    required = [e for e in case["figures"] if not e.get("optional")]
    optional = [e for e in case["figures"] if e.get("optional")]
    found = [f for f in found if not any(matches(f, e) for e in optional)]
    assert len(found) == len(required), [f.text for f in found]
    for figure, expected in zip(found, required, strict=True):
        assert matches(figure, expected), (figure.text, expected)
        assert figure.qualifier == expected["qualifier"], figure.text
        for name in (
            "subject",
            "aspect",
            "place",
            "period",
            "metric",
            "label",
            "direction",
            "conversion_of",
            "range_high",
        ):
            if name in expected:
                assert getattr(figure, name) == expected[name], (name, figure.text)


def test_the_same_measure_in_two_phrasings_lands_on_one_metric() -> None:
    first = figures_in("A total of 10,577 Hong Kong-funded enterprises are registered in Qianhai.")
    second = figures_in("Qianhai is now home to 11,020 Hong Kong-funded companies.")
    assert first[0].metric == second[0].metric == "qianhai.hong-kong-funded-enterprises.count"
    assert first[0].label == second[0].label == "Hong Kong-funded enterprises in Qianhai"


def test_a_chinese_article_and_an_english_one_share_known_metrics() -> None:
    chinese = figures_in("前海累计注册港资企业1.06万家。", lang="zh")
    english = figures_in("Qianhai is now home to 11,020 Hong Kong-funded companies.")
    assert chinese[0].metric == english[0].metric


def test_a_sentence_without_a_place_takes_the_articles_dominant_place() -> None:
    article = article_of(
        "Qianhai keeps growing.", "Qianhai hosts new firms.", "The zone attracted 230 new startups."
    )
    assert extract_figures(article)[0].place == "Qianhai"


def test_the_most_specific_place_in_a_sentence_wins() -> None:
    (figure,) = figures_in("The Qianhai zone in Shenzhen has 370 financial institutions.")
    assert figure.place == "Qianhai"


def test_a_conversion_points_at_the_figure_it_converts() -> None:
    found = figures_in("Revenue rose 5 percent.", "Capital reached 846.14 billion yuan ($120.14 billion).")
    assert [f.unit for f in found] == ["%", "CNY", "USD"]
    assert found[2].conversion_of == 1 and found[1].conversion_of is None


def test_a_range_is_one_figure_with_its_high_end() -> None:
    (figure,) = figures_in("The fund will raise 3 to 5 billion yuan.")
    assert (figure.value, figure.range_high, figure.unit) == (3e9, 5e9, "CNY")


def test_a_tracked_metric_wins_over_the_automatic_key_and_names_the_label() -> None:
    metric = TrackedMetric(
        key="hk-firms", label="HK firms in Qianhai", patterns=("hong kong-funded",), unit="count"
    )
    (figure,) = figures_in("Qianhai is now home to 11,020 Hong Kong-funded companies.", metrics=(metric,))
    assert (figure.metric, figure.label) == ("hk-firms", "HK firms in Qianhai")


def test_a_tracked_metric_whose_unit_or_place_disagrees_does_not_apply() -> None:
    wrong_unit = TrackedMetric(key="k1", label="L", patterns=("capital",), unit="USD")
    wrong_place = TrackedMetric(key="k2", label="L", patterns=("capital",), place="Hengqin")
    (figure,) = figures_in(
        "Registered capital in Qianhai reached 846 billion yuan.", metrics=(wrong_unit, wrong_place)
    )
    assert figure.metric == "qianhai.registered-capital.cny"


def test_a_tracked_metric_matching_the_subject_beats_one_matching_only_the_sentence() -> None:
    sentence_only = TrackedMetric(key="by-sentence", label="S", patterns=("home to",))
    by_subject = TrackedMetric(key="by-subject", label="T", patterns=("港资企业|hong kong-funded",))
    (figure,) = figures_in(
        "Qianhai is home to 11,020 Hong Kong-funded companies.", metrics=(sentence_only, by_subject)
    )
    assert figure.metric == "by-subject"


def test_the_sentence_names_a_tracked_metric_only_for_a_figure_without_a_subject_of_its_own() -> None:
    firms = TrackedMetric(
        key="hk-firms", label="HK firms", patterns=("hong kong-funded (enterprises|companies)",)
    )
    share = TrackedMetric(key="hk-share", label="HK share", patterns=("hong kong-funded",), unit="%")
    found = figures_in(
        "A total of 10,577 Hong Kong-funded enterprises registered capital of 846.14 billion yuan.",
        "Registered capital of Hong Kong-funded companies reached 900 billion yuan.",
        "Of the Hong Kong-funded companies, about 40% are in finance.",
        metrics=(firms, share),
    )
    assert [f.metric for f in found][:1] + [f.metric for f in found][3:] == ["hk-firms", "hk-share"]
    assert not {f.metric for f in found[1:3]} & {"hk-firms", "hk-share"}


def test_the_title_is_not_part_of_the_body() -> None:
    article = article_of("The zone welcomed visitors.", title="Qianhai draws 10,577 Hong Kong firms")
    assert extract_figures(article) == []


def test_the_extractor_has_a_version_for_provenance() -> None:
    assert isinstance(EXTRACTOR_VERSION, str) and EXTRACTOR_VERSION


@pytest.mark.skipif(not SEED.exists(), reason="the seed story lives in ../shared/seed")
def test_the_seed_story_gives_its_key_figures_and_nothing_else() -> None:
    page = Fetched(
        url="file:///seed.txt",
        final_url="file:///seed.txt",
        status=200,
        body=SEED.read_bytes(),
        headers={"content-type": "text/plain; charset=utf-8"},
    )
    found = extract_figures(read_article(page))
    summary = [(f.value, f.unit, f.qualifier) for f in found]
    assert summary == [
        (10577, "enterprises", "exact"),
        (846140000000, "CNY", "exact"),
        (120140000000, "USD", "exact"),
        (370, "players", "more_than"),
        (6800000000, "CNY", "more_than"),
        (1000, "professionals", "more_than"),
        (10000, "enterprises", "more_than"),
        (10000, "people", "more_than"),
    ]
    assert found[2].conversion_of == 1
    assert found[0].metric == "qianhai.hong-kong-funded-enterprises.count"
    assert not any("two years" in f.text or "2023" in f.text or "Dec" in f.text for f in found)


@pytest.mark.skipif(not any(CORPUS.glob("*.html")), reason="no labelled pages in tests/data/articles")
def test_the_labelled_corpus_meets_the_precision_and_recall_targets_in_each_language() -> None:
    scores = score_corpus(load_cases())
    for lang, score in scores.items():
        assert score.precision >= 0.97, (lang, score.false)
        assert score.recall >= 0.95, (lang, score.misses)


# What the extractor reaches on the held-out set (never tuned against): a rule change losing any of it fails
HOLDOUT_FLOORS = {
    "en": {"precision": 0.995, "recall": 0.981, "qualifier_accuracy": 0.989},
    "zh": {"precision": 0.988, "recall": 0.981, "qualifier_accuracy": 0.992},
}


@pytest.mark.skipif(not any(HOLDOUT.glob("*.html")), reason="no pages in tests/data/articles-holdout")
def test_the_held_out_set_keeps_its_quality_floors_and_no_figure_is_a_fragment() -> None:
    """The goals are precision ≥ 0.97, recall ≥ 0.95 and qualifier accuracy ≥ 0.95 per language; the floors
    are what the extractor reached, so that a regression fails here."""
    scores = score_corpus(load_cases(HOLDOUT))
    assert set(scores) == {"en", "zh"}
    for lang, floors in HOLDOUT_FLOORS.items():
        score = scores[lang]
        assert score.fragments == 0, lang
        for measure, floor in floors.items():
            assert getattr(score, measure) >= floor, (lang, measure, score.misses, score.false)


_PIECES = st.sampled_from(
    [
        "10,577",
        "846.14",
        "billion",
        "yuan",
        "($",
        "HK$",
        "US$",
        "%",
        "percent",
        "pp",
        "more than",
        "about",
        "to",
        "-",
        "亿元",
        "万",
        "家",
        "超",
        "约",
        "以上",
        "左右",
        "个百分点",
        "Qianhai",
        "前海",
        "2024",
        "年",
        "Dec 21,",
        "enterprises",
        "（",
        "）",
        "in",
        "of",
        "the",
        ".",
        ",",
        "，",
        "。",
        "百分之",
        "三千",
        "Of those,",
        "including",
        "\t",
        "between",
        "and",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=8)), max_size=30))
def test_any_text_gives_a_list_of_figures_and_never_raises(pieces: list[str]) -> None:
    sentence = " ".join(pieces)
    for figure in figures_in(sentence, sentence):
        assert figure.qualifier in ("exact", "approx", "more_than", "less_than", "at_least", "up_to")
        assert figure.metric and math.isfinite(figure.value)


def test_a_bare_dollar_sign_is_us_dollars_except_on_hong_kong_government_pages() -> None:
    sentence = "Retail sales were provisionally estimated at $33.1 billion."
    press = Article(url="https://www.info.gov.hk/gia/general/202511/17.htm", title="", text=sentence,
                    sentences=(sentence,))  # fmt: skip
    assert [f.unit for f in figures_in(sentence)] == ["USD"]
    assert [f.unit for f in extract_figures(press)] == ["HKD"]
    assert [f.unit for f in figures_in("It cost US$5 million and HK$3 million.")] == ["USD", "HKD"]


# --- every figure is a whole number as written -------------------------------------------------------------

_SEPARATORS = [",", " ", "\u00a0", "\u2009", "\u202f", "'", "’"]


def _grouped(value: int, separator: str) -> str:
    return f"{value:,}".replace(",", separator)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=1_000, max_value=999_999_999_999),
    st.sampled_from(_SEPARATORS),
    st.sampled_from(["", ".5", ".25"]),
    st.sampled_from([
        ("en", "The scheme received {} job applications in Qianhai.", False),
        ("en", "Exports reached HK${} million last year.", True),
        ("en", "A total of {} graduates joined, the report said.", False),
        ("zh", "前海累计注册港资企业{}家。", False),
        ("zh", "全年进出口总额{}亿元。", True),
    ]),
)  # fmt: skip
def test_a_grouped_number_is_read_whole_in_every_grouping_style(
    value: int, separator: str, decimals: str, template: tuple[str, str, bool]
) -> None:
    """ "20 000" is 20,000, never "000": thousands by comma, space, NBSP, thin, narrow NBSP or apostrophe.
    (Decimals only for amounts: "1,000.5 job applications" counts nothing and is no figure.)"""
    lang, pattern, amount = template
    written = _grouped(value, separator) + (decimals if amount else "")
    sentence = pattern.format(written)
    found = figures_in(sentence, lang=lang)
    assert found, sentence
    assert written in found[0].text, (sentence, found[0].text)
    number = float(_grouped(value, "") + (decimals if amount else ""))
    assert math.isclose(found[0].value / number, round(found[0].value / number), rel_tol=1e-9)
    assert all(is_whole_number(f) for f in found), [f.text for f in found]


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1_000, max_value=99_999_999), st.sampled_from([*_SEPARATORS, "，"]))
def test_full_width_digits_and_commas_are_read_whole(value: int, separator: str) -> None:
    written = _grouped(value, separator).translate(str.maketrans("0123456789,", "０１２３４５６７８９，"))
    written = written if separator == "，" else _grouped(value, separator).translate(
        str.maketrans("0123456789", "０１２３４５６７８９"))  # fmt: skip
    found = figures_in(f"前海累计注册港资企业{written}家。", lang="zh")
    assert [f.value for f in found] == [value], written
    assert written in found[0].text


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 9_999),
    st.integers(1, 9_999),
    st.sampled_from([
        ("{}萬{}", 1e4, 1, "全年經大橋出入境旅客達{}人次。"),
        ("{}万{}千", 1e4, 1e3, "口岸单日通关车辆{}辆次。"),
        ("{}亿{}万", 1e8, 1e4, "项目总投资{}元。"),
    ]),
)  # fmt: skip
def test_a_number_across_two_chinese_scales_is_one_whole_figure(
    high: int, low: int, style: tuple[str, float, float, str]
) -> None:
    """ "11萬4千架次" is 114,000: never 110,000 beside a figure of 4,000."""
    written, scale, rest_scale, sentence = style
    low = low % 10 or 1 if rest_scale == 1e3 else low  # 千 takes one digit
    number = written.format(high, low)
    found = figures_in(sentence.format(number), lang="zh")
    assert [f.value for f in found] == [pytest.approx(high * scale + low * rest_scale)], number
    assert number in found[0].text and all(is_whole_number(f) for f in found)


def test_chinese_numerals_across_two_scales_and_the_writers_own_dollar() -> None:
    """本澳 ("our Macao") makes a bare 元 patacas; 一百一十五億八千萬 is one number."""
    sentence = "本澳一月份幸運博彩毛收入為一百一十五億八千萬元，去年同期為二百二十一億二千六百萬元。"
    found = figures_in(sentence, lang="zh")
    assert [(f.value, f.unit) for f in found] == [(11_580_000_000, "MOP"), (22_126_000_000, "MOP")]
    assert all(is_whole_number(f) for f in found)


_GLUE = st.sampled_from(
    [*_SEPARATORS, ".", "，", "万", "萬", "亿元", "千", "点", "七", " firms", "%", " million", "HK$", "家"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 99_999_999).map(str), _GLUE), max_size=12))
def test_no_figure_is_a_fragment_of_a_larger_number(pieces: list[str]) -> None:
    sentence = "Qianhai had " + "".join(pieces) + " firms."
    assert all(is_whole_number(f) for f in figures_in(sentence)), sentence


# --- bounded work (issue 18: one long sentence used to cost the square of its length) ---------------------


def _one_sentence_page(unit: str, size: int) -> Fetched:
    body = "<html><body><article><p>" + unit * (size // len(unit.encode())) + "</p></article></body></html>"
    return Fetched(url="https://x/a", final_url="https://x/a", status=200, body=body.encode(),
                   headers={"content-type": "text/html; charset=utf-8"})  # fmt: skip


@pytest.mark.parametrize(
    "unit",
    [
        "Qianhai registered 1,234 Hong Kong-funded enterprises and 56 new banks, up 3.5% from 2023, ",
        "1 2 3 4 5 6 7 8 9 10 in 2023 and 2024 ",
        "前海累计注册港资企业1万家，同比增长12%，",
    ],
)
def test_one_endless_sentence_is_read_in_bounded_pieces_and_the_caps_are_logged(
    unit: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A page that is one 200 KB sentence gives no more figures than a 50 KB one: the work is capped (sentence
    pieces, figures per sentence and per page, numbers examined per page) and the caps are logged."""
    from monitor.figures import _extract

    counts = []
    for size in (50_000, 200_000):
        caplog.clear()
        with caplog.at_level("WARNING", logger="monitor.figures"):
            found = extract_figures(read_article(_one_sentence_page(unit, size)))
        counts.append(len(found))
        assert len(found) <= _extract.MAX_FIGURES_PER_PAGE
        assert all(len(f.sentence) <= _extract.MAX_SENTENCE_CHARS for f in found)
        assert any("figures capped" in r.getMessage() for r in caplog.records)
    assert counts[1] <= max(counts[0], _extract.MAX_FIGURES_PER_PAGE)


def test_a_page_at_the_size_cap_is_read_far_within_the_poll_deadline() -> None:
    """A 4.9 MB one-sentence page (the page-size cap is 5 MB) is read in well under a second here; the limit
    asserted is ten times that, so that a shared machine does not fail it but a quadratic cost would."""
    import time

    page = _one_sentence_page("Qianhai registered 1,234 firms and 56 banks, up 3.5% from 2023, ", 4_900_000)
    start = time.process_time()
    found = extract_figures(read_article(page))
    assert found and time.process_time() - start < 10.0


def test_a_figure_whose_subject_is_unknown_is_stored_but_is_no_metric() -> None:
    """No key hash reaches a label: a figure nothing names is stored with its story, not followed."""
    (found,) = figures_in("It covers 55 km in Qianhai, officials said.")
    assert not found.named and found.label == "Unnamed figure (km)"
    assert "figure" not in found.label.lower().replace("unnamed figure", "")


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("Tax paid by Hong Kong-funded enterprises in Qianhai reached 10 billion yuan.",
         "前海港资企业纳税额达100亿元。"),
        ("The registered capital of Hong Kong-funded enterprises in Qianhai reached 846 billion yuan.",
         "前海港资企业注册资本达8461亿元。"),
        ("Qianhai's GDP grew 6.1 percent.", "前海地区生产总值增长6.1%。"),
        ("Utilized foreign capital in Qianhai reached 5 billion US dollars.", "前海实际使用外资50亿美元。"),
        ("Nansha's container throughput reached 20 million TEUs.", "南沙港集装箱吞吐量达2000万标箱。"),
        ("Hengqin has 5,000 Macao-funded enterprises.", "横琴澳资企业数量达5000家。"),
    ],
)  # fmt: skip
def test_one_measure_written_in_two_languages_shares_one_key(english: str, chinese: str) -> None:
    (en,) = figures_in(english)
    (zh,) = figures_in(chinese, lang="zh")
    assert en.metric == zh.metric


def test_a_bare_yuan_sign_in_a_hong_kong_government_release_is_hk_dollars() -> None:
    """元 alone in a .gov.hk release is HK dollars; 人民币 or 港元 beside it, or another site, differ."""
    url = "https://www.info.gov.hk/gia/general/202501/01/P2025010100100.htm"
    sentences = ("每名学员每月可获津贴12,500元。", "另拨款人民币2亿元。", "香港拨款5亿港元。")
    press = Article(url=url, title="", text="".join(sentences), sentences=sentences, lang="zh")
    assert [f.unit for f in extract_figures(press)] == ["HKD", "CNY", "HKD"]
    assert [f.unit for f in figures_in(*sentences, lang="zh")] == ["CNY", "CNY", "HKD"]


def page_figures(body: str, url: str = "https://news.example.org/a/1.html", lang: str = "zh") -> list[Figure]:
    """The figures of a small page whose article body is ``body`` (HTML)."""
    head = f'<html lang="{lang}"><head><meta charset="utf-8"><title>t</title></head>'
    html = f"{head}<body><article>{body}</article></body></html>"
    page = Fetched(
        url=url, final_url=url, status=200, body=html.encode(), headers={"content-type": "text/html"}
    )
    return extract_figures(read_article(page))


def test_a_dollar_sign_in_a_caption_is_the_pages_dollar() -> None:
    """ "($ million)" over a LegCo reply's table is HK dollars; on another site it is US dollars."""
    body = (
        "<p>The expenditure on the allowance in the past three years is set out below.</p>"
        "<table><caption>Expenditure on the allowance ($ million)</caption>"
        "<tr><th>Item</th><th>2021-22</th><th>2022-23</th></tr>"
        "<tr><td>Allowance paid</td><td>25,972</td><td>27,109</td></tr></table>"
    )
    reply = page_figures(body, url="https://www.info.gov.hk/gia/general/202306/14.htm", lang="en")
    assert [(f.value, f.unit) for f in reply] == [(25_972e6, "HKD"), (27_109e6, "HKD")]
    elsewhere = page_figures(body, lang="en")
    assert [(f.value, f.unit) for f in elsewhere] == [(25_972e6, "USD"), (27_109e6, "USD")]


def test_a_caption_calling_its_figures_approximate_makes_every_cell_approximate() -> None:
    body = (
        "<p>The breakdown of the holdings is set out in the table below.</p>"
        "<table><caption>Holdings by type of product (RMB million, approximate figures)</caption>"
        "<tr><th>Type of product</th><th>Market value</th></tr>"
        "<tr><td>Funds</td><td>26</td></tr><tr><td>Deposits</td><td>over 1 847</td></tr></table>"
    )
    found = page_figures(body, lang="en")
    assert [(f.value, f.unit, f.qualifier) for f in found] == [
        (26e6, "CNY", "approx"),
        (1847e6, "CNY", "more_than"),
    ]


def test_a_caption_naming_what_is_counted_counts_each_column_in_its_period() -> None:
    """ "Number of cross-boundary pupils, by level": each column counts pupils; the footnoted school year
    in the row label is the period, not the subject."""
    body = (
        "<p>The numbers of pupils attending schools in Hong Kong are as follows.</p>"
        "<table><caption>Number of cross-boundary pupils, by level</caption>"
        "<tr><th>School year</th><th>Primary</th><th>Secondary</th></tr>"
        "<tr><td>2019/20*</td><td>2,410</td><td>1,135</td></tr></table>"
    )
    found = page_figures(body, lang="en")
    assert [(f.value, f.unit, f.subject, f.period) for f in found] == [
        (2410, "pupils", "Primary", "2019/20"),
        (1135, "pupils", "Secondary", "2019/20"),
    ]


def test_a_unit_column_gives_each_row_its_unit() -> None:
    """ "指标 | 单位 | 2025年": each row's 单位 cell (%, 家, 亿元) is the unit of its number."""
    found = page_figures(
        "<p>　　到2025年园区主要发展指标见下表。</p>"
        "<table><caption>园区主要发展指标（2025年目标值）</caption>"
        "<tr><th>指标</th><th>单位</th><th>2025年</th></tr>"
        "<tr><td>研发经费支出占GDP比例</td><td>%</td><td>13.67</td></tr>"
        "<tr><td>国家高新技术企业数</td><td>家</td><td>7000</td></tr>"
        "<tr><td>营业收入</td><td>亿元</td><td>31800</td></tr></table>"
    )
    assert [(f.value, f.unit) for f in found] == [(13.67, "%"), (7000, "entities"), (3.18e12, "CNY")]


def test_a_numbered_table_title_names_what_its_number_column_counts() -> None:
    body = (
        "<p>Visitor arrivals rose in February, the statistics service said.</p>"
        "<table><caption>Table 1 – Visitor arrivals by place of residence, February 2022</caption>"
        "<tr><th>Place of residence</th><th>Number</th><th>Year-on-year change (%)</th></tr>"
        "<tr><td>Hong Kong</td><td>41,409</td><td>12.5</td></tr></table>"
    )
    found = page_figures(body, lang="en")
    assert [(f.value, f.unit) for f in found] == [(41409, "arrivals"), (12.5, "%")]


def test_a_cell_writing_its_own_chinese_scale_keeps_the_captions_currency() -> None:
    found = page_figures(
        "<p>　　澳門部分的總體預算約6.2億元，詳見下表。</p>"
        "<table><caption>賽事澳門部分主要預算（單位：澳門元）</caption><tr><th>項目</th><th>預算</th></tr>"
        "<tr><td>總體預算</td><td>約6.2億</td></tr><tr><td>醫療、藥檢等</td><td>3,000萬</td></tr></table>"
    )
    assert [(f.value, f.unit) for f in found][-2:] == [(6.2e8, "MOP"), (3e7, "MOP")]


def test_a_sentence_opening_with_a_count_and_its_verb_counts_the_noun_before() -> None:
    found = figures_in(
        "Visitors from mainland China rose to 21,578,479, of whom 11,505,928 travelled alone.",
        "About 1,442,328 entered under the weekly measure, 444,326 under the multiple-entry measure and "
        "118,120 under the group arrangement.",
    )
    assert [(f.value, f.unit) for f in found][-3:] == [
        (1442328, "visitors"),
        (444326, "visitors"),
        (118120, "visitors"),
    ]


def test_a_captions_title_words_are_no_unit_and_a_letter_heading_a_column_is_no_scale() -> None:
    """ "“百企千人”计划累计情况" holds 千 in a name; "Category B" names a column, not billions. Either read
    as a scale would put numbers a thousand or a billion times too large into an alert."""
    zh = page_figures(
        "<p>　　计划累计整合1075家单位的实习岗位（详见附表）。</p>"
        "<table><caption>附表 “百企千人”计划累计情况（2020年以来）</caption>"
        "<tr><th>项目</th><th>参与单位（家）</th><th>上岗人数（人）</th></tr>"
        "<tr><td>累计</td><td>1075</td><td>867</td></tr></table>"
    )
    assert [f.value for f in zh] == [1075, 1075, 867]
    en = page_figures(
        "<p>The scheme had received 7 417 applications in all.</p>"
        "<table><caption>Table 1: Applications under the scheme (as at January 27, 2023)</caption>"
        "<tr><th></th><th>Category A</th><th>Category B</th></tr>"
        "<tr><td>Applications received</td><td>1 172</td><td>3 485</td></tr></table>",
        lang="en",
    )
    expected = [(7417, "applications"), (1172, "applications"), (3485, "applications")]
    assert [(f.value, f.unit) for f in en] == expected


def test_prose_before_a_table_lends_it_no_unit_and_a_counted_column_beats_a_currency_caption() -> None:
    """A list item naming "$2.5 million" is no caption; under "(HK$)", a column of approved applications
    counts them, and the income bands that label its rows are no figures."""
    found = page_figures(
        "<p>(a) Category A: persons whose annual income was $2.5 million or more;</p>"
        "<table><tr><th>Category</th><th>Approved</th></tr><tr><td>Category A</td><td>470</td></tr></table>"
        "<p>Approved Category A applications are broken down below by income.</p>"
        "<table><caption>Table 2: Approved applications by income in the previous year (HK$)</caption>"
        "<tr><th>Income in previous year</th><th>Approved applications</th></tr>"
        "<tr><td>2.5 million to less than 3 million</td><td>89</td></tr></table>",
        url="https://www.info.gov.hk/gia/general/202302/08.htm",
        lang="en",
    )
    assert (2.5e6, "HKD") in [(f.value, f.unit) for f in found]
    assert [(f.value, f.unit) for f in found if f.value in (470, 89)] == [(89, "applications")]
    assert not any(f.value == 3e6 for f in found)


def test_a_bracketed_number_caption_and_a_measure_word_header_count_their_cells() -> None:
    en = page_figures(
        "<p>Residents owned or rented homes on the Mainland, the survey found.</p>"
        "<table><caption>Survey highlights, 2005 (number)</caption><tr><th>Item</th><th>2005</th></tr>"
        "<tr><td>Hong Kong residents who moved to the Mainland</td><td>91,800</td></tr></table>",
        lang="en",
    )
    assert [(f.value, f.unit) for f in en] == [(91800, "residents")]
    zh = page_figures(
        "<p>　　经陆路入境的旅客按年上升。</p>"
        "<table><caption>2023年4月按入境渠道统计的旅客</caption><tr><th>入境渠道</th><th>人次</th></tr>"
        "<tr><td>陆路</td><td>1,779,988</td></tr></table>"
    )
    assert [(f.value, f.unit) for f in zh] == [(1779988, "person-times")]


def test_a_throughput_column_holds_the_level_a_caption_of_several_units_names() -> None:
    found = page_figures(
        "<p>Container volumes rose at China's biggest ports.</p>"
        "<table><caption>Container throughput, Jan-May 2025 (million TEU; change year-on-year, %)</caption>"
        "<tr><th>Port</th><th>Throughput</th><th>Change</th></tr>"
        "<tr><td>Shenzhen</td><td>14.23</td><td>9.1</td></tr></table>",
        lang="en",
    )
    assert [(f.value, f.unit) for f in found] == [(14.23e6, "TEU"), (9.1, "%")]


def test_a_caption_of_several_units_lets_each_column_say_which_it_holds() -> None:
    """ "单位：万吨，%": the 1—6月 column holds 万吨 levels, the 同比增长 column rates; a column
    naming neither (数据) holds nothing the caption can name, so its cells are no figures."""
    found = page_figures(
        "<p>　　今年上半年，某港口货运情况良好，各项指标稳步上升，具体如下。</p>"
        "<table><caption>上半年港口货运　单位：万吨，%</caption>"
        "<tr><th>指标</th><th>1—6月</th><th>同比增长</th><th>数据</th></tr>"
        "<tr><td>货物吞吐量</td><td>812.4</td><td>6.3</td><td>17</td></tr>"
        "<tr><td>外贸货物</td><td>301.9</td><td>-2.1</td><td>4</td></tr></table>"
    )
    assert [(f.value, f.unit) for f in found] == [
        (8124000, "tonnes"),
        (6.3, "%"),
        (3019000, "tonnes"),
        (-2.1, "%"),
    ]
    assert [f.direction for f in found if f.unit == "%"] == ["up", "down"]


def test_a_caption_naming_pataca_yuan_gives_patacas_and_a_year_like_amount_is_no_year() -> None:
    """ "亿元（澳门元）" is patacas, not renminbi; "2031" under a 全年 header is an amount, not a year."""
    found = page_figures(
        "<p>　　统计部门公布了去年的对外贸易数字，整体表现平稳，详见下表。</p>"
        "<table><caption>澳门对外商品贸易　单位：亿元（澳门元），%</caption>"
        "<tr><th>类别</th><th>全年</th><th>按年变动</th></tr>"
        "<tr><td>商品出口</td><td>2031</td><td>-4.5</td></tr>"
        "<tr><td>商品进口</td><td>1270</td><td>8.1</td></tr></table>"
    )
    assert [(f.value, f.unit) for f in found] == [
        (2.031e11, "MOP"),
        (-4.5, "%"),
        (1.27e11, "MOP"),
        (8.1, "%"),
    ]


def test_a_table_cell_with_more_after_its_number_is_more_than_scaled_by_the_caption() -> None:
    """ "180多" in a "（單位：千人）" table: more than 180 000 people."""
    found = page_figures(
        "<p>　　有關調查訪問了全港住戶，結果按類別列出如下。</p>"
        "<table><caption>受訪者意向（單位：千人）</caption><tr><th>意向</th><th>人數</th></tr>"
        "<tr><td>升學</td><td>180多</td></tr><tr><td>就業</td><td>約45</td></tr>"
        "<tr><td>創業</td><td>12左右</td></tr><tr><td>其他</td><td>不足8</td></tr></table>"
    )
    expected = [(180000, "more_than"), (45000, "approx"), (12000, "approx"), (8000, "less_than")]
    assert [(f.value, f.qualifier) for f in found] == expected


def test_yishang_counts_the_number_itself_so_it_is_at_least_in_text_and_tables() -> None:
    """以上 includes the number it follows, as Chinese law and statistics define it; 多 does not."""
    prose = figures_in("南山区年均增长率在5.8%以上，举办活动70场以上，引进企业300多家。", lang="zh")
    expected = [(5.8, "at_least"), (70, "at_least"), (300, "more_than")]
    assert [(f.value, f.qualifier) for f in prose] == expected
    cells = page_figures(
        "<p>　　有關調查訪問了全港住戶，結果按類別列出如下。</p>"
        "<table><caption>受訪者意向（單位：千人）</caption><tr><th>意向</th><th>人數</th></tr>"
        "<tr><td>升學</td><td>12以上</td></tr></table>"
    )
    assert [(f.value, f.qualifier) for f in cells] == [(12000, "at_least")]


def _hant(*sentences: str, url: str = "https://news.example.org/a/1.html") -> list[tuple[float, str]]:
    article = Article(url=url, title="", text="".join(sentences), sentences=sentences, lang="zh")
    return [(f.value, f.unit) for f in extract_figures(article)]


def test_whose_yuan_a_bare_yuan_is_on_a_traditional_chinese_page() -> None:
    """A bare 元 is renminbi on a Mainland page only. In traditional script it takes the one currency its
    sentence, else its page, names; else the place the figure is about; else it is no figure at all."""
    spending = ("旅發局估計，過境旅客每人平均花費約920港元，全個長周末合共約4.6億元。",)
    assert _hant(*spending) == [(920, "HKD"), (4.6e8, "HKD")]
    renminbi = ("該區去年吸引外資約12億元人民幣，按年增長百分之八。", "區內企業營收合共達530億元。")
    assert _hant(*renminbi) == [(1.2e9, "CNY"), (8, "%"), (5.3e10, "CNY")]
    by_place = ("前海今年首季新增註冊資本達88億元。", "香港政府撥款7億元支援初創企業。")
    assert _hant(*by_place) == [(8.8e9, "CNY"), (7e8, "HKD")]
    assert _hant("該計劃的總開支約為3.5億元，比原先預算為多。") == []  # whose 元? not said: left out
    assert _hant("該計劃的總開支約為3.5億元，比原先預算為多。", url="https://news.example.hk/a") == [
        (3.5e8, "HKD")
    ]
    assert _hant("每家企業最高可獲資助港幣80萬元。") == [(8e5, "HKD")]  # 港幣 before the number, 元 after it
    assert [f.unit for f in figures_in("该计划的总开支约为3.5亿元。", lang="zh")] == [
        "CNY"
    ]  # Mainland: renminbi


def test_shares_in_words_without_of_are_percentages() -> None:
    """A share word the bracket restates, a change by a share, and a percentage spelt out are figures."""
    found = figures_in("Roughly a third (35%) of the members hire locally, and nearly a tenth (9%) do not.")
    assert [(f.value, f.qualifier) for f in found] == [
        (33.33, "approx"),
        (35, "exact"),
        (10, "approx"),
        (9, "exact"),
    ]
    (growth,) = figures_in("Port revenue rose by more than a quarter in the second half.")
    assert (growth.value, growth.unit, growth.qualifier, growth.direction) == (25, "%", "more_than", "up")
    spelt = figures_in("Forty-two percent backed the plan. Only twelve per cent opposed it.")
    assert [(f.value, f.unit) for f in spelt] == [(42, "%"), (12, "%")]
    assert figures_in("A quarter of an hour later the ferry left.") == []


def test_a_table_says_what_it_counts_in_a_header_a_row_label_or_its_caption() -> None:
    """ "Number of ferry sailings" over a column, "(households)" in a row label, "单位：辆次" in a
    caption: each cell counts what its table says."""
    found = page_figures(
        "<p>The figures for the spring holiday are set out below.</p>"
        "<table><tr><th>Item</th><th>Number of ferry sailings</th></tr>"
        "<tr><td>Busiest day</td><td>about 2 300</td></tr></table>"
        "<p>The survey also found the following.</p>"
        "<table><tr><td>Tenants (households)</td><td>41 500</td></tr></table>"
    )
    assert [(f.value, f.unit, f.qualifier) for f in found] == [
        (2300, "sailings", "approx"),
        (41500, "households", "exact"),
    ]
    zh = page_figures(
        "<p>　　节日期间各口岸车流情况良好，详见下表。</p>"
        "<table><caption>假期经口岸出入境车辆　单位：辆次</caption><tr><th>口岸</th><th>车辆</th>"
        "<th>占全部车辆比重（%）</th></tr><tr><td>东口岸</td><td>12,480</td><td>61.5</td></tr></table>"
    )
    assert [(f.value, f.unit, f.direction) for f in zh] == [(12480, "vehicle-trips", None), (61.5, "%", None)]
    assert "growth" not in zh[1].metric  # a share is no rate of change


def test_a_period_row_takes_its_subject_from_the_column_header() -> None:
    """ "2021/22<TAB>3 120" under "受资助学生人数": 3 120 students in the 2021/22 year, not a figure named
    "2021/22"."""
    found = page_figures(
        "<p>　　近年受资助的学生人数如下表。</p>"
        "<table><tr><th>学年</th><th>受资助学生人数</th></tr><tr><td>2021/22</td><td>3 120</td></tr></table>"
    )
    assert [(f.value, f.unit, f.subject, f.period) for f in found] == [
        (3120, "people", "受资助学生人数", "2021/22")
    ]


def test_a_caption_in_millions_of_yuan_scales_by_a_million_not_by_ten_thousand() -> None:
    """ "（百万元）" is millions: read as 万, a cell of 85 would become 850 000."""
    found = page_figures(
        "<p>　　有关资助计划的拨款情况如下。</p>"
        "<table><tr><th>计划</th><th>拨款（百万元人民币）</th></tr><tr><td>创业资助</td><td>约85</td></tr></table>"
    )
    assert [(f.value, f.unit) for f in found] == [(85e6, "CNY")]


def test_numbers_sharing_one_noun_and_counts_standing_for_a_noun_said_before() -> None:
    """A pair or list sharing the noun after its last number, a share's count in brackets, an average of a
    count just said, and a population's level: each number counts that noun."""
    pair = figures_in("Crossings are expected to peak at about 318 000 and 342 000 travellers respectively.")
    assert [(f.value, f.unit) for f in pair] == [(318000, "travellers"), (342000, "travellers")]
    share = figures_in(
        "Sea ports received 96 120 visitors, and the Taipa ferry terminal 62.4% of them (59 979)."
    )
    assert [(f.value, f.unit, f.subject) for f in share][-1] == (
        59979,
        "visitors",
        "Taipa ferry terminal visitors",
    )
    average = figures_in(
        "The bridge is set to carry 1.4 million trips over the week, a daily average of some 200 000."
    )
    assert [(f.value, f.subject) for f in average][-1] == (200000, "daily average trips")
    population = figures_in(
        "By 2035 the new town's population is planned to rise to 150,000 from 9,000 today."
    )
    assert [(f.value, f.unit) for f in population] == [(150000, "people"), (9000, "people")]
    assert figures_in("In 2023 and 2024 projects were delayed.") == []
    assert figures_in("The new town's population density of 7,000 per square km is high.") == []


def test_land_in_words_and_a_few_yuan_naming_a_place_are_read_as_a_reader_would() -> None:
    """ "roughly two square kilometres" and "a three-square-kilometre park" are areas; "four cities" is no
    figure; "1元创客空间" names a workspace and is no amount; "8成为" is 80 per cent."""
    found = figures_in("Roughly two square kilometres were set aside, beside a three-square-kilometre park.")
    assert [(f.value, f.unit, f.qualifier) for f in found] == [(2, "sq km", "approx"), (3, "sq km", "exact")]
    assert figures_in("Four cities in the region signed the pact.") == []
    zh = figures_in("前海为港澳青年打造1元创客空间，并出资3亿元设立基金。", lang="zh")
    assert [(f.value, f.unit) for f in zh] == [(3e8, "CNY")]
    assert [(f.value, f.unit) for f in figures_in("去年旅客中8成为内地旅客。", lang="zh")] == [(80, "%")]


def test_multiples_beside_growth_verbs_and_in_pairs_are_read() -> None:
    """ "按年上升3.2倍", "117倍和93倍" (a pair after 为…的), "12 times more than" are multiples; a
    multiple whose clause names nothing but 分别 is kept unnamed rather than named 分别."""
    zh = figures_in("其中经港珠澳大桥入境的旅客有52,300人次，按年上升3.2倍。", lang="zh")
    assert [(f.value, f.unit) for f in zh] == [(52300, "person-times"), (3.2, "times")]
    pair = figures_in("区内合同外资12亿元、税收8亿元，分别为十年前的41倍和27倍。", lang="zh")
    assert [(f.value, f.unit, f.named) for f in pair][2:] == [(41, "times", False), (27, "times", False)]
    en = figures_in("Its registered capital is now 12 times more than in 2015.")
    assert [(f.value, f.unit) for f in en] == [(12, "times")]
    assert figures_in("The ferry sails 4 times more often in summer.") == []


def test_counts_in_brackets_after_their_place_and_after_a_share_take_the_noun_named_before() -> None:
    """ "tourists from Shanghai (312,400) and Beijing (95,100)": each bracket counts tourists; "38% of
    them, or 41,200" counts them too."""
    places = figures_in("Tourists from Shanghai (312,400) and Beijing (95,100) both rose by about 8%.")
    assert [(f.value, f.unit) for f in places][:2] == [(312400, "tourists"), (95100, "tourists")]
    share = figures_in("The port received 108,500 visitors; 38% of them, or 41,200, came by the rail link.")
    assert [(f.value, f.unit) for f in share] == [(108500, "visitors"), (38, "%"), (41200, "visitors")]


def test_the_number_of_a_noun_carries_across_an_appositive_to_its_levels() -> None:
    """ "The number of start-ups in Nansha, the district on the estuary, rose to 9,800 from 7,100": both
    count start-ups, commas between them notwithstanding."""
    found = figures_in(
        "The number of start-ups incubated in Nansha, the district on the Pearl River estuary, rose to 9,800 "
        "this year from 7,100 in 2022."
    )
    assert [(f.value, f.unit) for f in found] == [(9800, "startups"), (7100, "startups")]


def test_a_count_of_ten_or_more_spelt_out_to_open_a_sentence_is_a_figure_a_smaller_one_is_not() -> None:
    """Style guides spell out a number that opens a sentence: "Thirty-four firms" is 34 firms and "Twelve of
    them" twelve of those; "Four cities" and a heading ("Fifteen lessons") are no figures."""
    found = page_figures(
        "<p>Thirty-four logistics firms opened offices in the port zone last quarter, officials said.</p>"
        "<p>Twelve of them came from Hong Kong, according to the port authority.</p>"
        "<p>Four cities in the region joined the scheme this year.</p><p>Fifteen lessons</p>"
    )
    assert [(f.value, f.unit, f.text) for f in found] == [
        (34, "enterprises", "Thirty-four logistics firms"),
        (12, "enterprises", "Twelve of them"),
    ]


def test_institutions_counted_in_words_below_ten_are_figures_other_small_counts_are_not() -> None:
    """Radio and government news write small counts in words: "Six dental clinics" and "three new
    universities" are what a scheme added, "Four of them" a part of that count; "the two hospitals" (said
    before), "a few banks", "three pillars" and "Two sides" count nothing a reader tracks."""
    found = page_figures(
        "<p>Six dental clinics in the Greater Bay Area joined the voucher scheme on Monday, staff said.</p>"
        "<p>Four of them are in Shenzhen, where three new universities also opened campuses this year.</p>"
        "<p>The two hospitals named last year stay in the scheme, and a few banks will take part.</p>"
        "<p>Two sides agreed that three pillars will support the zone from next year.</p>"
    )
    assert [(f.value, f.unit, f.text) for f in found] == [
        (6, "clinics", "Six dental clinics"),
        (4, "clinics", "Four of them"),
        (3, "universities", "three new universities"),
    ]


def test_a_count_keeps_its_noun_across_a_sentence_naming_it_and_places_take_it_in_turn() -> None:
    """ "Ten of them" after a sentence about "the projects" is ten of the projects counted before; "Lo Wu
    followed with 22,421" and "Hung Hom handled 9,127" count the crossings of the sentence before; "Visitors
    ... rose 12% to 612,000" counts the visitors the sentence opens with; "21 service points" are places,
    where "21 points" is a score."""
    projects = figures_in(
        "The city started 21 projects this week.",
        "The projects lie between the port and the border.",
        "Ten of them, costing CNY12bn in total, are in the port zone.",
    )
    assert [(f.value, f.unit) for f in projects if f.unit != "CNY"] == [(21, "projects"), (10, "projects")]
    ports = figures_in(
        "The airport recorded 35,118 crossings on Sunday.",
        "Lo Wu followed with 22,421, while Hung Hom handled 9,127.",
    )
    assert [(f.value, f.unit) for f in ports] == [
        (35118, "crossings"),
        (22421, "crossings"),
        (9127, "crossings"),
    ]
    visitors = figures_in("Visitors from the nine cities rose 12% from a year before to 612,000.")
    assert [(f.value, f.unit) for f in visitors] == [(12, "%"), (612000, "visitors")]
    points = figures_in("The scheme now has 21 service points.")
    assert [(f.value, f.unit) for f in points] == [(21, "points")]
    assert figures_in("The index rose 21 points on Friday.") == []


def test_tables_counting_people_and_captions_stating_a_share_are_read() -> None:
    """A "Number of young people" header counts people, a "Population" row label counts people (its
    density does not), and a caption "(% of GDP)" makes its cells shares."""
    found = page_figures(
        "<p>The bureau set out the scheme and the city's profile in three tables this week.</p>"
        "<table><tr><th>Item</th><th>Number of young people</th></tr>"
        "<tr><td>Placed with employers</td><td>2 318</td></tr></table>"
        "<table><tr><th>Indicator</th><th>Value</th></tr><tr><td>Population</td><td>1 204 500</td></tr>"
        "<tr><td>Population density</td><td>6 412</td></tr></table>"
        "<table><caption>Table 2. Economic structure (% of GDP)</caption>"
        "<tr><th>Sector</th><th>Share</th></tr>"
        "<tr><td>Services</td><td>88.4</td></tr></table>"
    )
    assert [(f.value, f.unit, f.text) for f in found] == [
        (2318, "people", "2 318"),
        (1204500, "people", "1 204 500"),
        (88.4, "%", "88.4"),
    ]


def test_counts_of_a_noun_said_before_in_more_ways() -> None:
    """ "318 of the 540 who completed" both count the trainees named before; "Of the X, ... 7,200 of them"
    counts X; "the quota for X has grown to N" counts X; "… and 1,269 from Y" counts what the sentence's
    count before it counts; "the previous high of N" the count of the sentence before."""
    trainees = figures_in("The scheme placed 1 200 trainees, and 318 of the 540 who completed it stayed on.")
    assert [(f.value, f.unit) for f in trainees] == [(1200, "trainees"), (318, "trainees"), (540, "trainees")]
    them = figures_in("Of the Macao residents in the zone, 70 percent drive, and 7,200 of them own a car.")
    assert [(f.value, f.unit) for f in them] == [(70, "%"), (7200, "residents")]
    quota = figures_in("The quota for single-plate vehicles has grown to 12,000 since the scheme began.")
    assert [(f.value, f.unit) for f in quota] == [(12000, "vehicles")]
    sources = figures_in(
        "The poll drew 9,000 replies.", "Of these, 8,100 came from workers and 3,250 from students."
    )
    assert [(f.value, f.unit) for f in sources] == [(9000, "replies"), (8100, "replies"), (3250, "replies")]
    record = figures_in(
        "The port saw 91,500 crossings on Friday.", "The previous high of 89,000 stood for a year."
    )
    assert [(f.value, f.unit) for f in record] == [(91500, "crossings"), (89000, "crossings")]
    assert [f.value for f in figures_in("Output rose to 1,234 from last year.")] == []


def test_multiples_larger_than_and_chinese_fractions() -> None:
    """ "three times larger than" is a multiple; 三分之一 is a third, as a percentage; 百分之 stays a
    percentage."""
    assert [(f.value, f.unit) for f in figures_in("The zone is three times larger than the old port.")] == [
        (3, "times")
    ]
    zh = figures_in("約四分之三受訪者表示會再來，百分之十二計劃長住。", lang="zh")
    assert [(f.value, f.unit, f.qualifier) for f in zh] == [(75, "%", "approx"), (12, "%", "exact")]


def test_batch_ten_phrasings_ranges_high_to_low_addresses_and_rows_naming_their_count() -> None:
    """ "between 90,000 patacas and 12,000 patacas" is one range, low end first; "2,500 Closed Road Permits"
    is a count where "18 Harbour Road" is an address; "one in every four to five" is no share; "grew by about
    four times" is a multiple; "(Unit: persons)" and "Permits issued" say what a table's cells count."""
    grants = figures_in("Grants of between 90,000 patacas and 12,000 patacas went to smaller groups.")
    assert [(f.value, f.range_high, f.unit) for f in grants] == [(12000, 90000, "MOP")]
    permits = figures_in("The office at 18 Harbour Road had issued 2,500 Closed Road Permits by May.")
    assert [(f.value, f.unit) for f in permits] == [(2500, "permits")]
    assert figures_in("One in every four to five private cars has joined it, the bureau said.") == []
    multiple = figures_in("Daily turnover grew by about four times, from RMB2 billion in the first month.")
    assert (multiple[0].value, multiple[0].unit, multiple[0].qualifier) == (4, "times", "approx")
    found = page_figures(
        "<p>The bureau published the take-up of both schemes on Monday in two tables.</p>"
        "<table><caption>Table 1. New investors, May (Unit: persons)</caption>"
        "<tr><th>Scheme</th><th>New investors</th></tr><tr><td>Northbound</td><td>1,204</td></tr></table>"
        "<p>Permits under the vehicle scheme are shown below.</p>"
        "<table><tr><th>Item</th><th>Figure</th></tr>"
        "<tr><td>Closed Road Permits issued (as at end-May)</td><td>about 61 500</td></tr></table>"
    )
    assert [(f.value, f.unit, f.qualifier) for f in found] == [
        (1204, "people", "exact"),
        (61500, "permits", "approx"),
    ]


def test_batch_eleven_phrasings_differences_parts_records_and_mixed_width_grouping() -> None:
    """ "about 90,000 more than" is a difference of the count before it; "of the 540 trainees who finished,
    318 were kept" a part of it; "Cargo flights hit a record, at over 3,400" counts the sentence's opening
    noun; "2，500萬人次" groups thousands with a full-width comma between ASCII digits ("3，5家" is a list);
    "6個半小時" is a duration."""
    more = figures_in("By noon there had been 412,000 departures, about 90,000 more than the arrivals.")
    assert [(f.value, f.unit) for f in more] == [(412000, "departures"), (90000, "departures")]
    part = figures_in("The bureau said that, of the 540 trainees who finished the course, 318 were kept on.")
    assert [(f.value, f.unit) for f in part] == [(540, "trainees"), (318, "trainees")]
    record = figures_in("Cargo flights at the port hit a record, at over 3,400, in the first quarter.")
    assert [(f.value, f.unit, f.qualifier) for f in record] == [(3400, "flights", "more_than")]
    zh = figures_in("全年載客量超過2，500萬人次，坐6個半小時可到桂林，分別為3，5家。", lang="zh")
    assert [(f.value, f.text) for f in zh] == [(25_000_000, "超過2，500萬人次")]


def test_batch_twelve_amounts_named_by_their_conversion_table_rows_and_level_columns() -> None:
    """ "the 9.1 billion (US$1.1 billion) a year earlier" is an amount in the page's one currency, and
    "88 billion (US$10.9 billion) patacas" in the currency after its bracket; with no currency said, it is
    left out. A table row with "n.a." in a cell stays one row, and "绝对值" under "单位：亿元，%" is the
    level column."""
    found = figures_in(
        "Casino revenue reached 12.4 billion patacas in May.",
        "That was up on the 9.1 billion (US$1.1 billion) a year earlier, and on 88 billion (US$10.9 billion)"
        " patacas for the five months.",
    )
    assert [(f.value, f.unit) for f in found] == [
        (12.4e9, "MOP"),
        (9.1e9, "MOP"),
        (1.1e9, "USD"),
        (88e9, "MOP"),
        (10.9e9, "USD"),
    ]
    assert [f.unit for f in figures_in("Sales rose to 17.2 billion (US$2.1 billion) last year.")] == ["USD"]
    rows = page_figures(
        "<p>The department published the mix of products bought through the scheme on Friday.</p>"
        "<table><caption>Share of southbound funds (%)</caption>"
        "<tr><th>Product</th><th>2021</th><th>June 2025</th></tr>"
        "<tr><td>Funds</td><td>n.a.</td><td>36</td></tr></table>"
        "<p>附表：前三季度主要经济指标</p><p>单位：亿元，%</p>"
        "<table><tr><th>指标</th><th>绝对值</th><th>同比增长</th></tr>"
        "<tr><td>地区生产总值</td><td>9335.48</td><td>1.6</td></tr></table>",
        lang="en",
    )
    assert [(f.value, f.unit) for f in rows] == [(36, "%"), (933_548_000_000, "CNY"), (1.6, "%")]


def test_batch_thirteen_currency_columns_approximate_counts_and_chinese_multiples() -> None:
    """A "Currency" cell gives its row's amounts their currency under a header that states only the scale;
    "2,000 or so flats" counts flats; 增逾2.5倍 and 高出80多倍 are multiples."""
    rows = page_figures(
        "<p>The exchange set out both directions of the link's trading this week.</p>"
        "<table><tr><th>Direction</th><th>Currency</th><th>Average daily turnover (billion)</th></tr>"
        "<tr><td>Northbound</td><td>yuan</td><td>98.5</td></tr>"
        "<tr><td>Southbound</td><td>HK dollars</td><td>31.2</td></tr></table>",
        lang="en",
    )
    assert [(f.value, f.unit) for f in rows] == [(98.5e9, "CNY"), (31.2e9, "HKD")]
    flats = figures_in("About a third of the 2,000 or so flats on offer were sold.")
    assert [(f.value, f.unit, f.qualifier) for f in flats][-1] == (2000, "flats", "approx")
    zh = figures_in("融资额翌年增逾2.5倍，比五年前高出80多倍。", lang="zh")
    assert [(f.value, f.unit, f.qualifier) for f in zh] == [
        (2.5, "times", "more_than"),
        (80, "times", "more_than"),
    ]


def test_a_share_column_under_a_money_caption_holds_percentages_and_a_short_row_keeps_its_columns() -> None:
    """Under "(MOP million; share in %)" the "Share of total" column holds percentages, never millions of
    patacas; a "Total" row whose share cell is empty keeps its amount under the amount column."""
    found = page_figures(
        "<p>The statistics service published the capital of new companies on Thursday.</p>"
        "<table><caption>Capital of new companies by origin (MOP million; share in %)</caption>"
        "<tr><th>Origin</th><th>Capital</th><th>Share of total</th></tr>"
        "<tr><td>Macao SAR</td><td>52</td><td>61.2</td></tr>"
        "<tr><td>Total</td><td>85</td><td></td></tr></table>",
        lang="en",
    )
    assert [(f.value, f.unit) for f in found] == [(52e6, "MOP"), (61.2, "%"), (85e6, "MOP")]


def test_shares_in_words_with_every_and_a_half_before_its_bracket() -> None:
    """ "one in every four residents" is 25%; "逾半（53.1%）" is more than half, then 53.1%."""
    assert [(f.value, f.qualifier) for f in figures_in("Almost one in every four residents is over 65.")] == [
        (25, "approx")
    ]
    zh = figures_in("区内新兴产业增加值占全区生产总值逾半（53.1%）。", lang="zh")
    assert [(f.value, f.qualifier) for f in zh] == [(50, "more_than"), (53.1, "exact")]


def test_a_value_added_column_under_a_caption_of_two_units_holds_the_level() -> None:
    """ "增加值" under "单位：亿元，%" is the level in 亿元; "同比增长" the rate."""
    found = page_figures(
        "<p>　　分行业看，各行业增加值及增速见下表。</p>"
        "<table><caption>2024年某区分行业增加值（单位：亿元，%）</caption>"
        "<tr><th>行业</th><th>增加值</th><th>同比增长</th></tr><tr><td>工业</td><td>412.36</td><td>5.1</td></tr></table>"
    )
    assert [(f.value, f.unit) for f in found] == [(41236000000, "CNY"), (5.1, "%")]


def test_ranks_and_the_bay_areas_own_make_up_are_no_figures() -> None:
    """ "跻身全球前10名" is a rank, "大湾区9个内地城市" the region's fixed make-up; the banks beside it
    count."""
    assert figures_in("三个港口的货物吞吐量均跻身全球前10名。", lang="zh") == []
    found = figures_in("试点初期只面向大湾区9个内地城市的居民，首批参与机构为28家银行。", lang="zh")
    assert [(f.value, f.unit) for f in found] == [(28, "银行")]


def test_a_chinese_counted_noun_stops_at_the_next_number() -> None:
    """ "120条覆蓋80多个" is 120 routes and more than 80 of something else, never a noun "覆蓋80多个"."""
    found = figures_in("该港现有120条国际航线，其中96条覆盖80多个国家和地区。", lang="zh")
    assert [f.text for f in found][-1] == "80多个国家"
    assert all(not any(c.isdigit() for c in f.subject) for f in found)


def test_fourths_and_a_multiple_in_words_of_an_area() -> None:
    """ "one-fourth of the tenants" is 25%; "four times the area of" a multiple."""
    assert [(f.value, f.unit) for f in figures_in("About one-fourth of the tenants came from overseas.")] == [
        (25, "%")
    ]
    found = figures_in("The new zone covers four times the area of the old port.")
    assert [(f.value, f.unit) for f in found] == [(4, "times")]


def test_policy_names_exchange_rates_and_the_eleven_cities_are_no_figures() -> None:
    """“金融30条” names a policy, "(1 pataca equals 0.12 U.S. dollar)" states a rate in passing, and "each of
    the 11 cities" is the Bay Area's make-up; "averaged 88,000 a day" is a count of what averaged it."""
    found = figures_in("前海落实“金融30条”“海关18条”等政策，新增制度创新成果45项。", lang="zh")
    assert [(f.value, f.unit) for f in found] == [(45, "items")]
    assert figures_in("(1 pataca equals 0.12 U.S. dollar)") == []
    assert figures_in("The note compares the output of each of the 11 cities.") == []
    found = figures_in("Visitors have averaged 88,000 a day since the summer.")
    assert [(f.value, f.unit, f.subject) for f in found] == [(88000, "visitors", "Visitors")]


def test_a_count_doing_what_the_counted_noun_before_it_does_counts_that_noun() -> None:
    """ "418,200 travellers left and 305,118 arrived": both count travellers; 公噸 is tonnes and 架次
    flights."""
    found = figures_in("On Sunday 418,200 travellers left the city and 305,118 arrived, officials said.")
    assert [(f.value, f.unit) for f in found] == [(418200, "travellers"), (305118, "travellers")]
    assert figures_in("The 2,024 left early.") == []  # no counted noun before it: nothing to stand for
    zh = figures_in("機場貨運量為36.5萬公噸，飛機起降量為2.1萬多架次。", lang="zh")
    assert [(f.value, f.unit) for f in zh] == [(365000, "tonnes"), (21000, "flights")]


def test_a_count_at_another_place_or_restated_takes_the_noun_counted_before() -> None:
    """ "with 2.1 million crossings (51.0%), then Y with 402,118 (9.8%)", "more than 120,000 via the
    bridge", "about 31 per cent (about 64 200)" and "18.2 million trips, or about 700,000 a week"."""
    ports = figures_in(
        "Gongbei handled most, with 2.1 million crossings (51.0%), then the bridge port with 402,118 (9.8%)."
    )
    assert [(f.value, f.unit) for f in ports if f.unit != "%"] == [
        (2.1e6, "crossings"),
        (402118, "crossings"),
    ]
    assert [f.value for f in figures_in("It has 3,000 firms; output rose to 1,234 (5.6%).")] == [3000, 5.6]
    via = figures_in("By noon 84,000 people had left via Lo Wu and more than 61,000 via the Spur Line.")
    assert [(f.value, f.unit) for f in via] == [(84000, "people"), (61000, "people")]
    share = figures_in("The survey found 207,000 residents. About 31 per cent (about 64 200) were retired.")
    assert [(f.value, f.unit) for f in share if f.unit != "%"] == [
        (207000, "residents"),
        (64200, "residents"),
    ]
    restated = figures_in("Travellers made 18.2 million trips, or about 700,000 a week, since March.")
    assert [(f.value, f.unit) for f in restated] == [(18.2e6, "trips"), (700000, "trips")]
