"""What a bare number counts: the counted noun after it, the noun named before it, or one said earlier.

Pure helpers of ``figures``: each reads, for a number with neither a unit nor a currency, whether it counts
something ("10,577 Hong Kong-funded enterprises", "the number of visitors reached 5,000", "Of those, 6,200")
and fills the quantity's kind, unit and subject; a number that counts nothing is not a figure.
"""

from __future__ import annotations

import re

from . import _words as w
from ._keys import Quantity
from ._names import canonical_en, en_count_unit, plural, zh_unit


def counted(text: str, pos: int, q: Quantity) -> int:
    """Reads a counted noun ("Hong Kong-funded enterprises", "家港资企业") into ``q``; returns its end."""
    if m := w.ZH_MEASURE.match(text, pos):
        noun = w.ZH_NOUN.match(text, m.end())
        name = noun.group() if noun and not w.ZH_NOUN_STOP.match(noun.group()) else ""  # 的, 及: no noun
        if stop := w.ZH_NOUN_STOP.search(name, 2 if len(name) > 2 else 1):
            name = name[: stop.start()]  # "名长者曾在港大深圳医院": the elders, not the hospital
        if zh_head := w.ZH_HEAD.search(name):
            name = name[: zh_head.end()]
        q.kind, q.unit = "count", w.ZH_MEASURE_UNIT.get(m.group("m"), m.group("m"))
        if name and w.CJK.search(name):
            q.subject = name
            q.unit = zh_unit(name, q.unit)
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
        if low in w.NP_STOP or (head >= 0 and not plural(low)):
            break
        words.append((m.start(1), m.start(1) + len(word), word))
        if plural(low):
            head = len(words) - 1
        at = m.end()
    if head < 0 or (words[head][2].lower() in w.NP_BAD_HEADS and not _named_points(words, head)):
        return pos
    q.kind, q.unit = "count", canonical_en(words[head][2]).lower()
    q.noun = (words[0][0], words[head][1])
    q.subject = text[q.noun[0] : q.noun[1]]
    return q.noun[1]


def _named_points(words: list[tuple[int, int, str]], head: int) -> bool:
    """ "21 service points" are places; "21 points" or "21 percentage points" are not."""
    return words[head][2].lower() == "points" and head > 0 and words[head - 1][2].lower() not in w.POINT_KINDS


def count_from_left(text: str, q: Quantity) -> bool:
    """ "the number of visitors reached 5,000", "企业数量达1.06万" and "electric vehicles made up 424" count
    what the left side names."""
    part = w.PART_LEFT.search(text, max(0, q.start - 80), q.start)
    if part and plural(part.group("head").lower()):
        q.kind, q.subject, q.unit = "count", part.group("np"), canonical_en(part.group("head")).lower()
        return True
    m = w.LEFT_NUMBER_OF.search(text[max(0, q.start - 160) : q.start])
    if not m:
        return False
    if m.group("people"):
        q.kind, q.subject, q.unit = "count", "population", "people"
        return True
    noun = (m.group("zh") or m.group(1) or m.group(2)).strip()
    english = w.ZH_SUBJECTS.get(noun) if m.group("zh") else canonical_en(noun)
    q.kind, q.subject = "count", noun
    q.unit = english.split()[-1].lower() if english else noun
    return True


def count_from_table(text: str, q: Quantity) -> bool:
    """A table row whose first cell names counted things: "Hong Kong-funded institutions<TAB>112"."""
    first = text.split("\t", 1)[0]
    if "\t" not in text or q.start < len(first):
        return False
    words = first.split()
    if words and plural(words[-1].lower()) and words[-1].lower() not in w.NP_BAD_HEADS:
        q.kind, q.subject, q.unit = "count", first.strip(), canonical_en(words[-1]).lower()
        return True
    if done := w.COUNTED_ROW.match(first):  # "Closed Road Permits issued (as at end-March)"
        q.kind, q.subject, q.unit = "count", done.group("np"), canonical_en(done.group("head")).lower()
        return True
    if head := w.ZH_HEAD.search(first):
        q.kind, q.subject, q.unit = "count", first.strip(), zh_unit(head.group(), head.group())
        return True
    return False


