"""Scores figure extraction on the labelled corpus: ``python -m benchmarks.figures [FOLDER]``.

Each page ``NAME.html`` in ``tests/data/articles`` has ``NAME.figures.json``: its language, the feed selector
(if any), the figures an analyst expects (value, unit, qualifier) and the ``optional`` spans that may go
either way. An extracted figure matches a golden one when the values agree (relative tolerance 1e-6) and the
units agree: exactly for money, %, pp and physical units; any non-standard unit for counted nouns. Each golden
figure is consumed once; an extracted figure matching an optional span is neither rewarded nor penalized.

Prints, for the tuned corpus and the held-out set (``tests/data/articles-holdout``, never tuned against) side
by side: precision, recall and F1 per language, qualifier accuracy on the matched figures, the count of
figures that are fragments of a larger number, how many metric keys both languages share, the misses, and the
pages per second of the body + figures step beside a bare ``lxml.html.fromstring`` of the same pages (the
floor), on the corpus pages as they are and padded to 50 KB with scripts, menus and teaser rails.
``rows()`` gives the same as the extraction section of ``python -m benchmarks``.
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import lxml.html

from monitor.articles import read_article
from monitor.errors import ArticleError
from monitor.figures import extract_figures
from monitor.records import Fetched, Figure

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "articles"
# Written by a teammate who never read the extractor's rules; never tuned against (its README says how)
HOLDOUT = CORPUS.with_name("articles-holdout")
STANDARD_UNITS = frozenset(
    {
        "CNY",
        "USD",
        "HKD",
        "MOP",
        "EUR",
        "GBP",
        "JPY",
        "TWD",
        "AUD",
        "SGD",
        "CAD",
        "%",
        "pp",
        "sq km",
        "sq m",
        "sq ft",
        "sq mi",
        "cu m",
        "ha",
        "acre",
        "mu",
        "km",
        "m",
        "mi",
        "tonnes",
        "kg",
        "TEU",
        "GWh",
        "MWh",
        "kWh",
        "GW",
        "MW",
        "kW",
        "bp",
    }
)


UNIT_NAMES = {
    "hectares": "ha", "hectare": "ha", "公顷": "ha", "公頃": "ha", "kilometres": "km", "kilometers": "km",
    "千米": "km", "公里": "km", "square kilometres": "sq km", "square kilometers": "sq km",
    "平方公里": "sq km", "亩": "mu", "畝": "mu", "acres": "acre",
    "tonnes": "tonnes", "tons": "tonnes", "吨": "tonnes", "teus": "TEU", "标准箱": "TEU",
    "percent": "%", "per cent": "%",
}  # fmt: skip


@dataclass(frozen=True)
class Case:
    """One labelled page."""

    name: str
    html: bytes
    lang: str
    selector: str | None
    golden: tuple[dict, ...]
    optional: tuple[dict, ...]
    url: str | None = None  # where the page was published, when its house style depends on it (gov.hk "$")


@dataclass
class Score:
    """Counts for one language."""

    matched: int = 0
    extracted: int = 0
    golden: int = 0
    qualifiers_right: int = 0
    fragments: int = 0  # extracted figures whose text is part of a larger number as written
    misses: list[str] = field(default_factory=list)
    false: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.matched / self.extracted if self.extracted else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.golden if self.golden else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def qualifier_accuracy(self) -> float:
        return self.qualifiers_right / self.matched if self.matched else 1.0


def load_cases(folder: Path = CORPUS) -> list[Case]:
    """Every ``NAME.html`` with its ``NAME.figures.json`` in ``folder``, by name."""
    cases = []
    for page in sorted(folder.glob("*.html")):
        labels = page.with_name(page.name.removesuffix(".html") + ".figures.json")
        if not labels.exists():
            continue
        data = json.loads(labels.read_text(encoding="utf-8"))
        cases.append(
            Case(
                page.stem,
                page.read_bytes(),
                data.get("lang", "en"),
                data.get("selector"),
                tuple(data.get("figures", ())),
                tuple(data.get("optional", ())),
                data.get("url"),
            )
        )
    return cases


def figures_of(case: Case) -> list[Figure]:
    """What the extractor finds in a case's page."""
    url = case.url or f"file:///{case.name}.html"
    page = Fetched(url=url, final_url=url, status=200, body=case.html)
    try:
        article = read_article(page, selector=case.selector)
    except ArticleError:  # no body found: every label of the page is a miss
        return []
    return extract_figures(article)


