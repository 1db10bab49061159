"""Article → the figures it states, each with its unit, qualifier, subject, place, period and metric key.

Pure: regular expressions over ``Article.sentences``; the word tables live in ``figure_words``. When in doubt
a number is left out (a wrong figure in an alert costs more than a missed one): a bare number with neither a
scale word, a unit, a currency nor a counted noun is not a figure, and neither are years, dates, clock times,
durations, ages, phone numbers, e-mails, URLs, ordinals and numbers inside names (G20, 5G, COVID-19,
Article 3).

A range ("3 to 5 billion yuan", "3-5%", "3至5亿元") is ONE figure: ``value`` is the low end,
``range_high`` the high end. "846.14 billion yuan ($120.14 billion)" is two figures; the second has
``conversion_of`` = the index of the first in the returned list.

Metric keys
-----------
A figure's ``metric`` is ``PLACE.SUBJECT.UNIT``, all lower-case slugs:

* PLACE — the most specific place the sentence names outside the subject itself (a zone such as Qianhai,
  Hengqin, Nansha or Hetao beats a city, a city beats Guangdong, Guangdong beats the GBA; "Hong Kong-funded"
  is part of a subject, not a place); else the article's most-mentioned place; else ``general``.
* SUBJECT — the noun phrase the number measures ("Hong Kong-funded enterprises", "registered capital"), with
  determiners, possessives and words like total/combined dropped and synonyms folded: companies, firms and
  businesses → enterprises; HK-/Hong Kong-invested → Hong Kong-funded; known Chinese subjects map to the same
  English words (港资企业 → Hong Kong-funded enterprises).
* UNIT — ``count`` for counted nouns, the ISO-4217 code for money (``cny``), ``pct`` for percentages, ``pp``
  for percentage points, else the physical unit (``sq-km``, ``teu``).

A change rather than a level ("rose by 300", "增加4800人") has "(change)" after its subject, and a goal or a
forecast ("aims to attract 100 billion yuan by 2027", "力争突破1.5万家") "(target)", so their keys
(``...-change``, ``...-target``) never read as the level's new value. A figure whose subject cannot be
found gets a key of its own sentence (``figure-1a2b3c4d``): stored and shown, never taken for a change of
another figure.

So "a total of 10,577 Hong Kong-funded enterprises are registered in Qianhai" and "Qianhai is now home
to 11,020 Hong Kong-funded companies" both land on ``qianhai.hong-kong-funded-enterprises.count``, labelled
"Hong Kong-funded enterprises in Qianhai". A metric named in the configuration (``TrackedMetric``) wins: the
first whose case-insensitive pattern matches the figure's subject and whose optional place and unit agree
gives its key and label; a figure without a subject of its own is matched on its sentence instead, by metrics
that name their unit (so "10,577 Hong Kong-funded enterprises ... registered capital of 846.14 billion yuan"
does not give the enterprises' key to the capital).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from . import figure_words as w
from .records import Article, Figure, TrackedMetric

EXTRACTOR_VERSION = "figures-1"


@dataclass(slots=True)
class _Quantity:
    """A number read from one sentence, before subject, place and metric are attached."""

    start: int
    end: int
    value: float
    unit: str
    kind: str  # money, pct, pp, physical, count
    qualifier: str = "exact"
    high: float | None = None
    subject: str = ""
    noun: tuple[int, int] | None = None  # span of the counted noun phrase
    bare_dollar: bool = False  # "$" alone: US dollars, except on Hong Kong government pages


def extract_figures(article: Article, *, metrics: Sequence[TrackedMetric] = ()) -> list[Figure]:
    """Every figure the article's sentences state, in reading order; conversions point at their original."""
    dominant = _dominant_place(article)
    # Hong Kong government releases write HK dollars as "$"; everyone else means US dollars
    dollar = "HKD" if re.search(r"\.gov\.hk(?:[:/]|$)", article.url) else "USD"
    figures: list[Figure] = []
    last_count: _Quantity | None = None
    for sentence in article.sentences:
        if not w.MAYBE_NUMBER.search(sentence):
            last_count = None
            continue
        norm = sentence.translate(w.FULLWIDTH)
        previous: tuple[_Quantity, int] | None = None
        periods: list[re.Match[str]] | None = None
        quantities = _read_quantities(norm, last_count)
        claimed = _claimed(quantities, metrics) if metrics else set()
        last_count = next((q for q in reversed(quantities) if q.kind == "count"), None)
        for q in quantities:
            if q.bare_dollar:
                q.unit = dollar
            if periods is None:
                periods = list(w.PERIOD.finditer(norm))
            conversion = None
            if previous and _is_conversion(norm, previous[0], q):
                conversion = previous[1]
                q.subject = previous[0].subject
            place = _place(norm, q) or dominant
            # a conversion takes a tracked metric only when the metric names its currency
            tracked = [m for m in metrics if m.unit] if conversion is not None else metrics
            key, label = _metric(q, place, sentence, tracked, claimed)
            figures.append(
                Figure(
                    value=q.value,
                    unit=q.unit,
                    qualifier=q.qualifier,
                    subject=q.subject,
                    text=sentence[q.start : q.end].strip(),
                    sentence=sentence,
                    metric=key,
                    label=label,
                    place=place,
                    period=_period(periods, q),
                    direction=_direction(norm, q),
                    conversion_of=conversion,
                    range_high=q.high,
                )
            )
            previous = (q, len(figures) - 1)
    return figures