def count_from_earlier(text: str, q: Quantity, earlier: Quantity | None, before: Quantity | None) -> bool:
    """A number standing for a noun said before: "179 companies, including 63 from ...", "Of those, 6,200",
    "a daily average of 223 000", "22.4 million visits, or about 900,000 a week"."""
    lead = text[: q.start]
    if qualifier := w.QUALIFIER_BEFORE.search(lead, max(0, q.start - 30)):
        lead = lead[: qualifier.start()]
    if earlier is not None and (average := w.AVERAGE_OF.search(lead)):
        per = f"{average.group('per').lower()} " if average.group("per") else ""
        q.kind, q.unit, q.subject = "count", earlier.unit, f"{per}average {earlier.subject}"
        return True
    if earlier is not None and w.OR_RESTATED.search(lead):
        q.kind, q.unit, q.subject = "count", earlier.unit, earlier.subject
        return True
    parallel = w.AND_NOUN_BEFORE.search(lead, max(0, len(lead) - 60)) if earlier is not None else None
    if parallel and (unit := en_count_unit(parallel.group("np"))):
        q.kind, q.unit, q.subject = "count", unit, parallel.group("np")
        return True
    if (source := earlier or before) is not None and (high := w.HIGH_OF.search(lead)):
        # "the previous high of 86,000", "peaking at 103,000": the count at its peak, a measure of its own
        peak = "low" if (high.group(1) or "").lower() == "low" else "peak"
        q.kind, q.unit, q.subject = "count", source.unit, f"{peak} {source.subject}"
        return True
    if earlier is not None and (
        w.MORE_THAN_AFTER.match(text, q.end)  # "576,000 departures, approximately 250,000 more than"
        # "of the 632 people who completed it, 464 were"
        or (w.OF_THE_CLAUSE.search(lead) and w.PART_VERB_AFTER.match(text, q.end))
    ):
        q.kind, q.unit, q.subject = "count", earlier.unit, earlier.subject
        return True
    source = earlier if earlier is not None and w.ELLIPSIS.search(lead) else None
    if source is None and (opening := w.OPENING.fullmatch(lead)):
        if opening.group("np") and plural(opening.group("np").split()[-1].lower()):
            noun = opening.group("np")
            q.kind, q.subject, q.unit = "count", noun, canonical_en(noun.split()[-1]).lower()
            return True
        source = before
    if source is None:
        return False
    q.kind, q.subject, q.unit, q.aspect = "count", source.subject, source.unit, source.aspect
    if w.TOTAL_TO.search(lead):  # "156 new routes, bringing the total to 183": the total, not the new ones
        q.subject = re.sub(r"(?i)^(?:new|newly\s+\w+|additional|more)\s+", "", source.subject)
    return True


def count_after_link(
    text: str, m: re.Match[str], q: Quantity, earlier: Quantity | None, last: Quantity | None = None
) -> bool:
    """A bare count written with thousands separators after a linking verb: "the labour force totalled
    384,400", "passengers numbered 1 204 310"; or the new level after a change: "decreased by 1,100 from the
    previous period to 280,900", "tourists rose by 12.5% to 98 760"."""
    lead = text[max(0, q.start - 60) : q.start]
    if not (m.group("sep") or (q.value >= 10 and w.TO_LEVEL.search(lead))):
        return False  # "to 968" after a change is its level; "totalled 38" may be anything
    if earlier is not None and earlier.aspect == "change" and w.TO_LEVEL.search(lead):
        q.kind, q.unit, q.subject = "count", earlier.unit, earlier.subject  # the level the change led to
        return True
    opening = w.SUBJECT_OPENING.match(text)
    level = last is not None and last.aspect == "level"  # a goal's or a change's rate leads to no level
    if last is not None and level and last.kind in ("pct", "pp") and w.TO_LEVEL.search(lead):
        head = re.findall(r"[A-Za-z]+", last.subject)
        subject = last.subject
        if opening and (opening.group("from") or not (head and plural(head[-1].lower()))):
            subject = opening.group("np")  # "Visitors from the nine cities jumped 36% to 855,000"
            head = subject.split()
        if head and plural(head[-1].lower()):
            q.kind, q.subject, q.unit = "count", subject, canonical_en(head[-1]).lower()
            return True
    changed = w.CHANGED_TO.search(text, max(0, q.start - 120), q.start)
    if changed and plural(changed.group("head").lower()) and not w.CONVERTED_AFTER.match(text, q.end):
        # "Newly incorporated companies in Macao rose by 150 from the previous quarter to 1,257"; not "Sales
        # rose to 17.2 billion (US$2.1 billion)", which is money
        subject = re.sub(r"(?i)^the\s+", "", changed.group("np"))
        q.kind, q.subject, q.unit = "count", subject, canonical_en(changed.group("head")).lower()
        return True
    # "Trips by foreign visitors reached a record, at over 120,000", "Daily passenger flow averaged 57,000"
    unit = en_count_unit(opening.group("np")) if opening and opening.end("np") < q.start else None
    if w.COUNT_LINK.search(lead) or (unit and w.IS_LINK.search(lead)):
        q.kind, q.unit = "count", unit or ""
        if opening and unit:
            q.subject = opening.group("np")
        return True
    return False