def same(figure: Figure, label: dict) -> bool:
    """A figure matches a label: value within 1e-6, and the unit when either side is a standard unit."""
    value = label.get("value")
    if value is None or not math.isclose(figure.value, float(value), rel_tol=1e-6, abs_tol=1e-9):
        return False
    unit = label.get("unit")
    if unit is None:
        return True
    unit = UNIT_NAMES.get(unit.lower(), unit)  # a unit labelled by its name ("hectares", "公顷") is its code
    if unit in STANDARD_UNITS or figure.unit in STANDARD_UNITS:
        return figure.unit == unit
    return True


_SPACE = "[ \u00a0\u2009\u202f]"


def is_whole_number(figure: Figure) -> bool:
    """The figure's text, where it stands in its sentence, has no digit, separator or decimal point left out
    beside it: a comma, apostrophe, full-width comma or decimal point joins any digits; a space (of any
    width) only where it could group thousands (1-3 digits on its left, exactly three on its right); a
    number written across two Chinese scales ("11萬4千", "3亿5000万") is one number."""
    text, sentence = figure.text, figure.sentence
    starts = [m.start() for m in re.finditer(f"(?={re.escape(text)})", sentence)] if text else []
    return not starts or any(_whole_at(sentence[:at], text, sentence[at + len(text) :]) for at in starts)


def _whole_at(before: str, text: str, after: str) -> bool:
    left = text[:1].isdigit() and (
        re.search(r"\d[,.'’，]?$", before)
        or (re.search(rf"(?<![\d,.])\d{{1,3}}{_SPACE}$", before) and re.match(r"\d{3}(?!\d)", text))
    )
    right = text[-1:].isdigit() and re.match(rf"[,.'’，点點]?\d|{_SPACE}\d{{3}}(?!\d)", after)
    # "11萬" of 11萬4千, "4千架次" of it: a digit or Chinese numeral right after a 万/亿, on either side
    scale_left = re.match(f"[{_ZH_DIGITS}]", text) and re.search(f"[{_ZH_DIGITS}][万萬亿億点點]$", before)
    scale_right = re.search(f"[{_ZH_DIGITS}十百千][万萬亿億]$", text) and re.match(f"[{_ZH_DIGITS}]", after)
    return not (left or right or scale_left or scale_right)


_ZH_DIGITS = "0123456789〇一二两兩三四五六七八九"


def score_case(case: Case, figures: Sequence[Figure], score: Score) -> None:
    """Adds one page's counts to ``score``."""
    score.fragments += sum(not is_whole_number(f) for f in figures)
    unused = list(range(len(figures)))
    for label in case.golden:
        hit = next((i for i in unused if same(figures[i], label)), None)
        if hit is None:
            score.misses.append(
                f"{case.name}: {label.get('text')!r} {label.get('value')} {label.get('unit')}"
            )
            continue
        unused.remove(hit)
        score.matched += 1
        score.qualifiers_right += figures[hit].qualifier == label.get("qualifier", "exact")
    for i in unused:
        if any(same(figures[i], label) for label in case.optional):
            continue
        score.false.append(f"{case.name}: {figures[i].text!r} {figures[i].value:g} {figures[i].unit}")
        score.extracted += 1
    score.extracted += len(figures) - len(unused)
    score.golden += len(case.golden)


def score_corpus(cases: Iterable[Case]) -> dict[str, Score]:
    """Scores per language ("en", "zh")."""
    scores: dict[str, Score] = {}
    for case in cases:
        score_case(case, figures_of(case), scores.setdefault(case.lang, Score()))
    return scores


def pages_per_second(pages: Sequence[Case], *, seconds: float = 2.0) -> tuple[float, float]:
    """(body + figures, bare lxml parse) pages per CPU-second: process time, so other work on the machine
    does not count against us."""

    def rate(step: Callable[[Case], object]) -> float:
        done, start = 0, time.process_time()
        while (elapsed := time.process_time() - start) < seconds:
            for case in pages:
                step(case)
            done += len(pages)
        return done / elapsed

    return rate(figures_of), rate(lambda case: lxml.html.fromstring(case.html))


def padded(case: Case, size: int = 50 * 1024) -> Case:
    """The page grown to ``size`` bytes with what news sites wrap a story in: scripts, menus, teaser rails."""
    script = (
        b"<script>window.dataLayer=window.dataLayer||[];"
        + b"ga('set','dimension1','news');" * 120
        + b"</script>"
    )
    menu = (
        b"<nav><ul>"
        + b"".join(b'<li><a href="/s/%d">Section %d</a></li>' % (i, i) for i in range(80))
        + b"</ul></nav>"
    )
    teaser = b'<div class="teaser"><a href="/n/%d">Story %d: GBA output up %d.5%%</a>'
    teaser += b"<span>2025-11-%02d</span><p>Shenzhen firms hired %d,200 graduates, the report said.</p></div>"
    rail = (
        b'<div class="col-right">'
        + b"".join(teaser % (i, i, i % 9, i % 28 + 1, i % 9 + 1) for i in range(400))
        + b"</div>"
    )
    html = case.html
    at = html.lower().rfind(b"</body>")
    at = at if at >= 0 else len(html)
    html = html[:at] + menu + script + html[at:]
    while len(html) < size:
        at = html.lower().rfind(b"</body>")
        at = at if at >= 0 else len(html)
        html = html[:at] + rail[: size - len(html) + 6] + b"</div>" + html[at:]
    return replace(case, html=html)


