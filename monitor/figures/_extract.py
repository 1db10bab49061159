"""Article → the figures it states, each with its unit, qualifier, subject, place, period and metric key.

Pure: regular expressions over ``Article.sentences``. This module reads the quantities (value, scale, range,
unit, qualifier); ``_counts`` reads what a bare number counts, ``_keys`` names what each figure
measures (subject, place, period, direction, metric key: its docstring describes metric keys), and the word
tables live in ``_words``. When in doubt a number is left out (a wrong figure in an alert costs more
than a missed one): a bare number with neither a scale word, a unit, a currency nor a counted noun is not a
figure, and neither are years, dates, clock times, durations, ages, phone numbers, e-mails, URLs, ordinals
and numbers inside names (G20, 5G, COVID-19, Article 3). A multiple ("grew 2.5 times", "a 3.5-fold
increase", "增长1.5倍", "是2015年的2.3倍") is read only where a growth verb or a comparison makes it one:
"5 times a day", "for the third time", "2 times in a row" and "4 times 5" are not figures.

A range ("3 to 5 billion yuan", "3-5%", "3至5亿元") is ONE figure: ``value`` is the low end,
``range_high`` the high end. "846.14 billion yuan ($120.14 billion)" is two figures; the second has
``conversion_of`` = the index of the first in the returned list.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterator, Sequence

from ..records import Article, Figure
from ..settings import TrackedMetric
from . import _keys as keys
from . import _tables as tables
from . import _words as w
from ._counts import (
    count_after_link,
    count_doing,
    count_from_earlier,
    count_from_left,
    count_from_table,
    count_in_brackets,
    count_in_words,
    count_of_them,
    count_shared,
    counted,
)
from ._keys import Quantity
from ._numbers import (
    after_qualifier,
    compound_rest,
    fractions,
    fragment,
    masked,
    number_value,
    qualifier_after,
    qualifier_before,
    scale_at,
    scaled,
    yuan_locale,
    zh_percent,
)

log = logging.getLogger("monitor.figures")

# Bounds on one page's work (a hostile or broken page must not pin a core): a real sentence is a few hundred
# characters and states a handful of figures; a real story states well under a hundred.
MAX_SENTENCE_CHARS = 2_000
MAX_FIGURES_PER_SENTENCE = 40
MAX_FIGURES_PER_PAGE = 400
MAX_NUMBERS_PER_PAGE = 4_000  # numbers examined, figures or not ("1 2 3 4 ..." over a megabyte)

# Stored with every figure (provenance): a new version whenever the same page can give other figures.
# figures-2: multiples ("grew 2.5 times", "增长1.5倍"), Chinese subjects carried over 达到/至, and "tax paid
# by X" measuring the tax.
# figures-3: thousands grouped by spaces and apostrophes, hyphenated units, tables with a stated unit, tenths,
# shares in words, growth keys, Chinese subjects folded to the English measure, unnamed figures.
# figures-4: a table cell's unit from its own column when the caption names several; a bare 元 only in the
# currency the page, the place or the site makes certain; percentages spelt out.
# figures-5: what a table counts from its header, row label or caption ("Number of X", "(persons)",
# "单位：人次"); 百万 captions; numbers sharing the noun after them; a share's count in brackets; "a daily
# average of"; populations; areas in words; multiples beside 上升/大增 and in pairs; "N成为"; "1元创新坊" is
# a name.
# figures-6: institutions counted in words below ten ("Seven medical institutions"), "Five of them", a count
# kept across a sentence naming its noun, places taking the count before in turn ("Lo Wu followed with
# 22,421"), the level a sentence's opening noun changed to, "21 service points"; tables counting people
# ("Number of young people", a "Population" row), "(% of GDP)" captions, a header after data rows opening the
# next table; "464 of the 632 who", "the quota for X ... to N", "the previous high of N", 三分之一; ranges
# written high to low, "(Unit: persons)" captions, "Permits issued" rows, multiples in words after a
# change verb; "N more than", "of the N people who ..., M were", "reached a record, at N", "3，000萬"; an
# amount named money by its conversion ("the 17.2 billion (US$2.1 billion)") in the page's one currency;
# a table's "Currency" column, "4,000 or so units", 增逾3.5倍.
# figures-7: 以上 counts the number itself (at_least, not more_than); trips counted in Chinese numerals
# ("八千人次", "四千五百辆次"); "过万亿元", "逾万家", but not "超万亿元的城市"; a loading skeleton yields to
# the JSON-LD body; "($ million)" over a table is the page's dollar; "资金20亿" is money; "增长十二倍多"; a
# conversion keeps its original's qualifier; one qualifier governs a list ("约81.7%、68.1%和172.4%"); a
# caption saying "approximate figures" makes its cells approximate; a Latin unit before a Chinese character
# ("3041.29萬TEU創新高"); "1500左右" cells; the level a change led to without separators ("fell by 8.4%
# to 968"), the opening noun's level ("Light passenger car trips ... rose by 150 ... to 1,257"), "and 713
# were dissolved", "electric vehicles made up 424"; "Number of X, by Y" captions, footnoted period labels;
# "up 420 per cent from 2,313", "and around 60,000 living there"; the noun a change verb follows, wherever
# the sentence opens ("MACAU -- Newly incorporated companies ... rose by 150 ... to 1,257"); "and 1 667 in
# Fuzhou"; one number across two Chinese scales ("11萬4千架次", "一百一十五億八千萬元"), never two; 本港/本澳
# make a bare 元 the writer's dollar; a flow counts what it names ("Daily passenger flow averaged 57,000"),
# "was about 7,500" after such a noun, "peaking at 103,000" (a peak, its own measure); a table's "单位"
# column; "比重超1/4"; budget "Head 184" is a code; "Table 1 – Visitor arrivals by ..." titles; "visitors from
# mainland China grew by ... to N", "those from Taiwan 4,742", "of last month's arrivals", "and overnight
# visitors 1,799,721"; a minus after a Chinese word ("至-678.73亿元"); freight's "414,000 t"; "added up to" is
# a sum; 签约 is no 约; "不足800" cells; "with 170,000 coming from"; "a marked rise from about 177,000";
# "近万人"; "Same-day visitors (17,278,529)"; a cell writing its own 亿/万 under a currency caption; "0.9
# overnight visitors" is a ratio; "About 1,442,328 entered ..." after a sentence counting visitors; "10.3
# folds"; "增幅近一倍" leaves no bare 1; a caption's unit only where captions state it (not 千 of
# "百企千人"), no lone b/m/k scale but after a currency ("Category B"), prose lends no caption, a counted
# column beats a currency caption, a row's label is no figure; "（美元，下同）"; "七點四億元" (a decimal
# point in Chinese numerals) is 7.4亿, never 四億; 点 between digits glues them as "." does; "exceeds";
# "(number)" captions, a "人次" column, "Visitors from the Republic of Korea (46,903)", a row label's noun
# before its clause ("residents who moved to the Mainland"); "HK $16.2 trillion"; a "Throughput" or
# "Per-capita spending" column; a column headed "日均人次".
EXTRACTOR_VERSION = "figures-7"


def extract_figures(article: Article, *, metrics: Sequence[TrackedMetric] = ()) -> list[Figure]:
    """Every figure the article's sentences state, in reading order; conversions point at their original.

    Bounded whatever the page holds: a sentence past ``MAX_SENTENCE_CHARS`` is read in pieces cut at clause
    breaks, and at most ``MAX_FIGURES_PER_SENTENCE`` and ``MAX_FIGURES_PER_PAGE`` figures are kept (a cap
    that applies is logged), so the work grows linearly with the page.
    """
    dominant = keys.dominant_place(article)
    # Hong Kong government releases write HK dollars as "$"; everyone else means US dollars
    dollar = "HKD" if re.search(r"\.gov\.hk(?:[:/]|$)", article.url) else "USD"
    yuan = yuan_locale(article.url, article.text)
    figures: list[Figure] = []
    declared: str | None = None  # "（美元，下同）": the currency of the bare amounts from there on
    currencies: set[str] = set()  # of the amounts stated so far, not their conversions
    last_count: Quantity | None = None
    capped: set[str] = set()
    numbers_left = MAX_NUMBERS_PER_PAGE
    table = tables.Table()
    for sentence in _pieces(article.sentences, capped):
        if len(figures) >= MAX_FIGURES_PER_PAGE or numbers_left <= 0:
            capped.add("figures_per_page" if numbers_left > 0 else "numbers_per_page")
            break
        if not w.MAYBE_NUMBER.search(sentence):
            if last_count is not None and not _names(sentence, last_count):
                last_count = None  # "Ten of them" may follow "The projects are spread ..."
            tables.read_line(sentence.translate(w.FULLWIDTH), table)  # a caption or a header
            continue
        norm = w.FULLWIDTH_GROUP.sub(",", sentence).translate(w.FULLWIDTH)
        previous: tuple[Quantity, int] | None = None
        periods: list[re.Match[str]] | None = None
        cells = tables.read_line(norm, table) or []
        for q, _, _ in cells:  # what the table says they are: the sentence reader leaves them alone
            norm = norm[: q.start] + "\x00" * (q.end - q.start) + norm[q.end :]
        if cells:  # and the row's label: "2.5 million to less than 3 million" is a band, not a figure
            label_end = norm.find("\t")
            norm = "\x00" * label_end + norm[label_end:]
        stated = {id(q): (period, growth) for q, period, growth in cells}
        quantities, examined = _read_quantities(norm, last_count, numbers_left)
        quantities = sorted([*quantities, *(q for q, _, _ in cells)], key=lambda q: q.start)
        numbers_left -= examined
        if len(quantities) > MAX_FIGURES_PER_SENTENCE:
            capped.add("figures_per_sentence")
            quantities = quantities[:MAX_FIGURES_PER_SENTENCE]
        claimed = keys.claimed(quantities, metrics) if metrics else set()
        last_count = next((q for q in reversed(quantities) if q.kind == "count"), None)
        bare = {id(q) for q in quantities if _bare_yuan(norm, q)}
        if "下同" in norm and (said := w.SAME_BELOW.search(norm)):
            declared = w.SAME_BELOW_CURRENCY[said.group("c")]
        # the 元 currencies the sentence names outright (a US-dollar conversion does not make 元 dollars)
        named = {q.unit for q in quantities if id(q) not in bare and q.unit in ("CNY", "HKD", "MOP")}
        for q in quantities:
            place = keys.place(norm, q) or dominant
            if q.bare_dollar:
                q.unit = dollar
            elif id(q) in bare:
                q.unit = declared or _yuan(yuan, named, place) or ""
                if not q.unit:
                    continue  # whose 元 it is cannot be told: a wrong currency is a wrong figure
            elif q.kind == "money" and not q.unit:
                if len(currencies) != 1:
                    continue  # "17.2 billion (US$2.1 billion)" on a page of more than one currency
                q.unit = next(iter(currencies))
            if periods is None:
                periods = list(w.PERIOD.finditer(norm))
            conversion = None
            if previous and _is_conversion(norm, previous[0], q):
                conversion = previous[1]
                q.subject, q.aspect = previous[0].subject, previous[0].aspect
                if q.qualifier == "exact":  # "more than 15 billion yuan (US$2.41 billion)": the same amount
                    q.qualifier = previous[0].qualifier
            # a conversion takes a tracked metric only when the metric names its currency
            tracked = [m for m in metrics if m.unit] if conversion is not None else metrics
            direction = keys.direction(norm, q)
            growth = q.kind == "pct" and direction is not None and not w.LEVEL_LEAD.search(norm, 0, q.start)
            if id(q) in stated:
                growth = stated[id(q)][1]
                direction = ("down" if q.value < 0 else "up") if growth else None
            if q.kind == "money" and conversion is None:
                currencies.add(q.unit)
            key, label = keys.metric(q, place, sentence, tracked, claimed, growth)
            figures.append(
                Figure(
                    value=q.value,
                    unit=q.unit,
                    qualifier=q.qualifier,
                    subject=q.subject,
                    aspect=q.aspect,
                    text=sentence[q.start : q.end].strip(),
                    sentence=sentence,
                    metric=key,
                    label=label,
                    place=place,
                    period=stated[id(q)][0] if id(q) in stated else keys.period(periods, q),
                    direction=direction,
                    conversion_of=conversion,
                    range_high=q.high,
                )
            )
            previous = (q, len(figures) - 1)
    if capped:
        log.warning(
            "figures capped url=%s caps=%s figures=%d", article.url, ",".join(sorted(capped)), len(figures)
        )
    return figures[:MAX_FIGURES_PER_PAGE]


def _names(sentence: str, q: Quantity) -> bool:
    """The sentence names what ``q`` counts ("The projects are spread between ..." after "21 projects")."""
    return q.unit.isascii() and re.search(rf"(?i:\b{re.escape(q.unit)}\b)", sentence) is not None


def _bare_yuan(norm: str, q: Quantity) -> bool:
    """Written with 元 and no currency named beside it: "18,000元", "约3亿元", a cell under "单位：亿元"."""
    return q.bare_yuan or (q.unit == "CNY" and bool(w.BARE_YUAN.fullmatch(norm, q.start, q.end)))


def _yuan(locale: tuple[str | None, bool], named: set[str], place: str | None) -> str | None:
    """The currency of a bare 元: the one currency its sentence names for its other amounts ("约680港元…
    1.73亿元"), else the page's (``yuan_locale``), where the figure's place decides if the locale says so."""
    if len(named) == 1:
        return next(iter(named))
    default, by_place = locale
    return (w.YUAN_OF_PLACE.get(place or "") or default) if by_place else default


def _pieces(sentences: Sequence[str], capped: set[str]) -> Iterator[str]:
    """The sentences, each past ``MAX_SENTENCE_CHARS`` cut into pieces at its last clause break (or space)
    before the limit: reading a figure looks back over its sentence, so one endless sentence would cost the
    square of its length."""
    for sentence in sentences:
        start = 0
        while len(sentence) - start > MAX_SENTENCE_CHARS:
            capped.add("sentence_chars")
            limit = start + MAX_SENTENCE_CHARS
            cut = max(sentence.rfind(c, start + MAX_SENTENCE_CHARS // 2, limit) for c in ",;，；、 \t")
            cut = cut + 1 if cut > 0 else limit
            yield sentence[start:cut]
            start = cut
        yield sentence[start:] if start else sentence


# --- reading numbers --------------------------------------------------------------------------------------


def _read_quantities(norm: str, before: Quantity | None, limit: int) -> tuple[list[Quantity], int]:
    """The sentence's quantities, and how many numbers were examined (at most ``limit``; reading stops past
    ``MAX_FIGURES_PER_SENTENCE`` quantities); ``before`` is the previous sentence's last counted one ("Of
    those, ...")."""
    text = masked(norm)
    found: list[Quantity] = []
    done = examined = 0
    for m in w.NUMBER.finditer(text):
        if m.start() < done:
            continue
        examined += 1
        if examined > limit or len(found) > MAX_FIGURES_PER_SENTENCE:
            break
        digits = "num" if m.group("num") else "zh" if m.group("zh") else None
        if digits and fragment(norm, m.start(digits), m.end(digits)):
            done = m.end()
            continue
        earlier = next((f for f in reversed(found) if f.kind == "count"), None)
        q, done = _read_quantity(text, m, (earlier, found[-1] if found else None), before)
        if q is None:
            continue
        keys.attach_subject(text, norm, q, found[-1] if found else None)
        found.append(q)
    for q in fractions(text, found):
        keys.attach_subject(text, norm, q, None)
        found.append(q)
    spelt = count_in_words(norm, before)  # unmasked: a dateline's date is masked
    if spelt and not any(f.start < spelt.end and spelt.start < f.end for f in found):
        found.append(spelt)
    found.sort(key=lambda q: q.start)
    for first, q in itertools.pairwise(found):
        # "roughly 38 per cent and 18 per cent", "约81.7%、68.1%和172.4%": one qualifier governs the list
        if (
            q.qualifier == "exact"
            and (q.kind, q.unit) == (first.kind, first.unit)
            and w.LIST_GAP.fullmatch(norm, first.end, q.start)
        ):
            q.qualifier = first.qualifier
    return found, examined


def _read_quantity(
    text: str, m: re.Match[str], earlier: tuple[Quantity | None, Quantity | None], before: Quantity | None
) -> tuple[Quantity | None, int]:
    """The quantity starting at ``m``, and where reading stopped (even when it is not a figure); ``earlier``
    is the sentence's last counted quantity and its last quantity of any kind."""
    counted_before, last = earlier
    prefix = w.CURRENCY_PREFIX.get(re.sub(r"\s", "", m.group("cur") or "")) if m.group("cur") else None
    if m.group("zhpct") or m.group("tenths") or m.group("half"):
        return zh_percent(text, m), m.end()
    value = number_value(m, text)
    if value is None or w.GLUED.match(text, m.end()):
        return None, m.end()
    if re.fullmatch(r"(?:1[89]|20)\d\d", m.group("num") or "") and w.YEAR_LEAD.search(text, 0, m.start()):
        return None, m.end()  # "in 2023 to 2024", "from 2023": a year, however the sentence goes on
    scale, pos = scale_at(text, m.end(), prefix)
    # "11萬4千架次", "56萬7000人次", "一百一十五億八千萬元": one number across two scales, never two
    below = w.ZH_SCALE_END.get(text[pos - 1 : pos]) if scale else None
    rest = compound_rest(text, pos, below) if below else None
    if rest is not None:
        pos = rest[1]
    elif below and (tail := w.ZH_DIGITS_NEXT.match(text, pos)):
        return None, tail.end()  # "3万10000": whatever it means, no part of it is a figure
    more = text[m.end() : m.end() + 1] in ("多", "余")
    high, scale2, pos = _range(text, pos, m.start())
    if scale is None:
        scale = scale2
    if high is not None:
        high = scaled(high, scale2 or scale)
    amount = scaled(value, scale)
    q = Quantity(m.start(), pos, scaled(amount + rest[0], None) if rest else amount, "", "")
    q.bare_dollar = (m.group("cur") or "").strip() == "$"
    q.high = high if high is not None and high > q.value else None
    q.qualifier = qualifier_after(text, pos) or ("more_than" if more else "exact")
    pos = _after_plus(text, pos)
    if not (scale or prefix):  # "2 million times", "$3 times": no multiple carries a scale or a currency
        pos = _multiple(text, pos, q)
    if m.group("zh") and q.kind != "times" and text.startswith("倍", m.end()):
        return None, pos  # "增幅近一倍" read as no multiple: a numeral in words alone is no figure
    if not q.kind:
        pos = _unit(text, pos, q, prefix)
    if q.kind and q.high is None:
        pos = _range_after_unit(text, pos, q, prefix, m.start())
    if (
        q.kind in ("money", "physical")
        and "-" in text[m.start() : pos]
        and not re.search(r"\s", text[m.start() : pos])
    ):
        q.subject = keys.modified_noun(text, pos)  # "a 106-sq-km zone", "a HK$2.5-billion fund": the noun
    if m.group("word") and not scale and q.kind not in ("physical", "times"):
        # "four cities": a small number in words counts nothing a reader tracks, unless it counts
        # institutions not said before ("five pilot medical institutions", not "the two hospitals")
        end = counted(text, pos, q)
        if (
            q.value < 2  # "a few banks"
            or q.unit not in w.INSTITUTIONS
            or w.DETERMINED.search(text, max(0, m.start() - 12), m.start())
        ):
            return None, pos
        pos = end
    if not q.kind:
        # "4,000 or so units": the counted noun comes after the qualifier
        noun_at = after_qualifier(text, pos) if q.qualifier == "approx" else pos
        if (end := counted(text, noun_at, q)) > noun_at:
            pos = end
    if not q.kind and not (
        count_from_left(text, q)
        or count_from_table(text, q)
        or count_from_earlier(text, q, counted_before, before)
        or count_after_link(text, m, q, counted_before, last)
        or count_of_them(text, pos, q, counted_before, before)
        or count_shared(text, pos, q)
        or count_doing(text, m, pos, q, counted_before, before)
        or count_in_brackets(text, m, q, counted_before or before, last)
    ):
        if not scale and not m.group("zh"):
            return None, pos
        q.kind = "count"
        if (
            scale
            and re.match("[多余]?[万亿]", text[m.end() :])
            and w.MONEY_CLAUSE.search(text, max(0, m.start() - 40), m.start())
        ):
            q.kind, q.bare_yuan = "money", True  # "资金20亿": 亿 of 元, whose 元 the page decides
        elif converted := w.CONVERTED_AFTER.match(text, pos):
            # money whose currency is the word after its conversion, else the article's (extract_figures)
            q.kind, q.unit = "money", w.CURRENCY_WORDS.get((converted.group("after") or "").lower(), "")
    if _is_year(m, scale, q, text):
        return None, pos
    if q.kind == "count" and not scale and q.value % 1:
        return None, pos  # "there were 0.9 overnight visitors": a ratio or an average, no count
    q.qualifier = qualifier_before(text, q) or qualifier_after(text, pos) or q.qualifier
    q.end = after_qualifier(text, pos)
    if m.group("neg"):
        q.value = -q.value
    return q, pos


def _range(text: str, pos: int, start: int) -> tuple[float | None, float | None, int]:
    """The high end of a range that continues at ``pos``: "3 to 5", "3-5", "between 3 and 5", "3至5"."""
    left = text[max(0, start - 24) : start]
    sep = w.RANGE_AND.match(text, pos) if w.BETWEEN.search(left) else w.RANGE_SEP.match(text, pos)
    if not sep:
        return None, None, pos
    n = w.NUM2.match(text, sep.end())
    if not n:
        return None, None, pos
    high = float(re.sub(r"[^\d.]", "", n.group(1)))
    if sep.group().strip().lower() == "to" and (change := w.CHANGE.search(left)):
        # "rose from 200 to 300" is a change, "ranged from 200 to 300" a range; "grew by 20 to 25%" a range
        low = float(re.sub(r"[^\d.]", "", text[start:pos].split()[0]) or 0) if text[start:pos].strip() else 0
        ranged = re.search(r"(?i:\b(?:rang\w*|var\w*)\s+from\s*\S*\s*)$", left)
        if (change.group(1).lower() == "from" and not ranged) or (
            change.group(1).lower() == "by" and not (low and high / low <= 2.5)
        ):
            return None, None, pos
    scale, end = scale_at(text, n.end(), None)
    return high, scale, end


def _range_after_unit(text: str, pos: int, q: Quantity, prefix: str | None, start: int) -> int:
    """ "3% to 5%", "3 sq km to 5 sq km": a range whose ends both carry the unit."""
    high, scale, end = _range(text, pos, start)
    if high is None:
        return pos
    other = Quantity(0, 0, 0, "", "")
    after = _unit(text, end, other, prefix)
    if other.unit != q.unit or (after == end and not prefix):
        return pos
    high = scaled(high, scale)
    if high < q.value and w.BETWEEN.search(text, max(0, start - 24), start):
        q.value, high = high, q.value  # "between 143,000 patacas and 33,000 patacas": written high to low
    q.high = high if high > q.value else None
    return after if q.high is not None else pos


def _after_plus(text: str, pos: int) -> int:
    m = w.AFTER_PLUS.match(text, pos)
    return m.end() if m else pos


def _unit(text: str, pos: int, q: Quantity, prefix: str | None) -> int:
    """Reads a unit at ``pos`` into ``q`` (kind, unit); returns the position after it."""
    if m := w.POINTS.match(text, pos):
        q.kind, q.unit = "pp", "pp"
        return m.end()
    if m := w.PERCENT.match(text, pos):
        q.kind, q.unit = "pct", "%"
        return m.end()
    for pattern, code in w.CURRENCY_SUFFIX:  # "450-million-yuan fund": a currency hyphenated to its number
        m = pattern.match(text, pos) or (pattern.match(text, pos + 1) if text.startswith("-", pos) else None)
        if m:
            q.kind, q.unit = "money", prefix or code
            return m.end()
    if prefix:
        q.kind, q.unit = "money", prefix
        return pos
    # "a 106-sq-km zone", "the 41-square-mile area", "a 20-million-TEU port": a unit hyphenated to its number
    for at in (pos, pos + 1) if text.startswith("-", pos) else (pos,):
        for pattern, unit in w.UNITS:
            if m := pattern.match(text, at):
                q.kind, q.unit = "physical", unit
                return m.end()
    return pos


def _multiple(text: str, pos: int, q: Quantity) -> int:
    """Reads a multiple at ``pos`` ("2.5 times", "3.5-fold", "1.5倍") into ``q`` when its context makes it
    one; returns the position after it, else ``pos``."""
    m = w.MULTIPLE.match(text, pos)
    if not m:
        return pos
    # the words before the number, less its qualifier: "grew more than 2 times", "增长超过2倍"
    qualifier = w.QUALIFIER_BEFORE.search(text, max(0, q.start - 30), q.start)
    lead = qualifier.start() if qualifier else q.start
    window = max(0, lead - 60)
    grew = w.MULTIPLE_LEAD.search(text, window, lead) and not w.MULTIPLE_NOT_LEAD.search(text, window, lead)
    than = bool(w.MULTIPLE_THAN.match(text, m.end()))
    if m.group("times"):
        whole = all(v == int(v) for v in (q.value, q.high or 0))
        counted = w.FREQUENCY_AFTER.match(text, m.end()) or (
            whole and not than and w.OCCURRENCE_AFTER.match(text, m.end())
        )
        if counted or not (grew or than):
            return pos  # "5 times a day", "rose 3 times since 2022": how often, not how much
    elif m.group("bei") and not (grew or than or w.ZH_MULTIPLE_OF.search(text, window, lead)):
        return pos  # a stray 倍 is left out like a stray "times"; "-fold" says multiple on its own
    q.kind, q.unit = "times", "times"
    return m.end()


def _is_year(m: re.Match[str], scale: float | None, q: Quantity, text: str) -> bool:
    """A bare 1800-2100 is a year ("in 2024", "2026 sets aside") unless a qualifier stands before it."""
    raw = m.group("num") or ""
    if not re.fullmatch(r"(?:1[89]|20)\d\d", raw) or scale or q.kind != "count":
        return False
    if w.ZH_MEASURE.match(text, m.end()):
        return False  # "1990人", "2003家": a year is written 年, a count with its measure word
    return not w.QUALIFIER_BEFORE.search(text, max(0, m.start() - 30), m.start())


def _is_conversion(norm: str, first: Quantity, second: Quantity) -> bool:
    return (
        first.kind == second.kind == "money"
        and first.unit != second.unit
        and bool(
            w.CONVERSION_GAP.match(norm[first.end : second.start])
            or w.ZH_CONVERSION.match(norm, first.end, second.start + 2)  # 8461亿元，约合1201亿美元
        )
    )