def count_of_them(
    text: str, pos: int, q: Quantity, earlier: Quantity | None, before: Quantity | None
) -> bool:
    """A part of a count said before: "1 250 of them are start-ups", "about 40 of which", "464 of the 632 who
    finished" (both), or of the noun the sentence opens with ("Of the residents polled, ... 900 of them");
    or of a count named after it: "some 3,000 of the applicants"."""
    source = earlier or before
    if source is not None and (
        w.OF_THE_COUNT.match(text, pos)
        or (w.COUNT_WHO.match(text, pos) and w.OF_THE_BEFORE.search(text, max(0, q.start - 10), q.start))
    ):
        q.kind, q.subject, q.unit, q.aspect = "count", source.subject, source.unit, source.aspect
        return True
    if m := w.OF_THEM.match(text, pos):
        if not m.group("np") and (opening := w.OF_THE_OPENING.match(text)):
            noun = opening.group("np")
            q.kind, q.subject, q.unit = "count", noun, canonical_en(noun.split()[-1]).lower()
            return True
        if m.group("np"):
            noun = m.group("np")
            q.kind, q.subject, q.unit = "count", noun, canonical_en(noun.split()[-1]).lower()
            return plural(noun.split()[-1].lower())
        if source is not None:
            q.kind, q.subject, q.unit, q.aspect = "count", source.subject, source.unit, source.aspect
            return True
    return False


def count_shared(text: str, pos: int, q: Quantity) -> bool:
    """A number sharing the counted noun of the numbers after it: "433 000 and 455 000 passengers
    respectively", "12, 15 and 20 projects"."""
    for _ in range(6):
        m = w.SHARED_NEXT.match(text, pos)
        if not m:
            return False
        other = Quantity(0, 0, 0, "", "")
        pos = counted(text, m.end(), other)
        if other.kind == "count" and other.subject:
            q.kind, q.unit, q.subject = "count", other.unit, other.subject
            return True
        pos = m.end()
    return False


def count_doing(
    text: str, m: re.Match[str], pos: int, q: Quantity, earlier: Quantity | None, before: Quantity | None
) -> bool:
    """A count written with separators, standing for the noun counted before it and doing what that noun
    does: "612,323 people arrived in the city and 936,081 left"; or the same count at another place, in its
    sentence or after the previous one ("West Kowloon recorded 35,113 entries. Lo Wu followed with 22,421,
    while Heung Yuen Wai handled 9,127"); "3,277 companies were incorporated and 713 were dissolved"."""
    if (
        earlier is not None
        and w.AND_BEFORE.search(text, max(0, q.start - 24), q.start)
        and (w.FATE_AFTER.match(text, pos) or (m.group("sep") and w.AND_FROM.match(text, pos)))
    ):  # "... and 713 were dissolved", "20,000 came from X and 1,269 from Y"
        q.kind, q.unit, q.subject, q.aspect = "count", earlier.unit, earlier.subject, earlier.aspect
        return True
    if not m.group("sep"):
        return False
    source = earlier
    opens = w.OPENS_WITH_COUNT.fullmatch(text, 0, q.start)
    if source is None and opens and w.COUNT_VERB_AFTER.match(text, pos):
        source = before  # "... of whom 11,505,928 travelled under the scheme. About 1,442,328 entered under"
    with_share = w.SHARE_AFTER.match(text, pos) and w.WITH_SHARE.search(text, max(0, q.start - 12), q.start)
    if source is None or not (w.COUNT_VERB_AFTER.match(text, pos) or with_share):
        source = earlier or before
        if source is None or not w.PLACE_WITH.search(text, max(0, q.start - 60), q.start):
            return False
    q.kind, q.unit, q.subject = "count", source.unit, source.subject
    return True