# --- reading numbers --------------------------------------------------------------------------------------


def _read_quantities(norm: str, before: _Quantity | None) -> list[_Quantity]:
    """The sentence's quantities; ``before`` is the previous sentence's last counted one ("Of those, ...")."""
    text = _masked(norm)
    found: list[_Quantity] = []
    done = 0
    for m in w.NUMBER.finditer(text):
        if m.start() < done:
            continue
        earlier = next((f for f in reversed(found) if f.kind == "count"), None)
        q, done = _read_quantity(text, m, earlier, before)
        if q is None:
            continue
        _attach_subject(text, norm, q, found[-1] if found else None)
        found.append(q)
    return found


def _attach_subject(text: str, norm: str, q: _Quantity, previous: _Quantity | None) -> None:
    """Fills ``q.subject`` when reading the number did not: from its clause, else from the figure before."""
    if not q.subject:
        q.subject = _subject(text, norm, q, previous.end if previous else 0)
        if q.kind == "count" and w.CJK.search(q.subject) and q.unit not in w.ZH_SELF_UNITS:
            q.unit = _zh_unit(q.subject, q.unit)
        elif q.kind == "count" and not q.unit and (head := re.findall(r"[A-Za-z]+", q.subject)):
            q.unit = _canonical_en(head[-1]).lower()  # "passenger trips ... reached 210 million": trips
    if not q.subject and previous is not None:
        gap_links = w.INHERIT_GAP.fullmatch(text, previous.end, q.start)
        change_of = q.kind in ("pct", "pp") and w.CHANGE_OF_BEFORE.search(text, 0, q.start)
        if gap_links or change_of or w.COMPARISON_CLAUSE.search(text, 0, q.start):
            q.subject = previous.subject  # "trade rose 12.5% to 300 billion yuan": both measure trade
    if q.kind not in ("pct", "pp") and w.CHANGE_LEAD.search(text, 0, q.start):
        q.subject = f"{q.subject} (change)".strip()  # "rose by 300", "增加4800人": a change, not a level
    clause_start = max((m.end() for m in w.CLAUSE_BREAK.finditer(text, 0, q.start)), default=0)
    clause_end = next((m.start() for m in w.CLAUSE_BREAK.finditer(text, q.end)), len(text))
    if w.TARGET_BEFORE.search(text, clause_start, q.start) or w.TARGET_AFTER.match(text, q.end, clause_end):
        q.subject = f"{q.subject} (target)".strip()  # "aims to reach 15,000 by 2027": not today's value


def _masked(norm: str) -> str:
    """``norm`` with every non-figure span (dates, phones, names ...) blanked to NULs, same length.

    Every mask holds a digit, so only windows around digits are searched: a whole-sentence search of ~30
    alternatives at every character would cost more than the rest of the extraction.
    """
    chars: list[str] | None = None
    for start, end in _digit_windows(norm):
        for m in w.MASK.finditer(norm, start, end):
            if m.end() > m.start():
                chars = chars or list(norm)
                chars[m.start() : m.end()] = "\x00" * (m.end() - m.start())
    return "".join(chars) if chars else norm


def _digit_windows(norm: str) -> list[tuple[int, int]]:
    windows: list[tuple[int, int]] = []
    for m in w.DIGITS.finditer(norm):
        start = norm.rfind(" ", 0, max(0, m.start() - 40)) + 1
        end = norm.find(" ", min(len(norm), m.end() + 40))
        end = len(norm) if end < 0 else end
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return windows


