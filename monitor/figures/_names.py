"""The English a subject is named by: synonyms folded, Chinese subjects read in the English of the same
measure, a place's every spelling. Private helpers of ``figures``; data from ``_words``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from . import _words as w


def canonical_en(phrase: str) -> str:
    """``phrase`` with its synonyms folded: companies, firms, businesses → enterprises; HK-invested →
    Hong Kong-funded."""
    return w.EN_SYNONYM.sub(lambda m: w.EN_SYNONYMS[m.group().lower()], phrase)


def en_count_unit(phrase: str) -> str | None:
    """What an English noun phrase counts: its plural head ("light passenger car trips" → trips), or the
    things whose flow it measures ("daily passenger flow", "vehicle traffic" → passengers, vehicles); None
    when it counts nothing."""
    words = re.findall(r"[A-Za-z][\w-]*", phrase)
    if len(words) >= 2 and words[-1].lower() in w.FLOW_HEADS and words[-2].lower() not in w.NP_BAD_HEADS:
        thing = words[-2].lower()
        return canonical_en(thing if thing.endswith("s") else f"{thing}s").lower()
    if words and plural(words[-1].lower()) and words[-1].lower() not in w.NP_BAD_HEADS:
        return canonical_en(words[-1]).lower()
    return None


def plural(word: str) -> bool:
    """``word`` (lower case) is a plural noun: "firms", "people", not "business", "bonus" or "its"."""
    if word in w.NP_HEAD_IRREGULAR:
        return True
    return len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "'s", "’s"))


def zh_unit(noun: str, default: str) -> str:
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


def zh_english(subject: str) -> str | None:
    """A Chinese subject in the English words of the same measure ("港资企业纳税额" → "tax paid by Hong
    Kong-funded enterprises"), read from its longest known ending; None when no ending is known."""
    if english := w.ZH_SUBJECTS.get(subject):
        return english
    for i in range(len(subject)):
        measure = w.ZH_MEASURES.get(subject[i:]) or w.ZH_SUBJECTS.get(subject[i:])
        if measure is None:
            continue
        owner = _zh_owner(subject[:i])
        if "{}" not in measure:
            return measure
        return (
            measure.format(owner).strip()
            if owner
            else measure.replace(" by {}", "").replace("{}", "") or None
        )
    return None


def _zh_owner(prefix: str) -> str | None:
    """The known owner a measure's prefix ends with ("横琴澳资企业" → "Macao-funded enterprises")."""
    for i in range(len(prefix)):
        if owner := w.ZH_SUBJECTS.get(prefix[i:]):
            return owner
    return None


@lru_cache(maxsize=64)
def names_of(place: str) -> tuple[str, ...]:
    """Every name a place is written by (横琴, Hengqin ...): a label that names it needs no "in PLACE"."""
    return tuple(name for name, canonical in w.PLACE_OF.items() if canonical == place)