def count_in_brackets(
    text: str, m: re.Match[str], q: Quantity, earlier: Quantity | None, share: Quantity | None
) -> bool:
    """A count in brackets after the place it is from ("visitors from Hong Kong (564,700) and Taiwan
    (88,300)"), or after a share of one said before ("574 289 visitors ... the Border Gate handled 78.6% of
    them (451 440)": 451 440 Border Gate visitors; "49% of them, or 942,000")."""
    if not m.group("sep"):
        return False
    lead = text[max(0, q.start - 80) : q.start]
    if (place := w.NOUN_FROM_BRACKET.search(lead)) and plural(place.group("noun").lower()):
        noun = place.group("noun")
        q.kind, q.subject, q.unit = "count", noun, canonical_en(noun).lower()
        return True
    if (noun := w.NOUN_BRACKET.search(lead)) and plural(noun.group("noun").lower()):
        q.kind, q.subject, q.unit = "count", noun.group("np"), canonical_en(noun.group("noun")).lower()
        return True
    if earlier is not None and w.AND_BRACKET.search(lead):
        q.kind, q.unit, q.subject = "count", earlier.unit, earlier.subject  # "... and Taiwan (88,300)"
        return True
    if earlier is None or not w.SHARE_BRACKET.search(lead):
        return False
    q.kind, q.unit, q.subject = "count", earlier.unit, earlier.subject
    named = share is not None and share.subject.lower() not in ("", "them", "those", "these", "which", "whom")
    if share is not None and named and share.kind == "pct" and share.subject != earlier.subject:
        noun = earlier.unit if re.fullmatch(r"[a-z-]+", earlier.unit) else earlier.subject
        q.subject = f"{share.subject} {noun}"
    return True


def count_in_words(text: str, before: Quantity | None) -> Quantity | None:
    """A count of ten or more spelt out because it opens the sentence (style guides write it in digits
    anywhere else): "Twenty-one major projects started", "Ten of them are in Qianhai" (of the count said
    before). Below ten a number in words is the house style for small numbers anywhere ("Three pillars
    support ..."), and such a number is no figure unless it is a part of a count ("Five of them offer")."""
    start = m.end() if (m := w.DATELINE.match(text)) else 0
    word = w.OPENING_WORD.match(text, start)
    if not word or not text[start].isupper() or len(text[start:].split()) < 5:
        return None  # "Three takeaways": a heading, not a count
    parts = word.group("word").lower().split("-")
    q = Quantity(start, word.end(), float(sum(w.WORD_VALUE[p] for p in parts)), "", "")
    small = q.value < 10
    if small and not w.OF_THEM.match(text, word.end()):
        return None
    end = counted(text, word.end(), q)
    if not small and q.kind == "count" and q.unit not in w.NP_BAD_HEADS:
        q.end = end
        return q
    them = w.OF_THEM.match(text, word.end())
    if them and (noun := them.group("np")) and plural(noun.split()[-1].lower()):
        q.kind, q.subject, q.unit = "count", noun, canonical_en(noun.split()[-1]).lower()
    elif them and not them.group("np") and before is not None:
        q.kind, q.subject, q.unit, q.aspect = "count", before.subject, before.unit, before.aspect
    else:
        return None
    q.end = them.end()
    return q