def _read_quantity(
    text: str, m: re.Match[str], earlier: _Quantity | None, before: _Quantity | None
) -> tuple[_Quantity | None, int]:
    """The quantity starting at ``m``, and where reading stopped (even when it is not a figure)."""
    prefix = w.CURRENCY_PREFIX.get(re.sub(r"\s", "", m.group("cur") or "")) if m.group("cur") else None
    if m.group("zhpct") or m.group("tenths"):
        return _zh_percent(text, m), m.end()
    value = _number_value(m, text)
    if value is None or w.GLUED.match(text, m.end()):
        return None, m.end()
    if re.fullmatch(r"(?:1[89]|20)\d\d", m.group("num") or "") and w.YEAR_LEAD.search(text, 0, m.start()):
        return None, m.end()  # "in 2023 to 2024", "from 2023": a year, however the sentence goes on
    scale, pos = _scale(text, m.end(), prefix)
    more = text[m.end() : m.end() + 1] in ("多", "余")
    high, scale2, pos = _range(text, pos, m.start())
    if scale is None:
        scale = scale2
    if high is not None:
        high = _scaled(high, scale2 or scale)
    q = _Quantity(m.start(), pos, _scaled(value, scale), "", "")
    q.bare_dollar = (m.group("cur") or "").strip() == "$"
    q.high = high if high is not None and high > q.value else None
    q.qualifier = _qualifier_after(text, pos) or ("more_than" if more else "exact")
    pos = _after_plus(text, pos)
    pos = _unit(text, pos, q, prefix)
    if q.kind and q.high is None:
        pos = _range_after_unit(text, pos, q, prefix, m.start())
    if not q.kind:
        pos = _counted(text, pos, q)
    if not q.kind and not (
        _count_from_left(text, q)
        or _count_from_table(text, q)
        or _count_from_earlier(text, q, earlier, before)
        or _count_after_link(text, m, q, earlier)
    ):
        if not scale and not m.group("zh"):
            return None, pos
        q.kind = "count"
    if _is_year(m, scale, q, text):
        return None, pos
    q.qualifier = _qualifier_before(text, q) or _qualifier_after(text, pos) or q.qualifier
    q.end = _after_qualifier(text, pos)
    if m.group("neg"):
        q.value = -q.value
    return q, pos


def _zh_percent(text: str, m: re.Match[str]) -> _Quantity:
    """百分之十二 → 12%; 两成 (two tenths) → 20%."""
    if m.group("zhpct"):
        q = _Quantity(m.start(), m.end(), _zh_number(m.group("zhpct")), "%", "pct")
    else:
        q = _Quantity(m.start(), m.end(), _zh_number(m.group("tenths")) * 10, "%", "pct")
    q.qualifier = _qualifier_before(text, q) or _qualifier_after(text, m.end()) or "exact"
    q.end = _after_qualifier(text, m.end())
    return q


def _scaled(value: float, scale: float | None) -> float:
    """``value`` times its scale, without binary noise: 4.1 million is 4100000.0, not 4099999.9999999995."""
    return float(f"{value * (scale or 1.0):.12g}")


def _number_value(m: re.Match[str], text: str) -> float | None:
    if m.group("num"):
        return float(m.group("num").replace(",", ""))
    if m.group("word"):
        words = m.group("word").lower().split()
        hundred = 100.0 if words[-1] == "hundred" else 1.0
        return w.EN_WORD_NUMBERS[" ".join(x for x in words if x != "hundred")] * hundred
    numeral = m.group("zh")
    if not re.search("[百千]", numeral) and not re.match("[多余]?[万亿]", text[m.end() :]):
        return None  # 三大, 五个: small numbers in words are not figures
    return _zh_number(numeral)


def _zh_number(numeral: str) -> float:
    """A Chinese numeral below 10,000 (万 and 亿 are scales): 三千 → 3000, 一百二十 → 120, 十二点五 → 12.5."""
    if re.fullmatch(r"\d+(?:\.\d+)?", numeral):
        return float(numeral)
    whole, _, fraction = numeral.partition("点")
    total, digit = 0, 0
    for ch in whole:
        if ch in w.ZH_DIGITS:
            digit = w.ZH_DIGITS[ch]
        elif ch in w.ZH_PLACES_VALUE:
            total += (digit or 1) * w.ZH_PLACES_VALUE[ch]
            digit = 0
    total += digit
    decimals = "".join(str(w.ZH_DIGITS.get(ch, 0)) for ch in fraction)
    return float(f"{total}.{decimals}") if decimals else float(total)