def rows(quick: bool = False) -> list[dict[str, str]]:
    """The extraction section of ``python -m benchmarks``: quality per set and language, speed on 50 KB
    pages."""
    cases = load_cases()
    if not cases:
        return [{"section": "extraction", "measure": f"skipped: no labelled pages in {CORPUS}"}]
    found = []
    for name, folder in (("tuned", CORPUS), ("holdout", HOLDOUT)):
        for lang, score in sorted(score_corpus(load_cases(folder)).items()):
            met = score.precision >= 0.97 and score.recall >= 0.95 and score.qualifier_accuracy >= 0.95
            found.append({
                "section": "extraction",
                "measure": f"{name} {lang}: precision / recall / F1 / qualifier accuracy "
                f"({score.golden} figures)",
                "ours": " / ".join(
                    f"{x:.3f}" for x in (score.precision, score.recall, score.f1, score.qualifier_accuracy)
                ),
                "target": "≥ 0.97 / ≥ 0.95 / - / ≥ 0.95",
                "met": "yes" if met and not score.fragments else "no",
            })  # fmt: skip
    ours, floor = pages_per_second([padded(case) for case in cases], seconds=0.5 if quick else 3.0)
    found.append({
        "section": "extraction",
        "measure": "body + figures, pages/s per core (50 KB pages)",
        "ours": f"{ours:,.0f}",
        "baseline": f"{floor:,.0f} (bare lxml parse)",
        "ratio": f"{ours / floor:.2f}",
        "target": "≥ 150",
        "met": "yes" if ours >= 150 else "no",
    })  # fmt: skip
    return found


def shared_keys(cases: Sequence[Case]) -> int:
    """How many metric keys figures of both languages land on (one measure, one key across languages)."""
    keys: dict[str, set[str]] = {}
    for case in cases:
        for figure in figures_of(case):
            if figure.named:
                keys.setdefault(figure.metric, set()).add(case.lang)
    return sum(len(langs) > 1 for langs in keys.values())


def report(name: str, cases: Sequence[Case], *, verbose: bool) -> None:
    """Prints one set's misses and false figures (when ``verbose``), and its scores per language."""
    scores = score_corpus(cases)
    if verbose:
        for score in scores.values():
            for line in score.misses:
                print(f"  miss  {line}")
            for line in score.false:
                print(f"  false {line}")
    for lang, score in sorted(scores.items()):
        pages = sum(case.lang == lang for case in cases)
        print(
            f"{name:<8}{lang:<5}{pages:>6}{score.golden:>8}{score.extracted:>7}{score.precision:>11.3f}"
            f"{score.recall:>8.3f}{score.f1:>7.3f}{score.qualifier_accuracy:>11.3f}{score.fragments:>11}"
        )
    print(f"{name:<8}keys shared by figures in both languages: {shared_keys(cases)}")


def main(argv: Sequence[str] = ()) -> int:
    """``python -m benchmarks.figures [FOLDER] [--quiet]``: both labelled sets side by side (or FOLDER), and
    the speed of body + figures."""
    folders = [Path(a) for a in argv if not a.startswith("--")]
    sets = [(f.name, load_cases(f)) for f in folders] or [
        ("tuned", load_cases()),
        ("holdout", load_cases(HOLDOUT)),
    ]
    sets = [(name, cases) for name, cases in sets if cases]
    if not sets:
        print(f"no labelled pages in {folders or [CORPUS, HOLDOUT]}")
        return 1
    header = (
        f"{'set':<8}{'lang':<5}{'pages':>6}{'golden':>8}{'found':>7}{'precision':>11}{'recall':>8}{'F1':>7}"
    )
    print(header + f"{'qualifier':>11}{'fragments':>11}")
    for name, cases in sets:
        report(name, cases, verbose="--quiet" not in argv)
    cases = [case for _, cases in sets for case in cases]
    for label, pages in (
        ("corpus pages", cases),
        ("pages padded to 50 KB", [padded(case) for case in cases]),
    ):
        size_kb = sum(len(case.html) for case in pages) / len(pages) / 1024
        ours, floor = pages_per_second(pages)
        print(f"speed, {label} (mean {size_kb:.1f} KB): body+figures {ours:,.0f} pages/s, "
              f"bare lxml parse {floor:,.0f} pages/s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
