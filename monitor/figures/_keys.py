"""What names a figure: the subject, place, period, direction and metric key of a quantity ``figures`` read.

Pure helpers of ``figures``, which builds each ``Figure`` from them; the word tables live in ``_words``.
``Quantity`` lives here because ``figures``, ``_counts`` and this module all fill it in.

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
  for percentage points, ``times`` for multiples, else the physical unit (``sq-km``, ``teu``).

A change rather than a level ("rose by 300", "增加4800人") has the aspect ``change``, and a goal or a
forecast ("aims to attract 100 billion yuan by 2027", "力争突破1.5万家") ``target``, so their keys
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
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from ..records import UNNAMED_KEY, Article, Aspect
from ..settings import TrackedMetric
from . import _words as w
from ._names import canonical_en, en_count_unit, names_of, zh_english, zh_unit


@dataclass(slots=True)
class Quantity:
    """A number read from one sentence, before subject, place and metric are attached."""

    start: int
    end: int
    value: float
    unit: str
    kind: str  # money, pct, pp, times, physical, count
    qualifier: str = "exact"
    high: float | None = None
    subject: str = ""
    aspect: Aspect = "level"  # see Figure.aspect
    noun: tuple[int, int] | None = None  # span of the counted noun phrase
    bare_dollar: bool = False  # "$" alone: US dollars, except on Hong Kong government pages
    bare_yuan: bool = False  # a table cell under a caption's bare "元": whose 元 the page decides


# Figures relative to another value: a percentage, percentage points, a multiple ("grew 2.5 times"). None is a
# change of a level (the aspect ``change``), and an absolute figure they lead to ("rose 12.5% to 300 billion
# yuan", "增长1.5倍，达到120亿元") measures the same subject.
RELATIVE_KINDS = frozenset({"pct", "pp", "times"})


# --- what, where, when ------------------------------------------------------------------------------------


def attach_subject(text: str, norm: str, q: Quantity, previous: Quantity | None) -> None:
    """Fills ``q.subject`` when reading the number did not: from its clause, else from the figure before."""
    if not q.subject:
        q.subject = _subject(text, norm, q, previous.end if previous else 0)
        if w.ZH_NO_SUBJECT.fullmatch(q.subject):
            q.subject = ""
        if q.kind == "count" and w.CJK.search(q.subject) and q.unit not in w.ZH_SELF_UNITS:
            q.unit = zh_unit(q.subject, q.unit)
        elif q.kind == "count" and not q.unit and (head := re.findall(r"[A-Za-z]+", q.subject)):
            # "passenger trips ... reached 210 million": trips; "daily passenger volume": passengers
            q.unit = en_count_unit(q.subject) or canonical_en(head[-1]).lower()
    if not q.subject and previous is not None:
        gap_links = w.INHERIT_GAP.fullmatch(text, previous.end, q.start)
        change_of = q.kind in RELATIVE_KINDS and w.CHANGE_OF_BEFORE.search(text, 0, q.start)
        level_of = previous.kind in RELATIVE_KINDS and w.ZH_LEVEL_LINK.fullmatch(text, previous.end, q.start)
        if gap_links or change_of or level_of or w.COMPARISON_CLAUSE.search(text, 0, q.start):
            # "trade rose 12.5% to 300 billion yuan": both measure trade, and a goal's figures are goals
            q.subject, q.aspect = previous.subject, previous.aspect
    if q.kind not in RELATIVE_KINDS and w.CHANGE_LEAD.search(text, 0, q.start) and q.aspect == "level":
        q.aspect = "change"  # "rose by 300", "增加4800人": a change, not a level
    clause_start = max((m.end() for m in w.CLAUSE_BREAK.finditer(text, 0, q.start)), default=0)
    clause_end = next((m.start() for m in w.CLAUSE_BREAK.finditer(text, q.end)), len(text))
    if w.TARGET_BEFORE.search(text, clause_start, q.start) or w.TARGET_AFTER.match(text, q.end, clause_end):
        q.aspect = "target"  # "aims to reach 15,000 by 2027": not today's value, even when a change


def _subject(text: str, norm: str, q: Quantity, floor: int) -> str:
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
    elif phrase and len(rest) >= 3 and rest[-1].lower() == "by" and _is_participle(rest[-2].lower()):
        phrase = _done_by(_trailing_noun_phrase(rest[:-2]), rest[-2], phrase) or phrase
    return " ".join(x for x in phrase if x.lower() not in w.SUBJECT_DROP)


def _done_by(head: list[str], participle: str, agent: list[str]) -> list[str]:
    """The subject of "HEAD PARTICIPLE by AGENT": in "tax paid by Hong Kong-invested companies rose" what rose
    is the tax, not the companies. An agent that is a place ("cargo handled by Nansha port") is already the
    key's place: then the head says it all."""
    if not head:
        return []
    place = w.PLACE.match(" ".join(agent))
    if place and not w.PLACE_MODIFIER.match(" ".join(agent), place.end()):
        return head
    return [*head, participle, "by", *agent]


def _is_participle(word: str) -> bool:
    return word.endswith("ed") or word in {
        "paid",
        "made",
        "held",
        "built",
        "won",
        "spent",
        "run",
        "sold",
        "owned",
    }


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