def _scale(text: str, pos: int, prefix: str | None) -> tuple[float | None, int]:
    if s := w.ZH_SCALE.match(text, pos):
        return w.ZH_SCALES[s.group("s")], s.end()
    if s := w.EN_SCALE.match(text, pos):
        word = s.group("w") or s.group("a")
        if word:
            return w.EN_SCALES[word.lower()], s.end()
        glued = s.group("g")
        if glued == "k" or (prefix and glued in "mK"):
            return w.EN_SCALES[glued.lower()], s.end()
    return None, pos


def _range(text: str, pos: int, start: int) -> tuple[float | None, float | None, int]:
    """The high end of a range that continues at ``pos``: "3 to 5", "3-5", "between 3 and 5", "3至5"."""
    left = text[max(0, start - 24) : start]
    sep = w.RANGE_AND.match(text, pos) if w.BETWEEN.search(left) else w.RANGE_SEP.match(text, pos)
    if not sep:
        return None, None, pos
    n = w.NUM2.match(text, sep.end())
    if not n:
        return None, None, pos
    high = float(n.group(1).replace(",", ""))
    if sep.group().strip().lower() == "to" and (change := w.CHANGE.search(left)):
        # "rose from 200 to 300" is a change, "ranged from 200 to 300" a range; "grew by 20 to 25%" a range
        low = float(re.sub(r"[^\d.]", "", text[start:pos].split()[0]) or 0) if text[start:pos].strip() else 0
        ranged = re.search(r"(?i:\b(?:rang\w*|var\w*)\s+from\s*\S*\s*)$", left)
        if (change.group(1).lower() == "from" and not ranged) or (
            change.group(1).lower() == "by" and not (low and high / low <= 2.5)
        ):
            return None, None, pos
    scale, end = _scale(text, n.end(), None)
    return high, scale, end


def _range_after_unit(text: str, pos: int, q: _Quantity, prefix: str | None, start: int) -> int:
    """ "3% to 5%", "3 sq km to 5 sq km": a range whose ends both carry the unit."""
    high, scale, end = _range(text, pos, start)
    if high is None:
        return pos
    other = _Quantity(0, 0, 0, "", "")
    after = _unit(text, end, other, prefix)
    if other.unit != q.unit or (after == end and not prefix):
        return pos
    high = _scaled(high, scale)
    q.high = high if high > q.value else None
    return after if q.high is not None else pos


def _after_plus(text: str, pos: int) -> int:
    m = w.AFTER_PLUS.match(text, pos)
    return m.end() if m else pos


def _unit(text: str, pos: int, q: _Quantity, prefix: str | None) -> int:
    """Reads a unit at ``pos`` into ``q`` (kind, unit); returns the position after it."""
    if m := w.POINTS.match(text, pos):
        q.kind, q.unit = "pp", "pp"
        return m.end()
    if m := w.PERCENT.match(text, pos):
        q.kind, q.unit = "pct", "%"
        return m.end()
    for pattern, code in w.CURRENCY_SUFFIX:
        if m := pattern.match(text, pos):
            q.kind, q.unit = "money", prefix or code
            return m.end()
    if prefix:
        q.kind, q.unit = "money", prefix
        return pos
    for pattern, unit in w.UNITS:
        if m := pattern.match(text, pos):
            q.kind, q.unit = "physical", unit
            return m.end()
    return pos


def _counted(text: str, pos: int, q: _Quantity) -> int:
    """Reads a counted noun ("Hong Kong-funded enterprises", "家港资企业") into ``q``; returns its end."""
    if m := w.ZH_MEASURE.match(text, pos):
        noun = w.ZH_NOUN.match(text, m.end())
        name = noun.group() if noun and not noun.group().startswith("的") else ""
        if head := w.ZH_HEAD.search(name):
            name = name[: head.end()]
        elif stop := w.ZH_NOUN_STOP.search(name, 2 if len(name) > 2 else 1):
            name = name[: stop.start()]
        q.kind, q.unit = "count", w.ZH_MEASURE_UNIT.get(m.group("m"), m.group("m"))
        if name and w.CJK.search(name):
            q.subject = name
            q.unit = _zh_unit(name, q.unit)
        end = m.end() + len(name)
        q.noun = (m.end(), end) if name else None
        return end
    words: list[tuple[int, int, str]] = []
    head = -1
    at = pos
    while len(words) < 7 and (m := w.WORD.match(text, at)):
        word = m.group(1).rstrip("-'’")
        low = word.lower()
        if low in ("and", "or") and head < 0 and words:
            nxt = w.WORD.match(text, m.end())
            if nxt and nxt.group(1).lower() not in w.NP_STOP:
                words.append((m.start(1), m.end(1), word))
                at = m.end()
                continue
        if low in w.NP_STOP or (head >= 0 and not _plural(low)):
            break
        words.append((m.start(1), m.start(1) + len(word), word))
        if _plural(low):
            head = len(words) - 1
        at = m.end()
    if head < 0 or words[head][2].lower() in w.NP_BAD_HEADS:
        return pos
    q.kind, q.unit = "count", _canonical_en(words[head][2]).lower()
    q.noun = (words[0][0], words[head][1])
    q.subject = text[q.noun[0] : q.noun[1]]
    return q.noun[1]


def _zh_unit(noun: str, default: str) -> str:
    """The counted head of a Chinese noun, in the English of ``ZH_SUBJECTS`` when known."""
    english = w.ZH_SUBJECTS.get(noun)
    if english is None and (head := _last(w.ZH_HEAD.finditer(noun))):
        english = w.ZH_SUBJECTS.get(head.group(), head.group())
    return english.split()[-1].lower() if english else default


def _last(matches: Iterator[re.Match[str]]) -> re.Match[str] | None:
    found = None
    for found in matches:  # noqa: B007 -- the last one is wanted
        pass
    return found


def _plural(word: str) -> bool:
    if word in w.NP_HEAD_IRREGULAR:
        return True
    return len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "'s", "’s"))


def _count_from_left(text: str, q: _Quantity) -> bool:
    """ "the number of visitors reached 5,000" and "企业数量达1.06万" count what the left side names."""
    m = w.LEFT_NUMBER_OF.search(text[max(0, q.start - 160) : q.start])
    if not m:
        return False
    noun = (m.group("zh") or m.group(1)).strip()
    english = w.ZH_SUBJECTS.get(noun) if m.group("zh") else _canonical_en(noun)
    q.kind, q.subject = "count", noun
    q.unit = english.split()[-1].lower() if english else noun
    return True


def _count_from_table(text: str, q: _Quantity) -> bool:
    """A table row whose first cell names counted things: "Hong Kong-funded institutions<TAB>112"."""
    first = text.split("\t", 1)[0]
    if "\t" not in text or q.start < len(first):
        return False
    words = first.split()
    if words and _plural(words[-1].lower()) and words[-1].lower() not in w.NP_BAD_HEADS:
        q.kind, q.subject, q.unit = "count", first.strip(), _canonical_en(words[-1]).lower()
        return True
    if head := w.ZH_HEAD.search(first):
        q.kind, q.subject, q.unit = "count", first.strip(), _zh_unit(head.group(), head.group())
        return True
    return False


def _count_from_earlier(text: str, q: _Quantity, earlier: _Quantity | None, before: _Quantity | None) -> bool:
    """A number standing for a noun said before: "179 companies, including 63 from ...", "Of those, 6,200"."""
    lead = text[: q.start]
    if qualifier := w.QUALIFIER_BEFORE.search(lead, max(0, q.start - 30)):
        lead = lead[: qualifier.start()]
    source = earlier if earlier is not None and w.ELLIPSIS.search(lead) else None
    if source is None and (opening := w.OPENING.fullmatch(lead)):
        if opening.group("np") and _plural(opening.group("np").split()[-1].lower()):
            noun = opening.group("np")
            q.kind, q.subject, q.unit = "count", noun, _canonical_en(noun.split()[-1]).lower()
            return True
        source = before
    if source is None:
        return False
    q.kind, q.subject, q.unit = "count", source.subject, source.unit
    if w.TOTAL_TO.search(lead):  # "156 new routes, bringing the total to 183": the total, not the new ones
        q.subject = re.sub(r"(?i)^(?:new|newly\s+\w+|additional|more)\s+", "", source.subject)
    return True