def modified_noun(text: str, end: int) -> str:
    """The noun phrase a hyphenated figure modifies ("a 3.3-km bridge", "a 20-million-TEU container port"),
    up to three words and before any verb; "" when none follows."""
    words: list[str] = []
    at = end
    while len(words) < 3 and (m := w.WORD.match(text, at)) and m.start(1) == at + 1 and text[at] == " ":
        word, low = m.group(1), m.group(1).lower()
        # the modified noun is singular ("a 3.3-km bridge"): a later word in -s is the verb ("bridge links")
        later = bool(words) and (word[:1].isupper() or (low.endswith("s") and not low.endswith("ss")))
        if low in w.NP_STOP or low in w.VERBS or later or (words and _is_verb_like(low)):
            break
        words.append(word)
        at = m.end(1)
    return " ".join(words)


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
    clause = w.ZH_MULTIPLE_OF.sub("", clause.strip())  # 外贸进出口是2015年的2.3倍: what is the multiple
    clause = w.ZH_COMPARISON.sub("", w.ZH_LEFT_TRIM.sub("", clause))
    clause = w.ZH_LEFT_TRIM.sub("", clause)
    if (topic := w.ZH_TOPIC_BREAK.search(clause)) and topic.end() < len(clause) - 1:
        clause = clause[
            topic.end() :
        ]  # 园区已集聚科研项目, 将力争实现港资企业数量: the subject follows the verb
    clause = w.ZH_LEFT_LEAD.sub("", clause)
    while (m := w.PLACE.match(clause)) and len(clause) > len(m.group()) + 1:
        if w.ZH_HEAD.match(clause, m.end()):
            break  # 澳门居民, 香港企业: the place is part of the subject
        # 横琴与澳门贸易额: both places say where, the trade is the subject
        clause = w.ZH_LEFT_LEAD.sub("", w.ZH_PLACE_AND.sub("", clause[m.end() :]))
    return clause[-16:]


def place(norm: str, q: Quantity) -> str | None:
    """The most specific place the sentence names outside the figure's own noun and dateline, the nearest
    of equals; None when it names none ("Hong Kong-funded": part of a subject, not a place)."""
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


def dominant_place(article: Article) -> str | None:
    """The article's most-mentioned place (a title mention counts three), the more specific on a tie."""
    counts: Counter[str] = Counter()
    for i, text in enumerate((article.title, *article.sentences)):
        for m in w.PLACE.finditer(text):
            if not w.PLACE_MODIFIER.match(text, m.end()):
                counts[w.PLACE_OF[m.group()]] += 3 if i == 0 else 1
    if not counts:
        return None
    return max(counts, key=lambda p: (counts[p], w.PLACES[p][0]))


def period(periods: list[re.Match[str]], q: Quantity) -> str | None:
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


def direction(norm: str, q: Quantity) -> str | None:
    """ "up" or "down" for a percentage, percentage-point, multiple or change figure: "down" when negative,
    else by the rise or fall word nearest before it in its clause, else just after it; None when nothing
    says."""
    if q.kind not in RELATIVE_KINDS and q.aspect != "change":
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


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z\u3400-\u9fff]+", "-", text.lower()).strip("-")


def metric(
    q: Quantity,
    place: str | None,
    sentence: str,
    metrics: Sequence[TrackedMetric],
    claimed: set[str],
    growth: bool = False,
) -> tuple[str, str]:
    """The figure's metric key and label: a tracked metric's, else the automatic PLACE.SUBJECT.UNIT (with
    SUBJECT "… growth" when ``growth``: the percentage is a rate of change)."""
    tracked = _tracked(q, place, sentence, metrics, claimed)
    if tracked:
        return tracked.key, tracked.label
    marker = "" if q.aspect == "level" else f"({q.aspect})"  # key ...-change, label "Trade (change)"
    english = zh_english(q.subject) if w.CJK.search(q.subject) else None
    # a goal whose measure no word names is named by its aspect alone: "hong-kong.target.hkd"
    name = (english or canonical_en(q.subject)) if q.subject else marker
    if growth and name:  # "GDP grew 6.1%": a rate of change, never beside GDP's level or share
        name = f"{name} growth"
    subject = f"{name} {marker}" if q.subject and marker else name
    unit = "count" if q.kind == "count" else "pct" if q.unit == "%" else _slug(q.unit)
    if not _slug(subject):
        # Nothing says what it measures: a key of its own sentence, so it never "changes" into another
        # figure; stored, but no metric a reader follows (``records.key_figures`` leaves it out)
        where = _slug(place) if place else "general"
        key = f"{where}{UNNAMED_KEY}{hashlib.sha1(sentence.encode()).hexdigest()[:8]}"
        return f"{key}.{unit}", "Unnamed figure" + (f" ({q.unit})" if q.kind != "count" else "")
    key = f"{_slug(place) if place else 'general'}.{_slug(subject)}.{unit}"
    named = place and not (_slug(place) in _slug(subject) or any(n in subject for n in names_of(place)))
    label = subject[:1].upper() + subject[1:] + (f" in {place}" if named else "")
    return key, label if q.kind == "count" else f"{label} ({q.unit})"


@lru_cache(maxsize=256)
def _patterns(metric: TrackedMetric) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in metric.patterns)


def _matches(metric: TrackedMetric, text: str) -> bool:
    return bool(text) and any(p.search(text) for p in _patterns(metric))


def claimed(quantities: Sequence[Quantity], metrics: Sequence[TrackedMetric]) -> set[str]:
    """Keys of the tracked metrics some figure of the sentence names in its own subject."""
    return {m.key for q in quantities for m in metrics if _matches(m, q.subject)}


def _tracked(
    q: Quantity, place: str | None, sentence: str, metrics: Sequence[TrackedMetric], claimed: set[str]
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
    if q.subject or q.aspect != "level":
        return None
    return next((m for m in fitting if m.unit and m.key not in claimed and _matches(m, sentence)), None)