def _count_after_link(text: str, m: re.Match[str], q: _Quantity, earlier: _Quantity | None) -> bool:
    """A bare count written with thousands separators after a linking verb: "the labour force totalled
    384,400"; or the new level after a change: "decreased by 1,100 from the previous period to 280,900"."""
    if "," not in (m.group("num") or ""):
        return False
    lead = text[max(0, q.start - 60) : q.start]
    if earlier is not None and earlier.subject.endswith("(change)") and w.TO_LEVEL.search(lead):
        q.kind, q.unit = "count", earlier.unit
        q.subject = earlier.subject.removesuffix("(change)").strip()
        return True
    if w.COUNT_LINK.search(lead):
        q.kind, q.unit = "count", ""
        return True
    return False


def _is_year(m: re.Match[str], scale: float | None, q: _Quantity, text: str) -> bool:
    """A bare 1800-2100 is a year ("in 2024", "2026 sets aside") unless a qualifier stands before it."""
    raw = m.group("num") or ""
    if not re.fullmatch(r"(?:1[89]|20)\d\d", raw) or scale or q.kind != "count":
        return False
    return not w.QUALIFIER_BEFORE.search(text, max(0, m.start() - 30), m.start())


def _qualifier_before(text: str, q: _Quantity) -> str | None:
    m = w.QUALIFIER_BEFORE.search(text, max(0, q.start - 30), q.start)
    if not m:
        return None
    q.start = m.start()
    return m.lastgroup


def _qualifier_after(text: str, pos: int) -> str | None:
    for name, pattern in w.QUALIFIER_AFTER:
        if pattern.match(text, pos):
            return name
    return None


def _after_qualifier(text: str, pos: int) -> int:
    for _, pattern in w.QUALIFIER_AFTER:
        if m := pattern.match(text, pos):
            return m.end()
    return pos


def _is_conversion(norm: str, first: _Quantity, second: _Quantity) -> bool:
    return (
        first.kind == second.kind == "money"
        and first.unit != second.unit
        and bool(
            w.CONVERSION_GAP.match(norm[first.end : second.start])
            or w.ZH_CONVERSION.match(norm, first.end, second.start + 2)  # 8461亿元，约合1201亿美元
        )
    )


# --- what, where, when ------------------------------------------------------------------------------------


def _subject(text: str, norm: str, q: _Quantity, floor: int) -> str:
    """The noun phrase a money, percentage or physical figure measures (``floor``: the previous one's end)."""
    if q.kind in ("money", "physical") and (right := _right_subject(text, q.end)):
        return right
    left = text[: q.start]
    if "\t" in text:  # a table row: the first cell names what the row measures
        first = text.split("\t", 1)[0].strip(" \x00")
        if first and not w.DIGITS.search(first):
            return first
    breaks = list(w.CLAUSE_BREAK.finditer(left, floor))
    start = breaks[-1].end() if breaks else floor
    if w.CJK.search(left[-6:] or "x"):
        return _zh_subject(norm[start : q.start])
    if not left[start:].strip() and left[:start].rstrip().endswith(":"):  # "Population: 7.5 million"
        return " ".join(re.findall(r"[A-Za-z][\w'’-]*", left[:start].split(";")[-1])[-4:])
    subject = _en_subject(left[start:])
    if not subject and len(breaks) >= 1 and w.ONLY_LINKS.fullmatch(left[start:].replace("\x00", " ")):
        # "The value of retail sales in October, provisionally estimated at $33.1 billion"
        before = breaks[-2].end() if len(breaks) >= 2 else floor
        subject = _en_subject(left[before : breaks[-1].start()])
    if subject.lower() in w.VAGUE_SUBJECTS:
        subject = (
            ""  # "a year-on-year increase of 33.6 per cent": the increase of what the figure before counts
        )
    if not subject and q.kind == "pct" and (of := w.PERCENT_OF.match(text, q.end)):
        words = of.group(1).split()  # "30 percent of the growth came from ...": what the share is of
        second = [x for x in words[1:2] if not _is_verb_like(x) and x not in w.VERBS and x not in w.NP_STOP]
        subject = " ".join(words[:1] + second)
    return subject


def _en_subject(clause: str) -> str:
    """The noun phrase ending a clause: "its combined registered capital reached" gives registered capital."""
    clause = w.LEFT_LINKS.sub("", clause.replace("\x00", " "))
    while (tail := w.TRAILING_WHERE.search(clause) or w.TRAILING_BETWEEN.search(clause)) and tail.start() > 0:
        clause = w.LEFT_LINKS.sub("", clause[: tail.start()])  # "capital in Qianhai reached": skip in Qianhai
    words = re.findall(r"[A-Za-z][\w'’.&-]*", clause)
    phrase = _trailing_noun_phrase(words)
    rest = words[: len(words) - len(phrase)]
    if phrase and len(rest) >= 2 and rest[-1].lower() == "of":  # "registered capital of HK firms reached"
        head = _trailing_noun_phrase(rest[:-1])
        if head and head[-1].lower() not in w.VAGUE_HEADS:
            phrase = head
        elif head:
            phrase = [*head, "of", *phrase]  # "the share of services": the share alone says nothing
    return " ".join(x for x in phrase if x.lower() not in w.SUBJECT_DROP)


def _trailing_noun_phrase(words: list[str]) -> list[str]:
    picked: list[str] = []
    for word in reversed(words):
        low = word.lower()
        if low in w.NP_STOP or word.endswith(("'s", "’s")) or len(picked) == 5 or (picked and low in w.VERBS):
            break
        if not picked and _is_verb_like(low):
            continue  # "the jobless rate held at", "cargo annually": the noun comes before
        picked.append(word)
    return picked[::-1]


def _is_verb_like(word: str) -> bool:
    if word in w.ING_NOUNS:
        return False
    return word.endswith(("ed", "ing", "ly")) or word in w.VERBS


def _right_subject(text: str, end: int) -> str:
    """ "6.8 billion yuan in funding", "50 sq km of land", "3亿元投资": the noun right after the unit."""
    if w.CJK.match(text, end) and (noun := w.ZH_NOUN.match(text, end)):
        head = w.ZH_HEAD.search(noun.group())
        return noun.group()[: head.end()] if head else noun.group()[:4]
    m = w.RIGHT_SUBJECT.match(text, end)
    if not m or (first := w.WORD.match(text, m.end())) is None or first.group(1).lower() in w.PERIOD_WORDS:
        return ""
    words: list[str] = []
    at = m.end()
    while len(words) < 4 and (word := w.WORD.match(text, at)) and (at == m.end() or word.start(1) == at + 1):
        if word.group(1).lower() in w.NP_STOP or word.group(1) in w.PLACE_OF or word.group(1).endswith("ly"):
            break
        words.append(word.group(1))
        at = word.end()
    return " ".join(words) if words and not words[0][0].isupper() else ""


def _zh_subject(clause: str) -> str:
    """The subject before a Chinese number, less period, place and verb (前海注册资本达: 注册资本)."""
    if dateline := w.DATELINE.match(clause):
        clause = clause[dateline.end() :]
    clause = w.PERIOD.sub("", clause).strip()
    clause = w.ZH_COMPARISON.sub("", w.ZH_LEFT_TRIM.sub("", clause.strip()))
    clause = w.ZH_LEFT_TRIM.sub("", clause)
    if (topic := w.ZH_TOPIC_BREAK.search(clause)) and topic.end() < len(clause) - 1:
        clause = clause[
            topic.end() :
        ]  # 园区已集聚科研项目, 将力争实现港资企业数量: the subject follows the verb
    clause = w.ZH_LEFT_LEAD.sub("", clause)
    while (m := w.PLACE.match(clause)) and len(clause) > len(m.group()) + 1:
        if w.ZH_HEAD.match(clause, m.end()):
            break  # 澳门居民, 香港企业: the place is part of the subject
        clause = w.ZH_LEFT_LEAD.sub("", clause[m.end() :])
    return clause[-16:]


def _place(norm: str, q: _Quantity) -> str | None:
    best: tuple[int, int] | None = None
    name = None
    dateline = w.DATELINE.match(norm)
    for m in w.PLACE.finditer(norm, dateline.end() if dateline else 0):
        if q.noun and q.noun[0] <= m.start() < q.noun[1]:
            continue
        if w.PLACE_MODIFIER.match(norm, m.end()):
            continue
        place = w.PLACE_OF[m.group()]
        score = (w.PLACES[place][0], -abs(m.start() - q.start))
        if best is None or score > best:
            best, name = score, place
    return name


def _dominant_place(article: Article) -> str | None:
    counts: Counter[str] = Counter()
    for i, text in enumerate((article.title, *article.sentences)):
        for m in w.PLACE.finditer(text):
            if not w.PLACE_MODIFIER.match(text, m.end()):
                counts[w.PLACE_OF[m.group()]] += 3 if i == 0 else 1
    if not counts:
        return None
    return max(counts, key=lambda p: (counts[p], w.PLACES[p][0]))


def _period(periods: list[re.Match[str]], q: _Quantity) -> str | None:
    """The period stated nearest the figure: "so far", "2024", "first half of 2025", "截至10月"."""
    best = None
    for m in periods:
        distance = max(m.start() - q.end, q.start - m.end(), 0)
        if best is None or distance < best[0]:
            best = (distance, m.group())
    if best is None:
        return None
    period = w.PERIOD_LEAD.sub("", best[1]).strip()
    if period[:1].isupper() and period.split()[0].lower() in w.PERIOD_WORDS | {
        "so",
        "this",
        "as",
        "by",
        "since",
    }:
        period = period[0].lower() + period[1:]  # "So far, ..." at the start of a sentence
    return period or None


def _direction(norm: str, q: _Quantity) -> str | None:
    if q.kind not in ("pct", "pp") and not q.subject.endswith("(change)"):
        return None
    if q.value < 0:
        return "down"
    left = w.CLAUSE_BREAK.split(norm[max(0, q.start - 40) : q.start])[-1]
    ups = [m.end() for m in w.UP.finditer(left)]
    downs = [m.end() for m in w.DOWN.finditer(left)]
    if ups or downs:
        return "up" if max(ups, default=-1) > max(downs, default=-1) else "down"
    right = norm[q.end : q.end + 24]
    up, down = w.UP.search(right), w.DOWN.search(right)
    if up or down:
        return "up" if up and (not down or up.start() < down.start()) else "down"
    return None


# --- metric keys ------------------------------------------------------------------------------------------


def _canonical_en(phrase: str) -> str:
    return w.EN_SYNONYM.sub(lambda m: w.EN_SYNONYMS[m.group().lower()], phrase)


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z\u3400-\u9fff]+", "-", text.lower()).strip("-")


def _metric(
    q: _Quantity, place: str | None, sentence: str, metrics: Sequence[TrackedMetric], claimed: set[str]
) -> tuple[str, str]:
    """The figure's metric key and label: a tracked metric's, else the automatic PLACE.SUBJECT.UNIT."""
    tracked = _tracked(q, place, sentence, metrics, claimed)
    if tracked:
        return tracked.key, tracked.label
    base = re.sub(r"(?: \((?:change|target)\))+$", "", q.subject)
    subject = (w.ZH_SUBJECTS.get(base) or _canonical_en(base)) + q.subject[len(base) :]
    unit = "count" if q.kind == "count" else "pct" if q.unit == "%" else _slug(q.unit)
    if not _slug(subject):
        # Nothing says what it measures: a key of its own sentence, so it never "changes" into another figure
        subject = "figure " + hashlib.sha1(sentence.encode()).hexdigest()[:8]
    key = f"{_slug(place) if place else 'general'}.{_slug(subject)}.{unit}"
    label = subject[:1].upper() + subject[1:] + (f" in {place}" if place else "")
    return key, label if q.kind == "count" else f"{label} ({q.unit})"


@lru_cache(maxsize=256)
def _patterns(metric: TrackedMetric) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in metric.patterns)


def _matches(metric: TrackedMetric, text: str) -> bool:
    return bool(text) and any(p.search(text) for p in _patterns(metric))


def _claimed(quantities: Sequence[_Quantity], metrics: Sequence[TrackedMetric]) -> set[str]:
    """Keys of the tracked metrics some figure of the sentence names in its own subject."""
    return {m.key for q in quantities for m in metrics if _matches(m, q.subject)}


def _tracked(
    q: _Quantity, place: str | None, sentence: str, metrics: Sequence[TrackedMetric], claimed: set[str]
) -> TrackedMetric | None:
    """The first tracked metric whose place and unit agree and whose pattern names the figure's subject. A
    figure without a subject of its own may take one by its sentence, if the metric names its unit and no
    other figure of the sentence names that metric in its subject."""
    fitting = [
        m
        for m in metrics
        if (m.place is None or (place or "").lower() == m.place.lower())
        and (m.unit is None or m.unit.lower() == q.unit.lower() or (m.unit == "count" and q.kind == "count"))
    ]
    if found := next((m for m in fitting if _matches(m, q.subject)), None):
        return found
    if re.sub(r"(?: \((?:change|target)\))+$", "", q.subject):
        return None
    return next((m for m in fitting if m.unit and m.key not in claimed and _matches(m, sentence)), None)
